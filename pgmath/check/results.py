"""What a check returns: :class:`CheckResult`, its threshold ingredients, and
:class:`VarianceComparison`."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidArgumentError, check_choice
from .bounds import DEFAULT_BETA
from .rounding import RoundingBound

__all__ = ["VERDICTS", "CheckResult", "Thresholds", "VarianceComparison"]

#: The three verdicts: ``passed`` is True only for ``"unbiased"``.
VERDICTS = ("unbiased", "biased", "inconclusive")
#: Methods that decide exactly (no sampling).
EXACT_METHODS = ("enumeration", "recursion")


@dataclass(frozen=True, eq=False)
class Thresholds:
    """The ingredients of the per-coordinate acceptance bound ``[d]`` of a check, so that
    each can be held against its closed form.

    threshold_j = statistical_j + rounding_j, where

    Attributes:
      kind: ``"rounding"`` (exact routes: no statistical part), ``"bernstein"``,
        ``"empirical-bernstein"``, ``"z"`` (asymptotic Bonferroni z-test) or ``"chi2"``.
      n: the sample size N (independent units: trajectories or batches).
      delta: the false-failure probability per coordinate and tail, α/(2d) (0 when exact).
      log_term: L of the bound (Bernstein ln(2/δ') with δ' = α/d, i.e. ln(2d/α);
        empirical Bernstein ln(4/δ') = ln(4d/α); z: the z quantile); 0 when exact.
      variance: ``[d]`` the variance the test was told (exact Var g_j plus its rounding
        bound for Bernstein; the sample variance for the others), or ``None``.
      range: ``[d]`` b_j ≥ |g_j − ∇J_j| (Bernstein) or the width w_j = 2 B_j
        (empirical Bernstein), or ``None``.
      statistical: ``[d]`` ε_j, the statistical part.
      rounding: ``[d]`` the floating-point part (:mod:`pgmath.check.rounding`).
    """

    kind: str
    n: int
    delta: float
    log_term: float
    variance: np.ndarray | None
    range: np.ndarray | None
    statistical: np.ndarray
    rounding: np.ndarray

    @property
    def threshold(self) -> np.ndarray:
        return self.statistical + self.rounding


@dataclass(frozen=True, eq=False)
class CheckResult:
    """The outcome of :func:`pgmath.check_unbiased`.

    Attributes:
      passed: True only when ``verdict == "unbiased"``.
      method: ``"enumeration"`` or ``"recursion"`` (exact), ``"bernstein"``,
        ``"empirical-bernstein"``, ``"asymptotic"`` or ``"chi2"``.
      max_abs_bias: max_j |ḡ_j − ∇J_j| observed (exact: |E g_j − ∇J_j|).
      detectable_bias: the smallest ∞-norm bias this run detects with probability
        ≥ 1 − ``beta`` (exact: the rounding tolerance; nothing smaller is meaningful).
      n: units sampled (trajectories, or independent batches for a batch-coupled
        estimator), units enumerated on the enumeration route, 0 on the recursion route.
      alpha: the false-failure probability the test guarantees (asymptotic: aims at).
      report: a readable account of the check.
      guaranteed: False when the false-failure bound rests on the CLT.
      beta: the false-pass rate of ``detectable_bias``.
      bias: ``[d]`` ḡ − ∇J; threshold: ``[d]`` the per-coordinate acceptance bound;
      target: ``[d]`` ∇J(θ); estimate: ``[d]`` ḡ (or E g).
      verdict: ``"unbiased"``, ``"biased"`` or ``"inconclusive"`` (a statistical check that
        found no bias but could not have seen one of the size it had to resolve).
      resolution: the ∞-norm bias the check had to be able to see: the requested
        ``detectable_bias``, else ``relative_resolution`` × ‖∇J‖∞ (``None`` when exact).
      n_needed: for an inconclusive check, the N that would decide it (``None`` if unknown).
      precision: the working precision the rounding tolerance assumed.
      coupled: the estimator was checked as batch-coupled; coupling: why (marked, or
        found by probing). batch_size: trajectories per batch (1 per-trajectory).
      scale: c = ⟨E g, ∇J⟩ / ‖∇J‖² (NaN when ∇J = 0); orthogonal: ‖E g − c ∇J‖₂, the part
        of E g that no rescaling of ∇J explains.
      pattern: what the bias looks like when pgmath recognises it (``"sign flipped:
        E[g] = −∇J"``, ``"scaled by c"``, …), else ``None``.
      thresholds: the :class:`Thresholds` ingredients of ``threshold``.
      rounding: the :class:`~pgmath.check.rounding.RoundingBound` (exact routes).
      labels: a name per coordinate (``"(s=2, a=1)"`` for a tabular policy).
      table_shape: (X, A) for a tabular policy (see :attr:`bias_table`), else ``None``.
    """

    passed: bool
    method: str
    max_abs_bias: float
    detectable_bias: float
    n: int
    alpha: float
    report: str
    guaranteed: bool = True
    beta: float = DEFAULT_BETA
    bias: np.ndarray = field(default=None, repr=False)
    threshold: np.ndarray = field(default=None, repr=False)
    target: np.ndarray = field(default=None, repr=False)
    estimate: np.ndarray = field(default=None, repr=False)
    verdict: str = "unbiased"
    resolution: float | None = None
    n_needed: int | None = None
    precision: str = "float64"
    coupled: bool = False
    coupling: str = ""
    batch_size: int = 1
    scale: float = float("nan")
    orthogonal: float = float("nan")
    pattern: str | None = None
    thresholds: Thresholds | None = field(default=None, repr=False)
    rounding: RoundingBound | None = field(default=None, repr=False)
    labels: tuple[str, ...] | None = field(default=None, repr=False)
    table_shape: tuple[int, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_choice("verdict", self.verdict, VERDICTS)
        if self.passed != (self.verdict == "unbiased"):
            raise InvalidArgumentError(f"passed={self.passed} disagrees with verdict {self.verdict!r}")

    @property
    def exact(self) -> bool:
        """True when the verdict is exact (enumeration or moment recursion)."""
        return self.method in EXACT_METHODS

    @property
    def bias_table(self) -> np.ndarray | None:
        """``[X, A]`` the bias per (state or observation, action) for a tabular policy."""
        if self.table_shape is None or self.bias is None:
            return None
        return np.asarray(self.bias).reshape(self.table_shape)

    def __str__(self) -> str:
        return self.report


@dataclass(frozen=True, eq=False)
class VarianceComparison:
    """The outcome of :func:`pgmath.compare_variance`.

    Attributes:
      cov_a, cov_b: ``[d, d]`` exact covariances of one row of each estimator.
      var_a, var_b: ``[d]`` their diagonals; total_a, total_b: the traces.
      smaller: ``"a"``, ``"b"`` or ``"equal"`` (totals equal within rounding).
      coordinatewise: ``"a"``/``"b"`` when that one is ≤ in every coordinate, else ``None``.
      slack: the rounding slack used to call two totals equal.
      report: a readable table.
      method: how the covariances were computed, e.g. ``"recursion/enumeration"`` (a's
        route, then b's).
    """

    cov_a: np.ndarray
    cov_b: np.ndarray
    var_a: np.ndarray
    var_b: np.ndarray
    total_a: float
    total_b: float
    smaller: str
    coordinatewise: str | None
    slack: float
    report: str
    method: str = "enumeration/enumeration"

    def __str__(self) -> str:
        return self.report
