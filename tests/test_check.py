"""pgmath.check: exact decisions, non-asymptotic tests, planted bugs caught, errors named.

Expected values come from independent routes: the target ∇J(θ) from the exact engine
(policy-gradient theorem, itself held against autograd and finite differences by the
engine's tests); the biases of the planted bugs from enumeration; Bernstein/DKWM
formulas from their closed forms re-derived here. Every statistical assertion uses
α = 1e-6 (false failure) and, where it asserts a catch, an N whose Bernstein power
bound is ≥ 1 − 1e-6 (false pass ≤ 1e-6), with a fixed seed.
"""
import numpy as np
import pytest
from hypothesis import given, settings

import pgmath
from pgmath.environments import random_problem
from pgmath import check as pc
from pgmath import strategies as pst
from pgmath.errors import EstimatorError, PgmathError
from pgmath.estimators import batch_coupled, reinforce, reward_to_go, step_scores
from pgmath.trajectories import trajectory_log_probs
from pgmath.estimators import batch_average_baseline, causality_term, leave_one_out_baseline

ALPHA = 1e-6


# -- problems -------------------------------------------------------------------------------
def problem(seed=0, S=2, A=2, T=3, discount=1.0, reward_scale=1.0):
    """A dense random MDP (every trajectory possible) and θ."""
    return random_problem(np.random.default_rng(seed), S, A, T, discount=discount,
                          reward_scale=reward_scale)


# -- estimators: correct ones and planted bugs ------------------------------------------------
def _discounts(batch):
    return batch.discount ** np.arange(batch.horizon)


def _to_go(x):
    """Σ_{t'≥t} x_{t'} along axis 1 of ``[N, T]``."""
    return np.cumsum(x[:, ::-1], axis=1)[:, ::-1]


def score_missing_mean(batch, policy, theta):
    """BUG: ψ_t = Φ[x_t, a_t] without its −Σ_b π(b|x_t) Φ[x_t, b] term (reward-to-go form)."""
    phi = policy.features()[batch.inputs, batch.actions]
    return np.einsum("ntd,nt->nd", phi, _to_go(batch.rewards * _discounts(batch)))


def rtg_drops_current_reward(batch, policy, theta):
    """BUG: reward-to-go Σ_{t'>t} instead of Σ_{t'≥t}: r_t is dropped."""
    w = batch.rewards * _discounts(batch)
    return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), _to_go(w) - w)


def action_dependent_baseline(batch, policy, theta):
    """BUG: reward-to-go minus a baseline b(s_t, a_t) = a_t + 0.5 that depends on the action."""
    b = (batch.actions + 0.5) * _discounts(batch)
    w = batch.rewards * _discounts(batch)
    return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), _to_go(w) - b)


def state_baseline(batch, policy, theta):
    """Correct: reward-to-go minus b(s_t) = s_t + 0.5 (a state-only baseline, §4.3.2)."""
    b = (batch.states + 0.5) * _discounts(batch)
    w = batch.rewards * _discounts(batch)
    return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), _to_go(w) - b)


@batch_coupled
def standardised_advantages(batch, policy, theta):
    """BUG: REINFORCE with A_i = (r(τ_i) − mean) / std over the batch (population std)."""
    R = batch.returns()
    z = (R - R.mean()) / (R.std() + 1e-12)
    return step_scores(batch, policy, theta).sum(axis=1) * z[:, None]


def discount_from_t(batch, policy, theta):
    """BUG: reward-to-go Σ_{t'≥t} γ^{t'−t} r_{t'}, judged against ∇J_γ (needs γ^{t'})."""
    T = batch.horizon
    g = batch.discount ** np.maximum(np.arange(T)[None, :] - np.arange(T)[:, None], 0)
    rtg = batch.rewards @ np.triu(g).T
    return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), rtg)


def _log_ratio(batch, policy, theta):
    return (trajectory_log_probs(batch, policy, theta) - batch.behaviour_log_probs).sum(axis=1)


