"""``np.einsum`` with its contraction order found once per (expression, shapes)."""
from __future__ import annotations

import numpy as np

__all__ = ["einsum"]

_PATHS: dict = {}


def einsum(expr: str, *ops: np.ndarray) -> np.ndarray:
    """``np.einsum(expr, *ops)`` along the optimal contraction path, cached by shapes."""
    key = (expr,) + tuple(o.shape for o in ops)
    path = _PATHS.get(key)
    if path is None:
        path = _PATHS[key] = np.einsum_path(expr, *ops, optimize="optimal")[0]
    return np.einsum(expr, *ops, optimize=path)
