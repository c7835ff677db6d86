"""The forward moment recursion against enumeration (two independent routes, DESIGN §1).

Enumeration evaluates each estimator on every trajectory and weights by p_θ(τ); the
recursion never lists a trajectory. They must agree to 1e-9 relative to the size of
E[g gᵀ] on random MDPs and POMDPs at horizons 1..5, for every built-in per-trajectory
estimator (and both discountings).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pgmath
from pgmath.environments import random_mdp
from pgmath import estimators as E
from pgmath import exact as X
from pgmath import regressions
from pgmath import strategies as pst
from pgmath.errors import EstimatorError, InvalidArgumentError, InvalidMDPError, ShapeError
from pgmath.exact.recursion import StepWeights, accumulator_moments

REL = 1e-9


def _builtins(mdp, pol, th, seed=0):
    rng = np.random.default_rng(seed)
    T, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    V = X.values(mdp, pol, th)
    out = [E.reinforce, E.reward_to_go, E.reward_to_go_step_discount, E.score_sum,
           E.causality_term(True), E.causality_term(False),
           E.constant_baseline(0.7), E.constant_baseline(rng.normal(size=pol.n_params)),
           E.constant_baseline(-0.3, base="reward_to_go"),
           E.state_baseline(V), E.state_baseline(rng.normal(size=S), discounting="step"),
           E.q_critic(mdp, pol, th), E.advantage_critic(mdp, pol, th, discounting="step"),
           E.gae(V, 0.7), E.gae(rng.normal(size=(T, S)), 0.3, discounting="start")]
    if mdp.is_pomdp:      # baselines and critics over observations
        n_obs = mdp.n_observations
        out += [E.state_baseline(rng.normal(size=(T, n_obs)), over="observations"),
                E.state_baseline(rng.normal(size=n_obs), discounting="step", over="observations"),
                E.q_critic(rng.normal(size=(T, n_obs, A)), over="observations"),
                E.advantage_critic(rng.normal(size=(n_obs, A)), discounting="step",
                                   over="observations")]
    if mdp.R.ndim == 3:   # enumeration then draws s_T, so V_T(s_T) can be bootstrapped
        out.append(E.gae(rng.normal(size=(T + 1, S)), 0.5))
    return out


def _floor(mdp, pol, th) -> float:
    """Squared natural size of a row g: (T · max|ψ| · (T max|r| + max|V|, 1))², times
    1e-14: below it a difference is rounding of terms that cancel exactly."""
    T = mdp.horizon
    psi = np.abs(pol.score(th)).max()
    size = T * psi * (T * max(np.abs(mdp.R).max(), np.abs(X.values(mdp, pol, th)).max()) + 1.0)
    return 1e-14 * size ** 2


def _assert_agree(mdp, pol, th):
    """Enumerate once; for every estimator, moments from the enumerated batch against the
    recursion, to REL relative to max|E[g gᵀ]| (plus the rounding floor)."""
    batch, p = pgmath.enumerate_trajectories(mdp, pol, th)
    p = p / p.sum()
    floor = _floor(mdp, pol, th)
    for est in _builtins(mdp, pol, th):
        g = est(batch, pol, th)
        m1 = p @ g
        c1 = ((g - m1) * p[:, None]).T @ (g - m1)
        m2, c2 = X.estimator_moments(est, mdp, pol, th, method="recursion")
        scale = np.abs(c1 + np.outer(m1, m1)).max()
        assert np.abs(m1 - m2).max() <= REL * np.sqrt(scale) + np.sqrt(floor), est.__name__
        assert np.abs(c1 - c2).max() <= REL * scale + floor, est.__name__


@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 5),
                    discount=st.sampled_from([1.0, 0.9, 0.5])))
def test_recursion_equals_enumeration_on_mdps(problem):
    _assert_agree(*problem)


@given(pst.problems(pomdp=True, max_states=2, max_actions=2, max_observations=2,
                    horizon=(1, 5), discount=st.sampled_from([1.0, 0.8])))
def test_recursion_equals_enumeration_on_pomdps(problem):
    """Observation policies: ψ is indexed by o_t, rewards and tables by the hidden s_t."""
    _assert_agree(*problem)


def test_recursion_with_linear_features_and_an_infinite_horizon_mdp():
    """A linear-softmax policy (d ≠ S·A) and n_steps on an infinite-horizon MDP."""
    rng = np.random.default_rng(3)
    S, A, d = 3, 2, 4
    mdp = random_mdp(rng, S, A, None, discount=0.9)
    pol = pgmath.LinearSoftmaxPolicy(rng.normal(size=(S, A, d)))
    th = rng.normal(size=d)
    for est in (E.reinforce, E.reward_to_go, E.constant_baseline(np.ones(d)),
                E.gae(rng.normal(size=S), 0.5)):
        m1, c1 = X.estimator_moments(est, mdp, pol, th, method="enumeration", n_steps=4)
        m2, c2 = X.recursive_moments(est, mdp, pol, th, n_steps=4)
        np.testing.assert_allclose(m2, m1, atol=1e-12)
        np.testing.assert_allclose(c2, c1, atol=1e-12)


def test_accumulator_cross_moments():
    """Rows G and Ψ of the accumulator: E[G_k Ψ_k] equals Σ_τ p(τ) g_k(τ) Ψ_k(τ)."""
    mdp, pol, th = regressions.past_reward_as_baseline()
    mdp = mdp.with_discount(0.7)
    spec = StepWeights.make(2, kappa=1.0, beta=1.0, alpha=0.7 ** np.arange(2),
                            offset=np.zeros(4), omega=1.0)
    rows, mean, W = accumulator_moments(spec, mdp, pol, th)
    batch, p = pgmath.enumerate_trajectories(mdp, pol, th)
    g, Psi = E.reinforce(batch, pol, th), E.score_sum(batch, pol, th)
    iG, iP = rows.index("G"), rows.index("psi")
    np.testing.assert_allclose(mean[iG], p @ g, atol=1e-14)
    np.testing.assert_allclose(W[iG, :, iP, :], (g * p[:, None]).T @ Psi, atol=1e-14)


def test_auto_uses_the_recursion_beyond_enumeration():
    """T = 30 on S = 3, A = 2: 6^30 trajectories, so only the recursion can answer; its
    mean equals ∇J (PG-3) and its variance is non-negative."""
    rng = np.random.default_rng(5)
    S, A = 3, 2
    mdp = random_mdp(rng, S, A, 30, discount=0.95)
    pol = pgmath.SoftmaxPolicy(S, A)
    th = rng.normal(size=S * A)
    m, c = X.estimator_moments(E.reinforce, mdp, pol, th)
    np.testing.assert_allclose(m, X.gradient(mdp, pol, th), rtol=1e-9, atol=1e-12)
    assert np.linalg.eigvalsh(c).min() > -1e-9 * np.abs(c).max()
    with pytest.raises(pgmath.TooManyTrajectoriesError):
        X.estimator_moments(E.reinforce, mdp, pol, th, method="enumeration")


def test_recursion_errors():
    mdp, pol, th = regressions.two_armed_bandit()

    def mine(batch, policy, theta):
        return E.reinforce(batch, policy, theta)
    with pytest.raises(EstimatorError, match="no linear-recursion description"):
        X.recursive_moments(mine, mdp, pol, th)
    with pytest.raises(InvalidArgumentError, match="method must be one of"):
        X.estimator_moments(E.reinforce, mdp, pol, th, method="magic")
    with pytest.raises(ShapeError, match="built for T=3"):
        X.recursive_moments(StepWeights.make(3, kappa=1.0), mdp, pol, th)
    with pytest.raises(InvalidMDPError, match="n_steps"):
        X.recursive_moments(E.reinforce, mdp.with_horizon(None).with_discount(0.5), pol, th)
    with pytest.raises(ShapeError, match="must broadcast"):
        X.recursive_moments(E.state_baseline(np.zeros(4)), mdp, pol, th)
    with pytest.raises(EstimatorError, match="kappa has a non-finite entry"):
        StepWeights.make(1, kappa=np.inf)
    # a user's estimator still gets exact moments by enumeration under method="auto"
    m, _ = X.estimator_moments(mine, mdp, pol, th)
    np.testing.assert_allclose(m, [0.25, -0.25], atol=1e-15)


def test_extreme_logits_stay_finite():
    """Logits ±500 (a near-deterministic policy): finite moments, equal by both routes."""
    mdp, pol, _ = regressions.past_reward_as_baseline()
    th = np.array([500.0, -500.0, -500.0, 500.0])
    for est in (E.reinforce, E.reward_to_go, E.gae(X.values(mdp, pol, th), 0.5)):
        m1, c1 = X.estimator_moments(est, mdp, pol, th, method="enumeration")
        m2, c2 = X.recursive_moments(est, mdp, pol, th)
        assert np.all(np.isfinite(c2))
        np.testing.assert_allclose(c2, c1, atol=1e-12)


# -- importance ratios: off-policy estimators in the same recursion (DESIGN §3) ------------------
OFFPOLICY = ("trajectory_is", "per_decision_is", "per_decision_is_notes", "truncated_is",
             "action_ratio_is")


@st.composite
def _offpolicy_problems(draw, pomdp: bool):
    """(mdp, policy, θ_b, θ'): a random MDP or POMDP (horizon 1..5, rewards r(s, a) or
    R[s, a, s']) with a behaviour and a target parameter."""
    kw = dict(max_states=3, max_actions=2, horizon=(1, 5),
              discount=st.sampled_from([1.0, 0.9, 0.5]))
    if pomdp:
        kw.update(max_states=2, max_observations=2)
    mdp, pol, th_b = draw(pst.problems(pomdp=pomdp, max_logit=2.0, allow_extreme=False, **kw))
    return mdp, pol, th_b, draw(pst.thetas(pol, max_logit=2.0, allow_extreme=False))


def _assert_offpolicy_agree(mdp, pol, th_b, th_t):
    """Enumerate once under the behaviour θ_b; every off-policy estimator (and two
    on-policy ones, evaluated at θ' on θ_b's trajectories) by enumeration, weighted by
    p_θb(τ), against the recursion with theta_behaviour, to REL relative to max|E[g gᵀ]|."""
    batch, p = pgmath.enumerate_trajectories(mdp, pol, th_b)
    p = p / p.sum()
    floor = _floor(mdp, pol, th_t)
    ests = [getattr(E, name) for name in OFFPOLICY] + [E.reinforce, E.gae(X.values(mdp, pol, th_b), 0.6)]
    for est in ests:
        g = est(batch, pol, th_t)
        m1 = p @ g
        c1 = ((g - m1) * p[:, None]).T @ (g - m1)
        m2, c2 = X.recursive_moments(est, mdp, pol, th_t, theta_behaviour=th_b)
        scale = np.abs(c1 + np.outer(m1, m1)).max()
        assert np.abs(m1 - m2).max() <= REL * np.sqrt(scale) + np.sqrt(floor), est.__name__
        assert np.abs(c1 - c2).max() <= REL * scale + floor, est.__name__


@given(_offpolicy_problems(pomdp=False))
def test_offpolicy_recursion_equals_behaviour_enumeration_on_mdps(problem):
    _assert_offpolicy_agree(*problem)


@given(_offpolicy_problems(pomdp=True))
def test_offpolicy_recursion_equals_behaviour_enumeration_on_pomdps(problem):
    """Observation policies: the ratio ϱ(o, a) and ψ(o, a) depend on the observation, the
    dynamics on the hidden state (the recursion runs over the pairs (s, o))."""
    _assert_offpolicy_agree(*problem)


def _constant_bandit(A: int, T: int, c: float):
    """One state, A arms, reward c on every arm, horizon T (γ = 1)."""
    return pgmath.TabularMDP(np.ones((1, A, 1)), np.full((1, A), c), np.ones(1), horizon=T)


def test_offpolicy_recursion_at_T200_against_the_bandit_closed_form():
    """T = 200 (3^200 trajectories): a bandit with constant reward c, steps i.i.d. under the
    behaviour μ. With m = E_μ[ϱ²] = Σ_a π'²/μ (the E[ρ²]^T route of PG-14),
    v = Σ_a (π'²/μ) ψ'(a), M = Σ_a (π'²/μ) ψ'ψ'ᵀ (by hand from numpy softmaxes):

      trajectory_is   g = c T W_T Σ_t ψ'_t:  E g = 0,
                      E[g gᵀ] = c² T² (T m^{T−1} M + T(T−1) m^{T−2} v vᵀ);
      action_ratio_is g = c Σ_t (T − t) ϱ_t ψ'_t:  E g = 0,  E[g gᵀ] = c² M Σ_{k=1}^T k²."""
    A, T, c = 3, 200, 0.7
    mdp = _constant_bandit(A, T, c)
    pol = pgmath.SoftmaxPolicy(1, A)
    th_b, th_t = np.array([0.0, 0.3, -0.2]), np.array([0.1, 0.2, -0.15])
    mu, pt = np.exp(th_b) / np.exp(th_b).sum(), np.exp(th_t) / np.exp(th_t).sum()
    psi = np.eye(A) - pt                       # ψ'(a) = e_a − π' for tabular softmax
    w2 = pt ** 2 / mu
    m, v, M = w2.sum(), w2 @ psi, np.einsum("a,ad,ae->de", w2, psi, psi)
    want = {"trajectory_is": c ** 2 * T ** 2 * (T * m ** (T - 1) * M
                                                + T * (T - 1) * m ** (T - 2) * np.outer(v, v)),
            "action_ratio_is": c ** 2 * M * np.sum(np.arange(1, T + 1) ** 2.0)}
    assert m ** T > 1.1                         # the weights' variance has grown
    for name, second in want.items():
        mean, cov = X.offpolicy_moments_recursion(name, mdp, pol, th_t, theta_behaviour=th_b)
        scale = np.abs(second).max()
        np.testing.assert_allclose(mean, 0.0, atol=1e-9 * np.sqrt(scale))
        np.testing.assert_allclose(cov, second, rtol=1e-9, atol=1e-12 * scale)


def test_offpolicy_estimators_dispatch_to_the_recursion():
    """has_recursion holds for the five IS estimators (not for the marginal-ratio factory);
    estimator_moments(theta_behaviour=…) and offpolicy_moments(method="auto") answer at
    T = 30 (6^30 trajectories, enumeration refuses) with the recursion's numbers, and the
    unbiased per-decision form's mean is ∇J(θ') (policy-gradient theorem, exact.gradient)."""
    rng = np.random.default_rng(7)
    S, A = 3, 2
    mdp = random_mdp(rng, S, A, 30, discount=0.9)
    pol = pgmath.SoftmaxPolicy(S, A)
    th_b = rng.normal(size=S * A)
    th_t = th_b + 0.2 * rng.normal(size=S * A)
    assert all(E.has_recursion(getattr(E, n)) for n in OFFPOLICY)
    assert not E.has_recursion(E.state_marginal_ratio_is(mdp, th_b))
    m, c = X.estimator_moments(E.per_decision_is, mdp, pol, th_t, theta_behaviour=th_b)
    m2, c2 = X.offpolicy_moments(E.per_decision_is, mdp, pol, th_t, theta_behaviour=th_b)
    m3, c3 = X.offpolicy_moments_recursion(E.per_decision_is, mdp, pol, th_t, theta_behaviour=th_b)
    np.testing.assert_array_equal(m, m3)
    np.testing.assert_array_equal(c2, c3)
    np.testing.assert_allclose(m, X.gradient(mdp, pol, th_t), rtol=1e-9, atol=1e-12)
    with pytest.raises(pgmath.TooManyTrajectoriesError):
        X.offpolicy_moments(E.per_decision_is, mdp, pol, th_t,
                            theta_behaviour=th_b, method="enumeration")


@given(_offpolicy_problems(pomdp=False))
@settings(max_examples=15)
def test_step_weights_with_ratios_evaluate_like_the_estimators(problem):
    """StepWeights.evaluate runs the ratio-weighted accumulator forward along each
    trajectory; it equals the estimators' own log-space formulas (independent code) on
    every enumerated trajectory of the behaviour."""
    mdp, pol, th_b, th_t = problem
    batch, _ = pgmath.enumerate_trajectories(mdp, pol, th_b)
    psi = E.step_scores(batch, pol, th_t)
    lr = E.log_ratios(batch, pol, th_t)
    for name in OFFPOLICY:
        est = getattr(E, name)
        want = est(batch, pol, th_t)
        got = est.step_weights(mdp.horizon, mdp.discount).evaluate(batch, psi, lr)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(want).max()))


