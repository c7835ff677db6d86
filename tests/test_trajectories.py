"""Trajectory batches: enumeration and the vectorised sampler (notes §3.1, RL-1).

Expected values: the product-formula probabilities of every trajectory listed by
``tests/reference.py`` (itertools, no pgmath code).

The sampler test is a designed experiment. For each of the K possible trajectories, the
empirical frequency p̂ of N draws obeys Bernstein's inequality
P(|p̂ − p| ≥ ε) ≤ 2 exp(−N ε² / (2p(1−p) + 2ε/3)); a union bound over the K cells with
L = log(2K/α) gives the per-cell threshold
ε_p = (⅔L + √(4/9 L² + 8 N p(1−p) L)) / (2N), and a correct sampler fails with
probability ≤ α = 1e-6. N is derived from the smallest cell error we want to detect,
δ = 0.01: N = ⌈L (2·¼ + ⅔δ) / δ²⌉ makes ε_p ≤ δ for every p. Any sampled trajectory of
probability zero fails deterministically.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pgmath
from pgmath.environments import random_mdp
from pgmath import strategies as pst

import reference as ref

ALPHA = 1e-6
DELTA = 0.01


def _keys(batch, pomdp: bool, final: bool) -> list[tuple]:
    cols = []
    for t in range(batch.horizon):
        cols.append(batch.states[:, t])
        if pomdp:
            cols.append(batch.observations[:, t])
        cols.append(batch.actions[:, t])
    if final:
        cols.append(batch.final_states)
    return [tuple(int(v) for v in row) for row in np.stack(cols, axis=1)]


def _reference(mdp, policy, theta):
    X = mdp.n_observations if mdp.is_pomdp else mdp.n_states
    pi = ref.softmax(np.asarray(theta).reshape(X, mdp.n_actions))
    return ref.trajectory_probabilities(mdp.P, mdp.R, mdp.p0, pi, mdp.horizon,
                                        mdp.O if mdp.is_pomdp else None)


def bernstein_union_threshold(p: np.ndarray, n: int, k: int, alpha: float) -> np.ndarray:
    """Per-cell |p̂ − p| threshold (module docstring): false failure ≤ alpha over k cells."""
    L = np.log(2 * k / alpha)
    return (2 / 3 * L + np.sqrt(4 / 9 * L ** 2 + 8 * n * p * (1 - p) * L)) / (2 * n)


def samples_to_detect(delta: float, k: int, alpha: float) -> int:
    """N making the threshold ≤ δ for every p (worst case p(1−p) = ¼)."""
    L = np.log(2 * k / alpha)
    return int(np.ceil(L * (0.5 + 2 * delta / 3) / delta ** 2))


@given(st.one_of(pst.problems(max_states=3, max_actions=2, horizon=(1, 3)),
                 pst.problems(pomdp=True, max_states=3, max_actions=2, max_observations=2,
                              horizon=(1, 3))))
@settings(max_examples=30)
def test_rl1_enumeration_is_the_product_formula(problem):
    """RL-1: p_θ(τ) = p(s₀) Π_t π(a_t|x_t) p(s_{t+1}|s_t, a_t); probabilities sum to one,
    the count matches count_trajectories, and rewards/log-probs are those of each τ."""
    mdp, policy, theta = problem
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta)
    expected = _reference(mdp, policy, theta)
    final = mdp.R.ndim == 3
    got = dict(zip(_keys(batch, mdp.is_pomdp, final), prob))
    assert len(got) == batch.n == pgmath.count_trajectories(mdp, policy, theta)
    assert got.keys() == expected.keys()
    for k, p in expected.items():
        assert got[k] == pytest.approx(p, abs=1e-14)
    assert prob.sum() == pytest.approx(1.0, abs=1e-12)
    s, a = batch.states, batch.actions
    if final:
        nxt = np.concatenate([s[:, 1:], batch.final_states[:, None]], axis=1)
        np.testing.assert_array_equal(batch.rewards, mdp.R[s, a, nxt])
    else:
        assert batch.final_states is None  # not drawn: absent, never a placeholder
        np.testing.assert_array_equal(batch.rewards, mdp.R[s, a])
    np.testing.assert_allclose(np.exp(batch.behaviour_log_probs),
                               np.asarray(policy.probs(theta))[batch.inputs, a], rtol=1e-12)


@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3), rewards_next_state=False))
@settings(max_examples=20)
def test_enumeration_with_final_states_draws_s_T(problem):
    """final_states=True on rewards r(s, a) enumerates s_T exactly as rewards
    R[s, a, s'] = r(s, a) (which need s_T) do: the independent reference enumerates the
    latter with s_T; the count agrees with count_trajectories(final_states=True)."""
    mdp, policy, theta = problem
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta, final_states=True)
    R3 = np.repeat(mdp.R[:, :, None], mdp.n_states, axis=2)
    twin = pgmath.TabularMDP(mdp.P, R3, mdp.p0, horizon=mdp.horizon, discount=mdp.discount)
    expected = _reference(twin, policy, theta)
    got = dict(zip(_keys(batch, False, True), prob))
    assert batch.n == pgmath.count_trajectories(mdp, policy, theta, final_states=True)
    assert got.keys() == expected.keys()
    for k, p in expected.items():
        assert got[k] == pytest.approx(p, abs=1e-14)
    np.testing.assert_array_equal(batch.rewards, mdp.R[batch.states, batch.actions])


def test_enumeration_refuses_above_the_limit_saying_how_many():
    mdp = pgmath.environments.bandit((0.0, 1.0, 2.0), horizon=4)
    pol = pgmath.SoftmaxPolicy(1, 3)
    assert pgmath.count_trajectories(mdp, pol, np.zeros(3)) == 81
    with pytest.raises(pgmath.TooManyTrajectoriesError, match=r"would produce 81 trajectories"):
        pgmath.enumerate_trajectories(mdp, pol, np.zeros(3), max_trajectories=80)
    batch, prob = pgmath.enumerate_trajectories(mdp, pol, np.zeros(3), max_trajectories=81)
    assert batch.n == 81 and prob == pytest.approx(np.full(81, 1 / 81))
    big = pgmath.environments.gridworld(horizon=12)
    gpol = pgmath.SoftmaxPolicy(25, 4)
    with pytest.raises(pgmath.TooManyTrajectoriesError, match="raise max_trajectories"):
        pgmath.enumerate_trajectories(big, gpol, np.zeros(100))


def test_next_state_rewards_enumerate_the_final_state():
    """R[s, a, s']: the final next state is part of τ and the J of the enumeration equals
    the reference J (independent enumeration) and the exact engine."""
    P, R, p0, pi, _ = ref.random_rational_problem(7, S=3, A=2, next_state_rewards=True)
    mdp = pgmath.TabularMDP(ref.as_float(P), ref.as_float(R), ref.as_float(p0), horizon=2)
    pol = pgmath.SoftmaxPolicy(3, 2)
    theta = np.log(ref.as_float(pi)).ravel()
    batch, prob = pgmath.enumerate_trajectories(mdp, pol, theta)
    assert np.all(batch.final_states >= 0)
    J_ref, _ = ref.objective_and_gradient(P, R, p0, pi, 2)
    assert prob @ batch.returns() == pytest.approx(float(J_ref), abs=1e-12)
    assert pgmath.exact.objective(mdp, pol, theta) == pytest.approx(float(J_ref), abs=1e-12)


def _sampler_case(name):
    rng = np.random.default_rng(11)
    if name == "mdp":
        S, A, T = 3, 2, 3
        P = rng.dirichlet(np.ones(S), size=(S, A))
        P[0, 1] = [0.0, 0.0, 1.0]  # a deterministic row
        mdp = pgmath.TabularMDP(P, rng.normal(size=(S, A)), [0.5, 0.5, 0.0], horizon=T)
        pol = pgmath.SoftmaxPolicy(S, A)
    elif name == "pomdp":
        S, A, T = 3, 2, 2
        mdp = random_mdp(rng, S, A, T, pomdp=True, rewards_next_state=True)
        pol = pgmath.ObservationSoftmaxPolicy(2, A)
    return mdp, pol, rng.normal(size=pol.n_params)


@pytest.mark.parametrize("joint", [True, False])
@pytest.mark.parametrize("name", ["mdp", "pomdp"])
def test_sampler_matches_enumeration_probabilities(name, joint, monkeypatch):
    """Bernstein + union bound over every trajectory (module docstring): false failure
    ≤ 1e-6; N derived from the detectable cell error δ = 0.01. Both ways of drawing a
    step: jointly from p(o, a, s'|s) (JOINT_MIN_STEPS = 0 forces it at this N), and one
    alias table per draw (JOINT_MAX = 0)."""
    monkeypatch.setattr(pgmath.trajectories, "JOINT_MIN_STEPS", 0)
    if not joint:
        monkeypatch.setattr(pgmath.trajectories, "JOINT_MAX", 0)
    mdp, pol, theta = _sampler_case(name)
    expected = _reference(mdp, pol, theta)
    K = len(expected)
    n = samples_to_detect(DELTA, K, ALPHA)
    batch = pgmath.sample(mdp, pol, theta, n, np.random.default_rng(2024))
    assert batch.states.shape == (n, mdp.horizon)
    keys = _keys(batch, mdp.is_pomdp, mdp.R.ndim == 3)
    counts: dict[tuple, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    assert set(counts) <= set(expected), "sampled a trajectory of probability zero"
    p = np.array(list(expected.values()))
    p_hat = np.array([counts.get(k, 0) for k in expected]) / n
    eps = bernstein_union_threshold(p, n, K, ALPHA)
    assert np.all(eps <= DELTA + 1e-12)
    assert np.all(np.abs(p_hat - p) <= eps), np.max(np.abs(p_hat - p) / eps)
    # the rewards and log-probabilities carried by the batch are those of each row
    s, a = batch.states, batch.actions
    nxt = np.concatenate([s[:, 1:], batch.final_states[:, None]], axis=1)
    r = mdp.R[s, a, nxt] if mdp.R.ndim == 3 else mdp.R[s, a]
    np.testing.assert_array_equal(batch.rewards, r)
    np.testing.assert_allclose(batch.behaviour_log_probs,
                               np.asarray(pol.log_probs(theta))[batch.inputs, a])


def test_sampler_never_draws_zero_probability_events_and_handles_extreme_logits():
    mdp, pol, _ = _sampler_case("mdp")
    theta = np.array([1e3, -1e3, -1e3, 1e3, 0.0, 0.0])
    batch = pgmath.sample(mdp, pol, theta, 20_000, np.random.default_rng(5))
    assert np.all(batch.states[:, 0] != 2)  # p0[2] = 0
    assert np.all(batch.actions[batch.states == 0] == 0)
    assert np.all(batch.actions[batch.states == 1] == 1)
    assert np.all(np.isfinite(batch.behaviour_log_probs))


def test_sampler_and_batch_reject_bad_arguments():
    mdp, pol, theta = _sampler_case("mdp")
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        pgmath.sample(mdp, pol, theta, 10, 0)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        pgmath.sample(mdp, pol, theta, 0, np.random.default_rng(0))
    inf = mdp.with_horizon(None).with_discount(0.9)
    with pytest.raises(pgmath.InvalidMDPError, match="pass n_steps"):
        pgmath.sample(inf, pol, theta, 5, np.random.default_rng(0))
    assert pgmath.sample(inf, pol, theta, 5, np.random.default_rng(0), n_steps=7).horizon == 7
    with pytest.raises(pgmath.ShapeError, match=r"actions has shape \(2, 3\) but states has shape \(2, 2\)"):
        pgmath.Trajectories(np.zeros((2, 2), int), np.zeros((2, 3), int), np.zeros((2, 2)))


def test_batch_returns_and_rows():
    b = pgmath.Trajectories(np.zeros((2, 3), int), np.zeros((2, 3), int),
                            np.array([[1.0, 2.0, 4.0], [0.0, 0.0, 1.0]]), discount=0.5)
    np.testing.assert_allclose(b.returns(), [1 + 1 + 1, 0.25])  # Σ γ^t r_t by hand
    assert b[1].n == 1 and b[-1].rewards[0, 2] == 1.0 and len(b[:2]) == 2


@given(st.integers(1, 6).flatmap(lambda n: st.lists(
    pst.distributions(n), min_size=1, max_size=5)))
def test_alias_tables_encode_each_row_exactly(rows):
    """P(k) = (prob[k] + Σ_{j: alias[j]=k} (1 − prob[j])) / n reproduces every row, and no
    zero-probability outcome can be returned (expected value: the rows themselves)."""
    from pgmath.trajectories import _alias_tables
    p = np.array(rows)
    prob, alias = _alias_tables(p)
    K, n = p.shape
    implied = prob.copy()
    np.add.at(implied, (np.repeat(np.arange(K), n), alias.ravel()), (1 - prob).ravel())
    np.testing.assert_allclose(implied / n, p, atol=1e-12)
    assert np.all(prob[p == 0] == 0)
    assert np.all(p[np.arange(K)[:, None], alias][prob < 1] > 0)


def test_sampler_follows_a_time_dependent_policy_table():
    """A [T, S, A] table that is deterministic per step: action t mod 2 at time t."""
    mdp = pgmath.TabularMDP(np.full((2, 2, 2), 0.5), np.array([[0.0, 1.0], [2.0, 3.0]]),
                            [0.5, 0.5], horizon=4)
    table = np.stack([np.tile(np.eye(2)[t % 2], (2, 1)) for t in range(4)])
    batch = pgmath.sample(mdp, table, None, 1000, np.random.default_rng(0))
    np.testing.assert_array_equal(batch.actions, np.tile([0, 1, 0, 1], (1000, 1)))
    np.testing.assert_array_equal(batch.rewards, mdp.R[batch.states, batch.actions])
    np.testing.assert_array_equal(batch.behaviour_log_probs, 0.0)


def test_one_n_steps_rule_for_sampler_enumeration_marginals_and_moments():
    """Issue 17.8: sample(n_steps > horizon) was accepted while state_marginals rejected it.
    Every function that runs n_steps steps follows mdp.horizon_steps: n_steps ≤ a finite
    horizon (it may truncate, not extend), any n_steps ≥ 1 for an infinite horizon."""
    mdp, pol, theta = _sampler_case("mdp")
    T = mdp.horizon
    rng = np.random.default_rng(0)
    calls = {
        "sample": lambda k: pgmath.sample(mdp, pol, theta, 3, rng, n_steps=k).horizon,
        "enumerate": lambda k: pgmath.enumerate_trajectories(mdp, pol, theta, n_steps=k)[0].horizon,
        "count": lambda k: pgmath.count_trajectories(mdp, pol, theta, n_steps=k) > 0 and k,
        "state_marginals": lambda k: pgmath.exact.state_marginals(mdp, pol, theta, n_steps=k).shape[0],
        "estimator_moments": lambda k: pgmath.exact.estimator_moments(
            pgmath.estimators.reinforce, mdp, pol, theta, n_steps=k) and k,
        "batch_average_moments": lambda k: pgmath.exact.batch_average_moments(
            mdp, pol, theta, 2, n_steps=k) and k,
    }
    for name, call in calls.items():
        assert call(T) == T, name
        if T > 1:
            assert call(T - 1) == T - 1, name
        with pytest.raises(pgmath.InvalidMDPError, match=f"n_steps = {T + 1} exceeds the horizon {T}"):
            call(T + 1)
    inf = mdp.with_horizon(None).with_discount(0.9)
    assert pgmath.sample(inf, pol, theta, 3, rng, n_steps=T + 5).horizon == T + 5
    assert pgmath.exact.state_marginals(inf, pol, theta, n_steps=T + 5).shape[0] == T + 5


def test_a_batch_without_rewards_refuses_only_what_needs_them():
    """rewards are optional: rows, concatenation, inputs and repr work without them;
    returns() and reading batch.rewards raise MissingRewardsError (a ValueError)."""
    from pgmath.trajectories import concatenate
    b = pgmath.Trajectories(np.zeros((3, 2), int), np.ones((3, 2), int), discount=0.9)
    assert not b.has_rewards and b.n == 3 and b.horizon == 2
    assert not b[1].has_rewards and concatenate([b, b[:2]]).n == 5
    assert "rewards=None" in repr(b)
    np.testing.assert_array_equal(b.inputs, b.states)
    with pytest.raises(pgmath.MissingRewardsError, match=r"batch of 3 trajectories .* returns\(\)"):
        b.returns()
    with pytest.raises(ValueError, match="pass rewards=\\[N, T\\]"):
        _ = b.rewards
    with pytest.raises(pgmath.ShapeError, match=r"rewards has shape \(3, 1\)"):
        pgmath.Trajectories(np.zeros((3, 2), int), np.zeros((3, 2), int), np.zeros((3, 1)))
    full = pgmath.Trajectories(np.zeros((1, 2), int), np.zeros((1, 2), int), np.ones((1, 2)))
    assert full.has_rewards and "rewards=yes" in repr(full)
    mixed = concatenate([full, pgmath.Trajectories(np.zeros((1, 2), int), np.zeros((1, 2), int))])
    assert not mixed.has_rewards  # a batch is only as complete as its parts
