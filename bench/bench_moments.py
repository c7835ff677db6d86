"""Exact covariance of REINFORCE and reward-to-go: moment recursion vs enumeration.

    PYTHONPATH=. python bench/bench_moments.py [--enum-horizon 11] [--big-horizon 50]

1. At the largest size enumeration handles in this run (S = 2, A = 2, T = --enum-horizon:
   4^T trajectories; T = 11 is 4.2M trajectories and a few GB, T = 12 needs ~13 GB),
   time both routes for both estimators, check they agree, and print the ratio.
2. The recursion alone at S = 10, A = 3, T = 50 (30^50 ≈ 10^74 trajectories): time, and
   peak memory measured with tracemalloc (numpy allocations are traced).
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import pgmath
from pgmath.environments import random_mdp
from pgmath import estimators as E
from pgmath import exact as X


def problem(S: int, A: int, T: int, seed: int = 0, discount: float = 0.99):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, S, A, T, discount=discount)
    pol = pgmath.SoftmaxPolicy(S, A)
    return mdp, pol, rng.normal(size=S * A)


def timed(fn, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--enum-horizon", type=int, default=11)
    ap.add_argument("--big-horizon", type=int, default=50)
    args = ap.parse_args()

    mdp, pol, th = problem(2, 2, args.enum_horizon)
    n = pgmath.count_trajectories(mdp, pol, th)
    print(f"[1] S=2 A=2 T={args.enum_horizon}: {n:,} trajectories")
    for est in (E.reinforce, E.reward_to_go):
        te, (m1, c1) = timed(lambda: X.estimator_moments(est, mdp, pol, th, method="enumeration",
                                                         max_trajectories=10 ** 9))
        tr, (m2, c2) = timed(lambda: X.estimator_moments(est, mdp, pol, th, method="recursion"),
                             repeat=5)
        rel = np.abs(c1 - c2).max() / np.abs(c1 + np.outer(m1, m1)).max()
        print(f"    {est.__name__:13s} enumeration {te:8.3f} s   recursion {tr:8.4f} s   "
              f"ratio {te / tr:8.0f}x   max rel. difference {rel:.1e}")

    mdp, pol, th = problem(10, 3, args.big_horizon)
    print(f"[2] S=10 A=3 T={args.big_horizon}: about 30^{args.big_horizon} = "
          f"10^{args.big_horizon * np.log10(30):.0f} trajectories; recursion only")
    for est in (E.reinforce, E.reward_to_go):
        t, (m, c) = timed(lambda: X.estimator_moments(est, mdp, pol, th), repeat=3)
        tracemalloc.start()                    # a separate run: tracing slows numpy down
        X.estimator_moments(est, mdp, pol, th)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        gap = np.abs(m - X.gradient(mdp, pol, th)).max() / np.abs(X.gradient(mdp, pol, th)).max()
        print(f"    {est.__name__:13s} {t:7.3f} s (best of 3)   peak traced memory {peak / 2 ** 20:7.1f} MiB   "
              f"|mean − ∇J|/|∇J| = {gap:.1e}   trace Cov = {np.trace(c):.4g}")


if __name__ == "__main__":
    main()
