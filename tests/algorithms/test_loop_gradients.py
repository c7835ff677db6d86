"""The learning loops' gradients, checked for unbiasedness by the exact route (issue 11, item 3).

A learning curve cannot see a biased gradient: on the chain, REINFORCE with a baseline
averaged over time within each trajectory still has cosine 0.996 with ∇J and learns.
So each sampled loop's gradient is the row mean of a public estimator
(:data:`pgmath.algorithms.policy_gradient.GRADIENT_ESTIMATORS`), every such estimator is
decided unbiased exactly (:func:`pgmath.check_unbiased` enumerates every ordered batch of a
batch-coupled estimator), and each loop is tied to its estimator by replaying its first
steps on the same batches. DAgger's rounds are checked against population DAgger the
same way: exact means by enumeration, and a Bernstein bound (false-failure probability
≤ 1e-9) on the sampled rounds.
"""
import numpy as np
import pytest

import pgmath
from pgmath.environments import random_mdp, random_problem
from pgmath import estimators as E
from pgmath import exact
from pgmath.algorithms import behavioural_cloning as bc
from pgmath.algorithms import policy_gradient as pg
from pgmath.algorithms.dagger import dagger
from pgmath.errors import PgmathError

ALPHA = 1e-9  # false-failure probability of the one statistical test here (DAgger rounds)


def _small(pomdp: bool = False, seed: int = 0):
    """S = A = 2, T = 2, γ = 0.9, dense random dynamics: 16 trajectories (64 for the POMDP),
    so every ordered batch of 2 or 3 can be enumerated."""
    return random_problem(np.random.default_rng(seed), 2, 2, 2, discount=0.9, pomdp=pomdp)


def _exact(res) -> bool:
    """Decided exactly by enumeration: nothing sampled, tolerance at rounding level."""
    return res.guaranteed and res.n > 0 and res.detectable_bias < 1e-9 and res.method != "bernstein"


@pytest.mark.parametrize("pomdp", [False, True])
@pytest.mark.parametrize("name", sorted(pg.GRADIENT_ESTIMATORS))
def test_every_loop_gradient_is_unbiased_by_the_exact_route(name, pomdp):
    """E[ĝ] = ∇J(θ) exactly (enumeration of every ordered batch; tolerance: rounding only),
    at batch sizes 2 and 3 (2 for the POMDP)."""
    mdp, pol, th = _small(pomdp, seed=3)
    est = pg.GRADIENT_ESTIMATORS[name]
    sizes = ((2, 3) if not pomdp else (2,)) if E.is_batch_coupled(est) else (16,)
    for b in sizes:
        res = pgmath.check_unbiased(est, mdp, pol, th, batch_size=b)
        assert _exact(res) and res.passed, res.report
        assert np.abs(res.target).max() > 0.05  # a gradient worth estimating


def _psi_G(batch, pol, th):
    psi = E.step_scores(batch, pol, th)
    w = batch.rewards * batch.discount ** np.arange(batch.horizon)
    return psi, np.cumsum(w[:, ::-1], axis=1)[:, ::-1]


@E.batch_coupled
def _batch_mean_baseline(batch, pol, th):
    """The loops' former baseline: b_t the batch mean of G_t, τ_i itself included."""
    psi, G = _psi_G(batch, pol, th)
    return np.einsum("ntd,nt->nd", psi, G - G.mean(axis=0))


def _time_mean_baseline(batch, pol, th):
    """Issue 11's planted change: the baseline averaged over time within each trajectory."""
    psi, G = _psi_G(batch, pol, th)
    return np.einsum("ntd,nt->nd", psi, G - G.mean(axis=1, keepdims=True))


def test_the_exact_check_catches_the_biased_loop_baselines():
    """The same check fails the batch mean that includes τ_i, whose mean is (1 − 1/N) ∇J
    (bias −∇J/N exactly), and the within-trajectory time average."""
    mdp, pol, th = _small(seed=3)
    for b in (2, 3):
        res = pgmath.check_unbiased(_batch_mean_baseline, mdp, pol, th, batch_size=b)
        assert _exact(res) and not res.passed
        np.testing.assert_allclose(res.bias, -res.target / b, atol=1e-12)
    res = pgmath.check_unbiased(_time_mean_baseline, mdp, pol, th)
    assert _exact(res) and not res.passed
    assert res.max_abs_bias > 1e-3


@pytest.mark.parametrize("baseline", [False, True])
def test_reinforce_loop_steps_by_its_estimator(baseline):
    """θ_{k+1} = θ_k + α · mean(GRADIENT_ESTIMATORS[...](batch_k)), batch_k replayed from the
    loop's seed."""
    mdp = pgmath.environments.chain(4, horizon=5)
    pol = pgmath.SoftmaxPolicy(4, 2)
    th0 = np.linspace(-0.5, 0.5, 8)
    run = pg.reinforce(mdp, pol, th0, iterations=3, batch_size=7, step_size=0.3, seed=5,
                       baseline=baseline)
    est = pg.GRADIENT_ESTIMATORS["reinforce_baseline" if baseline else "reinforce"]
    rng, th = np.random.default_rng(5), th0
    for k in range(3):
        batch = pgmath.sample(mdp, pol, th, 7, rng)
        th = th + 0.3 * est(batch, pol, th).mean(axis=0)
        np.testing.assert_allclose(run.thetas[k + 1], th, rtol=0, atol=1e-12)


