"""Benchmarks of the off-policy / natural-gradient code, each against a baseline measured in
the same run. Run: PYTHONPATH=. python bench/bench_offpolicy.py  (≈ 30 s, single core).

1. Fisher-vector product without forming F vs forming F then F @ v (gridworld, d = 100).
2. Undamped CG on Fisher-vector products vs pinv(F) @ g (the natural gradient).
3. Exact moments of each off-policy estimator: the shared moment recursion vs enumeration
   under the behaviour (same numbers), and the recursion at d = 30, T = 50 against the
   on-policy reward-to-go it generalises.
4. Growth rates per step of tr Cov[g] at large T for each estimator vs λ = ρ(Σ_a π'²/π P):
   the products of ratios grow like λ^T, the action-ratio-only form only polynomially.
"""
from __future__ import annotations

import time

import numpy as np

import pgmath
from pgmath.environments import random_mdp
from pgmath import estimators as es
from pgmath import exact
from pgmath.exact.offpolicy_moments import RECURSIONS


def _time(fn, reps: int = 5) -> float:
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bench_fvp() -> None:
    mdp = pgmath.environments.gridworld()
    pol = pgmath.environments.default_policy(mdp)
    rng = np.random.default_rng(0)
    th, v = rng.normal(size=pol.n_params), rng.normal(size=pol.n_params)
    w = exact.input_weights(mdp, pol, th, weighting="average")
    t_f = _time(lambda: exact.fisher(mdp, pol, th, weighting="average") @ v)
    t_v = _time(lambda: exact.fisher_vector_product(mdp, pol, th, v, weights=w))
    err = np.abs(exact.fisher(mdp, pol, th, weighting="average") @ v
                 - exact.fisher_vector_product(mdp, pol, th, v, weights=w)).max()
    print(f"[1] gridworld d={pol.n_params}: form F + F@v {t_f*1e3:.2f} ms, FVP {t_v*1e3:.3f} ms, "
          f"ratio {t_f/t_v:.1f}x (max diff {err:.1e})")


def bench_natural() -> None:
    mdp = pgmath.environments.gridworld()
    pol = pgmath.environments.default_policy(mdp)
    th = np.random.default_rng(1).normal(size=pol.n_params)
    t_p = _time(lambda: es.natural_gradient(mdp, pol, th, method="pinv"))
    t_c = _time(lambda: es.natural_gradient(mdp, pol, th, method="cg"))
    diff = np.abs(es.natural_gradient(mdp, pol, th, method="pinv")
                  - es.natural_gradient(mdp, pol, th, method="cg")).max()
    print(f"[2] natural gradient, gridworld: pinv {t_p*1e3:.1f} ms, CG on FVPs {t_c*1e3:.1f} ms, "
          f"ratio {t_p/t_c:.2f}x (max diff {diff:.1e})")


def bench_moments() -> None:
    """Exact moments of every off-policy estimator: the shared moment recursion (ratios in
    the accumulator, pgmath.exact.recursion) vs enumeration under the behaviour."""
    rng = np.random.default_rng(2)
    S, A, T = 3, 2, 7
    mdp = random_mdp(rng, S, A, T)
    pol = pgmath.SoftmaxPolicy(S, A)
    th = rng.normal(size=S * A)
    th2 = th + 0.5 * rng.normal(size=S * A)
    n = pgmath.count_trajectories(mdp, pol, th)
    print(f"[3] exact Cov under the behaviour, S={S} A={A} T={T} ({n:,} trajectories): "
          "enumeration vs recursion")
    for name in RECURSIONS:
        est = getattr(es, name)
        t_e = _time(lambda: exact.offpolicy_moments(est, mdp, pol, th2,
                                                    theta_behaviour=th, method="enumeration"),
                    reps=2)
        t_r = _time(lambda: exact.offpolicy_moments(est, mdp, pol, th2,
                                                    theta_behaviour=th, method="recursion"))
        m1, a = exact.offpolicy_moments(est, mdp, pol, th2,
                                        theta_behaviour=th, method="enumeration")
        m2, b = exact.offpolicy_moments(est, mdp, pol, th2, theta_behaviour=th, method="recursion")
        rel = np.abs(a - b).max() / np.abs(a + np.outer(m1, m1)).max()
        print(f"    {name:22s} enumeration {t_e*1e3:6.0f} ms, recursion {t_r*1e3:6.2f} ms, "
              f"ratio {t_e/t_r:5.0f}x (max rel. diff {rel:.1e})")
    S, A, T = 10, 3, 50
    mdp = random_mdp(rng, S, A, T, discount=0.99)
    pol = pgmath.SoftmaxPolicy(S, A)
    th = rng.normal(size=S * A)
    th2 = th + 0.3 * rng.normal(size=S * A)
    t_r = _time(lambda: exact.offpolicy_moments_recursion("per_decision_is", mdp, pol, th2,
                                                          theta_behaviour=th),
                reps=3)
    t_on = _time(lambda: exact.estimator_moments(es.reward_to_go, mdp, pol, th2), reps=3)
    print(f"    S={S} A={A} T={T} d={pol.n_params} (recursion only): per_decision_is "
          f"{t_r*1e3:.0f} ms vs on-policy reward_to_go {t_on*1e3:.0f} ms (same accumulator "
          f"layout), ratio {t_r/t_on:.2f}")


def bench_growth() -> None:
    print("[4] per-step growth (tr Cov[g](T=800) / tr Cov[g](T=400))^(1/400) vs λ "
          "(3 random MDPs, S=3, A=2):")
    for seed in range(3):
        rng = np.random.default_rng(10 + seed)
        S, A = 3, 2
        base = random_mdp(rng, S, A, 1)
        pol = pgmath.SoftmaxPolicy(S, A)
        th = rng.normal(size=S * A)
        th2 = th + 0.5 * rng.normal(size=S * A)
        lam = exact.weight_growth_rate(base, pol, th2, theta_behaviour=th)
        row = []
        for name in RECURSIONS:
            tr = [np.trace(exact.offpolicy_moments_recursion(name, base.with_horizon(T), pol, th2,
                                                             theta_behaviour=th)[1])
                  for T in (400, 800)]
            row.append(f"{name} {(tr[1]/tr[0]) ** (1 / 400):.4f}")
        print(f"    seed {10+seed}: λ = {lam:.4f}; " + ", ".join(row))


if __name__ == "__main__":
    t0 = time.perf_counter()
    bench_fvp()
    bench_natural()
    bench_moments()
    bench_growth()
    print(f"total {time.perf_counter() - t0:.1f} s")
