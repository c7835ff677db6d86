"""Claims are data (DESIGN §5): the notes' claims and the checks that decide them.

:data:`CLAIMS` holds every claim of ``shared/CLAIMS.md`` (ID → (section, wording)). A
claim check is a function of no arguments returning a :class:`Verdict`, registered with
:func:`claim` in a module of :mod:`pgmath.verdicts` (one module per area). A claim may
have several checks (a SymPy proof *and* an exact numeric test, say); ``pgmath verify``
runs them all and combines their verdicts (:func:`combine`): any "false as written"
makes the claim false as written, else any "holds under conditions" makes it hold under
conditions, else all "holds" make it hold; a check that errors makes it "undecided".
A claim the notes make that is not in CLAIMS.md gets a new ID with :func:`new_claim`.

Example::

    @claim("RL-5")
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

__all__ = ["VERDICTS", "CLAIMS", "Verdict", "ClaimCheck", "claim", "new_claim", "registered",
           "run_claim", "combine", "figure", "figures", "Figure"]

#: The verdicts a claim can receive.
VERDICTS = ("holds", "holds under conditions", "false as written", "undecided")

#: Every claim of shared/CLAIMS.md: ID → (section of the notes, the claim's wording).
CLAIMS: dict[str, tuple[str, str]] = {
    "IL-1": ('2.1, 2.2', 'Behavioural cloning with per-state error ≤ ε on the training distribution has expected cost bounded by εT + (1−ε)εT + (1−ε)²εT + … = O(εT²), and the order is tight (tightrope-style example).'),
    "IL-2": ('2.1, 2.2', 'p_θ(s_t) = (1−ε)^t p_train(s_t) + (1−(1−ε)^t) p_mistake(s_t), hence |p_θ(s_t) − p_train(s_t)| ≤ 2(1−(1−ε)^t) ≤ 2εt.'),
    "IL-3": ('2.1, 2.2', 'Σ_t (ε + 2εt) = O(εT²) bounds the behavioural-cloning cost.'),
    "IL-4": ('2.1, 2.2', 'With DAgger, p_train → p_θ and the expected cost is ≤ εT.'),
    "IL-5": ('2.1, 2.2', 'The same bounds hold under the weaker assumption E_{p_train}[π_θ(a≠π*(s)|s)] ≤ ε.'),
    "IL-6": ('2.1, 2.2', "DAgger (train, run, label, aggregate) drives the training distribution toward the policy's own state distribution."),
    "IL-7": ('2.1, 2.2', 'Goal-conditioned behavioural cloning with hindsight relabelling, iterated, improves goal reaching from a random start policy.'),
    "RL-1": ('3.1–3.5', 'p_θ(τ) = p(s₁) Π_t π_θ(a_t|s_t) p(s_{t+1}|s_t,a_t).'),
    "RL-2": ('3.1–3.5', "The objective equals the sum over t of expectations under the state-action marginals; (s_t, a_t) is a Markov chain with transition p(s'|s,a) π_θ(a'|s')."),
    "RL-3": ('3.1–3.5', 'In the infinite-horizon ergodic case p(s,a) converges to a stationary μ with μ = 𝒯μ (eigenvector of eigenvalue 1), and the average-reward objective is E_μ[r].'),
    "RL-4": ('3.1–3.5', 'The expected reward is smooth in θ even when the reward is not smooth.'),
    "RL-5": ('3.1–3.5', 'The objective equals E_{s₁}[V^π(s₁)]; V^π(s) = E_{a∼π}[Q^π(s,a)].'),
    "RL-6": ('3.1–3.5', "The greedy policy π'(a|s) = 1[a = argmax Q^π(s,a)] is at least as good as π."),
    "RL-7": ('3.1–3.5', 'Raising π(a|s) for actions with Q^π(s,a) > V^π(s) improves the policy.'),
    "RL-8": ('3.1–3.5', 'Of the algorithm families, only policy gradient performs gradient ascent on the true objective.'),
    "RL-9": ('3.1–3.5', 'Value-function fitting at best minimises Bellman error, and with function approximation it is not guaranteed to converge to anything.'),
    "RL-10": ('3.1–3.5', "Model-based RL minimises the model's error of fit, but a better-fitting model does not guarantee a better policy."),
    "RL-11": ('3.1–3.5', 'Off-policy methods can improve the policy without new samples from it; on-policy methods need new samples after every change of the policy.'),
    "PG-1": ('4.1–4.5', 'Score-function identity p ∇log p = ∇p; ∇J = E[∇log p_θ(τ) r(τ)].'),
    "PG-2": ('4.1–4.5', '∇log p_θ(τ) = Σ_t ∇log π_θ(a_t|s_t) (the dynamics drop out).'),
    "PG-3": ('4.1–4.5', "REINFORCE's estimator is unbiased for ∇J."),
    "PG-4": ('4.1–4.5', 'The same estimator with observations in place of states is unbiased on a POMDP.'),
    "PG-5": ('4.1–4.5', "Causality: E[Σ_t ∇log π_θ(a_t|s_t) (Σ_{t'=1}^{t} r_{t'})] = 0."),
    "PG-6": ('4.1–4.5', 'The reward-to-go estimator is unbiased.'),
    "PG-7": ('4.1–4.5', 'The reward-to-go estimator has smaller variance than REINFORCE.'),
    "PG-8": ('4.1–4.5', 'A constant baseline b leaves the estimator unbiased.'),
    "PG-9": ('4.1–4.5', 'The average-reward baseline b = (1/N) Σ_i r(τ_i) gives a valid (unbiased) estimator.'),
    "PG-10": ('4.1–4.5', "The variance-minimising constant baseline is b = E[g(τ)² r(τ)] / E[g(τ)²] (per parameter component), and its variance is no larger than the average-reward baseline's."),
    "PG-11": ('4.1–4.5', 'The importance-sampling identity, as derived step by step in 4.4.'),
    "PG-12": ('4.1–4.5', "The off-policy gradient with full trajectory weights p_θ'(τ)/p_θ(τ) is unbiased for ∇J(θ'), and equals the per-decision form written in 4.4."),
    "PG-13": ('4.1–4.5', "Dropping the future ratios (over t'') gives a policy-iteration-like estimator."),
    "PG-14": ('4.1–4.5', 'The variance of trajectory importance weights grows exponentially in T.'),
    "PG-15": ('4.1–4.5', "Dropping the state-marginal ratio gives a biased estimator whose error is bounded in terms of the difference between θ and θ'."),
    "PG-16": ('4.1–4.5', "θ + α∇J maximises α∇J·θ − ½‖θ − θ_k‖²; the constrained form with ‖θ'−θ‖ ≤ ε gives the same direction."),
    "PG-17": ('4.1–4.5', "D_KL(π_θ' ‖ π_θ) = E_{π_θ'}[log π_θ − log π_θ']."),
    "PG-18": ('4.1–4.5', "D_KL(π_θ' ‖ π_θ) ≈ (θ'−θ)ᵀ F (θ'−θ) to second order."),
    "PG-19": ('4.1–4.5', 'F = E[∇log π ∇log πᵀ], and it can be estimated from samples.'),
    "PG-20": ('4.1–4.5', 'The KL-constrained step is θ + α F⁻¹∇J; the natural gradient is parameterisation-independent (covariant).'),
    "PG-21": ('4.1–4.5', 'TRPO fixes ε and derives α, computing F⁻¹∇J by conjugate gradient.'),
    "PG-22": ('4.1–4.5', 'The optimal-baseline derivation: ∂Var/∂b = −2E[g²r] + 2bE[g²] = 0.'),
}


@dataclass
class Verdict:
    """The outcome of one claim check.

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
    """A registered claim: ID, section of the notes, the notes' wording, and its checks."""

    id: str
    section: str
    statement: str
    funcs: list[Callable[[], Verdict]] = field(default_factory=list, repr=False)


