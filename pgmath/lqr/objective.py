"""Exact J(θ) and ∇J(θ) for a linear-Gaussian policy on a linear-quadratic problem.

With u_t = K_t x_t + k_t + S_t ε_t (S_t = diag σ_t) the closed loop is
x_{t+1} = F_t x_t + B k_t + B S_t ε_t + w_t, F_t = A + B K_t, and everything is a
quadratic in Gaussians.

**Values (backward, Lyapunov).** V_t(x) = −(xᵀP_t x + 2p_tᵀx + c_t) with P_T = Q_T,
p_T = 0, c_T = 0 and

    P_t = Q + K_tᵀRK_t + NK_t + K_tᵀNᵀ + γ F_tᵀ P_{t+1} F_t,
    p_t = (K_tᵀR + N) k_t + γ F_tᵀ (P_{t+1} B k_t + p_{t+1}),
    c_t = k_tᵀRk_t + tr(R S_t²) + γ (k_tᵀBᵀP_{t+1}Bk_t + 2p_{t+1}ᵀBk_t
          + tr(P_{t+1}(B S_t² Bᵀ + W)) + c_{t+1}),

J = −(tr(P_0 (Σ₀ + μ₀μ₀ᵀ)) + 2p_0ᵀμ₀ + c_0). Discounted infinite horizon: the stationary
P solves the discrete Lyapunov equation P = Q_K + γ FᵀPF (finite iff ρ(√γ F) < 1).

**Gradient (Fazel et al. 2018, Lemma 1, generalised).** With R̃_t = R + γBᵀP_{t+1}B,
E_t = R̃_t K_t + Nᵀ + γBᵀP_{t+1}A (Fazel's E_K = (R + BᵀPB)K − BᵀPA in their u = −Kx),
e_t = R̃_t k_t + γBᵀp_{t+1}, and the state moments μ_t = E x_t, X_t = E x_t x_tᵀ:

    ∂J/∂K_t = −2γ^t (E_t X_t + e_t μ_tᵀ),   ∂J/∂k_t = −2γ^t (E_t μ_t + e_t),
    ∂J/∂log σ_{t,i} = −2γ^t (R̃_t)_{ii} σ_{t,i}²,

summed over t for a time-invariant θ (the infinite horizon uses Σ_t γ^t X_t, itself a
Lyapunov solution). This is the pathwise gradient Σ_t γ^t E[(∂u_t/∂θ)ᵀ ∂Q_t/∂u].
The second route is autograd through J computed forward from the state moments
(:func:`objective` with ``method="moments"``, Kronecker solves for the infinite horizon).

**Optimal control (Riccati).** :func:`optimal_gain` gives K*_t = −R̃_t⁻¹(Nᵀ + γBᵀP_{t+1}A)
with the Riccati recursion for P (the σ → 0 limit is the supremum of J over θ).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import autograd
import autograd.numpy as anp
import numpy as np
from scipy import linalg

from ..errors import DivergentPolicyError, InvalidArgumentError, InvalidMDPError
from .policies import GaussianLinearPolicy

__all__ = ["objective", "gradient", "gradient_magnitude", "value_matrices", "state_moments",
           "closed_loop_radius", "optimal_gain", "optimal_objective"]


def _check(problem, policy, theta):
    if not isinstance(policy, GaussianLinearPolicy):
        raise InvalidArgumentError(
            f"the closed forms need a GaussianLinearPolicy, got {policy!r}")
    policy.check_compatible(problem)
    return policy.check_theta(theta)


def closed_loop_radius(problem, policy, theta) -> float:
    """ρ(√γ (A + BK)): the discounted closed loop's spectral radius (time-invariant θ)."""
    K, _, _ = (np.asarray(v) for v in policy.params(policy.check_theta(theta)))
    F = problem.A + problem.B @ K
    return float(np.sqrt(problem.discount) * np.max(np.abs(np.linalg.eigvals(F))))


def _check_stable(problem, policy, theta) -> None:
    rho = closed_loop_radius(problem, policy, theta)
    if not rho < 1.0:
        raise DivergentPolicyError(
            f"the policy makes {problem!r} diverge: ρ(√γ (A + BK)) = {rho:.6g} ≥ 1, so "
            "E[Σ γ^t x_tᵀx_t] and J(θ) are infinite; choose K with a stable discounted "
            "closed loop")


def _steps(problem, policy, theta):
    T = problem.horizon if problem.horizon is not None else 1
    return policy.gains(theta, T)


