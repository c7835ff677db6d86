"""check_unbiased on linear-quadratic problems: a correct hand-written Gaussian estimator
passes, a flipped sign or a missing 1/σ² fails, each route is the one the estimator's
description allows, and every verdict is held against the exact E[g] computed another
way (the moment recursion or quadrature of the same code, in the tests)."""
import numpy as np
import pytest

from pgmath.errors import EstimatorError, InvalidArgumentError, PgmathError
from pgmath.lqr import GaussianLinearPolicy, LQRProblem, check_unbiased, estimator_moments
from pgmath.lqr import estimators as E

import user_estimators as U


@pytest.fixture(scope="module")
def small():
    """T = 2, n = 2, m = 1, rank-1 Σ₀, W = 0: D = 3 normals (27 and 64 nodes)."""
    prob = LQRProblem(A=[[1.0, 0.1], [0.0, 1.0]], B=[[0.0], [0.1]], Q=np.eye(2), R=[[0.1]],
                      N=[[0.02], [0.0]], Q_T=np.eye(2), mu0=[1.0, 0.0],
                      Sigma0=[[0.1, 0.0], [0.0, 0.0]], horizon=2, discount=0.95)
    pol = GaussianLinearPolicy(2, 1)
    th = pol.pack([[-1.0, -1.5]], [0.1], [np.log(0.5)])
    return prob, pol, th


def test_correct_hand_written_estimators_pass_exactly(small):
    prob, pol, th = small
    for est in (U.reinforce_by_hand, U.reward_to_go_by_hand, U.pathwise(prob)):
        res = check_unbiased(est, prob, pol, th)
        assert res.passed and res.method == "quadrature" and res.guaranteed, res.report
        assert res.max_abs_bias < 1e-12


@pytest.mark.parametrize("bug", [U.reinforce_wrong_sign, U.reinforce_without_precision])
def test_planted_bugs_fail_exactly_with_the_exact_bias(small, bug):
    prob, pol, th = small
    res = check_unbiased(bug, prob, pol, th)
    assert not res.passed and res.method == "quadrature", res.report
    # the bias is what the recursion says for the same estimator written with the
    # description's weights: E[g_bug] = E[(Σ ψ_bug)(return)] — compare against Monte-Carlo-free
    # quadrature with more nodes (degree ≤ 4: q = 4 is exact too)
    from pgmath.lqr.quadrature import quadrature_mean
    ref = quadrature_mean(bug, prob, pol, th, q=4).mean
    np.testing.assert_allclose(res.estimate, ref, rtol=0, atol=1e-12)
    assert res.max_abs_bias > 1e-3


def test_a_failure_says_what_the_bias_looks_like(small):
    """A loss minimised instead of maximised: E[g] = −∇J, named; γ^{t'−t} discounting:
    named as the surrogate it is unbiased for (both patterns computed by pgmath.lqr)."""
    prob, pol, th = small
    flipped = check_unbiased(lambda b, p, t: -U.reward_to_go_by_hand(b, p, t), prob, pol, th)
    assert flipped.verdict == "biased" and flipped.pattern.startswith("sign flipped")
    assert flipped.scale == pytest.approx(-1.0)

    def step_discount(batch, policy, theta):
        psi = U.gaussian_score(batch, theta)
        T = batch.horizon
        r = np.concatenate([batch.rewards, batch.terminal_rewards[:, None]], axis=1)
        G = np.stack([(r[:, t:] * batch.discount ** np.arange(T + 1 - t)).sum(1) for t in range(T)], 1)
        return np.einsum("ntd,nt->nd", psi, G)
    res = check_unbiased(step_discount, prob, pol, th)
    assert res.verdict == "biased" and "surrogate" in res.pattern, res.report


def test_built_in_estimators_take_the_exact_recursion(small):
    prob, pol, th = small
    for est in (E.reinforce, E.reward_to_go, E.value_baseline(prob, pol, th)):
        res = check_unbiased(est, prob, pol, th)
        assert res.passed and res.method == "recursion", res.report
    res = check_unbiased(E.reward_to_go_step_discount, prob, pol, th)
    assert not res.passed and res.method == "recursion"


def test_a_lying_description_is_refused(small):
    prob, pol, th = small

    def liar(batch, policy, theta):
        return 2.0 * E.reinforce(batch, policy, theta)
    liar.lqr_weights = E.reinforce.lqr_weights
    with pytest.raises(EstimatorError, match="does not describe it"):
        check_unbiased(liar, prob, pol, th)
    # without the description it is a black box, and biased
    del liar.lqr_weights
    assert not check_unbiased(liar, prob, pol, th).passed


