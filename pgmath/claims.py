"""Claims are data (DESIGN §5): a registry of the notes' claims and the checks deciding them.

A claim check is a function of no arguments returning a :class:`Verdict`; it is
registered with :func:`claim` in a module of :mod:`pgmath.verdicts` (one module per
area: ``rl.py``, ``pg.py``, ``il.py``, …). ``pgmath verify`` runs every registered check
and prints the table; ``pgmath docs`` renders it.

Example::

    @claim("RL-5", section="3.3",
           statement="The objective equals E_{s₁}[V^π(s₁)]; V^π(s) = E_{a∼π}[Q^π(s,a)].")
    def _rl5() -> Verdict:
        ...  # compute both sides on random MDPs
        return Verdict("holds", check="tests/exact/test_values.py::test_rl5_objective_is_start_value",
                       evidence="max |J − E V| = 3e-16 over 200 random MDPs")
"""
from __future__ import annotations

import importlib
import pkgutil
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

__all__ = ["VERDICTS", "Verdict", "ClaimCheck", "claim", "registered", "run_claim",
           "figure", "figures", "Figure"]

#: The verdicts a claim can receive.
VERDICTS = ("holds", "holds under conditions", "false as written", "undecided")


@dataclass
class Verdict:
    """The outcome of a claim check.

    Attributes:
      verdict: one of :data:`VERDICTS`.
      check: the test or proof that decides the claim (``tests/...::test_x`` or
        ``proofs/x.py``).
      evidence: one or two sentences (Markdown) saying what was computed.
      conditions: for "holds under conditions", the conditions.
      correction: for "false as written", the correct statement.
      counterexample: for "false as written", a concrete counterexample.
    """

    verdict: str
    check: str
    evidence: str = ""
    conditions: str | None = None
    correction: str | None = None
    counterexample: str | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


@dataclass
class ClaimCheck:
    """A registered claim: ID, section of the notes, the notes' wording, and its check."""

    id: str
    section: str
    statement: str
    func: Callable[[], Verdict] = field(repr=False)


_CLAIMS: dict[str, ClaimCheck] = {}


def claim(id: str, *, section: str, statement: str):
    """Register the decorated function as the check of claim ``id`` (e.g. ``"PG-7"``)."""
    def deco(fn: Callable[[], Verdict]) -> Callable[[], Verdict]:
        if id in _CLAIMS and _CLAIMS[id].func.__module__ != fn.__module__:
            raise ValueError(f"claim {id} is registered twice ({_CLAIMS[id].func.__module__})")
        _CLAIMS[id] = ClaimCheck(id, section, statement, fn)
        return fn
    return deco


def _load(package: str) -> None:
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{package}.{info.name}")


def _key(cid: str) -> tuple:
    prefix, _, num = cid.partition("-")
    order = {"IL": 0, "RL": 1, "PG": 2}
    return (order.get(prefix, 9), prefix, int(num) if num.isdigit() else 0, cid)


def registered() -> list[ClaimCheck]:
    """Every claim check in :mod:`pgmath.verdicts`, in the order IL, RL, PG, others."""
    _load("pgmath.verdicts")
    return [_CLAIMS[k] for k in sorted(_CLAIMS, key=_key)]


def run_claim(check: ClaimCheck) -> dict:
    """Run one check; returns a JSON-ready dict with ``id``, ``verdict``, ``check``,
    ``conditions``/``correction`` (when set), ``evidence``, ``seconds``, ``section`` and
    ``statement``. A check that raises gives ``verdict="undecided"`` and ``error``."""
    t0 = time.perf_counter()
    try:
        v = check.func()
        out = {k: val for k, val in asdict(v).items() if val is not None}
    except Exception as exc:  # noqa: BLE001 - reported, and verify exits non-zero
        out = {"verdict": "undecided", "check": check.func.__module__,
               "error": f"{type(exc).__name__}: {exc}"}
    out.update(id=check.id, section=check.section, statement=check.statement,
               seconds=round(time.perf_counter() - t0, 3))
    return out


# -- figures ----------------------------------------------------------------------------------
@dataclass
class Figure:
    """A registered plot: ``func(outdir: pathlib.Path) -> list[pathlib.Path]`` (PNG files)."""

    name: str
    title: str
    func: Callable = field(repr=False)


_FIGURES: dict[str, Figure] = {}


def figure(name: str, *, title: str):
    """Register the decorated function as a figure producer for ``pgmath docs``."""
    def deco(fn):
        _FIGURES[name] = Figure(name, title, fn)
        return fn
    return deco


def figures() -> list[Figure]:
    """Every registered figure (modules of :mod:`pgmath.verdicts` and :mod:`pgmath.algorithms`)."""
    _load("pgmath.verdicts")
    _load("pgmath.algorithms")
    return [_FIGURES[k] for k in sorted(_FIGURES)]
