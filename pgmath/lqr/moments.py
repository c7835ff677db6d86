"""Exact mean and covariance of score-function estimators on linear-quadratic problems.

**The lifted Gaussian state.** With a linear-Gaussian policy, z_t = (x_t, ε_t) is a
linear-Gaussian Markov chain: x_{t+1} = F_t x_t + c_t + G_t ε_t + w_t (F_t = A + BK_t,
c_t = Bk_t, G_t = B diag σ_t), ε_{t+1} fresh. The score ψ_t, the discounted reward
ρ_t = γ^t r_t and a quadratic baseline are polynomials of degree ≤ 2 in z_t, so an
estimator g = Σ_t ψ_t ⊙ [η_t ρ_t + κ_t Σ_{t'>t} ρ_{t'} + β_t Σ_{t'<t} ρ_{t'} − b_t(x_t) − ω_t b]
(:class:`~pgmath.lqr.weights.LQRWeights`; ρ_T = γ^T r_T is in every future sum) is a
polynomial of degree 4 in Gaussians, and g gᵀ one of degree 8.

**A linear accumulator** (DESIGN §3). Y_t = (1, S_t, Φ_t, g_t) with the past rewards
S_t = Σ_{t'<t} ρ_{t'}, the κ-weighted past scores Φ_t = Σ_{t'<t} κ_{t'} ψ_{t'} and the
partial estimate g_t obeys

    S_{t+1} = S_t + ρ_t,   Φ_{t+1} = Φ_t + κ_t ψ_t,
    g_{t+1} = g_t + ψ_t ⊙ a_t + β_t ψ_t S_t + ρ_t Φ_t,   a_t = η_tρ_t − b_t(x_t) − ω_t b,

and g = g_T + ρ_T Φ_T: Y_{t+1} = M(z_t) Y_t with M polynomial in z_t.

**Forward moment recursion with polynomial test functions.** Conditional on x_t the
future is independent of the past, and E[Y_a Y_b | x_t] is a polynomial in x_t, so the
joint moments E[Y_a Y_b x_t^α] for |α| ≤ 8 − deg Y_a − deg Y_b (deg 1 = 0, deg S = deg Φ = 2,
deg g = 4) carry everything the future needs. One step maps them forward:

    E[Y'_a Y'_b x_{t+1}^α] = Σ_{c,e} E[Y_c Y_e · M_ac(z_t) M_be(z_t) · E_w[(F_t x_t + c_t + G_t ε_t + w)^α]],

where the right side is a polynomial in z_t = (x_t, ε_t) averaged against E[Y_cY_e z_t^γ] =
E[Y_cY_e x_t^{γ_x}] E[ε^{γ_ε}] (ε_t is independent of the past; E[ε^β] = Π(β_i − 1)!!,
Isserlis), and E_w is Gaussian smoothing (:mod:`pgmath.lqr.polynomials`). The products
whose moments are largest (the d × d blocks) need the fewest test functions (g gᵀ needs
α = 0 only), so the cost is O(T (d² C(n+m+4, 4)² + C(n+m+8, 8))) arithmetic: polynomial
in T, no sampling, no enumeration. E[S_T + ρ_T] is J(θ), returned as a check against
:func:`pgmath.lqr.objective`.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import EstimatorError, InvalidArgumentError
from .estimators import constant_baseline
from .polynomials import MonomialBasis, basis
from .policies import GaussianLinearPolicy

__all__ = ["LQRMoments", "estimator_moments", "weights_moments", "lifted_model",
           "rounding_depth", "optimal_constant_baseline"]


@dataclass(frozen=True, eq=False)
class LQRMoments:
    """Exact moments of one row g(τ) of an estimator.

    Attributes:
      mean: ``[d]`` E g; second: ``[d, d]`` E g gᵀ; cov: ``[d, d]`` Cov g.
      objective: E[Σ_t γ^t r_t + γ^T r_T] from the same recursion (equals J(θ)).
    """

    mean: np.ndarray
    second: np.ndarray
    cov: np.ndarray
    objective: float

    @property
    def variance(self) -> np.ndarray:
        """``[d]`` Var g_j."""
        return np.diag(self.cov).copy()


@dataclass(frozen=True)
class _Step:
    F: np.ndarray      # [n, n]
    c: np.ndarray      # [n]
    G: np.ndarray      # [n, m]
    psi: np.ndarray    # [d, Mz(2)]  ψ_t(z)
    rho: np.ndarray    # [Mz(2)]     γ^t r_t(z)


class _Magnitudes:
    """A problem with every matrix replaced by its magnitude |·| (entrywise), for the run
    of the recursion that bounds its rounding error (no validation: |Q| need not be PSD)."""

    def __init__(self, problem) -> None:
        for name in ("A", "B", "Q", "R", "N", "Q_T", "W", "mu0", "Sigma0"):
            setattr(self, name, np.abs(getattr(problem, name)))
        self.discount, self.horizon = problem.discount, problem.horizon
        self.n_states, self.n_actions = problem.n_states, problem.n_actions


def lifted_model(problem, policy, theta, zbasis: MonomialBasis, *,
                 absolute: bool = False) -> list[_Step]:
    """Per step: the transition (F_t, c_t, G_t) of the lifted state z = (x, ε) and ψ_t(z),
    ρ_t(z) as coefficient arrays in ``zbasis`` (module docstring). ``absolute``: every
    number replaced by its magnitude (pass a :class:`_Magnitudes` problem), signs all +."""
    if not isinstance(policy, GaussianLinearPolicy):
        raise InvalidArgumentError(
            f"the moment recursion needs a linear-Gaussian policy (a lifted Gaussian state); "
            f"got {policy!r}")
    theta = policy.check_theta(theta)
    T = problem.horizon
    n, m = problem.n_states, problem.n_actions
    p = n + m
    d, bs = policy.n_params, policy.block_size
    Ks, ks, ss = policy.gains(theta, T)
    sg = 1.0 if absolute else -1.0
    if absolute:
        Ks, ks = np.abs(Ks), np.abs(ks)
    X = np.hstack([np.eye(n), np.zeros((n, m))])
    Q, R, N = problem.Q, problem.R, problem.N
    steps = []
    for t in range(T):
        K, k, s = Ks[t], ks[t], ss[t]
        off = t * bs if policy.time_varying else 0
        M2 = np.zeros((d, p, p))
        v = np.zeros((d, p))
        c0 = np.zeros(d)
        for i in range(m):
            for j in range(n):
                M2[off + i * n + j, j, n + i] = 1.0 / s[i]      # ε_i x_j / σ_i
            v[off + m * n + i, n + i] = 1.0 / s[i]              # ε_i / σ_i
            M2[off + m * n + m + i, n + i, n + i] = 1.0         # ε_i² − 1
            c0[off + m * n + m + i] = sg
        U = np.hstack([K, np.diag(s)])
        XNU = X.T @ N @ U
        quad = X.T @ Q @ X + U.T @ R @ U + XNU + XNU.T
        lin = 2 * U.T @ R @ k + 2 * X.T @ N @ k
        g = problem.discount ** t
        rho = zbasis.quadratic(sg * g * quad, sg * g * lin, np.array(sg * g * (k @ R @ k)))
        steps.append(_Step(F=problem.A + problem.B @ K, c=problem.B @ k, G=problem.B @ np.diag(s),
                           psi=zbasis.quadratic(M2, v, c0), rho=rho))
    return steps


#: Largest d² · C(n + 4, 4) (entries of the d × d moment blocks) the recursion accepts.
MAX_BLOCK = 50_000_000


def _check_size(problem, policy) -> None:
    d, n = policy.n_params, problem.n_states
    size = d * d * comb(n + 4, 4)
    if size > MAX_BLOCK:
        raise InvalidArgumentError(
            f"{policy!r} has d = {d} parameters: the d × d moment blocks would hold "
            f"d² · C(n + 4, 4) = {size:.3g} numbers (more than {MAX_BLOCK:.0e}); use a "
            "time-invariant policy or a shorter horizon")


def rounding_depth(problem) -> int:
    """K, a bound on the roundings along any path of the moment recursion:

        K = T (M_x + 3 M_z + M_4² + 8 (n + m + 2) + 4 n² + 96) + M_x + 64,

    M_x = C(n + 8, 8), M_z = C(n + m + 8, 8), M_4 = C(n + m + 4, 4): per step, the pull
    matrix (substitution: ≤ 8 (n + m + 2) roundings; smoothing: ≤ 4n² + 5; their product:
    a sum of M_x terms), each expectation (two sums of ≤ M_z terms), the multipliers
    (products: sums of ≤ M_4² terms) and the ≤ 16 terms of each block; then x₀'s moments.
    A sum of k terms adds at most k − 1 roundings to each term, in any order (Higham,
    eq. 3.5)."""
    T, n, m = problem.horizon, problem.n_states, problem.n_actions
    Mx, Mz, M4 = comb(n + 8, 8), comb(n + m + 8, 8), comb(n + m + 4, 4)
    return int(T * (Mx + 3 * Mz + M4 * M4 + 8 * (n + m + 2) + 4 * n * n + 96) + Mx + 64)


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a [..., k] @ b [k, l]`` as one 2-D BLAS product."""
    return (np.ascontiguousarray(a).reshape(-1, a.shape[-1]) @ b).reshape(*a.shape[:-1], -1)


