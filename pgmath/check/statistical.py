"""Statistical decisions on N independent units, and the three verdicts.

* ``"bernstein"`` (non-asymptotic; exact variance and range from enumeration or the
  moment recursion): reject when |ḡ_j − ∇J_j| > ε_j + slack_j for some j, ε_j Bernstein's
  threshold at δ = α/(2d) per coordinate and tail (:mod:`pgmath.check.bounds`).
* ``"empirical-bernstein"`` (non-asymptotic; a declared bound |g_j| ≤ B_j per unit, width
  2B_j): Maurer & Pontil's bound at α/d per coordinate, each tail at α/(2d).
* ``"asymptotic"``: Bonferroni z-test with the sample variance, labelled: by Bahadur &
  Savage (1956) no test bounds the false-failure rate of a mean from samples when the
  range is unknown. A coordinate that varied in fewer than :data:`MIN_SUPPORT` units (a
  rarely visited state) has no usable sample variance: there the test only rejects a
  deviation above the required resolution.
* ``"chi2"``: χ² = N bᵀ Σ⁺ b with the exact covariance (asymptotic).

slack_j is the rounding bound of :mod:`pgmath.check.rounding` for the sample mean (its
magnitude part is computed only when the decision depends on it).

Verdicts: **biased** when the test rejects; otherwise **unbiased** only when the check
could have seen a bias of the required size, its detectable bias (the ∞-norm bias it
catches w.p. ≥ 1 − β, rounding included) ≤ the resolution δ* (the requested
``detectable_bias``, else ``relative_resolution`` × ‖∇J‖∞); else **inconclusive**, with
the N that would decide it (:mod:`pgmath.check.planning`).
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from ..errors import EstimatorError
from ..estimator_protocol import _name
from .bounds import (bernstein_eps, empirical_bernstein_threshold,
                     min_discrepancy_of_true_means_detectable_by_bernstein)
from .context import CheckContext
from .diagnosis import coordinate_labels
from .outcome import outcome
from .planning import plan_units, z_detectable_factor
from .results import CheckResult, Thresholds
from .rounding import (UNDERFLOW, RoundingBound, resolve_precision, row_depth, sum_depth,
                       target_depth, target_terms, unit_roundoff)
from .sampling import Draws

__all__ = ["decide_statistically"]


def _moments_source(ctx: CheckContext) -> str:
    mom = ctx.moments
    if mom.route.endswith("recursion"):
        return (f"the {mom.route} (exact variance; range from the bound B_j ≥ max_τ |g_j(τ)| "
                "of pgmath.check.recursion_moments)")
    return mom.route


def _rounding(ctx: CheckContext, draws: Draws) -> RoundingBound:
    prec = resolve_precision(ctx.precision, draws.dtype)
    n, T = draws.g.shape[0], ctx.mdp.horizon
    tb = ctx.theta_behaviour

    def magnitude():
        a, source = draws.magnitudes()
        return a.mean(axis=0), source

    k_w = row_depth(ctx.policy, ctx.theta, T, theta_behaviour=tb)
    k_s = sum_depth(ctx.policy, ctx.theta, ctx.batch_size * T, n, theta_behaviour=tb)
    return RoundingBound(prec, unit_roundoff(prec), k_w, k_s, np.abs(draws.g).mean(axis=0),
                         target_depth(ctx.mdp, ctx.policy, ctx.theta),
                         target_terms(ctx.mdp, ctx.policy, ctx.theta),
                         np.full(ctx.d, UNDERFLOW * (k_w + k_s)), magnitude)


def _bernstein(ctx: CheckContext, g: np.ndarray):
    n, d = g.shape
    mom = ctx.moments
    var = mom.variance
    L = float(np.log(2.0 * d / ctx.alpha))
    eps = bernstein_eps(var, mom.radius, n, L)
    det = min_discrepancy_of_true_means_detectable_by_bernstein(
            var, np.maximum(mom.radius, mom.spread), n,
                                           alpha=ctx.alpha, beta=ctx.beta)
    note = ("  Bernstein's inequality with the exact variance and range "
            f"({_moments_source(ctx)}), union bound over {d} coordinates × 2 tails: "
            "P(false failure) ≤ α")
    return "bernstein", eps, det, var, mom.radius, L, True, [note]


def _empirical_bernstein(ctx: CheckContext, g: np.ndarray):
    n, d = g.shape
    B = np.broadcast_to(np.asarray(ctx.bound, dtype=float), (d,))
    over = np.abs(g) > B * (1 + 1e-12)
    if over.any():
        i, j = (int(v) for v in np.argwhere(over)[0])
        raise EstimatorError(
            f"{_name(ctx.estimator)} broke the declared bound |g_j| ≤ {B[j]:g}: estimate "
            f"{i}, component {j} is {g[i, j]!r}; the empirical-Bernstein guarantee needs a "
            "true bound")
    v = g.var(axis=0, ddof=1)
    eps = empirical_bernstein_threshold(v, 2.0 * B, n, ctx.alpha / d)
    det = eps + bernstein_eps(v, 2.0 * B, n, np.log(1.0 / ctx.beta))
    what = f"|g_j| ≤ {B[0]:g}" if np.all(B == B[0]) else "|g_j| ≤ B_j (per coordinate)"
    note = (f"  empirical Bernstein (Maurer & Pontil 2009) with the declared bound {what}, "
            f"union bound over {d} coordinates × 2 tails: P(false failure) ≤ α (the "
            "detectable bias uses the sample variance)")
    return ("empirical-bernstein", eps, det, v, 2.0 * B, float(np.log(4.0 * d / ctx.alpha)),
            True, [note])


def _z_test(ctx: CheckContext, g: np.ndarray):
    n, d = g.shape
    z = float(stats.norm.isf(ctx.alpha / (2 * d)))
    v = g.var(axis=0, ddof=1)
    se = np.sqrt(v / n)
    notes = ["  ASYMPTOTIC: Bonferroni z-test with the sample variance (CLT). No bound on |g| "
             "was given, and for an estimator of unknown range no test can bound the "
             "false-failure rate from samples (Bahadur & Savage 1956); pass bound= for a "
             "guarantee"]
    eps = z * se
    rare = _support(g) < MIN_SUPPORT
    if rare.any():
        eps = np.where(rare, np.maximum(eps, ctx.resolution), eps)
        notes.append(f"  {int(rare.sum())} coordinate(s) varied in fewer than {MIN_SUPPORT} of "
                     f"the {n:,} units (e.g. {_name_coordinates(ctx, rare)}): a sample "
                     "variance says nothing about rare values, so there the test only rejects "
                     f"a deviation above the required {ctx.resolution:.3e}")
    return "z", eps, z_detectable_factor(ctx.alpha, ctx.beta, d) * se, v, None, z, False, notes


_TESTS = {"bernstein": _bernstein, "empirical-bernstein": _empirical_bernstein,
          "asymptotic": _z_test}


#: A coordinate must vary in at least this many units for the z-test to reject on its
#: sample variance alone (a rarely visited state: the CLT has not set in).
MIN_SUPPORT = 30


def _support(g: np.ndarray) -> np.ndarray:
    """``[d]`` how many units differ from the coordinate's median."""
    return np.count_nonzero(g != np.median(g, axis=0), axis=0)


