"""``pgmath check``'s battery on a user's estimator: wall time, and the share of probing.

For each estimator, the full default battery (5 named environments, 6 random MDPs, the
three large problems; :func:`pgmath.commands.check.run_battery` with the CLI's defaults)
is timed, and, in the same run, the time spent in :func:`pgmath.check.probe_estimator`
(coupling, final states, symmetry) is summed by wrapping it. The ratio probe / battery is
the cost of finding batch coupling instead of trusting a marker (issue 10 asks < 5%).
Wall time is the least of ``--repeat`` runs (the machine is shared).

Estimators: a numpy black box (reward-to-go, float64), the same computed in float32, a
built-in with a moment recursion, and an unmarked leave-one-out baseline (coupled, found
by probing).

Run:  PYTHONPATH=. python bench/bench_check_battery.py [--repeat 2]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

import numpy as np

from pgmath import estimators as E
from pgmath.check import routing, variance
from pgmath.commands.check import MAX_N, battery, run_battery

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from timing import best_time  # noqa: E402


def black_box(batch, policy, theta):
    return E.reward_to_go(batch, policy, theta)


def float32_box(batch, policy, theta):
    psi = np.asarray(policy.score(theta), dtype=np.float32)[batch.inputs, batch.actions]
    w = (batch.rewards * batch.discount ** np.arange(batch.horizon)).astype(np.float32)
    return np.einsum("ntd,nt->nd", psi, np.cumsum(w[:, ::-1], axis=1)[:, ::-1])


def leave_one_out(batch, policy, theta):
    Psi, R = E.step_scores(batch, policy, theta).sum(axis=1), batch.returns()
    return Psi * (R - (R.sum() - R) / (batch.n - 1))[:, None]


class ProbeClock:
    """Wraps probe_estimator where the router and compare_variance call it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.inner = routing.probe_estimator

    def __call__(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0

    def __enter__(self):
        routing.probe_estimator = variance.probe_estimator = self
        return self

    def __exit__(self, *exc):
        routing.probe_estimator = variance.probe_estimator = self.inner


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    problems = battery()
    print(f"pgmath check battery: {len(problems)} problems, max N {MAX_N:,}, "
          f"{os.cpu_count()} cores visible")
    print(f"{'estimator':22s} {'battery s':>10s} {'probe s':>9s} {'probe share':>12s}  verdicts")
    for name, est in (("numpy black box", black_box), ("float32 black box", float32_box),
                      ("built-in (recursion)", E.reward_to_go), ("unmarked LOO", leave_one_out)):
        shares, rows = [], None
        for _ in range(args.repeat):
            with ProbeClock() as clock:
                t0 = time.perf_counter()
                rows = run_battery(est, problems, progress=False)
                total = time.perf_counter() - t0
            shares.append((total, clock.seconds))
        total, probe = min(shares)
        verdicts = {}
        for _, res in rows:
            key = res if isinstance(res, str) else res.verdict
            verdicts[key] = verdicts.get(key, 0) + 1
        print(f"{name:22s} {total:10.2f} {probe:9.3f} {probe / total:12.1%}  {verdicts}")
    t_probe = best_time(lambda: routing.probe_estimator(black_box, *problems[-1][1:]))
    print(f"one probe on gridworld (T=50): {t_probe * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
