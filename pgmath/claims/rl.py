"""Reinforcement learning (notes §3.1–3.5): claims RL-1..RL-13.

Each check recomputes its verdict with the exact engine on a few seeded random MDPs (or a
named counterexample) in well under a second.

Named counterexamples:

* :func:`rl7_finite_horizon_counterexample`: a stationary policy on a finite horizon where
  Q₀^π(s, a) > V₀^π(s) at the start, yet raising π(a|s) lowers J (the advantage at s is
  time-dependent and negative at t = 1, where s carries more visitation).
* :func:`rl7_better_action_counterexample`: a bandit where raising π(a) for an action
  with Q > V, taking the mass from an even better action, lowers J.
"""
from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np

from ..exact import (advantages, average_reward, discounted_state_visitation, gradient,
                     greedy_policy, objective, optimal_objective, optimal_policy, q_values,
                     state_action_marginals, state_action_transition, state_marginals,
                     stationary_distribution, values)
from ..exact.objective import objective_from_table
from ..environments import random_mdp
from ..mdp import TabularMDP
from ..policies import SoftmaxPolicy
from ..trajectories import enumerate_trajectories
from . import Verdict, claim, figure, save_figure
from .pg_onpolicy import reinforce_mean_gap

__all__ = ["mix_toward", "rl7_finite_horizon_counterexample",
           "rl7_better_action_counterexample", "actor_critic_direction", "tsitsiklis_van_roy",
           "fitted_value_iteration", "rl10_models", "off_policy_gradients"]

_TOL = 1e-12


def mix_toward(pi: np.ndarray, s: int, a: int, lam: float) -> np.ndarray:
    """π' = π except π'(·|s) = (1 − λ) π(·|s) + λ 1[· = a]: raises π(a|s), takes the mass
    from the other actions in proportion (the direction of the softmax logit θ[s, a])."""
    out = np.array(pi, dtype=float, copy=True)
    out[s] = (1 - lam) * out[s] + lam * np.eye(out.shape[1])[a]
    return out


def rl7_finite_horizon_counterexample() -> tuple[TabularMDP, SoftmaxPolicy, np.ndarray, int, int]:
    """(mdp, policy, θ, s, a) with A₀^π(s, a) = 2.25 > 0 but ∂J/∂θ[s, a] = −1/8 < 0.

    Two states, two actions, T = 2, γ = 1, p0 = (0.1, 0.9), uniform policy (θ = 0).
    State 0: action 0 stays (r = 0); action 1 goes to state 1 (r = −1). State 1: every
    action returns to state 0 with r = 5. At t = 0, action 1 in state 0 buys the +5
    (A₀ = 2.25); at t = 1 (the last step) it only costs −1 (A₁ = −0.5), and state 0
    carries d₁(0) = 0.95 ≫ d₀(0) = 0.1 of visitation then.
    """
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = 1.0
    P[1, :, 0] = 1.0
    R = np.array([[0.0, -1.0], [5.0, 5.0]])
    mdp = TabularMDP(P, R, np.array([0.1, 0.9]), horizon=2, discount=1.0)
    return mdp, SoftmaxPolicy(2, 2), np.zeros(4), 0, 1


def rl7_better_action_counterexample() -> tuple[TabularMDP, np.ndarray, np.ndarray]:
    """(bandit with means (0, 2, 3), uniform π, π' raising π(1) with mass from action 2).

    Q(1) = 2 > V = 5/3, yet π' = (1/3, 2/3, 0) has J = 4/3 < 5/3.
    """
    mdp = TabularMDP(np.ones((1, 3, 1)), np.array([[0.0, 2.0, 3.0]]), np.ones(1), horizon=1)
    return mdp, np.full((1, 3), 1 / 3), np.array([[1 / 3, 2 / 3, 0.0]])


