"""Which moment recursion gives the exact moments of an estimator: :func:`recursion_route`.

:func:`pgmath.check_unbiased` decides E g = ∇J(θ) by the forward moment recursion
(:mod:`pgmath.exact.recursion`, polynomial in T) whenever this module names a route for
the estimator: routed by its description (``step_weights``), never by its name. The
moments themselves, their rounding bounds and ranges are computed in
:mod:`pgmath.check.recursion_moments`.
"""
from __future__ import annotations

import numpy as np

from .._deprecation import keyword_only
from ..estimator_protocol import has_recursion, is_batch_coupled

__all__ = ["recursion_route"]


@keyword_only
def recursion_route(estimator, mdp, policy, theta, *, theta_behaviour=None) -> str | None:
    """Which recursion gives the exact moments of ``estimator`` on this problem, or ``None``.

    Routed by description, never by name: any per-trajectory estimator with
    ``step_weights`` (a :class:`~pgmath.exact.recursion.StepWeights`, importance-ratio
    powers included; a user's own as much as a built-in) on a finite horizon gets the
    moment recursion: ``"on-policy recursion"`` when sampled on-policy
    (``theta_behaviour`` is ``None`` or equal to θ), ``"off-policy recursion"`` when the
    trajectories come from π_{theta_behaviour} (the recursion then weights by the
    behaviour and evaluates the estimator at θ). An estimator without a description, or a
    batch-coupled one, gets ``None``.
    """
    if is_batch_coupled(estimator) or mdp.horizon is None or not has_recursion(estimator):
        return None
    on_policy = theta_behaviour is None or np.array_equal(theta_behaviour, theta)
    return "on-policy recursion" if on_policy else "off-policy recursion"

