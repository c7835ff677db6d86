"""Batches of trajectories: vectorised sampling and exhaustive enumeration (notes §3.1, RL-1).

A trajectory τ = (s₀, o₀, a₀, r₀, …, s_{T−1}, o_{T−1}, a_{T−1}, r_{T−1}) has probability

    p_θ(τ) = p(s₀) Π_{t<T} O(o_t|s_t) π_θ(a_t|x_t) Π_{t<T−1} P(s_{t+1}|s_t, a_t)

with x_t = s_t (MDP) or o_t (observation policy in a POMDP); O drops out for an MDP.
When rewards depend on the next state, R[s, a, s'], the final next state s_T is part of
τ too (``final_states``).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ._deprecation import renamed_arguments
from .errors import (InvalidArgumentError, MissingRewardsError, ShapeError,
                     TooManyTrajectoriesError, check_generator)
from .mdp import horizon_steps as _steps
from .policy_tables import policy_at, policy_table

__all__ = ["Trajectories", "sample", "enumerate_trajectories", "count_trajectories",
           "acting_table", "trajectory_log_probs"]

#: Default refusal threshold of :func:`enumerate_trajectories`.
MAX_TRAJECTORIES = 1_000_000


class _OptionalRewards:
    """The ``rewards`` field of :class:`Trajectories`: ``[N, T]`` r_t, or absent.

    A batch built without rewards (``rewards=None``, the default) serves everything that
    reads only states, observations and actions (scores ψ_t, ``estimators.fisher_estimate``,
    ``estimators.step_fisher_estimate``, log-probabilities); reading ``batch.rewards`` from it
    (an estimator, :meth:`Trajectories.returns`) raises :class:`MissingRewardsError`
    instead of computing with a placeholder.
    """

    def __get__(self, obj, objtype=None):
        if obj is None:
            return None  # the dataclass default: rewards are optional
        r = obj.__dict__["_rewards"]
        if r is None:
            raise MissingRewardsError(
                f"this batch of {obj.n} trajectories was built without rewards "
                "(Trajectories(..., rewards=None)), and something read batch.rewards: "
                "estimators and returns() need them; pass rewards=[N, T] (scores and "
                "Fisher estimates do not need them)")
        return r

    def __set__(self, obj, value) -> None:
        obj.__dict__["_rewards"] = value


@dataclass(frozen=True, eq=False, repr=False)
class Trajectories:
    """A batch of N trajectories of length T (arrays ``[N, T]``).

    Attributes:
      states: ``[N, T]`` int, s_t.
      actions: ``[N, T]`` int, a_t.
      rewards: ``[N, T]`` float r_t, or ``None`` (the default) for a batch that only
        needs scores, e.g. for ``estimators.fisher_estimate``; reading ``batch.rewards`` of
        such a batch (any estimator, :meth:`returns`) raises
        :class:`~pgmath.errors.MissingRewardsError`. ``has_rewards`` says which.
      observations: ``[N, T]`` int o_t for a POMDP, else ``None``.
      final_states: ``[N]`` int s_T (the state after the last action), or ``None`` when
        it was not drawn (:func:`enumerate_trajectories` of an MDP whose reward does not
        depend on s', unless asked with ``final_states=True``). Never a placeholder
        value: code that reads it gets the real s_T or ``None``.
      behaviour_log_probs: ``[N, T]`` log μ(a_t|x_t) of the policy that drew the batch.
      discount: γ of the MDP the batch came from.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray | None = _OptionalRewards()  # type: ignore[assignment]
    observations: np.ndarray | None = None
    final_states: np.ndarray | None = None
    behaviour_log_probs: np.ndarray | None = None
    discount: float = 1.0

    def __post_init__(self) -> None:
        s = np.asarray(self.states)
        if s.ndim != 2:
            raise ShapeError(f"states must be [N, T], got shape {s.shape}")
        values = self._values()
        for f in ("actions", "rewards", "observations", "behaviour_log_probs"):
            v = values[f]
            if v is not None and np.shape(v) != s.shape:
                raise ShapeError(f"{f} has shape {np.shape(v)} but states has shape {s.shape}")
        if self.final_states is not None and np.shape(self.final_states) != (s.shape[0],):
            raise ShapeError(
                f"final_states has shape {np.shape(self.final_states)}; expected ({s.shape[0]},)")

    def _values(self) -> dict:
        """Every field's value by name, ``rewards`` as stored (``None`` when absent)."""
        return {f.name: (self.__dict__["_rewards"] if f.name == "rewards"
                         else getattr(self, f.name)) for f in fields(self)}

    @property
    def has_rewards(self) -> bool:
        """Whether the batch carries rewards (``batch.rewards`` raises when it does not)."""
        return self.__dict__["_rewards"] is not None

    def __repr__(self) -> str:
        parts = [f"N={self.n}", f"T={self.horizon}", f"discount={self.discount}"]
        parts += [f"{k}={'yes' if v is not None else 'None'}" for k, v in self._values().items()
                  if k not in ("states", "actions", "discount")]
        return f"Trajectories({', '.join(parts)})"

    @property
    def n(self) -> int:
        """N, the number of trajectories."""
        return self.states.shape[0]

    @property
    def horizon(self) -> int:
        """T, the length of each trajectory."""
        return self.states.shape[1]

    @property
    def inputs(self) -> np.ndarray:
        """``[N, T]`` what the policy read: observations if present, else states."""
        return self.observations if self.observations is not None else self.states

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, idx) -> "Trajectories":
        """A sub-batch (rows ``idx``; an int keeps a batch of one)."""
        if isinstance(idx, (int, np.integer)):
            idx = slice(int(idx), int(idx) + 1) if idx != -1 else slice(-1, None)
        kw = {k: (v[idx] if isinstance(v, np.ndarray) else v) for k, v in self._values().items()}
        return Trajectories(**kw)

    def returns(self) -> np.ndarray:
        """``[N]`` r(τ) = Σ_t γ^t r_t (raises :class:`MissingRewardsError` without rewards)."""
        return self.rewards @ (self.discount ** np.arange(self.horizon))


