"""The exact expected update of a segment: recursion and enumeration against an independent
rational reference (``reference_rollouts.py``, written from gymnasium's rules), and the
closed forms it must satisfy (renewal-reward scale, Σ_x μ(x) Σ_a π ψ A)."""
from fractions import Fraction

import numpy as np
import pytest

import reference as ref_traj
import reference_rollouts as ref
from pgmath import SoftmaxPolicy, TabularMDP
from pgmath.errors import (EstimatorError, InvalidArgumentError, PgmathError,
                           TooManyTrajectoriesError)
from pgmath.rollouts import PATTERNS, expected_update, gae, rollout_problem
from pgmath.rollouts import values as rollout_values
from pgmath.rollouts.examples import boundary_problem, random_rollout_problem

F = Fraction
NAMES = ["gae", *PATTERNS]
FUNCS = {"gae": gae, **PATTERNS}


def _critic_rational(objective, H):
    """A rational critic that is not exact: V̂(s) = (s − 1)/3 (+ k/5 by time)."""
    if objective == "episodic":
        return [[F(s - 1, 3) + F(k, 5) for s in range(4)] for k in range(H)] + [[0] * 4]
    return [[F(s - 1, 3) for s in range(4)]]


def _floats(x):
    return [_floats(v) for v in x] if isinstance(x, list) else float(x)


_COMBOS = [(o, m, s) for o in ("discounted", "episodic") for m in ("same_step", "next_step")
           for s in ("reset", "stationary")]
#: every combination in floats with V^π; in exact rationals (slow) four of them, which
#: cover each objective twice and each (mode, start) pair once
_CASES = [("exact", *c) for c in _COMBOS] + [
    ("rational", "discounted", "same_step", "reset"),
    ("rational", "discounted", "next_step", "stationary"),
    ("rational", "episodic", "same_step", "stationary"),
    ("rational", "episodic", "next_step", "reset")]


@pytest.mark.parametrize("critic, objective, mode, start", _CASES)
def test_recursion_and_enumeration_match_the_rational_reference(objective, mode, start, critic):
    """Every rule (correct GAE and the five bugs), both weightings: the recursion and the
    library's enumeration equal the reference enumeration to 1e-10 — in exact rationals
    with a rational critic (3 steps), in floats with the exact values V^π (4 steps; the
    rational V^π has denominators that make 4 steps slow)."""
    H, lam = 3, F(4, 5)
    gamma = F(9, 10)
    P, R, p0, pi = ref.boundary_rational()
    prob, pol, th = boundary_problem(objective=objective, time_limit=H)
    if critic == "exact":
        n = 4
        V = ([ref.values_discounted(P, R, {3}, pi, gamma)] if objective == "discounted"
             else ref.values_episodic(P, R, {3}, pi, gamma, H))
        P, R, p0, pi, V = map(_floats, (P, R, p0, pi, V))
        gamma, lam = float(gamma), float(lam)
    else:
        n = 3
        V = _critic_rational(objective, H)
    Vf = np.array(_floats(V))
    table = Vf[0] if objective == "discounted" else Vf
    st = (ref.reset_start(p0) if start == "reset"
          else ref.renewal_start(P, p0, {3}, H, pi, mode))
    segs = ref.segments(st, n, P, R, p0, {3}, H, pi, mode)
    assert abs(sum(p for p, _, _ in segs) - 1) <= 1e-12
    for name in NAMES:
        both = ref.expected_update(name, segs, V, pi, gamma, lam,
                                   weighting=("none", "discounted"))
        for weighting in ("none", "discounted"):
            want = np.array(_floats(both[weighting]))
            for method in ("recursion", "enumeration"):
                got = expected_update(FUNCS[name], prob, pol, th, n_steps=n, lam=float(lam),
                                      values=table, start=start, mode=mode, weighting=weighting,
                                      method=method)
                assert np.max(np.abs(got.mean - want)) <= 1e-10, (name, weighting, method)
                assert np.all(got.slack < 1e-10)


def test_exact_values_from_two_routes_equal_the_rational_reference():
    P, R, p0, pi = ref.boundary_rational()
    for objective in ("discounted", "episodic"):
        prob, pol, th = boundary_problem(objective=objective)
        want = (ref.values_discounted(P, R, {3}, pi, F(9, 10)) if objective == "discounted"
                else ref.values_episodic(P, R, {3}, pi, F(9, 10), 3))
        want = np.array(want, dtype=float)
        for method in ("backward", "forward"):
            got = rollout_values(prob, pol, th, method=method)
            assert np.allclose(got, want, atol=1e-12, rtol=0), (objective, method)


