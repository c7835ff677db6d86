"""Independent expected values for the adapter and gallery tests (imports nothing of pgmath).

Brute force over every trajectory (:func:`reference.trajectory_probabilities`, the notes'
product formula) and a textbook backward recursion for Q and V, finite horizon T, MDPs
with rewards R[s, a]:

    Q_t(s, a) = r(s, a) + γ Σ_{s'} P(s'|s, a) V_{t+1}(s'),  V_t(s) = Σ_a π(a|s) Q_t(s, a),  V_T = 0.

For a tabular softmax with logits θ[x, b], ψ_t[x, b] = 1[x = s_t](1[b = a_t] − π(b|s_t)).
The closed forms the tests hold the library code against:

* with the exact V, E[ψ_t Â_t] = E[ψ_t A_t(s_t, a_t)] for GAE(λ), λ-returns minus V, and
  the reward-to-go minus V (every later TD error has mean 0 given (s_t, a_t), and ψ_t is
  fixed by then), so an estimator Σ_t w_t ψ_t Â_t has mean Σ_t w_t E[ψ_t A_t];
* ∇J_γ = Σ_t γ^t E[ψ_t A_t] (policy-gradient theorem), so w_t = 1 is biased by
  Σ_t (1 − γ^t) E[ψ_t A_t] when γ < 1.
"""
from __future__ import annotations

import numpy as np

from reference import objective_and_gradient, trajectory_probabilities

__all__ = ["Problem", "q_v_tables", "weighted_advantage_mean", "mean_over_trajectories",
           "gradient"]


class Problem:
    """A float MDP (P ``[S, A, S]``, R ``[S, A]``, p0 ``[S]``), a policy table π ``[S, A]`` with
    every entry > 0 (θ = log π), horizon T and discount γ."""

    def __init__(self, P, R, p0, pi, T: int, gamma: float) -> None:
        self.P, self.R, self.p0, self.pi = (np.asarray(a, dtype=float) for a in (P, R, p0, pi))
        self.T, self.gamma = int(T), float(gamma)
        self.S, self.A = self.R.shape

    @property
    def theta(self) -> np.ndarray:
        return np.log(self.pi).reshape(-1)

    def trajectories(self):
        """[(s [T], a [T], p)] for every trajectory of positive probability."""
        out = []
        for key, p in trajectory_probabilities(self.P, self.R, self.p0, self.pi, self.T).items():
            out.append((list(key[0::2]), list(key[1::2]), float(p)))
        return out


def q_v_tables(pb: Problem) -> tuple[np.ndarray, np.ndarray]:
    """(Q ``[T, S, A]``, V ``[T+1, S]``) by the backward recursion, V_T = 0."""
    Q = np.zeros((pb.T, pb.S, pb.A))
    V = np.zeros((pb.T + 1, pb.S))
    for t in range(pb.T - 1, -1, -1):
        for s in range(pb.S):
            for a in range(pb.A):
                Q[t, s, a] = pb.R[s, a] + pb.gamma * sum(pb.P[s, a, s2] * V[t + 1, s2]
                                                         for s2 in range(pb.S))
            V[t, s] = sum(pb.pi[s, a] * Q[t, s, a] for a in range(pb.A))
    return Q, V


def _psi(pb: Problem, s: int, a: int) -> np.ndarray:
    g = np.zeros((pb.S, pb.A))
    g[s] = -pb.pi[s]
    g[s, a] += 1.0
    return g


def mean_over_trajectories(pb: Problem, row) -> np.ndarray:
    """``[S·A]`` Σ_τ p(τ) row(s, a) for ``row(states [T], actions [T]) -> [S, A]``."""
    total = np.zeros((pb.S, pb.A))
    for s, a, p in pb.trajectories():
        total += p * np.asarray(row(s, a), dtype=float)
    return total.reshape(-1)


def weighted_advantage_mean(pb: Problem, weights) -> np.ndarray:
    """``[S·A]`` E[Σ_t w_t ψ_t A_t(s_t, a_t)] by enumeration, A = Q − V from :func:`q_v_tables`."""
    Q, V = q_v_tables(pb)
    w = np.broadcast_to(np.asarray(weights, dtype=float), (pb.T,))

    def row(s, a):
        return sum(w[t] * _psi(pb, s[t], a[t]) * (Q[t, s[t], a[t]] - V[t, s[t]])
                   for t in range(pb.T))
    return mean_over_trajectories(pb, row)


def gradient(pb: Problem) -> np.ndarray:
    """``[S·A]`` ∇J_γ with respect to the logits (:func:`reference.objective_and_gradient`)."""
    _, G = objective_and_gradient(pb.P, pb.R, pb.p0, pb.pi, pb.T, gamma=pb.gamma)
    return np.asarray(G, dtype=float).reshape(-1)


def gae_mean(pb: Problem, *, gamma_delta: float, decay: float, weights=1.0,
             max_lag: int | None = None) -> np.ndarray:
    """``[S·A]`` E[Σ_t w_t ψ_t Â_t] by enumeration, for a GAE as a library computes it:

        δ_u = r_u + γ_δ V_{u+1}(s_{u+1}) − V_u(s_u),   Â_t = Σ_{0 ≤ l < L} c^l δ_{t+l},

    with V the exact values (γ of the problem), γ_δ and c = γλ as the code rounds them,
    and L = ``max_lag`` (all remaining steps when ``None``).
    """
    _, V = q_v_tables(pb)
    T = pb.T
    w = np.broadcast_to(np.asarray(weights, dtype=float), (T,))
    L = T if max_lag is None else max_lag

    def row(s, a):
        delta = [pb.R[s[u], a[u]] + gamma_delta * (V[u + 1, s[u + 1]] if u + 1 < T else 0.0)
                 - V[u, s[u]] for u in range(T)]
        out = np.zeros((pb.S, pb.A))
        for t in range(T):
            adv = sum(decay ** l * delta[t + l] for l in range(min(L, T - t)))
            out += w[t] * _psi(pb, s[t], a[t]) * adv
        return out
    return mean_over_trajectories(pb, row)
