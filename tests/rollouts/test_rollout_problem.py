"""Rollout problems: named errors, and exact J, ∇J, V of both objectives by two routes,
held against episode enumeration (tests/reference.py) and the partial-episode
bootstrapping identity."""
import numpy as np
import pytest

import reference as ref
from pgmath import SoftmaxPolicy, TabularMDP
from pgmath.errors import ImproperPolicyError, InvalidArgumentError, InvalidMDPError
from pgmath.rollouts import (expected_length, gradient, objective, rollout_problem, values)
from pgmath.rollouts.examples import boundary_problem, random_rollout_problem


def _mdp(discount=0.9, p0=(1.0, 0.0, 0.0)):
    P = np.zeros((3, 2, 3))
    P[0, 0] = [0.5, 0.5, 0.0]
    P[0, 1] = [0.0, 0.5, 0.5]
    P[1, :] = [0.2, 0.3, 0.5]
    P[2, :, 2] = 1.0
    R = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    return TabularMDP(P, R, np.array(p0), discount=discount)


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: rollout_problem(_mdp(), time_limit=0), InvalidMDPError, "H = 0"),
    (lambda: rollout_problem(_mdp(), time_limit=-2), InvalidMDPError, "H = -2"),
    (lambda: rollout_problem(_mdp(), time_limit=2.5), InvalidMDPError, "2.5"),
    (lambda: rollout_problem(_mdp(), time_limit=True), InvalidMDPError, "True"),
    (lambda: rollout_problem(_mdp(discount=1.0), objective="episodic", terminal=[]),
     ImproperPolicyError, "cannot terminate"),
    (lambda: rollout_problem(_mdp(discount=1.0)), InvalidMDPError, "γ < 1"),
    (lambda: rollout_problem(_mdp(), objective="average"), InvalidArgumentError, "'average'"),
    (lambda: rollout_problem(_mdp(p0=(0.5, 0.0, 0.5))), InvalidMDPError, "terminal state 2"),
    (lambda: rollout_problem(_mdp(), terminal=[5]), InvalidMDPError, "terminal state 5"),
    (lambda: rollout_problem(_mdp(), terminal=[2, 2]), InvalidMDPError, "twice"),
    (lambda: rollout_problem(_mdp().with_horizon(4), time_limit=3), InvalidMDPError, "disagrees"),
])
def test_bad_problems_get_named_errors(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()


def test_an_undiscounted_policy_that_never_terminates_is_named():
    """Terminal states exist but the policy cannot reach them (γ = 1, no time limit)."""
    P = np.zeros((3, 2, 3))
    P[0, 0, 0] = 1.0          # action 0 stays
    P[0, 1, 2] = 1.0          # action 1 ends
    P[1, :, 1] = 1.0          # state 1 loops for ever
    P[2, :, 2] = 1.0
    mdp = TabularMDP(P, np.ones((3, 2)), np.array([0.5, 0.5, 0.0]), discount=1.0)
    prob = rollout_problem(mdp, objective="episodic", terminal=[2])
    with pytest.raises(ImproperPolicyError, match=r"\[1\]"):
        objective(prob, SoftmaxPolicy(3, 2), np.zeros(6))


def test_terminal_rows_are_ignored_and_the_horizon_is_the_time_limit():
    """Explicit terminal states: their rows of P and R do not matter."""
    mdp = _mdp()
    P = np.array(mdp.P)
    P[2] = 1.0 / 3
    R = np.array(mdp.R)
    R[2] = 7.0
    other = TabularMDP(P, R, mdp.p0, discount=0.9)
    a = rollout_problem(mdp, time_limit=4)
    b = rollout_problem(other, time_limit=4, terminal=[2])
    assert a.terminal.tolist() == b.terminal.tolist() == [2]
    assert np.array_equal(a.mdp.P, b.mdp.P) and np.array_equal(a.mdp.R, b.mdp.R)
    assert rollout_problem(mdp.with_horizon(4)).time_limit == 4
    mask = rollout_problem(other, terminal=np.array([False, False, True]))
    assert mask.terminal.tolist() == [2]


@pytest.mark.parametrize("objective_name", ["episodic", "discounted"])
@pytest.mark.parametrize("time_limit", [1, 3])
def test_objective_gradient_values_two_routes_and_episode_enumeration(objective_name, time_limit):
    """J by forward visitation and backward values; ∇J by the PG theorem and autograd; V by
    backward recursion and forward marginals. The episodic J with a time limit against
    trajectory enumeration of the absorbing MDP (tests/reference.py); the discounted J_γ
    against the same enumeration with a horizon long enough that γ^T is below 1e-13."""
    prob, pol, th = boundary_problem(objective=objective_name, time_limit=time_limit)
    J = objective(prob, pol, th, method="forward")
    assert objective(prob, pol, th, method="backward") == pytest.approx(J, abs=1e-12)
    g = gradient(prob, pol, th, method="pg_theorem")
    assert np.allclose(gradient(prob, pol, th, method="autograd"), g, atol=1e-12)
    V = values(prob, pol, th, method="backward")
    assert np.allclose(values(prob, pol, th, method="forward"), V, atol=1e-12)
    assert V.shape == ((time_limit + 1, 4) if objective_name == "episodic" else (4,))
    pi = np.asarray(pol.probs(th))
    if objective_name == "episodic":
        J_ref, g_ref = ref.objective_and_gradient(prob.mdp.P, prob.mdp.R, prob.mdp.p0, pi,
                                                  time_limit, 0.9)
        assert J == pytest.approx(float(J_ref), abs=1e-12)
        assert np.allclose(g, np.asarray(g_ref, dtype=float).ravel(), atol=1e-12)
        assert np.all(V[-1] == 0)


def test_partial_episode_bootstrapping_identity():
    """J_γ = E[Σ_{k<min(τ,H)} γ^k r_k] + γ^H E[V_γ(s_H); alive at H] (Pardo et al. 2018):
    the truncated episode's return plus the bootstrapped value of the state the time
    limit cut, computed from the episodic (time-limited) objective's own solution."""
    for H in (1, 2, 5):
        disc, pol, th = boundary_problem(objective="discounted", time_limit=H)
        epi, _, _ = boundary_problem(objective="episodic", time_limit=H)
        V = values(disc, pol, th)
        pi = np.asarray(pol.probs(th))
        Ppi = np.einsum("sa,sat->st", pi, disc.mdp.P)
        d = disc.mdp.p0 @ np.linalg.matrix_power(Ppi, H)
        tail = 0.9 ** H * float(d @ V)  # V = 0 at the terminal state
        assert objective(epi, pol, th) + tail == pytest.approx(objective(disc, pol, th), abs=1e-12)


def test_expected_length():
    """E[L] by summing P(alive at k), against a hand count and the geometric closed form."""
    P = np.zeros((2, 1, 2))
    P[0, 0] = [0.75, 0.25]   # ends with probability 1/4 per step
    P[1, 0, 1] = 1.0
    mdp = TabularMDP(P, np.zeros((2, 1)), np.array([1.0, 0.0]), discount=1.0)
    pol = SoftmaxPolicy(2, 1)
    assert expected_length(rollout_problem(mdp, objective="episodic"), pol, np.zeros(2)) \
        == pytest.approx(4.0, abs=1e-12)
    H = 3
    want = 1 + 0.75 + 0.75 ** 2
    assert expected_length(rollout_problem(mdp, objective="episodic", time_limit=H), pol,
                           np.zeros(2)) == pytest.approx(want, abs=1e-12)
    loop = TabularMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), np.array([1.0]), discount=0.5)
    assert expected_length(rollout_problem(loop, terminal=[]), SoftmaxPolicy(1, 1),
                           np.zeros(1)) == np.inf


def test_random_problem_factory_is_seeded():
    a = random_rollout_problem(np.random.default_rng(3))
    b = random_rollout_problem(np.random.default_rng(3))
    assert np.array_equal(a[0].mdp.P, b[0].mdp.P) and np.array_equal(a[2], b[2])
    assert a[0].terminal.tolist() == [9]
