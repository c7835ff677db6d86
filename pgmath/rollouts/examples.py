"""Named rollout problems: the small one the docs and regressions use, and a seeded factory.

:func:`boundary_problem` has both terminations and truncations inside short segments:
three working states and a terminal goal, two actions, time limit H = 3, γ = 9/10. Every
number is a small rational, so tests can recompute it exactly.
"""
from __future__ import annotations

import numpy as np

from ..mdp import TabularMDP
from ..policies import SoftmaxPolicy
from .problem import RolloutProblem, rollout_problem

__all__ = ["boundary_problem", "random_rollout_problem", "BOUNDARY_THETA"]

#: θ of :func:`boundary_problem` (logits [S, A] flattened): mildly prefers action 1 in
#: states 0 and 1, action 0 in state 2; uniform in the terminal state.
BOUNDARY_THETA = np.log(np.array([[1.0, 2.0], [1.0, 3.0], [2.0, 1.0], [1.0, 1.0]])).ravel()


def boundary_problem(*, time_limit: int | None = 3, objective: str = "discounted",
                     discount: float = 0.9) -> tuple[RolloutProblem, SoftmaxPolicy, np.ndarray]:
    """(problem, policy, θ): states 0, 1, 2 and the terminal goal 3; actions 0, 1.

    P[s, a, ·] (rows over s' = 0..3)::

        s=0  a=0: (1/2, 1/2, 0, 0)     a=1: (0, 1/4, 3/4, 0)
        s=1  a=0: (1/4, 0, 3/4, 0)     a=1: (0, 0, 1/2, 1/2)
        s=2  a=0: (1/2, 0, 0, 1/2)     a=1: (0, 1/2, 1/4, 1/4)

    r(s, a) = [[0, 1/2], [1, 0], [−1/2, 2]] plus 1 on entering the goal (R[s, a, 3]);
    p(s₀) = (1/2, 1/2, 0, 0); the policy a tabular softmax at :data:`BOUNDARY_THETA`.
    """
    P = np.zeros((4, 2, 4))
    P[0, 0] = [0.5, 0.5, 0, 0]
    P[0, 1] = [0, 0.25, 0.75, 0]
    P[1, 0] = [0.25, 0, 0.75, 0]
    P[1, 1] = [0, 0, 0.5, 0.5]
    P[2, 0] = [0.5, 0, 0, 0.5]
    P[2, 1] = [0, 0.5, 0.25, 0.25]
    P[3, :, 3] = 1.0
    r = np.array([[0.0, 0.5], [1.0, 0.0], [-0.5, 2.0], [0.0, 0.0]])
    R = np.repeat(r[:, :, None], 4, axis=2)
    R[:3, :, 3] += 1.0
    mdp = TabularMDP(P, R, np.array([0.5, 0.5, 0.0, 0.0]), discount=discount)
    prob = rollout_problem(mdp, objective=objective, time_limit=time_limit, terminal=[3])
    return prob, SoftmaxPolicy(4, 2), BOUNDARY_THETA.copy()


def random_rollout_problem(rng: np.random.Generator, *, n_states: int = 10, n_actions: int = 3,
                           n_terminal: int = 1, time_limit: int | None = 20,
                           discount: float = 0.95, objective: str = "discounted",
                           terminal_prob: float = 0.1
                           ) -> tuple[RolloutProblem, SoftmaxPolicy, np.ndarray]:
    """(problem, policy, θ): a seeded random problem with ``n_terminal`` terminal states
    (the last ones), each non-terminal (s, a) entering them with total probability about
    ``terminal_prob``; rewards N(0, 1) per (s, a, s'); θ ~ N(0, 1)."""
    S, A = n_states, n_actions
    live = S - n_terminal
    P = np.zeros((S, A, S))
    P[:live, :, :live] = rng.dirichlet(np.full(live, 0.5), size=(live, A)) * (1 - terminal_prob)
    if n_terminal:
        P[:live, :, live:] = rng.dirichlet(np.ones(n_terminal), size=(live, A)) * terminal_prob
        P[live:, :, :] = 0.0
        for s in range(live, S):
            P[s, :, s] = 1.0
    else:
        P[:live, :, :live] /= P[:live, :, :live].sum(axis=2, keepdims=True)
    R = rng.normal(size=(S, A, S))
    p0 = np.zeros(S)
    p0[:live] = rng.dirichlet(np.ones(live))
    mdp = TabularMDP(P, R, p0, discount=discount)
    prob = rollout_problem(mdp, objective=objective, time_limit=time_limit,
                           terminal=list(range(live, S)))
    pol = SoftmaxPolicy(S, A)
    return prob, pol, rng.normal(size=pol.n_params)
