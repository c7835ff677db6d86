"""Finite MDPs and POMDPs as validated arrays (notes §3.1).

An MDP is 𝓜 = {𝓢, 𝓐, 𝓣, r}: transitions ``P[s, a, s'] = p(s'|s, a)``, rewards
``R[s, a]`` (or ``R[s, a, s']``), a start distribution ``p0[s] = p(s₀)``, a horizon T
(or ``None`` for an infinite horizon) and a discount γ ∈ (0, 1]. A POMDP adds the
emission ``O[s, o] = p(o|s)`` (the notes' 𝓔).

Time is indexed t = 0..T-1 in code (the notes use 1..T). The objective is
J = E[Σ_{t<T} γ^t r(s_t, a_t)].
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._deprecation import keyword_only
from .errors import InvalidDistributionError, InvalidMDPError, ShapeError
from .probability import SUM_TOL, probability_tolerance

__all__ = ["TabularMDP", "POMDP", "check_distribution", "horizon_steps"]


@keyword_only
def check_distribution(p: np.ndarray, name: str, *, index_names: tuple[str, ...] = ()) -> np.ndarray:
    """Check that the last axis of ``p`` holds probability distributions.

    Every row must sum to 1 within :data:`~pgmath.probability.SUM_TOL` and every entry be
    ≥ 0; an entry within the rounding tolerance tol(1) below 0 (e.g. ``0.7 - 0.3 - 0.4``)
    is rounding and is set to 0 (:mod:`pgmath.probability`).

    Raises :class:`InvalidDistributionError` naming the array, the index of the first
    bad row (with ``index_names``) and the offending value. Returns ``p`` as float64,
    with the rounding-negative entries set to 0.
    """
    p = np.asarray(p, dtype=float)
    if p.ndim == 0:
        raise ShapeError(f"{name} must be an array of probabilities, got a scalar")
    if p.shape[-1] == 0:
        raise ShapeError(f"{name} has shape {p.shape}: its last axis is empty")

    def where(idx: tuple[int, ...]) -> str:
        if not idx:
            return name
        names = index_names if len(index_names) == len(idx) else tuple(f"i{k}" for k in range(len(idx)))
        return f"{name}[{', '.join(f'{n}={i}' for n, i in zip(names, idx))}, :]"

    bad = ~np.isfinite(p)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidDistributionError(
            f"{where(idx[:-1])} contains a non-finite entry {float(p[idx])!r} at position {idx[-1]}")
    neg = p < -probability_tolerance(1)
    if neg.any():
        idx = tuple(int(i) for i in np.argwhere(neg)[0])
        raise InvalidDistributionError(
            f"{where(idx[:-1])} has a negative probability {float(p[idx])!r} at position {idx[-1]}")
    sums = p.sum(axis=-1)
    off = np.abs(sums - 1.0) > SUM_TOL
    if np.any(off):
        idx = tuple(int(i) for i in np.argwhere(np.atleast_1d(off))[0]) if p.ndim > 1 else ()
        s = float(sums[idx]) if p.ndim > 1 else float(sums)
        raise InvalidDistributionError(f"{where(idx)} sums to {s!r}, not 1")
    return np.maximum(p, 0.0)


def horizon_steps(mdp, n_steps: int | None) -> int:
    """T: ``n_steps`` when given (a positive int, at most a finite horizon), else the MDP's
    finite horizon.

    The one rule for every function that runs a number of steps (the sampler, enumeration,
    marginals, the moment recursion): a finite-horizon MDP ends at its horizon, so
    ``n_steps`` may truncate it but not extend it (an episode longer than T would sum
    rewards J does not contain); an infinite-horizon MDP needs ``n_steps``.

    Raises :class:`InvalidMDPError` for an infinite-horizon MDP without ``n_steps``, for
    an ``n_steps`` that is not a positive int, and for ``n_steps`` > horizon.
    """
    if n_steps is None:
        if mdp.horizon is None:
            raise InvalidMDPError(f"{mdp!r} has an infinite horizon: pass n_steps")
        return mdp.horizon
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise InvalidMDPError(f"n_steps must be a positive int, got {n_steps!r}")
    if mdp.horizon is not None and n_steps > mdp.horizon:
        raise InvalidMDPError(
            f"n_steps = {n_steps} exceeds the horizon {mdp.horizon} of {mdp!r}: a finite-horizon "
            "problem ends at its horizon (use mdp.with_horizon(n) for a longer one)")
    return int(n_steps)


def _layout_hint(P: np.ndarray) -> str:
    """A hint when ``P`` is not a valid [S, A, S'] table but its transpose [S, S', A] → [S, A, S']
    would be (every P[s, :, a] a distribution): the common layout mistake (issue 17.5)."""
    if P.ndim != 3 or P.shape[0] != P.shape[1] or 0 in P.shape:
        return ""
    T = np.swapaxes(P, 1, 2)
    with np.errstate(invalid="ignore"):
        ok = (np.all(np.isfinite(T)) and np.all(T >= -probability_tolerance(1))
              and np.all(np.abs(T.sum(axis=-1) - 1.0) <= SUM_TOL))
    if not ok:
        return ""
    S, _, A = P.shape
    return (f"; P looks like [S, S', A] = {P.shape} (every P[s, :, a] sums to 1); pgmath wants "
            f"[S, A, S'] = {(S, A, S)}: pass P.transpose(0, 2, 1)")


def _check_horizon_discount(horizon, discount) -> tuple[int | None, float]:
    if horizon is not None:
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)):
            raise InvalidMDPError(f"horizon must be a positive int or None, got {horizon!r}")
        if horizon <= 0:
            raise InvalidMDPError(f"horizon must be a positive int (≥ 1) or None, got {horizon}")
        horizon = int(horizon)
    try:
        discount = float(discount)
    except (TypeError, ValueError):
        raise InvalidMDPError(f"discount must be a number in (0, 1], got {discount!r}") from None
    if not (0.0 < discount <= 1.0) or not np.isfinite(discount):
        raise InvalidMDPError(f"discount γ must lie in (0, 1], got {discount!r}")
    return horizon, discount


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite MDP with validated arrays.

    Args:
      P: ``[S, A, S]`` transition probabilities p(s'|s, a); every row sums to 1.
      R: ``[S, A]`` rewards r(s, a), or ``[S, A, S]`` rewards r(s, a, s').
      p0: ``[S]`` start distribution p(s₀).
      horizon: T ≥ 1 for J = E[Σ_{t<T} γ^t r_t]; ``None`` for an infinite horizon
        (γ < 1 discounted; γ = 1 needs absorbing zero-reward terminal states and a
        proper policy; the average-reward criterion is :func:`pgmath.exact.average_reward`).
      discount: γ ∈ (0, 1].

    Attributes:
      r: ``[S, A]`` expected reward r(s, a) = Σ_{s'} P[s, a, s'] R[s, a, s'] (equal to
        ``R`` when ``R`` is ``[S, A]``).

    Raises:
      ShapeError, InvalidDistributionError, InvalidMDPError (all ``ValueError``).

    Examples:
      >>> import numpy as np
      >>> mdp = TabularMDP(np.ones((2, 1, 2)) / 2, np.array([[1.0], [0.0]]),
      ...                  np.array([1.0, 0.0]), horizon=2)
      >>> mdp.n_states, mdp.n_actions
      (2, 1)
    """

    P: np.ndarray
    R: np.ndarray
    p0: np.ndarray
    horizon: int | None = None
    discount: float = 1.0
    r: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        P = np.asarray(self.P, dtype=float)
        R = np.asarray(self.R, dtype=float)
        p0 = np.asarray(self.p0, dtype=float)
        if P.ndim != 3 or P.shape[0] != P.shape[2]:
            raise ShapeError(f"P must have shape [S, A, S], got {P.shape}{_layout_hint(P)}")
        S, A, _ = P.shape
        if S == 0 or A == 0:
            raise ShapeError(f"P has shape {P.shape}: need at least one state and one action")
        if R.shape not in ((S, A), (S, A, S)):
            raise ShapeError(
                f"R has shape {R.shape} but P has shape {P.shape}: R must be [S, A] = {(S, A)} "
                f"or [S, A, S] = {(S, A, S)}")
        if p0.shape != (S,):
            raise ShapeError(f"p0 has shape {p0.shape} but P has {S} states: p0 must be [S] = ({S},)")
        try:
            P = check_distribution(P, "P", index_names=("s", "a"))
        except InvalidDistributionError as e:
            raise InvalidDistributionError(f"{e}{_layout_hint(P)}") from None
        if not np.all(np.isfinite(R)):
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(R))[0])
            raise InvalidMDPError(f"R{list(idx)} is not finite: {float(R[idx])!r}")
        p0 = check_distribution(p0, "p0")
        horizon, discount = _check_horizon_discount(self.horizon, self.discount)
        r = R if R.ndim == 2 else np.einsum("sat,sat->sa", P, R)
        for name, val in (("P", P), ("R", R), ("p0", p0), ("r", r),
                          ("horizon", horizon), ("discount", discount)):
            val = val.copy() if isinstance(val, np.ndarray) else val
            if isinstance(val, np.ndarray):
                val.setflags(write=False)
            object.__setattr__(self, name, val)

    # -- sizes ---------------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]

    @property
    def is_finite_horizon(self) -> bool:
        return self.horizon is not None

    @property
    def reward_depends_on_next_state(self) -> bool:
        return self.R.ndim == 3

    @property
    def is_pomdp(self) -> bool:
        return False

    def terminal_states(self) -> np.ndarray:
        """Indices of absorbing states: P[s, a, s] = 1 for every action a.

        An absorbing state is *terminal* when its reward is 0 for every action; the
        undiscounted infinite-horizon solvers require that (otherwise the return
        diverges) and raise :class:`InvalidMDPError` naming the state.
        """
        diag = self.P[np.arange(self.n_states), :, np.arange(self.n_states)]  # [S, A]
        return np.flatnonzero(np.all(np.abs(diag - 1.0) <= SUM_TOL, axis=1))

    def with_horizon(self, horizon: int | None) -> "TabularMDP":
        """The same dynamics and rewards with another horizon."""
        return type(self)(**{**self._fields(), "horizon": horizon})

    def with_discount(self, discount: float) -> "TabularMDP":
        """The same dynamics and rewards with another discount."""
        return type(self)(**{**self._fields(), "discount": discount})

    def _fields(self) -> dict:
        return dict(P=self.P, R=self.R, p0=self.p0, horizon=self.horizon, discount=self.discount)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(S={self.n_states}, A={self.n_actions}, "
                f"horizon={self.horizon}, discount={self.discount})")


