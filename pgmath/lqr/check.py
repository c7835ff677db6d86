"""Checking a continuous-action estimator of ∇J on linear-quadratic problems.

The question is the tabular one (:mod:`pgmath.check`): is E[g] = ∇J(θ) for a user's
``g(batch, policy, theta) -> [N, d]``? The target ∇J is exact: the closed form for a
linear-Gaussian policy (:mod:`pgmath.lqr.objective`), the moment generating function for
a state-dependent σ at T = 1 (:mod:`pgmath.lqr.state_noise`), certified one-dimensional
integrals for tanh squashing at T = 1 (:mod:`pgmath.lqr.squashing`). What can be known
about E[g] depends on what is known about g — the values of g are unbounded (Gaussian
noise), so no sample test can bound its false-failure rate without more information
(Bahadur & Savage 1956). The routes, in the order ``method="auto"`` tries them:

* **exact-recursion**: the estimator describes itself (``lqr_weights``, as the built-in
  ones do) and the policy is linear-Gaussian. E[g] comes from the moment recursion
  (:mod:`pgmath.lqr.moments`), after the description is held against the code on sampled
  trajectories (a description that disagrees is refused). Tolerance: a bound on the
  floating-point error only (the recursion and the closed form run on magnitudes, γ_K).
* **exact-quadrature**: a black box that is a polynomial in the trajectory's normals of
  degree ≤ ``degree`` in each (every score-function estimator of a linear-Gaussian policy
  with quadratic rewards has degree ≤ 4: the default). The q-point tensor Gauss–Hermite
  rule, q = ⌈(degree + 1)/2⌉, is exact for it (:mod:`pgmath.lqr.quadrature`); the
  (q + 1)-point rule probes the assumption: if the two differ beyond rounding, g is not
  such a polynomial and this route is not used. Small problems only (q^D nodes).
* **quadrature** (smooth, non-polynomial g, e.g. tanh squashing or a state-dependent σ,
  D ≤ 3 normals): two rules with q and 2q nodes; E[g] is taken from the finer one and the
  tolerance is 10 × their difference plus rounding. An error estimate, not a bound: the
  result says ``guaranteed=False`` (a smooth integrand's Gauss–Hermite error falls
  geometrically, so the estimate is conservative in practice, but arbitrary code can
  defeat it).
* **median-of-means** (``variance_bound=V``, V_j ≥ Var g_j): k = ⌈8 ln(d/α)⌉ blocks of b
  draws; Chebyshev makes a block mean miss μ_j by more than ε_j = 2√(V_j/b) with
  probability ≤ 1/4, Hoeffding makes the median of k blocks miss with probability
  ≤ exp(−k/8) ≤ α/d: a correct estimator fails with probability ≤ α, no CLT. A bias
  larger than 2ε_j is caught with the same probability.
* **empirical-bernstein** (``bound=B``, |g_j| ≤ B): Maurer & Pontil, as in pgmath.check.
* **asymptotic** (nothing known): a Bonferroni z-test with the sample variance, labelled
  ASYMPTOTIC.

A user's estimator meant to equal a built-in one can pass the exact variance of that one
as ``variance_bound`` (:func:`pgmath.lqr.estimator_moments`); a bound that is wrong voids
the guarantee, and the report says which bound was used.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..check import (DEFAULT_BETA, CheckResult, empirical_bernstein_sample_size,
                     empirical_bernstein_threshold)
from ..errors import EstimatorError, InvalidArgumentError, PgmathError, TooManyTrajectoriesError
from ..estimators._protocol import _name, call_estimator, is_batch_coupled
from . import objective as _lin
from . import squashing as _sq
from . import state_noise as _sd
from .estimators import describes
from .moments import rounding_depth, weights_moments
from .policies import GaussianLinearPolicy, SquashedGaussianPolicy, StateDependentGaussianPolicy
from .quadrature import CHUNK, MAX_NODES, _node_chunks, hermite_rule
from .trajectories import rollout, sample, split_noise

__all__ = ["check_unbiased", "target_gradient", "working_precision", "probe_coupling",
           "METHODS", "PRECISIONS", "median_of_means_blocks", "median_of_means_sample_size"]

UNIT_ROUNDOFF = np.finfo(float).eps / 2
METHODS = ("auto", "exact-recursion", "exact-quadrature", "quadrature", "median-of-means",
           "empirical-bernstein", "asymptotic")
#: Nodes per normal of the smooth-integrand quadrature, by the number of normals D.
SMOOTH_RULES = {1: (96, 192), 2: (48, 96), 3: (24, 48)}
#: N when the statistical routes are not told how many to draw.
DEFAULT_N = 100_000
#: The largest N a check plans for a requested detectable bias.
MAX_N = 1_000_000


def _gamma(k: float, u: float = UNIT_ROUNDOFF) -> float:
    """Higham's γ_k = k u / (1 − k u) for the unit roundoff u."""
    ku = k * u
    return float("inf") if ku >= 0.5 else ku / (1.0 - ku)


