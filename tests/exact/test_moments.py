"""Exact moments of estimators, and the claims PG-1..PG-10, PG-22 they decide.

Expected values come from independent routes: ∇J by autograd through the forward J
(and by the PG theorem), hand-computed rationals on the named examples of
:mod:`pgmath.regressions` (derivations in their docstrings and below), enumeration of
every N-tuple of trajectories for batch-coupled estimators, and a Bernstein test with a
false-failure probability of at most 1e-6 for N = 20.
"""
import math
import random

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import pgmath
from pgmath.environments import random_problem
from pgmath import estimators as E
from pgmath import exact as X
from pgmath import regressions
from pgmath import strategies as pst
from pgmath.errors import EstimatorError, TooManyTrajectoriesError
from pgmath.claims.pg_onpolicy import trajectory_score_gap

SMALL = dict(max_states=3, max_actions=2, horizon=(1, 3), discount=st.sampled_from([1.0, 0.9]))


def _tol(mdp, pol, th):
    T = mdp.horizon
    return 1e-10 * (1.0 + T * T * np.abs(mdp.R).max() * np.abs(pol.score(th)).max())


def _enumerated(mdp, pol, th):
    batch, p = pgmath.enumerate_trajectories(mdp, pol, th)
    return batch, p / p.sum()


# -- PG-1, PG-3, PG-4, PG-6, PG-8: unbiasedness ---------------------------------------------------
@given(pst.problems(**SMALL))
def test_reinforce_mean_is_the_gradient(problem):
    """PG-1, PG-3: E[(Σψ) r(τ)] (enumeration) = ∇J by autograd and by the PG theorem."""
    mdp, pol, th = problem
    m, _ = X.estimator_moments(E.reinforce, mdp, pol, th, method="enumeration")
    tol = _tol(mdp, pol, th)
    np.testing.assert_allclose(m, X.gradient(mdp, pol, th, method="autograd"), atol=tol)
    np.testing.assert_allclose(m, X.gradient(mdp, pol, th), atol=tol)


@settings(max_examples=15)
@given(pst.problems(max_states=2, max_actions=2, horizon=(1, 3)),
       pst.problems(pomdp=True, max_states=2, max_actions=2, max_observations=2, horizon=(1, 2)))
def test_trajectory_score_drops_the_dynamics(mdp_problem, pomdp_problem):
    """PG-2: autograd of the full log p_θ(τ) = Σ_t ψ_t on every trajectory."""
    assert trajectory_score_gap(*mdp_problem) < 1e-10
    assert trajectory_score_gap(*pomdp_problem) < 1e-10


@given(pst.problems(pomdp=True, max_states=3, max_actions=2, max_observations=2,
                    horizon=(1, 3), discount=st.sampled_from([1.0, 0.8])))
def test_observation_reinforce_is_unbiased_on_pomdps(problem):
    """PG-4: REINFORCE with ψ(a_t|o_t) (recursion and enumeration) = autograd ∇J of the
    observation policy; so are reward-to-go, the exact-V baseline/critic forms, and any
    baseline V(o_t) over observations."""
    mdp, pol, th = problem
    grad = X.gradient(mdp, pol, th, method="autograd")
    tol = _tol(mdp, pol, th)
    V_obs = np.linspace(-1, 1, mdp.n_observations)
    for est in (E.reinforce, E.reward_to_go, E.state_baseline(mdp, pol, th),
                E.q_critic(mdp, pol, th), E.advantage_critic(mdp, pol, th),
                E.state_baseline(V_obs, over="observations")):
        np.testing.assert_allclose(X.estimator_moments(est, mdp, pol, th)[0], grad, atol=tol)
    m, _ = X.estimator_moments(E.reinforce, mdp, pol, th, method="enumeration")
    np.testing.assert_allclose(m, grad, atol=tol)


