"""Exact moments for :func:`pgmath.check_unbiased` without enumeration: the moment recursion.

A per-trajectory estimator that describes itself as a linear recursion (``step_weights``,
a :class:`~pgmath.exact.recursion.StepWeights`, importance-ratio powers included) has its
exact mean and covariance from :func:`pgmath.exact.recursion.recursive_moments` in time
polynomial in T, on-policy or on trajectories of a behaviour θ_b. Which estimators get this
route is decided by :func:`pgmath.check.routes.recursion_route`.

**Rounding** (the same model as enumeration, :mod:`pgmath.check.rounding`): the recursion
only adds and multiplies, so it is run a second time on absolute values (|r|, every weight
and table made non-negative, the score replaced by m(x, a) ≥ |ψ(x, a)|); the mean of that
run is A_j, the magnitude, and K the roundings along a path of the recursion
(:func:`pgmath.exact.recursion.recursion_rounding_depth`, counted for the algorithm that
runs). The slack of E g − ∇J is γ_K A_j + γ_{K_t} C_j.

**Range.** |g_j(τ)| ≤ B_j for every trajectory, with

    B_j = ρ̄^{k̄} max_{x,a: π>0} |ψ_j(x, a)| · Σ_t (H_t + |κ_t| F̄_t + |β_t| P̄_t)
          + ρ̄^{k̄} |b_j| max|ψ_j| Σ_t |ω_t|,
    H_t = |η_t| r̄ + max|c_t| + max|c^x_t|,  r̄ = max|r|,
    F̄_t ≥ max_paths Σ_{t'≥t} |ρ|^{t'−t} U_{t'},  P̄_t ≥ max_paths Σ_{t'<t} U_{t'},
    U_t = |α_t| |r(s_t, a_t, s_{t+1})| + |y_t(s_t, a_t, s_{t+1})|

(F̄, P̄ by a max-plus dynamic programme over the possible transitions; the triangle
inequality on the StepWeights form term by term). On-policy ρ̄^{k̄} = 1; off-policy every
term of g carries one power ϱ_t^{k_t} per step, k_ψ at its injection step and one of
k_σ, k_e, k_G at every other, so k̄ = k_ψ + (T − 1) max(k_σ, k_e, k_G) with
ρ̄ = max(1, max π_θ/π_{θ_b}). Then |g_j − E g_j| ≤ B_j + |E g_j| and
|g_j − ∇J_j| ≤ B_j + |∇J_j|.
"""
from __future__ import annotations

import numpy as np

from ..errors import EstimatorError
from ..estimator_protocol import _name, evaluate_estimator, step_scores
from ..estimators.offpolicy import log_ratios
from ..exact import gradient
from ..exact.recursion import (StepWeights, recursion_rounding_depth, recursive_moments,
                              step_weights_of)
from ..trajectories import sample
from .magnitudes import abs_step_weights
from .moments import Moments
from .probing import verify_description
from .rounding import (UNDERFLOW, UNIT_ROUNDOFF, RoundingBound, gamma,
                       score_magnitude, target_depth, target_terms, unit_roundoff)
from .._deprecation import keyword_only, renamed_arguments

__all__ = ["recursion_moments", "step_weights_range", "DESCRIPTION_SEED"]

#: Seed of the trajectories on which an estimator is compared with its description.
DESCRIPTION_SEED = 0


class _ScoreOverride:
    """A policy whose ``score(θ)`` is a given table (the magnitude run); all else delegates."""

    def __init__(self, policy, score: np.ndarray) -> None:
        self._policy = policy
        self._score = score

    def score(self, theta) -> np.ndarray:
        return self._score

    def __getattr__(self, name):
        return getattr(self._policy, name)


def _abs_mdp(mdp):
    return type(mdp)(**{**mdp._fields(), "R": np.abs(mdp.R)})


