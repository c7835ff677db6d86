"""The named linear-quadratic environment: its matrices, J against the independent
reference, J* at the Riccati gain, bad input."""
import numpy as np
import pytest

from pgmath import environments as envs
from pgmath.errors import InvalidMDPError
from pgmath.lqr import GaussianLinearPolicy, objective, optimal_gain, optimal_objective

import lqr_reference as ref


def test_double_integrator():
    p = envs.make("double_integrator")
    dt = 0.1
    np.testing.assert_array_equal(p.A, [[1.0, dt], [0.0, 1.0]])
    np.testing.assert_allclose(p.B, [[dt * dt / 2], [dt]])
    assert (p.horizon, p.discount, p.n_states, p.n_actions) == (50, 1.0, 2, 1)
    pol = envs.default_policy(p)
    assert isinstance(pol, GaussianLinearPolicy)
    th = np.zeros(pol.n_params)
    Ks, ks, ss = pol.gains(th, 50)
    assert objective(p, pol, th) == pytest.approx(
        ref.objective(p.A, p.B, p.Q, p.R, p.N, p.Q_T, p.W, p.mu0, p.Sigma0, Ks, ks, ss, 1.0), rel=1e-12)
    K, _ = optimal_gain(p)
    tv = GaussianLinearPolicy(2, 1, time_varying=True, horizon=50)
    assert objective(p, tv, tv.pack(K, None, np.full((50, 1), -30.0))) == pytest.approx(
        optimal_objective(p), rel=1e-12)
    assert optimal_objective(p) > objective(p, pol, th)
    disc = envs.double_integrator(horizon=None, discount=0.95)
    Kd, _ = optimal_gain(disc)
    assert np.max(np.abs(np.linalg.eigvals(disc.A + disc.B @ Kd))) < 1
    with pytest.raises(InvalidMDPError, match="dt > 0"):
        envs.double_integrator(dt=0.0)
