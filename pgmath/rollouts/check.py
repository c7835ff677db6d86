"""Checking a rollout advantage function (a user's ``compute_gae``) exactly.

The question is "does my GAE give the update correct GAE gives?": on short segments of
small problems with terminations, truncations and episodes crossing both segment edges,
every segment is enumerated and the expected update of the user's function,

    E[g_user] = Σ_segments p(segment) Σ_e Σ_t w_t ψ_t Â^user_t,

is compared with that of the reference — correct GAE(λ) with partial-episode
bootstrapping, fed the same value predictions, λ and γ. Both come from the same
enumeration, so the only tolerance is floating-point rounding (following the precision
the user's function returned: float32 output is held to float32's unit roundoff).

The comparison is repeated with the exact values V^π and with critics that are not exact
(seeded perturbations of V^π): with exact values some mistakes have no bias (GAE carried
across a truncation adds TD errors of conditional mean 0), with a learned critic they do.

Verdicts: ``"unbiased"`` (no row differs beyond rounding), ``"biased"`` (some row does;
the report gives the size of the bias), ``"inconclusive"`` (nothing failed, but some rows
could not be decided, e.g. too many segments). Beside the verdict, the reference's own
update is held against ∇J or ∇J_γ (:mod:`.compare`), and the function is matched
pathwise against correct GAE and the five known bugs (:mod:`.patterns`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import EstimatorError, PgmathError
from ..estimator_protocol import _name
from .compare import UpdateComparison, compare_update
from .enumeration import MAX_SEGMENTS
from .examples import boundary_problem, random_rollout_problem
from .expectation import (SegmentExpectation, _check_lam, _gamma_k, call_advantages,
                          enumerate_setting, enumeration_expectation, prepare)
from .gae import gae
from .objective import values as exact_values
from .patterns import PATTERNS
from .problem import RolloutProblem
from .rules import abs_rule, rows_of_segment

__all__ = ["RolloutCheckRow", "RolloutCheckResult", "check_rollout", "check_rollout_battery",
           "assert_rollout_unbiased", "rollout_battery",
           "critic_tables", "VERDICTS"]

VERDICTS = ("unbiased", "biased", "inconclusive")


@dataclass(frozen=True, eq=False)
class RolloutCheckRow:
    """One decided comparison: a problem and a value table.

    Attributes:
      problem, values: names of the problem and of the value table ("exact V^π",
        "critic 1", …).
      user, reference: :class:`SegmentExpectation` of the user's function and of correct GAE.
      bias: ``[d]`` E[g_user] − E[g_ref]; slack: ``[d]`` the rounding bound on it.
      passed: every |bias_j| ≤ slack_j.
      comparison: the reference against ∇J / ∇J_γ (exact values only, else ``None``).
      matches: the known functions (``"gae"`` or a pattern's name) the user's Â equals on
        every enumerated segment.
    """

    problem: str
    values: str
    user: SegmentExpectation
    reference: SegmentExpectation
    bias: np.ndarray
    slack: np.ndarray
    passed: bool
    comparison: UpdateComparison | None
    matches: tuple[str, ...]

    @property
    def max_abs_bias(self) -> float:
        return float(np.max(np.abs(self.bias)))


@dataclass(frozen=True, eq=False)
class RolloutCheckResult:
    """The verdict on a rollout advantage function over one or more problems.

    Attributes:
      verdict: ``"unbiased"``, ``"biased"`` or ``"inconclusive"``.
      passed: ``verdict == "unbiased"``.
      rows: the decided :class:`RolloutCheckRow` s; errors: (problem, message) of rows that
        could not be decided.
      matches: the known functions the user's Â equals on every segment of every row.
      report: a readable table.
    """

    verdict: str
    rows: list
    errors: list = field(default_factory=list)
    matches: tuple[str, ...] = ()
    report: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict == "unbiased"

    @property
    def max_abs_bias(self) -> float:
        return max((r.max_abs_bias for r in self.rows), default=0.0)

    def __str__(self) -> str:
        return self.report


def critic_tables(problem: RolloutProblem, policy, theta, *, n_critics: int = 2,
                  rng: np.random.Generator | None = None) -> list[tuple[str, np.ndarray]]:
    """[(name, value table)]: the exact V^π and ``n_critics`` critics that are not exact,
    V^π + ξ with ξ ~ N(0, σ²) per entry, σ = 1 + max|V^π| (seeded, ``default_rng(0)``).

    For the time-limited episodic objective the tables are ``[H + 1, S]`` and keep
    V_H = 0 (the value at the time limit is no prediction: nothing follows it).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    V = exact_values(problem, policy, theta)
    sigma = 1.0 + float(np.max(np.abs(V)))
    out = [("exact V^π", V)]
    for k in range(n_critics):
        noise = rng.normal(scale=sigma, size=V.shape)
        if V.ndim == 2:
            noise[-1] = 0.0
        out.append((f"critic {k + 1}", V + noise))
    return out


def _pathwise_matches(adv_user, seg, lam, u, candidates) -> set[str]:
    rows = rows_of_segment(seg, seg.discount, lam)
    tol = _gamma_k(8 * seg.n_steps + 16, u) * abs_rule(rows) * 4
    hits = set()
    for name, fn in candidates.items():
        ref, _ = call_advantages(fn, seg, lam)
        if np.all(np.abs(adv_user - ref) <= tol):
            hits.add(name)
    return hits


def check_rollout(advantage_fn, problem: RolloutProblem, policy, theta, *, lam: float = 0.95,
                  n_steps: int = 3, n_envs: int = 1, start: str = "stationary",
                  mode: str = "same_step", values=None, n_critics: int = 2,
                  weighting: str = "none", reduce: str = "sum", name: str | None = None,
                  rng: np.random.Generator | None = None,
                  max_segments: int = MAX_SEGMENTS) -> RolloutCheckResult:
    """Is E[update of ``advantage_fn``] = E[update of correct GAE]? Decided exactly.

    Args:
      advantage_fn: an explicit-signature advantage function (a CleanRL, SB3 or skrl
        signature through :func:`pgmath.rollouts.signatures.adapt`).
      problem, policy, theta: a rollout problem and a state policy with θ ``[d]``.
      lam: λ for both functions.
      n_steps, n_envs: the segment size enumerated (short: every segment is listed).
      start, mode, weighting, reduce: as for :func:`pgmath.rollouts.expected_update`.
      values: a list of (name, table), or ``None`` for :func:`critic_tables`.
      n_critics, rng: the inexact critics of the default tables.
      name: how the report names the problem.

    Returns:
      :class:`RolloutCheckResult`.
    """
    lam = _check_lam(lam)
    tables = values if values is not None else critic_tables(problem, policy, theta,
                                                             n_critics=n_critics, rng=rng)
    label = name or repr(problem)
    rows, errors = [], []
    candidates = {"gae": gae, **PATTERNS}
    for vname, table in tables:
        try:
            setting = prepare(problem, policy, theta, mode=mode, start=start, values=table)
            seg, prob = enumerate_setting(setting, n_steps, max_segments=max_segments)
            kw = dict(n_envs=n_envs, lam=lam, weighting=weighting, reduce=reduce,
                      max_batches=max_segments)
            user, adv = enumeration_expectation(advantage_fn, setting, seg, prob, **kw)
            ref, _ = enumeration_expectation(gae, setting, seg, prob, **kw)
        except EstimatorError:
            raise
        except PgmathError as exc:
            errors.append((f"{label} / {vname}", f"{type(exc).__name__}: {exc}"))
            continue
        _, u = call_advantages(advantage_fn, seg.columns(slice(0, 1)), lam)
        matches = tuple(sorted(_pathwise_matches(adv, seg, lam, u, candidates)))
        bias = user.mean - ref.mean
        slack = user.slack + ref.slack
        cmp = (compare_update(ref, problem, policy, theta) if vname.startswith("exact")
               else None)
        rows.append(RolloutCheckRow(label, vname, user, ref, bias, slack,
                                    bool(np.all(np.abs(bias) <= slack)), cmp, matches))
    return _result(advantage_fn, rows, errors, lam, n_steps, n_envs, mode, start)


def _result(fn, rows, errors, lam, n_steps, n_envs, mode, start) -> RolloutCheckResult:
    if any(not r.passed for r in rows):
        verdict = "biased"
    elif errors or not rows:
        verdict = "inconclusive"
    else:
        verdict = "unbiased"
    common = set.intersection(*(set(r.matches) for r in rows)) if rows else set()
    order = ["gae", *PATTERNS]
    matches = tuple(m for m in order if m in common)
    w = max([len("problem / values")] + [len(f"{r.problem} / {r.values}") for r in rows])
    lines = [f"check_rollout({_name(fn)}): exact, every segment of {n_steps} steps × {n_envs} "
             f"env(s) enumerated ({start} start, {mode.replace('_', '-')} auto-reset, λ = {lam:g})",
             "  reference: correct GAE(λ) with partial-episode bootstrapping, same values and γ",
             f"  {'problem / values':{w}s}  verdict  max|E g − E g_ref|  rounding slack  segments"]
    for r in rows:
        lines.append(f"  {r.problem + ' / ' + r.values:{w}s}  {'pass' if r.passed else 'FAIL':7s}  "
                     f"{r.max_abs_bias:17.3e}  {float(r.slack.max()):14.3e}  {r.user.n_segments:8d}")
    for where, msg in errors:
        lines.append(f"  {where:{w}s}  ERROR    {msg}")
    if matches:
        what = ("correct GAE" if matches[0] == "gae"
                else f"the known bug {matches[0]!r}")
        lines.append(f"  pathwise: equal to {what} on every enumerated segment")
    cmp = next((r.comparison for r in rows if r.comparison is not None), None)
    if cmp is not None:
        lines.append("  the reference itself against the objective's gradient (exact V^π):")
        lines += ["  " + line for line in cmp.report.splitlines()[1:]]
    lines.append(f"  verdict: {verdict}")
    return RolloutCheckResult(verdict, rows, errors, matches, "\n".join(lines))


def rollout_battery(seed: int = 0) -> list[tuple[str, RolloutProblem, object, np.ndarray]]:
    """[(name, problem, policy, θ)]: small problems with terminations and truncations
    inside short segments — :func:`pgmath.rollouts.examples.boundary_problem` for both
    objectives and two seeded random problems (3 live states, 1 terminal, H = 2)."""
    out = []
    for objective in ("discounted", "episodic"):
        prob, pol, th = boundary_problem(objective=objective)
        out.append((f"boundary ({objective}, H=3)", prob, pol, th))
    rng = np.random.default_rng(seed)
    for k in range(2):
        prob, pol, th = random_rollout_problem(rng, n_states=4, n_actions=2, time_limit=2,
                                               discount=0.9, terminal_prob=0.3)
        out.append((f"random-{k} (S=4, H=2)", prob, pol, th))
    return out


def check_rollout_battery(advantage_fn, problems=None, *, seed: int = 0, **kwargs
                          ) -> RolloutCheckResult:
    """:func:`check_rollout` on every problem of :func:`rollout_battery` (or ``problems``),
    one verdict over all rows."""
    problems = rollout_battery(seed) if problems is None else problems
    rows, errors = [], []
    for k, (name, prob, pol, th) in enumerate(problems):
        res = check_rollout(advantage_fn, prob, pol, th, name=name,
                            rng=np.random.default_rng([seed, k]), **kwargs)
        rows += res.rows
        errors += res.errors
    return _result(advantage_fn, rows, errors, kwargs.get("lam", 0.95), kwargs.get("n_steps", 3),
                   kwargs.get("n_envs", 1), kwargs.get("mode", "same_step"),
                   kwargs.get("start", "stationary"))


def assert_rollout_unbiased(advantage_fn, problems=None, **kwargs) -> RolloutCheckResult:
    """pytest-style: raise ``AssertionError`` with the report unless
    :func:`check_rollout_battery` (or :func:`check_rollout` on ``problems`` given as one
    ``(problem, policy, θ)``) says "unbiased"; return the result otherwise."""
    if problems is not None and len(problems) == 3 and not isinstance(problems[0], tuple):
        res = check_rollout(advantage_fn, *problems, **kwargs)
    else:
        res = check_rollout_battery(advantage_fn, problems, **kwargs)
    if not res.passed:
        raise AssertionError(res.report)
    return res
