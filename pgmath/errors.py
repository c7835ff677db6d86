"""The pgmath exception hierarchy.

Every error pgmath raises for bad input is a :class:`PgmathError`, itself a
``ValueError``, so ``except ValueError`` catches them all. Messages name the argument,
the index and the offending value.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = [
    "ArgumentSpellingError",
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
    "NotAGeneratorError",
    "check_choice",
    "check_generator",
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


class NotAGeneratorError(InvalidArgumentError, TypeError):
    """A source of randomness that is not a ``numpy.random.Generator`` (pgmath draws only
    from one). Also a ``TypeError``, so ``except TypeError`` catches it as well."""


class ArgumentSpellingError(InvalidArgumentError, TypeError):
    """A call that gives one argument twice (a deprecated spelling beside its new name, or
    positionally and by keyword) or too many positionally. Also a ``TypeError``, as
    Python's own message for such a call is."""


def check_choice(name: str, value, choices: Sequence, *,
                 error: type[PgmathError] = InvalidArgumentError):
    """``value`` if it is one of ``choices``, else ``error`` with pgmath's one message for
    this mistake: ``"<name> must be one of (<choices>), got <value>"``.

    Examples:
      >>> check_choice("method", "auto", ("auto", "exact"))
      'auto'
      >>> check_choice("method", "fast", ("auto", "exact"))
      Traceback (most recent call last):
      ...
      pgmath.errors.InvalidArgumentError: method must be one of ('auto', 'exact'), got 'fast'
    """
    choices = tuple(choices)
    if not any(value is c or (isinstance(value, type(c)) and value == c) for c in choices):
        raise error(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_generator(rng, *, name: str = "rng", optional: bool = False):
    """``rng`` if it is a ``numpy.random.Generator`` (or ``None`` when ``optional``), else
    :class:`NotAGeneratorError` naming what was passed."""
    if (rng is None and optional) or isinstance(rng, np.random.Generator):
        return rng
    allowed = "a numpy.random.Generator" + (" or None" if optional else "")
    raise NotAGeneratorError(f"{name} must be {allowed} (np.random.default_rng(seed)), "
                             f"got {type(rng).__name__} {rng!r}")