@given(pst.problems(**SMALL), st.floats(0.0, 1.0))
def test_reward_to_go_mean_is_the_gradient(problem, lam):
    """PG-6 and the other unbiased forms (γ^{t'} from the start, exact V/Q/A, GAE(λ)
    with the exact V and γ^t weights): exact mean = autograd ∇J_γ."""
    mdp, pol, th = problem
    grad = X.gradient(mdp, pol, th, method="autograd")
    tol = _tol(mdp, pol, th)
    m, _ = X.estimator_moments(E.reward_to_go, mdp, pol, th, method="enumeration")
    np.testing.assert_allclose(m, grad, atol=tol)
    for est in (E.state_baseline(mdp, pol, th), E.q_critic(mdp, pol, th),
                E.advantage_critic(mdp, pol, th), E.gae(mdp, lam, pol, th, discounting="start")):
        np.testing.assert_allclose(X.estimator_moments(est, mdp, pol, th)[0], grad, atol=tol)


@given(pst.problems(**SMALL), st.floats(0.0, 1.0))
def test_step_discount_bias_is_exact(problem, lam):
    """γ^{t'−t}: mean − ∇J_γ = discount_bias (closed form via marginals and Q) for
    reward-to-go, the state baseline, the Q critic and GAE(λ) with the exact V."""
    mdp, pol, th = problem
    mdp = mdp.with_discount(0.7)
    want = X.gradient(mdp, pol, th, method="autograd") + X.discount_bias(mdp, pol, th)
    tol = _tol(mdp, pol, th)
    m, _ = X.estimator_moments(E.reward_to_go_step_discount, mdp, pol, th, method="enumeration")
    np.testing.assert_allclose(m, want, atol=tol)
    for est in (E.state_baseline(mdp, pol, th, discounting="step"),
                E.q_critic(mdp, pol, th, discounting="step"),
                E.gae(mdp, lam, pol, th, discounting="step")):
        np.testing.assert_allclose(X.estimator_moments(est, mdp, pol, th)[0], want, atol=tol)


def test_step_discount_bandit_numbers():
    """Hand values: ∇J_γ = (1 + γ)(1/4, −1/4) = (3/8, −3/8), step mean (1/2, −1/2)."""
    mdp, pol, th = regressions.step_discount_bandit()
    m, _ = X.estimator_moments(E.reward_to_go_step_discount, mdp, pol, th, method="enumeration")
    np.testing.assert_allclose(m, [0.5, -0.5], atol=1e-15)
    np.testing.assert_allclose(X.discount_bias(mdp, pol, th), [0.125, -0.125], atol=1e-15)


@given(pst.problems(**SMALL), st.floats(-5.0, 5.0), st.integers(0, 2 ** 32 - 1))
def test_constant_baselines_are_unbiased(problem, b, seed):
    """PG-8: E[Σ_t ψ_t (W_t − b)] = ∇J for scalar and per-component b, both bases."""
    mdp, pol, th = problem
    grad = X.gradient(mdp, pol, th, method="autograd")
    vec = np.random.default_rng(seed).normal(size=pol.n_params) * 3
    tol = _tol(mdp, pol, th) * (1 + abs(b) + 3 * np.abs(vec).max())
    for est in (E.constant_baseline(b), E.constant_baseline(vec),
                E.constant_baseline(b, base="reward_to_go")):
        m, _ = X.estimator_moments(est, mdp, pol, th, method="enumeration")
        np.testing.assert_allclose(m, grad, atol=tol)


# -- PG-5: causality ------------------------------------------------------------------------------
def test_causality_term_as_written_is_not_zero():
    """PG-5 false: T = 1 bandit, rewards (1, 0), π = (1/2, 1/2): the term is ψ₀ r₀ with
    ψ₀ = (1/2, −1/2) w.p. 1/2 (r = 1) and (−1/2, 1/2) w.p. 1/2 (r = 0): mean (1/4, −1/4)."""
    mdp, pol, th = regressions.two_armed_bandit()
    m, _ = X.estimator_moments(E.causality_term(inclusive=True), mdp, pol, th,
                               method="enumeration")
    np.testing.assert_allclose(m, [0.25, -0.25], atol=1e-15)


