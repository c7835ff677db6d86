"""pgmath.check_routes and the recursion routes of check_unbiased / compare_variance.

Independent routes: enumeration of every trajectory (small problems) for the recursion's
moments, ranges and rounding bounds; the exact state marginals and Q-values (forward and
backward solvers, not the moment recursion) for the planted bias of a critic;
:func:`pgmath.exact.discount_bias` (closed form over marginals and Q) for the bias of
γ^{t'−t} discounting. The Bernstein test on the recursion route is non-asymptotic because
its inputs dominate the true ones (variance ≥ Var g, range ≥ max|g − μ|), which is
asserted against enumeration below, not by repeated sampling. Statistical assertions use
α = 1e-6 (false failure) and an N whose Bernstein power bound is ≥ 1 − 1e-6 (false pass),
seeds fixed.
"""
import numpy as np
import pytest

import pgmath
from pgmath.environments import random_mdp
from pgmath import check as pc
from pgmath.check.recursion_moments import recursion_moments
from pgmath import estimators as E
from pgmath.commands.check import run_battery
from pgmath.errors import EstimatorError, PgmathError, TooManyTrajectoriesError

ALPHA = 1e-6


def problem(seed=0, S=2, A=2, T=3, discount=0.9):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, S, A, T, discount=discount)
    pol = pgmath.SoftmaxPolicy(S, A)
    return mdp, pol, rng.normal(size=S * A)


def _onpolicy(mdp, pol, th):
    return [E.reinforce, E.reward_to_go, E.reward_to_go_step_discount,
            E.state_baseline(mdp, pol, th), E.q_critic(mdp, pol, th),
            E.gae(mdp, 0.7, pol, th), E.constant_baseline(0.3)]


OFFPOLICY = [E.trajectory_is, E.per_decision_is, E.per_decision_is_notes, E.truncated_is,
             E.action_ratio_is]


def _sparse_cases():
    """Sparse dynamics (the range's path maxima matter) and rewards r(s, a, s')."""
    out = []
    for name in ("tightrope", "chain"):
        mdp = pgmath.environments.make(name).with_horizon(4)
        pol = pgmath.environments.default_policy(mdp)
        th = np.random.default_rng(3).normal(size=pol.n_params)
        out += [(est, mdp, pol, th, None) for est in (E.reward_to_go, E.gae(mdp, 0.5, pol, th))]
    rng = np.random.default_rng(4)
    mdp = pgmath.TabularMDP(rng.dirichlet(np.full(3, 0.3), size=(3, 2)), rng.normal(size=(3, 2, 3)),
                            np.array([1.0, 0.0, 0.0]), horizon=3, discount=0.8)
    pol, th = pgmath.SoftmaxPolicy(3, 2), rng.normal(size=6)
    return out + [(est, mdp, pol, th, None) for est in (E.reinforce, E.state_baseline(mdp, pol, th))]


def _cases():
    mdp, pol, th = problem(1)
    tb = th + np.random.default_rng(2).normal(size=th.size)
    return ([(est, mdp, pol, th, None) for est in _onpolicy(mdp, pol, th)]
            + [(est, mdp, pol, th, tb) for est in OFFPOLICY] + _sparse_cases())


@pytest.mark.parametrize("k", range(18))
def test_recursion_moments_dominate_enumeration(k):
    """Every input of the Bernstein test on the recursion route dominates the truth
    (enumeration): |mean error| ≤ slack, |Var error| ≤ var_slack, B ≥ max|g|,
    spread ≥ max|g − E g|, radius ≥ max|g − ∇J|; and the slack is tight (< 1e-10)."""
    est, mdp, pol, th, tb = _cases()[k]
    rm = recursion_moments(est, mdp, pol, th, theta_behaviour=tb)
    em = pc.exact_moments(est, mdp, pol, th, theta_behaviour=tb)
    batch, _ = pgmath.enumerate_trajectories(mdp, pol, th if tb is None else tb)
    g = pgmath.estimators.call_estimator(est, batch, pol, th)
    assert np.all(np.abs(rm.mean - em.mean) <= rm.slack), (rm.mean - em.mean, rm.slack)
    assert np.all(np.abs(np.diag(rm.cov) - np.diag(em.cov)) <= rm.var_slack)
    assert np.all(rm.bound >= np.abs(g).max(axis=0))
    assert np.all(rm.spread >= em.spread) and np.all(rm.radius >= em.radius)
    assert rm.slack.max() < 1e-10 and rm.var_slack.max() < 1e-8


def critic_with_planted_bias(mdp, pol, th, eps):
    """q_critic with Q_t(0, 0) raised by eps at every t: bias = eps Σ_t γ^t d_t(0) π(0|0) ψ(0, 0)."""
    Q = np.array(pgmath.exact.q_values(mdp, pol, th))
    Q[:, 0, 0] += eps
    return E.q_critic(Q)


