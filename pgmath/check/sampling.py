"""Independent draws of an estimator for the statistical checks.

The unit of a check is one trajectory for a per-trajectory estimator and one batch of b
i.i.d. trajectories for a batch-coupled one (its estimate is the batch's row mean). N units
are sampled at once (:func:`pgmath.sample`) and the estimator is evaluated in
memory-capped chunks of whole batches (at most :data:`CHUNK_ENTRIES` entries of
``[N, T, d]`` per call); the draws do not depend on the chunking.

The rounding magnitudes of the draws (:mod:`pgmath.check.magnitudes`) are computed only
when a decision needs them (they may cost a second call of a black box per chunk): the
batch is then drawn again from the generator's saved state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import PgmathError
from ..estimator_protocol import evaluate_estimator
from ..trajectories import sample
from .rounding import unit_roundoff

__all__ = ["Draws", "draw", "CHUNK_ENTRIES"]

#: Largest N·T·d entries handed to an estimator in one call (memory cap).
CHUNK_ENTRIES = 4_000_000


@dataclass(frozen=True, eq=False)
class Draws:
    """``g`` ``[n, d]`` i.i.d. unit estimates, the coarsest ``dtype`` the estimator returned,
    and ``magnitudes()`` → (``[n, d]`` a per unit, source), computed on demand."""

    g: np.ndarray
    dtype: str
    magnitudes: Callable[[], tuple[np.ndarray, str]]


def _chunks(total: int, b: int, T: int, d: int):
    step = b * max(1, CHUNK_ENTRIES // max(1, T * d * b))
    return [slice(lo, min(total, lo + step)) for lo in range(0, total, step)]


def _evaluate(estimator, sub, policy, theta, b: int, coupled: bool):
    """Rows of ``sub`` (whole batches of b when ``coupled``) and the dtypes seen."""
    if coupled:
        outs = [evaluate_estimator(estimator, sub[slice(k, k + b)], policy, theta)
                for k in range(0, sub.n, b)]
    else:
        outs = [evaluate_estimator(estimator, sub, policy, theta)]
    return np.concatenate([o.values for o in outs]), {o.dtype for o in outs}


def draw(estimator, mdp, policy, theta, n: int, rng: np.random.Generator, *,
         theta_behaviour=None, coupled: bool = False, batch_size: int = 1,
         magnitude_of: Callable | None = None) -> Draws:
    """N i.i.d. units of ``estimator`` (module docstring); ``magnitude_of(estimator, batch,
    g)`` → (``[N, d]`` a(τ), source) gives the rounding magnitudes of rows ``g`` on a batch."""
    bt = theta if theta_behaviour is None else theta_behaviour
    b = int(batch_size) if coupled else 1
    if b < 1:
        raise PgmathError(f"batch_size must be ≥ 1, got {batch_size!r}")
    state = rng.bit_generator.state
    batch = sample(mdp, policy, bt, n * b, rng)
    parts, dtypes = [], set()
    for sl in _chunks(n * b, b, mdp.horizon, policy.n_params):
        g, seen = _evaluate(estimator, batch[sl], policy, theta, b, coupled)
        parts.append(g)
        dtypes |= seen
    rows = np.concatenate(parts)
    d = rows.shape[1]

    def magnitudes():
        again = type(rng.bit_generator)()
        again.state = state
        full = sample(mdp, policy, bt, n * b, np.random.Generator(again))
        mags, source = [], "description"
        for sl, g in zip(_chunks(n * b, b, mdp.horizon, d), parts):
            sub = full[sl]
            if coupled:
                for k in range(0, sub.n, b):
                    a, source = magnitude_of(estimator, sub[slice(k, k + b)], g[k:k + b])
                    mags.append(a)
            else:
                a, source = magnitude_of(estimator, sub, g)
                mags.append(a)
        return np.concatenate(mags).reshape(n, b, d).mean(axis=1), source

    dtype = max(dtypes, key=unit_roundoff)
    return Draws(rows.reshape(n, b, d).mean(axis=1), dtype, magnitudes)