@given(pst.problems(**SMALL))
def test_strict_past_term_has_mean_zero(problem):
    """The corrected PG-5: E[Σ_t ψ_t Σ_{t'<t} γ^{t'} r_{t'}] = 0; and the inclusive sum
    has mean Σ_t γ^t Σ_s d_t(s) Σ_a ∇π(a|s) r(s, a) (marginals, a separate route)."""
    mdp, pol, th = problem
    tol = _tol(mdp, pol, th)
    m, _ = X.estimator_moments(E.causality_term(inclusive=False), mdp, pol, th,
                               method="enumeration")
    np.testing.assert_allclose(m, 0.0, atol=tol)
    d = X.state_marginals(mdp, pol, th)
    W = np.einsum("t,ts,sa->sa", mdp.discount ** np.arange(mdp.horizon), d, mdp.r)
    m_in, _ = X.estimator_moments(E.causality_term(inclusive=True), mdp, pol, th,
                                  method="enumeration")
    np.testing.assert_allclose(m_in, pol.state_vjp(mdp, th, W), atol=tol)


# -- PG-7: reward-to-go variance -------------------------------------------------------------------
def test_reward_to_go_variance_counterexample():
    """PG-7 false. Hand values (regressions.past_reward_as_baseline): state-1 components
    of REINFORCE are ψ₁(r₁ − 1/2) = 1/4 always (variance 0); of reward-to-go ψ₁ r₁ ∈
    {1/2, 0} equally likely (variance 1/16); state-0 components are ±1/4 in both (1/16)."""
    mdp, pol, th = regressions.past_reward_as_baseline()
    for method in ("enumeration", "recursion"):
        _, c1 = X.estimator_moments(E.reinforce, mdp, pol, th, method=method)
        _, c2 = X.estimator_moments(E.reward_to_go, mdp, pol, th, method=method)
        np.testing.assert_allclose(np.diag(c1), [1 / 16, 1 / 16, 0, 0], atol=1e-15)
        np.testing.assert_allclose(np.diag(c2), [1 / 16] * 4, atol=1e-15)
        assert np.linalg.eigvalsh(c1 - c2).min() < -0.01       # not even the PSD order


def _rtg_worse(problem) -> bool:
    mdp, pol, th = problem
    _, c1 = X.estimator_moments(E.reinforce, mdp, pol, th)
    _, c2 = X.estimator_moments(E.reward_to_go, mdp, pol, th)
    return bool(np.any(np.diag(c1) < np.diag(c2) - 1e-9))


def test_hypothesis_finds_reward_to_go_variance_counterexample():
    """PG-7: a Hypothesis search over random MDPs finds a component where reward-to-go
    has the larger variance, and the found example really is one (re-checked by
    enumeration)."""
    found = find(pst.problems(max_states=2, max_actions=2, horizon=2, allow_extreme=False,
                              rewards_next_state=False),
                 _rtg_worse, settings=settings(max_examples=3000, phases=[Phase.generate]),
                 random=random.Random(7))   # a fixed search: the same examples in every profile
    mdp, pol, th = found
    _, c1 = X.estimator_moments(E.reinforce, mdp, pol, th, method="enumeration")
    _, c2 = X.estimator_moments(E.reward_to_go, mdp, pol, th, method="enumeration")
    assert np.any(np.diag(c1) < np.diag(c2) - 1e-9)


