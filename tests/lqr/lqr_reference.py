"""An independent route to J(θ) of a linear-Gaussian policy on a linear-quadratic problem,
for the tests of pgmath.lqr; it imports nothing of pgmath.

Every x_t and u_t is an affine function a + Mξ of the trajectory's standard normals ξ
(x_0 = μ₀ + L₀z₀, u_t = K_t x_t + k_t + σ_t ⊙ ε_t, x_{t+1} = A x_t + B u_t + L_w ω_t), so
E[(a + Mξ)ᵀ C (b + Nξ)] = aᵀCb + tr(MᵀCN): J is a sum of such terms.
"""
import numpy as np


def factor(S):
    lam, V = np.linalg.eigh(S)
    keep = lam > 1e-14 * max(lam.max(), 1e-300)
    return V[:, keep] * np.sqrt(lam[keep])


def objective(A, B, Q, R, N, Q_T, W, mu0, Sigma0, Ks, ks, sigmas, gamma):
    """J for per-step gains Ks [T, m, n], ks [T, m], sigmas [T, m] (finite horizon)."""
    A, B, Q, R, N, Q_T, W = (np.asarray(v, float) for v in (A, B, Q, R, N, Q_T, W))
    T, m, n = np.shape(Ks)
    L0, Lw = factor(np.asarray(Sigma0, float)), factor(W)
    r0, rw = L0.shape[1], Lw.shape[1]
    D = r0 + T * (m + rw)
    a = np.asarray(mu0, float).copy()
    M = np.zeros((n, D))
    M[:, :r0] = L0
    J = 0.0
    col = r0
    for t in range(T):
        b = Ks[t] @ a + ks[t]
        Nu = Ks[t] @ M
        Nu[:, col:col + m] += np.diag(sigmas[t])
        cost = (a @ Q @ a + np.sum(M * (Q @ M)) + b @ R @ b + np.sum(Nu * (R @ Nu))
                + 2 * (a @ N @ b + np.sum(M * (N @ Nu))))
        J -= gamma ** t * cost
        a = A @ a + B @ b
        M = A @ M + B @ Nu
        M[:, col + m:col + m + rw] += Lw
        col += m + rw
    J -= gamma ** T * (a @ Q_T @ a + np.sum(M * (Q_T @ M)))
    return J


def central_differences(f, x, h=1e-3):
    """∇f by the 8th-order central stencil (truncation O(h⁸))."""
    c = np.array([4 / 5, -1 / 5, 4 / 105, -1 / 280])
    g = np.zeros_like(x, dtype=float)
    for j in range(x.size):
        e = np.zeros_like(x, dtype=float)
        e[j] = h
        g[j] = sum(ck * (f(x + (k + 1) * e) - f(x - (k + 1) * e)) for k, ck in enumerate(c)) / h
    return g
