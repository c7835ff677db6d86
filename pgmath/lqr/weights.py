"""The description of a score-function estimator on continuous trajectories.

Every built-in estimator of :mod:`pgmath.lqr.estimators` is one member of the family

    g(τ) = Σ_{t<T} ψ_t ⊙ [η_t ρ_t + κ_t Σ_{t'>t} ρ_{t'} + β_t Σ_{t'<t} ρ_{t'} − b_t(x_t)
                          − ω_t b],
    ρ_t = γ^t r_t (t < T),  ρ_T = γ^T r_T (the terminal reward, in every future sum),

ψ_t = ∇_θ log π_θ(u_t|x_t) ``[d]``, b_t(x) = xᵀH_t x + h_tᵀx + h⁰_t a state baseline
(a quadratic, so the exact value function V_t fits), b ``[d]`` a per-component constant
baseline. REINFORCE is η = κ = β = 1, reward-to-go η = κ = 1, β = 0; the common
discount γ^{t'−t} is η_t = κ_t = γ^{−t}. The moment recursion
(:mod:`pgmath.lqr.moments`) reads this description, never the function's name, and
:func:`pgmath.lqr.check.check_unbiased` refuses a description that disagrees with the code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import EstimatorError, ShapeError

__all__ = ["LQRWeights"]


def _per_step(v, T: int, name: str) -> np.ndarray:
    a = np.broadcast_to(np.asarray(v, dtype=float), (T,)).copy()
    if not np.all(np.isfinite(a)):
        raise EstimatorError(f"{name} has a non-finite weight: {a.tolist()}")
    return a


@dataclass(frozen=True, eq=False)
class LQRWeights:
    """The weights of one estimator (module docstring) for horizon T.

    Attributes:
      T: horizon; eta, kappa, beta, omega: ``[T]``.
      H: ``[T, n, n]``, h: ``[T, n]``, h0: ``[T]`` the state baseline (``None``: none).
      offset: ``[d]`` the constant baseline b (``None``: none).
    """

    T: int
    eta: np.ndarray
    kappa: np.ndarray
    beta: np.ndarray
    omega: np.ndarray
    H: np.ndarray | None = None
    h: np.ndarray | None = None
    h0: np.ndarray | None = None
    offset: np.ndarray | None = None

    @classmethod
    def make(cls, T: int, *, eta=1.0, kappa=1.0, beta=0.0, omega=1.0, baseline=None,
             offset=None) -> "LQRWeights":
        """Weights broadcast to ``[T]``; ``baseline`` = (H ``[T, n, n]``, h ``[T, n]``,
        h0 ``[T]``) or ``None``; ``offset`` a number or ``[d]`` vector or ``None``."""
        H = h = h0 = None
        if baseline is not None:
            H, h, h0 = (np.asarray(v, dtype=float) for v in baseline)
            if H.ndim != 3 or H.shape[0] != T or H.shape[1] != H.shape[2] or \
                    h.shape != H.shape[:2] or h0.shape != (T,):
                raise ShapeError(f"a state baseline needs H [T, n, n], h [T, n], h0 [T] with "
                                 f"T = {T}; got {H.shape}, {h.shape}, {h0.shape}")
        off = None if offset is None else np.atleast_1d(np.asarray(offset, dtype=float))
        return cls(int(T), _per_step(eta, T, "eta"), _per_step(kappa, T, "kappa"),
                   _per_step(beta, T, "beta"), _per_step(omega, T, "omega"), H, h, h0, off)

    def absolute(self) -> "LQRWeights":
        """Every weight replaced by its magnitude (for the rounding bound)."""
        ab = lambda v: None if v is None else np.abs(v)  # noqa: E731
        return LQRWeights(self.T, *(np.abs(v) for v in (self.eta, self.kappa, self.beta,
                                                          self.omega)),
                          ab(self.H), ab(self.h), ab(self.h0), ab(self.offset))

    def baseline_values(self, states: np.ndarray) -> np.ndarray:
        """``[N, T]`` b_t(x_t) for states ``[N, T+1, n]`` (zeros without a baseline)."""
        N = states.shape[0]
        if self.H is None:
            return np.zeros((N, self.T))
        x = states[:, :self.T]
        return (np.einsum("nti,tij,ntj->nt", x, self.H, x) + np.einsum("nti,ti->nt", x, self.h)
                + self.h0[None, :])

    def step_weights(self, batch) -> np.ndarray:
        """``[N, T]`` the scalar weight of ψ_t (everything but the constant offset)."""
        T = self.T
        g = batch.discount
        rho = batch.rewards * g ** np.arange(T)
        term = g ** T * batch.terminal_rewards
        future = np.cumsum(rho[:, ::-1], axis=1)[:, ::-1] - rho + term[:, None]
        past = np.cumsum(rho, axis=1) - rho
        return (self.eta * rho + self.kappa * future + self.beta * past
                - self.baseline_values(batch.states))

    def evaluate(self, batch, scores: np.ndarray) -> np.ndarray:
        """``[N, d]`` g(τ) for a batch and its step scores ψ ``[N, T, d]``."""
        if batch.horizon != self.T:
            raise ShapeError(f"these weights are for T = {self.T}, the batch has T = {batch.horizon}")
        g = np.einsum("ntd,nt->nd", scores, self.step_weights(batch))
        if self.offset is not None:
            g = g - self.offset * np.einsum("ntd,t->nd", scores, self.omega)
        return g
