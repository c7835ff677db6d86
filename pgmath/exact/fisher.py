"""Exact Fisher information matrices and Fisher-vector products (notes §4.5, PG-19).

The notes' matrix is

    F = E_{π_θ}[∇_θ log π_θ(a|s) ∇_θ log π_θ(a|s)ᵀ]

which leaves the distribution of s open. pgmath makes it explicit with a weighting w
over the policy's inputs x (states, or observations of a POMDP):

    F_x = Σ_a π_θ(a|x) ψ[x, a] ψ[x, a]ᵀ                      (per input, ``[X, d, d]``)
    F_w = Σ_x w(x) F_x                                       (state-weighted, ``[d, d]``)

with ``weighting`` (keyword-only; default ``"average"`` for every function of pgmath that
takes one: :func:`fisher`, :func:`fisher_vector_product`, :func:`pgmath.exact.kl`,
:func:`pgmath.estimators.natural_gradient` and the exact TRPO step, so that
``natural_gradient(mdp, pol, th)`` is ``pinv(fisher(mdp, pol, th)) @ gradient(mdp, pol, th)``;
the sampled per-step Fisher of :func:`pgmath.estimators.natural_gradient_estimate`
estimates the same matrix):

* ``"trajectory"``: w(x) = Σ_{t<T} p_θ(x_t = x) (finite horizon, or γ = 1 with terminal
  states: expected visits before termination). Then F_w is the Fisher matrix of the
  whole trajectory distribution, E_{τ∼p_θ}[∇log p_θ(τ) ∇log p_θ(τ)ᵀ]: the dynamics drop
  out of ∇log p_θ(τ) = Σ_t ψ_t (PG-2) and the cross terms E[ψ_t ψ_uᵀ], t ≠ u, vanish
  because E[ψ_u | history up to x_u] = 0.
* ``"average"``: the same weights normalised to sum to one (a per-step average, the
  state distribution TRPO averages its KL over); for an infinite horizon with γ < 1,
  where Σ_t p_θ(x_t) diverges, the normalised discounted visitation (1 − γ) Σ_t γ^t p_θ(x_t).
* ``"discounted"``: w(x) = Σ_t γ^t p_θ(x_t = x).

For an observation policy in a POMDP, w(o) = Σ_s w(s) O[s, o].

Softmax Fisher matrices are singular: adding a constant to all logits of one input
changes nothing, so F (1, …, 1 on that input's block) = 0, and an input with w(x) = 0
contributes nothing at all. Natural-gradient code uses the pseudo-inverse or damping
(:mod:`pgmath.estimators.natural`, which also holds the sample estimates
:func:`~pgmath.estimators.fisher_estimate` and :func:`~pgmath.estimators.step_fisher_estimate`).
"""
from __future__ import annotations

import numpy as np

from .._deprecation import keyword_only
from ..errors import InvalidMDPError, ShapeError, check_choice
from ..policy_tables import policy_table, tabular_blocks
from .marginals import discounted_state_visitation, state_marginals

__all__ = ["WEIGHTINGS", "input_weights", "per_input_fisher", "fisher", "fisher_vector_product"]

#: The accepted ``weighting`` values.
WEIGHTINGS = ("trajectory", "average", "discounted")


def _state_weights(mdp, pi, weighting: str) -> np.ndarray:
    """``[S]`` weights over hidden states for a probability table π."""
    check_choice("weighting", weighting, WEIGHTINGS)
    if weighting == "discounted":
        w = discounted_state_visitation(mdp, pi)
    elif mdp.horizon is not None:
        w = state_marginals(mdp, pi).sum(axis=0)
    elif mdp.discount == 1.0:
        w = discounted_state_visitation(mdp, pi)  # episodic: expected visits before termination
    elif weighting == "average":
        w = discounted_state_visitation(mdp, pi)
    else:
        raise InvalidMDPError(
            f"{mdp!r}: the trajectory weighting Σ_t p(s_t) diverges for an infinite horizon "
            "with γ < 1; use weighting='discounted' or 'average'")
    if weighting == "average":
        w = w / w.sum()
    return w


