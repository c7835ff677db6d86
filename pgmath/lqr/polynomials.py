"""Polynomials in Gaussian variables: the algebra the moment recursion runs on.

A polynomial p(x) = Σ_α c_α x^α in n variables of total degree ≤ D is stored as a
coefficient array ``[..., M]`` over the monomials of a :class:`MonomialBasis` (graded
order, so the monomials of degree ≤ d are the first ``size(d)``); leading axes are a
payload (a vector or matrix of polynomials). The operations, each a linear map on
coefficients:

* products (``multiply``), with an einsum over the payload axes;
* affine substitution p(Lz + c) into another basis (``substitution_matrix``);
* Gaussian smoothing E[p(x + η)], η ~ N(0, Σ): the heat operator
  exp(½ Σ_ij Σ_ij ∂_i∂_j) p = Σ_k (½ ∇ᵀΣ∇)^k p / k! (``smooth``), which terminates at
  k = D/2 — Isserlis' theorem (Wick) written as an operator;
* the expectation over some variables that are independent standard normals,
  E[ε^β] = Π_i (β_i − 1)!! for even β_i, 0 otherwise (``integrate_normals``);
* evaluation at points (``evaluate``).

:func:`gaussian_moment` computes E[x^α] for x ~ N(μ, Σ) by Isserlis' recursion directly,
an independent route used by the tests.
"""
from __future__ import annotations

from functools import lru_cache
from itertools import combinations_with_replacement

import numpy as np
from scipy import sparse

from ..errors import ShapeError

__all__ = ["MonomialBasis", "basis", "gaussian_moment", "double_factorial"]


def double_factorial(k: int) -> int:
    """(k)!! = k (k − 2) (k − 4) … (1 for k ≤ 0)."""
    out = 1
    while k > 1:
        out *= k
        k -= 2
    return out


