"""Off-policy estimators (notes §4.4, PG-11–PG-15): exact bias by enumeration under the
behaviour policy, against ∇J(θ') from the policy-gradient theorem and closed forms."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pgmath
from pgmath.environments import random_mdp
from pgmath import estimators as es
from pgmath import exact
from pgmath import strategies as pst
from pgmath.errors import EstimatorError
from pgmath.claims.pg_offpolicy import notes_bandit_counterexample


def _random_problem(seed, S=3, A=2, T=4, scale=0.5):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, S, A, T)
    policy = pgmath.SoftmaxPolicy(S, A)
    theta = rng.normal(size=S * A)
    return mdp, policy, theta, theta + scale * rng.normal(size=S * A)


@st.composite
def _offpolicy_problems(draw, pomdp=False):
    kw = dict(max_states=3, max_actions=2, horizon=(1, 3))
    if pomdp:
        kw["max_observations"] = 2
    mdp, policy, theta = draw(pst.problems(pomdp=pomdp, max_logit=2.0, allow_extreme=False, **kw))
    target = draw(pst.thetas(policy, max_logit=2.0, allow_extreme=False))
    return mdp, policy, theta, target


@given(_offpolicy_problems())
@settings(max_examples=30)
def test_pg12_trajectory_and_per_decision_weights_are_unbiased(problem):
    """E_θ[g_θ'(τ)] = ∇J(θ') (policy-gradient theorem at θ') for the full-trajectory and the
    correct per-decision weights; exact mean by enumeration under θ."""
    mdp, policy, theta, target = problem
    g = exact.gradient(mdp, policy, target)
    for est in (es.trajectory_is, es.per_decision_is):
        mean, _ = exact.offpolicy_moments(est, mdp, policy, target,
                                          theta_behaviour=theta, method="enumeration")
        np.testing.assert_allclose(mean, g, atol=1e-9)


@given(_offpolicy_problems(pomdp=True))
@settings(max_examples=20)
def test_pg12_unbiased_on_pomdps_with_observation_policies(problem):
    """The ratios of an observation policy use π(a|o): still unbiased (enumeration)."""
    mdp, policy, theta, target = problem
    g = exact.gradient(mdp, policy, target)
    for est in (es.trajectory_is, es.per_decision_is):
        mean, _ = exact.offpolicy_moments(est, mdp, policy, target,
                                          theta_behaviour=theta, method="enumeration")
        np.testing.assert_allclose(mean, g, atol=1e-9)


def test_pg12_notes_per_decision_form_is_biased():
    """The notes' inner product Π_{t''=t}^{t'} counts ρ_t twice: on a seeded random MDP the
    exact mean (enumeration) misses ∇J(θ') by > 0.05 in some component, while the
    corrected form (inner product from t + 1) is exact."""
    mdp, policy, theta, target = _random_problem(0)
    g = exact.gradient(mdp, policy, target)
    notes, _ = exact.offpolicy_moments(es.per_decision_is_notes, mdp, policy, target,
                                       theta_behaviour=theta, method="enumeration")
    right, _ = exact.offpolicy_moments(es.per_decision_is, mdp, policy, target,
                                       theta_behaviour=theta, method="enumeration")
    assert np.abs(notes - g).max() > 0.05
    np.testing.assert_allclose(right, g, atol=1e-12)


def test_pg12_notes_form_biased_already_on_a_one_step_bandit():
    """T = 1, one state, rewards (1, 0), π = (½, ½), π' = (¾, ¼) (θ' = (log 3, 0)). By hand,
    in rationals: ψ'(a=0) = (¼, −¼), ρ(0) = 3/2, so the notes' form (ρ counted twice) has
    mean component 0 equal to ½ (3/2)² ¼ = 9/32, while ∂J/∂θ'_0 = ¾ · ¼ = 3/16 = 6/32."""
    mdp, policy, theta, target = notes_bandit_counterexample()
    mean, _ = exact.offpolicy_moments(es.per_decision_is_notes, mdp, policy, target,
                                      theta_behaviour=theta, method="enumeration")
    assert mean[0] == pytest.approx(9 / 32, abs=1e-15)
    assert exact.gradient(mdp, policy, target)[0] == pytest.approx(3 / 16, abs=1e-15)


