"""The rollout view: named errors for bad segments, value predictions, the sampler's layout
in both auto-reset modes, and conversions to and from episode batches."""
import dataclasses

import numpy as np
import pytest

from pgmath.errors import RolloutError, ShapeError
from pgmath.rollouts import MODES, Segment, sample_segment
from pgmath.rollouts.episodes import episodes_to_segment, segment_to_episodes
from pgmath.rollouts.examples import boundary_problem
from pgmath.rollouts.value_tables import as_value_table


def _segment(**over):
    """A valid same-step segment of 3 steps × 2 envs: env 0 terminates at t = 1, env 1 is
    truncated at t = 2 (by hand)."""
    kw = dict(observations=np.array([[0, 1], [1, 2], [0, 0]]),
              actions=np.array([[0, 1], [1, 0], [0, 0]]),
              rewards=np.array([[1.0, 0.0], [2.0, 0.5], [0.0, 1.0]]),
              terminated=np.array([[False, False], [True, False], [False, False]]),
              truncated=np.array([[False, False], [False, False], [False, True]]),
              final_observations=np.array([[-1, -1], [3, -1], [-1, 1]]),
              next_observations=np.array([1, 0]),
              episode_starts=np.array([[True, False], [False, False], [True, False]]),
              elapsed=np.array([[0, 1], [1, 2], [0, 2]]))
    kw.update(over)
    return Segment(**kw)


def test_a_valid_segment():
    seg = _segment()
    assert (seg.n_steps, seg.n_envs) == (3, 2)
    assert seg.ended.tolist() == [[False, False], [True, False], [False, True]]


@pytest.mark.parametrize("over, error, fragment", [
    (dict(truncated=np.array([[False, False], [True, False], [False, True]])), RolloutError,
     r"terminated\[t=1, env=0\] and truncated\[t=1, env=0\] are both set"),
    (dict(observations=np.zeros((0, 2), int)), RolloutError, "at least one step"),
    (dict(rewards=np.zeros((2, 2))), ShapeError, "rewards has shape"),
    (dict(final_observations=np.array([[-1, -1], [-1, -1], [-1, 1]])), RolloutError,
     r"ended at\[t=1, env=0\]"),
    (dict(final_observations=np.array([[2, -1], [3, -1], [-1, 1]])), RolloutError,
     r"final_observations\[t=0, env=0\] = 2"),
    (dict(episode_starts=np.array([[True, False], [True, False], [True, False]])), RolloutError,
     r"episode_starts\[t=1, env=0\]"),
    (dict(terminated=np.array([[0, 0], [2, 0], [0, 0]])), RolloutError, "not a boolean"),
    (dict(rewards=np.array([[1.0, np.nan], [0, 0], [0, 0]])), RolloutError, "not finite"),
    (dict(next_observations=np.array([1, 0, 0])), ShapeError, "next_observations"),
    (dict(autoreset=np.array([[False, False], [False, False], [True, False]])), RolloutError,
     "same-step"),
    (dict(mode="sometimes"), RolloutError, "'sometimes'"),
])
def test_bad_segments_get_named_errors(over, error, fragment):
    with pytest.raises(error, match=fragment):
        _segment(**over)


def test_value_arrays_one_step_short_are_named():
    seg = _segment()
    good = dict(values=np.zeros((3, 2)), final_values=np.zeros((3, 2)), next_values=np.zeros(2))
    assert dataclasses.replace(seg, **good).has_values
    with pytest.raises(ShapeError, match="one step short"):
        dataclasses.replace(seg, **{**good, "values": np.zeros((2, 2))})
    with pytest.raises(ShapeError, match="one row too many"):
        dataclasses.replace(seg, **{**good, "values": np.zeros((4, 2))})
    with pytest.raises(ShapeError, match="next_values"):
        dataclasses.replace(seg, **{**good, "next_values": np.zeros(3)})
    with pytest.raises(ShapeError, match="together"):
        dataclasses.replace(seg, values=np.zeros((3, 2)))


def test_next_step_layout_errors():
    seg = dict(observations=np.array([[0], [3], [1]]), actions=np.zeros((3, 1), int),
               rewards=np.array([[1.0], [0.0], [0.0]]), terminated=np.array([[True], [False], [False]]),
               truncated=np.zeros((3, 1), bool), final_observations=np.array([[3], [-1], [-1]]),
               next_observations=np.array([2]), episode_starts=np.array([[True], [False], [True]]),
               autoreset=np.array([[False], [True], [False]]), mode="next_step")
    assert Segment(**seg).live.ravel().tolist() == [True, False, True]
    with pytest.raises(RolloutError, match="autoreset row but step t=0 did not"):
        Segment(**{**seg, "terminated": np.zeros((3, 1), bool),
                   "final_observations": np.full((3, 1), -1)})
    with pytest.raises(RolloutError, match=r"rewards\[t=1, env=0\] is set on an autoreset row"):
        Segment(**{**seg, "rewards": np.array([[1.0], [5.0], [0.0]])})


