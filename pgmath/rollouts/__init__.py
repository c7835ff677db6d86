"""Rollouts as RL code sees them: episode boundaries, termination vs truncation, and the
discounted target (issue 12).

* :func:`rollout_problem` — an MDP with terminal states and a time limit H, solved for
  the episodic J or the discounted J_γ (:mod:`.problem`); exact J, ∇J, V by two routes
  (:mod:`.objective`).
* :class:`Segment` — ``[n_steps, n_envs]`` arrays as vectorised code stores them, in
  gymnasium's same-step or next-step auto-reset layout (:mod:`.segment`);
  :func:`sample_segment` draws them; conversions to and from episode batches
  (:mod:`.episodes`).
* :func:`expected_update` — the exact expected update Σ_t ψ_t Â_t of an advantage
  function on a segment, by enumeration or by a recursion over the row chain.
* :func:`gae` — GAE done right, and the five boundary bugs (:mod:`.patterns`).
* :func:`compare_update` — an expected update against ∇J or ∇J_γ (scale, cosine, the
  renewal scale, the state-weighting gap of Nota & Thomas 2020).
* :func:`check_rollout` — a user's GAE (CleanRL, stable-baselines3, skrl signatures via
  :func:`adapt`) against correct GAE, exactly; a :class:`pgmath.check.CheckResult`
  (:class:`RolloutCheckResult`). ``pgmath.check_unbiased`` and
  ``pgmath.testing.assert_unbiased`` route a :class:`RolloutProblem` to it;
  ``pgmath check --rollout``.
"""
from . import examples, patterns, signatures
from .chain import RolloutChain, rollout_chain, stationary_distribution
from ..check import register_problem_type as _register
from .check import (RolloutCheckResult, assert_rollout_unbiased, check_rollout,
                    check_rollout_battery, check_unbiased_rollout)
from .compare import UpdateComparison, compare_update, renewal_scale, weighting_gap
from .enumeration import count_segments, enumerate_segments
from .expectation import SegmentExpectation, expected_update
from .gae import gae
from .objective import expected_length, gradient, objective, values
from .patterns import PATTERNS
from .problem import OBJECTIVES, RolloutProblem, rollout_problem
from .rules import Rows, Rule, rule_advantages
from .sampling import sample_segment
from .segment import MODES, Segment
from .episodes import EpisodeBatch, episodes_to_segment, segment_to_episodes
from .signatures import adapt

_register(RolloutProblem, check_unbiased_rollout)

__all__ = [
    "rollout_problem", "RolloutProblem", "OBJECTIVES",
    "objective", "gradient", "values", "expected_length",
    "Segment", "MODES", "sample_segment",
    "RolloutChain", "rollout_chain", "stationary_distribution",
    "enumerate_segments", "count_segments",
    "SegmentExpectation", "expected_update",
    "Rows", "Rule", "rule_advantages",
    "gae", "PATTERNS", "patterns", "examples", "signatures", "adapt",
    "EpisodeBatch", "segment_to_episodes", "episodes_to_segment",
    "UpdateComparison", "compare_update", "renewal_scale", "weighting_gap",
    "RolloutCheckResult", "check_rollout", "check_rollout_battery", "assert_rollout_unbiased",
]
