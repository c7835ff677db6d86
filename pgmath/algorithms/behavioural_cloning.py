"""Behavioural cloning, exactly: experts, the imitation cost, learners, ε and the bounds (notes §2.1).

The notes' setting (§2.1, "Let us prove theoretically …"): an expert π*, the cost

    c(s, a) = 0 if a = π*(s), 1 otherwise,

and a learner π_θ whose error rate in state s is e(s) = π_θ(a ≠ π*(s)|s) = Σ_a π_θ(a|s) c(s, a).
Everything here is exact: the state distributions

    p_train(s_t) = p_{π*}(s_t)     (the expert's marginals: where the training data come from)
    p_θ(s_t)     = p_{π_θ}(s_t)    (the learner's own marginals)

come from :func:`pgmath.exact.state_marginals`, and the expected cost is
E[Σ_t c(s_t, a_t)] = Σ_t Σ_s p_θ(s_t = s) e_t(s).

Experts and learners are probability tables ``[S, A]`` (stationary) or ``[T, S, A]``
(time-dependent, finite horizon); an expert must be deterministic (one-hot rows).
Code indexes time t = 0..T−1 (the notes use 1..T): after t actions the state is s_t.

Bounds (ε = the learner's error, T = horizon), all proved in the docs of the functions:

* :func:`bc_series_bound`  T(1 − (1−ε)^T): the notes' series εT + (1−ε)εT + … with T terms
  (IL-1; the infinite series sums to T).
* :func:`bc_cost_bound`    Σ_{t=1..T} (1 − (1−ε)^t) = T − (1−ε)(1 − (1−ε)^T)/ε: the tight bound
  under the per-state assumption, attained by the tightrope (IL-1).
* :func:`drift_bound`      ‖p_θ(s_t) − p_train(s_t)‖₁ ≤ 2(1 − (1−ε)^t) (IL-2).
* :func:`notes_cost_bound` Σ_t (ε + 2εt) = εT² (IL-3).
* :func:`average_error_cost_bound` Σ_k (T − k) ε_k under the average assumption (IL-5).
"""
from __future__ import annotations

import numpy as np

from .._deprecation import keyword_only
from ..environments import tightrope
from ..errors import (InvalidArgumentError, InvalidMDPError, InvalidPolicyError, ShapeError,
                      check_generator)
from ..exact import optimal_policy, state_marginals
from ..policy_tables import policy_table
from ..probability import SUM_TOL, check_probability, probability_tolerance
from ..trajectories import sample

__all__ = [
    "expert_policy", "imitation_cost", "error_rates", "epsilon_learner", "fit_tabular",
    "expert_labels", "labelled_dataset", "clone", "state_distributions",
    "expected_cost", "expected_cost_per_step", "clean_marginals",
    "epsilon_max", "epsilon_average", "pooled", "total_variation",
    "bc_series_bound", "bc_cost_bound", "drift_bound", "notes_cost_bound",
    "average_error_cost_bound", "tightrope_learners", "fitted_slope",
]


# -- experts and the cost -----------------------------------------------------------------------
def expert_policy(mdp) -> np.ndarray:
    """A deterministic optimal policy π* from exact optimal control (backward induction or
    policy iteration, :func:`pgmath.exact.optimal_policy`; ties to the lowest action).

    Returns ``[S, A]`` when the optimal actions do not depend on time (always for an
    infinite horizon), else ``[T, S, A]``.
    """
    pi = optimal_policy(mdp)
    if pi.ndim == 3 and np.all(pi == pi[:1]):
        return pi[0]
    return pi


def _check_expert(mdp, expert) -> np.ndarray:
    """The expert's table with every entry exactly 0 or 1: entries within the rounding
    tolerance tol(1) of 0 or 1 (:mod:`pgmath.probability`) are snapped to it."""
    pi = np.asarray(policy_table(mdp, expert), dtype=float)
    tol = probability_tolerance(1)
    one = pi >= 1.0 - tol
    bad = ~np.all(one | (pi <= tol), axis=-1)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = ", ".join(f"{n}={i}" for n, i in zip(("t", "s")[-len(idx):], idx))
        raise InvalidPolicyError(
            f"the expert must be deterministic (one-hot rows) for c(s, a) = 1[a ≠ π*(s)]; "
            f"expert[{where}, :] = {pi[idx].tolist()}")
    return one.astype(float)


def imitation_cost(mdp, expert) -> np.ndarray:
    """``[S, A]`` or ``[T, S, A]`` the notes' cost c(s, a) = 1[a ≠ π*(s)] (§2.1).

    Raises :class:`InvalidPolicyError` naming the row when the expert is not one-hot.
    """
    return 1.0 - _check_expert(mdp, expert)