@pytest.mark.parametrize("mode", ["same_step", "next_step"])
@pytest.mark.parametrize("time_limit", [None, 2, 5])
def test_stationary_episodic_update_is_the_renewal_scale_times_grad_J(mode, time_limit):
    """Renewal-reward theorem: γ = 1, exact values, correct GAE, stationary start:
    E[g] = n_steps · n_envs / (E[L] + [next-step]) · ∇J, with ∇J from tests/reference.py
    (trajectory enumeration of the absorbing MDP; without a time limit, from the PG theorem
    with the visitation and Q solved here) and E[L] from the occupancy."""
    prob, pol, th = boundary_problem(objective="episodic", time_limit=time_limit, discount=1.0)
    P, R, p0, pi = ref.boundary_rational()
    Pf, Rf = np.array(P, dtype=float), np.array(R, dtype=float)
    pif, p0f = np.array(pi, dtype=float), np.array(p0, dtype=float)
    Ppi = np.einsum("sa,sat->st", pif, Pf)
    Ppi[3] = 0.0  # the episode is over in the terminal state
    if time_limit is not None:
        _, grad = ref_traj.objective_and_gradient(Pf, Rf, p0f, pif, time_limit)
        grad = np.asarray(grad, dtype=float).ravel()
        length = sum((p0f @ np.linalg.matrix_power(Ppi, k))[:3].sum() for k in range(time_limit))
    else:
        visits = np.linalg.solve(np.eye(4) - Ppi.T, p0f)              # Σ_k d_k
        r = np.einsum("sat,sat->sa", Pf, Rf)
        V = np.linalg.solve(np.eye(4) - Ppi, (pif * r).sum(axis=1))
        Q = r + np.einsum("sat,t->sa", Pf, V)
        Q[3] = 0.0
        grad = (visits[:, None] * pif * (Q - (pif * Q).sum(axis=1, keepdims=True))).ravel()
        length = visits[:3].sum()
    n, e = 7, 3
    got = expected_update(gae, prob, pol, th, n_steps=n, n_envs=e, lam=0.6, mode=mode)
    c = n * e / (length + (1 if mode == "next_step" else 0))
    assert np.max(np.abs(got.mean - c * grad)) <= 1e-10
    if mode == "same_step":      # every row is live: the mean divides by n · e
        mean = expected_update(gae, prob, pol, th, n_steps=n, n_envs=e, lam=0.6, mode=mode,
                               reduce="mean")
        assert np.allclose(mean.mean * n * e, got.mean, atol=1e-13, rtol=0)


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
@pytest.mark.parametrize("start", ["reset", "stationary"])
def test_mean_over_live_rows_matches_the_reference(mode, start):
    """reduce="mean" averages over the live rows only: next-step auto-reset rows are not
    transitions, and the count L of live rows is random, so E[g] = E[Σ_e X_e / Σ_e L_e].
    Expected values: the reference enumeration (reference_rollouts.py) of one column's
    segments, X and L per segment from the reference GAE loops, and every ordered pair of
    segments for two environments, (X_i + X_j) / (L_i + L_j), written here."""
    H, lam, gamma = 3, 0.8, 0.9
    P, R, p0, pi = map(_floats, ref.boundary_rational())
    prob, pol, th = boundary_problem(objective="discounted", time_limit=H)
    V = [[(s - 1) / 3 for s in range(4)]]
    n = 3
    st = (ref.reset_start(p0) if start == "reset"
          else ref.renewal_start(P, p0, {3}, H, pi, mode))
    segs = ref.segments(st, n, P, R, p0, {3}, H, pi, mode)
    L = np.array([sum(not row["dead"] for row in rows) for _, rows, _ in segs])
    p = np.array([q for q, _, _ in segs])
    if mode == "next_step":
        assert L.min() < n   # some segments carry an auto-reset row
    for name in NAMES:
        X = np.array([ref.expected_update(name, [(1.0, rows, nxt)], V, pi, gamma, lam)
                      for _, rows, nxt in segs])
        want1 = (p / np.maximum(L, 1) * (L > 0)) @ X
        tot = L[:, None] + L[None, :]
        pair = np.divide(1.0, tot, out=np.zeros(tot.shape), where=tot > 0) * np.outer(p, p)
        want2 = pair.sum(axis=1) @ X + pair.sum(axis=0) @ X
        for e, want in ((1, want1), (2, want2)):
            for method in ("recursion", "enumeration"):
                got = expected_update(FUNCS[name], prob, pol, th, n_steps=n, n_envs=e, lam=lam,
                                      values=np.array(V[0]), start=start, mode=mode,
                                      reduce="mean", method=method)
                assert np.max(np.abs(got.mean - want)) <= 1e-12, (name, e, method)
                assert np.all(got.slack < 1e-12)


