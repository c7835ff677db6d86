"""Optimal control and policy improvement (notes §3.3, RL-6, RL-7).

Independent routes: V* against the best of every deterministic policy (brute force over
all of them); greedy and improved policies evaluated by the engine and compared state by
state; RL-7's derivative against the autograd gradient; counterexamples re-checked by the
enumeration in ``tests/reference.py``.
"""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pgmath
from pgmath import exact
from pgmath import strategies as pst
from pgmath.claims import rl

import reference as ref


@given(pst.mdps(max_states=2, max_actions=2, horizon=(1, 3)))
@settings(max_examples=25)
def test_finite_horizon_optimum_is_the_best_deterministic_markov_policy(mdp):
    S, A, T = mdp.n_states, mdp.n_actions, mdp.horizon
    best = np.full(S, -np.inf)
    for acts in itertools.product(range(A), repeat=S * T):
        table = np.eye(A)[np.reshape(acts, (T, S))]
        best = np.maximum(best, exact.values(mdp, table)[0])
    np.testing.assert_allclose(exact.optimal_values(mdp)[0], best, atol=1e-12)
    assert exact.optimal_objective(mdp) == pytest.approx(mdp.p0 @ best, abs=1e-12)
    np.testing.assert_allclose(exact.values(mdp, exact.optimal_policy(mdp))[0], best, atol=1e-12)


@given(pst.mdps(max_states=3, max_actions=3, horizon=None, discount=st.floats(0.1, 0.95)))
@settings(max_examples=25)
def test_discounted_optimum_is_the_best_deterministic_stationary_policy(mdp):
    S, A = mdp.n_states, mdp.n_actions
    best = np.full(S, -np.inf)
    for acts in itertools.product(range(A), repeat=S):
        best = np.maximum(best, exact.values(mdp, np.eye(A)[list(acts)]))
    np.testing.assert_allclose(exact.optimal_values(mdp), best, atol=1e-9)
    Q = exact.optimal_q_values(mdp)
    np.testing.assert_allclose(Q.max(axis=1), best, atol=1e-9)


@st.composite
def _episodic_problems(draw):
    mdp = draw(pst.episodic_mdps())
    policy = pgmath.SoftmaxPolicy(mdp.n_states, mdp.n_actions)
    return mdp, policy, draw(pst.thetas(policy))


@given(st.one_of(
    pst.problems(max_states=4, max_actions=3, horizon=(1, 5), discount=st.floats(0.3, 1.0)),
    pst.problems(max_states=4, max_actions=3, horizon=None, discount=st.floats(0.1, 0.95)),
    _episodic_problems()))
def test_rl6_greedy_policy_is_at_least_as_good_everywhere(problem):
    """RL-6: V^{π'} ≥ V^π in every state (every t for a finite horizon, where π' is greedy
    w.r.t. the time-indexed Q_t^π; γ = 1 with every policy proper) — the policy
    improvement theorem."""
    mdp, policy, theta = problem
    greedy = exact.greedy_policy(mdp, policy, theta)
    assert np.all((greedy == 0) | (greedy == 1))
    assert np.all(exact.values(mdp, greedy) >= exact.values(mdp, policy, theta) - 1e-10)
    # and greedy really is greedy: it picks a maximiser of Q^π
    Q = exact.q_values(mdp, policy, theta)
    np.testing.assert_allclose(np.sum(greedy * Q, axis=-1), Q.max(axis=-1), atol=1e-9)


@given(st.one_of(
    pst.problems(max_states=4, max_actions=3, horizon=(1, 5), discount=st.floats(0.3, 1.0)),
    pst.problems(max_states=4, max_actions=3, horizon=None, discount=st.floats(0.1, 0.95))))
def test_rl7_logit_derivative_is_visitation_weighted_advantage(problem):
    """∂J/∂θ[s,a] = Σ_t γ^t d_t(s) π(a|s) A_t(s,a) (finite) or ρ(s) π(a|s) A(s,a)
    (discounted), the correct form of RL-7 to first order; ≥ 0 where A > 0 when A is
    stationary. Expected value: the autograd gradient."""
    mdp, policy, theta = problem
    S, A = mdp.n_states, mdp.n_actions
    pi = ref.softmax(theta.reshape(S, A))
    adv = exact.advantages(mdp, policy, theta)
    if mdp.horizon is not None:
        d = exact.state_marginals(mdp, policy, theta)
        w = mdp.discount ** np.arange(mdp.horizon)
        form = np.einsum("t,ts,sa,tsa->sa", w, d, pi, adv)
    else:
        rho = exact.discounted_state_visitation(mdp, policy, theta)
        form = rho[:, None] * pi * adv
        assert np.all(form[adv > 0] >= 0)
    np.testing.assert_allclose(exact.gradient(mdp, policy, theta, method="autograd"),
                               form.ravel(), atol=1e-9)


@given(pst.problems(max_states=4, max_actions=3, horizon=None, discount=st.floats(0.1, 0.95)),
       st.floats(0.0, 1.0))
