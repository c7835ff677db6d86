"""Off-policy estimators of ∇J(θ') from trajectories of a behaviour policy θ (notes §4.4).

Every estimator follows the protocol ``estimator(batch, policy, theta) -> [N, d]`` with
``theta`` the *target* θ'; the behaviour policy enters only through
``batch.behaviour_log_probs`` = log π_θ(a_t|x_t), written by :func:`pgmath.sample` and
:func:`pgmath.enumerate_trajectories`. With the per-step log-ratios

    ℓ_t = log π_θ'(a_t|x_t) − log π_θ(a_t|x_t),   L_t = Σ_{u≤t} ℓ_u,   ρ_{0:t} = exp(L_t),

ψ'_t = ∇_θ' log π_θ'(a_t|x_t) and G_t = Σ_{t'≥t} γ^{t'} r_{t'} (discount counted from the
start), the estimators are (code time t = 0..T−1):

* :func:`trajectory_is`: ρ_{0:T−1} (Σ_t ψ'_t)(Σ_t γ^t r_t), the first line of 4.4;
  unbiased (PG-12).
* :func:`per_decision_is`: Σ_t ψ'_t Σ_{t'≥t} γ^{t'} r_{t'} ρ_{0:t'}, the correct
  per-decision form; unbiased. Written as the notes do, ρ_{0:t'} = ρ_{0:t} ρ_{t+1:t'}:
  the inner product starts at t + 1.
* :func:`per_decision_is_notes`: the per-decision form *as written in 4.4*, inner
  product Π_{t''=t}^{t'}, so ρ_t is counted twice: Σ_t ψ'_t ρ_{0:t} Σ_{t'≥t} γ^{t'} r_{t'} ρ_{t:t'}.
  Biased (PG-12 is false as written).
* :func:`truncated_is`: Σ_t ψ'_t ρ_{0:t} G_t, the future ratios (over t'') dropped
  (PG-13). Its mean is Σ_t Σ_{s,a} p_θ'(s_t=s, a_t=a) ψ'(s,a) γ^t Q^θ_t(s,a): the
  policy-gradient theorem with the *behaviour's* Q, unbiased only when θ' = θ.
* :func:`state_marginal_ratio_is` (a factory: it needs the exact marginals):
  Σ_t (p_θ'(s_t)/p_θ(s_t)) ρ_t ψ'_t G_t, the notes' state-action-marginal form. Same mean
  as :func:`truncated_is` (the future rewards still come from θ), so the notes' "≈" is
  right: it is biased for ∇J(θ').
* :func:`action_ratio_is`: Σ_t ρ_t ψ'_t G_t, the state-marginal ratio dropped too
  (PG-15); its mean is the gradient of the importance-weighted surrogate
  (:func:`is_surrogate`).

All weights are formed as exp of sums of log-ratios, never as products of ratios, so
long horizons and near-deterministic policies give finite numbers whenever the weight
itself is representable.

Every estimator here except :func:`state_marginal_ratio_is` also carries
``step_weights(T, discount)``, its description as a linear recursion with importance
ratios (:class:`pgmath.exact.recursion.StepWeights` with ``ratio_powers``; the table is in
:mod:`pgmath.exact.recursion`), so :func:`pgmath.exact.offpolicy_moments` (and
:func:`pgmath.exact.estimator_moments` with ``theta_behaviour``) give their exact moments
under the behaviour at any horizon.
"""
from __future__ import annotations

import numpy as np

from .._deprecation import keyword_only
from ..errors import EstimatorError
from ..exact.marginals import log_state_marginals
from ..exact.recursion import importance_weights
from ..trajectories import trajectory_log_probs
from ..estimator_protocol import step_scores

__all__ = ["log_ratios", "log_trajectory_weights", "trajectory_is", "per_decision_is",
           "per_decision_is_notes", "truncated_is", "state_marginal_ratio_is", "action_ratio_is",
           "is_surrogate"]


def log_ratios(batch, policy, theta) -> np.ndarray:
    """``[N, T]`` ℓ_t = log π_θ'(a_t|x_t) − log μ(a_t|x_t), μ the behaviour policy."""
    if batch.behaviour_log_probs is None:
        raise EstimatorError(
            "the batch has no behaviour_log_probs: off-policy estimators need log μ(a_t|x_t) of "
            "the policy that drew it (pgmath.sample and enumerate_trajectories record them)")
    mu = np.asarray(batch.behaviour_log_probs, dtype=float)
    if np.isnan(mu).any() or np.isposinf(mu).any():
        i, t = (int(v) for v in np.argwhere(np.isnan(mu) | np.isposinf(mu))[0])
        raise EstimatorError(f"behaviour_log_probs[{i}, {t}] = {mu[i, t]!r} is not a log-probability")
    if np.isneginf(mu).any():
        i, t = (int(v) for v in np.argwhere(np.isneginf(mu))[0])
        raise EstimatorError(
            f"behaviour_log_probs[{i}, {t}] = -inf: trajectory {i} took an action of behaviour "
            f"probability 0 at step {t}")
    return np.asarray(trajectory_log_probs(batch, policy, theta)) - mu


def log_trajectory_weights(batch, policy, theta) -> np.ndarray:
    """``[N]`` log p_θ'(τ)/p_θ(τ) = Σ_t ℓ_t (the dynamics cancel)."""
    return log_ratios(batch, policy, theta).sum(axis=1)


def _discounted_rewards(batch) -> np.ndarray:
    return batch.rewards * batch.discount ** np.arange(batch.horizon)


