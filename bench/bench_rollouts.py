"""Exact expected update of a rollout segment: recursion vs enumeration vs sampling.

    PYTHONPATH=. python bench/bench_rollouts.py [--n-steps 128] [--n-envs 4] [--time-limit 20]

1. Tiny problem (the boundary problem, 3 live states + goal, H = 3): recursion and
   enumeration of every segment for correct GAE and the five bugs, both auto-reset modes;
   the largest difference (must be ≤ 1e-10) and the time ratio.
2. A 10-state, 3-action problem (one terminal state, time limit H = --time-limit), a
   segment of --n-steps × --n-envs from the stationary start: the exact expected update of
   correct GAE and of each bug by the recursion (about 30^128 segments per column: no
   enumeration), against a baseline measured in the same run — sampling 100 segments of the
   same size and forming their updates — and the Monte Carlo precision that baseline buys.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from pgmath.rollouts import PATTERNS, expected_update, gae, sample_segment
from pgmath.rollouts.examples import boundary_problem, random_rollout_problem
from pgmath.rollouts.expectation import (call_advantages, prepare, segment_updates)

FUNCS = {"gae": gae, **PATTERNS}


def timed(fn, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def tiny() -> None:
    prob, pol, th = boundary_problem()
    worst, t_rec, t_enum = 0.0, 0.0, 0.0
    for mode in ("same_step", "next_step"):
        for fn in FUNCS.values():
            kw = dict(n_steps=5, n_envs=4, lam=0.9, mode=mode, values=np.array([0.5, -1, 2, 1.0]))
            tr, a = timed(lambda: expected_update(fn, prob, pol, th, method="recursion", **kw))
            te, b = timed(lambda: expected_update(fn, prob, pol, th, method="enumeration", **kw))
            worst = max(worst, float(np.max(np.abs(a.mean - b.mean))))
            t_rec, t_enum = t_rec + tr, t_enum + te
    print(f"[1] boundary problem, 5 steps × 4 envs, 6 functions × 2 modes: "
          f"{b.n_segments:,} segments per column")
    print(f"    max |recursion − enumeration| = {worst:.1e} (must be ≤ 1e-10); "
          f"recursion {t_rec:.2f} s, enumeration {t_enum:.2f} s (ratio {t_enum / t_rec:.1f}x)")
    assert worst <= 1e-10


def big(n_steps: int, n_envs: int, H: int) -> None:
    prob, pol, th = random_rollout_problem(np.random.default_rng(0), n_states=10, n_actions=3,
                                           time_limit=H, discount=0.99)
    print(f"[2] S=10 A=3 H={H} γ=0.99, a segment of {n_steps} steps × {n_envs} envs "
          f"(stationary start, same-step)")
    total, worst = 0.0, 0.0
    for name, fn in FUNCS.items():
        t, e = timed(lambda: expected_update(fn, prob, pol, th, n_steps=n_steps, n_envs=n_envs,
                                             lam=0.95))
        total, worst = total + t, max(worst, t)
        print(f"    {name:36s} exact E[g] in {t:6.3f} s   ‖E g‖∞ = {np.abs(e.mean).max():.4f}"
              f"   rounding slack {e.slack.max():.1e}")
    ref = expected_update(gae, prob, pol, th, n_steps=n_steps, n_envs=n_envs, lam=0.95)
    setting = prepare(prob, pol, th)
    rng = np.random.default_rng(1)
    k = 100

    def sampled():
        gs = []
        for _ in range(k):
            seg = sample_segment(prob, pol, th, n_steps=n_steps, n_envs=n_envs, rng=rng,
                                 start="stationary", values=setting.V[0])
            adv, _ = call_advantages(gae, seg, 0.95)
            gs.append(segment_updates(seg, adv, setting.psi, "none").sum(axis=0))
        return np.array(gs)

    tb, gs = timed(sampled)
    se = gs.std(axis=0, ddof=1) / np.sqrt(k)
    print(f"    baseline: sampling {k} segments and their GAE updates: {tb:.2f} s; its standard "
          f"error max_j {se.max():.3f} (exact: {ref.slack.max():.1e}); "
          f"|mean − exact|∞ = {np.abs(gs.mean(axis=0) - ref.mean).max():.3f}")
    print(f"    the slowest exact expectation took {worst:.2f} s (must be < 10 s) = "
          f"{worst / tb:.3f} × the baseline; all six {total:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-steps", type=int, default=128)
    ap.add_argument("--n-envs", type=int, default=4)
    ap.add_argument("--time-limit", type=int, default=20)
    args = ap.parse_args()
    tiny()
    big(args.n_steps, args.n_envs, args.time_limit)


if __name__ == "__main__":
    main()