@given(_offpolicy_problems())
@settings(max_examples=25)
def test_pg13_pg15_means_match_closed_forms(problem):
    """Two routes to the means of the biased forms: enumeration under θ and the closed forms
    Σ_t γ^t Σ_s d^{θ'}_t (resp. d^θ_t) Σ_a ∇π_θ' Q^θ_t."""
    mdp, policy, theta, target = problem
    m1, _ = exact.offpolicy_moments(es.truncated_is, mdp, policy, target,
                                    theta_behaviour=theta, method="enumeration")
    np.testing.assert_allclose(m1, exact.truncated_is_mean(mdp, policy, target,
                                                           theta_behaviour=theta), atol=1e-9)
    m2, _ = exact.offpolicy_moments(es.action_ratio_is, mdp, policy, target,
                                    theta_behaviour=theta, method="enumeration")
    np.testing.assert_allclose(m2, exact.action_ratio_is_mean(mdp, policy, target,
                                                              theta_behaviour=theta),
                               atol=1e-9)


@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3), max_logit=2.0))
@settings(max_examples=25)
def test_every_form_is_unbiased_on_policy(problem):
    """At θ' = θ all weights are 1 and every form reduces to an on-policy estimator whose
    mean is ∇J(θ) (autograd route)."""
    mdp, policy, theta = problem
    g = exact.gradient(mdp, policy, theta, method="autograd")
    for est in (es.trajectory_is, es.per_decision_is, es.per_decision_is_notes,
                es.truncated_is, es.action_ratio_is):
        mean, _ = exact.offpolicy_moments(est, mdp, policy, theta,
                                          theta_behaviour=theta, method="enumeration")
        np.testing.assert_allclose(mean, g, atol=1e-9)


def test_pg13_truncated_form_is_biased_off_policy():
    """Dropping the future ratios: exact bias > 0.01 on a seeded random MDP (enumeration)."""
    mdp, policy, theta, target = _random_problem(0)
    m, _ = exact.offpolicy_moments(es.truncated_is, mdp, policy, target,
                                   theta_behaviour=theta, method="enumeration")
    assert np.abs(m - exact.gradient(mdp, policy, target)).max() > 0.01


@pytest.mark.parametrize("seed", range(4))
def test_pg15_bias_within_bound_and_vanishing_linearly(seed):
    """‖bias‖_∞ ≤ ψ_max r_max δ Σ_t[2t(T−t) + (T−t)(T−t−1)] (action_ratio_bias_bound) for
    θ' = θ + h u, h ∈ {1, ½, …, 1/64}; and bias/h stays bounded (bias → 0 as θ' → θ)."""
    mdp, policy, theta, _ = _random_problem(10 + seed)
    u = np.random.default_rng(seed).normal(size=policy.n_params)
    per_h = []
    for k in range(7):
        h = 2.0 ** -k
        target = theta + h * u
        bias = np.abs(exact.action_ratio_is_mean(mdp, policy, target, theta_behaviour=theta)
                      - exact.gradient(mdp, policy, target)).max()
        assert bias <= exact.action_ratio_bias_bound(mdp, policy, target, theta_behaviour=theta)
        per_h.append(bias / h)
    assert per_h[-1] <= 1.1 * max(per_h[-3:-1]) + 1e-12
    assert per_h[-1] * 2.0 ** -6 < per_h[0]  # the bias itself shrinks


@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3), max_logit=2.0))
@settings(max_examples=25)
def test_exact_surrogate_gradient_at_theta_is_the_policy_gradient(problem):
    """∇_θ' L_θ(θ')|_{θ'=θ} = ∇J(θ) (autograd of the forward J); and L_θ(θ) = J(θ)."""
    mdp, policy, theta = problem
    np.testing.assert_allclose(exact.surrogate_gradient(mdp, policy, theta,
                                                        theta_behaviour=theta),
                               exact.gradient(mdp, policy, theta, method="autograd"), atol=1e-9)
    assert exact.surrogate(mdp, policy, theta, theta_behaviour=theta) == pytest.approx(
        exact.objective(mdp, policy, theta), abs=1e-9)


def test_sampled_surrogate_mean_and_gradient():
    """E_θ[is_surrogate(θ')] − E_θ[is_surrogate(θ)] = L_θ(θ') − L_θ(θ) (enumeration vs the
    exact surrogate), and the finite-difference gradient of the sampled surrogate equals
    action_ratio_is on every enumerated trajectory."""
    mdp, policy, theta, target = _random_problem(2)
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta)
    d_sampled = prob @ (es.is_surrogate(batch, policy, target) - es.is_surrogate(batch, policy, theta))
    d_exact = (exact.surrogate(mdp, policy, target, theta_behaviour=theta)
               - exact.surrogate(mdp, policy, theta, theta_behaviour=theta))
    assert d_sampled == pytest.approx(d_exact, abs=1e-10)
    h, grad = 1e-6, np.empty((batch.n, policy.n_params))
    for k in range(policy.n_params):
        e = np.zeros(policy.n_params)
        e[k] = h
        grad[:, k] = (es.is_surrogate(batch, policy, target + e)
                      - es.is_surrogate(batch, policy, target - e)) / (2 * h)
    np.testing.assert_allclose(grad, es.action_ratio_is(batch, policy, target), atol=1e-6)


