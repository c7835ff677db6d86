"""From a decision to a :class:`CheckResult`: verdict, diagnosis and report in one place."""
from __future__ import annotations

import numpy as np

from .context import CheckContext
from .diagnosis import coordinate_labels, diagnose, table_shape
from .reports import bias_lines, bias_table_lines, diagnosis_lines, header, verdict_line
from .results import CheckResult, Thresholds
from .rounding import RoundingBound

__all__ = ["outcome"]


def outcome(ctx: CheckContext, *, method: str, verdict: str, estimate: np.ndarray,
            thresholds: Thresholds, detectable: float, n: int, guaranteed: bool,
            lines: list[str], precision: str, rounding: RoundingBound | None = None,
            n_needed: int | None = None, match_tolerance: np.ndarray | None = None
            ) -> CheckResult:
    """The :class:`CheckResult` of a decided check (``lines``: the route's own report lines,
    between the header and the verdict). ``match_tolerance`` ``[d]`` is how close E g must
    be to a known pattern to name it (default: the threshold)."""
    bias = estimate - ctx.target
    thr = thresholds.threshold
    labels = coordinate_labels(ctx.policy)
    shape = table_shape(ctx.policy)
    diag = diagnose(estimate, ctx.target, thr if match_tolerance is None else match_tolerance,
                    mdp=ctx.mdp, policy=ctx.policy, theta=ctx.theta,
                    theta_behaviour=ctx.theta_behaviour, batch_size=ctx.batch_size)
    route = f"{method} ({ctx.route})" if ctx.route and method == "recursion" else method
    text = header(ctx.estimator, ctx.mdp, ctx.policy, ctx.theta_behaviour, ctx.d, route,
                  ctx.unit, ctx.probe.evidence)
    text += lines + [verdict_line(verdict)]
    if verdict == "biased":
        text += diagnosis_lines(diag, ctx.target)
    text += bias_lines(bias, thr, ctx.target, estimate, labels)
    if verdict == "biased" and shape is not None:
        text += bias_table_lines(bias, shape, ctx.policy.over)
    return CheckResult(
        passed=verdict == "unbiased", method=method, max_abs_bias=float(np.max(np.abs(bias))),
        detectable_bias=float(detectable), n=int(n), alpha=ctx.alpha, report="\n".join(text),
        guaranteed=guaranteed, beta=ctx.beta, bias=bias, threshold=thr, target=ctx.target,
        estimate=estimate, verdict=verdict,
        resolution=None if method in ("enumeration", "recursion") else ctx.resolution,
        n_needed=n_needed, precision=precision, coupled=ctx.coupled, coupling=ctx.probe.evidence,
        batch_size=ctx.batch_size, scale=diag.scale, orthogonal=diag.orthogonal,
        pattern=diag.pattern if verdict == "biased" else None, thresholds=thresholds,
        rounding=rounding, labels=labels, table_shape=shape)
