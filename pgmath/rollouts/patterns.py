"""The five episode-boundary bugs of GAE code, as named regressions.

Each is the correct :func:`pgmath.rollouts.gae` with one mistake, written the way it is
found in advantage code, with the explicit signature and its description as a rule
(:mod:`pgmath.rollouts.rules`), so that the exact route gives the size of its bias:

1. :func:`done_read_late` — the done flag of step t read at t + 1 (a loop written for
   CleanRL's storage, where ``dones[t]`` says that *observation* t starts an episode,
   fed flags stored per *step*, where ``dones[t]`` says that step t ended one).
2. :func:`truncation_as_termination` — ``dones = terminated | truncated`` zeroes the
   bootstrap of a truncated step (right only when the time limit is part of the task).
3. :func:`truncation_bootstraps_current_value` — a truncated step bootstrapped with
   γV(s_t), the value of the state the action was taken in, instead of γV(s_{t+1}).
4. :func:`carried_across_truncation` — the advantage recursion stopped only at
   terminations, so Â of a truncated step runs on into the next episode's TD errors.
5. :func:`last_value_dropped` — the last step of the segment bootstrapped with 0
   instead of V(next observation) when its episode goes on past the segment.

With exact values V^π, bug 4 has no bias (the next episode's TD errors have conditional
mean 0); with a critic that is not exact it has. The others are biased in both cases.
"""
from __future__ import annotations

import numpy as np

from .gae import described
from .rules import Rows, Rule

__all__ = ["done_read_late", "truncation_as_termination", "truncation_bootstraps_current_value",
           "carried_across_truncation", "last_value_dropped", "PATTERNS", "DESCRIPTIONS"]


def _correct_delta(x: Rows) -> np.ndarray:
    return x.r - x.v + x.gamma * (x.not_ended * x.v_next + x.truncated * x.v_final)


def _late_rule(gamma, lam) -> Rule:
    return Rule(
        "done_read_late",
        delta_own=lambda x, last: (x.r - x.v + x.gamma * x.truncated * x.v_final
                                   + (x.gamma * x.not_ended * x.v_next if last else 0.0)),
        cont_own=lambda x: np.ones_like(x.r),
        delta_next=lambda x: x.gamma * x.not_ended * x.v,
        cont_next=lambda x: x.gamma * x.lam * x.not_ended)


@described(_late_rule)
def done_read_late(rewards, values, terminated, truncated, final_values, last_values, *, gamma, lam):
    """Bug 1: ``nonterminal = 1 − dones[t + 1]`` on flags stored per step (the last step
    reads its own flag, as CleanRL's ``next_done``); truncations bootstrapped in the
    reward as stable-baselines3 does."""
    rewards = np.asarray(rewards, dtype=float) + gamma * np.asarray(truncated) * final_values
    dones = np.asarray(terminated, bool) | np.asarray(truncated, bool)
    n = rewards.shape[0]
    adv = np.zeros_like(rewards)
    last = np.zeros(rewards.shape[1:])
    for t in range(n - 1, -1, -1):
        if t == n - 1:
            nonterminal, v_next = 1.0 - dones[t], last_values
        else:
            nonterminal, v_next = 1.0 - dones[t + 1], values[t + 1]
        delta = rewards[t] + gamma * v_next * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    return adv


def _as_termination_rule(gamma, lam) -> Rule:
    return Rule("truncation_as_termination",
                delta_own=lambda x, last: x.r - x.v + x.gamma * x.not_ended * x.v_next,
                cont_own=lambda x: x.gamma * x.lam * x.not_ended)


@described(_as_termination_rule)
def truncation_as_termination(rewards, values, terminated, truncated, final_values, last_values,
                              *, gamma, lam):
    """Bug 2: ``dones = terminated | truncated`` and no bootstrap at a truncated step."""
    dones = np.asarray(terminated, bool) | np.asarray(truncated, bool)
    n = len(rewards)
    adv = np.zeros_like(np.asarray(rewards, dtype=float))
    last = 0.0
    for t in range(n - 1, -1, -1):
        v_next = last_values if t == n - 1 else values[t + 1]
        delta = rewards[t] + gamma * v_next * (1.0 - dones[t]) - values[t]
        last = delta + gamma * lam * (1.0 - dones[t]) * last
        adv[t] = last
    return adv


