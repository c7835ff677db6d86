"""Every on-policy estimator against a per-trajectory loop written from the formulas.

The reference below does not import pgmath's estimators: it rebuilds the tabular
softmax score ψ[x, a, (x, b)] = 1[a = b] − π(b|x) by hand and evaluates each formula of
the notes (§4.1–4.3) / GAE paper with explicit loops over i, t, t'.
"""
import numpy as np
import pytest

import pgmath
from pgmath.environments import random_problem
from pgmath import estimators as E
from pgmath import regressions
from pgmath.errors import EstimatorError, ShapeError


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _psi(theta, X, A, x, a):
    pi = _softmax(theta.reshape(X, A))
    g = np.zeros(X * A)
    g[x * A:(x + 1) * A] = -pi[x]
    g[x * A + a] += 1.0
    return g


def _problem(pomdp=False, seed=0, S=3, A=2, T=4, gamma=0.8):
    rng = np.random.default_rng(seed)
    mdp, pol, theta = random_problem(rng, S, A, T, discount=gamma, pomdp=pomdp,
                                     rewards_next_state=True)
    batch = pgmath.sample(mdp, pol, theta, 25, np.random.default_rng(seed + 100))
    return mdp, pol, theta, batch, rng


def _rows(batch, pol, theta, weight):
    """g_i = Σ_t ψ_{i,t} weight(i, t) by explicit loops."""
    X, A = pol.n_inputs, pol.n_actions
    x = batch.inputs
    out = np.zeros((batch.n, pol.n_params))
    for i in range(batch.n):
        for t in range(batch.horizon):
            out[i] += _psi(theta, X, A, x[i, t], batch.actions[i, t]) * weight(i, t)
    return out


def _next_state(batch, i, t):
    return batch.states[i, t + 1] if t + 1 < batch.horizon else batch.final_states[i]


CASES = [False, True]


@pytest.mark.parametrize("pomdp", CASES)
def test_reinforce_and_reward_to_go_follow_the_notes(pomdp):
    """§4.1 Algorithm 2 and §4.3.1 (reward t' weighted γ^{t'} or γ^{t'−t})."""
    mdp, pol, th, b, _ = _problem(pomdp)
    g, r, T = mdp.discount, b.rewards, b.horizon
    R = lambda i: sum(g ** k * r[i, k] for k in range(T))  # noqa: E731
    np.testing.assert_allclose(E.reinforce(b, pol, th), _rows(b, pol, th, lambda i, t: R(i)),
                               atol=1e-12)
    np.testing.assert_allclose(
        E.reward_to_go(b, pol, th),
        _rows(b, pol, th, lambda i, t: sum(g ** k * r[i, k] for k in range(t, T))), atol=1e-12)
    np.testing.assert_allclose(
        E.reward_to_go_step_discount(b, pol, th),
        _rows(b, pol, th, lambda i, t: sum(g ** (k - t) * r[i, k] for k in range(t, T))),
        atol=1e-12)
    np.testing.assert_allclose(E.score_sum(b, pol, th), _rows(b, pol, th, lambda i, t: 1.0),
                               atol=1e-12)
    for inclusive in (True, False):
        stop = (lambda t: t + 1) if inclusive else (lambda t: t)
        np.testing.assert_allclose(
            E.causality_term(inclusive)(b, pol, th),
            _rows(b, pol, th, lambda i, t: sum(g ** k * r[i, k] for k in range(stop(t)))),
            atol=1e-12)


