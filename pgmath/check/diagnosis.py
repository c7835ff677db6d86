"""What a bias looks like: scale, the part orthogonal to ∇J, and the patterns pgmath knows.

A failed check should point at the bug. With μ = E g (or ḡ) and the target ∇J:

* c = ⟨μ, ∇J⟩ / ‖∇J‖² and ‖μ − c ∇J‖₂: a bias that rescales ∇J (a sign, a missing ½,
  a sum instead of a mean, a batch baseline that includes the trajectory itself, whose
  mean is (1 − 1/b) ∇J, PG-9) leaves no orthogonal part.
* Named patterns, each a vector v that μ matches within the check's own per-coordinate
  threshold while ∇J does not: −∇J ("sign flipped"), c ∇J ("scaled by c"), ∇J plus the
  exact bias of γ^{t'−t} discounting (:func:`pgmath.exact.discount_bias`: "unbiased for
  the γ^{t'−t}-discounted surrogate"), ∇J of the undiscounted return ("the discount is
  ignored"), ∇J at the behaviour θ_b ("∇J at the behaviour policy": importance weights
  missing).
* For a tabular policy the coordinates are (state or observation, action) pairs
  (:func:`coordinate_labels`), so the bias reads as a table.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exact import discount_bias, gradient
from ..policies import SoftmaxPolicy
from .._deprecation import renamed_arguments

__all__ = ["Diagnosis", "diagnose", "coordinate_labels", "table_shape"]


@dataclass(frozen=True)
class Diagnosis:
    """scale c, orthogonal ‖μ − c∇J‖₂ and the recognised pattern (or ``None``)."""

    scale: float
    orthogonal: float
    pattern: str | None


def table_shape(policy) -> tuple[int, int] | None:
    """(X, A) when θ is a table of logits over (state or observation, action), else ``None``."""
    if isinstance(policy, SoftmaxPolicy):
        return (policy.n_inputs, policy.n_actions)
    return None


def coordinate_labels(policy) -> tuple[str, ...]:
    """A name per coordinate of θ: ``"(s=2, a=1)"`` (``o=`` for observations) for a tabular
    policy, ``"j=5"`` otherwise."""
    shape = table_shape(policy)
    if shape is None:
        return tuple(f"j={j}" for j in range(policy.n_params))
    x = "o" if policy.over == "observations" else "s"
    return tuple(f"({x}={j // shape[1]}, a={j % shape[1]})" for j in range(policy.n_params))


def _candidates(mdp, policy, theta, target, scale, theta_behaviour, batch_size,
                target_name="∇J"):
    """(name, vector) pairs: the patterns the module docstring lists (those that need the
    MDP only when ``mdp`` is given)."""
    t = target_name
    out = [(f"sign flipped: E[g] = −{t}", -target)]
    if np.isfinite(scale):
        name = f"scaled by c = {scale:.6g}: E[g] = c {t}"
        if batch_size > 1 and abs(scale - (1 - 1 / batch_size)) < 1e-3:
            name += (f" with c ≈ 1 − 1/b (b = {batch_size}): a batch baseline that includes the "
                     "trajectory itself (PG-9); leave it out")
        elif abs(scale) < 1e-12:
            name = f"E[g] = 0: the estimator carries none of {t}"
        out.append((name, scale * target))
    if mdp is None:
        return out
    if mdp.discount < 1.0:
        out.append(("unbiased for the γ^{t'−t}-discounted surrogate Σ_t E[ψ_t Q_t] (see "
                    "pgmath.exact.discount_bias), not for ∇J_γ: discount reward t' by γ^{t'} "
                    "from the start", target + discount_bias(mdp, policy, theta)))
        undiscounted = type(mdp)(**{**mdp._fields(), "discount": 1.0})
        out.append(("E[g] = ∇J of the undiscounted return: the discount γ is ignored",
                    gradient(undiscounted, policy, theta)))
    if theta_behaviour is not None and not np.array_equal(theta_behaviour, theta):
        out.append(("E[g] = ∇J at the behaviour policy θ_b: the importance weights are "
                    "missing or cancel", gradient(mdp, policy, theta_behaviour)))
    return out


@renamed_arguments(behaviour_theta="theta_behaviour")
def diagnose(mean: np.ndarray, target: np.ndarray, threshold: np.ndarray, *, mdp, policy,
             theta, theta_behaviour=None, batch_size: int = 1, extra=(),
             target_name: str = "∇J") -> Diagnosis:
    """Scale, orthogonal part and pattern of μ = ``mean`` against ``target`` ∇J, matching a
    pattern v when |μ_j − v_j| ≤ ``threshold_j`` in every coordinate and v differs from ∇J
    beyond it somewhere.

    ``extra``: more (name, vector) patterns a caller knows, tried first (e.g. the expected
    updates of known rollout bugs); ``mdp=None`` keeps only the patterns that need no MDP
    (sign, scale); ``target_name`` names the target in the pattern text."""
    norm2 = float(target @ target)
    scale = float(mean @ target) / norm2 if norm2 > 0 else float("nan")
    orth = float(np.linalg.norm(mean - (scale if np.isfinite(scale) else 0.0) * target))
    pattern = None
    if np.any(np.abs(mean - target) > threshold):
        for name, v in [*extra, *_candidates(mdp, policy, theta, target, scale,
                                             theta_behaviour, batch_size, target_name)]:
            if np.all(np.abs(mean - v) <= threshold) and np.any(np.abs(v - target) > threshold):
                pattern = name
                break
    return Diagnosis(scale, orth, pattern)
