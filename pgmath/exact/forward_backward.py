"""Exact moments of a step-weighted score sum by a forward–backward recursion over score
labels (DESIGN §3; issue 15).

The accumulator of :mod:`pgmath.exact.recursion` (same notation)

    σ' = B σ,   V' = C V + (D σ) ψ_tᵀ,   g = Σ_i L_i ⊙ V_i,

with B ``[p, p]``, C ``[q, q]``, D ``[q, p]`` functions of (t, s_t, x_t, a_t, s_{t+1}), only
ever multiplies the rows of V by scalars. So with the score replaced by the one-hot label
e_z of the pair z_t = (x_t, a_t) (x the policy's input: state, or observation of a POMDP),

    Ṽ_T = Σ_t c_t e_{z_t}ᵀ ``[q, X·A]``,   c_t = Φ_{t+1→T} D_t σ_t,   Φ_{u→T} = C_{T−1} ⋯ C_u,

and V_T = Ṽ_T Ψ with Ψ ``[X·A, d]`` the score table ψ(x, a). Every moment of V is a
moment of Ṽ sandwiched by Ψ:

    E[V_T] = E[Ṽ_T] Ψ,   E[V_i ⊗ V_j] = Ψᵀ K_ij Ψ,   K_ij[z, z'] = E[Ṽ_i(z) Ṽ_j(z')].

K splits by the two injection times t₁, t₂ of a pair of terms: t₁ = t₂ = t (diagonal in z)
and t₁ < t₂ = t (and its transpose). Given s_t, the past (σ_t, Ṽ_t) and the future
(Φ_{t+1→T}) are independent (Markov property), so each term is a forward moment meeting a
backward one at step t:

* forward, conditioned on the current state s (the injected labels z₁ carried along):

      m_t(s) = E[σ_t 1{s_t=s}] ``[S, p]``,  M_t(s) = E[σ_t σ_tᵀ 1{s_t=s}] ``[S, p, p]``,
      X_t(s) = E[σ_t ⊗ Ṽ_t 1{s_t=s}] ``[S, p, q, X·A]``,
      X_{t+1}(s') = Σ w (B ⊗ C) X_t(s) + Σ w (B M_t(s) Dᵀ) ⊗ e_z;

* backward, the co-state of the read-out rows R (rows of V other than the trace e):

      Λ¹_t(s) = E[Φ_{t→T}[R, :] | s_t=s] ``[S, R, q]``,   Λ¹_t(s) = Σ w Λ¹_{t+1}(s') C,
      Λ²_t(s) = E[Φ_{t→T}[R, :] ⊗ Φ_{t→T}[R, :] | s_t=s] ``[S, R, q, R, q]``,
      Λ²_t(s) = Σ w Λ²_{t+1}(s') ×₁ C ×₂ C,   Λ¹_T = I[R, :],  Λ²_T = Λ¹_T ⊗ Λ¹_T;

* meeting at step t (Σ over (s, x, a, s') weighted by w = O(x|s) π_θ(a|x) P(s'|s, a)):

      E[Ṽ_i(z)]   += Σ w Λ¹_{t+1}(s')_{ik} D_{kn} m_t(s)_n                       (z = (x, a)),
      K_ij[z, z]  += Σ w Λ²_{t+1}(s')_{ikjl} D_{km} D_{ln} M_t(s)_{mn},
      K_ij[z₁, z] += Σ w Λ²_{t+1}(s')_{ikjl} C_{km} D_{ln} X_t(s)_{nm z₁}          (t₁ < t).

B, C, D are affine in u = α_t r + y_t and h = η_t r + c_t + c^x_t (module docstring of
:mod:`pgmath.exact.recursion`), the only parts that may depend on s'. Where they do (rewards
R[s, a, s'], GAE's γV(s')), Σ_{s'} w(s') f(u, h) F(s') is taken per monomial of (u, h) of
degree ≤ 2, each a matrix product; where they do not, u and h are folded into B, C, D.

Cost per step: O(S'·S·p·q·X·A) for the propagation of X (one matrix product
``[S·p·q, S·p·q] @ [S·p·q, X·A]``), O(n·A·R²·p·q·X·A) for the cross term and O(n·A·S·R²q²)
for the co-states (n the (s, x) pairs, S for a state policy); no d × d quantity is carried
per state. For a tabular policy (d = S·A) that is O(T S³ A) instead of the O(T S⁴ A³) of the
state-conditioned recursion; memory O(S² + S·X·A + (X·A)²). The sandwich by Ψ at the end
uses the block structure of a tabular score (ψ(x, a) nonzero only in block x, found from
the table, not from the policy's class) and a dense product otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._deprecation import keyword_only
from ._einsum import einsum
from ..policy_tables import tabular_blocks

__all__ = ["Chain", "chain", "label_moments", "score_sandwich", "rounding_depth"]


@dataclass(frozen=True, eq=False)
class Chain:
    """The Markov chain the moment recursions run on: pairs (s, x) of hidden state and
    policy input with O(x|s) > 0 (x = s for a state policy), in order of s.

    Attributes:
      S, A, X: states, actions, policy inputs.
      p0: ``[S]`` start distribution.
      s_idx, x_idx: ``[n]`` the pairs.
      wP: ``[n, A, S]`` O(x|s) π_θ(a|x) P(s'|s, a) under the behaviour θ.
      r: ``[n, A, S|1]`` rewards of each pair (axis 2 of length 1 for rewards r(s, a)).
      ratio: ``[n, A]`` ϱ = π_θ'(a|x)/π_θ(a|x) (0 where π_θ(a|x) = 0: never taken).
      psi: ``[X, A, d]`` ψ_θ'(x, a), the target's score.
      identity: the pairs are (s, s) for s = 0..S−1 (a state policy).
    """

    S: int
    A: int
    X: int
    p0: np.ndarray
    s_idx: np.ndarray
    x_idx: np.ndarray
    wP: np.ndarray
    r: np.ndarray
    ratio: np.ndarray
    psi: np.ndarray
    identity: bool

    @property
    def n(self) -> int:
        return len(self.s_idx)

    def to_states(self, a: np.ndarray) -> np.ndarray:
        """``[S, ...]`` Σ over the pairs (s, x) of each s of ``a`` ``[n, ...]``."""
        return a if self.identity else _group(a, self.s_idx, self.S)

    def to_inputs(self, a: np.ndarray) -> np.ndarray:
        """``[X, ...]`` Σ over the pairs (s, x) of each x of ``a`` ``[n, ...]``."""
        return a if self.identity else _group(a, self.x_idx, self.X)

    def at_pairs(self, a: np.ndarray) -> np.ndarray:
        """``[n, ...]`` a per-state array ``[S, ...]`` read at each pair's state."""
        return a if self.identity else a[self.s_idx]


def _group(a: np.ndarray, idx: np.ndarray, m: int) -> np.ndarray:
    out = np.zeros((m,) + a.shape[1:])
    np.add.at(out, idx, a)
    return out


@keyword_only
def chain(mdp, policy, theta, *, theta_behaviour=None) -> Chain:
    """The :class:`Chain` of (mdp, policy) with trajectories drawn by ``theta_behaviour``
    (default ``theta``) and scores and ratios' numerators at ``theta``."""
    S, A = mdp.n_states, mdp.n_actions
    obs = policy.over == "observations"
    K = np.asarray(mdp.O) if obs else np.eye(S)
    s_idx, x_idx = np.nonzero(K > 0)
    lt = np.asarray(policy.log_probs(theta))[x_idx]                      # [n, A]
    lb = lt if theta_behaviour is None else np.asarray(policy.log_probs(theta_behaviour))[x_idx]
    pi_b = np.exp(lb)
    with np.errstate(over="ignore"):
        ratio = np.where(pi_b > 0, np.exp(lt - lb), 0.0)
    w_in = K[s_idx, x_idx][:, None] * pi_b
    P = np.asarray(mdp.P)
    R = np.asarray(mdp.R)
    r = R[s_idx] if R.ndim == 3 else R[s_idx][:, :, None]
    return Chain(S=S, A=A, X=int(policy.n_inputs), p0=np.asarray(mdp.p0, dtype=float),
                 s_idx=s_idx, x_idx=x_idx, wP=w_in[:, :, None] * P[s_idx], r=r, ratio=ratio,
                 psi=np.asarray(policy.score(theta)), identity=not obs)


# -- affine coefficients, built for a block of steps at once ------------------------------------
_ONE, _U, _H = (0, 0), (1, 0), (0, 1)

#: Coefficient arrays of one block of steps are kept below this many floats.
_BLOCK_FLOATS = 1 << 22


def _add(e1: tuple, e2: tuple) -> tuple:
    return (e1[0] + e2[0], e1[1] + e2[1])


def _kron(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[..., k·l, m·n]`` (a ⊗ b)[(k, l), (m, n)] = a[k, m] b[l, n]."""
    k, m = a.shape[-2:]
    l, n = b.shape[-2:]
    out = a[..., :, None, :, None] * b[..., None, :, None, :]
    return out.reshape(out.shape[:-4] + (k * l, m * n))


class _Layout:
    """Rows, read-out rows, the s'-dependence of u and h and the gathered tables of one
    StepWeights on one chain."""

    def __init__(self, spec, ch: Chain) -> None:
        self.spec = spec
        self.rows = spec.rows()
        self.q = len(self.rows)
        self.p = 2 if spec.has_past else 1
        self.read = [i for i, name in enumerate(self.rows) if name != "e"]
        self.R = len(self.read)
        r3 = ch.r.shape[2] > 1
        self.alpha_r = bool(np.any(spec.alpha != 0))
        self.eta_r = bool(np.any(spec.eta != 0))
        self.u_dep = (r3 and self.alpha_r) or (spec.y is not None and spec.y.shape[3] > 1)
        self.h_dep = (r3 and self.eta_r) or (spec.c is not None and spec.c.shape[3] > 1)
        self.y = _gather(spec.y, ch)
        self.c = _gather(spec.c, ch)
        self.cx = None if spec.cx is None else spec.cx[:, ch.x_idx]
        # the terms of B, C, D: the constant one, and u, h where they depend on s'
        self.B = [_ONE] + ([_U] if self.p == 2 and self.u_dep else [])
        self.C = [_ONE] + ([_U] if spec.has_trace and self.u_dep else [])
        self.D = ([_ONE] + ([_U] if spec.has_trace and self.u_dep else [])
                  + ([_H] if self.h_dep else []))

    def block(self, ch: Chain) -> int:
        """Steps per block, so that the per-block coefficient arrays stay small."""
        S2 = ch.S if (self.u_dep or self.h_dep) else 1
        q2 = self.q * self.q
        per_step = (ch.n * ch.A * (6 * S2 + 6 * q2 * (q2 + self.p * self.q) + self.R ** 2 * q2)
                    + ch.n * self.p * self.q * ch.X * ch.A)
        return max(1, min(self.spec.T, _BLOCK_FLOATS // max(per_step, 1)))


def _gather(tab, ch: Chain):
    """A table ``[T, S|1, A|1, S'|1]`` with its state axis read at the pairs."""
    if tab is None or tab.shape[1] == 1 or ch.identity:
        return tab
    return tab[:, ch.s_idx]


def _products(left: list, right: list) -> list:
    """[(monomial of the product, index into left, index into right)]."""
    return [(_add(e1, e2), i, j) for i, e1 in enumerate(left) for j, e2 in enumerate(right)]


class _Block:
    """B, C, D for the steps t0 ≤ t < t1 as polynomials in (u, h) over (pair, action) =: pa:
    lists (in the order of ``_Layout.B/C/D``) of arrays ``[Tc, n·A, ·, ·]`` (a variable that
    does not depend on s' is folded into the constant term), and u, h ``[Tc, n·A, S]`` where
    they do. ``weights(k, e)`` is w·u^{e_u}·h^{e_h} ``[n·A, S]`` at step t0 + k."""

    def __init__(self, lay: _Layout, ch: Chain, t0: int, t1: int) -> None:
        spec = lay.spec
        n, A, S = ch.n, ch.A, ch.S
        Tc, nA = t1 - t0, ch.n * ch.A
        self.wP = ch.wP.reshape(nA, S)
        tt = slice(t0, t1)
        r = ch.r  # [n, A, S|1]
        u = spec.alpha[tt, None, None, None] * r[None] if lay.alpha_r else np.zeros((1, 1, 1, 1))
        if lay.y is not None:
            u = u + lay.y[tt]
        h = spec.eta[tt, None, None, None] * r[None] if lay.eta_r else np.zeros((1, 1, 1, 1))
        if lay.c is not None:
            h = h + lay.c[tt]
        if lay.cx is not None:
            h = h + lay.cx[tt][:, :, :, None]
        u = np.broadcast_to(u, (Tc, n, A, S if lay.u_dep else 1)).reshape(Tc, nA, -1)
        h = np.broadcast_to(h, (Tc, n, A, S if lay.h_dep else 1)).reshape(Tc, nA, -1)
        self.u = u if lay.u_dep else None
        self.h = h if lay.h_dep else None
        k_sig, k_e, k_psi, k_G = spec.ratio_powers
        ratio = ch.ratio.reshape(nA)
        pw = lambda k: ratio ** k if k else np.ones(nA)  # noqa: E731
        col = lambda v: np.asarray(v)[tt, None]  # noqa: E731  a time weight as [Tc, 1]
        p, q, rows = lay.p, lay.q, lay.rows
        iG = rows.index("G")
        z = lambda r_, c_: np.zeros((Tc, nA, r_, c_))  # noqa: E731
        uf = None if lay.u_dep else u[:, :, 0, None, None]
        hf = None if lay.h_dep else h[:, :, 0, None, None]

        def terms(const, du=None, dh=None) -> list:
            out = [const]
            if du is not None:
                if uf is None:
                    out.append(du)
                else:
                    out[0] = out[0] + uf * du
            if dh is not None:
                if hf is None:
                    out.append(dh)
                else:
                    out[0] = out[0] + hf * dh
            return out

        ps = pw(k_sig)
        B0, Bu = z(p, p), None
        B0[..., 0, 0] = ps
        if p == 2:
            B0[..., 1, 1] = ps
            Bu = z(p, p)
            Bu[..., 1, 0] = ps
        C0, Cu = z(q, q), None
        C0[..., iG, iG] = pw(k_G)
        D0, Du, Dh = z(q, p), None, z(q, p)
        ppsi = pw(k_psi)
        Dh[..., iG, 0] = ppsi
        if spec.has_trace:
            ie = rows.index("e")
            C0[..., ie, ie] = spec.rho * pw(k_e)
            Cu = z(q, q)
            Cu[..., iG, ie] = spec.rho * pw(k_e)
            D0[..., ie, 0] = col(spec.kappa) * ppsi
            Du = z(q, p)
            Du[..., iG, 0] = col(spec.kappa) * ppsi
        if p == 2:
            D0[..., iG, 1] = col(spec.beta) * ppsi
        if "psi" in rows:
            ip = rows.index("psi")
            C0[..., ip, ip] = pw(k_G)
            D0[..., ip, 0] = col(spec.omega) * ppsi
        self.B, self.C, self.D = terms(B0, Bu), terms(C0, Cu), terms(D0, Du, Dh)

    def weights(self, k: int, e: tuple) -> np.ndarray:
        w = self.wP
        if e[0]:
            w = w * self.u[k] ** e[0]
        if e[1]:
            w = w * self.h[k] ** e[1]
        return w


def _blocks(lay: _Layout, ch: Chain, T: int, reverse: bool = False):
    size = lay.block(ch)
    starts = list(range(0, T, size))
    for t0 in (reversed(starts) if reverse else starts):
        yield t0, _Block(lay, ch, t0, min(T, t0 + size))


def _expect(blk: _Block, k: int, monos: list, F: np.ndarray) -> np.ndarray:
    """``[len(monos), n·A, ...]`` Σ_{s'} w u^{e_u} h^{e_h} F[s'] for e in monos, at step k of
    the block (F ``[S, ...]``)."""
    nA, S = blk.wP.shape
    if monos == [_ONE]:
        return (blk.wP @ F.reshape(S, -1)).reshape((1, nA) + F.shape[1:])
    W = np.concatenate([blk.weights(k, e) for e in monos])
    return (W @ F.reshape(S, -1)).reshape((len(monos), nA) + F.shape[1:])


def _expect_block(blk: _Block, monos: list, F: np.ndarray) -> np.ndarray:
    """``[len(monos), Tc, n·A, k]`` :func:`_expect` for every step of the block at once
    (F ``[Tc, S, k]``, the block's F_{t+1})."""
    nA, S = blk.wP.shape
    Tc, _, k = F.shape
    if monos == [_ONE]:
        out = blk.wP @ F.transpose(1, 0, 2).reshape(S, Tc * k)
        return out.reshape(1, nA, Tc, k).transpose(0, 2, 1, 3)
    W = np.stack([np.stack([blk.weights(i, e) for e in monos]) for i in range(Tc)])
    out = np.matmul(W.reshape(Tc, len(monos) * nA, S), F)
    return out.reshape(Tc, len(monos), nA, k).transpose(1, 0, 2, 3)


def _summed(N: np.ndarray, monos: list, prods: list, factors: list) -> np.ndarray:
    """Σ over the products (e, i, j) of N[monos.index(e)] @ factor, as one batched matrix
    product (N ``[M, ..., r, k]``, factors ``[..., k, c]`` one per product)."""
    if len(prods) == 1:
        return np.matmul(N[monos.index(prods[0][0])], factors[0])
    Ncat = np.concatenate([N[monos.index(e)] for e, _, _ in prods], axis=-1)
    return np.matmul(Ncat, np.concatenate(factors, axis=-2))


# -- the recursion ------------------------------------------------------------------------------
def _backward(lay: _Layout, ch: Chain, T: int) -> np.ndarray:
    """``[T+1, S, R·q + R·R·q·q]`` the co-states Λ¹ (first R·q columns, ``[R, q]``) and Λ²
    (the rest, ``[R·R, q·q]`` with index (i, j), (k, l)) of the module docstring."""
    S, A, n, R, q = ch.S, ch.A, ch.n, lay.R, lay.q
    nA, r1 = n * A, R * q
    L = np.zeros((T + 1, S, r1 + R * R * q * q))
    L1 = np.zeros((R, q))
    L1[np.arange(R), lay.read] = 1.0
    L[T, :, :r1] = L1.ravel()
    L[T, :, r1:] = np.einsum("ik,jl->ijkl", L1, L1).ravel()
    cc = _products(lay.C, lay.C)
    monos = sorted(set(lay.C) | {e for e, _, _ in cc})
    for t0, blk in _blocks(lay, ch, T, reverse=True):
        kc = [_kron(blk.C[i], blk.C[j]) for _, i, j in cc]
        for k in range(len(blk.C[0]) - 1, -1, -1):
            t = t0 + k
            N = _expect(blk, k, monos, L[t + 1])                      # [M, nA, r1 + R²q²]
            N1 = N[..., :r1].reshape(len(monos), nA, R, q)
            N2 = N[..., r1:].reshape(len(monos), nA, R * R, q * q)
            a1 = _summed(N1, monos, [(e, i, 0) for i, e in enumerate(lay.C)],
                         [C[k] for C in blk.C])
            a2 = _summed(N2, monos, cc, [f[k] for f in kc])
            L[t, :, :r1] = ch.to_states(a1.reshape(n, A, r1).sum(axis=1))
            L[t, :, r1:] = ch.to_states(a2.reshape(n, A, -1).sum(axis=1))
    return L


def _propagate(mix: np.ndarray, Xf: np.ndarray, cols: list | None) -> np.ndarray:
    """``[S', P, Z]`` X_{t+1}(s')[o] = Σ_{s, i} mix[s, s', o, i] X_t(s)[i] for mix
    ``[S, S', P, P]`` and X_t ``[S, P, Z]``: one matrix product, or with ``cols`` (the
    nonzero inputs i of each output o of C ⊗ B) one product per output row over its
    nonzero blocks only."""
    S, _, P, _ = mix.shape
    Z = Xf.shape[2]
    if cols is None:
        return (mix.transpose(1, 2, 0, 3).reshape(S * P, S * P) @ Xf.reshape(S * P, Z)
                ).reshape(S, P, Z)
    Xn = np.zeros((S, P, Z))
    for o, c in enumerate(cols):
        if len(c):
            m = mix[:, :, o][:, :, c].transpose(1, 0, 2).reshape(S, S * len(c))
            Xn[:, o] = m @ Xf[:, c].reshape(S * len(c), Z)
    return Xn


def label_moments(spec, ch: Chain, T: int):
    """The moments of the labelled accumulator Ṽ (module docstring), over the pairs:

    Returns:
      (read, m1 ``[X, A, R]`` E[Ṽ_i(z)], Kd ``[X, A, R, R]`` the diagonal K_ij[z, z],
      Kc ``[X, A, R, R, X·A]`` Kc[z, i, j, z₁] = Σ_{t₁<t₂} E[Ṽ_i(z₁ at t₁) Ṽ_j(z at t₂)]);
      ``read`` lists the read-out rows R (indices into ``spec.rows()``).

    Each step makes a few small matrix products one after the other. On a machine whose
    cores are shared, a multi-threaded BLAS waits for a time slice on every one of them:
    measured on 2 cores under load 13, a single BLAS thread made the 10 × 10 gridworld at
    T = 100 6× faster (1.6 s against 10.3 s), so :func:`pgmath.exact.recursion.accumulator_moments`
    runs this with one BLAS thread (threadpoolctl).
    """
    lay = _Layout(spec, ch)
    S, A, n, p, q, R = ch.S, ch.A, ch.n, lay.p, lay.q, lay.R
    nA, Z, P, r1 = n * A, ch.X * A, p * q, R * q
    L = _backward(lay, ch, T)
    ms = np.zeros((S, p))
    ms[:, 0] = ch.p0
    Mss = np.zeros((S, p * p))
    Mss[:, 0] = ch.p0
    Xf = np.zeros((S, P, Z))              # E[Ṽ_m(z) σ_n 1{s}], P = (m, n)
    m1 = np.zeros((nA, R))
    Kd = np.zeros((nA, R * R))
    Kc = np.zeros((n, A * R * R, Z))
    cb, db = _products(lay.C, lay.B), _products(lay.D, lay.B)
    bb, cd, dd = _products(lay.B, lay.B), _products(lay.C, lay.D), _products(lay.D, lay.D)
    mono_2 = sorted(set(lay.D) | {e for e, _, _ in cd + dd})
    wPT = ch.wP.transpose(0, 2, 1)        # [n, S', A]
    wT = ch.wP.reshape(nA, S).T[:, None, :]  # [S', 1, nA]
    for t0, blk in _blocks(lay, ch, T):
        Tc = len(blk.B[0])
        kcb = [_kron(blk.C[i], blk.B[j]).reshape(Tc, n, A, P * P) for _, i, j in cb]
        nz = np.any([np.any(f != 0, axis=(0, 1, 2)) for f in kcb], axis=0).reshape(P, P)
        cols = None if nz.mean() > 0.6 else [np.flatnonzero(row) for row in nz]
        kbb = [_kron(blk.B[i], blk.B[j]) for _, i, j in bb]       # [Tc, nA, p·p, p·p]
        ms_b = np.empty((Tc, nA, p))
        Mss_b = np.empty((Tc, nA, p, p))
        X_b = np.empty((n, Tc, P, Z))
        for k in range(Tc):
            ms_p = np.repeat(ch.at_pairs(ms), A, axis=0)                  # [nA, p]
            Mss_p = np.repeat(ch.at_pairs(Mss), A, axis=0)                # [nA, p·p]
            ms_b[k], Mss_b[k] = ms_p, Mss_p.reshape(nA, p, p)
            X_b[:, k] = ch.at_pairs(Xf)
            # X_{t+1}(s') = Σ w (C ⊗ B) X_t(s) + Σ w (D M_t(s) Bᵀ) ⊗ e_z
            if len(cb) == 1 and cb[0][0] == _ONE:
                mix = np.matmul(wPT, kcb[0][k])                            # [n, S', P·P]
            else:
                Wm = [blk.weights(k, e).reshape(n, A, S) for e, _, _ in cb]
                mix = np.matmul(np.concatenate(Wm, axis=1).transpose(0, 2, 1),
                                np.concatenate([f[k] for f in kcb], axis=1))
            Xn = _propagate(ch.to_states(mix).reshape(S, S, P, P), Xf, cols)
            for e, i, j in db:
                dmb = np.matmul(np.matmul(blk.D[i][k], Mss_b[k]), blk.B[j][k].transpose(0, 2, 1))
                w = wT if e == _ONE else blk.weights(k, e).T[:, None, :]
                inj = w * dmb.reshape(nA, P).T[None]                       # [S', P, nA]
                if ch.identity:
                    Xn += inj
                else:
                    Xn += ch.to_inputs(np.moveaxis(inj.reshape(S, P, n, A), 2, 0)
                                       ).transpose(1, 2, 0, 3).reshape(S, P, Z)
            Xf = Xn
            ms = sum(blk.weights(k, e).T @ np.matmul(B[k], ms_p[:, :, None])[:, :, 0]
                     for e, B in zip(lay.B, blk.B))
            Mss = sum(blk.weights(k, e).T @ np.matmul(f[k], Mss_p[:, :, None])[:, :, 0]
                      for (e, _, _), f in zip(bb, kbb))
        # the meeting terms of the block, with the co-states Λ_{t+1}
        N = _expect_block(blk, mono_2, L[t0 + 1:t0 + Tc + 1])       # [M, Tc, nA, r1 + R²q²]
        N1 = N[..., :r1].reshape(len(mono_2), Tc, nA, R, q)
        N2 = N[..., r1:].reshape(len(mono_2), Tc, nA, R * R, q * q)
        dm = [np.matmul(D, ms_b[..., None]) for D in blk.D]             # [Tc, nA, q, 1]
        m1 += _summed(N1, mono_2, [(e, i, 0) for i, e in enumerate(lay.D)], dm).sum(axis=0)[..., 0]
        dmd = [np.matmul(np.matmul(blk.D[i], Mss_b), blk.D[j].transpose(0, 1, 3, 2)
                         ).reshape(Tc, nA, q * q, 1) for _, i, j in dd]
        Kd += _summed(N2, mono_2, dd, dmd).sum(axis=0)[..., 0]
        coef = _summed(N2, mono_2, cd, [_kron(blk.C[i], blk.D[j]) for _, i, j in cd])
        coef = coef.reshape(Tc, n, A * R * R, P).transpose(1, 2, 0, 3)   # [n, A·R², Tc, P]
        Kc += np.matmul(coef.reshape(n, A * R * R, Tc * P), X_b.reshape(n, Tc * P, Z))
    return (lay.read, ch.to_inputs(m1.reshape(n, A, R)),
            ch.to_inputs(Kd.reshape(n, A, R, R)), ch.to_inputs(Kc.reshape(n, A, R, R, Z)))


# -- the sandwich by the score table --------------------------------------------------------------
def score_sandwich(psi: np.ndarray, m1: np.ndarray, Kd: np.ndarray, Kc: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(E[V] ``[R, d]``, E[V ⊗ V] ``[R, d, R, d]``) from the label moments of
    :func:`label_moments` and the score table ψ ``[X, A, d]``:

        E[V_i] = Σ_z E[Ṽ_i(z)] ψ(z),
        E[V_i ⊗ V_j] = Σ_z K_ij[z, z] ψ(z)ψ(z)ᵀ + M_ij + M_jiᵀ,  M_ij = Σ_{z₁,z} ψ(z₁) Kc[z, i, j, z₁] ψ(z)ᵀ.
    """
    X, A, d = psi.shape
    R = m1.shape[2]
    blocks = tabular_blocks(psi)
    if blocks is not None:
        mean = einsum("xai,xab->ixb", m1, blocks).reshape(R, d)
        M = einsum("ycijxa,xab,ycd->ixbjyd", Kc.reshape(X, A, R, R, X, A), blocks, blocks)
        M = M.reshape(R, d, R, d)
        W = M + M.transpose(2, 3, 0, 1)
        W6 = W.reshape(R, X, A, R, X, A)
        idx = np.arange(X)
        W6[:, idx, :, :, idx, :] += einsum("xaij,xab,xac->xibjc", Kd, blocks, blocks)
        return mean, W
    Psi = psi.reshape(X * A, d)
    mean = einsum("zi,zd->id", m1.reshape(X * A, R), Psi)
    M = einsum("yijz,zd,ye->idje", Kc.reshape(X * A, R, R, X * A), Psi, Psi)
    W = M + M.transpose(2, 3, 0, 1)
    W += einsum("zij,zd,ze->idje", Kd.reshape(X * A, R, R), Psi, Psi)
    return mean, W


# -- rounding -------------------------------------------------------------------------------------
def rounding_depth(spec, ch: Chain, T: int, *, log_prob_max: float) -> int:
    """K: a bound on the roundings along any path from an input to an entry of E[g] or
    E[g gᵀ] as :func:`label_moments`, :func:`score_sandwich` and the read-out compute them.

    The recursion only adds and multiplies, so (Higham, *Accuracy and Stability of
    Numerical Algorithms*, §3.1, eq. 3.5, term by term) each computed entry x̂ obeys
    |x̂ − x| ≤ γ_K x_abs, x_abs the same computation run on the absolute values of every
    input. A sum of n terms, in any order or blocking (BLAS included), adds at most n − 1
    roundings to each term; a product adds one. Every term of an output is a product of
    one forward path (steps before its meeting step t), one meeting, one backward path
    (steps after t), one accumulation over t and the sandwich, so

        K = T · D + T·P + F + S + 64,
        D = n·A·M + S·P + S + M·q² + A + 2X + k̄ (2(L + A) + 4) + 32,

    per step D: the forward sums over (pair, action) (n·A terms per monomial product, M ≤
    6 of them: m, M and the mixing of X), over (s, row, σ) in the propagation of X
    (S·P, P = p·q) and over the pairs of a state or input (≤ X); the backward sums over s'
    (S) and over the co-state entries (M·q²) and actions (A); the coefficients (products of
    ρ, κ_t, β_t, ω_t, α_t, r, y, c, c^x and the ratio powers: a relative error of
    k̄ (2(L + A) + 4) u for ϱ^k, k ≤ k̄ = max ratio power, each softmax probability and
    ratio accurate to (L + A + 2) u with L the largest |log π| of both policies, A for the
    normaliser) and a constant 32 for the products in B, C, D and their Kronecker
    products. Then T·P for the accumulation over t of Kc (Σ over t and σ), F for the
    sandwich by ψ (A² terms per entry for a tabular score, (X·A)² otherwise, plus 4),
    S for the sums over pairs at the end and 64 for the read-out Σ_ij L_i L_j W_ij.
    """
    p = 2 if spec.has_past else 1
    q = len(spec.rows())
    P = p * q
    M = 6
    k_bar = max(spec.ratio_powers) if any(spec.ratio_powers) else 1
    L = float(log_prob_max)
    D = (ch.n * ch.A * M + ch.S * P + ch.S + M * q * q + ch.A + 2 * ch.X
         + k_bar * (2 * (L + ch.A) + 4) + 32)
    F = ch.A ** 2 + 4 if tabular_blocks(ch.psi) is not None else (ch.X * ch.A) ** 2 + 4
    return int(np.ceil(T * D + T * P + F + ch.S + 64))
