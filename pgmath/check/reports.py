"""The readable report of a check: what was checked, how, the verdict, what the bias
looks like, and (for a tabular policy) the bias as a table over (state, action)."""
from __future__ import annotations

import numpy as np

from .._deprecation import keyword_only
from ..estimator_protocol import _name

__all__ = ["header", "verdict_line", "bias_lines", "diagnosis_lines", "bias_table_lines",
           "VERDICT_TEXT"]

VERDICT_TEXT = {"unbiased": "PASS (unbiased)", "biased": "FAIL (biased)",
                "inconclusive": "INCONCLUSIVE (no bias found, but too few samples to see one "
                                "of the size required)"}


def header(estimator, mdp, policy, theta_behaviour, d: int, method: str, unit: str,
           coupling: str) -> list[str]:
    beh = "" if theta_behaviour is None else " (sampled from the behaviour policy)"
    lines = [f"check_unbiased({_name(estimator)}) on {mdp!r}, {policy!r}{beh}",
             f"  target: ∇J(θ) exact (policy-gradient theorem), d = {d}",
             f"  method: {method}; unit: {unit}"]
    if coupling:
        lines.append(f"  batch coupling: {coupling}")
    return lines


def verdict_line(verdict: str) -> str:
    return f"  verdict: {VERDICT_TEXT[verdict]}"


@keyword_only
def bias_lines(bias, thr, target, est, labels, *, k: int = 5,
               target_name: str = "∇J") -> list[str]:
    """The k coordinates closest to (or furthest past) their threshold."""
    order = np.argsort(-(np.abs(bias) - thr))[:k]
    w = max(len(labels[j]) for j in order)
    lines = [f"  worst coordinates (coordinate, estimate, {target_name}, bias, threshold):"]
    for j in order:
        flag = "  <-- exceeds" if abs(bias[j]) > thr[j] else ""
        lines.append(f"    {labels[j]:>{w}s} {est[j]: .6g} {target[j]: .6g} {bias[j]: .3e} "
                     f"{thr[j]:.3e}{flag}")
    return lines


@keyword_only
def diagnosis_lines(diag, target, *, target_name: str = "∇J") -> list[str]:
    t = target_name
    norm = float(np.linalg.norm(target))
    rel = f" ({diag.orthogonal / norm:.3g} ‖{t}‖)" if norm > 0 else ""
    lines = [f"  shape of the bias: E[g] = c {t} + r with c = {diag.scale:.6g}, "
             f"‖r‖₂ = {diag.orthogonal:.3e}{rel}"]
    if diag.pattern:
        lines.append(f"  recognised: {diag.pattern}")
    return lines


@keyword_only
def bias_table_lines(bias, shape, over: str, *, max_cells: int = 60) -> list[str]:
    """The bias as a table of X rows (states or observations) by A columns."""
    X, A = shape
    if X * A > max_cells:
        return []
    tab = np.asarray(bias).reshape(X, A)
    x = "o" if over == "observations" else "s"
    lines = [f"  bias by ({'observation' if x == 'o' else 'state'}, action):",
             "    " + " " * 6 + "".join(f"{'a=' + str(a):>12s}" for a in range(A))]
    lines += ["    " + f"{x + '=' + str(i):<6s}" + "".join(f"{v:12.3e}" for v in tab[i])
              for i in range(X)]
    return lines