def test_correct_gae_with_exact_values_is_the_advantage_weighted_by_row_marginals():
    """E[g] = Σ_t Σ_x P(X_t = x) w(x) Σ_a π(a|s) ψ(s, a) A(s, a) on a 6-state problem over
    128 steps from reset, with the (s, k) marginals computed here by plain iteration."""
    rng = np.random.default_rng(5)
    prob, pol, th = random_rollout_problem(rng, n_states=6, n_actions=3, time_limit=7,
                                           discount=0.95)
    S, H, g = 6, 7, 0.95
    pi = np.asarray(pol.probs(th))
    psi = pol.score(th)
    V = rollout_values(prob, pol, th)
    mdp = prob.mdp
    Q = mdp.r + g * mdp.P @ V
    adv = Q - V[:, None]
    term = prob.is_terminal
    expected_score_adv = np.einsum("sa,sad,sa->sd", pi, psi, adv)
    n = 128
    for weighting in ("none", "discounted"):
        d = np.zeros((H, S))
        d[0] = mdp.p0
        total = np.zeros(pol.n_params)
        for _ in range(n):
            w = np.ones(H) if weighting == "none" else g ** np.arange(H)
            total += np.einsum("k,ks,sd->d", w, d, expected_score_adv)
            nd = np.zeros((H, S))
            flow = np.einsum("ks,sa,sat->kt", d, pi, mdp.P)   # [k, s']
            reset = flow[:, term].sum() + flow[H - 1, ~term].sum()
            nd[1:, ~term] = flow[:-1, ~term]
            nd[0] = reset * mdp.p0
            d = nd
        got = expected_update(gae, prob, pol, th, n_steps=n, lam=0.9, start="reset",
                              weighting=weighting)
        assert np.allclose(got.mean, total, atol=1e-10, rtol=0), weighting


def test_a_function_that_couples_its_columns_is_enumerated_batch_by_batch():
    """Standardised advantages (as skrl returns them) couple the environments: the probe
    finds it and each ordered pair of segments is one call; the expectation is checked
    against a direct enumeration of pairs written here."""
    prob, pol, th = boundary_problem()

    def standardised(rewards, values, terminated, truncated, final_values, next_values, *, gamma,
                     lam):
        a = gae(rewards, values, terminated, truncated, final_values, next_values, gamma=gamma,
                lam=lam)
        return (a - a.mean()) / (a.std() + 1.0)

    got = expected_update(standardised, prob, pol, th, n_steps=1, n_envs=2, lam=0.9,
                          start="reset", method="enumeration")
    from pgmath.rollouts.expectation import enumerate_setting, prepare, segment_updates
    setting = prepare(prob, pol, th, start="reset")
    seg, p = enumerate_setting(setting, 1)
    want = np.zeros(pol.n_params)
    for i in range(seg.n_envs):
        for j in range(seg.n_envs):
            sub = seg.columns(np.array([i, j]))
            a = standardised(sub.rewards, sub.values, sub.terminated, sub.truncated,
                             sub.final_values, sub.next_values, gamma=0.9, lam=0.9)
            want += p[i] * p[j] * segment_updates(sub, a, setting.psi, "none").sum(axis=0)
    assert np.allclose(got.mean, want, atol=1e-13, rtol=0)
    per_column = expected_update(gae, prob, pol, th, n_steps=1, n_envs=2, lam=0.9, start="reset")
    assert np.max(np.abs(per_column.mean - got.mean)) > 1e-3  # the coupling changes E[g]


