"""Exact decisions: E g from enumeration or the moment recursion, tolerance = rounding only.

The estimator is unbiased iff |E g_j − ∇J_j| ≤ slack_j for every j, slack the rounding
bound of :mod:`pgmath.check.rounding` (the same model on every exact route). When a check
at float64 fails by less than what float32 code could be off by, the report says so and
names ``precision="float32"``: a float32 computation returned as float64 looks biased at
float64 tolerance.
"""
from __future__ import annotations

import numpy as np

from .context import CheckContext
from .outcome import outcome
from .results import CheckResult, Thresholds
from .rounding import RoundingBound, unit_roundoff

__all__ = ["decide_exactly", "precision_note"]


def _route_lines(ctx: CheckContext) -> list[str]:
    mom = ctx.moments
    if mom.route == "enumeration":
        what = "trajectories" + (" (with the final state s_T, which the estimator reads)"
                                 if ctx.probe.reads_final_states else "")
        return [f"  enumerated {mom.count:,} {what}: E[g] = Σ_τ p(τ) g(τ), no sampling"]
    if mom.route.startswith("batch enumeration"):
        return [f"  {mom.route}: enumerated {mom.count:,} batches of {mom.batch_size} "
                "(E[batch mean] over every batch, weighted by its probability), no sampling"]
    return [f"  {ctx.route} (DESIGN §3): E[g] by the forward moment recursion in "
            f"O(T S² A d²), no enumeration and no sampling (T = {ctx.mdp.horizon})"]


def precision_note(bias: np.ndarray, rb: RoundingBound) -> list[str]:
    """The report line for a bias above the tolerance of a working precision finer than
    float32 but within what float32 arithmetic could produce (empty otherwise): it names
    ``precision="float32"``."""
    if unit_roundoff(rb.precision) >= unit_roundoff("float32"):
        return []
    band = rb.slack("float32")
    if not np.all(np.abs(bias) <= band):
        return []
    return [f"  note: the bias is within what float32 arithmetic could produce (float32 "
            f"tolerance max_j {float(band.max()):.3e}); if the code computes in float32, "
            "rerun with precision=\"float32\" (pgmath check --precision float32)"]


def decide_exactly(ctx: CheckContext) -> CheckResult:
    """The verdict of an exact route (``ctx.moments`` from enumeration or recursion)."""
    mom = ctx.moments
    bias = mom.mean - ctx.target
    rb = mom.rounding
    thr = rb.slack()
    ok = bool(np.all(np.abs(bias) <= thr))
    lines = _route_lines(ctx)
    lines.append(f"  tolerance: {rb.describe()}; max_j {float(thr.max()):.3e}")
    lines.append(f"  max |E g − ∇J| = {float(np.max(np.abs(bias))):.3e}")
    if not ok:
        lines += precision_note(bias, rb)
    method = "recursion" if mom.route.endswith("recursion") else "enumeration"
    zeros = np.zeros_like(thr)
    return outcome(ctx, method=method, verdict="unbiased" if ok else "biased",
                   estimate=mom.mean,
                   thresholds=Thresholds("rounding", mom.count, 0.0, 0.0, None, None, zeros, thr),
                   detectable=float(thr.max()), n=mom.count, guaranteed=True, lines=lines,
                   precision=rb.precision, rounding=rb, match_tolerance=2.0 * thr)
