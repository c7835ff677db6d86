"""Named counterexamples to claims of the notes, kept so docs and tests can show them.

Each function returns ``(mdp, policy, theta)``; its docstring states the claim it
refutes and the exact numbers (rationals where they are), which the tests in
``tests/exact/test_moments.py`` recompute by enumeration and by the moment recursion.
"""
from __future__ import annotations

import numpy as np

from .mdp import TabularMDP
from .policies import SoftmaxPolicy

__all__ = ["two_armed_bandit", "past_reward_as_baseline", "contextual_bandit_average_baseline",
           "step_discount_bandit", "EXAMPLES"]


def two_armed_bandit():
    """One state, two actions with rewards (1, 0), T = 1, uniform policy (θ = 0).

    PG-5 (causality as written, Σ_{t'=1}^{t} including t' = t): for T = 1 the term is
    E[ψ₀ r₀] = ∇J = (1/4, −1/4), not 0.

    PG-9 (the average-reward baseline b = (1/N) Σ_i r(τ_i) including τ_i itself): for
    N = 2 the estimate has mean (1/8, −1/8) = (1 − 1/2) ∇J; the leave-one-out baseline
    has mean ∇J.
    """
    mdp = TabularMDP(np.ones((1, 2, 1)), np.array([[1.0, 0.0]]), np.array([1.0]), horizon=1)
    return mdp, SoftmaxPolicy(1, 2), np.zeros(2)


def past_reward_as_baseline():
    """PG-7 (reward-to-go has smaller variance than REINFORCE) fails.

    Two states, two actions, T = 2, θ = 0. The start state 0 pays −1/2 for either
    action and leads to state 1, which pays 1 for action 0 and 0 for action 1 (and stays).
    In REINFORCE the past reward −1/2 acts as the optimal baseline 1/2 for the decision
    in state 1: for the parameters of state 1 (components 2, 3) every REINFORCE row is
    ψ₁(r₁ − 1/2) = 1/4 (variance 0), while reward-to-go ψ₁ r₁ has variance 1/16.
    Components 0, 1 are equal (1/16 each), so the trace and the PSD order fail too.
    """
    P = np.zeros((2, 2, 2))
    P[:, :, 1] = 1.0
    R = np.array([[-0.5, -0.5], [1.0, 0.0]])
    mdp = TabularMDP(P, R, np.array([1.0, 0.0]), horizon=2)
    return mdp, SoftmaxPolicy(2, 2), np.zeros(4)


def contextual_bandit_average_baseline():
    """PG-10's comparison with the average-reward baseline fails.

    Two equally likely start states (contexts), two actions, T = 1, θ = 0, rewards
    r(0, ·) = (0, 0), r(1, ·) = (1, −1). For the parameters of state 1 (components 2, 3)
    the optimal constant baseline b* = E[Ψ_k² r]/E[Ψ_k²] = 0 gives a per-trajectory
    variance 1/16, so a batch of N has variance 1/(16N); the batch-average baseline
    has variance (2(N−1)/N³)(2(N−2)ζ₁ + ζ₂) = 3/128 < 4/128 at N = 2, and stays below
    1/(16N) at N = 3, 4, 10, 100 (it is biased by the factor 1 − 1/N, which shrinks it).
    """
    P = np.full((2, 2, 2), 0.5)
    R = np.array([[0.0, 0.0], [1.0, -1.0]])
    mdp = TabularMDP(P, R, np.array([0.5, 0.5]), horizon=1)
    return mdp, SoftmaxPolicy(2, 2), np.zeros(4)


def step_discount_bandit():
    """The γ^{t'−t} discounting is biased for ∇J_γ.

    One state, two actions with rewards (1, 0), T = 2, γ = 1/2, θ = 0.
    ∇J_γ = (1 + γ)(1/4, −1/4) = (3/8, −3/8); reward-to-go with γ^{t'−t} has mean
    2 (1/4, −1/4) = (1/2, −1/2): bias (1 − γ)(1/4, −1/4) = (1/8, −1/8).
    """
    mdp = TabularMDP(np.ones((1, 2, 1)), np.array([[1.0, 0.0]]), np.array([1.0]), horizon=2,
                     discount=0.5)
    return mdp, SoftmaxPolicy(1, 2), np.zeros(2)


#: name → (function, claim IDs it bears on)
EXAMPLES = {
    "two_armed_bandit": (two_armed_bandit, ("PG-5", "PG-9")),
    "past_reward_as_baseline": (past_reward_as_baseline, ("PG-7",)),
    "contextual_bandit_average_baseline": (contextual_bandit_average_baseline, ("PG-10",)),
    "step_discount_bandit": (step_discount_bandit, ()),
}
