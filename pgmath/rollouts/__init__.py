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
"""
from .chain import RolloutChain, rollout_chain, stationary_distribution
from .enumeration import count_segments, enumerate_segments
from .expectation import SegmentExpectation, expected_update
from .gae import gae
from .objective import expected_length, gradient, objective, values
from .patterns import PATTERNS
from .problem import OBJECTIVES, RolloutProblem, rollout_problem
from .rules import Rows, Rule, rule_advantages
from .sampling import sample_segment
from .segment import MODES, Segment

__all__ = [
    "rollout_problem", "RolloutProblem", "OBJECTIVES",
    "objective", "gradient", "values", "expected_length",
    "Segment", "MODES", "sample_segment",
    "RolloutChain", "rollout_chain", "stationary_distribution",
    "enumerate_segments", "count_segments",
    "SegmentExpectation", "expected_update",
    "Rows", "Rule", "rule_advantages",
    "gae", "PATTERNS",
]
