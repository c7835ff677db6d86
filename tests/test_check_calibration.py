"""Calibration of check_unbiased (slow: excluded from the default suite by ``-m "not slow"``).

Run with ``python -m pytest -m slow tests/test_check_calibration.py``.

10,000 independent runs (seeds 0..9,999) of a correct estimator at the loose level
α = 0.05, N = 100 trajectories each. A calibrated test fails at most a fraction α of the
runs. The assertion is on the Clopper–Pearson upper confidence bound, at confidence
1 − 1e-6, of the failure rate: it must be ≤ α, which holds for up to 399 failures of
10,000. So a test whose true false-failure rate is above α fails this assertion with
probability ≥ 1 − 1e-6, and one whose rate is ≤ 0.031 passes it with probability
≥ 1 − 1e-6 (P(Bin(10⁴, 0.031) ≥ 400) ≤ 1e-6). Bernstein and empirical Bernstein are
conservative (their rate sits near 0), and the seeds are fixed, so a run is reproducible.
"""
import numpy as np
import pytest
from scipy import stats

import pgmath
from pgmath.environments import random_mdp
from pgmath import check as pc
from pgmath.check.recursion_moments import recursion_moments
from pgmath.estimators import reward_to_go

pytestmark = pytest.mark.slow

RUNS, ALPHA, N, CONFIDENCE = 10_000, 0.05, 100, 1 - 1e-6


def upper_bound(failures: int, runs: int = RUNS) -> float:
    """Clopper–Pearson upper confidence bound on a binomial rate at level CONFIDENCE."""
    return 1.0 if failures >= runs else float(stats.beta.ppf(CONFIDENCE, failures + 1, runs - failures))


def problem(T):
    rng = np.random.default_rng(0)
    mdp = random_mdp(rng, 2, 2, T)
    pol = pgmath.SoftmaxPolicy(2, 2)
    return mdp, pol, rng.normal(size=4)


def black_box(batch, policy, theta):
    """reward_to_go as a user's black box (no step_weights)."""
    return reward_to_go(batch, policy, theta)


@pytest.mark.parametrize("method", ["bernstein", "empirical-bernstein"])
def test_calibration_enumerable(method):
    """T = 3: Bernstein with the enumerated variance; empirical Bernstein with a bound."""
    mdp, pol, th = problem(3)
    kw = {"bound": pc.score_return_bound(mdp, pol, th)} if method == "empirical-bernstein" else {}
    est = reward_to_go if method == "bernstein" else black_box
    fails = sum(not pgmath.check_unbiased(est, mdp, pol, th, method=method, n=N, alpha=ALPHA,
                                          rng=np.random.default_rng(seed), **kw).passed
                for seed in range(RUNS))
    assert fails / RUNS <= ALPHA and upper_bound(fails) <= ALPHA, (fails, upper_bound(fails))


def test_calibration_recursion_route():
    """T = 11 (4¹¹·4 > MAX_ENUMERATION: the moments come from the recursion). The moments
    are deterministic, so they are computed once and each run repeats the sampled decision
    of check_unbiased (its _draw and _statistical) with a fresh seed; one full
    check_unbiased call confirms it takes this route."""
    mdp, pol, th = problem(11)
    res = pgmath.check_unbiased(reward_to_go, mdp, pol, th, n=N, alpha=ALPHA,
                                rng=np.random.default_rng(0))
    assert res.method == "bernstein" and "recursion" in res.report
    target = pgmath.exact.gradient(mdp, pol, th)
    mom = recursion_moments(reward_to_go, mdp, pol, th, target=target)
    ctx = pc._Context(reward_to_go, mdp, pol, th, None, target, ALPHA, pc.DEFAULT_BETA, 11,
                      False, 1)
    fails = sum(not pc._statistical(ctx, "bernstein", pc._draw(ctx, N, np.random.default_rng(s)),
                                    mom, None).passed
                for s in range(RUNS))
    assert fails / RUNS <= ALPHA and upper_bound(fails) <= ALPHA, (fails, upper_bound(fails))
