"""Problems with terminations and time limits, and the objective each one states.

A rollout problem is an MDP played in episodes the way RL code plays it:

* an episode starts from p(s₀) (a *reset*);
* it **terminates** on entering a terminal state (gymnasium's ``terminated``): the
  terminal state is absorbing, its value is 0, and nothing is collected after it;
* it is **truncated** by a time limit H after H steps (gymnasium's ``truncated``, the
  ``TimeLimit`` wrapper): the environment is reset although the state was not terminal.

Two objectives (Pardo et al. 2018, "Time Limits in Reinforcement Learning"):

(a) ``objective="episodic"``: the return of the episode as played,

        J = E[Σ_{t<L} γ^t r_t],   L = min(τ, H),  τ the termination time,

    γ ∈ (0, 1]. The time limit is part of the task: values depend on the time k since the
    reset, V_k(s), with V_H = 0, so a truncation ends the return like a termination.
    Without a time limit and with γ = 1 the policy must terminate with probability 1.

(b) ``objective="discounted"``: the infinite-horizon discounted return

        J_γ = E[Σ_{t<τ} γ^t r_t],   γ < 1,

    with no time limit in the objective; H only decides when data collection resets an
    environment. A truncated episode's return continues past H: partial-episode
    bootstrapping adds γ V_γ(s_{t+1}) at the truncated step (Pardo et al. 2018, §3).

With no time limit (H = ``None``) both objectives are the same number for γ < 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ImproperPolicyError, InvalidMDPError, check_choice
from ..mdp import SUM_TOL, TabularMDP

__all__ = ["RolloutProblem", "rollout_problem", "OBJECTIVES"]

#: The two objectives a rollout problem can state.
OBJECTIVES = ("episodic", "discounted")


@dataclass(frozen=True, eq=False)
class RolloutProblem:
    """An MDP with terminal states and a time limit, and the objective it is solved for.

    Build one with :func:`rollout_problem` (which validates the input).

    Attributes:
      mdp: the *absorbing* MDP (``horizon=None``): terminal rows of P are self-loops and
        their rewards are 0, so the exact engine's return stops at termination.
      terminal: ``[K]`` int, the terminal states.
      time_limit: H ≥ 1 or ``None``.
      objective: ``"episodic"`` or ``"discounted"``.
    """

    mdp: TabularMDP
    terminal: np.ndarray
    time_limit: int | None
    objective: str

    @property
    def n_states(self) -> int:
        return self.mdp.n_states

    @property
    def n_actions(self) -> int:
        return self.mdp.n_actions

    @property
    def discount(self) -> float:
        """γ."""
        return self.mdp.discount

    @property
    def is_terminal(self) -> np.ndarray:
        """``[S]`` bool: entering this state ends the episode (``terminated``)."""
        out = np.zeros(self.n_states, dtype=bool)
        out[self.terminal] = True
        return out

    @property
    def time_dependent_values(self) -> bool:
        """True when the objective's values depend on the time k since the reset (the
        episodic objective with a time limit: V_k(s), V_H = 0)."""
        return self.objective == "episodic" and self.time_limit is not None

    def target_mdp(self) -> TabularMDP:
        """The MDP whose :func:`pgmath.exact.objective` is this problem's objective:
        the absorbing MDP with horizon H (episodic with a time limit) or ``None``."""
        if self.time_dependent_values:
            return self.mdp.with_horizon(self.time_limit)
        return self.mdp

    def __repr__(self) -> str:
        return (f"RolloutProblem(S={self.n_states}, A={self.n_actions}, "
                f"terminal={self.terminal.tolist()}, H={self.time_limit}, "
                f"γ={self.discount:g}, objective={self.objective!r})")


def _check_time_limit(time_limit) -> int | None:
    if time_limit is None:
        return None
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, np.integer)):
        raise InvalidMDPError(f"time_limit must be a positive int H or None, got {time_limit!r}")
    if time_limit < 1:
        raise InvalidMDPError(
            f"time_limit H = {int(time_limit)}: a time limit must allow at least one step "
            "(H ≥ 1); pass None for no time limit")
    return int(time_limit)


def _check_terminal(mdp: TabularMDP, terminal) -> np.ndarray:
    S = mdp.n_states
    if terminal is None:
        return mdp.terminal_states().astype(np.intp)
    t = np.asarray(terminal)
    if t.dtype == bool:
        if t.shape != (S,):
            raise InvalidMDPError(f"a boolean terminal mask must have shape [S] = ({S},), got {t.shape}")
        return np.flatnonzero(t).astype(np.intp)
    t = np.atleast_1d(t)
    if t.ndim != 1 or (t.size and not np.issubdtype(t.dtype, np.integer)):
        raise InvalidMDPError(f"terminal must be a list of state indices, got {terminal!r}")
    bad = [int(s) for s in t if not 0 <= s < S]
    if bad:
        raise InvalidMDPError(f"terminal state {bad[0]} is not a state of an MDP with {S} states")
    if len(set(t.tolist())) != t.size:
        raise InvalidMDPError(f"terminal lists a state twice: {t.tolist()}")
    return np.sort(t).astype(np.intp)


def rollout_problem(mdp: TabularMDP, *, objective: str = "discounted",
                    time_limit: int | None = None, terminal=None) -> RolloutProblem:
    """A :class:`RolloutProblem`: ``mdp`` played in episodes that end at terminal states
    and at the time limit H.

    Args:
      mdp: a :class:`pgmath.TabularMDP` (P, R, p0, γ). Its horizon, if finite, is taken as
        the time limit H when ``time_limit`` is ``None``.
      objective: ``"discounted"`` (J_γ, γ < 1, H only resets data collection) or
        ``"episodic"`` (J = E[Σ_{t<min(τ,H)} γ^t r_t], the time limit part of the task).
      time_limit: H ≥ 1, or ``None`` for no time limit.
      terminal: the terminal states (indices or a ``[S]`` boolean mask); default: the
        absorbing states of ``mdp`` (P[s, a, s] = 1 for every a). Their rows of P and R are
        ignored: an episode ends on entering one, so nothing happens there.

    Raises:
      InvalidMDPError: a time limit that is not a positive int (H = 0 included), a POMDP,
        p(s₀) on a terminal state, γ = 1 with the discounted objective, a horizon that
        disagrees with ``time_limit``.
      ImproperPolicyError: the episodic objective with γ = 1, no time limit and no
        terminal state: no episode can end, so J diverges.
      InvalidArgumentError: an unknown objective.

    Examples:
      >>> import numpy as np
      >>> from pgmath import TabularMDP
      >>> P = np.zeros((2, 1, 2)); P[0, 0] = [0.5, 0.5]; P[1, 0, 1] = 1.0
      >>> prob = rollout_problem(TabularMDP(P, np.array([[1.0], [0.0]]), np.array([1.0, 0.0]),
      ...                        discount=0.9), time_limit=3)
      >>> prob.terminal.tolist(), prob.time_limit, prob.objective
      ([1], 3, 'discounted')
    """
    if not isinstance(mdp, TabularMDP):
        raise InvalidMDPError(f"mdp must be a pgmath.TabularMDP, got {type(mdp).__name__}")
    if getattr(mdp, "is_pomdp", False):
        raise InvalidMDPError(f"{mdp!r} is a POMDP: rollouts are modelled for fully observed MDPs")
    check_choice("objective", objective, OBJECTIVES)
    H = _check_time_limit(time_limit)
    if mdp.horizon is not None:
        if H is None:
            H = mdp.horizon
        elif H != mdp.horizon:
            raise InvalidMDPError(
                f"time_limit={H} disagrees with the MDP's horizon {mdp.horizon}; pass one of them")
    term = _check_terminal(mdp, terminal)
    gamma = mdp.discount
    on_terminal = term[mdp.p0[term] > SUM_TOL] if term.size else term
    if on_terminal.size:
        s = int(on_terminal[0])
        raise InvalidMDPError(
            f"p0 puts probability {float(mdp.p0[s])!r} on terminal state {s}: an episode "
            "would end before its first step")
    if objective == "discounted" and gamma >= 1.0:
        raise InvalidMDPError(
            "the discounted objective J_γ needs γ < 1 (got γ = 1); the undiscounted return of "
            "an episode is objective='episodic'")
    if objective == "episodic" and gamma >= 1.0 and H is None and term.size == 0:
        raise ImproperPolicyError(
            f"{mdp!r} cannot terminate: the episodic objective with γ = 1 and no time limit "
            "needs terminal states (none given, none absorbing), else every return diverges; "
            "give terminal=, a time_limit, or γ < 1")
    P = np.array(mdp.P)
    R = np.array(mdp.R)
    P[term] = 0.0
    P[term, :, term] = 1.0
    R[term] = 0.0
    absorbing = TabularMDP(P, R, mdp.p0, horizon=None, discount=gamma)
    return RolloutProblem(absorbing, term, H, objective)