def _name_coordinates(ctx: CheckContext, mask: np.ndarray, k: int = 3) -> str:
    labels = coordinate_labels(ctx.policy)
    idx = np.flatnonzero(mask)
    return ", ".join(labels[j] for j in idx[:k]) + (", …" if idx.size > k else "")


def _verdict(rejected: bool, det: float, ctx: CheckContext) -> str:
    if rejected:
        return "biased"
    return "unbiased" if ctx.resolution > 0 and det <= ctx.resolution else "inconclusive"


def _inconclusive_lines(ctx: CheckContext, det: float, n: int, n_needed) -> list[str]:
    if ctx.resolution <= 0:
        return ["  inconclusive: ∇J = 0 here, so no bias is small relative to it; pass "
                "detectable_bias= to say what size must be seen"]
    what = (f"N ≈ {n_needed:,} {ctx.unit} would decide it" if n_needed and n_needed > n
            else "no N decides it at this precision (the rounding tolerance alone exceeds it)")
    return [f"  inconclusive: the detectable bias {det:.3e} is above the required "
            f"{ctx.resolution:.3e}; {what} (pass n= or detectable_bias=)"]


def decide_statistically(ctx: CheckContext, draws: Draws) -> CheckResult:
    """The verdict of a statistical route on the drawn units (module docstring)."""
    g = draws.g
    n, d = g.shape
    rb = _rounding(ctx, draws)
    mean = g.mean(axis=0)
    bias = mean - ctx.target
    if ctx.method == "chi2":
        return _chi2(ctx, g, rb)
    kind, eps, det, var, rng_, L, guaranteed, notes = _TESTS[ctx.method](ctx, g)
    slack = rb.fixed_part()
    if np.any(np.abs(bias) > eps + slack):
        slack = rb.slack()  # the magnitude term only when the decision depends on it
    thr = eps + slack
    rejected = bool(np.any(np.abs(bias) > thr))
    det_inf = float(np.max(det + slack))
    verdict = _verdict(rejected, det_inf, ctx)
    n_needed = (plan_units(ctx, ctx.resolution, sample_variance=var)
                if verdict == "inconclusive" else None)
    lines = [f"  N = {n:,} {ctx.unit}; α = {ctx.alpha:g} (false-failure rate"
             f"{'' if guaranteed else ', asymptotic'}); β = {ctx.beta:g}"]
    lines += notes
    lines += [f"  max |ḡ − ∇J| = {float(np.max(np.abs(bias))):.3e}; detectable bias (‖·‖∞, "
              f"w.p. ≥ 1 − β) = {det_inf:.3e}; required {ctx.resolution:.3e}"]
    if verdict == "inconclusive":
        lines += _inconclusive_lines(ctx, det_inf, n, n_needed)
    thresholds = Thresholds(kind, n, ctx.alpha / (2 * d), L, var, rng_, eps, slack)
    method = {"z": "asymptotic"}.get(kind, kind)
    return outcome(ctx, method=method, verdict=verdict, estimate=mean, thresholds=thresholds,
                   detectable=det_inf, n=n, guaranteed=guaranteed, lines=lines,
                   precision=rb.precision, rounding=rb, n_needed=n_needed)


