"""What an estimator does with its batch, found by probing it before a check is routed.

A verdict about E g needs to know three things about the code, and a user does not always
say them (``@batch_coupled`` is only a hint):

* **Coupling**: does row i depend on the other trajectories of the batch? Rows R are
  evaluated twice, beside two different sets of companions, at different positions and
  in batches of different sizes (``[R, C₁]`` and ``[C₂, R]``). A per-trajectory estimator
  gives the same rows up to rounding; an estimator whose rows change is *coupled* and is
  checked as one (its unit is a batch, its estimate the batch mean). A coupling that the
  probe's batches do not trigger (say, one that only acts on batches of more than 12
  trajectories) is not seen: mark such an estimator with ``@batch_coupled``.
* **Final states**: does it read ``batch.final_states`` (s_T, e.g. to bootstrap with
  V(s_T))? The probe evaluates ``[R, C₁]`` once more without them; when the rows change or
  the estimator fails, exact routes enumerate s_T (never a placeholder).
* **Symmetry** (coupled estimators): is the batch mean invariant under a permutation of
  the batch? Then the exact moments at batch size b enumerate multisets of trajectories
  with multinomial weights, C(M + b − 1, b) batches instead of M^b.

Rows are compared with a tolerance of 2¹² u_w times the largest |g_j| of the probe
(u_w the unit roundoff of the dtype the estimator returned): a per-trajectory estimator's
rows differ only by the order of its sums, and a coupled estimator's rows move by a
fraction of their size. The probe costs 3 (4 for a coupled estimator) calls on batches of
at most 12 trajectories, drawn with the fixed seed :data:`PROBE_SEED`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import EstimatorError
from ..estimators._protocol import EstimatorOutput, evaluate_estimator, is_batch_coupled
from ..trajectories import concatenate, sample
from .rounding import unit_roundoff

__all__ = ["Probe", "probe_estimator", "PROBE_SEED", "PROBE_ROWS"]

#: Seed of the trajectories the probe evaluates.
PROBE_SEED = 20240601
#: Rows R compared beside two sets of companions.
PROBE_ROWS = 6


@dataclass(frozen=True)
class Probe:
    """What :func:`probe_estimator` found.

    Attributes:
      coupled: rows depend on other rows of the batch (checked as batch-coupled).
      marked: the estimator carries ``@batch_coupled``.
      evidence: one sentence for the report (how coupling was decided).
      reads_final_states: the rows change (or the estimator fails) without s_T.
      symmetric: for a coupled estimator, the batch mean is invariant under permuting
        the batch (``None`` for a per-trajectory one).
      dtype: the dtype the estimator returned (``"float64"``, ``"float32"``, …).
      calls: estimator calls the probe made.
    """

    coupled: bool
    marked: bool
    evidence: str
    reads_final_states: bool
    symmetric: bool | None
    dtype: str
    calls: int


def _close(a: np.ndarray, b: np.ndarray, scale: np.ndarray, tol: float) -> np.ndarray:
    return np.abs(a - b) <= tol * scale


def _try(estimator, batch, policy, theta) -> EstimatorOutput | None:
    try:
        return evaluate_estimator(estimator, batch, policy, theta)
    except EstimatorError:
        return None


def probe_estimator(estimator, mdp, policy, theta, *, theta_behaviour=None,
                    rows: int = PROBE_ROWS) -> Probe:
    """Probe ``estimator`` on trajectories of (``mdp``, π_{theta_behaviour or theta}).

    Raises:
      EstimatorError: the estimator fails on an ordinary sampled batch (the message is
        the same as a check would give).
    """
    k = int(rows)
    bt = theta if theta_behaviour is None else theta_behaviour
    batch = sample(mdp, policy, bt, 3 * k - 2, np.random.default_rng(PROBE_SEED))
    R, C1, C2 = batch[slice(0, k)], batch[slice(k, 2 * k)], batch[slice(2 * k, 3 * k - 2)]
    first = concatenate([R, C1])
    out = evaluate_estimator(estimator, first, policy, theta)
    gx = out.values
    tol = 2.0 ** 12 * unit_roundoff(out.dtype)
    marked = is_batch_coupled(estimator)
    calls = 1
    if marked:
        coupled, evidence = True, "marked with @batch_coupled"
    else:
        gy = evaluate_estimator(estimator, concatenate([C2, R]), policy, theta).values[k - 2:]
        calls += 1
        scale = np.maximum(np.abs(gx).max(axis=0), np.abs(gy).max(axis=0))
        moved = ~_close(gx[:k], gy, scale, tol)
        coupled = bool(moved.any())
        if coupled:
            i, j = (int(v) for v in np.argwhere(moved)[0])
            evidence = (f"found by probing: row {i} component {j} is {gx[i, j]:.6g} beside one "
                        f"set of companions and {gy[i, j]:.6g} beside another, so rows depend "
                        "on the batch")
        else:
            evidence = (f"found by probing: {k} rows unchanged beside other companions, "
                        "positions and batch sizes (per-trajectory)")
    reads_final = False
    if mdp.R.ndim == 2:
        bare = _try(estimator, replace(first, final_states=None), policy, theta)
        calls += 1
        scale = np.abs(gx).max(axis=0)
        reads_final = bare is None or not bool(np.all(_close(bare.values, gx, scale, tol)))
    symmetric = None
    if coupled:
        flipped = _try(estimator, first[np.arange(first.n)[::-1]], policy, theta)
        calls += 1
        scale = np.abs(gx).max(axis=0)
        symmetric = flipped is not None and bool(np.all(
            _close(flipped.values.mean(axis=0), gx.mean(axis=0), scale, tol)))
    return Probe(coupled, marked, evidence, reads_final, symmetric, out.dtype, calls)
