"""Exact moments of off-policy estimators and of importance weights (notes §4.4, PG-12–15).

* :func:`offpolicy_moments`: mean and covariance of a per-trajectory estimator evaluated
  at a target θ' on trajectories of a behaviour θ, by enumeration under θ:

      E_θ[g_θ'(τ)] = Σ_τ p_θ(τ) g_θ'(τ),   Cov_θ[g_θ'] = Σ_τ p_θ(τ) (g − E g)(g − E g)ᵀ.

* :func:`log_weight_second_moments`: log E_θ[ρ_{0:t}²] for t = 0..T−1 by a forward
  recursion (no enumeration): with c(s, a) = Σ_o O(o|s) π_θ'(a|o)²/π_θ(a|o) (o = s for
  a state policy), m_0 = p0, m_{t+1}(s') = Σ_{s,a} m_t(s) c(s, a) P(s'|s, a) and
  E_θ[ρ_{0:t}²] = Σ_{s,a} m_t(s) c(s, a). Computed in log space.
  For a bandit repeated T times this is E_θ[ρ²]^T exactly, so Var[ρ_{0:T−1}] = E_θ[ρ²]^T − 1.
* :func:`weight_growth_rate`: the spectral radius λ of M[s, s'] = Σ_a c(s, a) P(s'|s, a):
  E_θ[ρ_{0:t}²] grows like λ^t (PG-14), and λ ≥ 1 with equality iff π_θ' = π_θ on every
  state the chain visits (by Jensen, Σ_a π'²/π ≥ 1 per state).
* :func:`truncated_is_mean`, :func:`action_ratio_is_mean`: closed-form means of the two
  biased estimators (a second route besides enumeration):

      E_θ[truncated_is] = Σ_t γ^t Σ_s p_θ'(s_t=s) Σ_a π_θ'(a|s) ψ'(s,a) Q^θ_t(s,a),
      E_θ[action_ratio_is] = Σ_t γ^t Σ_s p_θ(s_t=s) Σ_a π_θ'(a|s) ψ'(s,a) Q^θ_t(s,a),

  with Q^θ_t the behaviour's Q (the rewards after t are drawn by θ).
* :func:`action_ratio_bias_bound`: a bound on the bias of the state-ratio-dropped form
  (PG-15) in terms of δ = max_s TV(π_θ'(·|s), π_θ(·|s)).
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ..errors import InvalidMDPError, InvalidPolicyError
from ._policy import policy_table
from .marginals import state_marginals
from .values import evaluate

__all__ = ["offpolicy_moments", "log_weight_second_moments", "weight_growth_rate",
           "truncated_is_mean", "action_ratio_is_mean", "max_policy_tv",
           "action_ratio_bias_bound"]


def offpolicy_moments(estimator, mdp, policy, theta_behaviour, theta_target, *,
                      n_steps: int | None = None, max_trajectories: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(mean ``[d]``, covariance ``[d, d]``) of ``estimator(batch, policy, theta_target)``
    over trajectories of ``theta_behaviour``, exactly (enumeration under the behaviour)."""
    from ..estimators._protocol import call_estimator, is_batch_coupled
    from ..errors import EstimatorError
    from ..trajectories import MAX_TRAJECTORIES, enumerate_trajectories

    if is_batch_coupled(estimator):
        raise EstimatorError(
            f"{getattr(estimator, '__name__', estimator)!r} is batch-coupled: per-trajectory "
            "moments are not defined")
    batch, prob = enumerate_trajectories(
        mdp, policy, theta_behaviour, n_steps=n_steps,
        max_trajectories=MAX_TRAJECTORIES if max_trajectories is None else max_trajectories)
    g = call_estimator(estimator, batch, policy, theta_target)
    prob = prob / prob.sum()
    mean = prob @ g
    c = g - mean
    cov = (c * prob[:, None]).T @ c
    return mean, 0.5 * (cov + cov.T)


def _log_c(mdp, policy, theta_b, theta_t) -> np.ndarray:
    """``[S, A]`` log c(s, a) = log Σ_o O(o|s) π_θ'(a|o)²/π_θ(a|o)."""
    lb = np.asarray(policy.log_probs(theta_b))
    lt = np.asarray(policy.log_probs(theta_t))
    x = 2.0 * lt - lb  # [X, A]
    if getattr(policy, "over", "states") == "observations":
        with np.errstate(divide="ignore"):
            logO = np.log(np.asarray(mdp.O))  # [S, X]
        return logsumexp(logO[:, :, None] + x[None, :, :], axis=1)
    return x


def _steps(mdp, n_steps) -> int:
    T = mdp.horizon if n_steps is None else n_steps
    if T is None:
        raise InvalidMDPError(f"{mdp!r} has an infinite horizon: pass n_steps")
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise InvalidMDPError(f"n_steps must be a positive int, got {T!r}")
    return int(T)


