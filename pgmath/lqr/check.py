"""Checking a continuous-action estimator of ∇J on linear-quadratic problems.

The question is the tabular one (:mod:`pgmath.check`): is E[g] = ∇J(θ) for a user's
``g(batch, policy, theta) -> [N, d]``? ``pgmath.check_unbiased`` sends an
:class:`~pgmath.lqr.LQRProblem` here (``register_problem_type``), and the answer is the same
:class:`~pgmath.check.CheckResult` with one of three verdicts: unbiased, biased or
inconclusive. The target ∇J is exact: the closed form for a linear-Gaussian policy
(:mod:`pgmath.lqr.objective`), the moment generating function for a state-dependent σ at
T = 1 (:mod:`pgmath.lqr.state_noise`), certified one-dimensional integrals for tanh
squashing at T = 1 (:mod:`pgmath.lqr.squashing`). What can be known about E[g] depends on
what is known about g — the values of g are unbounded (Gaussian noise), so no sample test
can bound its false-failure rate without more information (Bahadur & Savage 1956). The
routes, in the order ``method="auto"`` tries them:

* **recursion** (exact): the estimator describes itself (``lqr_weights``, as the built-in
  ones do) and the policy is linear-Gaussian. E[g] comes from the moment recursion
  (:mod:`pgmath.lqr.moments`), after the description is held against the code on sampled
  trajectories (a description that disagrees is refused). Tolerance: a bound on the
  floating-point error only (the recursion and the closed form run on magnitudes, γ_K).
* **quadrature** (exact): a black box that is a polynomial in the trajectory's normals of
  degree ≤ ``degree`` in each (every score-function or pathwise estimator of a
  linear-Gaussian policy with quadratic rewards has degree ≤ 4: the default). The q-point
  tensor Gauss–Hermite rule, q = ⌈(degree + 1)/2⌉, is exact for it
  (:mod:`pgmath.lqr.quadrature`); the (q + 1)-point rule probes the assumption: if the two
  differ beyond rounding, g is not such a polynomial and this route is not used. Small
  problems only (q^D nodes).
* **smooth-quadrature** (smooth, non-polynomial g, e.g. tanh squashing or a
  state-dependent σ, D ≤ 3 normals): two rules with q and 2q nodes; E[g] is taken from the
  finer one and the tolerance is 10 × their difference plus rounding. An error estimate,
  not a bound: the result says ``guaranteed=False``.
* **median-of-means** (``variance_bound=V``, V_j ≥ Var g_j): k = ⌈8 ln(d/α)⌉ blocks of b
  draws; Chebyshev makes a block mean miss μ_j by more than ε_j = 2√(V_j/b) with
  probability ≤ 1/4, Hoeffding makes the median of k blocks miss with probability
  ≤ exp(−k/8) ≤ α/d: a correct estimator fails with probability ≤ α, no CLT. A bias
  larger than 2ε_j is caught with the same probability. N is planned for the resolution.
* **empirical-bernstein** (``bound=B``, |g_j| ≤ B): Maurer & Pontil, as in pgmath.check.
* **asymptotic** (nothing known): a Bonferroni z-test with the sample variance, labelled
  ASYMPTOTIC.

A non-exact route calls an estimator unbiased only when it could have seen a bias of the
required size (``detectable_bias``, else 10% of ‖∇J‖∞), and inconclusive otherwise; an
exact route is inconclusive only when its rounding tolerance is not below ‖∇J‖∞ (the
estimator's own arithmetic cannot resolve the gradient). A user's estimator meant to equal
a built-in one can pass the exact variance of that one as ``variance_bound``
(:func:`pgmath.lqr.estimator_moments`); a bound that is wrong voids the guarantee, and the
report says which bound was used.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..check import (DEFAULT_BETA, CheckResult, Thresholds, empirical_bernstein_threshold,
                     min_num_samples_for_empirical_bernstein_mean_test)
from ..check.diagnosis import Diagnosis
from ..check.reports import diagnosis_lines, verdict_line
from ..check.rounding import UNDERFLOW, gamma, resolve_precision, unit_roundoff
from ..errors import (EstimatorError, InvalidArgumentError, PgmathError, TooManyTrajectoriesError, check_choice)
from ..estimator_protocol import _name, call_estimator, is_batch_coupled
from . import objective as _lin
from . import squashing as _sq
from . import state_noise as _sd
from .estimators import describes, reward_to_go_step_discount
from .moments import rounding_depth, weights_moments
from .policies import GaussianLinearPolicy, SquashedGaussianPolicy, StateDependentGaussianPolicy
from .quadrature import CHUNK, MAX_NODES, _node_chunks
from .trajectories import rollout, sample, split_noise
from .._deprecation import renamed_arguments

__all__ = ["check_unbiased", "target_gradient", "working_precision", "probe_coupling",
           "METHODS", "EXACT_METHODS", "median_of_means_blocks", "median_of_means_sample_size",
           "DEFAULT_RELATIVE_RESOLUTION"]

METHODS = ("auto", "recursion", "quadrature", "smooth-quadrature", "median-of-means",
           "empirical-bernstein", "asymptotic")
#: The methods that decide E[g] exactly (up to a rounding bound).
EXACT_METHODS = ("recursion", "quadrature")
#: Nodes per normal of the smooth-integrand quadrature, by the number of normals D.
SMOOTH_RULES = {1: (96, 192), 2: (48, 96), 3: (24, 48)}
#: N when the statistical routes are not told how many to draw.
DEFAULT_N = 100_000
#: The largest N a check plans for a requested detectable bias.
MAX_N = 1_000_000
#: Without ``detectable_bias``, a non-exact check must resolve this fraction of ‖∇J‖∞.
DEFAULT_RELATIVE_RESOLUTION = 0.1


def _gamma(k: float, u: float = unit_roundoff("float64")) -> float:
    return gamma(k, u=u)


def _underflow(operations: float) -> float:
    """The absolute allowance for gradual underflow over ``operations`` operations (each
    may add η = 2⁻¹⁰⁷⁴ when its result is subnormal; Higham §2.1)."""
    return float(operations) * UNDERFLOW


def working_precision(estimator, problem, policy, theta) -> str | None:
    """The floating dtype the estimator returns on a small sampled batch (``"float32"``,
    ``"float16"``, ``"bfloat16"``, ``"float64"``), read from its ``dtype`` (an array or a
    tensor), or ``None`` when it raises (the real call names the error)."""
    batch = sample(problem, policy, theta, 2, np.random.default_rng(0))
    try:
        out = estimator(batch, policy, theta)
    except Exception:  # noqa: BLE001
        return None
    name = str(getattr(out, "dtype", "float64"))
    for kind in ("bfloat16", "float16", "float32"):
        if kind in name:
            return kind
    return "float64"


# -- the target ---------------------------------------------------------------------------
def target_gradient(problem, policy, theta) -> tuple[np.ndarray, np.ndarray, str]:
    """(∇J ``[d]``, a bound on its numerical error ``[d]``, how it was computed)."""
    if isinstance(policy, GaussianLinearPolicy):
        if problem.horizon is None:
            raise InvalidArgumentError(f"{problem!r} has an infinite horizon: checking an "
                                       "estimator needs a finite T (problem.with_horizon(T))")
        g = _lin.gradient(problem, policy, theta)
        mag, K = _lin.gradient_magnitude(problem, policy, theta)
        return g, _gamma(K) * mag + _underflow(K * K), \
            "closed form (Fazel et al. 2018, Lyapunov recursions)"
    if isinstance(policy, StateDependentGaussianPolicy):
        g = _sd.gradient(problem, policy, theta)
        return g, _gamma(256) * (np.abs(g) + 1.0) * 4, \
            "closed form (Gaussian moment generating function, T = 1)"
    if isinstance(policy, SquashedGaussianPolicy):
        g, bound = _sq.score_function_mean(problem, policy, theta)
        return g, bound + _gamma(4096) * (np.abs(g) + 1.0), \
            "policy-gradient theorem with certified one-dimensional integrals (T = 1)"
    raise InvalidArgumentError(f"no exact ∇J for {policy!r} on {problem!r}")


# -- helpers --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Ctx:
    estimator: object
    problem: object
    policy: object
    theta: np.ndarray
    target: np.ndarray
    target_slack: np.ndarray
    target_how: str
    alpha: float
    beta: float
    precision: str = "float64"

    resolution: float = 0.0

    @property
    def u(self) -> float:
        return unit_roundoff(self.precision)


def _header(ctx: _Ctx, method: str) -> list[str]:
    return [f"check_unbiased({_name(ctx.estimator)}) on {ctx.problem!r}, {ctx.policy!r}",
            f"  target: ∇J(θ) exact, {ctx.target_how}; d = {ctx.target.size}",
            f"  method: {method}; working precision of the estimator: {ctx.precision}"]


def _bias_lines(bias, thr, target, est, labels, k: int = 5) -> list[str]:
    """The k coordinates closest to (or furthest past) their threshold, by name."""
    order = np.argsort(-(np.abs(bias) - thr))[:k]
    w = max(len(labels[j]) for j in order)
    lines = ["  worst coordinates (coordinate, estimate, ∇J, bias, threshold):"]
    for j in order:
        flag = "  <-- exceeds" if abs(bias[j]) > thr[j] else ""
        lines.append(f"    {labels[j]:>{w}s} {est[j]: .6g} {target[j]: .6g} {bias[j]: .3e} "
                     f"{thr[j]:.3e}{flag}")
    return lines


def _patterns(ctx: _Ctx, scale: float) -> list[tuple[str, np.ndarray]]:
    """(name, E[g] it would have) for the biases pgmath recognises on these problems."""
    target = ctx.target
    out = [("sign flipped: E[g] = −∇J", -target)]
    if np.isfinite(scale):
        out.append(("E[g] = 0: the estimator carries none of ∇J" if abs(scale) < 1e-12 else
                    f"scaled by c = {scale:.6g}: E[g] = c ∇J", scale * target))
    p, pol, th = ctx.problem, ctx.policy, ctx.theta
    if isinstance(pol, GaussianLinearPolicy) and p.discount < 1.0:
        spec = reward_to_go_step_discount.lqr_weights(p.horizon, p.discount)
        out.append(("unbiased for the γ^{t'−t}-discounted surrogate (reward-to-go discounted "
                    "from the decision): discount reward t' by γ^{t'} from the start",
                    weights_moments(spec, p, pol, th).mean))
        out.append(("E[g] = ∇J of the undiscounted return: the discount γ is ignored",
                    _lin.gradient(p.with_discount(1.0), pol, th)))
    return out


def _diagnose(ctx: _Ctx, mean, thr) -> Diagnosis:
    """Scale c = ⟨E g, ∇J⟩/‖∇J‖², the orthogonal part ‖E g − c∇J‖₂, and the first pattern
    E[g] matches within the threshold (as :func:`pgmath.check.diagnosis.diagnose`)."""
    target = ctx.target
    norm2 = float(target @ target)
    scale = float(mean @ target) / norm2 if norm2 > 0 else float("nan")
    orth = float(np.linalg.norm(mean - (scale if np.isfinite(scale) else 0.0) * target))
    pattern = None
    if np.any(np.abs(mean - target) > thr):
        for name, v in _patterns(ctx, scale):
            if np.all(np.abs(mean - v) <= thr) and np.any(np.abs(v - target) > thr):
                pattern = name
                break
    return Diagnosis(scale, orth, pattern)


def _decide(ctx: _Ctx, method: str, mean, *, statistical, rounding, n: int, notes: list[str],
            kind: str, guaranteed: bool = True, detectable=None, n_needed: int | None = None,
            variance=None) -> CheckResult:
    """The :class:`~pgmath.check.CheckResult`: biased when a coordinate passes its threshold;
    otherwise unbiased when the check could see a bias of the size it had to resolve (its
    detectable bias ≤ the resolution: the requested ``detectable_bias`` or a fraction of
    ‖∇J‖∞; an exact route needs its rounding tolerance below ‖∇J‖∞), else inconclusive."""
    d = ctx.target.size
    statistical = np.broadcast_to(np.asarray(statistical, dtype=float), (d,))
    rounding = np.broadcast_to(np.asarray(rounding, dtype=float), (d,))
    thr = statistical + rounding
    bias = mean - ctx.target
    mab = float(np.max(np.abs(bias)))
    det = float(np.max(thr if detectable is None else detectable))
    exact = method in EXACT_METHODS
    scale = float(np.max(np.abs(ctx.target), initial=0.0))
    if np.any(np.abs(bias) > thr):
        verdict = "biased"
    elif exact:
        verdict = "inconclusive" if det >= scale > 0 else "unbiased"
    else:
        verdict = "unbiased" if det <= ctx.resolution else "inconclusive"
    lines = _header(ctx, method) + notes
    lines.append(f"  max |E g − ∇J| = {mab:.3e}" if exact else
                 f"  max |ḡ − ∇J| = {mab:.3e}; detectable bias (‖·‖∞) = {det:.3e}; "
                 f"required resolution {ctx.resolution:.3e}")
    if verdict == "inconclusive":
        lines.append(
            f"  the tolerance ({det:.3e}) is not below ‖∇J‖∞ ({scale:.3e}): in this precision "
            "the check cannot resolve a bias of the gradient's size" if exact else
            f"  the detectable bias {det:.3e} is above the required resolution "
            f"{ctx.resolution:.3e}" + (f": N = {n_needed:,} would decide" if n_needed else ""))
    lines.append(verdict_line(verdict))
    diag = _diagnose(ctx, mean, thr)
    if verdict == "biased":
        lines += diagnosis_lines(diag, ctx.target)
    labels = ctx.policy.coordinate_labels()
    lines += _bias_lines(bias, thr, ctx.target, mean, labels)
    thresholds = Thresholds(kind=kind, n=int(n), delta=0.0 if exact else ctx.alpha / (2 * d),
                            log_term=0.0 if exact else float(np.log(2 * d / ctx.alpha)),
                            variance=variance, range=None, statistical=statistical,
                            rounding=rounding)
    return CheckResult(
        passed=verdict == "unbiased", method=method, max_abs_bias=mab, detectable_bias=det,
        n=int(n), alpha=ctx.alpha, report="\n".join(lines), guaranteed=guaranteed,
        beta=ctx.beta, bias=bias, threshold=thr, target=ctx.target, estimate=mean,
        verdict=verdict, resolution=None if exact else ctx.resolution, n_needed=n_needed,
        precision=ctx.precision, scale=diag.scale, orthogonal=diag.orthogonal,
        pattern=diag.pattern if verdict == "biased" else None, thresholds=thresholds,
        labels=labels)


def _check_description(estimator, spec, problem, policy, theta, u: float, n: int = 64) -> None:
    """Refuse an ``lqr_weights`` description that disagrees with what the code computes
    (beyond 16 (T + 1)(n + m + 2) u relative, at least 1e-9: a row's rounding in the
    working precision with unit roundoff u)."""
    batch = sample(problem, policy, theta, n, np.random.default_rng(0))
    g = call_estimator(estimator, batch, policy, theta)
    ref = spec.evaluate(batch, policy.step_scores(batch, theta))
    rel = max(1e-9, 16 * (problem.horizon + 1) * (problem.n_states + problem.n_actions + 2) * u)
    bad = np.abs(g - ref) > rel * (1.0 + np.abs(g) + np.abs(ref))
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise EstimatorError(
            f"{_name(estimator)}'s lqr_weights does not describe it: on trajectory {i}, "
            f"component {j} the function gives {g[i, j]!r} and its description {ref[i, j]!r}")


@renamed_arguments(n="batch_size")
def probe_coupling(estimator, problem, policy, theta, *, u: float = unit_roundoff("float64"),
                   batch_size: int = 8) -> str | None:
    """Why the estimator's rows depend on their batch, or ``None``.

    On N = ``batch_size`` sampled trajectories (seed 1) each row is computed with the whole batch, alone,
    and inside the reversed batch; a row that changes beyond rounding depends on its
    companions (a batch-mean baseline, standardised advantages), and the per-trajectory
    routes (quadrature evaluates rows in chunks of nodes, which are not a sample) would
    give a wrong answer.
    """
    n = batch_size
    batch = sample(problem, policy, theta, n, np.random.default_rng(1))
    g = call_estimator(estimator, batch, policy, theta)
    alone = np.concatenate([call_estimator(estimator, batch[i], policy, theta) for i in range(n)])
    rev = call_estimator(estimator, batch[np.arange(n)[::-1]], policy, theta)[::-1]
    tol = max(1e-9, 64 * (problem.horizon + 1) * (problem.n_states + problem.n_actions + 2) * u)
    scale = _row_scale(batch, policy, theta, problem)   # rounding of rows formed by cancellation
    for other, how in ((alone, "computed alone"), (rev, "in the reversed batch")):
        bad = np.abs(g - other) > tol * (1.0 + np.abs(g) + np.abs(other) + scale)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            return (f"row {i}, component {j} is {g[i, j]!r} in a batch of {n} and "
                    f"{other[i, j]!r} {how}")
    return None


def _row_scale(batch, policy, theta, problem) -> np.ndarray:
    """``[N, d]`` the magnitude of the terms a score-function row is computed from, for
    its rounding: (Σ_t m_t)(Σ_t γ^t r̄_t + γ^T r̄_T) with m_t the policy's score magnitude
    (:meth:`~pgmath.lqr.ContinuousPolicy.score_magnitude`) and r̄ = x̄ᵀ|Q|x̄ + ūᵀ|R|ū + 2x̄ᵀ|N|ū
    along magnitude trajectories x̄_{t+1} = |A|x̄_t + |B|ū_t + |w_t|, ū_t = |u_t| (so a
    state or an action formed by cancellation, e.g. u − μ(x) with both large, is scored at
    the size of its parts)."""
    x, u = np.abs(batch.states), np.abs(batch.actions)
    T = batch.horizon
    A, B = problem.A, problem.B
    w = np.abs(batch.states[:, 1:] - batch.states[:, :-1] @ A.T - batch.actions @ B.T)
    xm = np.empty_like(x)
    xm[:, 0] = x[:, 0] + np.abs(problem.mu0)
    for t in range(T):
        xm[:, t + 1] = np.maximum(x[:, t + 1], xm[:, t] @ np.abs(A).T + u[:, t] @ np.abs(B).T + w[:, t])
    mags = sum(policy._place(policy.score_magnitude(theta, t, xm[:, t], u[:, t]), t)
               for t in range(T))
    Q, R, N, QT = (np.abs(M) for M in (problem.Q, problem.R, problem.N, problem.Q_T))
    xs = xm[:, :T]
    rbar = (np.einsum("nti,ij,ntj->nt", xs, Q, xs) + np.einsum("nti,ij,ntj->nt", u, R, u)
            + 2 * np.einsum("nti,ij,ntj->nt", xs, N, u))
    ret = rbar @ (batch.discount ** np.arange(T)) \
        + batch.discount ** T * np.einsum("ni,ij,nj->n", xm[:, T], QT, xm[:, T])
    return mags * ret[:, None]


def _rule_mean(ctx: _Ctx, q: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(Σ w g, Σ w (|g| + scale), nodes) over the q-point tensor Gauss–Hermite rule."""
    problem, policy, theta = ctx.problem, ctx.policy, ctx.theta
    T = problem.horizon
    D = problem.noise_dimension()
    d = policy.n_params
    mean, mag = np.zeros(d), np.zeros(d)
    chunks = _node_chunks(D, q, CHUNK) if D else [(np.zeros((1, 0)), np.ones(1))]
    for xi, w in chunks:
        batch = rollout(problem, policy, theta, *split_noise(problem, xi, T))
        g = call_estimator(ctx.estimator, batch, policy, theta)
        mean += w @ g
        mag += w @ (np.abs(g) + _row_scale(batch, policy, theta, problem))
    return mean, mag, q ** D


