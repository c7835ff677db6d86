"""Shared linear-algebra pieces of the solvers: P_π, r_π and the undiscounted checks."""
from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from scipy.sparse.csgraph import connected_components

from ..errors import ImproperPolicyError, InvalidMDPError

__all__ = ["state_transition", "policy_reward", "active_states", "reaches"]


def state_transition(mdp, pi_t):
    """``[S, S]`` P_π[s, s'] = Σ_a π(a|s) P[s, a, s'] (autograd-traceable)."""
    return anp.einsum("sa,sat->st", pi_t, mdp.P)


def policy_reward(mdp, pi_t):
    """``[S]`` r_π[s] = Σ_a π(a|s) r(s, a) (autograd-traceable)."""
    return anp.sum(pi_t * mdp.r, axis=1)


def reaches(adjacency: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``[S]`` bool: which nodes have a directed path (length ≥ 0) into ``targets``."""
    S = adjacency.shape[0]
    ok = np.zeros(S, dtype=bool)
    ok[targets] = True
    frontier = ok.copy()
    rev = adjacency.T
    while frontier.any():
        new = rev[frontier].any(axis=0) & ~ok
        ok |= new
        frontier = new
    return ok


def active_states(mdp, pi_t) -> np.ndarray:
    """The states whose values are unknowns of an infinite-horizon linear solve.

    γ < 1: every state. γ = 1: the non-terminal states; raises when a terminal state
    has a non-zero reward (the return diverges) or when some non-terminal state cannot
    reach a terminal state under π (the policy is improper: it never terminates).
    """
    S = mdp.n_states
    if mdp.discount < 1.0:
        return np.ones(S, dtype=bool)
    term = mdp.terminal_states()
    if term.size == 0:
        raise ImproperPolicyError(
            f"{mdp!r} is undiscounted (γ = 1) with an infinite horizon but has no absorbing "
            "terminal state, so the return diverges; use a discount γ < 1, a finite horizon, "
            "or the average-reward criterion (pgmath.exact.average_reward)")
    bad = term[np.any(mdp.r[term] != 0.0, axis=1)]
    if bad.size:
        s = int(bad[0])
        raise InvalidMDPError(
            f"absorbing state {s} has non-zero reward r[{s}] = {mdp.r[s].tolist()} in an "
            "undiscounted infinite-horizon MDP: the return diverges")
    adj = np.asarray(getattr(pi_t, "_value", pi_t))
    adj = np.einsum("sa,sat->st", adj, mdp.P) > 0
    ok = reaches(adj, term)
    if not ok.all():
        stuck = np.flatnonzero(~ok)
        raise ImproperPolicyError(
            f"the policy never terminates from state(s) {stuck.tolist()}: no path to a "
            f"terminal state {term.tolist()} under the policy (γ = 1, infinite horizon)")
    active = np.ones(S, dtype=bool)
    active[term] = False
    return active


def strongly_connected(adjacency: np.ndarray) -> tuple[int, np.ndarray]:
    """Strongly connected components of a boolean adjacency matrix (SciPy)."""
    return connected_components(adjacency.astype(np.int8), directed=True, connection="strong")