#: Unit roundoff of each working precision.
ROUNDOFF = {"float64": np.finfo(np.float64).eps / 2, "float32": np.finfo(np.float32).eps / 2}
#: The absolute error an operation may add when its result is subnormal (gradual underflow:
#: half the smallest subnormal; Higham §2.1, fl(x op y) = (x op y)(1 + δ) + η).
UNDERFLOW = {"float64": float(np.finfo(np.float64).smallest_subnormal),
             "float32": float(np.finfo(np.float32).smallest_subnormal)}


def _underflow(operations: float, precision: str = "float64") -> float:
    """The absolute allowance for gradual underflow over ``operations`` operations."""
    return float(operations) * UNDERFLOW[precision]
PRECISIONS = ("auto", "float64", "float32")


def working_precision(estimator, problem, policy, theta) -> str:
    """``"float32"`` when the estimator returns float32, float16 or bfloat16 values (an
    array or a tensor: judged by its ``dtype``) on a small sampled batch, else ``"float64"``."""
    batch = sample(problem, policy, theta, 2, np.random.default_rng(0))
    try:
        out = estimator(batch, policy, theta)
    except Exception:  # noqa: BLE001 - the real call names the error
        return "float64"
    name = str(getattr(out, "dtype", "float64"))
    return "float32" if any(k in name for k in ("float32", "float16", "bfloat16")) else "float64"


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

    @property
    def u(self) -> float:
        return ROUNDOFF[self.precision]


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


def _decide(ctx: _Ctx, method: str, mean, thr, n: int, notes: list[str], *,
            guaranteed: bool = True, detectable=None) -> CheckResult:
    bias = mean - ctx.target
    passed = bool(np.all(np.abs(bias) <= thr))
    mab = float(np.max(np.abs(bias)))
    det = float(np.max(thr if detectable is None else detectable))
    lines = _header(ctx, method) + notes
    scale = float(np.max(np.abs(ctx.target), initial=0.0))
    if passed and float(np.max(thr)) >= scale > 0:
        lines.append(f"  NOTE: the tolerance ({float(np.max(thr)):.3e}) is not below ‖∇J‖∞ "
                     f"({scale:.3e}): this check could not have seen a bias of the gradient's size")
    lines += [f"  max |E g − ∇J| = {mab:.3e}" if method.startswith("exact") or method == "quadrature"
              else f"  max |ḡ − ∇J| = {mab:.3e}; detectable bias (‖·‖∞) = {det:.3e}",
              f"  verdict: {'PASS (unbiased)' if passed else 'FAIL (biased)'}"]
    lines += _bias_lines(bias, thr, ctx.target, mean, ctx.policy.coordinate_labels())
    return CheckResult(passed, method, mab, det, n, ctx.alpha, "\n".join(lines), guaranteed,
                       ctx.beta, bias, thr, ctx.target, mean)


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