def _quadrature_slack(ctx: _Ctx, mag, nodes: int, degree: int) -> np.ndarray:
    """γ_K Σ_i w_i (|g_i| + scale_i), K = nodes + 64 (T + 1)(n + m + 2) + 64 degree: the
    weighted sum (nodes terms), each row's own rounding (O(T) operations on terms of that
    scale, as pgmath.check assumes) and the nodes' and weights' relative error; plus the
    absolute allowance for underflow of K · nodes operations."""
    p = ctx.problem
    K = nodes + 64 * (p.horizon + 1) * (p.n_states + p.n_actions + 2) + 64 * degree
    return _gamma(K, ctx.u) * mag + _underflow(K * nodes)


def median_of_means_blocks(d: int, alpha: float) -> int:
    """k = ⌈8 ln(d/α)⌉: the blocks that make a median-of-means test fail a correct
    estimator with probability ≤ α over d coordinates (module docstring)."""
    return int(np.ceil(8.0 * np.log(d / alpha)))


# -- the routes -----------------------------------------------------------------------------
def _exact_recursion(ctx: _Ctx) -> CheckResult:
    p, pol, th = ctx.problem, ctx.policy, ctx.theta
    spec = ctx.estimator.lqr_weights(p.horizon, p.discount)
    _check_description(ctx.estimator, spec, p, pol, th, ctx.u)
    mom = weights_moments(spec, p, pol, th)
    mag = weights_moments(spec, p, pol, th, absolute=True).mean
    K = rounding_depth(p)
    rnd = _gamma(K) * np.abs(mag) + _underflow(K * K) + ctx.target_slack
    notes = [f"  E[g] by the forward moment recursion on the lifted Gaussian state (T = "
             f"{p.horizon}), no sampling; the code matched its lqr_weights description",
             f"  tolerance: floating-point rounding only (γ_K × the recursion on magnitudes, "
             f"K = {K:,}; plus the target's), max_j {float(rnd.max()):.3e}"]
    return _decide(ctx, "recursion", mom.mean, statistical=0.0, rounding=rnd, n=0, notes=notes,
                   kind="rounding")


