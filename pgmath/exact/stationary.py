"""Stationary distributions and the average-reward objective (notes §3.1, RL-3).

For a stationary policy the state chain has transition P_π. When the chain has a single
closed (recurrent) class that is aperiodic, p_θ(s_t) converges from any start to the
unique μ with μ = μ P_π, Σ μ = 1 (the eigenvector of eigenvalue 1), and the
state-action marginals converge to μ(s, a) = μ(s) π(a|s). The average-reward objective
is lim_T (1/T) Σ_t E[r_t] = Σ_{s,a} μ(s, a) r(s, a).
"""
from __future__ import annotations

from math import gcd

import numpy as np

from ..errors import InvalidMDPError, NotErgodicError
from ..policy_tables import policy_table
from ._system import state_transition, strongly_connected

__all__ = ["stationary_distribution", "average_reward", "chain_period"]


def chain_period(adjacency: np.ndarray, nodes: np.ndarray) -> int:
    """The period of the strongly connected class ``nodes`` of a boolean adjacency matrix.

    gcd over edges u→v inside the class of level(u) + 1 − level(v), levels by BFS.
    """
    nodes = [int(n) for n in nodes]
    inside = set(nodes)
    level = {nodes[0]: 0}
    order = [nodes[0]]
    for u in order:
        for v in np.flatnonzero(adjacency[u]):
            v = int(v)
            if v in inside and v not in level:
                level[v] = level[u] + 1
                order.append(v)
    p = 0
    for u in nodes:
        for v in np.flatnonzero(adjacency[u]):
            v = int(v)
            if v in inside:
                p = gcd(p, level[u] + 1 - level[v])
    return abs(p) if p else 1


def stationary_distribution(mdp, policy, theta=None, *, state_action: bool = False,
                            allow_periodic: bool = False) -> np.ndarray:
    """The stationary distribution μ = μ P_π: ``[S]``, or ``[S, A]`` μ(s)π(a|s).

    Raises :class:`NotErgodicError` when the chain has more than one closed class
    (μ is not unique) or, unless ``allow_periodic``, when its recurrent class is periodic
    (p(s_t) then oscillates and does not converge). Transient states get μ = 0.
    """
    pi = np.asarray(policy_table(mdp, policy, theta))
    if pi.ndim != 2:
        raise InvalidMDPError("a stationary distribution needs a stationary [S, A] policy")
    Ppi = state_transition(mdp, pi)
    adj = Ppi > 0
    n, labels = strongly_connected(adj)
    closed = []
    for c in range(n):
        members = np.flatnonzero(labels == c)
        leaves = adj[np.ix_(members, np.flatnonzero(labels != c))].any()
        if not leaves:
            closed.append(members)
    closed.sort(key=lambda m: int(m[0]))
    if len(closed) != 1:
        groups = "; ".join(str(m.tolist()) for m in closed)
        raise NotErgodicError(
            f"the chain under this policy has {len(closed)} closed classes of states ({groups}): "
            "it is not ergodic and its stationary distribution is not unique")
    period = chain_period(adj, closed[0])
    if period > 1 and not allow_periodic:
        raise NotErgodicError(
            f"the recurrent class {closed[0].tolist()} has period {period}: p(s_t) oscillates "
            "and does not converge, so the chain is not ergodic")
    members = closed[0]
    Pc = Ppi[np.ix_(members, members)]
    k = members.size
    M = np.vstack([(np.eye(k) - Pc).T, np.ones((1, k))])
    b = np.zeros(k + 1)
    b[-1] = 1.0
    mu_c = np.linalg.lstsq(M, b, rcond=None)[0]
    mu = np.zeros(mdp.n_states)
    mu[members] = np.clip(mu_c, 0.0, None)
    mu /= mu.sum()
    return mu[:, None] * pi if state_action else mu


def average_reward(mdp, policy, theta=None) -> float:
    """ρ(π) = lim_T (1/T) Σ_{t<T} E[r(s_t, a_t)] = Σ_{s,a} μ(s) π(a|s) r(s, a).

    Defined for a chain with one closed class (periodic allowed: the Cesàro limit).
    """
    mu_sa = stationary_distribution(mdp, policy, theta, state_action=True, allow_periodic=True)
    return float(np.sum(mu_sa * mdp.r))
