"""pgmath.check.rounding: one rounding model for every exact route, tested adversarially.

A correct estimator must pass every exact route whatever the scale of the problem: R = 0,
rewards of 1e-6 and 1e6, baselines 10³ times the rewards, logits of ±30 and ±1e3 (π ≈ 1,
where ψ = e_a − π carries an absolute rounding of ~u), both discountings. The estimators are
checked as built-ins (their description gives the magnitudes), as black boxes that read the
score through ``policy.score`` (the score probe) and as black boxes that build their own
score (least squares), by enumeration and, where they describe themselves, by the moment
recursion. Expected values: ∇J from the exact engine, the estimators unbiased by the notes
(§4.1–4.3: E[ψ_t b(s_t)] = 0; the exact critics' mean is the policy-gradient theorem), so
the expected verdict is "unbiased" everywhere; the tolerance's own sensitivity is checked
by planted biases far below any statistical resolution.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import pgmath
from pgmath.environments import random_mdp
from pgmath import estimators as E
from pgmath import strategies as pst
from pgmath.check import rounding


# -- issue 11, cause A: the minimal case ------------------------------------------------
def issue11(L: float):
    """S = 2, A = 2, T = 2, γ = 1, R = 0, every transition to state 1, p0 = [1, 0],
    θ = [0, 0, 0, L]."""
    P = np.zeros((2, 2, 2))
    P[:, :, 1] = 1.0
    mdp = pgmath.TabularMDP(P, np.zeros((2, 2)), np.array([1.0, 0.0]), horizon=2)
    return mdp, pgmath.SoftmaxPolicy(2, 2), np.array([0.0, 0.0, 0.0, L])


def black_box(est):
    """``est`` seen as a user's function: no step_weights, reads ψ through policy.score."""
    def g(batch, policy, theta):
        return est(batch, policy, theta)
    g.__name__ = g.__qualname__ = f"black_box({getattr(est, '__name__', 'est')})"
    return g


def own_score(est_weights):
    """A black box that builds ψ = Φ[x, a] − Σ_b π(b|x) Φ[x, b] itself from probs and
    features (never calls policy.score): the least-squares route of the magnitudes."""
    def g(batch, policy, theta):
        pi = np.asarray(policy.probs(theta))
        phi = policy.features()
        psi = phi - np.einsum("xb,xbd->xd", pi, phi)[:, None, :]
        return np.einsum("ntd,nt->nd", psi[batch.inputs, batch.actions], est_weights(batch))
    return g


@pytest.mark.parametrize("L", [0.1, 1.0, 5.0, 8.0, 12.0, 20.0, 29.9, 30.0])
def test_issue11_minimal_case_passes_on_both_exact_routes(L):
    """Was: the enumeration's tolerance collapsed to 2.7e-26 at L = 30 against |bias|
    9.5e-17 (state_baseline([0, 1]) failed for 215 of 300 logits from L ≈ 8)."""
    mdp, pol, th = issue11(L)
    est = E.state_baseline(np.array([0.0, 1.0]))
    for method in ("enumeration", "recursion"):
        res = pgmath.check_unbiased(est, mdp, pol, th, method=method)
        assert res.passed and res.method == method, res.report
    for user in (black_box(est), own_score(lambda b: -(b.states == 1).astype(float))):
        res = pgmath.check_unbiased(user, mdp, pol, th)
        assert res.passed and res.method == "enumeration", res.report


def test_issue11_routes_derive_the_same_tolerance():
    """Enumeration and recursion bound the same error the same way: on the minimal case
    their tolerances agree within a factor of 4 (they differ only in the counts K)."""
    mdp, pol, th = issue11(30.0)
    est = E.state_baseline(np.array([0.0, 1.0]))
    a = pgmath.check_unbiased(est, mdp, pol, th, method="enumeration")
    b = pgmath.check_unbiased(est, mdp, pol, th, method="recursion")
    np.testing.assert_allclose(a.rounding.magnitude, b.rounding.magnitude, rtol=1e-12)
    assert 0.25 < a.detectable_bias / b.detectable_bias < 4


