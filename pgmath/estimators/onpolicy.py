"""On-policy policy-gradient estimators (notes §4.1–4.3).

Each maps a batch ``[N, T]`` to ``[N, d]``, one row per trajectory; the estimate is the
row mean. ψ_t = ∇_θ log π_θ(a_t|x_t), x_t the state (or observation).
"""
from __future__ import annotations

import numpy as np

from ._protocol import step_scores

__all__ = ["reinforce", "reward_to_go"]


def _discounts(batch) -> np.ndarray:
    return batch.discount ** np.arange(batch.horizon)


def reinforce(batch, policy, theta) -> np.ndarray:
    """REINFORCE (notes §4.1, Algorithm 2): g_i = (Σ_t ψ_{i,t}) (Σ_t γ^t r_{i,t}).

    Args:
      batch: :class:`pgmath.Trajectories` ``[N, T]``.
    Returns:
      ``[N, d]``.
    """
    psi = step_scores(batch, policy, theta)
    return psi.sum(axis=1) * batch.returns()[:, None]


def reward_to_go(batch, policy, theta) -> np.ndarray:
    """Reward-to-go (notes §4.3.1): g_i = Σ_t ψ_{i,t} Σ_{t'≥t} γ^{t'} r_{i,t'}.

    The discount γ^{t'} is counted from the start, so the estimator is unbiased for
    ∇J_γ. Returns ``[N, d]``.
    """
    psi = step_scores(batch, policy, theta)
    w = batch.rewards * _discounts(batch)
    rtg = np.cumsum(w[:, ::-1], axis=1)[:, ::-1]
    return np.einsum("ntd,nt->nd", psi, rtg)
