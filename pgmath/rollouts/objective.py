"""Exact J, ∇J and V of a rollout problem's objective, each by two routes.

The objective (:mod:`pgmath.rollouts.problem`) is the exact engine's objective of
``problem.target_mdp()``: the absorbing MDP with horizon H (episodic with a time limit)
or infinite horizon (discounted J_γ, or episodic without a time limit).

* J: ``"forward"`` Σ_s ρ(s) r_π(s) with ρ the discounted visitation (forward marginals,
  or p0 (I − γP_π)⁻¹ as a transposed linear solve); ``"backward"`` Σ_s p0(s) V₀(s) with V
  from the backward recursion or the linear solve (I − γP_π) V = r_π.
* ∇J: ``"pg_theorem"`` Σ_s ρ(s) Σ_a ∇π(a|s) Q(s, a) and ``"autograd"`` (reverse mode
  through the forward J) — :func:`pgmath.exact.gradient`.
* V: ``"backward"`` (recursion / linear solve) and ``"forward"``: V_k(s) is the forward
  J of the same problem started in s with H − k steps left (one forward pass per start
  state, all at once as a matrix of start distributions).

Values are returned in the layout rollouts index them by: ``[S]`` when they do not
depend on time, else ``[H + 1, S]`` indexed by the time k since the reset, with
V_H = 0 (the value of the observation at which the time limit ends an episode).
"""
from __future__ import annotations

import numpy as np

from ..errors import ImproperPolicyError, InvalidArgumentError
from ..exact import discounted_state_visitation, gradient as _gradient, values as _values
from ..policy_tables import policy_table
from ..exact._system import active_states, policy_reward, reaches, state_transition
from .problem import RolloutProblem

__all__ = ["objective", "gradient", "values", "expected_length", "check_proper"]


def check_proper(problem: RolloutProblem, pi: np.ndarray) -> None:
    """Raise :class:`ImproperPolicyError` when the episodic objective is undiscounted with no
    time limit and some state reachable from p(s₀) cannot reach a terminal state under π
    (its return diverges, or its episode never ends), naming those states."""
    if problem.objective != "episodic" or problem.discount < 1.0 or problem.time_limit is not None:
        return
    adj = np.asarray(state_transition(problem.mdp, pi)) > 0
    seen = reaches(adj.T, np.flatnonzero(problem.mdp.p0 > 0))
    ends = reaches(adj, problem.terminal)
    stuck = np.flatnonzero(seen & ~ends)
    if stuck.size:
        raise ImproperPolicyError(
            f"the policy never terminates from state(s) {stuck.tolist()}: no path to a terminal "
            f"state {problem.terminal.tolist()} under π, so the undiscounted episodic return has "
            "no end (give a time limit or γ < 1)")


def objective(problem: RolloutProblem, policy, theta=None, *, method: str = "forward") -> float:
    """J(θ) of the problem's objective (episodic J or discounted J_γ), a float.

    Args:
      method: ``"forward"`` (Σ_s ρ(s) r_π(s), ρ the discounted state visitation) or
        ``"backward"`` (Σ_s p0(s) V₀(s)).
    """
    mdp = problem.target_mdp()
    pi = np.asarray(policy_table(problem.mdp, policy, theta))
    check_proper(problem, pi)
    if method == "forward":
        return float(discounted_state_visitation(mdp, pi) @ policy_reward(mdp, pi))
    if method == "backward":
        V = values(problem, pi, method="backward")
        return float(problem.mdp.p0 @ (V[0] if V.ndim == 2 else V))
    raise InvalidArgumentError(f"method must be 'forward' or 'backward', got {method!r}")


def gradient(problem: RolloutProblem, policy, theta, *, method: str = "pg_theorem") -> np.ndarray:
    """∇_θ J(θ) ``[d]`` of the problem's objective (∇J episodic, ∇J_γ discounted).

    Args:
      method: ``"pg_theorem"`` or ``"autograd"`` (:func:`pgmath.exact.gradient`).
    """
    check_proper(problem, np.asarray(policy_table(problem.mdp, policy, theta)))
    return _gradient(problem.target_mdp(), policy, theta, method=method)


def values(problem: RolloutProblem, policy, theta=None, *, method: str = "backward") -> np.ndarray:
    """The objective's values: ``[S]``, or ``[H + 1, S]`` (V_k(s), V_H = 0) when they depend
    on the time k since the reset (episodic objective with a time limit).

    Terminal states have value 0.

    Args:
      method: ``"backward"`` (the engine's backward recursion / linear solve) or
        ``"forward"`` (forward marginals from every start state at once).
    """
    mdp = problem.target_mdp()
    pi = np.asarray(policy_table(problem.mdp, policy, theta))
    check_proper(problem, pi)
    S = problem.n_states
    if method == "backward":
        V = np.asarray(_values(mdp, pi))
        if V.ndim == 2:
            V = np.vstack([V, np.zeros((1, S))])
        return V
    if method != "forward":
        raise InvalidArgumentError(f"method must be 'backward' or 'forward', got {method!r}")
    P_pi, r_pi, g = state_transition(mdp, pi), policy_reward(mdp, pi), mdp.discount
    if mdp.horizon is None:
        act = active_states(mdp, pi)
        # row s of D = e_s (I − γ P_π)⁻¹: the discounted visitation from start state s
        D = np.zeros((S, S))
        D[np.ix_(act, act)] = np.linalg.solve((np.eye(act.sum()) - g * P_pi[np.ix_(act, act)]).T,
                                              np.eye(act.sum())).T
        return D @ r_pi
    H = mdp.horizon
    # forward: the marginals of every start state (rows of M_j = P_π^j), accumulated
    J_steps = np.zeros((H + 1, S))  # J_steps[m, s] = E[Σ_{j<m} γ^j r_j | s_0 = s]
    M = np.eye(S)
    for j in range(H):
        J_steps[j + 1] = J_steps[j] + g ** j * (M @ r_pi)
        M = M @ P_pi
    return J_steps[::-1]  # V_k = J with H − k steps left; V_H = 0


def expected_length(problem: RolloutProblem, policy, theta=None) -> float:
    """E[L], the expected number of steps of an episode, L = min(τ, H).

    E[L] = Σ_{k<H} P(the episode is alive at step k) = Σ_k Σ_{s non-terminal} d_k(s),
    d_k the marginals of the absorbing chain; without a time limit, the undiscounted
    visitation p0 (I − P_π)⁻¹ summed over non-terminal states (``inf`` when some
    reachable state never terminates).
    """
    pi = np.asarray(policy_table(problem.mdp, policy, theta))
    P_pi = state_transition(problem.mdp, pi)
    live = ~problem.is_terminal
    H = problem.time_limit
    if H is not None:
        d, total = problem.mdp.p0.copy(), 0.0
        for _ in range(H):
            total += float(d[live].sum())
            d = d @ P_pi
        return total
    adj = P_pi > 0
    seen = reaches(adj.T, np.flatnonzero(problem.mdp.p0 > 0))  # states reachable from p0
    ends = reaches(adj, problem.terminal) if problem.terminal.size else np.zeros_like(live)
    if np.any(seen & live & ~ends):
        return float("inf")
    keep = seen & live
    Pl = P_pi[np.ix_(keep, keep)]
    visits = np.linalg.solve((np.eye(int(keep.sum())) - Pl).T, problem.mdp.p0[keep])
    return float(visits.sum())