def trajectory_is(batch, policy, theta):
    """Correct off-policy: w(τ) = Π_t π_θ(a_t|s_t)/μ(a_t|s_t) times reward-to-go (§4.4)."""
    return np.exp(_log_ratio(batch, policy, theta))[:, None] * reward_to_go(batch, policy, theta)


def trajectory_is_inverted(batch, policy, theta):
    """BUG: the importance ratio inverted, μ/π_θ."""
    return np.exp(-_log_ratio(batch, policy, theta))[:, None] * reward_to_go(batch, policy, theta)


#: Each planted bug with the problem it is judged on and its check_unbiased keywords.
PLANTED = {
    "score without −π(·|s) term": (score_missing_mean, dict(seed=1), {}),
    "reward-to-go drops r_t": (rtg_drops_current_reward, dict(seed=2), {}),
    "baseline depends on the action": (action_dependent_baseline, dict(seed=3), {}),
    "advantages / batch std": (standardised_advantages,
                               dict(seed=4, T=1, reward_scale=3.0), dict(batch_size=3)),
    "γ^(t'−t) against ∇J_γ": (discount_from_t, dict(seed=5, discount=0.5), {}),
    "importance ratio inverted": (trajectory_is_inverted, dict(seed=6), dict(behaviour=True)),
}


def planted_case(name):
    """(estimator, mdp, policy, theta, check_unbiased keywords) of a planted bug."""
    est, pkw, ckw = PLANTED[name]
    mdp, pol, th = problem(**pkw)
    ckw = dict(ckw)
    if ckw.pop("behaviour", False):
        ckw["theta_behaviour"] = th + np.random.default_rng(99).normal(size=th.size)
    return est, mdp, pol, th, ckw


# -- the exact path -----------------------------------------------------------------------
@pytest.mark.parametrize("est", [reinforce, reward_to_go, state_baseline])
def test_correct_estimators_pass_exactly(est):
    """Unbiased estimators (notes §4.1, §4.3): E g = ∇J to rounding, decided by enumeration."""
    mdp, pol, th = problem(7)
    res = pgmath.check_unbiased(est, mdp, pol, th)
    assert res.passed and res.method == "enumeration", res.report
    assert res.max_abs_bias <= res.detectable_bias < 1e-12


@pytest.mark.parametrize("name", list(PLANTED))
def test_planted_bugs_are_caught_exactly(name):
    """Each planted bug's exact bias exceeds the rounding tolerance by orders of magnitude."""
    est, mdp, pol, th, kw = planted_case(name)
    res = pgmath.testing.assert_biased(est, mdp, pol, th, **kw)
    assert res.method == "enumeration"
    assert res.max_abs_bias > 1e6 * res.detectable_bias, res.report


def test_exact_bias_matches_an_independent_sum():
    """The reported bias of 'drops r_t' equals −E[Σ_t ψ_t γ^t r_t], computed here by an
    explicit loop over the enumerated trajectories."""
    mdp, pol, th = problem(2)
    res = pgmath.check_unbiased(rtg_drops_current_reward, mdp, pol, th)
    batch, prob = pgmath.enumerate_trajectories(mdp, pol, th)
    psi = pol.score(th)
    ref = np.zeros(pol.n_params)
    for i in range(batch.n):
        for t in range(batch.horizon):
            ref -= prob[i] * psi[batch.states[i, t], batch.actions[i, t]] * batch.rewards[i, t]
    np.testing.assert_allclose(res.bias, ref, atol=1e-13)


def test_rounding_slack_is_tight_not_loose():
    """A bias of 1e-9 in one coordinate (far below any statistical resolution) is still
    caught exactly: the tolerance is floating-point error only."""
    mdp, pol, th = problem(7)

    def nudged(batch, policy, theta):
        g = reward_to_go(batch, policy, theta)
        g[:, 0] += 1e-9
        return g

    res = pgmath.check_unbiased(nudged, mdp, pol, th)
    assert not res.passed and res.method == "enumeration", res.report