def test_sampled_npg_and_trpo_loops_step_by_the_leave_one_out_gradient():
    """Sampled NPG: θ₁ = θ₀ + α x with (x, ĝ) = natural_gradient_estimate(batch₀), ĝ the mean of
    the loop's estimator; sampled TRPO: θ₁ = trpo_step_sampled(batch₀).theta, built from the
    same ĝ (TRPOStep.gradient)."""
    mdp = pgmath.environments.chain(4, horizon=5)
    pol = pgmath.SoftmaxPolicy(4, 2)
    th0 = np.linspace(-0.5, 0.5, 8)
    batch = pgmath.sample(mdp, pol, th0, 50, np.random.default_rng(2))
    run = pg.npg(mdp, pol, th0, iterations=1, step_size=0.05, batch_size=50, seed=2)
    x, g = E.natural_gradient_estimate(batch, pol, th0, damping=1e-3)
    np.testing.assert_allclose(g, pg.GRADIENT_ESTIMATORS["npg"](batch, pol, th0).mean(axis=0),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.thetas[1], th0 + 0.05 * x, rtol=0, atol=1e-12)
    run = pg.trpo(mdp, pol, th0, iterations=1, epsilon=0.05, batch_size=50, seed=2)
    step = E.trpo_step_sampled(batch, pol, th0, 0.05, damping=1e-3)
    np.testing.assert_allclose(step.gradient,
                               pg.GRADIENT_ESTIMATORS["trpo"](batch, pol, th0).mean(axis=0),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.thetas[1], step.theta, rtol=0, atol=1e-12)
    # the exact loops use the exact gradient
    st = E.trpo_step_exact(mdp, pol, th0, 0.05)
    np.testing.assert_allclose(st.gradient, exact.gradient(mdp, pol, th0), atol=1e-15)
    run = pg.npg(mdp, pol, th0, iterations=1, step_size=0.05)
    np.testing.assert_allclose(run.thetas[1] - th0, 0.05 * E.natural_gradient(mdp, pol, th0),
                               atol=1e-12)


def test_loops_refuse_a_batch_too_small_for_the_leave_one_out_baseline():
    mdp = pgmath.environments.bandit()
    pol = pgmath.SoftmaxPolicy(1, 3)
    for call in (lambda: pg.reinforce(mdp, pol, np.zeros(3), iterations=1, batch_size=1,
                                      step_size=1.0, baseline=True),
                 lambda: pg.npg(mdp, pol, np.zeros(3), iterations=1, step_size=1.0, batch_size=1),
                 lambda: pg.trpo(mdp, pol, np.zeros(3), iterations=1, epsilon=0.1, batch_size=1)):
        with pytest.raises(PgmathError, match="batch_size must be an int ≥ 2"):
            call()
    assert pg.reinforce(mdp, pol, np.zeros(3), iterations=1, batch_size=1, step_size=1.0).samples == 1


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def test_exact_npg_on_a_bandit_follows_its_closed_form():
    """One-state softmax bandit with means r: ∇J = π ⊙ (r − J) and F = diag π − ππᵀ, so
    F (r − r̄1) = π ⊙ (r − J) − π πᵀ(r − J) = ∇J, and r − r̄1 ⊥ null(F) = span(1):
    F⁺∇J = r − r̄1 exactly. Fixed α: θ_k = θ₀ + kα(r − r̄1), J_k = Σ_a softmax(θ₀ + kαr)_a r_a.
    KL budget ε: gᵀF⁺g = Σ_a π_a (r_a − J)(r_a − r̄) = Var_π(r), so each step is
    √(2ε / Var_{π_k}(r)) (r − r̄1)."""
    mdp = pgmath.environments.bandit()
    r = mdp.r[0]
    pol = pgmath.SoftmaxPolicy(1, r.size)
    th0 = np.array([0.3, -0.2, 0.1])
    K, a = 12, 0.7
    res = pg.npg(mdp, pol, th0, iterations=K, step_size=a)
    for k in range(K + 1):
        np.testing.assert_allclose(res.thetas[k], th0 + k * a * (r - r.mean()), rtol=0, atol=1e-12)
        assert res.objectives[k] == pytest.approx(_softmax(th0 + k * a * r) @ r, abs=1e-13)
    eps = 0.02
    res = pg.npg(mdp, pol, th0, iterations=K, epsilon=eps)
    th = th0.copy()
    for k in range(K):
        pi = _softmax(th)
        th = th + np.sqrt(2 * eps / (pi @ (r - pi @ r) ** 2)) * (r - r.mean())
        np.testing.assert_allclose(res.thetas[k + 1], th, rtol=1e-10, atol=1e-12)
    assert res.objectives[-1] > 0.79 and np.all(np.diff(res.objectives) > 0)


