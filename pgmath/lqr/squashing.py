"""Tanh-squashed Gaussian actions on a one-step problem: exact J, ∇J and estimator means.

The policy a = tanh(v), v = Kx + k + σε (:class:`~pgmath.lqr.policies.SquashedGaussianPolicy`)
on a problem with T = 1 and one action (m = 1). (x, ε, v) are jointly Gaussian, so every
quantity is E[p(x, ε) tanh(v)^q] for a polynomial p: conditional on v, (x, ε) is Gaussian
with a mean affine in v, E[p | v] is a polynomial in v (:mod:`pgmath.lqr.polynomials`), and
what is left are the one-dimensional integrals E[v^j tanh(v)^q], v ~ N(m_v, s_v²).

**Certified one-dimensional integrals.** With v = m + s z, the trapezoidal rule with step h
on |z| ≤ L has error at most

    2 M / (e^{2π a / h} − 1)  +  2 ∫_{L−h}^∞ (|m| + s z)^j φ(z) dz

(Trefethen & Weideman 2014, "The exponentially convergent trapezoidal rule", Thm 5.1, for
an integrand analytic in the strip |Im z| < a with ∫|F(x + iy)|dx ≤ M; then the omitted
tail of a decreasing integrand). On a = π/(4s), |Im v| ≤ π/4 keeps |tanh v| ≤ 1 and
|sech² v| ≤ 2 (|cosh v|² = sinh² Re v + cos² Im v ≥ ½), and |φ(x + iy)| = φ(x) e^{y²/2}, so
M ≤ e^{a²/2} E[(|m| + π/4 + s|Z|)^j]. h and L are chosen to make the bound ≤ 1e-16 (times
the scale); :func:`tanh_moments` returns the bound with the values.

**Two routes to ∇J.** The policy-gradient theorem (T = 1):
∇J = E[ψ(x, ε) Q(x, a)] with ψ the Gaussian score of v and
Q(x, a) = −xᵀ(Q + γAᵀQ_TA)x − r̃ a² − 2a nᵀx − γ tr(Q_T W), r̃ = R + γBᵀQ_TB,
n = N + γAᵀQ_TB; and autograd through J written with Stein's lemma,
J = −tr((Q + γAᵀQ_TA)X₀) − γ tr(Q_T W) − r̃ E[a²] − 2nᵀ(μ₀ E[a] + Σ₀Kᵀ (1 − E[a²])),
(E[x tanh v] = μ₀E[tanh v] + Cov(x, v) E[sech² v]) on fixed trapezoid nodes.

**Estimator means.** :func:`score_function_mean` and :func:`reparameterised_mean` give
E[g] of the score-function estimator (with the log-density of the squashed action, with or
without the log-det-Jacobian term −log(1 − a²), which does not depend on θ; or with the
Gaussian density of a itself, the bug of forgetting atanh) and of the reparameterised
gradient (with or without the chain-rule factor da/dv = 1 − a²).
"""
from __future__ import annotations

from dataclasses import dataclass
from math import gamma as _gamma_fn

import autograd
import autograd.numpy as anp
import numpy as np
from scipy import special

from ..errors import InvalidArgumentError, check_choice
from .polynomials import basis
from .policies import SquashedGaussianPolicy

__all__ = ["TanhMoments", "tanh_moments", "objective", "gradient", "score_function_mean",
           "reparameterised_mean", "SCORE_VARIANTS"]

#: Target of the certified quadrature error (relative to the scale of the integrals).
TARGET = 1e-16
#: The score-function variants :func:`score_function_mean` knows.
SCORE_VARIANTS = ("with_log_det", "without_log_det", "gaussian_of_squashed_action")


def _abs_normal_moment(k: int) -> float:
    """E|Z|^k = 2^{k/2} Γ((k + 1)/2) / √π."""
    return 2 ** (k / 2) * _gamma_fn((k + 1) / 2) / np.sqrt(np.pi)


def _tail(c: float, s: float, j: int, L: float) -> float:
    """A bound on ∫_L^∞ (c + s z)^j φ(z) dz (c ≥ 0): (c + sz)^j ≤ 2^{j−1}(c^j + s^j z^j)."""
    def upper(k):  # ∫_L^∞ z^k φ(z) dz = 2^{k/2 − 1} Γ((k+1)/2, L²/2) / √π
        return 2 ** (k / 2 - 1) * special.gammaincc((k + 1) / 2, L * L / 2) * \
            _gamma_fn((k + 1) / 2) / np.sqrt(np.pi)
    if j == 0:
        return upper(0)
    return 2 ** (j - 1) * (c ** j * upper(0) + s ** j * upper(j))


