"""J(θ) and ∇J(θ): the two gradient routes, finite differences, enumeration, exact rationals.

Independent routes used as expected values:
* ``gradient(method="pg_theorem")`` (Σ_t γ^t Σ_s d_t(s) Σ_a ∇π Q_t) against
  ``method="autograd"`` (reverse-mode through the forward J) — two separate code paths;
* both against central finite differences of J (``reference.central_differences``);
* J and ∇J against brute-force enumeration in ``tests/reference.py`` (floats for POMDPs,
  ``fractions.Fraction`` for the exact rational run).
"""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pgmath
from pgmath import exact
from pgmath import strategies as pst

import reference as ref

ROUTES_TOL = 1e-9
#: central differences with h = 1e-5: truncation h²|J'''|/6 ≲ 1e-8 for |J'''| ≤ 600 on these
#: sizes, rounding ε|J|/h ≲ 1e-10; 1e-6 leaves room and still catches any wrong gradient.
FD_TOL = 1e-6


def _assert_routes_agree(mdp, policy, theta, scale=1.0):
    g_pg = exact.gradient(mdp, policy, theta, method="pg_theorem")
    g_ag = exact.gradient(mdp, policy, theta, method="autograd")
    assert g_pg.shape == (policy.n_params,)
    np.testing.assert_allclose(g_pg, g_ag, rtol=0, atol=ROUTES_TOL * scale)
    return g_pg


def _assert_matches_fd(mdp, policy, theta, g, scale=1.0):
    fd = ref.central_differences(lambda th: exact.objective(mdp, policy, th), theta)
    np.testing.assert_allclose(g, fd, rtol=0, atol=FD_TOL * scale)


@given(pst.problems(max_states=3, max_actions=3, horizon=(1, 4)))
def test_gradient_routes_agree_finite_horizon(problem):
    mdp, policy, theta = problem
    g = _assert_routes_agree(mdp, policy, theta)
    _assert_matches_fd(mdp, policy, theta, g)


@given(pst.problems(max_states=3, max_actions=3, horizon=(1, 4),
                    discount=st.floats(0.3, 1.0)))
def test_gradient_routes_agree_discounted_finite_horizon(problem):
    mdp, policy, theta = problem
    g = _assert_routes_agree(mdp, policy, theta)
    _assert_matches_fd(mdp, policy, theta, g)


@given(pst.problems(max_states=3, max_actions=3, horizon=None, discount=st.floats(0.1, 0.9)))
def test_gradient_routes_agree_infinite_discounted(problem):
    mdp, policy, theta = problem
    scale = 1 / (1 - mdp.discount)
    g = _assert_routes_agree(mdp, policy, theta, scale)
    _assert_matches_fd(mdp, policy, theta, g, scale ** 2)


@given(pst.episodic_mdps(), st.data())
def test_gradient_routes_agree_undiscounted_with_terminal_states(mdp, data):
    policy = pgmath.SoftmaxPolicy(mdp.n_states, mdp.n_actions)
    theta = data.draw(pst.thetas(policy))
    g = _assert_routes_agree(mdp, policy, theta, 10.0)
    _assert_matches_fd(mdp, policy, theta, g, 100.0)


@given(st.one_of(
    pst.problems(pomdp=True, max_states=3, max_actions=2, max_observations=2, horizon=(1, 3)),
    pst.problems(pomdp=True, max_states=3, max_actions=2, max_observations=2, horizon=None,
                 discount=st.floats(0.1, 0.8))))
def test_gradient_routes_agree_pomdp(problem):
    """Finite-horizon and infinite discounted POMDPs (scale 1/(1 − γ) ≤ 5)."""
    mdp, policy, theta = problem
    g = _assert_routes_agree(mdp, policy, theta, 5.0)
    _assert_matches_fd(mdp, policy, theta, g, 25.0)


@given(pst.mdps(max_states=3, max_actions=3, horizon=(1, 4)), st.integers(1, 3), st.data())
def test_gradient_routes_agree_linear_softmax(mdp, d, data):
    feats = data.draw(st.lists(st.floats(-2, 2), min_size=mdp.n_states * mdp.n_actions * d,
                               max_size=mdp.n_states * mdp.n_actions * d))
    policy = pgmath.LinearSoftmaxPolicy(np.reshape(feats, (mdp.n_states, mdp.n_actions, d)))
    theta = data.draw(pst.thetas(policy, allow_extreme=False))
    g = _assert_routes_agree(mdp, policy, theta)
    _assert_matches_fd(mdp, policy, theta, g)


@given(pst.pomdps(max_states=3, max_actions=2, max_observations=2, horizon=(1, 3)),
       st.data())
