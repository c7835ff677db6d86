"""Bad input to TabularMDP / POMDP / policies / solvers raises a named PgmathError
(a ValueError) whose message names the array, the index and the offending value
(issue 2, "Bad input"; the non-ergodic cases are in tests/exact/test_stationary.py)."""
import re

import numpy as np
import pytest

import pgmath
from pgmath import exact


def _valid(S=2, A=2):
    P = np.full((S, A, S), 1.0 / S)
    return P, np.zeros((S, A)), np.full(S, 1.0 / S)


def test_transition_row_not_summing_to_one_names_s_a_and_the_sum():
    P, R, p0 = _valid()
    P[1, 0] = [0.5, 0.4]
    with pytest.raises(pgmath.InvalidDistributionError, match=r"P\[s=1, a=0, :\] sums to 0\.9"):
        pgmath.TabularMDP(P, R, p0, horizon=2)


@pytest.mark.parametrize("value,word", [(-0.25, "negative probability -0.25"),
                                        (np.nan, "non-finite entry nan")])
def test_negative_or_nan_transition_names_the_entry(value, word):
    P, R, p0 = _valid()
    P[0, 1] = [1.0 - value if np.isfinite(value) else 0.5, value]
    with pytest.raises(pgmath.InvalidDistributionError, match=rf"P\[s=0, a=1, :\].*{word}"):
        pgmath.TabularMDP(P, R, p0, horizon=2)


def test_nan_reward_and_bad_start_distribution():
    P, R, p0 = _valid()
    R[1, 0] = np.nan
    with pytest.raises(pgmath.InvalidMDPError, match=r"R\[1, 0\] is not finite"):
        pgmath.TabularMDP(P, R, p0, horizon=2)
    with pytest.raises(pgmath.InvalidDistributionError, match=r"p0 sums to 0\.8"):
        pgmath.TabularMDP(P, np.zeros((2, 2)), [0.3, 0.5], horizon=2)
    with pytest.raises(pgmath.InvalidDistributionError, match=r"p0 has a negative probability"):
        pgmath.TabularMDP(P, np.zeros((2, 2)), [1.5, -0.5], horizon=2)


@pytest.mark.parametrize("which,kw,msg", [
    ("R", dict(R=np.zeros((3, 2))), r"R has shape \(3, 2\) but P has shape \(2, 2, 2\)"),
    ("p0", dict(p0=np.ones(3) / 3), r"p0 has shape \(3,\) but P has 2 states"),
    ("P", dict(P=np.ones((2, 2)) / 2), r"P must have shape \[S, A, S\], got \(2, 2\)"),
])
def test_mismatched_shapes_name_the_arrays(which, kw, msg):
    P, R, p0 = _valid()
    args = {**dict(P=P, R=R, p0=p0), **kw}
    with pytest.raises(pgmath.ShapeError, match=msg):
        pgmath.TabularMDP(args["P"], args["R"], args["p0"], horizon=2)


def test_pomdp_emissions_are_checked():
    P, R, p0 = _valid()
    with pytest.raises(pgmath.ShapeError, match=r"O has shape \(3, 2\) but P has 2 states"):
        pgmath.POMDP(P, R, p0, np.ones((3, 2)) / 2, horizon=2)
    with pytest.raises(pgmath.InvalidDistributionError, match=r"O\[s=1, :\] sums to 1\.5"):
        pgmath.POMDP(P, R, p0, np.array([[1.0, 0.0], [1.0, 0.5]]), horizon=2)


@pytest.mark.parametrize("horizon", [0, -3])
def test_horizon_must_be_positive(horizon):
    with pytest.raises(pgmath.InvalidMDPError, match=rf"horizon must be a positive int.*got {horizon}"):
        pgmath.TabularMDP(*_valid(), horizon=horizon)


def test_horizon_must_be_an_int():
    with pytest.raises(pgmath.InvalidMDPError, match=r"horizon must be a positive int or None, got 2\.5"):
        pgmath.TabularMDP(*_valid(), horizon=2.5)


@pytest.mark.parametrize("gamma", [0.0, -0.1, 1.5, np.nan])
def test_discount_must_lie_in_zero_one(gamma):
    with pytest.raises(pgmath.InvalidMDPError, match=r"discount γ must lie in \(0, 1\]"):
        pgmath.TabularMDP(*_valid(), horizon=3, discount=gamma)


def test_theta_of_wrong_length_names_lengths():
    mdp = pgmath.TabularMDP(*_valid(), horizon=2)
    pol = pgmath.SoftmaxPolicy(2, 2)
    with pytest.raises(pgmath.InvalidPolicyError, match=r"theta has length 3 but SoftmaxPolicy\(2, 2\) needs 4"):
        exact.objective(mdp, pol, np.zeros(3))
    with pytest.raises(pgmath.InvalidPolicyError, match=r"theta has length 5"):
        exact.gradient(mdp, pol, np.zeros(5))
    with pytest.raises(pgmath.InvalidPolicyError, match=r"theta\[1\] is not finite"):
        pol.probs(np.array([0.0, np.inf, 0.0, 0.0]))
    with pytest.raises(pgmath.InvalidPolicyError, match=r"flat vector of length 4, got shape \(2, 2\)"):
        pol.probs(np.zeros((2, 2)))


