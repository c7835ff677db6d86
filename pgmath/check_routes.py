"""Exact moments for :mod:`pgmath.check` without enumeration: the moment-recursion routes.

:func:`pgmath.check.check_unbiased` needs, for a per-trajectory estimator g, its exact
mean E[g] (to decide E[g] = ∇J(θ) exactly), its variance Var g_j and a bound b_j on
|g_j − E g_j| (Bernstein's inequality), and a bound on the floating-point error of all of
them. Enumeration gives these on small problems. For every estimator that describes
itself as a linear recursion (DESIGN §3; ``step_weights``, a built-in or a user's own,
importance-ratio powers included) they come in polynomial time in T from
:func:`pgmath.exact.recursion.recursive_moments` of its
:class:`~pgmath.exact.recursion.StepWeights`
g(τ) = Σ_t ψ_t w_t − b ⊙ Σ_t ω_t ψ_t (module docstring of :mod:`pgmath.exact.recursion`),
on-policy or with the trajectories of a behaviour θ_b (target θ). The route is chosen by
that description, never by the estimator's name (:func:`recursion_route`).

**Rounding.** The recursion only adds and multiplies. For such a computation the
computed value x̂ of a quantity x obeys |x̂ − x| ≤ γ_K x_abs, where x_abs is the same
computation run in exact arithmetic on the absolute values of every input and K bounds
the number of roundings along any path from an input to the output (Higham, *Accuracy
and Stability of Numerical Algorithms*, §3.1 and eq. 3.5, applied term by term; the
order in which a sum of n terms is formed adds at most n − 1 roundings to each term).
So each recursion is run a second time on |r|, on |weights| and with the score replaced
by its magnitude m(x, a) = |Φ[x, a]| + Σ_b π(b|x)|Φ[x, b]| ≥ |ψ(x, a)| (which also covers
the absolute rounding of ψ = Φ[x, a] − Σ_b π(b|x)Φ[x, b]): its mean is x_abs for E[g] and
its second moment the same for E[g gᵀ]. The slack of E g − ∇J adds γ_K times a bound on
the terms ∇J is assembled from, (Σ_t max m)(Σ_t γ^t max|r|). K is counted for the
algorithm that runs by :func:`pgmath.exact.recursion.recursion_rounding_depth`.

**Range.** |g_j(τ)| ≤ B_j for every trajectory, with (on-policy)

    B_j = max_{x,a: π>0} |ψ_j(x, a)| · Σ_t (H_t + |κ_t| F̄_t + |β_t| P̄_t) + |b_j| max|ψ_j| Σ_t |ω_t|,
    H_t = |η_t| r̄ + max|c_t| + max|c^x_t|,  r̄ = max|r|,
    F̄_t ≥ max_paths Σ_{t'≥t} |ρ|^{t'−t} U_{t'},  P̄_t ≥ max_paths Σ_{t'<t} U_{t'},
    U_t = |α_t| |r(s_t, a_t, s_{t+1})| + |y_t(s_t, a_t, s_{t+1})|

(F̄, P̄ by a max-plus dynamic programme over the transitions possible under the policy
that draws the trajectories), the triangle inequality on the StepWeights form term by
term; with importance ratios every term of g carries one power ϱ_t^{k_t} per step, so
B_j is multiplied by ρ̄^{k_ψ + (T−1) max(k_σ, k_e, k_G)}, ρ̄ = max(1, max π_θ/π_{θ_b})
(:func:`step_weights_range`; :func:`offpolicy_range` is the cruder
ρ̄^{T+1} T max|ψ_j| Σ_t γ^t r̄ for the built-in importance-sampling estimators). Then |g_j − E g_j| ≤ B_j + |E g_j| and
|g_j − ∇J_j| ≤ B_j + |∇J_j|.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import EstimatorError
from .estimators._protocol import _name, call_estimator, has_recursion, is_batch_coupled, step_scores
from .estimators.offpolicy import log_ratios
from .exact.recursion import (StepWeights, recursion_rounding_depth, recursive_moments,
                              step_weights_of)

__all__ = ["RecursionMoments", "recursion_route", "recursion_moments", "rounding_depth",
           "step_weights_range", "offpolicy_range"]

UNIT_ROUNDOFF = np.finfo(float).eps / 2


def _gamma(k: float) -> float:
    """Higham's γ_k = k u / (1 − k u)."""
    ku = k * UNIT_ROUNDOFF
    return float("inf") if ku >= 0.5 else ku / (1.0 - ku)


