"""Exact J(θ) and ∇J(θ) for a state-dependent σ on a one-step problem (T = 1).

The policy u = Kx + k + σ(x) ⊙ ε with log σ(x) = c + Dx
(:class:`~pgmath.lqr.policies.StateDependentGaussianPolicy`). For T = 1 only x_0 and x_1
appear, and everything σ(x) contributes is E[σ_i(x)²] = E[exp(2c_i + 2D_i x)], the Gaussian
moment generating function at x ~ N(μ₀, Σ₀):

    s_i = exp(2c_i + 2D_i μ₀ + 2 D_i Σ₀ D_iᵀ),
    J = −[tr((Q + KᵀRK + NK + KᵀNᵀ) X₀) + 2μ₀ᵀ(KᵀR + N)k + kᵀRk + Σ_i R̃_ii s_i]
        − γ[tr(FᵀQ_T F X₀) + 2(Fμ₀)ᵀQ_T Bk + kᵀBᵀQ_T Bk + tr(Q_T W)],

with F = A + BK, X₀ = Σ₀ + μ₀μ₀ᵀ and R̃ = R + γBᵀQ_T B. Its gradient in closed form (the
pathwise gradient E[(∂u/∂θ)ᵀ ∂Q/∂u], as in :mod:`pgmath.lqr.objective`): with
E = R̃K + Nᵀ + γBᵀQ_T A and e = R̃k,

    ∂J/∂K = −2(E X₀ + e μ₀ᵀ),  ∂J/∂k = −2(E μ₀ + e),
    ∂J/∂c_i = −2 R̃_ii s_i,  ∂J/∂D_i = −2 R̃_ii s_i (μ₀ + 2 Σ₀ D_iᵀ)ᵀ;

the second route is autograd through J. For T ≥ 2, σ(x_1) depends on exp(D x_0) through
x_1, and E[σ(x_1)²] is E[exp(a exp(b x))]: no closed form, so pgmath refuses.
"""
from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np

from ..errors import InvalidArgumentError, check_choice
from .policies import StateDependentGaussianPolicy

__all__ = ["objective", "gradient"]


def _check(problem, policy, theta):
    if not isinstance(policy, StateDependentGaussianPolicy):
        raise InvalidArgumentError(f"expected a StateDependentGaussianPolicy, got {policy!r}")
    policy.check_compatible(problem)
    if problem.horizon != 1:
        raise InvalidArgumentError(
            f"a state-dependent σ has exact J and ∇J for T = 1 only (E[σ(x_1)²] has no closed "
            f"form once x_1 carries exp(D x_0)); {problem!r} has T = "
            f"{'∞' if problem.horizon is None else problem.horizon}")
    return policy.check_theta(theta)


def _objective(problem, policy, theta):
    A, B, Q, R, N, QT, W, g = (problem.A, problem.B, problem.Q, problem.R, problem.N,
                               problem.Q_T, problem.W, problem.discount)
    mu, S0 = problem.mu0, problem.Sigma0
    X0 = S0 + np.outer(mu, mu)
    K, k, c, D = policy.params(theta)
    s = anp.exp(2 * c + 2 * anp.dot(D, mu) + 2 * anp.sum(anp.dot(D, S0) * D, axis=1))
    Rt = R + g * B.T @ QT @ B
    QK = Q + anp.dot(K.T, anp.dot(R, K)) + anp.dot(N, K) + anp.dot(K.T, N.T)
    stage = (anp.sum(QK * X0) + 2 * anp.dot(mu, anp.dot(anp.dot(K.T, R) + N, k))
             + anp.dot(k, anp.dot(R, k)) + anp.sum(anp.diag(Rt) * s))
    F = A + anp.dot(B, K)
    Bk = anp.dot(B, k)
    term = (anp.sum(anp.dot(F.T, anp.dot(QT, F)) * X0) + 2 * anp.dot(anp.dot(F, mu), anp.dot(QT, Bk))
            + anp.dot(Bk, anp.dot(QT, Bk)) + anp.sum(QT * W))
    return -(stage + g * term)


def objective(problem, policy, theta) -> float:
    """J(θ) for T = 1 (module docstring)."""
    return float(_objective(problem, policy, _check(problem, policy, theta)))


def gradient(problem, policy, theta, *, method: str = "closed_form") -> np.ndarray:
    """``[d]`` ∇J(θ) for T = 1: ``"closed_form"`` (module docstring) or ``"autograd"``."""
    theta = _check(problem, policy, theta)
    if method == "autograd":
        return np.asarray(autograd.grad(lambda th: _objective(problem, policy, th))(theta))
    check_choice("method", method, ("closed_form", "autograd"))
    A, B, R, N, QT, g = problem.A, problem.B, problem.R, problem.N, problem.Q_T, problem.discount
    mu, S0 = problem.mu0, problem.Sigma0
    X0 = S0 + np.outer(mu, mu)
    K, k, c, D = (np.asarray(v) for v in policy.params(theta))
    s = np.exp(2 * c + 2 * D @ mu + 2 * np.sum((D @ S0) * D, axis=1))
    Rt = R + g * B.T @ QT @ B
    E = Rt @ K + N.T + g * B.T @ QT @ A
    e = Rt @ k
    r = np.diag(Rt)
    dK = -2 * (E @ X0 + np.outer(e, mu))
    dk = -2 * (E @ mu + e)
    dc = -2 * r * s
    dD = -2 * (r * s)[:, None] * (mu[None, :] + 2 * D @ S0)
    return np.concatenate([dK.ravel(), dk, dc, dD.ravel()])