@dataclass(frozen=True)
class TanhMoments:
    """E[v^j tanh(v)^q] ``[J+1, Q+1]`` for v ~ N(m, s²), with ``bound`` ``[J+1, Q+1]`` on the
    error of each (module docstring); ``nodes``: the trapezoid's points z_k."""

    values: np.ndarray
    bound: np.ndarray
    nodes: np.ndarray
    step: float


def _rule(m: float, s: float, j_max: int):
    """(nodes z_k, step h, error bounds [J+1]) of the certified trapezoid for v = m + s z."""
    a = np.pi / (4 * s)
    c = abs(m) + np.pi / 4
    M = np.array([np.exp(a * a / 2) * sum(special.comb(j, i) * c ** (j - i) * s ** i
                                          * _abs_normal_moment(i) for i in range(j + 1))
                  for j in range(j_max + 1)])
    h = 2 * np.pi * a / np.log(2 * M.max() / TARGET + 1)
    L = 12.0 + np.sqrt(j_max) + h
    nodes = np.arange(-np.floor(L / h), np.floor(L / h) + 1) * h
    trap = 2 * M / np.expm1(2 * np.pi * a / h)
    trunc = np.array([2 * _tail(abs(m), s, j, L - h) for j in range(j_max + 1)])
    return nodes, h, trap + trunc


def tanh_moments(m: float, s: float, j_max: int, q_max: int) -> TanhMoments:
    """E[v^j tanh(v)^q] for 0 ≤ j ≤ ``j_max``, 0 ≤ q ≤ ``q_max``, v ~ N(m, s²), certified.

    For s = 0 the values are exact (v = m). The bound covers the quadrature error
    (module docstring); add rounding (≈ 1e-16 relative) when comparing.
    """
    m, s = float(m), float(s)
    if s < 0 or not np.isfinite(m) or not np.isfinite(s):
        raise InvalidArgumentError(f"need a finite mean and s ≥ 0, got m = {m!r}, s = {s!r}")
    j, q = np.arange(j_max + 1)[:, None], np.arange(q_max + 1)[None, :]
    if s == 0.0:
        return TanhMoments(m ** j * np.tanh(m) ** q, np.zeros((j_max + 1, q_max + 1)),
                           np.zeros(1), 0.0)
    nodes, h, bound = _rule(m, s, j_max)
    v = m + s * nodes
    w = h * np.exp(-nodes ** 2 / 2) / np.sqrt(2 * np.pi)
    vals = np.einsum("k,jk,qk->jq", w, v[None, :] ** j, np.tanh(v)[None, :] ** q.T)
    return TanhMoments(vals, np.broadcast_to(bound[:, None], vals.shape).copy(), nodes, h)


# -- the joint Gaussian (x, ε, v) ----------------------------------------------------------
def _check(problem, policy, theta):
    if not isinstance(policy, SquashedGaussianPolicy):
        raise InvalidArgumentError(f"expected a SquashedGaussianPolicy, got {policy!r}")
    policy.check_compatible(problem)
    if problem.horizon != 1 or problem.n_actions != 1:
        raise InvalidArgumentError(
            "tanh-squashed actions have exact J and ∇J here for T = 1 and one action (m = 1): "
            f"E[tanh(v)²] is a one-dimensional integral then; {problem!r}")
    return policy.check_theta(theta)


@dataclass(frozen=True)
class _Joint:
    """z = (x, ε) ~ N(μ_z, Σ_z), v = ℓᵀz + k; v's mean m and sd s; z | v = a + b v + η."""

    mu_z: np.ndarray
    Sigma_z: np.ndarray
    m: float
    s: float
    a: np.ndarray
    b: np.ndarray
    Sigma_eta: np.ndarray


def _joint(problem, policy, theta) -> _Joint:
    K, k, ls = (np.asarray(v) for v in policy.params(theta))
    n = problem.n_states
    sig = float(np.exp(ls[0]))
    mu_z = np.r_[problem.mu0, 0.0]
    S = np.zeros((n + 1, n + 1))
    S[:n, :n] = problem.Sigma0
    S[n, n] = 1.0
    ell = np.r_[K[0], sig]
    m = float(ell @ mu_z + k[0])
    var = float(ell @ S @ ell)
    cov = S @ ell
    b = cov / var
    Seta = S - np.outer(cov, cov) / var
    return _Joint(mu_z, S, m, np.sqrt(var), mu_z - b * m, b, (Seta + Seta.T) / 2)


def _expect(joint: _Joint, p: np.ndarray, q: int, D: int) -> tuple[np.ndarray, np.ndarray]:
    """(E[p(z) tanh(v)^q], bound) for z-polynomials p ``[..., Mz(D)]``."""
    zb = basis(joint.mu_z.size, D)
    vb = basis(1, D)
    cond = zb.smooth(p, joint.Sigma_eta)               # E[p(a + b v + η) | v] ...
    S = zb.substitution_matrix(vb, joint.b[:, None], joint.a, D)
    coef = cond @ S                                     # ... as a polynomial in v
    tm = tanh_moments(joint.m, joint.s, D, q)
    return coef @ tm.values[:, q], np.abs(coef) @ tm.bound[:, q]