@pytest.mark.parametrize("pomdp", CASES)
def test_constant_baselines_follow_their_formulas(pomdp):
    mdp, pol, th, b, rng = _problem(pomdp, seed=1)
    g, r, T = mdp.discount, b.rewards, b.horizon
    vec = rng.normal(size=pol.n_params)
    R = lambda i: sum(g ** k * r[i, k] for k in range(T))  # noqa: E731
    rtg = lambda i, t: sum(g ** k * r[i, k] for k in range(t, T))  # noqa: E731
    np.testing.assert_allclose(E.constant_baseline(1.5)(b, pol, th),
                               _rows(b, pol, th, lambda i, t: R(i) - 1.5), atol=1e-12)
    np.testing.assert_allclose(E.constant_baseline(-0.5, base="reward_to_go")(b, pol, th),
                               _rows(b, pol, th, lambda i, t: rtg(i, t) + 0.5), atol=1e-12)
    want = _rows(b, pol, th, lambda i, t: R(i)) - vec * _rows(b, pol, th, lambda i, t: 1.0)
    np.testing.assert_allclose(E.constant_baseline(vec)(b, pol, th), want, atol=1e-12)


@pytest.mark.parametrize("pomdp", CASES)
def test_state_baselines_and_critics_follow_their_formulas(pomdp):
    mdp, pol, th, b, rng = _problem(pomdp, seed=2)
    g, r, T, S, A = mdp.discount, b.rewards, b.horizon, mdp.n_states, mdp.n_actions
    s, a = b.states, b.actions
    V = rng.normal(size=(T, S))
    Q = rng.normal(size=(T, S, A))
    np.testing.assert_allclose(
        E.state_baseline(V)(b, pol, th),
        _rows(b, pol, th, lambda i, t: sum(g ** k * r[i, k] for k in range(t, T))
              - g ** t * V[t, s[i, t]]), atol=1e-12)
    np.testing.assert_allclose(
        E.state_baseline(V[0], discounting="step")(b, pol, th),
        _rows(b, pol, th, lambda i, t: sum(g ** (k - t) * r[i, k] for k in range(t, T))
              - V[0, s[i, t]]), atol=1e-12)
    np.testing.assert_allclose(E.q_critic(Q)(b, pol, th),
                               _rows(b, pol, th, lambda i, t: g ** t * Q[t, s[i, t], a[i, t]]),
                               atol=1e-12)
    np.testing.assert_allclose(E.advantage_critic(Q[1], discounting="step")(b, pol, th),
                               _rows(b, pol, th, lambda i, t: Q[1, s[i, t], a[i, t]]), atol=1e-12)


def test_observation_baselines_and_critics_follow_their_formulas():
    """On a POMDP, V(o_t) and Q(o_t, a_t) tables indexed by the observation."""
    mdp, pol, th, b, rng = _problem(True, seed=9)
    g, r, T, A = mdp.discount, b.rewards, b.horizon, mdp.n_actions
    o, a = b.observations, b.actions
    V = rng.normal(size=(T, 2))
    Q = rng.normal(size=(2, A))
    np.testing.assert_allclose(
        E.state_baseline(V, over="observations")(b, pol, th),
        _rows(b, pol, th, lambda i, t: sum(g ** k * r[i, k] for k in range(t, T))
              - g ** t * V[t, o[i, t]]), atol=1e-12)
    np.testing.assert_allclose(E.q_critic(Q, over="observations", discounting="step")(b, pol, th),
                               _rows(b, pol, th, lambda i, t: Q[o[i, t], a[i, t]]), atol=1e-12)
    with pytest.raises(EstimatorError, match="hidden state"):
        E.state_baseline(mdp, pol, th, over="observations")
    with pytest.raises(EstimatorError, match="over must be"):
        E.q_critic(Q, over="beliefs")