def test_off_policy_is_passes_with_behaviour_sampling():
    """Trajectory IS (§4.4) is unbiased for ∇J(θ) under the behaviour distribution."""
    est, mdp, pol, th, kw = planted_case("importance ratio inverted")
    res = pgmath.testing.assert_unbiased(trajectory_is, mdp, pol, th, **kw)
    assert res.method == "enumeration"
    # and an on-policy estimator fed behaviour samples is biased
    pgmath.testing.assert_biased(reward_to_go, mdp, pol, th, **kw)


def test_batch_coupled_exact_over_all_batches():
    """The leave-one-out baseline is unbiased for every batch size; checked over all M^b
    ordered batches (enumeration)."""
    mdp, pol, th = problem(4, T=1, reward_scale=3.0)
    res = pgmath.testing.assert_unbiased(leave_one_out_baseline, mdp, pol, th, batch_size=3)
    # symmetric in the batch: the C(4 + 2, 3) = 20 multisets instead of 4^3 ordered batches
    assert res.method == "enumeration" and res.n == 20 and "multisets" in res.report


# -- the statistical path: calibrated size, guaranteed power --------------------------------
def _power_n(res_exact_mom, bias, alpha, power):
    m = res_exact_mom
    return pc.min_num_samples_for_bernstein_power(
            bias, np.diag(m.cov), m.radius, m.spread, alpha=alpha, power=power)


@pytest.mark.parametrize("name", list(PLANTED))
def test_planted_bugs_are_caught_by_bernstein(name):
    """At the N where the Bernstein power bound is ≥ 1 − 1e-6 (exact bias and variance by
    enumeration), the sampled test at α = 1e-6 rejects (seed fixed; false pass ≤ 1e-6)."""
    est, mdp, pol, th, kw = planted_case(name)
    mom = pc.exact_moments(est, mdp, pol, th, theta_behaviour=kw.get("theta_behaviour"),
                           batch_size=kw.get("batch_size", 1))
    bias = mom.mean - pgmath.exact.gradient(mdp, pol, th)
    n = _power_n(mom, bias, ALPHA, 1 - 1e-6)
    assert n < 20_000, n  # keeps the suite fast; the bench prints the N for power 0.999
    res = pgmath.check_unbiased(est, mdp, pol, th, method="bernstein", n=n, alpha=ALPHA,
                                rng=np.random.default_rng(11), **kw)
    assert not res.passed, res.report
    assert res.n == n and res.guaranteed


@pytest.mark.parametrize("est", [reinforce, reward_to_go, state_baseline])
def test_correct_estimators_pass_bernstein(est):
    """A correct estimator fails Bernstein at α = 1e-6 with probability ≤ 1e-6 (seed 12).
    At N = 5000 the test cannot see 10% of ‖∇J‖∞, so the verdict is inconclusive with the
    N that would decide it; at that N it passes."""
    mdp, pol, th = problem(8, T=3)
    res = pgmath.check_unbiased(est, mdp, pol, th, method="bernstein", n=5000,
                                rng=np.random.default_rng(12))
    assert res.verdict == "inconclusive" and not res.passed, res.report
    assert res.detectable_bias > res.resolution and res.n_needed > 5000
    assert f"{res.n_needed:,}" in res.report
    ok = pgmath.testing.assert_unbiased(est, mdp, pol, th, method="bernstein", n=res.n_needed,
                                        rng=np.random.default_rng(12))
    assert ok.detectable_bias <= ok.resolution


def test_standardised_advantages_caught_by_empirical_bernstein():
    """Black-box route: a batch-coupled estimator with a declared bound. For standardised
    advantages |batch mean_j| ≤ T·max|ψ| (Cauchy–Schwarz: mean|z| ≤ 1). N is planned for
    a bias of 0.9 × the true one (exact, all batches) at false pass 1e-6."""
    est, mdp, pol, th, kw = planted_case("advantages / batch std")
    B = mdp.horizon * float(np.abs(pol.score(th)).max())
    mom = pc.exact_moments(est, mdp, pol, th, batch_size=3)
    bias = float(np.max(np.abs(mom.mean - pgmath.exact.gradient(mdp, pol, th))))
    n = pc.min_num_samples_for_empirical_bernstein_mean_test(
            B, 0.9 * bias, d=pol.n_params, alpha=ALPHA, beta=1e-6)
    res = pgmath.check_unbiased(est, mdp, pol, th, method="empirical-bernstein", bound=B,
                                n=n, batch_size=3, rng=np.random.default_rng(13))
    assert not res.passed and res.method == "empirical-bernstein", res.report
    ok = pgmath.check_unbiased(leave_one_out_baseline, mdp, pol, th,
                               method="empirical-bernstein",
                               bound=2 * B * float(np.abs(mdp.R).max()), n=2000, batch_size=3,
                               rng=np.random.default_rng(14))
    assert ok.verdict == "inconclusive", ok.report  # no false failure; too few to decide


