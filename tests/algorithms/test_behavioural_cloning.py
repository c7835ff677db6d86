"""Behavioural cloning, exactly (notes §2.1): costs, ε, the bounds IL-1, IL-2, IL-3, IL-5.

Expected values come from independent routes: enumeration of every trajectory, the
backward value recursion (J of an MDP with reward −c), exact rational sums, SymPy, and
closed forms worked out by hand on the tightrope (stated in each test).
"""
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import pgmath
from pgmath import strategies as pst
from pgmath.algorithms import behavioural_cloning as bc
from pgmath.environments import tightrope
from pgmath.errors import InvalidPolicyError, ShapeError
from pgmath.exact import objective, state_marginals
from pgmath.mdp import TabularMDP
from pgmath.claims import il


@st.composite
def imitation_problems(draw, max_states=4, max_actions=3, horizon=(1, 4), time_dependent=True):
    """(mdp, expert one-hot, learner): ``[S, A]`` tables, or (when drawn) ``[T, S, A]`` ones."""
    mdp = draw(pst.mdps(max_states=max_states, min_actions=2, max_actions=max_actions,
                        horizon=horizon, rewards_next_state=False))
    S, A, T = mdp.n_states, mdp.n_actions, mdp.horizon
    shape = (T, S) if time_dependent and draw(st.booleans()) else (S,)
    n = int(np.prod(shape))
    expert = np.eye(A)[np.array(draw(st.lists(st.integers(0, A - 1), min_size=n,
                                              max_size=n))).reshape(shape)]
    rows = [draw(pst.distributions(A)) for _ in range(S)]
    learner = np.stack(rows)
    if time_dependent and draw(st.booleans()):
        learner = np.stack([np.roll(learner, t, axis=0) for t in range(T)])
    return mdp, expert, learner


def _at(table, states):
    """``[N, T]`` table[s_t] (table ``[S]``) or table[t, s_t] (table ``[T, S]``)."""
    table = np.asarray(table)
    if table.ndim == 1:
        return table[states]
    return table[np.arange(states.shape[1])[None, :], states]


def _enumerated(mdp, expert, learner, fn):
    """Σ_τ p(τ) fn(states, actions) by enumerating every trajectory of the learner."""
    batch, probs = pgmath.enumerate_trajectories(mdp, learner)
    return np.tensordot(probs, fn(batch.states, batch.actions), axes=1)


# -- the cost and the learners --------------------------------------------------------------------
@given(imitation_problems())
def test_expected_cost_matches_enumeration(problem):
    """E[Σ_t c(s_t, a_t)] against Σ_τ p(τ) Σ_t 1[a_t ≠ π*(s_t)] over every trajectory."""
    mdp, expert, learner = problem
    pistar = expert.argmax(-1)
    want = _enumerated(mdp, expert, learner,
                       lambda s, a: (a != _at(pistar, s)).sum(1).astype(float))
    assert bc.expected_cost(mdp, expert, learner) == pytest.approx(want, abs=1e-12)


@given(imitation_problems(time_dependent=False))
def test_expected_cost_matches_values_route(problem):
    """The cost is −J of the MDP with reward r = −c, computed by backward values."""
    mdp, expert, learner = problem
    cost_mdp = TabularMDP(mdp.P, -bc.imitation_cost(mdp, expert), mdp.p0, horizon=mdp.horizon)
    assert bc.expected_cost(mdp, expert, learner) == pytest.approx(-objective(cost_mdp, learner),
                                                                   abs=1e-12)


def test_time_dependent_expert_and_learner_broadcast():
    """A [T, S, A] learner equal at every t gives the same cost as its [S, A] table."""
    mdp = tightrope(3, horizon=3)
    ex = bc.expert_policy(mdp)
    le = bc.epsilon_learner(ex, 0.2)
    le_t = np.broadcast_to(le, (3,) + le.shape)
    ex_t = np.broadcast_to(ex, (3,) + ex.shape)
    c = bc.expected_cost(mdp, ex, le)
    assert bc.expected_cost(mdp, ex_t, le) == pytest.approx(c, abs=1e-15)
    assert bc.expected_cost(mdp, ex, le_t) == pytest.approx(c, abs=1e-15)
    assert bc.error_rates(mdp, ex_t, le).shape == (3, mdp.n_states)


def test_expert_on_the_tightrope_is_the_rope_walk():
    """Optimal control on the tightrope picks i mod A at position i (its definition)."""
    for A in (2, 3):
        mdp = tightrope(7, n_actions=A, horizon=5)
        ex = bc.expert_policy(mdp)
        assert ex.shape == (8, A)
        assert np.array_equal(ex.argmax(1)[:7], np.arange(7) % A)


