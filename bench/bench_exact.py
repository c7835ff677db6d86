"""Speed of the exact engine: J and ∇J (both routes) against a bare numpy backward recursion.

S = 200, A = 8, T = 200, a dense random MDP and a random softmax policy. The baseline is
the cheapest honest computation of J: the backward recursion
V_T = 0, V_t = Σ_a π(a|s) (r(s, a) + Σ_{s'} P[s, a, s'] V_{t+1}(s')), J = p0 · V_0,
written here in plain numpy. Target (issue 2): each engine call ≤ 5× the baseline.

Run: PYTHONPATH=. python bench/bench_exact.py
"""
from __future__ import annotations


import numpy as np

from pgmath.environments import random_problem
from timing import best_time
from pgmath import exact

S, A, T = 200, 8, 200
TARGET = 5.0


def baseline_J(P, r, p0, pi, T):
    V = np.zeros(P.shape[0])
    for _ in range(T):
        V = np.sum(pi * (r + P @ V), axis=1)
    return p0 @ V


def main() -> int:
    rng = np.random.default_rng(0)
    mdp, pol, theta = random_problem(rng, S, A, T)
    P, r, p0 = mdp.P, mdp.R, mdp.p0
    pi = np.asarray(pol.probs(theta))
    assert abs(baseline_J(P, r, p0, pi, T) - exact.objective(mdp, pol, theta)) < 1e-9
    base = best_time(lambda: baseline_J(P, r, p0, pi, T), repeat=5)
    print(f"S={S} A={A} T={T}; baseline backward recursion for V: {base * 1e3:.1f} ms")
    ok = True
    for name, f in [("objective J", lambda: exact.objective(mdp, pol, theta)),
                    ("gradient, pg_theorem", lambda: exact.gradient(mdp, pol, theta)),
                    ("gradient, autograd",
                     lambda: exact.gradient(mdp, pol, theta, method="autograd"))]:
        t = best_time(f, repeat=5)
        ratio = t / base
        ok &= ratio <= TARGET
        print(f"{name:22s} {t * 1e3:8.1f} ms   ratio {ratio:5.2f}x  "
              f"({'meets' if ratio <= TARGET else 'MISSES'} the ≤ {TARGET:g}x target)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