def test_a_non_polynomial_estimator_leaves_the_exact_quadrature(small):
    prob, pol, th = small

    def clipped(batch, policy, theta):
        return np.clip(U.reinforce_by_hand(batch, policy, theta), -50, 50)
    with pytest.raises(PgmathError, match="not a polynomial"):
        check_unbiased(clipped, prob, pol, th, method="quadrature")


@pytest.fixture(scope="module")
def long():
    """T = 12: D = 1 + 12·3 = 37 normals, no quadrature: statistical routes."""
    prob = LQRProblem(A=[[1.0, 0.1], [0.0, 1.0]], B=[[0.0], [0.1]], Q=np.eye(2), R=[[0.1]],
                      W=0.01 * np.eye(2), mu0=[1.0, 0.0], Sigma0=[[0.1, 0.0], [0.0, 0.0]],
                      horizon=12)
    pol = GaussianLinearPolicy(2, 1)
    th = pol.pack([[-1.0, -1.5]], [0.0], [np.log(0.5)])
    return prob, pol, th


def test_median_of_means_with_the_exact_variance():
    """The user says their estimator is reward-to-go: the built-in's exact variance is a
    valid bound under that hypothesis. At a resolution of half ‖∇J‖∞ the planned N decides:
    the correct one is unbiased, the sign bug biased. (Forced: quadrature would decide this
    one-step problem exactly.)"""
    prob = LQRProblem(A=[[1.0]], B=[[1.0]], Q=[[1.0]], R=[[1.0]], mu0=[1.0], horizon=1)
    pol = GaussianLinearPolicy(1, 1)
    th = pol.pack([[1.0]], [0.0], [np.log(0.3)])
    V = estimator_moments(E.reward_to_go, prob, pol, th).variance
    kw = dict(method="median-of-means", variance_bound=V, relative_resolution=0.5)
    ok = check_unbiased(U.reward_to_go_by_hand, prob, pol, th, **kw)
    assert ok.verdict == "unbiased" and ok.guaranteed and ok.detectable_bias <= ok.resolution, ok.report
    bad = check_unbiased(U.reinforce_wrong_sign, prob, pol, th, **kw)
    assert bad.verdict == "biased", bad.report


def test_median_of_means_says_when_it_cannot_decide(long):
    """REINFORCE over 12 steps: 60,000 draws cannot see 10% of ‖∇J‖∞ with only a variance
    bound; the check is inconclusive and names the N that would decide."""
    prob, pol, th = long
    V = estimator_moments(E.reinforce, prob, pol, th).variance
    res = check_unbiased(U.reinforce_by_hand, prob, pol, th, variance_bound=V, n=60_000)
    assert res.verdict == "inconclusive" and not res.passed and res.method == "median-of-means"
    res = check_unbiased(U.reinforce_by_hand, prob, pol, th, variance_bound=V, max_n=50_000)
    assert res.verdict == "inconclusive" and res.n_needed > 50_000 and f"{res.n_needed:,}" in res.report


def test_nothing_known_is_labelled_asymptotic(long):
    prob, pol, th = long
    res = check_unbiased(U.reinforce_by_hand, prob, pol, th, n=20_000)
    assert res.method == "asymptotic" and not res.guaranteed
    assert "ASYMPTOTIC" in res.report and "Bahadur" in res.report


def test_bad_arguments(small):
    prob, pol, th = small
    with pytest.raises(InvalidArgumentError, match="method"):
        check_unbiased(U.reinforce_by_hand, prob, pol, th, method="magic")
    with pytest.raises(InvalidArgumentError, match="infinite horizon"):
        check_unbiased(U.reinforce_by_hand, prob.replace(horizon=None, discount=0.9, Q_T=None),
                       pol, th)
    with pytest.raises(EstimatorError, match="returned shape"):
        check_unbiased(lambda b, p, t: np.zeros((b.n, 2)), prob, pol, th)


