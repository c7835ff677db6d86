"""DAgger, Dataset Aggregation, as the notes write it (§2.1, Algorithm 1), with exact reports.

    1: train π_θ(a_t|o_t) from human data D = {o_1, a_1, …, o_N, a_N}
    2: run π_θ(a_t|o_t) to get dataset D_π = {o_1, …, o_M}
    3: ask human to label D_π with actions a_t
    4: aggregate: D ← D ∪ D_π

The human is an expert oracle: a deterministic table π* labels every visited (t, s) with
π*_t(s). The learner is the tabular maximum-likelihood fit of
:func:`~pgmath.algorithms.behavioural_cloning.fit_tabular` (optionally over
observations o = φ(s)).

*p_train, precisely.* After rounds i = 0..k−1 (round 0 is the expert's own data, round
i ≥ 1 ran the learner π_{θ_i}), each with n_i trajectories of length T, the aggregated
dataset's states are drawn from the mixture

    p_train^k(s_t) = Σ_i n_i p_{θ_i}(s_t) / Σ_i n_i     (p_{θ_0} = p_{π*}),

``[T, S]``; a state of the dataset drawn uniformly is distributed as its time-pooled
version p̄(s) = (1/T) Σ_t p(s_t). Each iteration reports TV(p̄_train, p̄_θ) for the learner
trained on that dataset, the per-step mean (1/T) Σ_t TV(p_train(s_t), p_θ(s_t)), and the
exact expected cost E[Σ_t c(s_t, a_t)], all exact (IL-4, IL-6).

With ``rng=None`` the counts are replaced by their expectations ("population DAgger",
the limit of many trajectories per round): deterministic, exact end to end.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError, InvalidMDPError, check_generator
from ..exact import state_marginals
from .behavioural_cloning import (error_rates, expected_cost, fit_tabular, labelled_dataset,
                                  pooled, total_variation)

__all__ = ["DaggerIteration", "dagger"]


@dataclass(frozen=True)
class DaggerIteration:
    """One DAgger iteration: the learner fitted to the aggregated data, and its exact report.

    Attributes:
      iteration: k, the number of DAgger rounds (run, label, aggregate) behind this
        learner: 0 is behavioural cloning on the expert's data alone.
      learner: ``[S, A]`` π_{θ_k}.
      p_train: ``[T, S]`` the aggregated data's state distribution (module docstring).
      p_theta: ``[T, S]`` the learner's state marginals p_{θ_k}(s_t).
      tv: TV(p̄_train, p̄_θ) of the time-pooled distributions.
      tv_per_step: (1/T) Σ_t TV(p_train(s_t), p_θ(s_t)) (≥ ``tv``).
      cost: E[Σ_t c(s_t, a_t)] under π_{θ_k}, with c = 1[a ≠ π*(s)].
      epsilon_train: the learner's pooled error rate under p_train (IL-5's ε).
      epsilon_own: its pooled error rate under its own p_θ, so cost = T · epsilon_own.
      dataset_trajectories: trajectories in the aggregated dataset the learner was fitted
        to, n (k + 1): the expert's n and n per round (the ``n_trajectories`` argument of
        :func:`dagger` is per round).
      data: (states, labels, weights) of the aggregated dataset the learner was fitted to,
        round after round; sampled rounds are ``[n·T]`` rows (trajectory-major, weight 1),
        expected-count rounds are ``[T·S]`` (every (t, s) with weight n p(s_t = s)).
    """

    iteration: int
    learner: np.ndarray
    p_train: np.ndarray
    p_theta: np.ndarray
    tv: float
    tv_per_step: float
    cost: float
    epsilon_train: float
    epsilon_own: float
    dataset_trajectories: int
    data: tuple = ()

    @property
    def n_trajectories(self) -> int:
        """Deprecated name of :attr:`dataset_trajectories` (the aggregated total, not the
        per-round ``n_trajectories`` argument of :func:`dagger`)."""
        warnings.warn("DaggerIteration.n_trajectories is deprecated: it is the aggregated "
                      "total; use dataset_trajectories", DeprecationWarning, stacklevel=2)
        return self.dataset_trajectories


def dagger(mdp, expert, *, n_rounds: int | None = None, n_trajectories: int,
           rng: np.random.Generator | None = None, smoothing: float = 1.0,
           observation_map=None, n_iterations: int | None = None) -> list[DaggerIteration]:
    """Behavioural cloning, then ``n_rounds`` DAgger rounds; one record per learner.

    Args:
      mdp: finite-horizon :class:`TabularMDP` (T = horizon).
      expert: deterministic ``[S, A]`` or ``[T, S, A]`` table: the oracle that labels.
      n_rounds: K ≥ 0 rounds of Algorithm 1's steps 2–4 (run the learner, label,
        aggregate), each followed by step 1 again (retrain on the aggregated data).
        ``n_rounds=0`` is behavioural cloning alone.
      n_trajectories: n trajectories per round: the expert's n in D, then n of the
        learner in each round (the aggregated dataset holds n (k + 1) after k rounds:
        :attr:`DaggerIteration.dataset_trajectories`).
      rng: a Generator for sampled DAgger; ``None`` for expected counts (exact).
      smoothing, observation_map: the learner's (:func:`fit_tabular`).
      n_iterations: deprecated: the number of learners, ``n_rounds + 1``.

    Returns:
      ``K + 1`` :class:`DaggerIteration` records, k = 0 (behavioural cloning) … K.
    """
    if mdp.horizon is None:
        raise InvalidMDPError("DAgger here needs a finite-horizon MDP (T = horizon)")
    if n_iterations is not None:
        if n_rounds is not None:
            raise InvalidArgumentError("give n_rounds (DAgger rounds after behavioural "
                                       "cloning), not also the deprecated n_iterations")
        warnings.warn("dagger(n_iterations=K) is deprecated: it counted the behavioural-cloning "
                      "learner too; use n_rounds=K − 1", DeprecationWarning, stacklevel=2)
        if isinstance(n_iterations, bool) or not isinstance(n_iterations, (int, np.integer)) \
                or n_iterations < 1:
            raise InvalidArgumentError(f"n_iterations must be a positive int, got {n_iterations!r}")
        n_rounds = n_iterations - 1
    if isinstance(n_rounds, bool) or not isinstance(n_rounds, (int, np.integer)) or n_rounds < 0:
        raise InvalidArgumentError(f"n_rounds must be an int ≥ 0 (DAgger rounds after "
                                   f"behavioural cloning), got {n_rounds!r}")
    if isinstance(n_trajectories, bool) or not isinstance(n_trajectories, (int, np.integer)) \
            or n_trajectories < 1:
        raise InvalidArgumentError(f"n_trajectories must be a positive int, got {n_trajectories!r}")
    check_generator(rng, optional=True)
    S, A = mdp.n_states, mdp.n_actions
    data = [labelled_dataset(mdp, expert, expert, n_trajectories, rng)]  # 1: the expert's D
    mixture = n_trajectories * state_marginals(mdp, expert)
    out = []
    for k in range(n_rounds + 1):
        s, a, w = (np.concatenate([np.ravel(x[j]) for x in data]) for j in range(3))
        learner = fit_tabular(s, a, S, A, smoothing=smoothing,
                              observation_map=observation_map, weights=w)
        n_total = n_trajectories * (k + 1)
        p_train = mixture / n_total
        p_theta = state_marginals(mdp, learner)
        out.append(DaggerIteration(
            iteration=k, learner=learner, p_train=p_train, p_theta=p_theta,
            tv=float(total_variation(pooled(p_train), pooled(p_theta))),
            tv_per_step=float(total_variation(p_train, p_theta).mean()),
            cost=expected_cost(mdp, expert, learner),
            epsilon_train=float(np.sum(p_train * _errors(mdp, expert, learner)) / mdp.horizon),
            epsilon_own=float(np.sum(p_theta * _errors(mdp, expert, learner)) / mdp.horizon),
            dataset_trajectories=n_total, data=(s, a, w)))
        if k < n_rounds:
            # 2: run π_θ; 3: the expert labels the visited states; 4: aggregate
            data.append(labelled_dataset(mdp, learner, expert, n_trajectories, rng))
            mixture = mixture + n_trajectories * p_theta
    return out


def _errors(mdp, expert, learner) -> np.ndarray:
    """``[T, S]`` e_t(s) broadcast over time."""
    return np.broadcast_to(error_rates(mdp, expert, learner), (mdp.horizon, mdp.n_states))
