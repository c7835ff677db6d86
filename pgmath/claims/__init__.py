"""Claims are data (DESIGN §5): every claim of the notes, its text and the check that decides it.

One area module per part of the notes (:mod:`~pgmath.claims.il`, :mod:`~pgmath.claims.rl`,
:mod:`~pgmath.claims.pg_onpolicy`, :mod:`~pgmath.claims.pg_offpolicy`) holds, for each of
its claims, everything about it in one place: the claim's text (``statement``, word for
word the line of the project's claims list; this is the one copy inside pgmath), the
notes' own words (``quote``, Markdown with ``$…$`` LaTeX, verbatim from the notes), a
short ``title``, the SymPy derivations that bear on it (``proofs``, modules of
:mod:`pgmath.proofs`), and one function returning the :class:`Verdict`. Adding a claim is
one decorated function in one area module, plus its proof if it has one::

    @claim("PG-8", section="4.3.2", title="A constant baseline leaves the gradient unbiased",
           statement="…", quote=r"…", proofs=("pg08_baseline",))
    def _pg8() -> Verdict:
        ...  # exact means by enumeration
        return Verdict("holds", evidence="…")

:func:`run_claim` runs the check and each proof; a proof whose steps for this claim are
refuted (or verified) while the check finds the claim true (or false) makes the claim
"undecided" with an error, so the two routes are held together. Texts are Markdown with
``$…$`` maths (rendered on the site); :func:`plain` turns them into terminal text.
"""
from __future__ import annotations

import importlib
import inspect
import pathlib
import pkgutil
import re
import time
from dataclasses import dataclass, field
from typing import Callable

from ..derivation import checked
from ..errors import PgmathError, check_choice

__all__ = ["VERDICTS", "Verdict", "Claim", "ClaimError", "claim", "registered", "get",
           "run_claim", "figure", "figures", "Figure", "plain", "AREAS", "save_figure"]

#: The verdicts a claim can receive, best first.
VERDICTS = ("holds", "holds under conditions", "false as written", "undecided")

#: Area modules, in the notes' order.
AREAS = ("il", "rl", "pg_onpolicy", "pg_offpolicy")


class ClaimError(PgmathError):
    """A malformed claim or verdict (unknown verdict, missing correction, duplicate ID)."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim's check (Markdown with ``$…$`` maths in every text).

    Attributes:
      verdict: one of :data:`VERDICTS`.
      evidence: what was computed and why it decides the claim, in a sentence or two a
        referee would accept. No rounding-level numbers (say "to 1e-12", not "3e-16").
      wrong: for "false as written": the step or formula of the notes that is wrong.
      correction: for "false as written": the correct statement, one line.
      conditions: for "holds under conditions": the conditions, one line.
      counterexample: concrete numbers where the claim (or, under conditions, the claim
        without them) fails.
    """

    verdict: str
    evidence: str
    wrong: str | None = None
    correction: str | None = None
    conditions: str | None = None
    counterexample: str | None = None

    def __post_init__(self) -> None:
        check_choice("verdict", self.verdict, VERDICTS, error=ClaimError)
        need = {"false as written": ("wrong", "correction", "counterexample"),
                "holds under conditions": ("conditions", "counterexample")}.get(self.verdict, ())
        missing = [k for k in need if not getattr(self, k)]
        if missing:
            raise ClaimError(f"a {self.verdict!r} verdict needs {', '.join(missing)}")


@dataclass
class Claim:
    """A claim of the notes and its check.

    Attributes:
      id: ``"PG-8"``.
      section: the notes' section (``"4.3.2"``).
      title: a short title for navigation ("A constant baseline leaves the gradient unbiased").
      statement: the claim's text, word for word the claims list's line (after the section).
      quote: the notes' own words, verbatim (Markdown with ``$…$`` LaTeX).
      decide: the check, a function of no arguments returning a :class:`Verdict`.
      proofs: names of the :mod:`pgmath.proofs` derivations that bear on the claim.
      listed: False for a claim pgmath found that the claims list does not have.
    """

    id: str
    section: str
    title: str
    statement: str
    quote: str
    decide: Callable[[], Verdict] = field(repr=False)
    proofs: tuple[str, ...] = ()
    listed: bool = True

    @property
    def module(self) -> str:
        """The file that holds the claim and its check, relative to the repository root."""
        return self.decide.__module__.replace(".", "/") + ".py"