class POMDP(TabularMDP):
    """A finite POMDP: a :class:`TabularMDP` plus emissions ``O[s, o] = p(o|s)``.

    Args:
      P, R, p0: as for :class:`TabularMDP`.
      O: ``[S, n_obs]`` emission probabilities p(o|s); every row sums to 1.
      horizon, discount: as for :class:`TabularMDP`.

    A memoryless observation policy π(a|o) acts in hidden state s through
    π_s(a|s) = Σ_o O[s, o] π(a|o), which is how the exact solvers treat it. The
    observation o_t is drawn afresh from O[s_t] at every step.
    """

    O: np.ndarray

    def __init__(self, P, R, p0, O, horizon: int | None = None, discount: float = 1.0) -> None:
        object.__setattr__(self, "O", O)
        super().__init__(P, R, p0, horizon, discount)

    def __post_init__(self) -> None:
        super().__post_init__()
        O = np.asarray(self.O, dtype=float)
        if O.ndim != 2 or O.shape[0] != self.n_states:
            raise ShapeError(
                f"O has shape {O.shape} but P has {self.n_states} states: O must be [S, n_obs]")
        O = check_distribution(O, "O", index_names=("s",))
        O = O.copy()
        O.setflags(write=False)
        object.__setattr__(self, "O", O)

    @property
    def n_observations(self) -> int:
        return self.O.shape[1]

    @property
    def is_pomdp(self) -> bool:
        return True

    def _fields(self) -> dict:
        return {**super()._fields(), "O": self.O}

    def __repr__(self) -> str:
        return (f"POMDP(S={self.n_states}, A={self.n_actions}, n_obs={self.n_observations}, "
                f"horizon={self.horizon}, discount={self.discount})")