def test_planted_bias_1e_6_caught_exactly_at_T30():
    """T = 30, 6^30 ≈ 2e23 trajectories: no enumeration. A critic whose Q is off by 1e-6
    in one (s, a) is caught exactly; its bias matches the closed form from the exact
    marginals (independent of the recursion); the exact critic passes."""
    mdp, pol, th = problem(3, S=3, A=2, T=30)
    assert pgmath.count_trajectories(mdp, pol, th) > 10 ** 20
    eps = 1e-6
    d = pgmath.exact.state_marginals(mdp, pol, th)  # [T, S]
    pi = np.asarray(pol.probs(th))
    w = float(np.sum(mdp.discount ** np.arange(30) * d[:, 0]))
    expected = eps * w * pi[0, 0] * pol.score(th)[0, 0]
    bad = pgmath.check_unbiased(critic_with_planted_bias(mdp, pol, th, eps), mdp, pol, th)
    assert bad.method == "recursion" and not bad.passed, bad.report
    np.testing.assert_allclose(bad.bias, expected, rtol=1e-6, atol=1e-13)
    assert bad.detectable_bias < 1e-3 * eps, bad.report
    ok = pgmath.check_unbiased(E.q_critic(mdp, pol, th), mdp, pol, th)
    assert ok.passed and ok.method == "recursion" and ok.n == 0, ok.report
    with pytest.raises(TooManyTrajectoriesError, match="recursion"):
        pgmath.check_unbiased(E.q_critic(mdp, pol, th), mdp, pol, th, method="enumeration")


def test_offpolicy_exact_recursion_at_T30():
    """PG-12 at T = 30 by the off-policy recursion: the per-decision form is unbiased, the
    notes' form (ρ_t counted twice) is not; a black box gets no recursion."""
    mdp, pol, th = problem(4, S=2, A=2, T=30)
    tb = th + 0.3 * np.random.default_rng(5).normal(size=th.size)
    ok = pgmath.check_unbiased(E.per_decision_is, mdp, pol, th, theta_behaviour=tb)
    assert ok.passed and ok.method == "recursion" and "off-policy" in ok.report, ok.report
    bad = pgmath.check_unbiased(E.per_decision_is_notes, mdp, pol, th, theta_behaviour=tb)
    assert not bad.passed and bad.max_abs_bias > 1e6 * bad.detectable_bias, bad.report

    def black_box(batch, policy, theta):
        return E.per_decision_is(batch, policy, theta)

    with pytest.raises(PgmathError, match="recursion"):
        pgmath.check_unbiased(black_box, mdp, pol, th, theta_behaviour=tb,
                              method="recursion")


def test_bernstein_with_recursion_variance_catches_discounting_bug():
    """γ^{t'−t} discounting judged against ∇J_γ at T = 12 ((4)^12·4 > MAX_ENUMERATION):
    Bernstein with the recursion's variance and range, at the N where its power bound is
    ≥ 1 − 1e-6 for the closed-form bias (discount_bias), rejects; reward-to-go passes at
    the same N (false failure ≤ α = 1e-6 by Bernstein, whose inputs dominate the truth)."""
    mdp, pol, th = problem(6, S=2, A=2, T=12, discount=0.5)
    assert pgmath.count_trajectories(mdp, pol, th) * pol.n_params > pc.MAX_ENUMERATION
    bias = pgmath.exact.discount_bias(mdp, pol, th)
    rm = recursion_moments(E.reward_to_go_step_discount, mdp, pol, th)
    np.testing.assert_allclose(rm.mean - pgmath.exact.gradient(mdp, pol, th), bias, atol=1e-12)
    n = pc.min_num_samples_for_bernstein_power(bias, rm.variance, rm.radius, rm.spread, alpha=ALPHA,
                             power=1 - 1e-6)
    assert n < 50_000, n
    bad = pgmath.check_unbiased(E.reward_to_go_step_discount, mdp, pol, th, n=n,
                                rng=np.random.default_rng(7))
    assert bad.method == "bernstein" and bad.guaranteed and not bad.passed, bad.report
    assert "recursion" in bad.report
    ok = pgmath.check_unbiased(E.reward_to_go, mdp, pol, th, n=n, rng=np.random.default_rng(8))
    assert ok.method == "bernstein" and ok.verdict != "biased", ok.report