def _chi2(ctx: CheckContext, g: np.ndarray, rb: RoundingBound) -> CheckResult:
    """χ² = N bᵀ Σ⁺ b on the range of Σ (exact covariance), rank-many degrees of freedom."""
    n, d = g.shape
    mean = g.mean(axis=0)
    bias = mean - ctx.target
    slack = rb.fixed_part()
    w, V = np.linalg.eigh(ctx.moments.cov)
    tol = max(float(w.max()), 0.0) * d * np.finfo(float).eps * 16
    keep = w > tol
    proj = V[:, keep].T @ bias
    stat = float(n * np.sum(proj ** 2 / w[keep]))
    k = int(keep.sum())
    crit = float(stats.chi2.isf(ctx.alpha, k)) if k else 0.0
    null_part = V[:, ~keep] @ (V[:, ~keep].T @ bias)
    in_range = bool(np.all(np.abs(null_part) <= slack))
    rejected = not (stat <= crit and in_range)
    var = np.diag(ctx.moments.cov)
    det = z_detectable_factor(ctx.alpha, ctx.beta, d) * np.sqrt(var / n)
    det_inf = float(np.max(det + slack))
    verdict = _verdict(rejected, det_inf, ctx)
    n_needed = plan_units(ctx, ctx.resolution) if verdict == "inconclusive" else None
    lines = [f"  N = {n:,}; α = {ctx.alpha:g} (ASYMPTOTIC: χ² with the exact covariance, CLT)",
             f"  χ² = {stat:.4g} on {k} degrees of freedom, critical value {crit:.4g}"
             + ("" if in_range else "; the bias leaves the covariance's range"),
             f"  max |ḡ − ∇J| = {float(np.max(np.abs(bias))):.3e}; detectable bias "
             f"{det_inf:.3e}; required {ctx.resolution:.3e}"]
    if verdict == "inconclusive":
        lines += _inconclusive_lines(ctx, det_inf, n, n_needed)
    thresholds = Thresholds("chi2", n, ctx.alpha, crit, var, None, np.full(d, np.nan), slack)
    return outcome(ctx, method="chi2", verdict=verdict, estimate=mean, thresholds=thresholds,
                   detectable=det_inf, n=n, guaranteed=False, lines=lines,
                   precision=rb.precision, rounding=rb, n_needed=n_needed,
                   match_tolerance=det + slack)
