"""An independent brute-force reference for the exact engine's tests.

Nothing here imports pgmath. Every trajectory of a tiny MDP or POMDP is listed with
``itertools.product`` and weighted by the notes' product formula (§3.1, RL-1)

    p_θ(τ) = p(s₀) Π_t O(o_t|s_t) π(a_t|x_t) P(s_{t+1}|s_t, a_t)

(x_t = s_t for a state policy, o_t for an observation policy), so J = Σ_τ p(τ) Σ_t γ^t r_t
and, for logits θ[x, b] of a tabular softmax, ∇J = Σ_τ p(τ) r(τ) Σ_t ψ_t with
ψ_t[x, b] = 1[x = x_t](1[b = a_t] − π(b|x)) (PG-1, PG-2). The arithmetic is generic: pass
``fractions.Fraction`` entries (numpy object arrays) for an exact rational run.
"""
from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np

__all__ = ["trajectory_probabilities", "objective_and_gradient", "central_differences",
           "random_rational_problem", "softmax", "score_weight_moments"]


def softmax(logits: np.ndarray) -> np.ndarray:
    """π = exp(z − max z) / Σ exp(z − max z) along the last axis (float)."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def trajectory_probabilities(P, R, p0, pi, T: int, O=None) -> dict[tuple, object]:
    """{τ: p(τ)} over every τ whose factors are all non-zero.

    τ = (s₀, [o₀,] a₀, s₁, …, a_{T−1}) and, when R is ``[S, A, S]``, the final s_T too.
    ``pi`` is ``[X, A]``: over states (O is None) or observations.
    """
    S, A = len(p0), np.shape(P)[1]
    n_obs = 1 if O is None else np.shape(O)[1]
    final = np.ndim(R) == 3
    out = {}
    for ss in itertools.product(range(S), repeat=T + (1 if final else 0)):
        for aa in itertools.product(range(A), repeat=T):
            for oo in itertools.product(range(n_obs), repeat=T):
                factors = [p0[ss[0]]]
                for t in range(T):
                    x = ss[t] if O is None else oo[t]
                    if O is not None:
                        factors.append(O[ss[t]][oo[t]])
                    factors.append(pi[x][aa[t]])
                    if t + 1 < len(ss):
                        factors.append(P[ss[t]][aa[t]][ss[t + 1]])
                if any(f == 0 for f in factors):  # a zero factor, not an underflowed product
                    continue
                p = factors[0]
                for f in factors[1:]:
                    p = p * f
                key = []
                for t in range(T):
                    key += [ss[t]] + ([] if O is None else [oo[t]]) + [aa[t]]
                if final:
                    key.append(ss[T])
                out[tuple(key)] = p
    return out


def _unpack(key: tuple, T: int, pomdp: bool, final: bool):
    w = 3 if pomdp else 2
    s = [key[w * t] for t in range(T)]
    o = [key[w * t + 1] for t in range(T)] if pomdp else None
    a = [key[w * t + w - 1] for t in range(T)]
    s_next = s[1:] + ([key[-1]] if final else [None])
    return s, o, a, s_next


def objective_and_gradient(P, R, p0, pi, T: int, gamma=1, O=None):
    """(J, ∇J ``[X, A]``) by enumeration; ∇J is w.r.t. the logits of the table ``pi``.

    Generic arithmetic: Fraction inputs give exact Fractions.
    """
    X, A = np.shape(pi)
    final = np.ndim(R) == 3
    J = 0
    G = np.zeros((X, A), dtype=object) if isinstance(pi[0][0], Fraction) else np.zeros((X, A))
    for key, p in trajectory_probabilities(P, R, p0, pi, T, O).items():
        s, o, a, s_next = _unpack(key, T, O is not None, final)
        ret = 0
        for t in range(T):
            r = R[s[t]][a[t]][s_next[t]] if final else R[s[t]][a[t]]
            ret = ret + gamma ** t * r
        J = J + p * ret
        for t in range(T):
            x = s[t] if O is None else o[t]
            for b in range(A):
                G[x, b] = G[x, b] + p * ret * ((1 if b == a[t] else 0) - pi[x][b])
    return J, G


def score_weight_moments(P, R, p0, pi, T: int, gamma=1, O=None, form: str = "reinforce"):
    """(E[g] ``[X·A]``, E[g gᵀ] ``[X·A, X·A]``) by enumeration, for the tabular score
    ψ_t[(x, b)] = 1[x = x_t](1[b = a_t] − π(b|x)) and

        g = Σ_t ψ_t Σ_t' γ^t' r_t'          (form "reinforce", notes §4.2),
        g = Σ_t ψ_t Σ_{t'≥t} γ^t' r_t'      (form "reward_to_go", notes §4.3.1).

    Generic arithmetic: Fraction inputs give exact Fractions.
    """
    X, A = np.shape(pi)
    final = np.ndim(R) == 3
    exact = isinstance(pi[0][0], Fraction)
    zero = Fraction(0) if exact else 0.0
    mean = [zero] * (X * A)
    second = [[zero] * (X * A) for _ in range(X * A)]
    for key, p in trajectory_probabilities(P, R, p0, pi, T, O).items():
        s, o, a, s_next = _unpack(key, T, O is not None, final)
        r = [gamma ** t * (R[s[t]][a[t]][s_next[t]] if final else R[s[t]][a[t]]) for t in range(T)]
        g = [zero] * (X * A)
        for t in range(T):
            w = sum(r, zero) if form == "reinforce" else sum(r[t:], zero)
            x = s[t] if O is None else o[t]
            for b in range(A):
                g[x * A + b] = g[x * A + b] + w * ((1 if b == a[t] else 0) - pi[x][b])
        for i in range(X * A):
            mean[i] = mean[i] + p * g[i]
            if g[i] != 0:
                for j in range(X * A):
                    second[i][j] = second[i][j] + p * g[i] * g[j]
    return np.array(mean, dtype=object), np.array(second, dtype=object)


def central_differences(f, theta: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """``[d]`` (f(θ + h e_i) − f(θ − h e_i)) / 2h: error O(h²) + O(ε_mach / h)."""
    g = np.empty(theta.size)
    for i in range(theta.size):
        e = np.zeros(theta.size)
        e[i] = h
        g[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


def _rational_rows(rng: np.random.Generator, shape: tuple, denom: int = 6) -> np.ndarray:
    """Rational probability rows (last axis) with small denominators, some exact zeros."""
    w = rng.integers(0, denom, size=shape)
    w[..., 0] += (w.sum(axis=-1) == 0)
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape[:-1]):
        tot = int(w[idx].sum())
        for j in range(shape[-1]):
            out[idx + (j,)] = Fraction(int(w[idx + (j,)]), tot)
    return out


def random_rational_problem(seed: int, S: int = 2, A: int = 2, n_obs: int | None = None,
                            next_state_rewards: bool = False):
    """(P, R, p0, pi, O) of Fractions: P ``[S, A, S]``, R ``[S, A]`` or ``[S, A, S]``,
    p0 ``[S]``, pi ``[X, A]`` with every π(a|x) > 0 (so θ = log π exists), O or None."""
    rng = np.random.default_rng(seed)
    P = _rational_rows(rng, (S, A, S))
    p0 = _rational_rows(rng, (1, S))[0]
    X = S if n_obs is None else n_obs
    w = rng.integers(1, 5, size=(X, A))
    pi = np.array([[Fraction(int(w[x, a]), int(w[x].sum())) for a in range(A)] for x in range(X)],
                  dtype=object)
    shape = (S, A, S) if next_state_rewards else (S, A)
    R = np.array([Fraction(int(v), 4) for v in rng.integers(-8, 9, size=shape).ravel()],
                 dtype=object).reshape(shape)
    O = None if n_obs is None else _rational_rows(rng, (S, n_obs))
    return P, R, p0, pi, O


def as_float(x) -> np.ndarray:
    """A float array from an object array of Fractions."""
    return np.asarray(x, dtype=object).astype(float)
