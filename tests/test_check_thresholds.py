"""Every threshold check_unbiased uses, and its planning functions, against closed forms.

Calibration runs cannot see a wrong threshold: Bernstein is so conservative that at
α = 0.05 the observed failure rate hardly moves when the union bound over coordinates is
dropped, one tail is forgotten or the range is halved (issue 11). So each threshold is
recomputed here from its formula, with the exact variance and range of the estimator
obtained by an independent route (a closed form in p = P(a₀ = 0)), and compared with the
``threshold`` and ``detectable_bias`` of :class:`pgmath.CheckResult`.

The problem: S = A = 2, T = 1, p0 = (0.3, 0.7), π(a = 0|s) = (0.2, 0.6), so
p = P(a₀ = 0) = 0.3·0.2 + 0.7·0.6 = 0.48, and ∇J in closed form (T = 1):
∂J/∂θ[s, b] = p0(s) π(b|s) (r(s, b) − Σ_a π(a|s) r(s, a)). The estimator
g_j(τ) = ∇J_j + c_j (1[a₀ = 0] − p) is unbiased and two-valued per coordinate, with
Var g_j = c_j² p(1 − p), range |g_j − ∇J_j| ≤ c_j max(p, 1 − p), and its sample variance
is a function of its sample mean m_j: V_N = N (m_j − v_j)(u_j − m_j)/(N − 1) for values
{u_j, v_j}. d = 4 coordinates, so the union bound matters.
"""
from statistics import NormalDist

import numpy as np
import pytest

import pgmath
from pgmath import check as pc

P0 = np.array([0.3, 0.7])
PI = np.array([[0.2, 0.8], [0.6, 0.4]])        # π(a|s)
R = np.array([[1.0, -0.5], [0.25, 2.0]])
P_A0 = float(P0 @ PI[:, 0])                    # 0.48
GRAD = (P0[:, None] * PI * (R - np.sum(PI * R, axis=1, keepdims=True))).ravel()
C = np.array([1.0, 2.0, 0.5, 3.0])
D = 4
U, V = GRAD + C * (1 - P_A0), GRAD - C * P_A0  # the two values of each coordinate
VAR = C ** 2 * P_A0 * (1 - P_A0)
RADIUS = C * max(P_A0, 1 - P_A0)
B_DECLARED = 4.0
ALPHA, BETA, N = 1e-6, 1e-3, 3000


def _problem():
    mdp = pgmath.TabularMDP(np.full((2, 2, 2), 0.5), R, P0, horizon=1)
    return mdp, pgmath.SoftmaxPolicy(2, 2), np.log(PI).ravel()


def two_valued(batch, policy, theta):
    """g = ∇J + c (1[a₀ = 0] − p), ``[N, 4]``."""
    return GRAD + C * ((batch.actions[:, 0] == 0) - P_A0)[:, None]


def _bern(var, b, n, L):
    """Bernstein's ε: N ε² / (2σ² + 2bε/3) = L solved for ε."""
    c = np.asarray(b) * L / (3 * n)
    return c + np.sqrt(c * c + 2 * np.asarray(var) * L / n)


def _sample_variance(m):
    return N * (m - V) * (U - m) / (N - 1)


def test_the_closed_forms_of_the_problem():
    """∇J and the exact variance by the engine agree with the closed forms the tests use."""
    mdp, pol, th = _problem()
    assert P_A0 == pytest.approx(0.48)
    np.testing.assert_allclose(pgmath.exact.gradient(mdp, pol, th), GRAD, atol=1e-15)
    m = pc.exact_moments(two_valued, mdp, pol, th)
    np.testing.assert_allclose(np.diag(m.cov), VAR, rtol=1e-12)
    np.testing.assert_allclose(m.mean, GRAD, atol=1e-15)
    assert np.all(np.maximum(np.abs(U), np.abs(V)) < B_DECLARED)