_CLAIMS: dict[str, Claim] = {}
_ID = re.compile(r"^(IL|RL|PG)-[1-9]\d*$")


def claim(id: str, *, section: str, title: str, statement: str, quote: str,
          proofs: tuple[str, ...] = (), listed: bool = True):
    """Register the decorated function as the check of claim ``id`` (see the module docstring)."""
    if not _ID.match(id):
        raise ClaimError(f"claim IDs look like 'PG-8', got {id!r}")

    def deco(fn: Callable[[], Verdict]) -> Callable[[], Verdict]:
        old = _CLAIMS.get(id)
        if old is not None and (old.decide.__module__, old.decide.__qualname__) != (
                fn.__module__, fn.__qualname__):
            raise ClaimError(f"claim {id} is registered twice: {old.module} and {fn.__module__}")
        _CLAIMS[id] = Claim(id, section, title, statement, inspect.cleandoc(quote), fn,
                            tuple(proofs), listed)
        return fn
    return deco


def _key(cid: str) -> tuple:
    prefix, _, num = cid.partition("-")
    return ({"IL": 0, "RL": 1, "PG": 2}[prefix], int(num))


def registered() -> list[Claim]:
    """Every claim, in the order IL, RL, PG and by number."""
    for area in AREAS:
        importlib.import_module(f"{__name__}.{area}")
    return [_CLAIMS[k] for k in sorted(_CLAIMS, key=_key)]


def get(cid: str) -> Claim:
    """The claim with this ID (``ClaimError`` naming the known IDs otherwise)."""
    claims = {c.id: c for c in registered()}
    if cid not in claims:
        raise ClaimError(f"unknown claim {cid!r}; known: {', '.join(claims)}")
    return claims[cid]


def _proof_status(name: str, cid: str) -> tuple[str, list[int]]:
    """("false" | "verified" | "unverified", the claim's step numbers) from a derivation."""
    d, results = checked(name)
    labels = d.claims.get(cid)
    if labels is None:
        raise ClaimError(f"proof {name} does not list claim {cid} in its claims")
    rs = [r for r in results if r.step.label in set(labels)]
    statuses = {r.status for r in rs}
    status = "false" if "false" in statuses else "unverified" if "unverified" in statuses else "verified"
    return status, [r.number for r in rs]


def run_claim(c: Claim) -> dict:
    """Run a claim's check and its proofs. Returns a JSON-ready dict: ``id``, ``section``,
    ``title``, ``statement``, ``verdict``, the verdict's texts (``evidence``, ``wrong``,
    ``correction``, ``conditions``, ``counterexample`` when given), ``decided_by``
    (the claim's module, then each proof module), ``proofs`` (name → status and step
    numbers), ``seconds``, and ``error`` when the check raised or a proof disagrees."""
    t0 = time.perf_counter()
    out: dict = {"id": c.id, "section": c.section, "title": c.title, "statement": c.statement}
    try:
        v = c.decide()
        out.update({k: getattr(v, k) for k in ("verdict", "evidence", "wrong", "correction",
                                                  "conditions", "counterexample")
                    if getattr(v, k) is not None})
    except Exception as exc:  # noqa: BLE001 - reported; verify exits non-zero
        out.update(verdict="undecided", error=f"{type(exc).__name__}: {exc}")
    out["decided_by"] = [c.module] + [f"pgmath/proofs/{p}.py" for p in c.proofs]
    out["proofs"] = {}
    for name in c.proofs:
        try:
            status, steps = _proof_status(name, c.id)
        except Exception as exc:  # noqa: BLE001
            out.update(verdict="undecided", error=f"proof {name}: {type(exc).__name__}: {exc}")
            continue
        out["proofs"][name] = {"status": status, "steps": steps}
        says_false = status == "false"
        if status == "unverified" or (says_false != (out["verdict"] == "false as written")
                                      and "error" not in out):
            out["error"] = (f"the SymPy proof {name} finds steps {steps} {status}, but the "
                            f"check's verdict is {out['verdict']!r}")
            out["verdict"] = "undecided"
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


