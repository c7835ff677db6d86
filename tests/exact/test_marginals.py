"""State and state-action marginals (notes §3.1, RL-1, RL-2).

Expected values come from ``tests/reference.py`` (sums of the product-formula
probabilities of every trajectory) and from propagating the (s, a) chain of RL-2 by hand.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pgmath
from pgmath import exact
from pgmath import strategies as pst

import reference as ref


def _enumerated_sa_marginals(mdp, pi, O=None):
    """``[T, S, A]`` Σ_τ p(τ) 1[s_t = s, a_t = a] from the reference enumeration."""
    T, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    w = 2 if O is None else 3
    m = np.zeros((T, S, A))
    for key, p in ref.trajectory_probabilities(mdp.P, mdp.R, mdp.p0, pi, T, O).items():
        for t in range(T):
            m[t, key[w * t], key[w * t + w - 1]] += p
    return m


@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3)))
@settings(max_examples=30)
def test_marginals_are_distributions_and_match_enumeration(problem):
    mdp, policy, theta = problem
    d = exact.state_marginals(mdp, policy, theta)
    m = exact.state_action_marginals(mdp, policy, theta)
    assert d.shape == (mdp.horizon, mdp.n_states) and np.all(d >= 0)
    np.testing.assert_allclose(d.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(m.sum(axis=2), d, atol=1e-12)
    pi = ref.softmax(theta.reshape(mdp.n_states, mdp.n_actions))
    np.testing.assert_allclose(m, _enumerated_sa_marginals(mdp, pi), atol=1e-12)


@given(pst.problems(pomdp=True, max_states=3, max_actions=2, max_observations=2,
                    horizon=(1, 3)))
@settings(max_examples=20)
def test_pomdp_marginals_match_enumeration_over_hidden_states(problem):
    mdp, policy, theta = problem
    pi = ref.softmax(theta.reshape(mdp.n_observations, mdp.n_actions))
    np.testing.assert_allclose(exact.state_action_marginals(mdp, policy, theta),
                               _enumerated_sa_marginals(mdp, pi, mdp.O), atol=1e-12)


@given(pst.problems(max_states=4, max_actions=3, horizon=(1, 6), discount=st.floats(0.3, 1.0)))
def test_rl2_state_action_chain_reproduces_marginals_and_objective(problem):
    """RL-2: m_{t+1} = m_t M with M[(s,a),(s',a')] = p(s'|s,a) π(a'|s'), m_0 = p0 π,
    and J = Σ_t γ^t Σ_{s,a} m_t(s, a) r(s, a)."""
    mdp, policy, theta = problem
    S, A, T = mdp.n_states, mdp.n_actions, mdp.horizon
    M = exact.state_action_transition(mdp, policy, theta)
    assert M.shape == (S * A, S * A)
    np.testing.assert_allclose(M.sum(axis=1), 1.0, atol=1e-12)
    pi = ref.softmax(theta.reshape(S, A))
    m = (mdp.p0[:, None] * pi).ravel()
    marg = exact.state_action_marginals(mdp, policy, theta)
    J = 0.0
    for t in range(T):
        np.testing.assert_allclose(m.reshape(S, A), marg[t], atol=1e-12)
        J += mdp.discount ** t * m @ mdp.r.ravel()
        m = m @ M
    assert exact.objective(mdp, policy, theta) == pytest.approx(J, abs=1e-12)


@given(pst.problems(max_states=4, max_actions=3, horizon=None, discount=st.floats(0.1, 0.9)))
def test_discounted_visitation_is_the_limit_of_truncated_sums(problem):
    """ρ = Σ_t γ^t d_t; truncating at K leaves at most γ^K/(1−γ) ≤ 1e-12 of mass."""
    mdp, policy, theta = problem
    g = mdp.discount
    K = int(np.ceil(np.log(1e-12 * (1 - g)) / np.log(g)))
    d = exact.state_marginals(mdp, policy, theta, n_steps=K)
    rho = exact.discounted_state_visitation(mdp, policy, theta)
    np.testing.assert_allclose(rho, g ** np.arange(K) @ d, atol=2e-12)
    assert rho.sum() == pytest.approx(1 / (1 - g), rel=1e-12)


@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3), discount=st.floats(0.1, 0.9)))
@settings(max_examples=20)
def test_finite_horizon_discounted_visitation_by_enumeration(problem):
    """ρ(s) = Σ_τ p_θ(τ) Σ_{t<T} γ^t 1[s_t = s], every trajectory enumerated (independent of
    the marginal recursion; catches a γ^{t+1} off-by-one)."""
    mdp, policy, theta = problem
    batch, probs = pgmath.enumerate_trajectories(mdp, policy, theta)
    w = mdp.discount ** np.arange(mdp.horizon)
    expected = np.zeros(mdp.n_states)
    np.add.at(expected, batch.states, probs[:, None] * w[None, :])
    np.testing.assert_allclose(exact.discounted_state_visitation(mdp, policy, theta), expected,
                               atol=1e-12)


def test_marginals_errors_name_the_problem():
    mdp = pgmath.environments.chain(horizon=None, discount=0.9)
    pol = pgmath.SoftmaxPolicy(mdp.n_states, 2)
    th = np.zeros(pol.n_params)
    with pytest.raises(pgmath.InvalidMDPError, match="infinite horizon: pass n_steps"):
        exact.state_marginals(mdp, pol, th)
    with pytest.raises(pgmath.InvalidMDPError, match="n_steps must be a positive int"):
        exact.state_marginals(mdp, pol, th, n_steps=0)
    with pytest.raises(pgmath.InvalidMDPError, match="exceeds the horizon 20"):
        exact.state_marginals(mdp.with_horizon(20), pol, th, n_steps=21)


@given(pst.problems(max_states=4, max_actions=3, horizon=(1, 5)))
@settings(max_examples=25)
def test_log_state_marginals_is_the_log_of_the_marginals(problem):
    mdp, policy, theta = problem
    d = exact.state_marginals(mdp, policy, theta)
    ld = exact.log_state_marginals(mdp, policy, theta)
    ok = d > 1e-280
    np.testing.assert_allclose(ld[ok], np.log(d[ok]), rtol=1e-10, atol=1e-12)
    assert np.all(np.isneginf(ld[d == 0]) | (ld[d == 0] < np.log(1e-280)))


def test_log_state_marginals_stay_finite_where_the_marginal_underflows():
    """A chain 0 → 1 → 2 whose steps each have probability 1e-200: p(s_2 = 2) = 1e-400
    underflows to 0, its log is −400 ln 10 (the situation of the randomised job's example,
    issue 11)."""
    P = np.zeros((3, 1, 3))
    P[0, 0] = [1 - 1e-200, 1e-200, 0.0]
    P[1, 0] = [0.0, 1 - 1e-200, 1e-200]
    P[2, 0] = [0.0, 0.0, 1.0]
    mdp = pgmath.TabularMDP(P, np.zeros((3, 1)), np.array([1.0, 0.0, 0.0]), horizon=3)
    pol = np.ones((3, 1))
    assert exact.state_marginals(mdp, pol)[2, 2] == 0.0
    ld = exact.log_state_marginals(mdp, pol)
    assert ld[1, 1] == pytest.approx(-200 * np.log(10), rel=1e-12)
    assert ld[2, 2] == pytest.approx(-400 * np.log(10), rel=1e-12)
    assert ld[0, 1] == -np.inf and ld[1, 2] == -np.inf