def _both(mdp, expert, learner) -> tuple[np.ndarray, np.ndarray]:
    """(c, π_θ) broadcast to a common shape: both ``[S, A]`` or both ``[T, S, A]``."""
    c = imitation_cost(mdp, expert)
    pi = np.asarray(policy_table(mdp, learner), dtype=float)
    if c.ndim != pi.ndim:
        T = mdp.horizon
        c = np.broadcast_to(c, (T,) + c.shape[-2:])
        pi = np.broadcast_to(pi, (T,) + pi.shape[-2:])
    return c, pi


def error_rates(mdp, expert, learner) -> np.ndarray:
    """``[S]`` or ``[T, S]`` e(s) = π_θ(a ≠ π*(s)|s) = Σ_a π_θ(a|s) c(s, a)."""
    c, pi = _both(mdp, expert, learner)
    return check_probability(np.sum(pi * c, axis=-1), "e", error=InvalidPolicyError)


# -- learners -------------------------------------------------------------------------------
@keyword_only
def epsilon_learner(expert, eps, *, mistakes=None) -> np.ndarray:
    """The ε-error model: π_θ(a|s) = (1 − ε(s)) 1[a = π*(s)] + ε(s) m(a|s).

    ε(s) is the error rate in *every* state s, including states the expert never visits
    (the tightrope's fallen state): a scalar ε makes the learner err with probability ε
    there too, which is DAgger's fixed point (trained on its own states). Behavioural
    cloning's learner is untrained off the expert's path: give a per-state ε (as
    :func:`tightrope_learners` does, ε = 1 in the fallen state).

    Args:
      expert: one-hot ``[S, A]`` or ``[T, S, A]``.
      eps: the error probability ε(s) ∈ [0, 1]: a scalar, ``[S]`` or ``[T, S]`` (then the
        learner is ``[T, S, A]``).
      mistakes: ``[S, A]`` (or ``[T, S, A]``) distribution m(a|s) of the wrong action,
        zero on π*(s); default uniform over the A − 1 wrong actions.

    Returns:
      the learner's table, ``[S, A]`` or ``[T, S, A]``, with error rate exactly ε(s).
    """
    pi = np.asarray(expert, dtype=float)
    if pi.ndim not in (2, 3) or pi.shape[-1] < 2:
        raise ShapeError(f"expert must be [S, A] or [T, S, A] with A ≥ 2, got shape {pi.shape}")
    e = check_probability(eps, "eps", error=InvalidPolicyError)
    if pi.ndim == 2 and e.ndim == 2:  # time-dependent errors for a stationary expert
        pi = np.broadcast_to(pi, e.shape[:1] + pi.shape)
    try:
        e = np.broadcast_to(e, pi.shape[:-1])
    except ValueError:
        raise ShapeError(f"eps has shape {e.shape}; expected a scalar or {pi.shape[:-1]}") from None
    if mistakes is None:
        m = (1.0 - pi) / (pi.shape[-1] - 1)
    else:
        m = np.broadcast_to(check_probability(mistakes, "mistakes", error=InvalidPolicyError),
                            pi.shape)
        if np.any(m * pi > 0) or np.any(np.abs(m.sum(-1) - 1) > SUM_TOL):
            raise InvalidPolicyError("mistakes must be distributions over the wrong actions "
                                     "(zero on π*(s), rows summing to 1)")
    return (1.0 - e)[..., None] * pi + e[..., None] * m