def test_expert_must_be_deterministic():
    mdp = tightrope(3)
    with pytest.raises(InvalidPolicyError, match=r"expert\[s=0, :\]"):
        bc.imitation_cost(mdp, np.full((4, 2), 0.5))


@given(imitation_problems(), st.floats(0, 1))
def test_epsilon_learner_errs_with_probability_epsilon(problem, eps):
    mdp, expert, _ = problem
    le = bc.epsilon_learner(expert, eps)
    assert np.allclose(bc.error_rates(mdp, expert, le), eps, atol=1e-15)
    assert np.allclose(le.sum(-1), 1.0)


def test_epsilon_learner_time_dependent_errors():
    """ε_t(s) given per time step makes a [T, S, A] learner erring exactly ε_t(s)."""
    mdp = tightrope(3, horizon=4)
    eps = np.linspace(0, 1, 16).reshape(4, 4)
    le = bc.epsilon_learner(bc.expert_policy(mdp), eps)
    assert le.shape == (4, 4, 2)
    assert np.allclose(bc.error_rates(mdp, bc.expert_policy(mdp), le), eps)


def test_epsilon_learner_rejects_bad_epsilon():
    ex = np.eye(2)[[0, 1]]
    with pytest.raises(InvalidPolicyError, match="eps"):
        bc.epsilon_learner(ex, 1.5)
    with pytest.raises(ShapeError, match="eps has shape"):
        bc.epsilon_learner(ex, [0.1, 0.2, 0.3])
    with pytest.raises(InvalidPolicyError, match="mistakes"):
        bc.epsilon_learner(ex, 0.1, mistakes=np.eye(2)[[0, 0]])


def test_fit_tabular_counts_by_hand():
    """π(a|x) = (n(x, a) + α)/(n(x) + αA), counted by hand; aliased states share a row."""
    s = np.array([[0, 0, 1], [0, 2, 2]])
    a = np.array([[1, 1, 0], [0, 1, 1]])
    pi = bc.fit_tabular(s, a, 4, 2, smoothing=0.5)
    assert np.allclose(pi[0], [1.5 / 4, 2.5 / 4])   # n(0) = (1, 2)
    assert np.allclose(pi[1], [1.5 / 2, 0.5 / 2])   # n(1) = (1, 0)
    assert np.allclose(pi[2], [0.5 / 3, 2.5 / 3])   # n(2) = (0, 2)
    assert np.allclose(pi[3], [0.5, 0.5])           # unseen: uniform
    pa = bc.fit_tabular(s, a, 4, 2, smoothing=1.0, observation_map=[0, 0, 1, 1])
    assert np.allclose(pa[0], [3 / 6, 3 / 6]) and np.array_equal(pa[0], pa[1])  # n = (2, 2)
    assert np.allclose(pa[2], [1 / 4, 3 / 4]) and np.array_equal(pa[2], pa[3])  # n = (0, 2)


def test_fit_tabular_rejects_bad_input():
    with pytest.raises(InvalidPolicyError, match="smoothing"):
        bc.fit_tabular([0], [0], 2, 2, smoothing=0.0)
    with pytest.raises(ShapeError, match="actions must lie in 0..1"):
        bc.fit_tabular([0], [2], 2, 2)
    with pytest.raises(ShapeError, match="same shape"):
        bc.fit_tabular([0, 1], [0], 2, 2)


# -- ε ----------------------------------------------------------------------------------------
@given(imitation_problems())
def test_epsilons_are_error_rates_under_p_train(problem):
    """ε_max and the averages by enumeration of the *expert's* trajectories."""
    mdp, expert, learner = problem
    e = bc.error_rates(mdp, expert, learner)
    batch, probs = pgmath.enumerate_trajectories(mdp, expert)
    per_step = probs @ _at(e, batch.states)
    assert np.allclose(bc.epsilon_average(mdp, expert, learner, per_step=True), per_step, atol=1e-12)
    assert bc.epsilon_average(mdp, expert, learner) == pytest.approx(per_step.mean(), abs=1e-12)
    assert bc.epsilon_max(mdp, expert, learner) == pytest.approx(_at(e, batch.states).max())


# -- the tightrope: IL-1's order ------------------------------------------------------------------
def _exact_sum(eps: Fraction, T: int) -> Fraction:
    """Σ_{t=1}^{T} (1 − (1−ε)^t) in exact rationals."""
    return sum((1 - (1 - eps) ** t for t in range(1, T + 1)), Fraction(0))