# -- PG-9: the batch-average baseline -------------------------------------------------------------
def test_batch_average_mean_by_enumerating_tuples():
    """PG-9 false: E[ĝ_N] = (1 − 1/N)∇J (batch average), ∇J (leave-one-out), checked by
    enumerating every pair and triple; covariances equal the U-statistic closed form."""
    for mdp, pol, th in (regressions.two_armed_bandit(), _tiny_random_problem(),
                         _tiny_random_problem(pomdp=True),
                         regressions.contextual_bandit_average_baseline()):
        grad = X.gradient(mdp, pol, th, method="autograd")
        for n in (1, 2, 3):
            m, c = X.coupled_moments(E.batch_average_baseline, mdp, pol, th, n)
            np.testing.assert_allclose(m, (1 - 1 / n) * grad, atol=1e-14)
            mc, cc = X.batch_average_moments(mdp, pol, th, n)
            np.testing.assert_allclose(mc, m, atol=1e-14)
            np.testing.assert_allclose(cc, c, atol=1e-14)
            if n >= 2:
                m, c = X.coupled_moments(E.leave_one_out_baseline, mdp, pol, th, n)
                np.testing.assert_allclose(m, grad, atol=1e-14)
                mc, cc = X.batch_average_moments(mdp, pol, th, n, leave_one_out=True)
                np.testing.assert_allclose(cc, c, atol=1e-14)
    mdp, pol, th = regressions.two_armed_bandit()
    np.testing.assert_allclose(X.coupled_moments(E.batch_average_baseline, mdp, pol, th, 2)[0],
                               [0.125, -0.125], atol=1e-15)


def _tiny_random_problem(pomdp=False):
    rng = np.random.default_rng(9)
    if pomdp:   # T = 1: 2 states × 2 observations × 2 actions = 8 trajectories
        return random_problem(rng, 2, 2, 1, pomdp=True)
    return random_problem(rng, 2, 2, 2, discount=0.9)


def bernstein_halfwidth(k: int, var: float, bound: float, alpha: float, d: int) -> float:
    """ε with P(max_j |mean_j − μ_j| ≥ ε) ≤ α for k i.i.d. draws with |X_j − μ_j| ≤ bound
    and Var X_j ≤ var (Bernstein, union bound over d components):
    2d exp(−kε²/(2var + 2 bound ε/3)) = α."""
    L = math.log(2 * d / alpha)
    a = bound * L / 3
    return (a + math.sqrt(a * a + 2 * k * var * L)) / k


def test_batch_average_mean_statistically_at_n_20():
    """PG-9 at N = 20 by sampling. Bandit (rewards (1, 0), π uniform): each batch estimate
    ĝ₂₀ has components in [−1/2, 1/2] (|ψ| = 1/2, |r − b| ≤ 1), so |ĝ − E ĝ| ≤ 1, and its
    exact variance is batch_average_moments (itself checked against tuple enumeration).
    Sample size: K batches so that the Bernstein half-width ε at α = 1e-6 is below a third
    of the bias |∇J|/N = 1/80; then the mean must lie within ε of (1 − 1/N)∇J and
    (therefore) farther than 2ε from ∇J. The leave-one-out estimate of the same batches
    (|ĝ − E ĝ| ≤ 1 too) must lie within its own ε of ∇J. Two assertions at α = 5e-7 each:
    false-failure probability ≤ 1e-6 for the test."""
    mdp, pol, th = regressions.two_armed_bandit()
    n, alpha = 20, 5e-7
    grad = X.gradient(mdp, pol, th)
    mean, cov = X.batch_average_moments(mdp, pol, th, n)
    var = float(np.diag(cov).max())
    var_loo = float(np.diag(X.batch_average_moments(mdp, pol, th, n, leave_one_out=True)[1]).max())
    gap = np.abs(grad).max() / n
    k = 1000
    while bernstein_halfwidth(k, var, 1.0, alpha, 2) > gap / 3:
        k += 500
    rng = np.random.default_rng(2024)
    batch = pgmath.sample(mdp, pol, th, n * k, rng)
    est = np.array([E.batch_average_baseline(batch[j * n:(j + 1) * n], pol, th).mean(axis=0)
                    for j in range(k)])
    loo = np.array([E.leave_one_out_baseline(batch[j * n:(j + 1) * n], pol, th).mean(axis=0)
                    for j in range(k)])
    eps = bernstein_halfwidth(k, var, 1.0, alpha, 2)
    assert np.abs(est.mean(axis=0) - mean).max() < eps
    assert np.abs(est.mean(axis=0) - grad).min() > 2 * eps
    assert np.abs(loo.mean(axis=0) - grad).max() < bernstein_halfwidth(k, var_loo, 1.0, alpha, 2)
    assert k <= 20_000