@dataclass(frozen=True)
class _Arrays:
    """The numbers the finite-horizon recursions read: the problem's matrices, the per-step
    gains K ``[T, m, n]``, k ``[T, m]``, σ ``[T, m]`` and γ."""

    A: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    N: np.ndarray
    Q_T: np.ndarray
    W: np.ndarray
    mu0: np.ndarray
    Sigma0: np.ndarray
    Ks: np.ndarray
    ks: np.ndarray
    ss: np.ndarray
    g: float

    @classmethod
    def of(cls, problem, policy, theta) -> "_Arrays":
        Ks, ks, ss = _steps(problem, policy, theta)
        return cls(problem.A, problem.B, problem.Q, problem.R, problem.N, problem.Q_T,
                   problem.W, problem.mu0, problem.Sigma0, Ks, ks, ss, problem.discount)

    def absolute(self) -> "_Arrays":
        """Every number replaced by its magnitude (σ > 0 kept): the same recursions on
        these bound the sum of the magnitudes of all their terms (Higham, §3.1)."""
        return _Arrays(*(np.abs(getattr(self, f.name)) for f in fields(self)[:-1]), self.g)


def _values_finite(a: _Arrays):
    A, B, Q, R, N, W, g = a.A, a.B, a.Q, a.R, a.N, a.W, a.g
    T, n = a.Ks.shape[0], A.shape[0]
    P = np.zeros((T + 1, n, n))
    p = np.zeros((T + 1, n))
    c = np.zeros(T + 1)
    P[T] = a.Q_T
    for t in range(T - 1, -1, -1):
        K, k, s = a.Ks[t], a.ks[t], a.ss[t]
        F = A + B @ K
        Pn = P[t + 1]
        Pt = Q + K.T @ R @ K + N @ K + K.T @ N.T + g * F.T @ Pn @ F
        P[t] = (Pt + Pt.T) / 2
        p[t] = (K.T @ R + N) @ k + g * F.T @ (Pn @ B @ k + p[t + 1])
        Wc = B @ np.diag(s ** 2) @ B.T + W
        c[t] = (k @ R @ k + np.sum(np.diag(R) * s ** 2)
                + g * (k @ B.T @ Pn @ B @ k + 2 * p[t + 1] @ B @ k + np.trace(Pn @ Wc) + c[t + 1]))
    return P, p, c


def _moments_finite(a: _Arrays):
    A, B, W = a.A, a.B, a.W
    T, n = a.Ks.shape[0], A.shape[0]
    mu = np.zeros((T + 1, n))
    X = np.zeros((T + 1, n, n))
    mu[0], X[0] = a.mu0, a.Sigma0 + np.outer(a.mu0, a.mu0)
    for t in range(T):
        K, k, s = a.Ks[t], a.ks[t], a.ss[t]
        F = A + B @ K
        Bk = B @ k
        mu[t + 1] = F @ mu[t] + Bk
        Fm = F @ mu[t]
        Xn = (F @ X[t] @ F.T + np.outer(Fm, Bk) + np.outer(Bk, Fm) + np.outer(Bk, Bk)
              + B @ np.diag(s ** 2) @ B.T + W)
        X[t + 1] = (Xn + Xn.T) / 2
    return mu, X


def _gradient_terms(a: _Arrays, P, p, mu, X, weights, const) -> np.ndarray:
    """``[T, block]`` −2γ^t (E_t X_t + e_t μ_tᵀ, E_t μ_t + e_t, diag(R̃_t) σ_t²) per step
    (module docstring); ``weights``/``const`` are γ^t (or the infinite-horizon sums)."""
    A, B, R, N, g = a.A, a.B, a.R, a.N, a.g
    out = []
    for t in range(len(weights)):
        K, k, s = a.Ks[t], a.ks[t], a.ss[t]
        Pn, pn = P[t + 1], p[t + 1]
        Rt = R + g * B.T @ Pn @ B
        E = Rt @ K + N.T + g * B.T @ Pn @ A
        e = Rt @ k + g * B.T @ pn
        dK = -2 * weights[t] * (E @ X[t] + np.outer(e, mu[t]))
        dk = -2 * (weights[t] * E @ mu[t] + const[t] * e)
        ds = -2 * const[t] * np.diag(Rt) * s ** 2
        out.append(np.concatenate([dK.ravel(), dk, ds]))
    return np.array(out)


