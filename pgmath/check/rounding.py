"""The rounding model: one bound on the floating-point error of E g − ∇J for every route.

An exact route (enumeration of trajectories, enumeration of batches, the moment
recursion) decides E g = ∇J(θ) up to a tolerance that is floating-point error only. It is
derived the same way on every route (Higham, *Accuracy and Stability of Numerical
Algorithms*, §3.1 and eq. 3.5: a computation that only adds and multiplies, with at most
K roundings along any path from an input to the output, is off by at most
γ_K = K u / (1 − K u) times the same computation run on the absolute values of its
inputs):

    |error_j| ≤ γ_{K_w}(u_w) A_j  +  γ_{K_s}(u) S_j  +  γ_{K_t}(u) C_j  +  F_j,        (R)

* A_j = E[a_j(τ)], where a_j(τ) is the **magnitude** of row j of the estimator: its
  computation with every input replaced by its absolute value and the score
  ψ(x, a) = Φ[x, a] − Σ_b π(b|x) Φ[x, b] replaced by

      m(x, a) = |Φ[x, a]| + Σ_b π(b|x) |Φ[x, b]|  ≥ |ψ(x, a)|,

  which also bounds the *absolute* rounding of ψ: when π(a|x) ≈ 1 the score is the
  difference of two nearly equal numbers, and its relative error is large even though
  its absolute error is ~u m (issue 11: ψ = e_a − π at π ≈ 1 − 1e-13). u_w is the unit
  roundoff of the estimator's working precision (float64, or float32 for float32 code),
  K_w the roundings along a path of one row (:func:`row_depth`).
* S_j = E|g_j|: the sum over trajectories (or batches) and the rounding of each
  probability p(τ), computed by pgmath in float64 (u = 2⁻⁵³), K_s = their count plus the
  factors of p(τ) (:func:`sum_depth`).
* C_j = T max_{x,a} m_j(x, a) Σ_t γ^t max|r|: the terms the exact target ∇J is assembled
  from (policy-gradient theorem with every term made positive), K_t from
  :func:`target_depth`.

* F_j, the underflow floor: Higham's model holds for normalised numbers; a product that
  falls below the smallest normal number (a trajectory of probability 1e-310, say) is off
  by up to η = 2⁻¹⁰⁷⁴ in absolute terms. F_j = η (M + K_s Σ_τ |g_j(τ)|) for an enumeration
  of M units (each p(τ) g(τ) rounds once more, each p(τ) K_s times), η K T S A (1 + B_j)
  for the recursion, η (K_w + K_s) for a sample mean. It is invisible unless the numbers
  are themselves tiny.

Where a_j(τ) comes from (:mod:`pgmath.check.magnitudes`): for an estimator that
describes itself (``step_weights``), exactly, from the description run on absolute values
(on each enumerated trajectory, or by the moment recursion, whose mean is A_j); for a
black box, from the weights ω(x, a; τ) = ∂g(τ)/∂ψ(x, a) with which it uses the score
(found by evaluating it with one-hot scores), split into their reward-free part and their
reward part at |r|, so that a cancellation inside a weight such as G_t − b(s_t) is
counted at the size of its terms. K_w counts the roundings along a path of one row
(:func:`row_depth`): sums over T, the score, and the relative error of a probability
formed from logits of size Λ rounded to the working precision.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np

from .._deprecation import keyword_only
from ..errors import check_choice

__all__ = ["PRECISIONS", "UNIT_ROUNDOFF", "UNDERFLOW", "unit_roundoff", "resolve_precision", "gamma",
           "score_magnitude", "max_log_prob", "max_logit", "row_depth", "sum_depth",
           "target_depth", "target_terms", "RoundingBound"]

#: Working precisions a check knows; ``"auto"`` reads the dtype the estimator returned.
PRECISIONS = ("auto", "float64", "float32", "float16", "bfloat16")
_UNIT = {"float64": 2.0 ** -53, "float32": 2.0 ** -24, "float16": 2.0 ** -11,
         "bfloat16": 2.0 ** -8}
#: Unit roundoff u of float64.
UNIT_ROUNDOFF = _UNIT["float64"]
#: η, the smallest subnormal float64: the absolute error of a rounding that underflows.
UNDERFLOW = 2.0 ** -1074
#: Roundings counted per step of a row, besides those of the probabilities (a generous
#: constant for the products, sums and the score).
PER_STEP = 32


def unit_roundoff(precision: str) -> float:
    """u of a working precision: 2⁻⁵³ (float64), 2⁻²⁴ (float32), 2⁻¹¹ (float16), 2⁻⁸
    (bfloat16)."""
    check_choice("precision", precision, tuple(_UNIT))
    return _UNIT[precision]


def resolve_precision(requested: str, observed: str | None) -> str:
    """The working precision of a check: ``requested`` unless it is ``"auto"``; then the
    dtype the estimator returned when it is a lower precision than float64
    (float32, float16, bfloat16), else float64."""
    check_choice("precision", requested, PRECISIONS)
    if requested != "auto":
        return requested
    return observed if observed in ("float32", "float16", "bfloat16") else "float64"


@keyword_only
def gamma(k: float, *, u: float = UNIT_ROUNDOFF) -> float:
    """Higham's γ_k = k u / (1 − k u) (∞ when k u ≥ ½)."""
    ku = k * u
    return float("inf") if ku >= 0.5 else ku / (1.0 - ku)