@keyword_only
def input_weights(mdp, policy, theta, *, weighting: str = "average") -> np.ndarray:
    """``[X]`` the weights w(x) over the policy's inputs (see the module docstring)."""
    pi = np.asarray(policy_table(mdp, policy, theta))
    w = _state_weights(mdp, pi, weighting)
    if getattr(policy, "over", "states") == "observations":
        w = w @ np.asarray(mdp.O)
    return w


def per_input_fisher(policy, theta) -> np.ndarray:
    """``[X, d, d]`` F_x = Σ_a π_θ(a|x) ψ[x, a] ψ[x, a]ᵀ (the Fisher matrix of π_θ(·|x))."""
    pi = np.asarray(policy.probs(theta))
    psi = policy.score(theta)
    return np.einsum("xa,xad,xae->xde", pi, psi, psi)


@keyword_only
def fisher(mdp, policy, theta, *, weighting: str = "average") -> np.ndarray:
    """``[d, d]`` F_w = Σ_x w(x) Σ_a π_θ(a|x) ψψᵀ (notes §4.5; ``weighting`` above, default
    ``"average"``; until version 0.1 the default was ``"trajectory"``, which for a finite
    horizon T without terminal states is T times the average one).

    With ``weighting="trajectory"`` this is E_{p_θ(τ)}[∇log p_θ(τ) ∇log p_θ(τ)ᵀ]. For a
    tabular score (ψ(x, a) zero outside block x, read off the table) F is block diagonal
    and formed block by block in O(X A³); otherwise as Mᵀ M, M = √(wπ) ψ ``[X·A, d]``.
    """
    theta = policy.check_theta(theta)
    w = input_weights(mdp, policy, theta, weighting=weighting)
    pi = np.asarray(policy.probs(theta))
    psi = policy.score(theta)
    blocks = tabular_blocks(psi)
    if blocks is not None:  # ψ(x, a) lives in block x: F is block diagonal, O(X A³)
        X, A, d = psi.shape
        F = np.zeros((X, A, X, A))
        idx = np.arange(X)
        F[idx, :, idx, :] = np.einsum("x,xa,xab,xac->xbc", w, pi, blocks, blocks)
        F = F.reshape(d, d)
    else:
        M = (psi * np.sqrt(w[:, None] * pi)[:, :, None]).reshape(-1, psi.shape[-1])
        F = M.T @ M
    return 0.5 * (F + F.T)


@keyword_only
def fisher_vector_product(mdp, policy, theta, v, *, weighting: str = "average",
                          weights: np.ndarray | None = None) -> np.ndarray:
    """``[d]`` F_w v without forming F (nor the ``[X, A, d]`` score tensor).

    For logits linear in θ (logits = Φθ), ψ[x, a]·v = (Φv)[x, a] − Σ_b π(b|x) (Φv)[x, b] =: u[x, a],
    and F_w v = Σ_x w(x) Σ_a π(a|x) u[x, a] ψ[x, a], a vector–Jacobian product of π
    (``policy.vjp_probs``) with W = w u. Cost O(X A d) for a linear-softmax policy and
    O(X A) for a tabular one. ``weights`` ``[X]`` overrides ``weighting``.
    """
    theta = policy.check_theta(theta)
    v = np.asarray(v, dtype=float)
    if v.shape != (policy.n_params,):
        raise ShapeError(f"v has shape {v.shape}; expected [d] = ({policy.n_params},)")
    w = input_weights(mdp, policy, theta, weighting=weighting) if weights is None else np.asarray(weights)
    pi = np.asarray(policy.probs(theta))
    lv = np.asarray(policy.logits(v))  # Φ v (logits are linear in θ)
    u = lv - np.sum(pi * lv, axis=1, keepdims=True)
    return policy.vjp_probs(theta, w[:, None] * u)
