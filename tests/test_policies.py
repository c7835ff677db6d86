"""Softmax policies: probs, log-probs and the score ψ = ∇θ log π (notes §4.1).

Expected values: a float softmax written here (``reference.softmax``), and the score
against central differences of log π and against autograd.
"""
import autograd
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pgmath
from pgmath import strategies as pst

import reference as ref


@st.composite
def policies(draw):
    X, A = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["tabular", "observation", "linear"]))
    if kind == "tabular":
        return pgmath.SoftmaxPolicy(X, A)
    if kind == "observation":
        return pgmath.ObservationSoftmaxPolicy(X, A)
    d = draw(st.integers(1, 3))
    feats = draw(st.lists(st.floats(-2, 2), min_size=X * A * d, max_size=X * A * d))
    return pgmath.LinearSoftmaxPolicy(np.reshape(feats, (X, A, d)))


@given(policies(), st.data())
def test_probs_log_probs_and_score(policy, data):
    theta = data.draw(pst.thetas(policy, allow_extreme=False))
    logits = np.einsum("xad,d->xa", policy.features(), theta)
    pi = policy.probs(theta)
    np.testing.assert_allclose(pi, ref.softmax(logits), atol=1e-12)
    np.testing.assert_allclose(policy.log_probs(theta), np.log(ref.softmax(logits)), atol=1e-10)
    psi = policy.score(theta)
    assert psi.shape == (policy.n_inputs, policy.n_actions, policy.n_params)
    for x in range(policy.n_inputs):
        for a in range(policy.n_actions):
            fd = ref.central_differences(lambda th: policy.log_probs(th)[x, a], theta)
            np.testing.assert_allclose(psi[x, a], fd, atol=1e-7)
            ag = autograd.grad(lambda th: policy.log_probs(th)[x, a])(theta)
            np.testing.assert_allclose(psi[x, a], ag, atol=1e-12)
    # E_π[ψ] = 0 (the score has mean zero)
    np.testing.assert_allclose(np.einsum("xa,xad->xd", pi, psi), 0.0, atol=1e-12)


@given(policies(), st.data())
def test_extreme_logits_are_finite(policy, data):
    theta = np.array(data.draw(st.lists(st.sampled_from([-1e3, 1e3, 0.0]),
                                        min_size=policy.n_params, max_size=policy.n_params)))
    for out in (policy.probs(theta), policy.log_probs(theta), policy.score(theta)):
        assert np.all(np.isfinite(out))
    np.testing.assert_allclose(np.sum(policy.probs(theta), axis=1), 1.0, atol=1e-12)


def test_tabular_theta_layout_is_reshape_s_a():
    pol = pgmath.SoftmaxPolicy(2, 3)
    theta = np.array([0.0, 0.0, np.log(2.0), 5.0, 5.0, 5.0])
    np.testing.assert_allclose(pol.probs(theta), [[0.25, 0.25, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    # ψ[s, a, (s', b)] = 1[s = s'](1[a = b] − π(b|s)), by hand for s = 0, a = 2
    np.testing.assert_allclose(pol.score(theta)[0, 2], [-0.25, -0.25, 0.5, 0, 0, 0])


def test_bad_policy_construction():
    with pytest.raises(pgmath.InvalidPolicyError, match="n_actions must be a positive int, got 0"):
        pgmath.SoftmaxPolicy(2, 0)
    with pytest.raises(pgmath.ShapeError, match=r"features must have shape \[X, A, d\]"):
        pgmath.LinearSoftmaxPolicy(np.zeros((2, 2)))
    with pytest.raises(pgmath.InvalidPolicyError, match="over must be"):
        pgmath.LinearSoftmaxPolicy(np.zeros((2, 2, 1)), over="actions")