def _current_value_rule(gamma, lam) -> Rule:
    return Rule("truncation_bootstraps_current_value",
                delta_own=lambda x, last: x.r - x.v + x.gamma * (x.not_ended * x.v_next
                                                                 + x.truncated * x.v),
                cont_own=lambda x: x.gamma * x.lam * x.not_ended)


@described(_current_value_rule)
def truncation_bootstraps_current_value(rewards, values, terminated, truncated, final_values,
                                        last_values, *, gamma, lam):
    """Bug 3: ``rewards += γ · values · truncated`` — V(s_t), the state the action was
    taken in, stands in for V(s_{t+1})."""
    rewards = np.asarray(rewards, dtype=float) + gamma * np.asarray(values) * np.asarray(truncated)
    dones = np.asarray(terminated, bool) | np.asarray(truncated, bool)
    n = rewards.shape[0]
    adv = np.zeros_like(rewards)
    last = 0.0
    for t in range(n - 1, -1, -1):
        v_next = last_values if t == n - 1 else values[t + 1]
        last = (rewards[t] - values[t]
                + gamma * (1.0 - dones[t]) * (v_next + lam * last))
        adv[t] = last
    return adv


def _carried_rule(gamma, lam) -> Rule:
    return Rule("carried_across_truncation",
                delta_own=lambda x, last: _correct_delta(x),
                cont_own=lambda x: x.gamma * x.lam * (1.0 - x.terminated))


@described(_carried_rule)
def carried_across_truncation(rewards, values, terminated, truncated, final_values, last_values,
                              *, gamma, lam):
    """Bug 4: the bootstrap of a truncated step is right, but the recursion is masked by
    ``terminated`` only, so a truncation does not stop Â."""
    terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
    n = len(rewards)
    adv = np.zeros_like(np.asarray(rewards, dtype=float))
    last = 0.0
    for t in range(n - 1, -1, -1):
        v_next = last_values if t == n - 1 else values[t + 1]
        boot = np.where(truncated[t], final_values[t], (1.0 - terminated[t]) * v_next)
        delta = rewards[t] + gamma * boot - values[t]
        last = delta + gamma * lam * (1.0 - terminated[t]) * last
        adv[t] = last
    return adv


def _dropped_rule(gamma, lam) -> Rule:
    return Rule("last_value_dropped",
                delta_own=lambda x, last: (x.r - x.v + x.gamma * x.truncated * x.v_final
                                           + (0.0 if last else x.gamma * x.not_ended * x.v_next)),
                cont_own=lambda x: x.gamma * x.lam * x.not_ended)


@described(_dropped_rule)
def last_value_dropped(rewards, values, terminated, truncated, final_values, last_values,
                       *, gamma, lam):
    """Bug 5: ``values`` padded with 0 after the last step, as if every segment ended an
    episode: the last step is not bootstrapped from ``last_values``."""
    ext = np.concatenate([np.asarray(values, dtype=float),
                          np.zeros((1,) + np.shape(values)[1:])], axis=0)
    terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
    n = len(rewards)
    adv = np.zeros_like(np.asarray(rewards, dtype=float))
    last = 0.0
    for t in range(n - 1, -1, -1):
        boot = np.where(truncated[t], final_values[t], (1.0 - terminated[t]) * ext[t + 1])
        delta = rewards[t] + gamma * boot - ext[t]
        last = delta + gamma * lam * (1.0 - (terminated[t] | truncated[t])) * last
        adv[t] = last
    return adv


#: name → the buggy function (each has ``rollout_rule``).
PATTERNS = {
    "done_read_late": done_read_late,
    "truncation_as_termination": truncation_as_termination,
    "truncation_bootstraps_current_value": truncation_bootstraps_current_value,
    "carried_across_truncation": carried_across_truncation,
    "last_value_dropped": last_value_dropped,
}

#: One line per bug, for reports.
DESCRIPTIONS = {
    "done_read_late": "the done flag of step t read at t + 1 (flags stored per step fed to a "
                      "loop written for per-observation flags)",
    "truncation_as_termination": "a truncation treated as a termination (the bootstrap "
                                 "γV(final obs) of a time-limit step is zeroed)",
    "truncation_bootstraps_current_value": "a truncated step bootstrapped with γV(s_t) instead "
                                           "of γV(final obs)",
    "carried_across_truncation": "the advantage recursion carried across a truncation into "
                                 "the next episode",
    "last_value_dropped": "the segment's last step not bootstrapped with V(next observation)",
}