# -- plain text for the terminal ------------------------------------------------------------
_TEX = {r"\epsilon": "ε", r"\varepsilon": "ε", r"\theta": "θ", r"\pi": "π", r"\tau": "τ",
        r"\gamma": "γ", r"\lambda": "λ", r"\mu": "μ", r"\rho": "ρ", r"\psi": "ψ",
        r"\alpha": "α", r"\beta": "β", r"\delta": "δ", r"\Delta": "Δ", r"\sigma": "σ",
        r"\sum": "Σ", r"\prod": "Π", r"\nabla": "∇", r"\partial": "∂", r"\infty": "∞",
        r"\le": "≤", r"\leq": "≤", r"\ge": "≥", r"\geq": "≥", r"\ne": "≠", r"\neq": "≠",
        r"\approx": "≈", r"\to": "→", r"\rightarrow": "→", r"\cdot": "·", r"\times": "×",
        r"\sim": "∼", r"\in": "∈", r"\mid": "|", r"\|": "‖", r"\lVert": "‖", r"\rVert": "‖",
        r"\ldots": "…", r"\dots": "…", r"\cdots": "⋯", r"\top": "ᵀ", r"\log": "log",
        r"\exp": "exp", r"\max": "max", r"\min": "min", r"\arg": "arg", r"\quad": "  ",
        r"\qquad": "   ", r"\,": " ", r"\;": " ", r"\!": "", r"\left": "", r"\right": "",
        r"\big": "", r"\Big": "", r"\bigl": "", r"\bigr": "", r"\Bigl": "", r"\Bigr": "",
        r"\mathcal{T}": "𝒯", r"\mathbb{E}": "E", r"\operatorname{Var}": "Var",
        r"\mathrm{Var}": "Var", r"\mathrm{tr}": "tr", r"\prime": "′", r"\star": "*"}
_TEX_RE = re.compile("|".join(re.escape(k) + (r"(?![A-Za-z])" if k[-1].isalpha() else "")
                              for k in sorted(_TEX, key=len, reverse=True)))


def _plain_math(tex: str) -> str:
    s = re.sub(r"\\(?:mathrm|text|mathbf|boldsymbol|operatorname|hat|tilde|bar)\{([^{}]*)\}",
               r"\1", tex)
    s = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2)", s)
    s = re.sub(r"\\tfrac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2)", s)
    s = re.sub(r"\\sqrt\{([^{}]*)\}", r"√(\1)", s)
    s = _TEX_RE.sub(lambda m: _TEX[m.group(0)], s)
    s = s.replace("\\{", "{").replace("\\}", "}")
    s = re.sub(r"\^\{([^{}]*)\}", r"^\1", s)
    return re.sub(r"\s+", " ", s).strip()


def plain(markdown: str | None) -> str:
    """Terminal text for a Markdown string with ``$…$`` LaTeX (a light rewrite:
    ``\\sum_{t=1}^{T}`` → ``Σ_{t=1}^T``, ``\\epsilon`` → ``ε``; links keep their text)."""
    if not markdown:
        return ""
    s = re.sub(r"\$\$(.+?)\$\$", lambda m: _plain_math(m.group(1)), markdown, flags=re.S)
    s = re.sub(r"\$([^$]+)\$", lambda m: _plain_math(m.group(1)), s)
    s = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", s)
    return s.replace("**", "").replace("`", "")


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


def save_figure(fig, path, *, dpi: int = 100, **kwargs):
    """Write a matplotlib figure as PNG, byte-reproducibly (no software or date metadata),
    close it, and return the path. Every registered figure saves through this."""
    import matplotlib.pyplot as plt
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, metadata={"Software": None}, **kwargs)
    plt.close(fig)
    return path


def figures() -> list[Figure]:
    """Every registered figure (the area modules and :mod:`pgmath.algorithms`)."""
    registered()
    importlib.import_module("pgmath.algorithms")
    for info in pkgutil.iter_modules(importlib.import_module("pgmath.algorithms").__path__):
        importlib.import_module(f"pgmath.algorithms.{info.name}")
    return [_FIGURES[k] for k in sorted(_FIGURES)]