def test_per_decision_is_sample_mean_within_chebyshev_bound():
    """Sampled (N = 20 000) mean of per_decision_is vs ∇J(θ'); Chebyshev with the exact
    variance and a union bound over d coordinates: false-failure probability ≤ 1e-6,
    k = √(d / 1e-6)."""
    mdp, policy, theta, target = _random_problem(3, T=3, scale=0.3)
    _, cov = exact.offpolicy_moments(es.per_decision_is, mdp, policy, target,
                                     theta_behaviour=theta, method="enumeration")
    N, alpha = 20_000, 1e-6
    batch = pgmath.sample(mdp, policy, theta, N, np.random.default_rng(7))
    err = np.abs(es.per_decision_is(batch, policy, target).mean(axis=0)
                 - exact.gradient(mdp, policy, target))
    k = np.sqrt(policy.n_params / alpha)
    assert np.all(err <= k * np.sqrt(np.diag(cov) / N) + 1e-12)


def test_log_space_weights_stay_finite():
    """A bandit with T = 2000: the product of ratios overflows (2^2000) but the log weight is
    2000 log 2 (by hand); and a ratio of two underflowing probabilities (e^-800/e^-800) is
    1, not 0/0."""
    mdp = pgmath.environments.bandit((0.0, 1.0), horizon=2000)
    policy = pgmath.SoftmaxPolicy(1, 2)
    batch = pgmath.sample(mdp, policy, np.array([0.0, 0.0]), 2, np.random.default_rng(0))
    batch = pgmath.Trajectories(batch.states, np.ones_like(batch.actions), batch.rewards,
                                behaviour_log_probs=np.full(batch.states.shape, np.log(0.5)))
    lw = es.log_trajectory_weights(batch, policy, np.array([-1e3, 1e3]))
    np.testing.assert_allclose(lw, 2000 * np.log(2.0), rtol=1e-12)
    with np.errstate(over="ignore"):
        assert np.isinf(np.prod(np.full(2000, 2.0)))
    tiny = pgmath.Trajectories(np.zeros((1, 1), int), np.zeros((1, 1), int), np.ones((1, 1)),
                               behaviour_log_probs=np.array([[-800.0]]))
    target = np.array([-800.0, 0.0])  # log π'(0) = −800 − log(1 + e^-800) = −800
    assert es.log_ratios(tiny, policy, target)[0, 0] == pytest.approx(0.0, abs=1e-12)
    g = es.per_decision_is(tiny, policy, target)
    assert np.all(np.isfinite(g))
    with np.errstate(under="ignore", invalid="ignore"):
        assert np.isnan(np.exp(-800.0) / np.exp(-800.0))


def test_missing_or_impossible_behaviour_log_probs_raise():
    policy = pgmath.SoftmaxPolicy(1, 2)
    b = pgmath.Trajectories(np.zeros((1, 2), int), np.zeros((1, 2), int), np.ones((1, 2)))
    with pytest.raises(EstimatorError, match="behaviour_log_probs"):
        es.per_decision_is(b, policy, np.zeros(2))
    b = pgmath.Trajectories(np.zeros((1, 2), int), np.zeros((1, 2), int), np.ones((1, 2)),
                            behaviour_log_probs=np.array([[0.0, -np.inf]]))
    with pytest.raises(EstimatorError, match=r"\[0, 1\]"):
        es.trajectory_is(b, policy, np.zeros(2))


def test_pg11_notes_importance_sampling_steps():
    """The notes' chain ∫pf = ∫(q/p)pf = ∫q(p/q)f = E_q[(p/q)f], evaluated line by line on
    x ∈ {0, 1}, p = (½, ½), q = (0.9, 0.1), f = (1, 0) (numbers by hand: 0.5, 0.9, 0.5, 0.5):
    the endpoints agree, the middle line does not (it is E_q[f]); the corrected middle
    line ∫ q (p/q) f dx (multiply and divide by q) is 0.5."""
    from pgmath.claims.pg_offpolicy import importance_sampling_lines
    lines = importance_sampling_lines(np.array([0.5, 0.5]), np.array([0.9, 0.1]),
                                      np.array([1.0, 0.0]))
    np.testing.assert_allclose(lines["notes"], [0.5, 0.9, 0.5, 0.5], atol=1e-15)
    np.testing.assert_allclose(lines["corrected"], [0.5, 0.5, 0.5, 0.5], atol=1e-15)