def test_a_rule_that_contradicts_its_code_is_refused():
    prob, pol, th = boundary_problem()

    def liar(*args, gamma, lam):
        return gae(*args, gamma=gamma, lam=lam) + 1.0
    liar.rollout_rule = gae.rollout_rule
    with pytest.raises(EstimatorError, match="disagrees"):
        expected_update(liar, prob, pol, th, n_steps=5, method="recursion")
    assert expected_update(liar, prob, pol, th, n_steps=2, method="enumeration").method \
        == "enumeration"


def test_bad_options_and_functions_get_named_errors():
    prob, pol, th = boundary_problem()
    with pytest.raises(InvalidArgumentError, match="weighting"):
        expected_update(gae, prob, pol, th, n_steps=2, weighting="gamma")
    with pytest.raises(InvalidArgumentError, match="n_steps"):
        expected_update(gae, prob, pol, th, n_steps=0)
    with pytest.raises(InvalidArgumentError, match="1.5"):
        expected_update(gae, prob, pol, th, n_steps=2, lam=1.5)
    no_limit, pol2, th2 = boundary_problem(time_limit=None)
    with pytest.raises(InvalidArgumentError, match="time limit"):
        expected_update(gae, no_limit, pol2, th2, n_steps=2, weighting="discounted")
    with pytest.raises(EstimatorError, match=r"shape \(2, 1\)"):
        expected_update(lambda *a, gamma, lam: np.zeros((2, 1)), prob, pol, th, n_steps=3)
    with pytest.raises(EstimatorError, match="non-finite"):
        expected_update(lambda r, *a, gamma, lam: r * np.nan, prob, pol, th, n_steps=2)
    with pytest.raises(EstimatorError, match="ZeroDivisionError"):
        expected_update(lambda *a, gamma, lam: 1 / 0, prob, pol, th, n_steps=2)
    with pytest.raises(TooManyTrajectoriesError, match="segments"):
        expected_update(lambda *a, gamma, lam: a[0], prob, pol, th, n_steps=9, max_segments=100)
    with pytest.raises(PgmathError, match="rollout_rule"):
        expected_update(lambda *a, gamma, lam: a[0], prob, pol, th, n_steps=2, method="recursion")


def test_no_time_limit_recursion_matches_enumeration():
    """Without a time limit the chain keeps only "first row of an episode"; the recursion
    and the enumeration still agree (stationary start: termination ends every episode)."""
    for objective, gamma in (("discounted", 0.9), ("episodic", 1.0)):
        prob, pol, th = boundary_problem(time_limit=None, objective=objective, discount=gamma)
        for mode in ("same_step", "next_step"):
            for name, fn in FUNCS.items():
                a = expected_update(fn, prob, pol, th, n_steps=4, lam=0.7, mode=mode,
                                    method="recursion")
                b = expected_update(fn, prob, pol, th, n_steps=4, lam=0.7, mode=mode,
                                    method="enumeration")
                assert np.allclose(a.mean, b.mean, atol=1e-12, rtol=0), (objective, mode, name)


def test_discounted_problem_without_terminations_or_time_limit():
    """Episodes never end: the reset start works, the stationary start of the non-reset
    chain is unique here (an ergodic chain)."""
    P = np.full((2, 2, 2), 0.5)
    mdp = TabularMDP(P, np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1.0, 0.0]), discount=0.8)
    prob = rollout_problem(mdp)
    pol = SoftmaxPolicy(2, 2)
    th = np.array([0.3, -0.2, 0.1, 0.4])
    for start in ("reset", "stationary"):
        a = expected_update(gae, prob, pol, th, n_steps=3, start=start, method="recursion")
        b = expected_update(gae, prob, pol, th, n_steps=3, start=start, method="enumeration")
        assert np.allclose(a.mean, b.mean, atol=1e-13, rtol=0)


def test_a_rule_whose_code_changes_with_the_segment_length_is_refused():
    """Correct for segments of ≤ 3 steps, wrong beyond: the sampled long segment finds it."""
    prob, pol, th = boundary_problem()

    def short_only(rewards, *args, gamma, lam):
        a = gae(rewards, *args, gamma=gamma, lam=lam)
        return a if len(rewards) <= 3 else a * 1.01
    short_only.rollout_rule = gae.rollout_rule
    assert expected_update(short_only, prob, pol, th, n_steps=3).method == "recursion"
    with pytest.raises(EstimatorError, match="segment of 40 steps"):
        expected_update(short_only, prob, pol, th, n_steps=40)