def concatenate(batches: list[Trajectories]) -> Trajectories:
    """One batch holding the rows of every batch in order."""
    kw = {}
    values = [b._values() for b in batches]
    for f in fields(Trajectories):
        vals = [v[f.name] for v in values]
        if f.name == "discount":
            kw[f.name] = vals[0]
        elif any(v is None for v in vals):
            kw[f.name] = None
        else:
            kw[f.name] = np.concatenate(vals)
    return Trajectories(**kw)


def acting_table(mdp, policy, theta=None) -> tuple[np.ndarray, bool]:
    """(π over what the policy reads ``[X, A]`` or ``[T, X, A]``, reads_observations)."""
    if hasattr(policy, "state_probs"):
        policy.check_compatible(mdp)
        return np.asarray(policy.probs(theta)), policy.over == "observations"
    return np.asarray(policy_table(mdp, policy, theta)), False


# -- sampling -------------------------------------------------------------------------------
def _alias_tables(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias tables for each row of p ``[K, n]``: (prob ``[K, n]``, alias ``[K, n]``).

    Drawing j = ⌊u n⌋, f = u n − j and returning j if f < prob[j] else alias[j] samples
    row k exactly (up to float rounding): P(k) = (prob[k] + Σ_{j: alias[j] = k} (1 − prob[j])) / n.
    Zero-probability entries are never returned.

    Vose's pairing, vectorised over the K rows (a loop of n − 1 steps, O(K) work each):
    columns sorted by q = n p; each step retires the next small column j (or a large one
    whose residual fell below 1), with prob[j] = q[j] and alias[j] = the current large l,
    and moves 1 − q[j] of l's mass into column j.
    """
    K, n = p.shape
    q = p * n
    prob = np.ones((K, n))
    alias = np.tile(np.argmax(p, axis=1)[:, None], (1, n))
    order = np.argsort(q, axis=1, kind="stable")
    rows = np.arange(K)
    small = np.zeros(K, dtype=np.intp)  # next position in sorted order to retire
    large = np.full(K, n - 1, dtype=np.intp)  # position of the current large column
    pending = np.full(K, -1, dtype=np.intp)  # a large column whose residual fell below 1
    for _ in range(n - 1):
        has = pending >= 0
        j = np.where(has, pending, order[rows, np.minimum(small, n - 1)])
        small += ~has
        l = order[rows, large]
        qj = q[rows, j]
        prob[rows, j] = qj
        alias[rows, j] = l
        q[rows, l] -= 1.0 - qj
        fell = q[rows, l] < 1.0
        pending = np.where(fell, l, -1)
        large -= fell
    np.clip(prob, 0.0, 1.0, out=prob)
    prob[p <= 0.0] = 0.0
    return prob, alias


class _Alias:
    """Flattened alias tables of K rows of n outcomes.

    ``thr[row·n + j] = j + prob[row, j]``, so a draw from row ``row`` with one uniform u
    is: y = u n, j = ⌊y⌋, i = row·n + j, outcome j if y < thr[i] else alias[row, j] —
    read branch-free from the interleaved table ``pair[2i] = alias[row, j]``,
    ``pair[2i + 1] = j`` (eight cheap array passes, no per-row Python work). With
    ``flat=True`` the outcomes are returned as flat indices row·n + j.
    """

    def __init__(self, p: np.ndarray, *, flat: bool = False) -> None:
        prob, alias = _alias_tables(p)
        K, n = p.shape
        self.n = n
        # y = u·m with m slightly below n keeps ⌊y⌋ ≤ n − 1 for every u < 1 (bias ~2⁻⁵²)
        self.m = float(n) * (1.0 - 2.0 ** -52)
        self.thr = (np.arange(n)[None, :] + prob).ravel()
        own = np.broadcast_to(np.arange(n, dtype=np.intp), (K, n))
        alias = alias.astype(np.intp)
        if flat:  # outcomes as flat indices row·n + j
            base = (np.arange(K, dtype=np.intp) * n)[:, None]
            own, alias = own + base, alias + base
        self.pair = np.stack([alias, own], axis=2).ravel()

    def draw_at(self, base: np.ndarray, u: np.ndarray, out: np.ndarray | None = None
                ) -> np.ndarray:
        """``[N]`` outcomes of the rows with ``base`` = row·n ``[N]`` (u is overwritten; the
        result goes to ``out`` when given)."""
        y = np.multiply(u, self.m, out=u)
        idx = y.astype(np.intp)
        idx += base
        keep = y < self.thr.take(idx, mode="wrap")  # indices are in range: "wrap" is unbuffered
        idx <<= 1
        idx += keep
        return self.pair.take(idx, out=out, mode="wrap")

    def draw(self, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
        """``[N]`` outcomes of rows ``rows`` ``[N]``."""
        return self.draw_at(rows * self.n, u)


@renamed_arguments(n="batch_size")
def sample(mdp, policy, theta, batch_size: int, rng: np.random.Generator, *,
           n_steps: int | None = None) -> Trajectories:
    """Draw N trajectories at once, vectorised over N (a loop over time only).

    Args:
      mdp: a :class:`TabularMDP` or :class:`POMDP`.
      policy, theta: a pgmath policy and θ ``[d]`` (or a probability table, ``theta=None``).
      batch_size: N ≥ 1 (``n=`` is a deprecated spelling).
      rng: a ``numpy.random.Generator`` (nothing reads global random state).
      n_steps: T for an infinite-horizon MDP (default: the MDP's horizon).

    Returns:
      :class:`Trajectories` with ``[N, T]`` arrays (transposed views of time-major
      storage, i.e. Fortran order); ``behaviour_log_probs`` holds log π_θ(a_t|x_t) and
      ``final_states`` s_T.

    Uses alias tables, so each draw costs one uniform number and O(1) work. For a
    stationary policy (S·K ≤ :data:`JOINT_MAX` and N·T ≥ :data:`JOINT_MIN_STEPS`·S·K,
    K = (X·)A·S outcomes per state) the (observation,) action and
    next state of a step are one draw from their joint law given the state
    (:func:`_joint_tables`): one uniform per step. Trajectories are drawn in blocks of
    :data:`SAMPLE_CHUNK` (each block vectorised, looping over time only), so the result
    for a given ``rng`` state depends on N but not on anything else.
    """
    check_generator(rng)
    n = batch_size
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidArgumentError(
            f"batch_size must be a positive int (the number of trajectories N), got {n!r}")
    T = _steps(mdp, n_steps)
    pi, obs = acting_table(mdp, policy, theta)
    S, A = mdp.n_states, mdp.n_actions
    with np.errstate(divide="ignore"):
        logpi = np.log(pi)
    # time-major storage [T, N]: each step writes contiguous rows; the batch holds the
    # [N, T] transposed views (Fortran order), so no transposing copy is ever made
    out = {name: np.empty((T, n), dtype=dt) for name, dt in
           (("states", np.intp), ("actions", np.intp), ("rewards", float), ("blp", float))}
    out["observations"] = np.empty((T, n), dtype=np.intp) if obs else None
    final = np.empty(n, dtype=np.intp)
    X = pi.shape[-2]
    K = (X if obs else 1) * A * S
    if pi.ndim == 2 and S * K <= JOINT_MAX and n * T >= JOINT_MIN_STEPS * S * K:
        tables = _joint_tables(mdp, pi, logpi, obs)
        chunk_fn = _sample_chunk_joint
    else:
        pol_tabs = [_Alias(policy_at(pi, t)) for t in range(pi.shape[0])] if pi.ndim == 3 \
            else [_Alias(pi)]
        tables = dict(pol_tabs=pol_tabs, trans=_Alias(mdp.P.reshape(S * A, S)),
                      emit=_Alias(np.asarray(mdp.O)) if obs else None,
                      logpi=logpi.reshape(-1, X * A), r_flat=mdp.R.ravel(),
                      r3=mdp.R.ndim == 3, S=S, A=A)
        chunk_fn = _sample_chunk
    tables.update(start=_Alias(mdp.p0[None, :]), T=T)
    for i in range(0, n, SAMPLE_CHUNK):
        b = min(SAMPLE_CHUNK, n - i)
        views = {k: (v[:, i:i + b] if v is not None else None) for k, v in out.items()}
        final[i:i + b] = chunk_fn(tables, views, b, rng)
    obs_nt = out["observations"].T if obs else None
    return Trajectories(out["states"].T, out["actions"].T, out["rewards"].T, obs_nt,
                        final, out["blp"].T, mdp.discount)


#: Largest S·(X)·A·S for which :func:`sample` draws (observation,) action and next state
#: jointly from one alias table per state (one uniform per step); above it, one table per
#: draw.
JOINT_MAX = 1 << 21
#: The joint tables take K − 1 vectorised Vose steps over S rows to build (K = (X·)A·S
#: outcomes per state); they are used only when the N·T steps to draw are at least this
#: many times S·K, so that the cheaper steps repay the building.
JOINT_MIN_STEPS = 32


def _joint_tables(mdp, pi: np.ndarray, logpi: np.ndarray, obs: bool) -> dict:
    """Alias tables of the joint law of one step given the state s,

        p(o, a, s' | s) = O(o|s) π(a|o) P(s'|s, a)      (o = s, and no O, for an MDP),

    over the K = (X·)A·S outcomes k = (o·A + a)·S + s', with the flat index g = s·K + k
    read out by lookup tables: the next state, its row s'·K, the action, the observation,
    the reward r(s, a[, s']) and log π(a|x)."""
    S, A = mdp.n_states, mdp.n_actions
    P = np.asarray(mdp.P)
    if obs:
        O = np.asarray(mdp.O)
        X = O.shape[1]
        joint = O[:, :, None, None] * pi[None, :, :, None] * P[:, None, :, :]   # [S, X, A, S']
    else:
        X = 1
        joint = (pi[:, :, None] * P)[:, None]                                   # [S, 1, A, S']
    K = X * A * S
    s_of, o_of, a_of, s2_of = np.unravel_index(np.arange(S * K), (S, X, A, S))
    x_of = o_of if obs else s_of
    R = np.asarray(mdp.R)
    return dict(joint=_Alias(joint.reshape(S, K), flat=True), K=K, next=s2_of.astype(np.intp),
                next_row=(s2_of * K).astype(np.intp), action=a_of.astype(np.intp),
                obs=o_of.astype(np.intp) if obs else None,
                reward=R[s_of, a_of, s2_of] if R.ndim == 3 else R[s_of, a_of],
                logp=logpi[x_of, a_of])


def _sample_chunk_joint(tab: dict, out: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    """One block of :func:`sample` by :func:`_joint_tables`: per step one uniform and one
    alias draw give the flat outcome g_t = s_t·K + k_t, from which the next state, the
    action, the observation, the reward and log π are read (one lookup each, into the
    contiguous row t of each output)."""
    T, joint, next_row = tab["T"], tab["joint"], tab["next_row"]
    nxt, act, rew, logp, obs = (tab[k] for k in ("next", "action", "reward", "logp", "obs"))
    states = out["states"]
    states[0] = tab["start"].draw(np.zeros(n, dtype=np.intp), rng.random(n))
    final = np.empty(n, dtype=np.intp)
    row = states[0] * tab["K"]
    g = np.empty(n, dtype=np.intp)
    u = np.empty(n)
    for t in range(T):
        rng.random(out=u)
        joint.draw_at(row, u, out=g)
        next_row.take(g, out=row, mode="wrap")
        nxt.take(g, out=states[t + 1] if t + 1 < T else final, mode="wrap")
        act.take(g, out=out["actions"][t], mode="wrap")
        rew.take(g, out=out["rewards"][t], mode="wrap")
        logp.take(g, out=out["blp"][t], mode="wrap")
        if obs is not None:
            obs.take(g, out=out["observations"][t], mode="wrap")
    return final


#: Trajectories drawn per block, so that the per-step arrays stay in cache.
SAMPLE_CHUNK = 32768


def _sample_chunk(tab: dict, out: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    """One block of :func:`sample`: fills the time-major ``[T, n]`` views in ``out``
    (states, actions, rewards, blp, observations) and returns the final states ``[n]``.

    Per step the uniforms u[0], u[1] (and u[2] for the observation) drive the action, the
    next state (and the observation) through the alias tables.
    """
    T, S, A = tab["T"], tab["S"], tab["A"]
    obs = tab["emit"] is not None
    pol_tabs, trans, r_flat, logpi = tab["pol_tabs"], tab["trans"], tab["r_flat"], tab["logpi"]
    states, actions, rewards, blp, observations = (
        out[k] for k in ("states", "actions", "rewards", "blp", "observations"))
    states[0] = tab["start"].draw(np.zeros(n, dtype=np.intp), rng.random(n))
    final = np.empty(n, dtype=np.intp)
    u = np.empty((3 if obs else 2, n))
    for t in range(T):
        tt = t if len(pol_tabs) > 1 else 0
        rng.random(out=u)
        s = states[t]
        x = s
        if obs:
            x = tab["emit"].draw(s, u[2])
            observations[t] = x
        xa = x * A
        xa += pol_tabs[tt].draw_at(xa, u[0], out=actions[t])  # x·A + a
        logpi[tt].take(xa, out=blp[t])
        if obs:
            sa = s * A
            sa += actions[t]
        else:
            sa = xa
        if not tab["r3"]:
            r_flat.take(sa, out=rewards[t])
        sa *= S
        nxt = states[t + 1] if t + 1 < T else final
        trans.draw_at(sa, u[1], out=nxt)
        if tab["r3"]:
            sa += nxt  # (s·A + a)·S + s'
            r_flat.take(sa, out=rewards[t])
    return final


# -- enumeration ----------------------------------------------------------------------------
def _branch_counts(mdp, pi_t, obs: bool) -> np.ndarray:
    """``[S, A]`` int: number of (o) choices leading to each (s, a) with positive probability."""
    if obs:
        return ((np.asarray(mdp.O) > 0).astype(np.int64) @ (pi_t > 0).astype(np.int64))
    return (pi_t > 0).astype(np.int64)


def _draws_final(mdp, final_states: bool | None) -> bool:
    """Whether the enumeration includes s_T: always when R depends on s' (the last reward
    needs it), else when asked (``final_states=True``)."""
    return mdp.R.ndim == 3 or bool(final_states)


def count_trajectories(mdp, policy, theta=None, *, n_steps: int | None = None,
                       final_states: bool | None = None) -> int:
    """The exact number of trajectories with non-zero probability (a Python int), counting
    the final state s_T as part of τ when :func:`enumerate_trajectories` would draw it."""
    T = _steps(mdp, n_steps)
    pi, obs = acting_table(mdp, policy, theta)
    pos = (mdp.P > 0).astype(object)
    n = (mdp.p0 > 0).astype(object)
    for t in range(T):
        k = _branch_counts(mdp, policy_at(pi, t), obs).astype(object)  # [S, A]
        if t + 1 < T:
            n = np.einsum("s,sa,sat->t", n, k, pos) if n.size else n
        else:
            last = k * pos.sum(axis=2) if _draws_final(mdp, final_states) else k
            return int(np.sum(n[:, None] * last))
    return 0  # pragma: no cover


def enumerate_trajectories(mdp, policy, theta=None, *, n_steps: int | None = None,
                           max_trajectories: int = MAX_TRAJECTORIES,
                           final_states: bool | None = None
                           ) -> tuple[Trajectories, np.ndarray]:
    """Every trajectory with non-zero probability, and its probability.

    Args:
      final_states: ``True`` makes the state s_T after the last action part of τ (each
        trajectory splits by its possible s_T, with P(s_T|s_{T−1}, a_{T−1})), so that
        ``batch.final_states`` is real, e.g. for an estimator that bootstraps with
        V(s_T). By default s_T is drawn only when the rewards R[s, a, s'] need it;
        otherwise ``batch.final_states`` is ``None``.

    Returns:
      (batch, probs): a :class:`Trajectories` of M rows and ``[M]`` probabilities p_θ(τ)
      summing to 1 (up to rounding). Rows are in lexicographic order of
      (s₀, o₀, a₀, s₁, …).

    Raises:
      TooManyTrajectoriesError: when M exceeds ``max_trajectories`` (the message says M).
    """
    T = _steps(mdp, n_steps)
    with_final = _draws_final(mdp, final_states)
    m = count_trajectories(mdp, policy, theta, n_steps=T, final_states=with_final)
    if m > max_trajectories:
        raise TooManyTrajectoriesError(
            f"enumeration would produce {m:,} trajectories (S={mdp.n_states}, "
            f"A={mdp.n_actions}, T={T}), above max_trajectories={max_trajectories:,}; "
            "raise max_trajectories or use the moment recursion / sampling")
    pi, obs = acting_table(mdp, policy, theta)
    S, A = mdp.n_states, mdp.n_actions
    with np.errstate(divide="ignore"):
        logpi = np.log(pi)
    start = np.flatnonzero(mdp.p0 > 0)
    prob = mdp.p0[start].copy()
    cols_s: list[np.ndarray] = []
    cols_o: list[np.ndarray] = []
    cols_a: list[np.ndarray] = []
    cur = start
    for t in range(T):
        pt = policy_at(pi, t)
        if obs:
            i, o = np.nonzero(np.asarray(mdp.O)[cur] > 0)
            prob = prob[i] * mdp.O[cur[i], o]
            cols_s, cols_o, cols_a = [c[i] for c in cols_s], [c[i] for c in cols_o], [c[i] for c in cols_a]
            cur = cur[i]
            cols_o.append(o)
            x = o
        else:
            x = cur
        i, a = np.nonzero(pt[x] > 0)
        prob = prob[i] * pt[x[i], a]
        cols_s, cols_o, cols_a = [c[i] for c in cols_s], [c[i] for c in cols_o], [c[i] for c in cols_a]
        cur = cur[i]
        cols_s.append(cur)
        cols_a.append(a)
        if t + 1 < T or with_final:
            i, s2 = np.nonzero(mdp.P[cur, a] > 0)
            prob = prob[i] * mdp.P[cur[i], a[i], s2]
            cols_s, cols_o, cols_a = [c[i] for c in cols_s], [c[i] for c in cols_o], [c[i] for c in cols_a]
            cur = s2
    states = np.stack(cols_s, axis=1)
    actions = np.stack(cols_a, axis=1)
    observations = np.stack(cols_o, axis=1) if obs else None
    final = cur if with_final else None
    if mdp.R.ndim == 3:
        nxt = np.concatenate([states[:, 1:], final[:, None]], axis=1)
        rewards = mdp.R[states, actions, nxt]
    else:
        rewards = mdp.r[states, actions]
    xs = observations if obs else states
    blp = logpi[np.arange(T)[None, :], xs, actions] if pi.ndim == 3 else logpi[xs, actions]
    batch = Trajectories(states, actions, rewards, observations, final, blp, mdp.discount)
    return batch, prob


def trajectory_log_probs(batch: Trajectories, policy, theta) -> np.ndarray:
    """``[N, T]`` log π_θ(a_t|x_t) of each step of a batch under (policy, θ)."""
    lp = np.asarray(policy.log_probs(theta))
    x = batch.inputs
    if x.max(initial=0) >= lp.shape[0] or batch.actions.max(initial=0) >= lp.shape[1]:
        raise ShapeError(
            f"the batch indexes inputs up to {int(x.max())} and actions up to "
            f"{int(batch.actions.max())} but the policy has shape {lp.shape}")
    return lp[x, batch.actions]
