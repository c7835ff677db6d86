"""Value tables as rollout code reads them: V(s), or V_k(s) by the time k since the reset.

A value prediction of a row is the critic evaluated at the row's observation. pgmath's
critics are tables: ``[S]`` (V(s), stationary) or ``[H + 1, S]`` (V_k(s) for
k = 0..H, the time-limited episodic objective; a ``[H, S]`` table means V_H = 0).
Internally every table is ``[K, S]``: K = 1 for a stationary table (looked up at row 0
whatever k is), K = H + 1 for a time-dependent one.
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError

__all__ = ["as_value_table", "lookup"]


def as_value_table(table, n_states: int, time_limit: int | None) -> np.ndarray:
    """The table as float ``[K, S]`` (K = 1 stationary, K = H + 1 time-dependent).

    Raises :class:`ShapeError` naming the shape that does not fit (a time-dependent table
    without a time limit, a wrong number of states or of time steps, non-finite entries).
    """
    V = np.asarray(table, dtype=float)
    S = n_states
    if V.ndim == 1:
        if V.shape != (S,):
            raise ShapeError(f"a value table [S] must have {S} entries, got shape {V.shape}")
        V = V[None, :]
    elif V.ndim == 2:
        if V.shape[1] != S:
            raise ShapeError(f"a value table [H + 1, S] must have S = {S} columns, got shape {V.shape}")
        if time_limit is None:
            raise ShapeError(
                f"a time-dependent value table {V.shape} needs a time limit H (values V_k(s) "
                "are indexed by the time k since the reset); this problem has none: pass [S]")
        if V.shape[0] == time_limit:
            V = np.vstack([V, np.zeros((1, S))])
        if V.shape[0] != time_limit + 1:
            raise ShapeError(
                f"a time-dependent value table has {V.shape[0]} rows but the time limit is "
                f"H = {time_limit}: it must be [H + 1, S] = ({time_limit + 1}, {S}) (V_0..V_H) "
                f"or [H, S] = ({time_limit}, {S}) (V_H = 0)")
    else:
        raise ShapeError(f"a value table must be [S] or [H + 1, S], got shape {V.shape}")
    if not np.all(np.isfinite(V)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(V))[0])
        raise ShapeError(f"value table entry {idx} is not finite: {float(V[idx])!r}")
    return V


def lookup(V: np.ndarray, k, s) -> np.ndarray:
    """V_k(s) from a ``[K, S]`` table (row 0 when K = 1), elementwise over arrays k, s."""
    k = np.asarray(k)
    if V.shape[0] == 1:
        return V[0][s]
    if np.any(k < 0):
        raise ShapeError("a time-dependent value table needs the time since the reset of every "
                         "row (elapsed), and some are unknown (−1)")
    if np.any(k >= V.shape[0]):
        raise ShapeError(f"time since the reset k = {int(k.max())} is past the value table's "
                         f"last row V_{V.shape[0] - 1}")
    return V[k, s]