def test_subnormal_probabilities_get_the_underflow_floor():
    """A start state of probability 1.1e-308: its trajectories' probabilities are
    subnormal (relative precision ~1e-2), so E g is off by ~η |g| (here 1.8e-321 with R = 0,
    ∇J = 0); the floor F = η (M + K_s Σ|g|) covers it (found by Hypothesis)."""
    P = np.array([[[1.0, 0, 0], [1, 0, 0]], [[1, 0, 0], [0.5, 0.5, 0]],
                  [[1 / 3, 1 / 3, 1 / 3], [1, 0, 0]]])
    mdp = pgmath.TabularMDP(P, np.zeros((3, 2)), np.array([1.0, 1.11253693e-308, 0.0]),
                            horizon=2)
    pol, th = pgmath.SoftmaxPolicy(3, 2), np.array([0, 0, -30.0, 0, 0, 0])
    V = np.array([[0, 0, 0], [0, 1000.0, 0]])
    user = own_score(lambda b: -V[np.arange(2)[None, :], b.states])
    res = pgmath.check_unbiased(user, mdp, pol, th)
    assert res.passed and 0 < res.max_abs_bias < 1e-318, res.report
    assert np.all(res.rounding.underflow >= rounding.UNDERFLOW)


# -- adversarial property test -----------------------------------------------------------
def _to_go(batch, start: bool):
    w = batch.rewards * (batch.discount ** np.arange(batch.horizon) if start else 1.0)
    return np.cumsum(w[:, ::-1], axis=1)[:, ::-1]


def _estimators(mdp, pol, th, V, b):
    """(name, estimator, describes itself) for every correct built-in on this problem."""
    out = [("reinforce", E.reinforce), ("reward_to_go", E.reward_to_go),
           ("state_baseline", E.state_baseline(V)), ("constant_baseline", E.constant_baseline(b)),
           ("q_critic", E.q_critic(mdp, pol, th)), ("advantage_critic", E.advantage_critic(mdp, pol, th)),
           ("gae(0.5)", E.gae(mdp, 0.5, pol, th, discounting="start")),
           ("gae(1)", E.gae(mdp, 1.0, pol, th, discounting="start"))]
    return out


@st.composite
def adversarial_problems(draw):
    """A small MDP with rewards scaled by 0, 1e-6, 1 or 1e6, logits up to ±30 or ±1e3, and a
    random baseline table of 10³ times the rewards' scale (or 10³ when R = 0)."""
    mdp = draw(pst.mdps(max_states=3, max_actions=3, horizon=(1, 3),
                        discount=st.sampled_from([1.0, 0.9]), rewards_next_state=False))
    scale = draw(st.sampled_from([0.0, 1e-6, 1.0, 1e6]))
    mdp = pgmath.TabularMDP(mdp.P, scale * mdp.R, mdp.p0, horizon=mdp.horizon,
                            discount=mdp.discount)
    pol = pgmath.SoftmaxPolicy(mdp.n_states, mdp.n_actions)
    th = draw(pst.thetas(pol, extreme_logit=draw(st.sampled_from([30.0, 1e3]))))
    size = 1e3 * (scale if scale > 0 else 1.0)
    V = size * np.array(draw(st.lists(st.floats(-1, 1), min_size=mdp.horizon * mdp.n_states,
                                      max_size=mdp.horizon * mdp.n_states))
                        ).reshape(mdp.horizon, mdp.n_states)
    b = size * draw(st.floats(-1, 1))
    k = draw(st.integers(0, 7))
    return mdp, pol, th, V, b, k


