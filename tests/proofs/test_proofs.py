"""The SymPy derivations of proofs/: their structure, and each finding confirmed by an
independent numeric route (numpy on pgmath's exact engine or on closed forms), never by
re-reading SymPy's own output."""
import itertools

import numpy as np
import pytest

import pgmath
from pgmath import environments, exact
from pgmath.derivation import checked, proof_files
from pgmath.estimator_protocol import step_scores
from pgmath.trajectories import trajectory_log_probs

NAMES = [p.stem for p in proof_files()]


def test_there_is_a_proof_per_listed_derivation():
    expected = {"pg01_score_function", "pg03_reinforce_unbiased", "pg04_pomdp_reinforce",
                "pg07_reward_to_go_variance",
                "pg05_causality", "pg15_dropped_state_ratio", "pg23_marginal_ratio",
                "pg08_baseline", "pg09_batch_average_baseline", "pg11_importance_sampling",
                "pg12_offpolicy_gradient", "pg14_importance_weight_growth",
                "pg16_regularised_argmax", "pg17_kl_definition", "pg18_kl_second_order",
                "pg20_natural_gradient_step", "pg22_optimal_baseline",
                "rl03_stationary_distribution", "rl05_value_functions", "il1_bc_series", "il2_distribution_drift",
                "il3_bc_cost_sum"}
    assert expected <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_proof_is_decided_and_every_false_notes_step_is_corrected(name):
    d, results = checked(name)
    assert d.claims, "a proof decides at least one claim"
    assert all(r.status in ("verified", "false") for r in results), \
        [(r.number, r.status) for r in results]
    for r in results:
        if r.status == "false":
            assert r.counterexample, r.step.title
        if r.status == "false" and r.step.notes:
            assert r.step.correction, f"step {r.number} needs a correction"
            fixes = [q for q in results if q.step.fixes == r.step.label]
            assert fixes and all(q.status == "verified" for q in fixes), \
                f"step {r.number} needs a verified corrected step"


# -- independent numeric confirmation of the findings -----------------------------------------
def _chain():
    mdp = environments.chain(3, horizon=3)
    policy = pgmath.SoftmaxPolicy(mdp.n_states, mdp.n_actions)
    theta = np.random.default_rng(5).normal(size=policy.n_params)
    return mdp, policy, theta


def test_pg5_same_step_pairs_do_not_vanish_past_pairs_do():
    # exact enumeration with pgmath's engine (numpy), independent of the SymPy proof
    mdp, policy, theta = _chain()
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta)
    psi, r = step_scores(batch, policy, theta), batch.rewards
    T = r.shape[1]

    def expect(last):
        g = sum(psi[:, t] * r[:, :last(t) + 1].sum(axis=1, keepdims=True) for t in range(T))
        return prob @ g

    assert np.abs(expect(lambda t: t)).max() > 1e-3          # notes: t' = 1..t (incl. t)
    assert np.abs(expect(lambda t: t - 1)).max() < 1e-12     # corrected: t' < t


def test_pg9_batch_average_baseline_expectation_is_one_minus_one_over_n():
    # two-armed bandit, π = softmax(θ); all batches of N draws enumerated with numpy
    theta = np.array([0.3, -0.4])
    pi = np.exp(theta) / np.exp(theta).sum()
    r = np.array([1.0, 0.25])
    g = np.eye(2) - pi                                       # ψ(a) = e_a − π
    grad = g.T @ (pi * r)
    for N in (2, 3, 4):
        total = np.zeros(2)
        for arms in itertools.product(range(2), repeat=N):
            arms = np.array(arms)
            b = r[arms].mean()
            total += np.prod(pi[arms]) * (g[arms] * (r[arms] - b)[:, None]).mean(axis=0)
        np.testing.assert_allclose(total, (1 - 1 / N) * grad, atol=1e-14)


def test_pg12_notes_per_decision_form_is_biased_corrected_one_is_not():
    mdp, policy, theta = _chain()
    theta_new = theta + np.random.default_rng(6).normal(size=theta.size)
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta)
    rho = np.exp(trajectory_log_probs(batch, policy, theta_new)
                 - trajectory_log_probs(batch, policy, theta))                  # [N, T]
    psi, r = step_scores(batch, policy, theta_new), batch.rewards
    T = r.shape[1]

    def form(future_from):
        g = 0
        for t in range(T):
            past = rho[:, :t + 1].prod(axis=1)
            fut = sum(r[:, tp] * rho[:, future_from(t):tp + 1].prod(axis=1) for tp in range(t, T))
            g = g + psi[:, t] * (past * fut)[:, None]
        return prob @ g

    truth = exact.gradient(mdp, policy, theta_new)
    assert np.abs(form(lambda t: t) - truth).max() > 1e-3       # notes: Π_{t''=t}^{t'}
    np.testing.assert_allclose(form(lambda t: t + 1), truth, atol=1e-10)  # Π_{t''=t+1}^{t'}