class _Engine:
    """The polynomial bases, lift and pull maps of one problem (module docstring)."""

    def __init__(self, problem) -> None:
        n, m = problem.n_states, problem.n_actions
        self.n = n
        self.xb = basis(n, 8)
        self.zb = basis(n + m, 8)
        self.W = problem.W
        self._lift = {}
        self._pull_key = None

    def lift(self, mx: np.ndarray) -> np.ndarray:
        """E[Y z^γ] ``[..., Mz(D)]`` from E[Y x^β] ``[..., Mx(D)]`` (ε independent of Y, x)."""
        D = self.xb._degree_of(mx)
        if D not in self._lift:
            self._lift[D] = self.zb.normal_integration_matrix(self.n, D).T.tocsr()
        flat = mx.reshape(-1, mx.shape[-1])
        return np.asarray((self._lift[D].T @ flat.T).T).reshape(*mx.shape[:-1], -1)

    def set_step(self, F: np.ndarray, c: np.ndarray, G: np.ndarray) -> None:
        """Pull ``[Mx(8), Mz(8)]``: row α holds E_w[(F x + c + G ε + w)^α] as a polynomial in z."""
        key = (F.tobytes(), c.tobytes(), G.tobytes())
        if key == self._pull_key:
            return
        xb, zb = self.xb, self.zb
        S = xb.substitution_matrix(zb, np.hstack([F, G]), c, 8)
        pull = xb.smooth(np.eye(xb.size(8)), self.W) @ S
        # contiguous transposes per output degree: BLAS needs them (a strided operand
        # sends numpy's stacked matmul to a slow loop)
        self.pullT = {D: np.ascontiguousarray(pull[:xb.size(D), :zb.size(D)].T)
                      for D in (0, 2, 4, 6, 8)}
        self._pull_key = key

    def expect(self, mz: np.ndarray, C: np.ndarray | None, spec: str, Dout: int) -> np.ndarray:
        """E[Y · C(z) · x_{t+1}^α] ``[pout..., Mx(Dout)]`` from the lifted moments
        ``mz`` = E[Y z^γ] (Σ_{a,b} C[a] E[Y z^{a+b}] Pull[α, b]); ``spec`` names the
        payload axes of Y and of C, e.g. ``"i,j->ij"`` (matrix products, BLAS)."""
        zb = self.zb
        PT = self.pullT[Dout]
        if C is None:
            return _mm(np.ascontiguousarray(mz[..., :zb.size(Dout)]), PT)
        H = mz[..., zb.product_index(zb._degree_of(C), Dout)]
        lhs, out = spec.split("->")
        pb, pc = lhs.split(",")
        if pb and pc:  # one payload axis each: [pb, pc, b] then the order asked for
            r = np.matmul(C[None], H)
            r = r if out == pb + pc else np.swapaxes(r, 0, 1)
        else:
            r = C @ H
        return _mm(r, PT)

    def pair(self, mz: np.ndarray, C1: np.ndarray, C2: np.ndarray) -> np.ndarray:
        """``[i, j, 1]`` E[Y C1_i(z) C2_j(z)] = Σ_{a,b} C1_i[a] E[Y z^{a+b}] C2_j[b] for a
        scalar Y (the test function 1 of degree 0: the last axis)."""
        zb = self.zb
        H = mz[zb.product_index(zb._degree_of(C1), zb._degree_of(C2))]
        return (C1 @ H @ C2.T)[..., None]