# -- DAgger: each round against population DAgger -----------------------------------------
def _il_problem():
    """S = 3, A = 2, T = 3 with stochastic dynamics; the expert from optimal control."""
    rng = np.random.default_rng(4)
    mdp = random_mdp(rng, 3, 2, 3, concentration=0.7)
    return mdp, bc.expert_policy(mdp)


def _bc_gradient_rows(states, mdp, expert, pol, th) -> np.ndarray:
    """``[n, d]`` per trajectory Σ_t ψ_θ(s_t, π*_t(s_t)): the gradient of the behavioural-
    cloning log-likelihood Σ_t log π_θ(label_t | s_t) that DAgger's learner maximises."""
    labels = bc.expert_labels(mdp, expert)  # [T, S]
    T = states.shape[1]
    acts = labels[np.arange(T)[None, :], states]
    return np.asarray(pol.score(th))[states, acts].sum(axis=1)


def _enumerated_moments(mdp, collector, expert, pol, th):
    """Exact mean ``[d]``, variance ``[d]`` and range max|g − mean| ``[d]`` of the per-trajectory
    BC gradient under ``collector``, by enumerating its trajectories."""
    batch, prob = pgmath.enumerate_trajectories(mdp, collector)
    g = _bc_gradient_rows(batch.states, mdp, expert, pol, th)
    mean = prob @ g
    return mean, prob @ (g - mean) ** 2, np.abs(g - mean).max(axis=0)


def test_population_dagger_rounds_are_the_expected_sampled_rounds():
    """Population DAgger (rng=None) weights every (t, s) by n p(s_t = s) under the collecting
    policy; the BC gradient of that round is n × the exact mean of the per-trajectory BC
    gradient of trajectories of the collector (enumeration, an independent route)."""
    mdp, expert = _il_problem()
    pol = pgmath.SoftmaxPolicy(3, 2)
    th = np.array([0.2, -0.1, 0.4, 0.0, -0.3, 0.5])
    n = 10
    its = dagger(mdp, expert, n_rounds=2, n_trajectories=n)
    collectors = [expert] + [it.learner for it in its[:-1]]
    size = mdp.horizon * mdp.n_states
    for k, (it, col) in enumerate(zip(its, collectors)):
        s, a, w = (x[k * size:(k + 1) * size] for x in it.data)
        pop = np.sum(w[:, None] * np.asarray(pol.score(th))[s, a], axis=0) / n
        mean, _, _ = _enumerated_moments(mdp, col, expert, pol, th)
        np.testing.assert_allclose(pop, mean, rtol=0, atol=1e-12)


def test_sampled_dagger_rounds_are_unbiased_for_population_dagger():
    """Each sampled round k, given the learner that collected it, has a BC gradient whose mean
    is the population round's (previous test); the realised round lies within Bernstein's
    bound of it: per coordinate ε = bL/(3n) + √((bL/(3n))² + 2σ²L/n), L = ln(2 d K / α),
    σ² and b the exact variance and range (enumeration), a union over the d coordinates and
    K rounds, so a correct DAgger fails with probability ≤ α = 1e-9. A round collected by
    the wrong policy (the uniform one) lies outside the bound."""
    mdp, expert = _il_problem()
    pol = pgmath.SoftmaxPolicy(3, 2)
    th = np.array([0.2, -0.1, 0.4, 0.0, -0.3, 0.5])
    n, T = 4000, mdp.horizon
    its = dagger(mdp, expert, n_rounds=2, n_trajectories=n, rng=np.random.default_rng(1))
    collectors = [expert] + [it.learner for it in its[:-1]]
    K, d = len(its), pol.n_params
    L = np.log(2 * d * K / ALPHA)
    rows = n * T
    for k, (it, col) in enumerate(zip(its, collectors)):
        s, a, w = (x[k * rows:(k + 1) * rows] for x in it.data)
        assert np.all(w == 1)
        states = s.reshape(n, T)
        assert np.array_equal(a.reshape(n, T),
                              bc.expert_labels(mdp, expert)[np.arange(T)[None, :], states])
        g = _bc_gradient_rows(states, mdp, expert, pol, th).mean(axis=0)
        mean, var, b = _enumerated_moments(mdp, col, expert, pol, th)
        c = b * L / (3 * n)
        eps = c + np.sqrt(c * c + 2 * var * L / n)
        assert np.all(np.abs(g - mean) <= eps), (k, g - mean, eps)
        wrong, _, _ = _enumerated_moments(mdp, np.full((3, 2), 0.5), expert, pol, th)
        assert np.max(np.abs(g - wrong) - eps) > 0
