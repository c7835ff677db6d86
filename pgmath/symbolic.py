"""Symbolic tabular problems for the SymPy proofs (``proofs/``).

:func:`two_state_mdp` builds the two-state, two-action MDP of the notes' §3.1 with
horizon T and softmax policy π_θ(a|s) = exp θ[s,a] / Σ_b exp θ[s,b] (§4.1), written in
the positive variables u[s,a] = exp θ[s,a] so that every probability is an exact rational
function; a derivative in θ[s,a] is u[s,a] ∂/∂u[s,a] (:meth:`SymbolicMDP.d`).
Trajectories τ = (s₁, a₁, …, s_T, a_T) are enumerated exhaustively ((2·2)^T of them).
Time is 1-based here, as in the notes.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

__all__ = ["SymbolicMDP", "two_state_mdp", "softmax_probs", "unit_domain", "probability_domain"]


def softmax_probs(u: list) -> list:
    """π_a = u_a / Σ_b u_b for positive u_a = exp θ_a (§4.1's softmax policy)."""
    z = sum(u)
    return [ui / z for ui in u]


@dataclass
class SymbolicMDP:
    """S = A = 2, horizon T; ``p0[s]``, ``P[s][a][s']``, ``r[s][a]`` (SymPy expressions),
    policy variables ``u[s][a] = exp θ[s,a]`` (positive symbols)."""

    T: int
    p0: list
    P: list
    r: list
    u: list

    @property
    def params(self) -> list:
        """The policy variables u[s,a], flattened in the order of θ (``[d] = [4]``)."""
        return [self.u[s][a] for s in range(2) for a in range(2)]

    def pi(self, a: int, s: int, u=None):
        """π_θ(a|s)."""
        u = self.u if u is None else u
        return u[s][a] / (u[s][0] + u[s][1])

    def d(self, expr, k: int):
        """∂expr/∂θ_k = u_k ∂expr/∂u_k (θ_k = log u_k)."""
        uk = self.params[k]
        return uk * sp.diff(expr, uk)

    def grad(self, expr) -> sp.Matrix:
        """∇_θ expr as a ``[d, 1]`` column."""
        return sp.Matrix([self.d(expr, k) for k in range(len(self.params))])

    def score(self, a: int, s: int) -> sp.Matrix:
        """ψ(s, a) = ∇_θ log π_θ(a|s) for the tabular softmax: e_{s,a} − Σ_b π(b|s) e_{s,b}."""
        out = [0] * 4
        for b in range(2):
            out[2 * s + b] = (1 if b == a else 0) - self.pi(b, s)
        return sp.Matrix(out)

    def trajectories(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """Every (states, actions) pair, each a length-T tuple."""
        out = []
        for steps in itertools.product(range(2), repeat=2 * self.T):
            out.append((steps[0::2], steps[1::2]))
        return out

    def prob(self, states, actions, u=None):
        """p_θ(τ) = p(s₁) Π_t π_θ(a_t|s_t) p(s_{t+1}|s_t, a_t) (§3.1; the last transition
        sums out)."""
        p = self.p0[states[0]]
        for t in range(self.T):
            p *= self.pi(actions[t], states[t], u)
            if t + 1 < self.T:
                p *= self.P[states[t]][actions[t]][states[t + 1]]
        return p

    def rewards(self, states, actions) -> list:
        """[r(s_t, a_t) for t = 1..T]."""
        return [self.r[s][a] for s, a in zip(states, actions)]

    def J(self, u=None):
        """J(θ) = Σ_τ p_θ(τ) r(τ) (§4.1)."""
        return sum(self.prob(s, a, u) * sum(self.rewards(s, a)) for s, a in self.trajectories())

    def expect(self, f, u=None):
        """E_{τ∼p_θ}[f(states, actions)] by enumeration (f returns a scalar or a matrix)."""
        total = None
        for s, a in self.trajectories():
            term = self.prob(s, a, u) * f(s, a)
            total = term if total is None else total + term
        return total


def two_state_mdp(T: int = 2, *, symbolic_dynamics: bool = True, prefix: str = "u") -> SymbolicMDP:
    """The symbolic two-state, two-action MDP with horizon ``T``.

    With ``symbolic_dynamics`` the start distribution (p, 1−p), transitions
    P[s,a,0] = q_{sa} and rewards r_{sa} are symbols; otherwise they are fixed rationals
    (faster simplification when only the policy matters).
    """
    u = [[sp.Symbol(f"{prefix}_{s}{a}", positive=True) for a in range(2)] for s in range(2)]
    if symbolic_dynamics:
        p = sp.Symbol("p", positive=True)
        q = [[sp.Symbol(f"q_{s}{a}", positive=True) for a in range(2)] for s in range(2)]
        r = [[sp.Symbol(f"r_{s}{a}", real=True) for a in range(2)] for s in range(2)]
    else:
        p = sp.Rational(1, 3)
        q = [[sp.Rational(1, 4), sp.Rational(2, 3)], [sp.Rational(1, 2), sp.Rational(1, 5)]]
        r = [[sp.Integer(1), sp.Integer(0)], [sp.Rational(-1, 2), sp.Integer(2)]]
    P = [[[q[s][a], 1 - q[s][a]] for a in range(2)] for s in range(2)]
    return SymbolicMDP(T=T, p0=[p, 1 - p], P=P, r=r, u=u)


def unit_domain(*symbols) -> dict:
    """Counterexample-search ranges (lo, hi) = (1/10, 9/10) for probability symbols."""
    return {s: (Fraction(1, 10), Fraction(9, 10)) for s in symbols}


def probability_domain(m: SymbolicMDP) -> dict:
    """Ranges for the MDP's probability symbols (p, q_{sa}) inside (0, 1)."""
    syms = [e for e in [m.p0[0], *(m.P[s][a][0] for s in range(2) for a in range(2))]
            if isinstance(e, sp.Symbol)]
    return unit_domain(*syms)
