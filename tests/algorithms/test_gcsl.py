"""GCSL (notes §2.2; Ghosh et al., ICLR 2021): exact goal reaching, hindsight relabelling, IL-7.

Independent routes: enumeration of every trajectory (success probabilities and expected
relabelled counts), counts by hand, and a hand-derived first iteration on the
stochastic counterexample.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pgmath
from pgmath.algorithms.gcsl import (expected_relabelled_counts, gcsl, goal_policy,
                                    relabelled_counts, success_probabilities)
from pgmath.environments import goal_gridworld, gridworld
from pgmath.errors import ShapeError
from pgmath.mdp import TabularMDP
from pgmath.claims import il

SMALL = ("..", ".#", "..")  # 5 free cells


def _grid(layout=SMALL, H=3, slip=0.0):
    return gridworld(layout, horizon=H, discount=1.0, off_grid_penalty=0.0, slip=slip)


def _random_goal_policies(rng, G, S, A):
    return goal_policy(rng.normal(size=(G, S, A)) * 2)


@pytest.mark.parametrize("slip", [0.0, 0.3])
def test_success_probabilities_match_enumeration(slip):
    """P(s_t = g for some t ≤ H) against the sum over every trajectory of H + 1 states."""
    mdp = _grid(slip=slip)
    goals = np.array([0, 2, 4])
    pis = _random_goal_policies(np.random.default_rng(0), 3, mdp.n_states, mdp.n_actions)
    got = success_probabilities(mdp, pis, goals)
    longer = mdp.with_horizon(mdp.horizon + 1)  # its states are s_0..s_H
    for i, g in enumerate(goals):
        batch, probs = pgmath.enumerate_trajectories(longer, pis[i])
        assert got[i] == pytest.approx(probs @ (batch.states == g).any(1), abs=1e-12)


def test_relabelled_counts_by_hand():
    """One trajectory 0 →a1→ 1 →a0→ 2 →a1→ 1 with goals {1, 2}: pairs (t, t') with s_{t'} a
    goal and s_t ≠ s_{t'}: (0,1) g=1, (0,2) g=2, (0,3) g=1, (1,2) g=2, (2,3) g=1;
    (1,3) has s_1 = s_3 = 1 and is skipped."""
    states = np.array([[0, 1, 2, 1]])
    actions = np.array([[1, 0, 1]])
    c = relabelled_counts(states, actions, [1, 2], 3, 2)
    want = np.zeros((2, 3, 2))
    want[0, 0, 1] = 2   # g=1 from s=0 with a=1: t'=1 and t'=3
    want[1, 0, 1] = 1   # g=2 from s=0
    want[1, 1, 0] = 1   # g=2 from s=1 with a=0
    want[0, 2, 1] = 1   # g=1 from s=2 with a=1
    assert np.array_equal(c, want)


@pytest.mark.parametrize("slip", [0.0, 0.3])
def test_expected_relabelled_counts_match_enumeration(slip):
    """E[n(g, s, a)] = Σ_τ p(τ) n_τ(g, s, a) summed over commanded goals (n = 1 each)."""
    mdp = _grid(slip=slip, H=2)
    goals = np.array([0, 1, 4])
    pis = _random_goal_policies(np.random.default_rng(1), 3, mdp.n_states, mdp.n_actions)
    want = np.zeros((3, mdp.n_states, mdp.n_actions))
    longer = mdp.with_horizon(mdp.horizon + 1)
    for pi in pis:
        batch, probs = pgmath.enumerate_trajectories(longer, pi)
        for p, s, a in zip(probs, batch.states, batch.actions):
            want += p * relabelled_counts(s[None], a[None, :-1], goals, mdp.n_states, mdp.n_actions)
    got = expected_relabelled_counts(mdp, pis, goals, 1.0)
    assert np.allclose(got, want, atol=1e-12)


def test_il7_gcsl_improves_on_deterministic_gridworld():
    """Expected-count GCSL on the 4×4 gridworld: iteration 0 is the uniform policy (its exact
    success by enumeration), the mean success rises at every iteration and every goal ends
    above the random policy."""
    mdp = goal_gridworld(horizon=6)
    goals = np.arange(mdp.n_states)
    its = gcsl(mdp, goals, n_iterations=6, n_trajectories=20)
    uniform = np.full((mdp.n_states, mdp.n_actions), 0.25)
    assert its[0].success == pytest.approx(
        success_probabilities(mdp, np.stack([uniform] * goals.size), goals))
    means = [i.mean_success for i in its]
    assert np.all(np.diff(means) > 0)
    assert np.all(its[-1].success > its[0].success)


@st.composite
def deterministic_mdps(draw, max_states=5, max_actions=3, max_horizon=4):
    """Random deterministic MDPs: next[s, a] drawn freely, one start state."""
    S = draw(st.integers(2, max_states))
    A = draw(st.integers(2, max_actions))
    nxt = draw(st.lists(st.integers(0, S - 1), min_size=S * A, max_size=S * A))
    P = np.eye(S)[np.array(nxt).reshape(S, A)]
    p0 = np.eye(S)[draw(st.integers(0, S - 1))]
    return TabularMDP(P, np.zeros((S, A)), p0, horizon=draw(st.integers(1, max_horizon)))


@settings(max_examples=30)
@given(deterministic_mdps())
def test_il7_no_goal_falls_below_random_on_deterministic_mdps(mdp):
    """On deterministic MDPs no goal's exact success ever drops below the random policy's
    (observed, not proved: a property test over random deterministic MDPs)."""
    its = gcsl(mdp, np.arange(mdp.n_states), n_iterations=4, n_trajectories=50)
    for it in its[1:]:
        assert np.all(it.success >= its[0].success - 1e-12)


def test_il7_not_monotone_per_iteration():
    """gcsl_dip_mdp: goal 2's exact success falls after iteration 1 (while staying above the
    random policy's), so improvement is not per iteration."""
    mdp = il.gcsl_dip_mdp()
    s = [i.success[2] for i in gcsl(mdp, np.arange(4), n_iterations=4, n_trajectories=50)]
    assert s[1] > s[0] and s[2] < s[1] and s[3] < s[2] and s[3] > s[0]


def test_sampled_gcsl_runs_from_the_random_policy():
    """The sampled loop starts from the uniform policy and is reproducible under a seed."""
    mdp = _grid()
    goals = np.arange(mdp.n_states)
    a = gcsl(mdp, goals, n_iterations=3, n_trajectories=5, rng=np.random.default_rng(4))
    b = gcsl(mdp, goals, n_iterations=3, n_trajectories=5, rng=np.random.default_rng(4))
    assert np.all(a[0].logits == 0)
    assert all(np.array_equal(x.success, y.success) for x, y in zip(a, b))
    assert all(np.all((x.success >= 0) & (x.success <= 1)) for x in a)


def test_il7_hindsight_relabelling_rewards_luck():
    """gcsl_luck_mdp (m = 5, p = 0.3), n = 100 per goal, α = 1. By hand, iteration 1: from the
    uniform policy the expected examples for goal 1 are 6·100·½·0.3 = 90 of action 0 and
    6·100·½ = 300 of action 1, so π(1) = 301/392 and success = 0.3 π(0) + π(1). Later the
    other goals' policies (action 0) keep adding lucky examples of action 0 for goal 1, and
    goal 1 ends below the random policy's 0.65."""
    mdp = il.gcsl_luck_mdp()
    its = gcsl(mdp, np.arange(1, mdp.n_states), n_iterations=10, n_trajectories=100)
    g1 = np.array([i.success[0] for i in its])
    assert g1[0] == pytest.approx(0.65)
    p1 = 301 / 392
    assert g1[1] == pytest.approx(0.3 * (1 - p1) + p1, rel=1e-12)
    assert g1[-1] < g1[0]
    assert its[-1].mean_success < max(i.mean_success for i in its)


def test_gcsl_rejects_bad_input():
    mdp = _grid()
    with pytest.raises(ShapeError, match="goals"):
        gcsl(mdp, [7], n_iterations=1, n_trajectories=1)
    with pytest.raises(ValueError, match="horizon"):
        gcsl(mdp.with_horizon(None).with_discount(0.9), [0], n_iterations=1, n_trajectories=1)
    with pytest.raises(ShapeError, match="policies"):
        success_probabilities(mdp, np.ones((2, 5, 4)) / 4, [0])
    with pytest.raises(ValueError, match="smoothing"):
        gcsl(mdp, [0], n_iterations=1, n_trajectories=1, smoothing=0)
