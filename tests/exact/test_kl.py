"""Exact KL divergences (notes §4.5, PG-17, PG-18) against enumeration and the Fisher matrix."""
import numpy as np
import pytest
from hypothesis import given, settings

import pgmath
from pgmath import exact
from pgmath import strategies as pst
from pgmath.errors import ShapeError


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_p(batch, mdp, pi):
    """log p(τ) from scratch: p0, π, P along each enumerated trajectory (state policies)."""
    s, a = batch.states, batch.actions
    lp = np.log(mdp.p0[s[:, 0]]) + np.log(pi[s, a]).sum(axis=1)
    if s.shape[1] > 1:
        lp += np.log(mdp.P[s[:, :-1], a[:, :-1], s[:, 1:]]).sum(axis=1)
    return lp


def test_policy_kl_matches_direct_formula():
    """Σ_a p log(p/q) with an independent numpy softmax."""
    rng = np.random.default_rng(0)
    policy = pgmath.SoftmaxPolicy(3, 4)
    a, b = rng.normal(size=12), rng.normal(size=12)
    p, q = _softmax(a.reshape(3, 4)), _softmax(b.reshape(3, 4))
    np.testing.assert_allclose(exact.policy_kl(policy, a, b), np.sum(p * np.log(p / q), axis=1),
                               atol=1e-14)


@given(pst.mdps(max_states=3, max_actions=2, horizon=(1, 3)), pst.thetas(12, max_logit=2.0,
                                                                          allow_extreme=False))
@settings(max_examples=25)
def test_trajectory_kl_equals_enumeration(mdp, raw):
    """D_KL(p_θ'(τ)‖p_θ(τ)) = Σ_τ p_θ'(τ) log(p_θ'(τ)/p_θ(τ)) over enumerated trajectories."""
    policy = pgmath.SoftmaxPolicy(mdp.n_states, mdp.n_actions)
    d = policy.n_params
    th_new, th_old = raw[:d], raw[6:6 + d]
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, th_new)
    lp_new = _log_p(batch, mdp, _softmax(th_new.reshape(mdp.n_states, -1)))
    lp_old = _log_p(batch, mdp, _softmax(th_old.reshape(mdp.n_states, -1)))
    expected = float(prob @ (lp_new - lp_old))
    assert exact.trajectory_kl(mdp, policy, th_new, th_old) == pytest.approx(expected, abs=1e-10)


def test_pg17_notes_kl_is_the_negative_of_the_kl():
    """The notes' E_{π_θ'}[log π_θ − log π_θ'] equals −D_KL(π_θ'‖π_θ) < 0 for θ' ≠ θ
    (direct evaluation on a two-action state)."""
    policy = pgmath.SoftmaxPolicy(1, 2)
    new, old = np.array([0.0, 1.0]), np.array([0.0, 0.0])
    p = _softmax(new)
    notes = float(np.sum(p * (np.log(_softmax(old)) - np.log(p))))
    k = float(exact.policy_kl(policy, new, old)[0])
    assert notes == pytest.approx(-k, abs=1e-15)
    assert notes < 0 < k


@pytest.mark.parametrize("direction", ["new_old", "old_new"])
def test_pg18_second_order_constant_is_one_half(direction):
    """KL(θ+hu ‖ θ) / (Δᵀ F Δ) → ½ as h → 0 (not 1, as the notes write): the error of
    ½ΔᵀFΔ is O(h³), so the ratio at h = 1e-3 is ½ within 1e-2·h-scale, both KL directions."""
    rng = np.random.default_rng(4)
    mdp = pgmath.environments.chain(3, horizon=4)
    policy = pgmath.SoftmaxPolicy(3, 2)
    theta, u = rng.normal(size=6), rng.normal(size=6)
    F = exact.fisher(mdp, policy, theta, weighting="trajectory")
    ratios = []
    for h in (1e-1, 1e-2, 1e-3):
        new = theta + h * u
        args = (new, theta) if direction == "new_old" else (theta, new)
        ratios.append(exact.trajectory_kl(mdp, policy, *args) / (h * h * u @ F @ u))
    assert abs(ratios[-1] - 0.5) < 1e-3
    assert abs(ratios[-1] - 0.5) < abs(ratios[0] - 0.5) or abs(ratios[0] - 0.5) < 1e-3
    assert exact.kl_quadratic(F, 1e-3 * u) == pytest.approx(0.5 * 1e-6 * u @ F @ u)