def test_policy_that_does_not_fit_the_mdp():
    mdp = pgmath.TabularMDP(*_valid(), horizon=2)
    with pytest.raises(pgmath.ShapeError, match="reads 3 states but the MDP has 2"):
        exact.objective(mdp, pgmath.SoftmaxPolicy(3, 2), np.zeros(6))
    with pytest.raises(pgmath.ShapeError, match="reads observations but"):
        exact.objective(mdp, pgmath.ObservationSoftmaxPolicy(1, 2), np.zeros(2))
    with pytest.raises(pgmath.InvalidDistributionError, match=r"policy\[s=1, :\] sums to 0\.5"):
        exact.objective(mdp, np.array([[1.0, 0.0], [0.25, 0.25]]))


def test_undiscounted_infinite_horizon_policy_that_never_terminates():
    """Short corridor, 'always left': state 0 loops on itself, states 1 and 2 swap forever."""
    mdp = pgmath.environments.short_corridor()
    table = np.tile([1.0, 0.0], (4, 1))
    with pytest.raises(pgmath.ImproperPolicyError, match=r"never terminates from state\(s\) \[0, 1, 2\]"):
        exact.objective(mdp, table)
    with pytest.raises(pgmath.ImproperPolicyError, match="never terminates"):
        exact.values(mdp, table)
    # no terminal state at all
    no_term = pgmath.TabularMDP(*_valid(), horizon=None, discount=1.0)
    with pytest.raises(pgmath.ImproperPolicyError, match="no absorbing terminal state"):
        exact.objective(no_term, np.full((2, 2), 0.5))


def test_absorbing_state_with_reward_in_undiscounted_problem():
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = 1.0
    P[1, 0, 1] = 1.0
    mdp = pgmath.TabularMDP(P, np.array([[0.0], [2.0]]), [1.0, 0.0], horizon=None)
    with pytest.raises(pgmath.InvalidMDPError, match=r"absorbing state 1 has non-zero reward"):
        exact.objective(mdp, np.ones((2, 1)))


def test_every_error_is_a_value_error_exported_at_the_top():
    classes = [n for n in pgmath.errors.__all__ if isinstance(getattr(pgmath.errors, n), type)]
    assert "PgmathError" in classes and "check_choice" not in pgmath.__all__
    for name in classes:
        assert name in pgmath.__all__ and issubclass(getattr(pgmath, name), ValueError), name


def test_valid_mdp_is_read_only_and_exposes_expected_reward():
    P, _, p0 = _valid()
    R3 = np.arange(8.0).reshape(2, 2, 2)
    mdp = pgmath.TabularMDP(P, R3, p0, horizon=2)
    np.testing.assert_allclose(mdp.r, R3.mean(axis=2))  # uniform P: r = mean over s'
    with pytest.raises(ValueError):
        mdp.P[0, 0, 0] = 1.0
    assert mdp.with_horizon(5).horizon == 5 and mdp.with_discount(0.5).discount == 0.5


@pytest.mark.parametrize("S,A", [(3, 2), (3, 3)])
def test_p_in_the_transposed_layout_gets_a_layout_hint(S, A):
    """Issue 17.5: P given as [S, S', A] (every P[s, :, a] a distribution) is named as such,
    for a square P (S = A: the shape check cannot see it, the row sums fail) and for S ≠ A
    (the shape check fails); a P that is wrong in both layouts gets no hint."""
    rng = np.random.default_rng(S * 10 + A)
    P = rng.dirichlet(np.ones(S), size=(S, A))          # [S, A, S'], valid
    wrong = np.transpose(P, (0, 2, 1))                  # [S, S', A]
    assert not np.allclose(wrong.sum(axis=-1), 1.0)
    err = pgmath.ShapeError if S != A else pgmath.InvalidDistributionError
    with pytest.raises(err, match=re.escape("P looks like [S, S', A]") + ".*"
                       + re.escape(f"pgmath wants [S, A, S'] = {(S, A, S)}")):
        pgmath.TabularMDP(wrong, np.zeros((S, A)), np.full(S, 1 / S), horizon=2)
    mdp = pgmath.TabularMDP(wrong.transpose(0, 2, 1), np.zeros((S, A)), np.full(S, 1 / S))
    np.testing.assert_array_equal(mdp.P, P)
    bad = wrong.copy()
    bad[0, 0, 0] += 0.5
    with pytest.raises(pgmath.PgmathError) as info:
        pgmath.TabularMDP(bad, np.zeros((S, A)), np.full(S, 1 / S))
    assert "looks like" not in str(info.value)
