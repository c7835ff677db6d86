"""Exact estimator covariance on linear-quadratic problems: moment recursion vs quadrature,
and the recursion at n = 4, m = 2, T = 100 against Monte Carlo in the same run.

    PYTHONPATH=. python bench/bench_lqr_moments.py [--horizon 100] [--quad-horizon 6]

1. At a size tensor Gauss–Hermite quadrature handles exactly (n = 1, m = 1, rank-1 Σ₀, W = 0,
   T = --quad-horizon: 5^(T+1) node trajectories), time both routes for REINFORCE and
   reward-to-go, check they agree, print the ratio.
2. The issue's target: exact covariance for a 4-dimensional state, 2-dimensional action,
   T = --horizon (default 100), REINFORCE and reward-to-go, by the recursion; the baseline
   measured in the same run is the sampled covariance of the same estimator from N = 10,000
   trajectories (sampler + estimator). Printed: seconds, and the recursion's cost in
   units of that Monte Carlo run. The issue asks for < 10 s at T = 100.

The recursion runs with one BLAS thread (threadpoolctl): its matrix products are small, and
two BLAS threads fighting for a loaded core made the same run 10× slower here.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from timing import best_time  # noqa: E402

from pgmath import lqr  # noqa: E402
from pgmath.lqr import estimators as E  # noqa: E402


def quad_problem(T: int):
    prob = lqr.LQRProblem(A=[[0.9]], B=[[0.5]], Q=[[1.0]], R=[[0.3]], N=[[0.1]], Q_T=[[0.5]],
                          mu0=[0.5], Sigma0=[[0.3]], horizon=T, discount=0.95)
    pol = lqr.GaussianLinearPolicy(1, 1)
    return prob, pol, pol.pack([[-0.4]], [0.2], [np.log(0.7)])


def big_problem(T: int):
    A = np.eye(4) + 0.1 * np.diag(np.ones(3), 1)
    B = np.zeros((4, 2))
    B[1, 0] = B[3, 1] = 0.1
    prob = lqr.LQRProblem(A=A, B=B, Q=np.eye(4), R=0.1 * np.eye(2), W=0.01 * np.eye(4),
                          mu0=np.ones(4), Sigma0=0.1 * np.eye(4), horizon=T, discount=0.99)
    K, _ = lqr.optimal_gain(prob.replace(horizon=None, Q_T=None))
    pol = lqr.GaussianLinearPolicy(4, 2)
    return prob, pol, pol.pack(K, [0.0, 0.0], [np.log(0.3)] * 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--horizon", type=int, default=100)
    ap.add_argument("--quad-horizon", type=int, default=6)
    args = ap.parse_args()

    prob, pol, th = quad_problem(args.quad_horizon)
    D = prob.noise_dimension()
    print(f"[1] n=1 m=1 T={args.quad_horizon}: quadrature over D = {D} normals, 5^{D} = {5 ** D:,} "
          "trajectories")
    for est in (E.reinforce, E.reward_to_go):
        tq = best_time(lambda: lqr.quadrature_moments(est, prob, pol, th, q=5), repeat=1,
                       warmup=False)
        tr = best_time(lambda: lqr.estimator_moments(est, prob, pol, th), repeat=3)
        a = lqr.quadrature_moments(est, prob, pol, th, q=5)
        b = lqr.estimator_moments(est, prob, pol, th)
        rel = np.abs(a.cov - b.cov).max() / np.abs(a.second).max()
        print(f"    {est.__name__:13s} quadrature {tq:8.3f} s   recursion {tr:8.4f} s   "
              f"ratio {tq / tr:7.1f}x   max rel. difference {rel:.1e}")

    prob, pol, th = big_problem(args.horizon)
    print(f"[2] n=4 m=2 T={args.horizon}, d = {pol.n_params}: exact covariance by the recursion")
    batch_n = 10_000
    rng = np.random.default_rng(0)
    for est in (E.reinforce, E.reward_to_go):
        def mc():
            b = lqr.sample(prob, pol, th, batch_n, rng)
            return np.cov(est(b, pol, th).T)
        t_mc = best_time(mc, repeat=3)
        t0 = time.perf_counter()
        mom = lqr.estimator_moments(est, prob, pol, th)
        t_ex = time.perf_counter() - t0
        print(f"    {est.__name__:13s} exact {t_ex:7.2f} s (target < 10 s)   Monte Carlo "
              f"N={batch_n:,} {t_mc:6.2f} s   exact = {t_ex / t_mc:5.1f} Monte Carlo runs   "
              f"tr Cov = {np.trace(mom.cov):.6g}")


if __name__ == "__main__":
    main()