def value_matrices(problem, policy, theta):
    """(P, p, c) of V_t(x) = −(xᵀP_t x + 2p_tᵀx + c_t) (module docstring).

    Returns ``[T+1, n, n]``, ``[T+1, n]``, ``[T+1]`` for a finite horizon, and the
    stationary ``[n, n]``, ``[n]``, scalar for the discounted infinite horizon.

    Raises:
      DivergentPolicyError: infinite horizon with ρ(√γ (A + BK)) ≥ 1.
    """
    theta = _check(problem, policy, theta)
    if problem.horizon is not None:
        return _values_finite(_Arrays.of(problem, policy, theta))
    A, B, Q, R, N, W, g = (problem.A, problem.B, problem.Q, problem.R, problem.N, problem.W,
                           problem.discount)
    _check_stable(problem, policy, theta)
    Ks, ks, ss = _steps(problem, policy, theta)
    K, k, s = Ks[0], ks[0], ss[0]
    F = A + B @ K
    QK = Q + K.T @ R @ K + N @ K + K.T @ N.T
    P = linalg.solve_discrete_lyapunov(np.sqrt(g) * F.T, QK)
    P = (P + P.T) / 2
    n = A.shape[0]
    p = np.linalg.solve(np.eye(n) - g * F.T, (K.T @ R + N) @ k + g * F.T @ P @ B @ k)
    Wc = B @ np.diag(s ** 2) @ B.T + W
    c = (k @ R @ k + np.sum(np.diag(R) * s ** 2)
         + g * (k @ B.T @ P @ B @ k + 2 * p @ B @ k + np.trace(P @ Wc))) / (1 - g)
    return P, p, c


def state_moments(problem, policy, theta):
    """(μ, X): the state's mean and second moment E[x xᵀ].

    Finite horizon: ``[T+1, n]`` and ``[T+1, n, n]`` for t = 0..T. Infinite horizon: the
    discounted sums Σ_t γ^t μ_t ``[n]`` and Σ_t γ^t X_t ``[n, n]`` (Lyapunov solutions).
    """
    theta = _check(problem, policy, theta)
    if problem.horizon is not None:
        return _moments_finite(_Arrays.of(problem, policy, theta))
    A, B, W, g = problem.A, problem.B, problem.W, problem.discount
    X0 = problem.Sigma0 + np.outer(problem.mu0, problem.mu0)
    _check_stable(problem, policy, theta)
    Ks, ks, ss = _steps(problem, policy, theta)
    K, k, s = Ks[0], ks[0], ss[0]
    F = A + B @ K
    n = A.shape[0]
    Bk = B @ k
    mu = np.linalg.solve(np.eye(n) - g * F, problem.mu0 + g * Bk / (1 - g))
    Wc = B @ np.diag(s ** 2) @ B.T + W
    C = X0 + g * (np.outer(F @ mu, Bk) + np.outer(Bk, F @ mu)) \
        + g * (np.outer(Bk, Bk) + Wc) / (1 - g)
    X = linalg.solve_discrete_lyapunov(np.sqrt(g) * F, C)
    return mu, (X + X.T) / 2


def _objective_values(problem, policy, theta) -> float:
    P, p, c = value_matrices(problem, policy, theta)
    X0 = problem.Sigma0 + np.outer(problem.mu0, problem.mu0)
    if problem.horizon is not None:
        P, p, c = P[0], p[0], c[0]
    return float(-(np.sum(P * X0) + 2 * p @ problem.mu0 + c))