@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3), max_logit=2.0),
       pst.thetas(12, max_logit=2.0, extreme_logit=30.0))
@settings(max_examples=30)
def test_near_deterministic_policies_give_finite_unbiased_estimates(problem, raw):
    """Logits of ±30 in behaviour and target (ratios up to e^60 per step): every estimate is
    finite, and the unbiased forms still have mean ∇J(θ') (enumeration, relative tolerance)."""
    mdp, policy, theta = problem
    target = raw[:policy.n_params]
    g = exact.gradient(mdp, policy, target)
    for est in (es.trajectory_is, es.per_decision_is):
        mean, cov = exact.offpolicy_moments(est, mdp, policy, target,
                                            theta_behaviour=theta, method="enumeration")
        assert np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))
        np.testing.assert_allclose(mean, g, atol=1e-9, rtol=1e-6)


@given(_offpolicy_problems())
@settings(max_examples=20)
def test_state_marginal_ratio_form_has_the_truncated_mean(problem):
    """With the exact state-marginal ratio the mean is Σ_t Σ_s d^{θ'}_t Σ_a ∇π_θ' γ^t Q^θ_t (closed
    form), the same as truncated_is: the future rewards still come from θ (enumeration)."""
    mdp, policy, theta, target = problem
    est = es.state_marginal_ratio_is(mdp, theta)
    mean, _ = exact.offpolicy_moments(est, mdp, policy, target,
                                      theta_behaviour=theta, method="enumeration")
    np.testing.assert_allclose(mean, exact.truncated_is_mean(mdp, policy, target,
                                                             theta_behaviour=theta), atol=1e-9)


def test_is_surrogate_follows_its_formula_with_a_baseline():
    """L̂_i(θ') = Σ_t ρ_t (Σ_{t'≥t} γ^{t'} r_{t'} − b_t), with ρ_t = π_θ'(a_t|s_t)/μ(a_t|s_t)
    and G_t by explicit loops (independent of the estimator's cumulative sums); the
    baseline enters with a minus sign."""
    mdp, policy, theta, target = _random_problem(3)
    batch = pgmath.sample(mdp, policy, theta, 6, np.random.default_rng(13))
    T, g = batch.horizon, batch.discount
    b = np.linspace(-1.0, 2.0, T)
    pt, pb = np.asarray(policy.probs(target)), np.asarray(policy.probs(theta))
    expected = np.zeros(batch.n)
    for i in range(batch.n):
        for t in range(T):
            s, a = batch.states[i, t], batch.actions[i, t]
            G = sum(g ** u * batch.rewards[i, u] for u in range(t, T))
            expected[i] += pt[s, a] / pb[s, a] * (G - b[t])
    np.testing.assert_allclose(es.is_surrogate(batch, policy, target, baseline=b), expected, rtol=1e-12)


def test_state_marginal_ratio_is_finite_where_a_marginal_underflows():
    """Found by the randomised job (issue 11): P[2, 0, 2] = 2.2e-309 makes p(s_2 = 2) underflow
    to 0 while the trajectory staying in state 2 is still enumerated; log(0) − log(0) gave
    NaN. With log-space marginals the ratio is 1 (θ' = θ) and the mean is exact."""
    P = np.zeros((3, 1, 3))
    P[0, 0, 0] = P[1, 0, 1] = 1.0
    P[2, 0, 1], P[2, 0, 2] = 1.0, 2.22507386e-309
    mdp = pgmath.TabularMDP(P, np.array([[0.0], [1.0], [2.0]]), np.full(3, 1 / 3), horizon=3)
    policy, theta = pgmath.SoftmaxPolicy(3, 1), np.zeros(3)
    est = es.state_marginal_ratio_is(mdp, theta)
    mean, _ = exact.offpolicy_moments(est, mdp, policy, theta,
                                      theta_behaviour=theta, method="enumeration")
    np.testing.assert_array_equal(mean, np.zeros(3))  # one action: every score is 0
    batch, _ = pgmath.enumerate_trajectories(mdp, policy, theta)
    assert np.all(np.isfinite(est(batch, policy, theta)))