def test_gradient_routes_agree_linear_softmax_over_observations(mdp, data):
    feats = data.draw(st.lists(st.floats(-2, 2), min_size=mdp.n_observations * mdp.n_actions * 2,
                               max_size=mdp.n_observations * mdp.n_actions * 2))
    policy = pgmath.LinearSoftmaxPolicy(
        np.reshape(feats, (mdp.n_observations, mdp.n_actions, 2)), over="observations")
    theta = data.draw(pst.thetas(policy, allow_extreme=False))
    g = _assert_routes_agree(mdp, policy, theta)
    _assert_matches_fd(mdp, policy, theta, g)


@given(pst.problems(pomdp=True, max_states=3, max_actions=2, max_observations=2,
                    horizon=(1, 3), discount=st.floats(0.5, 1.0)))
@settings(max_examples=25)
def test_pomdp_objective_and_gradient_match_enumeration_over_hidden_states(problem):
    """Expected values: ``reference.objective_and_gradient`` sums over every hidden-state,
    observation and action sequence with the product formula (no pgmath code)."""
    mdp, policy, theta = problem
    pi = ref.softmax(theta.reshape(mdp.n_observations, mdp.n_actions))
    J, G = ref.objective_and_gradient(mdp.P, mdp.R, mdp.p0, pi, mdp.horizon, mdp.discount, mdp.O)
    assert exact.objective(mdp, policy, theta) == pytest.approx(J, abs=1e-12)
    np.testing.assert_allclose(exact.gradient(mdp, policy, theta), G.ravel(), atol=1e-12)
    np.testing.assert_allclose(exact.gradient(mdp, policy, theta, method="autograd"),
                               G.ravel(), atol=1e-12)


@pytest.mark.parametrize("seed,S,A,T,n_obs,next_state", [
    (0, 2, 2, 3, None, False), (1, 3, 2, 2, None, True), (2, 2, 3, 2, None, False),
    (3, 3, 2, 2, 2, False), (4, 2, 2, 3, 2, True)])
def test_exact_rational_run_matches_floats(seed, S, A, T, n_obs, next_state):
    """J and ∇J (w.r.t. logits; ∇π = π(δ − π) is rational for rational π) computed in
    ``fractions.Fraction`` by enumeration equal the float engine to 1e-12. θ = log π."""
    P, R, p0, pi, O = ref.random_rational_problem(seed, S, A, n_obs, next_state)
    gamma = Fraction(9, 10)
    J, G = ref.objective_and_gradient(P, R, p0, pi, T, gamma, O)
    assert isinstance(J, Fraction)
    f = ref.as_float
    if O is None:
        mdp = pgmath.TabularMDP(f(P), f(R), f(p0), horizon=T, discount=0.9)
        policy = pgmath.SoftmaxPolicy(S, A)
    else:
        mdp = pgmath.POMDP(f(P), f(R), f(p0), f(O), horizon=T, discount=0.9)
        policy = pgmath.ObservationSoftmaxPolicy(n_obs, A)
    theta = np.log(f(pi)).ravel()
    assert abs(exact.objective(mdp, policy, theta) - float(J)) <= 1e-12
    for method in ("pg_theorem", "autograd"):
        np.testing.assert_allclose(exact.gradient(mdp, policy, theta, method=method),
                                   f(G).ravel(), rtol=0, atol=1e-12)


@given(pst.mdps(max_states=3, max_actions=3, horizon=(1, 4)), st.data())
@settings(max_examples=20)
def test_extreme_logits_give_finite_objective_and_gradient(mdp, data):
    policy = pgmath.SoftmaxPolicy(mdp.n_states, mdp.n_actions)
    theta = np.array(data.draw(st.lists(st.sampled_from([-1e3, 0.0, 1e3]),
                                        min_size=policy.n_params, max_size=policy.n_params)))
    J = exact.objective(mdp, policy, theta)
    assert np.isfinite(J)
    for method in ("pg_theorem", "autograd"):
        g = exact.gradient(mdp, policy, theta, method=method)
        assert np.all(np.isfinite(g))
    # at ±1e3 the policy is deterministic in float: J equals the argmax policy's value
    # (ties at 0 share the mass equally), computed by plain enumeration
    pi = ref.softmax(theta.reshape(mdp.n_states, mdp.n_actions))
    J_ref, _ = ref.objective_and_gradient(mdp.P, mdp.R, mdp.p0, pi, mdp.horizon, mdp.discount)
    assert J == pytest.approx(J_ref, abs=1e-9)