def _problems(seed: int, n: int = 5):
    """n seeded (mdp, policy, θ) triples: finite horizons and infinite discounted."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        S, A = int(rng.integers(2, 5)), int(rng.integers(2, 4))
        horizon, discount = ((int(rng.integers(1, 6)), 1.0) if i % 2 == 0 else (None, 0.9))
        mdp = random_mdp(rng, S, A, horizon, discount=discount)
        pol = SoftmaxPolicy(S, A)
        yield mdp, pol, rng.normal(size=pol.n_params) * 2


def actor_critic_direction(mdp, policy, theta) -> np.ndarray:
    """``[d]`` the actor-critic update of the notes' table, θ ← θ + α∇_θ E[Q(s_t, a_t)], with
    the exact critic Q^π_t and the on-policy weights γ^t d_t held fixed:
    ∇_θ' Σ_t γ^t Σ_s d_t(s) Σ_a π_θ'(a|s) Q_t(s, a) at θ' = θ (autograd of the surrogate)."""
    Q = q_values(mdp, policy, theta)
    if mdp.horizon is not None:
        w = (mdp.discount ** np.arange(mdp.horizon))[:, None] * state_marginals(mdp, policy, theta)
        W = np.einsum("ts,tsa->sa", w, Q)
    else:
        W = discounted_state_visitation(mdp, policy, theta)[:, None] * Q
    return np.asarray(autograd.grad(lambda th: anp.sum(W * policy.state_probs(mdp, th)))(theta))


def tsitsiklis_van_roy(discount: float = 0.9) -> tuple[TabularMDP, np.ndarray]:
    """(mdp, features ``[2, 1]``): Tsitsiklis & Van Roy (1997)'s divergence example.

    Two states, one action, s₀ → s₁ → s₁, zero reward (so V = 0); a single feature
    φ = (1, 2), V_w = φ w. Fitted value iteration with least squares on both states maps
    w ↦ argmin_w' Σ_s (φ(s) w' − γ V_w(s'))² = (6γ/5) w, which diverges for γ > 5/6.
    """
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 1] = 1.0
    mdp = TabularMDP(P, np.zeros((2, 1)), np.array([1.0, 0.0]), horizon=None, discount=discount)
    return mdp, np.array([[1.0], [2.0]])


def fitted_value_iteration(mdp, features: np.ndarray, w0: np.ndarray, n_iter: int) -> np.ndarray:
    """``[n_iter + 1, d]`` weights of fitted value iteration with linear V_w = Φ w:
    w_{k+1} = argmin_w ‖Φ w − max_a (r + γ P Φ w_k)‖² (least squares over all states)."""
    ws = [np.asarray(w0, dtype=float)]
    for _ in range(n_iter):
        target = np.max(mdp.r + mdp.discount * (mdp.P @ (features @ ws[-1])), axis=1)
        ws.append(np.linalg.lstsq(features, target, rcond=None)[0])
    return np.array(ws)


def rl10_models() -> tuple[TabularMDP, TabularMDP, TabularMDP]:
    """(true MDP, better-fitting model, worse-fitting model) for RL-10.

    State 0 chooses between two risky moves into a good absorbing state 1 (reward 1 per
    step) or a bad one, 2 (reward 0); horizon 3. True success probabilities (0.5, 0.6).
    Model A believes (0.5, 0.45): total-variation error 0.15 on one row. Model B believes
    (0.1, 0.9): errors 0.4 and 0.3. A fits better, but its optimal policy picks action 0
    (true J = 1.0) while B's picks action 1 (true J = 1.2).
    """
    def build(q0: float, q1: float) -> TabularMDP:
        P = np.zeros((3, 2, 3))
        P[0, 0] = [0.0, q0, 1 - q0]
        P[0, 1] = [0.0, q1, 1 - q1]
        P[1, :, 1] = P[2, :, 2] = 1.0
        R = np.zeros((3, 2))
        R[1] = 1.0
        return TabularMDP(P, R, np.eye(3)[0], horizon=3)
    return build(0.5, 0.6), build(0.5, 0.45), build(0.1, 0.9)


def off_policy_gradients(mdp, policy, theta, *, theta_behaviour):
    """(∇J(θ), Σ_τ p_θb(τ) ρ(τ) ∇log p_θ(τ) r(τ), Σ_τ p_θb(τ) ∇log p_θ(τ) r(τ)) by enumeration:
    the true gradient at θ, the importance-weighted estimator's mean from θ_b's samples, and
    the on-policy estimator's mean when θ_b's samples are reused without weights."""
    batch, p_b = enumerate_trajectories(mdp, policy, theta_behaviour)
    lp = np.asarray(policy.log_probs(theta))[batch.inputs, batch.actions]  # [M, T]
    rho = np.exp(lp.sum(axis=1) - batch.behaviour_log_probs.sum(axis=1))
    score = np.asarray(policy.score(theta))[batch.inputs, batch.actions].sum(axis=1)  # [M, d]
    ret = batch.returns()
    return (gradient(mdp, policy, theta), (p_b * rho * ret) @ score, (p_b * ret) @ score)



