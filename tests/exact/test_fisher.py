"""Exact Fisher matrices (notes §4.5, PG-19) against independent routes: enumeration of
every trajectory, autograd Hessians of the KL, and explicit matrix products."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings

import pgmath
from pgmath import exact
from pgmath import strategies as pst
from pgmath.errors import InvalidMDPError, ShapeError


def _traj_score_moments(mdp, policy, theta):
    """E_τ[g gᵀ] with g = Σ_t ψ_t, by enumeration (independent of the state weights)."""
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta)
    g = policy.score(theta)[batch.inputs, batch.actions].sum(axis=1)
    return (g * prob[:, None]).T @ g


@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3)))
@settings(max_examples=25)
def test_trajectory_fisher_equals_enumerated_score_outer_product(problem):
    """F(weighting="trajectory") = E_{p_θ(τ)}[∇log p_θ(τ)∇log p_θ(τ)ᵀ]; expected value by
    enumeration of every trajectory (cross terms included there)."""
    mdp, policy, theta = problem
    F = exact.fisher(mdp, policy, theta, weighting="trajectory")
    np.testing.assert_allclose(F, _traj_score_moments(mdp, policy, theta), atol=1e-10)


@given(pst.problems(pomdp=True, max_states=3, max_actions=2, max_observations=2, horizon=(1, 3)))
@settings(max_examples=20)
def test_trajectory_fisher_on_pomdps(problem):
    """Observation policies: the weights are pushed through O; enumeration decides."""
    mdp, policy, theta = problem
    F = exact.fisher(mdp, policy, theta, weighting="trajectory")
    np.testing.assert_allclose(F, _traj_score_moments(mdp, policy, theta), atol=1e-10)


def test_per_input_fisher_is_the_hessian_of_the_kl():
    """F_x = ∇²_θ' D_KL(π_θ(·|x) ‖ π_θ'(·|x)) at θ' = θ, by autograd (an independent route)."""
    rng = np.random.default_rng(1)
    policy = pgmath.SoftmaxPolicy(3, 3)
    theta = rng.normal(size=9)
    lp = np.asarray(policy.log_probs(theta))

    def kl_x(th, x):
        lq = policy.log_probs(th)
        return anp.sum(anp.exp(lp[x]) * (lp[x] - lq[x]))

    Fx = exact.per_input_fisher(policy, theta)
    for x in range(3):
        H = autograd.hessian(lambda th: kl_x(th, x))(theta)
        np.testing.assert_allclose(Fx[x], H, atol=1e-10)


@given(pst.problems(max_states=4, max_actions=3, horizon=(1, 4)))
@settings(max_examples=25)
def test_fisher_vector_product_equals_matrix_product(problem):
    """F v without forming F equals the explicit F @ v."""
    mdp, policy, theta = problem
    v = np.random.default_rng(0).normal(size=policy.n_params)
    for w in ("trajectory", "average", "discounted"):
        np.testing.assert_allclose(exact.fisher_vector_product(mdp, policy, theta, v, weighting=w),
                                   exact.fisher(mdp, policy, theta, weighting=w) @ v, atol=1e-10)


def test_fisher_vector_product_linear_softmax():
    """A linear-softmax policy with random features: F v = F @ v."""
    rng = np.random.default_rng(2)
    mdp = pgmath.environments.chain(4, horizon=5)
    policy = pgmath.LinearSoftmaxPolicy(rng.normal(size=(4, 2, 3)))
    theta, v = rng.normal(size=3), rng.normal(size=3)
    np.testing.assert_allclose(exact.fisher_vector_product(mdp, policy, theta, v),
                               exact.fisher(mdp, policy, theta) @ v, atol=1e-12)


@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3)))
@settings(max_examples=20)
def test_sample_fisher_estimators_have_exact_expectation_F(problem):
    """E[(1/N)Σ g gᵀ] and E[(1/N)Σ_i Σ_t ψψᵀ] both equal the trajectory Fisher: the exact
    expectation of each one-trajectory estimate, summed over enumerated trajectories."""
    mdp, policy, theta = problem
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta)
    F = exact.fisher(mdp, policy, theta, weighting="trajectory")
    for est in (pgmath.estimators.fisher_estimate, pgmath.estimators.step_fisher_estimate):
        E = sum(p * est(batch[i], policy, theta) for i, p in enumerate(prob))
        np.testing.assert_allclose(E, F, atol=1e-10)


