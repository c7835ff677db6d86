"""Hypothesis strategies for finite MDPs, POMDPs and policy parameters.

Use them in property tests of your own estimators::

    from hypothesis import given
    import pgmath
    from pgmath import strategies as pst

    @pst.problem_settings()
    @given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3)))
    def test_my_estimator_is_unbiased(problem):
        mdp, policy, theta = problem
        pgmath.testing.assert_unbiased(my_estimator, mdp, policy, theta)

Strategies shrink toward small problems (one state, one action, horizon 1, random
rows) and reach the edge cases: deterministic transitions, absorbing states, zero and
constant rewards, rewards that depend on the next state, unreachable states, and
near-deterministic policies (logits of ±``extreme_logit``).

**Settings.** The problems vary in size, so the time per example varies too (an exact
check enumerates up to (S·A)^T trajectories), and an estimator in PyTorch or JAX adds its
own overhead: Hypothesis' default 200 ms deadline then fails correct code with
``DeadlineExceeded`` and ``FlakyFailure``. Run tests that draw from :func:`mdps`,
:func:`pomdps`, :func:`episodic_mdps` or :func:`problems` with :func:`problem_settings`
(no deadline, no too-slow health check)::

    @pst.problem_settings(max_examples=50)
    @given(pst.problems(max_states=3, max_actions=2, horizon=(1, 3)))
    def test_my_estimator_is_unbiased(problem): ...
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .lqr.policies import GaussianLinearPolicy
from .lqr.problem import LQRProblem
from .mdp import POMDP, TabularMDP
from .policies import ObservationSoftmaxPolicy, SoftmaxPolicy

__all__ = ["distributions", "mdps", "episodic_mdps", "pomdps", "thetas", "problems",
           "problem_settings", "lqr_problems"]


def problem_settings(**overrides) -> settings:
    """Hypothesis settings for tests that draw problems of varying size: no deadline and
    no ``too_slow`` / ``data_too_large`` health checks (module docstring); keyword
    arguments (``max_examples=…``) override. Use it as a decorator above ``@given``."""
    base = dict(deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    return settings(**{**base, **overrides})


def _check_range(name: str, lo: int, hi: int, least: int = 1) -> None:
    for v, n in ((lo, f"min_{name}"), (hi, f"max_{name}")):
        if isinstance(v, bool) or not isinstance(v, int) or v < least:
            raise InvalidArgument(f"{n} must be an int ≥ {least}, got {v!r}")
    if lo > hi:
        raise InvalidArgument(f"min_{name}={lo} must not exceed max_{name}={hi}")


def _horizons(horizon):
    if horizon is None:
        return st.none()
    if isinstance(horizon, int) and not isinstance(horizon, bool):
        if horizon < 1:
            raise InvalidArgument(f"horizon must be ≥ 1, got {horizon}")
        return st.just(horizon)
    if isinstance(horizon, tuple) and len(horizon) == 2:
        lo, hi = horizon
        _check_range("horizon", lo, hi)
        return st.integers(lo, hi)
    if isinstance(horizon, st.SearchStrategy):
        return horizon
    raise InvalidArgument(f"horizon must be None, an int, a (min, max) tuple or a strategy; got {horizon!r}")


def _discounts(discount):
    if isinstance(discount, st.SearchStrategy):
        return discount
    d = float(discount)
    if not 0.0 < d <= 1.0:
        raise InvalidArgument(f"discount must lie in (0, 1], got {discount!r}")
    return st.just(d)


@st.composite
def distributions(draw, n: int, *, allow_deterministic: bool = True,
                  allow_zeros: bool = True) -> np.ndarray:
    """A probability vector ``[n]``: random weights (with exact zeros) or one-hot."""
    kinds = ["random", "deterministic"] if allow_deterministic else ["random"]
    kind = draw(st.sampled_from(kinds))
    if kind == "deterministic":
        return np.eye(n)[draw(st.integers(0, n - 1))]
    lo = 0.0 if allow_zeros else 0.05
    w = np.array(draw(st.lists(st.floats(lo, 1.0), min_size=n, max_size=n)))
    if w.sum() <= 1e-6:
        w = np.ones(n)
    return w / w.sum()


@st.composite
def _dynamics(draw, S: int, A: int, rewards_next_state: bool):
    P = np.empty((S, A, S))
    for s in range(S):
        for a in range(A):
            kind = draw(st.sampled_from(["random", "deterministic", "absorbing"]))
            P[s, a] = np.eye(S)[s] if kind == "absorbing" else draw(distributions(S))
    if S >= 2 and draw(st.booleans()):
        # an unreachable state: no transitions into it, no start mass on it
        k = draw(st.integers(0, S - 1))
        for s in range(S):
            if s == k:
                continue
            P[s, :, k] = 0.0
            for a in range(A):
                tot = P[s, a].sum()
                P[s, a] = P[s, a] / tot if tot > 0 else np.eye(S)[s]
        p0 = draw(distributions(S - 1))
        p0 = np.insert(p0, k, 0.0)
    else:
        p0 = draw(distributions(S))
    shape = (S, A, S) if rewards_next_state and draw(st.booleans()) else (S, A)
    kind = draw(st.sampled_from(["random", "zero", "constant"]))
    if kind == "zero":
        R = np.zeros(shape)
    elif kind == "constant":
        R = np.full(shape, draw(st.floats(-1.0, 1.0)))
    else:
        R = np.array(draw(st.lists(st.floats(-1.0, 1.0), min_size=int(np.prod(shape)),
                                   max_size=int(np.prod(shape))))).reshape(shape)
    return P, R, p0


@st.composite
def mdps(draw, *, min_states: int = 1, max_states: int = 4, min_actions: int = 1,
         max_actions: int = 3, horizon=(1, 4), discount=1.0,
         rewards_next_state: bool = True) -> TabularMDP:
    """Random :class:`TabularMDP` s (of varying size: use :func:`problem_settings`).

    Args:
      min_states, max_states: bounds on S.
      min_actions, max_actions: bounds on A.
      horizon: an int, a ``(min, max)`` tuple, a strategy, or ``None`` (infinite horizon;
        then pass ``discount < 1``).
      discount: a float in (0, 1] or a strategy of floats.
      rewards_next_state: allow rewards ``R[s, a, s']``.
    """
    _check_range("states", min_states, max_states)
    _check_range("actions", min_actions, max_actions)
    hs, ds = _horizons(horizon), _discounts(discount)
    S = draw(st.integers(min_states, max_states))
    A = draw(st.integers(min_actions, max_actions))
    P, R, p0 = draw(_dynamics(S, A, rewards_next_state))
    T = draw(hs)
    g = draw(ds)
    if T is None and g >= 1.0:
        raise InvalidArgument("an infinite horizon (horizon=None) needs discount < 1")
    return TabularMDP(P, R, p0, horizon=T, discount=g)


@st.composite
def episodic_mdps(draw, *, min_states: int = 1, max_states: int = 3, min_actions: int = 1,
                  max_actions: int = 3, min_exit: float = 0.2) -> TabularMDP:
    """Undiscounted (γ = 1) infinite-horizon MDPs in which every policy is proper.

    A random :func:`mdps` problem (``[S, A]`` rewards) plus one absorbing zero-reward
    terminal state, appended last; every action exits into it with probability
    q ∈ [min_exit, 0.9] (drawn once), so the expected episode length is at most 1/q.
    """
    if not 0.0 < min_exit <= 0.9:
        raise InvalidArgument(f"min_exit must lie in (0, 0.9], got {min_exit!r}")
    m = draw(mdps(min_states=min_states, max_states=max_states, min_actions=min_actions,
                  max_actions=max_actions, horizon=None, discount=0.9,
                  rewards_next_state=False))
    q = draw(st.floats(min_exit, 0.9))
    S, A = m.n_states, m.n_actions
    P = np.zeros((S + 1, A, S + 1))
    P[:S, :, :S] = (1 - q) * m.P
    P[:S, :, S] = q
    P[S, :, S] = 1.0
    R = np.vstack([m.R, np.zeros((1, A))])
    return TabularMDP(P, R, np.append(m.p0, 0.0), horizon=None, discount=1.0)


@st.composite
def pomdps(draw, *, min_states: int = 1, max_states: int = 4, min_actions: int = 1,
           max_actions: int = 3, min_observations: int = 1, max_observations: int = 3,
           horizon=(1, 3), discount=1.0, rewards_next_state: bool = True) -> POMDP:
    """Random :class:`POMDP` s: :func:`mdps` plus emissions (random or deterministic rows);
    of varying size: use :func:`problem_settings`."""
    _check_range("observations", min_observations, max_observations)
    m = draw(mdps(min_states=min_states, max_states=max_states, min_actions=min_actions,
                  max_actions=max_actions, horizon=horizon, discount=discount,
                  rewards_next_state=rewards_next_state))
    n_obs = draw(st.integers(min_observations, max_observations))
    O = np.stack([draw(distributions(n_obs)) for _ in range(m.n_states)])
    return POMDP(m.P, m.R, m.p0, O, horizon=m.horizon, discount=m.discount)


def thetas(policy_or_dim, *, max_logit: float = 3.0, extreme_logit: float = 30.0,
           allow_extreme: bool = True):
    """Parameter vectors θ ``[d]`` for a policy (or a dimension d).

    Entries lie in [−max_logit, max_logit]; with ``allow_extreme`` some entries are
    ±``extreme_logit``, which makes the softmax near-deterministic.
    """
    d = policy_or_dim if isinstance(policy_or_dim, int) else policy_or_dim.n_params
    if d < 1:
        raise InvalidArgument(f"the dimension must be ≥ 1, got {d}")
    if not 0 < max_logit <= extreme_logit:
        raise InvalidArgument(f"need 0 < max_logit ≤ extreme_logit, got {max_logit}, {extreme_logit}")
    entry = st.floats(-max_logit, max_logit)
    if allow_extreme:
        entry = st.one_of(entry, st.sampled_from([-extreme_logit, extreme_logit]))
    return st.lists(entry, min_size=d, max_size=d).map(lambda v: np.array(v, dtype=float))


@st.composite
def problems(draw, *, pomdp: bool = False, max_logit: float = 3.0,
             allow_extreme: bool = True, **kwargs):
    """``(mdp, policy, theta)``: a random MDP (or POMDP) with its tabular softmax policy
    (of varying size: run tests drawing from it with :func:`problem_settings`).

    Keyword arguments go to :func:`mdps` / :func:`pomdps`. For a POMDP the policy reads
    observations (:class:`ObservationSoftmaxPolicy`).
    """
    m = draw(pomdps(**kwargs) if pomdp else mdps(**kwargs))
    pol = (ObservationSoftmaxPolicy(m.n_observations, m.n_actions) if pomdp
           else SoftmaxPolicy(m.n_states, m.n_actions))
    th = draw(thetas(pol, max_logit=max_logit, allow_extreme=allow_extreme))
    return m, pol, th


def _matrix(draw, rows: int, cols: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    v = draw(st.lists(st.floats(lo, hi), min_size=rows * cols, max_size=rows * cols))
    return np.array(v, dtype=float).reshape(rows, cols)


def _psd(draw, n: int, *, allow_zero: bool, rank_max: int | None = None) -> np.ndarray:
    kind = draw(st.sampled_from(["full", "low rank", "zero"] if allow_zero else ["full", "low rank"]))
    if kind == "zero":
        return np.zeros((n, n))
    r = n if kind == "full" else draw(st.integers(1, max(1, n - 1)))
    if rank_max is not None:
        r = min(r, rank_max)
    L = _matrix(draw, n, r)
    return L @ L.T


@st.composite
def lqr_problems(draw, *, min_states: int = 1, max_states: int = 3, min_actions: int = 1,
                 max_actions: int = 2, horizon=(1, 4), discount=1.0, max_radius: float = 0.95,
                 cross_terms: bool = True, terminal_cost: bool = True, noise: bool = True,
                 time_varying: bool = False, max_noise_rank: int | None = None):
    """``(problem, policy, theta)``: a random :class:`pgmath.lqr.LQRProblem` with a
    :class:`pgmath.lqr.GaussianLinearPolicy` whose closed loop is stable.

    The closed loop F = A + BK is drawn first with spectral norm (so spectral radius)
    ≤ ``max_radius`` (a random matrix rescaled), then B and K, and A = F − BK; so ρ(√γ F) < 1 and a
    discounted problem (``horizon=None``) has a finite J. Costs: [[Q, N], [Nᵀ, R]] = LLᵀ
    (N = 0 without ``cross_terms``); R ⪰ 0.05 I. W, Σ₀ (with ``noise``) are random PSD
    matrices, full rank, low rank or zero (rank ≤ ``max_noise_rank`` when given: fewer
    normals per trajectory); μ₀, k entries in [−1, 1]; log σ in [−1, 0.5].

    Args:
      horizon: an int, a (min, max) tuple, a strategy, or ``None`` (infinite; pass
        ``discount < 1``).
      time_varying: one (K_t, k_t, log σ_t) per step (finite horizon only).
    """
    _check_range("states", min_states, max_states)
    _check_range("actions", min_actions, max_actions)
    if not 0.0 <= max_radius < 1.0:
        raise InvalidArgument(f"max_radius must lie in [0, 1), got {max_radius!r}")
    n = draw(st.integers(min_states, max_states))
    m = draw(st.integers(min_actions, max_actions))
    T = draw(_horizons(horizon))
    g = draw(_discounts(discount))
    if T is None and g >= 1.0:
        raise InvalidArgument("an infinite horizon (horizon=None) needs discount < 1")
    if time_varying and T is None:
        raise InvalidArgument("time_varying needs a finite horizon")
    steps = T if time_varying else 1
    Fs, Ks = [], []
    B = _matrix(draw, n, m)
    for _ in range(steps):
        M = _matrix(draw, n, n)
        norm = float(np.linalg.norm(M, 2))   # ρ(F) ≤ ‖F‖₂ = r, and F's entries stay ≤ r
        r = draw(st.floats(0.0, max_radius))
        Fs.append(M * (r / norm) if norm > 1e-12 else M * 0.0)
        Ks.append(_matrix(draw, m, n, -0.5, 0.5))
    A = Fs[0] - B @ Ks[0]
    if time_varying:  # the same A for every step: K_t = K_0 + drawn deviations
        Ks = [Ks[0]] + [Ks[0] + 0.3 * K for K in Ks[1:]]
    Lc = _matrix(draw, n + m, n + m)
    C = Lc @ Lc.T
    C[n:, n:] += 0.05 * np.eye(m)
    Q, R = C[:n, :n], C[n:, n:]
    N = C[:n, n:] if cross_terms and draw(st.booleans()) else None
    Q_T = _psd(draw, n, allow_zero=True) if terminal_cost and T is not None else None
    W = _psd(draw, n, allow_zero=True, rank_max=max_noise_rank) if noise else None
    S0 = _psd(draw, n, allow_zero=True, rank_max=max_noise_rank) if noise else None
    mu0 = np.array(draw(st.lists(st.floats(-1.0, 1.0), min_size=n, max_size=n)))
    problem = LQRProblem(A=A, B=B, Q=Q, R=R, N=N, Q_T=Q_T, W=W, mu0=mu0, Sigma0=S0,
                         horizon=T, discount=g)
    policy = GaussianLinearPolicy(n, m, time_varying=time_varying,
                                  horizon=T if time_varying else None)
    k = np.array(draw(st.lists(st.floats(-1.0, 1.0), min_size=m * steps, max_size=m * steps)))
    ls = np.array(draw(st.lists(st.floats(-1.0, 0.5), min_size=m * steps, max_size=m * steps)))
    theta = policy.pack(np.array(Ks) if time_varying else Ks[0],
                        k.reshape(steps, m) if time_varying else k,
                        ls.reshape(steps, m) if time_varying else ls)
    return problem, policy, theta
