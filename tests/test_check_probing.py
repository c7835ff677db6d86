"""pgmath.check.probing: coupling and final states found by probing, not declared.

Expected values from independent routes: the exact moments of the batch estimate by
enumerating every ordered N-tuple (:func:`pgmath.exact.coupled_moments`, its own code) and
the U-statistic closed forms of :func:`pgmath.exact.batch_average_moments` (E = ∇J for the
leave-one-out baseline, (1 − 1/b)∇J for the batch average including the trajectory).
"""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import pgmath
from pgmath.environments import random_mdp
from pgmath import estimators as E
from pgmath import strategies as pst
from pgmath.check import probe_estimator


def tiny(seed=0, T=1, S=2, A=2):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, S, A, T, reward_scale=3)
    return mdp, pgmath.SoftmaxPolicy(S, A), rng.normal(size=S * A)


# -- user estimators coupled through the batch, none of them marked ----------------------
def _scores_returns(batch, policy, theta):
    return E.step_scores(batch, policy, theta).sum(axis=1), batch.returns()


def leave_one_out(batch, policy, theta):
    """Unbiased: b_i = mean of the other returns (independent of τ_i)."""
    Psi, R = _scores_returns(batch, policy, theta)
    n = batch.n
    return Psi * (R - (R.sum() - R) / (n - 1))[:, None]


def batch_average(batch, policy, theta):
    """Biased: b = mean of all returns, τ_i's own included: E = (1 − 1/b) ∇J (PG-9)."""
    Psi, R = _scores_returns(batch, policy, theta)
    return Psi * (R - R.mean())[:, None]


def optimal_from_batch(batch, policy, theta):
    """Biased (mushroom-rl's REINFORCE): the per-component optimal baseline
    b_k = Σ_i Ψ_ik² R_i / Σ_i Ψ_ik² estimated from the same batch."""
    Psi, R = _scores_returns(batch, policy, theta)
    w = Psi ** 2
    b = (w * R[:, None]).sum(axis=0) / np.maximum(w.sum(axis=0), 1e-300)
    return Psi * (R[:, None] - b)


def previous_return(batch, policy, theta):
    """Unbiased but not symmetric: b_i = R_{i−1} (cyclically), another trajectory's return."""
    Psi, R = _scores_returns(batch, policy, theta)
    return Psi * (R - np.roll(R, 1))[:, None]


@pytest.mark.parametrize("est,verdict", [(leave_one_out, "unbiased"),
                                         (batch_average, "biased"),
                                         (optimal_from_batch, "biased")])
def test_unmarked_coupled_estimators_are_found_and_checked_over_batches(est, verdict):
    mdp, pol, th = tiny(1)
    res = pgmath.check_unbiased(est, mdp, pol, th, batch_size=3)
    assert res.coupled and "found by probing" in res.coupling and res.batch_size == 3
    assert res.method == "enumeration" and "multisets" in res.report, res.report
    assert res.n == 20  # C(4 + 3 − 1, 3) multisets of the 4 trajectories, not 4^3 = 64
    assert "batch coupling: found by probing" in res.report
    ref, _ = pgmath.exact.coupled_moments(est, mdp, pol, th, 3)  # all 64 ordered batches
    np.testing.assert_allclose(res.estimate, ref, atol=1e-13)
    assert res.verdict == verdict, res.report


def test_closed_forms_of_the_batch_baselines():
    """LOO has mean ∇J, the batch average (1 − 1/b) ∇J (U-statistics), and the report
    recognises the second as a scale 1 − 1/b."""
    mdp, pol, th = tiny(2)
    for est, loo in ((leave_one_out, True), (batch_average, False)):
        res = pgmath.check_unbiased(est, mdp, pol, th, batch_size=4)
        mean, _ = pgmath.exact.batch_average_moments(mdp, pol, th, 4, leave_one_out=loo)
        np.testing.assert_allclose(res.estimate, mean, atol=1e-13)
    assert res.scale == pytest.approx(0.75, abs=1e-12)
    assert res.pattern and "1 − 1/b" in res.pattern, res.report


def test_a_coupled_estimator_that_is_not_symmetric_gets_ordered_batches():
    mdp, pol, th = tiny(3)
    probe = probe_estimator(previous_return, mdp, pol, th)
    assert probe.coupled and probe.symmetric is False
    res = pgmath.check_unbiased(previous_return, mdp, pol, th, batch_size=3)
    assert res.passed and res.n == 4 ** 3 and "ordered" in res.report, res.report


