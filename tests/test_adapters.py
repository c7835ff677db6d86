"""pgmath.adapters: advantage code in the layouts libraries use, as estimators.

Expected values come from tests/pg_reference.py (enumeration and a textbook backward
recursion, no pgmath code): with the exact V the mean of Σ_t w_t ψ_t Â_t is
Σ_t w_t E[ψ_t A_t], so the step-discounted form is biased by Σ_t (1 − γ^t) E[ψ_t A_t].
"""
import numpy as np
import pytest

import pgmath
from pgmath import adapters
from pgmath.errors import EstimatorError, InvalidArgumentError, ShapeError
from pgmath.trajectories import Trajectories

import pg_reference as pr
from adapter_cases import as_pgmath, cleanrl_gae, error_said_once, problem


def cleanrl_gae_off_by_one(x):
    """The same loop with the classic slip ``1 - dones[t]`` for ``1 - dones[t + 1]``."""
    adv = np.zeros_like(x.rewards)
    dones = x.episode_starts.astype(x.rewards.dtype)
    lastgaelam = 0
    T = x.rewards.shape[0]
    for t in reversed(range(T)):
        if t == T - 1:
            nonterm, nextv = 1.0 - x.last_dones.astype(x.rewards.dtype), x.last_values
        else:
            nonterm, nextv = 1.0 - dones[t], x.values[t + 1]
        delta = x.rewards[t] + x.gamma * nextv * nonterm - x.values[t]
        adv[t] = lastgaelam = delta + x.gamma * 0.9 * nonterm * lastgaelam
    return adv


# -- the arrays an advantage function reads ------------------------------------------------------
def test_episode_arrays_fields_in_both_layouts():
    batch = Trajectories(states=np.array([[0, 1, 1], [1, 0, 1]]),
                         actions=np.array([[1, 0, 1], [0, 0, 1]]),
                         rewards=np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), discount=0.5)
    V = np.array([[10.0, 11.0], [20.0, 21.0], [30.0, 31.0], [0.0, 0.0]])  # [T+1, S]
    x = adapters.episode_arrays(batch, V, layout="batch_major", dtype=np.float64)
    np.testing.assert_array_equal(x.values, [[10, 21, 31], [11, 20, 31]])
    np.testing.assert_array_equal(x.next_values, [[21, 31, 0], [20, 31, 0]])
    np.testing.assert_array_equal(x.values_with_last, [[10, 21, 31, 0], [11, 20, 31, 0]])
    np.testing.assert_array_equal(x.discounts, [[0.5, 0.5, 0.0]] * 2)
    np.testing.assert_array_equal(x.terminated, [[False, False, True]] * 2)
    np.testing.assert_array_equal(x.dones, x.terminated)
    np.testing.assert_array_equal(x.episode_starts, [[True, False, False]] * 2)
    assert not x.truncated.any()
    np.testing.assert_array_equal(x.last_values, [0, 0])
    np.testing.assert_array_equal(x.last_dones, [True, True])
    assert (x.n, x.horizon, x.gamma) == (2, 3, 0.5)
    y = adapters.episode_arrays(batch, V, layout="time_major")
    assert y.rewards.dtype == np.float32 and y.rewards.shape == (3, 2)
    for f in ("rewards", "values", "next_values", "values_with_last", "discounts", "terminated",
              "episode_starts", "states"):
        np.testing.assert_array_equal(getattr(y, f), getattr(x, f).T)
    assert (y.n, y.horizon) == (2, 3)


def test_value_table_forms():
    pb = problem(1, T=3, gamma=0.9)
    mdp, policy, theta = as_pgmath(pb)
    _, V = pr.q_v_tables(pb)
    np.testing.assert_allclose(adapters.value_table(mdp, policy, theta, 3), V, atol=1e-12)
    np.testing.assert_array_equal(adapters.value_table(np.array([1.0, 2.0]), policy, theta, 2),
                                  [[1, 2], [1, 2], [0, 0]])
    with pytest.raises(ShapeError, match=r"\[S\], \[T, S\] or \[T\+1, S\]"):
        adapters.value_table(np.zeros((5, 2)), policy, theta, 3)
    with pytest.raises(ShapeError, match="horizon"):
        adapters.value_table(mdp, policy, theta, 4)
    with pytest.raises(EstimatorError, match=r"values table\[1\] is not finite"):
        adapters.value_table(np.array([0.0, np.nan]), policy, theta, 3)


