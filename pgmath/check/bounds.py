"""Concentration bounds of the statistical checks, their power and their sample sizes.

Names follow TensorFlow Probability's ``statistical_testing`` grammar (operation,
property, relation, bound): the threshold of a test,
``min_discrepancy_of_true_means_detectable_by_…`` (the smallest discrepancy ‖E g − ∇J‖∞,
the bias, that the test catches w.p. ≥ 1 − β at N; TFP's
``min_discrepancy_of_true_means_detectable_by_dkwm``) and
``min_num_samples_for_…_mean_test`` (the N that reaches a discrepancy; TFP's
``min_num_samples_for_dkwm_mean_test``). The older names (``min_detectable_bias_by_…``,
``bernstein_sample_size``, ``empirical_bernstein_sample_size``, ``dkwm_sample_size``,
``power_sample_size``) forward with a ``DeprecationWarning`` for one release.

* Bernstein (variance σ² and range b ≥ |X − μ| known):
  P(|X̄ − μ| ≥ ε) ≤ 2 exp(−N ε² / (2σ² + 2bε/3)), solved for ε at level δ:
  ε = bL/(3N) + √((bL/(3N))² + 2σ²L/N), L = ln(2/δ).
* Empirical Bernstein (Maurer & Pontil 2009, Theorem 4; X ∈ [a, a + w], V_N the sample
  variance): each tail at δ/2, ε = √(2 V_N L / N) + 7 w L / (3(N − 1)), L = ln(4/δ).
* A check over d coordinates and both tails runs each at δ = α/(2d) per coordinate and
  tail (for Bernstein ln(2/δ) = ln(2d/α) covers both tails of one coordinate at α/d;
  empirical Bernstein is called with δ = α/d and splits it over the tails): a correct
  estimator fails w.p. ≤ α (union bound, no CLT).
"""
from __future__ import annotations

import numpy as np

from .._deprecation import deprecated_alias, keyword_only
from ..errors import PgmathError

__all__ = [
    "DEFAULT_BETA", "score_return_bound",
    "bernstein_threshold", "empirical_bernstein_threshold",
    "min_discrepancy_of_true_means_detectable_by_bernstein",
    "min_discrepancy_of_true_means_detectable_by_empirical_bernstein",
    "min_discrepancy_of_true_means_detectable_by_dkwm",
    "min_num_samples_for_bernstein_mean_test",
    "min_num_samples_for_empirical_bernstein_mean_test",
    "min_num_samples_for_dkwm_mean_test", "bernstein_power",
    "min_num_samples_for_bernstein_power",
    # deprecated aliases kept one release
    "min_detectable_bias_by_bernstein", "min_detectable_bias_by_empirical_bernstein",
    "bernstein_sample_size", "empirical_bernstein_sample_size", "dkwm_sample_size",
    "power_sample_size",
]

#: Default false-pass rate β used for the detectable bias and for planning N.
DEFAULT_BETA = 1e-3


def check_rate(name: str, v: float) -> None:
    """Raise naming ``name`` unless 0 < v < 1."""
    if not (isinstance(v, (float, int)) and not isinstance(v, bool) and 0.0 < v < 1.0):
        raise PgmathError(f"{name} must be a probability in (0, 1), got {v!r}")


def score_return_bound(mdp, policy, theta) -> float:
    """B = T · max|ψ| · Σ_t γ^t max|r|: a bound on |g_j| for REINFORCE and reward-to-go.

    |(Σ_t ψ_t)(Σ_t γ^t r_t)| and |Σ_t ψ_t Σ_{t'≥t} γ^{t'} r_{t'}| are both ≤ B
    (notes §4.1, §4.3.1). A user's estimator with baselines or importance weights has
    its own range: pass that as ``bound=``.
    """
    T = mdp.horizon
    psi_max = float(np.max(np.abs(policy.score(theta))))
    r_max = float(np.max(np.abs(mdp.R)))
    return T * psi_max * r_max * float(np.sum(mdp.discount ** np.arange(T)))


def bernstein_eps(variance, bound, n, log_term) -> np.ndarray:
    """ε solving N ε² / (2σ² + 2bε/3) = L for ``log_term`` L (``[d]``)."""
    v = np.maximum(np.asarray(variance, dtype=float), 0.0)
    c = np.asarray(bound, dtype=float) * log_term / (3.0 * n)
    return c + np.sqrt(c * c + 2.0 * v * log_term / n)


