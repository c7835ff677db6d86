"""Expected updates against ∇J / ∇J_γ: the state-weighting discrepancy (Thomas 2014; Nota &
Thomas 2020) stated exactly, the γ^k-weighted update's tail beyond the time limit, and the
sampler's distribution against the independent reference (a test with a stated
false-failure probability)."""
import numpy as np
import pytest

import reference_rollouts as ref
from pgmath.rollouts import expected_update, gae, sample_segment
from pgmath.rollouts.compare import compare_update, renewal_scale, weighting_gap
from pgmath.rollouts.examples import boundary_problem
from pgmath.rollouts.objective import expected_length, gradient, values


def _tail(prob, pol, th):
    """Σ_{k≥H} γ^k Σ_s P(s_k = s, alive) Σ_a π ψ A_γ — the part of ∇J_γ a time-limited
    episode never reaches — by iterating the marginals of the absorbing chain here."""
    pi = np.asarray(pol.probs(th))
    psi = pol.score(th)
    g, H = prob.discount, prob.time_limit
    V = values(prob, pol, th)
    Q = prob.mdp.r + g * prob.mdp.P @ V
    term = np.einsum("sa,sad,sa->sd", pi, psi, Q - V[:, None])
    Ppi = np.einsum("sa,sat->st", pi, prob.mdp.P)
    Ppi[prob.terminal] = 0.0
    d = prob.mdp.p0 @ np.linalg.matrix_power(Ppi, H)
    tail = np.zeros(pol.n_params)
    for k in range(H, H + 2000):
        tail += g ** k * d @ term
        d = d @ Ppi
    return tail


@pytest.mark.parametrize("H", [1, 3, 10])
def test_discount_weighted_update_is_grad_J_gamma_minus_the_tail_beyond_H(H):
    """Stationary start, exact values, correct GAE, γ^k weighting:
    E[g] = n / E[L] · (∇J_γ − tail_H) exactly."""
    prob, pol, th = boundary_problem(time_limit=H)
    n = 5
    e = expected_update(gae, prob, pol, th, n_steps=n, lam=0.9, weighting="discounted")
    want = n / expected_length(prob, pol, th) * (gradient(prob, pol, th) - _tail(prob, pol, th))
    assert np.allclose(e.mean, want, atol=1e-12, rtol=0)


def test_weighting_gap_is_stated_and_vanishes_only_with_the_weighting():
    """Without γ^k the update misses ∇J_γ by a direction no step size fixes; with γ^k the
    miss is the tail, which shrinks like γ^H."""
    gaps = {}
    for H in (2, 5, 20, 60):
        prob, pol, th = boundary_problem(time_limit=H)
        gap = weighting_gap(prob, pol, th)
        gaps[H] = (gap.unweighted.relative_residual, gap.weighted.relative_residual)
        assert "without γ^k" in gap.report
    un = [u for u, _ in gaps.values()]
    w = [v for _, v in gaps.values()]
    assert min(un) > 5e-3                       # the common update is not ∇J_γ
    assert all(a > b for a, b in zip(w, w[1:]))  # the weighted one converges
    assert w[-1] < 1e-4
    prob, pol, th = boundary_problem(time_limit=None)
    assert weighting_gap(prob, pol, th).weighted is None


def test_compare_update_fields_and_the_episodic_renewal_bias():
    prob, pol, th = boundary_problem(objective="episodic", time_limit=4, discount=1.0)
    e = expected_update(gae, prob, pol, th, n_steps=8, n_envs=2, lam=0.9)
    c = compare_update(e, prob, pol, th)
    assert c.target_name == "∇J"
    assert c.cosine == pytest.approx(1.0, abs=1e-12)
    assert c.relative_bias < 1e-12 and c.relative_residual < 1e-12
    assert c.renewal_scale == pytest.approx(renewal_scale(prob, pol, th, n_steps=8, n_envs=2))
    assert c.scale == pytest.approx(c.renewal_scale, rel=1e-12)
    r = expected_update(gae, prob, pol, th, n_steps=8, lam=0.9, start="reset")
    cr = compare_update(r, prob, pol, th)
    assert cr.renewal_scale is None and cr.bias is None
    assert np.allclose(cr.residual, r.mean - cr.scale * cr.target)


def _frequencies(seg):
    """Per column: [terminated at t, truncated at t for t < n] and Σ_t r_t."""
    return np.concatenate([seg.terminated.T, seg.truncated.T, seg.rewards.sum(axis=0)[:, None]],
                          axis=1).astype(float)


@pytest.mark.parametrize("mode", ["same_step", "next_step"])
@pytest.mark.parametrize("start", ["reset", "stationary"])
def test_sampler_matches_the_reference_distribution(mode, start):
    """Hoeffding with a union bound over the 2n + 1 statistics (each in a known range),
    false-failure probability ≤ 1e-9: ε_j = w_j √(ln(2(2n+1)/α) / (2N)). Power: a sampler
    whose time limit came one step late differs from the truth by more than 2ε somewhere
    (asserted), so it would fail with probability ≥ 1 − α."""
    prob, pol, th = boundary_problem(time_limit=2)
    P, R, p0, pi = ref.boundary_rational()
    P, R, p0, pi = (np.array(x, dtype=float).tolist() for x in (P, R, p0, pi))
    n, N, alpha = 3, 40_000, 1e-9
    def reference(H):
        st = (ref.reset_start(p0) if start == "reset"
              else ref.renewal_start(P, p0, {3}, H, pi, mode))
        out = np.zeros(2 * n + 1)
        for p, rows, _ in ref.segments(st, n, P, R, p0, {3}, H, pi, mode):
            stats = [row["term"] for row in rows] + [row["trunc"] for row in rows]
            out += p * np.array(stats + [sum(row["r"] for row in rows)], dtype=float)
        return out

    want = reference(2)
    seg = sample_segment(prob, pol, th, n_steps=n, n_envs=N, rng=np.random.default_rng(7),
                         start=start, mode=mode)
    got = _frequencies(seg).mean(axis=0)
    width = np.r_[np.ones(2 * n), n * (3.0 - (-0.5))]
    eps = width * np.sqrt(np.log(2 * (2 * n + 1) / alpha) / (2 * N))
    assert np.all(np.abs(got - want) <= eps), (got - want, eps)
    # power: a sampler whose time limit were one step late (H = 3) differs from the truth
    # by more than 2ε in some statistic, so it fails w.p. ≥ 1 − α
    assert np.any(np.abs(reference(3) - want) > 2 * eps)
