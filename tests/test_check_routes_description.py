"""Route by description (issue 14, item 2): an estimator with ``step_weights`` (importance-
ratio powers included) gets the exact moment-recursion route whoever wrote it; nothing is
recognised by name.

The user's estimators here are written from scratch with numpy (not wrappers of the
built-ins); the expected values come from independent routes: ∇J(θ) by the policy-gradient
theorem (exact.gradient) for the unbiased per-decision form, and enumeration of every
trajectory under the behaviour on a small horizon for the moments themselves.
"""
import numpy as np
import pytest

import pgmath
from pgmath.environments import random_mdp
from pgmath import check_routes as cr
from pgmath.check.recursion_moments import recursion_moments
from pgmath.errors import EstimatorError, PgmathError
from pgmath.exact.recursion import StepWeights


def problem(seed, S=2, A=2, T=50, discount=0.95):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, S, A, T, discount=discount)
    pol = pgmath.SoftmaxPolicy(S, A)
    th = rng.normal(size=S * A)
    return mdp, pol, th, th + 0.3 * rng.normal(size=S * A)


def my_per_decision_is(batch, policy, theta):
    """A user's per-decision importance sampling: Σ_t ψ'_t Σ_{t'≥t} γ^{t'} r_{t'} ρ_{0:t'}."""
    lp = np.asarray(policy.log_probs(theta))[batch.inputs, batch.actions]
    w = np.exp(np.cumsum(lp - batch.behaviour_log_probs, axis=1))          # ρ_{0:t}
    r = batch.rewards * batch.discount ** np.arange(batch.horizon) * w
    inner = np.cumsum(r[:, ::-1], axis=1)[:, ::-1]
    psi = policy.score(theta)[batch.inputs, batch.actions]
    return np.einsum("ntd,nt->nd", psi, inner)


my_per_decision_is.step_weights = lambda T, g: StepWeights.make(
    T, kappa=1.0, alpha=g ** np.arange(T), ratio_powers=(1, 1, 1, 0))


def my_double_ratio_is(batch, policy, theta):
    """The same with the current ratio counted twice, Σ_t ψ'_t ρ_t Σ_{t'≥t} γ^{t'} r_{t'} ρ_{0:t'}:
    biased (the notes' literal §4.4 form)."""
    lp = np.asarray(policy.log_probs(theta))[batch.inputs, batch.actions]
    lr = lp - batch.behaviour_log_probs
    r = batch.rewards * batch.discount ** np.arange(batch.horizon) * np.exp(np.cumsum(lr, axis=1))
    inner = np.exp(lr) * np.cumsum(r[:, ::-1], axis=1)[:, ::-1]
    return np.einsum("ntd,nt->nd", policy.score(theta)[batch.inputs, batch.actions], inner)


my_double_ratio_is.step_weights = lambda T, g: StepWeights.make(
    T, kappa=1.0, alpha=g ** np.arange(T), ratio_powers=(1, 1, 2, 0))


def test_users_offpolicy_estimator_is_decided_exactly_at_T50():
    """T = 50 (4^50 trajectories): the user's unbiased per-decision form passes on the
    recursion route, its exact mean is ∇J(θ); the double-ratio form fails with a bias
    far above what the route can detect; the same code without a description (a black box)
    has no exact route."""
    mdp, pol, th, tb = problem(0)
    assert pgmath.count_trajectories(mdp, pol, tb) > 10 ** 29
    assert cr.recursion_route(my_per_decision_is, mdp, pol, th, theta_behaviour=tb) == "off-policy recursion"
    ok = pgmath.check_unbiased(my_per_decision_is, mdp, pol, th, theta_behaviour=tb)
    assert ok.passed and ok.method == "recursion" and ok.n == 0, ok.report
    assert "off-policy" in ok.report
    rm = recursion_moments(my_per_decision_is, mdp, pol, th, theta_behaviour=tb)
    grad = pgmath.exact.gradient(mdp, pol, th)
    np.testing.assert_allclose(rm.mean, grad, rtol=1e-9, atol=1e-10 * np.abs(grad).max())
    bad = pgmath.check_unbiased(my_double_ratio_is, mdp, pol, th, theta_behaviour=tb)
    assert bad.method == "recursion" and not bad.passed, bad.report
    assert bad.max_abs_bias > 1e6 * bad.detectable_bias, bad.report

    def black_box(batch, policy, theta):
        return my_per_decision_is(batch, policy, theta)

    assert cr.recursion_route(black_box, mdp, pol, th, theta_behaviour=tb) is None
    with pytest.raises(PgmathError, match="recursion"):
        pgmath.check_unbiased(black_box, mdp, pol, th, theta_behaviour=tb,
                              method="recursion")


def test_users_description_agrees_with_enumeration_under_the_behaviour():
    """On a small horizon the recursion route's moments of the user's estimators equal
    enumeration of every behaviour trajectory with the user's own code (1e-10), and the
    route's range covers every trajectory."""
    mdp, pol, th, tb = problem(1, S=3, T=4)
    batch, p = pgmath.enumerate_trajectories(mdp, pol, tb)
    p = p / p.sum()
    for est in (my_per_decision_is, my_double_ratio_is):
        g = est(batch, pol, th)
        m = p @ g
        cov = ((g - m) * p[:, None]).T @ (g - m)
        rm = recursion_moments(est, mdp, pol, th, theta_behaviour=tb)
        scale = np.abs(cov + np.outer(m, m)).max()
        assert np.abs(rm.mean - m).max() <= 1e-10 * np.sqrt(scale)
        assert np.abs(rm.cov - cov).max() <= 1e-10 * scale
        assert np.all(np.abs(rm.mean - m) <= rm.slack)
        assert np.all(rm.bound >= np.abs(g).max(axis=0))


def test_a_description_that_lies_is_refused_under_the_behaviour():
    """The description is checked against the code on behaviour samples (with their
    log-ratios): the per-decision code described as the double-ratio form is refused."""
    mdp, pol, th, tb = problem(2, T=20)

    def liar(batch, policy, theta):
        return my_per_decision_is(batch, policy, theta)

    liar.step_weights = my_double_ratio_is.step_weights
    with pytest.raises(EstimatorError, match="step_weights does not describe"):
        pgmath.check_unbiased(liar, mdp, pol, th, theta_behaviour=tb)


def test_an_onpolicy_estimator_fed_behaviour_samples_is_decided_exactly():
    """REINFORCE at θ on trajectories of θ_b: its description (no ratios) gives its exact
    moments under the behaviour, so the check decides exactly that it is biased for ∇J(θ)
    (its mean is E_θb[g_θ], checked against enumeration on a small horizon)."""
    mdp, pol, th, tb = problem(3, T=30)
    res = pgmath.check_unbiased(pgmath.estimators.reinforce, mdp, pol, th, theta_behaviour=tb)
    assert res.method == "recursion" and not res.passed, res.report
    small = problem(3, T=3)
    batch, p = pgmath.enumerate_trajectories(small[0], small[1], small[3])
    g = pgmath.estimators.reinforce(batch, small[1], small[2])
    rm = recursion_moments(pgmath.estimators.reinforce, small[0], small[1], small[2],
                           theta_behaviour=small[3])
    np.testing.assert_allclose(rm.mean, (p / p.sum()) @ g, atol=1e-12)