@given(adversarial_problems())
def test_correct_estimators_pass_every_exact_route(case):
    mdp, pol, th, V, b, k = case
    name, est = _estimators(mdp, pol, th, V, b)[k]
    for method in ("enumeration", "recursion"):
        res = pgmath.check_unbiased(est, mdp, pol, th, method=method)
        assert res.passed, f"{name} by {method}\n{res.report}"
    res = pgmath.check_unbiased(black_box(est), mdp, pol, th)
    assert res.passed and res.rounding.source == "score probe", f"{name}\n{res.report}"


@given(adversarial_problems(), st.booleans())
def test_own_score_black_boxes_pass(case, with_baseline):
    """Reward-to-go with the state baseline, its score built by the estimator itself:
    the magnitudes come from least squares (an estimate, said in the report)."""
    mdp, pol, th, V, b, k = case
    disc = mdp.discount ** np.arange(mdp.horizon)

    def weights(batch):
        base = V[np.arange(batch.horizon)[None, :], batch.states] if with_baseline else 0.0
        return _to_go(batch, True) - disc * base

    res = pgmath.check_unbiased(own_score(weights), mdp, pol, th)
    assert res.passed and res.rounding.source == "least squares", res.report


@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3), discount=0.8,
                   rewards_next_state=False),
       pst.thetas(6, max_logit=2.0, allow_extreme=False), st.sampled_from([1e-6, 1.0, 1e6]))
def test_offpolicy_estimators_pass_both_routes(problem, shift, scale):
    mdp, pol, th = problem
    mdp = pgmath.TabularMDP(mdp.P, scale * mdp.R, mdp.p0, horizon=mdp.horizon,
                            discount=mdp.discount)
    beh = th + shift[:th.size] if th.size <= 6 else th
    for est in (E.trajectory_is, E.per_decision_is):
        for method in ("enumeration", "recursion"):
            res = pgmath.check_unbiased(est, mdp, pol, th, theta_behaviour=beh, method=method)
            assert res.passed, res.report


# -- the tolerance still sees small biases -----------------------------------------------
def _dense(seed=7, T=3):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, 2, 2, T)
    return mdp, pgmath.SoftmaxPolicy(2, 2), rng.normal(size=4)


@pytest.mark.parametrize("route", ["enumeration", "recursion"])
def test_a_critic_off_by_1e_9_is_caught(route):
    """Q off by 1e-9 in one (s, a): bias 1e-9 Σ_t d_t(0) π(0|0) ψ(0, 0), far above the
    tolerance (≈1e-13) on both routes."""
    mdp, pol, th = _dense()
    Q = np.array(pgmath.exact.q_values(mdp, pol, th))
    Q[:, 0, 0] += 1e-9
    res = pgmath.check_unbiased(E.q_critic(Q), mdp, pol, th, method=route)
    assert res.verdict == "biased" and res.detectable_bias < 1e-11, res.report


# -- working precision -------------------------------------------------------------------
def rtg32(weight_error: float = 0.0):
    """Reward-to-go computed in float32 (scores, rewards, sums), returned as float32; with
    ``weight_error`` the reward at t = 0 is weighted 1 + weight_error (a bug)."""
    def g(batch, policy, theta):
        psi = np.asarray(policy.score(theta), dtype=np.float32)[batch.inputs, batch.actions]
        w = (batch.rewards * batch.discount ** np.arange(batch.horizon)).astype(np.float32)
        w[:, 0] *= np.float32(1 + weight_error)
        rtg = np.cumsum(w[:, ::-1], axis=1)[:, ::-1]
        return np.einsum("ntd,nt->nd", psi, rtg)
    g.__name__ = g.__qualname__ = f"rtg32(weight_error={weight_error})"
    return g