def probe_coupling(estimator, problem, policy, theta, *, u: float = UNIT_ROUNDOFF,
                   n: int = 8) -> str | None:
    """Why the estimator's rows depend on their batch, or ``None``.

    On n sampled trajectories (seed 1) each row is computed with the whole batch, alone,
    and inside the reversed batch; a row that changes beyond rounding depends on its
    companions (a batch-mean baseline, standardised advantages), and the per-trajectory
    routes (quadrature evaluates rows in chunks of nodes, which are not a sample) would
    give a wrong answer.
    """
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
    return _gamma(K, ctx.u) * mag + _underflow(K * nodes, ctx.precision)


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
    thr = _gamma(K) * np.abs(mag) + _underflow(K * K) + ctx.target_slack
    notes = [f"  E[g] by the forward moment recursion on the lifted Gaussian state (T = "
             f"{p.horizon}), no sampling; the code matched its lqr_weights description",
             f"  tolerance: floating-point rounding only (γ_K × the recursion on magnitudes, "
             f"K = {K:,}; plus the target's), max_j {float(thr.max()):.3e}"]
    return _decide(ctx, "exact-recursion", mom.mean, thr, 0, notes)


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
    thr = s1 + ctx.target_slack
    notes = [f"  E[g] by the {q}-point tensor Gauss–Hermite rule over all D = {D} normals "
             f"({n1:,} trajectories): exact for a polynomial of degree ≤ {2 * q - 1} in each "
             "normal",
             f"  probe: the {q + 1}-point rule ({n2:,} trajectories) agrees within rounding "
             f"(max gap {float(gap.max()):.3e})",
             f"  tolerance: floating-point rounding only, max_j {float(thr.max()):.3e}"]
    return _decide(ctx, "exact-quadrature", m1, thr, n1, notes)


def _smooth_quadrature(ctx: _Ctx) -> CheckResult | str:
    D = ctx.problem.noise_dimension()
    if D not in SMOOTH_RULES:
        return f"D = {D} normals: the smooth-integrand rules are kept for D ≤ {max(SMOOTH_RULES)}"
    q1, q2 = SMOOTH_RULES[D]
    m1, _, n1 = _rule_mean(ctx, q1)
    m2, a2, n2 = _rule_mean(ctx, q2)
    est = np.abs(m1 - m2)
    thr = 10.0 * est + _quadrature_slack(ctx, a2, n2, 2 * q2) + ctx.target_slack
    notes = [f"  E[g] by the {q2}-point tensor Gauss–Hermite rule over D = {D} normals "
             f"({n2:,} trajectories); g is not a polynomial in the normals",
             f"  error estimate |I_{q1} − I_{q2}| = {float(est.max()):.3e} (an estimate, not a "
             "bound: a smooth g converges geometrically); tolerance 10 × estimate + rounding, "
             f"max_j {float(thr.max()):.3e}"]
    return _decide(ctx, "quadrature", m2, thr, n1 + n2, notes, guaranteed=False)


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
    return _gamma(K, ctx.u) * mags.mean(axis=0) + _underflow(K * mags.shape[0], ctx.precision)


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


