"""check_unbiased by the moment recursion: time against enumeration, and sample sizes at
horizons no enumeration reaches.

Part 1 (time). reward-to-go on a random 2-state, 2-action MDP: the exact decision by
enumeration (method="enumeration") and by the recursion (method="recursion") at the
same T, their ratio, then the recursion alone at T where enumeration is impossible.

Part 2 (sample size at large T). For reward-to-go on the gridworld (T = 20, 50) and the
chain (T = 20), a detectable bias δ = 10% of ‖∇J‖∞, α = 1e-6, β = 1e-3:
* pgmath's Bernstein N with the recursion's exact variance and its proven range bound;
* the DKWM design of TFP's statistical_testing (:func:`pgmath.check.min_num_samples_for_dkwm_mean_test`)
  told the same range pgmath proves, [−B_j, B_j] (:func:`pgmath.check.recursion_moments.step_weights_range`),
  and told the cruder a-priori range [−B, B], B = T max|ψ| Σ γ^t max|r|;
* pgmath's empirical-Bernstein N knowing only B (what a black box gets).

Run:  PYTHONPATH=. python bench/bench_check_recursion.py
"""
import pathlib
import sys

import numpy as np

import pgmath
from pgmath import check as pc
from pgmath.check.recursion_moments import recursion_moments
from pgmath import environments
from pgmath.estimators import reward_to_go

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from timing import best_time  # noqa: E402

ALPHA, BETA = 1e-6, 1e-3


def random_problem(T):
    return environments.random_problem(np.random.default_rng(0), 2, 2, T, discount=0.9)


def part1() -> None:
    print("Part 1: exact decision of reward_to_go, enumeration vs moment recursion")
    print(f"{'T':>4s} {'trajectories':>14s} {'enumeration':>12s} {'recursion':>10s} {'ratio':>8s}")
    for T in (6, 8, 10, 30, 100):
        mdp, pol, th = random_problem(T)
        m = pgmath.count_trajectories(mdp, pol, th)
        t_rec = best_time(lambda: pc.check_unbiased(reward_to_go, mdp, pol, th,
                                                    method="recursion"), repeat=3)
        if pgmath.count_trajectories(mdp, pol, th) * pol.n_params <= pc.MAX_ENUMERATION:
            t_enu = best_time(lambda: pc.check_unbiased(reward_to_go, mdp, pol, th,
                                                        method="enumeration"), repeat=1)
            print(f"{T:4d} {m:14.3g} {t_enu:11.4f}s {t_rec:9.4f}s {t_enu / t_rec:8.1f}")
        else:
            print(f"{T:4d} {m:14.3g} {'impossible':>12s} {t_rec:9.4f}s {'-':>8s}")


def part2() -> None:
    print("\nPart 2: N for δ = 0.1‖∇J‖∞, α = 1e-6, β = 1e-3 (reward_to_go)")
    print(f"{'problem':18s} {'Bernstein+rec':>13s} {'DKWM(±B_j)':>12s} {'DKWM(±B)':>10s} "
          f"{'emp-Bern(B)':>12s} {'ratio to DKWM(±B_j)':>20s}")
    for name, T in (("chain", 20), ("gridworld", 20), ("gridworld", 50)):
        mdp = environments.make(name).with_horizon(T)
        pol = environments.default_policy(mdp)
        th = np.random.default_rng(1).normal(size=pol.n_params)
        rm = recursion_moments(reward_to_go, mdp, pol, th)
        target = pgmath.exact.gradient(mdp, pol, th)
        delta = 0.1 * float(np.abs(target).max())
        n_b = pc.min_num_samples_for_bernstein_mean_test(
                rm.variance, np.maximum(rm.radius, rm.spread), delta,
                                       alpha=ALPHA, beta=BETA)
        B = pc.score_return_bound(mdp, pol, th)
        n_d = pc.min_num_samples_for_dkwm_mean_test(
                2 * B, delta, d=pol.n_params, alpha=ALPHA, beta=BETA)
        n_j = pc.min_num_samples_for_dkwm_mean_test(
                2 * float(rm.bound.max()), delta, d=pol.n_params, alpha=ALPHA,
                                  beta=BETA)
        n_e = pc.min_num_samples_for_empirical_bernstein_mean_test(
                B, delta, d=pol.n_params, alpha=ALPHA, beta=BETA)
        print(f"{name + f' (T={T})':18s} {n_b:13,d} {n_j:12.3g} {n_d:10.3g} {n_e:12.3g} "
              f"{n_b / n_j:20.2g}")


if __name__ == "__main__":
    part1()
    part2()
