"""Sample sizes: pgmath's Bernstein design against TensorFlow Probability's DKWM design,
and the N at which each planted bug is caught with probability ≥ 0.999.

Part 1 (efficiency). For an estimator g on a problem, a detectable bias δ (∞-norm, here
10% of ‖∇J‖∞), false-failure rate α = 1e-6 and false-pass rate β = 1e-3, compare
* pgmath's N: Bernstein with the exact variance and range (enumeration), union bound
  over the d coordinates (:func:`pgmath.check.min_num_samples_for_bernstein_mean_test`);
* the DKWM design of TFP's ``statistical_testing`` (``min_num_samples_for_dkwm_mean_test``,
  envelope √(ln(2/rate)/(2N)) on a bounded range, itemwise rate α/d): given (a) the
  exact range [min_τ g_j, max_τ g_j] (the most favourable range it could be told),
  (b) the a-priori range [−B, B], B = T max|ψ| Σ γ^t max|r| (plus the baseline's share
  for the state baseline), which a user without enumeration could know;
* pgmath's empirical-Bernstein design knowing only B (the black-box route).
The ratio pgmath / DKWM(a) is the figure to read (target ≤ 0.1).

Part 2 (power). For each planted bug of tests/test_check.py: the exact bias and variance
(enumeration), the N at which the Bernstein test at α = 1e-6 catches it with probability
≥ 0.999 (:func:`pgmath.check.min_num_samples_for_bernstein_power`, a non-asymptotic bound), the DKWM N for
the same bias, and for a few bugs the empirical catch rate over independent runs at that N.

Run:  PYTHONPATH=. python bench/bench_dkwm.py
"""
import pathlib
import sys
import time

import numpy as np

import pgmath
from pgmath import check as pc
from pgmath import environments
from pgmath.estimators import reinforce, reward_to_go

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from test_check import PLANTED, planted_case, problem, state_baseline  # noqa: E402

ALPHA, BETA = 1e-6, 1e-3


def problems():
    rows = [("random S=2 A=2 T=3", *problem(0))]
    rows.append(("random S=3 A=2 T=4", *problem(1, S=3, T=4)))
    for name, T in [("chain", 6), ("tightrope", 6), ("gridworld", 2)]:
        mdp = environments.make(name).with_horizon(T)
        pol = environments.default_policy(mdp)
        rows.append((f"{name} T={T}", mdp, pol, np.random.default_rng(2).normal(size=pol.n_params)))
    return rows


def efficiency() -> list[float]:
    print("Part 1: N for ‖bias‖∞ ≥ δ = 0.1 ‖∇J‖∞, α = 1e-6, β = 1e-3")
    print(f"{'problem':22s} {'estimator':14s} {'d':>4s} {'N pgmath':>10s} {'N DKWM(range)':>14s}"
          f" {'ratio':>7s} {'N DKWM(±B)':>13s} {'ratio':>7s} {'N emp-Bern(B)':>14s}")
    ratios, ratios_b = [], []
    for pname, mdp, pol, th in problems():
        grad = pgmath.exact.gradient(mdp, pol, th)
        delta = 0.1 * float(np.abs(grad).max())
        batch, prob = pgmath.enumerate_trajectories(mdp, pol, th)
        B = pc.score_return_bound(mdp, pol, th)
        for est in (reinforce, reward_to_go, state_baseline):
            mom = pc.exact_moments(est, mdp, pol, th, target=grad)
            n_ours = pc.min_num_samples_for_bernstein_mean_test(
                    np.diag(mom.cov), np.maximum(mom.radius, mom.spread),
                                              delta, alpha=ALPHA, beta=BETA)
            g = est(batch, pol, th)
            width = float((g.max(axis=0) - g.min(axis=0)).max())
            d = pol.n_params
            n_dkwm = pc.min_num_samples_for_dkwm_mean_test(
                    width, delta, d=d, alpha=ALPHA, beta=BETA)
            Bg = B
            if est is state_baseline:
                # |Σ_t ψ_t γ^t b(s_t)| ≤ max|ψ| (S − 1/2) Σ_t γ^t with b(s) = s + 1/2
                Bg = B + float(np.abs(pol.score(th)).max()) * (mdp.n_states - 0.5) * float(
                    np.sum(mdp.discount ** np.arange(mdp.horizon)))
            assert np.abs(g).max() <= Bg * (1 + 1e-12)
            n_dkwm_b = pc.min_num_samples_for_dkwm_mean_test(
                    2 * Bg, delta, d=d, alpha=ALPHA, beta=BETA)
            n_eb = pc.min_num_samples_for_empirical_bernstein_mean_test(
                    Bg, delta, d=d, alpha=ALPHA, beta=BETA)
            ratios.append(n_ours / n_dkwm)
            ratios_b.append(n_ours / n_dkwm_b)
            print(f"{pname:22s} {est.__name__:14s} {d:4d} {n_ours:10,d} {n_dkwm:14,d}"
                  f" {n_ours / n_dkwm:7.3f} {n_dkwm_b:13,d} {n_ours / n_dkwm_b:7.4f} {n_eb:14,d}")
    for label, r in [("exact range", ratios), ("a-priori range ±B", ratios_b)]:
        print(f"ratio N pgmath / N DKWM ({label}): median {np.median(r):.3f}, "
              f"max {np.max(r):.3f}, min {np.min(r):.4f}, ≤ 0.1 in {np.sum(np.array(r) <= 0.1)}"
              f"/{len(r)}")
    return ratios


def power(verify_runs: int = 200) -> None:
    print(f"\nPart 2: planted bugs, N caught w.p. ≥ 0.999 by Bernstein at α = {ALPHA:g}")
    print(f"{'bug':32s} {'‖bias‖∞':>9s} {'N(0.999)':>9s} {'N DKWM':>10s} {'caught':>12s}")
    for name in PLANTED:
        est, mdp, pol, th, kw = planted_case(name)
        grad = pgmath.exact.gradient(mdp, pol, th)
        b = kw.get("batch_size", 1)
        mom = pc.exact_moments(est, mdp, pol, th, theta_behaviour=kw.get("theta_behaviour"),
                               target=grad, batch_size=b)
        bias = mom.mean - grad
        n = pc.min_num_samples_for_bernstein_power(bias, np.diag(mom.cov), mom.radius, mom.spread,
                                 alpha=ALPHA, power=0.999)
        j = int(np.argmax(np.abs(bias)))
        # DKWM at the same false-pass rate and the bias of the most biased coordinate,
        # told the exact range of the estimates
        width = float(2 * np.max(np.maximum(mom.radius, mom.spread)))
        n_dkwm = pc.min_num_samples_for_dkwm_mean_test(
                width, float(abs(bias[j])), d=pol.n_params, alpha=ALPHA, beta=BETA)
        caught = ""
        if verify_runs:
            hits = sum(not pgmath.check_unbiased(est, mdp, pol, th, method="bernstein", n=n,
                                                 alpha=ALPHA, rng=np.random.default_rng(s),
                                                 **kw).passed for s in range(verify_runs))
            caught = f"{hits}/{verify_runs}"
        unit = f" (batches of {b})" if b > 1 else ""
        print(f"{name:32s} {abs(bias[j]):9.4f} {n:9,d} {n_dkwm:10,d} {caught:>12s}{unit}")


if __name__ == "__main__":
    t0 = time.perf_counter()
    efficiency()
    power()
    print(f"\n({time.perf_counter() - t0:.1f}s)")
