"""Exact moments of off-policy estimators and of importance weights (notes §4.4, PG-12–15).

* :func:`offpolicy_moments_recursion`: the same mean and covariance for the five
  estimators of :mod:`pgmath.estimators.offpolicy` by a forward moment recursion in which
  the ratio ρ multiplies the accumulator (DESIGN §3), polynomial in T.
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

__all__ = ["offpolicy_moments", "offpolicy_moments_recursion", "RECURSIONS",
           "log_weight_second_moments", "weight_growth_rate",
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

    δ = max_s TV(π_θ', π_θ), ψ_max = max_{s,k} Σ_a π_θ'(a|s) |ψ'_k(s,a)| (≤ ½ for tabular
    softmax: Σ_a π(a)|1[a=b] − π(b)| = 2π(b)(1 − π(b))), r_max = max |r|.
    Derivation: bias = Σ_t γ^t [Σ_s (d'_t − d_t)(s)
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


# -- the moment recursion with multiplicative ratios (DESIGN §3) ------------------------------
def _linear_maps(name: str, rho: np.ndarray, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, C) ``[n, k, k]`` with z_{t+1} = (B + c_t r C) z_t, c_t = γ^t, for estimator ``name``.

    ρ ``[n]``, ψ ``[n, d]`` per (input, action) row. z₀ = e₀ (component 0 is W_t = ρ_{0:t}
    or the constant 1); the estimate g is the last d components of z_T.
    """
    n, d = psi.shape
    I = np.eye(d)
    rp = rho[:, None] * psi  # ρψ
    if name == "trajectory_is":  # z = [W, W Σψ, W Σcr, W Σψ Σcr]
        k = 2 + 2 * d
        z, wz, wr, wzr = 0, slice(1, 1 + d), 1 + d, slice(2 + d, 2 + 2 * d)
        B = np.zeros((n, k, k)); C = np.zeros((n, k, k))
        B[:, z, z] = rho
        B[:, wz, wz] = rho[:, None, None] * I
        B[:, wz, z] = rp
        B[:, wr, wr] = rho
        C[:, wr, z] = rho
        B[:, wzr, wzr] = rho[:, None, None] * I
        C[:, wzr, wz] = rho[:, None, None] * I
        B[:, wzr, wr] = rp
        C[:, wzr, z] = rp
        return B, C
    k = 1 + 2 * d
    z, y, g = 0, slice(1, 1 + d), slice(1 + d, 1 + 2 * d)
    B = np.zeros((n, k, k)); C = np.zeros((n, k, k))
    B[:, g, g] = I
    if name == "per_decision_is":  # z = [W, W Σ_{u≤t} ψ_u, g]
        B[:, z, z] = rho
        B[:, y, y] = rho[:, None, None] * I
        B[:, y, z] = rp
        C[:, g, y] = rho[:, None, None] * I
        C[:, g, z] = rp
    elif name == "per_decision_is_notes":  # z = [W, W Σ_{u≤t} ρ_u ψ_u, g]
        B[:, z, z] = rho
        B[:, y, y] = rho[:, None, None] * I
        B[:, y, z] = rho[:, None] * rp
        C[:, g, y] = rho[:, None, None] * I
        C[:, g, z] = rho[:, None] * rp
    elif name == "truncated_is":  # z = [W, Σ_{u≤t} ψ_u W_u, g]
        B[:, z, z] = rho
        B[:, y, y] = I
        B[:, y, z] = rp
        C[:, g, y] = I
        C[:, g, z] = rp
    elif name == "action_ratio_is":  # z = [1, Σ_{u≤t} ρ_u ψ_u, g]
        B[:, z, z] = 1.0
        B[:, y, y] = I
        B[:, y, z] = rp
        C[:, g, y] = I
        C[:, g, z] = rp
    else:
        raise ValueError(f"no moment recursion for estimator {name!r}; choose from {RECURSIONS}")
    return B, C


#: Estimators (of :mod:`pgmath.estimators.offpolicy`) with a moment recursion.
RECURSIONS = ("trajectory_is", "per_decision_is", "per_decision_is_notes", "truncated_is",
              "action_ratio_is")