def score_magnitude(policy, theta) -> np.ndarray:
    """``[X, A, d]`` m(x, a) = |Φ[x, a]| + Σ_b π(b|x)|Φ[x, b]| ≥ |ψ(x, a)| (module docstring)."""
    pi = np.asarray(policy.probs(theta))
    phi = np.abs(np.asarray(policy.features()))
    return phi + np.einsum("xb,xbd->xd", pi, phi)[:, None, :]


def max_log_prob(policy, theta) -> float:
    """L = max |log π_θ(a|x)| over the finite entries."""
    lp = np.asarray(policy.log_probs(theta))
    return float(np.max(np.abs(lp[np.isfinite(lp)]), initial=0.0))


def max_logit(policy, theta) -> float:
    """Λ = max_{x,a} Σ_k |Φ[x, a, k] θ_k|: the size of the logits (their rounding to the
    working precision is relative to it)."""
    phi = np.abs(np.asarray(policy.features()))
    return float(np.max(phi @ np.abs(np.asarray(theta, dtype=float)), initial=0.0))


def row_depth(policy, theta, horizon: int, *, theta_behaviour=None) -> int:
    """K_w: roundings along a path of one row g(τ) computed by the estimator,

        K_w = 4T + 2A + 16 + 2(Λ + L)            (+ T (2(Λ + L_b) + 2A + 4) off-policy):

    two sums over the T steps (a return and the score sum, 2T each, generously), the
    score ψ = Φ − Σ_b π(b|x)Φ[x, b] (a sum over A), 16 for the products and elementwise
    functions, and the relative error of a probability formed from logits of size Λ
    rounded to the working precision and log-probabilities of size L, 2(Λ + L). Off-policy
    rows multiply up to T importance ratios, each adding the relative error of two
    probabilities."""
    L = max_log_prob(policy, theta)
    lam = max_logit(policy, theta)
    k = 4 * horizon + 2 * policy.n_actions + 16 + 2 * (lam + L)
    if theta_behaviour is not None and not np.array_equal(theta_behaviour, theta):
        lb = max_log_prob(policy, theta_behaviour) + max_logit(policy, theta_behaviour)
        k += horizon * (2 * (lam + L + lb) + 2 * policy.n_actions + 4)
    return int(k)


