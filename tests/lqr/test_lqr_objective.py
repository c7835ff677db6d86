"""Exact J(θ) and ∇J(θ) on linear-quadratic problems, by independent routes.

* J: the backward value recursion (``method="values"``), the forward state moments
  (``method="moments"``) and ``lqr_reference.objective`` (every x_t, u_t affine in the
  trajectory's normals; imports nothing of pgmath);
* ∇J: the closed form (Fazel et al. 2018 with the value and moment recursions),
  autograd through the forward J, and 8th-order central differences of the reference J.
All agree to 1e-8 relative to the scale max(1, ‖∇J‖∞) (the FD stencil's truncation at
h = 1e-3 is O(h⁸) ≈ 1e-24 · |J⁽⁹⁾|; its rounding is ≈ 1e-16 |J| / h).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgmath import strategies as pst
from pgmath.errors import DivergentPolicyError
from pgmath.lqr import GaussianLinearPolicy, LQRProblem, gradient, objective
from pgmath.lqr.objective import (closed_loop_radius, gradient_magnitude, optimal_gain,
                                  optimal_objective, state_moments, value_matrices)

import lqr_reference as ref

TOL = 1e-8


def _reference_J(problem, policy, theta):
    Ks, ks, ss = policy.gains(theta, problem.horizon)
    return ref.objective(problem.A, problem.B, problem.Q, problem.R, problem.N, problem.Q_T,
                         problem.W, problem.mu0, problem.Sigma0, Ks, ks, ss, problem.discount)


def _check_routes(problem, policy, theta):
    g_cf = gradient(problem, policy, theta)
    g_ad = gradient(problem, policy, theta, method="autograd")
    scale = max(1.0, float(np.max(np.abs(g_cf))))
    np.testing.assert_allclose(g_cf, g_ad, rtol=0, atol=TOL * scale)
    return g_cf, scale


@given(pst.lqr_problems(horizon=(1, 4), discount=st.sampled_from([1.0, 0.9])))
def test_finite_horizon_routes_agree(case):
    problem, policy, theta = case
    J = objective(problem, policy, theta)
    J_ref = _reference_J(problem, policy, theta)
    assert J == pytest.approx(J_ref, rel=1e-10, abs=1e-10)
    assert objective(problem, policy, theta, method="moments") == pytest.approx(J, rel=1e-10, abs=1e-10)
    g, scale = _check_routes(problem, policy, theta)
    fd = ref.central_differences(lambda th: _reference_J(problem, policy, th), theta)
    np.testing.assert_allclose(g, fd, rtol=0, atol=TOL * max(scale, abs(J)))


@given(pst.lqr_problems(horizon=(1, 3), time_varying=True))
def test_time_varying_routes_agree(case):
    problem, policy, theta = case
    g, scale = _check_routes(problem, policy, theta)
    fd = ref.central_differences(lambda th: _reference_J(problem, policy, th), theta)
    np.testing.assert_allclose(g, fd, rtol=0, atol=TOL * max(scale, abs(objective(problem, policy, theta))))


@given(pst.lqr_problems(horizon=None, discount=st.floats(0.3, 0.95)))
def test_discounted_routes_agree(case):
    """Infinite horizon: Lyapunov solves (closed form) against Kronecker solves (autograd)
    and central differences of the closed-form J; J against a long finite horizon."""
    problem, policy, theta = case
    J = objective(problem, policy, theta)
    assert objective(problem, policy, theta, method="moments") == pytest.approx(J, rel=1e-9, abs=1e-9)
    g, scale = _check_routes(problem, policy, theta)
    fd = ref.central_differences(lambda th: objective(problem, policy, th), theta)
    np.testing.assert_allclose(g, fd, rtol=0, atol=TOL * max(scale, abs(J)))
    # J_∞ − J_T = γ^T E[V(x_T)]: a horizon where γ^T ≤ 1e-13 leaves less than 1e-9 · scale
    T = int(np.ceil(np.log(1e-13) / np.log(problem.discount)))
    J_T = objective(problem.with_horizon(T), policy, theta)
    assert J_T == pytest.approx(J, rel=1e-8, abs=1e-8)


def test_divergent_policy_is_named():
    prob = LQRProblem(A=[[1.2]], B=[[1.0]], Q=[[1.0]], R=[[1.0]], discount=0.9)
    pol = GaussianLinearPolicy(1, 1)
    th = pol.pack([[0.0]])
    assert closed_loop_radius(prob, pol, th) == pytest.approx(np.sqrt(0.9) * 1.2)
    for call in (objective, gradient, value_matrices, state_moments):
        with pytest.raises(DivergentPolicyError, match="ρ"):
            call(prob, pol, th)
    # a finite horizon never diverges
    assert np.isfinite(objective(prob.with_horizon(5), pol, th))


def test_scalar_closed_form():
    """J for x' = a x + b u, T = 1, by hand: x₀ ~ N(μ, s²), u = Kx + k + σε:
    J = −[q(μ² + s²) + R((Kμ + k)² + K²s² + σ²) + q_T E[x₁²]],
    x₁ = (a + bK)x₀ + bk + bσε."""
    a, b, q, r, qT, mu, s2, K, k, sig = 0.9, 0.5, 1.0, 0.3, 2.0, 0.7, 0.4, -0.6, 0.2, 0.8
    prob = LQRProblem(A=[[a]], B=[[b]], Q=[[q]], R=[[r]], Q_T=[[qT]], mu0=[mu], Sigma0=[[s2]],
                      horizon=1)
    pol = GaussianLinearPolicy(1, 1)
    th = pol.pack([[K]], [k], [np.log(sig)])
    f = a + b * K
    Ex1 = f ** 2 * (mu ** 2 + s2) + 2 * f * mu * b * k + (b * k) ** 2 + (b * sig) ** 2
    J = -(q * (mu ** 2 + s2) + r * ((K * mu + k) ** 2 + K ** 2 * s2 + sig ** 2) + qT * Ex1)
    assert objective(prob, pol, th) == pytest.approx(J, abs=1e-14)


@given(pst.lqr_problems(horizon=(1, 5), noise=True, cross_terms=True))
def test_riccati_gain_is_a_stationary_point(case):
    """At K* (Riccati), k = 0, the K- and k-gradient vanish; the σ-gradient is −2 R̃ σ² < 0
    (J rises as σ → 0), and J(K*, σ → 0) → J* (optimal_objective)."""
    problem, _, _ = case
    K, _ = optimal_gain(problem)
    T, m, n = problem.horizon, problem.n_actions, problem.n_states
    pol = GaussianLinearPolicy(n, m, time_varying=True, horizon=T)
    th = pol.pack(K, None, np.full((T, m), -30.0))
    g = gradient(problem, pol, th).reshape(T, -1)
    scale = max(1.0, float(np.max(np.abs(_reference_J(problem, pol, th)))))
    np.testing.assert_allclose(g[:, :m * n + m], 0.0, atol=1e-9 * scale)
    assert objective(problem, pol, th) == pytest.approx(optimal_objective(problem), rel=1e-10, abs=1e-10)


def test_discounted_riccati():
    prob = LQRProblem(A=[[1.0, 0.1], [0.0, 1.0]], B=[[0.0], [0.1]], Q=np.eye(2), R=[[0.1]],
                      W=0.01 * np.eye(2), mu0=[1.0, 0.0], discount=0.95)
    K, _ = optimal_gain(prob)
    pol = GaussianLinearPolicy(2, 1)
    th = pol.pack(K, [0.0], [-30.0])
    np.testing.assert_allclose(gradient(prob, pol, th)[:3], 0.0, atol=1e-9)
    assert objective(prob, pol, th) == pytest.approx(optimal_objective(prob), rel=1e-12)
    # any other gain is worse
    for dK in ([[0.1, 0.0]], [[0.0, -0.2]]):
        assert objective(prob, pol, pol.pack(K + np.array(dK), [0.0], [-30.0])) < objective(prob, pol, th)


def test_gradient_magnitude_bounds_the_terms():
    prob = LQRProblem(A=[[0.9]], B=[[0.5]], Q=[[1.0]], R=[[0.3]], N=[[0.1]], horizon=3)
    pol = GaussianLinearPolicy(1, 1)
    th = pol.pack([[-0.4]], [0.2], [0.0])
    mag, K = gradient_magnitude(prob, pol, th)
    assert np.all(mag >= np.abs(gradient(prob, pol, th))) and K > 0
