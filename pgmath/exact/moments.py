"""Exact moments of policy-gradient estimators (DESIGN §2–3).

* :func:`estimator_moments`: mean and covariance of one row g(τ) of a per-trajectory
  estimator, by enumeration

      E[g] = Σ_τ p_θ(τ) g(τ),   Cov[g] = Σ_τ p_θ(τ) (g(τ) − E g)(g(τ) − E g)ᵀ

  (any estimator, a user's own included) or by the forward moment recursion of
  :mod:`pgmath.exact.recursion` (built-in estimators, any horizon).
* :func:`coupled_moments`: mean and covariance of the batch estimate (1/N) Σ_i g_i of a
  batch-coupled estimator for a given N, by enumerating every N-tuple of trajectories.
* :func:`batch_average_moments`: the same for the average-reward and leave-one-out
  baselines in closed form as functions of N (U-statistics).
* :func:`optimal_baseline`: the variance-minimising constant baseline per component.
* :func:`discount_bias`: the exact bias of the γ^{t'−t} discounting.
"""
from __future__ import annotations

import itertools

import numpy as np

from .._deprecation import renamed_arguments
from ..errors import EstimatorError, InvalidPolicyError, TooManyTrajectoriesError, check_choice
from ..estimator_protocol import call_estimator, has_recursion, is_batch_coupled
from ..mdp import horizon_steps
from ..policy_tables import policy_table
from ..trajectories import MAX_TRAJECTORIES, concatenate, enumerate_trajectories
from .marginals import state_marginals
from .objective import objective
from .recursion import (StepWeights, _steps, accumulator_moments, base_kind,
                        constant_baseline_weights, recursive_moments, return_weights,
                        score_sum_weights)
from .values import evaluate

__all__ = ["estimator_moments", "coupled_moments", "batch_average_moments",
           "optimal_baseline", "discount_bias"]

METHODS = ("auto", "recursion", "enumeration")


def _name(est) -> str:
    return getattr(est, "__name__", None) or repr(est)


def estimator_moments(estimator, mdp, policy, theta, *, n_steps: int | None = None,
                      max_trajectories: int | None = None, method: str = "auto",
                      theta_behaviour=None) -> tuple[np.ndarray, np.ndarray]:
    """(mean ``[d]``, covariance ``[d, d]``) of one row g(τ) of ``estimator``, exactly.

    With ``theta_behaviour`` the trajectories are drawn by θ_b and the estimator is
    evaluated at ``theta`` (the target θ' of an off-policy estimator):
    E_θb[g_θ'] = Σ_τ p_θb(τ) g_θ'(τ), and the covariance likewise.

    Args:
      method: ``"enumeration"`` enumerates every trajectory once (see
        :func:`pgmath.enumerate_trajectories`, whose size limit ``max_trajectories``
        applies) and evaluates ``estimator`` on all of them as one batch: works for any
        per-trajectory estimator. ``"recursion"`` runs the forward moment recursion
        (:func:`pgmath.exact.recursion.recursive_moments`): polynomial in T, for
        estimators exposing ``step_weights`` (every built-in per-trajectory one, the
        importance-sampling estimators of :mod:`pgmath.estimators.offpolicy` included).
        ``"auto"`` (default) uses the recursion when the estimator has a description,
        else enumeration.

    Batch-coupled estimators are refused: their rows are not functions of one
    trajectory (use :func:`coupled_moments`).

    Examples:
      The notes' causality term (§4.3.1, t' ≤ t) on a one-step bandit with rewards
      (1, 0) and a uniform policy has mean ∇J = (1/4, −1/4), not 0 (PG-5):

      >>> from pgmath import estimators as E, exact as X, regressions
      >>> mdp, pol, th = regressions.two_armed_bandit()
      >>> X.estimator_moments(E.causality_term(), mdp, pol, th)[0].round(12).tolist()
      [0.25, -0.25]
    """
    check_choice("method", method, METHODS)
    if is_batch_coupled(estimator):
        raise EstimatorError(
            f"{_name(estimator)!r} is batch-coupled: its rows depend on the whole batch, so "
            "per-trajectory moments are not defined (use coupled_moments for a given N)")
    if method == "recursion" or (method == "auto" and has_recursion(estimator)):
        return recursive_moments(estimator, mdp, policy, theta, n_steps=n_steps,
                                 theta_behaviour=theta_behaviour)
    batch, prob = enumerate_trajectories(
        mdp, policy, theta if theta_behaviour is None else theta_behaviour, n_steps=n_steps,
        max_trajectories=MAX_TRAJECTORIES if max_trajectories is None else max_trajectories)
    g = call_estimator(estimator, batch, policy, theta)
    prob = prob / prob.sum()
    mean = prob @ g
    c = g - mean
    cov = (c * prob[:, None]).T @ c
    return mean, 0.5 * (cov + cov.T)


