"""On-policy policy-gradient estimators (notes §4.1–4.3) and the ones practitioners use.

Each maps a batch ``[N, T]`` to ``[N, d]``, one row per trajectory; the estimate is the
row mean. ψ_t = ∇_θ log π_θ(a_t|x_t), x_t the state, or the observation of a POMDP
(notes §4.2: "we can use policy gradient on POMDPs without modification").

Discounting. J_γ = E[Σ_t γ^t r_t]. Estimators with ``discounting="start"`` weight
reward t' by γ^{t'} counted from the start and are unbiased for ∇J_γ; the common
practice ``discounting="step"`` weights it by γ^{t'−t} counted from the decision t and is
biased (:func:`pgmath.exact.discount_bias` gives the bias exactly).

Per-trajectory estimators carry ``step_weights(T, discount)``, their description as a
linear recursion (:class:`pgmath.exact.recursion.StepWeights`), so
:func:`pgmath.exact.estimator_moments` gives their exact mean and covariance at any
horizon. Batch-coupled estimators (``batch_average_baseline``,
``leave_one_out_baseline``, ``sample_optimal_baseline``, ``standardised_advantages``)
are marked with :func:`batch_coupled`: row i depends on the other trajectories of the
batch, and their exact moments are those of the batch mean for a given N
(:func:`pgmath.exact.coupled_moments`, :func:`pgmath.exact.batch_average_moments`).
Where a bound on their batch mean exists they carry it as ``batch_range(mdp, policy,
theta, batch_size) -> [d]`` (|batch mean_j| ≤ B_j for every batch), which gives
:func:`pgmath.check_unbiased` a guaranteed empirical-Bernstein test beyond enumeration.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import EstimatorError, ShapeError, check_choice
from ..exact.moments import optimal_baseline
from ..exact.recursion import (StepWeights, base_kind, constant_baseline_weights,
                               reinforce_weights, reward_to_go_weights, score_sum_weights)
from ..exact.values import evaluate
from ..mdp import TabularMDP
from ..policy_tables import policy_table
from ..estimator_protocol import batch_coupled, step_scores

__all__ = ["reinforce", "reward_to_go", "reward_to_go_step_discount", "score_sum",
           "causality_term", "constant_baseline", "state_baseline", "q_critic",
           "advantage_critic", "gae", "optimal_constant_baseline",
           "batch_average_baseline", "leave_one_out_baseline", "reward_to_go_leave_one_out",
           "sample_optimal_baseline",
           "estimate_optimal_baseline", "standardised_advantages"]

DISCOUNTINGS = ("start", "step")


def _discounts(batch) -> np.ndarray:
    return batch.discount ** np.arange(batch.horizon)


def _powers(g: float, T: int) -> np.ndarray:
    return g ** np.arange(T)


def _with_weights(fn: Callable, build: Callable[[int, float], StepWeights], name: str,
                  doc: str | None = None) -> Callable:
    """Attach the linear-recursion description ``step_weights(T, γ)`` to an estimator."""
    fn.step_weights = build
    fn.__name__ = fn.__qualname__ = name
    if doc is not None:
        fn.__doc__ = doc
    return fn


def _linear(build: Callable[[int, float], StepWeights], name: str, doc: str,
            check: Callable | None = None) -> Callable:
    """An estimator evaluated from its :class:`StepWeights` on the batch (``check(batch,
    policy)`` first validates a user table against what the policy reads)."""
    def est(batch, policy, theta):
        if check is not None:
            check(batch, policy)
        spec = build(batch.horizon, batch.discount)
        return spec.evaluate(batch, step_scores(batch, policy, theta))
    return _with_weights(est, build, name, doc)


def _check_discounting(discounting: str) -> None:
    if discounting not in DISCOUNTINGS:
        raise EstimatorError(f"discounting must be 'start' (γ^t' from the start, unbiased) or "
                             f"'step' (γ^(t'−t), biased), got {discounting!r}")


# -- REINFORCE and reward-to-go -------------------------------------------------------------------
def reinforce(batch, policy, theta) -> np.ndarray:
    """REINFORCE (notes §4.1, Algorithm 2): g_i = (Σ_t ψ_{i,t}) (Σ_t γ^t r_{i,t}).

    Args:
      batch: :class:`pgmath.Trajectories` ``[N, T]``.
    Returns:
      ``[N, d]``.
    """
    psi = step_scores(batch, policy, theta)
    return psi.sum(axis=1) * batch.returns()[:, None]


def reward_to_go(batch, policy, theta) -> np.ndarray:
    """Reward-to-go (notes §4.3.1): g_i = Σ_t ψ_{i,t} Σ_{t'≥t} γ^{t'} r_{i,t'}.

    The discount γ^{t'} is counted from the start, so the estimator is unbiased for
    ∇J_γ. Returns ``[N, d]``.
    """
    return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), _reward_to_go(batch))


_with_weights(reinforce, reinforce_weights, "reinforce")
_with_weights(reward_to_go, reward_to_go_weights, "reward_to_go")

reward_to_go_step_discount = _linear(
    lambda T, g: StepWeights.make(T, kappa=1.0, rho=g, alpha=1.0),
    "reward_to_go_step_discount",
    """Reward-to-go with the common discount γ^{t'−t}: g_i = Σ_t ψ_{i,t} Σ_{t'≥t} γ^{t'−t} r_{i,t'}.

    Biased for ∇J_γ when γ < 1: its mean is Σ_t E[ψ_t Q_t(s_t, a_t)] instead of
    Σ_t γ^t E[ψ_t Q_t(s_t, a_t)]; :func:`pgmath.exact.discount_bias` gives the bias
    exactly. Returns ``[N, d]``.
    """)

score_sum = _linear(
    score_sum_weights,
    "score_sum",
    """The score of the trajectory (notes §4.2, the "MLE gradient"): g_i = Σ_t ψ_{i,t}.

    Its mean is 0 (E[∇log p_θ(τ)] = ∇ Σ_τ p_θ(τ) = 0). Returns ``[N, d]``.
    """)


def causality_term(inclusive: bool = True) -> Callable:
    """The term causality drops (notes §4.3.1): g = Σ_t ψ_t Σ_{t'≤t} γ^{t'} r_{t'}.

    Args:
      inclusive: True sums t' = 1..t as the notes write it (t' = t included; its mean is
        Σ_t γ^t E[ψ_t r_t], not 0 in general); False sums the strict past t' < t, whose
        mean is 0.
    """
    def build(T, g):
        a = _powers(g, T)
        return StepWeights.make(T, beta=1.0, alpha=a, eta=a if inclusive else 0.0)
    return _linear(build, f"causality_term(inclusive={inclusive})", causality_term.__doc__)


# -- constant baselines -----------------------------------------------------------------------
def constant_baseline(b, *, base="reinforce") -> Callable:
    """A constant baseline b (notes §4.3.2): g_i = Σ_t ψ_{i,t} (W_{i,t} − b).

    W_{i,t} = Σ_{t'} γ^{t'} r_{i,t'} (``base="reinforce"``: (Σ_t ψ_t)(r(τ) − b)) or
    Σ_{t'≥t} γ^{t'} r_{i,t'} (``base="reward_to_go"``). Unbiased for every b, since
    E[ψ_t] = 0.

    Args:
      b: a number, or a vector ``[d]`` for one baseline per parameter component
        (component k of g uses b_k).
    """
    kind = base_kind(base)
    b_arr = np.asarray(b, dtype=float)
    if b_arr.ndim > 1 or not np.all(np.isfinite(b_arr)):
        raise EstimatorError(f"b must be a finite number or vector [d], got {b!r}")

    def build(T, g):
        return constant_baseline_weights(b_arr, kind, T, g)
    label = float(b_arr) if b_arr.ndim == 0 else f"[{b_arr.size} values]"
    return _linear(build, f"constant_baseline({label}, base={kind!r})", constant_baseline.__doc__)


def optimal_constant_baseline(mdp, policy, theta, *, base="reinforce",
                              n_steps: int | None = None) -> Callable:
    """:func:`constant_baseline` with the exact variance-minimising b per component.

    b_k = E[g_k Ψ_k] / E[Ψ_k²] with Ψ = Σ_t ψ_t and g the estimator without baseline;
    for ``base="reinforce"`` this is the notes' b = E[g(τ)² r(τ)] / E[g(τ)²]
    (§4.3.2, "Optimal Baseline") read per component. See
    :func:`pgmath.exact.optimal_baseline`.
    """
    b = optimal_baseline(mdp, policy, theta, base=base, n_steps=n_steps)
    est = constant_baseline(b, base=base)
    est.__name__ = est.__qualname__ = f"optimal_constant_baseline(base={base_kind(base)!r})"
    est.baseline = b
    return est


# -- state-dependent baselines, critics, GAE -----------------------------------------------
def _is_mdp(x) -> bool:
    return isinstance(x, TabularMDP)


def _exact_table(kind: str, mdp, policy, theta) -> np.ndarray:
    V, Q = evaluate(mdp, np.asarray(policy_table(mdp, policy, theta)))
    return {"V": V, "Q": Q, "A": Q - V[..., None]}[kind]


def _source(arg, policy, theta, kind: str) -> np.ndarray:
    if _is_mdp(arg):
        if policy is None:
            raise EstimatorError(f"exact {kind} needs (mdp, policy, theta)")
        return _exact_table(kind, arg, policy, theta)
    if policy is not None or theta is not None:
        raise EstimatorError(f"pass either (mdp, policy, theta) or a {kind} table, not both")
    tab = np.asarray(arg, dtype=float)
    if not np.all(np.isfinite(tab)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(tab))[0])
        raise EstimatorError(f"{kind} table{list(idx)} is not finite: {tab[idx]!r}")
    return tab


def _over_time(tab: np.ndarray, T: int, ndim: int, kind: str, allow_extra: bool = False
               ) -> np.ndarray:
    """A table ``[..]`` (stationary) or ``[T, ..]`` (``[T+1, ..]`` when allowed) as
    ``[T(+1), ..]``."""
    if tab.ndim == ndim:
        return np.broadcast_to(tab, (T,) + tab.shape)
    if tab.ndim == ndim + 1 and (tab.shape[0] == T or (allow_extra and tab.shape[0] == T + 1)):
        return tab
    want = "[S]" if ndim == 1 else "[S, A]"
    extra = f", [T+1, ...] = [{T + 1}, ...]" if allow_extra else ""
    raise ShapeError(f"{kind} table has shape {tab.shape}; expected {want} or [T, ...] with "
                     f"T={T}{extra}")


def _table_check(tab: np.ndarray, ndim: int, kind: str, over: str) -> Callable:
    """A check that the table's input axis (and action axis) match what the policy reads:
    a table over states when the policy reads states, over observations when it reads
    observations. (A state table with an observation policy cannot be checked here.)"""
    def check(batch, policy) -> None:
        if tab.ndim < ndim:
            return   # the wrong rank is reported by _over_time
        reads = getattr(policy, "over", "states")
        if reads == over and tab.shape[-ndim] != policy.n_inputs:
            raise ShapeError(f"{kind} table has {tab.shape[-ndim]} {over} (shape {tab.shape}) "
                             f"but {policy!r} reads {policy.n_inputs}")
        if ndim == 2 and tab.shape[-1] != policy.n_actions:
            raise ShapeError(f"{kind} table has {tab.shape[-1]} actions (shape {tab.shape}) "
                             f"but {policy!r} has {policy.n_actions}")
    return check


def _check_over(over: str, values, kind: str) -> None:
    check_choice("over", over, ("states", "observations"), error=EstimatorError)
    if over == "observations" and _is_mdp(values):
        raise EstimatorError(f"the exact {kind} is a function of the hidden state: pass "
                             f"over='states', or a {kind} table over observations")


def state_baseline(values, policy=None, theta=None, *, discounting: str = "start",
                   over: str = "states") -> Callable:
    """A state-dependent baseline (notes §4.3.2 generalised): reward-to-go minus V_t(s_t).

    ``start``: g = Σ_t ψ_t (Σ_{t'≥t} γ^{t'} r_{t'} − γ^t V_t(s_t));
    ``step``:  g = Σ_t ψ_t (Σ_{t'≥t} γ^{t'−t} r_{t'} − V_t(s_t)).
    Unbiased relative to the same estimator without baseline for any V, since
    E[ψ_t V_t(s_t)] = 0.

    Args:
      values: a table V ``[S]`` or ``[T, S]`` (e.g. :func:`pgmath.exact.values`), or an
        MDP followed by ``policy, theta`` for the exact V^π.
      over: ``"states"`` (V of the hidden state s_t) or ``"observations"`` (a table
        ``[n_obs]`` or ``[T, n_obs]`` of V(o_t), what a POMDP agent can actually use;
        also unbiased, since E[ψ_t | o_t] = 0).
    """
    _check_discounting(discounting)
    _check_over(over, values, "V")
    V = _source(values, policy, theta, "V")

    def build(T, g):
        Vt = _over_time(V, T, 1, "V")
        w = _powers(g, T) if discounting == "start" else np.ones(T)
        tab = -(w[:, None] * Vt)
        kw = dict(c=tab[:, :, None, None]) if over == "states" else dict(cx=tab[:, :, None])
        return StepWeights.make(T, kappa=1.0, rho=1.0 if discounting == "start" else g,
                                alpha=w if discounting == "start" else 1.0, **kw)
    return _linear(build, f"state_baseline(discounting={discounting!r}, over={over!r})",
                   state_baseline.__doc__, check=_table_check(V, 1, "V", over))


def _critic(kind: str, table, policy, theta, discounting: str, over: str) -> Callable:
    _check_discounting(discounting)
    _check_over(over, table, kind)
    Q = _source(table, policy, theta, kind)

    def build(T, g):
        Qt = _over_time(Q, T, 2, kind)
        w = _powers(g, T) if discounting == "start" else np.ones(T)
        tab = w[:, None, None] * Qt
        return StepWeights.make(T, **(dict(c=tab[..., None]) if over == "states"
                                      else dict(cx=tab)))
    return Q, build


def q_critic(q_values, policy=None, theta=None, *, discounting: str = "start",
             over: str = "states") -> Callable:
    """The critic form Σ_t γ^t ψ_t Q_t(s_t, a_t) (``step``: without γ^t).

    With the exact Q^π and ``start`` this is the policy-gradient theorem's estimator,
    unbiased for ∇J_γ.

    Args:
      q_values: a table Q ``[S, A]`` or ``[T, S, A]`` (:func:`pgmath.exact.q_values`), or
        an MDP followed by ``policy, theta`` for the exact Q^π.
      over: ``"states"`` or ``"observations"`` (a table Q(o, a) ``[n_obs, A]`` or
        ``[T, n_obs, A]`` on a POMDP).
    """
    Q, build = _critic("Q", q_values, policy, theta, discounting, over)
    return _linear(build, f"q_critic(discounting={discounting!r}, over={over!r})", q_critic.__doc__,
                   check=_table_check(Q, 2, "Q", over))


def advantage_critic(advantages, policy=None, theta=None, *, discounting: str = "start",
                     over: str = "states") -> Callable:
    """The advantage form Σ_t γ^t ψ_t A_t(s_t, a_t), A = Q − V (``step``: without γ^t).

    Args:
      advantages: a table A ``[S, A]`` or ``[T, S, A]`` (:func:`pgmath.exact.advantages`),
        or an MDP followed by ``policy, theta`` for the exact A^π.
      over: ``"states"`` or ``"observations"`` (as for :func:`q_critic`).
    """
    A, build = _critic("A", advantages, policy, theta, discounting, over)
    return _linear(build, f"advantage_critic(discounting={discounting!r}, over={over!r})",
                   advantage_critic.__doc__, check=_table_check(A, 2, "A", over))


def gae(values, lam: float, policy=None, theta=None, *, discounting: str = "start") -> Callable:
    """Generalised advantage estimation, GAE(λ) (Schulman et al. 2016, eq. 16):

        Â_t = Σ_{l≥0} (γλ)^l δ_{t+l},   δ_t = r_t + γ V_{t+1}(s_{t+1}) − V_t(s_t),
        g = Σ_t γ^t ψ_t Â_t   (``start``, the default)  or  Σ_t ψ_t Â_t (``step``).

    Target. ``start`` estimates ∇J_γ = ∇_θ E[Σ_t γ^t r_t], the gradient of the problem's
    own objective: unbiased with the exact V^π for every λ, and with any V for λ = 1
    (then Â_t is the reward-to-go minus V_t(s_t), which E[ψ_t V_t(s_t)] = 0 removes).
    ``step`` is the common practice (the paper's and most libraries' estimator, which drop
    the γ^t): its mean is Σ_t E[ψ_t A_t(s_t, a_t)] with the exact V, not ∇J_γ when γ < 1
    (:func:`pgmath.exact.discount_bias` gives the difference); the two agree for γ = 1.
    The default was ``step`` until issue 17.3: the built-in GAE failed
    :func:`pgmath.check_unbiased` on every discounted problem.

    λ = 1 gives reward-to-go minus V_t(s_t); λ = 0 gives the TD error δ_t.

    Args:
      values: V ``[S]`` (V_t = V for t < T, V_T = 0: the episode ends at T), ``[T, S]``
        (V_T = 0) or ``[T+1, S]`` (bootstraps from V_T(s_T); needs ``final_states``); or
        an MDP followed by ``policy, theta`` for the exact V^π.
      lam: λ ∈ [0, 1].
      discounting: ``"start"`` (γ^t ψ_t Â_t, unbiased for ∇J_γ) or ``"step"`` (ψ_t Â_t).
    """
    _check_discounting(discounting)
    try:
        lam = float(lam)
    except (TypeError, ValueError):
        raise EstimatorError(f"lam (λ) must be a number in [0, 1], got {lam!r}") from None
    if not 0.0 <= lam <= 1.0:
        raise EstimatorError(f"lam (λ) must lie in [0, 1], got {lam!r}")
    V = _source(values, policy, theta, "V")

    def build(T, g):
        Vt = _over_time(V, T, 1, "V", allow_extra=True)
        if Vt.shape[0] == T:
            Vt = np.concatenate([Vt, np.zeros((1,) + Vt.shape[1:])], axis=0)
        y = g * Vt[1:, None, None, :] - Vt[:-1, :, None, None]   # [T, S, 1, S']
        kappa = _powers(g, T) if discounting == "start" else 1.0
        return StepWeights.make(T, kappa=kappa, rho=g * lam, alpha=1.0, y=y)
    return _linear(build, f"gae(lam={lam}, discounting={discounting!r})", gae.__doc__,
                   check=_table_check(V, 1, "V", "states"))


# -- batch-coupled estimators ----------------------------------------------------------------
def _score_and_returns(batch, policy, theta):
    return step_scores(batch, policy, theta).sum(axis=1), batch.returns()


def _score_max(policy, theta) -> np.ndarray:
    """``[d]`` max_{x,a} |ψ_j(x, a)|."""
    psi = np.abs(np.asarray(policy.score(theta)))
    return psi.reshape(-1, psi.shape[-1]).max(axis=0)


def _return_bound(mdp) -> float:
    """R̄ = Σ_t γ^t max|r| ≥ |r(τ)|."""
    return float(np.max(np.abs(mdp.R))) * float(np.sum(mdp.discount ** np.arange(mdp.horizon)))


def _baseline_range(mdp, policy, theta, batch_size: int) -> np.ndarray:
    """``[d]`` |batch mean_j| ≤ T max|ψ_j| · 2R̄ for Ψ_i (r(τ_i) − b) with b a weighted
    average of the batch's returns (|Ψ_ij| ≤ T max|ψ_j|, |r(τ_i) − b| ≤ 2R̄)."""
    return mdp.horizon * _score_max(policy, theta) * 2.0 * _return_bound(mdp)


def _standardised_range(mdp, policy, theta, batch_size: int) -> np.ndarray:
    """``[d]`` |batch mean_j| ≤ T max|ψ_j| · mean|Â| ≤ T max|ψ_j| (Cauchy–Schwarz:
    mean|Â| ≤ 1 for Â standardised by the population std); when the std is below the
    cut-off, Â = c with |c| ≤ √(N T) std ≤ √(N T) 1e-12 max(1, R̄)."""
    small = np.sqrt(batch_size * mdp.horizon) * 1e-12 * max(1.0, _return_bound(mdp))
    return mdp.horizon * _score_max(policy, theta) * max(1.0, small)


@batch_coupled
def batch_average_baseline(batch, policy, theta) -> np.ndarray:
    """The average-reward baseline (notes §4.3.2): g_i = Ψ_i (r(τ_i) − b), b = (1/N) Σ_j r(τ_j).

    Batch-coupled: b includes τ_i itself, so E[row mean] = (1 − 1/N) ∇J_γ
    (:func:`pgmath.exact.batch_average_moments`). Ψ_i = Σ_t ψ_{i,t}. Returns ``[N, d]``.
    """
    Psi, R = _score_and_returns(batch, policy, theta)
    return Psi * (R - R.mean())[:, None]


batch_average_baseline.batch_range = _baseline_range


@batch_coupled
def leave_one_out_baseline(batch, policy, theta) -> np.ndarray:
    """Leave-one-out average baseline: g_i = Ψ_i (r(τ_i) − (1/(N−1)) Σ_{j≠i} r(τ_j)).

    Batch-coupled; the row mean is the U-statistic (1/(N(N−1))) Σ_{i≠j} Ψ_i (r_i − r_j),
    unbiased for ∇J_γ. Needs N ≥ 2. Returns ``[N, d]``.
    """
    if batch.n < 2:
        raise EstimatorError(f"leave_one_out_baseline needs N ≥ 2 trajectories, got N={batch.n}")
    Psi, R = _score_and_returns(batch, policy, theta)
    loo = (R.sum() - R) / (batch.n - 1)
    return Psi * (R - loo)[:, None]


leave_one_out_baseline.batch_range = _baseline_range


def _reward_to_go(batch) -> np.ndarray:
    """``[N, T]`` G_{i,t} = Σ_{t'≥t} γ^{t'} r_{i,t'} (discounted from the start)."""
    w = batch.rewards * _discounts(batch)
    return np.cumsum(w[:, ::-1], axis=1)[:, ::-1]


def _leave_one_out_baseline(batch) -> tuple[np.ndarray, np.ndarray]:
    """(G ``[N, T]``, b ``[N, T]``): the reward-to-go G_{i,t} and the time-dependent
    leave-one-out batch mean b_{i,t} = (1/(N−1)) Σ_{j≠i} G_{j,t}. Needs N ≥ 2."""
    if batch.n < 2:
        raise EstimatorError(f"the leave-one-out baseline needs N ≥ 2 trajectories, got N={batch.n}")
    G = _reward_to_go(batch)
    return G, (G.sum(axis=0, keepdims=True) - G) / (batch.n - 1)


@batch_coupled
def reward_to_go_leave_one_out(batch, policy, theta) -> np.ndarray:
    """Reward-to-go with a time-dependent leave-one-out baseline (the learning loops' estimator):

        g_i = Σ_t ψ_{i,t} (G_{i,t} − b_{i,t}),  G_{i,t} = Σ_{t'≥t} γ^{t'} r_{i,t'},
        b_{i,t} = (1/(N−1)) Σ_{j≠i} G_{j,t}.

    Batch-coupled and unbiased for ∇J_γ: b_{i,t} is independent of trajectory i, so
    E[ψ_{i,t} b_{i,t}] = 0. (The batch mean b_t = (1/N) Σ_j G_{j,t} includes G_{i,t}
    itself and gives (1 − 1/N) ∇J_γ; this is that estimator times N/(N − 1).) Needs
    N ≥ 2. Returns ``[N, d]``.
    """
    G, b = _leave_one_out_baseline(batch)
    return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), G - b)


# |G_{i,t} − b_{i,t}| ≤ 2R̄ as for the return baselines, so the same range holds
reward_to_go_leave_one_out.batch_range = _baseline_range


def _base_rows(kind: str, batch, policy, theta) -> np.ndarray:
    return (reinforce if kind == "reinforce" else reward_to_go)(batch, policy, theta)


def estimate_optimal_baseline(batch, policy, theta, *, base="reinforce") -> np.ndarray:
    """The sample variance-minimising constant baseline ``[d]``:

        b̂_k = Σ_i g_{i,k} Ψ_{i,k} / Σ_i Ψ_{i,k}²   (0 where Σ_i Ψ_{i,k}² = 0),

    the plug-in estimate of b_k = E[g_k Ψ_k]/E[Ψ_k²] (for REINFORCE, the notes'
    E[g² r]/E[g²], §4.3.2).
    """
    kind = base_kind(base)
    Psi = step_scores(batch, policy, theta).sum(axis=1)
    g = _base_rows(kind, batch, policy, theta)
    num, den = (g * Psi).sum(axis=0), (Psi ** 2).sum(axis=0)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def sample_optimal_baseline(base="reinforce") -> Callable:
    """The estimator with the sample optimal constant baseline b̂ of the same batch.

    g_i = g⁰_i − b̂ ⊙ Ψ_i with b̂ from :func:`estimate_optimal_baseline`. Batch-coupled
    (b̂ uses every trajectory, so it is slightly biased for small N).
    """
    kind = base_kind(base)

    def est(batch, policy, theta):
        Psi = step_scores(batch, policy, theta).sum(axis=1)
        b = estimate_optimal_baseline(batch, policy, theta, base=kind)
        return _base_rows(kind, batch, policy, theta) - b * Psi
    est.__name__ = est.__qualname__ = f"sample_optimal_baseline(base={kind!r})"
    est.__doc__ = sample_optimal_baseline.__doc__
    if kind == "reinforce":  # b̂_k = Σ Ψ_k² r_i / Σ Ψ_k², a weighted average of the returns
        est.batch_range = _baseline_range
    return batch_coupled(est)


@batch_coupled
def standardised_advantages(batch, policy, theta) -> np.ndarray:
    """Reward-to-go standardised over the batch (common practice, e.g. Spinning Up):

        Â_{i,t} = (Ĝ_{i,t} − mean) / std,   Ĝ_{i,t} = Σ_{t'≥t} γ^{t'−t} r_{i,t'},
        g_i = Σ_t ψ_{i,t} Â_{i,t},

    mean and std over all N·T entries of the batch (Â = Ĝ − mean where std = 0).
    Batch-coupled and biased (a random rescaling of the gradient). Returns ``[N, d]``.
    """
    psi = step_scores(batch, policy, theta)
    r = batch.rewards
    G = np.zeros_like(r, dtype=float)
    acc = np.zeros(batch.n)
    for t in range(batch.horizon - 1, -1, -1):
        acc = r[:, t] + batch.discount * acc
        G[:, t] = acc
    c = G - G.mean()
    sd = c.std()
    A = c / sd if sd > 1e-12 * max(1.0, np.abs(G).max()) else c
    return np.einsum("ntd,nt->nd", psi, A)


standardised_advantages.batch_range = _standardised_range