def fit_tabular(states, actions, n_states: int, n_actions: int, *, smoothing: float = 1.0,
                observation_map=None, weights=None) -> np.ndarray:
    """Maximum likelihood with additive smoothing: π_θ(a|x) = (n(x, a) + α) / (n(x) + αA).

    The tabular learner of behavioural cloning, fitted to labelled pairs (s_i, a_i).
    With ``observation_map`` φ ``[S]`` the learner reads x = φ(s) (aliased states share
    a row), as the notes' π_θ(a_t|o_t).

    Args:
      states, actions: int arrays of the same shape (any shape, e.g. ``[N, T]``).
      n_states, n_actions: S, A.
      smoothing: α > 0 (a state never seen gets the uniform distribution).
      observation_map: optional ``[S]`` ints φ(s) ∈ {0..X−1}.
      weights: optional non-negative weights per pair (expected counts), same shape.

    Returns:
      ``[S, A]`` the learner in state space: row s is π_θ(·|φ(s)).
    """
    s = np.asarray(states)
    a = np.asarray(actions)
    if s.shape != a.shape:
        raise ShapeError(f"states {s.shape} and actions {a.shape} must have the same shape")
    if not (np.isfinite(smoothing) and smoothing > 0):
        raise InvalidPolicyError(f"smoothing α must be > 0 (unseen states need a policy), got {smoothing}")
    for name, v, n in (("states", s, n_states), ("actions", a, n_actions)):
        if v.size and (v.min() < 0 or v.max() >= n):
            raise ShapeError(f"{name} must lie in 0..{n - 1}, got values {v.min()}..{v.max()}")
    phi = np.arange(n_states) if observation_map is None else np.asarray(observation_map)
    if phi.shape != (n_states,) or (phi.size and phi.min() < 0):
        raise ShapeError(f"observation_map must be [S] = ({n_states},) non-negative ints, got {phi.shape}")
    X = int(phi.max()) + 1
    w = np.ones(s.shape) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != s.shape or np.any(w < 0):
        raise ShapeError(f"weights must be non-negative with shape {s.shape}, got {w.shape}")
    counts = np.zeros((X, n_actions))
    np.add.at(counts, (phi[s.ravel()], a.ravel()), w.ravel())
    table = (counts + smoothing) / (counts.sum(1, keepdims=True) + smoothing * n_actions)
    return table[phi]


def expert_labels(mdp, expert) -> np.ndarray:
    """``[T, S]`` the expert oracle's label π*_t(s) for every time and state (one-hot expert)."""
    if mdp.horizon is None:
        raise InvalidMDPError("imitation here needs a finite-horizon MDP (T = horizon)")
    pi = _check_expert(mdp, expert)
    pi = np.broadcast_to(pi, (mdp.horizon,) + pi.shape[-2:])
    return np.argmax(pi, axis=-1)


def labelled_dataset(mdp, policy, expert, n_trajectories: int,
                     rng: np.random.Generator | None = None):
    """Run ``policy`` for n trajectories and let the expert label the visited states.

    Returns ``(states, labels, weights)``: with a Generator, ``[n, T]`` sampled states, the
    labels π*_t(s_t) and unit weights; with ``rng=None``, the expected counts instead:
    states ``[T, S]`` = every s at every t, labels π*_t(s), weights n p_policy(s_t = s).
    With ``policy = expert`` this is the human data D of the notes' DAgger.
    """
    labels = expert_labels(mdp, expert)
    T, S = labels.shape
    if rng is None:
        d = state_marginals(mdp, policy)
        return np.broadcast_to(np.arange(S), (T, S)), labels, n_trajectories * d
    check_generator(rng, optional=True)
    states = sample(mdp, policy, None, n_trajectories, rng).states
    return states, labels[np.arange(T)[None, :], states], np.ones(states.shape)


def clone(mdp, expert, n_trajectories: int, rng: np.random.Generator | None = None, *,
          smoothing: float = 1.0, observation_map=None) -> np.ndarray:
    """Behavioural cloning: ``[S, A]`` the tabular learner fitted to n expert trajectories
    (:func:`labelled_dataset` of the expert, then :func:`fit_tabular`)."""
    s, a, w = labelled_dataset(mdp, expert, expert, n_trajectories, rng)
    return fit_tabular(s, a, mdp.n_states, mdp.n_actions, smoothing=smoothing,
                       observation_map=observation_map, weights=w)


# -- exact costs and distributions ------------------------------------------------------------
def state_distributions(mdp, expert, learner) -> tuple[np.ndarray, np.ndarray]:
    """(p_train ``[T, S]``, p_θ ``[T, S]``): the expert's and the learner's exact state
    marginals p(s_t = s) (:func:`pgmath.exact.state_marginals`)."""
    return state_marginals(mdp, expert), state_marginals(mdp, learner)


def expected_cost_per_step(mdp, expert, learner) -> np.ndarray:
    """``[T]`` E_{p_θ(s_t)}[c_t] = Σ_s p_θ(s_t = s) e_t(s), exactly."""
    e = error_rates(mdp, expert, learner)
    d = state_marginals(mdp, learner)
    return np.sum(d * e, axis=-1)


def expected_cost(mdp, expert, learner) -> float:
    """E[Σ_{t<T} c(s_t, a_t)] under the learner, exactly (notes §2.1)."""
    return float(expected_cost_per_step(mdp, expert, learner).sum())


