"""The Markov chain of a rollout's rows: one environment column under auto-reset.

A row is one call of ``VectorEnv.step`` for one environment. Its *node* is what the
row starts from: the observed state s and the time k since the reset (gymnasium's
``TimeLimit`` counter), and, in next-step mode, whether the row is an auto-reset row.
From node x the row draws a ~ π(·|s) and s' ~ P(·|s, a); then

* s' terminal → ``terminated``; else k + 1 = H → ``truncated``; else the episode goes on
  at node (s', k + 1);
* ``mode="same_step"``: an ended row's successor is a fresh episode's first row
  (s₀, 0), s₀ ~ p(s₀) (the final observation s' is only the row's ``final_obs``);
* ``mode="next_step"``: an ended row's successor is the auto-reset row at the final
  observation s' (elapsed k + 1); that row ignores its action, pays 0 and moves to
  (s₀, 0), s₀ ~ p(s₀).

Each possible row is an *edge* (node, a, s', next node) with its probability given the
node. Without a time limit, k is kept only as "first row of an episode" (k = 0) or not
(k = 1). The chain's rows are exactly the rows :func:`pgmath.rollouts.sample_segment`
draws; :func:`stationary_distribution` gives the start distribution of a segment cut
from a rollout that has run forever (the "stationary" start).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import spsolve

from ..errors import NotErgodicError, check_choice
from .problem import RolloutProblem
from .segment import MODES

__all__ = ["RolloutChain", "rollout_chain", "stationary_distribution", "start_distribution",
           "STARTS"]

#: Where a segment starts: a fresh reset of every environment, or the stationary
#: distribution of the auto-reset chain (a segment cut from a long-running rollout).
STARTS = ("reset", "stationary")


@dataclass(frozen=True, eq=False)
class RolloutChain:
    """Nodes ``[N]`` and edges ``[E]`` of the row chain of one environment column.

    Attributes:
      problem, mode: the problem and the auto-reset mode.
      n_phases: K, the values k takes on live nodes (H, or 2 without a time limit).
      state: ``[N]`` the observed state of the node's row.
      elapsed: ``[N]`` k (auto-reset rows: k of their final observation; no time limit:
        0 for an episode's first row, 1 otherwise).
      dead: ``[N]`` bool, a next-step auto-reset row.
      reset: ``[N]`` the distribution of a fresh episode's first row.
      src, action, env_next, dst: ``[E]`` the edge's node, action, environment next state
        (−1 on auto-reset rows) and next node.
      prob: ``[E]`` P(edge | src) = π(a|s) P(s'|s, a) (× p(s₀) when it resets).
      reward, terminated, truncated: ``[E]`` what the row stores.
    """

    problem: RolloutProblem
    mode: str
    n_phases: int
    state: np.ndarray
    elapsed: np.ndarray
    dead: np.ndarray
    reset: np.ndarray
    src: np.ndarray
    action: np.ndarray
    env_next: np.ndarray
    dst: np.ndarray
    prob: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray

    @property
    def n_nodes(self) -> int:
        return self.state.size

    @property
    def n_edges(self) -> int:
        return self.src.size

    @property
    def ended(self) -> np.ndarray:
        return self.terminated | self.truncated

    @property
    def fresh(self) -> np.ndarray:
        """``[N]`` the node is an episode's first row."""
        return ~self.dead & (self.elapsed == 0)

    def transition_matrix(self) -> sparse.csr_matrix:
        """``[N, N]`` sparse K[x, y] = Σ_{edges x→y} prob."""
        N = self.n_nodes
        return sparse.csr_matrix((self.prob, (self.src, self.dst)), shape=(N, N))

    def edge_order(self) -> tuple[np.ndarray, np.ndarray]:
        """(edge indices sorted by source node ``[E]``, CSR offsets ``[N + 1]``)."""
        order = np.argsort(self.src, kind="stable")
        offsets = np.zeros(self.n_nodes + 1, dtype=np.intp)
        np.add.at(offsets, self.src + 1, 1)
        return order, np.cumsum(offsets)


def rollout_chain(problem: RolloutProblem, pi: np.ndarray, *, mode: str = "same_step") -> RolloutChain:
    """The row chain of ``problem`` under the action probabilities π ``[S, A]``.

    Node layout: live nodes (s, k) at k·S + s for k < K; next-step auto-reset nodes
    (s', k') after them, k' = 1..H (one block without a time limit).
    """
    check_choice("mode", mode, MODES)
    mdp = problem.mdp
    S, A = problem.n_states, problem.n_actions
    H = problem.time_limit
    K = H if H is not None else 2
    term = problem.is_terminal
    pi = np.asarray(pi, dtype=float)
    starts = np.flatnonzero(mdp.p0 > 0)
    n_dead = (H if H is not None else 1) if mode == "next_step" else 0
    N = K * S + n_dead * S

    state = np.concatenate([np.tile(np.arange(S), K), np.tile(np.arange(S), n_dead)])
    live_k = np.repeat(np.arange(K), S)
    dead_k = np.repeat(np.arange(1, n_dead + 1) if H is not None else np.ones(n_dead, int), S)
    elapsed = np.concatenate([live_k, dead_k]).astype(np.intp)
    dead = np.concatenate([np.zeros(K * S, bool), np.ones(n_dead * S, bool)])
    reset = np.zeros(N)
    reset[starts] = mdp.p0[starts]

    # live rows: (k, s, a, s') with P > 0 from non-terminal s
    mask = (mdp.P > 0) & ~term[:, None, None]
    s, a, s2 = np.nonzero(mask)
    k = np.repeat(np.arange(K), s.size)
    s, a, s2 = np.tile(s, K), np.tile(a, K), np.tile(s2, K)
    prob = pi[s, a] * mdp.P[s, a, s2]
    rew = mdp.R[s, a, s2] if mdp.R.ndim == 3 else mdp.r[s, a]
    is_term = term[s2]
    is_trunc = ~is_term & ((k + 1 == H) if H is not None else np.zeros_like(is_term))
    ended = is_term | is_trunc
    k_next = k + 1 if H is not None else np.ones_like(k)
    src = k * S + s
    go = ~ended
    e_src, e_a, e_s2, e_dst = [src[go]], [a[go]], [s2[go]], [k_next[go] * S + s2[go]]
    e_p, e_r, e_term, e_trunc = [prob[go]], [rew[go]], [is_term[go]], [is_trunc[go]]
    end = np.flatnonzero(ended)
    if mode == "same_step":  # the ended row's successor is a fresh first row (s0, 0)
        i = np.repeat(end, starts.size)
        s0 = np.tile(starts, end.size)
        e_src.append(src[i]); e_a.append(a[i]); e_s2.append(s2[i]); e_dst.append(s0)
        e_p.append(prob[i] * mdp.p0[s0]); e_r.append(rew[i])
        e_term.append(is_term[i]); e_trunc.append(is_trunc[i])
    else:  # the successor is the auto-reset row at the final observation
        block = (k_next[end] - 1) if H is not None else np.zeros(end.size, int)
        e_src.append(src[end]); e_a.append(a[end]); e_s2.append(s2[end])
        e_dst.append(K * S + block * S + s2[end])
        e_p.append(prob[end]); e_r.append(rew[end])
        e_term.append(is_term[end]); e_trunc.append(is_trunc[end])
        # auto-reset rows: any action (ignored), reward 0, no flags, then (s0, 0)
        dn = np.arange(K * S, N)
        d_node = np.repeat(dn, A * starts.size)
        d_a = np.tile(np.repeat(np.arange(A), starts.size), dn.size)
        d_s0 = np.tile(starts, dn.size * A)
        e_src.append(d_node); e_a.append(d_a); e_s2.append(np.full(d_node.size, -1))
        e_dst.append(d_s0); e_p.append(pi[state[d_node], d_a] * mdp.p0[d_s0])
        e_r.append(np.zeros(d_node.size)); e_term.append(np.zeros(d_node.size, bool))
        e_trunc.append(np.zeros(d_node.size, bool))
    cat = np.concatenate
    return RolloutChain(problem, mode, K, state.astype(np.intp), elapsed, dead, reset,
                        cat(e_src).astype(np.intp), cat(e_a).astype(np.intp),
                        cat(e_s2).astype(np.intp), cat(e_dst).astype(np.intp), cat(e_p),
                        cat(e_r).astype(float), cat(e_term), cat(e_trunc))


def stationary_distribution(chain: RolloutChain) -> np.ndarray:
    """``[N]`` the stationary distribution μ = μK of the row chain restricted to the nodes
    reachable from a reset.

    It is unique when those nodes hold one closed class, which holds whenever every
    episode ends (a time limit, or terminations reached with probability 1); periodicity
    does not matter (a segment *starts* from μ, nothing needs to converge).

    Raises :class:`NotErgodicError` when μ is not unique (episodes that never end can
    be absorbed in different classes), naming the classes' states.
    """
    Kmat = chain.transition_matrix()
    Kmat.eliminate_zeros()
    seen = chain.reset > 0
    frontier = seen.copy()
    KT = Kmat.T.tocsr()
    while frontier.any():
        new = (KT @ frontier.astype(float)) > 0
        frontier = new & ~seen
        seen |= frontier
    idx = np.flatnonzero(seen)
    Ksub = Kmat[idx][:, idx].tocoo()
    n_comp, labels = connected_components(Ksub, directed=True, connection="strong")
    leaves = np.zeros(n_comp, dtype=bool)
    leaves[labels[Ksub.row[labels[Ksub.row] != labels[Ksub.col]]]] = True
    closed = np.flatnonzero(~leaves)
    if closed.size != 1:
        names = [sorted({int(chain.state[idx[j]]) for j in np.flatnonzero(labels == c)})
                 for c in closed]
        raise NotErgodicError(
            f"the auto-reset chain of {chain.problem!r} has {closed.size} closed classes (states "
            f"{names}): episodes that never end can be absorbed in either, so no single "
            "stationary start exists; use start='reset', a time limit or terminal states")
    Ksub = Ksub.tocsr()
    M = (sparse.identity(idx.size, format="csr") - Ksub).T.tolil()
    M[idx.size - 1, :] = np.ones(idx.size)
    b = np.zeros(idx.size)
    b[-1] = 1.0
    mu_sub = spsolve(M.tocsc(), b) if idx.size > 1 else np.ones(1)
    mu = np.zeros(chain.n_nodes)
    mu[idx] = np.maximum(mu_sub, 0.0)
    return mu / mu.sum()


def start_distribution(chain: RolloutChain, start: str) -> np.ndarray:
    """``[N]`` the distribution of a segment's first row: ``"reset"`` or ``"stationary"``."""
    check_choice("start", start, STARTS)
    if start == "reset":
        return chain.reset.copy()
    return stationary_distribution(chain)
