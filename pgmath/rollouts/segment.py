"""The rollout view: one segment of n_steps × n_envs as vectorised RL code stores it.

Row t of environment column e holds what gymnasium's ``VectorEnv.step`` gave for the
action taken in ``observations[t, e]``:

============================  ==============================================================
``observations [n, e]``       the observation the action was taken in
``actions [n, e]``            the action
``rewards [n, e]``            the reward of the step
``terminated [n, e]``         the step entered a terminal state (the episode ended)
``truncated [n, e]``          the time limit ended the episode (and it did not terminate)
``final_observations [n, e]`` s_{t+1} of a step that ended an episode, −1 elsewhere
``episode_starts [n, e]``     the row's observation is the first of an episode
``elapsed [n, e]``            steps since the reset at the row's observation (or ``None``)
``autoreset [n, e]``          next-step mode: the row is a reset step (action ignored)
``next_observations [e]``     the observation after the last row (the bootstrap state)
``values [n, e]``             value predictions V(observations[t, e]) (optional)
``final_values [n, e]``       V(final_observations[t, e]) where an episode ended, else 0
``next_values [e]``           V(next_observations[e])
============================  ==============================================================

Auto-reset (gymnasium ≥ 1.0, ``gymnasium.vector.AutoresetMode``):

* ``mode="same_step"`` (``AutoresetMode.SAME_STEP``, and gym < 1.0 / stable-baselines3 /
  CleanRL's layout): the step that ends an episode returns the *reset* observation, the
  ended episode's last observation is ``info["final_obs"]`` (here
  ``final_observations``); the next row starts the new episode.
* ``mode="next_step"`` (``AutoresetMode.NEXT_STEP``, gymnasium 1.x's default): the step
  that ends an episode returns its final observation; the *next* call resets, ignores the
  action and returns the reset observation with reward 0 and both flags False. That row is
  marked ``autoreset``; a policy-gradient loss must not count it (pgmath masks it).

``AutoresetMode.DISABLED`` leaves resets to the caller and has no fixed layout.
Episodes may cross either edge of a segment: the first row may be mid-episode (its
``episode_starts`` is False), and the last one is bootstrapped from ``next_values``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from ..errors import RolloutError, ShapeError, check_choice
from .value_tables import lookup

__all__ = ["Segment", "MODES"]

#: Auto-reset modes a segment can be laid out in (gymnasium's SAME_STEP and NEXT_STEP).
MODES = ("same_step", "next_step")


def _where(t: int, e: int) -> str:
    return f"[t={t}, env={e}]"


def _first(mask: np.ndarray) -> tuple[int, int]:
    t, e = (int(i) for i in np.argwhere(mask)[0])
    return t, e


def _flags(name: str, x, shape) -> np.ndarray:
    a = np.asarray(x)
    if a.shape != shape:
        raise ShapeError(f"{name} has shape {a.shape} but the segment is [n_steps, n_envs] = {shape}")
    if a.dtype != bool:
        if not np.all((a == 0) | (a == 1)):
            t, e = _first(~((a == 0) | (a == 1)))
            raise RolloutError(f"{name}{_where(t, e)} is {a[t, e]!r}, not a boolean flag")
        a = a.astype(bool)
    return a


def _ints(name: str, x, shape, lo: int = 0) -> np.ndarray:
    a = np.asarray(x)
    if a.shape != shape:
        raise ShapeError(f"{name} has shape {a.shape}; expected {shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise ShapeError(f"{name} must hold integers, got dtype {a.dtype}")
    if a.size and a.min() < lo:
        idx = np.unravel_index(int(np.argmin(a)), a.shape)
        raise RolloutError(f"{name}{list(int(i) for i in idx)} is {int(a[idx])}, below {lo}")
    return a.astype(np.intp)


@dataclass(frozen=True, eq=False)
class Segment:
    """A rollout segment ``[n_steps, n_envs]`` (see the module docstring for each array).

    Raises (on construction):
      RolloutError: a segment shorter than one step; ``terminated`` and ``truncated``
        both set at a row (gymnasium's ``TimeLimit`` can return both when an episode
        terminates on its last allowed step: termination wins, pass
        ``truncated & ~terminated``); a final observation missing where an episode ended
        or present where none did; auto-reset rows that do not follow an ended step, or
        that carry a reward or a flag.
      ShapeError: arrays whose shapes disagree, value arrays one step short (values must
        be [n_steps, n_envs], with ``next_values`` [n_envs] for the observation after
        the last step).
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    final_observations: np.ndarray
    next_observations: np.ndarray
    episode_starts: np.ndarray
    elapsed: np.ndarray | None = None
    autoreset: np.ndarray | None = None
    mode: str = "same_step"
    discount: float = 1.0
    values: np.ndarray | None = None
    final_values: np.ndarray | None = None
    next_values: np.ndarray | None = None

    def __post_init__(self) -> None:
        obs = np.asarray(self.observations)
        if obs.ndim != 2:
            raise ShapeError(f"observations must be [n_steps, n_envs], got shape {obs.shape}")
        n, e = obs.shape
        if n < 1:
            raise RolloutError(f"a segment needs at least one step, got n_steps = {n} "
                               f"(observations of shape {obs.shape})")
        if e < 1:
            raise RolloutError(f"a segment needs at least one environment, got n_envs = {e}")
        check_choice("mode", self.mode, MODES, error=RolloutError)
        shape = (n, e)
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("observations", _ints("observations", obs, shape))
        set_("actions", _ints("actions", self.actions, shape))
        r = np.asarray(self.rewards, dtype=float)
        if r.shape != shape:
            raise ShapeError(f"rewards has shape {r.shape} but the segment is {shape}")
        if not np.all(np.isfinite(r)):
            t, k = _first(~np.isfinite(r))
            raise RolloutError(f"rewards{_where(t, k)} is not finite: {r[t, k]!r}")
        set_("rewards", r)
        term = _flags("terminated", self.terminated, shape)
        trunc = _flags("truncated", self.truncated, shape)
        both = term & trunc
        if both.any():
            t, k = _first(both)
            raise RolloutError(
                f"terminated{_where(t, k)} and truncated{_where(t, k)} are both set. gymnasium's "
                "TimeLimit returns both when an episode terminates on its last allowed step; "
                "the episode terminated (no bootstrap), so pass truncated & ~terminated")
        set_("terminated", term)
        set_("truncated", trunc)
        ended = term | trunc
        fin = _ints("final_observations", self.final_observations, shape, lo=-1)
        missing = ended & (fin < 0)
        if missing.any():
            t, k = _first(missing)
            raise RolloutError(f"the episode ended at{_where(t, k)} but final_observations{_where(t, k)} "
                               "is −1: give the last observation of the ended episode")
        extra = ~ended & (fin >= 0)
        if extra.any():
            t, k = _first(extra)
            raise RolloutError(f"final_observations{_where(t, k)} = {int(fin[t, k])} but no episode "
                               "ended at that step (use −1)")
        set_("final_observations", fin)
        nxt = np.asarray(self.next_observations)
        if nxt.shape != (e,):
            raise ShapeError(f"next_observations has shape {nxt.shape}; expected [n_envs] = ({e},)")
        set_("next_observations", _ints("next_observations", nxt, (e,)))
        starts = _flags("episode_starts", self.episode_starts, shape)
        set_("episode_starts", starts)
        auto = (np.zeros(shape, dtype=bool) if self.autoreset is None
                else _flags("autoreset", self.autoreset, shape))
        set_("autoreset", auto)
        self._check_layout(ended, starts, auto)
        if self.elapsed is not None:
            set_("elapsed", _ints("elapsed", self.elapsed, shape))
        self._check_values(shape)

    def _check_layout(self, ended, starts, auto) -> None:
        if self.mode == "same_step":
            if auto.any():
                t, k = _first(auto)
                raise RolloutError(f"autoreset{_where(t, k)} is set in a same-step segment; "
                                   "reset rows exist only in mode='next_step'")
            expect = ended[:-1]
        else:
            want = ended[:-1]
            bad = auto[1:] != want
            if bad.any():
                t, k = _first(bad)
                raise RolloutError(
                    f"next-step auto-reset: row t={t + 1}, env={k} is "
                    f"{'an' if auto[t + 1, k] else 'not an'} autoreset row but step t={t} "
                    f"{'did' if want[t, k] else 'did not'} end an episode")
            for name, arr in (("rewards", self.rewards != 0), ("terminated", self.terminated),
                              ("truncated", self.truncated)):
                bad = auto & arr
                if bad.any():
                    t, k = _first(bad)
                    raise RolloutError(f"{name}{_where(t, k)} is set on an autoreset row (the "
                                       "reset step has reward 0 and no flags)")
            expect = auto[:-1]
        bad = starts[1:] != expect
        if bad.any():
            t, k = _first(bad)
            raise RolloutError(
                f"episode_starts{_where(t + 1, k)} is {bool(starts[t + 1, k])} but the layout says "
                f"{bool(expect[t, k])} (an episode starts after "
                f"{'an ended step' if self.mode == 'same_step' else 'an autoreset row'})")

    def _check_values(self, shape) -> None:
        n, e = shape
        given = [f.name for f in fields(self) if f.name in ("values", "final_values", "next_values")
                 and getattr(self, f.name) is not None]
        if not given:
            return
        if len(given) != 3:
            raise ShapeError(f"give values, final_values and next_values together (got {given})")
        for name, want in (("values", shape), ("final_values", shape), ("next_values", (e,))):
            v = np.asarray(getattr(self, name), dtype=float)
            if v.shape != want:
                hint = ""
                if name != "next_values" and v.ndim == 2 and v.shape[1] == e and v.shape[0] == n - 1:
                    hint = (f": {name} is one step short — one value per step, the value of the "
                            "observation after the last step goes in next_values [n_envs]")
                elif name != "next_values" and v.ndim == 2 and v.shape[0] == n + 1:
                    hint = (f": {name} has one row too many — pass rows [:n_steps] and the last "
                            "row as next_values")
                raise ShapeError(f"{name} has shape {v.shape} but the segment is "
                                 f"{shape if name != 'next_values' else (e,)}{hint}")
            if not np.all(np.isfinite(v)):
                idx = tuple(int(i) for i in np.argwhere(~np.isfinite(v))[0])
                raise RolloutError(f"{name}{list(idx)} is not finite: {float(v[idx])!r}")
            object.__setattr__(self, name, v)

    # -- sizes -------------------------------------------------------------------------
    @property
    def n_steps(self) -> int:
        return self.observations.shape[0]

    @property
    def n_envs(self) -> int:
        return self.observations.shape[1]

    @property
    def ended(self) -> np.ndarray:
        """``[n, e]`` terminated | truncated."""
        return self.terminated | self.truncated

    @property
    def live(self) -> np.ndarray:
        """``[n, e]`` the rows whose action acted (all but next-step autoreset rows)."""
        return ~self.autoreset

    @property
    def has_values(self) -> bool:
        return self.values is not None

    def next_elapsed(self) -> np.ndarray:
        """``[e]`` the time since the reset at ``next_observations`` (−1 when unknown)."""
        if self.elapsed is None:
            return np.full(self.n_envs, -1, dtype=np.intp)
        last = self.elapsed[-1] + 1
        ended, auto = self.ended[-1], self.autoreset[-1]
        if self.mode == "same_step":
            return np.where(ended | auto, 0, last)
        return np.where(auto, 0, last)

    def with_values(self, table: np.ndarray) -> "Segment":
        """This segment with ``values``, ``final_values`` and ``next_values`` read from a
        ``[K, S]`` value table (:func:`pgmath.rollouts.value_tables.as_value_table`).

        values[t] = V_{k_t}(obs_t), final_values[t] = V_{k_t + 1}(final_obs_t) where an
        episode ended (0 elsewhere), next_values = V_k(next_obs); a stationary table ignores k.
        """
        V = np.asarray(table, dtype=float)
        if V.ndim != 2:
            raise ShapeError(f"with_values needs a [K, S] table, got shape {V.shape}")
        k = self.elapsed if self.elapsed is not None else np.full(self.observations.shape, -1)
        S = V.shape[1]
        for name, arr in (("observations", self.observations),
                          ("final_observations", self.final_observations),
                          ("next_observations", self.next_observations)):
            if arr.size and arr.max() >= S:
                raise ShapeError(f"{name} reaches state {int(arr.max())} but the value table has "
                                 f"{S} states")
        values = lookup(V, k, self.observations)
        ended = self.ended
        fin_k = np.where(ended, k + 1, 0) if V.shape[0] > 1 else k
        final = np.where(ended, lookup(V, fin_k, np.maximum(self.final_observations, 0)), 0.0)
        nxt = lookup(V, self.next_elapsed(), self.next_observations)
        return replace(self, values=values, final_values=final, next_values=nxt)

    def columns(self, idx) -> "Segment":
        """The environment columns ``idx`` (a slice or an index array) as a segment."""
        kw = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                kw[f.name] = v[idx] if v.ndim == 1 else v[:, idx]
            else:
                kw[f.name] = v
        return Segment(**kw)

    def __repr__(self) -> str:
        return (f"Segment(n_steps={self.n_steps}, n_envs={self.n_envs}, mode={self.mode!r}, "
                f"episodes ended={int(self.ended.sum())}, values={'yes' if self.has_values else 'no'})")
