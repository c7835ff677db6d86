"""Verdicts on the notes' reinforcement-learning claims RL-1..RL-7 (notes §3.1, §3.3).

Each check recomputes its verdict with the exact engine on a few seeded random MDPs
(or a named counterexample) in well under a second; the pytest node named in ``check``
decides the claim in the suite on Hypothesis-generated problems.

Named counterexamples (used by the tests too):

* :func:`rl7_finite_horizon_counterexample`: a stationary policy on a finite horizon where
  Q₀^π(s, a) > V₀^π(s) at the start, yet raising π(a|s) lowers J (the advantage at s is
  time-dependent and negative at t = 1, where s carries more visitation).
* :func:`rl7_better_action_counterexample`: a bandit where raising π(a) for an action
  with Q > V, taking the mass from an even better action, lowers J.
"""
from __future__ import annotations

import numpy as np

from ..claims import Verdict, claim
from ..mdp import TabularMDP
from ..policies import SoftmaxPolicy

__all__ = ["random_mdp", "mix_toward", "rl7_finite_horizon_counterexample",
           "rl7_better_action_counterexample"]

_T = "tests/exact/"


def random_mdp(rng: np.random.Generator, S: int = 4, A: int = 3, horizon: int | None = 5,
               discount: float = 1.0) -> TabularMDP:
    """A random MDP: Dirichlet(1) rows of P ``[S, A, S]`` and p0, N(0, 1) rewards ``[S, A]``."""
    return TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.normal(size=(S, A)),
                      rng.dirichlet(np.ones(S)), horizon=horizon, discount=discount)


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
        mdp = random_mdp(rng, S, A, horizon, discount)
        pol = SoftmaxPolicy(S, A)
        yield mdp, pol, rng.normal(size=pol.n_params) * 2


@claim("RL-1")
def _rl1() -> Verdict:
    from ..trajectories import enumerate_trajectories
    worst = 0.0
    for mdp, pol, th in _problems(1):
        mdp = mdp.with_horizon(3)
        batch, prob = enumerate_trajectories(mdp, pol, th)
        pi = np.asarray(pol.probs(th))
        s, a = batch.states, batch.actions
        prod = mdp.p0[s[:, 0]] * np.prod(pi[s, a], axis=1) * np.prod(
            mdp.P[s[:, :-1], a[:, :-1], s[:, 1:]], axis=1)
        worst = max(worst, float(np.abs(prod - prob).max()), abs(prob.sum() - 1.0))
    ok = worst < 1e-12
    return Verdict(
        "holds" if ok else "false as written",
        check="tests/test_trajectories.py::test_rl1_enumeration_is_the_product_formula; "
              "tests/test_trajectories.py::test_sampler_matches_enumeration_probabilities",
        evidence=f"enumerated p_θ(τ) equal the product formula and sum to 1 "
                 f"(max error {worst:.1e}, 5 seeded MDPs, T = 3); sampled frequencies match "
                 "them (Bernstein bound per trajectory with a union bound, false-failure ≤ 1e-6).",
        conditions=None)


@claim("RL-2")
def _rl2() -> Verdict:
    from ..exact import objective, state_action_marginals, state_action_transition
    worst = 0.0
    for mdp, pol, th in _problems(2):
        mdp = mdp.with_horizon(mdp.horizon or 6)
        S, A = mdp.n_states, mdp.n_actions
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
        "holds" if worst < 1e-12 else "false as written",
        check=_T + "test_marginals.py::test_rl2_state_action_chain_reproduces_marginals_and_objective",
        evidence=f"propagating the (s, a) chain M[(s,a),(s',a')] = p(s'|s,a) π(a'|s') from "
                 f"p0 π reproduces the marginals and Σ_t E[r_t] = J (max error {worst:.1e}).")


