"""Exact covariance by the forward–backward recursion (issue 15), against the
state-conditioned recursion it replaces and against a Monte Carlo covariance to 5 %
(Frobenius), all measured in this run.

    PYTHONPATH=. python bench/bench_forward_backward.py [--parts targets,scaling]
        [--figure docs/guide/performance_scaling.png] [--state-budget 300]

Part "targets" (reward-to-go; REINFORCE on the first problem too):
  A. random dense MDP S = 20, A = 4, T = 1000, γ = 0.99;
  B. 10 × 10 gridworld (S = 100, A = 4, slip 0.1, goal absorbing), T = 100;
  C. random dense MDP S = 200, A = 8, T = 200.
For each: the forward–backward time (best of a few runs), the state recursion's time
(measured at the full horizon when it fits in --state-budget seconds, else at a shorter
horizon and scaled by T/T' — its cost per step does not depend on t — and marked "~";
both with one BLAS thread;
not run when its d × d per-state moments do not fit in memory), and Monte Carlo: N for a
5 % root-mean-square relative Frobenius error from a pilot's fourth moment,

    E‖Ĉ_N − C‖²_F = (E[(cᵀc)²] − ‖C‖²_F) / N,   c = g − E g,   C exact,

then the time of sampling N trajectories with pgmath.sample, evaluating the estimator and
forming the covariance (in chunks), with the error it reached. Where N·T·d is too large to
run here the Monte Carlo time is measured on a part of N and scaled linearly (marked "~").
Peak memory of one forward–backward run by tracemalloc (numpy's allocations are traced).

Part "scaling": forward–backward time of reward-to-go against S, A and T (and the state
recursion where it is cheap), a table and the log-log slopes; --figure draws it.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits

import pgmath
from pgmath import environments
from pgmath import estimators as E
from pgmath.exact.recursion import recursive_moments

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from timing import best_time  # noqa: E402

GRID = ["S........."] + [".........."] * 8 + [".........G"]
CHUNK_FLOATS = 1 << 24          # trajectories per Monte Carlo chunk: N_c · T · d ≤ this


def random_problem(S: int, A: int, T: int, seed: int = 0, discount: float = 0.99):
    return environments.random_problem(np.random.default_rng(seed), S, A, T, discount=discount)


def gridworld_problem(T: int = 100):
    mdp = pgmath.environments.gridworld(GRID, slip=0.1, horizon=T, discount=0.99)
    pol = pgmath.environments.default_policy(mdp)
    return mdp, pol, np.random.default_rng(0).normal(size=pol.n_params)


def state_bytes(mdp, pol, est) -> float:
    """Bytes of the state recursion's per-state second moments E[V ⊗ V 1{s}], [S, q, d, q, d]."""
    spec = est.step_weights(mdp.horizon, mdp.discount)
    q = len(spec.rows())
    return 8.0 * mdp.n_states * (q * pol.n_params) ** 2


