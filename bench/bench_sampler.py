"""Speed of the vectorised sampler ``pgmath.sample``.

N = 100,000 trajectories, T = 100, S = 50, A = 5 (a dense random MDP, random softmax
policy): 10⁷ steps. Two baselines measured in the same run:

* raw RNG: drawing the uniform numbers a sampler with one table per draw consumes (one
  for s₀ per trajectory, two per step: the action and the next state) with
  ``rng.random``; target (issue 15): sampler rate ≥ 50% of this rate (pgmath.sample
  draws the action and next state jointly, one uniform per step);
* a per-step Python loop over one trajectory at a time (inverse-CDF with ``bisect`` on
  precomputed cumulative tables, one ``rng.random()`` per draw), timed on fewer
  trajectories and compared as a rate; target: sampler ≥ 20× this rate.

Run: PYTHONPATH=. python bench/bench_sampler.py
"""
from __future__ import annotations

import time  # the Python-loop baseline is timed once
from bisect import bisect_right

import numpy as np

import pgmath
from pgmath.environments import random_mdp
from timing import best_time

N, T, S, A = 100_000, 100, 50, 5
N_LOOP = 2_000


def python_loop(P, p0, pi, n, T, rng):
    """One trajectory at a time, one step at a time: states and actions as lists."""
    cp0 = np.cumsum(p0).tolist()
    cpi = [np.cumsum(row).tolist() for row in pi]
    cP = [np.cumsum(row).tolist() for row in P.reshape(-1, P.shape[2])]
    nA = pi.shape[1]
    out = []
    for _ in range(n):
        s = min(bisect_right(cp0, rng.random()), len(cp0) - 1)
        traj = []
        for _ in range(T):
            a = min(bisect_right(cpi[s], rng.random()), nA - 1)
            traj.append((s, a))
            row = cP[s * nA + a]
            s = min(bisect_right(row, rng.random()), len(row) - 1)
        out.append(traj)
    return out


def main() -> int:
    rng = np.random.default_rng(0)
    mdp = random_mdp(rng, S, A, T)
    pol = pgmath.SoftmaxPolicy(S, A)
    theta = rng.normal(size=S * A)
    steps = N * T

    t_sampler = best_time(lambda: pgmath.sample(mdp, pol, theta, N, np.random.default_rng(1)), warmup=False)
    g = np.random.default_rng(2)

    def raw_rng():
        g.random(N)
        for _ in range(T):
            g.random((2, N))

    t_rng = best_time(raw_rng, warmup=False)

    t0 = time.perf_counter()
    python_loop(mdp.P, mdp.p0, np.asarray(pol.probs(theta)), N_LOOP, T, np.random.default_rng(3))
    t_loop = (time.perf_counter() - t0) * N / N_LOOP

    rate = steps / t_sampler
    print(f"N={N:,} T={T} S={S} A={A}: {steps:,} steps")
    print(f"sampler      {t_sampler:7.3f} s  {rate / 1e6:8.2f} M steps/s")
    print(f"raw RNG      {t_rng:7.3f} s  {steps / t_rng / 1e6:8.2f} M steps/s "
          f"(the 2NT + N uniforms only)")
    print(f"Python loop  {t_loop:7.3f} s  {steps / t_loop / 1e6:8.2f} M steps/s "
          f"(extrapolated from {N_LOOP:,} trajectories)")
    frac, speedup = t_rng / t_sampler, t_loop / t_sampler
    print(f"sampler / raw RNG rate: {frac:.1%} (target ≥ 50%)")
    print(f"sampler / Python loop rate: {speedup:.1f}x (target ≥ 20x)")
    return 0 if frac >= 0.5 and speedup >= 20 else 1


if __name__ == "__main__":
    raise SystemExit(main())