@dataclass(frozen=True, eq=False)
class RecursionMoments:
    """Exact moments of one row g(τ) by a moment recursion, with their error bounds.

    Attributes:
      mean: ``[d]`` E g; cov: ``[d, d]`` Cov g.
      slack: ``[d]`` bound on the rounding error of E g − ∇J (mean and target).
      var_slack: ``[d]`` bound on the rounding error of Var g_j.
      bound: ``[d]`` B_j ≥ max_τ |g_j(τ)| (module docstring).
      radius: ``[d]`` ≥ max_τ |g_j(τ) − ∇J_j|; spread: ``[d]`` ≥ max_τ |g_j(τ) − E g_j|.
      route: ``"on-policy recursion"`` or ``"off-policy recursion"``.
      depth: K, the roundings counted along a path (:func:`rounding_depth`).
    """

    mean: np.ndarray
    cov: np.ndarray
    slack: np.ndarray
    var_slack: np.ndarray
    bound: np.ndarray
    radius: np.ndarray
    spread: np.ndarray
    route: str
    depth: int


def recursion_route(estimator, mdp, policy, theta, behaviour_theta=None) -> str | None:
    """Which recursion gives the exact moments of ``estimator`` on this problem, or ``None``.

    Routed by description, never by name: any per-trajectory estimator with
    ``step_weights`` (a :class:`~pgmath.exact.recursion.StepWeights`, importance-ratio
    powers included; a user's own as much as a built-in) on a finite horizon gets the
    moment recursion: ``"on-policy recursion"`` when sampled on-policy
    (``behaviour_theta`` is ``None`` or equal to θ), ``"off-policy recursion"`` when the
    trajectories come from π_{behaviour_theta} (the recursion then weights by the
    behaviour and evaluates the estimator at θ). An estimator without a description, or a
    batch-coupled one, gets ``None``.
    """
    if is_batch_coupled(estimator) or mdp.horizon is None or not has_recursion(estimator):
        return None
    on_policy = behaviour_theta is None or np.array_equal(behaviour_theta, theta)
    return "on-policy recursion" if on_policy else "off-policy recursion"


class _ScoreOverride:
    """A policy whose ``score(θ)`` is a given table (the magnitude run); all else delegates."""

    def __init__(self, policy, score: np.ndarray) -> None:
        self._policy = policy
        self._score = score

    def score(self, theta) -> np.ndarray:
        return self._score

    def __getattr__(self, name):
        return getattr(self._policy, name)


def _score_magnitude(policy, theta) -> np.ndarray:
    """``[X, A, d]`` m(x, a) = |Φ[x, a]| + Σ_b π(b|x)|Φ[x, b]| ≥ |ψ(x, a)|."""
    pi = np.asarray(policy.probs(theta))
    phi = np.abs(np.asarray(policy.features()))
    return phi + np.einsum("xb,xbd->xd", pi, phi)[:, None, :]


def _abs_mdp(mdp):
    return type(mdp)(**{**mdp._fields(), "R": np.abs(mdp.R)})


def _abs_spec(spec: StepWeights) -> StepWeights:
    """The same StepWeights with every weight and table replaced by its absolute value
    (the offset enters the read-out with a minus sign, so it is stored as −|b|)."""
    ab = lambda x: None if x is None else np.abs(x)  # noqa: E731
    return StepWeights.make(
        spec.T, kappa=np.abs(spec.kappa), rho=abs(spec.rho), beta=np.abs(spec.beta),
        alpha=np.abs(spec.alpha), eta=np.abs(spec.eta), y=ab(spec.y), c=ab(spec.c),
        cx=ab(spec.cx), offset=None if spec.offset is None else -np.abs(spec.offset),
        omega=1.0 if spec.omega is None else np.abs(spec.omega), ratio_powers=spec.ratio_powers)


