"""Exact estimator moments on linear-quadratic problems, by independent routes.

* The forward moment recursion (pgmath.lqr.moments) against tensor Gauss–Hermite
  quadrature over every normal of the trajectory (pgmath.lqr.quadrature: the estimator
  functions run on node trajectories). With 5 nodes per normal the rule is exact for
  g gᵀ (degree ≤ 8 in each normal), so the two agree up to rounding: 1e-9 relative.
* E[F₀] of the recursion against J(θ) (closed form).
* The mean against a Monte Carlo median-of-means with a guarantee: with k blocks of
  b = N/k draws, Chebyshev gives P(|block mean − μ| > 2σ/√b) ≤ 1/4 and Hoeffding over
  the blocks P(|median − μ| > 2σ/√b) ≤ exp(−k/8); k = ⌈8 ln(2d/α)⌉ makes the false
  failure probability ≤ α = 1e-7 over the d coordinates, σ² the exact variance.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgmath import strategies as pst
from pgmath.errors import EstimatorError, InvalidArgumentError
from pgmath.lqr import GaussianLinearPolicy, LQRProblem, gradient, objective, sample
from pgmath.lqr import estimators as E
from pgmath.lqr.moments import estimator_moments, optimal_constant_baseline, weights_moments
from pgmath.lqr.quadrature import quadrature_moments

REL = 1e-9


def _estimators(problem, policy, theta):
    d = policy.n_params
    out = [E.reinforce, E.reward_to_go, E.score_sum, E.reward_to_go_step_discount,
           E.constant_baseline(0.7), E.constant_baseline(np.linspace(-1, 1, d), base="reinforce")]
    if problem.horizon is not None:
        out.append(E.value_baseline(problem, policy, theta))
    return out


def _agree(a, b, scale):
    np.testing.assert_allclose(a, b, rtol=0, atol=REL * max(1.0, scale))


def _against_quadrature(problem, policy, theta, estimators):
    for est in estimators:
        mo = estimator_moments(est, problem, policy, theta)
        qm = quadrature_moments(est, problem, policy, theta, q=5)
        _agree(mo.mean, qm.mean, float(np.max(qm.abs_mean)))
        _agree(mo.cov, qm.cov, float(np.max(qm.abs_second)))
    return mo


@given(pst.lqr_problems(min_states=1, max_states=2, max_actions=1, horizon=(1, 2),
                        discount=st.sampled_from([1.0, 0.8]), max_noise_rank=1))
def test_recursion_equals_quadrature(case):
    problem, policy, theta = case
    mo = _against_quadrature(problem, policy, theta, _estimators(problem, policy, theta))
    assert mo.objective == pytest.approx(objective(problem, policy, theta), rel=1e-10, abs=1e-10)


@given(pst.lqr_problems(min_states=1, max_states=1, max_actions=1, horizon=2,
                        time_varying=True, max_noise_rank=1))
def test_time_varying_recursion_equals_quadrature(case):
    problem, policy, theta = case
    _against_quadrature(problem, policy, theta, (E.reinforce, E.reward_to_go))


def test_two_dimensional_actions_against_quadrature():
    """n = 1, m = 2, T = 2, W = 0, Σ₀ = 0: D = 4 normals, 5⁴ nodes."""
    prob = LQRProblem(A=[[0.8]], B=[[0.5, -0.3]], Q=[[1.0]], R=[[0.4, 0.1], [0.1, 0.2]],
                      N=[[0.1, 0.05]], Q_T=[[0.5]], mu0=[1.0], horizon=2, discount=0.9)
    pol = GaussianLinearPolicy(1, 2)
    th = pol.pack([[-0.3], [0.2]], [0.1, -0.2], [-0.2, 0.3])
    _against_quadrature(prob, pol, th, _estimators(prob, pol, th))


@settings(max_examples=12)
@given(pst.lqr_problems(min_states=1, max_states=3, max_actions=2, horizon=(1, 6),
                        discount=st.sampled_from([1.0, 0.9])))
def test_unbiased_estimators_have_mean_grad_J(case):
    problem, policy, theta = case
    g = gradient(problem, policy, theta)
    for est in (E.reinforce, E.reward_to_go, E.constant_baseline(-2.0),
                E.value_baseline(problem, policy, theta)):
        mo = estimator_moments(est, problem, policy, theta)
        mag = weights_moments(est.lqr_weights(problem.horizon, problem.discount), problem, policy,
                              theta, absolute=True).mean
        np.testing.assert_allclose(mo.mean, g, rtol=0, atol=1e-10 * max(1.0, float(mag.max())))
    assert np.allclose(estimator_moments(E.score_sum, problem, policy, theta).mean, 0.0,
                       atol=1e-10 * max(1.0, float(np.abs(g).max())))


@pytest.mark.parametrize("T", [3, 4])
def test_longer_horizons_against_quadrature(T):
    """Past sums squared (REINFORCE's Σ_{t'<t} ρ_{t'} twice) first matter at T = 3."""
    prob = LQRProblem(A=[[0.9, 0.2], [0.0, 0.7]], B=[[0.3], [0.6]], Q=np.diag([1.0, 0.5]),
                      R=[[0.2]], N=[[0.05], [0.0]], Q_T=np.eye(2), mu0=[0.5, -1.0],
                      Sigma0=[[0.2, 0.1], [0.1, 0.05]], horizon=T, discount=0.95)
    pol = GaussianLinearPolicy(2, 1)
    th = pol.pack([[-0.4, 0.1]], [0.2], [np.log(0.6)])
    assert prob.noise_dimension() == 1 + T
    _against_quadrature(prob, pol, th, _estimators(prob, pol, th))


@settings(max_examples=10)
@given(pst.lqr_problems(min_states=2, max_states=3, min_actions=1, max_actions=2, horizon=(2, 5),
                        discount=st.sampled_from([1.0, 0.9])))
def test_mean_against_median_of_means(case):
    """Monte Carlo with a guarantee (module docstring): N = 2¹⁵ draws, fixed seed."""
    problem, policy, theta = case
    alpha = 1e-7
    d = policy.n_params
    k = int(np.ceil(8 * np.log(2 * d / alpha)))
    b = 2 ** 15 // k
    batch = sample(problem, policy, theta, k * b, np.random.default_rng(12345))
    for est in (E.reinforce, E.reward_to_go_step_discount):
        mo = estimator_moments(est, problem, policy, theta)
        g = est(batch, policy, theta).reshape(k, b, d).mean(axis=1)
        med = np.median(g, axis=0)
        eps = 2 * np.sqrt(np.maximum(mo.variance, 0) / b)
        assert np.all(np.abs(med - mo.mean) <= eps + 1e-9 * (1 + np.abs(mo.mean))), (med, mo.mean, eps)


def test_reward_to_go_has_less_variance_here_and_baselines_help():
    """A fixed double-integrator case: the exact covariances order as expected."""
    prob = LQRProblem(A=[[1.0, 0.1], [0.0, 1.0]], B=[[0.0], [0.1]], Q=np.eye(2), R=[[0.1]],
                      W=0.01 * np.eye(2), mu0=[1.0, 0.0], Sigma0=0.1 * np.eye(2), horizon=10)
    pol = GaussianLinearPolicy(2, 1)
    th = pol.pack([[-1.0, -1.5]], [0.0], [np.log(0.5)])
    tr = {est.__name__: np.trace(estimator_moments(est, prob, pol, th).cov)
          for est in (E.reinforce, E.reward_to_go, E.value_baseline(prob, pol, th))}
    assert tr["value_baseline"] < tr["reward_to_go"] < tr["reinforce"]
    b = optimal_constant_baseline(prob, pol, th)
    v_opt = np.diag(estimator_moments(E.constant_baseline(b), prob, pol, th).cov)
    for other in (0.0, b.mean(), 2 * b.mean()):
        v = np.diag(estimator_moments(E.constant_baseline(other), prob, pol, th).cov)
        assert np.all(v_opt <= v * (1 + 1e-10) + 1e-10)


def test_refusals():
    prob = LQRProblem(A=[[1.0]], B=[[1.0]], Q=[[1.0]], R=[[1.0]], discount=0.9)
    pol = GaussianLinearPolicy(1, 1)
    with pytest.raises(EstimatorError, match="infinite horizon"):
        estimator_moments(E.reinforce, prob, pol, pol.pack([[-0.5]]))
    with pytest.raises(EstimatorError, match="lqr_weights"):
        estimator_moments(lambda b, p, t: 0, prob.with_horizon(2), pol, pol.pack([[-0.5]]))
    big = GaussianLinearPolicy(4, 2, time_varying=True, horizon=200)
    prob4 = LQRProblem(A=np.eye(4), B=np.ones((4, 2)), Q=np.eye(4), R=np.eye(2), horizon=200)
    with pytest.raises(InvalidArgumentError, match="d × d moment blocks"):
        estimator_moments(E.reinforce, prob4, big, np.zeros(big.n_params))
