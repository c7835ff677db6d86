"""The importance-weighted surrogate objective, exactly (notes §4.4–4.5; TRPO).

    L_θ(θ') = J(θ) + Σ_t γ^t E_{s_t∼p_θ} E_{a∼π_θ}[ (π_θ'(a|s)/π_θ(a|s)) A^θ_t(s, a) ]
            = J(θ) + Σ_{s,a} W_θ(s, a) π_θ'(a|s),   W_θ(s, a) = Σ_t γ^t p_θ(s_t=s) A^θ_t(s, a)

(infinite horizon: W_θ = ρ_θ(s) A^θ(s, a) with the discounted visitation ρ_θ). The states
come from the old policy θ (the state-marginal ratio is dropped). L_θ(θ) = J(θ) and
∇_θ' L_θ(θ')|_{θ'=θ} = ∇J(θ) (Σ_a ∇π(a|s) V(s) = 0), so L_θ agrees with J to first order.
"""
from __future__ import annotations

import numpy as np

from .._deprecation import renamed_arguments, target_first
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


@renamed_arguments(theta_old="theta_behaviour", theta_new="theta")
@target_first(2)
def surrogate(mdp, policy, theta, *, theta_behaviour, weights=None) -> float:
    """L_{θ_b}(θ) = J(θ_b) + Σ_{s,a} W_{θ_b}(s, a) π_θ(a|s), θ_b = ``theta_behaviour``
    (TRPO's θ_old, whose trajectories and advantages the surrogate uses) and θ the policy
    it evaluates (θ_new): the target first, as in every two-policy function of pgmath.

    ``weights``: the (J, W) of :func:`surrogate_weights` at θ_b, to reuse across calls.
    (The old order ``surrogate(mdp, policy, theta_old, theta_new)`` and the keywords
    ``theta_old=``/``theta_new=`` forward with a ``DeprecationWarning`` for one release.)
    """
    J, W = surrogate_weights(mdp, policy, theta_behaviour) if weights is None else weights
    pi_new = np.asarray(policy_table(mdp, policy, theta))
    return J + float(np.sum(W * pi_new))


@renamed_arguments(theta_old="theta_behaviour", theta_new="theta")
@target_first(2)
def surrogate_gradient(mdp, policy, theta, *, theta_behaviour, weights=None) -> np.ndarray:
    """``[d]`` ∇_θ L_{θ_b}(θ) = Σ_{s,a} W_{θ_b}(s, a) ∇π_θ(a|s) (θ_b = ``theta_behaviour``;
    the argument order of :func:`surrogate`)."""
    _, W = surrogate_weights(mdp, policy, theta_behaviour) if weights is None else weights
    return policy.state_vjp(mdp, theta, W)