# -- PG-10, PG-22: the optimal constant baseline ---------------------------------------------------
@given(pst.problems(**SMALL), st.floats(-2.0, 2.0))
def test_optimal_baseline_minimises_each_component(problem, shift):
    """PG-10 (first part): b_k = E[Ψ_k² r]/E[Ψ_k²] (computed here from the enumerated
    batch) equals optimal_baseline (recursion), and no other constant (b* + shift, E[r])
    gives a smaller variance in any component."""
    mdp, pol, th = problem
    batch, p = _enumerated(mdp, pol, th)
    Psi, R = E.score_sum(batch, pol, th), batch.returns()
    num, den = p @ (Psi ** 2 * R[:, None]), p @ Psi ** 2
    b = X.optimal_baseline(mdp, pol, th)
    live = den > 1e-12 * max(den.max(), 1e-300)
    np.testing.assert_allclose(b[live], num[live] / den[live],
                               atol=1e-9 * (1 + np.abs(R).max()))
    _, cb = X.estimator_moments(E.constant_baseline(b), mdp, pol, th, method="enumeration")
    tol = _tol(mdp, pol, th) ** 2 * 1e10
    for other in (b + shift, X.objective(mdp, pol, th)):
        _, co = X.estimator_moments(E.constant_baseline(other), mdp, pol, th,
                                    method="enumeration")
        assert np.all(np.diag(cb) <= np.diag(co) + tol)


@given(pst.problems(**SMALL), st.floats(-2.0, 2.0))
def test_scalar_optimal_baseline_minimises_the_trace(problem, shift):
    """With g(τ)² read as ‖Ψ‖², b = E[ΨᵀΨ r]/E[ΨᵀΨ] (from the enumerated batch) is the
    scalar with the smallest trace of the covariance."""
    mdp, pol, th = problem
    batch, p = _enumerated(mdp, pol, th)
    Psi, R = E.score_sum(batch, pol, th), batch.returns()
    n2 = (Psi ** 2).sum(axis=1)
    b = X.optimal_baseline(mdp, pol, th, per_component=False)
    if p @ n2 > 1e-12:
        assert abs(b - (p @ (n2 * R)) / (p @ n2)) <= 1e-9 * (1 + np.abs(R).max())
    tr = np.trace(X.estimator_moments(E.constant_baseline(b), mdp, pol, th)[1])
    tr2 = np.trace(X.estimator_moments(E.constant_baseline(b + shift), mdp, pol, th)[1])
    assert tr <= tr2 + _tol(mdp, pol, th)


def _average_beats_optimal(problem) -> bool:
    mdp, pol, th = problem
    _, cb = X.estimator_moments(E.optimal_constant_baseline(mdp, pol, th), mdp, pol, th)
    _, ca = X.batch_average_moments(mdp, pol, th, 2)
    return bool(np.any(np.diag(ca) < np.diag(cb) / 2 - 1e-9))


def test_hypothesis_finds_batch_average_below_optimal_constant():
    """PG-10: a fixed Hypothesis search finds an MDP where the batch average (N = 2) has a
    smaller variance than b* in some component; re-checked by enumerating all pairs."""
    mdp, pol, th = find(pst.problems(max_states=2, max_actions=2, horizon=(1, 2),
                                     allow_extreme=False, rewards_next_state=False),
                        _average_beats_optimal,
                        settings=settings(max_examples=3000, phases=[Phase.generate]),
                        random=random.Random(8))
    _, cb = X.estimator_moments(E.optimal_constant_baseline(mdp, pol, th), mdp, pol, th,
                                method="enumeration")
    _, ca = X.coupled_moments(E.batch_average_baseline, mdp, pol, th, 2)
    assert np.any(np.diag(ca) < np.diag(cb) / 2 - 1e-9)