def _max_log_prob(policy, theta) -> float:
    lp = np.asarray(policy.log_probs(theta))
    return float(np.max(np.abs(lp[np.isfinite(lp)]), initial=0.0))


def rounding_depth(mdp, policy, theta, *, width: int, theta_b=None) -> int:
    """K: a bound on the roundings along any path of a forward moment recursion.

        K = T (S·A·w + X·A + 2 (L + A) + 32) + S + 32,

    per step: a sum over (s, a) and the w = ``width`` accumulator components (each sum of n
    terms adds ≤ n − 1 roundings), the policy-weighted score sum over (x, a), the relative
    error of each softmax probability or ratio exp(log π_θ − log π_{θ_b})
    (≤ (L + A) u, L the largest |log π| of both policies, A for the normaliser) and a
    constant 32 for the products and the coefficients B, C, D; then the sum over final
    states and the read-out.
    """
    T, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    X = np.asarray(policy.probs(theta)).shape[0]
    L = _max_log_prob(policy, theta)
    if theta_b is not None:
        L += _max_log_prob(policy, theta_b)
    return int(T * (S * A * width + X * A + 2 * (L + A) + 32) + S + 32)


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


def step_weights_range(spec: StepWeights, mdp, policy, theta, theta_b=None) -> np.ndarray:
    """``[d]`` B_j ≥ max_τ |g_j(τ)| for a StepWeights estimator (module docstring), with F_t
    and P_t bounded over the possible paths (:func:`_path_maxima`) rather than by T r̄.

    With ``theta_b`` the paths are those of the behaviour π_{θ_b} and the estimator is
    evaluated at θ; with ratio powers (k_σ, k_e, k_ψ, k_G) every term of g carries one
    factor ϱ_t^{k_t} per step, k_t = k_ψ at its injection step and one of k_σ, k_e, k_G at
    every other step (module docstring of :mod:`pgmath.exact.recursion`), so the ratio-free
    bound is multiplied by ρ̄^{k_ψ + (T−1) max(k_σ, k_e, k_G)}, ρ̄ = max(1, max_{x,a: π_b>0}
    π_θ/π_{θ_b}) (formed in log space; ∞ when it overflows)."""
    T = spec.T
    S, A = mdp.n_states, mdp.n_actions
    tb = theta if theta_b is None else theta_b
    pi = np.asarray(policy.probs(tb))
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
    if spec.has_ratios:
        k_sig, k_e, k_psi, k_G = spec.ratio_powers
        lt = np.asarray(policy.log_probs(theta))
        lb = np.asarray(policy.log_probs(tb))
        log_rho = max(0.0, float(np.max(np.where(np.isfinite(lb), lt - lb, -np.inf))))
        with np.errstate(over="ignore", invalid="ignore"):
            w = np.exp((k_psi + (T - 1) * max(k_sig, k_e, k_G)) * log_rho)
            B = np.where(B > 0, w * np.where(B > 0, B, 1.0), 0.0)
    return B


def offpolicy_range(mdp, policy, theta, theta_b) -> np.ndarray:
    """``[d]`` B_j = ρ̄^{T+1} T max|ψ_j| Σ_t γ^t max|r| ≥ max_τ |g_j(τ)| for the off-policy
    estimators (ρ̄ = max(1, max_{x,a: π_b>0} π_θ/π_{θ_b}), formed in log space)."""
    T = mdp.horizon
    lt = np.asarray(policy.log_probs(theta))
    lb = np.asarray(policy.log_probs(theta_b))
    ok = np.isfinite(lb)
    log_rho = max(0.0, float(np.max(np.where(ok, lt - lb, -np.inf))))
    pi = np.asarray(policy.probs(theta))
    psi = np.abs(np.asarray(policy.score(theta)))
    psi_max = np.max(np.where((pi[:, :, None] > 0) & ok[:, :, None], psi, 0.0), axis=(0, 1))
    ret = float(np.max(np.abs(mdp.R))) * float(np.sum(mdp.discount ** np.arange(T)))
    base = T * psi_max * ret
    with np.errstate(over="ignore"):
        w = np.exp((T + 1) * log_rho)  # may be inf: the range is then unbounded
    return np.where(base > 0, w * np.where(base > 0, base, 1.0), 0.0)