@renamed_arguments(n="batch_size")
def coupled_moments(estimator, mdp, policy, theta, batch_size: int, *, n_steps: int | None = None,
                    max_tuples: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
    """(mean ``[d]``, covariance ``[d, d]``) of the batch estimate ĝ_N = (1/N) Σ_i g_i of
    any estimator (batch-coupled or not) on N i.i.d. trajectories, exactly:

        E[ĝ_N] = Σ_{τ_1..τ_N} Π_i p_θ(τ_i) ĝ_N(τ_1, …, τ_N)

    by enumerating all M^N ordered N-tuples of the M trajectories (one estimator call per
    tuple). Raises :class:`TooManyTrajectoriesError` when M^N exceeds ``max_tuples``.
    """
    n = batch_size
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise EstimatorError(f"batch_size (the batch size N) must be a positive int, got {n!r}")
    batch, prob = enumerate_trajectories(mdp, policy, theta, n_steps=n_steps,
                                         max_trajectories=max_tuples)
    M = batch.n
    if M ** n > max_tuples:
        raise TooManyTrajectoriesError(
            f"coupled_moments would evaluate {M}^{n} = {M ** n:,} batches, above "
            f"max_tuples={max_tuples:,}")
    prob = prob / prob.sum()
    rows = [batch[i] for i in range(M)]
    d = policy.n_params
    means = np.empty((M ** n, d))
    weights = np.empty(M ** n)
    for k, idx in enumerate(itertools.product(range(M), repeat=n)):
        b = concatenate([rows[i] for i in idx])
        means[k] = call_estimator(estimator, b, policy, theta).mean(axis=0)
        weights[k] = np.prod(prob[list(idx)])
    mean = weights @ means
    c = means - mean
    cov = (c * weights[:, None]).T @ c
    return mean, 0.5 * (cov + cov.T)


@renamed_arguments(n="batch_size")
def batch_average_moments(mdp, policy, theta, batch_size: int, *, leave_one_out: bool = False,
                          n_steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact (mean ``[d]``, covariance ``[d, d]``) of the batch estimate of
    :func:`~pgmath.estimators.batch_average_baseline` (or, with ``leave_one_out``, of
    :func:`~pgmath.estimators.leave_one_out_baseline`) as a function of N.

    With Ψ = Σ_t ψ_t and R = r(τ), the leave-one-out estimate is the U-statistic

        U_N = (1/(N(N−1))) Σ_{i≠j} h(τ_i, τ_j),   h(τ, τ') = ½ (Ψ − Ψ')(R − R'),

    and the batch-average one is ĝ_N = ((N−1)/N) U_N (the baseline includes τ_i). Hence

        E[U_N] = ∇J,   E[ĝ_N] = (1 − 1/N) ∇J,
        Cov[U_N] = (2/(N(N−1))) (2(N−2) ζ₁ + ζ₂),   Cov[ĝ_N] = ((N−1)/N)² Cov[U_N],

    with ζ₁ = Cov[E[h|τ]] = ¼ Cov[Ψ (R − J)] and
    ζ₂ = Cov[h] = ½ (E[ΨΨᵀ (R − J)²] + Var[R] E[ΨΨᵀ]) (Hoeffding 1948). N = 1 gives the
    estimate 0 for the batch average (LOO needs N ≥ 2). The per-trajectory moments come
    from the moment recursion.

    Examples:
      >>> from pgmath import exact as X, regressions
      >>> mdp, pol, th = regressions.two_armed_bandit()      # ∇J = (1/4, −1/4)
      >>> X.batch_average_moments(mdp, pol, th, 2)[0].round(12).tolist()
      [0.125, -0.125]
      >>> X.batch_average_moments(mdp, pol, th, 2, leave_one_out=True)[0].round(12).tolist()
      [0.25, -0.25]
    """
    n = batch_size
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise EstimatorError(f"batch_size (the batch size N) must be a positive int, got {n!r}")
    if leave_one_out and n < 2:
        raise EstimatorError("the leave-one-out baseline needs N ≥ 2")
    if n_steps is not None:
        mdp = mdp.with_horizon(horizon_steps(mdp, n_steps))
    J = objective(mdp, policy, theta)
    T = mdp.horizon
    # the descriptions of pgmath.estimators' constant_baseline(J) and score_sum
    centred = constant_baseline_weights(J, "reinforce", T, mdp.discount)
    grad, c1 = recursive_moments(centred, mdp, policy, theta)                        # Ψ (R − J)
    _, A = recursive_moments(score_sum_weights(T, mdp.discount), mdp, policy, theta)  # E[ΨΨᵀ]
    zeta1 = 0.25 * c1
    zeta2 = 0.5 * (c1 + np.outer(grad, grad) + _return_variance(mdp, policy, theta) * A)
    d = grad.shape[0]
    if n == 1:
        return np.zeros(d), np.zeros((d, d))
    cov_u = (2.0 / (n * (n - 1))) * (2 * (n - 2) * zeta1 + zeta2)
    if leave_one_out:
        return grad, cov_u
    f = (n - 1) / n
    return f * grad, f * f * cov_u


def _return_variance(mdp, policy, theta) -> float:
    """Var[r(τ)], r(τ) = Σ_t γ^t r_t, exactly: forward recursion of E[R 1{s}], E[R² 1{s}]."""
    T = mdp.horizon
    pi = np.asarray(policy_table(mdp, policy, theta))
    S, A = mdp.n_states, mdp.n_actions
    rtab = mdp.R if mdp.R.ndim == 3 else np.broadcast_to(mdp.r[:, :, None], (S, A, S))
    w = pi[:, :, None] * mdp.P
    p, m1, m2 = mdp.p0.copy(), np.zeros(S), np.zeros(S)
    for t in range(T):
        u = (mdp.discount ** t) * rtab
        p, m1, m2 = (np.einsum("sau,s->u", w, p),
                     np.einsum("sau,s->u", w, m1) + np.einsum("sau,sau,s->u", w, u, p),
                     np.einsum("sau,s->u", w, m2) + 2 * np.einsum("sau,sau,s->u", w, u, m1)
                     + np.einsum("sau,sau,s->u", w, u * u, p))
    return float(m2.sum() - m1.sum() ** 2)


def optimal_baseline(mdp, policy, theta, *, base="reinforce", n_steps: int | None = None,
                     per_component: bool = True) -> np.ndarray:
    """The variance-minimising constant baseline per component ``[d]`` (notes §4.3.2):

        b_k = E[g_k Ψ_k] / E[Ψ_k²],   Ψ = Σ_t ψ_t,

    where g is the estimator without baseline; for ``base="reinforce"`` (g = Ψ r(τ))
    this is the notes' b = E[g(τ)² r(τ)] / E[g(τ)²] with g(τ) = ∇log p_θ(τ) read per
    component. Since E[g_k − bΨ_k] = ∇J_k for every b,
    Var[g_k − bΨ_k] = Var[g_k] − 2b E[g_k Ψ_k] + b² E[Ψ_k²], minimised at b_k.
    Components with E[Ψ_k²] = 0 (parameters of unreachable states) get b_k = 0.
    Computed from cross moments of the moment recursion.

    With ``per_component=False``, the single b = E[gᵀΨ]/E[ΨᵀΨ] (the notes' g(τ)² read as
    the squared norm), which minimises the trace of the covariance over scalar b; returned
    as a float.
    """
    if not hasattr(policy, "score"):
        raise InvalidPolicyError("optimal_baseline needs a pgmath Policy and its theta")
    kind = base_kind(base)
    T = _steps(mdp, n_steps)
    spec = StepWeights.make(T, offset=np.zeros(policy.n_params), omega=1.0,
                            **return_weights(kind, T, mdp.discount))
    rows, _, W = accumulator_moments(spec, mdp, policy, theta, n_steps=T)
    iG, iP = rows.index("G"), rows.index("psi")
    k = np.arange(policy.n_params)
    num, den = W[iG, k, iP, k], W[iP, k, iP, k]
    if not per_component:
        return float(num.sum() / den.sum()) if den.sum() > 0 else 0.0
    scale = max(float(den.max(initial=0.0)), 1e-300)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 1e-14 * scale)


def discount_bias(mdp, policy, theta) -> np.ndarray:
    """Exact bias ``[d]`` of the γ^{t'−t} discounting for ∇J_γ:

        E[Σ_t ψ_t Σ_{t'≥t} γ^{t'−t} r_{t'}] − ∇J_γ = Σ_t (1 − γ^t) Σ_s d_t(s) Σ_a ∇π_θ(a|s) Q_t(s, a),

    the same for :func:`~pgmath.estimators.reward_to_go_step_discount`, the step-discounted
    state baseline and critics, and GAE(λ) with the exact V (they all have mean
    Σ_t E[ψ_t Q_t]). Finite horizon.
    """
    if mdp.horizon is None:
        raise EstimatorError("discount_bias needs a finite-horizon MDP")
    theta = policy.check_theta(theta)
    pi = np.asarray(policy_table(mdp, policy, theta))
    _, Q = evaluate(mdp, pi)
    d = state_marginals(mdp, pi)
    w = (1.0 - mdp.discount ** np.arange(mdp.horizon))[:, None] * d
    return policy.state_vjp(mdp, theta, np.einsum("ts,tsa->sa", w, Q))