def clean_marginals(mdp, expert, learner) -> np.ndarray:
    """``[T, S]`` q_t(s) = p_θ(s_t = s, no mistake among a_0..a_{t−1}).

    Forward recursion on the mistake-free part of the chain:
    q_0 = p0, q_{t+1}(s') = Σ_s q_t(s) π_θ(π*_t(s)|s) P[s, π*_t(s), s'].
    A mistake-free learner path is an expert path, so q_t = p_train(s_t) Π(1 − e) along
    it: (1 − ε_max)^t p_train(s_t) ≤ q_t(s) ≤ p_train(s_t). This is what the notes'
    (1 − ε)^t p_train(s_t) term of IL-2 stands for.
    """
    c, pi = _both(mdp, expert, learner)
    good = pi * (1.0 - c)  # [.., S, A] probability of taking the expert's action
    T = mdp.horizon
    q = np.empty((T, mdp.n_states))
    q[0] = mdp.p0
    for t in range(T - 1):
        g = good[t] if good.ndim == 3 else good
        q[t + 1] = np.einsum("s,sa,sat->t", q[t], g, mdp.P)
    return q


def pooled(d: np.ndarray) -> np.ndarray:
    """``[S]`` the time-pooled state distribution p̄(s) = (1/T) Σ_t p(s_t = s) of ``[T, S]``:
    the distribution of a state drawn from a dataset of whole trajectories."""
    return np.asarray(d).mean(axis=0)


def total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """TV(p, q) = ½ Σ_s |p(s) − q(s)| over the last axis: ``[..., S]`` → ``[...]``."""
    return 0.5 * np.abs(np.asarray(p) - np.asarray(q)).sum(axis=-1)


def epsilon_max(mdp, expert, learner) -> float:
    """ε = max { e_t(s) : p_train(s_t = s) > 0 }: the per-state assumption of IL-1..IL-3
    ("π_θ(a ≠ π*(s)|s) ≤ ε for all s in D_train", read as the support of p_train)."""
    e = error_rates(mdp, expert, learner)
    d = state_marginals(mdp, expert)
    e = np.broadcast_to(e, d.shape)
    return float(np.max(np.where(d > 0, e, 0.0)))


def epsilon_average(mdp, expert, learner, *, per_step: bool = False):
    """The average assumption of IL-5, ε = E_{p_train(s)}[π_θ(a ≠ π*(s)|s)].

    ``per_step=False``: the pooled average (1/T) Σ_t Σ_s p_train(s_t = s) e_t(s), a float
    (p_train as the distribution of the training set's states). ``per_step=True``: the
    ``[T]`` averages ε_t = Σ_s p_train(s_t = s) e_t(s).
    """
    e = error_rates(mdp, expert, learner)
    d = state_marginals(mdp, expert)
    eps_t = check_probability(np.sum(d * e, axis=-1), "ε_t", n_steps=d.shape[0] + 1,
                              error=InvalidPolicyError)
    return eps_t if per_step else float(eps_t.mean())


# -- bounds -----------------------------------------------------------------------------------
def _eps_T(eps, T):
    T = np.asarray(T, dtype=float)
    if not np.all((T >= 0) & (T == np.round(T))):
        raise InvalidArgumentError(f"the horizon / step count must be a non-negative int, got {T}")
    # ε of a T-step problem is computed through at most T + 1 distributions
    eps = check_probability(eps, "ε", n_steps=int(T.max(initial=0)) + 1, error=InvalidPolicyError)
    return eps, T


def _one_minus_power(eps, t):
    """1 − (1−ε)^t: −expm1(t log1p(−ε)) for small ε (no cancellation), else directly
    (which keeps 0⁰ = 1 at ε = 1)."""
    small = np.minimum(eps, 0.5)
    return np.where(eps < 0.5, -np.expm1(t * np.log1p(-small)), 1.0 - (1.0 - eps) ** t)


def bc_series_bound(eps, T):
    """The notes' series εT + (1−ε)εT + (1−ε)²εT + … stopped after T terms:
    Σ_{k<T} (1−ε)^k εT = T (1 − (1−ε)^T) ≤ min(T, εT²) (IL-1).

    The k-th term bounds the cost after a first mistake at step k by T; beyond the
    horizon there is no step to err in. The infinite series sums to T for every ε > 0.

    Examples:
      >>> float(bc_series_bound(0.5, 2))  # ½·2 + ½·½·2
      1.5
    """
    eps, T = _eps_T(eps, T)
    return T * _one_minus_power(eps, T)


