"""Second moments of trajectory importance weights and their growth in T (PG-14)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pgmath
from pgmath.environments import random_mdp
from pgmath import estimators as es
from pgmath import exact
from pgmath import strategies as pst
from pgmath.errors import InvalidMDPError


@st.composite
def _pairs(draw, pomdp=False):
    kw = dict(max_states=3, max_actions=2, horizon=(1, 3))
    if pomdp:
        kw["max_observations"] = 2
    mdp, policy, theta = draw(pst.problems(pomdp=pomdp, max_logit=2.0, allow_extreme=False, **kw))
    return mdp, policy, theta, draw(pst.thetas(policy, max_logit=2.0, allow_extreme=False))


@given(st.one_of(_pairs(), _pairs(pomdp=True)))
@settings(max_examples=30)
def test_second_moment_recursion_equals_enumeration(problem):
    """log E_θ[ρ_{0:t}²] from the forward recursion = log Σ_τ p_θ(τ) ρ(τ)² (enumeration of
    every trajectory of length t + 1), for every t < T; MDPs and POMDPs."""
    mdp, policy, theta, target = problem
    rec = exact.log_weight_second_moments(mdp, policy, target, theta_behaviour=theta)
    for t in range(mdp.horizon):
        batch, prob = pgmath.enumerate_trajectories(mdp.with_horizon(t + 1), policy, theta)
        lw = es.log_trajectory_weights(batch, policy, target)
        assert rec[t] == pytest.approx(np.log(prob @ np.exp(2 * lw)), abs=1e-9)


@pytest.mark.parametrize("T", [1, 5, 50, 400])
def test_bandit_second_moment_is_power_of_one_step(T):
    """Bandit repeated T times: E_θ[ρ²]^T with E_θ[ρ²] = Σ_a π'(a)²/π(a) (closed form, by
    hand from two numpy softmaxes), so Var ρ = E_θ[ρ²]^T − 1 grows exponentially."""
    mdp = pgmath.environments.bandit((0.2, 0.5, 0.8), horizon=T)
    policy = pgmath.SoftmaxPolicy(1, 3)
    a, b = np.array([0.0, 0.3, -0.2]), np.array([0.5, -0.1, 0.4])
    pa, pb = np.exp(a) / np.exp(a).sum(), np.exp(b) / np.exp(b).sum()
    one = np.sum(pb ** 2 / pa)
    got = exact.log_weight_second_moments(mdp, policy, b, theta_behaviour=a)
    np.testing.assert_allclose(got, np.arange(1, T + 1) * np.log(one), rtol=1e-12)
    assert exact.weight_growth_rate(mdp, policy, b,
                                    theta_behaviour=a) == pytest.approx(one, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_growth_rate_on_random_mdps_is_the_spectral_radius(seed):
    """On random MDPs with full-support dynamics, the measured per-step growth
    log E[ρ²_{0:t+1}] − log E[ρ²_{0:t}] at t = 300 equals log λ (λ = spectral radius of
    M[s,s'] = Σ_a π'²/π P) to 1e-8, and λ > 1 for θ' ≠ θ."""
    rng = np.random.default_rng(seed)
    S, A = 4, 3
    mdp = random_mdp(rng, S, A, 301)
    policy = pgmath.SoftmaxPolicy(S, A)
    theta = rng.normal(size=S * A)
    target = theta + 0.3 * rng.normal(size=S * A)
    lm = exact.log_weight_second_moments(mdp, policy, target, theta_behaviour=theta)
    lam = exact.weight_growth_rate(mdp, policy, target, theta_behaviour=theta)
    assert lm[-1] - lm[-2] == pytest.approx(np.log(lam), abs=1e-8)
    assert lam > 1.0
    assert exact.weight_growth_rate(mdp, policy, theta,
                                    theta_behaviour=theta) == pytest.approx(1.0, abs=1e-12)


def test_long_horizon_near_deterministic_moments_are_finite():
    """T = 1500 with logits ±20: log E[ρ²] is finite (it would overflow as a product)."""
    mdp = pgmath.environments.chain(4, horizon=1500)
    policy = pgmath.SoftmaxPolicy(4, 2)
    theta = np.array([20.0, -20.0] * 4)
    lm = exact.log_weight_second_moments(mdp, policy, -theta / 40, theta_behaviour=theta)
    assert np.all(np.isfinite(lm)) and lm[-1] > 709  # beyond float range as a plain number


def test_infinite_horizon_needs_n_steps():
    mdp = pgmath.environments.gridworld()
    policy = pgmath.SoftmaxPolicy(mdp.n_states, 4)
    th = np.zeros(policy.n_params)
    with pytest.raises(InvalidMDPError, match="n_steps"):
        exact.log_weight_second_moments(mdp, policy, th, theta_behaviour=th)
    assert exact.log_weight_second_moments(mdp, policy, th,
                                           theta_behaviour=th, n_steps=3) == pytest.approx(
        np.zeros(3), abs=1e-12)


@given(st.one_of(_pairs(), _pairs(pomdp=True)),
       st.sampled_from(["trajectory_is", "per_decision_is", "per_decision_is_notes",
                        "truncated_is", "action_ratio_is"]),
       st.sampled_from([1.0, 0.8]))
@settings(max_examples=40)
def test_moment_recursion_equals_enumeration(problem, name, discount):
    """Mean and covariance from the forward recursion with ratios = enumeration under the
    behaviour policy (every trajectory, exact probabilities); MDPs, POMDPs, γ ∈ {1, 0.8}."""
    mdp, policy, theta, target = problem
    if mdp.R.ndim == 3:
        mdp = type(mdp)(**{**mdp._fields(), "R": mdp.r})
    mdp = mdp.with_discount(discount)
    est = getattr(es, name)
    m1, c1 = exact.offpolicy_moments(est, mdp, policy, target,
                                     theta_behaviour=theta, method="enumeration")
    m2, c2 = exact.offpolicy_moments_recursion(name, mdp, policy, target, theta_behaviour=theta)
    scale = max(1.0, np.abs(c1).max())
    np.testing.assert_allclose(m2, m1, atol=1e-9 * scale)
    np.testing.assert_allclose(c2, c1, atol=1e-9 * scale)


def test_moment_recursion_reaches_horizons_beyond_enumeration():
    """T = 40 on a 3-state chain (2^40 action sequences): the recursion's mean of the unbiased
    per-decision form equals ∇J(θ') (policy-gradient theorem), and its variance is finite."""
    mdp = pgmath.environments.chain(3, horizon=40)
    policy = pgmath.SoftmaxPolicy(3, 2)
    rng = np.random.default_rng(0)
    theta = rng.normal(size=6)
    target = theta + 0.1 * rng.normal(size=6)
    mean, cov = exact.offpolicy_moments_recursion("per_decision_is", mdp, policy, target,
                                                  theta_behaviour=theta)
    np.testing.assert_allclose(mean, exact.gradient(mdp, policy, target), atol=1e-9)
    assert np.all(np.isfinite(cov)) and np.all(np.diag(cov) >= -1e-9)


def test_moment_recursion_routes_by_description_and_takes_next_state_rewards():
    """Unknown names and estimators without step_weights are refused; any estimator with a
    description is taken (routed by it, not by name: REINFORCE evaluated at θ' on θ's
    trajectories equals enumeration under θ). Rewards R[s, a, s'] go through the shared
    accumulator: equal to enumeration under the behaviour, which draws s_T."""
    mdp = pgmath.environments.chain(3, horizon=3)
    policy = pgmath.SoftmaxPolicy(3, 2)
    th = np.zeros(6)
    with pytest.raises(pgmath.errors.EstimatorError, match="no built-in off-policy estimator"):
        exact.offpolicy_moments_recursion("reinforce", mdp, policy, th, theta_behaviour=th)

    def black_box(batch, pol, theta):
        return es.per_decision_is(batch, pol, theta)

    with pytest.raises(pgmath.errors.EstimatorError, match="no linear-recursion description"):
        exact.offpolicy_moments_recursion(black_box, mdp, policy, th, theta_behaviour=th)
    rng = np.random.default_rng(4)
    th1 = rng.normal(size=6)
    m1, c1 = exact.offpolicy_moments(es.reinforce, mdp, policy, th,
                                     theta_behaviour=th1, method="enumeration")
    m2, c2 = exact.offpolicy_moments_recursion(es.reinforce, mdp, policy, th, theta_behaviour=th1)
    np.testing.assert_allclose(m2, m1, atol=1e-12)
    np.testing.assert_allclose(c2, c1, atol=1e-12)
    m3 = pgmath.TabularMDP(mdp.P, rng.normal(size=(3, 2, 3)), mdp.p0, horizon=3)
    th2 = rng.normal(size=6)
    m1, c1 = exact.offpolicy_moments(es.per_decision_is, m3, policy, th2,
                                     theta_behaviour=th, method="enumeration")
    m2, c2 = exact.offpolicy_moments_recursion("per_decision_is", m3, policy, th2,
                                               theta_behaviour=th)
    np.testing.assert_allclose(m2, m1, atol=1e-12)
    np.testing.assert_allclose(c2, c1, atol=1e-12)


def test_action_ratio_variance_grows_polynomially():
    """Dropping the state-marginal ratio removes the exponential growth (PG-24): with
    ρ_max = max π'/π, |ψ| ≤ 1 (tabular softmax) and |r| ≤ r_max, every component of g is
    bounded by ρ_max r_max T(T+1)/2, so Var ≤ (ρ_max r_max T(T+1)/2)² = O(T⁴). Exact
    variances (recursion) for T up to 200 stay below it, while the full-trajectory form's
    variance exceeds it (it grows like λ^T)."""
    rng = np.random.default_rng(3)
    S, A = 3, 2
    base = random_mdp(rng, S, A, 1)
    policy = pgmath.SoftmaxPolicy(S, A)
    theta = rng.normal(size=S * A)
    target = theta + rng.normal(size=S * A)
    rho_max = float(np.max(policy.probs(target) / policy.probs(theta)))
    r_max = float(np.abs(base.r).max())
    exceeded = False
    for T in (10, 50, 200):
        mdp = base.with_horizon(T)
        bound = (rho_max * r_max * T * (T + 1) / 2) ** 2
        _, cov = exact.offpolicy_moments_recursion("action_ratio_is", mdp, policy, target,
                                                   theta_behaviour=theta)
        assert np.diag(cov).max() <= bound
        _, cov_full = exact.offpolicy_moments_recursion("trajectory_is", mdp, policy, target,
                                                        theta_behaviour=theta)
        exceeded |= np.diag(cov_full).max() > bound
    assert exceeded


@given(st.integers(0, 2 ** 32 - 1), st.sampled_from([1.0, 50.0, 900.0]))
@settings(max_examples=40)
def test_scaled_log_matvec_equals_log_sum_exp(seed, spread):
    """The second-moment recursion's step log Σ_k exp(x_k) P[k, s'] by one scaled matrix
    product equals log-sum-exp of every term (scipy) to 1e-12, also when the terms of a
    column lie ~900 below the largest (the scaled product underflows there and is redone)
    and for columns no finite term reaches (−inf)."""
    from scipy.special import logsumexp
    from pgmath.exact.offpolicy_moments import _log_matvec
    rng = np.random.default_rng(seed)
    K, S = int(rng.integers(1, 7)), int(rng.integers(1, 5))
    x = rng.uniform(-spread, 0.0, size=K)
    x[rng.random(K) < 0.2] = -np.inf
    P = rng.dirichlet(np.ones(S), size=K) * (rng.random((K, S)) < 0.6)
    with np.errstate(divide="ignore"):
        want = logsumexp(x[:, None] + np.log(P), axis=0)
    got = _log_matvec(x, P)
    finite = np.isfinite(want)
    np.testing.assert_array_equal(np.isfinite(got), finite)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-12, atol=1e-12)
    # a column reached only from a term 800 (and one 730) below the largest, one by none
    x2 = np.array([0.0, -800.0, -730.0, -np.inf])
    P2 = np.array([[1.0, 0, 0], [0, 0.5, 0], [0, 0.5, 0], [0, 0, 1.0]])
    np.testing.assert_allclose(_log_matvec(x2, P2)[:2],
                               [0.0, np.log(0.5) + logsumexp([-800.0, -730.0])], rtol=1e-12)
    assert _log_matvec(x2, P2)[2] == -np.inf
