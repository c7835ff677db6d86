"""Deprecated module: :func:`recursion_route` lives in :mod:`pgmath.check.routes`, and
``recursion_moments``, ``step_weights_range`` in :mod:`pgmath.check.recursion_moments`
(these names are kept here for one release, with a DeprecationWarning for the moved ones)."""
from __future__ import annotations

import warnings

from .check import recursion_moments as _moved
from .check.routes import recursion_route

__all__ = ["recursion_route"]

#: Names that moved to :mod:`pgmath.check.recursion_moments` (kept one release).
_MOVED = ("recursion_moments", "step_weights_range")


def __getattr__(name: str):
    """Deprecated: the moment-recursion machinery moved to pgmath.check.recursion_moments."""
    if name in _MOVED:
        warnings.warn(f"pgmath.check_routes.{name} moved to pgmath.check.recursion_moments",
                      DeprecationWarning, stacklevel=2)
        return getattr(_moved, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
