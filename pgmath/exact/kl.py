"""Exact KL divergences between policies and between trajectory distributions (notes §4.5).

    D_KL(π_θ'(·|x) ‖ π_θ(·|x)) = E_{a∼π_θ'}[log π_θ'(a|x) − log π_θ(a|x)]  ≥ 0

(the notes write E_{π_θ'}[log π_θ − log π_θ'], which is the *negative* of this: PG-17).
Between trajectory distributions the dynamics cancel in log p_θ'(τ)/p_θ(τ), so

    D_KL(p_θ'(τ) ‖ p_θ(τ)) = Σ_x w_θ'(x) D_KL(π_θ'(·|x) ‖ π_θ(·|x)),
    w_θ'(x) = Σ_{t<T} p_θ'(x_t = x)                (visits under the *first* argument).

The pair is ``(theta_p, theta_q)`` for D_KL(π_p ‖ π_q), p first, as in D_KL(P ‖ Q);
:func:`pgmath.exact.max_policy_tv` names its (symmetric) pair the same way. TRPO's
constraint is ``kl(mdp, policy, theta_old, theta_new)``.

To second order in Δ = θ' − θ both directions equal ½ Δᵀ F Δ, with F the Fisher
matrix of the same weighting (PG-18: the notes drop the ½).

Everything is computed from log-probabilities (log-sum-exp), so near-deterministic
policies (logits of ±1e3) give finite divergences.
"""
from __future__ import annotations

import numpy as np

from .._deprecation import keyword_only
from ..errors import InvalidArgumentError, ShapeError
from .fisher import input_weights

__all__ = ["policy_kl", "kl", "trajectory_kl", "kl_quadratic"]


def policy_kl(policy, theta_p, theta_q) -> np.ndarray:
    """``[X]`` D_KL(π_p(·|x) ‖ π_q(·|x)) = Σ_a π_p(a|x) (log π_p(a|x) − log π_q(a|x))."""
    lp = np.asarray(policy.log_probs(theta_p))
    lq = np.asarray(policy.log_probs(theta_q))
    d = np.sum(np.exp(lp) * (lp - lq), axis=1)
    return np.maximum(d, 0.0)  # rounding can give −1e-17


@keyword_only
def kl(mdp, policy, theta_p, theta_q, *, weighting: str = "average",
       weights_from: str = "p") -> float:
    """Σ_x w(x) D_KL(π_p(·|x) ‖ π_q(·|x)), a state-weighted KL.

    Args:
      weighting: see :mod:`pgmath.exact.fisher` (``"trajectory"``, ``"average"``,
        ``"discounted"``).
      weights_from: ``"p"`` or ``"q"``: whose state visits weight the states. TRPO's
        constraint E_{s∼p_θ_old}[D_KL(π_old ‖ π_new)] is ``kl(mdp, pol, old, new,
        weights_from="p")``.
    """
    if weights_from not in ("p", "q"):
        raise InvalidArgumentError(f"weights_from must be 'p' or 'q', got {weights_from!r}")
    th = theta_p if weights_from == "p" else theta_q
    w = input_weights(mdp, policy, th, weighting=weighting)
    return float(w @ policy_kl(policy, theta_p, theta_q))


def trajectory_kl(mdp, policy, theta_p, theta_q) -> float:
    """D_KL(p_{θ_p}(τ) ‖ p_{θ_q}(τ)) = Σ_t E_{x_t∼p_{θ_p}}[D_KL(π_p(·|x_t) ‖ π_q(·|x_t))]."""
    return kl(mdp, policy, theta_p, theta_q, weighting="trajectory", weights_from="p")


def kl_quadratic(F: np.ndarray, delta: np.ndarray) -> float:
    """½ Δᵀ F Δ, the second-order expansion of the KL around Δ = θ' − θ = 0 (PG-18)."""
    F = np.asarray(F, dtype=float)
    delta = np.asarray(delta, dtype=float)
    if F.ndim != 2 or F.shape != (delta.size, delta.size):
        raise ShapeError(f"F has shape {F.shape} but Δ has shape {delta.shape}; need [d, d] and [d]")
    return 0.5 * float(delta @ F @ delta)
