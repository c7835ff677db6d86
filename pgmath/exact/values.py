"""Value functions V^π, Q^π and advantages A^π (notes §3.3, RL-5).

Finite horizon T (time-dependent, t = 0..T−1, V_T = 0):

    Q_t(s, a) = r(s, a) + γ Σ_{s'} P[s, a, s'] V_{t+1}(s'),   V_t(s) = Σ_a π(a|s) Q_t(s, a).

Infinite horizon: V = (I − γ P_π)⁻¹ r_π (over non-terminal states when γ = 1), and
Q = r + γ P V.
"""
from __future__ import annotations

import numpy as np

from ..policy_tables import policy_at, policy_table
from ._system import active_states, policy_reward, state_transition

__all__ = ["values", "q_values", "advantages", "evaluate"]


def evaluate(mdp, pi) -> tuple[np.ndarray, np.ndarray]:
    """(V, Q) for a probability table π: ``([T, S], [T, S, A])`` or ``([S], [S, A])``."""
    pi = np.asarray(pi)
    S, A = mdp.n_states, mdp.n_actions
    g = mdp.discount
    if mdp.horizon is not None:
        T = mdp.horizon
        V = np.zeros((T + 1, S))
        Q = np.empty((T, S, A))
        for t in range(T - 1, -1, -1):
            Q[t] = mdp.r + g * (mdp.P @ V[t + 1])
            V[t] = np.sum(policy_at(pi, t) * Q[t], axis=1)
        return V[:T], Q
    act = active_states(mdp, pi)
    V = np.zeros(S)
    Pa = state_transition(mdp, pi)[np.ix_(act, act)]
    V[act] = np.linalg.solve(np.eye(act.sum()) - g * Pa, policy_reward(mdp, pi)[act])
    Q = mdp.r + g * (mdp.P @ V)
    return V, Q


def values(mdp, policy, theta=None) -> np.ndarray:
    """V^π: ``[T, S]`` (finite horizon, V_t(s) = E[Σ_{t'≥t} γ^{t'−t} r_{t'} | s_t = s]) or ``[S]``."""
    return evaluate(mdp, policy_table(mdp, policy, theta))[0]


def q_values(mdp, policy, theta=None) -> np.ndarray:
    """Q^π: ``[T, S, A]`` (finite horizon) or ``[S, A]``; Q_t(s,a) = r(s,a) + γ E[V_{t+1}(s')]."""
    return evaluate(mdp, policy_table(mdp, policy, theta))[1]


def advantages(mdp, policy, theta=None) -> np.ndarray:
    """A^π = Q^π − V^π: ``[T, S, A]`` or ``[S, A]``."""
    V, Q = evaluate(mdp, policy_table(mdp, policy, theta))
    return Q - V[..., None]
