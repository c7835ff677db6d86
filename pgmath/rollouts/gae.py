"""Generalised advantage estimation on a rollout segment, done right.

The *explicit* signature every pgmath rollout advantage function has (adapters turn
CleanRL, stable-baselines3 and skrl signatures into it, :mod:`pgmath.rollouts.signatures`):

    fn(rewards, values, terminated, truncated, final_values, last_values, *, gamma, lam)
        -> advantages [n_steps, n_envs]

with ``rewards, values, terminated, truncated, final_values`` of shape
``[n_steps, n_envs]`` and ``last_values`` ``[n_envs]``, the value of the observation after
the last step (the rollout view :class:`pgmath.rollouts.Segment` stores it as
``next_values``). The names are those of :class:`pgmath.adapters.EpisodeArrays`, where
every convention of this page is defined once (:data:`pgmath.adapters.LIBRARY_SIGNATURES`);
the function is called positionally, so its own parameter names do not matter.
"""
from __future__ import annotations

import numpy as np

from .rules import Rule

__all__ = ["gae", "gae_rule", "described"]


def described(rule_factory):
    """Attach ``rule_factory(gamma, lam) -> Rule`` to an explicit-signature advantage
    function as ``fn.rollout_rule``: its description as a recursion (:mod:`.rules`), which
    the exact route uses after checking it against the code on sampled segments."""
    def mark(fn):
        fn.rollout_rule = rule_factory
        return fn
    return mark


def gae_rule(gamma: float, lam: float) -> Rule:
    """Correct GAE(λ) with partial-episode bootstrapping as a :class:`Rule`:
    δ_t = r_t − v_t + γ [(1 − d_t) v_next,t + truncated_t v_final,t], c_t = γλ(1 − d_t)."""
    return Rule(
        "gae",
        delta_own=lambda x, last: x.r - x.v + x.gamma * (x.not_ended * x.v_next
                                                         + x.truncated * x.v_final),
        cont_own=lambda x: x.gamma * x.lam * x.not_ended)


@described(gae_rule)
def gae(rewards, values, terminated, truncated, final_values, last_values, *, gamma, lam):
    """GAE(λ) over a segment with terminations, truncations and auto-resets (Schulman et
    al. 2016, eq. 16; partial-episode bootstrapping, Pardo et al. 2018):

        δ_t = r_t + γ B_t − V(s_t),   Â_t = δ_t + γλ (1 − d_t) Â_{t+1},   Â_{n} = 0,

    B_t = 0 if the step terminated, V(final_obs_t) if it was truncated (the value of the
    state the time limit cut, *not* the reset observation and not s_t), else V(s_{t+1})
    (``values[t+1]``, or ``last_values`` after the last step); d_t = terminated ∨ truncated
    stops Â at every episode boundary.

    Args:
      rewards, values, final_values: ``[n_steps, n_envs]`` floats.
      terminated, truncated: ``[n_steps, n_envs]`` bools (never both at one step).
      last_values: ``[n_envs]`` V of the observation after the last step.
      gamma, lam: γ and λ.

    Returns:
      ``[n_steps, n_envs]`` Â.

    Examples:
      >>> import numpy as np
      >>> adv = gae(np.array([[1.0], [1.0]]), np.zeros((2, 1)), np.array([[False], [True]]),
      ...           np.zeros((2, 1), bool), np.zeros((2, 1)), np.array([5.0]), gamma=0.5, lam=1.0)
      >>> adv.ravel().tolist()   # the episode terminated at t = 1: last_values is not used
      [1.5, 1.0]
    """
    rewards = np.asarray(rewards, dtype=float)
    terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
    n = rewards.shape[0]
    adv = np.zeros_like(rewards)
    last = np.zeros(rewards.shape[1:])
    for t in range(n - 1, -1, -1):
        v_next = last_values if t == n - 1 else values[t + 1]
        boot = np.where(truncated[t], final_values[t], np.where(terminated[t], 0.0, v_next))
        delta = rewards[t] + gamma * boot - values[t]
        last = delta + gamma * lam * (1.0 - (terminated[t] | truncated[t])) * last
        adv[t] = last
    return adv

