"""Hypothesis strategies for rollout problems with terminations and time limits.

Use them in property tests of a rollout advantage function::

    from hypothesis import given
    from pgmath.rollouts.strategies import rollout_problems
    from pgmath.rollouts.check import check_rollout

    @given(rollout_problems())
    def test_my_gae(problem):
        prob, policy, theta = problem
        assert check_rollout(my_gae, prob, policy, theta, n_steps=2).passed

Problems shrink toward one live state, one action, H = 1; they reach states that
terminate with probability 1, episodes cut only by the time limit, rewards on entering
the terminal state, and deterministic rows.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ..mdp import TabularMDP
from ..policies import SoftmaxPolicy
from ..strategies import distributions
from .problem import rollout_problem

__all__ = ["rollout_problems"]


@st.composite
def rollout_problems(draw, *, max_live_states: int = 3, max_actions: int = 2,
                     time_limits=(1, 3), discounts=(0.5, 0.9), objectives=("discounted", "episodic")):
    """(problem, policy, θ): ``1..max_live_states`` live states plus one terminal state,
    ``1..max_actions`` actions, a time limit in ``time_limits`` (inclusive range), γ from
    ``discounts`` and an objective from ``objectives``; θ ∈ [−2, 2]^d."""
    L = draw(st.integers(1, max_live_states))
    A = draw(st.integers(1, max_actions))
    S = L + 1
    P = np.zeros((S, A, S))
    for s in range(L):
        for a in range(A):
            P[s, a] = draw(distributions(S))
    P[L, :, L] = 1.0
    R = np.array(draw(st.lists(st.floats(-2, 2), min_size=S * A * S, max_size=S * A * S))
                 ).reshape(S, A, S)
    p0 = np.zeros(S)
    p0[:L] = draw(distributions(L))
    H = draw(st.integers(*time_limits))
    gamma = draw(st.sampled_from(list(discounts)))
    objective = draw(st.sampled_from(list(objectives)))
    mdp = TabularMDP(P, R, p0, discount=gamma)
    prob = rollout_problem(mdp, objective=objective, time_limit=H, terminal=[L])
    pol = SoftmaxPolicy(S, A)
    theta = np.array(draw(st.lists(st.floats(-2, 2), min_size=pol.n_params,
                                   max_size=pol.n_params)))
    return prob, pol, theta
