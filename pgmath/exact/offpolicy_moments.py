"""Exact moments of off-policy estimators and of importance weights (notes §4.4, PG-12–15).

* :func:`offpolicy_moments`: mean and covariance of a per-trajectory estimator evaluated
  at a target θ' on trajectories of a behaviour θ,

      E_θ[g_θ'(τ)] = Σ_τ p_θ(τ) g_θ'(τ),   Cov_θ[g_θ'] = Σ_τ p_θ(τ) (g − E g)(g − E g)ᵀ,

  by the moment recursion of :mod:`pgmath.exact.recursion` (the ratio ϱ multiplies the
  accumulator, DESIGN §3; polynomial in T) for estimators with ``step_weights``, else
  by enumeration under θ (:func:`pgmath.exact.estimator_moments` does both).
* :func:`offpolicy_moments_recursion`: the recursion for any estimator with a
  ``step_weights`` description (ratio powers included: the five estimators of
  :mod:`pgmath.estimators.offpolicy`, and a user's own), or a built-in named by string.

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

from .._deprecation import renamed_arguments, target_first
from ..errors import EstimatorError, InvalidMDPError, InvalidPolicyError
from ..policy_tables import policy_table
from .marginals import state_marginals
from .moments import estimator_moments
from .recursion import IMPORTANCE_WEIGHTS, _steps, importance_weights, recursive_moments
from .values import evaluate

__all__ = ["offpolicy_moments", "offpolicy_moments_recursion", "RECURSIONS",
           "log_weight_second_moments", "weight_growth_rate",
           "truncated_is_mean", "action_ratio_is_mean", "max_policy_tv",
           "action_ratio_bias_bound"]


@target_first(3)
def offpolicy_moments(estimator, mdp, policy, theta, *, theta_behaviour,
                      n_steps: int | None = None, max_trajectories: int | None = None,
                      method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """(mean ``[d]``, covariance ``[d, d]``) of ``estimator(batch, policy, theta)``
    over trajectories of ``theta_behaviour``, exactly.

    The target θ comes first and the behaviour by keyword, as in
    :func:`pgmath.exact.estimator_moments` (the old order ``(…, theta_behaviour,
    theta_target)`` still works for one release, with a ``DeprecationWarning``; so for every
    two-policy function of this module).

    ``method``: ``"auto"`` (default) runs the moment recursion when the estimator has a
    ``step_weights`` description (every estimator of :mod:`pgmath.estimators.offpolicy`
    but :func:`~pgmath.estimators.state_marginal_ratio_is`, and the on-policy ones), else
    enumerates under the behaviour; ``"recursion"`` or ``"enumeration"`` force one route
    (see :func:`pgmath.exact.estimator_moments`)."""
    return estimator_moments(estimator, mdp, policy, theta, n_steps=n_steps,
                             max_trajectories=max_trajectories, method=method,
                             theta_behaviour=theta_behaviour)


def _log_c(mdp, policy, theta_behaviour, theta) -> np.ndarray:
    """``[S, A]`` log c(s, a) = log Σ_o O(o|s) π_θ'(a|o)²/π_θ(a|o)."""
    lb = np.asarray(policy.log_probs(theta_behaviour))
    lt = np.asarray(policy.log_probs(theta))
    x = 2.0 * lt - lb  # [X, A]
    if getattr(policy, "over", "states") == "observations":
        with np.errstate(divide="ignore"):
            logO = np.log(np.asarray(mdp.O))  # [S, X]
        return logsumexp(logO[:, :, None] + x[None, :, :], axis=1)
    return x


@target_first(2)
def log_weight_second_moments(mdp, policy, theta, *, theta_behaviour,
                              n_steps: int | None = None) -> np.ndarray:
    """``[T]`` log E_θ[ρ_{0:t}²], t = 0..T−1, by the forward recursion of the module docstring.

    Var_θ[ρ_{0:t}] = E_θ[ρ_{0:t}²] − 1 (E_θ[ρ_{0:t}] = 1).
    """
    T = _steps(mdp, n_steps)
    policy.check_compatible(mdp)
    logc = _log_c(mdp, policy, theta_behaviour, theta)  # [S, A]
    S, A = logc.shape
    P = np.asarray(mdp.P).reshape(S * A, S)
    with np.errstate(divide="ignore"):
        logm = np.log(mdp.p0)
    out = np.empty(T)
    for t in range(T):
        x = (logm[:, None] + logc).ravel()  # [S·A]
        out[t] = logsumexp(x)
        if t + 1 < T:
            logm = _log_matvec(x, P)
    return out