def test_bernstein_threshold_closed_form():
    """ε solves N ε² / (2σ² + 2bε/3) = ln(2/δ) (substituted back)."""
    var, b, n, delta = np.array([0.3, 2.0]), np.array([1.5, 4.0]), 1000, 1e-7
    eps = pc.bernstein_threshold(var, b, n, delta)
    np.testing.assert_allclose(n * eps ** 2 / (2 * var + 2 * b * eps / 3), np.log(2 / delta),
                               rtol=1e-12)


def test_plan_sample_size_is_least():
    """The planned N reaches the detectable bias and N − 1 does not."""
    mdp, pol, th = problem(9)
    n = pgmath.plan_sample_size(reward_to_go, mdp, pol, th, detectable_bias=0.05)
    mom = pc.exact_moments(reward_to_go, mdp, pol, th)
    b = np.maximum(mom.radius, mom.spread)
    det = lambda k: pc.min_discrepancy_of_true_means_detectable_by_bernstein(
            mom.variance, b, k, alpha=1e-6)  # noqa: E731
    assert det(n).max() <= 0.05 < det(n - 1).max()
    res = pgmath.check_unbiased(reward_to_go, mdp, pol, th, detectable_bias=0.05)
    assert res.n == n and res.detectable_bias <= 0.05 and res.passed, res.report


def test_dkwm_sample_size_formula():
    """TFP's DKWM design: detectable = w(√(ln(2d/α)/2N) + √(ln(2/β)/2N)) at the returned N."""
    n = pc.min_num_samples_for_dkwm_mean_test(3.0, 0.1, d=4, alpha=1e-6, beta=1e-3)
    det = lambda k: 3.0 * (np.sqrt(np.log(8 / 1e-6) / (2 * k)) + np.sqrt(np.log(2 / 1e-3) / (2 * k)))  # noqa: E731
    assert det(n) <= 0.1 < det(n - 1)


def black_box_rtg(batch, policy, theta):
    """reward_to_go seen as a user's black box (no step_weights: no recursion applies)."""
    return reward_to_go(batch, policy, theta)


def test_asymptotic_is_labelled():
    """Without a bound or exact moments the check says plainly that it is asymptotic."""
    mdp, pol, th = problem(10, S=4, A=3, T=9)  # (4·3)^9 trajectories: not enumerable
    res = pgmath.check_unbiased(black_box_rtg, mdp, pol, th, n=3000)
    assert res.method == "asymptotic" and not res.guaranteed
    assert "Bahadur" in res.report and "ASYMPTOTIC" in res.report
    assert res.verdict != "biased", res.report
    B = pc.score_return_bound(mdp, pol, th)
    res = pgmath.check_unbiased(black_box_rtg, mdp, pol, th, n=3000, bound=B)
    assert res.method == "empirical-bernstein" and res.guaranteed, res.report
    assert res.verdict != "biased", res.report
    # the built-in carries a moment recursion: the same request gets Bernstein, exact variance
    res = pgmath.check_unbiased(reward_to_go, mdp, pol, th, n=3000)
    assert res.method == "bernstein" and res.guaranteed and res.verdict != "biased", res.report