@pytest.mark.parametrize("eps", [Fraction(1, 10), Fraction(1, 3), Fraction(1, 1000)])
@pytest.mark.parametrize("T", [1, 2, 5, 12])
@pytest.mark.parametrize("A", [2, 3])
def test_tightrope_closed_form_matches_engine(eps, T, A):
    """Closed form T − (1−ε)(1 − (1−ε)^T)/ε (= Σ_t 1 − (1−ε)^t, exact rationals) against the
    engine's imitation cost and against −J (the tightrope's own reward, −1 per step off)."""
    closed = T - (1 - eps) * (1 - (1 - eps) ** T) / eps
    assert closed == _exact_sum(eps, T)
    mdp, ex, lb, _ = bc.tightrope_learners(float(eps), T, n_actions=A)
    assert bc.expected_cost(mdp, ex, lb) == pytest.approx(float(closed), rel=1e-12)
    assert -objective(mdp, lb) == pytest.approx(float(closed), rel=1e-12)
    assert float(bc.bc_cost_bound(float(eps), T)) == pytest.approx(float(closed), rel=1e-12)


def test_bound_functions_accurate_for_tiny_epsilon():
    """Against exact rationals at ε = 1e-9, where the closed form cancels catastrophically."""
    eps = Fraction(1, 10 ** 9)
    assert float(bc.bc_cost_bound(1e-9, 6)) == pytest.approx(float(_exact_sum(eps, 6)), rel=1e-9)
    assert float(bc.bc_series_bound(1e-9, 6)) == pytest.approx(float(6 * (1 - (1 - eps) ** 6)), rel=1e-9)
    assert float(bc.drift_bound(1e-9, 3)) == pytest.approx(float(2 * (1 - (1 - eps) ** 3)), rel=1e-9)


def test_tightrope_cost_is_order_T_squared():
    """BC's cost / (εT(T+1)/2) → 1 as ε → 0 (Taylor: 1 − (1−ε)^t = εt + O(ε²t²)), and the
    log-log slope over T = 16..256 at ε = 1e-4 is within 0.05 of 2."""
    for T in (8, 64, 512):
        ratio = float(bc.bc_cost_bound(1e-9, T)) / (1e-9 * T * (T + 1) / 2)
        assert abs(ratio - 1) < 1e-5
    gap, s_bc, s_dagger = il._tightrope_check()
    assert gap < 1e-12
    assert abs(s_bc - 2) < 0.05
    assert abs(s_dagger - 1) < 1e-9


def test_dagger_fixed_point_is_linear_in_T():
    """An ε-learner erring with probability ε in *every* state (DAgger's fixed point) has
    imitation cost exactly εT (each step errs w.p. ε, whatever the state); its task cost
    (−J, a fall is forever) is still BC's closed form."""
    for T in (3, 17, 40):
        mdp, ex, _, ld = bc.tightrope_learners(0.01, T)
        assert bc.expected_cost(mdp, ex, ld) == pytest.approx(0.01 * T, rel=1e-12)
        assert -objective(mdp, ld) == pytest.approx(float(_exact_sum(Fraction(1, 100), T)), rel=1e-12)


# -- IL-1 -------------------------------------------------------------------------------------
@given(imitation_problems())
def test_il1_cost_within_tight_and_series_bounds(problem):
    """C ≤ Σ_{t=1}^T (1 − (1−ε)^t) ≤ T(1 − (1−ε)^T) ≤ εT², ε = max error on p_train's support."""
    mdp, expert, learner = problem
    T = mdp.horizon
    eps = bc.epsilon_max(mdp, expert, learner)
    C = bc.expected_cost(mdp, expert, learner)
    tight, series = float(bc.bc_cost_bound(eps, T)), float(bc.bc_series_bound(eps, T))
    assert C <= tight + 1e-12
    assert tight <= series + 1e-12
    assert series <= eps * T ** 2 + 1e-12


def test_il1_series_without_end_sums_to_T():
    """SymPy: Σ_{k≥0} (1−ε)^k εT = T for 0 < ε ≤ 1: the notes' "…" is the trivial bound."""
    eps = sp.Symbol("epsilon", positive=True)
    T, k = sp.symbols("T k", positive=True)
    total = sp.summation((1 - eps) ** k * eps * T, (k, 0, sp.oo))
    total = sp.refine(sp.piecewise_fold(total), sp.Q.lt(eps, 2))
    assert sp.simplify(total.subs(eps, sp.Rational(1, 7)) - T) == 0
    finite = sp.summation((1 - eps) ** k * eps * T, (k, 0, T - 1))
    assert sp.simplify(finite.subs({eps: sp.Rational(1, 7), T: 5}) - 5 * (1 - sp.Rational(6, 7) ** 5)) == 0


