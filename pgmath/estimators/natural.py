"""The natural policy gradient and the TRPO step (notes §4.5.1, PG-20, PG-21).

The KL-constrained linearised problem

    max_Δ Δᵀ g   s.t.  ½ Δᵀ F Δ ≤ ε            (g = ∇J(θ), ½ΔᵀFΔ the KL to second order)

is solved by Δ = α F⁺ g with α = √(2ε / (gᵀ F⁺ g)) (:func:`kl_step_size`). Softmax
Fisher matrices are singular (shifting all logits of one input changes nothing), so
pgmath uses the Moore–Penrose pseudo-inverse F⁺ (:func:`pinv_natural_gradient`) or
conjugate gradient on Fisher-vector products (:func:`conjugate_gradient`). ∇J lies in
range(F) (∇J = Σ_s d(s) Σ_a π ψ Q is a combination of scores of visited states), but
only up to rounding once computed; when that rounding is not negligible (∇J ≡ 0),
undamped CG solves on range(F) (b projected on it first, by a CG solve of F y = F b), so
it converges to the minimum-norm solution F⁺g with no null-space part grown from
rounding. Damping (F + λI) regularises the
solve when F is estimated from samples.

The Fisher matrix from samples (PG-19): :func:`fisher_estimate` and
:func:`step_fisher_estimate`, both unbiased for the trajectory Fisher matrix
``pgmath.exact.fisher(..., weighting="trajectory")`` (formerly in ``pgmath.exact``, where
the old names forward with a ``DeprecationWarning``).

TRPO (:func:`trpo_step`) fixes ε, takes the CG direction x ≈ F⁺g, the step α x with α
from ε, and backtracks (α ← β α) until the surrogate improves and the KL constraint
holds. :func:`trpo_step_exact` uses the exact surrogate and KL;
:func:`trpo_step_sampled` their importance-sampled estimates from one batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._deprecation import keyword_only
from ..errors import InvalidArgumentError, InvalidPolicyError, PgmathError, ShapeError
from ..exact.fisher import fisher, fisher_vector_product, input_weights
from ..exact.kl import policy_kl
from ..exact.objective import gradient
from ..exact.surrogate import surrogate, surrogate_weights
from .offpolicy import is_surrogate
from .onpolicy import _leave_one_out_baseline
from ..estimator_protocol import step_scores

__all__ = ["fisher_estimate", "step_fisher_estimate", "pinv_natural_gradient", "conjugate_gradient", "kl_step_size", "natural_gradient",
           "natural_gradient_estimate", "policy_change", "TRPOStep", "trpo_step",
           "trpo_step_exact", "trpo_step_sampled"]


def _scores(batch, policy, theta) -> np.ndarray:
    if batch.inputs.max(initial=0) >= policy.n_inputs:
        raise InvalidPolicyError(
            f"the batch reads inputs up to {int(batch.inputs.max())} but {policy!r} has "
            f"{policy.n_inputs}")
    return policy.score(theta)[batch.inputs, batch.actions]  # [N, T, d]


def fisher_estimate(batch, policy, theta) -> np.ndarray:
    """``[d, d]`` F̂ = (1/N) Σ_i g_i g_iᵀ with g_i = Σ_t ψ_{i,t} = ∇log p_θ(τ_i) (PG-19).

    Unbiased for the trajectory Fisher matrix (``fisher(..., weighting="trajectory")``)
    when the batch was drawn from p_θ.
    """
    g = _scores(batch, policy, theta).sum(axis=1)
    return g.T @ g / batch.n


def step_fisher_estimate(batch, policy, theta) -> np.ndarray:
    """``[d, d]`` F̂ = (1/N) Σ_i Σ_t ψ_{i,t} ψ_{i,t}ᵀ, the per-step form of PG-19.

    Also unbiased for the trajectory Fisher matrix: the cross terms ψ_t ψ_uᵀ (t ≠ u)
    it drops have mean zero.
    """
    psi = _scores(batch, policy, theta)
    return np.einsum("ntd,nte->de", psi, psi) / batch.n


@keyword_only
def pinv_natural_gradient(F: np.ndarray, g: np.ndarray, *, rcond: float = 1e-10) -> np.ndarray:
    """``[d]`` F⁺ g (Moore–Penrose pseudo-inverse; singular values below rcond·σ_max dropped)."""
    F = np.asarray(F, dtype=float)
    g = np.asarray(g, dtype=float)
    if F.ndim != 2 or F.shape != (g.size, g.size):
        raise ShapeError(f"F has shape {F.shape} and g has shape {g.shape}; need [d, d] and [d]")
    return np.linalg.pinv(F, rcond=rcond, hermitian=True) @ g


def _cg(apply: Callable[[np.ndarray], np.ndarray], b: np.ndarray, n_iter: int, tol: float,
        null_floor: float) -> tuple[np.ndarray, bool]:
    """Hestenes–Stiefel CG for A x = b from x₀ = 0, A = ``apply`` positive semi-definite:
    (x, converged).

    Stops when ‖r‖ ≤ tol ‖b‖ (converged), after ``n_iter`` iterations, or when the search
    direction p is numerically in the null space of A: pᵀAp ≤ ``null_floor`` ‖p‖².
    """
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rr = float(r @ r)
    stop = (tol * float(np.linalg.norm(b))) ** 2
    for _ in range(n_iter):
        if rr <= stop:
            break
        Ap = apply(p)
        pAp = float(p @ Ap)
        if pAp <= null_floor * float(p @ p):
            break  # p lies (numerically) in the null space: nothing more to solve
        a = rr / pAp
        x += a * p
        r -= a * Ap
        rr_new = float(r @ r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x, rr <= stop


def conjugate_gradient(fvp: Callable[[np.ndarray], np.ndarray], b: np.ndarray, *,
                       damping: float = 0.0, max_iter: int | None = None,
                       tol: float = 1e-12, null_tol: float = 1e-12) -> np.ndarray:
    """``[d]`` x solving (F + λI) x = b by conjugate gradient, given v ↦ F v.

    Each CG solve stops when ‖r‖ ≤ tol ‖b‖ (converged), after ``max_iter`` (default d)
    iterations, or when the search direction p is numerically in the null space of F:
    pᵀ(F + λI)p ≤ null_tol · σ · ‖p‖², σ the Rayleigh quotient of a fixed random probe (a
    scale of F; one extra product).

    λ > 0: one CG solve of the non-singular system.

    λ = 0 (F singular, as every softmax Fisher matrix is): the answer is the minimum-norm
    solution F⁺b. One CG solve from x₀ = 0 gives it when b ∈ range(F), as ∇J is in exact
    arithmetic; it is returned when it converges. It cannot converge when b has a
    component outside range(F) above tol ‖b‖, as a ∇J that is rounding noise has (∇J ≡ 0):
    that component never leaves the residual, CG's conjugacy turns the search directions
    into null-space directions, and x grows without bound in null(F) (issue 11, cause B:
    rounding noise of 1e-16 gave x = 4.2e-5·(1, 1, 1) on one state, where F⁺b is 1e-15).
    Then b is first projected on range(F) by a CG solve of F y = F b (whose minimum-norm
    solution is y = F⁺F b), and F x = y is solved, both right-hand sides in range(F). A
    null-space part of x changes neither F x nor the policy, but it changes θ and gᵀx.
    So: a b with no component in range(F) beyond rounding (‖F b‖ ≤ null_tol · σ · ‖b‖)
    gives x = 0; rounding noise in b gives x of the size of that noise times ‖F⁺‖, never a
    blown-up null-space component. ``max_iter`` counts the iterations of each solve.
    """
    b = np.asarray(b, dtype=float)
    if damping < 0:
        raise PgmathError(f"damping must be ≥ 0, got {damping}")
    n_iter = b.size if max_iter is None else int(max_iter)
    probe = np.random.default_rng(0).normal(size=b.size)  # fixed: deterministic scale of F
    scale = float(probe @ (fvp(probe) + damping * probe)) / float(probe @ probe)
    floor = null_tol * scale
    if damping > 0:
        return _cg(lambda v: fvp(v) + damping * v, b, n_iter, tol, floor)[0]
    x, converged = _cg(fvp, b, n_iter, tol, floor)
    if converged:
        return x
    Fb = np.asarray(fvp(b), dtype=float)
    if float(np.linalg.norm(Fb)) <= floor * float(np.linalg.norm(b)):
        return np.zeros_like(b)  # b lies (numerically) in null(F): F⁺b is rounding
    y, _ = _cg(fvp, Fb, n_iter, tol, floor)  # y = F⁺F b: b projected on range(F)
    return _cg(fvp, y, n_iter, tol, floor)[0]  # x = F⁺y = F⁺b


def kl_step_size(g: np.ndarray, x: np.ndarray, epsilon: float) -> float:
    """α = √(2ε / (gᵀ x)) with x = F⁺g, so that ½ (αx)ᵀ F (αx) = ε (0 when gᵀx = 0)."""
    if not epsilon > 0:
        raise PgmathError(f"the KL budget ε must be > 0, got {epsilon}")
    gx = float(np.dot(g, x))
    if gx < -1e-12 * max(1.0, float(np.dot(g, g))):
        raise PgmathError(f"gᵀF⁺g = {gx} < 0: x is not a natural-gradient direction for g")
    return 0.0 if gx <= 0 else float(np.sqrt(2.0 * epsilon / gx))


def natural_gradient(mdp, policy, theta, *, method: str = "pinv", weighting: str = "average",
                     damping: float = 0.0) -> np.ndarray:
    """``[d]`` the exact natural gradient F⁺∇J(θ) (``method="pinv"``) or its damped CG solve
    (F + λI)⁻¹∇J on exact Fisher-vector products (``method="cg"``).

    F is :func:`pgmath.exact.fisher` with the same ``weighting`` (default ``"average"``,
    as ``fisher``'s), so ``natural_gradient(mdp, pol, th)`` equals
    ``pinv_natural_gradient(fisher(mdp, pol, th), gradient(mdp, pol, th))``. ``damping``
    λ > 0 needs ``method="cg"``: the pseudo-inverse takes none (an error, rather than a
    pseudo-inverse that quietly becomes a damped solve)."""
    theta = policy.check_theta(theta)
    if method == "pinv" and damping:
        raise InvalidArgumentError(
            f"natural_gradient(method='pinv') takes no damping (got damping={damping!r}): F⁺∇J "
            "is undamped; use method='cg' for the damped solve (F + λI)⁻¹∇J")
    g = gradient(mdp, policy, theta)
    if method == "pinv":
        F = fisher(mdp, policy, theta, weighting=weighting)
        return pinv_natural_gradient(F, g)
    if method == "cg":
        w = input_weights(mdp, policy, theta, weighting=weighting)
        fvp = lambda v: fisher_vector_product(mdp, policy, theta, v, weights=w)  # noqa: E731
        return conjugate_gradient(fvp, g, damping=damping)
    raise InvalidArgumentError(f"method must be 'pinv' or 'cg', got {method!r}")


def _sampled_gradient(batch, policy, theta):
    """(ĝ ``[d]``, v ↦ F̂ v, b ``[N, T]``) from one batch: ĝ the row mean of
    :func:`~pgmath.estimators.reward_to_go_leave_one_out`, F̂ v = (1/(N T)) Σ_{i,t} ψ (ψ·v)
    the sampled per-step Fisher, b the leave-one-out baseline."""
    psi = step_scores(batch, policy, theta)  # [N, T, d]
    G, b = _leave_one_out_baseline(batch)    # [N, T] each
    g = np.einsum("ntd,nt->d", psi, G - b) / batch.n
    k = batch.n * batch.horizon
    return g, (lambda v: np.einsum("ntd,nt->d", psi, psi @ v) / k), b


def natural_gradient_estimate(batch, policy, theta, *, damping: float = 1e-3,
                              max_iter: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x ``[d]``, ĝ ``[d]``): ĝ = (1/N) Σ_i Σ_t ψ_{i,t} (G_{i,t} − b_{i,t}), the row mean of
    :func:`~pgmath.estimators.reward_to_go_leave_one_out` (unbiased for ∇J_γ; N ≥ 2), and
    x solving (F̂ + λI) x = ĝ by CG on the sampled per-step Fisher
    F̂ v = (1/(N T)) Σ_{i,t} ψ (ψ·v) (an estimate of the ``"average"`` Fisher matrix)."""
    g, fvp, _ = _sampled_gradient(batch, policy, theta)
    return conjugate_gradient(fvp, g, damping=damping, max_iter=max_iter), g


def policy_change(policy, theta, delta) -> np.ndarray:
    """``[X, A]`` the first-order change of π_θ along Δ: dπ(a|x) = π(a|x) ψ(x, a)·Δ."""
    pi = np.asarray(policy.probs(theta))
    lv = np.asarray(policy.logits(np.asarray(delta, dtype=float)))
    return pi * (lv - np.sum(pi * lv, axis=1, keepdims=True))


@dataclass
class TRPOStep:
    """The outcome of one TRPO step.

    Attributes:
      theta: the accepted θ' (θ itself when no step was accepted).
      direction: x ≈ F⁺g from CG.
      full_step: α x with α = √(2ε / gᵀx).
      step_fraction: β^j of the accepted step (0 when rejected).
      improvement: surrogate(θ') − surrogate(θ).
      kl: the KL of the accepted step.
      accepted: whether a step met both conditions.
      gradient: the g the step was built from (∇J(θ) exact, or its estimate ĝ).
    """

    theta: np.ndarray
    direction: np.ndarray
    full_step: np.ndarray
    step_fraction: float
    improvement: float
    kl: float
    accepted: bool
    gradient: np.ndarray | None = None


def trpo_step(theta, g, fvp, surrogate_fn, kl_fn, epsilon: float, *, damping: float = 0.0,
              cg_iters: int | None = None, backtrack: float = 0.5,
              max_backtracks: int = 20) -> TRPOStep:
    """One TRPO step: x = CG(F, g), α = √(2ε/gᵀx), then θ' = θ + β^j α x for the first j with
    surrogate(θ') > surrogate(θ) and kl(θ') ≤ ε (Schulman et al. 2015, Appendix C)."""
    theta = np.asarray(theta, dtype=float)
    x = conjugate_gradient(fvp, g, damping=damping, max_iter=cg_iters)
    step = kl_step_size(g, x, epsilon) * x
    L0 = surrogate_fn(theta)
    frac = 1.0
    for _ in range(max_backtracks):
        cand = theta + frac * step
        imp = surrogate_fn(cand) - L0
        d = kl_fn(cand)
        if imp > 0 and d <= epsilon:
            return TRPOStep(cand, x, step, frac, float(imp), float(d), True, g)
        frac *= backtrack
    return TRPOStep(theta, x, step, 0.0, 0.0, 0.0, False, g)


def trpo_step_exact(mdp, policy, theta, epsilon: float, **kw) -> TRPOStep:
    """TRPO with the exact surrogate L_θ(θ') (:func:`pgmath.exact.surrogate`), the exact
    KL E_{s∼d_θ}[D_KL(π_θ ‖ π_θ')] (``"average"`` weighting) and exact Fisher-vector products."""
    theta = policy.check_theta(theta)
    w = input_weights(mdp, policy, theta, weighting="average")
    sw = surrogate_weights(mdp, policy, theta)
    g = gradient(mdp, policy, theta)
    return trpo_step(
        theta, g,
        lambda v: fisher_vector_product(mdp, policy, theta, v, weights=w),
        lambda th: surrogate(mdp, policy, th, theta_behaviour=theta, weights=sw),
        lambda th: float(w @ policy_kl(policy, theta, th)),
        epsilon, **kw)


def trpo_step_sampled(batch, policy, theta, epsilon: float, *, damping: float = 1e-3,
                      **kw) -> TRPOStep:
    """TRPO from one batch of θ: surrogate (1/N) Σ_i Σ_t ρ_{i,t} (G_{i,t} − b_{i,t}) with the
    leave-one-out baseline b_{i,t} = (1/(N−1)) Σ_{j≠i} G_{j,t} (so its gradient at θ' = θ is
    the unbiased ĝ of :func:`~pgmath.estimators.reward_to_go_leave_one_out`; N ≥ 2), KL
    (1/(NT)) Σ_{i,t} D_KL(π_θ(·|x_{i,t}) ‖ π_θ'(·|x_{i,t})), Fisher (1/(NT)) Σ ψψᵀ."""
    theta = policy.check_theta(theta)
    g, fvp, b = _sampled_gradient(batch, policy, theta)
    x = batch.inputs
    return trpo_step(
        theta, g, fvp,
        lambda th: float(is_surrogate(batch, policy, th, baseline=b).mean()),
        lambda th: float(policy_kl(policy, theta, th)[x].mean()),
        epsilon, damping=damping, **kw)