# -- verdicts against closed forms -----------------------------------------------------------------
@pytest.mark.parametrize("gamma", [1.0, 0.7])
@pytest.mark.parametrize("lam", [0.0, 0.95, 1.0])
def test_cleanrl_gae_mean_is_the_weighted_advantage_sum(gamma, lam):
    """float64: the exact mean equals Σ_t E[ψ_t A_t] (λ does not matter with the exact V);
    the check passes at γ = 1 and fails at γ < 1 with exactly the discount bias."""
    pb = problem(3, T=3, gamma=gamma)
    mdp, policy, theta = as_pgmath(pb)
    est = adapters.advantage_estimator(cleanrl_gae(lam), mdp, dtype=np.float64)
    expected = pr.weighted_advantage_mean(pb, 1.0)
    truth = pr.gradient(pb)
    res = pgmath.check_unbiased(est, mdp, policy, theta)
    np.testing.assert_allclose(res.estimate, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.target, truth, rtol=0, atol=1e-12)
    assert res.passed == (gamma == 1.0)
    if gamma < 1.0:
        bias = pr.weighted_advantage_mean(pb, 1.0 - gamma ** np.arange(pb.T))
        assert np.abs(bias).max() > 1e-3
        np.testing.assert_allclose(res.bias, bias, rtol=0, atol=1e-12)


def test_start_discounting_is_unbiased_and_time_major_equals_batch_major():
    pb = problem(4, T=3, gamma=0.6)
    mdp, policy, theta = as_pgmath(pb)
    est = adapters.advantage_estimator(cleanrl_gae(0.9), mdp, dtype=np.float64,
                                       discounting="start")
    assert pgmath.check_unbiased(est, mdp, policy, theta).passed
    batch = pgmath.sample(mdp, policy, theta, 50, np.random.default_rng(0))
    bm = adapters.advantage_estimator(lambda x: cleanrl_gae(0.9)(_swap(x)).T, mdp,
                                      layout="batch_major", dtype=np.float64, discounting="start")
    np.testing.assert_allclose(bm(batch, policy, theta), est(batch, policy, theta), atol=1e-12)


def _swap(x):
    """A batch-major EpisodeArrays seen time-major (for the layout test)."""
    import dataclasses
    kw = {f.name: getattr(x, f.name) for f in dataclasses.fields(x)}
    for k, v in kw.items():
        if isinstance(v, np.ndarray) and v.ndim == 2:
            kw[k] = v.T
    kw["layout"] = "time_major"
    return adapters.EpisodeArrays(**kw)


def test_off_by_one_dones_is_caught_with_its_exact_bias():
    """``1 - dones[t]`` cuts step 0 from the rest: Â_0 = r_0 − V_0(s_0), so the bias is
    E[ψ_0 (r_0 − Q_0)] = −γ E[ψ_0 V_1(s_1)] (enumeration)."""
    pb = problem(5, T=3, gamma=1.0)
    mdp, policy, theta = as_pgmath(pb)
    _, V = pr.q_v_tables(pb)
    res = pgmath.check_unbiased(adapters.advantage_estimator(cleanrl_gae_off_by_one, mdp,
                                                             dtype=np.float64), mdp, policy, theta)
    expected = pr.mean_over_trajectories(
        pb, lambda s, a: -pb.gamma * pr._psi(pb, s[0], a[0]) * V[1, s[1]])
    assert np.abs(expected).max() > 1e-3
    assert not res.passed
    np.testing.assert_allclose(res.bias, expected, rtol=0, atol=1e-12)


def test_float32_inputs_give_float32_rows_close_to_the_closed_form():
    """float32 (the default, as SB3/CleanRL store rollouts): rows are float32, and the exact
    mean is the closed form up to float32 rounding (|error| ≤ 1e-5 × E|g|, about 100×
    the unit roundoff 6e-8 times the few operations per term)."""
    pb = problem(6, T=3, gamma=1.0)
    mdp, policy, theta = as_pgmath(pb)
    est = adapters.advantage_estimator(cleanrl_gae(0.95), mdp)
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta)
    g = est(batch, policy, theta)
    assert g.dtype == np.float32
    mean = prob @ g.astype(float)
    scale = prob @ np.abs(g.astype(float))
    assert np.all(np.abs(mean - pr.gradient(pb)) <= 1e-5 * scale.max())