@claim("RL-3")
def _rl3() -> Verdict:
    from ..exact import average_reward, objective, stationary_distribution
    rng = np.random.default_rng(3)
    worst = 0.0
    for _ in range(4):
        mdp = random_mdp(rng, 4, 2, None, 1.0)
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
    # the periodic counterexample to "p(s_t) converges"
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 0] = 1.0
    flip = TabularMDP(P, np.zeros((2, 1)), np.array([1.0, 0.0]), horizon=None)
    from ..exact import state_marginals
    d = state_marginals(flip, np.ones((2, 1)), n_steps=11)
    oscillates = bool(np.abs(d[-1] - d[-2]).sum() > 1.9)
    ok = worst < 1e-8 and oscillates
    return Verdict(
        "holds under conditions" if ok else "undecided",
        check=_T + "test_stationary.py::test_rl3_stationary_distribution_is_the_unit_eigenvector; "
              + _T + "test_stationary.py::test_rl3_marginals_converge_and_average_reward_is_long_run_mean; "
              + _T + "test_stationary.py::test_average_reward_of_periodic_chain_is_the_cesaro_limit",
        evidence=f"μ from the engine equals the eigenvalue-1 eigenvector of P_πᵀ and ρ = E_μ[r] "
                 f"equals lim J_T/T (max error {worst:.1e}); with a Doeblin bound "
                 "‖d_t − μ‖_TV ≤ (1−η)^t in the tests.",
        conditions="the chain under π has a single closed class (unichain) for μ to be unique "
                   "and ρ = E_μ[r] = lim (1/T) Σ_t E[r_t] (a Cesàro limit); p(s_t, a_t) itself "
                   "converges to μ only when that class is also aperiodic. μ is a left "
                   "(row) eigenvector, μ = μ𝒯 with 𝒯 row-stochastic (the notes' μ = 𝒯μ "
                   "uses the transposed operator).",
        counterexample="the two-state flip chain 0 ⇄ 1 started in 0: μ = (½, ½) and ρ is the "
                       "Cesàro mean, but p(s_t) alternates (1, 0), (0, 1), … and never converges.")


@claim("RL-4")
def _rl4() -> Verdict:
    import autograd
    from ..exact import gradient
    from ..exact.objective import objective_from_table
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
        "holds under conditions" if worst < 1e-6 else "undecided",
        check=_T + "test_objective.py::test_rl4_objective_is_smooth_even_for_indicator_rewards",
        evidence=f"with 0/1 indicator rewards, the autograd Hessian of J(θ) equals central "
                 f"differences of the exact gradient (max error {worst:.1e}): J is a polynomial "
                 "(finite horizon) or rational function (discounted) of π, hence smooth in θ.",
        conditions="the policy π_θ(a|s) is itself smooth in θ (e.g. softmax); the "
                   "expectation over a stochastic policy is what smooths the reward.",
        counterexample="a deterministic policy a = argmax_a θ[s, a] makes J(θ) piecewise "
                       "constant, jumping where the argmax switches (tested alongside).")


@claim("RL-5")
def _rl5() -> Verdict:
    from ..exact import objective, q_values, values
    worst = 0.0
    for mdp, pol, th in _problems(5):
        V, Q = values(mdp, pol, th), q_values(mdp, pol, th)
        pi = np.asarray(pol.probs(th))
        V0 = V[0] if V.ndim == 2 else V
        worst = max(worst, abs(objective(mdp, pol, th) - mdp.p0 @ V0),
                    float(np.abs(V - np.sum(pi * Q, axis=-1)).max()))
    return Verdict(
        "holds" if worst < 1e-10 else "false as written",
        check=_T + "test_values.py::test_rl5_objective_is_expected_start_value_finite_horizon; "
              + _T + "test_values.py::test_rl5_objective_is_expected_start_value_infinite_discounted",
        evidence=f"J forward through the marginals equals p0 · V₀ from the backward recursion "
                 f"and V = E_π[Q] (max error {worst:.1e}, finite and discounted).")


@claim("RL-6")
def _rl6() -> Verdict:
    from ..exact import greedy_policy, values
    worst = np.inf
    for mdp, pol, th in _problems(6, 8):
        g = greedy_policy(mdp, pol, th)
        worst = min(worst, float(np.min(values(mdp, g) - values(mdp, pol, th))))
    return Verdict(
        "holds" if worst >= -1e-10 else "false as written",
        check=_T + "test_control.py::test_rl6_greedy_policy_is_at_least_as_good_everywhere",
        evidence=f"V^{{π'}} − V^π ≥ {worst:.2g} in every state (and every t for a finite horizon, "
                 "where π' is greedy w.r.t. the time-indexed Q_t^π) on 8 seeded MDPs; the policy "
                 "improvement theorem.")


