"""The estimator protocol: ``estimator(batch, policy, theta) -> ndarray [N, d]``.

One row per trajectory; the estimate of ∇J(θ) is the row mean. A user's own estimator
is any callable with this signature. Estimators whose rows depend on the whole batch
(a batch-average baseline, standardised advantages) are marked with
:func:`batch_coupled`; their rows are not independent, and exact per-trajectory
moments do not apply to them (:func:`pgmath.exact.coupled_moments` gives the exact
moments of their batch mean for a given N).

Built-in per-trajectory estimators also carry ``step_weights(T, discount)``, their
description as a linear recursion (:class:`pgmath.exact.recursion.StepWeights`; the
importance-sampling estimators with the powers of the ratio π_θ'/π_θ in its update);
:func:`has_recursion` tells whether an estimator has one, in which case
:func:`pgmath.exact.estimator_moments` (with ``theta_behaviour`` for trajectories of
another policy) computes its exact moments in polynomial time.
A user's estimator without it is handled by enumeration.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import EstimatorError

__all__ = ["batch_coupled", "is_batch_coupled", "has_recursion", "call_estimator",
           "step_scores", "Estimator"]

Estimator = Callable[..., np.ndarray]


def batch_coupled(fn: Estimator) -> Estimator:
    """Mark ``fn`` as batch-coupled: row i depends on other trajectories of the batch."""
    fn.batch_coupled = True
    return fn


def is_batch_coupled(fn: Estimator) -> bool:
    """True when ``fn`` was marked with :func:`batch_coupled`."""
    return bool(getattr(fn, "batch_coupled", False))


def has_recursion(fn: Estimator) -> bool:
    """True when ``fn`` describes itself as a linear recursion (``step_weights``)."""
    return callable(getattr(fn, "step_weights", None)) and not is_batch_coupled(fn)


def _name(fn) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def call_estimator(estimator: Estimator, batch, policy, theta) -> np.ndarray:
    """Call a (possibly user-written) estimator and validate what it returns.

    Returns a float ``[N, d]`` array. Raises :class:`EstimatorError` naming the
    estimator when it raises, returns the wrong shape, or returns NaN/inf.
    """
    d = policy.n_params
    try:
        g = estimator(batch, policy, theta)
    except Exception as exc:  # noqa: BLE001 - re-raised with context
        raise EstimatorError(
            f"estimator {_name(estimator)} raised {type(exc).__name__}: {exc}") from exc
    try:
        g = np.asarray(g, dtype=float)
    except (TypeError, ValueError) as exc:
        raise EstimatorError(
            f"estimator {_name(estimator)} returned {type(g).__name__}, which is not a numeric "
            f"array of shape [N, d] = ({batch.n}, {d})") from exc
    if g.shape != (batch.n, d):
        raise EstimatorError(
            f"estimator {_name(estimator)} returned shape {g.shape}; the protocol needs one row "
            f"per trajectory, [N, d] = ({batch.n}, {d})")
    bad = ~np.isfinite(g)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise EstimatorError(
            f"estimator {_name(estimator)} returned a non-finite value {g[i, j]!r} at row {i} "
            f"(trajectory {i}), component {j}")
    return g


def step_scores(batch, policy, theta) -> np.ndarray:
    """``[N, T, d]`` ψ_t = ∇_θ log π_θ(a_t|x_t) for every step of the batch."""
    psi = policy.score(theta)
    return psi[batch.inputs, batch.actions]