# -- bad input -----------------------------------------------------------------------------------
@pytest.fixture
def small():
    pb = problem(2, T=2, gamma=1.0)
    mdp, policy, theta = as_pgmath(pb)
    batch = pgmath.sample(mdp, policy, theta, 4, np.random.default_rng(1))
    return mdp, policy, theta, batch


def _past_the_horizon(x):
    return x.rewards[:, :5] @ np.ones(7)      # T = 2 columns: a [N, 2] @ [7] ValueError


def test_an_error_inside_the_advantage_function_is_said_once_with_its_line_and_inputs(small):
    """From check_unbiased, the error names the function, the line of the test file that
    raised, and what it was given (shapes and dtypes of the EpisodeArrays), once: no
    "estimator … raised EstimatorError: advantage function … raised …"."""
    mdp, policy, theta, _ = small
    est = adapters.advantage_estimator(_past_the_horizon, mdp)
    msg = error_said_once(lambda: pgmath.check_unbiased(est, mdp, policy, theta),
                          _past_the_horizon,
                          "advantage function _past_the_horizon raised ValueError {at}: matmul")
    assert "x = EpisodeArrays(layout='time_major', gamma=1.0)" in msg
    assert "rewards, values, next_values, discounts, final_values: [2, " in msg and "] float32" in msg


def test_describe_inputs_groups_fields_and_says_none():
    arrays = {"r": np.zeros((2, 3), np.float32), "v": np.ones((2, 3), np.float32),
              "s": np.zeros((2, 3), np.int64), "w": None, "gamma": 0.9}
    assert adapters.describe_inputs(arrays) == "r, v: [2, 3] float32; s: [2, 3] int64; w: None"


def test_errors_name_what_is_wrong(small):
    mdp, policy, theta, batch = small
    cases = [
        (lambda x: (x.rewards, x.rewards), EstimatorError, "tuple of 2 arrays.*take \\[0\\]"),
        (lambda x: x.rewards.T, ShapeError, r"returned shape \(4, 2\).*\[T, N\] = \(2, 4\)"),
        (lambda x: np.where(np.eye(2, 4, 1, dtype=bool), np.nan, x.rewards), EstimatorError,
         "non-finite advantage nan at step t=0 of episode i=1"),
        (lambda x: 1 / 0, EstimatorError, "raised ZeroDivisionError"),
        (lambda x: "abc", EstimatorError, "dtype <U3"),
    ]
    for fn, err, msg in cases:
        with pytest.raises(err, match=msg):
            adapters.advantage_estimator(fn, mdp)(batch, policy, theta)
    with pytest.raises(EstimatorError, match="needs values"):
        adapters.advantage_estimator(lambda x: x.rewards, None)(batch, policy, theta)
    with pytest.raises(InvalidArgumentError, match="layout"):
        adapters.advantage_estimator(lambda x: x.rewards, mdp, layout="NT")
    with pytest.raises(InvalidArgumentError, match="float32 or np.float64"):
        adapters.advantage_estimator(lambda x: x.rewards, mdp, dtype=np.int32)
    with pytest.raises(InvalidArgumentError, match="discounting"):
        adapters.advantage_estimator(lambda x: x.rewards, mdp, discounting="gamma")


def test_a_torchrl_style_trailing_axis_is_accepted(small):
    mdp, policy, theta, batch = small
    a = adapters.advantage_estimator(lambda x: x.rewards[..., None], mdp, layout="batch_major")
    b = adapters.advantage_estimator(lambda x: x.rewards, mdp, layout="batch_major")
    np.testing.assert_array_equal(a(batch, policy, theta), b(batch, policy, theta))


def test_a_tensor_that_requires_grad_is_named(small):
    torch = pytest.importorskip("torch")
    mdp, policy, theta, batch = small
    w = torch.ones((), requires_grad=True)
    with pytest.raises(EstimatorError, match="requires grad.*detach"):
        adapters.advantage_estimator(lambda x: torch.as_tensor(x.rewards) * w, mdp)(
            batch, policy, theta)
    ok = adapters.advantage_estimator(lambda x: (torch.as_tensor(x.rewards) * w).detach(), mdp)
    assert ok(batch, policy, theta).dtype == np.float32


def test_coupling_gap_separates_rounding_from_coupling():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(100, 6)).astype(np.float32)
    mean = rows.astype(float).mean(axis=0)
    ok, _, _ = adapters.coupling_gap(rows, (mean * (1 + 1e-6)).astype(np.float32))
    assert ok
    ok, j, gap = adapters.coupling_gap(rows, (mean + np.eye(6)[4] * 0.5).astype(np.float32))
    assert not ok and j == 4 and abs(gap - 0.5) < 1e-5