@claim("RL-7")
def _rl7() -> Verdict:
    from ..exact import advantages, gradient, objective, state_marginals
    mdp, pol, th, s, a = rl7_finite_horizon_counterexample()
    A0 = float(advantages(mdp, pol, th)[0, s, a])
    d0 = float(state_marginals(mdp, pol, th)[0, s])
    dJ = float(gradient(mdp, pol, th)[s * mdp.n_actions + a])
    pi = np.asarray(pol.probs(th))
    drop = objective(mdp, mix_toward(pi, s, a, 0.5)) - objective(mdp, pol, th)
    bandit, pi_b, pi_b2 = rl7_better_action_counterexample()
    drop_b = objective(bandit, pi_b2) - objective(bandit, pi_b)
    false = A0 > 0 and d0 > 0 and dJ < 0 and drop < 0 and drop_b < 0
    return Verdict(
        "false as written" if false else "undecided",
        check=_T + "test_control.py::test_rl7_counterexample_finite_horizon_stationary_policy; "
              + _T + "test_control.py::test_rl7_counterexample_mass_taken_from_a_better_action; "
              + _T + "test_control.py::test_rl7_logit_derivative_is_visitation_weighted_advantage; "
              + _T + "test_control.py::test_rl7_mixing_toward_an_advantageous_action_improves",
        evidence=f"finite-horizon counterexample: A₀^π(s,a) = {A0:.2f} > 0 at the start state, "
                 f"yet ∂J/∂θ[s,a] = {dJ:.3f} and moving half of π(·|s) onto a changes J by "
                 f"{drop:.3f}; bandit counterexample: ΔJ = {drop_b:.3f}.",
        correction="∂J/∂θ[s,a] = Σ_t γ^t d_t(s) π(a|s) A_t^π(s,a) for a tabular softmax; in "
                   "the infinite-horizon discounted (or proper γ = 1) case this is "
                   "ρ^π(s) π(a|s) A^π(s,a) with ρ^π = Σ_t γ^t d_t, ≥ 0 when Q^π(s,a) > V^π(s). "
                   "Beyond first order, moving π(·|s) toward a by mixing, "
                   "π'(·|s) = (1−λ)π(·|s) + λ1[·=a], gives J(π') − J(π) = "
                   "λ ρ^{π'}(s) A^π(s,a) ≥ 0 (performance-difference lemma), for any λ ∈ [0, 1]; "
                   "for a finite horizon the same holds for a time-indexed policy changed at "
                   "a time t with A_t^π(s,a) > 0.",
        counterexample="(1) finite horizon, stationary policy (rl7_finite_horizon_counterexample): "
                       "T = 2, p0 = (0.1, 0.9), uniform π; A₀(0,1) = 2.25 > 0 but A₁(0,1) = −0.5 "
                       "with d₁(0) = 0.95, so ∂J/∂θ[0,1] = −1/8 and J drops from 4.225 to "
                       "4.106 when π(1|0) is raised to 3/4. (2) bandit means (0, 2, 3), uniform "
                       "π: Q(1) = 2 > V = 5/3, but raising π(1) to 2/3 by taking π(2) to 0 "
                       "gives J = 4/3 < 5/3.")


# -- RL-8 .. RL-11: the notes' comparisons of algorithm families (§3.4, §3.5) --------------
def actor_critic_direction(mdp, policy, theta) -> np.ndarray:
    """``[d]`` the actor-critic update of the notes' table, θ ← θ + α∇_θ E[Q(s_t, a_t)], with
    the exact critic Q^π_t and the on-policy weights γ^t d_t held fixed:
    ∇_θ' Σ_t γ^t Σ_s d_t(s) Σ_a π_θ'(a|s) Q_t(s, a) at θ' = θ (autograd of the surrogate)."""
    import autograd
    import autograd.numpy as anp
    from ..exact import discounted_state_visitation, q_values, state_marginals
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


def off_policy_gradients(mdp, policy, theta_b, theta):
    """(∇J(θ), Σ_τ p_θb(τ) ρ(τ) ∇log p_θ(τ) r(τ), Σ_τ p_θb(τ) ∇log p_θ(τ) r(τ)) by enumeration:
    the true gradient at θ, the importance-weighted estimator's mean from θ_b's samples, and
    the on-policy estimator's mean when θ_b's samples are reused without weights."""
    from ..exact import gradient
    from ..trajectories import enumerate_trajectories
    batch, p_b = enumerate_trajectories(mdp, policy, theta_b)
    lp = np.asarray(policy.log_probs(theta))[batch.inputs, batch.actions]  # [M, T]
    rho = np.exp(lp.sum(axis=1) - batch.behaviour_log_probs.sum(axis=1))
    score = np.asarray(policy.score(theta))[batch.inputs, batch.actions].sum(axis=1)  # [M, d]
    ret = batch.returns()
    return (gradient(mdp, policy, theta), (p_b * rho * ret) @ score, (p_b * ret) @ score)