def test_ratio_powers_errors():
    mdp, pol, th = regressions.two_armed_bandit()
    with pytest.raises(EstimatorError, match="ratio_powers must be 4 non-negative ints"):
        StepWeights.make(1, kappa=1.0, ratio_powers=(1, 0, -1, 0))
    spec = StepWeights.make(1, kappa=1.0, alpha=1.0, ratio_powers=(0, 0, 1, 0))
    batch, _ = pgmath.enumerate_trajectories(mdp, pol, th)
    with pytest.raises(EstimatorError, match="pass log_ratios"):
        spec.evaluate(batch, E.step_scores(batch, pol, th))
    with pytest.raises(pgmath.errors.InvalidPolicyError, match="theta_behaviour"):
        X.offpolicy_moments(E.per_decision_is, mdp, pol, th, theta_behaviour=np.zeros(3))


def test_offpolicy_near_deterministic_behaviour_stays_finite():
    """Behaviour logits ±20 against a far target (ratios up to e^40 per step): moments are
    finite and equal by both routes (enumeration under the behaviour, log-space weights)."""
    mdp, pol, _ = regressions.past_reward_as_baseline()
    th_b = np.array([20.0, -20.0, -20.0, 20.0])
    th_t = np.array([-1.0, 1.0, 0.5, -0.5])
    for name in OFFPOLICY:
        est = getattr(E, name)
        m1, c1 = X.offpolicy_moments(est, mdp, pol, th_t,
                                     theta_behaviour=th_b, method="enumeration")
        m2, c2 = X.offpolicy_moments(est, mdp, pol, th_t, theta_behaviour=th_b, method="recursion")
        scale = np.abs(c1 + np.outer(m1, m1)).max()
        assert np.all(np.isfinite(c2)) and scale > 1e10, name   # the rare actions dominate
        np.testing.assert_allclose(m2, m1, atol=REL * np.sqrt(scale), err_msg=name)
        np.testing.assert_allclose(c2, c1, atol=REL * scale, err_msg=name)
