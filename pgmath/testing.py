"""Assertions for a user's test suite, in the style of ``numpy.testing``.

Each raises ``AssertionError`` carrying the check's full report, and returns the
result when it holds. They work inside Hypothesis tests::

    from hypothesis import given
    import pgmath
    from pgmath import strategies as pst

    @pst.problem_settings()            # problems of varying size: no deadline
    @given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3)))
    def test_my_estimator_is_unbiased(problem):
        mdp, policy, theta = problem
        pgmath.testing.assert_unbiased(my_estimator, mdp, policy, theta)

On a problem small enough to enumerate, and for an estimator that describes itself as a
linear recursion at any size, the decision is exact (no sampling, no flakiness);
otherwise it is a test whose false-failure probability is ≤ ``alpha``, and a check that
could not have seen a bias of the required size is *inconclusive*, which
:func:`assert_unbiased` reports as a failure naming the N that would decide it (see
:func:`pgmath.check_unbiased`).
"""
from __future__ import annotations

from .check import CheckResult, VarianceComparison, check_unbiased, compare_variance

__all__ = ["assert_unbiased", "assert_result_unbiased", "assert_biased", "assert_variance_leq"]


def assert_unbiased(estimator, mdp, policy, theta, **kwargs) -> CheckResult:
    """Assert E[g] = ∇J(θ) (:func:`pgmath.check_unbiased`; keyword arguments go to it).

    On a :class:`pgmath.rollouts.RolloutProblem` the estimator is a rollout advantage
    function and the check is :func:`pgmath.rollouts.check.check_rollout` (E[g] = that of
    correct GAE; its options, ``lam``, ``n_steps``, ``mode``…, go through ``kwargs``).

    Raises:
      AssertionError: with the check's report, when a bias is found, and when the check is
        inconclusive (it could not have seen a bias of the required size: the message
        gives the N that would decide it).
    """
    return assert_result_unbiased(check_unbiased(estimator, mdp, policy, theta, **kwargs))


def assert_result_unbiased(res: CheckResult) -> CheckResult:
    """The assertion of :func:`assert_unbiased` on a result already computed (any
    :class:`CheckResult`: tabular, LQR or rollout): returns it when its verdict is
    "unbiased", else raises ``AssertionError`` with the report, saying what would decide an
    inconclusive check."""
    if res.verdict == "inconclusive":
        if res.resolution is not None:
            need = (f"about n={res.n_needed:,} would decide it" if res.n_needed
                    else "pass detectable_bias= to say what size must be seen")
            raise AssertionError(
                f"check inconclusive: N = {res.n:,} detects ‖bias‖∞ ≥ "
                f"{res.detectable_bias:.3e}, above the required {res.resolution:.3e}; "
                f"{need}\n" + res.report)
        raise AssertionError("check inconclusive: the exact route could not decide every case "
                             "(the report says which, and what would decide it)\n" + res.report)
    if not res.passed:
        raise AssertionError("estimator is biased\n" + res.report)
    return res


def assert_biased(estimator, mdp, policy, theta, **kwargs) -> CheckResult:
    """Assert that :func:`pgmath.check_unbiased` finds a bias (a planted bug is caught).

    Raises:
      AssertionError: with the report, when the check does not find a bias (verdict
        unbiased or inconclusive). On the statistical path a bias smaller than the
        reported detectable bias may pass: the message says so.
    """
    res = check_unbiased(estimator, mdp, policy, theta, **kwargs)
    if res.verdict != "biased":
        raise AssertionError(
            f"expected a bias, but the check found none (verdict {res.verdict}; it detects "
            f"‖bias‖∞ ≥ {res.detectable_bias:.3e} w.p. ≥ 1 − {res.beta:g})\n" + res.report)
    return res


def assert_variance_leq(est_a, est_b, mdp, policy, theta, *, per_coordinate: bool = False,
                        **kwargs) -> VarianceComparison:
    """Assert tr Cov[g_a] ≤ tr Cov[g_b] (exact: moment recursion or enumeration), up to rounding.

    With ``per_coordinate=True`` assert Var g_a,j ≤ Var g_b,j for every j.

    Raises:
      AssertionError: with the comparison table, when it does not hold.
    """
    cmp = compare_variance(est_a, est_b, mdp, policy, theta, **kwargs)
    if per_coordinate:
        bad = cmp.var_a > cmp.var_b + cmp.slack
        if bad.any():
            j = int(bad.nonzero()[0][0])
            raise AssertionError(
                f"Var a > Var b in coordinate {j}: {cmp.var_a[j]:.6g} > {cmp.var_b[j]:.6g}\n"
                + cmp.report)
    elif cmp.total_a > cmp.total_b + cmp.slack:
        raise AssertionError(
            f"tr Cov a = {cmp.total_a:.6g} > tr Cov b = {cmp.total_b:.6g}\n" + cmp.report)
    return cmp