def _score(policy, theta, zb) -> np.ndarray:
    """``[d, Mz(2)]`` ψ(z) of the pre-squash Gaussian: (ε x/σ, ε/σ, ε² − 1)."""
    n = policy.n_states
    sig = float(np.exp(np.asarray(policy.params(theta)[2])[0]))
    d = policy.n_params
    M2 = np.zeros((d, n + 1, n + 1))
    v = np.zeros((d, n + 1))
    c0 = np.zeros(d)
    for j in range(n):
        M2[j, j, n] = 1.0 / sig
    v[n, n] = 1.0 / sig
    M2[n + 1, n, n] = 1.0
    c0[n + 1] = -1.0
    return zb.quadratic(M2, v, c0)


def _q_parts(problem, zb):
    """Q(x, a) = q0(z) + q1(z) a + q2 a² as z-polynomials (module docstring)."""
    A, B, Q, R, N, QT, W, g = (problem.A, problem.B, problem.Q, problem.R, problem.N,
                               problem.Q_T, problem.W, problem.discount)
    n = problem.n_states
    Qx = np.zeros((n + 1, n + 1))
    Qx[:n, :n] = Q + g * A.T @ QT @ A
    q0 = zb.quadratic(-Qx, np.zeros(n + 1), np.array(-g * np.sum(QT * W)))
    nv = (N + g * A.T @ QT @ B)[:, 0]
    q1 = zb.quadratic(np.zeros((n + 1, n + 1)), -2 * np.r_[nv, 0.0], np.array(0.0))
    q2 = float(-(R + g * B.T @ QT @ B)[0, 0])
    return q0, q1, q2


def objective(problem, policy, theta) -> float:
    """J(θ) for T = 1, m = 1 (module docstring: Stein's form, certified quadrature)."""
    theta = _check(problem, policy, theta)
    return float(_objective(problem, policy, theta, None))


def _objective(problem, policy, theta, nodes):
    A, B, Q, R, N, QT, W, g = (problem.A, problem.B, problem.Q, problem.R, problem.N,
                               problem.Q_T, problem.W, problem.discount)
    K, k, ls = policy.params(theta)
    mu, S0 = problem.mu0, problem.Sigma0
    m = anp.dot(K[0], mu) + k[0]
    s = anp.sqrt(anp.dot(K[0], anp.dot(S0, K[0])) + anp.exp(2 * ls[0]))
    if nodes is None:
        nodes, h, _ = _rule(float(m), float(s), 0)
    else:
        h = nodes[1] - nodes[0]
    w = h * np.exp(-nodes ** 2 / 2) / np.sqrt(2 * np.pi)
    t = anp.tanh(m + s * nodes)
    f1, f2 = anp.dot(w, t), anp.dot(w, t * t)
    nv = (N + g * A.T @ QT @ B)[:, 0]
    rt = float((R + g * B.T @ QT @ B)[0, 0])
    X0 = S0 + np.outer(mu, mu)
    Exa = mu * f1 + anp.dot(S0, K[0]) * (1.0 - f2)
    return (-np.sum((Q + g * A.T @ QT @ A) * X0) - g * np.sum(QT * W) - rt * f2
            - 2 * anp.dot(nv, Exa))


def gradient(problem, policy, theta, *, method: str = "pg_theorem") -> np.ndarray:
    """``[d]`` ∇J(θ) for T = 1, m = 1: ``"pg_theorem"`` (E[ψ Q], certified integrals) or
    ``"autograd"`` (through :func:`objective`'s Stein form on fixed nodes)."""
    theta = _check(problem, policy, theta)
    if method == "autograd":
        j = _joint(problem, policy, theta)
        nodes, _, _ = _rule(j.m, j.s, 0)
        return np.asarray(autograd.grad(lambda th: _objective(problem, policy, th, nodes))(theta))
    check_choice("method", method, ("pg_theorem", "autograd"))
    return score_function_mean(problem, policy, theta)[0]


def _mean_of(joint, parts, D) -> tuple[np.ndarray, np.ndarray]:
    """Σ_q E[p_q(z) tanh^q(v)] for ``parts`` = {q: p_q ``[d, Mz(≤ D)]``}, with its bound."""
    zb = basis(joint.mu_z.size, D)
    total, bound = 0.0, 0.0
    for q, p in parts.items():
        pad = np.zeros(p.shape[:-1] + (zb.size(D),))
        pad[..., :p.shape[-1]] = p
        val, bd = _expect(joint, pad, q, D)
        total, bound = total + val, bound + bd
    return total, bound


