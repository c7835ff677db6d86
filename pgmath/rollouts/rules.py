"""GAE-family advantages described as a backward recursion with one row of look-ahead.

Every advantage function pgmath knows the exact expectation of is a recursion

    Â_t = δ_t + c_t Â_{t+1},   Â_{n−1} = δ_{n−1}   (t = 0..n−1 over a segment of n rows),

    δ_t = δ^own(row t; last = [t = n−1]) + δ^next(row t+1)   (the last term only for t < n−1),
    c_t = c^own(row t) · c^next(row t+1),

with δ^own, δ^next, c^own, c^next functions of one row's stored quantities
(:class:`Rows`): reward r, value prediction v, the next row's value prediction v_next
(``next_values`` after the last row), the value of the final observation v_final where
an episode ended, and the flags. Correct GAE (Schulman et al. 2016, eq. 16, with
partial-episode bootstrapping, Pardo et al. 2018) reads only its own row:

    δ_t = r_t − v_t + γ [(1 − d_t) v_next,t + truncated_t · v_final,t],
    c_t = γλ (1 − d_t),   d_t = terminated_t ∨ truncated_t.

The look-ahead terms describe codes that read a flag one row late (δ^next, c^next).
:func:`rule_advantages` evaluates a rule on stored rows; the exact expectation of the
update Σ_t ψ_t Â_t under a rule is the forward recursion of
:mod:`pgmath.rollouts.expectation`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Rows", "Rule", "rule_advantages", "rows_of_segment", "abs_rule"]


@dataclass(frozen=True)
class Rows:
    """The stored quantities of rows (arrays of one shape: ``[n, e]`` or edges ``[E]``).

    Attributes:
      r: reward; v: value prediction of the row's observation; v_next: that of the next
      row's observation (``next_values`` after the last row); v_final: that of the final
      observation where the row ended an episode (0 elsewhere); terminated, truncated:
      the flags; gamma, lam: γ and λ.
    """

    r: np.ndarray
    v: np.ndarray
    v_next: np.ndarray
    v_final: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    gamma: float
    lam: float

    @property
    def ended(self) -> np.ndarray:
        return self.terminated | self.truncated

    @property
    def not_ended(self) -> np.ndarray:
        return 1.0 - self.ended


RowFn = Callable[[Rows], np.ndarray]


@dataclass(frozen=True)
class Rule:
    """A GAE-family recursion (module docstring): δ^own(rows, last), c^own(rows) and the
    optional look-ahead parts δ^next(rows), c^next(rows) (``None``: 0 and 1)."""

    name: str
    delta_own: Callable[[Rows, bool], np.ndarray]
    cont_own: RowFn
    delta_next: RowFn | None = None
    cont_next: RowFn | None = None

    @property
    def looks_ahead(self) -> bool:
        return self.delta_next is not None or self.cont_next is not None


def rows_of_segment(segment, gamma: float, lam: float) -> Rows:
    """:class:`Rows` ``[n, e]`` of a segment that carries value predictions."""
    v_next = np.concatenate([segment.values[1:], segment.next_values[None, :]], axis=0)
    return Rows(segment.rewards, segment.values, v_next, segment.final_values,
                segment.terminated, segment.truncated, float(gamma), float(lam))


def rule_advantages(rule: Rule, rows: Rows) -> np.ndarray:
    """``[n, e]`` Â_t of ``rule`` on rows ``[n, e]`` (time on axis 0)."""
    d = np.array(rule.delta_own(rows, False), dtype=float)
    d[-1] = np.broadcast_to(rule.delta_own(rows, True), d.shape)[-1]
    c = np.array(np.broadcast_to(rule.cont_own(rows), d.shape), dtype=float)
    if rule.delta_next is not None:
        d[:-1] += np.broadcast_to(rule.delta_next(rows), d.shape)[1:]
    if rule.cont_next is not None:
        c[:-1] *= np.broadcast_to(rule.cont_next(rows), d.shape)[1:]
    adv = np.empty_like(d)
    adv[-1] = d[-1]
    for t in range(d.shape[0] - 2, -1, -1):
        adv[t] = d[t] + c[t] * adv[t + 1]
    return adv


def abs_rule(rows: Rows) -> np.ndarray:
    """``[n, e]`` a bound on every term any GAE-family code sums into Â_t:

        Σ_{u≥t} (γλ)^{u−t} (|r_u| + 2|v_u| + γ|v_next,u| + γ|v_final,u|),

    the magnitude the rounding error of Â_t is proportional to.
    """
    g, lam = rows.gamma, rows.lam
    m = np.abs(rows.r) + 2 * np.abs(rows.v) + g * (np.abs(rows.v_next) + np.abs(rows.v_final))
    out = np.empty_like(m)
    out[-1] = m[-1]
    for t in range(m.shape[0] - 2, -1, -1):
        out[t] = m[t] + g * lam * out[t + 1]
    return out
