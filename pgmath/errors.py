"""The pgmath exception hierarchy.

Every error pgmath raises for bad input is a :class:`PgmathError`, itself a
``ValueError``, so ``except ValueError`` catches them all. Messages name the argument,
the index and the offending value.
"""
from __future__ import annotations

__all__ = [
    "PgmathError",
    "ShapeError",
    "InvalidDistributionError",
    "InvalidMDPError",
    "InvalidPolicyError",
    "ImproperPolicyError",
    "NotErgodicError",
    "TooManyTrajectoriesError",
    "EstimatorError",
    "InvalidArgumentError",
    "DivergentPolicyError",
    "RolloutError",
    "MissingRewardsError",
]


class PgmathError(ValueError):
    """Base class of every pgmath input error (a ``ValueError``)."""


class ShapeError(PgmathError):
    """Arrays whose shapes do not agree (the message names the arrays and shapes)."""


class InvalidDistributionError(PgmathError):
    """A probability vector or table that is negative, NaN or does not sum to one."""


class InvalidMDPError(PgmathError):
    """A malformed MDP or POMDP: horizon, discount, rewards, terminal states."""


class InvalidPolicyError(PgmathError):
    """A policy or parameter vector that does not fit the problem."""


class ImproperPolicyError(PgmathError):
    """An undiscounted infinite-horizon problem whose policy never terminates."""


class NotErgodicError(PgmathError):
    """A stationary distribution requested for a chain that is not ergodic."""


class TooManyTrajectoriesError(PgmathError):
    """Enumeration refused: more trajectories than the caller's limit."""


class EstimatorError(PgmathError):
    """A user's estimator returned the wrong shape, NaN, or raised."""


class InvalidArgumentError(PgmathError):
    """A scalar option out of range or not one of the allowed choices (names it and its value)."""


class DivergentPolicyError(InvalidPolicyError):
    """A policy under which a discounted linear-quadratic problem diverges: the closed loop
    x_{t+1} = (A + BK) x_t + … has spectral radius ρ(√γ (A + BK)) ≥ 1, so the state's
    discounted second moment, J(θ) and every estimator's variance are infinite."""


class RolloutError(PgmathError):
    """Rollout arrays that contradict each other: terminated and truncated both set, a
    segment shorter than one step, flags or final observations where no episode ended
    (the message names the array, the step t and the environment)."""


class MissingRewardsError(InvalidArgumentError):
    """Rewards read from a :class:`~pgmath.Trajectories` batch built without them
    (``rewards=None``): Fisher estimates and scores need none, estimators and returns do."""