def test_kl_is_finite_for_near_deterministic_policies():
    """Logits of ±1e3: p = (1, e^{-2000}), log q(0) = −2000, so KL = 2000 nats (by hand), not inf/NaN."""
    policy = pgmath.SoftmaxPolicy(1, 2)
    k = exact.policy_kl(policy, np.array([1e3, -1e3]), np.array([-1e3, 1e3]))[0]
    assert k == pytest.approx(2000.0, rel=1e-12)


def test_kl_weights_from_either_side_and_errors():
    mdp = pgmath.environments.chain(3, horizon=4)
    policy = pgmath.SoftmaxPolicy(3, 2)
    a, b = np.zeros(6), np.ones(6) * np.array([1, -1] * 3)
    wa = exact.input_weights(mdp, policy, a, weighting="average")
    assert exact.kl(mdp, policy, a, b, weights_from="p") == pytest.approx(
        float(wa @ exact.policy_kl(policy, a, b)))
    with pytest.raises(ValueError, match="weights_from"):
        exact.kl(mdp, policy, a, b, weights_from="r")
    with pytest.raises(ShapeError):
        exact.kl_quadratic(np.eye(3), np.zeros(2))


@given(pst.problems(pomdp=True, max_states=3, max_actions=2, max_observations=2, horizon=(1, 3),
                    max_logit=2.0, allow_extreme=False),
       pst.thetas(6, max_logit=2.0, allow_extreme=False))
@settings(max_examples=20)
def test_trajectory_kl_on_pomdps_equals_enumerated_log_ratio(problem, raw):
    """Observation policies: D_KL(p_θ'‖p_θ) = E_{τ∼p_θ'}[Σ_t log π_θ'(a_t|o_t) − log π_θ(a_t|o_t)]
    (the dynamics and emissions cancel), averaged over every enumerated trajectory of θ'."""
    mdp, policy, theta = problem
    target = raw[:policy.n_params]
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, target)
    x, a = batch.inputs, batch.actions
    lr = (np.asarray(policy.log_probs(target))[x, a] - np.asarray(policy.log_probs(theta))[x, a])
    assert exact.trajectory_kl(mdp, policy, target, theta) == pytest.approx(
        float(prob @ lr.sum(axis=1)), abs=1e-10)


def test_pg18_symbolic_series_of_two_action_kl():
    """SymPy: π = softmax(0, x), π' = softmax(0, x + δ). Since log(π'(a)/π(a)) = δ·1[a=1] +
    log((1 + eˣ)/(1 + e^{x+δ})), D_KL(π'‖π) = q δ − log(1 + e^{x+δ}) + log(1 + eˣ) with
    q = π'(1) (checked against policy_kl numerically). Its value and first derivative at
    δ = 0 vanish and its second derivative is p(1 − p), the Fisher information of x: so
    KL = ½ F δ² + O(δ³), not F δ²."""
    import sympy as sp
    x, d = sp.symbols("x delta", real=True)
    q = sp.exp(x + d) / (1 + sp.exp(x + d))
    p = q.subs(d, 0)
    kl = q * d - sp.log(1 + sp.exp(x + d)) + sp.log(1 + sp.exp(x))
    policy = pgmath.SoftmaxPolicy(1, 2)
    for xv, dv in ((0.3, 0.7), (-1.2, 0.05)):
        num = exact.policy_kl(policy, np.array([0.0, xv + dv]), np.array([0.0, xv]))[0]
        assert float(kl.subs({x: xv, d: dv})) == pytest.approx(num, abs=1e-14)
    assert sp.simplify(kl.subs(d, 0)) == 0
    assert sp.simplify(sp.diff(kl, d).subs(d, 0)) == 0
    assert sp.simplify(sp.diff(kl, d, 2).subs(d, 0) - p * (1 - p)) == 0