def weights_moments(spec, problem, policy, theta, *, absolute: bool = False) -> LQRMoments:
    """Exact moments of the estimator described by ``spec`` (module docstring).

    ``absolute=True`` runs the same recursion on the magnitudes of every input (the
    problem's matrices, K, k, the weights; σ > 0 kept) with every sign made +: its
    ``mean`` then bounds Σ|terms| of E g, and |fl(E g) − E g| ≤ γ_K · that (Higham,
    *Accuracy and Stability of Numerical Algorithms*, §3.1), K = :func:`rounding_depth`.
    Runs with one BLAS thread: the recursion's matrix products are small, and threads
    fighting for a loaded core made it ten times slower here (as in
    :mod:`pgmath.exact.recursion`).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _weights_moments(spec, problem, policy, theta, absolute=absolute)


def _weights_moments(spec, problem, policy, theta, *, absolute: bool = False) -> LQRMoments:
    T = problem.horizon
    if T is None:
        raise EstimatorError(f"{problem!r} has an infinite horizon: estimator moments need a "
                             "finite T (use problem.with_horizon(T))")
    if spec.T != T:
        raise EstimatorError(f"the description is for T = {spec.T} but the problem has T = {T}")
    n, m = problem.n_states, problem.n_actions
    d = policy.n_params
    _check_size(problem, policy)
    sg = 1.0 if absolute else -1.0
    if absolute:
        problem = _Magnitudes(problem)
        spec = spec.absolute()
    eng = _Engine(problem)
    xb, zb = eng.xb, eng.zb
    mul, Mx, Mz = zb.multiply, xb.size, zb.size
    steps = lifted_model(problem, policy, theta, zb, absolute=absolute)
    Xz = np.hstack([np.eye(n), np.zeros((n, m))])
    offset = np.zeros(d) if spec.offset is None else np.broadcast_to(spec.offset, (d,))

    # E[x_0^β] for |β| ≤ 8 (Isserlis, as Gaussian smoothing), every accumulator 0 at t = 0
    m11 = xb.smooth(np.eye(Mx(8)), problem.Sigma0) @ xb.monomials(problem.mu0)
    mS, mP, mG = np.zeros(Mx(6)), np.zeros((d, Mx(6))), np.zeros((d, Mx(4)))
    mSS, mSP, mSG = np.zeros(Mx(4)), np.zeros((d, Mx(4))), np.zeros((d, Mx(2)))
    mPP, mPG, mGG = np.zeros((d, d, Mx(4))), np.zeros((d, d, Mx(2))), np.zeros((d, d, 1))

    for t in range(T):
        st = steps[t]
        eng.set_step(st.F, st.c, st.G)
        X = eng.expect
        psi, rho = st.psi, st.rho
        kap, bet = spec.kappa[t], spec.beta[t]
        b_z = (np.zeros(Mz(2)) if spec.H is None else
               zb.quadratic(Xz.T @ spec.H[t] @ Xz, Xz.T @ spec.h[t], np.array(spec.h0[t])))
        a = np.broadcast_to(spec.eta[t] * rho + sg * b_z, (d, Mz(2))).copy()
        a[:, 0] += sg * spec.omega[t] * offset
        A = mul(psi, a, "i,i->i")                    # ψ ⊙ a          [d, Mz4]
        rr = mul(rho, rho, ",->")                    # ρ²             [Mz4]
        rpsi = mul(rho, psi, ",i->i")                # ρψ             [d, Mz4]
        rA = mul(rho, A, ",i->i")                    # ρ ψ⊙a          [d, Mz6]
        rrpsi = mul(rr, psi, ",i->i")                # ρ²ψ            [d, Mz6]
        psipsi = mul(psi, psi, "i,j->ij")            # ψψᵀ            [d, d, Mz4]
        psiA = mul(psi, A, "i,j->ij")                # ψ_i (ψ⊙a)_j    [d, d, Mz6]
        z11, zS, zP, zG = eng.lift(m11), eng.lift(mS), eng.lift(mP), eng.lift(mG)
        zSS, zSP, zSG = eng.lift(mSS), eng.lift(mSP), eng.lift(mSG)
        zPP, zPG = eng.lift(mPP), eng.lift(mPG)

        n11 = X(z11, None, "", 8)
        nS = X(zS, None, "", 6) + X(z11, rho, ",->", 6)
        nP = X(zP, None, "", 6) + kap * X(z11, psi, ",i->i", 6)
        nG = (X(zG, None, "", 4) + X(z11, A, ",i->i", 4) + bet * X(zS, psi, ",i->i", 4)
              + X(zP, rho, "i,->i", 4))
        nSS = X(zSS, None, "", 4) + 2 * X(zS, rho, ",->", 4) + X(z11, rr, ",->", 4)
        nSP = (X(zSP, None, "", 4) + X(zP, rho, "i,->i", 4) + kap * X(zS, psi, ",i->i", 4)
               + kap * X(z11, rpsi, ",i->i", 4))
        nSG = (X(zSG, None, "", 2) + X(zS, A, ",i->i", 2) + bet * X(zSS, psi, ",i->i", 2)
               + X(zSP, rho, "i,->i", 2) + X(zG, rho, "i,->i", 2) + X(z11, rA, ",i->i", 2)
               + bet * X(zS, rpsi, ",i->i", 2) + X(zP, rr, "i,->i", 2))
        KP = kap * X(zP, psi, "i,j->ij", 4)
        nPP = X(zPP, None, "", 4) + KP + np.swapaxes(KP, 0, 1) + kap ** 2 * X(z11, psipsi, ",ij->ij", 4)
        nPG = (X(zPG, None, "", 2) + X(zP, A, "i,j->ij", 2) + bet * X(zSP, psi, "i,j->ij", 2)
               + X(zPP, rho, "ij,->ij", 2) + kap * X(zG, psi, "j,i->ij", 2)
               + kap * X(z11, psiA, ",ij->ij", 2) + kap * bet * X(zS, psipsi, ",ij->ij", 2)
               + kap * X(zP, rpsi, "j,i->ij", 2))
        half = (X(zG, A, "i,j->ij", 0) + bet * X(zSG, psi, "i,j->ij", 0)
                + np.swapaxes(X(zPG, rho, "ij,->ij", 0), 0, 1)
                + bet * eng.pair(zS, A, psi)
                + X(zP, rA, "j,i->ij", 0) + bet * X(zSP, rpsi, "j,i->ij", 0))
        nGG = (mGG + half + np.swapaxes(half, 0, 1) + eng.pair(z11, A, A)
               + bet ** 2 * X(zSS, psipsi, ",ij->ij", 0) + X(zPP, rr, "ij,->ij", 0))
        m11, mS, mP, mG, mSS, mSP, mSG, mPP, mPG, mGG = (n11, nS, nP, nG, nSS, nSP, nSG, nPP,
                                                         nPG, nGG)

    # the terminal reward ρ_T = γ^T r_T(x_T) closes every future sum: g = g_T + ρ_T Φ_T
    rT = xb.quadratic(sg * problem.discount ** T * problem.Q_T, np.zeros(n), np.array(0.0))
    rT2 = xb.multiply(rT, rT, ",->")
    mean = mG[:, 0] + mP[:, :Mx(2)] @ rT
    cross = mPG @ rT
    second = mGG[:, :, 0] + cross + cross.T + mPP @ rT2
    second = (second + second.T) / 2
    J = float(mS[0] + m11[:Mx(2)] @ rT)
    return LQRMoments(mean=mean, second=second, cov=second - np.outer(mean, mean), objective=J)


def estimator_moments(estimator, problem, policy, theta) -> LQRMoments:
    """Exact mean and covariance of one row of a built-in estimator (one that carries
    ``lqr_weights``), by the backward moment recursion (module docstring).

    Raises:
      EstimatorError: the estimator has no ``lqr_weights`` description, or the problem
        has an infinite horizon.
    """
    build = getattr(estimator, "lqr_weights", None)
    if not callable(build):
        raise EstimatorError(
            f"{getattr(estimator, '__name__', estimator)!r} has no lqr_weights description: "
            "its exact moments come from pgmath.lqr.quadrature_moments on small problems")
    if problem.horizon is None:
        raise EstimatorError(f"{problem!r} has an infinite horizon: estimator moments need a "
                             "finite T (use problem.with_horizon(T))")
    return weights_moments(build(problem.horizon, problem.discount), problem, policy, theta)


def optimal_constant_baseline(problem, policy, theta, *, base: str = "reward_to_go") -> np.ndarray:
    """``[d]`` the per-component constant b minimising Var g_j of ``constant_baseline(b)``.

    Var(g_j − b_j Ψ_j) with Ψ = Σ_t ψ_t is a quadratic in b_j with minimiser
    b_j = E[g_j Ψ_j] / E[Ψ_j²] (notes §4.3.2, read per component); the quadratic's
    coefficients come from E[(g_j − b_jΨ_j)²] at b = 0, 1, 2 (three exact recursions).
    """
    second = [np.diag(estimator_moments(constant_baseline(b, base=base), problem, policy,
                                        theta).second) for b in (0.0, 1.0, 2.0)]
    # s(b) = s0 − 2b c + b² q  →  q = (s2 − 2 s1 + s0)/2,  c = (s0 − s1 + q)/2
    q = (second[2] - 2 * second[1] + second[0]) / 2
    c = (second[0] - second[1] + q) / 2
    return np.where(q > 0, c / np.where(q > 0, q, 1.0), 0.0)