def test_pg17_notes_kl_is_negative_pg18_curvature_has_a_half():
    theta = np.array([0.2, -0.1, 0.5])
    delta = np.array([1.0, -2.0, 0.5])
    sm = lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum()  # noqa: E731
    pi = sm(theta)
    F = np.diag(pi) - np.outer(pi, pi)
    h = 1e-3
    new = sm(theta + h * delta)
    kl = new @ (np.log(new) - np.log(pi))
    notes_kl = new @ (np.log(pi) - np.log(new))
    assert kl > 0 and notes_kl < 0
    # KL / (h² δᵀFδ) → 1/2 (Taylor), not 1 as the notes write
    assert abs(kl / (h**2 * delta @ F @ delta) - 0.5) < 1e-2


def test_pg11_notes_line_two_changes_the_value():
    p, q, f = np.array([0.5, 0.5]), np.array([0.25, 0.75]), np.array([1.0, 0.0])
    assert (p * f).sum() == 0.5 and (q / p * p * f).sum() == 0.25      # ∫pf vs ∫(q/p)pf
    assert (q * (p / q) * f).sum() == 0.5


def test_pg20_step_size_meets_the_constraint_and_beats_feasible_steps():
    rng = np.random.default_rng(7)
    A = rng.normal(size=(3, 3))
    F, g, eps = A @ A.T + 0.1 * np.eye(3), rng.normal(size=3), 0.01
    step = np.linalg.solve(F, g)
    alpha = np.sqrt(2 * eps / (g @ step))
    delta = alpha * step
    assert abs(0.5 * delta @ F @ delta - eps) < 1e-12
    # random feasible directions on the ellipse ½δᵀFδ = ε never do better
    L = np.linalg.cholesky(F)
    u = rng.normal(size=(2000, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    feasible = np.linalg.solve(L.T, (np.sqrt(2 * eps) * u).T).T
    assert (feasible @ g).max() <= g @ delta + 1e-12


def test_pg22_optimal_baseline_minimises_the_variance_on_a_grid():
    theta, r = np.array([0.4, -0.3, 0.1]), np.array([1.0, -0.5, 2.0])
    pi = np.exp(theta) / np.exp(theta).sum()
    g = (np.eye(3) - pi)[:, 0]                                # component θ_1 of ψ(a)
    var = lambda b: pi @ (g * (r - b))**2 - (pi @ (g * (r - b)))**2  # noqa: E731
    b_star = (pi @ (g**2 * r)) / (pi @ g**2)
    grid = np.linspace(-3, 3, 6001)
    assert abs(grid[np.argmin([var(b) for b in grid])] - b_star) < 2e-3
    assert var(b_star) <= var(pi @ r)


def test_pg14_weight_second_moment_is_a_power():
    p, q = np.array([0.7, 0.3]), np.array([0.4, 0.6])
    m2 = (p**2 / q).sum()
    for T in range(1, 7):
        seqs = np.array(list(itertools.product(range(2), repeat=T)))
        moment = (np.prod(q[seqs], axis=1) * np.prod((p / q)[seqs], axis=1)**2).sum()
        assert abs(moment - m2**T) < 1e-12 * m2**T


def test_rl3_two_state_chain_converges_to_the_eigenvector():
    a, b = 0.3, 0.2
    P = np.array([[1 - a, a], [b, 1 - b]])
    mu = np.array([b, a]) / (a + b)
    np.testing.assert_allclose(np.linalg.matrix_power(P, 200), np.tile(mu, (2, 1)), atol=1e-12)
    w, v = np.linalg.eig(P.T)
    k = np.argmin(abs(w - 1))
    np.testing.assert_allclose(v[:, k] / v[:, k].sum(), mu, atol=1e-12)


@pytest.mark.parametrize("T", [1, 5, 20])
def test_il1_tightrope_cost_closed_form_and_bounds(T):
    for eps in (0.001, 0.01, 1 / (2 * T), 1 / T):
        t = np.arange(1, T + 1)
        cost = (1 - (1 - eps)**t).sum()                          # direct sum
        closed = T - (1 - eps) * (1 - (1 - eps)**T) / eps
        assert abs(cost - closed) < 1e-9
        assert eps * T * (T + 1) / 4 - 1e-12 <= cost <= eps * T**2 + 1e-12  # εT ≤ 1
    # the notes' infinite series Σ_k (1−ε)^k εT = T, far above εT² for small ε
    eps = 1e-4
    assert abs(sum((1 - eps)**k * eps * T for k in range(400000)) - T) < 1e-6 * T + T * (1 - eps)**400000


def test_il3_sum_closed_form():
    for T in (1, 2, 10, 50):
        eps = 0.03
        assert abs(sum(eps + 2 * eps * t for t in range(1, T + 1)) - eps * T * (T + 2)) < 1e-9


def test_pg15_dropped_state_ratio_bias_is_first_order_in_the_step():
    # exact enumeration with pgmath's engine: bias(θ + hδ) / h tends to a non-zero limit
    mdp, policy, theta = _chain()
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta)
    delta = np.random.default_rng(8).normal(size=theta.size)
    r = batch.rewards
    q_hat = np.cumsum(r[:, ::-1], axis=1)[:, ::-1]

    def bias(h):
        new = theta + h * delta
        rho = np.exp(trajectory_log_probs(batch, policy, new) - trajectory_log_probs(batch, policy, theta))
        psi = step_scores(batch, policy, new)
        g = np.einsum("ntd,nt->nd", psi, rho * q_hat)
        return prob @ g - exact.gradient(mdp, policy, new)

    b1, b2 = bias(1e-2), bias(1e-3)
    assert np.abs(bias(0.0)).max() < 1e-12
    assert np.abs(b1).max() > 1e-5                           # biased off-policy
    np.testing.assert_allclose(b1 / 1e-2, b2 / 1e-3, rtol=0.05, atol=1e-6)  # O(h)


def test_pg23_marginal_ratio_form_needs_the_future_ratios():
    # exact marginals and gradient from pgmath's engine (numpy), enumeration under θ
    mdp, policy, theta = _chain()
    theta_new = theta + np.random.default_rng(9).normal(size=theta.size)
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta)
    T = batch.rewards.shape[1]
    m_old = exact.state_action_marginals(mdp, policy, theta)[:T]
    m_new = exact.state_action_marginals(mdp, policy, theta_new)[:T]
    t_idx = np.arange(T)[None, :]
    w = m_new[t_idx, batch.states, batch.actions] / m_old[t_idx, batch.states, batch.actions]
    rho = np.exp(trajectory_log_probs(batch, policy, theta_new) - trajectory_log_probs(batch, policy, theta))
    psi, r = step_scores(batch, policy, theta_new), batch.rewards

    def mean(future_ratios):
        q = np.zeros_like(r)
        for t in range(T):
            for tp in range(t, T):
                q[:, t] += r[:, tp] * (rho[:, t + 1:tp + 1].prod(axis=1) if future_ratios else 1)
        return prob @ np.einsum("ntd,nt->nd", psi, w * q)

    truth = exact.gradient(mdp, policy, theta_new)
    assert np.abs(mean(False) - truth).max() > 1e-3
    np.testing.assert_allclose(mean(True), truth, atol=1e-10)


def test_pg7_reward_to_go_can_have_larger_variance():
    # the proof's counterexample MDP, evaluated by pgmath's numeric engine (enumeration)
    q = np.array([[0.1, 0.9], [0.9, 0.9]])                    # p(s' = 0 | s, a)
    P = np.stack([q, 1 - q], axis=-1)
    R = np.array([[-2.0, 0.0], [2.0, 2.0]])
    mdp = pgmath.TabularMDP(P, R, np.array([0.9, 0.1]), horizon=2)
    policy = pgmath.SoftmaxPolicy(2, 2)
    theta = np.log([4.0, 0.25, 1.0, 1.0])
    _, c_reinforce = exact.estimator_moments(pgmath.estimators.reinforce, mdp, policy, theta)
    _, c_rtg = exact.estimator_moments(pgmath.estimators.reward_to_go, mdp, policy, theta)
    assert np.trace(c_rtg) > 3 * np.trace(c_reinforce)     # 1.983 vs 0.600 (exact rationals)
    assert abs(np.trace(c_rtg) - 59836802831 / 30171961250) < 1e-12
