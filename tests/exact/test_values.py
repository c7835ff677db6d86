"""Value functions V^π, Q^π, A^π (notes §3.3, RL-5).

Independent routes: J forward through the marginals against p0 · V₀ backward; V₀(s) against
brute-force enumeration started in s (``tests/reference.py``); the infinite-horizon linear
solve against a long finite horizon with the truncation bound γ^T max|r| / (1 − γ).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgmath.environments import random_mdp
from pgmath import exact
from pgmath import strategies as pst

import reference as ref


@given(pst.problems(max_states=4, max_actions=3, horizon=(1, 5), discount=st.floats(0.3, 1.0)))
def test_rl5_objective_is_expected_start_value_finite_horizon(problem):
    """RL-5: J = E_{s₀∼p0}[V₀(s₀)] and V_t(s) = E_{a∼π}[Q_t(s, a)]."""
    mdp, policy, theta = problem
    V = exact.values(mdp, policy, theta)
    Q = exact.q_values(mdp, policy, theta)
    pi = np.asarray(policy.probs(theta))
    assert V.shape == (mdp.horizon, mdp.n_states)
    assert exact.objective(mdp, policy, theta) == pytest.approx(mdp.p0 @ V[0], abs=1e-12)
    np.testing.assert_allclose(V, np.einsum("sa,tsa->ts", pi, Q), atol=1e-12)
    A_ = exact.advantages(mdp, policy, theta)
    np.testing.assert_allclose(np.einsum("sa,tsa->ts", pi, A_), 0.0, atol=1e-12)


@given(pst.problems(max_states=4, max_actions=3, horizon=None, discount=st.floats(0.1, 0.95)))
def test_rl5_objective_is_expected_start_value_infinite_discounted(problem):
    mdp, policy, theta = problem
    V = exact.values(mdp, policy, theta)
    Q = exact.q_values(mdp, policy, theta)
    pi = np.asarray(policy.probs(theta))
    assert exact.objective(mdp, policy, theta) == pytest.approx(mdp.p0 @ V, abs=1e-10)
    np.testing.assert_allclose(V, np.sum(pi * Q, axis=1), atol=1e-10)
    # a long finite horizon: |V_∞ − V₀^T| ≤ γ^T max|r| / (1 − γ)
    g = mdp.discount
    T = int(np.ceil(np.log(1e-11 * (1 - g)) / np.log(g)))
    V_T = exact.values(mdp.with_horizon(T), policy, theta)[0]
    bound = g ** T * np.abs(mdp.r).max() / (1 - g) + 1e-10
    assert np.max(np.abs(V - V_T)) <= bound


@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3), discount=st.floats(0.5, 1.0)))
@settings(max_examples=25)
def test_start_values_match_enumeration_from_each_state(problem):
    """V₀(s) = E[Σ_t γ^t r_t | s₀ = s], the reference enumeration with p0 = e_s."""
    mdp, policy, theta = problem
    V = exact.values(mdp, policy, theta)
    pi = ref.softmax(theta.reshape(mdp.n_states, mdp.n_actions))
    for s in range(mdp.n_states):
        J_s, _ = ref.objective_and_gradient(mdp.P, mdp.R, np.eye(mdp.n_states)[s], pi,
                                            mdp.horizon, mdp.discount)
        assert V[0, s] == pytest.approx(J_s, abs=1e-12)


def test_values_accept_time_dependent_tables():
    """A [T, S, A] table: J from values equals the sum over t of E[r_t] by enumeration."""
    rng = np.random.default_rng(3)
    S, A, T = 3, 2, 3
    m = random_mdp(rng, S, A, T)
    P, R, p0 = m.P, m.R, m.p0
    pis = rng.dirichlet(np.ones(A), size=(T, S))
    # the time-dependent J by the marginals recursion written out here
    d, J = p0, 0.0
    for t in range(T):
        J += d @ np.sum(pis[t] * R, axis=1)
        d = d @ np.einsum("sa,sat->st", pis[t], P)
    assert exact.objective(m, pis) == pytest.approx(J, abs=1e-12)
    assert p0 @ exact.values(m, pis)[0] == pytest.approx(J, abs=1e-12)
