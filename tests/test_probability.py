"""The tolerance model for probabilities computed in floating point (pgmath.probability)."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, strategies as st

import pgmath
from pgmath.algorithms import behavioural_cloning as bc
from pgmath.errors import InvalidDistributionError, InvalidMDPError, InvalidPolicyError
from pgmath.probability import SUM_TOL, check_probability, probability_tolerance


def _issue11_problem(horizon=2):
    """Issue 11, cause C: p0 = (0.6, 0.4), P[0, ·] = (64/65, 1/65), P[1, ·] = (½, ½) for both
    actions; the expert always takes action 0, the learner always action 1."""
    P = np.zeros((2, 2, 2))
    P[0, :] = [64 / 65, 1 / 65]
    P[1, :] = [0.5, 0.5]
    mdp = pgmath.TabularMDP(P, np.zeros((2, 2)), np.array([0.6, 0.4]), horizon=horizon)
    expert = np.array([[1.0, 0.0], [1.0, 0.0]])
    return mdp, expert, 1.0 - expert


def test_issue11_always_wrong_learner_has_error_rate_one_and_its_bound():
    """ε_t = 1 for every t (the learner errs in every state); in floating point the t = 1
    marginal sums to 1 + 2⁻⁵² and ε_1 was 1.0000000000000002, which the [0, 1] check of
    average_error_cost_bound rejected. Now ε_t = [1, 1] and Σ_k (T − k) ε_k = 2 + 1 = 3."""
    mdp, expert, learner = _issue11_problem()
    d1 = pgmath.exact.state_marginals(mdp, expert)[1]
    assert d1.sum() > 1.0   # the rounding this regression is about is still there
    eps_t = bc.epsilon_average(mdp, expert, learner, per_step=True)
    np.testing.assert_array_equal(eps_t, [1.0, 1.0])
    assert bc.average_error_cost_bound(eps_t) == 3.0
    assert bc.epsilon_average(mdp, expert, learner) == 1.0
    assert bc.epsilon_max(mdp, expert, learner) == 1.0
    # the bounds accept the raw, unclipped value too (a user computing ε by hand)
    raw = float(np.sum(d1 * bc.error_rates(mdp, expert, learner)))
    assert bc.average_error_cost_bound([1.0, raw]) == 3.0
    assert float(bc.bc_cost_bound(raw, 2)) == 2.0
    assert float(bc.drift_bound(raw, 1)) == 2.0
    assert bc.epsilon_learner(expert, raw).tolist() == learner.tolist()


def test_model_covers_inputs_at_the_edge_of_the_sum_tolerance():
    """The worst case the model allows: every row of P sums to 1 + 0.999·SUM_TOL (accepted by
    check_distribution), so the mass after t steps is (1 + δ)^t exactly (Fraction arithmetic)
    and ε_t of an always-wrong learner exceeds 1 by ≈ t δ, far more than rounding. Every ε_t
    stays within tol(t + 1), and the [0, 1] checks downstream accept them."""
    delta = 0.999 * SUM_TOL
    T = 40
    P = np.zeros((2, 2, 2))
    P[:, :, 0] = 0.5
    P[:, :, 1] = 0.5 + delta
    mdp = pgmath.TabularMDP(P, np.zeros((2, 2)), np.array([0.5, 0.5]), horizon=T)
    expert = np.array([[1.0, 0.0], [1.0, 0.0]])
    d = pgmath.exact.state_marginals(mdp, expert)
    exact_mass = [(1 + Fraction(delta)) ** t for t in range(T)]
    assert float(exact_mass[-1] - 1) > 30 * SUM_TOL  # the drift the model must absorb
    for t in range(T):
        assert abs(Fraction(float(d[t].sum())) - exact_mass[t]) < Fraction(1, 10 ** 12)
        assert float(exact_mass[t] - 1) <= probability_tolerance(t + 1)
    eps_t = bc.epsilon_average(mdp, expert, 1.0 - expert, per_step=True)
    np.testing.assert_array_equal(eps_t, np.ones(T))
    assert bc.average_error_cost_bound(eps_t) == T * (T + 1) / 2


def test_check_probability_clips_rounding_and_names_what_is_wrong():
    np.testing.assert_array_equal(check_probability([1 + 1e-15, -1e-17, 0.25], "p"), [1, 0, 0.25])
    assert float(check_probability(1 + 3.9e-8, "p", n_steps=2)) == 1.0
    with pytest.raises(InvalidDistributionError, match=r"p\[0, 1\] = 1.5 is not a probability"):
        check_probability([[0.5, 1.5]], "p")
    with pytest.raises(InvalidPolicyError, match=r"eps = nan"):
        check_probability(float("nan"), "eps", error=InvalidPolicyError)
    with pytest.raises(InvalidDistributionError, match="-1e-06"):
        check_probability([-1e-6], "p")
    with pytest.raises(InvalidDistributionError, match="inf"):
        check_probability([np.inf], "p")
    with pytest.raises(InvalidDistributionError, match="1.00000003"):
        check_probability(1 + 3e-8, "p")             # tol(1) = 2e-8
    with pytest.raises(ValueError, match="n_steps"):
        probability_tolerance(0)
    assert probability_tolerance(10 ** 9) == 1e-2  # capped: 1.5 is never rounding
    with pytest.raises(InvalidPolicyError, match="1.5"):
        bc.bc_cost_bound(1.5, 10 ** 9)


@given(st.floats(-1.0, 2.0, allow_nan=False), st.integers(1, 50))
def test_check_probability_accepts_exactly_the_tolerance_band(x, k):
    tol = probability_tolerance(k)
    assert tol == min(2 * k * SUM_TOL, 1e-2)
    if -tol <= x <= 1 + tol:
        assert float(check_probability(x, "x", n_steps=k)) == min(max(x, 0.0), 1.0)
    else:
        with pytest.raises(InvalidDistributionError):
            check_probability(x, "x", n_steps=k)


def test_distributions_with_rounding_negative_entries_are_accepted_as_zero():
    """0.7 − 0.3 − 0.4 = −5.55e-17 in floating point: a zero, not a negative probability (in
    P, p0 and a policy table alike); −1e-6 is still a negative probability."""
    z = 0.7 - 0.3 - 0.4
    assert z < 0
    P = np.array([[[0.3, 0.7]], [[z, 1.0 - z]]])
    mdp = pgmath.TabularMDP(P, np.array([[1.0], [0.0]]), np.array([1.0 - z, z]), horizon=2)
    assert mdp.P[1, 0, 0] == 0.0 and mdp.p0[1] == 0.0
    pol = np.array([[1.0], [1.0]])
    assert pgmath.exact.state_marginals(mdp, pol).min() >= 0
    assert pgmath.exact.objective(mdp, pol) == pytest.approx(1.3, abs=1e-15)  # 1 + 0.3
    bandit = pgmath.TabularMDP(np.ones((1, 2, 1)), np.array([[1.0, 0.0]]), np.ones(1), horizon=1)
    assert pgmath.exact.objective(bandit, np.array([[1.0 - z, z]])) == 1.0 - z
    with pytest.raises(InvalidDistributionError, match=r"negative probability -1e-06"):
        pgmath.TabularMDP(np.array([[[-1e-6, 1 + 1e-6]], [[0.5, 0.5]]]), np.zeros((2, 1)),
                          np.array([1.0, 0.0]))
    with pytest.raises(InvalidDistributionError, match=r"policy\[s=0, :\] has a negative"):
        pgmath.exact.objective(bandit, np.array([[1.0 + 1e-6, -1e-6]]))


def test_every_probability_argument_uses_the_model():
    """The [0, 1] checks of the library's arguments: rounding accepted, real errors named."""
    ex = np.eye(2)
    assert bc.epsilon_learner(ex, 1 + 1e-12)[0].tolist() == [0.0, 1.0]
    with pytest.raises(InvalidPolicyError, match="eps = 1.001"):
        bc.epsilon_learner(ex, 1.001)
    m = np.array([[0.0, 1 + 1e-12], [1.0, 0.0]])
    assert np.isfinite(bc.epsilon_learner(ex, 0.5, mistakes=m)).all()
    with pytest.raises(InvalidPolicyError, match="mistakes"):
        bc.epsilon_learner(ex, 0.5, mistakes=np.array([[0.0, 1.01], [1.0, 0.0]]))
    assert float(bc.notes_cost_bound(-1e-17, 3)) == 0.0
    with pytest.raises(InvalidPolicyError, match="ε_k"):
        bc.average_error_cost_bound([0.5, 1.1])
    mdp, expert, _ = _issue11_problem()
    soft = np.array([[1 - 1e-17, 1e-17], [1e-12, 1 - 1e-12]])   # e.g. a softmax of large logits
    np.testing.assert_array_equal(bc.imitation_cost(mdp, soft), [[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(InvalidPolicyError, match="deterministic"):
        bc.imitation_cost(mdp, np.array([[0.999, 0.001], [1.0, 0.0]]))
    g = pgmath.environments.gridworld(["S.G"], slip=1 + 1e-12, discount=0.9)
    assert np.all(g.P >= 0)
    with pytest.raises(InvalidMDPError, match="slip = 1.5"):
        pgmath.environments.gridworld(["S.G"], slip=1.5)
