"""DAgger (notes §2.1, Algorithm 1) with exact reports: IL-4 and IL-6.

Independent routes: hand-derived counts and costs on the tightrope, the mixture of state
marginals recomputed from the returned learners, −J by backward values, and one
statistical check (Azuma–Hoeffding, false-failure probability ≤ 1e-6) that the sampled
dataset is distributed as the reported p_train.
"""
import numpy as np
import pytest

from pgmath.algorithms import behavioural_cloning as bc
from pgmath.algorithms.behavioural_cloning import expert_labels
from pgmath.algorithms.dagger import dagger
from pgmath.environments import tightrope
from pgmath.exact import objective, state_marginals
from pgmath.mdp import TabularMDP
from pgmath.claims import il
from pgmath.environments import dagger_gridworld

ALPHA = 1e-6  # false-failure probability of the statistical test below


def test_iteration0_is_behavioural_cloning_by_hand():
    """Population DAgger on the tightrope (L = T = 8), α = 1, n trajectories: the expert visits
    position i once per trajectory, so π(π*(i)|i) = (n + 1)/(n + 2), the fallen state (never
    visited) is uniform. By hand the cost at step t is (1−ε)^t ε + (1 − (1−ε)^t)/2."""
    n, T = 20, 8
    mdp = tightrope(T, horizon=T)
    its = dagger(mdp, bc.expert_policy(mdp), n_rounds=0, n_trajectories=n)
    eps = 1 / (n + 2)
    assert np.allclose(bc.error_rates(mdp, bc.expert_policy(mdp), its[0].learner),
                       [eps] * T + [0.5])
    on = (1 - eps) ** np.arange(T)
    assert its[0].cost == pytest.approx(np.sum(on * eps + (1 - on) / 2), rel=1e-12)
    assert np.allclose(its[0].p_train, state_marginals(mdp, bc.expert_policy(mdp)))
    # behavioural cloning alone gives the same learner; on the deterministic tightrope every
    # sampled expert walk is the same walk, so sampled counts equal expected counts
    ex = bc.expert_policy(mdp)
    assert np.allclose(bc.clone(mdp, ex, n), its[0].learner, atol=1e-15)
    assert np.allclose(bc.clone(mdp, ex, n, np.random.default_rng(0)), its[0].learner, atol=1e-15)


@pytest.mark.parametrize("sampled", [False, True])
def test_p_train_is_the_mixture_of_the_rounds(sampled):
    """p_train at iteration k = (p_{π*} + Σ_{i<k} p_{θ_i}) / (k + 1), from the returned learners."""
    mdp, ex = dagger_gridworld(horizon=6), il.dagger_expert()
    rng = np.random.default_rng(11) if sampled else None
    its = dagger(mdp, ex, n_rounds=3, n_trajectories=5, rng=rng)
    ds = [state_marginals(mdp, ex)] + [state_marginals(mdp, i.learner) for i in its]
    for k, it in enumerate(its):
        assert np.allclose(it.p_train, np.mean(ds[: k + 1], axis=0), atol=1e-14)
        assert np.allclose(it.p_theta, ds[k + 1], atol=1e-14)
        assert it.dataset_trajectories == 5 * (k + 1)


def test_sampled_dagger_data_follow_p_train():
    """The aggregated dataset's states are drawn from p_train, per (t, s).

    For trajectory j and cell (t, s), X_j = 1[s_{jt} = s] ∈ [0, 1] and, given the earlier
    rounds, E[X_j] = p_{θ_i}(s_t = s) for its round i; so Σ_j (X_j − E[X_j|past]) is a
    martingale with bounded increments and Azuma–Hoeffding gives
    P(|f̂ − p_train| ≥ u) ≤ 2 exp(−2Mu²). A union bound over the T·S cells with
    u = √(ln(2TS/α)/(2M)) makes the false-failure probability ≤ α = 1e-6. On the aliased
    tightrope the wrong candidates for p_train (the expert's marginals alone, or the last
    learner's) lie ≥ 2u away from it, so the test would reject them with probability ≥ 1 − α.
    """
    mdp, ex, phi = il.aliased_tightrope()
    T, S = mdp.horizon, mdp.n_states
    its = dagger(mdp, ex, n_rounds=4, n_trajectories=400, rng=np.random.default_rng(5),
                 observation_map=phi)
    last = its[-1]
    states, labels, weights = last.data
    traj = states.reshape(-1, T)
    M = traj.shape[0]
    assert M == 2000 and np.all(weights == 1)
    freq = np.stack([np.bincount(traj[:, t], minlength=S) for t in range(T)]) / M
    u = np.sqrt(np.log(2 * T * S / ALPHA) / (2 * M))
    assert np.max(np.abs(freq - last.p_train)) <= u
    for wrong in (state_marginals(mdp, ex), its[-2].p_theta):
        assert np.max(np.abs(wrong - last.p_train)) >= 2 * u
    # the expert labelled every visited state
    assert np.array_equal(labels, expert_labels(mdp, ex)[np.tile(np.arange(T), M), states])