@claim("RL-1", section="3.1", title="The trajectory distribution is a product",
       statement="p_θ(τ) = p(s₁) Π_t π_θ(a_t|s_t) p(s_{t+1}|s_t, a_t).",
       quote=r"""
       $$p_\theta(\tau) := p_\theta(s_1, a_1, \dots, s_T, a_T) = p(s_1) \prod_{t=1}^T
       \pi_\theta(a_t|s_t) p(s_{t+1}|s_t, a_t)$$
       """, proofs=("pg01_score_function",))
def _rl1() -> Verdict:
    worst = 0.0
    for mdp, pol, th in _problems(1):
        mdp = mdp.with_horizon(3)
        batch, prob = enumerate_trajectories(mdp, pol, th)
        pi = np.asarray(pol.probs(th))
        s, a = batch.states, batch.actions
        prod = mdp.p0[s[:, 0]] * np.prod(pi[s, a], axis=1) * np.prod(
            mdp.P[s[:, :-1], a[:, :-1], s[:, 1:]], axis=1)
        worst = max(worst, float(np.abs(prod - prob).max()), abs(prob.sum() - 1.0))
    return Verdict(
        "holds" if worst < _TOL else "undecided",
        evidence=(r"The probabilities of every trajectory, enumerated by pgmath's own recursion on "
                  rf"5 seeded MDPs ($T = 3$), equal the product formula and sum to 1 (to {_TOL:g}); "
                  r"the last factor $p(s_{T+1}|s_T, a_T)$ sums out. SymPy checks the "
                  r"normalisation on a symbolic MDP."))


@claim("RL-2", section="3.1", title="The objective as a sum over state-action marginals",
       statement="The objective equals Σ_t E_{(s_t,a_t)∼p_θ(s_t,a_t)}[r(s_t, a_t)]; (s_t, a_t) is "
                 "a Markov chain with transition p(s_{t+1}|s_t, a_t) π_θ(a_{t+1}|s_{t+1}).",
       quote=r"""
       $$\theta^* = \arg \max_{\theta} \sum_{t=1}^T \mathbb{E}_{(s_t, a_t) \sim p_\theta(s_t,
       a_t)} [r(s_t, a_t)]$$ […] Our "new" MC now has the transition probability
       $p((s_{t+1}, a_{t+1})|(s_t, a_t)) = p(s_{t+1}|s_t, a_t) \pi_\theta(a_{t+1}|s_{t+1})$ .
       """, proofs=("rl05_value_functions",))
def _rl2() -> Verdict:
    worst = 0.0
    for mdp, pol, th in _problems(2):
        mdp = mdp.with_horizon(mdp.horizon or 6)
        M = state_action_transition(mdp, pol, th)
        m = (mdp.p0[:, None] * np.asarray(pol.probs(th))).ravel()
        marg = state_action_marginals(mdp, pol, th)
        J = 0.0
        for t in range(mdp.horizon):
            worst = max(worst, float(np.abs(m - marg[t].ravel()).max()))
            J += mdp.discount ** t * m @ mdp.r.ravel()
            m = m @ M
        worst = max(worst, abs(J - objective(mdp, pol, th)))
    return Verdict(
        "holds" if worst < _TOL else "undecided",
        evidence=(r"Propagating the $(s, a)$ chain $M[(s,a),(s',a')] = p(s'|s,a)\,\pi(a'|s')$ from "
                  r"$p(s_1)\pi(a_1|s_1)$ reproduces the marginals and $\sum_t \mathbb{E}[r_t] = J$ "
                  rf"on 5 seeded MDPs (to {_TOL:g})."))