def time_state(est, mdp, pol, th, budget: float) -> tuple[float, bool]:
    """(seconds, extrapolated): the state recursion at the full horizon if it fits the
    budget (judged from a short run), else the short run scaled by T/T'. Run with one
    BLAS thread, as the forward–backward recursion is (its best case on a shared machine,
    so the ratio is conservative)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _time_state(est, mdp, pol, th, budget)


def _time_state(est, mdp, pol, th, budget: float) -> tuple[float, bool]:
    T = mdp.horizon
    Ts = max(1, min(T, 5))
    t_short = best_time(lambda: recursive_moments(est, mdp.with_horizon(Ts), pol, th,
                                                  algorithm="state"), repeat=1, warmup=False)
    if t_short * T / Ts <= budget:
        return best_time(lambda: recursive_moments(est, mdp, pol, th, algorithm="state"),
                         repeat=1, warmup=False), False
    return t_short * T / Ts, True


def monte_carlo(est, mdp, pol, th, cov, mean, n: int, rng, budget_steps: float):
    """(seconds for N = n, relative Frobenius error reached, extrapolated): sample, evaluate,
    covariance, in chunks; when n·T exceeds budget_steps only a part is run and scaled."""
    T, d = mdp.horizon, pol.n_params
    chunk = max(1, min(n, int(CHUNK_FLOATS // (T * d))))
    run = n if n * T <= budget_steps else max(chunk, int(budget_steps // T))
    s1, s2, done = np.zeros(d), np.zeros((d, d)), 0
    t0 = time.perf_counter()
    while done < run:
        b = min(chunk, run - done)
        g = est(pgmath.sample(mdp, pol, th, b, rng), pol, th)
        s1 += g.sum(axis=0)
        s2 += g.T @ g
        done += b
    m = s1 / run
    c = s2 / run - np.outer(m, m)
    seconds = (time.perf_counter() - t0) * n / run
    return seconds, np.linalg.norm(c - cov) / np.linalg.norm(cov), run < n


def n_for_five_percent(est, mdp, pol, th, cov, mean, rng, pilot: int = 4000) -> int:
    """N with E‖Ĉ_N − C‖²_F = (0.05 ‖C‖_F)² from the pilot's E[(cᵀc)²] (c = g − E g exact)."""
    T, d = mdp.horizon, pol.n_params
    chunk = max(1, min(pilot, int(CHUNK_FLOATS // (T * d))))
    fourth, done = 0.0, 0
    while done < pilot:
        b = min(chunk, pilot - done)
        c = est(pgmath.sample(mdp, pol, th, b, rng), pol, th) - mean
        fourth += float(np.sum(np.einsum("nd,nd->n", c, c) ** 2))
        done += b
    frob2 = float(np.sum(cov * cov))
    return max(2, int(np.ceil((fourth / pilot - frob2) / (0.05 ** 2 * frob2))))


def peak_memory(fn) -> float:
    """Peak traced bytes of one call (tracemalloc; a separate run, tracing slows numpy)."""
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def targets(state_budget: float, mc_budget_steps: float, only: str = "ABC") -> None:
    cases = [("A", "S=20 A=4 T=1000", random_problem(20, 4, 1000), (E.reward_to_go, E.reinforce), 3),
             ("B", "gridworld 10x10 T=100", gridworld_problem(100), (E.reward_to_go,), 2),
             ("C", "S=200 A=8 T=200", random_problem(200, 8, 200), (E.reward_to_go,), 1)]
    print("| problem | estimator | forward-backward | state recursion | ratio | MC N (5 %) "
          "| MC time | MC / f-b | MC error | peak memory f-b |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key, label, (mdp, pol, th), ests, repeat in cases:
        if key not in only:
            continue
        for est in ests:
            t_fb = best_time(lambda: recursive_moments(est, mdp, pol, th), repeat=repeat,
                             warmup=False)
            mean, cov = recursive_moments(est, mdp, pol, th)
            need = state_bytes(mdp, pol, est)
            if need > 4 * 2 ** 30:
                state, ratio = f"not run (needs > {need / 2 ** 30:.0f} GiB)", "—"
            else:
                t_st, extra = time_state(est, mdp, pol, th, state_budget)
                state = f"{'~' if extra else ''}{t_st:.2f} s"
                ratio = f"{'~' if extra else ''}{t_st / t_fb:.0f}×"
            rng = np.random.default_rng(1)
            n = n_for_five_percent(est, mdp, pol, th, cov, mean, rng)
            t_mc, err, extra = monte_carlo(est, mdp, pol, th, cov, mean, n, rng, mc_budget_steps)
            peak = peak_memory(lambda: recursive_moments(est, mdp, pol, th))
            mark = "~" if extra else ""
            print(f"| {key}: {label} | {est.__name__} | {t_fb:.3f} s | {state} | {ratio} | {n:,} "
                  f"| {mark}{t_mc:.2f} s | {mark}{t_mc / t_fb:.0f}× | "
                  f"{'(part) ' if extra else ''}{err:.1%} | {peak / 2 ** 20:.0f} MiB |", flush=True)


def scaling(figure: str | None) -> None:
    grids = {"S": [(S, 4, 100) for S in (10, 20, 40, 80, 160)],
             "A": [(40, A, 100) for A in (2, 4, 8, 16)],
             "T": [(40, 4, T) for T in (50, 100, 200, 400, 800)]}
    print("\n| vary | S | A | T | forward-backward | state recursion |")
    print("|---|---|---|---|---|---|")
    results = {}
    for vary, pts in grids.items():
        rows = []
        for S, A, T in pts:
            mdp, pol, th = random_problem(S, A, T)
            t_fb = best_time(lambda: recursive_moments(E.reward_to_go, mdp, pol, th), repeat=2,
                             warmup=False)
            t_st = None
            if S * A <= 160 and state_bytes(mdp, pol, E.reward_to_go) < 2 ** 28:
                t_st, _ = time_state(E.reward_to_go, mdp, pol, th, budget=20.0)
            rows.append((S, A, T, t_fb, t_st))
            st = "—" if t_st is None else f"{t_st:.3f} s"
            print(f"| {vary} | {S} | {A} | {T} | {t_fb:.3f} s | {st} |", flush=True)
        results[vary] = rows
    print()
    for vary, rows in results.items():
        x = np.log([r[{"S": 0, "A": 1, "T": 2}[vary]] for r in rows])
        slope = np.polyfit(x, np.log([r[3] for r in rows]), 1)[0]
        tail = np.polyfit(x[-3:], np.log([r[3] for r in rows][-3:]), 1)[0]
        print(f"log-log slope of forward-backward time in {vary}: {slope:.2f} (last three points "
              f"{tail:.2f})")
    if figure:
        draw(results, figure)


def draw(results: dict, figure: str) -> None:
    """The log-log figure of the scaling part: {vary: [(S, A, T, t_fb, t_state|None)]}."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    fixed = {"S": "A = 4, T = 100", "A": "S = 40, T = 100", "T": "S = 40, A = 4"}
    for ax, (vary, rows) in zip(axes, results.items()):
        i = {"S": 0, "A": 1, "T": 2}[vary]
        x = [r[i] for r in rows]
        ax.loglog(x, [r[3] for r in rows], "o-", label="forward–backward")
        st = [(r[i], r[4]) for r in rows if r[4] is not None]
        if st:
            ax.loglog(*zip(*st), "s--", label="state recursion")
        ax.set_xticks(x)
        ax.set_xticklabels([str(v) for v in x])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(vary)
        ax.set_title(fixed[vary], fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("seconds (exact covariance, reward-to-go)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(figure, dpi=110)
    print(f"figure written to {figure}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="targets,scaling")
    ap.add_argument("--figure", default=None)
    ap.add_argument("--state-budget", type=float, default=300.0,
                    help="seconds the state recursion may take at the full horizon")
    ap.add_argument("--problems", default="ABC", help="which target problems to run")
    ap.add_argument("--mc-budget-steps", type=float, default=4e7,
                    help="trajectory steps Monte Carlo may sample before it is scaled")
    args = ap.parse_args()
    parts = args.parts.split(",")
    if "targets" in parts:
        targets(args.state_budget, args.mc_budget_steps, args.problems)
    if "scaling" in parts:
        scaling(args.figure)


if __name__ == "__main__":
    main()