def _path_maxima(U: np.ndarray, mask: np.ndarray, p0: np.ndarray, rho: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``[T]`` bounds F̄_t ≥ Σ_{t'≥t} ρ^{t'−t} U_{t'} and P̄_t ≥ Σ_{t'<t} U_{t'} over every
    possible path, for U ``[T, S, A, S']`` ≥ 0 and the possible transitions ``mask``:
    F_t(s) = max_{(a, s') possible} U_t(s, a, s') + ρ F_{t+1}(s') backward, P_{t+1}(s') =
    max_{(s, a) possible, s reachable} P_t(s) + U_t(s, a, s') forward (max-plus DP)."""
    T, S = U.shape[0], U.shape[1]
    F = np.zeros((T + 1, S))
    for t in range(T - 1, -1, -1):
        F[t] = np.max(np.where(mask, U[t] + rho * F[t + 1][None, None, :], -np.inf), axis=(1, 2))
    Pm = np.where(p0 > 0, 0.0, -np.inf)
    past = np.zeros(T)
    for t in range(T):
        past[t] = max(float(Pm.max()), 0.0)
        Pm = np.max(np.where(mask, Pm[:, None, None] + U[t], -np.inf), axis=(0, 1))
    return np.maximum(F[:T].max(axis=1), 0.0), past


def _log_rho_max(policy, theta, theta_behaviour) -> float:
    """log ρ̄ = max(0, max_{x,a: π_b > 0} log π_θ − log π_{θ_behaviour})."""
    lt = np.asarray(policy.log_probs(theta))
    lb = np.asarray(policy.log_probs(theta_behaviour))
    return max(0.0, float(np.max(np.where(np.isfinite(lb), lt - lb, -np.inf))))


@renamed_arguments(theta_b="theta_behaviour")
@keyword_only
def step_weights_range(spec: StepWeights, mdp, policy, theta, *,
                       theta_behaviour=None) -> np.ndarray:
    """``[d]`` B_j ≥ max_τ |g_j(τ)| for a StepWeights estimator (module docstring), with F_t
    and P_t bounded over the possible paths (:func:`_path_maxima`) rather than by T r̄.
    With ratio powers, trajectories are drawn by ``theta_behaviour`` and each term may carry up to
    k̄ ratios ≤ ρ̄ (then B may be ∞: the range is unbounded)."""
    T = spec.T
    S, A = mdp.n_states, mdp.n_actions
    pi = np.asarray(policy.probs(theta if theta_behaviour is None else theta_behaviour))
    psi = np.abs(np.asarray(policy.score(theta)))
    psi_max = np.max(np.where(pi[:, :, None] > 0, psi, 0.0), axis=(0, 1))  # [d]
    O = np.asarray(mdp.O) if policy.over == "observations" else np.eye(S)
    mask = ((O @ pi)[:, :, None] > 0) & (np.asarray(mdp.P) > 0)  # [S, A, S']
    R = np.abs(mdp.R if mdp.R.ndim == 3 else np.broadcast_to(mdp.R[:, :, None], (S, A, S)))
    y = 0.0 if spec.y is None else np.abs(spec.y)
    U = np.broadcast_to(np.abs(spec.alpha)[:, None, None, None] * R[None] + y, (T, S, A, S))
    F, past = _path_maxima(U, mask, np.asarray(mdp.p0), abs(spec.rho))
    tmax = lambda tab: np.zeros(T) if tab is None else np.abs(tab).reshape(T, -1).max(axis=1)  # noqa: E731
    H = np.abs(spec.eta) * float(R.max()) + tmax(spec.c) + tmax(spec.cx)
    W = H + np.abs(spec.kappa) * F + np.abs(spec.beta) * past
    B = psi_max * float(W.sum())
    if spec.offset is not None:
        B = B + np.abs(spec.offset) * psi_max * float(np.abs(spec.omega).sum())
    if spec.has_ratios and theta_behaviour is not None:
        k_sig, k_e, k_psi, k_G = spec.ratio_powers
        k_bar = k_psi + (T - 1) * max(k_sig, k_e, k_G)
        with np.errstate(over="ignore", invalid="ignore"):
            w = np.exp(k_bar * _log_rho_max(policy, theta, theta_behaviour))
            B = np.where(B > 0, w * np.where(B > 0, B, 1.0), 0.0)
    return B


def _check_description(estimator, spec: StepWeights, mdp, policy, theta, theta_behaviour,
                       n: int = 64) -> None:
    """The recursion decides the estimator's ``step_weights``, not its code: evaluate both on
    ``n`` sampled trajectories (seed :data:`DESCRIPTION_SEED`) and refuse when they differ
    by more than max(1e-9, 2¹⁰ u) relative (u of the dtype the code returns: a float32
    implementation of a described estimator is not a lie)."""
    tb = theta if theta_behaviour is None else theta_behaviour
    batch = sample(mdp, policy, tb, n, np.random.default_rng(DESCRIPTION_SEED))
    out = evaluate_estimator(estimator, batch, policy, theta)
    lr = log_ratios(batch, policy, theta) if spec.has_ratios else None
    ref = spec.evaluate(batch, step_scores(batch, policy, theta), lr)
    verify_description(estimator, out.values, ref, out.dtype)


@renamed_arguments(behaviour_theta="theta_behaviour")
def recursion_moments(estimator, mdp, policy, theta, *, theta_behaviour=None, target=None,
                      route: str = "recursion") -> Moments:
    """:class:`Moments` of one row g(τ) by the moment recursion of the estimator's
    ``step_weights`` (module docstring); τ is drawn from π_{theta_behaviour} (θ itself when
    ``None``). ``route`` names the route in reports (from
    :func:`pgmath.check.routes.recursion_route`).

    Raises:
      EstimatorError: the estimator has no ``step_weights``, or its ``step_weights`` does
        not match what the function computes.
    """
    T = mdp.horizon
    target = gradient(mdp, policy, theta) if target is None else target
    spec = step_weights_of(estimator, T, mdp.discount)
    if spec is None:
        raise EstimatorError(f"{_name(estimator)} has no step_weights: no moment recursion")
    tb = None if theta_behaviour is None or np.array_equal(theta_behaviour, theta) \
        else theta_behaviour
    _check_description(estimator, spec, mdp, policy, theta, tb)
    mean, cov = recursive_moments(spec, mdp, policy, theta, theta_behaviour=tb)
    mag = _ScoreOverride(policy, score_magnitude(policy, theta))
    m_abs, c_abs = recursive_moments(abs_step_weights(spec), _abs_mdp(mdp), mag, theta,
                                     theta_behaviour=tb)
    K = recursion_rounding_depth(spec, mdp, policy, theta, theta_behaviour=tb)
    B = step_weights_range(spec, mdp, policy, theta, theta_behaviour=tb)
    gam = gamma(K)
    B = B * (1.0 + gam)  # the bound may be attained: cover the rounding of g and of B
    floor = UNDERFLOW * K * T * mdp.n_states * mdp.n_actions * (1.0 + B)
    rounding = RoundingBound("float64", UNIT_ROUNDOFF, K, 0, np.zeros_like(mean),
                             target_depth(mdp, policy, theta), target_terms(mdp, policy, theta),
                             floor, lambda: (np.abs(m_abs), "description run on absolute "
                                             "values by the recursion"))
    second_abs = np.diag(c_abs) + m_abs ** 2
    var_slack = gamma(2 * K) * 2.0 * (second_abs + m_abs ** 2)
    return Moments(mean=mean, cov=cov, radius=B + np.abs(target), spread=B + np.abs(mean),
                   rounding=rounding, var_slack=var_slack, route=route, count=0,
                   bound=B, depth=K)
