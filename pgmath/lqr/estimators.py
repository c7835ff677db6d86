"""Score-function estimators of ∇J on continuous trajectories (notes §4.1–4.3).

Each maps a :class:`~pgmath.lqr.trajectories.ContinuousTrajectories` batch to ``[N, d]``
(one row per trajectory; the estimate is the row mean), with the Gaussian score
ψ_t = ∇_θ log π_θ(u_t|x_t) of the policy (:mod:`pgmath.lqr.policies`). Each carries
``lqr_weights(T, discount)``, its :class:`~pgmath.lqr.weights.LQRWeights` description,
from which :func:`pgmath.lqr.estimator_moments` computes the exact mean and covariance.
Rewards are discounted from the start (γ^{t'}), which keeps every estimator here unbiased
for ∇J, except ``reward_to_go_step_discount`` (γ^{t'−t}, biased for γ < 1).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import EstimatorError, ShapeError
from .objective import value_matrices
from .weights import LQRWeights

__all__ = ["reinforce", "reward_to_go", "reward_to_go_step_discount", "score_sum",
           "constant_baseline", "state_baseline", "value_baseline", "pathwise", "describes"]


def describes(fn) -> bool:
    """True when ``fn`` carries an ``lqr_weights`` description."""
    return callable(getattr(fn, "lqr_weights", None))


def _estimator(build: Callable[[int, float], LQRWeights], name: str, doc: str) -> Callable:
    def est(batch, policy, theta):
        spec = build(batch.horizon, batch.discount)
        return spec.evaluate(batch, policy.step_scores(batch, theta))
    est.lqr_weights = build
    est.__name__ = est.__qualname__ = name
    est.__doc__ = doc
    return est


reinforce = _estimator(
    lambda T, g: LQRWeights.make(T, eta=1.0, kappa=1.0, beta=1.0), "reinforce",
    """REINFORCE (notes §4.1): g = (Σ_t ψ_t)(Σ_{t<T} γ^t r_t + γ^T r_T). Returns ``[N, d]``.""")

reward_to_go = _estimator(
    lambda T, g: LQRWeights.make(T, eta=1.0, kappa=1.0, beta=0.0), "reward_to_go",
    """Reward-to-go (notes §4.3.1): g = Σ_t ψ_t Σ_{t'≥t} γ^{t'} r_{t'} (the terminal reward
    γ^T r_T included). Returns ``[N, d]``.""")

score_sum = _estimator(
    lambda T, g: LQRWeights.make(T, eta=0.0, kappa=0.0, beta=0.0, offset=-1.0),
    "score_sum", """The score of the trajectory, Σ_t ψ_t (mean 0). Returns ``[N, d]``.""")


def _step_discount(T, g):
    w = g ** -np.arange(T, dtype=float)
    return LQRWeights.make(T, eta=w, kappa=w, beta=0.0)


reward_to_go_step_discount = _estimator(
    _step_discount, "reward_to_go_step_discount",
    """Reward-to-go with the common discount γ^{t'−t}: g = Σ_t ψ_t Σ_{t'≥t} γ^{t'−t} r_{t'}.
    Biased for ∇J when γ < 1. Returns ``[N, d]``.""")


def _base(base: str) -> dict:
    if base == "reinforce":
        return dict(eta=1.0, kappa=1.0, beta=1.0)
    if base == "reward_to_go":
        return dict(eta=1.0, kappa=1.0, beta=0.0)
    raise EstimatorError(f"base must be 'reinforce' or 'reward_to_go', got {base!r}")


def constant_baseline(b, *, base: str = "reward_to_go") -> Callable:
    """A constant baseline (notes §4.3.2): g = Σ_t ψ_t (W_t − b), W_t the return
    (``base="reinforce"``) or the reward-to-go (``base="reward_to_go"``); b a number or a
    ``[d]`` vector (component j uses b_j). Unbiased for every b (E[ψ_t | x_t] = 0)."""
    kw = _base(base)
    b_arr = np.asarray(b, dtype=float)
    if b_arr.ndim > 1 or not np.all(np.isfinite(b_arr)):
        raise EstimatorError(f"b must be a finite number or a vector [d], got {b!r}")
    label = f"{float(b_arr):g}" if b_arr.ndim == 0 else f"[{b_arr.size} values]"
    return _estimator(lambda T, g: LQRWeights.make(T, offset=b_arr, **kw),
                      f"constant_baseline({label}, base={base!r})", constant_baseline.__doc__)


def state_baseline(H, h, h0, *, base: str = "reward_to_go") -> Callable:
    """A quadratic state baseline: g = Σ_t ψ_t (W_t − b_t(x_t)), b_t(x) = xᵀH_t x + h_tᵀx + h⁰_t.

    Args:
      H: ``[T, n, n]``; h: ``[T, n]``; h0: ``[T]`` (the estimator then needs horizon T).
    Unbiased for every such b (E[ψ_t b_t(x_t)] = E[b_t(x_t) E[ψ_t | x_t]] = 0).
    """
    kw = _base(base)
    H, h, h0 = (np.asarray(v, dtype=float) for v in (H, h, h0))
    T = H.shape[0] if H.ndim == 3 else -1

    def build(T_, g):
        if T_ != T:
            raise ShapeError(f"this state baseline is for T = {T}, the batch has T = {T_}")
        return LQRWeights.make(T_, baseline=(H, h, h0), **kw)
    if T <= 0:
        raise ShapeError(f"H must be [T, n, n], got shape {H.shape}")
    LQRWeights.make(T, baseline=(H, h, h0))  # validates the shapes now, not at the first call
    return _estimator(build, f"state_baseline(base={base!r})", state_baseline.__doc__)


def value_baseline(problem, policy, theta) -> Callable:
    """Reward-to-go with the exact value function as baseline: g = Σ_t ψ_t (G_t − γ^t V_t(x_t)),
    G_t = Σ_{t'≥t} γ^{t'} r_{t'}, V_t(x) = −(xᵀP_t x + 2p_tᵀx + c_t) (:func:`pgmath.lqr.objective`
    ``value_matrices``): the advantage estimator Σ_t ψ_t γ^t (Q_t − V_t) in its sampled form."""
    if problem.horizon is None:
        raise EstimatorError("value_baseline needs a finite horizon")
    P, p, c = value_matrices(problem, policy, theta)
    T = problem.horizon
    w = problem.discount ** np.arange(T)
    est = state_baseline(-w[:, None, None] * P[:T], -2 * w[:, None] * p[:T], -w * c[:T])
    est.__name__ = est.__qualname__ = "value_baseline"
    return est


def pathwise(problem) -> Callable:
    """The reparameterised (pathwise) gradient through the known dynamics:
    g = ∇_θ [Σ_{t<T} γ^t r_t + γ^T r_T] with u_t = K_t x_t + k_t + σ_t ⊙ ε_t and
    x_{t+1} = A x_t + B u_t + w_t held as functions of θ at the drawn (x_0, ε, w).

    Backpropagation through time with the adjoint λ_t = ∂(γ^t r_t + … + γ^T r_T)/∂x_t:
    λ_T = −2γ^T Q_T x_T, and for t = T−1, …, 0, with δ_t = −2γ^t(R u_t + Nᵀx_t) + Bᵀλ_{t+1}
    (the derivative with respect to u_t),

        ∂g/∂K_t = δ_t x_tᵀ,  ∂g/∂k_t = δ_t,  ∂g/∂log σ_t = δ_t ⊙ σ_t ⊙ ε_t,
        λ_t = −2γ^t(Q x_t + N u_t) + Aᵀλ_{t+1} + K_tᵀ δ_t.

    Unbiased (E[g] = ∇J: the expectation of a pathwise derivative); not a score-function
    estimator, so it has no ``lqr_weights`` description and its exact moments come from
    quadrature (:func:`pgmath.lqr.quadrature_moments`). Needs the batch's noises ε_t.
    """
    A, B, Q, R, N, QT, g = (problem.A, problem.B, problem.Q, problem.R, problem.N,
                            problem.Q_T, problem.discount)

    def est(batch, policy, theta):
        if batch.noise is None:
            raise EstimatorError("pathwise needs the batch's noises ε_t (batch.noise)")
        x, u, eps = batch.states, batch.actions, batch.noise
        Nb, T, m = u.shape
        Ks, ks, ss = policy.gains(theta, T)
        lam = -2 * g ** T * x[:, T] @ QT
        blocks = []
        for t in range(T - 1, -1, -1):
            xt, ut = x[:, t], u[:, t]
            delta = -2 * g ** t * (ut @ R + xt @ N) + lam @ B
            blocks.append(np.concatenate([(delta[:, :, None] * xt[:, None, :]).reshape(Nb, -1),
                                          delta, delta * ss[t] * eps[:, t]], axis=1))
            lam = -2 * g ** t * (xt @ Q + ut @ N.T) + lam @ A + delta @ Ks[t]
        blocks = blocks[::-1]
        return np.concatenate(blocks, axis=1) if policy.time_varying else sum(blocks)
    est.__name__ = est.__qualname__ = "pathwise"
    return est