def test_rl7_mixing_toward_an_advantageous_action_improves(problem, lam):
    """Beyond first order (discounted): π'(·|s) = (1−λ)π(·|s) + λ1[a] with A^π(s,a) > 0 gives
    J(π') − J(π) = λ ρ^{π'}(s) A^π(s,a) ≥ 0 (performance-difference lemma)."""
    mdp, policy, theta = problem
    pi = np.asarray(policy.probs(theta))
    adv = exact.advantages(mdp, policy, theta)
    J = exact.objective(mdp, policy, theta)
    for s, a in zip(*np.nonzero(adv > 1e-9)):
        new = rl.mix_toward(pi, s, a, lam)
        rho_new = exact.discounted_state_visitation(mdp, new)
        gain = exact.objective(mdp, new) - J
        assert gain == pytest.approx(lam * rho_new[s] * adv[s, a], abs=1e-9)
        assert gain >= -1e-12


def test_rl7_counterexample_finite_horizon_stationary_policy():
    """Q₀(s,a) > V₀(s) at the start, but raising the stationary π(a|s) lowers J.
    Expected values by hand (see the docstring of the counterexample) and by enumeration."""
    mdp, policy, theta, s, a = rl.rl7_finite_horizon_counterexample()
    adv = exact.advantages(mdp, policy, theta)
    assert adv[0, s, a] == pytest.approx(2.25) and adv[1, s, a] == pytest.approx(-0.5)
    assert mdp.p0[s] > 0
    g = exact.gradient(mdp, policy, theta)
    assert g[s * 2 + a] == pytest.approx(-1 / 8, abs=1e-12)
    pi = np.asarray(policy.probs(theta))
    for lam in (0.1, 0.5, 1.0):
        new = rl.mix_toward(pi, s, a, lam)
        J_new, _ = ref.objective_and_gradient(mdp.P, mdp.R, mdp.p0, new, 2)
        J_old, _ = ref.objective_and_gradient(mdp.P, mdp.R, mdp.p0, pi, 2)
        assert J_new < J_old


def test_rl7_counterexample_mass_taken_from_a_better_action():
    mdp, pi, raised = rl.rl7_better_action_counterexample()
    assert raised[0, 1] > pi[0, 1]
    assert exact.q_values(mdp, pi)[0, 0, 1] > exact.values(mdp, pi)[0, 0]
    assert exact.objective(mdp, raised) == pytest.approx(4 / 3)
    assert exact.objective(mdp, pi) == pytest.approx(5 / 3)


def test_undiscounted_optimum_and_greedy_with_terminal_states():
    """Short corridor, fully observed: from state 0 the best path is right, left(=switched
    right), right: 3 steps of −1, so V*(0) = −3, V*(1) = −2, V*(2) = −1 (by hand)."""
    mdp = pgmath.environments.short_corridor()
    np.testing.assert_allclose(exact.optimal_values(mdp), [-3, -2, -1, 0], atol=1e-12)
    uniform = np.full((4, 2), 0.5)
    greedy = exact.greedy_policy(mdp, uniform)
    assert np.all(exact.values(mdp, greedy) >= exact.values(mdp, uniform) - 1e-12)


@given(st.one_of(
    pst.problems(max_states=3, max_actions=3, horizon=(1, 4), discount=st.floats(0.3, 1.0)),
    pst.problems(max_states=3, max_actions=3, horizon=None, discount=st.floats(0.1, 0.95))))
@settings(max_examples=25)
def test_rl8_actor_critic_with_exact_critic_ascends_the_true_objective(problem):
    """RL-8 is false as written: the notes' actor-critic step ∇_θ E[Q(s_t, a_t)] with the
    exact critic equals ∇J (expected value: autograd through the forward J)."""
    mdp, policy, theta = problem
    np.testing.assert_allclose(rl.actor_critic_direction(mdp, policy, theta),
                               exact.gradient(mdp, policy, theta, method="autograd"), atol=1e-9)


@pytest.mark.parametrize("gamma", [0.5, 0.8, 0.9, 0.99])
def test_rl9_fitted_value_iteration_with_linear_features_diverges(gamma):
    """Tsitsiklis–Van Roy: w_{k+1} = (6γ/5) w_k (derived by hand in the docstring of
    ``rl.tsitsiklis_van_roy``): divergence for γ > 5/6 although V = 0 is representable."""
    mdp, phi = rl.tsitsiklis_van_roy(gamma)
    np.testing.assert_allclose(exact.values(mdp, np.ones((2, 1))), 0.0)
    ws = rl.fitted_value_iteration(mdp, phi, np.array([1.0]), 40)[:, 0]
    np.testing.assert_allclose(ws, (6 * gamma / 5) ** np.arange(41), rtol=1e-9)
    assert (abs(ws[-1]) > 10) == (gamma > 5 / 6)


def test_rl10_better_fitting_model_gives_worse_policy():
    """Expected values by hand: acting on A's optimum (action 0) gives 0.5 · 2 = 1.0 in the
    true MDP, on B's (action 1) 0.6 · 2 = 1.2."""
    true, a, b = rl.rl10_models()
    assert np.abs(a.P - true.P).sum() < np.abs(b.P - true.P).sum()
    assert exact.objective(true, exact.optimal_policy(a)) == pytest.approx(1.0)
    assert exact.objective(true, exact.optimal_policy(b)) == pytest.approx(1.2)
    assert exact.optimal_objective(true) == pytest.approx(1.2)


def test_rl_figures_are_written(tmp_path):
    from pgmath import claims
    figs = {f.name: f for f in claims.figures()}
    for name in ("rl9_divergence",):
        paths = figs[name].func(tmp_path)
        assert paths and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
