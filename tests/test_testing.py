"""pgmath.testing: numpy.testing-style assertions, usable under Hypothesis.

Biases are exact (enumeration), so every assertion here is deterministic."""
import numpy as np
import pytest
from hypothesis import given, settings

import pgmath
from pgmath.environments import random_problem
from pgmath import strategies as pst
from pgmath.estimators import reinforce, reward_to_go


def _problem(seed=0):
    return random_problem(np.random.default_rng(seed), 2, 2, 3)


def doubled(batch, policy, theta):
    return 2.0 * reward_to_go(batch, policy, theta)


def test_assert_unbiased_returns_result_and_raises_with_report():
    mdp, pol, th = _problem()
    res = pgmath.testing.assert_unbiased(reward_to_go, mdp, pol, th)
    assert res.passed
    with pytest.raises(AssertionError, match="estimator is biased") as err:
        pgmath.testing.assert_unbiased(doubled, mdp, pol, th)
    assert "verdict: FAIL" in str(err.value) and "doubled" in str(err.value)


def test_assert_biased():
    mdp, pol, th = _problem()
    assert not pgmath.testing.assert_biased(doubled, mdp, pol, th).passed
    with pytest.raises(AssertionError, match="expected a bias"):
        pgmath.testing.assert_biased(reward_to_go, mdp, pol, th)


def test_assert_variance_leq_per_coordinate():
    mdp, pol, th = _problem(1)
    pgmath.testing.assert_variance_leq(reward_to_go, reinforce, mdp, pol, th, per_coordinate=True)
    with pytest.raises(AssertionError, match="coordinate"):
        pgmath.testing.assert_variance_leq(doubled, reward_to_go, mdp, pol, th,
                                           per_coordinate=True)


@settings(max_examples=20)
@given(pst.problems(max_states=3, max_actions=3, horizon=(1, 3), discount=0.9))
def test_usable_inside_given(problem):
    """The user-guide pattern: unbiased on every generated problem, and a doubled
    estimator is biased wherever ∇J is visibly non-zero."""
    mdp, pol, th = problem
    pgmath.testing.assert_unbiased(reward_to_go, mdp, pol, th)
    if np.abs(pgmath.exact.gradient(mdp, pol, th)).max() > 1e-9:
        pgmath.testing.assert_biased(doubled, mdp, pol, th)


def _guide_code() -> str:
    import pathlib
    text = (pathlib.Path(__file__).resolve().parents[1] / "docs/guide/checking.md").read_text()
    start = text.index("# tests/test_my_estimators.py")
    return text[start:text.index("```", start)]


def _run_guide(code: str, *, delay: float, max_examples: int) -> int:
    """Exec the guide's test file, slow its estimator down by ``delay`` seconds on each
    new problem, run its tests under Hypothesis' default 200 ms deadline; returns how
    many ran."""
    import time
    from hypothesis import settings as hs

    code = code.replace("max_examples=50", f"max_examples={max_examples}")
    hs.register_profile("guide-default-deadline", deadline=200, database=None,
                        derandomize=True)
    previous = hs._current_profile
    hs.load_profile("guide-default-deadline")  # before exec: @settings reads it then
    try:
        ns: dict = {}
        exec(compile(code, "checking.md", "exec"), ns)  # noqa: S102 - our own documentation
        fast = ns["my_estimator"]

        seen: set = set()

        def slow(batch, policy, theta):  # slow once per problem (the first call of a θ)
            key = np.asarray(theta).tobytes()
            if key not in seen:
                seen.add(key)
                time.sleep(delay)
            return fast(batch, policy, theta)

        ns["my_estimator"] = slow
        tests = [v for k, v in ns.items() if k.startswith("test_")]
        for t in tests:
            t()
    finally:
        hs.load_profile(previous)
    return len(tests)


def test_user_guide_example_file_runs():
    """The complete test file of docs/guide/checking.md runs and passes as written, with
    its estimator slowed by 0.25 s per problem (past Hypothesis' 200 ms deadline): issue
    17.2."""
    assert _run_guide(_guide_code(), delay=0.25, max_examples=5) == 4


def test_user_guide_example_needs_its_settings():
    """The same file with plain @settings instead of pst.problem_settings fails on the
    deadline: the setting is what makes the example work with a slow estimator."""
    from hypothesis.errors import DeadlineExceeded, FlakyFailure

    code = _guide_code().replace("@pst.problem_settings(max_examples=50)",
                                 "@settings(max_examples=50)")
    code = code.replace("from hypothesis import given", "from hypothesis import given, settings")
    with pytest.raises((DeadlineExceeded, FlakyFailure)):
        _run_guide(code, delay=0.25, max_examples=2)