def bernstein_threshold(variance, bound, n: int, delta: float) -> np.ndarray:
    """ε with P(|X̄ − μ| ≥ ε) ≤ δ by Bernstein's inequality (two-sided), ``[d]``.

    Solves N ε² / (2σ² + 2bε/3) = L, L = ln(2/δ), for ``variance`` σ² and ``bound``
    b ≥ |X − μ|: ε = bL/(3N) + √((bL/(3N))² + 2σ²L/N). (One tail at δ: L = ln(1/δ).)
    """
    return bernstein_eps(variance, bound, n, np.log(2.0 / delta))


def empirical_bernstein_threshold(sample_variance, width, n: int, delta: float) -> np.ndarray:
    """ε with P(|X̄ − μ| ≥ ε) ≤ δ by Maurer & Pontil's empirical Bernstein bound, ``[d]``.

    For X_i ∈ [a, a + w]: ε = √(2 V_N L / N) + 7 w L / (3(N − 1)), L = ln(4/δ)
    (each tail at δ/2); V_N the unbiased sample variance. Needs N ≥ 2.
    """
    L = np.log(4.0 / delta)
    v = np.maximum(np.asarray(sample_variance, dtype=float), 0.0)
    return np.sqrt(2.0 * v * L / n) + 7.0 * np.asarray(width, dtype=float) * L / (3.0 * (n - 1))


def min_discrepancy_of_true_means_detectable_by_bernstein(
        variance, bound, n: int, *, alpha: float, beta: float = DEFAULT_BETA) -> np.ndarray:
    """``[d]`` per coordinate, the bias the Bernstein test (level α over d = len(variance)
    coordinates) catches w.p. ≥ 1 − β at N: ε_α + ε_β with L = ln(2d/α) and ln(1/β) (the
    variance and range taken the same under the alternative)."""
    variance = np.atleast_1d(np.asarray(variance, dtype=float))
    d = variance.size
    return (bernstein_eps(variance, bound, n, np.log(2.0 * d / alpha))
            + bernstein_eps(variance, bound, n, np.log(1.0 / beta)))


def min_discrepancy_of_true_means_detectable_by_empirical_bernstein(
        sample_variance, width, n: int, *, alpha: float, beta: float = DEFAULT_BETA
) -> np.ndarray:
    """``[d]`` the bias the empirical-Bernstein test (level α over d coordinates, width w)
    catches w.p. ≥ 1 − β at N, with the sample variance standing in for σ²: its threshold
    at δ = α/d plus the one-sided Bernstein deviation at β with range w."""
    v = np.atleast_1d(np.asarray(sample_variance, dtype=float))
    return (empirical_bernstein_threshold(v, width, n, alpha / v.size)
            + bernstein_eps(v, width, n, np.log(1.0 / beta)))


def least_n(ok) -> int:
    """The least N ≥ 1 with ``ok(N)`` for a monotone predicate (doubling, then bisection)."""
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


def _positive(name: str, v) -> None:
    if not (isinstance(v, (float, int, np.floating)) and v > 0):
        raise PgmathError(f"{name} must be > 0, got {v!r}")


def min_num_samples_for_bernstein_mean_test(variance, bound, detectable_bias: float, *,
                                            alpha: float = 1e-6,
                                            beta: float = DEFAULT_BETA) -> int:
    """The least N at which the Bernstein test (union over d = len(variance) coordinates)
    fails a correct estimator w.p. ≤ α and catches every bias with ‖bias‖∞ ≥
    ``detectable_bias`` w.p. ≥ 1 − β:
    :func:`min_discrepancy_of_true_means_detectable_by_bernstein` ≤ δ in every
    coordinate. Found by bisection on the monotone left-hand side."""
    variance = np.atleast_1d(np.asarray(variance, dtype=float))
    bound = np.broadcast_to(np.asarray(bound, dtype=float), variance.shape)
    check_rate("alpha", alpha)
    check_rate("beta", beta)
    _positive("detectable_bias", detectable_bias)
    return least_n(lambda n: bool(np.all(min_discrepancy_of_true_means_detectable_by_bernstein(
        variance, bound, n, alpha=alpha, beta=beta) <= detectable_bias)))


