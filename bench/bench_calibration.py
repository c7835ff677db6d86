"""Calibration: the observed false-failure rate of check_unbiased on a correct estimator.

10,000 independent runs (seeds 0..9,999) of reward-to-go (unbiased, notes §4.3.1) on a
random 2-state, 2-action, T = 3 MDP, each run sampling N = 100 trajectories and testing
at the loose level α = 0.05. A calibrated test fails at most a fraction α of the runs;
the Clopper–Pearson 99.9% upper bound on the rate is printed beside it. The
non-asymptotic tests (Bernstein, empirical Bernstein) are conservative, so their rate
sits far below α; the asymptotic ones (z, χ²) should be near α.

Run:  PYTHONPATH=. python bench/bench_calibration.py [runs]
"""
import sys
import time

import numpy as np
from scipy import stats

import pgmath
from pgmath.environments import random_mdp
from pgmath.check import score_return_bound
from pgmath.estimators import reward_to_go

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
ALPHA, N = 0.05, 100


def main() -> None:
    rng = np.random.default_rng(0)
    mdp = random_mdp(rng, 2, 2, 3)
    pol = pgmath.SoftmaxPolicy(2, 2)
    th = rng.normal(size=4)
    B = score_return_bound(mdp, pol, th)
    print(f"reward_to_go on {mdp!r}; {RUNS:,} runs of N = {N} at α = {ALPHA}")
    print(f"{'method':22s} {'failures':>8s} {'rate':>8s} {'99.9% upper':>11s}  ≤ α?  time")
    for method, kw in [("bernstein", {}), ("empirical-bernstein", {"bound": B}),
                       ("asymptotic", {}), ("chi2", {})]:
        t0 = time.perf_counter()
        fails = sum(not pgmath.check_unbiased(reward_to_go, mdp, pol, th, method=method, n=N,
                                              alpha=ALPHA, rng=np.random.default_rng(seed),
                                              **kw).passed
                    for seed in range(RUNS))
        upper = stats.beta.ppf(0.999, fails + 1, RUNS - fails) if fails < RUNS else 1.0
        print(f"{method:22s} {fails:8d} {fails / RUNS:8.4f} {upper:11.4f}  "
              f"{'yes' if fails / RUNS <= ALPHA else 'NO '}  {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