def _objective_moments(problem, policy, theta):
    """J from the forward state moments, written with autograd.numpy (differentiable)."""
    A, B, Q, R, N, W, g = (problem.A, problem.B, problem.Q, problem.R, problem.N, problem.W,
                           problem.discount)
    n = A.shape[0]
    X0 = problem.Sigma0 + np.outer(problem.mu0, problem.mu0)

    def stage(K, k, s, mu, X):
        QK = Q + anp.dot(K.T, anp.dot(R, K)) + anp.dot(N, K) + anp.dot(K.T, N.T)
        return (anp.sum(QK * X) + 2 * anp.dot(mu, anp.dot(anp.dot(K.T, R) + N, k))
                + anp.dot(k, anp.dot(R, k)) + anp.sum(anp.diag(R) * s ** 2))

    if problem.horizon is None:
        K, k, ls = policy.params(theta, 0)
        s = anp.exp(ls)
        F = A + anp.dot(B, K)
        Bk = anp.dot(B, k)
        mu = anp.linalg.solve(anp.eye(n) - g * F, problem.mu0 + g * Bk / (1 - g))
        Fm = anp.dot(F, mu)
        Wc = anp.dot(B * s ** 2, B.T) + W
        C = (X0 + g * (anp.outer(Fm, Bk) + anp.outer(Bk, Fm))
             + g * (anp.outer(Bk, Bk) + Wc) / (1 - g))
        M = anp.eye(n * n) - g * anp.kron(F, F)
        X = anp.reshape(anp.linalg.solve(M, anp.reshape(C, (n * n,))), (n, n))
        QK = Q + anp.dot(K.T, anp.dot(R, K)) + anp.dot(N, K) + anp.dot(K.T, N.T)
        return -(anp.sum(QK * X) + 2 * anp.dot(mu, anp.dot(anp.dot(K.T, R) + N, k))
                 + (anp.dot(k, anp.dot(R, k)) + anp.sum(anp.diag(R) * s ** 2)) / (1 - g))
    mu, X = problem.mu0, X0
    total = 0.0
    for t in range(problem.horizon):
        K, k, ls = policy.params(theta, t)
        s = anp.exp(ls)
        total = total + g ** t * stage(K, k, s, mu, X)
        F = A + anp.dot(B, K)
        Bk = anp.dot(B, k)
        Fm = anp.dot(F, mu)
        X = (anp.dot(F, anp.dot(X, F.T)) + anp.outer(Fm, Bk) + anp.outer(Bk, Fm)
             + anp.outer(Bk, Bk) + anp.dot(B * s ** 2, B.T) + W)
        mu = Fm + Bk
    total = total + g ** problem.horizon * anp.sum(problem.Q_T * X)
    return -total


def objective(problem, policy, theta, *, method: str = "values") -> float:
    """J(θ) = E[Σ_t γ^t r_t (+ γ^T r_T)] exactly.

    Args:
      method: ``"values"`` (backward Lyapunov recursion, module docstring) or
        ``"moments"`` (forward state moments; the route autograd differentiates).

    Raises:
      DivergentPolicyError: infinite horizon with ρ(√γ (A + BK)) ≥ 1.

    Examples:
      >>> import numpy as np
      >>> from pgmath.lqr import LQRProblem, GaussianLinearPolicy
      >>> prob = LQRProblem(A=[[1.0]], B=[[1.0]], Q=[[1.0]], R=[[1.0]],
      ...                   mu0=[1.0], horizon=1)
      >>> pol = GaussianLinearPolicy(1, 1)
      >>> round(objective(prob, pol, pol.pack([[-0.5]], [0.0], [0.0])), 12)  # −(1 + 0.25 + 1)
      -2.25
    """
    if method == "values":
        return _objective_values(problem, policy, theta)
    if method == "moments":
        theta = _check(problem, policy, theta)
        if problem.horizon is None:
            _check_stable(problem, policy, theta)
        return float(_objective_moments(problem, policy, theta))
    raise InvalidArgumentError(f"method must be 'values' or 'moments', got {method!r}")


def _gradient_closed_form(problem, policy, theta) -> np.ndarray:
    theta = _check(problem, policy, theta)
    g = problem.discount
    if problem.horizon is None:
        # stationary P, p; μ, X are the discounted sums Σ_t γ^t μ_t, Σ_t γ^t X_t, and the
        # per-step constant terms sum to 1/(1 − γ)
        P, p, _ = value_matrices(problem, policy, theta)
        mu, X = state_moments(problem, policy, theta)
        a = _Arrays.of(problem, policy, theta)
        return _gradient_terms(a, P[None].repeat(2, 0), p[None].repeat(2, 0), mu[None], X[None],
                               [1.0], [1.0 / (1.0 - g)])[0]
    return _fold(policy, _gradient_finite(_Arrays.of(problem, policy, theta)))


def _gradient_finite(a: _Arrays) -> np.ndarray:
    P, p, _ = _values_finite(a)
    mu, X = _moments_finite(a)
    w = a.g ** np.arange(a.Ks.shape[0])
    return _gradient_terms(a, P, p, mu, X, w, w)


def _fold(policy, per_step: np.ndarray) -> np.ndarray:
    """``[d]``: the per-step blocks as θ (time-varying) or summed (one shared block)."""
    return per_step.ravel() if policy.time_varying else per_step.sum(axis=0)