def test_chi2_with_exact_covariance():
    """The χ² test (asymptotic, exact covariance) passes reward-to-go and catches 'drops r_t'."""
    est, mdp, pol, th, kw = planted_case("reward-to-go drops r_t")
    ok = pgmath.check_unbiased(reward_to_go, mdp, pol, th, method="chi2", n=4000,
                               rng=np.random.default_rng(15))
    assert ok.verdict != "biased" and not ok.guaranteed and "ASYMPTOTIC" in ok.report
    bad = pgmath.check_unbiased(est, mdp, pol, th, method="chi2", n=4000,
                                rng=np.random.default_rng(15))
    assert not bad.passed, bad.report


# -- compare_variance ---------------------------------------------------------------------
def test_compare_variance_rtg_vs_reinforce():
    """PG-7 on one problem: exact covariances against an explicit weighted loop."""
    mdp, pol, th = problem(16)
    cmp = pgmath.compare_variance(reward_to_go, reinforce, mdp, pol, th)
    batch, prob = pgmath.enumerate_trajectories(mdp, pol, th)
    g = reinforce(batch, pol, th)
    m = prob @ g
    ref = sum(p * np.outer(x - m, x - m) for p, x in zip(prob, g))
    np.testing.assert_allclose(cmp.cov_b, ref, atol=1e-12)
    assert cmp.total_a == pytest.approx(np.trace(cmp.cov_a))
    assert cmp.smaller == "a"
    pgmath.testing.assert_variance_leq(reward_to_go, reinforce, mdp, pol, th)
    with pytest.raises(AssertionError, match="tr Cov a"):
        pgmath.testing.assert_variance_leq(reinforce, reward_to_go, mdp, pol, th)
    same = pgmath.compare_variance(reward_to_go, reward_to_go, mdp, pol, th)
    assert same.smaller == "equal"


# -- Hypothesis: correct estimators pass on random MDPs -----------------------------------
@settings(max_examples=25)
@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3)))
def test_correct_estimators_pass_on_random_mdps(problem_):
    mdp, pol, th = problem_
    for est in (reinforce, reward_to_go, state_baseline):
        pgmath.testing.assert_unbiased(est, mdp, pol, th)


@settings(max_examples=10)
@given(pst.problems(max_states=2, max_actions=2, horizon=(1, 2)))
def test_leave_one_out_baseline_passes_on_random_mdps(problem_):
    """Batch-coupled and correct: exact over all M² ordered batches of two."""
    mdp, pol, th = problem_
    res = pgmath.testing.assert_unbiased(leave_one_out_baseline, mdp, pol, th, batch_size=2)
    assert res.method == "enumeration"


@settings(max_examples=15)
@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3), discount=0.8),
       pst.thetas(6, max_logit=2.0, allow_extreme=False))
def test_off_policy_is_passes_on_random_mdps(problem_, shift):
    mdp, pol, th = problem_
    beh = th + shift[:th.size] if th.size <= 6 else th
    pgmath.testing.assert_unbiased(trajectory_is, mdp, pol, th, theta_behaviour=beh)


# -- errors --------------------------------------------------------------------------------
def _wrong_shape(batch, policy, theta):
    return np.zeros((batch.n, policy.n_params + 1))


def _nan(batch, policy, theta):
    g = reward_to_go(batch, policy, theta)
    g[-1, 0] = np.nan
    return g


def _raises(batch, policy, theta):
    raise KeyError("advantage")


@pytest.mark.parametrize("est,match", [(_wrong_shape, "shape"), (_nan, "non-finite"),
                                       (_raises, "raised KeyError")])
@pytest.mark.parametrize("method", ["enumeration", "asymptotic"])
def test_bad_user_estimators_get_a_clear_error(est, match, method):
    mdp, pol, th = problem(17)
    with pytest.raises(EstimatorError, match=match):
        pgmath.check_unbiased(est, mdp, pol, th, method=method, n=None if method == "enumeration" else 50)


def test_broken_bound_is_named():
    mdp, pol, th = problem(18)
    with pytest.raises(EstimatorError, match="bound"):
        pgmath.check_unbiased(reinforce, mdp, pol, th, method="empirical-bernstein",
                              bound=1e-3, n=100)


