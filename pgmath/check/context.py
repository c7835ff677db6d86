"""The resolved question a check answers: what, on which problem, by which unit and route."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidMDPError
from .moments import Moments
from .probing import Probe

__all__ = ["CheckContext", "require_finite_horizon"]


def require_finite_horizon(mdp) -> int:
    """T of ``mdp``; raises :class:`InvalidMDPError` for an infinite horizon."""
    if mdp.horizon is None:
        raise InvalidMDPError(
            f"{mdp!r} has an infinite horizon; checking an estimator needs a finite horizon T "
            "(use mdp.with_horizon(T))")
    return mdp.horizon


@dataclass(frozen=True, eq=False)
class CheckContext:
    """Everything the deciding step needs (built by :func:`pgmath.check_unbiased`).

    Attributes:
      estimator, mdp, policy, theta: the question E[g] = ∇J(θ)?
      theta_behaviour: θ_b the trajectories are drawn from (``None``: θ).
      target: ``[d]`` ∇J(θ).
      probe: what probing the estimator found (:class:`~pgmath.check.probing.Probe`).
      batch_size: b, trajectories per unit (1 for a per-trajectory estimator).
      method: the resolved method (``"enumeration"``, ``"recursion"``, ``"bernstein"``, …).
      moments: exact moments of one unit when known (enumeration or recursion), else ``None``.
      route: the recursion route's name (``"on-policy recursion"``, …) or ``None``.
      bound: B with |g_j| ≤ B (per unit), or ``None``.
      alpha, beta: false-failure and false-pass rates.
      precision: the requested working precision (``"auto"``, ``"float64"``, …).
      resolution: the ∞-norm bias a statistical check must be able to see.
    """

    estimator: object
    mdp: object
    policy: object
    theta: np.ndarray
    theta_behaviour: np.ndarray | None
    target: np.ndarray
    probe: Probe
    batch_size: int
    method: str
    moments: Moments | None
    route: str | None
    bound: object
    alpha: float
    beta: float
    precision: str
    resolution: float

    @property
    def coupled(self) -> bool:
        return self.probe.coupled

    @property
    def d(self) -> int:
        return int(self.target.size)

    @property
    def unit(self) -> str:
        return f"batches of {self.batch_size}" if self.coupled else "trajectories"
