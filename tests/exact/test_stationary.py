"""Stationary distribution and average reward (notes §3.1, RL-3).

Independent routes: the eigenvector of P_πᵀ for eigenvalue 1 (``np.linalg.eig``), and the
finite-horizon objective J_T (forward marginals) divided by T, with an explicit error bound:

* Doeblin mixing. Mixing the dynamics with the uniform kernel, P' = (1−η)P + η/S, gives
  ‖d_t − μ‖_TV ≤ (1−η)^t, so |J_T − Tρ| ≤ Σ_t (1−η)^t span(r_π) ≤ span(r_π)/η.
* Cesàro (any chain with one closed class, periodic too). With Π = 1μ and the fundamental
  matrix Z = (I − P_π + Π)⁻¹, Σ_{t<T}(d_t − μ) = (p0 − μ)(I − P_π) Z, hence
  |J_T − Tρ| ≤ (‖p0 − μ‖₁ + ‖(p0 − μ)P_π‖₁) ‖Z r_π‖_∞ ≤ 4 ‖Z r_π‖_∞.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pgmath
from pgmath import exact
from pgmath import strategies as pst

import reference as ref


@st.composite
def mixed_problems(draw):
    """(mdp, policy, θ, η): a random MDP whose dynamics are mixed with the uniform kernel."""
    m = draw(pst.mdps(max_states=4, max_actions=3, horizon=None, discount=0.9,
                      rewards_next_state=False))
    eta = draw(st.floats(0.05, 1.0))
    S = m.n_states
    P = (1 - eta) * m.P + eta / S
    mdp = pgmath.TabularMDP(P, m.R, m.p0, horizon=None, discount=1.0)
    pol = pgmath.SoftmaxPolicy(S, m.n_actions)
    return mdp, pol, draw(pst.thetas(pol)), eta


def _eig_stationary(P_pi):
    w, v = np.linalg.eig(P_pi.T)
    k = np.argmin(np.abs(w - 1.0))
    mu = np.real(v[:, k])
    return mu / mu.sum()


@given(mixed_problems())
def test_rl3_stationary_distribution_is_the_unit_eigenvector(problem):
    mdp, policy, theta, _ = problem
    pi = ref.softmax(theta.reshape(mdp.n_states, mdp.n_actions))
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    mu = exact.stationary_distribution(mdp, policy, theta)
    assert np.all(mu >= 0) and mu.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(mu @ P_pi, mu, atol=1e-10)
    np.testing.assert_allclose(mu, _eig_stationary(P_pi), atol=1e-9)
    mu_sa = exact.stationary_distribution(mdp, policy, theta, state_action=True)
    np.testing.assert_allclose(mu_sa, mu[:, None] * pi, atol=1e-12)
    # the (s, a) chain of RL-2 has μ(s, a) as its stationary vector too (μ = μ𝒯)
    M = exact.state_action_transition(mdp, policy, theta)
    np.testing.assert_allclose(mu_sa.ravel() @ M, mu_sa.ravel(), atol=1e-10)


@given(mixed_problems())
def test_rl3_marginals_converge_and_average_reward_is_long_run_mean(problem):
    """‖d_T − μ‖_TV ≤ (1−η)^T and |J_T/T − ρ| ≤ span(r_π)/(ηT) (Doeblin, module docstring)."""
    mdp, policy, theta, eta = problem
    mu = exact.stationary_distribution(mdp, policy, theta)
    rho = exact.average_reward(mdp, policy, theta)
    pi = ref.softmax(theta.reshape(mdp.n_states, mdp.n_actions))
    r_pi = np.sum(pi * mdp.r, axis=1)
    assert rho == pytest.approx(mu @ r_pi, abs=1e-12)
    span = r_pi.max() - r_pi.min()
    for T in (5, 50, 400):
        finite = mdp.with_horizon(T)
        d = exact.state_marginals(finite, policy, theta)
        assert 0.5 * np.abs(d[-1] - mu).sum() <= (1 - eta) ** (T - 1) + 1e-9
        J_T = exact.objective(finite, policy, theta)
        assert abs(J_T / T - rho) <= span / (eta * T) + 1e-9


def _periodic_cycle():
    """A 3-cycle 0→1→2→0 (period 3) with a transient entry state 3 and one action."""
    P = np.zeros((4, 1, 4))
    P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 0] = 1.0
    P[3, 0, 0] = 1.0
    R = np.array([[3.0], [0.0], [-1.5], [7.0]])
    return pgmath.TabularMDP(P, R, np.eye(4)[3], horizon=None, discount=1.0)


def test_average_reward_of_periodic_chain_is_the_cesaro_limit():
    mdp = _periodic_cycle()
    table = np.ones((4, 1))
    with pytest.raises(pgmath.NotErgodicError, match=r"period 3"):
        exact.stationary_distribution(mdp, table)
    mu = exact.stationary_distribution(mdp, table, allow_periodic=True)
    np.testing.assert_allclose(mu, [1 / 3, 1 / 3, 1 / 3, 0.0], atol=1e-12)  # by hand
    rho = exact.average_reward(mdp, table)
    assert rho == pytest.approx((3.0 + 0.0 - 1.5) / 3, abs=1e-12)
    P_pi = mdp.P[:, 0, :]
    Z = np.linalg.inv(np.eye(4) - P_pi + np.outer(np.ones(4), mu))
    bound = 4 * np.abs(Z @ mdp.r[:, 0]).max()
    for T in (7, 100, 1001):
        J_T = exact.objective(mdp.with_horizon(T), table)
        assert abs(J_T - T * rho) <= bound + 1e-9
    # the marginals do not converge: d_t cycles (the notes' "converges" needs aperiodicity)
    d = exact.state_marginals(mdp.with_horizon(30), table)
    assert np.abs(d[-1] - d[-2]).sum() == pytest.approx(2.0)


def test_reducible_chain_is_refused_naming_the_closed_classes():
    P = np.zeros((3, 1, 3))
    P[0, 0] = [0.0, 0.5, 0.5]
    P[1, 0, 1] = P[2, 0, 2] = 1.0
    mdp = pgmath.TabularMDP(P, np.zeros((3, 1)), np.eye(3)[0], horizon=None, discount=1.0)
    with pytest.raises(pgmath.NotErgodicError, match=r"2 closed classes.*\[1\]; \[2\]"):
        exact.stationary_distribution(mdp, np.ones((3, 1)))
    with pytest.raises(pgmath.NotErgodicError, match="not ergodic"):
        exact.average_reward(mdp, np.ones((3, 1)))
