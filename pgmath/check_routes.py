"""Exact moments for :mod:`pgmath.check` without enumeration: the moment-recursion routes.

:func:`pgmath.check.check_unbiased` needs, for a per-trajectory estimator g, its exact
mean E[g] (to decide E[g] = ∇J(θ) exactly), its variance Var g_j and a bound b_j on
|g_j − E g_j| (Bernstein's inequality), and a bound on the floating-point error of all of
them. Enumeration gives these on small problems. For the built-in estimators that are
linear recursions (DESIGN §3) they come in polynomial time in T:

* on-policy: :func:`pgmath.exact.recursion.recursive_moments` of the estimator's
  :class:`~pgmath.exact.recursion.StepWeights`
  g(τ) = Σ_t ψ_t w_t − b ⊙ Σ_t ω_t ψ_t (module docstring of :mod:`pgmath.exact.recursion`);
* off-policy (trajectories of a behaviour θ_b, target θ):
  :func:`pgmath.exact.offpolicy_moments.offpolicy_moments_recursion` for the five
  estimators of :data:`~pgmath.exact.offpolicy_moments.RECURSIONS`.

**Rounding.** Both recursions only add and multiply. For such a computation the
computed value x̂ of a quantity x obeys |x̂ − x| ≤ γ_K x_abs, where x_abs is the same
computation run in exact arithmetic on the absolute values of every input and K bounds
the number of roundings along any path from an input to the output (Higham, *Accuracy
and Stability of Numerical Algorithms*, §3.1 and eq. 3.5, applied term by term; the
order in which a sum of n terms is formed adds at most n − 1 roundings to each term).
So each recursion is run a second time on |r|, on |weights| and with the score replaced
by its magnitude m(x, a) = |Φ[x, a]| + Σ_b π(b|x)|Φ[x, b]| ≥ |ψ(x, a)| (which also covers
the absolute rounding of ψ = Φ[x, a] − Σ_b π(b|x)Φ[x, b]): its mean is x_abs for E[g] and
its second moment the same for E[g gᵀ]. The slack of E g − ∇J adds γ_K times a bound on
the terms ∇J is assembled from, (Σ_t max m)(Σ_t γ^t max|r|). K is counted in
:func:`rounding_depth`.

**Range.** |g_j(τ)| ≤ B_j for every trajectory, with (on-policy)

    B_j = max_{x,a: π>0} |ψ_j(x, a)| · Σ_t (H_t + |κ_t| F̄_t + |β_t| P̄_t) + |b_j| max|ψ_j| Σ_t |ω_t|,
    H_t = |η_t| r̄ + max|c_t| + max|c^x_t|,  r̄ = max|r|,
    F̄_t ≥ max_paths Σ_{t'≥t} |ρ|^{t'−t} U_{t'},  P̄_t ≥ max_paths Σ_{t'<t} U_{t'},
    U_t = |α_t| |r(s_t, a_t, s_{t+1})| + |y_t(s_t, a_t, s_{t+1})|

(F̄, P̄ by a max-plus dynamic programme over the possible transitions), the triangle
inequality on the StepWeights form term by term; and (off-policy, every
weight is a product of at most T + 1 per-step ratios ≤ ρ̄ = max(1, max π_θ/π_{θ_b}))
B_j = ρ̄^{T+1} T max|ψ_j| Σ_t γ^t r̄. Then |g_j − E g_j| ≤ B_j + |E g_j| and
|g_j − ∇J_j| ≤ B_j + |∇J_j|.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import EstimatorError
from .estimators import offpolicy as _offpolicy
from .estimators._protocol import _name, call_estimator, has_recursion, is_batch_coupled, step_scores
from .exact.offpolicy_moments import RECURSIONS, offpolicy_moments_recursion
from .exact.recursion import StepWeights, recursive_moments, step_weights_of

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


def _is_offpolicy_builtin(estimator) -> bool:
    name = getattr(estimator, "__name__", None)
    return name in RECURSIONS and getattr(_offpolicy, name, None) is estimator


def recursion_route(estimator, mdp, policy, theta, behaviour_theta=None) -> str | None:
    """Which recursion gives the exact moments of ``estimator`` on this problem, or ``None``.

    ``"on-policy recursion"``: a per-trajectory estimator with ``step_weights`` sampled
    on-policy (``behaviour_theta`` is ``None`` or equal to θ). ``"off-policy recursion"``:
    one of the built-in off-policy estimators of :data:`RECURSIONS` on an MDP with rewards
    r(s, a). A user's estimator without a linear-recursion description gets ``None``.
    """
    if is_batch_coupled(estimator) or mdp.horizon is None:
        return None
    on_policy = behaviour_theta is None or np.array_equal(behaviour_theta, theta)
    if on_policy and has_recursion(estimator):
        return "on-policy recursion"
    if _is_offpolicy_builtin(estimator) and mdp.R.ndim == 2:
        return "off-policy recursion"
    return None


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
        omega=1.0 if spec.omega is None else np.abs(spec.omega))


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


def step_weights_range(spec: StepWeights, mdp, policy, theta) -> np.ndarray:
    """``[d]`` B_j ≥ max_τ |g_j(τ)| for a StepWeights estimator (module docstring), with F_t
    and P_t bounded over the possible paths (:func:`_path_maxima`) rather than by T r̄."""
    T = spec.T
    S, A = mdp.n_states, mdp.n_actions
    pi = np.asarray(policy.probs(theta))
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


def _check_description(estimator, spec: StepWeights, mdp, policy, theta, n: int = 64) -> None:
    """The recursion decides the estimator's ``step_weights``, not its code: evaluate both on
    ``n`` sampled trajectories (seed 0) and refuse when they differ beyond rounding."""
    from .trajectories import sample
    batch = sample(mdp, policy, theta, n, np.random.default_rng(0))
    g = call_estimator(estimator, batch, policy, theta)
    ref = spec.evaluate(batch, step_scores(batch, policy, theta))
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
            f"{_name(estimator)} has no moment recursion on {mdp!r} (a user's estimator "
            "without step_weights, a batch-coupled one, or an on-policy estimator fed "
            "behaviour samples): use enumeration")
    if target is None:
        target = gradient(mdp, policy, theta)
    T = mdp.horizon
    mdp_abs = _abs_mdp(mdp)
    if route == "on-policy recursion":
        spec = step_weights_of(estimator, T, mdp.discount)
        _check_description(estimator, spec, mdp, policy, theta)
        mean, cov = recursive_moments(spec, mdp, policy, theta)
        mag = _ScoreOverride(policy, _score_magnitude(policy, theta))
        m_abs, c_abs = recursive_moments(_abs_spec(spec), mdp_abs, mag, theta)
        width = 2 * (len(spec.rows()) + (2 if spec.has_past else 1))
        K = rounding_depth(mdp, policy, theta, width=width)
        B = step_weights_range(spec, mdp, policy, theta)
    else:
        tb = theta if behaviour_theta is None else behaviour_theta
        mean, cov = offpolicy_moments_recursion(estimator, mdp, policy, tb, theta)
        mag = _ScoreOverride(policy, _score_magnitude(policy, theta))
        m_abs, c_abs = offpolicy_moments_recursion(estimator, mdp_abs, mag, tb, theta)
        d = mean.size
        K = rounding_depth(mdp, policy, theta, width=2 * (2 + 2 * d), theta_b=tb)
        B = offpolicy_range(mdp, policy, theta, tb)
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