def gradient_magnitude(problem, policy, theta) -> tuple[np.ndarray, int]:
    """(``[d]`` the closed-form gradient run on magnitudes, K): with it,
    |fl(∇J) − ∇J| ≤ γ_K · magnitude (Higham, *Accuracy and Stability of Numerical
    Algorithms*, §3.1: every term's relative error is at most γ_K, K the roundings along
    its path, here K = T (12 n + 6 m + 64) + 64). Finite horizon only."""
    theta = _check(problem, policy, theta)
    if problem.horizon is None:
        raise InvalidArgumentError("gradient_magnitude needs a finite horizon")
    a = _Arrays.of(problem, policy, theta).absolute()
    T, n, m = problem.horizon, problem.n_states, problem.n_actions
    return np.abs(_fold(policy, _gradient_finite(a))), int(T * (12 * n + 6 * m + 64) + 64)


def gradient(problem, policy, theta, *, method: str = "closed_form") -> np.ndarray:
    """``[d]`` ∇J(θ) exactly.

    Args:
      method: ``"closed_form"`` (Fazel et al.'s expression with the value and state-moment
        recursions, module docstring) or ``"autograd"`` (autograd through
        ``objective(..., method="moments")``).
    """
    if method == "closed_form":
        return _gradient_closed_form(problem, policy, theta)
    if method == "autograd":
        theta = _check(problem, policy, theta)
        if problem.horizon is None:
            _check_stable(problem, policy, theta)
        return np.asarray(autograd.grad(lambda th: _objective_moments(problem, policy, th))(theta))
    raise InvalidArgumentError(f"method must be 'closed_form' or 'autograd', got {method!r}")


def optimal_gain(problem):
    """(K*, P): the optimal linear feedback and its value matrix (Riccati; k* = 0).

    Finite horizon: K* ``[T, m, n]``, P ``[T+1, n, n]`` with P_T = Q_T,
    R̃_t = R + γBᵀP_{t+1}B, K*_t = −R̃_t⁻¹(Nᵀ + γBᵀP_{t+1}A),
    P_t = Q + γAᵀP_{t+1}A − (N + γAᵀP_{t+1}B) R̃_t⁻¹ (Nᵀ + γBᵀP_{t+1}A).
    Infinite horizon: the stabilising solution of the discounted algebraic Riccati
    equation (``scipy.linalg.solve_discrete_are`` with √γA, √γB) and K* ``[m, n]``.

    Raises:
      InvalidMDPError: R̃_t is singular (the optimal action is not unique).
    """
    A, B, Q, R, N, g = problem.A, problem.B, problem.Q, problem.R, problem.N, problem.discount

    def gain(Pn):
        Rt = R + g * B.T @ Pn @ B
        if np.linalg.eigvalsh((Rt + Rt.T) / 2)[0] <= 1e-12 * max(1.0, np.abs(Rt).max()):
            raise InvalidMDPError("R + γBᵀPB is singular: the optimal action is not unique "
                                  "(make R positive definite)")
        return -np.linalg.solve(Rt, N.T + g * B.T @ Pn @ A)

    if problem.horizon is None:
        P = linalg.solve_discrete_are(np.sqrt(g) * A, np.sqrt(g) * B, Q, R, s=N)
        P = (P + P.T) / 2
        return gain(P), P
    T, n = problem.horizon, A.shape[0]
    P = np.zeros((T + 1, n, n))
    K = np.zeros((T, B.shape[1], n))
    P[T] = problem.Q_T
    for t in range(T - 1, -1, -1):
        K[t] = gain(P[t + 1])
        F = A + B @ K[t]
        Pt = Q + K[t].T @ R @ K[t] + N @ K[t] + K[t].T @ N.T + g * F.T @ P[t + 1] @ F
        P[t] = (Pt + Pt.T) / 2
    return K, P


def optimal_objective(problem) -> float:
    """J* = sup_θ J(θ), attained by u = K*x in the limit σ → 0:
    −(tr(P_0 (Σ₀ + μ₀μ₀ᵀ)) + Σ_{t<T} γ^{t+1} tr(P_{t+1} W)) (finite horizon), and
    −(tr(P (Σ₀ + μ₀μ₀ᵀ)) + γ tr(PW)/(1 − γ)) (discounted infinite horizon)."""
    _, P = optimal_gain(problem)
    X0 = problem.Sigma0 + np.outer(problem.mu0, problem.mu0)
    g = problem.discount
    if problem.horizon is None:
        return float(-(np.sum(P * X0) + g * np.sum(P * problem.W) / (1 - g)))
    T = problem.horizon
    noise = sum(g ** (t + 1) * np.sum(P[t + 1] * problem.W) for t in range(T))
    return float(-(np.sum(P[0] * X0) + noise))