def bc_cost_bound(eps, T):
    """Σ_{t=1}^{T} (1 − (1−ε)^t) = T − (1−ε)(1 − (1−ε)^T)/ε  (0 at ε = 0).

    Under the per-state assumption (e ≤ ε on the support of p_train), the cost at step t
    is at most P(a mistake among a_0..a_t) ≤ 1 − (1−ε)^{t+1}, since until the first
    mistake the learner walks an expert path. The tightrope with an ε-learner (which
    stays off the rope after a fall) attains it, so it is the exact worst case; it is
    ≈ εT(T+1)/2 for εT ≪ 1 (order T², IL-1).

    Examples:
      >>> float(bc_cost_bound(0.5, 2))  # (1 − ½) + (1 − ¼)
      1.25
    """
    eps, T = _eps_T(eps, T)
    # summed term by term: the closed form cancels catastrophically for small εT
    total = lambda e, n: float(np.sum(_one_minus_power(e, np.arange(1, int(n) + 1))))
    return np.vectorize(total, otypes=[float])(eps, T)[()]


def drift_bound(eps, t):
    """‖p_θ(s_t) − p_train(s_t)‖₁ ≤ 2(1 − (1−ε)^t) ≤ 2εt, t = number of actions taken (IL-2).

    Proof: with q_t the mistake-free mass (:func:`clean_marginals`), p_θ − q_t ≥ 0 and
    p_train − q_t ≥ 0 both have total mass 1 − Σ q_t ≤ 1 − (1−ε)^t, so their difference has
    L1 norm at most twice that. The last step is Bernoulli's inequality (1−ε)^t ≥ 1 − εt.
    """
    eps, t = _eps_T(eps, t)
    return 2.0 * _one_minus_power(eps, t)


def notes_cost_bound(eps, T):
    """The notes' Σ_{t=0}^{T−1} (ε + 2εt) = εT² (IL-3; code indexing t = actions taken).

    With the notes' 1-based t the sum is εT(T + 2), larger still.
    """
    eps, T = _eps_T(eps, T)
    return eps * T ** 2


def average_error_cost_bound(eps_t) -> float:
    """Σ_{k=0}^{T−1} (T − k) ε_k ≤ T Σ_k ε_k, with ε_k = E_{p_train(s_k)}[e_k] (IL-5).

    The first mistake falls at step k with probability Σ_s q_k(s) e_k(s) ≤ ε_k (the
    mistake-free mass q_k ≤ p_train(s_k), :func:`clean_marginals`), and the cost at step
    t is at most P(first mistake ≤ t). With the pooled average ε = (1/T) Σ_k ε_k this
    gives εT², attained by a learner that spends all its error at t = 0.
    """
    e = np.asarray(eps_t, dtype=float)
    if e.ndim == 0 or e.shape[-1] == 0:
        raise ShapeError(f"eps_t must be a non-empty [T] array of per-step error rates, got shape {e.shape}")
    T = e.shape[-1]
    e = check_probability(e, "ε_k", n_steps=T + 1, error=InvalidPolicyError)
    return float(np.sum((T - np.arange(T)) * e, axis=-1))


# -- the tightrope learners of IL-1, IL-4 and IL-8 -----------------------------------------------
def tightrope_learners(eps: float, T: int, *, length: int | None = None, n_actions: int = 2):
    """(tightrope, expert, BC ε-learner, DAgger ε-learner) with horizon T.

    The rope has ``length`` positions (default min(T, 16); its last position loops, so the
    walk continues there and the cost does not depend on the length). BC's learner errs
    with probability ε on the rope (the training distribution) and surely in the fallen
    state, which the expert never visits: its imitation cost is Σ_{t=1}^{T} (1 − (1−ε)^t)
    (:func:`bc_cost_bound`). DAgger's fixed point errs with probability ε in every state,
    the fallen one included (its own distribution): imitation cost εT.
    """
    mdp = tightrope(length or min(T, 16), n_actions=n_actions, horizon=T)
    expert = expert_policy(mdp)
    off = np.full(mdp.n_states, eps)
    off[-1] = 1.0
    return mdp, expert, epsilon_learner(expert, off), epsilon_learner(expert, eps)


def fitted_slope(T, cost) -> float:
    """The least-squares slope k of log C = k log T + c over ``[n]`` horizons T and
    positive costs C (k = 2 for behavioural cloning's εT², 1 for DAgger's εT)."""
    T, cost = np.asarray(T, dtype=float), np.asarray(cost, dtype=float)
    if T.shape != cost.shape or T.ndim != 1 or T.size < 2:
        raise ShapeError(f"T and cost must be [n] with n ≥ 2, got {T.shape} and {cost.shape}")
    if np.any(T <= 0) or np.any(cost <= 0):
        raise InvalidArgumentError("fitted_slope needs positive horizons and costs (log scale)")
    return float(np.polyfit(np.log(T), np.log(cost), 1)[0])
