"""Framework-neutral tail of :mod:`pgmath.lqr.torch` and :mod:`pgmath.lqr.jax`: from the
per-trajectory gradients of a loss and its gradient on the whole batch to estimator rows."""
from __future__ import annotations

import numpy as np

from ..errors import EstimatorError

__all__ = ["FIELDS", "batch_arrays", "finish_rows"]

#: The batch fields handed to a loss, in order.
FIELDS = ("states", "actions", "rewards", "terminal_rewards", "noise")


def batch_arrays(batch) -> list[np.ndarray]:
    """The :data:`FIELDS` of a continuous batch (zeros for a batch without noise)."""
    return [np.asarray(getattr(batch, f) if getattr(batch, f) is not None
                       else np.zeros_like(batch.actions)) for f in FIELDS]


def finish_rows(rows: np.ndarray, batch_grad: np.ndarray, label: str, batch,
                sign: float) -> np.ndarray:
    """``[N, d]`` sign · rows, after naming a non-finite gradient; when the mean of the rows
    is not the batch gradient (beyond 64 T ε relative, per coordinate), the loss couples the
    batch and every row is the batch gradient (the check's coupling probe refuses it)."""
    bad = ~np.isfinite(rows)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise EstimatorError(f"{label} has a non-finite gradient {rows[i, j]!r} at row {i}, "
                             f"component {j}")
    scale = np.abs(rows).mean(axis=0) + np.abs(batch_grad) + 1e-30
    tol = 64 * float(np.finfo(rows.dtype).eps) * batch.horizon
    if np.any(np.abs(rows.mean(axis=0) - batch_grad) > tol * scale * max(1, batch.n)):
        rows = np.broadcast_to(batch_grad, rows.shape).copy()
    return sign * rows
