"""Named MDPs and POMDPs with known answers.

* :func:`bandit`: a multi-armed bandit (one state).
* :func:`chain`: a RiverSwim-style chain with slip.
* :func:`gridworld`: a configurable gridworld (walls, teleporting cells with bonus
  rewards, an off-grid penalty, goals, slip); the default is the 5×5 gridworld of
  Sutton & Barto, *Reinforcement Learning: An Introduction* (2nd ed.), Example 3.5.
* :func:`short_corridor`: the short corridor with switched actions (Sutton & Barto,
  Example 13.1), a POMDP in which every state gives the same observation.
* :func:`tightrope`: a rope walk for imitation learning: one wrong step and you fall.
* :func:`double_integrator`: a point mass pushed by a force, a linear-quadratic problem
  with continuous states and actions (:class:`pgmath.lqr.LQRProblem`).

:func:`make` builds one by name; :func:`names` lists them (both read the table
:data:`NAMED`). :func:`random_mdp` and :func:`random_problem` draw seeded random problems,
the ones tests, benchmarks and claim checks use.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from ._deprecation import keyword_only
from .errors import InvalidMDPError
from .lqr.policies import GaussianLinearPolicy
from .lqr.problem import LQRProblem
from .mdp import POMDP, TabularMDP
from .policies import ObservationSoftmaxPolicy, SoftmaxPolicy
from .probability import check_probability

__all__ = ["bandit", "chain", "gridworld", "short_corridor", "short_corridor_objective",
           "tightrope", "double_integrator", "make", "names", "default_policy", "GRID_ACTIONS",
           "NAMED", "NamedEnvironment", "random_mdp", "random_problem"]


@keyword_only
def bandit(means: Sequence[float] = (0.2, 0.5, 0.8), *, horizon: int = 1) -> TabularMDP:
    """A k-armed bandit: one state, r(0, a) = means[a], repeated ``horizon`` times."""
    m = np.asarray(means, dtype=float)
    if m.ndim != 1 or m.size < 1:
        raise InvalidMDPError(f"means must be a non-empty 1-D sequence, got shape {m.shape}")
    k = m.size
    return TabularMDP(np.ones((1, k, 1)), m[None, :], np.ones(1), horizon=horizon)


def chain(n_states: int = 5, *, slip: float = 0.1, left_reward: float = 0.05,
          right_reward: float = 1.0, horizon: int | None = 20,
          discount: float = 1.0) -> TabularMDP:
    """A RiverSwim-style chain of ``n_states`` states, starting at state 0.

    Action 0 (left) moves left deterministically; action 1 (right) moves right with
    probability 1 − slip and stays with probability slip. At state 0, going left pays
    ``left_reward``; at the last state, going right pays ``right_reward``.
    """
    if n_states < 2:
        raise InvalidMDPError(f"chain needs n_states ≥ 2, got {n_states}")
    if not 0.0 <= slip < 1.0:
        raise InvalidMDPError(f"slip must lie in [0, 1), got {slip}")
    S = n_states
    P = np.zeros((S, 2, S))
    R = np.zeros((S, 2))
    for s in range(S):
        P[s, 0, max(s - 1, 0)] = 1.0
        P[s, 1, min(s + 1, S - 1)] += 1.0 - slip
        P[s, 1, s] += slip
    R[0, 0] = left_reward
    R[S - 1, 1] = right_reward
    p0 = np.eye(S)[0]
    return TabularMDP(P, R, p0, horizon=horizon, discount=discount)


#: Gridworld actions in order: (row, column) moves.
GRID_ACTIONS = (("up", (-1, 0)), ("right", (0, 1)), ("down", (1, 0)), ("left", (0, -1)))

_SB_LAYOUT = (".....",) * 5


def gridworld(layout: Sequence[str] = _SB_LAYOUT, *,
              teleports: dict | None = None,
              off_grid_penalty: float = -1.0,
              step_reward: float = 0.0,
              goal_reward: float = 1.0,
              slip: float = 0.0,
              start: tuple[int, int] | None = None,
              horizon: int | None = None,
              discount: float = 0.9) -> TabularMDP:
    """A gridworld from a layout of strings: ``.`` free, ``#`` wall, ``G`` goal, ``S`` start.

    Actions: up, right, down, left (:data:`GRID_ACTIONS`). A move into a wall or off the
    grid leaves the agent in place; off the grid it pays ``off_grid_penalty``. Every
    other move pays ``step_reward``. A teleporting cell ``(r, c): ((r2, c2), bonus)``
    sends every action to (r2, c2) with reward ``bonus``. Entering a goal pays
    ``goal_reward``; goals are absorbing with zero reward (terminal). With ``slip`` > 0
    the intended move happens with probability 1 − slip, otherwise a uniformly random
    move. States are the free cells in row-major order; the start is ``S`` (or
    ``start``), else uniform over free non-goal cells.

    The default is Sutton & Barto's Example 3.5 (teleports A=(0,1)→(4,1) +10,
    B=(0,3)→(2,3) +5, off-grid −1, γ = 0.9, infinite horizon, uniform start).
    """
    if teleports is None and tuple(layout) == _SB_LAYOUT:
        teleports = {(0, 1): ((4, 1), 10.0), (0, 3): ((2, 3), 5.0)}
    teleports = teleports or {}
    rows = [str(r) for r in layout]
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise InvalidMDPError("layout must be a non-empty list of equal-length strings")
    bad = {ch for r in rows for ch in r} - set(".#GS")
    if bad:
        raise InvalidMDPError(f"layout has unknown characters {sorted(bad)}; use . # G S")
    slip = float(check_probability(slip, "slip", error=InvalidMDPError))
    H, W = len(rows), len(rows[0])
    cells = [(r, c) for r in range(H) for c in range(W) if rows[r][c] != "#"]
    index = {cell: i for i, cell in enumerate(cells)}
    for src, (dst, _) in teleports.items():
        for cell in (src, dst):
            if tuple(cell) not in index:
                raise InvalidMDPError(f"teleport cell {cell} is not a free cell of the layout")
    goals = {cell for cell in cells if rows[cell[0]][cell[1]] == "G"}
    S, A = len(cells), len(GRID_ACTIONS)
    P = np.zeros((S, A, S))
    R = np.zeros((S, A, S))

    def move(cell, delta):
        r, c = cell[0] + delta[0], cell[1] + delta[1]
        if not (0 <= r < H and 0 <= c < W):
            return cell, off_grid_penalty
        if rows[r][c] == "#":
            return cell, step_reward
        return (r, c), step_reward

    for cell, s in index.items():
        if cell in goals:
            P[s, :, s] = 1.0
            continue
        if cell in teleports:
            dst, bonus = teleports[cell]
            P[s, :, index[tuple(dst)]] = 1.0
            R[s, :, index[tuple(dst)]] = bonus
            continue
        for a, (_, delta) in enumerate(GRID_ACTIONS):
            outcomes = [(1.0 - slip, delta)] + [(slip / A, d) for _, d in GRID_ACTIONS]
            for prob, d in outcomes:
                if prob == 0.0:
                    continue
                nxt, rew = move(cell, d)
                if nxt in goals:
                    rew = rew + goal_reward
                j = index[nxt]
                # rewards are per (s, a, s'): average when several moves land on s'
                R[s, a, j] = (R[s, a, j] * P[s, a, j] + rew * prob) / (P[s, a, j] + prob)
                P[s, a, j] += prob
    if start is None:
        starts = [cell for cell in cells if rows[cell[0]][cell[1]] == "S"]
        start_cells = starts or [cell for cell in cells if cell not in goals]
    else:
        if tuple(start) not in index:
            raise InvalidMDPError(f"start {start} is not a free cell of the layout")
        start_cells = [tuple(start)]
    p0 = np.zeros(S)
    for cell in start_cells:
        p0[index[cell]] = 1.0 / len(start_cells)
    # collapse to R[s, a] when the reward does not depend on s'
    R2 = np.einsum("sat,sat->sa", P, R)
    if np.allclose(R, np.where(P > 0, R2[:, :, None], R)):
        return TabularMDP(P, R2, p0, horizon=horizon, discount=discount)
    return TabularMDP(P, R, p0, horizon=horizon, discount=discount)


def short_corridor() -> POMDP:
    """Short corridor with switched actions (Sutton & Barto, Example 13.1).

    Three non-terminal states and a terminal state 3; reward −1 per step; γ = 1,
    infinite horizon (episodic). Actions: 0 = left, 1 = right. In state 1 the actions
    are switched. Every state emits the same observation, so a policy can only choose
    p = π(right): use ``ObservationSoftmaxPolicy(1, 2)``.
    J(p) = (2p − 4) / (p(1 − p)) (:func:`short_corridor_objective`), maximal at
    p = 2 − √2 ≈ 0.586 with J ≈ −11.657.
    """
    P = np.zeros((4, 2, 4))
    P[0, 0, 0] = P[0, 1, 1] = 1.0
    P[1, 0, 2] = P[1, 1, 0] = 1.0
    P[2, 0, 1] = P[2, 1, 3] = 1.0
    P[3, :, 3] = 1.0
    R = -np.ones((4, 2))
    R[3] = 0.0
    return POMDP(P, R, np.eye(4)[0], np.ones((4, 1)), horizon=None, discount=1.0)


def short_corridor_objective(p: float) -> float:
    """The closed form J(p) = (2p − 4) / (p(1 − p)) of :func:`short_corridor` (S&B §13.1)."""
    return (2.0 * p - 4.0) / (p * (1.0 - p))


def tightrope(length: int = 10, *, n_actions: int = 2, horizon: int | None = None) -> TabularMDP:
    """A tightrope: positions 0..length−1 and an absorbing "fallen" state ``length``.

    At position i the expert action is i mod n_actions; it moves to i + 1 (the last
    position loops on itself) with reward 0. Any other action drops the walker into the
    fallen state with reward −1, and every step there costs −1 (reward −1) until the
    horizon (default ``length``).

    Two costs, which differ: −J counts the steps spent erring or fallen (the task cost,
    read off the rewards), while the notes' imitation cost (§2.1) is
    c(s, a) = 1[a ≠ π*(s)] against the expert's action π*(s) in *every* state — in the
    fallen state π*(fallen) is the expert's label there (action 0, the lowest of the tied
    actions in :func:`pgmath.algorithms.behavioural_cloning.expert_policy`), so a learner
    that copies that label pays c = 0 while fallen and still −1 reward per step. They
    agree for a learner that errs surely once fallen (behavioural cloning, untrained
    there) and differ for DAgger, whose learner is trained on the fallen state's label:
    see :func:`pgmath.algorithms.behavioural_cloning.expected_cost` for c.
    """
    if length < 1 or n_actions < 2:
        raise InvalidMDPError(f"tightrope needs length ≥ 1 and n_actions ≥ 2, got {length}, {n_actions}")
    L, A = length, n_actions
    S = L + 1
    P = np.zeros((S, A, S))
    R = np.zeros((S, A))
    for i in range(L):
        good = i % A
        for a in range(A):
            if a == good:
                P[i, a, min(i + 1, L - 1)] = 1.0
            else:
                P[i, a, L] = 1.0
                R[i, a] = -1.0
    P[L, :, L] = 1.0
    R[L, :] = -1.0
    return TabularMDP(P, R, np.eye(S)[0], horizon=horizon or L, discount=1.0)


def double_integrator(*, dt: float = 0.1, horizon: int | None = 50, discount: float = 1.0,
                      control_cost: float = 0.1, noise: float = 0.01) -> LQRProblem:
    """A point mass on a line: state x = (position, velocity), action u = force.

        x_{t+1} = [[1, dt], [0, 1]] x_t + [[dt²/2], [dt]] u_t + w_t,   w_t ~ N(0, noise · dt · I),
        r_t = −(x_tᵀ x_t + control_cost · u_t²),   x_0 ~ N((1, 0), 0.01 I),

    horizon T = 50 by default (γ = 1), or discounted with ``horizon=None`` (then γ < 1). The
    optimal policy is linear, u = K*x (:func:`pgmath.lqr.optimal_gain`).
    """
    if not dt > 0 or not control_cost > 0 or noise < 0:
        raise InvalidMDPError(f"double_integrator needs dt > 0, control_cost > 0, noise ≥ 0; "
                              f"got {dt}, {control_cost}, {noise}")
    A = np.array([[1.0, dt], [0.0, 1.0]])
    B = np.array([[dt * dt / 2], [dt]])
    return LQRProblem(A=A, B=B, Q=np.eye(2), R=[[control_cost]], W=noise * dt * np.eye(2),
                      mu0=[1.0, 0.0], Sigma0=0.01 * np.eye(2), horizon=horizon, discount=discount)


#: The deterministic goal-reaching gridworld of GCSL (IL-7): every free cell is a goal.
GOAL_GRID_LAYOUT = ("....", ".#..", "..#.", "....")


def goal_gridworld(*, horizon: int = 6) -> TabularMDP:
    """The 4×4 deterministic gridworld with two pillars of :data:`GOAL_GRID_LAYOUT`
    (horizon H, γ = 1, no reward: the goals are given to GCSL)."""
    return gridworld(GOAL_GRID_LAYOUT, horizon=horizon, discount=1.0, off_grid_penalty=0.0)


#: The slippery 5×5 gridworld with pillars of DAgger (IL-4, IL-9).
DAGGER_GRID_LAYOUT = (".....", ".#.#.", ".....", ".#.#.", "....G")


def dagger_gridworld(*, horizon: int | None = 12) -> TabularMDP:
    """A slippery (0.2) 5×5 gridworld with four pillars and a goal in the corner
    (:data:`DAGGER_GRID_LAYOUT`), γ = 0.95, cut to ``horizon`` steps (``None``: infinite).
    DAgger's expert is optimal for the infinite-horizon problem:
    ``expert_policy(dagger_gridworld(horizon=None))``."""
    g = gridworld(DAGGER_GRID_LAYOUT, slip=0.2, discount=0.95)
    return g if horizon is None else g.with_horizon(horizon)


class NamedEnvironment(NamedTuple):
    """One row of :data:`NAMED`."""

    #: Builds the environment with its default settings.
    build: Callable[[], TabularMDP | LQRProblem]
    #: The short horizon at which ``pgmath check``'s battery checks an estimator on it
    #: (:data:`pgmath.commands.check.NAMED_HORIZONS`); ``None``: not in the battery.
    check_horizon: int | None


#: The named environments: the one table that :func:`make`, :func:`names` and the battery
#: of ``pgmath check`` read. A new environment is one row here.
NAMED: dict[str, NamedEnvironment] = {
    "bandit": NamedEnvironment(bandit, check_horizon=2),
    "chain": NamedEnvironment(chain, check_horizon=4),
    "double_integrator": NamedEnvironment(double_integrator, check_horizon=None),
    "gridworld": NamedEnvironment(gridworld, check_horizon=2),
    "short_corridor": NamedEnvironment(short_corridor, check_horizon=4),
    "tightrope": NamedEnvironment(tightrope, check_horizon=4),
}


def names() -> list[str]:
    """The names accepted by :func:`make`."""
    return sorted(NAMED)


def make(name: str) -> TabularMDP | LQRProblem:
    """Build a named environment with its default settings."""
    entry = NAMED.get(name) if isinstance(name, str) else None
    if entry is None:
        raise InvalidMDPError(f"unknown environment {name!r}; choose from {names()}")
    return entry.build()


# -- random problems ----------------------------------------------------------------------
def random_mdp(rng: np.random.Generator, S: int, A: int, T: int | None, *,
               discount: float = 1.0, pomdp: bool = False, n_obs: int = 2,
               rewards_next_state: bool = False, concentration: float = 1.0,
               reward_scale: float = 1.0) -> TabularMDP | POMDP:
    """A random finite MDP (or POMDP), a function of the state of ``rng`` alone.

    Draws, in this order (so a given generator state always gives the same problem):

        P(·|s, a) ~ Dirichlet(concentration · 1_S)        ``[S, A, S]``
        r ~ reward_scale · N(0, 1)                        ``[S, A]`` (``[S, A, S]`` with
                                                           ``rewards_next_state``)
        p0 ~ Dirichlet(1_S)                               ``[S]``
        O(·|s) ~ Dirichlet(1_{n_obs})                     ``[S, n_obs]`` (``pomdp`` only)

    Args:
      rng: the only source of randomness.
      S, A: numbers of states and actions.
      T: the horizon (``None``: infinite, which needs ``discount < 1`` or terminal states).
      discount: γ.
      pomdp: a :class:`~pgmath.POMDP` with ``n_obs`` observations.
      rewards_next_state: rewards r(s, a, s') instead of r(s, a).
      concentration: the Dirichlet parameter of the transition rows (small: nearly
        deterministic rows).
      reward_scale: the standard deviation of the rewards.

    Examples:
      >>> import numpy as np
      >>> from pgmath import environments
      >>> mdp = environments.random_mdp(np.random.default_rng(0), 3, 2, 4, discount=0.9)
      >>> (mdp.n_states, mdp.n_actions, mdp.horizon, mdp.discount)
      (3, 2, 4, 0.9)
      >>> again = environments.random_mdp(np.random.default_rng(0), 3, 2, 4, discount=0.9)
      >>> bool(np.array_equal(mdp.P, again.P) and np.array_equal(mdp.R, again.R))
      True
    """
    P = rng.dirichlet(np.full(S, float(concentration)), size=(S, A))
    R = reward_scale * rng.normal(size=(S, A, S) if rewards_next_state else (S, A))
    p0 = rng.dirichlet(np.ones(S))
    if pomdp:
        O = rng.dirichlet(np.ones(n_obs), size=S)
        return POMDP(P, R, p0, O, horizon=T, discount=discount)
    return TabularMDP(P, R, p0, horizon=T, discount=discount)


def random_problem(rng: np.random.Generator, S: int, A: int, T: int | None, **options
                   ) -> tuple[TabularMDP | POMDP, SoftmaxPolicy | ObservationSoftmaxPolicy,
                              np.ndarray]:
    """(mdp, policy, θ): :func:`random_mdp` (``options`` are its keywords), the tabular
    softmax policy that acts in it (:func:`default_policy`), then θ ~ N(0, I) ``[d]``
    drawn from the same ``rng``.

    Examples:
      >>> import numpy as np
      >>> from pgmath import environments
      >>> mdp, policy, theta = environments.random_problem(np.random.default_rng(1), 2, 3, 2,
      ...                                                  pomdp=True, n_obs=2)
      >>> type(policy).__name__, theta.shape
      ('ObservationSoftmaxPolicy', (6,))
    """
    mdp = random_mdp(rng, S, A, T, **options)
    policy = default_policy(mdp)
    return mdp, policy, rng.normal(size=policy.n_params)


def default_policy(mdp):
    """The policy family that acts in ``mdp``: tabular softmax (over observations for a
    POMDP), or a linear-Gaussian policy for a linear-quadratic problem."""
    if isinstance(mdp, LQRProblem):
        return GaussianLinearPolicy(mdp.n_states, mdp.n_actions)
    if mdp.is_pomdp:
        return ObservationSoftmaxPolicy(mdp.n_observations, mdp.n_actions)
    return SoftmaxPolicy(mdp.n_states, mdp.n_actions)