def _log_matvec(x: np.ndarray, P: np.ndarray) -> np.ndarray:
    """``[S']`` log Σ_k exp(x_k) P[k, s'] for P ≥ 0: one matrix product scaled by max x;
    a column whose scaled sum falls below 1e-290 (terms far below the largest, where the
    product would lose relative accuracy or underflow) is redone by log-sum-exp."""
    ok = np.isfinite(x)
    if not ok.any():
        return np.full(P.shape[1], -np.inf)
    mx = float(x[ok].max())
    v = np.exp(x - mx) @ P
    with np.errstate(divide="ignore"):
        logm = np.log(v) + mx
    redo = np.flatnonzero((v < 1e-290) & ((P[ok] > 0).any(axis=0)))
    if redo.size:
        with np.errstate(divide="ignore"):
            logm[redo] = logsumexp(x[ok, None] + np.log(P[ok][:, redo]), axis=0)
    return logm


@target_first(2)
def weight_growth_rate(mdp, policy, theta, *, theta_behaviour) -> float:
    """λ = spectral radius of M[s, s'] = Σ_a c(s, a) P(s'|s, a), the asymptotic factor per
    step of E_θ[ρ_{0:t}²] (for a bandit, λ = E_θ[ρ²] = Σ_a π_θ'(a)²/π_θ(a))."""
    policy.check_compatible(mdp)
    c = np.exp(_log_c(mdp, policy, theta_behaviour, theta))
    M = np.einsum("sa,sat->st", c, mdp.P)
    return float(np.max(np.abs(np.linalg.eigvals(M))))


def _finite(mdp) -> None:
    if mdp.horizon is None:
        raise InvalidMDPError(f"{mdp!r}: the off-policy means need a finite horizon")


def _weighted_vjp(mdp, policy, theta, d: np.ndarray, Q: np.ndarray) -> np.ndarray:
    w = (mdp.discount ** np.arange(mdp.horizon))[:, None] * d  # [T, S]
    W = np.einsum("ts,tsa->sa", w, Q)
    return policy.state_vjp(mdp, theta, W)


@target_first(2)
def truncated_is_mean(mdp, policy, theta, *, theta_behaviour) -> np.ndarray:
    """``[d]`` Σ_t γ^t Σ_s p_θ'(s_t=s) Σ_a ∇π_θ'(a|s) Q^θ_t(s, a) (the mean of
    :func:`pgmath.estimators.truncated_is`)."""
    _finite(mdp)
    if getattr(policy, "over", "states") != "states":
        raise InvalidPolicyError("truncated_is_mean needs a state policy")
    _, Q = evaluate(mdp, np.asarray(policy_table(mdp, policy, theta_behaviour)))
    d = state_marginals(mdp, policy, theta)
    return _weighted_vjp(mdp, policy, theta, d, Q)


@target_first(2)
def action_ratio_is_mean(mdp, policy, theta, *, theta_behaviour) -> np.ndarray:
    """``[d]`` Σ_t γ^t Σ_s p_θ(s_t=s) Σ_a ∇π_θ'(a|s) Q^θ_t(s, a) (the mean of
    :func:`pgmath.estimators.action_ratio_is`; the gradient of the surrogate)."""
    _finite(mdp)
    if getattr(policy, "over", "states") != "states":
        raise InvalidPolicyError("action_ratio_is_mean needs a state policy")
    _, Q = evaluate(mdp, np.asarray(policy_table(mdp, policy, theta_behaviour)))
    d = state_marginals(mdp, policy, theta_behaviour)
    return _weighted_vjp(mdp, policy, theta, d, Q)


@renamed_arguments(theta_a="theta_p", theta_b="theta_q")
def max_policy_tv(policy, theta_p, theta_q) -> float:
    """δ = max_x TV(π_p(·|x), π_q(·|x)) = max_x ½ Σ_a |π_p(a|x) − π_q(a|x)| (symmetric in
    the pair, named as the KL's pair of :mod:`pgmath.exact.kl`)."""
    pp = np.asarray(policy.probs(theta_p))
    pq = np.asarray(policy.probs(theta_q))
    return float(0.5 * np.abs(pp - pq).sum(axis=1).max())