def test_il1_fails_when_epsilon_is_measured_on_a_sample():
    """A training set (50 trajectories × T = 10 pairs, all in state 0) that missed the rare
    start state r (p0(r) = δ = 0.05): the learner is exact on the sampled state (ε = 0 on
    D_train), uniform at r and in the fallen state (both unseen). By hand, every step from r
    costs 1/2 and state 0 costs nothing: C = δT/2 = 1/4 > 0 = the bound built from the
    sample's ε, while the bound with ε over p_train's support holds."""
    mdp, ex, le, states = il.unsampled_state_mdp()
    T = mdp.horizon
    eps_sample = float(np.max(bc.error_rates(mdp, ex, le)[np.unique(states)]))
    assert eps_sample == 0.0
    C = bc.expected_cost(mdp, ex, le)
    assert C == pytest.approx(0.05 * T / 2, rel=1e-12)
    assert C > float(bc.bc_series_bound(eps_sample, T)) + 0.1
    assert bc.epsilon_max(mdp, ex, le) == pytest.approx(0.5)
    assert C <= float(bc.bc_cost_bound(0.5, T))


# -- IL-2 -------------------------------------------------------------------------------------
@given(imitation_problems(), st.floats(0, 1))
def test_il2_decomposition_exact_for_constant_epsilon(problem, eps):
    """With error exactly ε everywhere: p_θ(s_t, no mistake) = (1−ε)^t p_train(s_t) (checked
    by enumerating the learner's trajectories), and p_mistake = (p_θ − (1−ε)^t p_train) /
    (1 − (1−ε)^t) is a probability distribution."""
    mdp, expert, _ = problem
    le = bc.epsilon_learner(expert, eps)
    pistar = expert.argmax(-1)
    T, S = mdp.horizon, mdp.n_states

    def clean_indicator(s, a):
        ok = np.cumprod(np.concatenate([np.ones((len(s), 1), bool), (a == _at(pistar, s))[:, :-1]], 1), 1)
        return (np.eye(S)[s] * ok[:, :, None]).astype(float)  # [M, T, S]
    q = _enumerated(mdp, expert, le, clean_indicator)
    assert np.allclose(bc.clean_marginals(mdp, expert, le), q, atol=1e-12)
    pt, pth = state_marginals(mdp, expert), state_marginals(mdp, le)
    w = (1 - eps) ** np.arange(T)[:, None]
    assert np.allclose(q, w * pt, atol=1e-12)
    rest = pth - w * pt
    assert np.all(rest >= -1e-12)
    assert np.allclose(rest.sum(1), 1 - w[:, 0], atol=1e-12)


@given(imitation_problems())
def test_il2_drift_bound(problem):
    """‖p_θ(s_t) − p_train(s_t)‖₁ ≤ 2(1 − (1−ε)^t) ≤ 2εt with ε = max error on p_train's
    support, and the mistake-free mass lies between (1−ε)^t p_train and p_train."""
    mdp, expert, learner = problem
    T = mdp.horizon
    eps = bc.epsilon_max(mdp, expert, learner)
    pt, pth = state_marginals(mdp, expert), state_marginals(mdp, learner)
    l1 = np.abs(pth - pt).sum(1)
    t = np.arange(T)
    assert np.all(l1 <= bc.drift_bound(eps, t) + 1e-12)
    assert np.all(bc.drift_bound(eps, t) <= 2 * eps * t + 1e-12)
    q = bc.clean_marginals(mdp, expert, learner)
    assert np.all(q <= pt + 1e-12)
    assert np.all(q >= (1 - eps) ** t[:, None] * pt - 1e-12)


def test_il2_literal_decomposition_fails():
    """Tightrope, error 0.1 at position 0 and 0 elsewhere on the rope (ε_max = 0.1): by hand,
    P(no mistake in the first 3 actions) = 0.9, not (1 − ε)³ = 0.729."""
    clean, pred = il._il2_counterexample()
    assert clean == pytest.approx(0.9, abs=1e-15)
    assert pred == pytest.approx(0.729, abs=1e-15)


