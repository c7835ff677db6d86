"""Checking a rollout advantage function (a user's ``compute_gae``) exactly.

The question is "does my GAE give the update correct GAE gives?": on segments of small
problems with terminations, truncations and episodes crossing both segment edges, the
expected update of the user's function,

    E[g_user] = Σ_segments p(segment) Σ_e Σ_t w_t ψ_t Â^user_t,

is compared with E[g_GAE], that of the reference — correct GAE(λ) with partial-episode
bootstrapping, fed the same value predictions, λ and γ. Both come from the same exact
route, so the only tolerance is floating-point rounding: pgmath's one rounding model
(:mod:`pgmath.check.rounding`), in the working precision of the user's function (the
dtype it returns, or ``precision=``).

Routes (``method``):

* ``"enumeration"``: every segment of ``n_steps`` rows is listed and the function called
  on all of them at once — any function, a black box included. The number of segments
  grows exponentially with ``n_steps`` (about (S·A)^n_steps), so a black box is checked on
  *short* segments (3 steps by default; :func:`max_enumerable_steps` says how long they
  can be on a problem): it sees every layout of episode boundaries a short segment can
  hold (terminations, truncations, auto-resets, episodes crossing both edges), not
  behaviour that only appears after more rows.
* ``"recursion"``: a function that describes itself as a GAE-family recursion
  (``rollout_rule``, :mod:`pgmath.rollouts.rules`; pgmath's :func:`gae` and the five bugs
  do) is exact at any length, by the forward recursion over the row chain, after its
  description is held against its code (a description the code contradicts is refused).
* ``"auto"``: enumeration when the segments can be listed, else the recursion for a
  described function; a black box on segments too long to list is *inconclusive* and the
  report says which ``n_steps`` would decide it.

The comparison is repeated with the exact values V^π and with critics that are not exact
(seeded perturbations of V^π): with exact values some mistakes have no bias (GAE carried
across a truncation adds TD errors of conditional mean 0), with a learned critic they do.

The result is a :class:`pgmath.check.CheckResult` (:class:`RolloutCheckResult`): the
same three verdicts ("unbiased", "biased", "inconclusive"; ``passed`` only for the
first), the same fields, with the target ∇J replaced by E[g_GAE] and the deciding (worst)
row's bias, tolerance, scale and pattern — a known bug named when the user's Â equals it
on every segment or in expectation. :func:`pgmath.check_unbiased` and
:func:`pgmath.testing.assert_unbiased` route a :class:`~pgmath.rollouts.RolloutProblem`
here (:func:`check_unbiased_rollout`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._deprecation import renamed_arguments
from ..check.diagnosis import Diagnosis, coordinate_labels, diagnose, table_shape
from ..check.exact_check import precision_note
from ..check.reports import bias_lines, bias_table_lines, diagnosis_lines, verdict_line
from ..check.results import VERDICTS, CheckResult, Thresholds
from ..check.rounding import RoundingBound, resolve_precision, unit_roundoff
from ..errors import (EstimatorError, InvalidArgumentError, PgmathError, TooManyTrajectoriesError,
                      check_choice)
from ..estimator_protocol import _name
from ..testing import assert_result_unbiased
from .compare import UpdateComparison, compare_update
from .enumeration import MAX_SEGMENTS, count_segments
from .examples import boundary_problem, random_rollout_problem
from .expectation import (SegmentExpectation, _check_lam, _tolerance, call_advantages,
                          enumerate_setting, enumeration_expectation, prepare,
                          recursion_expectation, rule_of)
from .gae import gae
from .objective import values as exact_values
from .patterns import DESCRIPTIONS, PATTERNS
from .problem import RolloutProblem
from .rules import rows_of_segment

__all__ = ["RolloutCheckRow", "RolloutCheckResult", "check_rollout", "check_rollout_battery",
           "check_unbiased_rollout", "assert_rollout_unbiased", "rollout_battery",
           "rollout_battery_results", "critic_tables", "max_enumerable_steps", "VERDICTS",
           "METHODS", "TARGET"]

#: Routes of a rollout check (module docstring).
METHODS = ("auto", "enumeration", "recursion")
#: How reports name the target: the expected update of correct GAE.
TARGET = "E g_GAE"


@dataclass(frozen=True, eq=False)
class RolloutCheckRow:
    """One decided comparison: a problem and a value table.

    Attributes:
      problem, values: names of the problem and of the value table ("exact V^π",
        "critic 1", …).
      user, reference: :class:`SegmentExpectation` of the user's function and of correct GAE.
      bias: ``[d]`` E[g_user] − E[g_GAE]; threshold: ``[d]`` the rounding bound on it.
      verdict: ``"unbiased"``, ``"biased"`` or ``"inconclusive"`` (the tolerance is above a
        requested ``detectable_bias``).
      rounding: the :class:`~pgmath.check.rounding.RoundingBound` of ``threshold``.
      comparison: the reference against ∇J / ∇J_γ (exact values only, else ``None``).
      matches: the known functions (``"gae"`` or a pattern's name) the user's Â equals on
        every enumerated segment.
      scale, orthogonal, pattern: the diagnosis against E[g_GAE]
        (:func:`pgmath.check.diagnosis.diagnose`; ``pattern`` only when biased).
    """

    problem: str
    values: str
    user: SegmentExpectation
    reference: SegmentExpectation
    bias: np.ndarray
    threshold: np.ndarray
    verdict: str
    rounding: RoundingBound
    comparison: UpdateComparison | None
    matches: tuple[str, ...]
    scale: float = float("nan")
    orthogonal: float = float("nan")
    pattern: str | None = None

    @property
    def passed(self) -> bool:
        return self.verdict == "unbiased"

    @property
    def slack(self) -> np.ndarray:
        """The tolerance ``threshold`` (rounding only)."""
        return self.threshold

    @property
    def max_abs_bias(self) -> float:
        return float(np.max(np.abs(self.bias)))

    @property
    def margin(self) -> float:
        """max_j (|bias_j| − threshold_j): > 0 when biased; the row closest to failing has
        the largest."""
        return float(np.max(np.abs(self.bias) - self.threshold))

    @property
    def name(self) -> str:
        return f"{self.problem} / {self.values}"


@dataclass(frozen=True, eq=False)
class RolloutCheckResult(CheckResult):
    """The verdict on a rollout advantage function: a :class:`pgmath.check.CheckResult`
    whose target is E[g_GAE] (the expected update of correct GAE on the same segments and
    values) instead of ∇J.

    The :class:`CheckResult` fields (``verdict``, ``passed``, ``method``, ``bias``,
    ``threshold``, ``target``, ``estimate``, ``scale``, ``orthogonal``, ``pattern``,
    ``precision``, ``rounding``, ``labels``, ``table_shape``, …) are those of the deciding
    row: the one furthest past (or closest to) its tolerance. ``max_abs_bias`` and
    ``detectable_bias`` are the largest over the rows; ``n`` counts the segments
    enumerated (0 on the recursion route); ``coupled`` says the function's columns depend
    on each other (found by probing; ``batch_size`` = n_envs then).

    Attributes (besides those of :class:`CheckResult`):
      rows: every decided :class:`RolloutCheckRow`; errors: (row, message) of those that
        could not be decided; matches: the known functions the user's Â equals on every
        segment of every row (``"gae"`` or a bug's name); deciding: the deciding row's name.
    """

    rows: tuple = ()
    errors: tuple = ()
    matches: tuple[str, ...] = ()
    deciding: str = ""


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


def max_enumerable_steps(problem: RolloutProblem, policy, theta, *, start: str = "stationary",
                         mode: str = "same_step", max_segments: int = MAX_SEGMENTS,
                         limit: int = 64) -> int:
    """The longest segment (≤ ``limit`` rows) whose segments of one column number at most
    ``max_segments``: how long a black-box function can be checked exactly on this problem
    (0 when not even one row can be listed)."""
    setting = prepare(problem, policy, theta, mode=mode, start=start)
    n = 0
    while n < limit and count_segments(setting.chain, setting.p_start, n + 1) <= max_segments:
        n += 1
    return n


def _pathwise_matches(adv_user, seg, lam, precision, candidates) -> set[str]:
    rows = rows_of_segment(seg, seg.discount, lam)
    tol = _tolerance(seg.n_steps, precision, rows)
    hits = set()
    for name, fn in candidates.items():
        ref, _ = call_advantages(fn, seg, lam)
        if np.all(np.abs(adv_user - ref) <= tol):
            hits.add(name)
    return hits


def _combined_rounding(user: SegmentExpectation, ref: SegmentExpectation, precision: str
                       ) -> RoundingBound:
    """The rounding bound of E[g_user] − E[g_GAE]: the user's part in its working precision
    (γ_{K_w}(u) × its magnitudes), both float64 sums (K_s, the larger of the two) and the
    reference's own rounding in float64 as the target part (K_t = its K_w)."""
    ru, rr = user.rounding, ref.rounding
    return RoundingBound(precision, unit_roundoff(precision), ru.k_w, max(ru.k_s, rr.k_s),
                         ru.sums + rr.sums, rr.k_w, rr.magnitude, ru.underflow + rr.underflow,
                         magnitude_fn=lambda: (ru.magnitude, ru.source))


def _route(method: str, fn, setting, n_steps: int, lam: float, max_segments: int) -> str:
    check_choice("method (a rollout check is exact)", method, METHODS)
    described = rule_of(fn, setting.problem.discount, lam) is not None
    if method == "recursion" and not described:
        raise InvalidArgumentError(
            f"method='recursion' needs a function that describes itself (rollout_rule); "
            f"{_name(fn)} is a black box: use method='enumeration' on short segments")
    if method != "auto":
        return method
    n_seg = count_segments(setting.chain, setting.p_start, n_steps)
    if n_seg <= max_segments:
        return "enumeration"
    if described:
        return "recursion"
    raise TooManyTrajectoriesError(
        f"{_name(fn)} is a black box, so its exact expected update needs every segment of "
        f"{n_steps} steps: {n_seg:,} of them, above max_segments = {max_segments:,}. "
        "Use fewer steps (n_steps=3 sees every boundary layout of a short segment), or "
        "describe the function by a rollout_rule to use the recursion at any length")


def _row(fn, setting, table_name, label, *, n_steps, n_envs, lam, weighting, reduce, method,
         precision, detectable_bias, max_segments, comparison) -> RolloutCheckRow:
    route = _route(method, fn, setting, n_steps, lam, max_segments)
    kw = dict(n_envs=n_envs, lam=lam, weighting=weighting, reduce=reduce)
    candidates = {"gae": gae, **PATTERNS}
    if route == "enumeration":
        seg, prob = enumerate_setting(setting, n_steps, max_segments=max_segments)
        user, adv = enumeration_expectation(fn, setting, seg, prob, max_batches=max_segments,
                                            **kw)
        ref, _ = enumeration_expectation(gae, setting, seg, prob, **kw)
        matches = tuple(sorted(_pathwise_matches(adv, seg, lam, user.precision, candidates)))

        def bug(f):
            return enumeration_expectation(f, setting, seg, prob, **kw)[0]
    else:
        user = recursion_expectation(fn, setting, n_steps=n_steps, **kw)
        ref = recursion_expectation(gae, setting, n_steps=n_steps, **kw)
        matches = ()

        def bug(f):
            return recursion_expectation(f, setting, n_steps=n_steps, **kw)
    prec = resolve_precision(precision, user.precision)
    rb = _combined_rounding(user, ref, prec)
    thr = rb.slack()
    bias = user.mean - ref.mean
    if np.any(np.abs(bias) > thr):
        verdict = "biased"
    elif detectable_bias is not None and float(thr.max()) > detectable_bias:
        verdict = "inconclusive"
    else:
        verdict = "unbiased"
    extra = []
    if verdict == "biased":
        extra = [(f"E[g] = that of the known bug {k!r}: {DESCRIPTIONS[k]}", bug(f).mean)
                 for k, f in PATTERNS.items()]
    diag = diagnose(user.mean, ref.mean, 2.0 * thr, mdp=None, policy=None, theta=None,
                    batch_size=n_envs if user.coupled else 1, extra=extra, target_name=TARGET)
    pattern = None
    if verdict == "biased":
        known = [m for m in PATTERNS if m in matches]
        pattern = (f"pathwise equal to the known bug {known[0]!r} on every segment: "
                   f"{DESCRIPTIONS[known[0]]}" if known else diag.pattern)
    return RolloutCheckRow(label, table_name, user, ref, bias, thr, verdict, rb, comparison(ref),
                           matches, diag.scale, diag.orthogonal, pattern)


def check_rollout(advantage_fn, problem: RolloutProblem, policy, theta, *, lam: float = 0.95,
                  n_steps: int = 3, n_envs: int = 1, start: str = "stationary",
                  mode: str = "same_step", values=None, n_critics: int = 2,
                  weighting: str = "none", reduce: str = "sum", method: str = "auto",
                  precision: str = "auto", detectable_bias: float | None = None,
                  alpha: float = 1e-6, name: str | None = None,
                  rng: np.random.Generator | None = None,
                  max_segments: int = MAX_SEGMENTS) -> RolloutCheckResult:
    """Is E[update of ``advantage_fn``] = E[update of correct GAE]? Decided exactly.

    Args:
      advantage_fn: an explicit-signature advantage function (a CleanRL, SB3 or skrl
        signature through :func:`pgmath.rollouts.signatures.adapt`).
      problem, policy, theta: a rollout problem and a state policy with θ ``[d]``.
      lam: λ for both functions.
      n_steps, n_envs: the segment size (module docstring: a black box is enumerated, so
        keep n_steps short; a described function is exact at any length).
      start, mode, weighting, reduce: as for :func:`pgmath.rollouts.expected_update`.
      values: a list of (name, table), or ``None`` for :func:`critic_tables`.
      n_critics, rng: the inexact critics of the default tables.
      method: ``"auto"``, ``"enumeration"`` or ``"recursion"`` (module docstring).
      precision: the function's working precision for the rounding tolerance: ``"auto"``
        (the dtype it returns), ``"float64"``, ``"float32"`` (code that computes in float32
        and returns float64), ``"float16"``.
      detectable_bias: a row whose tolerance is above it is "inconclusive" (the exact
        route cannot resolve a bias that small in the function's precision).
      alpha: recorded in the result (an exact check has no false-failure rate).
      name: how the report names the problem.

    Returns:
      :class:`RolloutCheckResult`.

    Raises:
      EstimatorError: the function raised or returned a bad array.
    """
    lam = _check_lam(lam)
    if detectable_bias is not None and not detectable_bias > 0:
        raise InvalidArgumentError(f"detectable_bias must be > 0, got {detectable_bias!r}")
    resolve_precision(precision, None)  # validates the name
    tables = values if values is not None else critic_tables(problem, policy, theta,
                                                             n_critics=n_critics, rng=rng)
    label = name or repr(problem)
    rows, errors = [], []

    def comparison(ref, vname):
        return compare_update(ref, problem, policy, theta) if vname.startswith("exact") else None

    for vname, table in tables:
        try:
            setting = prepare(problem, policy, theta, mode=mode, start=start, values=table)
            rows.append(_row(advantage_fn, setting, vname, label, n_steps=n_steps,
                             n_envs=n_envs, lam=lam, weighting=weighting, reduce=reduce,
                             method=method, precision=precision,
                             detectable_bias=detectable_bias, max_segments=max_segments,
                             comparison=lambda ref, v=vname: comparison(ref, v)))
        except (EstimatorError, InvalidArgumentError):
            raise
        except PgmathError as exc:
            errors.append((f"{label} / {vname}", f"{type(exc).__name__}: {exc}"))
    setup = dict(lam=lam, n_steps=n_steps, n_envs=n_envs, mode=mode, start=start,
                 reduce=reduce, weighting=weighting)
    return _result(advantage_fn, rows, errors, setup, policy, alpha, label)


def _verdict(rows, errors) -> str:
    if any(r.verdict == "biased" for r in rows):
        return "biased"
    if errors or not rows or any(r.verdict == "inconclusive" for r in rows):
        return "inconclusive"
    return "unbiased"


def _result(fn, rows, errors, setup, policy, alpha, on) -> RolloutCheckResult:
    verdict = _verdict(rows, errors)
    common = set.intersection(*(set(r.matches) for r in rows)) if rows else set()
    matches = tuple(m for m in ["gae", *PATTERNS] if m in common)
    labels = coordinate_labels(policy)
    shape = table_shape(policy)
    methods = sorted({r.user.method for r in rows})
    lines = [f"check_rollout({_name(fn)}) on {on}, {policy!r}",
             f"  target: {TARGET} = E[update of correct GAE(λ = {setup['lam']:g})] with "
             "partial-episode bootstrapping, fed the same values, γ and λ",
             f"  method: {'/'.join(methods) or 'none'}; unit: segments of {setup['n_steps']} "
             f"steps × {setup['n_envs']} env(s) ({setup['start']} start, "
             f"{setup['mode'].replace('_', '-')} auto-reset, reduce={setup['reduce']}, "
             f"weighting={setup['weighting']})"]
    if "enumeration" in methods:
        lines.append("  enumerated every segment: E[g] = Σ p(segment) g(segment), no sampling "
                     "(a black box is enumerated, so segments are short: it sees every boundary "
                     f"layout of {setup['n_steps']} rows, not what only longer segments show)")
    if "recursion" in methods:
        lines.append("  recursion over the row chain (the function's rollout_rule, held against "
                     "its code): exact at any length, no enumeration and no sampling")
    if any(r.user.coupled for r in rows):
        lines.append("  column coupling: found by probing (a column's Â changes with the other "
                     "columns); each batch of n_envs segments was one call")
    one = len({r.problem for r in rows} | {e.rsplit(" / ", 1)[0] for e, _ in errors}) <= 1
    head = "values" if one else "problem / values"

    def cut(name):
        return name.rsplit(" / ", 1)[-1] if one else name
    w = max([len(head)] + [len(cut(r.name)) for r in rows] + [len(cut(e)) for e, _ in errors])
    lines.append(f"  {head:{w}s}  verdict       max|E g − {TARGET}|  tolerance  segments")
    shown = {"unbiased": "pass", "biased": "FAIL", "inconclusive": "inconclusive"}
    for r in rows:
        n_seg = f"{r.user.n_segments:,}" if r.user.method == "enumeration" else "-"
        lines.append(f"  {cut(r.name):{w}s}  {shown[r.verdict]:12s}  {r.max_abs_bias:18.3e}  "
                     f"{float(r.threshold.max()):9.3e}  {n_seg:>8s}")
    for where, msg in errors:
        lines.append(f"  {cut(where):{w}s}  ERROR         {msg}")
    if not rows:
        lines.append(verdict_line(verdict))
        return RolloutCheckResult(
            passed=False, method="enumeration", max_abs_bias=float("nan"),
            detectable_bias=float("inf"), n=0, alpha=alpha, report="\n".join(lines),
            verdict=verdict, labels=labels, table_shape=shape, errors=tuple(errors))
    row = max(rows, key=lambda r: r.margin)
    thr, rb = row.threshold, row.rounding
    if len(rows) > 1:
        lines.append(f"  deciding row (furthest past, or closest to, its tolerance): "
                     f"{cut(row.name)}")
    lines.append(f"  tolerance: {rb.describe()}; max_j {float(thr.max()):.3e}")
    lines.append(f"  max |E g − {TARGET}| = {row.max_abs_bias:.3e}")
    if row.verdict == "biased":
        lines += precision_note(row.bias, rb)
    if matches:
        what = "correct GAE" if matches[0] == "gae" else f"the known bug {matches[0]!r}"
        lines.append(f"  pathwise: equal to {what} on every enumerated segment")
    for where, msg in errors:
        if "TooManyTrajectoriesError" in msg:
            lines.append(f"  undecided: {where}: {msg.split(': ', 1)[1]}")
            break
    lines.append(verdict_line(verdict))
    if row.verdict == "biased":
        lines += diagnosis_lines(Diagnosis(row.scale, row.orthogonal, row.pattern),
                                 row.reference.mean, target_name=TARGET)
    lines += bias_lines(row.bias, thr, row.reference.mean, row.user.mean, labels,
                        target_name=TARGET)
    if row.verdict == "biased" and shape is not None:
        lines += bias_table_lines(row.bias, shape, policy.over)
    cmp = next((r.comparison for r in rows if r.comparison is not None), None)
    if cmp is not None:
        lines.append("  the reference itself against the objective's gradient (exact V^π):")
        lines += ["  " + line for line in cmp.report.splitlines()[1:]]
    n = sum(r.user.n_segments for r in rows if r.user.method == "enumeration")
    coupled = any(r.user.coupled for r in rows)
    return RolloutCheckResult(
        passed=verdict == "unbiased", method=row.user.method,
        max_abs_bias=max(r.max_abs_bias for r in rows),
        detectable_bias=max(float(r.threshold.max()) for r in rows), n=int(n), alpha=alpha,
        report="\n".join(lines), guaranteed=True, bias=row.bias, threshold=thr,
        target=row.reference.mean, estimate=row.user.mean, verdict=verdict,
        precision=rb.precision, coupled=coupled,
        coupling="found by probing: a column's Â changes with the other columns"
        if coupled else "", batch_size=setup["n_envs"] if coupled else 1,
        scale=row.scale, orthogonal=row.orthogonal,
        pattern=row.pattern if verdict == "biased" else None,
        thresholds=Thresholds("rounding", int(n), 0.0, 0.0, None, None, np.zeros_like(thr), thr),
        rounding=rb, labels=labels, table_shape=shape, rows=tuple(rows), errors=tuple(errors),
        matches=matches, deciding=row.name)


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


def rollout_battery_results(advantage_fn, problems=None, *, seed: int = 0, **kwargs
                            ) -> list[tuple[str, RolloutCheckResult]]:
    """[(name, :func:`check_rollout` result)] for every problem of :func:`rollout_battery`
    (or ``problems``), the critics of problem k seeded ``default_rng([seed, k])``."""
    problems = rollout_battery(seed) if problems is None else problems
    return [(name, check_rollout(advantage_fn, prob, pol, th, name=name,
                                 rng=np.random.default_rng([seed, k]), **kwargs))
            for k, (name, prob, pol, th) in enumerate(problems)]


def check_rollout_battery(advantage_fn, problems=None, *, seed: int = 0, **kwargs
                          ) -> RolloutCheckResult:
    """:func:`check_rollout` on every problem of :func:`rollout_battery` (or ``problems``),
    one verdict over all rows."""
    problems = rollout_battery(seed) if problems is None else problems
    results = rollout_battery_results(advantage_fn, problems, seed=seed, **kwargs)
    rows = [r for _, res in results for r in res.rows]
    errors = [e for _, res in results for e in res.errors]
    setup = dict(lam=kwargs.get("lam", 0.95), n_steps=kwargs.get("n_steps", 3),
                 n_envs=kwargs.get("n_envs", 1), mode=kwargs.get("mode", "same_step"),
                 start=kwargs.get("start", "stationary"), reduce=kwargs.get("reduce", "sum"),
                 weighting=kwargs.get("weighting", "none"))
    policy = problems[0][2]
    return _result(advantage_fn, rows, errors, setup, policy, kwargs.get("alpha", 1e-6),
                   f"{len(problems)} problems")


@renamed_arguments(behaviour_theta="theta_behaviour")
def check_unbiased_rollout(estimator, problem: RolloutProblem, policy, theta, *,
                           alpha: float = 1e-6, n=None, detectable_bias=None,
                           theta_behaviour=None, rng=None, method: str = "auto", bound=None,
                           batch_size=None, beta=None, precision: str = "auto",
                           relative_resolution=None, max_n=None, **options
                           ) -> RolloutCheckResult:
    """:func:`pgmath.check_unbiased` on a :class:`~pgmath.rollouts.RolloutProblem`: the
    rollout check :func:`check_rollout` (``options``: its ``lam``, ``n_steps``, ``n_envs``,
    ``start``, ``mode``, ``values``, ``weighting``, ``reduce``, …).

    The check is exact, so the options of the statistical routes do not apply: ``n``,
    ``bound`` and ``theta_behaviour`` raise :class:`InvalidArgumentError`; ``batch_size``,
    ``beta``, ``relative_resolution`` and ``max_n`` are ignored (column coupling is found
    by probing and enumerated batch by batch of ``n_envs``).
    """
    for opt, v in (("n", n), ("bound", bound), ("theta_behaviour", theta_behaviour)):
        if v is not None:
            raise InvalidArgumentError(
                f"{opt}= does not apply to a rollout check: it is exact (every segment "
                "enumerated, or the recursion for a described function), with no sampling")
    return check_rollout(estimator, problem, policy, theta, alpha=alpha,
                         detectable_bias=detectable_bias, rng=rng, method=method,
                         precision=precision, **options)


def assert_rollout_unbiased(advantage_fn, problems=None, **kwargs) -> RolloutCheckResult:
    """pytest-style: :func:`pgmath.testing.assert_result_unbiased` on
    :func:`check_rollout_battery` (or :func:`check_rollout` on ``problems`` given as one
    ``(problem, policy, θ)``): raises ``AssertionError`` with the report unless the verdict
    is "unbiased", and returns the result otherwise. (For one problem,
    ``pgmath.testing.assert_unbiased(fn, problem, policy, theta, **options)`` does the same.)"""
    if problems is not None and len(problems) == 3 and not isinstance(problems[0], tuple):
        res = check_rollout(advantage_fn, *problems, **kwargs)
    else:
        res = check_rollout_battery(advantage_fn, problems, **kwargs)
    return assert_result_unbiased(res)
