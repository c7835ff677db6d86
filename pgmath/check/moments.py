"""Exact moments of one unit of an estimator (a row, or the mean of a batch), by enumeration.

One record, :class:`Moments`, carries what every route of :func:`pgmath.check_unbiased`
needs, whoever computed it (enumeration here, the moment recursion in
:mod:`pgmath.check.recursion_moments`): the mean E g, the covariance, ranges for
Bernstein's inequality, the rounding bound of E g − ∇J (:mod:`pgmath.check.rounding`)
and of Var g.

* Per-trajectory estimators: E g = Σ_τ p(τ) g(τ) over the M trajectories
  (:func:`pgmath.enumerate_trajectories`; with s_T when the estimator reads
  ``final_states``).
* Batch-coupled estimators at batch size b: the unit is one batch of b i.i.d. trajectories
  and g its row mean. A permutation-symmetric estimator (:mod:`pgmath.check.probing`) is
  enumerated over the C(M + b − 1, b) multisets {τ_1, …, τ_b} with probability
  b!/(c_1! ⋯ c_M!) Π_i p(τ_i)^{c_i} (c_i the multiplicity of τ_i); any other over the M^b
  ordered batches.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..errors import TooManyTrajectoriesError
from ..estimator_protocol import evaluate_estimator, step_scores
from ..estimators.offpolicy import log_ratios
from ..exact.recursion import step_weights_of
from ..trajectories import concatenate, count_trajectories, enumerate_trajectories
from .magnitudes import black_box_magnitudes, described_magnitudes, reward_scale
from .probing import verify_description
from .rounding import (UNDERFLOW, RoundingBound, gamma, resolve_precision, row_depth,
                       sum_depth, target_depth, target_terms, unit_roundoff)

__all__ = ["Moments", "enumeration_moments", "batch_enumeration_moments", "batch_count",
           "MAX_ENUMERATION", "MAX_BATCHES"]

#: Largest M·d (trajectories × parameters) the exact path enumerates by default.
MAX_ENUMERATION = 5_000_000
#: Largest number of batches enumerated for a batch-coupled estimator.
MAX_BATCHES = 5_000


@dataclass(frozen=True, eq=False)
class Moments:
    """Exact moments of one unit g (a row, or a batch mean) with their error bounds.

    Attributes:
      mean: ``[d]`` E g; cov: ``[d, d]`` Cov g.
      radius: ``[d]`` ≥ max |g_j − ∇J_j|; spread: ``[d]`` ≥ max |g_j − E g_j|.
      rounding: the bound on the rounding error of E g − ∇J (:class:`RoundingBound`);
        ``slack`` is its value ``[d]``.
      var_slack: ``[d]`` bound on the rounding error of Var g_j.
      route: ``"enumeration"``, ``"batch enumeration"`` (multisets or ordered) or
        ``"recursion"`` (on- or off-policy).
      count: trajectories or batches enumerated (0 for the recursion).
      batch_size: b (1 for a per-trajectory estimator).
      bound: ``[d]`` B_j ≥ max |g_j| when the route proves one (recursion), else ``None``.
      depth: K of the route's own computation (the recursion's; 0 for enumeration).
    """

    mean: np.ndarray
    cov: np.ndarray
    radius: np.ndarray
    spread: np.ndarray
    rounding: RoundingBound
    var_slack: np.ndarray
    route: str
    count: int
    batch_size: int = 1
    bound: np.ndarray | None = None
    depth: int = 0

    @property
    def slack(self) -> np.ndarray:
        """``[d]`` the rounding tolerance of E g − ∇J."""
        return self.rounding.slack()

    @property
    def variance(self) -> np.ndarray:
        """``[d]`` Var g_j plus its rounding bound (what Bernstein's inequality is told)."""
        return np.diag(self.cov) + self.var_slack

    # old field names of the enumeration record
    @property
    def m(self) -> int:
        return self.count


def _weighted(g: np.ndarray, prob: np.ndarray, target: np.ndarray):
    mean = prob @ g
    c = g - mean
    cov = (c * prob[:, None]).T @ c
    return mean, 0.5 * (cov + cov.T), np.max(np.abs(g - target), axis=0), np.max(np.abs(c), axis=0)


def row_magnitudes(estimator, batch, g, mdp, policy, theta, tol: float):
    """(``[N, d]`` a(τ), source) for the rows ``g`` of ``estimator`` on ``batch``."""
    spec = step_weights_of(estimator, batch.horizon, batch.discount)
    if spec is not None:
        return described_magnitudes(spec, batch, policy, theta), "description"
    return black_box_magnitudes(estimator, batch, g, policy, theta, r_bar=reward_scale(mdp),
                                tol=tol)


def probe_tolerance(k_w: int, u_w: float) -> float:
    """Relative mismatch allowed when the score probe's weights are checked against g."""
    return min(0.1, max(1e-6, 64.0 * gamma(k_w, u=u_w)))


def _record(g, a, prob, target, mdp, policy, theta, *, precision, observed, theta_behaviour,
            horizon, route, source, batch_size) -> Moments:
    mean, cov, radius, spread = _weighted(g, prob, target)
    prec = resolve_precision(precision, observed)
    u_w = unit_roundoff(prec)
    k_w = row_depth(policy, theta, mdp.horizon, theta_behaviour=theta_behaviour)
    k_s = sum_depth(policy, theta, horizon, g.shape[0], theta_behaviour=theta_behaviour)
    A = prob @ a
    floor = UNDERFLOW * (g.shape[0] + k_s * np.abs(g).sum(axis=0))
    rounding = RoundingBound(prec, u_w, k_w, k_s, prob @ np.abs(g), target_depth(mdp, policy, theta),
                             target_terms(mdp, policy, theta), floor, lambda: (A, source))
    gw, gs = gamma(k_w, u=u_w), gamma(k_s)
    # Var of rows off by e (|e| ≤ γ_w a): |ΔVar| ≤ 2 E[|g − μ| |e|] + E[e²], plus the sum
    var_slack = (2.0 * gw * (prob @ (np.abs(g - mean) * a)) + gw * gw * (prob @ (a * a))
                 + 4.0 * gs * (prob @ (g * g)))
    return Moments(mean, cov, radius, spread, rounding, var_slack, route, g.shape[0],
                   batch_size)


def enumeration_moments(estimator, mdp, policy, theta, *, theta_behaviour=None, target,
                        precision: str = "auto", final_states: bool = False) -> Moments:
    """:class:`Moments` of a per-trajectory estimator by enumerating every trajectory of
    π_{theta_behaviour} (θ itself when ``None``), with s_T when ``final_states``."""
    bt = theta if theta_behaviour is None else theta_behaviour
    limit = max(1, MAX_ENUMERATION // policy.n_params)
    batch, prob = enumerate_trajectories(mdp, policy, bt, max_trajectories=limit,
                                         final_states=final_states)
    prob = prob / prob.sum()
    out = evaluate_estimator(estimator, batch, policy, theta)
    spec = step_weights_of(estimator, batch.horizon, batch.discount)
    if spec is not None:  # the code must be what it says (the probe trusted the description)
        lr = log_ratios(batch, policy, theta) if spec.has_ratios else None
        verify_description(estimator, out.values,
                           spec.evaluate(batch, step_scores(batch, policy, theta), lr), out.dtype)
    prec = resolve_precision(precision, out.dtype)
    k_w = row_depth(policy, theta, mdp.horizon, theta_behaviour=theta_behaviour)
    a, source = row_magnitudes(estimator, batch, out.values, mdp, policy, theta,
                            probe_tolerance(k_w, unit_roundoff(prec)))
    return _record(out.values, a, prob, target, mdp, policy, theta, precision=precision,
                   observed=out.dtype, theta_behaviour=theta_behaviour, horizon=mdp.horizon,
                   route="enumeration", source=source, batch_size=1)


def batch_count(m: int, b: int, symmetric: bool) -> int:
    """Batches to enumerate: C(M + b − 1, b) multisets or M^b ordered batches."""
    return math.comb(m + b - 1, b) if symmetric else m ** b


def _batches(m: int, b: int, prob: np.ndarray, symmetric: bool):
    """(``[K, b]`` trajectory indices, ``[K]`` probabilities) of every batch."""
    if symmetric:
        idx = np.array(list(itertools.combinations_with_replacement(range(m), b)), dtype=np.intp)
        counts = np.stack([np.bincount(row, minlength=m) for row in idx])
        log_coef = (math.lgamma(b + 1)
                    - np.sum([[math.lgamma(c + 1) for c in row] for row in counts], axis=1))
        return idx, np.exp(log_coef) * np.prod(prob[idx], axis=1)
    idx = np.indices((m,) * b).reshape(b, -1).T
    return idx, np.prod(prob[idx], axis=1)


def batch_enumeration_moments(estimator, mdp, policy, theta, *, batch_size: int,
                              symmetric: bool, theta_behaviour=None, target,
                              precision: str = "auto", final_states: bool = False,
                              max_batches: int = MAX_BATCHES) -> Moments:
    """:class:`Moments` of the batch mean (1/b) Σ_i g_i of a batch-coupled estimator, by
    enumerating every batch of b trajectories (module docstring)."""
    bt = theta if theta_behaviour is None else theta_behaviour
    m = count_trajectories(mdp, policy, bt, final_states=final_states)
    b = int(batch_size)
    k = batch_count(m, b, symmetric)
    if k > max_batches:
        raise TooManyTrajectoriesError(
            f"{k:,} batches of {b} trajectories ({'multisets' if symmetric else 'ordered'}, "
            f"M = {m}), above {max_batches:,}")
    batch, prob = enumerate_trajectories(mdp, policy, bt, final_states=final_states)
    idx, w = _batches(batch.n, b, prob / prob.sum(), symmetric)
    k_w = row_depth(policy, theta, mdp.horizon, theta_behaviour=theta_behaviour)
    rows = [batch[row] for row in range(batch.n)]
    gs, mags, dtypes = [], [], set()
    for row in idx:
        sub = concatenate([rows[i] for i in row])
        out = evaluate_estimator(estimator, sub, policy, theta)
        prec = resolve_precision(precision, out.dtype)
        a, source = row_magnitudes(estimator, sub, out.values, mdp, policy, theta,
                                probe_tolerance(k_w, unit_roundoff(prec)))
        gs.append(out.values.mean(axis=0))
        mags.append(a.mean(axis=0))
        dtypes.add(out.dtype)
    observed = min(dtypes, key=lambda name: -unit_roundoff(name))  # the coarsest seen
    route = f"batch enumeration ({'multisets' if symmetric else 'ordered batches'})"
    return _record(np.array(gs), np.array(mags), w / w.sum(), target, mdp, policy, theta,
                   precision=precision, observed=observed, theta_behaviour=theta_behaviour,
                   horizon=b * mdp.horizon, route=route, source=source, batch_size=b)
