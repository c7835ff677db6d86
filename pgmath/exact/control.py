"""Optimal control and policy improvement (notes §3.3, RL-6, RL-7).

Finite horizon, backward induction (V*_T = 0):
    Q*_t(s, a) = r(s, a) + γ Σ_{s'} P[s, a, s'] V*_{t+1}(s'),   V*_t(s) = max_a Q*_t(s, a).
Infinite horizon: policy iteration (exact evaluation by a linear solve, greedy
improvement), which terminates in finitely many steps with V* = max_a (r + γ P V*).

The greedy policy of RL-6 is π'(a|s) = 1[a = argmax_a Q^π(s, a)] (lowest index on ties).
"""
from __future__ import annotations

import numpy as np

from ..errors import ImproperPolicyError, InvalidMDPError
from ..policy_tables import policy_table
from ._system import reaches
from .values import evaluate

__all__ = ["optimal_values", "optimal_q_values", "optimal_policy", "greedy_policy",
           "optimal_objective", "one_hot_policy"]

#: Relative tolerance below which policy iteration treats Q-values as tied.
TIE_TOL = 1e-12


def one_hot_policy(actions: np.ndarray, n_actions: int) -> np.ndarray:
    """``[..., A]`` probability table with π(a|s) = 1[a = actions[...]]."""
    return np.eye(n_actions)[np.asarray(actions)]


def _argmax(Q: np.ndarray) -> np.ndarray:
    """Lowest-index argmax over the last axis, with ties up to TIE_TOL·scale."""
    scale = max(1.0, float(np.max(np.abs(Q))) if Q.size else 1.0)
    best = Q.max(axis=-1, keepdims=True)
    return np.argmax(Q >= best - TIE_TOL * scale, axis=-1)


def _proper_start(mdp) -> np.ndarray:
    """A deterministic policy that reaches a terminal state from every state (γ = 1)."""
    term = mdp.terminal_states()
    S = mdp.n_states
    can = reaches((mdp.P > 0).any(axis=1), term) if term.size else np.zeros(S, bool)
    if not can.all():
        raise ImproperPolicyError(
            f"state(s) {np.flatnonzero(~can).tolist()} cannot reach a terminal state under any "
            "policy: the undiscounted infinite-horizon optimum is not defined")
    dist = np.full(S, np.inf)
    dist[term] = 0
    act = np.zeros(S, dtype=int)
    changed = True
    while changed:
        changed = False
        for s in range(S):
            if dist[s] == 0:
                continue
            for a in range(mdp.n_actions):
                nxt = np.flatnonzero(mdp.P[s, a] > 0)
                best = dist[nxt].min()
                if best + 1 < dist[s]:
                    dist[s], act[s], changed = best + 1, a, True
    return act


def _policy_iteration(mdp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    A = mdp.n_actions
    if mdp.discount < 1.0:
        act = np.argmax(mdp.r, axis=1)
    else:
        act = _proper_start(mdp)
    for _ in range(10_000):
        V, Q = evaluate(mdp, one_hot_policy(act, A))
        scale = max(1.0, float(np.max(np.abs(Q))))
        cur = Q[np.arange(mdp.n_states), act]
        better = Q.max(axis=1) > cur + 1e-10 * scale
        if not better.any():
            return V, Q, act
        act = np.where(better, np.argmax(Q, axis=1), act)
    raise RuntimeError("policy iteration did not converge in 10,000 steps")  # pragma: no cover


def _solve(mdp):
    if mdp.horizon is not None:
        T, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
        V = np.zeros((T + 1, S))
        Q = np.empty((T, S, A))
        for t in range(T - 1, -1, -1):
            Q[t] = mdp.r + mdp.discount * (mdp.P @ V[t + 1])
            V[t] = Q[t].max(axis=1)
        return V[:T], Q, _argmax(Q)
    if getattr(mdp, "is_pomdp", False):
        pass  # the optimum over state policies (full observability) is what is computed
    return _policy_iteration(mdp)


def optimal_values(mdp) -> np.ndarray:
    """V*: ``[T, S]`` (finite horizon) or ``[S]`` (infinite horizon, γ < 1 or proper γ = 1).

    For a POMDP this is the fully observed optimum (an upper bound on any observation
    policy).
    """
    return _solve(mdp)[0]


def optimal_q_values(mdp) -> np.ndarray:
    """Q*: ``[T, S, A]`` or ``[S, A]``."""
    return _solve(mdp)[1]


def optimal_policy(mdp) -> np.ndarray:
    """A deterministic optimal policy as a probability table ``[T, S, A]`` or ``[S, A]``."""
    return one_hot_policy(_solve(mdp)[2], mdp.n_actions)


def optimal_objective(mdp) -> float:
    """J* = Σ_s p0(s) V*_0(s)."""
    V = optimal_values(mdp)
    return float(mdp.p0 @ (V[0] if V.ndim == 2 else V))


def greedy_policy(mdp, policy, theta=None) -> np.ndarray:
    """π'(a|s) = 1[a = argmax_a Q^π(s, a)]: ``[T, S, A]`` or ``[S, A]`` (RL-6).

    Ties go to the lowest action index.
    """
    if mdp.horizon is None and mdp.discount == 1.0 and mdp.terminal_states().size == 0:
        raise InvalidMDPError("greedy_policy needs a finite horizon, γ < 1 or terminal states")
    _, Q = evaluate(mdp, policy_table(mdp, policy, theta))
    return one_hot_policy(_argmax(Q), mdp.n_actions)