_CLAIMS: dict[str, ClaimCheck] = {}


def new_claim(id: str, *, section: str, statement: str) -> None:
    """Add a claim of the notes that CLAIMS.md does not list (e.g. ``"PG-23"``)."""
    if id in CLAIMS and CLAIMS[id] != (section, statement):
        raise ValueError(f"claim {id} already exists with another wording")
    CLAIMS[id] = (section, statement)


def claim(id: str):
    """Register the decorated function as a check of claim ``id`` (e.g. ``"PG-7"``)."""
    if id not in CLAIMS:
        raise KeyError(f"unknown claim {id!r}: add it with new_claim first")

    def deco(fn: Callable[[], Verdict]) -> Callable[[], Verdict]:
        section, statement = CLAIMS[id]
        entry = _CLAIMS.setdefault(id, ClaimCheck(id, section, statement))
        key = (fn.__module__, fn.__qualname__)
        if all((f.__module__, f.__qualname__) != key for f in entry.funcs):
            entry.funcs.append(fn)
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
    """Every claim of :data:`CLAIMS` with its registered checks (possibly none), in the
    order IL, RL, PG, others."""
    _load("pgmath.verdicts")
    for cid, (section, statement) in CLAIMS.items():
        _CLAIMS.setdefault(cid, ClaimCheck(cid, section, statement))
    return [_CLAIMS[k] for k in sorted(_CLAIMS, key=_key)]


def combine(verdicts: list[dict]) -> str:
    """The claim's verdict from its checks' verdicts (see the module docstring)."""
    vs = [v["verdict"] for v in verdicts]
    if not vs or any("error" in v for v in verdicts):
        return "undecided"
    for level in ("false as written", "holds under conditions", "undecided"):
        if level in vs:
            return level
    return "holds"


def _run_one(fn: Callable[[], Verdict]) -> dict:
    t0 = time.perf_counter()
    try:
        out = {k: v for k, v in asdict(fn()).items() if v is not None}
    except Exception as exc:  # noqa: BLE001 - reported; verify exits non-zero
        out = {"verdict": "undecided", "check": f"{fn.__module__}.{fn.__qualname__}",
               "error": f"{type(exc).__name__}: {exc}"}
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def run_claim(entry: ClaimCheck) -> dict:
    """Run every check of one claim. Returns a JSON-ready dict: ``id``, ``section``,
    ``statement``, ``verdict`` (combined), ``check`` (the deciding checks joined by
    "; "), ``conditions`` / ``correction`` / ``counterexample`` (joined, when any check
    gives them), ``evidence``, ``seconds`` (total), ``checks`` (each check's own dict),
    and ``error`` when a check raised."""
    results = [_run_one(fn) for fn in entry.funcs]
    out = {"id": entry.id, "section": entry.section, "statement": entry.statement,
           "verdict": combine(results),
           "check": "; ".join(r["check"] for r in results) or "none registered",
           "seconds": round(sum(r["seconds"] for r in results), 3),
           "checks": results}
    for k in ("conditions", "correction", "counterexample", "evidence", "error"):
        vals = [r[k] for r in results if r.get(k)]
        if vals:
            out[k] = " ".join(vals)
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
