"""Exact mean and covariance of a per-trajectory estimator by enumeration (DESIGN §2).

    E[g] = Σ_τ p_θ(τ) g(τ),   Cov[g] = Σ_τ p_θ(τ) (g(τ) − E g)(g(τ) − E g)ᵀ

over every trajectory with non-zero probability, evaluated as a single batch, so it
works for any per-trajectory estimator, a user's own included.
"""
from __future__ import annotations

import numpy as np

from ..errors import EstimatorError

__all__ = ["estimator_moments"]


def estimator_moments(estimator, mdp, policy, theta, *, n_steps: int | None = None,
                      max_trajectories: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mean ``[d]``, covariance ``[d, d]``) of one row g(τ) of ``estimator``, exactly.

    Enumerates every trajectory once (see :func:`pgmath.enumerate_trajectories`, whose
    size limit ``max_trajectories`` applies) and evaluates ``estimator`` on all of them
    as one batch. Batch-coupled estimators are refused: their rows are not functions of
    one trajectory.
    """
    from ..estimators._protocol import call_estimator, is_batch_coupled
    from ..trajectories import MAX_TRAJECTORIES, enumerate_trajectories

    if is_batch_coupled(estimator):
        raise EstimatorError(
            f"{getattr(estimator, '__name__', estimator)!r} is batch-coupled: its rows depend "
            "on the whole batch, so per-trajectory moments are not defined")
    batch, prob = enumerate_trajectories(
        mdp, policy, theta, n_steps=n_steps,
        max_trajectories=MAX_TRAJECTORIES if max_trajectories is None else max_trajectories)
    g = call_estimator(estimator, batch, policy, theta)
    prob = prob / prob.sum()
    mean = prob @ g
    c = g - mean
    cov = (c * prob[:, None]).T @ c
    return mean, 0.5 * (cov + cov.T)