def test_float32_code_is_judged_in_float32(small):
    """A correct REINFORCE computed in float32 passes (auto-detected precision, stated in the
    report); the float32 sign bug still fails; forcing float64 on the float32 code fails
    the polynomial probe, so it is not given an exact verdict it cannot have."""
    prob, pol, th = small

    def f32(est):
        def run(batch, policy, theta):
            b32 = type(batch)(*(np.asarray(getattr(batch, f), dtype=np.float32) if f != "discount"
                                else batch.discount for f in
                                ("states", "actions", "rewards", "terminal_rewards", "noise",
                                 "discount")))
            return est(b32, policy, np.asarray(theta, dtype=np.float32)).astype(np.float32)
        run.__name__ = est.__name__ + "_float32"
        return run

    ok = check_unbiased(f32(U.reinforce_by_hand), prob, pol, th)
    assert ok.passed and ok.method == "quadrature" and "float32" in ok.report, ok.report
    bad = check_unbiased(f32(U.reinforce_wrong_sign), prob, pol, th)
    assert not bad.passed
    with pytest.raises(PgmathError, match="not a polynomial"):
        check_unbiased(f32(U.reinforce_by_hand), prob, pol, th, precision="float64",
                       method="quadrature")
    with pytest.raises(InvalidArgumentError, match="precision"):
        check_unbiased(U.reinforce_by_hand, prob, pol, th, precision="float8")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pgmath import strategies as pst  # noqa: E402


@settings(max_examples=15)
@given(pst.lqr_problems(max_states=2, max_actions=2, horizon=(1, 2), max_noise_rank=1,
                        discount=st.sampled_from([1.0, 0.9])))
def test_correct_estimators_pass_on_random_problems(case):
    """Hand-written REINFORCE and reward-to-go are unbiased on every generated problem; the
    check decides it exactly, and its E[g] is the recursion's mean of the built-in twin."""
    problem, policy, theta = case
    if (3 + 1) ** problem.noise_dimension() > 200_000:
        return
    from pgmath.lqr.moments import rounding_depth, weights_moments
    from pgmath.lqr.check import _gamma
    for mine, twin in ((U.reinforce_by_hand, E.reinforce), (U.reward_to_go_by_hand, E.reward_to_go)):
        res = check_unbiased(mine, problem, policy, theta)
        assert res.passed and res.method == "quadrature", res.report
        exact = estimator_moments(twin, problem, policy, theta).mean
        spec = twin.lqr_weights(problem.horizon, problem.discount)
        slack = _gamma(rounding_depth(problem)) * weights_moments(spec, problem, policy, theta,
                                                                   absolute=True).mean
        assert np.all(np.abs(res.estimate - exact) <= res.threshold + slack + 1e-300)


@pytest.mark.parametrize("tiny", [2.2250738585e-313, 1e-315, 1e-320])
def test_subnormal_inputs_keep_the_exact_route(tiny):
    """A subnormal μ₀ (absolute, not relative, rounding) once sent a correct estimator off
    the exact route (found by the random Hypothesis profile); the underflow allowance
    keeps it there."""
    prob = LQRProblem(A=np.zeros((2, 2)), B=np.zeros((2, 1)), Q=np.zeros((2, 2)), R=[[0.05]],
                      mu0=[0.0, tiny], horizon=1)
    pol = GaussianLinearPolicy(2, 1)
    for th in (pol.pack([[0.0, 0.0]], [1.0], [0.0]), pol.pack([[0.3, 0.7]], [0.5], [0.2])):
        res = check_unbiased(U.reinforce_by_hand, prob, pol, th)
        assert res.passed and res.method == "quadrature", res.report


def test_an_unmarked_batch_coupled_estimator_is_refused(small):
    """A batch-mean baseline couples the rows: no per-trajectory verdict is given."""
    prob, pol, th = small

    def batch_mean_baseline(batch, policy, theta):
        ret = batch.returns()
        psi = U.gaussian_score(batch, theta).sum(axis=1)
        return psi * (ret - ret.mean())[:, None]
    with pytest.raises(EstimatorError, match="couples the trajectories"):
        check_unbiased(batch_mean_baseline, prob, pol, th)