# -- IL-3 -------------------------------------------------------------------------------------
@given(imitation_problems())
def test_il3_notes_bound(problem):
    """Per step E_{p_θ(s_t)}[c_t] ≤ ε + 2εt, and in total Σ_t (ε + 2εt) = εT² bounds the cost."""
    mdp, expert, learner = problem
    T = mdp.horizon
    eps = bc.epsilon_max(mdp, expert, learner)
    per_step = bc.expected_cost_per_step(mdp, expert, learner)
    assert np.all(per_step <= eps + 2 * eps * np.arange(T) + 1e-12)
    assert per_step.sum() <= float(bc.notes_cost_bound(eps, T)) + 1e-12
    assert float(bc.notes_cost_bound(eps, T)) == pytest.approx(sum(eps + 2 * eps * t for t in range(T)))


# -- IL-5 -------------------------------------------------------------------------------------
@pytest.mark.parametrize("eps,T", [(0.01, 10), (0.02, 20), (0.05, 5)])
def test_il5_average_assumption_breaks_il1_il2(eps, T):
    """Error εT at position 0 only (pooled average ε). By hand: the walker falls at t = 0 w.p.
    εT and then errs every step, so C = εT·T = εT²; the L1 drift at t = 1 is 2εT."""
    mdp, ex, le = il.front_loaded_learner(eps, T)
    assert bc.epsilon_average(mdp, ex, le) == pytest.approx(eps, rel=1e-12)
    C = bc.expected_cost(mdp, ex, le)
    assert C == pytest.approx(eps * T * T, rel=1e-12)
    assert C > float(bc.bc_series_bound(eps, T))            # IL-1's series fails
    assert C <= float(bc.notes_cost_bound(eps, T)) + 1e-12  # εT² survives (with equality)
    l1 = np.abs(state_marginals(mdp, le)[1] - state_marginals(mdp, ex)[1]).sum()
    assert l1 == pytest.approx(2 * eps * T, rel=1e-12)
    assert l1 > float(bc.drift_bound(eps, 1))               # IL-2's drift bound fails


@given(imitation_problems(horizon=(1, 5)))
def test_il5_corrected_bound(problem):
    """C ≤ Σ_k (T − k) ε_k ≤ ε̄T² with ε_k the per-step averages under p_train."""
    mdp, expert, learner = problem
    T = mdp.horizon
    eps_t = bc.epsilon_average(mdp, expert, learner, per_step=True)
    C = bc.expected_cost(mdp, expert, learner)
    assert C <= bc.average_error_cost_bound(eps_t) + 1e-12
    assert bc.average_error_cost_bound(eps_t) <= bc.epsilon_average(mdp, expert, learner) * T ** 2 + 1e-12


def test_epsilon_learner_errs_with_eps_in_every_state_including_the_fallen_one():
    """Issue 17.6: a scalar ε is the error rate in every state, the tightrope's fallen state
    (never visited by the expert) included; BC's learner needs a per-state ε there
    (tightrope_learners gives 1)."""
    from pgmath.environments import tightrope
    mdp = tightrope(4, horizon=4)
    ex = bc.expert_policy(mdp)
    e = bc.error_rates(mdp, ex, bc.epsilon_learner(ex, 0.1))
    np.testing.assert_allclose(e, 0.1)
    _, _, lb, ld = bc.tightrope_learners(0.1, 4)
    np.testing.assert_allclose(bc.error_rates(mdp, ex, lb), [0.1] * 4 + [1.0])
    np.testing.assert_allclose(bc.error_rates(mdp, ex, ld), 0.1)


def test_tightrope_imitation_cost_differs_from_the_reward_cost_for_dagger():
    """Issue 17.7: the tightrope's −J counts steps erring or fallen; the imitation cost is
    c(s, a) = 1[a ≠ π*(s)] with the expert's label (action 0) in the fallen state. They agree
    for BC's learner (errs surely once fallen) and differ for DAgger's (ε everywhere): by
    hand, with T = 2 and ε = 1/2, c-cost = εT = 1, while −J = ε (step 1) + 1·ε + ... =
    P(err at t=0)·2 + P(ok at 0)·P(err at 1) = 1/2·2 + 1/4 = 5/4."""
    mdp, ex, lb, ld = bc.tightrope_learners(0.5, 2, length=2)
    assert bc.expected_cost(mdp, ex, lb) == pytest.approx(-pgmath.exact.objective(mdp, lb))
    assert bc.expected_cost(mdp, ex, ld) == pytest.approx(1.0)
    assert -pgmath.exact.objective(mdp, ld) == pytest.approx(1.25)
    assert "c(s, a) = 1[a ≠ π*(s)]" in pgmath.environments.tightrope.__doc__


def test_fitted_slope_recovers_powers_and_rejects_bad_input():
    T = np.array([2.0, 4.0, 8.0])
    assert bc.fitted_slope(T, 3 * T ** 2) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="positive"):
        bc.fitted_slope(T, [1.0, 0.0, 2.0])