def _exact_quadrature(ctx: _Ctx, degree: int, max_nodes: int) -> CheckResult | str:
    """The verdict, or a string saying why the route does not apply."""
    D = ctx.problem.noise_dimension()
    q = (degree + 2) // 2
    if (q + 1) ** D > max_nodes:
        return (f"the ({q}+1)-point rule over D = {D} normals has {(q + 1) ** D:.3g} nodes, "
                f"more than max_nodes = {max_nodes:,}")
    m1, a1, n1 = _rule_mean(ctx, q)
    m2, a2, n2 = _rule_mean(ctx, q + 1)
    s1 = _quadrature_slack(ctx, a1, n1, degree)
    s2 = _quadrature_slack(ctx, a2, n2, degree)
    gap = np.abs(m1 - m2)
    if np.any(gap > s1 + s2):
        j = int(np.argmax(gap - (s1 + s2)))
        return (f"g is not a polynomial of degree ≤ {2 * q - 1} in each normal: the {q}- and "
                f"{q + 1}-point rules differ by {gap[j]:.3e} in component {j} (rounding allows "
                f"{(s1 + s2)[j]:.3e})")
    rnd = s1 + ctx.target_slack
    notes = [f"  E[g] by the {q}-point tensor Gauss–Hermite rule over all D = {D} normals "
             f"({n1:,} trajectories): exact for a polynomial of degree ≤ {2 * q - 1} in each "
             "normal",
             f"  probe: the {q + 1}-point rule ({n2:,} trajectories) agrees within rounding "
             f"(max gap {float(gap.max()):.3e})",
             f"  tolerance: floating-point rounding only, max_j {float(rnd.max()):.3e}"]
    return _decide(ctx, "quadrature", m1, statistical=0.0, rounding=rnd, n=n1, notes=notes,
                   kind="rounding")