@pytest.mark.parametrize("pomdp", CASES)
@pytest.mark.parametrize("lam", [0.0, 0.6, 1.0])
def test_gae_follows_schulman_eq_16(pomdp, lam):
    """Â_t = Σ_l (γλ)^l δ_{t+l}, δ_t = r_t + γ V_{t+1}(s_{t+1}) − V_t(s_t)."""
    mdp, pol, th, b, rng = _problem(pomdp, seed=3)
    g, r, T, S = mdp.discount, b.rewards, b.horizon, mdp.n_states
    for V in (rng.normal(size=(T, S)), rng.normal(size=(T + 1, S)), rng.normal(size=S)):
        Vf = (np.concatenate([V, np.zeros((1, S))]) if V.shape[0] == T
              else V if V.ndim == 2 else np.concatenate([np.tile(V, (T, 1)), np.zeros((1, S))]))

        def delta(i, k):
            return r[i, k] + g * Vf[k + 1, _next_state(b, i, k)] - Vf[k, b.states[i, k]]

        def adv(i, t):
            return sum((g * lam) ** (k - t) * delta(i, k) for k in range(t, T))
        np.testing.assert_allclose(E.gae(V, lam, discounting="step")(b, pol, th),
                                   _rows(b, pol, th, adv), atol=1e-12)
        start = _rows(b, pol, th, lambda i, t: g ** t * adv(i, t))
        np.testing.assert_allclose(E.gae(V, lam, discounting="start")(b, pol, th), start, atol=1e-12)
        np.testing.assert_allclose(E.gae(V, lam)(b, pol, th), start, atol=1e-12)  # the default


def test_gae_with_lambda_one_is_the_state_baseline():
    """Telescoping: Σ_l γ^l δ_{t+l} = Σ_l γ^l r_{t+l} − V_t(s_t) when V_T = 0."""
    mdp, pol, th, b, rng = _problem(seed=4)
    V = rng.normal(size=(mdp.horizon, mdp.n_states))
    for disc in ("step", "start"):
        np.testing.assert_allclose(E.gae(V, 1.0, discounting=disc)(b, pol, th),
                                   E.state_baseline(V, discounting=disc)(b, pol, th), atol=1e-12)


def test_exact_tables_from_the_mdp():
    """(mdp, policy, θ) gives the exact V, Q, A of pgmath.exact."""
    mdp, pol, th, b, _ = _problem(seed=5)
    V, Q = pgmath.exact.values(mdp, pol, th), pgmath.exact.q_values(mdp, pol, th)
    np.testing.assert_array_equal(E.state_baseline(mdp, pol, th)(b, pol, th),
                                  E.state_baseline(V)(b, pol, th))
    np.testing.assert_array_equal(E.q_critic(mdp, pol, th)(b, pol, th), E.q_critic(Q)(b, pol, th))
    np.testing.assert_allclose(E.advantage_critic(mdp, pol, th)(b, pol, th),
                               E.q_critic(Q - V[..., None])(b, pol, th), atol=1e-12)
    np.testing.assert_array_equal(E.gae(mdp, 0.5, pol, th)(b, pol, th), E.gae(V, 0.5)(b, pol, th))


def test_batch_coupled_estimators_follow_their_formulas():
    mdp, pol, th, b, _ = _problem(seed=6)
    N, g, r, T = b.n, mdp.discount, b.rewards, b.horizon
    R = np.array([sum(g ** k * r[i, k] for k in range(T)) for i in range(N)])
    Psi = _rows(b, pol, th, lambda i, t: 1.0)
    np.testing.assert_allclose(E.batch_average_baseline(b, pol, th),
                               Psi * (R - R.sum() / N)[:, None], atol=1e-12)
    loo = np.array([(R.sum() - R[i]) / (N - 1) for i in range(N)])
    np.testing.assert_allclose(E.leave_one_out_baseline(b, pol, th), Psi * (R - loo)[:, None],
                               atol=1e-12)
    G = Psi * R[:, None]
    bhat = (G * Psi).sum(0) / (Psi ** 2).sum(0)
    np.testing.assert_allclose(E.estimate_optimal_baseline(b, pol, th), bhat, atol=1e-12)
    np.testing.assert_allclose(E.sample_optimal_baseline()(b, pol, th), G - bhat * Psi,
                               atol=1e-12)
    for est in (E.batch_average_baseline, E.leave_one_out_baseline, E.sample_optimal_baseline(),
                E.standardised_advantages):
        assert E.is_batch_coupled(est)
        assert "atch-coupled" in est.__doc__
    for est in (E.reinforce, E.reward_to_go, E.gae(np.zeros(3), 0.5), E.constant_baseline(1.0)):
        assert not E.is_batch_coupled(est)


