"""Which moment recursion gives the exact moments of an estimator: :func:`recursion_route`.

:func:`pgmath.check_unbiased` decides E g = ∇J(θ) by the forward moment recursion
(:mod:`pgmath.exact.recursion`, polynomial in T) whenever this module names a route for
the estimator; the moments themselves, their rounding bounds and ranges are computed in
:mod:`pgmath.check.recursion_moments`.
"""
from __future__ import annotations

import warnings

import numpy as np

from .estimators import offpolicy as _offpolicy
from .estimators._protocol import has_recursion, is_batch_coupled
from .exact.offpolicy_moments import RECURSIONS

__all__ = ["recursion_route"]


def _is_offpolicy_builtin(estimator) -> bool:
    name = getattr(estimator, "__name__", None)
    return name in RECURSIONS and getattr(_offpolicy, name, None) is estimator


def recursion_route(estimator, mdp, policy, theta, behaviour_theta=None) -> str | None:
    """Which recursion gives the exact moments of ``estimator`` on this problem, or ``None``.

    ``"on-policy recursion"``: a per-trajectory estimator with ``step_weights`` sampled
    on-policy (``behaviour_theta`` is ``None`` or equal to θ). ``"off-policy recursion"``:
    one of the built-in off-policy estimators of :data:`RECURSIONS` on an MDP with rewards
    r(s, a). A user's estimator without a linear-recursion description gets ``None``.
    """
    if is_batch_coupled(estimator) or mdp.horizon is None:
        return None
    on_policy = behaviour_theta is None or np.array_equal(behaviour_theta, theta)
    if on_policy and has_recursion(estimator):
        return "on-policy recursion"
    if _is_offpolicy_builtin(estimator) and mdp.R.ndim == 2:
        return "off-policy recursion"
    return None


#: Names that moved to :mod:`pgmath.check.recursion_moments` (kept one release).
_MOVED = ("recursion_moments", "rounding_depth", "step_weights_range")


def __getattr__(name: str):
    """Deprecated: the moment-recursion machinery moved to pgmath.check.recursion_moments."""
    if name in _MOVED:
        warnings.warn(f"pgmath.check_routes.{name} moved to pgmath.check.recursion_moments",
                      DeprecationWarning, stacklevel=2)
        from .check import recursion_moments as moved  # noqa: PLC0415 - deprecation shim
        return getattr(moved, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
