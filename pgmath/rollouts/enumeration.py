"""Every segment of one environment column, with its probability (tiny problems).

A segment of n rows is a start node x₀ (from the start distribution) and n edges of
the row chain (:mod:`pgmath.rollouts.chain`), with probability

    p(segment) = p_start(x₀) Π_{t<n} P(edge_t | x_t).

The segments are returned as the columns of one :class:`Segment` (``n_envs`` = M), so a
vectorised advantage function sees them all in one call.
"""
from __future__ import annotations

import numpy as np

from ..errors import TooManyTrajectoriesError
from .chain import RolloutChain
from .segment import Segment

__all__ = ["enumerate_segments", "count_segments", "MAX_SEGMENTS"]

#: Default refusal threshold of :func:`enumerate_segments`.
MAX_SEGMENTS = 200_000


def count_segments(chain: RolloutChain, start: np.ndarray, n_steps: int) -> int:
    """The number of segments of ``n_steps`` rows with non-zero probability (an int)."""
    pos = chain.prob > 0
    out_deg = np.bincount(chain.src[pos], minlength=chain.n_nodes).astype(object)
    count = (start > 0).astype(object)
    for t in range(n_steps):
        if t == n_steps - 1:
            return int(np.sum(count * out_deg))
        nxt = np.zeros(chain.n_nodes, dtype=object)
        np.add.at(nxt, chain.dst[pos], count[chain.src[pos]])
        count = nxt
    return 0  # pragma: no cover


def enumerate_segments(chain: RolloutChain, start: np.ndarray, n_steps: int, *,
                       discount: float, max_segments: int = MAX_SEGMENTS
                       ) -> tuple[Segment, np.ndarray, np.ndarray]:
    """(segments, probabilities ``[M]``, edges ``[n_steps, M]``) of one environment column.

    ``start`` ``[N]`` is the distribution of the first row's node. Segment m is column m
    of the returned :class:`Segment` (no value predictions attached); ``elapsed`` is
    ``None`` without a time limit (the chain then keeps only "first row of an episode").

    Raises :class:`TooManyTrajectoriesError` above ``max_segments`` (naming the count).
    """
    m = count_segments(chain, start, n_steps)
    if m > max_segments:
        raise TooManyTrajectoriesError(
            f"enumeration would produce {m:,} segments of {n_steps} steps "
            f"({chain.n_nodes} nodes, {chain.n_edges} edges), above max_segments={max_segments:,}; "
            "use fewer steps, or the recursion for a described advantage function")
    order, offsets = chain.edge_order()
    keep = chain.prob[order] > 0
    node = np.flatnonzero(start > 0)
    prob = start[node].astype(float)
    edges = np.empty((0, node.size), dtype=np.intp)
    for _ in range(n_steps):
        deg = offsets[node + 1] - offsets[node]
        rep = np.repeat(np.arange(node.size), deg)
        within = np.arange(rep.size) - np.repeat(np.cumsum(deg) - deg, deg)
        e = order[offsets[node][rep] + within]
        ok = keep[offsets[node][rep] + within]
        rep, e = rep[ok], e[ok]
        edges = np.vstack([edges[:, rep], e[None, :]])
        prob = prob[rep] * chain.prob[e]
        node = chain.dst[e]
    return _segment(chain, edges, discount), prob, edges


def _segment(chain: RolloutChain, edges: np.ndarray, discount: float) -> Segment:
    src = chain.src[edges]
    ended = chain.ended[edges]
    H = chain.problem.time_limit
    return Segment(
        observations=chain.state[src], actions=chain.action[edges], rewards=chain.reward[edges],
        terminated=chain.terminated[edges], truncated=chain.truncated[edges],
        final_observations=np.where(ended, chain.env_next[edges], -1),
        next_observations=chain.state[chain.dst[edges[-1]]],
        episode_starts=chain.fresh[src], elapsed=chain.elapsed[src] if H is not None else None,
        autoreset=chain.dead[src], mode=chain.mode, discount=discount)