@claim("RL-3", section="3.1", title="Ergodic chains: the stationary distribution and the average reward",
       statement="In the infinite-horizon case, if ergodic, p(s_t, a_t) converges to a stationary "
                 "distribution μ = 𝒯μ (eigenvector of 𝒯 with eigenvalue 1), and the average-reward "
                 "objective (1/T) Σ_t E[r] → E_{(s,a)∼μ}[r(s, a)].",
       quote=r"""
       In the infinite horizon case (i.e. when $T = \infty$ ), $p(s_t, a_t)$ converges to a
       stationary distribution if it is ergodic. If so, then the stationary distribution $\mu$
       satisfies $\mu = \mathcal{T}\mu$ , so $\mu := p_\theta(s, a)$ is the eigenvector of
       $\mathcal{T}$ with eigenvalue 1. […] $$\theta^* = \arg \max_{\theta} \frac{1}{T}
       \sum_{t=1}^T \mathbb{E}_{(s_t, a_t) \sim p_\theta(s_t, a_t)} [r(s_t, a_t)] \rightarrow
       \mathbb{E}_{(s, a) \sim p_\theta(s, a)} [r(s, a)]$$
       """, proofs=("rl03_stationary_distribution",))
def _rl3() -> Verdict:
    rng = np.random.default_rng(3)
    worst, conv = 0.0, 0.0
    for _ in range(4):
        mdp = random_mdp(rng, 4, 2, None, discount=1.0)
        pol = SoftmaxPolicy(4, 2)
        th = rng.normal(size=8)
        pi = np.asarray(pol.probs(th))
        P_pi = np.einsum("sa,sat->st", pi, mdp.P)
        w, v = np.linalg.eig(P_pi.T)
        mu_eig = np.real(v[:, np.argmin(np.abs(w - 1))])
        mu_eig /= mu_eig.sum()
        mu = stationary_distribution(mdp, pol, th)
        rho = average_reward(mdp, pol, th)
        J = objective(mdp.with_horizon(2000), pol, th)
        # Cesàro bound: |J_T − Tρ| ≤ 4 ‖Z r_π‖_∞ with Z = (I − P_π + 1μ)⁻¹
        Z = np.linalg.inv(np.eye(4) - P_pi + np.outer(np.ones(4), mu_eig))
        excess = abs(J - 2000 * rho) - 4 * np.abs(Z @ np.sum(pi * mdp.r, axis=1)).max()
        worst = max(worst, float(np.abs(mu - mu_eig).max()), excess)
        d = state_marginals(mdp, pol, th, n_steps=200)[-1]
        conv = max(conv, float(np.abs(d - mu).sum()))
    return Verdict(
        "holds" if worst < 1e-8 and conv < 1e-8 else "undecided",
        evidence=(r"Ergodic (irreducible and aperiodic) chains on 4 seeded random MDPs: $\mu$ from the "
                  r"engine is the eigenvalue-1 eigenvector of the transition operator, $p(s_t)$ is "
                  r"within $10^{-8}$ of it by $t = 200$, and $\rho = \mathbb{E}_\mu[r] = "
                  r"\lim J_T/T$; SymPy derives all three for a two-state chain. "
                  r"$\mu = \mathcal{T}\mu$ reads $\mathcal{T}$ as the operator acting on "
                  r"distributions (the transpose of the row-stochastic matrix); without "
                  r"aperiodicity (not ergodic) $p(s_t)$ can oscillate, e.g. the flip chain "
                  r"$0 \rightleftarrows 1$, and only the average converges."))


@claim("RL-4", section="3.1", title="The expected reward is smooth in θ",
       statement='"we care about expectations over the reward accrued because it is smooth in θ".',
       quote=r"""
       Also note that we care about expectations over the reward accrued because it is smooth
       in $\theta$ .
       """)
