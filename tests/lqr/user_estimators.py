"""Continuous-action estimators as a user writes them: numpy, hand-written log-density
gradients, and the planted bugs the check must catch. Imports nothing of pgmath (θ is
unpacked here as (vec K row-major, k, log σ), the layout of GaussianLinearPolicy)."""
import numpy as np


def _unpack(theta, n, m):
    K = theta[:m * n].reshape(m, n)
    return K, theta[m * n:m * n + m], theta[m * n + m:m * n + 2 * m]


def gaussian_score(batch, theta, *, sign=1.0, precision=True):
    """[N, T, d] ∇_θ log N(u; Kx + k, diag σ²) written by hand. ``sign=-1`` flips the sign
    of the log-density's quadratic term (a bug); ``precision=False`` forgets the 1/σ²."""
    x, u = batch.states[:, :-1], batch.actions
    n, m = x.shape[-1], u.shape[-1]
    K, k, ls = _unpack(np.asarray(theta), n, m)
    sig2 = np.exp(2 * ls) if precision else np.ones(m)
    r = u - x @ K.T - k
    dmu = sign * r / sig2
    gK = (dmu[..., :, None] * x[..., None, :]).reshape(*x.shape[:2], m * n)
    gls = sign * r ** 2 / sig2 - 1.0
    return np.concatenate([gK, dmu, gls], axis=-1)


def reinforce_by_hand(batch, policy, theta):
    return gaussian_score(batch, theta).sum(axis=1) * batch.returns()[:, None]


def reinforce_wrong_sign(batch, policy, theta):
    return gaussian_score(batch, theta, sign=-1.0).sum(axis=1) * batch.returns()[:, None]


def reinforce_without_precision(batch, policy, theta):
    return gaussian_score(batch, theta, precision=False).sum(axis=1) * batch.returns()[:, None]


def reward_to_go_by_hand(batch, policy, theta):
    psi = gaussian_score(batch, theta)
    T = batch.horizon
    rho = batch.rewards * batch.discount ** np.arange(T)
    G = np.cumsum(rho[:, ::-1], axis=1)[:, ::-1] + batch.discount ** T * batch.terminal_rewards[:, None]
    return np.einsum("ntd,nt->nd", psi, G)


def pathwise(problem, *, squashed=False, tanh_jacobian=True):
    """The reparameterised gradient ∇_θ Σ_t γ^t r_t through u_t = Kx_t + k + σε_t (or
    a_t = tanh of it) and the known dynamics, by a hand-written adjoint recursion."""
    A, B, Q, R, N, QT, g = (np.asarray(problem.A), np.asarray(problem.B), np.asarray(problem.Q),
                            np.asarray(problem.R), np.asarray(problem.N), np.asarray(problem.Q_T),
                            problem.discount)

    def est(batch, policy, theta):
        x, u, eps = batch.states, batch.actions, batch.noise
        Nb, T, m = u.shape
        n = x.shape[-1]
        K, k, ls = _unpack(np.asarray(theta), n, m)
        sig = np.exp(ls)
        lam = -2 * g ** T * x[:, T] @ QT            # ∂(γ^T r_T)/∂x_T
        gK, gk, gs = np.zeros((Nb, m, n)), np.zeros((Nb, m)), np.zeros((Nb, m))
        for t in range(T - 1, -1, -1):
            xt, at = x[:, t], u[:, t]
            du = -2 * g ** t * (at @ R + xt @ N) + lam @ B       # ∂/∂a_t of the future
            if squashed:
                dv = du * (1 - at ** 2) if tanh_jacobian else du
            else:
                dv = du
            gK += dv[:, :, None] * xt[:, None, :]
            gk += dv
            gs += dv * sig * eps[:, t]
            lam = -2 * g ** t * (xt @ Q + at @ N.T) + lam @ A + dv @ K
        return np.concatenate([gK.reshape(Nb, -1), gk, gs], axis=1)
    return est


def squashed_score(batch, theta, *, log_det=True, atanh=True):
    """[N, 1, d] ∇_θ log π(a|x) for a = tanh(v), v ~ N(Kx + k, σ²), T = 1, written by
    differentiating the user's log-density by hand. With ``atanh`` the Gaussian is
    evaluated at v = atanh(a) and the log-det-Jacobian term −log(1 − a²) is added or not
    (``log_det``; its θ-gradient is 0 either way); without ``atanh`` the Gaussian is
    evaluated at a itself (a bug)."""
    x, a = batch.states[:, :-1], batch.actions
    n, m = x.shape[-1], a.shape[-1]
    K, k, ls = _unpack(np.asarray(theta), n, m)
    v = np.arctanh(np.clip(a, -1 + 1e-16, 1 - 1e-16)) if atanh else a
    r = v - x @ K.T - k
    sig2 = np.exp(2 * ls)
    dmu = r / sig2
    gK = (dmu[..., :, None] * x[..., None, :]).reshape(*x.shape[:2], m * n)
    log_det_grad = np.zeros_like(dmu) if log_det else 0.0   # ∂/∂θ of −log(1 − a²) is 0
    return np.concatenate([gK, dmu + log_det_grad, r ** 2 / sig2 - 1.0], axis=-1)


def squashed_reinforce(*, log_det=True, atanh=True):
    def est(batch, policy, theta):
        psi = squashed_score(batch, theta, log_det=log_det, atanh=atanh)
        return psi.sum(axis=1) * batch.returns()[:, None]
    est.__name__ = f"squashed_reinforce(log_det={log_det}, atanh={atanh})"
    return est


def state_sigma_score(batch, theta, *, chain_rule=True):
    """[N, T, d] ∇_θ log N(u; Kx + k, σ(x)²), log σ(x) = c + Dx, θ = (K, k, c, D) by hand;
    ``chain_rule=False`` forgets that ∂ log σ/∂D = x (uses 1, as if σ did not depend on x)."""
    x, u = batch.states[:, :-1], batch.actions
    n, m = x.shape[-1], u.shape[-1]
    th = np.asarray(theta)
    K, k = th[:m * n].reshape(m, n), th[m * n:m * n + m]
    c, D = th[m * n + m:m * n + 2 * m], th[m * n + 2 * m:].reshape(m, n)
    ls = c + x @ D.T
    r = u - x @ K.T - k
    s2 = np.exp(2 * ls)
    dmu = r / s2
    dls = r ** 2 / s2 - 1.0
    gK = (dmu[..., :, None] * x[..., None, :]).reshape(*x.shape[:2], m * n)
    xD = x if chain_rule else np.ones_like(x)
    gD = (dls[..., :, None] * xD[..., None, :]).reshape(*x.shape[:2], m * n)
    return np.concatenate([gK, dmu, dls, gD], axis=-1)


def state_sigma_reinforce(*, chain_rule=True):
    def est(batch, policy, theta):
        return state_sigma_score(batch, theta, chain_rule=chain_rule).sum(axis=1) \
            * batch.returns()[:, None]
    est.__name__ = f"state_sigma_reinforce(chain_rule={chain_rule})"
    return est