def test_per_trajectory_estimators_are_not_flagged():
    mdp, pol, th = tiny(4, T=3)

    def user_rtg(batch, policy, theta):
        return E.reward_to_go(batch, policy, theta)

    for est in (E.reinforce, E.reward_to_go, user_rtg, E.state_baseline(mdp, pol, th)):
        probe = probe_estimator(est, mdp, pol, th)
        assert not probe.coupled and probe.calls <= 4, probe
        assert not pgmath.check_unbiased(est, mdp, pol, th).coupled


def test_marked_estimators_are_coupled_without_probing_rows():
    mdp, pol, th = tiny(5)
    probe = probe_estimator(E.leave_one_out_baseline, mdp, pol, th)
    assert probe.coupled and probe.marked and probe.evidence == "marked with @batch_coupled"


@given(pst.problems(max_states=2, max_actions=2, horizon=(1, 2), allow_extreme=False),
       st.sampled_from([leave_one_out, batch_average, optimal_from_batch, previous_return]),
       st.integers(2, 3))
def test_no_unmarked_coupled_estimator_gets_a_per_trajectory_verdict(problem, est, b):
    """Whatever the problem, the check's unit is a batch (the rows moved with their
    companions), unless every row is the same whatever the batch (R constant: then the
    estimator is per-trajectory on this problem and a per-trajectory verdict is right)."""
    mdp, pol, th = problem
    assume(pgmath.count_trajectories(mdp, pol, th) >= 2)  # these need a second trajectory
    res = pgmath.check_unbiased(est, mdp, pol, th, batch_size=b)
    batch, _ = pgmath.enumerate_trajectories(mdp, pol, th)
    psi = E.step_scores(batch, pol, th).sum(axis=1)
    constant = np.ptp(batch.returns()) == 0 or not np.any(psi)
    assert res.coupled or constant, res.report
    if res.coupled:
        ref, _ = pgmath.exact.coupled_moments(est, mdp, pol, th, b)
        np.testing.assert_allclose(res.estimate, ref, atol=1e-12)


def test_coupled_beyond_enumeration_is_statistical_over_batches():
    """Chain at T = 20: too many batches to enumerate; independent batches of 16, the
    unit stated, and an unbiased coupled estimator is not failed."""
    mdp = pgmath.environments.make("chain")
    pol = pgmath.environments.default_policy(mdp)
    th = np.random.default_rng(6).normal(size=pol.n_params)
    res = pgmath.check_unbiased(leave_one_out, mdp, pol, th, n=400)
    assert res.coupled and res.method == "asymptotic" and res.batch_size == 16
    assert "batches of 16" in res.report and res.verdict != "biased", res.report


# -- final states ------------------------------------------------------------------------
def _f(S):
    return np.arange(S, dtype=float) ** 2 + 1.0


def control_variate(centred: bool):
    """reward-to-go plus ψ_{T−1} (f(s_T) − Σ_s' P(s'|s, a) f(s')): the extra term has mean
    0 given (s_{T−1}, a_{T−1}) when it is centred, so the estimator is unbiased iff s_T is
    real. Without centring its mean is ∇E[f(s_T)] ≠ 0 in general."""
    def g(batch, policy, theta, mdp=None):
        raise NotImplementedError
    def make(mdp):
        f = _f(mdp.n_states)
        Pf = mdp.P @ f                                                 # [S, A]

        def est(batch, policy, theta):
            s, a = batch.states[:, -1], batch.actions[:, -1]
            extra = f[batch.final_states] - (Pf[s, a] if centred else 0.0)
            psi = E.step_scores(batch, policy, theta)[:, -1]
            return E.reward_to_go(batch, policy, theta) + psi * extra[:, None]
        return est
    return make