@target_first(2)
def action_ratio_bias_bound(mdp, policy, theta, *, theta_behaviour) -> float:
    """A bound on ‖E_θ[action_ratio_is] − ∇J(θ')‖_∞ (PG-15), linear in δ:

        ‖bias‖_∞ ≤ ψ_max r_max δ Σ_{t<T} [2t(T − t) + (T − t)(T − t − 1)],

    δ = max_s TV(π_θ', π_θ), ψ_max = max_{s,k} Σ_a π_θ'(a|s) |ψ'_k(s,a)| (≤ ½ for tabular
    softmax: Σ_a π(a)|1[a=b] − π(b)| = 2π(b)(1 − π(b))), r_max = max |r|.
    Derivation: bias = Σ_t γ^t [Σ_s (d'_t − d_t)(s)
    Σ_a ∇π' Q'_t + Σ_s d_t(s) Σ_a ∇π' (Q'_t − Q_t)]; ‖d'_t − d_t‖₁ ≤ 2tδ (each step adds at
    most 2δ, P is a contraction in ℓ₁), |Q'_t| ≤ (T − t) r_max, and
    |Q'_t − Q_t| ≤ Σ_{u=t+1}^{T−1} 2(u − t) δ r_max = (T − t − 1)(T − t) δ r_max.
    """
    _finite(mdp)
    T = mdp.horizon
    delta = max_policy_tv(policy, theta_behaviour, theta)
    pi = np.asarray(policy.probs(theta))
    psi = policy.score(theta)
    psi_max = float(np.einsum("xa,xad->xd", pi, np.abs(psi)).max())
    r_max = float(np.abs(mdp.r).max())
    t = np.arange(T)
    B = float(np.sum(2 * t * (T - t) + (T - t) * (T - t - 1)))
    return psi_max * r_max * delta * B


# -- the moment recursion with multiplicative ratios (DESIGN §3) ------------------------------
#: The built-in estimators of :mod:`pgmath.estimators.offpolicy` that describe themselves as
#: linear recursions (``step_weights``), by name. The recursion is chosen by that
#: description, not by this list: a user's own estimator with ``step_weights`` gets it too.
RECURSIONS = tuple(IMPORTANCE_WEIGHTS)


@target_first(3)
def offpolicy_moments_recursion(estimator, mdp, policy, theta, *, theta_behaviour,
                                n_steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mean ``[d]``, covariance ``[d, d]``) of an estimator evaluated at θ' on trajectories
    of the behaviour θ, by the moment recursion (no enumeration), in time polynomial in T.

    Each estimator with a ``step_weights`` description is a linear accumulator whose update
    the ratio ϱ = π_θ'/π_θ multiplies with the powers of its ``ratio_powers`` (table in
    :mod:`pgmath.exact.recursion`), so with m¹_t(s) = E[z_t 1{s_t=s}] and
    m²_t(s) = E[z_t z_tᵀ 1{s_t=s}]

        m¹_{t+1}(s') = Σ_{s,x,a} O(x|s) π_θ(a|x) P(s'|s,a) M m¹_t(s),
        m²_{t+1}(s') = Σ_{s,x,a} O(x|s) π_θ(a|x) P(s'|s,a) M m²_t(s) Mᵀ,

    θ the behaviour, ϱ and ψ' at the target θ'. This is
    :func:`pgmath.exact.recursive_moments` with ``theta_behaviour``. ``estimator`` is any
    estimator with ``step_weights`` (a user's own as much as a built-in; an on-policy one
    gives its moments under the behaviour), a :class:`~pgmath.exact.recursion.StepWeights`,
    or the name of one of :data:`RECURSIONS`.

    Raises:
      EstimatorError: an unknown name, or an estimator without ``step_weights`` (use
        :func:`offpolicy_moments`, which enumerates).
    """
    if isinstance(estimator, str):
        if estimator not in RECURSIONS:
            raise EstimatorError(f"no built-in off-policy estimator named {estimator!r}; "
                                 f"choose from {RECURSIONS} or pass an estimator")
        # the estimator's own description (pgmath.estimators.offpolicy reads the same table)
        estimator = importance_weights(estimator, _steps(mdp, n_steps), mdp.discount)
    return recursive_moments(estimator, mdp, policy, theta, n_steps=n_steps,
                             theta_behaviour=theta_behaviour)