def _random_problems(k=6):
    out = []
    for seed in range(k):
        rng = np.random.default_rng(seed)
        S, A, T = 2 + seed % 2, 2 + (seed // 2) % 2, 2 + seed % 3
        mdp = random_mdp(rng, S, A, T, discount=0.9)
        out.append((mdp, pgmath.SoftmaxPolicy(S, A), rng.normal(size=S * A)))
    return out


@pytest.mark.parametrize("k", range(6))
def test_float32_code_passes_and_its_bug_fails_with_default_settings(k):
    """precision="auto" reads float32 from the output: the correct float32 code passes, the
    same code with the reward at t = 0 weighted 1.001 fails (float32 tolerance γ_K u₃₂ × the
    magnitudes, K ≤ 300 here, relative ≲ 2e-5 against a bias of ~1e-3 of one term)."""
    mdp, pol, th = _random_problems()[k]
    ok = pgmath.check_unbiased(rtg32(), mdp, pol, th)
    assert ok.passed and ok.precision == "float32", ok.report
    bad = pgmath.check_unbiased(rtg32(1e-3), mdp, pol, th)
    assert bad.verdict == "biased" and bad.precision == "float32", bad.report


def test_float32_code_cast_to_float64_names_the_flag():
    """Code that computes in float32 but returns float64 fails at float64 tolerance; the
    report says the bias is within float32 rounding and names precision="float32", with
    which it passes (and the bug still fails)."""
    def cast(est):
        def g(batch, policy, theta):
            return est(batch, policy, theta).astype(np.float64)
        return g

    hits = 0
    for mdp, pol, th in _random_problems():
        res = pgmath.check_unbiased(cast(rtg32()), mdp, pol, th)
        if res.verdict == "biased":
            hits += 1
            assert 'precision="float32"' in res.report, res.report
        ok = pgmath.check_unbiased(cast(rtg32()), mdp, pol, th, precision="float32")
        assert ok.passed, ok.report
        bad = pgmath.check_unbiased(cast(rtg32(1e-3)), mdp, pol, th, precision="float32")
        assert bad.verdict == "biased", bad.report
    assert hits >= 3  # float32 rounding is visible at float64 tolerance on most problems


def test_rounding_ingredients_are_exposed():
    """The tolerance is γ_Kw(u_w) A + γ_Ks S + γ_Kt C, each ingredient on the result."""
    mdp, pol, th = _dense()
    res = pgmath.check_unbiased(E.reward_to_go, mdp, pol, th)
    rb = res.rounding
    expect = (rounding.gamma(rb.k_w, u=rb.u_w) * rb.magnitude + rounding.gamma(rb.k_s) * rb.sums
              + rounding.gamma(rb.k_t) * rb.target)
    np.testing.assert_allclose(res.threshold, expect, rtol=1e-15)
    assert rb.u_w == 2.0 ** -53 and rb.precision == "float64"
    assert res.thresholds.kind == "rounding" and np.all(res.thresholds.statistical == 0)


def test_precision_argument_is_validated():
    mdp, pol, th = _dense()
    with pytest.raises(pgmath.PgmathError, match="precision"):
        pgmath.check_unbiased(E.reward_to_go, mdp, pol, th, precision="float8")


@given(pst.problems(pomdp=True, max_states=3, max_actions=2, max_observations=2,
                    horizon=(1, 3)), st.sampled_from([0.0, 1e-6, 1e6]))
def test_observation_policies_pass_every_exact_route(problem, scale):
    """POMDPs with policies over observations: reward-to-go and an observation baseline of
    10³ times the rewards, built-in and black box."""
    mdp, pol, th = problem
    mdp = pgmath.POMDP(mdp.P, scale * mdp.R, mdp.p0, mdp.O, horizon=mdp.horizon,
                       discount=mdp.discount)
    V = 1e3 * max(scale, 1.0) * np.linspace(-1, 1, mdp.horizon * mdp.n_observations
                                            ).reshape(mdp.horizon, mdp.n_observations)
    for est in (E.reward_to_go, E.state_baseline(V, over="observations")):
        for method in ("enumeration", "recursion"):
            res = pgmath.check_unbiased(est, mdp, pol, th, method=method)
            assert res.passed, res.report
        res = pgmath.check_unbiased(black_box(est), mdp, pol, th)
        assert res.passed, res.report