# -- property: the adapter reproduces the built-in GAE ----------------------------------------------
from hypothesis import given, strategies as st  # noqa: E402

from pgmath import strategies as pst  # noqa: E402


@given(pst.problems(max_states=3, max_actions=3, horizon=(1, 4), discount=st.floats(0.5, 1.0)),
       st.floats(0.0, 1.0), st.integers(0, 2 ** 32 - 1))
def test_cleanrl_gae_rows_equal_the_built_in_gae(problem, lam, seed):
    """CleanRL's loop fed the exact V through the adapter gives the rows of
    pgmath.estimators.gae(mdp, λ, discounting="step") on random problems (extreme logits,
    R[s, a, s'] included)."""
    mdp, policy, theta = problem
    batch = pgmath.sample(mdp, policy, theta, 8, np.random.default_rng(seed))
    rows = adapters.advantage_estimator(cleanrl_gae(lam), mdp, dtype=np.float64)(
        batch, policy, theta)
    ref = pgmath.estimators.gae(mdp, lam, policy, theta, discounting="step")(batch, policy, theta)
    V = pgmath.exact.values(mdp, policy, theta)
    scale = 1.0 + np.abs(batch.rewards).sum(axis=1, keepdims=True) + 2 * batch.horizon * np.abs(V).max()
    assert np.all(np.abs(rows - ref) <= 1e-12 * scale)


# -- the conventions shared with pgmath.rollouts ---------------------------------------------------
def test_boundary_fields_by_hand():
    """Two envs, three steps: env 0 truncated at t=0 and terminated at t=2; env 1 never
    ends (fields written out here from the library conventions)."""
    term = np.array([[False, False], [False, False], [True, False]])
    trunc = np.array([[True, False], [False, False], [False, False]])
    b = adapters.boundary_fields(term, trunc, gamma=0.5, first_starts=np.array([True, False]))
    np.testing.assert_array_equal(b["dones"], [[True, False], [False, False], [True, False]])
    np.testing.assert_array_equal(b["episode_starts"],
                                  [[True, False], [True, False], [False, False]])
    np.testing.assert_array_equal(b["discounts"], [[0.5, 0.5], [0.5, 0.5], [0.0, 0.5]])
    np.testing.assert_array_equal(b["last_dones"], [True, False])


def test_step_arrays_next_values_by_hand():
    """V(s_{t+1}) of step t's own episode: final_values after a truncation, 0 after a
    termination, values[t+1] inside an episode, last_values after the last step."""
    x = adapters.step_arrays(np.zeros((3, 1)), np.array([[1.0], [2.0], [3.0]]),
                             np.array([[False], [True], [False]]),
                             np.array([[True], [False], [False]]),
                             np.array([[7.0], [9.0], [0.0]]), np.array([5.0]), gamma=0.9)
    np.testing.assert_array_equal(x.next_values[:, 0], [7.0, 0.0, 5.0])
    np.testing.assert_array_equal(x.values_with_last[:, 0], [1.0, 2.0, 3.0, 5.0])
    assert x.layout == "time_major" and x.n == 1 and x.horizon == 3


def test_library_advantages_equal_the_hand_written_cleanrl_adapter():
    """The CleanRL signature called through LIBRARY_SIGNATURES gives the estimator the
    hand-adapted loop above gives (same batch, float64)."""
    def cleanrl(rewards, values, dones, next_value, next_done, gamma, gae_lambda):
        x = type("X", (), dict(rewards=rewards, values=values, episode_starts=dones,
                               last_values=next_value, last_dones=next_done, gamma=gamma))
        return cleanrl_gae(gae_lambda)(x)
    pb = problem(3, T=3, gamma=0.9)
    mdp, policy, theta = as_pgmath(pb)
    batch = pgmath.sample(mdp, policy, theta, 40, np.random.default_rng(2))
    a = adapters.advantage_estimator(adapters.library_advantages(cleanrl, "cleanrl", lam=0.8),
                                     mdp, dtype=np.float64)
    b = adapters.advantage_estimator(cleanrl_gae(0.8), mdp, dtype=np.float64)
    np.testing.assert_array_equal(a(batch, policy, theta), b(batch, policy, theta))
    with pytest.raises(InvalidArgumentError, match="'tf'"):
        adapters.library_advantages(cleanrl, "tf", lam=0.8)