def _check_description(estimator, spec: StepWeights, mdp, policy, theta, theta_b=None,
                       n: int = 64) -> None:
    """The recursion decides the estimator's ``step_weights``, not its code: evaluate both on
    ``n`` trajectories sampled from π_{θ_b} (θ when ``None``; seed 0), the description with
    the batch's log-ratios, and refuse when they differ beyond rounding."""
    from .trajectories import sample
    batch = sample(mdp, policy, theta if theta_b is None else theta_b, n,
                   np.random.default_rng(0))
    g = call_estimator(estimator, batch, policy, theta)
    lr = log_ratios(batch, policy, theta) if spec.has_ratios else None
    ref = spec.evaluate(batch, step_scores(batch, policy, theta), lr)
    scale = 1.0 + np.abs(g) + np.abs(ref)
    bad = np.abs(g - ref) > 1e-9 * scale
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise EstimatorError(
            f"{_name(estimator)}'s step_weights does not describe it: on trajectory {i}, "
            f"component {j} the function gives {g[i, j]!r} and its description {ref[i, j]!r}")


def recursion_moments(estimator, mdp, policy, theta, *, behaviour_theta=None, target=None
                      ) -> RecursionMoments:
    """Exact mean, covariance, error bounds and range of one row g(τ) by a moment recursion
    (module docstring); τ is drawn from π_{behaviour_theta} (θ itself when ``None``).

    Raises:
      EstimatorError: no recursion applies (:func:`recursion_route` is ``None``), or the
        estimator's ``step_weights`` does not match what the function computes.
    """
    from .exact import gradient
    route = recursion_route(estimator, mdp, policy, theta, behaviour_theta)
    if route is None:
        raise EstimatorError(
            f"{_name(estimator)} has no moment recursion on {mdp!r} (an estimator without "
            "step_weights, a batch-coupled one, or an infinite horizon): use enumeration")
    if target is None:
        target = gradient(mdp, policy, theta)
    T = mdp.horizon
    tb = None if route == "on-policy recursion" else policy.check_theta(behaviour_theta)
    spec = step_weights_of(estimator, T, mdp.discount)
    _check_description(estimator, spec, mdp, policy, theta, tb)
    mean, cov = recursive_moments(spec, mdp, policy, theta, theta_behaviour=tb)
    mag = _ScoreOverride(policy, _score_magnitude(policy, theta))
    m_abs, c_abs = recursive_moments(_abs_spec(spec), _abs_mdp(mdp), mag, theta,
                                     theta_behaviour=tb)
    K = recursion_rounding_depth(spec, mdp, policy, theta, theta_behaviour=tb)
    B = step_weights_range(spec, mdp, policy, theta, tb)
    gam = _gamma(K)
    B = B * (1.0 + gam)  # the bound may be attained: cover the rounding of g and of B
    mag_tab = _score_magnitude(policy, theta)
    target_terms = (T * mag_tab.reshape(-1, mean.size).max(axis=0)
                    * float(np.max(np.abs(mdp.R))) * float(np.sum(mdp.discount ** np.arange(T))))
    slack = gam * (np.abs(m_abs) + target_terms)
    second_abs = np.diag(c_abs) + m_abs ** 2
    var_slack = _gamma(2 * K) * 2.0 * (second_abs + m_abs ** 2)
    return RecursionMoments(mean=mean, cov=cov, slack=slack, var_slack=var_slack, bound=B,
                            radius=B + np.abs(target), spread=B + np.abs(mean), route=route,
                            depth=K)
