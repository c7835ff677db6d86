"""The importance-weighted surrogate objective, exactly (notes §4.4–4.5; TRPO).

    L_θ(θ') = J(θ) + Σ_t γ^t E_{s_t∼p_θ} E_{a∼π_θ}[ (π_θ'(a|s)/π_θ(a|s)) A^θ_t(s, a) ]
            = J(θ) + Σ_{s,a} W_θ(s, a) π_θ'(a|s),   W_θ(s, a) = Σ_t γ^t p_θ(s_t=s) A^θ_t(s, a)

(infinite horizon: W_θ = ρ_θ(s) A^θ(s, a) with the discounted visitation ρ_θ). The states
come from the old policy θ (the state-marginal ratio is dropped). L_θ(θ) = J(θ) and
∇_θ' L_θ(θ')|_{θ'=θ} = ∇J(θ) (Σ_a ∇π(a|s) V(s) = 0), so L_θ agrees with J to first order.
"""
from __future__ import annotations

import numpy as np

from ..policy_tables import policy_table
from .marginals import discounted_state_visitation, state_marginals
from .objective import objective_from_table
from .values import evaluate

__all__ = ["surrogate_weights", "surrogate", "surrogate_gradient"]


def surrogate_weights(mdp, policy, theta) -> tuple[float, np.ndarray]:
    """(J(θ), W_θ ``[S, A]``) with W_θ(s, a) = Σ_t γ^t p_θ(s_t=s) A^θ_t(s, a)."""
    pi = np.asarray(policy_table(mdp, policy, theta))
    V, Q = evaluate(mdp, pi)
    A = Q - V[..., None]
    if mdp.horizon is not None:
        d = state_marginals(mdp, pi) * (mdp.discount ** np.arange(mdp.horizon))[:, None]
        W = np.einsum("ts,tsa->sa", d, A)
    else:
        W = discounted_state_visitation(mdp, pi)[:, None] * A
    return float(objective_from_table(mdp, pi)), W


def surrogate(mdp, policy, theta_old, theta_new, weights=None) -> float:
    """L_{θ_old}(θ_new) = J(θ_old) + Σ_{s,a} W_{θ_old}(s, a) π_θnew(a|s).

    ``weights``: the (J, W) of :func:`surrogate_weights` at θ_old, to reuse across calls.
    """
    J, W = surrogate_weights(mdp, policy, theta_old) if weights is None else weights
    pi_new = np.asarray(policy_table(mdp, policy, theta_new))
    return J + float(np.sum(W * pi_new))


def surrogate_gradient(mdp, policy, theta_old, theta_new, weights=None) -> np.ndarray:
    """``[d]`` ∇_θnew L_{θ_old}(θ_new) = Σ_{s,a} W_{θ_old}(s, a) ∇π_θnew(a|s)."""
    _, W = surrogate_weights(mdp, policy, theta_old) if weights is None else weights
    return policy.state_vjp(mdp, theta_new, W)