def test_plan_sample_size_uses_the_recursion():
    """Planning at T = 12 (not enumerable) needs no bound: the planned N reaches the
    requested detectable bias with the recursion's variance and N − 1 does not."""
    mdp, pol, th = problem(6, S=2, A=2, T=12, discount=0.5)
    n = pgmath.plan_sample_size(E.reward_to_go, mdp, pol, th, detectable_bias=0.2)
    rm = recursion_moments(E.reward_to_go, mdp, pol, th)
    b = np.maximum(rm.radius, rm.spread)
    det = lambda k: pc.min_discrepancy_of_true_means_detectable_by_bernstein(
            rm.variance, b, k, alpha=ALPHA)  # noqa: E731
    assert det(n).max() <= 0.2 < det(n - 1).max()


def test_compare_variance_at_large_horizon():
    """PG-7 at T = 30 (recursion); a black box at that size is refused by name; on a small
    problem a black box (enumeration) and its built-in twin (recursion) agree."""
    mdp, pol, th = problem(9, S=3, A=2, T=30)
    cmp = pgmath.compare_variance(E.reward_to_go, E.reinforce, mdp, pol, th)
    assert cmp.method == "recursion/recursion" and cmp.smaller == "a", cmp.report

    def black_box(batch, policy, theta):
        return E.reward_to_go(batch, policy, theta)

    with pytest.raises(TooManyTrajectoriesError, match="black_box"):
        pgmath.compare_variance(black_box, E.reinforce, mdp, pol, th)
    small = problem(10)
    same = pgmath.compare_variance(black_box, E.reward_to_go, *small)
    assert same.method == "enumeration/recursion" and same.smaller == "equal", same.report
    np.testing.assert_allclose(same.cov_a, same.cov_b, atol=1e-12)


def test_step_weights_that_lie_are_refused():
    """The recursion decides the description; a function whose step_weights does not match
    its code gets a clear error instead of a verdict about the description."""
    def liar(batch, policy, theta):
        return E.reinforce(batch, policy, theta)

    liar.step_weights = E.reward_to_go.step_weights
    mdp, pol, th = problem(11, T=12)
    with pytest.raises(EstimatorError, match="step_weights does not describe"):
        pgmath.check_unbiased(liar, mdp, pol, th)


def test_battery_plans_n_for_black_boxes():
    """run_battery on the chain at T = 20: a black box is sampled with N planned from a
    pilot (labelled asymptotic) for 10% of ‖∇J‖∞; with a bound it gets the
    empirical-Bernstein N planned from B alone (capped: then inconclusive, naming the N
    that would decide); the built-in is decided exactly by the recursion."""
    mdp = pgmath.environments.make("chain")
    pol = pgmath.environments.default_policy(mdp)
    th = np.random.default_rng(12).normal(size=pol.n_params)
    probs = [("chain (T=20)", mdp, pol, th)]

    def black_box(batch, policy, theta):
        return E.reward_to_go(batch, policy, theta)

    (_, res), = run_battery(black_box, probs, progress=False, max_n=20_000)
    assert res.method == "asymptotic" and not res.guaranteed and res.n == 20_000
    assert res.resolution == pytest.approx(0.1 * np.abs(res.target).max())
    # the pilot's plan is above the cap: no bias seen, but not small enough to decide
    assert res.verdict == "inconclusive" and res.n_needed > 20_000, res.report
    assert res.detectable_bias > res.resolution
    B = pc.score_return_bound(mdp, pol, th)
    want = pc.min_num_samples_for_empirical_bernstein_mean_test(
        B, 0.1 * np.abs(res.target).max(), d=pol.n_params, alpha=ALPHA)
    assert want > 3000
    (_, res), = run_battery(black_box, probs, progress=False, max_n=3000, bound=B)
    assert res.method == "empirical-bernstein" and res.guaranteed and res.n == 3000
    assert res.verdict == "inconclusive" and res.n_needed == want, res.report
    (_, res), = run_battery(E.reward_to_go, probs, progress=False)
    assert res.method == "recursion" and res.passed, res.report


def test_a_float32_implementation_of_a_described_estimator_is_not_a_liar():
    """The description check allows the code's own precision (2¹⁰ u of its dtype): a
    float32 reward-to-go carrying reward_to_go's step_weights is decided by the recursion;
    a description off by 1e-3 is still refused."""
    mdp, pol, th = problem(13, T=12)

    def rtg32(batch, policy, theta):
        return E.reward_to_go(batch, policy, theta).astype(np.float32)

    rtg32.step_weights = E.reward_to_go.step_weights
    res = pgmath.check_unbiased(rtg32, mdp, pol, th)
    assert res.passed and res.method == "recursion", res.report

    def off(batch, policy, theta):
        return (1.001 * E.reward_to_go(batch, policy, theta)).astype(np.float32)

    off.step_weights = E.reward_to_go.step_weights
    with pytest.raises(EstimatorError, match="step_weights does not describe"):
        pgmath.check_unbiased(off, mdp, pol, th)