@pytest.mark.parametrize("kw,match", [(dict(alpha=0.0), "alpha"), (dict(alpha=2), "alpha"),
                                      (dict(n=1), "n must"), (dict(method="t"), "method"),
                                      (dict(detectable_bias=-1.0), "detectable_bias"),
                                      (dict(method="empirical-bernstein", n=10), "bound")])
def test_bad_arguments_are_named(kw, match):
    mdp, pol, th = problem(19)
    with pytest.raises(PgmathError, match=match):
        pgmath.check_unbiased(reward_to_go, mdp, pol, th, **kw)


def test_infinite_horizon_is_refused():
    mdp = pgmath.environments.make("gridworld")
    pol = pgmath.environments.default_policy(mdp)
    with pytest.raises(PgmathError, match="finite horizon"):
        pgmath.check_unbiased(reward_to_go, mdp, pol, np.zeros(pol.n_params))


def test_exact_refused_when_too_large():
    mdp, pol, th = problem(10, S=4, A=3, T=9)
    with pytest.raises(PgmathError, match="enumerate"):
        pgmath.check_unbiased(reward_to_go, mdp, pol, th, method="enumeration")


# -- claims decided here ---------------------------------------------------------------------
def _bandit_01():
    """One state, two arms with rewards (0, 1), T = 1, uniform policy: by hand,
    J = 1/2 and ∇J = π_a (r_a − J) = (−1/4, 1/4)."""
    mdp = pgmath.environments.bandit((0.0, 1.0), horizon=1)
    return mdp, pgmath.SoftmaxPolicy(1, 2), np.zeros(2)


def test_pg5_causality_needs_strictly_past_rewards():
    """Notes §4.3.1 sum Σ_{t'≤t} includes r_t: E[ψ_0 r_0] = ∇J = (−1/4, 1/4) on the bandit
    (hand computation); with t' < t the expectation is 0 (exact)."""
    mdp, pol, th = _bandit_01()
    m = pc.exact_moments(causality_term(inclusive=True), mdp, pol, th).mean
    np.testing.assert_allclose(m, [-0.25, 0.25], atol=1e-15)
    mdp, pol, th = problem(20, T=4)
    assert np.abs(pc.exact_moments(causality_term(inclusive=False), mdp, pol, th).mean).max() < 1e-13


def test_pg9_batch_mean_baseline_shrinks_the_gradient():
    """Notes §4.3.2: b = batch mean including τ_i gives E ĝ = (1 − 1/N)∇J; on the bandit
    with N = 2 that is (−1/8, 1/8) (hand computation), exact over all 2² batches; the
    leave-one-out baseline gives ∇J."""
    mdp, pol, th = _bandit_01()
    m = pc.exact_moments(batch_average_baseline, mdp, pol, th, batch_size=2).mean
    np.testing.assert_allclose(m, [-0.125, 0.125], atol=1e-15)
    loo = pc.exact_moments(leave_one_out_baseline, mdp, pol, th, batch_size=2).mean
    np.testing.assert_allclose(loo, [-0.25, 0.25], atol=1e-15)
    res = pgmath.testing.assert_biased(batch_average_baseline, mdp, pol, th,
                                       batch_size=2)
    assert res.method == "enumeration"


@pytest.mark.parametrize("est,kw", [(reward_to_go, {}), (leave_one_out_baseline, dict(batch_size=3))])
def test_sampling_in_chunks_changes_nothing(monkeypatch, est, kw):
    """_draw evaluates the estimator in memory-capped chunks of whole batches: the draws,
    hence the estimate and the verdict, equal those of one call (same seed)."""
    mdp, pol, th = problem(21, T=2)
    one = pgmath.check_unbiased(est, mdp, pol, th, method="asymptotic", n=200,
                                rng=np.random.default_rng(22), **kw)
    monkeypatch.setattr(pgmath.check.sampling, "CHUNK_ENTRIES", 7)  # a few trajectories per chunk
    many = pgmath.check_unbiased(est, mdp, pol, th, method="asymptotic", n=200,
                                 rng=np.random.default_rng(22), **kw)
    np.testing.assert_array_equal(one.estimate, many.estimate)
    assert one.verdict == many.verdict