@claim("RL-8")
def _rl8() -> Verdict:
    from ..exact import gradient
    worst = 0.0
    for mdp, pol, th in _problems(8):
        worst = max(worst, float(np.abs(actor_critic_direction(mdp, pol, th)
                                        - gradient(mdp, pol, th, method="autograd")).max()))
    return Verdict(
        "false as written" if worst < 1e-9 else "undecided",
        check=_T + "test_control.py::test_rl8_actor_critic_with_exact_critic_ascends_the_true_objective",
        evidence=f"the actor-critic update of the notes' table with the exact critic Q^π equals "
                 f"∇J (autograd through J) to {worst:.1e} on 5 seeded MDPs (finite and discounted).",
        correction="policy gradient ascends the true objective J(θ), and so does actor-critic "
                   "whenever its critic is exact (or compatible, Sutton et al. 2000): "
                   "∇_θ Σ_t γ^t E_{d_t}[Σ_a π_θ(a|s) Q^π_t(s,a)] = ∇J (policy-gradient theorem). "
                   "Value-based and model-based methods optimise surrogate errors of fit instead. "
                   "Sample-based policy gradient is stochastic gradient ascent.",
        counterexample="any MDP: actor_critic_direction(mdp, policy, θ) == gradient(mdp, policy, θ).")


@claim("RL-9")
def _rl9() -> Verdict:
    mdp, phi = tsitsiklis_van_roy(0.9)
    ws = fitted_value_iteration(mdp, phi, np.array([1.0]), 60)
    grows = abs(ws[-1, 0]) > 50 and np.allclose(ws[1:, 0] / ws[:-1, 0], 6 * 0.9 / 5)
    return Verdict(
        "holds" if grows else "undecided",
        check=_T + "test_control.py::test_rl9_fitted_value_iteration_with_linear_features_diverges",
        evidence=f"Tsitsiklis–Van Roy: true V = 0, yet fitted value iteration with the linear "
                 f"feature φ = (1, 2) multiplies w by 6γ/5 = 1.08 each iteration (γ = 0.9): "
                 f"w₆₀ = {ws[-1, 0]:.3g} from w₀ = 1. Each iteration minimises a fit error to a "
                 "Bellman target (a projected Bellman operator), and that iteration need not "
                 "converge.")


@claim("RL-10")
def _rl10() -> Verdict:
    from ..exact import objective, optimal_policy
    true, a, b = rl10_models()
    fit = [float(np.abs(m.P - true.P).sum()) for m in (a, b)]
    J = [objective(true, optimal_policy(m)) for m in (a, b)]
    ok = fit[0] < fit[1] and J[0] < J[1]
    return Verdict(
        "holds" if ok else "undecided",
        check=_T + "test_control.py::test_rl10_better_fitting_model_gives_worse_policy",
        evidence=f"model A fits the transitions better (Σ|P̂ − P| = {fit[0]:.2f} vs {fit[1]:.2f}) "
                 f"but its optimal policy earns J = {J[0]:.2f} in the true MDP against "
                 f"{J[1]:.2f} for model B's: a better-fitting model does not guarantee a better "
                 "policy (what matters is the error where it changes the decision).")


@claim("RL-11")
def _rl11() -> Verdict:
    rng = np.random.default_rng(11)
    mdp = random_mdp(rng, 2, 2, 3)
    pol = SoftmaxPolicy(2, 2)
    th_b, th = rng.normal(size=4), rng.normal(size=4)
    g, g_is, g_reuse = off_policy_gradients(mdp, pol, th_b, th)
    ok = np.abs(g - g_is).max() < 1e-12 and np.abs(g - g_reuse).max() > 1e-3
    return Verdict(
        "holds under conditions" if ok else "undecided",
        check="tests/exact/test_objective.py::test_rl11_off_policy_reuse_needs_importance_weights; "
              "tests/exact/test_objective.py::test_rl11_stale_samples_bias_the_on_policy_estimator",
        evidence=f"by enumeration on a seeded MDP: importance-weighted samples of θ_b give ∇J(θ) "
                 f"exactly (error {np.abs(g - g_is).max():.1e}); reusing θ_b's samples in the "
                 f"on-policy estimator is off by {np.abs(g - g_reuse).max():.3f}.",
        conditions="off-policy reuse is unbiased when the behaviour policy covers the target "
                   "(π_θb(a|s) > 0 wherever π_θ(a|s) > 0) and the samples are reweighted by "
                   "p_θ(τ)/p_θb(τ) (at exponential variance in T, PG-14); an on-policy estimator "
                   "on stale samples is biased, by O(‖θ − θ_b‖), so it needs fresh samples to stay "
                   "unbiased after any change of θ.")


# -- figures ------------------------------------------------------------------------------------
from ..claims import figure  # noqa: E402


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
    path = outdir / "rl9_divergence.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]
