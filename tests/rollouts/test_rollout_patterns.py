"""The five episode-boundary bugs as named regressions: each is caught by the exact route
with the size of its bias (recomputed in exact rationals by the independent reference),
the corrected GAE passes; property tests over random problems."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings

import reference_rollouts as ref
from pgmath.rollouts import PATTERNS, expected_update, gae
from pgmath.rollouts.check import check_rollout
from pgmath.rollouts.compare import renewal_scale
from pgmath.rollouts.examples import boundary_problem
from pgmath.rollouts.objective import gradient
from pgmath.rollouts.strategies import rollout_problems

F = Fraction
CRITIC = [F(1, 2), F(-1, 4), F(3, 2), F(2)]   # V̂(s): a critic that is not exact


def _rational_biases(mode="same_step"):
    P, R, p0, pi = ref.boundary_rational()
    gamma, lam, H, n = F(9, 10), F(4, 5), 3, 3
    st = ref.renewal_start(P, p0, {3}, H, pi, mode)
    segs = ref.segments(st, n, P, R, p0, {3}, H, pi, mode)
    base = ref.expected_update("gae", segs, [CRITIC], pi, gamma, lam)
    out = {}
    for name in PATTERNS:
        bug = ref.expected_update(name, segs, [CRITIC], pi, gamma, lam)
        out[name] = [b - a for a, b in zip(base, bug)]
    return out


@pytest.fixture(scope="module")
def rational_biases():
    return _rational_biases()


@pytest.mark.parametrize("name", list(PATTERNS))
def test_each_bug_is_caught_with_the_size_of_its_bias(name, rational_biases):
    """With a critic that is not exact every bug is biased; the bias vector equals the
    rational reference's to 1e-12 and is far above the rounding slack."""
    prob, pol, th = boundary_problem()
    table = np.array([float(x) for x in CRITIC])
    kw = dict(n_steps=3, lam=0.8, values=table)
    bug = expected_update(PATTERNS[name], prob, pol, th, **kw)
    good = expected_update(gae, prob, pol, th, **kw)
    bias = bug.mean - good.mean
    want = np.array([float(x) for x in rational_biases[name]])
    assert np.allclose(bias, want, atol=1e-12, rtol=0)
    assert np.max(np.abs(bias)) > 1e-3
    assert np.max(np.abs(bias)) > 1e6 * float(np.max(bug.slack + good.slack))


def test_with_exact_values_only_carrying_across_a_truncation_is_harmless():
    """Exact V^π: TD errors after a reset have conditional mean 0, so bug 4 has no bias
    (to rounding); the other four are biased. On the episodic objective with a time limit
    (values V_k with V_H = 0), truncation *is* termination: bugs 2 and 4 are right there."""
    prob, pol, th = boundary_problem()
    good = expected_update(gae, prob, pol, th, n_steps=6, lam=0.8)
    for name, fn in PATTERNS.items():
        e = expected_update(fn, prob, pol, th, n_steps=6, lam=0.8)
        bias = float(np.max(np.abs(e.mean - good.mean)))
        tol = float(np.max(e.slack + good.slack))
        assert (bias <= tol) == (name == "carried_across_truncation"), name
    epi, pol, th = boundary_problem(objective="episodic")
    good = expected_update(gae, epi, pol, th, n_steps=6, lam=0.8)
    for name, fn in PATTERNS.items():
        e = expected_update(fn, epi, pol, th, n_steps=6, lam=0.8)
        bias = float(np.max(np.abs(e.mean - good.mean)))
        harmless = name in ("truncation_as_termination", "carried_across_truncation")
        assert (bias <= float(np.max(e.slack + good.slack))) == harmless, name


@pytest.mark.parametrize("mode", ["same_step", "next_step"])
def test_check_rollout_verdicts_and_diagnosis(mode):
    prob, pol, th = boundary_problem()
    res = check_rollout(gae, prob, pol, th, n_steps=3, lam=0.8, mode=mode)
    assert res.verdict == "unbiased" and res.passed and res.matches == ("gae",)
    assert "verdict: PASS (unbiased)" in res.report
    for name, fn in PATTERNS.items():
        res = check_rollout(fn, prob, pol, th, n_steps=3, lam=0.8, mode=mode)
        assert res.verdict == "biased", name
        assert name in res.matches and "gae" not in res.matches
        assert res.max_abs_bias > 1e-3
        assert f"known bug {name!r}" in res.pattern and f"recognised: " in res.report


@settings(max_examples=15)
@given(rollout_problems())
def test_property_recursion_equals_enumeration(problem):
    prob, pol, th = problem
    for mode in ("same_step", "next_step"):
        for fn in (gae, *PATTERNS.values()):
            a = expected_update(fn, prob, pol, th, n_steps=3, lam=0.7, mode=mode,
                                method="recursion")
            b = expected_update(fn, prob, pol, th, n_steps=3, lam=0.7, mode=mode,
                                method="enumeration")
            assert np.allclose(a.mean, b.mean, atol=1e-10, rtol=0)


@settings(max_examples=15)
@given(rollout_problems(objectives=("episodic",), discounts=(1.0,)))
def test_property_stationary_episodic_update_is_scaled_grad_J(problem):
    """γ = 1, exact values, correct GAE from the stationary start: E[g] = c ∇J exactly."""
    prob, pol, th = problem
    for mode in ("same_step", "next_step"):
        e = expected_update(gae, prob, pol, th, n_steps=5, n_envs=2, lam=0.5, mode=mode)
        c = renewal_scale(prob, pol, th, n_steps=5, n_envs=2, mode=mode)
        g = gradient(prob, pol, th)
        assert np.allclose(e.mean, c * g, atol=1e-10, rtol=0)


@settings(max_examples=10)
@given(rollout_problems())
def test_property_correct_gae_passes_and_carrying_is_unbiased_with_exact_values(problem):
    prob, pol, th = problem
    assert check_rollout(gae, prob, pol, th, n_steps=2, lam=0.9, n_critics=1).passed
    a = expected_update(PATTERNS["carried_across_truncation"], prob, pol, th, n_steps=4, lam=0.9)
    b = expected_update(gae, prob, pol, th, n_steps=4, lam=0.9)
    assert np.all(np.abs(a.mean - b.mean) <= a.slack + b.slack)