class MonomialBasis:
    """The monomials x^α of n variables with |α| ≤ D, in graded order.

    Attributes:
      n: variables; D: top degree; exps: ``[M, n]`` exponents; degrees: ``[M]``.
    """

    def __init__(self, n: int, D: int) -> None:
        self.n, self.D = int(n), int(D)
        exps = [np.zeros(self.n, dtype=np.int64)]
        for d in range(1, self.D + 1):
            for combo in combinations_with_replacement(range(self.n), d):
                e = np.zeros(self.n, dtype=np.int64)
                for i in combo:
                    e[i] += 1
                exps.append(e)
        self.exps = np.array(exps, dtype=np.int64).reshape(-1, self.n)
        self.degrees = self.exps.sum(axis=1)
        self._sizes = np.searchsorted(self.degrees, np.arange(self.D + 2), side="left")
        self._radix = self.D + 1
        keys = self._keys(self.exps)
        self._order = np.argsort(keys)
        self._sorted_keys = keys[self._order]

    def size(self, d: int) -> int:
        """The number of monomials of degree ≤ d."""
        return int(self._sizes[min(d, self.D) + 1])

    def _keys(self, exps: np.ndarray) -> np.ndarray:
        return (exps * (self._radix ** np.arange(self.n, dtype=np.int64))).sum(axis=-1)

    def index(self, exps: np.ndarray) -> np.ndarray:
        """``[...]`` the positions of exponent rows ``[..., n]`` (−1 when not in the basis)."""
        exps = np.asarray(exps, dtype=np.int64)
        ok = np.all(exps >= 0, axis=-1) & (exps.sum(axis=-1) <= self.D)
        keys = self._keys(np.where(ok[..., None], exps, 0))
        pos = np.searchsorted(self._sorted_keys, keys)
        pos = np.clip(pos, 0, len(self._sorted_keys) - 1)
        found = ok & (self._sorted_keys[pos] == keys)
        return np.where(found, self._order[pos], -1)

    # -- products ----------------------------------------------------------------------
    def product_index(self, da: int, db: int) -> np.ndarray:
        """``[size(da), size(db)]`` the position of x^{a+b} for monomials a, b (da + db ≤ D)."""
        key = ("mul", da, db)
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            Ma, Mb = self.size(da), self.size(db)
            cache[key] = self.index(self.exps[:Ma, None, :] + self.exps[None, :Mb, :])
        return cache[key]

    def multiply(self, a: np.ndarray, b: np.ndarray, spec: str) -> np.ndarray:
        """The product of two payload polynomials: ``spec`` is an einsum over the payload
        axes only (e.g. ``"i,j->ij"``, ``",i->i"``, ``"ij,ij->ij"``); the degree of each
        factor is read from its last axis (``size(d)`` coefficients)."""
        da, db = self._degree_of(a), self._degree_of(b)
        lhs, out = spec.split("->")
        pa, pb = lhs.split(",")
        outer = np.einsum(f"{pa}y,{pb}z->{out}yz", a, b)
        shape = outer.shape[:-2]
        P = int(np.prod(shape, dtype=np.int64))
        Mc = self.size(da + db)
        idx = self.product_index(da, db).ravel()
        where = (idx[None, :] + Mc * np.arange(P)[:, None]).ravel()
        res = np.bincount(where, weights=outer.reshape(-1), minlength=P * Mc)
        return res.reshape(*shape, Mc)

    def _degree_of(self, c: np.ndarray) -> int:
        M = c.shape[-1]
        d = int(np.searchsorted(self._sizes[1:], M))
        if self.size(d) != M:
            raise ShapeError(f"{M} coefficients is not a full degree of this basis")
        return d

    # -- differentiation and smoothing -------------------------------------------------
    def _derivative(self, i: int, d: int) -> tuple[np.ndarray, np.ndarray]:
        """(source positions, factors) with (∂_i p)[β] = (β_i + 1) p[β + e_i], |β| < d."""
        key = ("der", i, d)
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            M = self.size(d - 1) if d >= 1 else 0
            e = self.exps[:M].copy()
            e[:, i] += 1
            cache[key] = (self.index(e), (self.exps[:M, i] + 1).astype(float))
        return cache[key]

    def _laplacian(self, Sigma: np.ndarray, d: int) -> sparse.csr_matrix:
        """``[size(d), size(d)]`` L with p ↦ ½ Σ_ij Σ_ij ∂_i ∂_j p (as c @ L)."""
        M = self.size(d)
        rows, cols, vals = [], [], []
        Md2 = self.size(d - 2) if d >= 2 else 0
        if Md2 == 0:
            return sparse.csr_matrix((M, M))
        for i in range(self.n):
            for j in range(self.n):
                s = Sigma[i, j]
                if s == 0.0:
                    continue
                e = self.exps[:Md2].copy()
                e[:, i] += 1
                e[:, j] += 1
                src = self.index(e)
                base = self.exps[:Md2]
                # ∂_i∂_j x^{β+e_i+e_j} = (β_i + 1)(β_j + 1) x^β, or (β_i + 2)(β_i + 1) x^β
                fac = np.where(i == j, (base[:, i] + 2) * (base[:, i] + 1),
                               (base[:, i] + 1) * (base[:, j] + 1))
                rows.append(src)
                cols.append(np.arange(Md2))
                vals.append(0.5 * s * fac)
        if not rows:
            return sparse.csr_matrix((M, M))
        rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        return sparse.csr_matrix((vals, (rows, cols)), shape=(M, M))

    def smooth(self, c: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
        """E_η[p(x + η)], η ~ N(0, Σ): Σ_k (c @ L^k)/k! (module docstring), same shape."""
        d = self._degree_of(c)
        L = self._laplacian(np.asarray(Sigma, dtype=float), d)
        shape = c.shape
        flat = c.reshape(-1, shape[-1])
        out = flat.copy()
        term = flat
        for k in range(1, d // 2 + 1):
            term = np.asarray(term @ L) / k
            out = out + term
        return out.reshape(shape)

    # -- substitution --------------------------------------------------------------------
    def substitution_matrix(self, target: "MonomialBasis", L: np.ndarray, c: np.ndarray,
                            d: int) -> np.ndarray:
        """``[size(d), target.size(d)]`` S with (p ∘ (Lz + c)) = p @ S, for p of degree ≤ d
        in this basis' variables x = Lz + c (L ``[n, n_target]``, c ``[n]``)."""
        L = np.asarray(L, dtype=float)
        c = np.asarray(c, dtype=float)
        M, Mt = self.size(d), target.size(d)
        S = np.zeros((M, Mt))
        S[0, 0] = 1.0
        up = [target._up(j, d) for j in range(target.n)]
        for k in range(1, d + 1):
            lo, hi = self.size(k - 1), self.size(k)
            e = self.exps[lo:hi]
            first = np.argmax(e > 0, axis=1)
            parent = e.copy()
            parent[np.arange(hi - lo), first] -= 1
            par = self.index(parent)
            Mp = target.size(k - 1)
            rows = S[par, :Mp]
            new = np.zeros((hi - lo, Mt))
            new[:, :Mp] += c[first][:, None] * rows
            for j in range(target.n):
                coef = L[first, j]
                if np.any(coef != 0):
                    new[:, up[j][:Mp]] += coef[:, None] * rows
            S[lo:hi] = new
        return S

    def _up(self, j: int, d: int) -> np.ndarray:
        """``[size(d−1)]`` positions of x^{β + e_j} for |β| < d."""
        M = self.size(d - 1) if d >= 1 else 0
        e = self.exps[:M].copy()
        e[:, j] += 1
        return self.index(e)

    # -- expectation over standard normals, evaluation ---------------------------------
    def normal_integration_matrix(self, keep: int, d: int) -> sparse.csr_matrix:
        """``[size(d), target.size(d)]`` E over variables ``keep..n−1`` (independent
        N(0, 1)) of a polynomial of degree ≤ d, onto the basis of the first ``keep``
        variables (:attr:`kept_basis`)."""
        key = ("int", keep, d)
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            kb = basis(keep, self.D)
            M = self.size(d)
            e = self.exps[:M]
            eps = e[:, keep:]
            mom = np.prod(np.where(eps % 2 == 0,
                                   np.vectorize(lambda v: double_factorial(v - 1))(eps), 0),
                          axis=1).astype(float)
            ok = mom != 0
            rows = np.flatnonzero(ok)
            cols = kb.index(e[ok, :keep])
            cache[key] = sparse.csr_matrix((mom[ok], (rows, cols)), shape=(M, kb.size(d)))
        return cache[key]

    def integrate_normals(self, c: np.ndarray, keep: int) -> np.ndarray:
        """E over the variables after the first ``keep`` (independent standard normals)."""
        d = self._degree_of(c)
        flat = c.reshape(-1, c.shape[-1])
        return np.asarray(flat @ self.normal_integration_matrix(keep, d)).reshape(
            *c.shape[:-1], -1)

    def monomials(self, x: np.ndarray, d: int | None = None) -> np.ndarray:
        """``[..., size(d)]`` the monomials x^α at points x ``[..., n]``."""
        d = self.D if d is None else d
        x = np.asarray(x, dtype=float)
        e = self.exps[:self.size(d)]
        return np.prod(x[..., None, :] ** e, axis=-1)

    def evaluate(self, c: np.ndarray, x: np.ndarray) -> np.ndarray:
        """p(x) for coefficients ``[..., M]`` at one point x ``[n]``."""
        d = self._degree_of(c)
        return c @ self.monomials(x, d)

    def quadratic(self, M2: np.ndarray, v: np.ndarray, c0: np.ndarray) -> np.ndarray:
        """``[..., size(2)]`` coefficients of zᵀ M₂ z + vᵀ z + c₀ (payload ``[...]``;
        M₂ ``[..., n, n]``, v ``[..., n]``, c₀ ``[...]``)."""
        M2, v, c0 = (np.asarray(a, dtype=float) for a in (M2, v, c0))
        out = np.zeros(c0.shape + (self.size(2),))
        out[..., 0] = c0
        out[..., 1:1 + self.n] = v
        e = self.exps[1 + self.n:self.size(2)]
        i = np.argmax(e > 0, axis=1)
        j = self.n - 1 - np.argmax(e[:, ::-1] > 0, axis=1)
        sym = M2 + np.swapaxes(M2, -1, -2)
        out[..., 1 + self.n:] = np.where(i == j, M2[..., i, i], sym[..., i, j])
        return out


@lru_cache(maxsize=32)
def basis(n: int, D: int) -> MonomialBasis:
    """The shared :class:`MonomialBasis` of n variables and degree D (built once; its
    index tables are cached inside it)."""
    return MonomialBasis(n, D)


def gaussian_moment(alpha, mu, Sigma) -> float:
    """E[x^α] for x ~ N(μ, Σ) by Isserlis' recursion (an independent route).

    E[y_{i1} ⋯ y_{ik}] for y = x − μ is 0 for odd k and, for even k, the sum over
    pairings of the products of covariances; expanded through x = μ + y.
    """
    alpha = [int(a) for a in alpha]
    mu = np.asarray(mu, dtype=float)
    Sigma = np.asarray(Sigma, dtype=float)
    idx = [i for i, a in enumerate(alpha) for _ in range(a)]

    memo: dict = {}

    def central(items: tuple) -> float:
        if not items:
            return 1.0
        if len(items) % 2:
            return 0.0
        if items in memo:
            return memo[items]
        first, rest = items[0], items[1:]
        total = 0.0
        for k in range(len(rest)):
            total += Sigma[first, rest[k]] * central(rest[:k] + rest[k + 1:])
        memo[items] = total
        return total

    total = 0.0
    k = len(idx)
    for mask in range(1 << k):
        centred = tuple(idx[j] for j in range(k) if mask >> j & 1)
        mean_part = np.prod([mu[idx[j]] for j in range(k) if not mask >> j & 1])
        total += mean_part * central(centred)
    return float(total)
