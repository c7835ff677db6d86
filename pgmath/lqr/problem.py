"""Linear-quadratic problems: linear dynamics, Gaussian noise, quadratic rewards.

    x_{t+1} = A x_t + B u_t + w_t,   w_t ~ N(0, W),   x_0 ~ N(μ₀, Σ₀),
    r_t = −(x_tᵀ Q x_t + u_tᵀ R u_t + 2 x_tᵀ N u_t),   t = 0..T−1,
    r_T = −x_Tᵀ Q_T x_T   (terminal reward, finite horizon only),

    J = E[Σ_{t<T} γ^t r_t + γ^T r_T]   (finite horizon T, γ ∈ (0, 1]),
    J = E[Σ_{t≥0} γ^t r_t]             (infinite horizon, γ < 1).

Shapes: x ∈ ℝⁿ, u ∈ ℝᵐ; A ``[n, n]``, B ``[n, m]``, Q ``[n, n]``, R ``[m, m]``,
N ``[n, m]`` (cross term), Q_T ``[n, n]``, W ``[n, n]``, μ₀ ``[n]``, Σ₀ ``[n, n]``.
Code indexes time t = 0..T−1 (the notes use 1..T). The cost matrices must be symmetric
and the stage cost positive semi-definite ([[Q, N], [Nᵀ, R]] ⪰ 0), Q_T ⪰ 0; W and Σ₀
are covariances (symmetric, ⪰ 0; zero is allowed: deterministic dynamics or start).
Source: the linear-quadratic regulator as in Fazel et al. (2018), "Global Convergence of
Policy Gradient Methods for the Linear Quadratic Regulator", with noise, offsets, a cross
term, a terminal cost and discounting added.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidMDPError, ShapeError
from ..mdp import _check_horizon_discount

__all__ = ["LQRProblem", "psd_factor"]

#: Relative tolerance on asymmetry and on negative eigenvalues of a PSD matrix.
PSD_TOL = 1e-10


def _matrix(M, name: str, shape: tuple[int, int]) -> np.ndarray:
    M = np.asarray(M, dtype=float)
    if M.shape != shape:
        raise ShapeError(f"{name} has shape {M.shape}; it must be {list(shape)}")
    if not np.all(np.isfinite(M)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(M))[0])
        raise InvalidMDPError(f"{name}{list(idx)} is not finite: {float(M[idx])!r}")
    return M


def _symmetric_psd(M: np.ndarray, name: str) -> np.ndarray:
    """``M`` symmetrised, after checking |M − Mᵀ| ≤ tol and λ_min ≥ −tol (tol relative)."""
    scale = max(float(np.max(np.abs(M), initial=0.0)), 1e-300)
    asym = np.abs(M - M.T)
    if asym.size and asym.max() > PSD_TOL * scale:
        i, j = (int(v) for v in np.unravel_index(np.argmax(asym), asym.shape))
        raise InvalidMDPError(
            f"{name} must be symmetric: {name}[{i}, {j}] = {M[i, j]!r} but "
            f"{name}[{j}, {i}] = {M[j, i]!r}")
    S = (M + M.T) / 2.0
    if S.size:
        lam = np.linalg.eigvalsh(S)
        if lam[0] < -PSD_TOL * scale:
            raise InvalidMDPError(
                f"{name} must be positive semi-definite; its smallest eigenvalue is {lam[0]:.6g}")
    return S


def psd_factor(S: np.ndarray) -> np.ndarray:
    """``[n, r]`` L with L Lᵀ = S for a symmetric PSD ``S`` ``[n, n]``, r = rank(S).

    From the eigendecomposition S = V diag(λ) Vᵀ, keeping λ > n·ε·λ_max (so a zero
    covariance gives r = 0 columns: no noise to draw).
    """
    lam, V = np.linalg.eigh(S)
    top = float(lam[-1]) if lam.size else 0.0
    keep = lam > max(top, 0.0) * S.shape[0] * np.finfo(float).eps * 4
    return V[:, keep] * np.sqrt(lam[keep])[None, :]


def _realised(L: np.ndarray) -> np.ndarray:
    """L Lᵀ, symmetric."""
    S = L @ L.T
    return (S + S.T) / 2


@dataclass(frozen=True, eq=False)
class LQRProblem:
    """A linear-quadratic problem (module docstring), validated.

    Args:
      A: ``[n, n]`` dynamics; B: ``[n, m]`` control matrix.
      Q: ``[n, n]`` state cost; R: ``[m, m]`` action cost.
      N: ``[n, m]`` cross term (stage cost x'Qx + u'Ru + 2x'Nu), default 0.
      Q_T: ``[n, n]`` terminal cost (finite horizon only), default 0.
      W: ``[n, n]`` covariance of w_t, default 0.
      mu0: ``[n]`` mean of x_0, default 0; Sigma0: ``[n, n]`` covariance of x_0, default 0.
        W and Σ₀ are stored as L Lᵀ of the factors the sampler draws with
        (:func:`psd_factor`: equal to the given matrices up to rounding relative to their
        norm; eigenvalues below n · 4ε · λ_max dropped), so the closed forms, the moment
        recursion, quadrature and sampling all see one covariance.
      horizon: T ≥ 1, or ``None`` for the infinite-horizon discounted problem (γ < 1).
      discount: γ ∈ (0, 1].

    Raises:
      ShapeError: a matrix of the wrong shape (named, with the shape it must have).
      InvalidMDPError: a non-finite entry, an asymmetric or indefinite cost or covariance
        (named, with the entry or the eigenvalue), an infinite horizon with γ = 1 or
        with a terminal cost.

    Examples:
      >>> import numpy as np
      >>> p = LQRProblem(A=[[1.0]], B=[[1.0]], Q=[[1.0]], R=[[0.5]], horizon=3)
      >>> p.n_states, p.n_actions, p.horizon
      (1, 1, 3)
    """

    A: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    N: np.ndarray | None = None
    Q_T: np.ndarray | None = None
    W: np.ndarray | None = None
    mu0: np.ndarray | None = None
    Sigma0: np.ndarray | None = None
    horizon: int | None = None
    discount: float = 1.0
    L0: np.ndarray = field(init=False, repr=False)
    Lw: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        A = np.asarray(self.A, dtype=float)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
            raise ShapeError(f"A must be a square [n, n] matrix with n ≥ 1, got shape {A.shape}")
        n = A.shape[0]
        B = np.asarray(self.B, dtype=float)
        if B.ndim != 2 or B.shape[0] != n or B.shape[1] == 0:
            raise ShapeError(f"B has shape {B.shape}; it must be [n, m] = [{n}, m] with m ≥ 1")
        m = B.shape[1]
        A = _matrix(A, "A", (n, n))
        B = _matrix(B, "B", (n, m))
        Q = _symmetric_psd(_matrix(self.Q, "Q", (n, n)), "Q")
        R = _symmetric_psd(_matrix(self.R, "R", (m, m)), "R")
        N = np.zeros((n, m)) if self.N is None else _matrix(self.N, "N", (n, m))
        if self.N is not None:
            _symmetric_psd(np.block([[Q, N], [N.T, R]]), "the stage cost [[Q, N], [Nᵀ, R]]")
        horizon, discount = _check_horizon_discount(self.horizon, self.discount)
        if horizon is None and discount >= 1.0:
            raise InvalidMDPError("an infinite horizon (horizon=None) needs a discount γ < 1")
        if horizon is None and self.Q_T is not None and np.any(np.asarray(self.Q_T) != 0):
            raise InvalidMDPError("a terminal cost Q_T needs a finite horizon")
        Q_T = np.zeros((n, n)) if self.Q_T is None else _symmetric_psd(
            _matrix(self.Q_T, "Q_T", (n, n)), "Q_T")
        W = np.zeros((n, n)) if self.W is None else _symmetric_psd(_matrix(self.W, "W", (n, n)), "W")
        mu0 = np.zeros(n) if self.mu0 is None else np.asarray(self.mu0, dtype=float)
        if mu0.shape != (n,):
            raise ShapeError(f"mu0 has shape {mu0.shape}; it must be [n] = [{n}]")
        if not np.all(np.isfinite(mu0)):
            raise InvalidMDPError(f"mu0 has a non-finite entry: {mu0.tolist()}")
        Sigma0 = (np.zeros((n, n)) if self.Sigma0 is None
                  else _symmetric_psd(_matrix(self.Sigma0, "Sigma0", (n, n)), "Sigma0"))
        # every route uses the covariances the sampler realises, L Lᵀ of their factors
        # (equal to the given ones up to rounding relative to their norm)
        L0, Lw = psd_factor(Sigma0), psd_factor(W)
        Sigma0, W = _realised(L0), _realised(Lw)
        vals = dict(A=A, B=B, Q=Q, R=R, N=N, Q_T=Q_T, W=W, mu0=mu0, Sigma0=Sigma0,
                    horizon=horizon, discount=discount, L0=L0, Lw=Lw)
        for name, val in vals.items():
            if isinstance(val, np.ndarray):
                val = val.copy()
                val.setflags(write=False)
            object.__setattr__(self, name, val)

    # -- sizes ------------------------------------------------------------------------
    @property
    def n_states(self) -> int:
        """n, the dimension of x."""
        return self.A.shape[0]

    @property
    def n_actions(self) -> int:
        """m, the dimension of u."""
        return self.B.shape[1]

    @property
    def is_finite_horizon(self) -> bool:
        return self.horizon is not None

    @property
    def has_terminal_cost(self) -> bool:
        return bool(np.any(self.Q_T != 0))

    def noise_dimension(self, horizon: int | None = None) -> int:
        """D = rank Σ₀ + T (rank W + m): the number of standard normals a trajectory uses
        (x_0, then w_t and ε_t for t < T)."""
        T = self.horizon if horizon is None else horizon
        if T is None:
            raise InvalidMDPError(f"{self!r} has an infinite horizon: pass horizon")
        return self.L0.shape[1] + T * (self.Lw.shape[1] + self.n_actions)

    # -- derived problems -------------------------------------------------------------
    def _fields(self) -> dict:
        return dict(A=self.A, B=self.B, Q=self.Q, R=self.R, N=self.N,
                    Q_T=self.Q_T if self.horizon is not None else None, W=self.W,
                    mu0=self.mu0, Sigma0=self.Sigma0, horizon=self.horizon,
                    discount=self.discount)

    def with_horizon(self, horizon: int | None) -> "LQRProblem":
        """The same problem with another horizon (a terminal cost needs a finite one)."""
        kw = self._fields()
        if horizon is None:
            kw["Q_T"] = None if not self.has_terminal_cost else self.Q_T
        kw["horizon"] = horizon
        return LQRProblem(**kw)

    def with_discount(self, discount: float) -> "LQRProblem":
        """The same problem with another discount γ."""
        return LQRProblem(**{**self._fields(), "discount": discount})

    def replace(self, **changes) -> "LQRProblem":
        """A copy with some matrices replaced (validated again)."""
        return LQRProblem(**{**self._fields(), **changes})

    # -- rewards ----------------------------------------------------------------------
    def stage_reward(self, x, u):
        """``[...]`` r = −(xᵀQx + uᵀRu + 2xᵀNu) for x ``[..., n]``, u ``[..., m]``."""
        x = np.asarray(x, dtype=float)
        u = np.asarray(u, dtype=float)
        return -(np.einsum("...i,ij,...j->...", x, self.Q, x)
                 + np.einsum("...i,ij,...j->...", u, self.R, u)
                 + 2.0 * np.einsum("...i,ij,...j->...", x, self.N, u))

    def terminal_reward(self, x):
        """``[...]`` r_T = −xᵀ Q_T x for x ``[..., n]``."""
        x = np.asarray(x, dtype=float)
        return -np.einsum("...i,ij,...j->...", x, self.Q_T, x)

    def __repr__(self) -> str:
        T = "∞" if self.horizon is None else self.horizon
        return (f"LQRProblem(n={self.n_states}, m={self.n_actions}, T={T}, "
                f"γ={self.discount:g})")