def _rl4() -> Verdict:
    rng = np.random.default_rng(4)
    worst = 0.0
    for _ in range(3):
        m = random_mdp(rng, 3, 2, 4)
        R = (m.R > 0.5).astype(float)  # an indicator reward: not smooth in anything
        mdp = TabularMDP(m.P, R, m.p0, horizon=4)
        pol = SoftmaxPolicy(3, 2)
        th = rng.normal(size=6)
        H = autograd.hessian(lambda x: objective_from_table(mdp, pol.state_probs(mdp, x)))(th)
        h = 1e-5
        fd = np.stack([(gradient(mdp, pol, th + h * e) - gradient(mdp, pol, th - h * e)) / (2 * h)
                       for e in np.eye(6)])
        worst = max(worst, float(np.abs(H - fd).max()))
    return Verdict(
        "holds" if worst < 1e-6 else "undecided",
        evidence=(r"With 0/1 indicator rewards on 3 seeded MDPs the autograd Hessian of $J(\theta)$ "
                  r"equals central differences of the exact gradient (to $10^{-6}$): for a "
                  r"stochastic policy smooth in $\theta$, as the notes' $\pi_\theta$ is "
                  r"throughout (softmax here), $J$ is a polynomial (finite horizon) or rational "
                  r"function (discounted) of $\pi_\theta$. A deterministic argmax policy would "
                  r"make $J$ piecewise constant: the smoothness comes from the expectation over "
                  r"the policy's randomness, which is the notes' point."))


@claim("RL-5", section="3.3", title="The objective is the expected start value; V is the mean of Q",
       statement="The nested-expectation form of the objective; Q^π and V^π as defined; "
                 "E_{s₁∼p(s₁)}[V^π(s₁)] is the RL objective; V^π(s_t) = E_{a_t∼π}[Q^π(s_t, a_t)].",
       quote=r"""
       $$V^\pi(s_t) := \sum_{t'=t}^T \mathbb{E}_{\pi_\theta} [r(s_{t'}, a_{t'}) | s_t] =
       \mathbb{E}_{a_t \sim \pi(a_t | s_t)} [Q^\pi(s_t, a_t)]$$ Note that $\mathbb{E}_{s_1 \sim
       p(s_1)} [V^\pi(s_1)]$ is the RL objective.
       """, proofs=("rl05_value_functions",))
def _rl5() -> Verdict:
    worst = 0.0
    for mdp, pol, th in _problems(5):
        V, Q = values(mdp, pol, th), q_values(mdp, pol, th)
        pi = np.asarray(pol.probs(th))
        V0 = V[0] if V.ndim == 2 else V
        worst = max(worst, abs(objective(mdp, pol, th) - mdp.p0 @ V0),
                    float(np.abs(V - np.sum(pi * Q, axis=-1)).max()))
    return Verdict(
        "holds" if worst < 1e-10 else "undecided",
        evidence=(r"$J$ forward through the marginals equals $p(s_1)\cdot V(s_1)$ from the backward "
                  r"recursion, and $V = \mathbb{E}_\pi[Q]$, on 5 seeded MDPs, finite-horizon and "
                  r"discounted (to $10^{-10}$); SymPy verifies the nested form."))


def _rl6_rl7_setting() -> str:
    return (r"Both RL-6 and RL-7 are read in the setting where the notes' $Q^\pi(s,a)$, written "
            r"without a time index, is one function: an infinite discounted horizon with a "
            r"stationary policy, or a finite horizon with a time-indexed policy and $Q^\pi_t$.")


@claim("RL-6", section="3.3", title="The greedy policy is at least as good",
       statement='"Set π\'(a|s) = 1 if a = argmax_a Q^π(s, a). This is at least as good as π."',
       quote=r"""
       1. Set $\pi'(a|s) = 1$ if $a = \arg \max_a Q^\pi(s, a)$ . This is at least as good as
       $\pi$ .
       """)
def _rl6() -> Verdict:
    worst = np.inf
    for mdp, pol, th in _problems(6, 8):
        g = greedy_policy(mdp, pol, th)
        worst = min(worst, float(np.min(values(mdp, g) - values(mdp, pol, th))))
    mdp, pol, th, _, _ = rl7_finite_horizon_counterexample()
    stat = np.eye(2)[q_values(mdp, pol, th)[0].argmax(1)]
    J, J_stat = objective(mdp, pol, th), objective(mdp, stat)
    return Verdict(
        "holds" if worst >= -1e-10 else "undecided",
        evidence=(r"$V^{\pi'} - V^\pi \ge 0$ in every state (and at every $t$) on 8 seeded MDPs, "
                  r"finite-horizon and discounted: the policy improvement theorem. "
                  + _rl6_rl7_setting() + r" With a finite horizon the greedy policy is "
                  r"time-indexed; a stationary policy greedy for $Q^\pi_1$ alone can be worse "
                  rf"(RL-7's two-step MDP: $J = {J_stat:.3f} < {J:.3f}$)."))