@pytest.mark.parametrize("sampled", [False, True])
def test_il4_cost_is_T_times_own_error(sampled):
    """cost = −J of the MDP with reward −c (values route) = T · E_{p̄_θ}[e], and
    cost ≤ T (ε_train + TV(p̄_train, p̄_θ)) since 0 ≤ e ≤ 1."""
    mdp, ex = dagger_gridworld(), il.dagger_expert()
    rng = np.random.default_rng(2) if sampled else None
    cost_mdp = TabularMDP(mdp.P, -bc.imitation_cost(mdp, ex), mdp.p0, horizon=mdp.horizon)
    T = mdp.horizon
    for it in dagger(mdp, ex, n_rounds=4, n_trajectories=10, rng=rng):
        assert it.cost == pytest.approx(-objective(cost_mdp, it.learner), abs=1e-12)
        assert it.cost == pytest.approx(T * it.epsilon_own, abs=1e-12)
        assert it.cost <= T * (it.epsilon_train + it.tv) + 1e-12


def test_il4_fails_before_convergence():
    """Population DAgger on the slippery gridworld: at iterations 0 and 1, p_train ≠ p_θ and
    the cost exceeds εT with ε the error rate under p_train; later it falls below."""
    mdp, ex = dagger_gridworld(), il.dagger_expert()
    its = dagger(mdp, ex, n_rounds=3, n_trajectories=10)
    over = [i.cost > i.epsilon_train * mdp.horizon for i in its]
    assert over[:2] == [True, True] and not any(over[2:])


def test_il6_tv_decreases_on_aliased_tightrope():
    """A learner that sees only on-rope/fallen: population DAgger's TV(p̄_train, p̄_θ) falls at
    every iteration, at rate ≈ 1/(k+1) (the expert's data keep weight 1/(k+1)); the cost stays
    ≈ 1 because no aliased policy can walk the rope."""
    mdp, ex, phi = il.aliased_tightrope()
    its = dagger(mdp, ex, n_rounds=7, n_trajectories=20, observation_map=phi)
    tv = np.array([i.tv for i in its])
    assert np.all(np.diff(tv) < 0)
    scaled = tv * np.arange(1, 9)
    assert scaled.max() / scaled.min() < 1.1
    assert all(i.cost > 1.0 for i in its)
    assert all(i.tv_per_step >= i.tv - 1e-15 for i in its)


def test_il6_tv_not_monotone_when_realisable():
    """Realisable tightrope: TV drops to 0.01 at iteration 1, then rises (the early falls stay
    in the aggregate) before shrinking like 1/k."""
    mdp = tightrope(8, horizon=8)
    its = dagger(mdp, bc.expert_policy(mdp), n_rounds=7, n_trajectories=20)
    tv = np.array([i.tv for i in its])
    assert tv[1] < tv[0] and tv[1] < tv[3]
    assert np.all(np.diff([i.cost for i in its]) < 0)


def test_sampled_dagger_is_reproducible():
    mdp, ex = dagger_gridworld(horizon=5), il.dagger_expert()
    a = dagger(mdp, ex, n_rounds=2, n_trajectories=4, rng=np.random.default_rng(9))
    b = dagger(mdp, ex, n_rounds=2, n_trajectories=4, rng=np.random.default_rng(9))
    assert [i.cost for i in a] == [i.cost for i in b]


def test_dagger_rejects_bad_input():
    mdp, ex = dagger_gridworld(horizon=5), il.dagger_expert()
    with pytest.raises(ValueError, match="n_rounds"):
        dagger(mdp, ex, n_rounds=-1, n_trajectories=3)
    with pytest.raises(ValueError, match="n_trajectories"):
        dagger(mdp, ex, n_rounds=0, n_trajectories=0)
    with pytest.raises(TypeError, match="rng"):
        dagger(mdp, ex, n_rounds=0, n_trajectories=1, rng=3)
    with pytest.raises(ValueError, match="finite-horizon"):
        dagger(mdp.with_horizon(None), ex, n_rounds=0, n_trajectories=1)
    with pytest.raises(ValueError, match="deterministic"):
        dagger(mdp, np.full_like(ex, 0.25), n_rounds=0, n_trajectories=1)


def test_n_rounds_counts_dagger_rounds_after_cloning_and_dataset_size_is_the_aggregate():
    """Issue 17.6: n_rounds = K gives K + 1 learners (k = 0 is behavioural cloning);
    n_trajectories is per round; dataset_trajectories is the aggregate n (k + 1); the old
    n_iterations (learners, BC included) still works with a DeprecationWarning."""
    mdp, ex = dagger_gridworld(horizon=5), il.dagger_expert()
    its = dagger(mdp, ex, n_rounds=2, n_trajectories=7)
    assert [i.iteration for i in its] == [0, 1, 2]
    assert [i.dataset_trajectories for i in its] == [7, 14, 21]
    assert dagger(mdp, ex, n_rounds=0, n_trajectories=7)[0].cost == its[0].cost  # BC alone
    with pytest.warns(DeprecationWarning, match="n_rounds"):
        old = dagger(mdp, ex, n_iterations=3, n_trajectories=7)
    assert [i.cost for i in old] == [i.cost for i in its]
    with pytest.warns(DeprecationWarning, match="aggregated total"):
        assert its[2].n_trajectories == 21
    with pytest.raises(ValueError, match="not also"):
        dagger(mdp, ex, n_rounds=1, n_iterations=2, n_trajectories=7)