def test_sample_optimal_baseline_converges_to_the_exact_one():
    """On every enumerated trajectory, weighted by p_θ(τ) through repetition counts, the
    plug-in b̂ equals the exact b*: here the bandit's b* = E[ψ² r]/E[ψ²] = (1/8)/(1/4) = 1/2."""
    mdp, pol, th = regressions.two_armed_bandit()
    batch, _ = pgmath.enumerate_trajectories(mdp, pol, th)   # two equally likely rows
    np.testing.assert_allclose(E.estimate_optimal_baseline(batch, pol, th), [0.5, 0.5])
    np.testing.assert_allclose(X.optimal_baseline(mdp, pol, th), [0.5, 0.5], atol=1e-15)


def test_batch_average_can_have_smaller_variance_than_optimal_constant():
    """PG-10 (second part) false: regressions.contextual_bandit_average_baseline. By hand,
    the optimal constant baseline for the state-1 parameters is 0 and its rows are 1/2
    (state 1, prob 1/2) or 0: variance 1/16 per trajectory, 1/32 for N = 2; the batch
    average's variance from enumerating all pairs is 3/128."""
    mdp, pol, th = regressions.contextual_bandit_average_baseline()
    b = X.optimal_baseline(mdp, pol, th)
    np.testing.assert_allclose(b[2:], 0.0, atol=1e-15)
    _, cb = X.estimator_moments(E.constant_baseline(b), mdp, pol, th, method="enumeration")
    np.testing.assert_allclose(np.diag(cb)[2:], 1 / 16, atol=1e-15)
    _, ca = X.coupled_moments(E.batch_average_baseline, mdp, pol, th, 2)
    np.testing.assert_allclose(np.diag(ca)[2:], 3 / 128, atol=1e-15)
    for n in (3, 10, 100):
        _, ca = X.batch_average_moments(mdp, pol, th, n)
        assert np.all(np.diag(ca)[2:] < 1 / (16 * n))


@given(pst.problems(**SMALL), st.floats(-3.0, 3.0))
def test_variance_is_the_quadratic_of_the_derivation(problem, beta):
    """PG-22: Var[Ψ_k(r − b)] = Var[Ψ_k r] − 2b E[Ψ_k² r] + b² E[Ψ_k²] (moments from the
    enumerated batch), so the derivative −2E[Ψ_k² r] + 2bE[Ψ_k²] vanishes at b*: the
    variance is symmetric about b*."""
    mdp, pol, th = problem
    batch, p = _enumerated(mdp, pol, th)
    Psi, R = E.score_sum(batch, pol, th), batch.returns()
    e_g2r, e_g2 = p @ (Psi ** 2 * R[:, None]), p @ Psi ** 2
    _, c0 = X.estimator_moments(E.reinforce, mdp, pol, th)
    _, cb = X.estimator_moments(E.constant_baseline(beta), mdp, pol, th)
    tol = 1e-10 * (1 + np.abs(c0).max() + beta ** 2 * e_g2.max())
    np.testing.assert_allclose(np.diag(cb), np.diag(c0) - 2 * beta * e_g2r + beta ** 2 * e_g2,
                               atol=tol)
    b = X.optimal_baseline(mdp, pol, th)
    _, up = X.estimator_moments(E.constant_baseline(b + abs(beta)), mdp, pol, th)
    _, down = X.estimator_moments(E.constant_baseline(b - abs(beta)), mdp, pol, th)
    np.testing.assert_allclose(np.diag(up), np.diag(down), atol=tol)


# -- the API -----------------------------------------------------------------------------------------
def test_moments_api_errors():
    mdp, pol, th = regressions.two_armed_bandit()
    with pytest.raises(EstimatorError, match="batch-coupled"):
        X.estimator_moments(E.batch_average_baseline, mdp, pol, th)
    with pytest.raises(EstimatorError, match="batch size"):
        X.coupled_moments(E.batch_average_baseline, mdp, pol, th, 0)
    with pytest.raises(EstimatorError, match="N ≥ 2"):
        X.batch_average_moments(mdp, pol, th, 1, leave_one_out=True)
    with pytest.raises(TooManyTrajectoriesError, match="2\\^30"):
        X.coupled_moments(E.batch_average_baseline, mdp, pol, th, 30)
    np.testing.assert_allclose(X.batch_average_moments(mdp, pol, th, 1)[1], 0.0)