def score_function_mean(problem, policy, theta, *, variant: str = "with_log_det"
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(E[g], bound) of the score-function estimator g = ψ̂ (r_0 + γ r_T) for T = 1.

    ``variant``: ``"with_log_det"`` and ``"without_log_det"`` differentiate
    log N(atanh a; Kx + k, σ²) ∓ log(1 − a²): the same ψ (the Jacobian term has no θ), so
    the same mean ∇J; ``"gaussian_of_squashed_action"`` differentiates log N(a; Kx + k, σ²)
    (atanh forgotten): ψ̂ = ((a − μ)/σ²)(x, 1) and (a − μ)²/σ² − 1, biased.
    """
    theta = _check(problem, policy, theta)
    check_choice("variant", variant, SCORE_VARIANTS)
    joint = _joint(problem, policy, theta)
    n = problem.n_states
    zb = basis(n + 1, 8)
    q0, q1, q2 = _q_parts(problem, zb)
    mul = zb.multiply
    if variant != "gaussian_of_squashed_action":
        psi = _score(policy, theta, zb)
        parts = {0: mul(psi, q0, "i,->i"), 1: mul(psi, q1, "i,->i"), 2: q2 * psi}
        return _mean_of(joint, parts, 4)
    # ψ̂ with a = tanh v and δ = a − μ(x): ψ̂_K = δ x/σ², ψ̂_k = δ/σ², ψ̂_logσ = δ²/σ² − 1,
    # written ψ̂ = c0(z) + c1(z) a + c2 a² (payload [d], z-polynomials of degree ≤ 2)
    K, k, ls = (np.asarray(v) for v in policy.params(theta))
    sig2 = float(np.exp(2 * ls[0]))
    M2 = zb.size(2)
    mux = zb.quadratic(np.zeros((n + 1, n + 1)), np.r_[K[0], 0.0], np.array(k[0]))
    xs = np.zeros((n + 1, M2))
    xs[:n, 1:n + 1] = np.eye(n)
    xs[n, 0] = 1.0                                      # (x_1, …, x_n, 1)
    d = n + 2
    c0, c1, c2 = np.zeros((d, M2)), np.zeros((d, M2)), np.zeros((d, M2))
    c0[:n + 1] = -mul(xs[:, :zb.size(1)], mux[:zb.size(1)], "i,->i") / sig2
    c0[n + 1] = mul(mux[:zb.size(1)], mux[:zb.size(1)], ",->") / sig2
    c0[n + 1, 0] -= 1.0
    c1[:n + 1] = xs / sig2
    c1[n + 1] = -2 * mux / sig2
    c2[n + 1, 0] = 1.0 / sig2
    parts: dict[int, np.ndarray] = {}
    for i, ci in enumerate((c0, c1, c2)):
        for j, qj in enumerate((q0, q1, q2 * _one(zb))):
            parts[i + j] = parts.get(i + j, 0.0) + mul(ci, qj, "i,->i")
    return _mean_of(joint, parts, 4)


def _one(zb) -> np.ndarray:
    out = np.zeros(zb.size(2))
    out[0] = 1.0
    return out


def reparameterised_mean(problem, policy, theta, *, jacobian: bool = True
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(E[g], bound) of the reparameterised gradient for T = 1:
    g = (∂Q/∂a) · J · ∂v/∂θ with ∂Q/∂a = −2(r̃ a + nᵀx), ∂v/∂θ = (x, 1, σε), and
    J = 1 − a² (``jacobian=True``, the chain rule through tanh) or J = 1 (dropped, biased).
    """
    theta = _check(problem, policy, theta)
    joint = _joint(problem, policy, theta)
    n = problem.n_states
    zb = basis(n + 1, 8)
    _, q1, q2 = _q_parts(problem, zb)
    sig = float(np.exp(np.asarray(policy.params(theta)[2])[0]))
    dv = np.zeros((n + 2, zb.size(1)))
    dv[:n, 1:n + 1] = np.eye(n)
    dv[n, 0] = 1.0
    dv[n + 1, n + 1] = sig                               # σ ε
    # ∂Q/∂a = q1(z) + 2 q2 a ; times J(a) ∈ {1 − a², 1}
    e0 = zb.multiply(dv, q1, "i,->i")                   # [d, Mz3]
    e1 = 2 * q2 * dv                                    # [d, Mz1]
    parts = {0: _pad(e0, zb.size(4)), 1: _pad(e1, zb.size(4))}
    if jacobian:
        parts[2] = -parts[0]
        parts[3] = -parts[1]
    return _mean_of(joint, parts, 4)


def _pad(c: np.ndarray, M: int) -> np.ndarray:
    out = np.zeros(c.shape[:-1] + (M,))
    out[..., :c.shape[-1]] = c
    return out