def test_softmax_fisher_is_singular_along_constant_logit_shifts():
    """Adding c to all logits of one state changes nothing: F (that block of ones) = 0."""
    rng = np.random.default_rng(3)
    mdp = pgmath.environments.chain(3, horizon=4)
    policy = pgmath.SoftmaxPolicy(3, 2)
    F = exact.fisher(mdp, policy, rng.normal(size=6))
    for s in range(3):
        e = np.zeros(6)
        e[2 * s:2 * s + 2] = 1.0
        np.testing.assert_allclose(F @ e, 0.0, atol=1e-12)
    assert np.linalg.matrix_rank(F) == 3


def test_weights_average_is_normalised_and_discounted_matches_visitation():
    """'average' sums to 1; 'discounted' equals the engine's discounted visitation."""
    mdp = pgmath.environments.chain(3, horizon=4, discount=0.9)
    policy = pgmath.SoftmaxPolicy(3, 2)
    theta = np.zeros(6)
    assert exact.input_weights(mdp, policy, theta, weighting="average").sum() == pytest.approx(1.0)
    np.testing.assert_allclose(exact.input_weights(mdp, policy, theta, weighting="discounted"),
                               exact.discounted_state_visitation(mdp, policy, theta))


def test_extreme_logits_give_finite_fisher():
    mdp = pgmath.environments.chain(3, horizon=4)
    policy = pgmath.SoftmaxPolicy(3, 2)
    F = exact.fisher(mdp, policy, np.array([1e3, -1e3] * 3))
    assert np.all(np.isfinite(F))


def test_bad_inputs_raise_clear_errors():
    mdp = pgmath.environments.gridworld()  # infinite horizon, γ = 0.9
    policy = pgmath.SoftmaxPolicy(mdp.n_states, 4)
    theta = np.zeros(policy.n_params)
    with pytest.raises(InvalidMDPError, match="diverges"):
        exact.fisher(mdp, policy, theta, weighting="trajectory")
    with pytest.raises(ValueError, match="weighting"):
        exact.fisher(mdp, policy, theta, weighting="uniform")
    with pytest.raises(ShapeError, match="v has shape"):
        exact.fisher_vector_product(mdp, policy, theta, np.zeros(3), weighting="average")


def test_fisher_estimates_need_no_rewards():
    """A batch of states and actions only (no rewards) gives both Fisher estimates; the
    expected values are written out by hand from the tabular softmax score
    ψ(s, a) = e_(s,a) − Σ_b π(b|s) e_(s,b), with π = softmax of the logits row s."""
    policy = pgmath.SoftmaxPolicy(2, 2)
    theta = np.array([0.0, np.log(3.0), 0.0, 0.0])       # π(·|0) = (1/4, 3/4), π(·|1) = (1/2, 1/2)
    batch = pgmath.Trajectories(np.array([[0, 1], [1, 0]]), np.array([[1, 0], [1, 1]]))
    assert not batch.has_rewards
    pi = np.array([[0.25, 0.75], [0.5, 0.5]])

    def psi(s, a):
        v = np.zeros(4)
        v[2 * s + a] += 1.0
        v[2 * s:2 * s + 2] -= pi[s]
        return v

    rows = [[psi(0, 1), psi(1, 0)], [psi(1, 1), psi(0, 1)]]
    g = [r[0] + r[1] for r in rows]
    np.testing.assert_allclose(pgmath.estimators.fisher_estimate(batch, policy, theta),
                               sum(np.outer(x, x) for x in g) / 2, atol=1e-15)
    np.testing.assert_allclose(pgmath.estimators.step_fisher_estimate(batch, policy, theta),
                               sum(np.outer(p, p) for r in rows for p in r) / 2, atol=1e-15)
    # something that needs the rewards says so, by name
    with pytest.raises(pgmath.MissingRewardsError, match=r"built without rewards"):
        pgmath.estimators.reinforce(batch, policy, theta)