def test_bernstein_threshold_is_at_alpha_over_2d_per_coordinate_and_tail():
    """ε_j = b_j L/(3N) + √((b_j L/(3N))² + 2σ_j² L/N), L = ln(2d/α) (two tails of each of
    the d coordinates at α/(2d)), σ_j² and b_j the exact variance and range; the detectable
    bias adds the same ε at L = ln(1/β). Without the union bound (L = ln(2/α)) ε is 4% smaller."""
    mdp, pol, th = _problem()
    res = pgmath.check_unbiased(two_valued, mdp, pol, th, method="bernstein", n=N, alpha=ALPHA)
    assert res.method == "bernstein" and res.n == N and res.guaranteed
    eps = _bern(VAR, RADIUS, N, np.log(2 * D / ALPHA))
    np.testing.assert_allclose(res.threshold, eps, rtol=1e-9)
    assert np.all(_bern(VAR, RADIUS, N, np.log(2 / ALPHA)) < eps / 1.03)
    det = eps + _bern(VAR, RADIUS, N, np.log(1 / BETA))
    assert res.detectable_bias == pytest.approx(det.max(), rel=1e-9)


def test_empirical_bernstein_threshold_uses_ln_4d_over_alpha_and_the_full_range():
    """Maurer & Pontil with each tail at α/(2d): ε_j = √(2 V_j L/N) + 7 w L/(3(N − 1)),
    L = ln(4d/α), w = 2B the full width of [−B, B], V_j the sample variance (from the sample
    mean, the estimator being two-valued)."""
    mdp, pol, th = _problem()
    res = pgmath.check_unbiased(two_valued, mdp, pol, th, method="empirical-bernstein", n=N,
                                alpha=ALPHA, bound=B_DECLARED)
    assert res.method == "empirical-bernstein" and res.guaranteed
    v = _sample_variance(res.estimate)
    assert np.all(v > 0.1 * VAR)
    L = np.log(4 * D / ALPHA)
    eps = np.sqrt(2 * v * L / N) + 7 * (2 * B_DECLARED) * L / (3 * (N - 1))
    np.testing.assert_allclose(res.threshold, eps, rtol=1e-9)
    det = eps + _bern(v, 2 * B_DECLARED, N, np.log(1 / BETA))
    assert res.detectable_bias == pytest.approx(det.max(), rel=1e-9)


def test_asymptotic_threshold_is_the_bonferroni_z_test():
    """ε_j = z_{1 − α/(2d)} √(V_j/N) (standard normal quantile from the standard library),
    labelled not guaranteed; detectable (z_{1−α/(2d)} + z_{1−β}) √(V_j/N)."""
    mdp, pol, th = _problem()
    res = pgmath.check_unbiased(two_valued, mdp, pol, th, method="asymptotic", n=N, alpha=ALPHA)
    assert res.method == "asymptotic" and not res.guaranteed
    se = np.sqrt(_sample_variance(res.estimate) / N)
    z = NormalDist().inv_cdf(1 - ALPHA / (2 * D))
    np.testing.assert_allclose(res.threshold, z * se, rtol=1e-9)
    zb = NormalDist().inv_cdf(1 - BETA)
    assert res.detectable_bias == pytest.approx(((z + zb) * se).max(), rel=1e-9)


def test_threshold_functions_against_their_formulas():
    """bernstein_threshold at δ: L = ln(2/δ) (two tails); empirical_bernstein_threshold at δ:
    L = ln(4/δ) (each tail at δ/2)."""
    var, b, w, n, delta = np.array([0.5, 2.0]), np.array([1.0, 3.0]), np.array([2.0, 6.0]), 500, 1e-4
    np.testing.assert_allclose(pc.bernstein_threshold(var, b, n, delta),
                               _bern(var, b, n, np.log(2 / delta)), rtol=1e-12)
    L = np.log(4 / delta)
    np.testing.assert_allclose(pc.empirical_bernstein_threshold(var, w, n, delta),
                               np.sqrt(2 * var * L / n) + 7 * w * L / (3 * (n - 1)), rtol=1e-12)