def _smooth_quadrature(ctx: _Ctx) -> CheckResult | str:
    D = ctx.problem.noise_dimension()
    if D not in SMOOTH_RULES:
        return f"D = {D} normals: the smooth-integrand rules are kept for D ≤ {max(SMOOTH_RULES)}"
    q1, q2 = SMOOTH_RULES[D]
    m1, _, n1 = _rule_mean(ctx, q1)
    m2, a2, n2 = _rule_mean(ctx, q2)
    est = np.abs(m1 - m2)
    rnd = _quadrature_slack(ctx, a2, n2, 2 * q2) + ctx.target_slack
    notes = [f"  E[g] by the {q2}-point tensor Gauss–Hermite rule over D = {D} normals "
             f"({n2:,} trajectories); g is not a polynomial in the normals",
             f"  error estimate |I_{q1} − I_{q2}| = {float(est.max()):.3e} (an estimate, not a "
             "bound: a smooth g converges geometrically); tolerance 10 × estimate + rounding, "
             f"max_j {float((10 * est + rnd).max()):.3e}"]
    return _decide(ctx, "smooth-quadrature", m2, statistical=10.0 * est, rounding=rnd,
                   n=n1 + n2, notes=notes, kind="quadrature-estimate", guaranteed=False)


def _draws(ctx: _Ctx, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """(``[n, d]`` rows of the estimator on n sampled trajectories, ``[n, d]`` their
    magnitudes |g| + :func:`_row_scale` for the rounding bound)."""
    out, mags = [], []
    for lo in range(0, n, CHUNK):
        batch = sample(ctx.problem, ctx.policy, ctx.theta, min(CHUNK, n - lo), rng)
        g = call_estimator(ctx.estimator, batch, ctx.policy, ctx.theta)
        out.append(g)
        mags.append(np.abs(g) + _row_scale(batch, ctx.policy, ctx.theta, ctx.problem))
    return np.concatenate(out), np.concatenate(mags)


def _sample_rounding(ctx: _Ctx, mags: np.ndarray) -> np.ndarray:
    """γ_K mean(|g| + scale) with K = N + 64 (T + 1)(n + m + 2): the sum of N rows and
    each row's own rounding in the working precision, plus the underflow allowance."""
    p = ctx.problem
    K = mags.shape[0] + 64 * (p.horizon + 1) * (p.n_states + p.n_actions + 2)
    return _gamma(K, ctx.u) * mags.mean(axis=0) + _underflow(K * mags.shape[0])


def _variance_bound(variance_bound, d: int) -> np.ndarray:
    V = np.broadcast_to(np.asarray(variance_bound, dtype=float), (d,))
    if np.any(~np.isfinite(V)) or np.any(V < 0):
        raise InvalidArgumentError(f"variance_bound must be finite and ≥ 0, got {variance_bound!r}")
    return V


def median_of_means_sample_size(variance_bound, detectable_bias: float, d: int, *,
                                alpha: float = 1e-6) -> int:
    """N = k b for the median-of-means test to catch ‖bias‖∞ ≥ δ: with ε_j = 2√(V_j/b), a
    bias > 2ε_j is caught w.p. ≥ 1 − α/d, so b = ⌈16 max_j V_j / δ²⌉, k the blocks."""
    V = _variance_bound(variance_bound, d)
    b = max(1, int(np.ceil(16.0 * float(V.max()) / detectable_bias ** 2)))
    return median_of_means_blocks(d, alpha) * b


def _median_of_means(ctx: _Ctx, variance_bound, n, rng, n_needed) -> CheckResult:
    d = ctx.target.size
    V = _variance_bound(variance_bound, d)
    k = median_of_means_blocks(d, ctx.alpha)
    b = max(1, n // k)
    g, mags = _draws(ctx, k * b, rng)
    med = np.median(g.reshape(k, b, d).mean(axis=1), axis=0)
    eps = 2.0 * np.sqrt(V / b)
    rnd = ctx.target_slack + _sample_rounding(ctx, mags)
    sv = g.var(axis=0, ddof=1)
    notes = [f"  N = {k * b:,} draws in k = {k} blocks of {b}; α = {ctx.alpha:g}; declared "
             f"Var g_j ≤ {float(V.max()):.4g} (max over j)",
             "  median of block means: Chebyshev per block, Hoeffding over blocks, union over "
             f"{d} coordinates: P(false failure) ≤ α, no CLT; a bias > 2ε_j is caught with "
             f"probability ≥ 1 − α/d"]
    over = sv > 4.0 * V + 1e-300
    if over.any():
        j = int(np.argmax(sv / np.maximum(V, 1e-300)))
        notes.append(f"  WARNING: the sample variance of component {j} is {sv[j]:.4g}, above the "
                     f"declared bound {V[j]:.4g}: the guarantee holds only if the bound does")
    return _decide(ctx, "median-of-means", med, statistical=eps, rounding=rnd, n=k * b,
                   notes=notes, kind="median-of-means", detectable=2 * eps + rnd,
                   n_needed=n_needed, variance=V)


def _empirical_bernstein(ctx: _Ctx, bound: float, n, rng, n_needed) -> CheckResult:
    d = ctx.target.size
    g, mags = _draws(ctx, n, rng)
    B = float(bound)
    over = np.abs(g) > B * (1 + 1e-12)
    if over.any():
        i, j = (int(v) for v in np.argwhere(over)[0])
        raise EstimatorError(f"{_name(ctx.estimator)} broke the declared bound |g_j| ≤ {B:g}: "
                             f"draw {i}, component {j} is {g[i, j]!r}")
    v = g.var(axis=0, ddof=1)
    eps = empirical_bernstein_threshold(v, 2.0 * B, n, ctx.alpha / d)
    rnd = ctx.target_slack + _sample_rounding(ctx, mags)
    notes = [f"  N = {n:,}; α = {ctx.alpha:g}; empirical Bernstein (Maurer & Pontil 2009) with "
             f"|g_j| ≤ {B:g}: P(false failure) ≤ α"]
    return _decide(ctx, "empirical-bernstein", g.mean(axis=0), statistical=eps, rounding=rnd,
                   n=n, notes=notes, kind="empirical-bernstein", detectable=2 * eps + rnd,
                   n_needed=n_needed, variance=v)


def _asymptotic(ctx: _Ctx, n, rng, why: str) -> CheckResult:
    d = ctx.target.size
    g, mags = _draws(ctx, n, rng)
    z = stats.norm.isf(ctx.alpha / (2 * d))
    se = g.std(axis=0, ddof=1) / np.sqrt(n)
    rnd = ctx.target_slack + _sample_rounding(ctx, mags)
    notes = [f"  N = {n:,}; α = {ctx.alpha:g} (asymptotic)",
             f"  ASYMPTOTIC: Bonferroni z-test with the sample variance (CLT). {why}; the values "
             "of g are unbounded, and for an estimator of unknown distribution no test can bound "
             "the false-failure rate from samples (Bahadur & Savage 1956): pass variance_bound= "
             "(or bound=) for a guarantee"]
    det = (z + stats.norm.isf(ctx.beta)) * se + rnd
    dmax = float(np.max(det))
    need = (int(np.ceil(n * (dmax / ctx.resolution) ** 2 * 1.25))
            if np.isfinite(ctx.resolution) and dmax > ctx.resolution else None)
    return _decide(ctx, "asymptotic", g.mean(axis=0), statistical=z * se, rounding=rnd, n=n,
                   notes=notes, kind="z", guaranteed=False, detectable=det, n_needed=need,
                   variance=g.var(axis=0, ddof=1))


# -- the check ------------------------------------------------------------------------------
@renamed_arguments(behaviour_theta="theta_behaviour")
def check_unbiased(estimator, problem, policy, theta, *, alpha: float = 1e-6,
                   beta: float = DEFAULT_BETA, method: str = "auto", n: int | None = None,
                   rng: np.random.Generator | None = None, bound: float | None = None,
                   variance_bound=None, detectable_bias: float | None = None,
                   relative_resolution: float = DEFAULT_RELATIVE_RESOLUTION,
                   degree: int = 4, max_nodes: int = MAX_NODES, max_n: int = MAX_N,
                   precision: str = "auto", theta_behaviour=None,
                   batch_size: int | None = None) -> CheckResult:
    """Decide E[g] = ∇J(θ) for an estimator on a linear-quadratic problem (module docstring).
    ``pgmath.check_unbiased`` calls this for an :class:`~pgmath.lqr.LQRProblem`.

    Args:
      estimator: ``g(batch, policy, theta) -> [N, d]`` on
        :class:`~pgmath.lqr.trajectories.ContinuousTrajectories`.
      problem: a finite-horizon :class:`~pgmath.lqr.LQRProblem`.
      policy: a :class:`~pgmath.lqr.GaussianLinearPolicy` (any T), a
        :class:`~pgmath.lqr.StateDependentGaussianPolicy` or a
        :class:`~pgmath.lqr.SquashedGaussianPolicy` (T = 1; m = 1 for squashing).
      alpha: the false-failure probability of the statistical routes.
      method: ``"auto"`` or one of :data:`METHODS`.
      n: draws for the statistical routes (default: planned for the resolution when a
        variance or range bound is known, else :data:`DEFAULT_N`).
      bound: B ≥ |g_j| (empirical Bernstein); variance_bound: V_j ≥ Var g_j (median of means).
      detectable_bias: the ∞-norm bias a non-exact route must be able to see (w.p. ≥ 1 − β);
        without it, ``relative_resolution`` × ‖∇J‖∞. A check that cannot see it (N capped
        at ``max_n``, or no bound to plan with) is ``"inconclusive"`` and names the N.
      degree: the per-normal degree the exact quadrature assumes (and probes).
      max_nodes: the largest quadrature rule evaluated; max_n: the largest planned N.
      precision: the estimator's working precision (``"auto"`` reads the dtype it returns)
        for every rounding bound.
      theta_behaviour: must be ``None`` (or θ): the LQR check samples on-policy.
      batch_size: accepted for the router's signature; coupled estimators are refused.

    Returns:
      :class:`pgmath.check.CheckResult` with ``verdict`` ``"unbiased"``, ``"biased"`` or
      ``"inconclusive"``.
    """
    check_choice("method", method, METHODS)
    if not (isinstance(alpha, float) and 0 < alpha < 1):
        raise InvalidArgumentError(f"alpha must be a probability in (0, 1), got {alpha!r}")
    for name, v, least in (("n", n, 2), ("degree", degree, 1), ("max_nodes", max_nodes, 1),
                           ("max_n", max_n, 2)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))
                              or v < least):
            raise InvalidArgumentError(f"{name} must be an int ≥ {least}, got {v!r}")
    if detectable_bias is not None and not detectable_bias > 0:
        raise InvalidArgumentError(f"detectable_bias must be > 0, got {detectable_bias!r}")
    if not relative_resolution > 0:
        raise InvalidArgumentError(f"relative_resolution must be > 0, got {relative_resolution!r}")
    if is_batch_coupled(estimator):
        raise EstimatorError(f"{_name(estimator)} is batch-coupled: the LQR check takes "
                             "per-trajectory estimators")
    if problem.horizon is None:
        raise InvalidArgumentError(f"{problem!r} has an infinite horizon: checking an estimator "
                                   "needs a finite T (problem.with_horizon(T))")
    theta = policy.check_theta(theta)
    if theta_behaviour is not None and not np.array_equal(policy.check_theta(theta_behaviour),
                                                          theta):
        raise InvalidArgumentError("the LQR check samples on-policy: theta_behaviour must be None")
    policy.check_compatible(problem)
    target, tslack, how = target_gradient(problem, policy, theta)
    precision = resolve_precision(precision, working_precision(estimator, problem, policy, theta)
                                  if precision == "auto" else None)
    coupled = probe_coupling(estimator, problem, policy, theta, u=unit_roundoff(precision))
    if coupled is not None:
        raise EstimatorError(
            f"{_name(estimator)} couples the trajectories of a batch ({coupled}); the LQR check "
            "decides per-trajectory estimators only: compute any batch statistic outside the "
            "estimator, or check it on a tabular problem with pgmath.check_unbiased")
    scale = float(np.max(np.abs(target), initial=0.0))
    resolution = (float(detectable_bias) if detectable_bias is not None
                  else relative_resolution * scale if scale > 0 else float("inf"))
    ctx = _Ctx(estimator, problem, policy, theta, target, tslack, how, alpha, beta, precision,
               resolution)
    rng = np.random.default_rng(0) if rng is None else rng
    linear = isinstance(policy, GaussianLinearPolicy)
    why = []
    if method in ("auto", "recursion"):
        if describes(estimator) and linear:
            return _exact_recursion(ctx)
        if method == "recursion":
            raise PgmathError(f"method='recursion' needs an estimator with lqr_weights and "
                              f"a GaussianLinearPolicy; got {_name(estimator)} and {policy!r}")
        why.append("no lqr_weights description" if not describes(estimator)
                   else f"{policy!r} is not linear-Gaussian")
    if method in ("auto", "quadrature"):
        res = _exact_quadrature(ctx, degree, max_nodes)
        if isinstance(res, CheckResult):
            return res
        if method == "quadrature":
            raise TooManyTrajectoriesError(f"method='quadrature' does not apply: {res}")
        why.append(res)
    if method in ("auto", "smooth-quadrature"):
        res = _smooth_quadrature(ctx)
        if isinstance(res, CheckResult):
            return res
        if method == "smooth-quadrature":
            raise TooManyTrajectoriesError(f"method='smooth-quadrature' does not apply: {res}")
        why.append(res)
    d = policy.n_params
    planned = None
    finite = np.isfinite(resolution)
    use_mom = method == "median-of-means" or (method == "auto" and variance_bound is not None)
    use_eb = not use_mom and (method == "empirical-bernstein" or (method == "auto" and
                                                                  bound is not None))
    if use_mom and variance_bound is None:
        raise PgmathError("method='median-of-means' needs variance_bound= (V_j ≥ Var g_j)")
    if use_eb and bound is None:
        raise PgmathError("method='empirical-bernstein' needs bound= (B ≥ |g_j|)")
    if n is None and finite and use_mom:
        planned = median_of_means_sample_size(variance_bound, resolution, d, alpha=alpha)
    elif n is None and finite and use_eb:
        planned = min_num_samples_for_empirical_bernstein_mean_test(bound, resolution, d=d,
                                                                    alpha=alpha, beta=beta)
    n_needed = planned if planned is not None and planned > max_n else None
    if n is None:
        n = min(planned, max_n) if planned is not None else min(DEFAULT_N, max_n)
    if use_mom:
        return _median_of_means(ctx, variance_bound, n, rng, n_needed)
    if use_eb:
        return _empirical_bernstein(ctx, bound, n, rng, n_needed)
    return _asymptotic(ctx, n, rng, "; ".join(why) or "asked for")
