"""LQRProblem validation: every bad input gets a named error that says what is wrong."""
import numpy as np
import pytest

from pgmath.errors import InvalidMDPError, PgmathError, ShapeError
from pgmath.lqr import LQRProblem
from pgmath.lqr.problem import psd_factor

GOOD = dict(A=np.eye(2), B=np.ones((2, 1)), Q=np.eye(2), R=[[1.0]], horizon=3)


@pytest.mark.parametrize("change, error, words", [
    (dict(A=np.ones((2, 3))), ShapeError, "square"),
    (dict(B=np.ones((3, 1))), ShapeError, "B has shape"),
    (dict(Q=np.eye(3)), ShapeError, "Q has shape"),
    (dict(R=np.eye(2)), ShapeError, "R has shape"),
    (dict(N=np.ones((2, 2))), ShapeError, "N has shape"),
    (dict(mu0=[1.0]), ShapeError, "mu0"),
    (dict(Q=[[1.0, 0.5], [0.0, 1.0]]), InvalidMDPError, "Q must be symmetric: Q[0, 1]"),
    (dict(Q=[[1.0, 0.0], [0.0, -2.0]]), InvalidMDPError, "Q must be positive semi-definite"),
    (dict(R=[[-1.0]]), InvalidMDPError, "R must be positive semi-definite"),
    (dict(N=[[3.0], [0.0]]), InvalidMDPError, "stage cost"),
    (dict(W=[[1.0, 2.0], [2.0, 1.0]]), InvalidMDPError, "W must be positive semi-definite"),
    (dict(Sigma0=-np.eye(2)), InvalidMDPError, "Sigma0"),
    (dict(Q_T=[[0.0, 1.0], [1.0, 0.0]]), InvalidMDPError, "Q_T"),
    (dict(A=[[np.nan, 0.0], [0.0, 1.0]]), InvalidMDPError, "not finite"),
    (dict(horizon=None), InvalidMDPError, "γ < 1"),
    (dict(horizon=None, discount=0.9, Q_T=np.eye(2)), InvalidMDPError, "terminal cost"),
    (dict(horizon=0), InvalidMDPError, "horizon"),
    (dict(discount=1.5), InvalidMDPError, "discount"),
])
def test_bad_problems_are_named(change, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("(", r"\(")) as info:
        LQRProblem(**{**GOOD, **change})
    assert isinstance(info.value, PgmathError) and isinstance(info.value, ValueError)


def test_defaults_and_derived_problems():
    p = LQRProblem(**GOOD)
    assert (p.n_states, p.n_actions, p.horizon, p.discount) == (2, 1, 3, 1.0)
    assert np.all(p.N == 0) and np.all(p.W == 0) and np.all(p.Sigma0 == 0)
    assert p.noise_dimension() == 3  # no Σ₀, no W: one ε per step
    q = p.with_discount(0.5).with_horizon(None)
    assert q.horizon is None and q.discount == 0.5
    with pytest.raises(ValueError):
        q.A[0, 0] = 2.0  # read-only


def test_psd_factor_reproduces_and_drops_the_null_space():
    rng = np.random.default_rng(0)
    M = rng.normal(size=(4, 2))
    S = M @ M.T
    L = psd_factor(S)
    assert L.shape == (4, 2)
    np.testing.assert_allclose(L @ L.T, S, atol=1e-12)
    assert psd_factor(np.zeros((3, 3))).shape == (3, 0)


def test_rewards():
    p = LQRProblem(A=np.eye(2), B=np.ones((2, 1)), Q=np.diag([1.0, 2.0]), R=[[3.0]],
                   N=[[0.5], [0.0]], Q_T=np.eye(2), horizon=2)
    x, u = np.array([1.0, -1.0]), np.array([2.0])
    assert p.stage_reward(x, u) == -(1 + 2 + 12 + 2 * 0.5 * 2)
    assert p.terminal_reward(x) == -2.0