def _least(ok):
    n = 2
    while not ok(n):
        n += 1 if n < 64 else n // 64
    lo = max(2, n - n // 64 - 1)
    while not ok(lo):
        lo += 1
    return lo


def test_bernstein_planning_is_the_least_n_of_the_closed_form():
    """min_num_samples_for_bernstein_mean_test: the least N with
    ε_{ln(2d/α)}(N) + ε_{ln(1/β)}(N) ≤ δ in every
    coordinate; plan_sample_size and check_unbiased(detectable_bias=δ) plan the same N
    from the exact variance and range."""
    delta = 0.3
    La, Lb = np.log(2 * D / ALPHA), np.log(1 / BETA)

    def f(n):
        return float(np.max(_bern(VAR, RADIUS, n, La) + _bern(VAR, RADIUS, n, Lb)))
    n_star = pc.min_num_samples_for_bernstein_mean_test(VAR, RADIUS, delta, alpha=ALPHA, beta=BETA)
    assert f(n_star) <= delta < f(n_star - 1)
    assert n_star == _least(lambda n: f(n) <= delta)
    mdp, pol, th = _problem()
    assert pc.plan_sample_size(two_valued, mdp, pol, th, detectable_bias=delta, alpha=ALPHA) == n_star
    res = pgmath.check_unbiased(two_valued, mdp, pol, th, method="bernstein",
                                detectable_bias=delta, alpha=ALPHA)
    assert res.n == n_star and res.detectable_bias <= delta * (1 + 1e-9)


def test_empirical_bernstein_planning_is_the_least_n_of_the_closed_form():
    """With only |g_j| ≤ B known: the least N with
    √(2 V_max L/N) + 7 (2B) L/(3(N−1)) + ε_Bernstein(B², 2B, N, ln(1/β)) ≤ δ,
    V_max = B² N/(N − 1), L = ln(4d/α)."""
    B, delta, d = 1.5, 0.2, 3
    L = np.log(4 * d / ALPHA)

    def f(n):
        v = B * B * n / (n - 1)
        return (np.sqrt(2 * v * L / n) + 7 * 2 * B * L / (3 * (n - 1))
                + float(_bern(B * B, 2 * B, n, np.log(1 / BETA))))
    n_star = pc.min_num_samples_for_empirical_bernstein_mean_test(
            B, delta, d=d, alpha=ALPHA, beta=BETA)
    assert f(n_star) <= delta < f(n_star - 1)


def test_dkwm_planning_is_tensorflow_probabilitys_formula():
    """N = ⌈w² (√ln(2d/α) + √ln(2/β))² / (2δ²)⌉ (TFP min_num_samples_for_dkwm_mean_test with
    the false-fail rate split over d coordinates), and the discrepancy detectable at N,
    w (√(ln(2d/α)/(2N)) + √(ln(2/β)/(2N))), is ≤ δ there and > δ at N − 1."""
    w, delta, d = 2.0, 0.05, 5
    n = pc.min_num_samples_for_dkwm_mean_test(w, delta, d=d, alpha=ALPHA, beta=BETA)
    s = np.sqrt(np.log(2 * d / ALPHA)) + np.sqrt(np.log(2 / BETA))
    assert n == int(np.ceil(w ** 2 * s ** 2 / (2 * delta ** 2)))

    def det(m):
        return w * s / np.sqrt(2 * m)
    assert det(n) <= delta < det(n - 1)
    for m in (n - 1, n, 7):  # the public companion is this closed form
        assert pc.min_discrepancy_of_true_means_detectable_by_dkwm(
            w, m, d=d, alpha=ALPHA, beta=BETA) == pytest.approx(det(m), rel=1e-14)


def test_bernstein_power_and_its_planning():
    """P(reject) ≥ 1 − min_j exp(−N Δ_j² / (2σ_j² + 2 s_j Δ_j / 3)) over the coordinates with
    Δ_j = |bias_j| − ε_j > 0, ε_j at ln(2d/α) with the range b_j; 0 when no coordinate has
    Δ_j > 0. min_num_samples_for_bernstein_power is the least N reaching the requested power."""
    bias = np.array([0.3, -0.05, 0.0])
    var, b, s = np.array([1.0, 0.5, 2.0]), np.array([2.0, 1.5, 3.0]), np.array([2.5, 1.0, 3.0])
    d = 3

    def power(n):
        gap = np.abs(bias) - _bern(var, b, n, np.log(2 * d / ALPHA))
        ok = gap > 0
        if not ok.any():
            return 0.0
        return 1 - float(np.min(np.exp(-n * gap[ok] ** 2 / (2 * var[ok] + 2 * s[ok] * gap[ok] / 3))))
    for n in (50, 400, 3000):
        assert pc.bernstein_power(bias, var, b, s, n, alpha=ALPHA) == pytest.approx(power(n), abs=1e-12)
    assert power(50) == 0.0
    n_star = pc.min_num_samples_for_bernstein_power(bias, var, b, s, alpha=ALPHA, power=0.999)
    assert power(n_star) >= 0.999 > power(n_star - 1)


# -- the ranges the thresholds are built on ----------------------------------------------------
def _bandit(T, pi0=0.3, gamma=0.9):
    """One state, two actions, rewards (1, −0.5): |r| is largest for action 0, and with
    π(0) < ½ so is |ψ_j| (|ψ_0(a=0)| = |ψ_1(a=0)| = 1 − π(0))."""
    mdp = pgmath.TabularMDP(np.ones((1, 2, 1)), np.array([[1.0, -0.5]]), np.ones(1), horizon=T,
                            discount=gamma)
    return mdp, pgmath.SoftmaxPolicy(1, 2), np.log([pi0, 1 - pi0])


def _all_zero_path(mdp, T):
    z = np.zeros((1, T), dtype=int)
    return pgmath.Trajectories(z, z, np.full((1, T), mdp.R[0, 0]), discount=mdp.discount)


def test_score_return_bound_is_attained():
    """B = T max|ψ| Σ_t γ^t max|r| (range of REINFORCE and reward-to-go) equals |g_j| of
    REINFORCE on the trajectory that always takes action 0:
    |(Σ_t ψ_j(0))(Σ_t γ^t r(0))| = T (1 − π(0)) Σ_t γ^t."""
    T = 4
    mdp, pol, th = _bandit(T)
    B = pc.score_return_bound(mdp, pol, th)
    g = pgmath.estimators.reinforce(_all_zero_path(mdp, T), pol, th)[0]
    assert B == pytest.approx(T * 0.7 * np.sum(0.9 ** np.arange(T)), rel=1e-12)
    np.testing.assert_allclose(np.abs(g), B, rtol=1e-12)


@pytest.mark.parametrize("name", ["reinforce", "reward_to_go"])
def test_recursion_range_is_attained(name):
    """The moment recursion's range B_j ≥ max_τ |g_j(τ)| (pgmath.check_routes, used when the
    problem is too large to enumerate) equals |g_j| on the all-action-0 path of the bandit:
    (Σ_t ψ_j)(Σ_t γ^t r) for REINFORCE and Σ_t ψ_j Σ_{t'≥t} γ^{t'} r for reward-to-go; so a
    range twice too small (or too large) fails. Checked at T = 6 and at T = 25, where the
    2^25 trajectories are beyond enumeration."""
    from pgmath.check.recursion_moments import recursion_moments
    est = getattr(pgmath.estimators, name)
    for T in (6, 25):
        mdp, pol, th = _bandit(T)
        B = recursion_moments(est, mdp, pol, th).bound
        g = est(_all_zero_path(mdp, T), pol, th)[0]
        disc = 0.9 ** np.arange(T)
        want = (T * disc.sum() if name == "reinforce" else np.cumsum(disc[::-1]).sum()) * 0.7
        np.testing.assert_allclose(np.abs(g), want, rtol=1e-12)
        np.testing.assert_allclose(B, want, rtol=1e-9)
