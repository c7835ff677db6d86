"""Gaussian policies: the hand-derived score ψ against autograd of the log-density, the
sampler's actions, packing of θ."""
import autograd
import numpy as np
import pytest

from pgmath.errors import InvalidPolicyError, ShapeError
from pgmath.lqr import (GaussianLinearPolicy, LQRProblem, SquashedGaussianPolicy,
                        StateDependentGaussianPolicy, sample)

POLICIES = [GaussianLinearPolicy(3, 2), GaussianLinearPolicy(2, 1, time_varying=True, horizon=3),
            StateDependentGaussianPolicy(3, 2), SquashedGaussianPolicy(2, 1)]


@pytest.mark.parametrize("pol", POLICIES, ids=repr)
def test_score_is_the_gradient_of_the_log_density(pol):
    """Expected value: autograd of log π_θ(u|x) (the module's formula is derived by hand)."""
    rng = np.random.default_rng(1)
    theta = 0.3 * rng.normal(size=pol.n_params)
    x = rng.normal(size=(5, pol.n_states))
    eps = rng.normal(size=(5, pol.n_actions))
    T = pol.horizon if pol.time_varying else 1
    for t in range(T):
        u = np.asarray(pol.act(theta, t, x, eps))
        psi = pol.score(theta, t, x, u)
        for i in range(5):
            ref = autograd.grad(lambda th: pol.log_prob(th, t, x[i:i + 1], u[i:i + 1])[0])(theta)
            np.testing.assert_allclose(psi[i], ref, atol=1e-10)
        np.testing.assert_allclose(pol.noise_of(theta, t, x, u), eps, atol=1e-9)


def test_squashed_log_density_has_the_jacobian_term():
    pol = SquashedGaussianPolicy(1, 1)
    theta = pol.pack([[0.0]], [0.0], [0.0])
    a = np.array([[0.5]])
    v = np.arctanh(0.5)
    expected = -0.5 * v ** 2 - 0.5 * np.log(2 * np.pi) - np.log(1 - 0.25)
    assert pol.log_prob(theta, 0, np.zeros((1, 1)), a)[0] == pytest.approx(expected, abs=1e-14)


def test_pack_and_params():
    pol = GaussianLinearPolicy(2, 1, time_varying=True, horizon=2)
    th = pol.pack(K=[[[1.0, 2.0]], [[3.0, 4.0]]], k=[[5.0], [6.0]], log_sigma=[[7.0], [8.0]])
    assert th.tolist() == [1, 2, 5, 7, 3, 4, 6, 8]
    K, k, ls = pol.params(th, 1)
    assert K.tolist() == [[3.0, 4.0]] and k.tolist() == [6.0] and ls.tolist() == [8.0]
    with pytest.raises(ShapeError, match="K has shape"):
        pol.pack(K=np.ones((3, 1, 2)))
    with pytest.raises(InvalidPolicyError, match="length 4 but .* needs 3"):
        GaussianLinearPolicy(1, 1).check_theta(np.zeros(4))
    with pytest.raises(InvalidPolicyError, match="not finite"):
        GaussianLinearPolicy(1, 1).check_theta([0.0, np.inf, 0.0])
    with pytest.raises(InvalidPolicyError, match="horizon"):
        GaussianLinearPolicy(1, 1, time_varying=True)


def test_policy_must_fit_the_problem():
    prob = LQRProblem(A=np.eye(2), B=np.ones((2, 1)), Q=np.eye(2), R=[[1.0]], horizon=4)
    with pytest.raises(ShapeError, match="n=3"):
        GaussianLinearPolicy(3, 1).check_compatible(prob)
    with pytest.raises(ShapeError, match="T = 3"):
        GaussianLinearPolicy(2, 1, time_varying=True, horizon=3).check_compatible(prob)


def test_sampler_shapes_and_mean_action():
    """The mean action over many draws is Kx + k: a Bernstein-free check with a fixed
    seed (|mean ε| over N = 200,000 is 1e-2 with probability ≥ 1 − 1e-8 by the Gaussian
    tail, Var ε̄ = 1/N)."""
    prob = LQRProblem(A=np.eye(2), B=np.ones((2, 1)), Q=np.eye(2), R=[[1.0]], mu0=[1.0, 2.0],
                      horizon=3)
    pol = GaussianLinearPolicy(2, 1)
    th = pol.pack([[0.5, -1.0]], [0.25], [0.0])
    b = sample(prob, pol, th, 200_000, np.random.default_rng(0))
    assert b.states.shape == (200_000, 4, 2) and b.actions.shape == (200_000, 3, 1)
    assert abs(b.actions[:, 0, 0].mean() - (0.5 - 2.0 + 0.25)) < 1.3e-2
    np.testing.assert_allclose(b.rewards, prob.stage_reward(b.states[:, :3], b.actions))