def test_with_values_reads_the_table_by_time_since_reset():
    seg = _segment()
    V = as_value_table(np.arange(4.0), 4, None)                 # stationary V(s) = s
    s1 = seg.with_values(V)
    assert s1.values.tolist() == [[0, 1], [1, 2], [0, 0]]
    assert s1.final_values.tolist() == [[0, 0], [3, 0], [0, 1]]
    assert s1.next_values.tolist() == [1, 0]
    Vt = as_value_table(10 * np.arange(3)[:, None] + np.arange(4.0), 4, 3)  # [H, S], V_3 = 0
    s2 = seg.with_values(Vt)
    assert s2.values.tolist() == [[0, 11], [11, 22], [0, 20]]
    assert s2.final_values.tolist() == [[0, 0], [23, 0], [0, 0]]   # truncated at k + 1 = 3: V_3 = 0
    with pytest.raises(ShapeError, match="needs a time limit"):
        as_value_table(np.zeros((3, 4)), 4, None)
    with pytest.raises(ShapeError, match=r"\[H \+ 1, S\]"):
        as_value_table(np.zeros((5, 4)), 4, 3)
    with pytest.raises(ShapeError, match="4 entries"):
        as_value_table(np.zeros(3), 4, None)


@pytest.mark.parametrize("mode", MODES)
def test_sampled_segments_follow_the_layout_and_round_trip_through_episodes(mode):
    prob, pol, th = boundary_problem(time_limit=3)
    seg = sample_segment(prob, pol, th, n_steps=40, n_envs=3, rng=np.random.default_rng(0),
                         mode=mode, values=np.arange(4.0))
    assert seg.terminated.any() and seg.truncated.any()
    assert np.all(seg.elapsed[seg.live] < 3)
    assert np.all(seg.observations[seg.live] != 3)          # never acts in the terminal state
    assert seg.autoreset.any() == (mode == "next_step")
    eps = segment_to_episodes(seg, partial=True)
    assert np.all(eps.lengths <= 3)
    assert np.all(eps.terminated[eps.complete] | eps.truncated[eps.complete])
    assert np.all(eps.trajectories.states[eps.truncated, 2] < 3)
    back = episodes_to_segment(eps, n_steps=40, n_envs=3, mode=mode,
                               next_observations=seg.next_observations)
    for f in ("observations", "rewards", "terminated", "truncated", "final_observations",
              "next_observations", "episode_starts", "elapsed", "autoreset"):
        assert np.array_equal(getattr(seg, f), getattr(back, f)), f
    assert np.array_equal(seg.actions[seg.live], back.actions[back.live])
    only_complete = segment_to_episodes(seg)
    assert only_complete.complete.all() and only_complete.n == eps.complete.sum()


def test_episode_conversion_errors():
    prob, pol, th = boundary_problem(time_limit=3)
    seg = sample_segment(prob, pol, th, n_steps=6, n_envs=1, rng=np.random.default_rng(1))
    eps = segment_to_episodes(seg, partial=True)
    with pytest.raises(RolloutError, match="ran out"):
        episodes_to_segment(eps, n_steps=50, n_envs=1, next_observations=seg.next_observations)
    with pytest.raises(RolloutError, match="environments 0..0"):
        episodes_to_segment(dataclasses.replace(eps, env=eps.env + 1), n_steps=6, n_envs=1)


def test_update_weights_mask_autoreset_rows_and_discount_by_elapsed():
    """Pathwise: a next-step reset row's action did nothing, so its weight is 0 (its
    expected contribution is 0 anyway — the action is independent of what follows — so
    only the pathwise weights can show the mask)."""
    from pgmath.rollouts.expectation import update_weights
    prob, pol, th = boundary_problem(time_limit=3)
    seg = sample_segment(prob, pol, th, n_steps=30, n_envs=2, rng=np.random.default_rng(3),
                         mode="next_step")
    w = update_weights(seg, "none")
    assert seg.autoreset.any() and np.all(w[seg.autoreset] == 0) and np.all(w[seg.live] == 1)
    wd = update_weights(seg, "discounted")
    assert np.allclose(wd[seg.live], 0.9 ** seg.elapsed[seg.live])
