"""How many independent units a statistical check needs to see a bias of a given size.

For the method a check resolved to (:class:`~pgmath.check.context.CheckContext`), the
least N at which the test (level α) catches every bias with ‖bias‖∞ ≥ δ w.p. ≥ 1 − β:

* ``"bernstein"``: exact variance and range (enumeration or recursion),
  :func:`~pgmath.check.bounds.min_num_samples_for_bernstein_mean_test`;
* ``"empirical-bernstein"``: from the bound B alone,
  :func:`~pgmath.check.bounds.min_num_samples_for_empirical_bernstein_mean_test`;
* ``"asymptotic"`` (z-test) and ``"chi2"``: N = ⌈((z_{α/2d} + z_β) σ_max / δ)²⌉ with the
  largest standard deviation σ_max of a unit (a pilot's sample variance, or the exact
  variance for χ²); asymptotic, like the tests it plans for.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from .bounds import (min_num_samples_for_bernstein_mean_test,
                     min_num_samples_for_empirical_bernstein_mean_test)
from .context import CheckContext

__all__ = ["plan_units", "z_detectable_factor", "PILOT_N"]

#: Units drawn by the pilot that plans N for the asymptotic test.
PILOT_N = 1000


def z_detectable_factor(alpha: float, beta: float, d: int) -> float:
    """z_{α/(2d)} + z_β: the asymptotic detectable bias is this times the standard error."""
    return float(stats.norm.isf(alpha / (2 * d)) + stats.norm.isf(beta))


def plan_units(ctx: CheckContext, delta: float, *, sample_variance=None) -> int | None:
    """N for ``ctx.method`` to detect ‖bias‖∞ ≥ ``delta`` (module docstring), or ``None``
    when δ ≤ 0 or the asymptotic plan has no variance to go on."""
    if not delta > 0:
        return None
    if ctx.method == "bernstein":
        mom = ctx.moments
        return min_num_samples_for_bernstein_mean_test(
            mom.variance, np.maximum(mom.radius, mom.spread), delta, alpha=ctx.alpha,
            beta=ctx.beta)
    if ctx.method == "empirical-bernstein":
        return min_num_samples_for_empirical_bernstein_mean_test(
            ctx.bound, delta, d=ctx.d, alpha=ctx.alpha, beta=ctx.beta)
    var = (np.diag(ctx.moments.cov) if ctx.method == "chi2" else sample_variance)
    if var is None:
        return None
    sigma = float(np.sqrt(np.max(np.maximum(var, 0.0))))
    z = z_detectable_factor(ctx.alpha, ctx.beta, ctx.d)
    return max(2, int(np.ceil((z * sigma / delta) ** 2)))
