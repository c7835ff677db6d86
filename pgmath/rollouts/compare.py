"""An expected segment update held against ∇J (episodic) or ∇J_γ (discounted).

A segment's update is not ∇J itself: it sums over n_steps rows of every episode it meets
and starts wherever the rollout happens to be. What it should be, exactly:

* **episodic objective, stationary start, correct advantages with exact values,
  ``weighting="none"``, ``reduce="sum"``** (or ``"mean"`` in same-step mode): a row is a uniformly random step of the renewal process of
  episodes, so (renewal-reward theorem)

      E[g] = n_steps · n_envs / (E[L] + [next-step]) · ∇J,

  E[L] the expected episode length (+1 for the auto-reset row of next-step mode). The
  *renewal scale* c = n_steps · n_envs / (E[L] + [next-step]) (÷ n_steps · n_envs for
  ``reduce="mean"``).
* **discounted objective**: ∇J_γ = Σ_s d_γ(s) Σ_a ∇π(a|s) Q_γ(s, a) weights states by the
  discounted visitation d_γ(s) = Σ_k γ^k P(s_k = s). The common update weights them by
  how often they are visited, μ(s): it is not ∇J_γ (Thomas 2014; Nota & Thomas 2020, "Is
  the Policy Gradient a Gradient?"), and no step size fixes the difference.
  ``weighting="discounted"`` (γ^k, k the time since the reset) restores d_γ up to the
  time limit: E[g] = c (∇J_γ − tail), the tail being the part of ∇J_γ from steps k ≥ H
  that truncated episodes never reach (of order γ^H).

:func:`compare_update` reports, for any expected update u and target ∇:

    scale = ⟨u, ∇⟩ / ‖∇‖²   (the best step-size correction),
    cosine = ⟨u, ∇⟩ / (‖u‖ ‖∇‖),
    residual = u − scale · ∇   (what no step size removes),
    bias = u − c ∇            (against the renewal scale, stationary start only).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError
from .expectation import SegmentExpectation, expected_update
from .gae import gae
from .objective import expected_length, gradient
from .problem import RolloutProblem

__all__ = ["UpdateComparison", "compare_update", "renewal_scale", "WeightingGap", "weighting_gap"]


@dataclass(frozen=True, eq=False)
class UpdateComparison:
    """``update`` ``[d]`` against ``target`` ``[d]`` (module docstring for the formulas).

    Attributes:
      target_name: ``"∇J"`` (episodic) or ``"∇J_γ"`` (discounted).
      scale, cosine: the projection coefficient and the cosine.
      residual: ``[d]`` update − scale · target; relative_residual: ‖residual‖ / ‖update‖.
      renewal_scale: c (stationary start) or ``None``; bias: ``[d]`` update − c · target
        (or ``None``); relative_bias: ‖bias‖ / ‖c · target‖.
      report: a readable account.
    """

    update: np.ndarray
    target: np.ndarray
    target_name: str
    scale: float
    cosine: float
    residual: np.ndarray
    relative_residual: float
    renewal_scale: float | None
    bias: np.ndarray | None
    relative_bias: float | None
    report: str

    def __str__(self) -> str:
        return self.report


def renewal_scale(problem: RolloutProblem, policy, theta, *, n_steps: int, n_envs: int = 1,
                  mode: str = "same_step", reduce: str = "sum") -> float:
    """c = n_steps · n_envs / (E[L] + [mode = next-step]) (``reduce="sum"``) or
    1 / (E[L] + [next-step]) (``"mean"``): the factor between a stationary segment's
    expected update and ∇J (episodic objective, correct advantages, exact values).
    0 when episodes never end (E[L] = ∞).

    Raises:
      InvalidArgumentError: ``reduce="mean"`` in next-step mode: the mean divides by the
        live rows, a random count, so no constant relates E[g] to ∇J.
    """
    if reduce == "mean" and mode == "next_step":
        raise InvalidArgumentError(
            "reduce='mean' in next-step mode divides by the number of live rows, which is "
            "random: E[g] is not a constant times ∇J (use reduce='sum' for the renewal scale)")
    cycle = expected_length(problem, policy, theta) + (1.0 if mode == "next_step" else 0.0)
    per = 1.0 / cycle if np.isfinite(cycle) else 0.0
    return per * (n_steps * n_envs if reduce == "sum" else 1.0)


def compare_update(expectation: SegmentExpectation, problem: RolloutProblem, policy, theta
                   ) -> UpdateComparison:
    """Hold an exact expected update (:func:`pgmath.rollouts.expected_update`) against the
    problem's exact gradient: scale, cosine, residual and (stationary start) the bias
    against the renewal scale."""
    u = np.asarray(expectation.mean, dtype=float)
    tgt = gradient(problem, policy, theta)
    name = "∇J_γ" if problem.objective == "discounted" else "∇J"
    nt, nu = float(tgt @ tgt), float(np.linalg.norm(u))
    scale = float(u @ tgt) / nt if nt > 0 else 0.0
    cos = float(u @ tgt) / (nu * np.sqrt(nt)) if nt > 0 and nu > 0 else float("nan")
    resid = u - scale * tgt
    rel = float(np.linalg.norm(resid)) / nu if nu > 0 else 0.0
    c = bias = relb = None
    if expectation.start == "stationary" and not (expectation.reduce == "mean"
                                                  and expectation.mode == "next_step"):
        c = renewal_scale(problem, policy, theta, n_steps=expectation.n_steps,
                          n_envs=expectation.n_envs, mode=expectation.mode, reduce=expectation.reduce)
        bias = u - c * tgt
        ref = c * np.sqrt(nt)
        relb = float(np.linalg.norm(bias)) / ref if ref > 0 else float("inf")
    lines = [f"{expectation.name}: E[update] over {expectation.n_steps} steps × "
             f"{expectation.n_envs} envs ({expectation.start} start, {expectation.mode}, "
             f"weighting={expectation.weighting}, reduce={expectation.reduce}) against {name}",
             f"  scale ⟨u, {name}⟩/‖{name}‖² = {scale:.6g}; cosine = {cos:.9f}; "
             f"‖u − scale·{name}‖/‖u‖ = {rel:.3e}"]
    if c is not None:
        lines.append(f"  renewal scale c = {c:.6g}; ‖u − c·{name}‖/‖c·{name}‖ = {relb:.3e}")
    return UpdateComparison(u, tgt, name, scale, cos, resid, rel, c, bias, relb, "\n".join(lines))


@dataclass(frozen=True, eq=False)
class WeightingGap:
    """The state-weighting discrepancy on one problem (Nota & Thomas 2020).

    Attributes:
      unweighted, weighted: :class:`UpdateComparison` of correct GAE with exact values
        from the stationary start, without and with the γ^k weighting.
      report: the two side by side.
    """

    unweighted: UpdateComparison
    weighted: UpdateComparison | None
    report: str

    def __str__(self) -> str:
        return self.report


def weighting_gap(problem: RolloutProblem, policy, theta, *, mode: str = "same_step",
                  lam: float = 0.95) -> WeightingGap:
    """By exactly how much the common update (no γ^k weighting) misses ∇J_γ here.

    With exact values, correct GAE's expected update from the stationary start is
    n_steps Σ_x μ(x) w(x) Σ_a π(a|s) ∇log π(a|s) A(s, a) whatever λ and n_steps, so one
    step decides it. The γ^k-weighted update needs a time limit (``weighted`` is ``None``
    without one).
    """
    def one(weighting):
        e = expected_update(gae, problem, policy, theta, n_steps=1, lam=lam, start="stationary",
                            mode=mode, weighting=weighting)
        return compare_update(e, problem, policy, theta)
    un = one("none")
    w = one("discounted") if problem.time_limit is not None else None
    lines = [f"state weighting on {problem!r}:",
             f"  without γ^k (common): cosine with {un.target_name} = {un.cosine:.9f}, "
             f"‖residual‖/‖u‖ = {un.relative_residual:.3e}"]
    if w is not None:
        lines.append(f"  with γ^k (Thomas 2014): cosine = {w.cosine:.9f}, "
                     f"‖residual‖/‖u‖ = {w.relative_residual:.3e} (the tail beyond H = "
                     f"{problem.time_limit})")
    return WeightingGap(un, w, "\n".join(lines))