def _reverse_cumsum(x: np.ndarray) -> np.ndarray:
    return np.cumsum(x[:, ::-1], axis=1)[:, ::-1]


def trajectory_is(batch, policy, theta) -> np.ndarray:
    """g = (p_θ'(τ)/p_θ(τ)) (Σ_t ψ'_t) (Σ_t γ^t r_t) (notes §4.4, line 2). ``[N, d]``."""
    w = np.exp(log_trajectory_weights(batch, policy, theta))
    psi = step_scores(batch, policy, theta)
    return psi.sum(axis=1) * (w * batch.returns())[:, None]


def per_decision_is(batch, policy, theta) -> np.ndarray:
    """g = Σ_t ψ'_t Σ_{t'≥t} γ^{t'} r_{t'} exp(L_{t'}) — each reward weighted by the ratios
    up to its own step (= ρ_{0:t} Σ_{t'≥t} γ^{t'} r_{t'} ρ_{t+1:t'}). Unbiased. ``[N, d]``."""
    L = np.cumsum(log_ratios(batch, policy, theta), axis=1)
    inner = _reverse_cumsum(_discounted_rewards(batch) * np.exp(L))
    return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), inner)


def per_decision_is_notes(batch, policy, theta) -> np.ndarray:
    """The notes' §4.4 line 3 literally: Σ_t ψ'_t ρ_{0:t} Σ_{t'≥t} γ^{t'} r_{t'} Π_{t''=t}^{t'} ρ_{t''}.

    Equal to Σ_t ψ'_t ρ_t Σ_{t'≥t} γ^{t'} r_{t'} ρ_{0:t'}: ρ_t appears twice. ``[N, d]``.
    """
    lr = log_ratios(batch, policy, theta)
    L = np.cumsum(lr, axis=1)
    inner = np.exp(lr) * _reverse_cumsum(_discounted_rewards(batch) * np.exp(L))
    return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), inner)


def truncated_is(batch, policy, theta) -> np.ndarray:
    """g = Σ_t ψ'_t ρ_{0:t} G_t, the future ratios dropped (notes §4.4, PG-13). ``[N, d]``."""
    L = np.cumsum(log_ratios(batch, policy, theta), axis=1)
    G = _reverse_cumsum(_discounted_rewards(batch))
    return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), np.exp(L) * G)


def state_marginal_ratio_is(mdp, theta_behaviour):
    """An estimator g = Σ_t (p_θ'(s_t)/p_θ(s_t)) (π_θ'(a_t|s_t)/π_θ(a_t|s_t)) ψ'_t G_t (notes
    §4.4, the state-action-marginal display), with the exact state marginals p(s_t) of
    ``mdp`` (finite horizon, state policies) under the behaviour θ and the target θ'.

    Returns ``estimator(batch, policy, theta) -> [N, d]``. The marginals and their ratio are
    formed in log space (:func:`pgmath.exact.log_state_marginals`), so a reachable state
    whose probability underflows still gets a finite ratio; a state the behaviour never
    reaches at t never appears in a batch of it.
    """

    def estimator(batch, policy, theta) -> np.ndarray:
        ld_b = log_state_marginals(mdp, policy, theta_behaviour, n_steps=batch.horizon)
        ld_t = log_state_marginals(mdp, policy, theta, n_steps=batch.horizon)
        t = np.arange(batch.horizon)[None, :]
        lw = ld_t[t, batch.states] - ld_b[t, batch.states] + log_ratios(batch, policy, theta)
        G = _reverse_cumsum(_discounted_rewards(batch))
        return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), np.exp(lw) * G)

    estimator.__name__ = "state_marginal_ratio_is"
    return estimator


def action_ratio_is(batch, policy, theta) -> np.ndarray:
    """g = Σ_t (π_θ'(a_t|x_t)/π_θ(a_t|x_t)) ψ'_t G_t, the state-marginal ratio dropped
    (notes §4.4, last display; PG-15). ``[N, d]``."""
    rho = np.exp(log_ratios(batch, policy, theta))
    G = _reverse_cumsum(_discounted_rewards(batch))
    return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), rho * G)


@keyword_only
def is_surrogate(batch, policy, theta, *, baseline: np.ndarray | float = 0.0) -> np.ndarray:
    """``[N]`` L̂_i(θ') = Σ_t (π_θ'(a_t|x_t)/π_θ(a_t|x_t)) (G_t − b_t), the importance-weighted
    surrogate; its gradient in θ' is :func:`action_ratio_is` (with G − b), and at θ' = θ its
    mean gradient is ∇J(θ). ``baseline`` is a scalar, ``[T]`` or ``[N, T]``."""
    rho = np.exp(log_ratios(batch, policy, theta))
    G = _reverse_cumsum(_discounted_rewards(batch)) - np.asarray(baseline, dtype=float)
    return np.sum(rho * G, axis=1)


# -- descriptions as linear recursions with ratios (pgmath.exact.recursion) ------------------
def _describe(fn) -> None:
    """Attach ``step_weights(T, γ)`` from the table
    :data:`pgmath.exact.recursion.IMPORTANCE_WEIGHTS`: κ = 1, α_t = γ^t (rewards discounted
    from the start), β = 1 for the full return, and the ratio powers (k_σ, k_e, k_ψ, k_G)."""
    fn.step_weights = lambda T, g: importance_weights(fn.__name__, T, g)


for _fn in (trajectory_is, per_decision_is, per_decision_is_notes, truncated_is, action_ratio_is):
    _describe(_fn)