def test_gradient_rejects_unknown_method_and_policy_tables():
    mdp = pgmath.environments.bandit()
    pol = pgmath.SoftmaxPolicy(1, 3)
    with pytest.raises(ValueError, match="method"):
        exact.gradient(mdp, pol, np.zeros(3), method="finite_differences")
    with pytest.raises(pgmath.InvalidPolicyError, match="parameterised"):
        exact.gradient(mdp, np.ones((1, 3)) / 3, None)


@given(pst.mdps(max_states=3, max_actions=2, horizon=(1, 4), rewards_next_state=False),
       st.data())
@settings(max_examples=20)
def test_rl4_objective_is_smooth_even_for_indicator_rewards(mdp, data):
    """RL-4: with a 0/1 indicator reward 1[r(s,a) > 0], J(θ) is still smooth: the autograd
    Hessian exists and equals central differences of the (pg_theorem) gradient; with a
    deterministic argmax policy J jumps instead."""
    import autograd
    from pgmath.exact.objective import objective_from_table
    m = pgmath.TabularMDP(mdp.P, (mdp.R > 0).astype(float), mdp.p0, horizon=mdp.horizon)
    policy = pgmath.SoftmaxPolicy(m.n_states, m.n_actions)
    theta = data.draw(pst.thetas(policy, allow_extreme=False))
    H = autograd.hessian(lambda th: objective_from_table(m, policy.state_probs(m, th)))(theta)
    assert np.all(np.isfinite(H))
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    fd = np.stack([ref.central_differences(lambda th: exact.gradient(m, policy, th)[i], theta)
                   for i in range(theta.size)])
    np.testing.assert_allclose(H, fd, atol=1e-6)


def test_rl4_deterministic_policy_objective_jumps():
    """The condition of RL-4 matters: J(argmax θ) is a step function of θ (bandit by hand)."""
    mdp = pgmath.environments.bandit((0.0, 1.0))

    def J_argmax(x):
        return exact.objective(mdp, np.eye(2)[[int(np.argmax([0.0, x]))]])

    assert J_argmax(-1e-9) == 0.0 and J_argmax(1e-9) == 1.0
    pol = pgmath.SoftmaxPolicy(1, 2)
    assert abs(exact.objective(mdp, pol, np.array([0, 1e-9]))
               - exact.objective(mdp, pol, np.array([0, -1e-9]))) < 1e-9


@given(pst.problems(max_states=2, max_actions=2, horizon=(1, 3), allow_extreme=False),
       st.data())
@settings(max_examples=20)
def test_rl11_off_policy_reuse_needs_importance_weights(problem, data):
    """RL-11: from θ_b's trajectories, the importance-weighted estimator's exact mean is
    ∇J(θ) (the pg_theorem route), while the unweighted on-policy estimator on the same
    samples has mean ∇J(θ) only when θ = θ_b (here θ_b + offset)."""
    from pgmath.claims import rl
    mdp, policy, theta_b = problem
    theta = theta_b + np.array(data.draw(st.lists(st.floats(-1, 1), min_size=theta_b.size,
                                                  max_size=theta_b.size)))
    g, g_is, g_reuse = rl.off_policy_gradients(mdp, policy, theta, theta_behaviour=theta_b)
    np.testing.assert_allclose(g_is, g, atol=1e-10)
    g0, g_is0, g_reuse0 = rl.off_policy_gradients(mdp, policy, theta_b, theta_behaviour=theta_b)
    np.testing.assert_allclose(g_reuse0, g0, atol=1e-10)


def test_rl11_stale_samples_bias_the_on_policy_estimator():
    """A one-step bandit with means (0, 1), θ_b = 0, θ = (0, 2), π₁ = e²/(1 + e²), by hand:
    ∂J/∂θ_a = π_a (r_a − J), so ∇J(θ) = (−π₀π₁, π₁π₀); reusing θ_b's samples without
    weights gives Σ_a ½ r_a ψ_θ(a) = ½ (e₁ − π_θ) = ½ (−π₀, π₀) instead."""
    from pgmath.claims import rl
    mdp = pgmath.environments.bandit((0.0, 1.0))
    pol = pgmath.SoftmaxPolicy(1, 2)
    g, g_is, g_reuse = rl.off_policy_gradients(mdp, pol, np.array([0.0, 2.0]),
                                               theta_behaviour=np.zeros(2))
    p1 = np.exp(2) / (1 + np.exp(2))
    np.testing.assert_allclose(g, [-p1 * (1 - p1), p1 * (1 - p1)], atol=1e-12)
    np.testing.assert_allclose(g_is, g, atol=1e-12)
    np.testing.assert_allclose(g_reuse, [-0.5 * (1 - p1), 0.5 * (1 - p1)], atol=1e-12)