@claim("RL-7", section="3.3", title="Raising the probability of better-than-average actions",
       statement='"If Q^π(s, a) > V^π(s), then a is better than average. Modify π(a|s) to '
                 'increase probability of a" — as an idea for improving π.',
       quote=r"""
       2. If $Q^\pi(s, a) > V^\pi(s)$ , then $a$ is better than average. Modify $\pi(a|s)$ to
       increase probability of $a$ if $Q^\pi(s, a) > V^\pi(s)$ .
       """)
def _rl7() -> Verdict:
    rng = np.random.default_rng(7)
    worst_mix, worst_grad, n = np.inf, np.inf, 0
    for _ in range(6):
        mdp = random_mdp(rng, 3, 3, None, discount=0.9)
        pol = SoftmaxPolicy(3, 3)
        th = rng.normal(size=9)
        A = advantages(mdp, pol, th)
        pi = np.asarray(pol.probs(th))
        g = gradient(mdp, pol, th).reshape(3, 3)
        for s, a in zip(*np.nonzero(A > 1e-9)):
            n += 1
            worst_grad = min(worst_grad, float(g[s, a]))
            for lam in (0.1, 0.5, 1.0):
                worst_mix = min(worst_mix, objective(mdp, mix_toward(pi, s, a, lam))
                                - objective(mdp, pi))
    bandit, pi_b, pi_b2 = rl7_better_action_counterexample()
    J0, J1 = objective(bandit, pi_b), objective(bandit, pi_b2)
    ok = worst_mix > 0 and worst_grad > 0 and J1 < J0
    return Verdict(
        "holds under conditions" if ok else "undecided",
        conditions=(r"the probability given to $a$ must come from the other actions in "
                    r"proportion (moving $\pi(\cdot|s)$ toward $a$, or up the softmax logit of "
                    r"$a$); taken from an action that is better still, it can lower $J$."),
        counterexample=(r"a bandit with means $(0, 2, 3)$ and uniform $\pi$: $Q(2) = 2 > V = 5/3$, "
                        r"but raising $\pi(2)$ to $2/3$ by taking all of $\pi(3)$ gives "
                        rf"$J = {J1:.4g} < {J0:.4g}$."),
        evidence=(rf"On 6 seeded discounted MDPs, for all {n} pairs with $Q^\pi(s,a) > V^\pi(s)$: "
                  r"$\partial J/\partial\theta[s,a] = \rho^\pi(s)\pi(a|s)A^\pi(s,a) > 0$, and "
                  r"moving a fraction $\lambda \in \{0.1, 0.5, 1\}$ of $\pi(\cdot|s)$ onto $a$ "
                  r"raises $J$ by $\lambda\rho^{\pi'}(s)A^\pi(s,a) > 0$ (performance-difference "
                  r"lemma). " + _rl6_rl7_setting() + r" With a finite horizon and a stationary "
                  r"policy the sign of $A^\pi_t(s,a)$ can change with $t$ (the two-step MDP of "
                  r"`rl7_finite_horizon_counterexample`)."))


@claim("RL-8", section="3.5.2", title="Only policy gradient ascends the true objective",
       statement='Of value-function fitting, model-based RL and policy gradient, "Policy '
                 'gradient: The only one that actually performs gradient descent (or ascent) on '
                 'the true objective."',
       quote=r"""
       Policy gradient: The only one that actually performs gradient descent (or ascent) on
       the true objective.
       """)
