"""Checking an estimator of ∇J(θ): exact decisions and tests that cannot be flaky by design.

The question is "is E[g] = ∇J(θ)?" for an estimator ``g(batch, policy, theta) -> [N, d]``
(notes §4.1–4.4; DESIGN §4). The target ∇J(θ) comes from the exact engine
(:func:`pgmath.exact.gradient`, policy-gradient theorem). Three ways to decide it:

* **exact** (per-trajectory estimators, problems small enough to enumerate): the mean
  E[g] = Σ_τ p(τ) g(τ) over every trajectory; the only tolerance is a bound on the
  floating-point error (:func:`rounding_slack`).
* **exact-recursion** (built-in estimators that are linear recursions, any horizon):
  E[g] from the forward moment recursion (:mod:`pgmath.check_routes`), polynomial in T;
  the tolerance is again a bound on the floating-point error, derived from the same
  recursion run on absolute values.
* **bernstein** (non-asymptotic, exact variance; from enumeration, or from the moment
  recursion with a proven range bound when the problem is too large to enumerate):
  with |g_j − μ_j| ≤ b_j and Var g_j = σ_j² known, Bernstein's inequality

      P(|ḡ_j − μ_j| ≥ ε) ≤ 2 exp(−N ε² / (2σ_j² + 2 b_j ε / 3))

  and a union bound over the d coordinates and both tails: a correct estimator fails
  with probability ≤ α, whatever the distribution of g (no CLT).
* **empirical-bernstein** (non-asymptotic, variance unknown, range known): Maurer &
  Pontil (2009), Theorem 4: for X_i ∈ [a, a + w] with sample variance V_N,

      P(E X − X̄ ≥ √(2 V_N ln(2/δ) / N) + 7 w ln(2/δ) / (3(N − 1))) ≤ δ,

  applied to both tails of each coordinate at δ = α / (2d).
* **asymptotic** (labelled so): a Bonferroni z-test with the sample variance (no range
  known) or a χ² test with the exact covariance (``method="chi2"``). By Bahadur & Savage
  (1956) no test can bound the false-failure rate of a mean test from samples alone
  when the range of g is unknown: pass ``bound=`` to get a guarantee.

Batch-coupled estimators are tested over independent batches: each batch of
``batch_size`` trajectories gives one estimate (its row mean), and those are i.i.d.; on
tiny problems all M^b ordered batches are enumerated and the decision is exact.

Every statistical test also reports the smallest bias it detects (∞-norm) with
probability ≥ 1 − β, and :func:`plan_sample_size` plans N for a requested one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from .check_routes import RecursionMoments, recursion_moments, recursion_route
from .errors import EstimatorError, InvalidMDPError, PgmathError, TooManyTrajectoriesError
from .estimators._protocol import _name, call_estimator, is_batch_coupled
from .exact import gradient
from .trajectories import count_trajectories, enumerate_trajectories, sample

__all__ = [
    "CheckResult", "VarianceComparison",
    "check_unbiased", "compare_variance", "plan_sample_size",
    "exact_moments", "rounding_slack", "score_return_bound",
    "bernstein_threshold", "empirical_bernstein_threshold", "bernstein_sample_size",
    "bernstein_power", "power_sample_size", "empirical_bernstein_sample_size", "dkwm_sample_size",
    "DEFAULT_BETA", "MAX_ENUMERATION",
]

#: Unit roundoff u of float64.
UNIT_ROUNDOFF = np.finfo(float).eps / 2
#: Default false-pass rate β used for the detectable bias and for planning N.
DEFAULT_BETA = 1e-3
#: Largest M·d (trajectories × parameters) the exact path enumerates by default.
MAX_ENUMERATION = 5_000_000
#: Largest number of batches (M^batch_size calls) enumerated for a batch-coupled estimator.
MAX_BATCHES = 5_000
#: N used when neither ``n`` nor ``detectable_bias`` is given and sampling is needed.
DEFAULT_N = 10_000
METHODS = ("auto", "exact", "exact-recursion", "bernstein", "empirical-bernstein", "asymptotic",
           "chi2")
#: Largest N·T·d entries handed to a per-trajectory estimator in one call (memory cap).
CHUNK_ENTRIES = 4_000_000


# -- results --------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CheckResult:
    """The outcome of :func:`check_unbiased`.

    Attributes:
      passed: True when the check found no bias.
      method: ``"exact"`` (enumeration), ``"exact-recursion"`` (moment recursion),
        ``"bernstein"``, ``"empirical-bernstein"``, ``"asymptotic"`` or ``"chi2"``.
      max_abs_bias: max_j |ḡ_j − ∇J_j| observed (exact: |E g_j − ∇J_j|).
      detectable_bias: the smallest ∞-norm bias this run detects with probability
        ≥ 1 − ``beta`` (exact: the rounding slack; nothing smaller is meaningful).
      n: trajectories sampled (independent batches for a batch-coupled estimator;
        trajectories enumerated on the exact path; 0 on the exact-recursion path).
      alpha: the false-failure probability the test guarantees (asymptotic: aims at).
      report: a readable account of the check.
      guaranteed: False when the false-failure bound rests on the CLT.
      bias: ``[d]`` ḡ − ∇J; threshold: ``[d]`` the per-coordinate acceptance bound;
      target: ``[d]`` ∇J(θ); estimate: ``[d]`` ḡ (or E g).
    """

    passed: bool
    method: str
    max_abs_bias: float
    detectable_bias: float
    n: int
    alpha: float
    report: str
    guaranteed: bool = True
    beta: float = DEFAULT_BETA
    bias: np.ndarray = field(default=None, repr=False)
    threshold: np.ndarray = field(default=None, repr=False)
    target: np.ndarray = field(default=None, repr=False)
    estimate: np.ndarray = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.report


@dataclass(frozen=True, eq=False)
class VarianceComparison:
    """The outcome of :func:`compare_variance`.

    Attributes:
      cov_a, cov_b: ``[d, d]`` exact covariances of one row of each estimator.
      var_a, var_b: ``[d]`` their diagonals; total_a, total_b: the traces.
      smaller: ``"a"``, ``"b"`` or ``"equal"`` (totals equal within rounding).
      coordinatewise: ``"a"``/``"b"`` when that one is ≤ in every coordinate, else ``None``.
      slack: the rounding slack used to call two totals equal.
      report: a readable table.
      method: how the covariances were computed, e.g. ``"recursion/enumeration"`` (a's
        route, then b's).
    """

    cov_a: np.ndarray
    cov_b: np.ndarray
    var_a: np.ndarray
    var_b: np.ndarray
    total_a: float
    total_b: float
    smaller: str
    coordinatewise: str | None
    slack: float
    report: str
    method: str = "enumeration/enumeration"

    def __str__(self) -> str:
        return self.report


# -- bounds ---------------------------------------------------------------------------------
def _gamma(k: float) -> float:
    """Higham's γ_k = k u / (1 − k u)."""
    ku = k * UNIT_ROUNDOFF
    if ku >= 0.5:
        return float("inf")
    return ku / (1.0 - ku)


def rounding_slack(abs_mean: np.ndarray, ref_scale: np.ndarray, n_terms: int,
                   horizon: int) -> np.ndarray:
    """``[d]`` a bound on the floating-point error of E g − ∇J (the exact path's tolerance).

        slack_j = γ_K (Σ_τ p(τ)|g_j(τ)| + E[(Σ_t |ψ_t,j|)(Σ_t γ^t |r_t|)]),
        γ_K = K u / (1 − K u),  K = M + 32 T + 32,

    with u the unit roundoff (the second term is :func:`_ref_scale`, averaged under p).
    The first term bounds the error of the weighted sum
    Σ_τ p(τ) g(τ) of M rows (Higham, *Accuracy and Stability of Numerical Algorithms*,
    eq. 3.5: |fl(xᵀy) − xᵀy| ≤ γ_M |x|ᵀ|y|, any summation order) plus the relative
    rounding of each p(τ) (a product of ≤ 3T factors) and of each row g(τ) (assumed
    computed from O(T) operations per term). The second term bounds the magnitude of
    the terms ∇J is assembled from (the policy-gradient theorem with every term made
    positive), so it covers the error of the exact target. No other tolerance is used.
    """
    return _gamma(n_terms + 32 * horizon + 32) * (np.asarray(abs_mean) + np.asarray(ref_scale))



def score_return_bound(mdp, policy, theta) -> float:
    """B = T · max|ψ| · Σ_t γ^t max|r|: a bound on |g_j| for REINFORCE and reward-to-go.

    |(Σ_t ψ_t)(Σ_t γ^t r_t)| and |Σ_t ψ_t Σ_{t'≥t} γ^{t'} r_{t'}| are both ≤ B
    (notes §4.1, §4.3.1). A user's estimator with baselines or importance weights has
    its own range: pass that as ``bound=``.
    """
    T = _horizon(mdp)
    psi_max = float(np.max(np.abs(policy.score(theta))))
    r_max = float(np.max(np.abs(mdp.R)))
    return T * psi_max * r_max * float(np.sum(mdp.discount ** np.arange(T)))


def bernstein_threshold(variance, bound, n: int, delta: float) -> np.ndarray:
    """ε with P(|X̄ − μ| ≥ ε) ≤ δ by Bernstein's inequality (two-sided), ``[d]``.

    Solves N ε² / (2σ² + 2bε/3) = L, L = ln(2/δ), for ``variance`` σ² and ``bound``
    b ≥ |X − μ|: ε = bL/(3N) + √((bL/(3N))² + 2σ²L/N). (One tail at δ: L = ln(1/δ).)
    """
    return _bernstein_eps(variance, bound, n, np.log(2.0 / delta))


def _bernstein_eps(variance, bound, n, L):
    v = np.maximum(np.asarray(variance, dtype=float), 0.0)
    c = np.asarray(bound, dtype=float) * L / (3.0 * n)
    return c + np.sqrt(c * c + 2.0 * v * L / n)


def empirical_bernstein_threshold(sample_variance, width, n: int, delta: float) -> np.ndarray:
    """ε with P(|X̄ − μ| ≥ ε) ≤ δ by Maurer & Pontil's empirical Bernstein bound, ``[d]``.

    For X_i ∈ [a, a + w]: ε = √(2 V_N L / N) + 7 w L / (3(N − 1)), L = ln(4/δ)
    (each tail at δ/2); V_N the unbiased sample variance. Needs N ≥ 2.
    """
    L = np.log(4.0 / delta)
    v = np.maximum(np.asarray(sample_variance, dtype=float), 0.0)
    return np.sqrt(2.0 * v * L / n) + 7.0 * np.asarray(width, dtype=float) * L / (3.0 * (n - 1))


def bernstein_power(bias, variance, radius, spread, n: int, alpha: float) -> float:
    """A lower bound on P(reject) of the Bernstein test at N for a known bias ``[d]``.

    The test rejects when |ḡ_j − ∇J_j| > ε_j for some j, ε_j at level α/(2d) with
    range ``radius`` b_j ≥ |g_j − ∇J_j| (:func:`bernstein_threshold`). In a coordinate
    with |bias_j| > ε_j it fails to reject only if ḡ_j deviates from its own mean by
    Δ = |bias_j| − ε_j toward ∇J, which by one-sided Bernstein has probability
    ≤ exp(−N Δ² / (2σ_j² + 2 s_j Δ / 3)), σ_j² = Var g_j (``variance``) and
    s_j ≥ |g_j − E g_j| (``spread``). Non-asymptotic.
    """
    bias = np.abs(np.asarray(bias, dtype=float))
    variance = np.asarray(variance, dtype=float)
    radius = np.broadcast_to(np.asarray(radius, dtype=float), bias.shape)
    spread = np.broadcast_to(np.asarray(spread, dtype=float), bias.shape)
    d = bias.size
    eps = _bernstein_eps(variance, radius, n, np.log(2.0 * d / alpha))
    gap = bias - eps
    ok = gap > 0
    if not ok.any():
        return 0.0
    miss = np.exp(-n * gap[ok] ** 2 / (2.0 * variance[ok] + 2.0 * spread[ok] * gap[ok] / 3.0))
    return float(1.0 - miss.min())


def power_sample_size(bias, variance, radius, spread, *, alpha: float = 1e-6,
                      power: float = 0.999) -> int:
    """The least N at which :func:`bernstein_power` is ≥ ``power`` (a known bias ``[d]``)."""
    _check_rate("alpha", alpha)
    _check_rate("power", power)
    if not np.any(np.abs(np.asarray(bias)) > 0):
        raise PgmathError("power_sample_size needs a non-zero bias")
    return _least_n(lambda n: bernstein_power(bias, variance, radius, spread, n, alpha) >= power)


def _detectable(variance, bound, n, alpha, beta, d) -> np.ndarray:
    """``[d]`` the bias per coordinate that the Bernstein test catches w.p. ≥ 1 − β."""
    La = np.log(2.0 * d / alpha)
    Lb = np.log(1.0 / beta)
    return _bernstein_eps(variance, bound, n, La) + _bernstein_eps(variance, bound, n, Lb)


def bernstein_sample_size(variance, bound, detectable_bias: float, *, alpha: float = 1e-6,
                          beta: float = DEFAULT_BETA) -> int:
    """The least N at which the Bernstein test (union over d = len(variance) coordinates)
    fails a correct estimator w.p. ≤ α and catches every bias with ‖bias‖∞ ≥
    ``detectable_bias`` w.p. ≥ 1 − β.

    Needs ε_α(N) + ε_β(N) ≤ δ in every coordinate, ε from :func:`_bernstein_eps` with
    L = ln(2d/α) and ln(1/β) (the variance and range are taken the same under the
    alternative). Found by bisection on the monotone left-hand side.
    """
    variance = np.atleast_1d(np.asarray(variance, dtype=float))
    bound = np.broadcast_to(np.asarray(bound, dtype=float), variance.shape)
    _check_rate("alpha", alpha)
    _check_rate("beta", beta)
    if not detectable_bias > 0:
        raise PgmathError(f"detectable_bias must be > 0, got {detectable_bias!r}")
    d = variance.size

    def ok(n):
        return bool(np.all(_detectable(variance, bound, n, alpha, beta, d) <= detectable_bias))

    return _least_n(ok)


def dkwm_sample_size(width: float, detectable_bias: float, d: int = 1, *,
                     alpha: float = 1e-6, beta: float = DEFAULT_BETA) -> int:
    """N of the DKWM mean test of TensorFlow Probability's ``statistical_testing``.

    ``min_num_samples_for_dkwm_mean_test``: a distribution on [low, high] (width w), the
    DKWM envelope √(ln(2/rate)/(2N)) on the CDF at the false-fail rate α/d (itemwise, a
    union over d coordinates) and at the false-pass rate β, so the detectable
    discrepancy is w (√(ln(2d/α)/(2N)) + √(ln(2/β)/(2N))) and

        N = ⌈w² (√ln(2d/α) + √ln(2/β))² / (2δ²)⌉.
    """
    s = np.sqrt(np.log(2.0 * d / alpha)) + np.sqrt(np.log(2.0 / beta))
    return int(np.ceil(width ** 2 * s ** 2 / (2.0 * detectable_bias ** 2)))


def _least_n(ok) -> int:
    hi = 2
    while not ok(hi):
        hi *= 2
        if hi > 2 ** 62:  # pragma: no cover - unreachable for δ > 0
            raise PgmathError("no sample size reaches the requested detectable bias")
    lo = hi // 2
    if ok(lo):
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def _check_rate(name: str, v: float) -> None:
    if not (isinstance(v, (float, int)) and 0.0 < v < 1.0):
        raise PgmathError(f"{name} must be a probability in (0, 1), got {v!r}")


def _horizon(mdp) -> int:
    if mdp.horizon is None:
        raise InvalidMDPError(
            f"{mdp!r} has an infinite horizon; checking an estimator needs a finite horizon T "
            "(use mdp.with_horizon(T))")
    return mdp.horizon


# -- exact moments --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Moments:
    mean: np.ndarray       # [d] E g
    cov: np.ndarray        # [d, d]
    radius: np.ndarray     # [d] max_τ |g_j(τ) − ∇J_j|  (range around the target)
    spread: np.ndarray     # [d] max_τ |g_j(τ) − E g_j|  (range around its own mean)
    abs_mean: np.ndarray   # [d] Σ p |g|
    ref_scale: np.ndarray  # [d] E[(Σ|ψ|)(Σγ^t|r|)]
    m: int


def _enumerable(estimator, mdp, policy, theta, behaviour_theta, batch_size: int = 1) -> bool:
    m = count_trajectories(mdp, policy, theta if behaviour_theta is None else behaviour_theta)
    if is_batch_coupled(estimator):
        return m ** batch_size <= MAX_BATCHES
    return m * policy.n_params <= MAX_ENUMERATION


def _ref_scale(batch, policy, theta, g: np.ndarray) -> np.ndarray:
    """``[M, d]`` the magnitude of the terms a row is computed from, for the rounding slack.

        (Σ_t |Φ_t| + Σ_b π(b|x_t)|Φ[x_t, b]|)(Σ_t γ^t |r_t|) + 4 T max|Φ| · ‖g‖∞ / ‖Σ_t |ψ_t|‖∞.

    The first term bounds the magnitude of the terms of ∇J = E[(Σ_t ψ_t)(Σ_t γ^t r_t)],
    each score ψ = Φ − Σ_b π(b) Φ[b] taken as its two parts (their difference cancels
    when π is near-deterministic, their rounding does not). The second covers the same
    absolute rounding of ψ times the weights c_t that multiply the scores in
    g = Σ_t ψ_t c_t; ‖g‖∞ / ‖Σ_t|ψ_t|‖∞ estimates those weights from the row itself
    (baselines included).
    """
    pi = np.asarray(policy.probs(theta))
    phi = np.abs(policy.features())
    mag = phi + np.einsum("xb,xbd->xd", pi, phi)[:, None, :]
    x, a = batch.inputs, batch.actions
    terms = mag[x, a].sum(axis=1)
    ret = np.abs(batch.rewards) @ (batch.discount ** np.arange(batch.horizon))
    pmax = np.abs(policy.score(theta))[x, a].sum(axis=1).max(axis=1)
    gmax = np.abs(g).max(axis=1)
    weight = np.divide(gmax, pmax, out=np.zeros_like(gmax), where=pmax > 0)
    return terms * ret[:, None] + (4.0 * batch.horizon * float(phi.max()) * weight)[:, None]


def exact_moments(estimator, mdp, policy, theta, *, behaviour_theta=None, target=None,
                  batch_size: int = 1):
    """Exact mean, covariance and range of one row g(τ), τ drawn from the behaviour policy.

    For a batch-coupled estimator the unit is one batch of ``batch_size`` i.i.d.
    trajectories and g its row mean, enumerated over all M^b ordered batches (tiny
    problems only: at most :data:`MAX_BATCHES`).

    E g = Σ_τ p_μ(τ) g(τ) with p_μ the trajectory distribution of ``behaviour_theta``
    (θ itself when ``None``), by enumeration (:func:`pgmath.enumerate_trajectories`).
    Returns an internal record with ``mean [d]``, ``cov [d, d]``, ``radius [d]`` =
    max_τ |g_j(τ) − ∇J_j| and ``spread [d]`` = max_τ |g_j(τ) − E g_j|.
    """
    bt = theta if behaviour_theta is None else behaviour_theta
    if is_batch_coupled(estimator):
        batch, prob = enumerate_trajectories(mdp, policy, bt)
        g, prob, ref = _batch_means(estimator, batch, prob / prob.sum(), policy, theta,
                                    batch_size)
    else:
        limit = max(1, MAX_ENUMERATION // policy.n_params)
        batch, prob = enumerate_trajectories(mdp, policy, bt, max_trajectories=limit)
        g = call_estimator(estimator, batch, policy, theta)
        ref = _ref_scale(batch, policy, theta, g)
    prob = prob / prob.sum()
    mean = prob @ g
    c = g - mean
    cov = (c * prob[:, None]).T @ c
    if target is None:
        target = gradient(mdp, policy, theta)
    return _Moments(mean=mean, cov=0.5 * (cov + cov.T),
                    radius=np.max(np.abs(g - target), axis=0),
                    spread=np.max(np.abs(c), axis=0),
                    abs_mean=prob @ np.abs(g), ref_scale=prob @ ref, m=g.shape[0])


def _batch_means(estimator, batch, prob, policy, theta, b: int):
    """Every ordered batch of b trajectories: (``[M^b, d]`` batch means, ``[M^b]`` probabilities,
    ``[M^b, d]`` mean reference scales)."""
    m = batch.n
    if m ** b > MAX_BATCHES:
        raise TooManyTrajectoriesError(
            f"{m}^{b} = {m ** b:,} batches of {b} trajectories, above {MAX_BATCHES:,}")
    idx = np.indices((m,) * b).reshape(b, -1).T
    rows = np.stack([call_estimator(estimator, batch[row], policy, theta) for row in idx])
    flat = batch[idx.reshape(-1)]
    ref = _ref_scale(flat, policy, theta, rows.reshape(m ** b * b, -1))
    g = rows.mean(axis=1)
    ref = ref.reshape(m ** b, b, -1).mean(axis=1)
    return g, np.prod(prob[idx], axis=1), ref


# -- the check ------------------------------------------------------------------------------
def plan_sample_size(estimator, mdp, policy, theta, *, detectable_bias: float,
                     alpha: float = 1e-6, beta: float = DEFAULT_BETA,
                     behaviour_theta=None, bound=None, batch_size: int = 16) -> int:
    """N for :func:`check_unbiased` to catch any ‖bias‖∞ ≥ ``detectable_bias``.

    With the exact variance (enumerable problem, per-trajectory estimator; or a built-in
    estimator with a moment recursion, :mod:`pgmath.check_routes`, at any size): the
    Bernstein design (:func:`bernstein_sample_size`, range b_j = max_τ |g_j(τ) − E g_j|
    and around the target, whichever is larger). Otherwise from ``bound`` (|g_j| ≤ B)
    alone: the empirical-Bernstein design with the worst-case variance B², which the
    sample variance of a [−B, B] variable cannot exceed by much; counted in batches for a
    batch-coupled estimator.
    """
    _check_rate("alpha", alpha)
    _check_rate("beta", beta)
    _horizon(mdp)
    d = policy.n_params
    if _enumerable(estimator, mdp, policy, theta, behaviour_theta, batch_size):
        m = exact_moments(estimator, mdp, policy, theta, behaviour_theta=behaviour_theta,
                          batch_size=batch_size)
        return bernstein_sample_size(_variance(m), np.maximum(m.radius, m.spread),
                                     detectable_bias, alpha=alpha, beta=beta)
    if recursion_route(estimator, mdp, policy, theta, behaviour_theta) is not None:
        m = recursion_moments(estimator, mdp, policy, theta, behaviour_theta=behaviour_theta)
        return bernstein_sample_size(_variance(m), np.maximum(m.radius, m.spread),
                                     detectable_bias, alpha=alpha, beta=beta)
    if bound is None:
        raise PgmathError(
            "cannot plan N: the problem is too large to enumerate (or the estimator is "
            "batch-coupled) and no bound on |g| was given; pass bound=B with |g_j| ≤ B")
    return empirical_bernstein_sample_size(float(bound), detectable_bias, d, alpha=alpha,
                                           beta=beta)


def empirical_bernstein_sample_size(bound: float, detectable_bias: float, d: int = 1, *,
                                    alpha: float = 1e-6, beta: float = DEFAULT_BETA) -> int:
    """The least N for the empirical-Bernstein test with |g_j| ≤ B (width w = 2B) to catch
    ‖bias‖∞ ≥ δ w.p. ≥ 1 − β at level α, knowing nothing but B.

    Needs ε_EB(V_max, N) + ε_β(N) ≤ δ with V_max = B² N / (N − 1) (the largest sample
    variance of values in [−B, B]) and ε_β the one-sided Bernstein deviation with σ² ≤ B²
    and range 2B.
    """
    _check_rate("alpha", alpha)
    _check_rate("beta", beta)
    B, w = float(bound), 2.0 * float(bound)

    def ok(n):
        if n < 2:
            return False
        e_a = empirical_bernstein_threshold(B * B * n / (n - 1), w, n, alpha / d)
        e_b = _bernstein_eps(B * B, w, n, np.log(1.0 / beta))
        return bool(np.all(e_a + e_b <= detectable_bias))

    return _least_n(ok)


def check_unbiased(estimator, mdp, policy, theta, *, alpha: float = 1e-6, n: int | None = None,
                   detectable_bias: float | None = None, behaviour_theta=None, rng=None,
                   method: str = "auto", bound: float | None = None,
                   batch_size: int = 16, beta: float = DEFAULT_BETA) -> CheckResult:
    """Is E[g] = ∇J(θ)? Decide exactly, or by a test that fails a correct estimator w.p. ≤ α.

    Args:
      estimator: ``estimator(batch, policy, theta) -> [N, d]`` (a user's own is fine).
      mdp, policy, theta: a finite-horizon problem and θ ``[d]``; the target is
        ∇J(θ) = ∇_θ E[Σ_t γ^t r_t] from the exact engine.
      alpha: the false-failure probability (the test's level).
      n: trajectories to sample (independent batches for a batch-coupled estimator);
        ``None`` plans it from ``detectable_bias`` (or uses 10,000).
      detectable_bias: the ∞-norm bias to detect w.p. ≥ 1 − ``beta``.
      behaviour_theta: sample from π_{behaviour_theta} (the batch's
        ``behaviour_log_probs`` hold its log-probabilities); the target stays ∇J(θ).
      rng: ``numpy.random.Generator`` (default ``default_rng(0)``: reproducible).
      method: ``"auto"``: when ``n`` and ``detectable_bias`` are ``None``, ``"exact"``
        if the problem can be enumerated, else ``"exact-recursion"`` if the estimator is
        a built-in linear recursion (:func:`pgmath.check_routes.recursion_route`: any
        horizon); when sampling, Bernstein with the exact variance when it is known
        (enumeration or recursion), empirical Bernstein when ``bound`` is given, else
        asymptotic. Or one of ``"exact"`` (enumeration only), ``"exact-recursion"``,
        ``"bernstein"``, ``"empirical-bernstein"``, ``"asymptotic"`` or ``"chi2"``
        (asymptotic, exact covariance).
      bound: B with |g_j| ≤ B (|batch mean_j| ≤ B for a batch-coupled estimator),
        for the empirical-Bernstein test. Violations raise :class:`EstimatorError`.
      batch_size: trajectories per batch for a batch-coupled estimator.
      beta: false-pass rate for ``detectable_bias`` and planning.

    Returns:
      :class:`CheckResult`.

    Raises:
      EstimatorError: the estimator raised, returned the wrong shape or a non-finite
        value, or broke its declared ``bound``.
    """
    _check_rate("alpha", alpha)
    _check_rate("beta", beta)
    if method not in METHODS:
        raise PgmathError(f"method must be one of {METHODS}, got {method!r}")
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2):
        raise PgmathError(f"n must be an int ≥ 2, got {n!r}")
    if detectable_bias is not None and not detectable_bias > 0:
        raise PgmathError(f"detectable_bias must be > 0, got {detectable_bias!r}")
    T = _horizon(mdp)
    theta = policy.check_theta(theta)
    if behaviour_theta is not None:
        behaviour_theta = policy.check_theta(behaviour_theta)
    coupled = is_batch_coupled(estimator)
    target = gradient(mdp, policy, theta)
    enumerable = _enumerable(estimator, mdp, policy, theta, behaviour_theta, batch_size)
    route = (recursion_route(estimator, mdp, policy, theta, behaviour_theta)
             if method == "exact-recursion" or not enumerable else None)
    sampling = n is not None or detectable_bias is not None
    if method == "auto":
        if enumerable:
            method = "bernstein" if sampling else "exact"
        elif route is not None:
            method = "bernstein" if sampling else "exact-recursion"
        elif bound is not None:
            method = "empirical-bernstein"
        else:
            method = "asymptotic"
    if method == "exact-recursion" and route is None:
        raise PgmathError(
            f"method='exact-recursion' needs a moment recursion, and {_name(estimator)} has "
            "none here (an estimator without step_weights, or a batch-coupled one)")
    if method in ("exact", "bernstein", "chi2") and not enumerable and (
            method == "exact" or route is None):
        why = (f"it is batch-coupled and M^{batch_size} batches are too many to enumerate"
               if coupled else "the problem has too many trajectories to enumerate")
        alt = ("; method='exact-recursion' decides it by the moment recursion"
               if route is not None else "")
        raise TooManyTrajectoriesError(
            f"method={method!r} needs the exact moments of {_name(estimator)}, but {why}; "
            f"use method='empirical-bernstein' with bound=, or 'asymptotic'{alt}")
    if enumerable and method != "exact-recursion":
        mom = exact_moments(estimator, mdp, policy, theta, behaviour_theta=behaviour_theta,
                            target=target, batch_size=batch_size)
    elif method in ("exact-recursion", "bernstein", "chi2"):
        mom = recursion_moments(estimator, mdp, policy, theta,
                                behaviour_theta=behaviour_theta, target=target)
    else:
        mom = None
    ctx = _Context(estimator, mdp, policy, theta, behaviour_theta, target, alpha, beta, T,
                   coupled, batch_size)
    if method == "exact":
        return _exact(ctx, mom)
    if method == "exact-recursion":
        return _exact_recursion(ctx, mom)
    if method == "empirical-bernstein" and bound is None:
        raise PgmathError("method='empirical-bernstein' needs bound= (a bound B on |g_j|)")
    if n is None:
        if detectable_bias is None:
            n = DEFAULT_N
        elif method == "bernstein":
            n = bernstein_sample_size(_variance(mom), np.maximum(mom.radius, mom.spread),
                                      detectable_bias, alpha=alpha, beta=beta)
        elif bound is not None:
            n = plan_sample_size(estimator, mdp, policy, theta, detectable_bias=detectable_bias,
                                 alpha=alpha, beta=beta, behaviour_theta=behaviour_theta,
                                 bound=bound, batch_size=batch_size)
        else:
            n = DEFAULT_N
        n = max(int(n), 2)
    rng = np.random.default_rng(0) if rng is None else rng
    draws = _draw(ctx, int(n), rng)
    return _statistical(ctx, method, draws, mom, bound)


@dataclass(frozen=True)
class _Context:
    estimator: object
    mdp: object
    policy: object
    theta: np.ndarray
    behaviour_theta: np.ndarray | None
    target: np.ndarray
    alpha: float
    beta: float
    T: int
    coupled: bool
    batch_size: int


def _draw(ctx: _Context, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``[n, d]`` i.i.d. estimates (rows, or batch means) and ``[n, d]`` reference scales."""
    bt = ctx.theta if ctx.behaviour_theta is None else ctx.behaviour_theta
    b = 1 if not ctx.coupled else int(ctx.batch_size)
    if b < 1:
        raise PgmathError(f"batch_size must be ≥ 1, got {ctx.batch_size!r}")
    batch = sample(ctx.mdp, ctx.policy, bt, n * b, rng)
    # chunks of whole batches, at most CHUNK_ENTRIES entries of [N, T, d] at a time
    step = b * max(1, CHUNK_ENTRIES // (ctx.T * ctx.target.size * b))
    gs, refs = [], []
    for lo in range(0, n * b, step):
        sub = batch[slice(lo, min(n * b, lo + step))]
        if ctx.coupled:
            g = np.concatenate([call_estimator(ctx.estimator, sub[slice(k, k + b)], ctx.policy,
                                               ctx.theta) for k in range(0, sub.n, b)])
        else:
            g = call_estimator(ctx.estimator, sub, ctx.policy, ctx.theta)
        gs.append(g)
        refs.append(_ref_scale(sub, ctx.policy, ctx.theta, g))
    g, ref = np.concatenate(gs), np.concatenate(refs)
    return g.reshape(n, b, -1).mean(axis=1), ref.reshape(n, b, -1).mean(axis=1)


def _header(ctx: _Context, method: str) -> list[str]:
    beh = "" if ctx.behaviour_theta is None else " (sampled from the behaviour policy)"
    unit = f"batches of {ctx.batch_size}" if ctx.coupled else "trajectories"
    return [f"check_unbiased({_name(ctx.estimator)}) on {ctx.mdp!r}, {ctx.policy!r}{beh}",
            f"  target: ∇J(θ) exact (policy-gradient theorem), d = {ctx.target.size}",
            f"  method: {method}; unit: {unit}"]


def _bias_lines(bias, thr, target, est, k=5) -> list[str]:
    order = np.argsort(-(np.abs(bias) - thr))[:k]
    lines = ["  worst coordinates (j, estimate, ∇J, bias, threshold):"]
    for j in order:
        flag = "  <-- exceeds" if abs(bias[j]) > thr[j] else ""
        lines.append(f"    {j:4d} {est[j]: .6g} {target[j]: .6g} {bias[j]: .3e} {thr[j]:.3e}{flag}")
    return lines


def _exact(ctx: _Context, mom: _Moments) -> CheckResult:
    bias = mom.mean - ctx.target
    thr = rounding_slack(mom.abs_mean, mom.ref_scale, mom.m, ctx.T)
    passed = bool(np.all(np.abs(bias) <= thr))
    mab = float(np.max(np.abs(bias)))
    lines = _header(ctx, "exact")
    what = f"batches of {ctx.batch_size}" if ctx.coupled else "trajectories"
    lines += [f"  enumerated {mom.m:,} {what}: E[g] = Σ_τ p(τ) g(τ), no sampling",
              f"  tolerance: floating-point rounding only, max_j {float(thr.max()):.3e}",
              f"  max |E g − ∇J| = {mab:.3e}",
              f"  verdict: {'PASS (unbiased)' if passed else 'FAIL (biased)'}"]
    lines += _bias_lines(bias, thr, ctx.target, mom.mean)
    return CheckResult(passed, "exact", mab, float(thr.max()), mom.m, ctx.alpha,
                       "\n".join(lines), True, ctx.beta, bias, thr, ctx.target, mom.mean)


def _exact_recursion(ctx: _Context, mom: RecursionMoments) -> CheckResult:
    bias = mom.mean - ctx.target
    thr = mom.slack
    passed = bool(np.all(np.abs(bias) <= thr))
    mab = float(np.max(np.abs(bias)))
    lines = _header(ctx, "exact-recursion")
    lines += [f"  {mom.route} (DESIGN §3): E[g] by the forward moment recursion in "
              f"O(T S² A d²), no enumeration and no sampling (T = {ctx.T})",
              f"  tolerance: floating-point rounding only (γ_K × the recursion run on absolute "
              f"values, K = {mom.depth:,}), max_j {float(thr.max()):.3e}",
              f"  max |E g − ∇J| = {mab:.3e}",
              f"  verdict: {'PASS (unbiased)' if passed else 'FAIL (biased)'}"]
    lines += _bias_lines(bias, thr, ctx.target, mom.mean)
    return CheckResult(passed, "exact-recursion", mab, float(thr.max()), 0, ctx.alpha,
                       "\n".join(lines), True, ctx.beta, bias, thr, ctx.target, mom.mean)


def _variance(mom) -> np.ndarray:
    """``[d]`` Var g_j, plus its rounding bound when it comes from a recursion."""
    return np.diag(mom.cov) + getattr(mom, "var_slack", 0.0)


def _moments_source(mom) -> str:
    if isinstance(mom, RecursionMoments):
        return (f"the {mom.route} (exact variance; range from the bound "
                "B_j ≥ max_τ |g_j(τ)| of pgmath.check_routes)")
    return "enumeration"


def _statistical(ctx: _Context, method: str, draws, mom, bound) -> CheckResult:
    g, ref = draws
    n, d = g.shape
    mean = g.mean(axis=0)
    bias = mean - ctx.target
    slack = rounding_slack(np.abs(g).mean(axis=0), ref.mean(axis=0), n, ctx.T)
    guaranteed = True
    notes: list[str] = []
    if method == "bernstein":
        var = _variance(mom)
        thr = _bernstein_eps(var, mom.radius, n, np.log(2.0 * d / ctx.alpha))
        det = _detectable(var, np.maximum(mom.radius, mom.spread), n, ctx.alpha, ctx.beta, d)
        notes.append("  Bernstein's inequality with the exact variance and range "
                     f"({_moments_source(mom)}), union bound over {d} coordinates × 2 tails: "
                     "P(false failure) ≤ α")
    elif method == "empirical-bernstein":
        B = float(bound)
        over = np.abs(g) > B * (1 + 1e-12)
        if over.any():
            i, j = (int(v) for v in np.argwhere(over)[0])
            raise EstimatorError(
                f"{_name(ctx.estimator)} broke the declared bound |g_j| ≤ {B:g}: estimate {i}, "
                f"component {j} is {g[i, j]!r}; the empirical-Bernstein guarantee needs a true bound")
        v = g.var(axis=0, ddof=1)
        thr = empirical_bernstein_threshold(v, 2.0 * B, n, ctx.alpha / d)
        det = thr + _bernstein_eps(v, 2.0 * B, n, np.log(1.0 / ctx.beta))
        notes.append(f"  empirical Bernstein (Maurer & Pontil 2009) with the declared bound "
                     f"|g_j| ≤ {B:g}, union bound over {d} coordinates × 2 tails: "
                     "P(false failure) ≤ α (the detectable bias uses the sample variance)")
    elif method == "chi2":
        guaranteed = False
        return _chi2(ctx, g, mom, bias, slack)
    else:  # asymptotic z-test with the sample variance
        guaranteed = False
        z = stats.norm.isf(ctx.alpha / (2 * d))
        se = g.std(axis=0, ddof=1) / np.sqrt(n)
        thr = z * se
        det = (z + stats.norm.isf(ctx.beta)) * se
        notes.append("  ASYMPTOTIC: Bonferroni z-test with the sample variance (CLT). No bound on "
                     "|g| was given, and for an estimator of unknown range no test can bound the "
                     "false-failure rate from samples (Bahadur & Savage 1956); pass bound= for a "
                     "guarantee")
    thr = thr + slack
    passed = bool(np.all(np.abs(bias) <= thr))
    mab = float(np.max(np.abs(bias)))
    lines = _header(ctx, method)
    lines += [f"  N = {n:,}; α = {ctx.alpha:g} (false-failure rate"
              f"{'' if guaranteed else ', asymptotic'}); β = {ctx.beta:g}"]
    lines += notes
    lines += [f"  max |ḡ − ∇J| = {mab:.3e}; detectable bias (‖·‖∞, w.p. ≥ 1 − β) = "
              f"{float(det.max()):.3e}",
              f"  verdict: {'PASS (no bias detected)' if passed else 'FAIL (biased)'}"]
    lines += _bias_lines(bias, thr, ctx.target, mean)
    return CheckResult(passed, method, mab, float(det.max()), n, ctx.alpha, "\n".join(lines),
                       guaranteed, ctx.beta, bias, thr, ctx.target, mean)


def _chi2(ctx: _Context, g, mom: _Moments, bias, slack) -> CheckResult:
    """χ² = N bᵀ Σ⁺ b on the range of Σ (exact covariance), rank-many degrees of freedom."""
    n, d = g.shape
    w, V = np.linalg.eigh(mom.cov)
    tol = max(float(w.max()), 0.0) * d * np.finfo(float).eps * 16
    keep = w > tol
    proj = V[:, keep].T @ bias
    stat = float(n * np.sum(proj ** 2 / w[keep]))
    k = int(keep.sum())
    crit = float(stats.chi2.isf(ctx.alpha, k)) if k else 0.0
    null_part = V[:, ~keep] @ (V[:, ~keep].T @ bias)
    in_range = bool(np.all(np.abs(null_part) <= slack))
    passed = stat <= crit and in_range
    mab = float(np.max(np.abs(bias)))
    z = stats.norm.isf(ctx.alpha / (2 * d)) + stats.norm.isf(ctx.beta)
    det = z * np.sqrt(np.diag(mom.cov) / n)
    lines = _header(ctx, "chi2")
    lines += [f"  N = {n:,}; α = {ctx.alpha:g} (ASYMPTOTIC: χ² with the exact covariance, CLT)",
              f"  χ² = {stat:.4g} on {k} degrees of freedom, critical value {crit:.4g}"
              + ("" if in_range else "; the bias leaves the covariance's range"),
              f"  max |ḡ − ∇J| = {mab:.3e}",
              f"  verdict: {'PASS (no bias detected)' if passed else 'FAIL (biased)'}"]
    thr = np.full(d, np.nan)
    return CheckResult(passed, "chi2", mab, float(det.max()), n, ctx.alpha, "\n".join(lines),
                       False, ctx.beta, bias, thr, ctx.target, g.mean(axis=0))


# -- variance comparison --------------------------------------------------------------------
def _covariance(est, mdp, policy, theta, behaviour_theta, target) -> tuple[str, np.ndarray, float]:
    """(route, ``[d, d]`` exact Cov g, rounding slack of its diagonal's sum) of one estimator:
    the moment recursion when it has one, else enumeration."""
    if recursion_route(est, mdp, policy, theta, behaviour_theta) is not None:
        m = recursion_moments(est, mdp, policy, theta, behaviour_theta=behaviour_theta,
                              target=target)
        return "recursion", m.cov, float(np.sum(m.var_slack))
    if is_batch_coupled(est):
        raise PgmathError(f"{_name(est)} is batch-coupled: compare_variance needs "
                          "per-trajectory estimators")
    if not _enumerable(est, mdp, policy, theta, behaviour_theta):
        raise TooManyTrajectoriesError(
            f"compare_variance: {_name(est)} has no moment recursion and {mdp!r} has too many "
            "trajectories to enumerate")
    m = exact_moments(est, mdp, policy, theta, behaviour_theta=behaviour_theta, target=target)
    gam = _gamma(m.m + 32 * mdp.horizon + 32)
    return "enumeration", m.cov, 4 * gam * float(np.sum(m.abs_mean ** 2 + np.diag(m.cov)))


def compare_variance(est_a, est_b, mdp, policy, theta, *, behaviour_theta=None
                     ) -> VarianceComparison:
    """Exact covariances of two per-trajectory estimators, and which has less variance.

    Cov g = Σ_τ p(τ)(g(τ) − E g)(g(τ) − E g)ᵀ, by the forward moment recursion for built-in
    estimators (any horizon, :mod:`pgmath.check_routes`) and by enumeration otherwise
    (notes §4.3: e.g. reward-to-go against REINFORCE, PG-7). Compares per coordinate and
    in total (tr Cov); totals within rounding (the sum of both routes' bounds on the
    rounding error of tr Cov) are called ``"equal"``.
    """
    _horizon(mdp)
    theta = policy.check_theta(theta)
    if behaviour_theta is not None:
        behaviour_theta = policy.check_theta(behaviour_theta)
    target = gradient(mdp, policy, theta)
    ra, cov_a, sa = _covariance(est_a, mdp, policy, theta, behaviour_theta, target)
    rb, cov_b, sb = _covariance(est_b, mdp, policy, theta, behaviour_theta, target)
    va, vb = np.diag(cov_a).copy(), np.diag(cov_b).copy()
    ta, tb = float(va.sum()), float(vb.sum())
    slack = sa + sb
    smaller = "equal" if abs(ta - tb) <= slack else ("a" if ta < tb else "b")
    cw = "a" if np.all(va <= vb + slack) else ("b" if np.all(vb <= va + slack) else None)
    na, nb = _name(est_a), _name(est_b)
    lines = [f"compare_variance({na}, {nb}) on {mdp!r}: exact covariances "
             f"(a by {ra}, b by {rb})",
             f"  tr Cov: a = {ta:.6g}, b = {tb:.6g} (rounding slack {slack:.2e})",
             f"  smaller total: {smaller}; smaller in every coordinate: {cw or 'neither'}",
             "  j  Var a  Var b"]
    lines += [f"  {j:3d} {va[j]:.6g} {vb[j]:.6g}" for j in range(min(va.size, 12))]
    return VarianceComparison(cov_a, cov_b, va, vb, ta, tb, smaller, cw, slack,
                              "\n".join(lines), f"{ra}/{rb}")