def sum_depth(policy, theta, horizon: int, n_terms: int, *, theta_behaviour=None) -> int:
    """K_s = M + T (2 (L + A) + 4) + 8: the sum of M weighted rows (any order) and the
    rounding of each probability p(τ), a product of ≤ 3T factors each with relative error
    ≤ (L + A) u."""
    L = max_log_prob(policy, theta if theta_behaviour is None else theta_behaviour)
    return int(n_terms + horizon * (2 * (L + policy.n_actions) + 4) + 8)


def target_depth(mdp, policy, theta) -> int:
    """K_t = T (2 S A + X A + 2 (L + A) + 32) + S + 32: the policy-gradient theorem's
    forward marginals, backward Q and the score sum, per step."""
    S, A = mdp.n_states, mdp.n_actions
    X = np.asarray(policy.probs(theta)).shape[0]
    L = max_log_prob(policy, theta)
    return int(mdp.horizon * (2 * S * A + X * A + 2 * (L + A) + PER_STEP) + S + PER_STEP)


def target_terms(mdp, policy, theta) -> np.ndarray:
    """``[d]`` C_j = T max_{x,a} m_j(x, a) Σ_t γ^t max|r| (module docstring)."""
    T = mdp.horizon
    m = score_magnitude(policy, theta)
    ret = float(np.max(np.abs(mdp.R), initial=0.0)) * float(np.sum(mdp.discount ** np.arange(T)))
    return T * m.reshape(-1, m.shape[-1]).max(axis=0) * ret


@dataclass(frozen=True, eq=False)
class RoundingBound:
    """The ingredients of the tolerance (R) of the module docstring, ``[d]`` each.

    Attributes:
      precision: the estimator's working precision (``"float64"``, ``"float32"``, …).
      u_w, k_w: its unit roundoff and the roundings along a path of one row.
      k_s: roundings of the sum over trajectories (float64); ``sums`` S_j = E|g_j|.
      k_t: roundings of the target ∇J (float64); ``target`` C_j.
      underflow: F_j, the absolute floor for roundings below the normal range.
      magnitude: A_j = E[a_j(τ)], computed on first use (it may cost one more call of a
        black-box estimator) from ``magnitude_fn``.
      source: how a_j(τ) was obtained (``"description"``, ``"score probe"``,
        ``"least squares"``, ``"recursion"``).
    """

    precision: str
    u_w: float
    k_w: int
    k_s: int
    sums: np.ndarray
    k_t: int
    target: np.ndarray
    underflow: np.ndarray
    magnitude_fn: Callable[[], tuple[np.ndarray, str]] = field(repr=False)

    @cached_property
    def _magnitude(self) -> tuple[np.ndarray, str]:
        a, source = self.magnitude_fn()
        return np.asarray(a, dtype=float), source

    @property
    def magnitude(self) -> np.ndarray:
        return self._magnitude[0]

    @property
    def source(self) -> str:
        return self._magnitude[1]

    def fixed_part(self) -> np.ndarray:
        """``[d]`` γ_{K_s} S_j + γ_{K_t} C_j + F_j (no estimator call needed)."""
        return gamma(self.k_s) * self.sums + gamma(self.k_t) * self.target + self.underflow

    def slack(self, precision: str | None = None) -> np.ndarray:
        """``[d]`` the tolerance (R); with ``precision`` the same bound for another working
        precision of the estimator (e.g. what float32 code could be off by)."""
        u = self.u_w if precision is None else unit_roundoff(precision)
        return gamma(self.k_w, u=u) * self.magnitude + self.fixed_part()

    def describe(self) -> str:
        """One line for a report."""
        note = (" (an estimate: the estimator builds its own score)"
                if self.source == "least squares" else "")
        return (f"rounding only: γ_K(u) × magnitudes (pgmath.check.rounding), working "
                f"precision {self.precision} (u = {self.u_w:.3g}, K = {self.k_w:,}), "
                f"magnitudes from the {self.source}{note}")