def test_detectable_bias_is_planned(long):
    """With a variance bound, N is planned so that the detectable bias is the requested one
    (chosen here to need about 40,000 draws); without any bound nothing can be planned."""
    from pgmath.lqr.check import median_of_means_blocks, median_of_means_sample_size
    prob, pol, th = long
    V = estimator_moments(E.reinforce, prob, pol, th).variance
    d = pol.n_params
    delta = float(np.sqrt(16 * V.max() * median_of_means_blocks(d, 1e-6) / 40_000))
    assert median_of_means_sample_size(V, delta, d) <= 41_000
    res = check_unbiased(U.reinforce_by_hand, prob, pol, th, variance_bound=V,
                         detectable_bias=delta)
    assert res.verdict == "unbiased" and res.detectable_bias <= delta * (1 + 1e-6) and res.n <= 41_000
    res = check_unbiased(U.reinforce_by_hand, prob, pol, th, detectable_bias=0.1, n=2_000)
    assert res.verdict == "inconclusive" and res.method == "asymptotic"
    with pytest.raises(InvalidArgumentError, match="degree"):
        check_unbiased(U.reinforce_by_hand, prob, pol, th, degree=0)


def test_built_in_pathwise_equals_the_hand_written_one_and_is_unbiased(small):
    from pgmath.lqr import sample
    prob, pol, th = small
    batch = sample(prob, pol, th, 32, np.random.default_rng(5))
    np.testing.assert_allclose(E.pathwise(prob)(batch, pol, th), U.pathwise(prob)(batch, pol, th),
                               rtol=1e-12, atol=1e-12)
    res = check_unbiased(E.pathwise(prob), prob, pol, th)
    assert res.passed and res.method == "quadrature"
    tv = GaussianLinearPolicy(2, 1, time_varying=True, horizon=2)
    th2 = tv.pack(np.array([[[-1.0, -1.5]], [[-0.5, -1.0]]]), [[0.1], [0.0]], [[-0.7], [-0.2]])
    assert check_unbiased(E.pathwise(prob), prob, tv, th2).passed


def test_cancellation_in_the_users_score_is_inside_the_rounding_bound():
    """u − μ(x) with both ≈ 2.5e8 and ε ≈ 1 (found by Hypothesis): a hand-written score loses
    8 digits; the row's rounding scale uses the size of the parts, so a correct estimator is
    not called biased; the tolerance exceeds the gradient, so the verdict is inconclusive."""
    prob = LQRProblem(A=[[0.0, 0.0], [5e8, 0.5]], B=np.zeros((2, 2)), Q=np.zeros((2, 2)),
                      R=0.05 * np.eye(2), mu0=[1.0, 0.0], horizon=2)
    pol = GaussianLinearPolicy(2, 2)
    th = np.zeros(8)
    th[3] = 0.5
    res = check_unbiased(U.reinforce_by_hand, prob, pol, th)
    assert res.verdict == "inconclusive" and res.method == "quadrature", res.report
    assert "cannot resolve" in res.report


def test_covariances_below_rounding_are_the_ones_the_sampler_realises():
    """Σ₀ with an off-diagonal 1.8e-280 next to a unit variance (found by Hypothesis): the
    factor the sampler draws with cannot carry it; the problem stores L Lᵀ, so the target
    and the quadrature see the same covariance and a correct estimator passes."""
    prob = LQRProblem(A=np.zeros((2, 2)), B=np.zeros((2, 2)), Q=np.zeros((2, 2)), R=0.05 * np.eye(2),
                      Sigma0=[[1.0, 1.82242134e-280], [1.82242134e-280, 0.0]], horizon=1)
    np.testing.assert_array_equal(prob.Sigma0, prob.L0 @ prob.L0.T)
    pol = GaussianLinearPolicy(2, 2)
    th = np.zeros(8)
    th[0] = 0.5
    res = check_unbiased(U.reinforce_by_hand, prob, pol, th)
    assert res.passed and res.method == "quadrature", res.report



def test_pgmath_check_unbiased_dispatches_linear_quadratic_problems(small):
    """The router's seam: pgmath.check_unbiased and pgmath.testing take an LQRProblem."""
    import pgmath
    prob, pol, th = small
    res = pgmath.check_unbiased(U.reinforce_by_hand, prob, pol, th)
    assert res.verdict == "unbiased" and res.method == "quadrature"
    pgmath.testing.assert_unbiased(U.reward_to_go_by_hand, prob, pol, th)
    pgmath.testing.assert_biased(U.reinforce_without_precision, prob, pol, th)
    with pytest.raises(AssertionError, match="biased"):
        pgmath.testing.assert_unbiased(U.reinforce_wrong_sign, prob, pol, th)
    with pytest.raises(InvalidArgumentError, match="on-policy"):
        pgmath.check_unbiased(U.reinforce_by_hand, prob, pol, th, theta_behaviour=th + 0.1)
