"""Claims decided by pgmath.check's exact machinery (enumeration of trajectories and of
whole batches): PG-5 (causality) and PG-9 (the average-reward baseline)."""
from __future__ import annotations

import numpy as np

from ..check import exact_moments
from ..claims import Verdict, claim
from ..estimators import batch_coupled, step_scores
from ..exact import gradient
from ..mdp import TabularMDP
from ..policies import SoftmaxPolicy

__all__ = ["causality_sum", "past_rewards_sum", "batch_mean_baseline", "leave_one_out_baseline",
           "random_problem"]


def random_problem(seed: int, S: int = 2, A: int = 2, T: int = 3, discount: float = 1.0):
    """(mdp, policy, θ): dense random P, R ~ N(0, 1), start and θ from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.normal(size=(S, A)),
                     rng.dirichlet(np.ones(S)), horizon=T, discount=discount)
    return mdp, SoftmaxPolicy(S, A), rng.normal(size=S * A)


def _weighted_rewards(batch):
    return batch.rewards * batch.discount ** np.arange(batch.horizon)


def causality_sum(batch, policy, theta):
    """The notes' §4.3.1 term as written: Σ_t ψ_t Σ_{t'≤t} γ^{t'} r_{t'} (includes t' = t)."""
    past = np.cumsum(_weighted_rewards(batch), axis=1)
    return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), past)


def past_rewards_sum(batch, policy, theta):
    """The corrected term: Σ_t ψ_t Σ_{t'<t} γ^{t'} r_{t'} (strictly past rewards)."""
    w = _weighted_rewards(batch)
    return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), np.cumsum(w, axis=1) - w)


@batch_coupled
def batch_mean_baseline(batch, policy, theta):
    """§4.3.2 as written: (Σ_t ψ_t)(r(τ_i) − b), b = (1/N) Σ_j r(τ_j) over the batch."""
    R = batch.returns()
    return step_scores(batch, policy, theta).sum(axis=1) * (R - R.mean())[:, None]


@batch_coupled
def leave_one_out_baseline(batch, policy, theta):
    """The unbiased variant: b_i = (1/(N−1)) Σ_{j≠i} r(τ_j) (needs N ≥ 2)."""
    R = batch.returns()
    b = (R.sum() - R) / (R.size - 1)
    return step_scores(batch, policy, theta).sum(axis=1) * (R - b)[:, None]


@claim("PG-5")
def _pg5() -> Verdict:
    worst_notes, worst_fixed = 0.0, 0.0
    for seed in range(5):
        mdp, pol, th = random_problem(seed)
        worst_notes = max(worst_notes, float(np.abs(
            exact_moments(causality_sum, mdp, pol, th).mean).max()))
        worst_fixed = max(worst_fixed, float(np.abs(
            exact_moments(past_rewards_sum, mdp, pol, th).mean).max()))
    verdict = "false as written" if worst_notes > 1e-3 and worst_fixed < 1e-12 else "undecided"
    return Verdict(
        verdict, check="tests/test_check.py::test_pg5_causality_needs_strictly_past_rewards",
        evidence=(f"Exact expectation by enumeration on 5 seeded random MDPs (S=2, A=2, T=3): "
                  f"max |E[Σ_t ψ_t Σ_{{t'≤t}} r_t']| = {worst_notes:.3g}, while with t' < t it is "
                  f"{worst_fixed:.1e} (rounding)."),
        correction=("E[Σ_t ∇log π_θ(a_t|s_t) Σ_{t'<t} r_t'] = 0: only strictly past rewards "
                    "drop out; the current reward r_t does not (E[ψ_t r_t] ≠ 0 in general)."),
        counterexample=("A one-state bandit with T = 1, rewards (0, 1), uniform policy: "
                        "E[ψ_0 r_0] = ∇J = (−1/4, 1/4) ≠ 0."))


@claim("PG-9")
def _pg9() -> Verdict:
    worst_scale, worst_loo, worst_bias = 0.0, 0.0, 0.0
    for seed in range(3):
        mdp, pol, th = random_problem(seed, T=1)
        grad = gradient(mdp, pol, th)
        for n in (2, 3):
            m = exact_moments(batch_mean_baseline, mdp, pol, th, batch_size=n, target=grad).mean
            loo = exact_moments(leave_one_out_baseline, mdp, pol, th, batch_size=n,
                                target=grad).mean
            worst_scale = max(worst_scale, float(np.abs(m - (1 - 1 / n) * grad).max()))
            worst_loo = max(worst_loo, float(np.abs(loo - grad).max()))
            worst_bias = max(worst_bias, float(np.abs(m - grad).max()))
    ok = worst_scale < 1e-12 and worst_loo < 1e-12 and worst_bias > 1e-3
    return Verdict(
        "false as written" if ok else "undecided",
        check="tests/test_check.py::test_pg9_batch_mean_baseline_shrinks_the_gradient",
        evidence=(f"Exact mean over all M^N ordered batches of N trajectories (N = 2, 3; 3 seeded random MDPs): "
                  f"E[ĝ] − (1 − 1/N)∇J ≤ {worst_scale:.1e}, bias |E ĝ − ∇J| up to "
                  f"{worst_bias:.3g}; the leave-one-out baseline is exact to {worst_loo:.1e}."),
        correction=("With b = (1/N) Σ_j r(τ_j) including τ_i itself, E[ĝ] = (1 − 1/N) ∇J(θ): "
                    "biased (a shrunk gradient, same direction). The leave-one-out baseline "
                    "b_i = (1/(N−1)) Σ_{j≠i} r(τ_j) is unbiased."),
        counterexample=("N = 2 on a one-state bandit with rewards (0, 1), uniform policy: "
                        "E[ĝ] = ∇J/2 = (−1/8, 1/8), not (−1/4, 1/4)."))