def _rl8() -> Verdict:
    gap = reinforce_mean_gap()
    mdp, phi = tsitsiklis_van_roy(0.9)
    ws = fitted_value_iteration(mdp, phi, np.array([1.0]), 60)
    true, a, b = rl10_models()
    fit = [float(np.abs(m.P - true.P).sum()) for m in (a, b)]
    J = [objective(true, optimal_policy(m)) for m in (a, b)]
    worst = 0.0
    for mdp_, pol, th in _problems(8):
        worst = max(worst, float(np.abs(actor_critic_direction(mdp_, pol, th)
                                        - gradient(mdp_, pol, th, method="autograd")).max()))
    ok = gap < 1e-10 and abs(ws[-1, 0]) > 50 and fit[0] < fit[1] and J[0] < J[1] and worst < 1e-9
    return Verdict(
        "holds" if ok else "undecided",
        evidence=(r"Among the three families the notes list: policy gradient's expected update is "
                  rf"$\nabla J$ (REINFORCE's exact mean, to $10^{{-10}}$); fitted value iteration "
                  r"minimises a Bellman fit and diverges on Tsitsiklis–Van Roy's example although "
                  r"$V = 0$ (RL-9); model fitting can prefer a model whose optimal policy is "
                  rf"worse ($J = {J[0]:.2f}$ against {J[1]:.2f}, RL-10). An actor-critic with an "
                  r"exact critic also ascends $J$ (its update equals $\nabla J$ to $10^{-9}$, "
                  r"RL-13), but it is a policy gradient with a learned $Q$, not one of the three."))


@claim("RL-9", section="3.5.2", title="Value-function fitting need not converge",
       statement='"Value function fitting: At best, Bellman error … is minimized. At worst, '
                 'nothing is optimized (many not guaranteed to converge to anything in nonlinear '
                 'case)".',
       quote=r"""
       Value function fitting: At best, Bellman error (i.e. error of fit) is minimized. At
       worst, nothing is optimized (many not guaranteed to converge to anything in nonlinear
       case)
       """)
def _rl9() -> Verdict:
    mdp, phi = tsitsiklis_van_roy(0.9)
    ws = fitted_value_iteration(mdp, phi, np.array([1.0]), 60)
    grows = abs(ws[-1, 0]) > 50 and np.allclose(ws[1:, 0] / ws[:-1, 0], 6 * 0.9 / 5)
    return Verdict(
        "holds" if grows else "undecided",
        evidence=(r"Tsitsiklis–Van Roy: the true $V$ is 0, yet fitted value iteration with the "
                  r"linear feature $\phi = (1, 2)$ multiplies $w$ by $6\gamma/5 = 1.08$ at every "
                  rf"iteration ($\gamma = 0.9$): $w_{{60}} = {ws[-1, 0]:.3g}$ from $w_0 = 1$. Each "
                  r"iteration minimises a fit to a Bellman target, and the iteration need not "
                  r"converge (even with linear features)."))


@claim("RL-10", section="3.5.2", title="A better model need not give a better policy",
       statement='"Model-based RL: Model minimizes error of fit. But no guarantee better model = '
                 'better policy."',
       quote=r"""
       Model-based RL: Model minimizes error of fit. But no guarantee better model = better
       policy.
       """)
def _rl10() -> Verdict:
    true, a, b = rl10_models()
    fit = [float(np.abs(m.P - true.P).sum()) for m in (a, b)]
    J = [objective(true, optimal_policy(m)) for m in (a, b)]
    return Verdict(
        "holds" if fit[0] < fit[1] and J[0] < J[1] else "undecided",
        evidence=(rf"Model A fits the transitions better ($\sum|\hat P - P| = {fit[0]:.2f}$ "
                  rf"against {fit[1]:.2f}) but its optimal policy earns $J = {J[0]:.2f}$ in the "
                  rf"true MDP against {J[1]:.2f} for model B's: what matters is the error where it "
                  r"changes the decision."))


@claim("RL-11", section="3.5.1", title="Off-policy and on-policy, defined",
       statement="Off-policy: able to improve the policy without generating new samples from it; "
                 "on-policy: new samples are needed each time the policy changes.",
       quote=r"""
       Off-policy means being able to improve the policy without generating new samples from
       the policy. On-policy means that each time the policy is changed, even a little bit, we
       need to generate new samples.
       """)