def test_an_estimator_reading_final_states_gets_them_enumerated():
    mdp, pol, th = tiny(7, T=2, S=3)
    assert mdp.R.ndim == 2  # enumeration would not draw s_T for the rewards
    good = control_variate(True)(mdp)
    probe = probe_estimator(good, mdp, pol, th)
    assert probe.reads_final_states and not probe.coupled
    res = pgmath.check_unbiased(good, mdp, pol, th)
    assert res.passed and "final state s_T" in res.report, res.report
    assert res.n == pgmath.count_trajectories(mdp, pol, th, final_states=True)
    bad = pgmath.check_unbiased(control_variate(False)(mdp), mdp, pol, th)
    assert bad.verdict == "biased", bad.report
    # an estimator that does not read them is enumerated without them
    assert not probe_estimator(E.reward_to_go, mdp, pol, th).reads_final_states


def test_builtin_gae_bootstrapping_from_V_T_reads_final_states():
    """gae with a [T+1, S] table bootstraps from V_T(s_T): the probe sees it need s_T and
    the enumeration decides it exactly; its bias equals the closed form
    E[Σ_t ψ_t γ^{T−t}... ] computed here from the same estimator's recursion route."""
    mdp, pol, th = tiny(8, T=2, S=3)
    V = np.vstack([np.asarray(pgmath.exact.values(mdp, pol, th)), np.full((1, 3), 0.0)])
    est = E.gae(V, 0.5, discounting="start")
    assert probe_estimator(est, mdp, pol, th).reads_final_states is False  # V_T = 0
    V[-1] = [1.0, 2.0, 5.0]
    est = E.gae(V, 0.5, discounting="start")
    assert probe_estimator(est, mdp, pol, th).reads_final_states
    by_enum = pgmath.check_unbiased(est, mdp, pol, th, method="enumeration")
    by_rec = pgmath.check_unbiased(est, mdp, pol, th, method="recursion")
    np.testing.assert_allclose(by_enum.estimate, by_rec.estimate, atol=1e-13)
    assert by_enum.verdict == by_rec.verdict == "biased"


@pytest.mark.parametrize("est", [E.standardised_advantages, E.leave_one_out_baseline,
                                 E.batch_average_baseline, E.sample_optimal_baseline()])
def test_builtin_coupled_estimators_get_a_guaranteed_test_beyond_enumeration(est):
    """Their batch_range description bounds every batch mean (the empirical-Bernstein
    check raises if a sampled batch breaks it), so on the chain at T = 20 the test is
    non-asymptotic; the biased ones are biased, the leave-one-out one is not failed."""
    mdp = pgmath.environments.make("chain")
    pol = pgmath.environments.default_policy(mdp)
    th = np.random.default_rng(6).normal(size=pol.n_params)
    res = pgmath.check_unbiased(est, mdp, pol, th, n=3000, rng=np.random.default_rng(7))
    assert res.method == "empirical-bernstein" and res.guaranteed and res.coupled, res.report
    if est is E.leave_one_out_baseline:
        assert res.verdict != "biased", res.report


@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3), allow_extreme=False),
       st.sampled_from([E.standardised_advantages, E.leave_one_out_baseline,
                        E.batch_average_baseline, E.sample_optimal_baseline()]),
       st.integers(2, 6))
def test_batch_range_bounds_every_batch_mean(problem, est, b):
    """|batch mean_j| ≤ batch_range_j on 50 sampled batches (every batch, by construction
    of the bound)."""
    mdp, pol, th = problem
    B = est.batch_range(mdp, pol, th, b)
    batch = pgmath.sample(mdp, pol, th, 50 * b, np.random.default_rng(0))
    for k in range(50):
        g = E.call_estimator(est, batch[slice(k * b, (k + 1) * b)], pol, th).mean(axis=0)
        assert np.all(np.abs(g) <= B * (1 + 1e-12) + 1e-300), (g, B)


def test_a_described_estimator_is_held_to_its_description_not_probed():
    """An estimator with step_weights is not probed (its description says per-trajectory),
    and every route holds the code to it: a batch-coupled function wearing reward-to-go's
    description is refused by name on enumeration and before the recursion."""
    mdp, pol, th = tiny(9, T=2)

    def coupled_in_disguise(batch, policy, theta):
        return leave_one_out(batch, policy, theta)

    coupled_in_disguise.step_weights = E.reward_to_go.step_weights
    for method in ("enumeration", "recursion"):
        with pytest.raises(pgmath.EstimatorError, match="step_weights does not describe"):
            pgmath.check_unbiased(coupled_in_disguise, mdp, pol, th, method=method)
    res = pgmath.check_unbiased(E.reward_to_go, mdp, pol, th)
    assert "by its description" in res.coupling and res.passed