def _median_of_means(ctx: _Ctx, variance_bound, n, rng) -> CheckResult:
    d = ctx.target.size
    V = _variance_bound(variance_bound, d)
    k = median_of_means_blocks(d, ctx.alpha)
    b = max(1, n // k)
    g, mags = _draws(ctx, k * b, rng)
    med = np.median(g.reshape(k, b, d).mean(axis=1), axis=0)
    eps = 2.0 * np.sqrt(V / b)
    thr = eps + ctx.target_slack + _sample_rounding(ctx, mags)
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
    return _decide(ctx, "median-of-means", med, thr, k * b, notes, detectable=2 * eps)


def _empirical_bernstein(ctx: _Ctx, bound: float, n, rng) -> CheckResult:
    d = ctx.target.size
    g, mags = _draws(ctx, n, rng)
    B = float(bound)
    over = np.abs(g) > B * (1 + 1e-12)
    if over.any():
        i, j = (int(v) for v in np.argwhere(over)[0])
        raise EstimatorError(f"{_name(ctx.estimator)} broke the declared bound |g_j| ≤ {B:g}: "
                             f"draw {i}, component {j} is {g[i, j]!r}")
    v = g.var(axis=0, ddof=1)
    thr = (empirical_bernstein_threshold(v, 2.0 * B, n, ctx.alpha / d) + ctx.target_slack
           + _sample_rounding(ctx, mags))
    notes = [f"  N = {n:,}; α = {ctx.alpha:g}; empirical Bernstein (Maurer & Pontil 2009) with "
             f"|g_j| ≤ {B:g}: P(false failure) ≤ α"]
    return _decide(ctx, "empirical-bernstein", g.mean(axis=0), thr, n, notes, detectable=2 * thr)


def _asymptotic(ctx: _Ctx, n, rng, why: str) -> CheckResult:
    d = ctx.target.size
    g, mags = _draws(ctx, n, rng)
    z = stats.norm.isf(ctx.alpha / (2 * d))
    se = g.std(axis=0, ddof=1) / np.sqrt(n)
    thr = z * se + ctx.target_slack + _sample_rounding(ctx, mags)
    notes = [f"  N = {n:,}; α = {ctx.alpha:g} (asymptotic)",
             f"  ASYMPTOTIC: Bonferroni z-test with the sample variance (CLT). {why}; the values "
             "of g are unbounded, and for an estimator of unknown distribution no test can bound "
             "the false-failure rate from samples (Bahadur & Savage 1956): pass variance_bound= "
             "(or bound=) for a guarantee"]
    det = (z + stats.norm.isf(ctx.beta)) * se
    return _decide(ctx, "asymptotic", g.mean(axis=0), thr, n, notes, guaranteed=False,
                   detectable=det)


# -- the check ------------------------------------------------------------------------------
def check_unbiased(estimator, problem, policy, theta, *, alpha: float = 1e-6,
                   beta: float = DEFAULT_BETA, method: str = "auto", n: int | None = None,
                   rng: np.random.Generator | None = None, bound: float | None = None,
                   variance_bound=None, detectable_bias: float | None = None,
                   degree: int = 4, max_nodes: int = MAX_NODES, max_n: int = MAX_N,
                   precision: str = "auto") -> CheckResult:
    """Decide E[g] = ∇J(θ) for an estimator on a linear-quadratic problem (module docstring).

    Args:
      estimator: ``g(batch, policy, theta) -> [N, d]`` on
        :class:`~pgmath.lqr.trajectories.ContinuousTrajectories`.
      problem: a finite-horizon :class:`~pgmath.lqr.LQRProblem`.
      policy: a :class:`~pgmath.lqr.GaussianLinearPolicy` (any T), a
        :class:`~pgmath.lqr.StateDependentGaussianPolicy` or a
        :class:`~pgmath.lqr.SquashedGaussianPolicy` (T = 1; m = 1 for squashing).
      alpha: the false-failure probability of the statistical routes.
      method: ``"auto"`` or one of :data:`METHODS`.
      n: draws for the statistical routes (default :data:`DEFAULT_N`, or planned from
        ``detectable_bias``).
      bound: B ≥ |g_j| (empirical Bernstein); variance_bound: V_j ≥ Var g_j (median of means).
      detectable_bias: the ∞-norm bias a statistical route must catch (w.p. ≥ 1 − β): N is
        planned for it (median of means, empirical Bernstein); the asymptotic route cannot
        plan and says so. The exact routes see any bias above rounding.
      degree: the per-normal degree the exact quadrature assumes (and probes).
      max_nodes: the largest quadrature rule evaluated.
      max_n: the largest N a planned statistical check draws (more raises, naming the N).
      precision: the estimator's working precision, ``"float64"``, ``"float32"`` or
        ``"auto"`` (float32 when it returns float32/float16/bfloat16 values): the unit
        roundoff of every rounding bound.

    Returns:
      :class:`pgmath.check.CheckResult`.
    """
    if method not in METHODS:
        raise InvalidArgumentError(f"method must be one of {METHODS}, got {method!r}")
    if precision not in PRECISIONS:
        raise InvalidArgumentError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if not (isinstance(alpha, float) and 0 < alpha < 1):
        raise InvalidArgumentError(f"alpha must be a probability in (0, 1), got {alpha!r}")
    for name, v, least in (("n", n, 2), ("degree", degree, 1), ("max_nodes", max_nodes, 1),
                           ("max_n", max_n, 2)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))
                              or v < least):
            raise InvalidArgumentError(f"{name} must be an int ≥ {least}, got {v!r}")
    if detectable_bias is not None and not detectable_bias > 0:
        raise InvalidArgumentError(f"detectable_bias must be > 0, got {detectable_bias!r}")
    if is_batch_coupled(estimator):
        raise EstimatorError(f"{_name(estimator)} is batch-coupled: the LQR check takes "
                             "per-trajectory estimators")
    if problem.horizon is None:
        raise InvalidArgumentError(f"{problem!r} has an infinite horizon: checking an estimator "
                                   "needs a finite T (problem.with_horizon(T))")
    theta = policy.check_theta(theta)
    policy.check_compatible(problem)
    target, tslack, how = target_gradient(problem, policy, theta)
    if precision == "auto":
        precision = working_precision(estimator, problem, policy, theta)
    coupled = probe_coupling(estimator, problem, policy, theta, u=ROUNDOFF[precision])
    if coupled is not None:
        raise EstimatorError(
            f"{_name(estimator)} couples the trajectories of a batch ({coupled}); the LQR check "
            "decides per-trajectory estimators only: compute any batch statistic outside the "
            "estimator, or check it on a tabular problem with pgmath.check_unbiased")
    ctx = _Ctx(estimator, problem, policy, theta, target, tslack, how, alpha, beta, precision)
    rng = np.random.default_rng(0) if rng is None else rng
    if n is None and detectable_bias is not None:
        d = policy.n_params
        if variance_bound is not None:
            n = median_of_means_sample_size(variance_bound, detectable_bias, d, alpha=alpha)
        elif bound is not None:
            n = empirical_bernstein_sample_size(bound, detectable_bias, d, alpha=alpha, beta=beta)
        if n is not None and n > max_n:
            raise PgmathError(
                f"detectable_bias={detectable_bias:g} needs N = {n:,} draws, more than max_n = "
                f"{max_n:,}: raise max_n, or ask for a larger detectable bias")
    n = DEFAULT_N if n is None else int(n)
    linear = isinstance(policy, GaussianLinearPolicy)
    why = []
    if method in ("auto", "exact-recursion"):
        if describes(estimator) and linear:
            return _exact_recursion(ctx)
        if method == "exact-recursion":
            raise PgmathError(f"method='exact-recursion' needs an estimator with lqr_weights and "
                              f"a GaussianLinearPolicy; got {_name(estimator)} and {policy!r}")
        why.append("no lqr_weights description" if not describes(estimator)
                   else f"{policy!r} is not linear-Gaussian")
    if method in ("auto", "exact-quadrature"):
        res = _exact_quadrature(ctx, degree, max_nodes)
        if isinstance(res, CheckResult):
            return res
        if method == "exact-quadrature":
            raise TooManyTrajectoriesError(f"method='exact-quadrature' does not apply: {res}")
        why.append(res)
    if method in ("auto", "quadrature"):
        res = _smooth_quadrature(ctx)
        if isinstance(res, CheckResult):
            return res
        if method == "quadrature":
            raise TooManyTrajectoriesError(f"method='quadrature' does not apply: {res}")
        why.append(res)
    if method == "median-of-means" or (method == "auto" and variance_bound is not None):
        if variance_bound is None:
            raise PgmathError("method='median-of-means' needs variance_bound= (V_j ≥ Var g_j)")
        return _median_of_means(ctx, variance_bound, n, rng)
    if method == "empirical-bernstein" or (method == "auto" and bound is not None):
        if bound is None:
            raise PgmathError("method='empirical-bernstein' needs bound= (B ≥ |g_j|)")
        return _empirical_bernstein(ctx, bound, n, rng)
    if detectable_bias is not None:
        raise PgmathError(
            f"detectable_bias={detectable_bias:g} cannot be planned for {_name(estimator)}: no exact "
            f"route applies ({'; '.join(why)}) and the asymptotic test knows no variance; pass "
            "variance_bound= (median of means) or bound= (empirical Bernstein)")
    return _asymptotic(ctx, n, rng, "; ".join(why) or "asked for")