def offpolicy_moments_recursion(estimator, mdp, policy, theta_behaviour, theta_target, *,
                                n_steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mean ``[d]``, covariance ``[d, d]``) of an off-policy estimator by a forward recursion
    over states, in time polynomial in T (no enumeration).

    Each estimator is a linear recursion z_{t+1} = M(s_t, x_t, a_t, t) z_t (the ratio ρ
    multiplies; see :func:`_linear_maps`), so with m¹_t(s) = E[z_t 1{s_t=s}] and
    m²_t(s) = E[z_t z_tᵀ 1{s_t=s}]:

        m¹_{t+1}(s') = Σ_{s,x,a} O(x|s) μ(a|x) P(s'|s,a) M m¹_t(s),
        m²_{t+1}(s') = Σ_{s,x,a} O(x|s) μ(a|x) P(s'|s,a) M m²_t(s) Mᵀ,

    μ = π_θ the behaviour, ρ and ψ' at the target θ'. Cost O(T S A S k³), k = 1 + 2d (2 + 2d
    for ``trajectory_is``). ``estimator`` is one of :data:`RECURSIONS` or the function itself.
    Needs rewards r(s, a) (an ``[S, A, S]`` reward is refused: use enumeration).
    """
    name = estimator if isinstance(estimator, str) else getattr(estimator, "__name__", "")
    if name not in RECURSIONS:
        raise ValueError(f"no moment recursion for estimator {name!r}; choose from {RECURSIONS}")
    if mdp.R.ndim == 3:
        raise InvalidMDPError(
            f"{mdp!r} has rewards R[s, a, s']: the recursion needs r(s, a); use offpolicy_moments")
    T = _steps(mdp, n_steps)
    policy.check_compatible(mdp)
    S, A = mdp.n_states, mdp.n_actions
    lb = np.asarray(policy.log_probs(theta_behaviour))  # [X, A]
    lt = np.asarray(policy.log_probs(theta_target))
    psi = policy.score(theta_target)  # [X, A, d]
    K = np.asarray(mdp.O) if getattr(policy, "over", "states") == "observations" else np.eye(S)
    s_idx, x_idx = np.nonzero(K > 0)  # the (s, x) pairs
    n = s_idx.size
    mu = np.exp(lb[x_idx])  # [n, A]
    w = K[s_idx, x_idx][:, None] * mu  # [n, A] probability of (x, a) given s
    with np.errstate(over="ignore"):
        rho = np.where(mu > 0, np.exp(lt[x_idx] - lb[x_idx]), 0.0).reshape(-1)  # [n·A]
    # (an action whose behaviour probability underflows to 0 never occurs: its ρ is unused)
    B, C = _linear_maps(name, rho, psi[x_idx].reshape(n * A, -1))
    k = B.shape[1]
    B, C = B.reshape(n, A, k, k), C.reshape(n, A, k, k)
    r = mdp.r[s_idx]  # [n, A]
    Ps = mdp.P[s_idx]  # [n, A, S]
    m1 = np.zeros((S, k))
    m1[:, 0] = mdp.p0
    m2 = np.zeros((S, k, k))
    m2[:, 0, 0] = mdp.p0
    for t in range(T):
        M = B + (mdp.discount ** t) * r[:, :, None, None] * C  # [n, A, k, k]
        y1 = np.einsum("pakl,pl->pak", M, m1[s_idx])
        y2 = np.einsum("pakl,plm,panm->pakn", M, m2[s_idx], M)
        wp = w[:, :, None] * Ps  # [n, A, S']
        m1 = np.einsum("pas,pak->sk", wp, y1)
        m2 = np.einsum("pas,pakn->skn", wp, y2)
    d = psi.shape[-1]
    mean = m1.sum(axis=0)[k - d:]
    second = m2.sum(axis=0)[k - d:, k - d:]
    cov = second - np.outer(mean, mean)
    return mean, 0.5 * (cov + cov.T)
