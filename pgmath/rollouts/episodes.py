"""Conversions between a rollout segment and a batch of episodes (:class:`pgmath.Trajectories`).

An episode batch holds one episode per row ``[N, T]``, T the longest episode; shorter
episodes are padded the way the absorbing MDP continues them (pgmath's exact engine):
the padding rows sit at the episode's last observation with action 0 and reward 0, and
``lengths`` says how many rows are real. ``final_states`` is the observation after the
last real step (the terminal state, the state the time limit cut, or — for an episode
the segment's edge cut — the segment's next observation).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import RolloutError, ShapeError, check_choice
from ..trajectories import Trajectories
from .segment import MODES, Segment

__all__ = ["EpisodeBatch", "segment_to_episodes", "episodes_to_segment"]


@dataclass(frozen=True, eq=False)
class EpisodeBatch:
    """Episodes cut from (or to be laid into) a segment.

    Attributes:
      trajectories: :class:`pgmath.Trajectories` ``[N, T]`` (padded past ``lengths``).
      lengths: ``[N]`` real steps of each episode.
      terminated, truncated: ``[N]`` how it ended (both False: cut by the segment's edge).
      complete: ``[N]`` it starts with a reset inside the segment and ends inside it.
      env, first_step: ``[N]`` where its first row is in the segment (−1 when unknown).
    """

    trajectories: Trajectories
    lengths: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    complete: np.ndarray
    env: np.ndarray
    first_step: np.ndarray

    @property
    def n(self) -> int:
        return self.lengths.size


def segment_to_episodes(segment: Segment, *, partial: bool = False) -> EpisodeBatch:
    """The episodes of a segment, in order of environment then time.

    Args:
      partial: also return the episodes the segment's edges cut (one that began before
        the first row, or goes on after the last); by default only complete ones.

    Next-step auto-reset rows belong to no episode.
    """
    rows = []
    n = segment.n_steps
    for e in range(segment.n_envs):
        t = 0
        while t < n:
            if segment.autoreset[t, e]:
                t += 1
                continue
            start = t
            while t < n and not segment.ended[t, e]:
                t += 1
            stop = min(t, n - 1)  # last real row
            ended = t < n
            rows.append((e, start, stop, ended))
            t = stop + 1
    eps = []
    for e, start, stop, ended in rows:
        complete = bool(segment.episode_starts[start, e]) and ended
        if not complete and not partial:
            continue
        if ended:
            final = int(segment.final_observations[stop, e])
        elif stop + 1 < n:  # pragma: no cover - an unended episode runs to the edge
            final = int(segment.observations[stop + 1, e])
        else:
            final = int(segment.next_observations[e])
        eps.append((e, start, stop, ended, complete, final))
    T = max([stop - start + 1 for _, start, stop, *_ in eps], default=1)
    N = len(eps)
    states = np.zeros((N, T), dtype=np.intp)
    actions = np.zeros((N, T), dtype=np.intp)
    rewards = np.zeros((N, T))
    out = {k: np.zeros(N, dtype=bool) for k in ("terminated", "truncated", "complete")}
    lengths = np.zeros(N, dtype=np.intp)
    env = np.zeros(N, dtype=np.intp)
    first = np.zeros(N, dtype=np.intp)
    finals = np.zeros(N, dtype=np.intp)
    for i, (e, start, stop, ended, complete, final) in enumerate(eps):
        L = stop - start + 1
        states[i, :L] = segment.observations[start:stop + 1, e]
        actions[i, :L] = segment.actions[start:stop + 1, e]
        rewards[i, :L] = segment.rewards[start:stop + 1, e]
        states[i, L:] = final
        lengths[i], env[i], first[i], finals[i] = L, e, start, final
        out["terminated"][i] = ended and segment.terminated[stop, e]
        out["truncated"][i] = ended and segment.truncated[stop, e]
        out["complete"][i] = complete
    traj = Trajectories(states, actions, rewards, final_states=finals, discount=segment.discount)
    return EpisodeBatch(traj, lengths, out["terminated"], out["truncated"], out["complete"],
                        env, first)


def episodes_to_segment(episodes: EpisodeBatch, *, n_steps: int, n_envs: int,
                        mode: str = "same_step", next_observations=None) -> Segment:
    """Lay episodes end to end into ``n_envs`` environment columns, as auto-reset plays them.

    Column e receives the episodes with ``episodes.env == e`` in their order (each starting
    with a reset), until it holds ``n_steps`` rows; the last one may be cut by the
    segment's edge (its ``final_states`` is then the observation after the cut).
    Next-step mode puts an auto-reset row (the final observation, action 0, reward 0)
    after each ended episode.

    ``next_observations`` ``[n_envs]`` gives the observation after the last row where the
    episodes do not (an episode that ends on the last row is followed by a reset whose
    observation belongs to no episode).

    Raises :class:`RolloutError` when the episodes run out before a column is full, an
    episode that is neither terminated nor truncated would have to be followed by another,
    or the observation after the last row is unknown.
    """
    check_choice("mode", mode, MODES, error=RolloutError)
    tr = episodes.trajectories
    for name in ("lengths", "terminated", "truncated", "env"):
        if np.shape(getattr(episodes, name)) != (tr.n,):
            raise ShapeError(f"{name} has shape {np.shape(getattr(episodes, name))}; expected "
                             f"[N] = ({tr.n},)")
    if np.any(episodes.env >= n_envs) or np.any(episodes.env < 0):
        raise RolloutError(f"episodes.env must name environments 0..{n_envs - 1}, got "
                           f"{sorted(set(episodes.env.tolist()))}")
    shape = (n_steps, n_envs)
    names = ("observations", "actions", "rewards", "terminated", "truncated", "final",
             "episode_starts", "elapsed", "autoreset")
    cols = {k: np.zeros(shape, dtype=dt) for k, dt in zip(names, (
        np.intp, np.intp, float, bool, bool, np.intp, bool, np.intp, bool))}
    nxt = np.zeros(n_envs, dtype=np.intp)
    for e in range(n_envs):
        mine = iter(np.flatnonzero(episodes.env == e).tolist())
        rows, cut_next = [], None
        while len(rows) <= n_steps and (i := next(mine, None)) is not None:
            L = int(episodes.lengths[i])
            term, trunc = bool(episodes.terminated[i]), bool(episodes.truncated[i])
            fin = int(tr.final_states[i])
            for j in range(L):
                last = j == L - 1
                rows.append((tr.states[i, j], tr.actions[i, j], tr.rewards[i, j],
                             last and term, last and trunc, fin if last and (term or trunc) else -1,
                             j == 0, j, False))
            if term or trunc:
                if mode == "next_step":
                    rows.append((fin, 0, 0.0, False, False, -1, False, L, True))
            elif len(rows) < n_steps:
                raise RolloutError(f"episode {i} (length {L}) is neither terminated nor "
                                   "truncated, so another episode cannot follow it")
            else:
                cut_next = fin if len(rows) == n_steps else None
        if len(rows) < n_steps:
            raise RolloutError(f"the episodes ran out: environment {e} has {len(rows)} of "
                               f"{n_steps} rows (give more episodes for it)")
        if len(rows) > n_steps:
            nxt[e] = rows[n_steps][0]
        elif cut_next is not None:
            nxt[e] = cut_next
        elif mode == "next_step" and rows[-1][5] >= 0:
            nxt[e] = rows[-1][5]
        elif next_observations is not None:
            nxt[e] = int(np.asarray(next_observations)[e])
        else:
            raise RolloutError(f"environment {e}: the observation after the last step is unknown "
                               "(its episode ended on the last row; give the next episode or next_observations)")
        for t, row in enumerate(rows[:n_steps]):
            for k, v in zip(names, row):
                cols[k][t, e] = v
    final = cols.pop("final")
    return Segment(final_observations=final, next_observations=nxt, mode=mode,
                   discount=tr.discount, **cols)
