"""pgmath.strategies.lqr_problems: valid, stable, reaches its edge cases, refuses bad options."""
import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pgmath import strategies as pst
from pgmath.lqr import objective
from pgmath.lqr.objective import closed_loop_radius

CFG = settings(derandomize=True, database=None, max_examples=600, phases=[Phase.generate])


@given(pst.lqr_problems(horizon=None, discount=st.floats(0.5, 0.99)))
def test_discounted_problems_have_a_stable_closed_loop(case):
    problem, policy, theta = case
    assert closed_loop_radius(problem, policy, theta) < 1.0
    assert np.isfinite(objective(problem, policy, theta))


@pytest.mark.parametrize("name, condition", [
    ("deterministic dynamics and start", lambda c: np.all(c[0].W == 0) and np.all(c[0].Sigma0 == 0)),
    ("low-rank noise", lambda c: 0 < np.linalg.matrix_rank(c[0].W) < c[0].n_states),
    ("cross terms", lambda c: np.any(c[0].N != 0)),
    ("terminal cost", lambda c: c[0].has_terminal_cost),
    ("two actions", lambda c: c[0].n_actions == 2),
])
def test_edge_cases_are_generated(name, condition):
    assert condition(find(pst.lqr_problems(min_states=2), condition, settings=CFG))


def test_time_varying_and_shrinking():
    case = find(pst.lqr_problems(horizon=3, time_varying=True), lambda c: True, settings=CFG)
    assert case[1].time_varying and case[2].shape == (3 * case[1].block_size,)
    small = find(pst.lqr_problems(max_states=3), lambda c: c[0].n_states >= 2,
                 settings=settings(derandomize=True, database=None, max_examples=300))
    assert (small[0].n_states, small[0].n_actions) == (2, 1)


@pytest.mark.parametrize("make", [
    lambda: pst.lqr_problems(max_radius=1.0), lambda: pst.lqr_problems(horizon=None),
    lambda: pst.lqr_problems(horizon=None, discount=0.9, time_varying=True),
    lambda: pst.lqr_problems(min_states=0)])
def test_bad_options_are_refused(make):
    with pytest.raises(InvalidArgument):
        find(make(), lambda c: True, settings=settings(database=None, max_examples=5))