def log_weight_second_moments(mdp, policy, theta_behaviour, theta_target, *,
                              n_steps: int | None = None) -> np.ndarray:
    """``[T]`` log E_θ[ρ_{0:t}²], t = 0..T−1, by the forward recursion of the module docstring.

    Var_θ[ρ_{0:t}] = E_θ[ρ_{0:t}²] − 1 (E_θ[ρ_{0:t}] = 1).
    """
    T = _steps(mdp, n_steps)
    policy.check_compatible(mdp)
    logc = _log_c(mdp, policy, theta_behaviour, theta_target)  # [S, A]
    with np.errstate(divide="ignore"):
        logP = np.log(mdp.P)
        logm = np.log(mdp.p0)
    out = np.empty(T)
    for t in range(T):
        x = logm[:, None] + logc  # [S, A]
        out[t] = logsumexp(x)
        if t + 1 < T:
            logm = logsumexp(x[:, :, None] + logP, axis=(0, 1))
    return out


def weight_growth_rate(mdp, policy, theta_behaviour, theta_target) -> float:
    """λ = spectral radius of M[s, s'] = Σ_a c(s, a) P(s'|s, a), the asymptotic factor per
    step of E_θ[ρ_{0:t}²] (for a bandit, λ = E_θ[ρ²] = Σ_a π_θ'(a)²/π_θ(a))."""
    policy.check_compatible(mdp)
    c = np.exp(_log_c(mdp, policy, theta_behaviour, theta_target))
    M = np.einsum("sa,sat->st", c, mdp.P)
    return float(np.max(np.abs(np.linalg.eigvals(M))))


def _finite(mdp) -> None:
    if mdp.horizon is None:
        raise InvalidMDPError(f"{mdp!r}: the off-policy means need a finite horizon")


def _weighted_vjp(mdp, policy, theta_target, d: np.ndarray, Q: np.ndarray) -> np.ndarray:
    w = (mdp.discount ** np.arange(mdp.horizon))[:, None] * d  # [T, S]
    W = np.einsum("ts,tsa->sa", w, Q)
    return policy.state_vjp(mdp, theta_target, W)


def truncated_is_mean(mdp, policy, theta_behaviour, theta_target) -> np.ndarray:
    """``[d]`` Σ_t γ^t Σ_s p_θ'(s_t=s) Σ_a ∇π_θ'(a|s) Q^θ_t(s, a) (the mean of
    :func:`pgmath.estimators.truncated_is`)."""
    _finite(mdp)
    if getattr(policy, "over", "states") != "states":
        raise InvalidPolicyError("truncated_is_mean needs a state policy")
    _, Q = evaluate(mdp, np.asarray(policy_table(mdp, policy, theta_behaviour)))
    d = state_marginals(mdp, policy, theta_target)
    return _weighted_vjp(mdp, policy, theta_target, d, Q)


def action_ratio_is_mean(mdp, policy, theta_behaviour, theta_target) -> np.ndarray:
    """``[d]`` Σ_t γ^t Σ_s p_θ(s_t=s) Σ_a ∇π_θ'(a|s) Q^θ_t(s, a) (the mean of
    :func:`pgmath.estimators.action_ratio_is`; the gradient of the surrogate)."""
    _finite(mdp)
    if getattr(policy, "over", "states") != "states":
        raise InvalidPolicyError("action_ratio_is_mean needs a state policy")
    _, Q = evaluate(mdp, np.asarray(policy_table(mdp, policy, theta_behaviour)))
    d = state_marginals(mdp, policy, theta_behaviour)
    return _weighted_vjp(mdp, policy, theta_target, d, Q)


def max_policy_tv(policy, theta_a, theta_b) -> float:
    """δ = max_x TV(π_a(·|x), π_b(·|x)) = max_x ½ Σ_a |π_a(a|x) − π_b(a|x)|."""
    pa = np.asarray(policy.probs(theta_a))
    pb = np.asarray(policy.probs(theta_b))
    return float(0.5 * np.abs(pa - pb).sum(axis=1).max())


def action_ratio_bias_bound(mdp, policy, theta_behaviour, theta_target) -> float:
    """A bound on ‖E_θ[action_ratio_is] − ∇J(θ')‖_∞ (PG-15), linear in δ:

        ‖bias‖_∞ ≤ ψ_max r_max δ Σ_{t<T} [2t(T − t) + (T − t)(T − t − 1)],

    δ = max_s TV(π_θ', π_θ), ψ_max = max_{s,a} Σ_a π_θ'(a|s) |ψ'_k(s,a)| over components k
    (≤ 2 for tabular softmax), r_max = max |r|. Derivation: bias = Σ_t γ^t [Σ_s (d'_t − d_t)(s)
    Σ_a ∇π' Q'_t + Σ_s d_t(s) Σ_a ∇π' (Q'_t − Q_t)]; ‖d'_t − d_t‖₁ ≤ 2tδ (each step adds at
    most 2δ, P is a contraction in ℓ₁), |Q'_t| ≤ (T − t) r_max, and
    |Q'_t − Q_t| ≤ Σ_{u=t+1}^{T−1} 2(u − t) δ r_max = (T − t − 1)(T − t) δ r_max.
    """
    _finite(mdp)
    T = mdp.horizon
    delta = max_policy_tv(policy, theta_behaviour, theta_target)
    pi = np.asarray(policy.probs(theta_target))
    psi = policy.score(theta_target)
    psi_max = float(np.einsum("xa,xad->xd", pi, np.abs(psi)).max())
    r_max = float(np.abs(mdp.r).max())
    t = np.arange(T)
    B = float(np.sum(2 * t * (T - t) + (T - t) * (T - t - 1)))
    return psi_max * r_max * delta * B
