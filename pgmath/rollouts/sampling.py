"""Draw rollout segments the way a gymnasium vector environment produces them.

Each of the n_envs environments runs its own episodes: a reset draws s₀ ~ p(s₀), each
step draws a ~ π(·|s) and s' ~ P(·|s, a), the episode terminates on entering a terminal
state and is truncated after H steps (``TimeLimit``), and the environment auto-resets
(``mode`` as in :mod:`pgmath.rollouts.segment`). The simulation is written directly from
those rules, independently of the row chain (:mod:`pgmath.rollouts.chain`), except for
a stationary start, whose first row is drawn from the chain's stationary distribution.
"""
from __future__ import annotations

import numpy as np

from ..errors import InvalidArgumentError, check_choice, check_generator
from ..policy_tables import policy_table
from .chain import rollout_chain, start_distribution
from .problem import RolloutProblem
from .segment import MODES, Segment
from .value_tables import as_value_table

__all__ = ["sample_segment"]


def _draw(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise categorical draws: the first j with u < cum[j] (cum ``[N, K]`` rows of CDFs)."""
    j = np.sum(cum <= u[:, None], axis=1)
    return np.minimum(j, cum.shape[1] - 1)


def _cdf(p: np.ndarray) -> np.ndarray:
    c = np.cumsum(p, axis=-1)
    return c / c[..., -1:]


def sample_segment(problem: RolloutProblem, policy, theta=None, *, n_steps: int, n_envs: int,
                   rng: np.random.Generator, start: str = "reset", mode: str = "same_step",
                   values=None) -> Segment:
    """A :class:`Segment` ``[n_steps, n_envs]`` of ``n_envs`` independent environments.

    Args:
      problem: a :class:`RolloutProblem`.
      policy, theta: a pgmath state policy and θ ``[d]`` (or a table π ``[S, A]``).
      n_steps, n_envs: the segment's size (≥ 1 each).
      rng: a ``numpy.random.Generator``.
      start: ``"reset"`` (every environment freshly reset) or ``"stationary"`` (the first
        row drawn from the stationary distribution of the auto-reset chain, as a segment
        cut from a rollout that has run for ever).
      mode: ``"same_step"`` or ``"next_step"`` auto-reset.
      values: a value table ``[S]`` / ``[H + 1, S]`` to attach value predictions, or
        ``None``.

    Returns:
      the segment; ``elapsed`` counts the steps since each episode's reset (unknown
      episodes that began before a stationary start without a time limit count from 1).
    """
    check_generator(rng)
    for name, v in (("n_steps", n_steps), ("n_envs", n_envs)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InvalidArgumentError(f"{name} must be a positive int, got {v!r}")
    check_choice("mode", mode, MODES)
    mdp = problem.mdp
    pi = np.asarray(policy_table(mdp, policy, theta))
    S, A, H = problem.n_states, problem.n_actions, problem.time_limit
    term = problem.is_terminal
    pi_cdf, p0_cdf = _cdf(pi), _cdf(mdp.p0)
    P_cdf = _cdf(mdp.P.reshape(S * A, S))

    s = _draw(np.broadcast_to(p0_cdf, (n_envs, S)), rng.random(n_envs))
    k = np.zeros(n_envs, dtype=np.intp)
    dead = np.zeros(n_envs, dtype=bool)
    if start == "stationary":
        chain = rollout_chain(problem, pi, mode=mode)
        mu = start_distribution(chain, "stationary")
        x = _draw(np.broadcast_to(_cdf(mu), (n_envs, mu.size)), rng.random(n_envs))
        s, k, dead = chain.state[x].copy(), chain.elapsed[x].copy(), chain.dead[x].copy()
    elif start != "reset":
        raise InvalidArgumentError(f"start must be 'reset' or 'stationary', got {start!r}")

    shape = (n_steps, n_envs)
    out = {name: np.zeros(shape, dtype=dt) for name, dt in (
        ("observations", np.intp), ("actions", np.intp), ("rewards", float),
        ("terminated", bool), ("truncated", bool), ("elapsed", np.intp), ("autoreset", bool),
        ("episode_starts", bool))}
    final = np.full(shape, -1, dtype=np.intp)
    for t in range(n_steps):
        out["observations"][t], out["elapsed"][t], out["autoreset"][t] = s, k, dead
        out["episode_starts"][t] = (k == 0) & ~dead
        a = _draw(pi_cdf[s], rng.random(n_envs))
        out["actions"][t] = a
        s2 = _draw(P_cdf[s * A + a], rng.random(n_envs))
        s0 = _draw(np.broadcast_to(p0_cdf, (n_envs, S)), rng.random(n_envs))
        r = mdp.R[s, a, s2] if mdp.R.ndim == 3 else mdp.r[s, a]
        is_term = term[s2] & ~dead
        is_trunc = ~is_term & ~dead & ((k + 1 == H) if H is not None else False)
        ended = is_term | is_trunc
        out["rewards"][t] = np.where(dead, 0.0, r)
        out["terminated"][t], out["truncated"][t] = is_term, is_trunc
        final[t] = np.where(ended, s2, -1)
        if mode == "same_step":
            s = np.where(ended | dead, s0, s2)
            k = np.where(ended | dead, 0, k + 1)
            dead = np.zeros(n_envs, dtype=bool)
        else:
            s = np.where(dead, s0, s2)
            k = np.where(dead, 0, k + 1)
            dead = ended
    seg = Segment(observations=out["observations"], actions=out["actions"],
                  rewards=out["rewards"], terminated=out["terminated"],
                  truncated=out["truncated"], final_observations=final, next_observations=s,
                  episode_starts=out["episode_starts"], elapsed=out["elapsed"],
                  autoreset=out["autoreset"], mode=mode, discount=problem.discount)
    if values is not None:
        seg = seg.with_values(as_value_table(values, S, H))
    return seg
