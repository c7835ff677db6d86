"""Gauss–Hermite quadrature over a trajectory's standard normals.

A trajectory is a function of D independent standard normals ξ (z₀, then ε_t and ω_t per
step; :mod:`pgmath.lqr.trajectories`), so E[g] = ∫ g(τ(ξ)) φ_D(ξ) dξ. The tensor
Gauss–Hermite rule with q nodes per normal (probabilists' weight e^{−ξ²/2}/√(2π))

    E[g] ≈ Σ_{i ∈ [q]^D} w_{i_1} ⋯ w_{i_D} g(τ(ξ_{i_1}, …, ξ_{i_D}))

is *exact* when g is a polynomial of degree ≤ 2q − 1 in each normal separately
(Gauss–Hermite is exact to degree 2q − 1 in one variable; a tensor rule per variable).
With a linear-Gaussian policy, ψ_t is of degree ≤ 2 in each normal and r_t of degree 2,
so every estimator of :mod:`pgmath.lqr.estimators` has degree ≤ 4 per normal (q = 3
gives E[g] exactly) and g gᵀ degree ≤ 8 (q = 5 gives E[g gᵀ] exactly). All weights are
positive, so the rounding error is bounded by the same rule applied to |g|.

This is the second, independent route to the moments of :mod:`pgmath.lqr.moments` (the
estimator functions run on node trajectories; nothing is shared with the recursion but
the problem), and the exact route of :func:`pgmath.lqr.check_unbiased` for a black-box
estimator that is such a polynomial. The rule has q^D nodes: small problems only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from .._deprecation import keyword_only
from ..errors import InvalidArgumentError, TooManyTrajectoriesError
from ..estimator_protocol import call_estimator
from .trajectories import rollout, split_noise

__all__ = ["QuadratureMoments", "hermite_rule", "node_count", "quadrature_moments",
           "quadrature_mean", "MAX_NODES"]

#: Largest number of nodes (trajectories) a quadrature rule evaluates by default.
MAX_NODES = 2_000_000
#: Nodes per call of the estimator (memory cap).
CHUNK = 20_000


def hermite_rule(q: int) -> tuple[np.ndarray, np.ndarray]:
    """(nodes ``[q]``, weights ``[q]``) of the q-point Gauss–Hermite rule for N(0, 1)
    (weights sum to 1)."""
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 1:
        raise InvalidArgumentError(f"q must be a positive int, got {q!r}")
    x, w = hermegauss(int(q))
    return x, w / w.sum()


@keyword_only
def node_count(problem, q: int, *, horizon: int | None = None) -> int:
    """q^D, the nodes of the tensor rule for this problem (D = its noise dimension)."""
    return int(q) ** problem.noise_dimension(horizon)


def _node_chunks(D: int, q: int, chunk: int):
    """Yield (ξ ``[c, D]``, weights ``[c]``) over all q^D nodes in lexicographic order."""
    x, w = hermite_rule(q)
    total = q ** D
    for lo in range(0, total, chunk):
        idx = np.arange(lo, min(total, lo + chunk))
        digits = np.empty((idx.size, D), dtype=np.int64)
        rest = idx.copy()
        for j in range(D - 1, -1, -1):
            digits[:, j] = rest % q
            rest //= q
        yield x[digits], np.prod(w[digits], axis=1)


@dataclass(frozen=True, eq=False)
class QuadratureMoments:
    """E[g], E[g gᵀ], Cov g by a q-point tensor rule, and the same rule applied to |g|
    (``abs_mean`` ``[d]``) and to |g_i g_j| (``abs_second`` ``[d, d]``), which bound
    the rounding error; ``nodes``: q^D; ``q``: nodes per normal."""

    mean: np.ndarray
    second: np.ndarray
    cov: np.ndarray
    abs_mean: np.ndarray
    abs_second: np.ndarray
    nodes: int
    q: int


def _check_size(problem, q, max_nodes, what):
    D = problem.noise_dimension()
    if D == 0:
        return 0, 1
    count = q ** D
    if count > max_nodes:
        raise TooManyTrajectoriesError(
            f"{what}: the {q}-point tensor Gauss–Hermite rule over D = {D} normals has "
            f"{q}^{D} = {count:.3g} nodes, more than max_nodes = {max_nodes:,}")
    return D, count


def quadrature_moments(estimator, problem, policy, theta, *, q: int = 5,
                       second: bool = True, max_nodes: int = MAX_NODES,
                       chunk: int = CHUNK) -> QuadratureMoments:
    """E[g] and E[g gᵀ] of an estimator by the q-point tensor Gauss–Hermite rule.

    Exact (up to rounding) when g (and, for the second moment, g gᵀ) is a polynomial of
    degree ≤ 2q − 1 in each normal (module docstring): q = 5 for the covariance of the
    built-in estimators. ``second=False`` skips E[g gᵀ].

    Raises:
      TooManyTrajectoriesError: q^D > ``max_nodes``.
    """
    T = problem.horizon
    if T is None:
        raise InvalidArgumentError(f"{problem!r} has an infinite horizon: quadrature needs a "
                                   "finite T")
    theta = policy.check_theta(theta)
    D, count = _check_size(problem, q, max_nodes, "quadrature_moments")
    d = policy.n_params
    mean = np.zeros(d)
    amean = np.zeros(d)
    sec = np.zeros((d, d))
    asec = np.zeros((d, d))
    chunks = _node_chunks(D, q, chunk) if D else [(np.zeros((1, 0)), np.ones(1))]
    for xi, w in chunks:
        batch = rollout(problem, policy, theta, *split_noise(problem, xi, T))
        g = call_estimator(estimator, batch, policy, theta)
        mean += w @ g
        amean += w @ np.abs(g)
        if second:
            sec += np.einsum("n,ni,nj->ij", w, g, g)
            asec += np.einsum("n,ni,nj->ij", w, np.abs(g), np.abs(g))
    sec = (sec + sec.T) / 2
    return QuadratureMoments(mean=mean, second=sec, cov=sec - np.outer(mean, mean),
                             abs_mean=amean, abs_second=asec, nodes=count, q=int(q))


def quadrature_mean(estimator, problem, policy, theta, *, q: int = 3,
                    max_nodes: int = MAX_NODES, chunk: int = CHUNK) -> QuadratureMoments:
    """:func:`quadrature_moments` without the second moment (E[g] and the rule on |g|)."""
    return quadrature_moments(estimator, problem, policy, theta, q=q, second=False,
                              max_nodes=max_nodes, chunk=chunk)
