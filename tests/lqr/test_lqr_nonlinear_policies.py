"""State-dependent σ and tanh squashing (T = 1): exact J and ∇J by two routes, the
certified one-dimensional integrals, and the verdicts of check_unbiased on hand-written
estimators, each held against the exact mean of the same estimator computed by the
white-box formulas of pgmath.lqr.squashing (or quadrature of the code)."""
import numpy as np
import pytest
from scipy import integrate

from pgmath.errors import InvalidArgumentError
from pgmath.lqr import (LQRProblem, SquashedGaussianPolicy, StateDependentGaussianPolicy,
                        check_unbiased, squashing, state_noise)
from pgmath.lqr.quadrature import quadrature_mean

import lqr_reference as ref
import user_estimators as U

PROB = LQRProblem(A=[[0.9, 0.1], [0.0, 0.8]], B=[[0.5], [0.3]], Q=np.eye(2), R=[[0.3]],
                  N=[[0.1], [0.0]], Q_T=0.5 * np.eye(2), W=0.1 * np.eye(2), mu0=[0.5, -0.2],
                  Sigma0=[[0.3, 0.1], [0.1, 0.2]], horizon=1, discount=0.9)


def test_state_noise_routes():
    pol = StateDependentGaussianPolicy(2, 1)
    th = pol.pack([[-0.4, 0.2]], [0.3], [-0.2], [[0.3, -0.5]])
    g = state_noise.gradient(PROB, pol, th)
    np.testing.assert_allclose(g, state_noise.gradient(PROB, pol, th, method="autograd"),
                               atol=1e-13)
    fd = ref.central_differences(lambda t: state_noise.objective(PROB, pol, t), th)
    np.testing.assert_allclose(g, fd, atol=1e-9)
    # J against quadrature of the return on a one-dimensional version (x₀ ~ N, W = 0):
    # exp(2Dx) is entire, 80 Gauss–Hermite nodes per normal leave < 1e-12
    p1 = LQRProblem(A=[[0.9]], B=[[0.5]], Q=[[1.0]], R=[[0.3]], Q_T=[[0.5]], mu0=[0.5],
                    Sigma0=[[0.3]], horizon=1, discount=0.9)
    q1 = StateDependentGaussianPolicy(1, 1)
    t1 = q1.pack([[-0.4]], [0.3], [-0.2], [[0.6]])
    ret = quadrature_mean(lambda b, p, t: np.repeat(b.returns()[:, None], p.n_params, 1),
                          p1, q1, t1, q=80).mean[0]
    assert ret == pytest.approx(state_noise.objective(p1, q1, t1), abs=1e-12)
    with pytest.raises(InvalidArgumentError, match="T = 1 only"):
        state_noise.objective(PROB.with_horizon(2), pol, th)


@pytest.mark.parametrize("m, s", [(0.3, 1.7), (-2.0, 0.2), (0.0, 4.0)])
def test_tanh_moments_are_within_their_certified_bound(m, s):
    tm = squashing.tanh_moments(m, s, 4, 3)
    for j in range(5):
        for q in range(4):
            r, _ = integrate.quad(lambda z: (m + s * z) ** j * np.tanh(m + s * z) ** q
                                  * np.exp(-z * z / 2) / np.sqrt(2 * np.pi), -40, 40,
                                  epsabs=1e-14, epsrel=1e-13, limit=400)
            assert abs(tm.values[j, q] - r) <= tm.bound[j, q] + 1e-13 * (1 + abs(r))
    assert np.all(tm.bound < 1e-15 * (1 + np.abs(tm.values)).max() * 10)


def test_squashed_routes():
    pol = SquashedGaussianPolicy(2, 1)
    th = pol.pack([[-0.4, 0.2]], [0.3], [np.log(0.8)])
    g = squashing.gradient(PROB, pol, th)
    np.testing.assert_allclose(g, squashing.gradient(PROB, pol, th, method="autograd"), atol=1e-12)
    fd = ref.central_differences(lambda t: squashing.objective(PROB, pol, t), th, h=1e-2)
    np.testing.assert_allclose(g, fd, atol=1e-9)
    rep, bound = squashing.reparameterised_mean(PROB, pol, th)
    np.testing.assert_allclose(rep, g, atol=1e-12)
    for variant in ("without_log_det",):
        np.testing.assert_allclose(squashing.score_function_mean(PROB, pol, th, variant=variant)[0],
                                   g, atol=0)
    with pytest.raises(InvalidArgumentError, match="m = 1"):
        squashing.objective(PROB.with_horizon(2), pol, th)


SQ_PROB = LQRProblem(A=[[0.9]], B=[[0.5]], Q=[[1.0]], R=[[0.3]], N=[[0.1]], Q_T=[[0.5]],
                     mu0=[0.5], Sigma0=[[0.3]], horizon=1, discount=0.9)


def _score_mean(variant):
    return lambda prob, pol, th: squashing.score_function_mean(prob, pol, th, variant=variant)[0]


def _reparam_mean(jacobian):
    return lambda prob, pol, th: squashing.reparameterised_mean(prob, pol, th, jacobian=jacobian)[0]


@pytest.mark.parametrize("est, exact_mean, unbiased", [
    (U.squashed_reinforce(log_det=True), _score_mean("with_log_det"), True),
    (U.squashed_reinforce(log_det=False), _score_mean("without_log_det"), True),
    (U.squashed_reinforce(atanh=False), _score_mean("gaussian_of_squashed_action"), False),
    (U.pathwise(SQ_PROB, squashed=True, tanh_jacobian=True), _reparam_mean(True), True),
    (U.pathwise(SQ_PROB, squashed=True, tanh_jacobian=False), _reparam_mean(False), False),
], ids=["score+logdet", "score-logdet", "score-gaussian-of-a", "reparam+jac", "reparam-jac"])
def test_squashing_verdicts_follow_the_mathematics(est, exact_mean, unbiased):
    """x₀ ~ N (rank 1), W = 0: D = 2 normals. The estimator is not a polynomial in them
    (tanh), so the check takes the smooth quadrature; its E[g] is held against the
    white-box exact mean (certified one-dimensional integrals)."""
    pol = SquashedGaussianPolicy(1, 1)
    th = pol.pack([[-0.4]], [0.3], [np.log(0.8)])
    res = check_unbiased(est, SQ_PROB, pol, th)
    assert res.method == "smooth-quadrature" and res.passed == unbiased, res.report
    np.testing.assert_allclose(res.estimate, exact_mean(SQ_PROB, pol, th), atol=1e-10)


@pytest.mark.parametrize("chain_rule", [True, False])
def test_state_dependent_sigma_verdicts(chain_rule):
    est = U.state_sigma_reinforce(chain_rule=chain_rule)
    pol = StateDependentGaussianPolicy(1, 1)
    th = pol.pack([[-0.4]], [0.3], [-0.2], [[0.6]])
    # deterministic x₀: a polynomial in ε, the exact quadrature decides it
    p_det = SQ_PROB.replace(Sigma0=None, mu0=[0.8])
    res = check_unbiased(est, p_det, pol, th)
    assert res.method == "quadrature" and res.passed == chain_rule, res.report
    # x₀ ~ N(0.5, 0.3): exp(Dx) in the score, the smooth quadrature
    res = check_unbiased(est, SQ_PROB, pol, th)
    assert res.method == "smooth-quadrature" and res.passed == chain_rule, res.report
