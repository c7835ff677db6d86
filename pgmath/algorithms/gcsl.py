"""Goal-conditioned behavioural cloning, iterated: GCSL (notes §2.2).

Ghosh et al., "Learning to Reach Goals via Iterated Supervised Learning" (ICLR 2021):
start with a random policy, collect data with random goals, treat every trajectory as a
demonstration for the states it reached (hindsight relabelling), fit the policy by
supervised learning, repeat. Here, on a tabular goal-reaching MDP:

* the policy is a goal-conditioned tabular softmax, logits θ[g, s, a] ``[G, S, A]``,
  π_θ(a|s, g) = exp θ[g, s, a] / Σ_b exp θ[g, s, b];
* iteration 0 is the uniform policy (θ = 0);
* a round rolls out n trajectories of H = horizon actions for every goal g (goals
  commanded in turn, each equally often), s_0 ∼ p0, a_t ∼ π_θ(·|s_t, g);
* relabelling: every pair t < t' ≤ H with s_{t'} = g' a goal and s_t ≠ g' yields the
  example (s_t, g', a_t) ("a_t was a good action for reaching s_{t'} from s_t");
* supervised learning is maximum likelihood with additive smoothing α on the examples of
  all rounds so far (the paper's replay buffer):
  π(a|s, g) = (n(g, s, a) + α) / (n(g, s) + αA), i.e. θ = log of it.

The success probability of goal g is exact: P(s_t = g for some t ≤ H) under
π_θ(·|·, g), computed by making g absorbing (:func:`success_probabilities`).
With ``rng=None`` the counts are their expectations (the many-trajectories limit).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError, InvalidMDPError, ShapeError
from ..exact import state_marginals
from ..policies import log_softmax
from ..trajectories import sample

__all__ = ["GCSLIteration", "gcsl", "goal_policy", "success_probabilities",
           "relabelled_counts", "expected_relabelled_counts"]


@dataclass(frozen=True)
class GCSLIteration:
    """One GCSL iteration: the policy used in it and its exact goal-reaching probabilities.

    Attributes:
      iteration: 0 (the uniform policy), 1, 2, …
      logits: ``[G, S, A]`` θ.
      success: ``[G]`` P(reach goal g within H steps | π_θ(·|·, g)).
    """

    iteration: int
    logits: np.ndarray
    success: np.ndarray

    @property
    def mean_success(self) -> float:
        """The success rate averaged over goals (goals commanded uniformly)."""
        return float(self.success.mean())


def goal_policy(logits) -> np.ndarray:
    """``[G, S, A]`` π_θ(a|s, g) = softmax of θ[g, s, :] (log-sum-exp, finite for huge logits)."""
    return np.exp(log_softmax(np.asarray(logits, dtype=float)))


def _check(mdp, goals) -> np.ndarray:
    if mdp.horizon is None:
        raise InvalidMDPError("GCSL needs a finite horizon H (the episode length)")
    g = np.asarray(goals)
    if g.ndim != 1 or g.size == 0 or g.min() < 0 or g.max() >= mdp.n_states:
        raise ShapeError(f"goals must be a non-empty [G] array of states in 0..{mdp.n_states - 1}")
    return g


def success_probabilities(mdp, policies, goals) -> np.ndarray:
    """``[G]`` P(∃ t ≤ H: s_t = g) under π(·|·, g), exactly.

    With g made absorbing (P_g[g, :, :] = δ_g) the event is s_H = g, so the answer is
    p_H(g) = (p0 P_{π,g}^H)[g], H = ``mdp.horizon`` actions.
    """
    goals = _check(mdp, goals)
    pis = np.asarray(policies, dtype=float)
    if pis.shape != (goals.size, mdp.n_states, mdp.n_actions):
        raise ShapeError(f"policies have shape {pis.shape}; expected [G, S, A] = "
                         f"{(goals.size, mdp.n_states, mdp.n_actions)}")
    out = np.empty(goals.size)
    for i, g in enumerate(goals):
        M = np.einsum("sa,sat->st", pis[i], mdp.P)
        M[g] = 0.0
        M[g, g] = 1.0
        d = mdp.p0.copy()
        for _ in range(mdp.horizon):
            d = d @ M
        out[i] = d[g]
    return out


def relabelled_counts(states: np.ndarray, actions: np.ndarray, goals, n_states: int,
                      n_actions: int) -> np.ndarray:
    """``[G, S, A]`` hindsight-relabelled counts n(g, s, a) from trajectories.

    Args:
      states: ``[N, H + 1]`` s_0..s_H (the final state included).
      actions: ``[N, H]`` a_0..a_{H−1}.

    Every t < t' ≤ H with s_{t'} = goals[i] ≠ s_t adds one to n(i, s_t, a_t).
    """
    goals = np.asarray(goals)
    index = np.full(n_states, -1)
    index[goals] = np.arange(goals.size)
    counts = np.zeros((goals.size, n_states, n_actions))
    H = actions.shape[1]
    for t in range(H):
        for t2 in range(t + 1, H + 1):
            gi = index[states[:, t2]]
            keep = (gi >= 0) & (states[:, t2] != states[:, t])
            np.add.at(counts, (gi[keep], states[keep, t], actions[keep, t]), 1.0)
    return counts


def expected_relabelled_counts(mdp, policies, goals, n_trajectories: float) -> np.ndarray:
    """``[G, S, A]`` E[n(g, s, a)] for n = ``n_trajectories`` trajectories per commanded goal.

    E n(g, s, a) = n Σ_{g'} Σ_{t<H} p_t(s) π(a|s, g') Σ_{k=1}^{H−t} [P_a M^{k−1}](s, g)
    for s ≠ g, with p_t the marginals and M = P_{π(·|·, g')} of the commanded goal g'.
    """
    goals = _check(mdp, goals)
    H, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    counts = np.zeros((goals.size, S, A))
    for pi in np.asarray(policies, dtype=float):
        d = state_marginals(mdp, pi)  # [H, S]
        M = np.einsum("sa,sat->st", pi, mdp.P)
        F = mdp.P.copy()  # F_k = P_a M^{k−1}
        reach = np.zeros((H + 1, S, A, S))  # reach[j] = Σ_{k ≤ j} F_k
        for j in range(1, H + 1):
            reach[j] = reach[j - 1] + F
            F = F @ M
        for t in range(H):
            sa = d[t][:, None] * pi  # [S, A]
            counts += n_trajectories * np.einsum("sa,sag->gsa", sa, reach[H - t][:, :, goals])
    counts[np.arange(goals.size), goals, :] = 0.0  # s_t = g is not an example for g
    return counts


def gcsl(mdp, goals, *, n_iterations: int, n_trajectories: int,
         rng: np.random.Generator | None = None, smoothing: float = 1.0) -> list[GCSLIteration]:
    """Iterate GCSL from the uniform policy; return ``n_iterations`` iterations (0 = random).

    Args:
      mdp: a finite-horizon :class:`TabularMDP` (H = horizon actions per episode).
      goals: ``[G]`` goal states.
      n_iterations: K ≥ 1.
      n_trajectories: n episodes per goal per round.
      rng: a Generator for sampled data; ``None`` for expected counts (exact).
      smoothing: α > 0 of the maximum-likelihood fit.
    """
    goals = _check(mdp, goals)
    if not (np.isfinite(smoothing) and smoothing > 0):
        raise InvalidArgumentError(f"smoothing α must be > 0, got {smoothing}")
    if isinstance(n_iterations, bool) or not isinstance(n_iterations, (int, np.integer)) or n_iterations < 1:
        raise InvalidArgumentError(f"n_iterations must be a positive int, got {n_iterations!r}")
    if isinstance(n_trajectories, bool) or not isinstance(n_trajectories, (int, np.integer)) \
            or n_trajectories < 1:
        raise InvalidArgumentError(f"n_trajectories must be a positive int, got {n_trajectories!r}")
    G, S, A = goals.size, mdp.n_states, mdp.n_actions
    logits = np.zeros((G, S, A))
    counts = np.zeros((G, S, A))
    out = []
    for k in range(n_iterations):
        pis = goal_policy(logits)
        out.append(GCSLIteration(k, logits, success_probabilities(mdp, pis, goals)))
        if k + 1 == n_iterations:
            break
        if rng is None:
            counts = counts + expected_relabelled_counts(mdp, pis, goals, n_trajectories)
        else:
            for pi in pis:
                tr = sample(mdp, pi, None, n_trajectories, rng)
                states = np.concatenate([tr.states, tr.final_states[:, None]], axis=1)
                counts = counts + relabelled_counts(states, tr.actions, goals, S, A)
        logits = np.log(counts + smoothing) - np.log(counts.sum(-1, keepdims=True) + smoothing * A)
    return out