def _rl11() -> Verdict:
    rng = np.random.default_rng(11)
    mdp = random_mdp(rng, 2, 2, 3)
    pol = SoftmaxPolicy(2, 2)
    th_b, th = rng.normal(size=4), rng.normal(size=4)
    g, g_is, g_reuse = off_policy_gradients(mdp, pol, th, theta_behaviour=th_b)
    ok = np.abs(g - g_is).max() < _TOL and np.abs(g - g_reuse).max() > 1e-3
    return Verdict(
        "holds" if ok else "undecided",
        evidence=(r"These are definitions, and the estimators match them: by enumeration on a "
                  r"seeded MDP, samples of $\theta_b$ reweighted by $p_\theta(\tau)/p_{\theta_b}"
                  rf"(\tau)$ give $\nabla J(\theta)$ exactly (to {_TOL:g}; an off-policy "
                  r"update, at a variance exponential in $T$, PG-14), while the on-policy "
                  r"estimator on the stale samples is off by "
                  rf"{np.abs(g - g_reuse).max():.3f}."))


@claim("RL-12", section="3.4", title="Value-based methods act greedily on a fitted Q",
       statement='Value-based methods: "fit V(s) or Q(s, a)", then "set π(s) = argmax_a Q(s, a)".',
       quote=r"""
       Value-based estimate value function or Q-function of the optimal policy (no explicit
       policy) fit $V(s)$ or $Q(s, a)$ set $\pi(s) = \arg \max_a Q(s, a)$
       """)
def _rl12() -> Verdict:
    worst = 0.0
    for mdp, _, _ in _problems(12, 6):
        worst = max(worst, abs(optimal_objective(mdp) - objective(mdp, optimal_policy(mdp))))
    return Verdict(
        "holds" if worst < 1e-10 else "undecided",
        evidence=(r"With the optimal policy's $Q^*$ (the notes' table: the value of the optimal "
                  r"policy), $\pi(s) = \arg\max_a Q^*(s,a)$ (time-indexed for a finite horizon) "
                  r"attains $J^*$ on 6 seeded MDPs, finite-horizon and discounted (to "
                  r"$10^{-10}$). Fitting $V$ alone needs the model for the argmax: "
                  r"$Q(s,a) = r(s,a) + \gamma\,\mathbb{E}_{s'}[V(s')]$."))


@claim("RL-13", section="3.4", title="Actor-critic ascends E[Q] of the current policy",
       statement='Actor-critic: estimate the value function or Q-function of the current policy '
                 'and improve it by "θ ← θ + α∇_θ E[Q(s_t, a_t)]".',
       quote=r"""
       Actor-critic estimate value function or Q-function of the current policy, use it to
       improve policy fit $V(s)$ or $Q(s, a)$ $\theta \leftarrow \theta + \alpha \nabla_\theta
       \mathbb{E}[Q(s_t, a_t)]$
       """)
def _rl13() -> Verdict:
    worst = 0.0
    for mdp, pol, th in _problems(13):
        worst = max(worst, float(np.abs(actor_critic_direction(mdp, pol, th)
                                        - gradient(mdp, pol, th, method="autograd")).max()))
    return Verdict(
        "holds" if worst < 1e-9 else "undecided",
        evidence=(r"With the exact critic $Q^\pi_t$ and the expectation over $s_t$ from the "
                  r"current policy's visitation $\gamma^t d_t$ (held fixed) and $a_t \sim "
                  r"\pi_\theta$, $\nabla_\theta \sum_t \gamma^t\,\mathbb{E}_{d_t}[\sum_a "
                  r"\pi_\theta(a|s)Q^\pi_t(s,a)]$ equals $\nabla J$ by autograd on 5 seeded MDPs, "
                  r"finite-horizon and discounted (to $10^{-9}$): the policy-gradient theorem. "
                  r"With a fitted critic the update inherits the critic's error."))


# -- figures ------------------------------------------------------------------------------------


@figure("rl9_divergence", title="RL-9: fitted value iteration with linear features diverges")
def _rl9_figure(outdir):
    """|w_k| of fitted value iteration on Tsitsiklis–Van Roy's example for several γ."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for g in (0.7, 5 / 6, 0.9, 0.99):
        mdp, phi = tsitsiklis_van_roy(g)
        ws = fitted_value_iteration(mdp, phi, np.array([1.0]), 40)[:, 0]
        ax.semilogy(np.abs(ws), label=f"γ = {g:.3g}")
    ax.set(xlabel="iteration k", ylabel="|w_k| (true V = 0)")
    ax.legend()
    fig.tight_layout()
    return [save_figure(fig, outdir / "rl9_divergence.png", dpi=120)]