@keyword_only
def min_num_samples_for_empirical_bernstein_mean_test(bound: float, detectable_bias: float,
                                                      *, d: int = 1, alpha: float = 1e-6,
                                                      beta: float = DEFAULT_BETA) -> int:
    """The least N for the empirical-Bernstein test with |g_j| ≤ B (width w = 2B) to catch
    ‖bias‖∞ ≥ δ w.p. ≥ 1 − β at level α, knowing nothing but B.

    Needs ε_EB(V_max, N) + ε_β(N) ≤ δ with V_max = B² N / (N − 1) (the largest sample
    variance of values in [−B, B]) and ε_β the one-sided Bernstein deviation with σ² ≤ B²
    and range 2B.
    """
    check_rate("alpha", alpha)
    check_rate("beta", beta)
    _positive("detectable_bias", detectable_bias)
    B = np.asarray(bound, dtype=float)
    w = 2.0 * B

    def ok(n):
        if n < 2:
            return False
        e_a = empirical_bernstein_threshold(B * B * n / (n - 1), w, n, alpha / d)
        e_b = bernstein_eps(B * B, w, n, np.log(1.0 / beta))
        return bool(np.all(e_a + e_b <= detectable_bias))

    return least_n(ok)


@keyword_only
def min_num_samples_for_dkwm_mean_test(width: float, detectable_bias: float, *, d: int = 1,
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


@keyword_only
def bernstein_power(bias, variance, radius, spread, n: int, *, alpha: float) -> float:
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
    eps = bernstein_eps(variance, radius, n, np.log(2.0 * d / alpha))
    gap = bias - eps
    ok = gap > 0
    if not ok.any():
        return 0.0
    miss = np.exp(-n * gap[ok] ** 2 / (2.0 * variance[ok] + 2.0 * spread[ok] * gap[ok] / 3.0))
    return float(1.0 - miss.min())


def min_num_samples_for_bernstein_power(bias, variance, radius, spread, *,
                                        alpha: float = 1e-6, power: float = 0.999) -> int:
    """The least N at which :func:`bernstein_power` is ≥ ``power`` (a known bias ``[d]``)."""
    check_rate("alpha", alpha)
    check_rate("power", power)
    if not np.any(np.abs(np.asarray(bias)) > 0):
        raise PgmathError("min_num_samples_for_bernstein_power needs a non-zero bias")
    return least_n(lambda n: bernstein_power(bias, variance, radius, spread, n,
                                             alpha=alpha) >= power)


def min_discrepancy_of_true_means_detectable_by_dkwm(width: float, n: int, *, d: int = 1,
                                                     alpha: float = 1e-6,
                                                     beta: float = DEFAULT_BETA) -> float:
    """The discrepancy of the true mean that the DKWM mean test of TensorFlow Probability's
    ``statistical_testing`` (values in an interval of width w, d coordinates) detects at N
    w.p. ≥ 1 − β at level α: w (√(ln(2d/α)/(2N)) + √(ln(2/β)/(2N))), the inverse of
    :func:`min_num_samples_for_dkwm_mean_test` (TFP's
    ``min_discrepancy_of_true_means_detectable_by_dkwm``)."""
    check_rate("alpha", alpha)
    check_rate("beta", beta)
    _positive("n", n)
    s = np.sqrt(np.log(2.0 * d / alpha)) + np.sqrt(np.log(2.0 / beta))
    return float(width * s / np.sqrt(2.0 * n))


_NEW = "pgmath.check."
min_detectable_bias_by_bernstein = deprecated_alias(
    min_discrepancy_of_true_means_detectable_by_bernstein,
    _NEW + "min_detectable_bias_by_bernstein",
    _NEW + "min_discrepancy_of_true_means_detectable_by_bernstein")
min_detectable_bias_by_empirical_bernstein = deprecated_alias(
    min_discrepancy_of_true_means_detectable_by_empirical_bernstein,
    _NEW + "min_detectable_bias_by_empirical_bernstein",
    _NEW + "min_discrepancy_of_true_means_detectable_by_empirical_bernstein")
bernstein_sample_size = deprecated_alias(
    min_num_samples_for_bernstein_mean_test, _NEW + "bernstein_sample_size",
    _NEW + "min_num_samples_for_bernstein_mean_test")
empirical_bernstein_sample_size = deprecated_alias(
    min_num_samples_for_empirical_bernstein_mean_test, _NEW + "empirical_bernstein_sample_size",
    _NEW + "min_num_samples_for_empirical_bernstein_mean_test")
dkwm_sample_size = deprecated_alias(
    min_num_samples_for_dkwm_mean_test, _NEW + "dkwm_sample_size",
    _NEW + "min_num_samples_for_dkwm_mean_test")
power_sample_size = deprecated_alias(
    min_num_samples_for_bernstein_power, _NEW + "power_sample_size",
    _NEW + "min_num_samples_for_bernstein_power")
