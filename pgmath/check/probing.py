"""What an estimator does with its batch, found by probing it before a check is routed.

A verdict about E g needs to know three things about the code, and a user does not always
say them (``@batch_coupled`` is only a hint):

* **Coupling**: does row i depend on the other trajectories of the batch? Rows R are
  evaluated twice, beside the trajectories of highest return and beside those of lowest
  return, interleaved so that every neighbour changes, in reverse order and in batches of
  different sizes. A per-trajectory estimator gives the same rows up to rounding; an
  estimator whose rows change is *coupled* and is checked as one (its unit is a batch,
  its estimate the batch mean). The trajectories come from the enumeration when the
  problem has at most :data:`POOL_ENUMERATION` of them (so the extremes of the return are
  always among them), else from :data:`POOL_FACTOR` × k sampled ones. A coupling that these
  batches do not trigger (one that acts only on batches of more than 2k + 1 trajectories,
  or only through trajectories the pool lacks) is not seen: mark such an estimator with
  ``@batch_coupled``.
* **Final states**: does it read ``batch.final_states`` (s_T, e.g. to bootstrap with
  V(s_T))? The probe evaluates ``[R, C₁]`` once more without them; when the rows change or
  the estimator fails, exact routes enumerate s_T (never a placeholder).
* **Symmetry** (coupled estimators): does permuting the batch permute the rows the same
  way (two fixed random permutations)? Then the batch mean is invariant under
  permutations, and the exact moments at batch size b enumerate multisets of trajectories
  with multinomial weights, C(M + b − 1, b) batches instead of M^b.

An estimator that describes itself (``step_weights``) is not probed: its description says
it is per-trajectory and which tables read s_T, and every route holds the code to it
(:func:`verify_description`: on the enumerated trajectories, or on 64 sampled ones before
the recursion), so code whose rows depend on the batch is refused rather than checked as
something it is not.

Rows are compared with a tolerance of 2¹² u_w times the largest |g_j| of the probe
(u_w the unit roundoff of the dtype the estimator returned): a per-trajectory estimator's
rows differ only by the order of its sums, and a coupled estimator's rows move by a
fraction of their size. The probe costs 3 (5 for a coupled estimator) calls on batches of
at most 2k + 1 = 17 trajectories (sampled ones drawn with the fixed seed :data:`PROBE_SEED`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import EstimatorError
from ..estimator_protocol import (EstimatorOutput, _name, evaluate_estimator,
                                   is_batch_coupled)
from ..trajectories import (acting_table, concatenate, count_trajectories,
                            enumerate_trajectories, sample)
from .rounding import unit_roundoff

__all__ = ["Probe", "probe_estimator", "described_probe", "verify_description", "PROBE_SEED",
           "PROBE_ROWS", "POOL_ENUMERATION", "POOL_FACTOR"]

#: Seed of the trajectories the probe evaluates.
PROBE_SEED = 20240601
#: Rows R compared beside two sets of companions.
PROBE_ROWS = 8
#: Problems with at most this many trajectories are probed with enumerated ones.
POOL_ENUMERATION = 512
#: Otherwise the pool is this many times PROBE_ROWS sampled trajectories.
POOL_FACTOR = 6


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


def _few_trajectories(mdp, policy, bt) -> bool:
    """Cheaply, whether the problem has at most :data:`POOL_ENUMERATION` trajectories
    (with s_T): an upper bound (start states) × (largest branching of a step)^T first."""
    pi = np.asarray(acting_table(mdp, policy, bt)[0])
    branch = int(np.max((pi > 0).sum(axis=-1))) * int(np.max((np.asarray(mdp.P) > 0).sum(axis=-1)))
    if getattr(mdp, "is_pomdp", False):
        branch *= int(np.max((np.asarray(mdp.O) > 0).sum(axis=-1)))
    if np.count_nonzero(mdp.p0) * float(branch) ** mdp.horizon <= POOL_ENUMERATION:
        return True
    return count_trajectories(mdp, policy, bt, final_states=True) <= POOL_ENUMERATION \
        if mdp.horizon * np.log(max(branch, 1)) < 60 else False


def _pool(mdp, policy, bt, k: int):
    """Trajectories to probe with (with s_T): every one when there are few, else sampled."""
    if _few_trajectories(mdp, policy, bt):
        return enumerate_trajectories(mdp, policy, bt, final_states=True)[0]
    return sample(mdp, policy, bt, POOL_FACTOR * k, np.random.default_rng(PROBE_SEED))


def _interleave(a, b):
    """Rows a₀, b₀, a₁, b₁, … then the rest of b (``len(b) ≥ len(a)``)."""
    idx = [row for pair in zip(range(a.n), range(a.n, a.n + a.n)) for row in pair]
    both = concatenate([a, b])
    return both[np.array(idx + list(range(2 * a.n, both.n)))]


def _coupling(estimator, policy, theta, R, low, gx, tol) -> tuple[bool, str]:
    """Evaluate R (reversed) at the odd positions of a batch of low-return companions and
    compare with its rows ``gx[::2]`` beside high-return ones: (coupled, evidence)."""
    k = R.n
    flipped = R[np.arange(k)[::-1]]
    second = _interleave(low[np.arange(k)], concatenate([flipped, low[np.array([k])]]))
    # second = l₀, r_{k−1}, l₁, r_{k−2}, …: R reversed at odd positions, size 2k + 1
    gy = evaluate_estimator(estimator, second, policy, theta).values[1:2 * k:2][::-1]
    gr = gx[0:2 * k:2]
    scale = np.maximum(np.abs(gx).max(axis=0), np.abs(gy).max(axis=0))
    moved = ~_close(gr, gy, scale, tol)
    if not moved.any():
        return False, (f"found by probing: {k} rows unchanged beside other companions, "
                       "positions and batch sizes (per-trajectory)")
    i, j = (int(v) for v in np.argwhere(moved)[0])
    return True, (f"found by probing: row {i} component {j} is {gr[i, j]:.6g} beside "
                  f"high-return trajectories and {gy[i, j]:.6g} beside low-return ones, so "
                  "rows depend on the batch")


def _reads_final_states(estimator, policy, theta, batch, gx, tol) -> bool:
    bare = _try(estimator, replace(batch, final_states=None), policy, theta)
    return bare is None or not bool(np.all(_close(bare.values, gx, np.abs(gx).max(axis=0), tol)))


def _symmetric(estimator, policy, theta, batch, gx, tol) -> tuple[bool, int]:
    """(permuting the batch permutes the rows, calls made) for two fixed permutations."""
    scale = np.abs(gx).max(axis=0)
    for k, seed in enumerate((PROBE_SEED, PROBE_SEED + 1), start=1):
        perm = np.random.default_rng(seed).permutation(batch.n)
        moved = _try(estimator, batch[perm], policy, theta)
        if moved is None or not np.all(_close(moved.values, gx[perm], scale, tol)):
            return False, k
    return True, 2


def probe_estimator(estimator, mdp, policy, theta, *, theta_behaviour=None,
                    rows: int = PROBE_ROWS) -> Probe:
    """Probe ``estimator`` on trajectories of (``mdp``, π_{theta_behaviour or theta}).

    Raises:
      EstimatorError: the estimator fails on an ordinary batch of the problem (the
        message is the same as a check would give).
    """
    k = int(rows)
    pool = _pool(mdp, policy, theta if theta_behaviour is None else theta_behaviour, k)
    order = np.argsort(pool.returns(), kind="stable")
    third = max(1, pool.n // 3)
    low = pool[np.resize(order[:third], k + 1)]
    high = pool[np.resize(order[::-1][:third], k)]
    R = pool[order[np.linspace(0, pool.n - 1, k).round().astype(int)]]
    first = _interleave(R, high)                              # R at even positions
    out = evaluate_estimator(estimator, first, policy, theta)
    tol = 2.0 ** 12 * unit_roundoff(out.dtype)
    marked = is_batch_coupled(estimator)
    calls = 1
    if marked:
        coupled, evidence = True, "marked with @batch_coupled"
    else:
        coupled, evidence = _coupling(estimator, policy, theta, R, low, out.values, tol)
        calls += 1
    reads_final = mdp.R.ndim == 2 and _reads_final_states(estimator, policy, theta, first,
                                                          out.values, tol)
    calls += mdp.R.ndim == 2
    symmetric = None
    if coupled:
        symmetric, made = _symmetric(estimator, policy, theta, first, out.values, tol)
        calls += made
    return Probe(coupled, marked, evidence, bool(reads_final), symmetric, out.dtype, int(calls))


def _needs_final(spec) -> bool:
    """Whether a StepWeights table reads s_T (its last step varies along s')."""
    for tab in (spec.y, spec.c):
        if tab is not None and tab.shape[3] > 1:
            last = tab[spec.T - 1]
            if not np.all(last == last[..., :1]):
                return True
    return False


def described_probe(spec) -> Probe:
    """The :class:`Probe` of an estimator with ``step_weights`` ``spec``, from the
    description (module docstring)."""
    return Probe(False, False, "per-trajectory by its description (step_weights), which "
                 "every route holds the code to", _needs_final(spec), None, "float64", 0)


def verify_description(estimator, g: np.ndarray, ref: np.ndarray, dtype: str) -> None:
    """Raise :class:`EstimatorError` when the rows ``g`` the code computed (in ``dtype``)
    differ from ``ref``, its description's rows, by more than max(1e-9, 2¹⁰ u) relative
    (a float32 implementation of a described estimator is not a lie)."""
    scale = 1.0 + np.abs(g) + np.abs(ref)
    bad = np.abs(g - ref) > max(1e-9, 2.0 ** 10 * unit_roundoff(dtype)) * scale
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise EstimatorError(
            f"{_name(estimator)}'s step_weights does not describe it: on trajectory {i}, "
            f"component {j} the function gives {g[i, j]!r} and its description {ref[i, j]!r}")