def test_standardised_advantages():
    """Â = (Ĝ − mean)/std over the batch: scale-free in the rewards, and Σψ_t Â_t by hand."""
    mdp, pol, th, b, _ = _problem(seed=7)
    g, r, T = mdp.discount, b.rewards, b.horizon
    G = np.array([[sum(g ** (k - t) * r[i, k] for k in range(t, T)) for t in range(T)]
                  for i in range(b.n)])
    A = (G - G.mean()) / G.std()
    np.testing.assert_allclose(E.standardised_advantages(b, pol, th),
                               _rows(b, pol, th, lambda i, t: A[i, t]), atol=1e-12)
    scaled = pgmath.Trajectories(b.states, b.actions, 7.0 * b.rewards, None, b.final_states,
                                 b.behaviour_log_probs, b.discount)
    np.testing.assert_allclose(E.standardised_advantages(scaled, pol, th),
                               E.standardised_advantages(b, pol, th), atol=1e-12)


def test_bad_arguments_raise_clear_errors():
    mdp, pol, th, b, _ = _problem(seed=8)
    T, S = mdp.horizon, mdp.n_states
    with pytest.raises(EstimatorError, match="discounting"):
        E.state_baseline(np.zeros(S), discounting="sometimes")
    with pytest.raises(EstimatorError, match="lam"):
        E.gae(np.zeros(S), 1.5)
    with pytest.raises(ShapeError, match=r"V table has shape \(2, 3\)"):
        E.state_baseline(np.zeros((2, S)))(b, pol, th)
    with pytest.raises(EstimatorError, match="not finite"):
        E.q_critic(np.full((S, 2), np.nan))
    with pytest.raises(EstimatorError, match="b must be"):
        E.constant_baseline(np.ones((2, 2)))
    with pytest.raises(ShapeError, match="baseline vector has length 2"):
        E.constant_baseline(np.ones(2))(b, pol, th)
    with pytest.raises(EstimatorError, match="N ≥ 2"):
        E.leave_one_out_baseline(b[0], pol, th)
    with pytest.raises(EstimatorError, match="base"):
        E.constant_baseline(1.0, base="critic")
    with pytest.raises(EstimatorError, match="either"):
        E.state_baseline(np.zeros(S), pol)
    # a V table over T+1 steps needs s_T, which enumeration of r(s, a) MDPs does not draw
    mdp2 = pgmath.TabularMDP(mdp.P, mdp.r, mdp.p0, horizon=T, discount=mdp.discount)
    batch, _ = pgmath.enumerate_trajectories(mdp2, pol, th)
    with pytest.raises(EstimatorError, match="final_states"):
        E.gae(np.arange((T + 1) * S, dtype=float).reshape(T + 1, S), 0.5)(batch, pol, th)
    # ... while V_T = 0 needs no s_T
    assert np.all(np.isfinite(E.gae(np.ones((T, S)), 0.5)(batch, pol, th)))


def test_gae_default_is_unbiased_on_a_discounted_problem():
    """Issue 17.3: the default GAE targets ∇J_γ, so the built-in GAE with the exact V passes
    check_unbiased on a discounted problem (exact route); discounting="step" is biased by
    exact.discount_bias (the check fails it)."""
    chain = pgmath.environments.chain(4, horizon=4, discount=0.9)
    cpol = pgmath.SoftmaxPolicy(4, 2)
    for (mdp, pol, th), lam in [(regressions.step_discount_bandit(), 0.0),
                                (regressions.step_discount_bandit(), 1.0),
                                ((chain, cpol, np.linspace(-1, 1, 8)), 0.5)]:
        assert mdp.discount < 1
        res = pgmath.check_unbiased(E.gae(mdp, lam, pol, th), mdp, pol, th)
        assert res.passed and res.detectable_bias < 1e-9, res.report  # decided exactly
        step = pgmath.check_unbiased(E.gae(mdp, lam, pol, th, discounting="step"), mdp, pol, th)
        assert not step.passed
        np.testing.assert_allclose(step.bias, pgmath.exact.discount_bias(mdp, pol, th), atol=1e-12)
