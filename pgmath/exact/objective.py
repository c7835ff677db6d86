"""The objective J(θ) and its gradient ∇J(θ) by two independent routes (notes §4.1).

    J(θ) = E_{τ∼p_θ}[Σ_{t<T} γ^t r(s_t, a_t)] = Σ_t γ^t Σ_{s,a} p_θ(s_t=s) π_θ(a|s) r(s, a)

computed forward through the state marginals (and, infinite-horizon, as
p0 (I − γP_π)⁻¹ r_π). The gradient:

* ``method="pg_theorem"``: the policy-gradient theorem,
  ∇J = Σ_t γ^t Σ_s p_θ(s_t=s) Σ_a ∇_θ π_θ(a|s) Q_t(s, a),
  with Q from the backward recursion and ∇π from the policy's closed form;
* ``method="autograd"``: reverse-mode automatic differentiation of the forward J(θ).
"""
from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import grad as _ag_grad

from .._deprecation import keyword_only
from ..errors import InvalidPolicyError, check_choice
from ..policy_tables import policy_at, policy_table
from ._system import active_states, policy_reward, state_transition
from .marginals import discounted_state_visitation, state_marginals
from .values import evaluate

__all__ = ["objective", "gradient", "objective_from_table"]


def objective_from_table(mdp, pi):
    """J for a probability table π ``[S, A]`` or ``[T, S, A]`` (autograd-traceable)."""
    g = mdp.discount
    if mdp.horizon is not None:
        d = mdp.p0
        J = 0.0
        stationary = anp.ndim(pi) == 2
        if stationary:  # P_π and r_π once, not once per step
            P_pi, r_pi = state_transition(mdp, pi), policy_reward(mdp, pi)
        for t in range(mdp.horizon):
            pt = policy_at(pi, t)
            J = J + (g ** t) * anp.dot(d, r_pi if stationary else policy_reward(mdp, pt))
            if t + 1 < mdp.horizon:
                d = anp.dot(d, P_pi if stationary else state_transition(mdp, pt))
        return J
    act = active_states(mdp, pi)
    idx = np.flatnonzero(act)
    Ppi = state_transition(mdp, pi)
    Pa = Ppi[idx][:, idx]
    ra = policy_reward(mdp, pi)[idx]
    V = anp.linalg.solve(np.eye(idx.size) - g * Pa, ra)
    return anp.dot(mdp.p0[idx], V)


def objective(mdp, policy, theta=None) -> float:
    """J(θ) = Σ_t γ^t E_{p_θ(s_t, a_t)}[r(s_t, a_t)] (forward marginals), a float."""
    return float(objective_from_table(mdp, policy_table(mdp, policy, theta)))


@keyword_only
def gradient(mdp, policy, theta, *, method: str = "pg_theorem") -> np.ndarray:
    """∇_θ J(θ) ``[d]``.

    Args:
      method: ``"pg_theorem"`` (Σ_t γ^t Σ_s d_t(s) Σ_a ∇π(a|s) Q_t(s, a)) or
        ``"autograd"`` (reverse-mode differentiation of the forward J).
    """
    if not hasattr(policy, "state_probs"):
        raise InvalidPolicyError("gradient needs a parameterised pgmath Policy and its theta")
    theta = policy.check_theta(theta)
    if method == "autograd":
        f = lambda th: objective_from_table(mdp, policy.state_probs(mdp, th))  # noqa: E731
        return np.asarray(_ag_grad(f)(theta), dtype=float)
    check_choice("method", method, ("pg_theorem", "autograd"))
    pi = np.asarray(policy.state_probs(mdp, theta))
    _, Q = evaluate(mdp, pi)
    if mdp.horizon is not None:
        d = state_marginals(mdp, pi)
        w = (mdp.discount ** np.arange(mdp.horizon))[:, None] * d
        W = np.einsum("ts,tsa->sa", w, Q)
    else:
        W = discounted_state_visitation(mdp, pi)[:, None] * Q
    return policy.state_vjp(mdp, theta, W)
