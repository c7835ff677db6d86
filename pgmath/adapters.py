"""Adapters from the advantage code people run to pgmath's estimator protocol (numpy only).

An advantage function maps rewards, values and episode-boundary signals to advantages
Â; the policy-gradient estimator built on it is (Schulman et al. 2016, eq. 16; notes §4.3)

    g_i = Σ_t w_t ψ_{i,t} Â_{i,t},   ψ_{i,t} = ∇_θ log π_θ(a_{i,t}|x_{i,t}),

with w_t = 1 (``discounting="step"``, what libraries do) or w_t = γ^t
(``discounting="start"``, unbiased for ∇J_γ). pgmath supplies the values: the exact
V^π_t(s_t) of the problem (:func:`pgmath.exact.values`) at the θ being checked, or a
table of the user's. With the exact V, E[ψ_t Â_t] = E[ψ_t A_t(s_t, a_t)] for every λ, so
``"step"`` is unbiased for γ = 1 and biased by Σ_t (1 − γ^t) E[ψ_t A_t] for γ < 1
(:func:`pgmath.exact.discount_bias`).

Conventions (shared with the rollout adapters of :mod:`pgmath.rollouts`)
-----------------------------------------------------------------------
The advantage function receives one :class:`EpisodeArrays` ``x`` and returns the
advantages in the same layout. Two layouts:

* ``"time_major"``: arrays ``[T, N]`` (``[n_steps, n_envs]``), as stable-baselines3's
  ``RolloutBuffer`` and CleanRL's PPO store them;
* ``"batch_major"``: arrays ``[N, T]``, as torchrl's functional estimators
  (``[*B, T, F]``, time at dim −2: add the trailing feature axis with ``[..., None]``)
  and ``jax.vmap`` over rlax's per-sequence functions (``[T]`` each) take them.

Per-step fields (t = 0..T−1; one row or column per episode):

==================  ===========================================================  =====================
field               meaning                                                      as used by
==================  ===========================================================  =====================
``rewards``         r_t, the reward of step t                                    all (rlax: ``r_t``)
``values``          V_t(s_t)                                                     SB3, CleanRL, torchrl ``state_value``
``next_values``     V_{t+1}(s_{t+1}); 0 at t = T−1 (the episode has ended)        torchrl ``next_state_value``
``discounts``       γ (1 − terminated_t): γ, and 0 at the last step              rlax ``discount_t``
``terminated``      True where the episode ends after step t (t = T−1)           torchrl ``terminated``
``truncated``       True where the episode is cut after step t (never here)      gymnasium
``dones``           terminated | truncated                                       torchrl ``done``
``episode_starts``  True where s_t is the first state of an episode (t = 0)      SB3 ``episode_starts``, CleanRL ``dones``
``final_values``    V of the final observation where step t ended an episode     SB3 (γV added to the reward
                    (0 elsewhere; 0 here: every episode terminates at T)          of a truncated step)
``states``          s_t                                                          a user's own V lookup
``actions``         a_t                                                          SB3 ``RolloutBuffer.add``
==================  ===========================================================  =====================

Per-sequence fields: ``values_with_last`` ``[T+1, N]`` / ``[N, T+1]`` is V(s_0..s_T) with
the last entry 0 (rlax's ``values``); ``last_values`` ``[N]`` is the value after the last
step, 0 (SB3 ``last_values``, CleanRL ``next_value``); ``last_dones`` ``[N]`` is True: the
step after the last starts a new episode (SB3 ``dones``, CleanRL ``next_done``).

The boundary fields (``dones``, ``episode_starts``, ``discounts``, ``last_dones``) are
derived from ``terminated`` and ``truncated`` in one place, :func:`boundary_fields`, for
episode batches here and for rollout segments (:mod:`pgmath.rollouts`, where an episode
can be truncated or cross the segment's edges: :func:`step_arrays`).

How each library's GAE function is *called* — which of these fields it takes, in which
order, with what names for γ and λ, whether its flags are floats or booleans, what its
rollout collection adds to a truncated step's reward and whether it returns advantages or
returns — is the table :data:`LIBRARY_SIGNATURES` (CleanRL, stable-baselines3, skrl and
pgmath's explicit rollout signature), used by :func:`call_library` and
:func:`library_advantages` here and by :func:`pgmath.rollouts.signatures.adapt`.

An episode batch of fixed length T ends at T: the last step is terminal and nothing is
bootstrapped (V_T ≡ 0). Flags are boolean arrays; rewards, values and discounts are in
the working dtype (``dtype``, float32 by default as in those libraries). The estimator
returns ``[N, d]`` in the working precision: float32 if the inputs or the advantages are
float32 (or narrower), else float64, so that a check of the working precision sees it.

This module also holds the framework-neutral parts of :mod:`pgmath.torch` and
:mod:`pgmath.jax` (:class:`LossBatch`, the arrays a loss function receives).
"""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, fields
from typing import Callable, Mapping, NamedTuple

import numpy as np

from .errors import EstimatorError, InvalidArgumentError, ShapeError, check_choice
from .estimator_protocol import _name, step_scores
from .exact.values import values as exact_values
from .mdp import TabularMDP
from .policies import SoftmaxPolicy

__all__ = ["EpisodeArrays", "episode_arrays", "step_arrays", "boundary_fields",
           "LibrarySignature", "LIBRARY_SIGNATURES", "REWARD_BOOTSTRAPS", "GAMMA_NAMES",
           "LAMBDA_NAMES", "call_library", "library_advantages", "advantage_estimator",
           "value_table",
           "LossBatch", "loss_batch_arrays", "logits_to_theta", "coupling_gap", "logit_name",
           "coupling_message", "working_dtype", "check_loss_options", "check_finite_gradient",
           "choose_rows", "finish_rows", "describe_array", "describe_inputs", "user_code_location",
           "loss_failure", "loss_inputs",
           "user_function_error", "LAYOUTS", "DISCOUNTINGS", "COUPLINGS"]

LAYOUTS = ("time_major", "batch_major")
DISCOUNTINGS = ("step", "start")
_NARROW = ("float16", "bfloat16")


# -- values ------------------------------------------------------------------------------------
def value_table(values, policy, theta, horizon: int) -> np.ndarray | None:
    """``[T+1, S]`` V_t(s) for t = 0..T with V_T = 0, or ``None`` when ``values`` is ``None``.

    Args:
      values: a :class:`pgmath.TabularMDP` or POMDP (the exact V^π of ``policy`` at
        ``theta``, :func:`pgmath.exact.values`, computed at every call so it follows the
        θ being checked), or a table V ``[S]`` (the same for every t), ``[T, S]`` or
        ``[T+1, S]`` (its last row is the value after the last step).
    """
    if values is None:
        return None
    T = horizon
    if isinstance(values, TabularMDP):
        if values.horizon is not None and values.horizon != T:
            raise ShapeError(f"the batch has horizon T = {T} but {values!r} has horizon "
                             f"{values.horizon}: the exact V_t needs the same T")
        mdp = values if values.horizon is not None else values.with_horizon(T)
        V = np.asarray(exact_values(mdp, policy, theta), dtype=float)
        return np.concatenate([V, np.zeros((1, V.shape[1]))])
    tab = _to_numpy(values, "values= got").astype(float)
    if not np.all(np.isfinite(tab)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(tab))[0])
        raise EstimatorError(f"values table{list(idx)} is not finite: {tab[idx]!r}")
    if tab.ndim == 1:
        return np.concatenate([np.broadcast_to(tab, (T, tab.size)), np.zeros((1, tab.size))])
    if tab.ndim == 2 and tab.shape[0] == T:
        return np.concatenate([tab, np.zeros((1, tab.shape[1]))])
    if tab.ndim == 2 and tab.shape[0] == T + 1:
        return tab
    raise ShapeError(f"values table has shape {tab.shape}; expected [S], [T, S] or [T+1, S] "
                     f"with T = {T}")


def _lookup(V: np.ndarray, batch) -> tuple[np.ndarray, np.ndarray]:
    """(``[N, T]`` V_t(s_t), ``[N, T]`` V_{t+1}(s_{t+1}) with 0 at t = T−1)."""
    N, T = batch.states.shape
    if batch.states.max(initial=0) >= V.shape[1]:
        raise ShapeError(f"the batch visits state {int(batch.states.max())} but the values "
                         f"table has {V.shape[1]} states (shape {V.shape})")
    t = np.arange(T)
    v = V[t[None, :], batch.states]
    nxt = np.zeros((N, T))
    nxt[:, :-1] = V[t[None, 1:], batch.states[:, 1:]]
    if V.shape[0] == T + 1 and np.any(V[T] != 0):
        if batch.final_states is None or np.any(np.asarray(batch.final_states) < 0):
            raise EstimatorError("a values table [T+1, S] with a non-zero last row bootstraps "
                                 "from V_T(s_T), but the batch has no final states s_T")
        nxt[:, -1] = V[T, batch.final_states]
    return v, nxt


# -- episode arrays -------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class EpisodeArrays:
    """What an advantage function reads, for N episodes of length T, in one layout.

    Shapes below are ``"time_major"``; ``"batch_major"`` swaps the two axes (see the
    module docstring for each field and the libraries that use it).

    Attributes:
      rewards, values, next_values, discounts: ``[T, N]`` in ``dtype``.
      terminated, truncated, dones, episode_starts: ``[T, N]`` bool.
      states, actions: ``[T, N]`` int.
      values_with_last: ``[T+1, N]`` V(s_0..s_T), last entry 0.
      last_values: ``[N]`` 0; last_dones: ``[N]`` True.
      gamma: γ; layout: ``"time_major"`` or ``"batch_major"``; n: N; horizon: T.
      final_values: ``[T, N]`` V(final observation) where step t ended an episode, else 0
        (0 in an episode batch; ``None`` when not given).
    """

    rewards: np.ndarray
    values: np.ndarray
    next_values: np.ndarray
    values_with_last: np.ndarray
    discounts: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    dones: np.ndarray
    episode_starts: np.ndarray
    states: np.ndarray
    actions: np.ndarray
    last_values: np.ndarray
    last_dones: np.ndarray
    gamma: float
    layout: str
    final_values: np.ndarray | None = None

    @property
    def n(self) -> int:
        """N, the number of episodes."""
        return self.last_values.shape[0]

    @property
    def horizon(self) -> int:
        """T, the number of steps of each episode."""
        return self.rewards.shape[0 if self.layout == "time_major" else 1]


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise InvalidArgumentError(f"layout must be 'time_major' ([T, N], SB3/CleanRL) or "
                                   f"'batch_major' ([N, T], torchrl/rlax under vmap), got {layout!r}")


def _float_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise InvalidArgumentError(f"dtype must be a numpy floating dtype (np.float32 or "
                                   f"np.float64), got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise InvalidArgumentError(f"dtype must be np.float32 or np.float64, got {dt}")
    return dt


def episode_arrays(batch, V: np.ndarray, *, layout: str = "time_major",
                   dtype=np.float32) -> EpisodeArrays:
    """The :class:`EpisodeArrays` of an episode batch ``[N, T]`` with values ``V`` ``[T+1, S]``.

    Every episode ends at T: ``terminated`` is True at t = T−1, ``discounts`` are γ and 0
    at the last step, ``next_values`` and ``last_values`` are 0 there.
    """
    _check_layout(layout)
    dt = _float_dtype(dtype)
    N, T = batch.states.shape
    v, nxt = _lookup(V, batch)
    term = np.zeros((T, N), dtype=bool)
    term[-1] = True
    b = boundary_fields(term, np.zeros((T, N), dtype=bool), gamma=batch.discount,
                        first_starts=np.ones(N, dtype=bool))
    vext = np.concatenate([v, np.zeros((N, 1))], axis=1)
    tr = (lambda a: np.ascontiguousarray(a.T)) if layout == "time_major" else np.ascontiguousarray
    keep = np.ascontiguousarray if layout == "time_major" else (lambda a: np.ascontiguousarray(a.T))
    return EpisodeArrays(
        rewards=tr(np.asarray(batch.rewards, dtype=dt)), values=tr(v.astype(dt)),
        next_values=tr(nxt.astype(dt)), values_with_last=tr(vext.astype(dt)),
        discounts=keep(b["discounts"].astype(dt)), terminated=keep(term),
        truncated=keep(np.zeros((T, N), dtype=bool)), dones=keep(b["dones"]),
        episode_starts=keep(b["episode_starts"]), states=tr(np.asarray(batch.states)),
        actions=tr(np.asarray(batch.actions)),
        last_values=np.zeros(N, dtype=dt), last_dones=b["last_dones"],
        gamma=float(batch.discount), layout=layout, final_values=keep(np.zeros((T, N), dtype=dt)))


def boundary_fields(terminated: np.ndarray, truncated: np.ndarray, *, gamma: float,
                    first_starts: np.ndarray) -> dict[str, np.ndarray]:
    """The episode-boundary fields every library convention is derived from (time-major).

    Args:
      terminated, truncated: ``[T, N]`` bool, step t entered a terminal state / was cut by
        a time limit (never both).
      gamma: γ.
      first_starts: ``[N]`` bool, observation 0 is the first of an episode.

    Returns:
      ``dones`` ``[T, N]`` = terminated ∨ truncated (torchrl ``done``, skrl ``dones``);
      ``episode_starts`` ``[T, N]``: row 0 ``first_starts``, row t the step before ended
      an episode (SB3 ``episode_starts``, CleanRL ``dones``; same-step auto-reset, the
      layout those libraries store); ``discounts`` ``[T, N]`` = γ (1 − terminated) (rlax
      ``discount_t``); ``last_dones`` ``[N]`` = dones[T−1] (SB3 ``dones``, CleanRL
      ``next_done``).
    """
    term, trunc = np.asarray(terminated, dtype=bool), np.asarray(truncated, dtype=bool)
    dones = term | trunc
    starts = np.concatenate([np.asarray(first_starts, dtype=bool)[None], dones[:-1]], axis=0)
    return dict(dones=dones, episode_starts=starts, discounts=gamma * (1.0 - term),
                last_dones=dones[-1].copy())


def step_arrays(rewards, values, terminated, truncated, final_values, last_values, *,
                gamma: float, dtype=np.float64, first_starts=None) -> EpisodeArrays:
    """The time-major :class:`EpisodeArrays` of a rollout segment ``[T, N]`` given in
    pgmath's explicit rollout signature (:mod:`pgmath.rollouts.gae`), where an episode may
    be truncated, end mid-segment, or go on past its last step.

    ``next_values[t]`` is V(s_{t+1}) of step t's own episode: 0 after a termination,
    ``final_values[t]`` after a truncation, else ``values[t+1]`` (``last_values`` after the
    last step); ``values_with_last`` appends ``last_values``; ``first_starts`` ``[N]``
    defaults to False (the explicit signature does not say; no library's GAE reads it).
    ``states`` and ``actions`` are not part of the signature: −1.
    """
    dt = _float_dtype(dtype)
    r = np.asarray(rewards, dtype=dt)
    T, N = r.shape
    v, fin = np.asarray(values, dtype=dt), np.asarray(final_values, dtype=dt)
    last = np.asarray(last_values, dtype=dt)
    term, trunc = np.asarray(terminated, dtype=bool), np.asarray(truncated, dtype=bool)
    first = np.zeros(N, dtype=bool) if first_starts is None else first_starts
    b = boundary_fields(term, trunc, gamma=gamma, first_starts=first)
    v_next = np.concatenate([v[1:], last[None]], axis=0)
    nxt = np.where(term, 0.0, np.where(trunc, fin, v_next)).astype(dt)
    unknown = np.full((T, N), -1, dtype=np.intp)
    return EpisodeArrays(
        rewards=r, values=v, next_values=nxt, values_with_last=np.concatenate([v, last[None]]),
        discounts=b["discounts"].astype(dt), terminated=term, truncated=trunc,
        dones=b["dones"], episode_starts=b["episode_starts"], states=unknown,
        actions=unknown.copy(), last_values=last, last_dones=b["last_dones"],
        gamma=float(gamma), layout="time_major", final_values=fin)


# -- how each library's GAE is called -------------------------------------------------------------
#: What a rollout pipeline adds to a truncated step's reward before the advantage function
#: runs: nothing, γ V(final observation) (partial-episode bootstrapping in the reward, as
#: stable-baselines3 does) or γ V(s_t) (skrl's ``time_limit_bootstrap``).
REWARD_BOOTSTRAPS = ("none", "final_value", "current_value")
#: Parameter names libraries give γ and λ (passed by name when the function has them).
GAMMA_NAMES = ("gamma", "discount", "discount_factor")
LAMBDA_NAMES = ("gae_lambda", "lam", "lmbda", "lambda_", "lambda_coefficient", "gae_lam")


@dataclass(frozen=True)
class LibrarySignature:
    """How one library calls its GAE function.

    Attributes:
      fields: the :class:`EpisodeArrays` fields passed positionally, in order (γ and λ
        follow, by name when the function has parameters of :data:`GAMMA_NAMES` /
        :data:`LAMBDA_NAMES`, else positionally; ``keywords``: always ``gamma=, lam=``).
      flags: ``"float"`` (flags as float arrays, as SB3 and CleanRL store them) or
        ``"bool"``.
      reward_bootstrap: what the library's rollout collection adds to a truncated step's
        reward (:data:`REWARD_BOOTSTRAPS`).
      output: ``"advantages"`` (the array, or the first of a returned tuple) or
        ``"returns"`` (the first of a returned tuple, Â = returns − values).
    """

    fields: tuple[str, ...]
    flags: str
    reward_bootstrap: str
    output: str
    keywords: bool = False


#: CleanRL's ``ppo.py`` loop ``(rewards, values, dones, next_value, next_done, gamma,
#: gae_lambda)`` (``dones[t]``: observation t starts an episode; no truncation bootstrap);
#: stable-baselines3's ``RolloutBuffer.compute_returns_and_advantage`` as a function
#: ``(rewards, values, episode_starts, last_values, dones, gamma, gae_lambda)`` (γV(final
#: obs) added to a truncated step's reward by ``collect_rollouts``); skrl's ``compute_gae``
#: ``(rewards, dones, values, next_values, discount_factor, lambda_coefficient)`` returning
#: (returns, standardised advantages); pgmath's explicit rollout signature
#: ``(rewards, values, terminated, truncated, final_values, last_values, *, gamma, lam)``.
LIBRARY_SIGNATURES = {
    "explicit": LibrarySignature(("rewards", "values", "terminated", "truncated",
                                  "final_values", "last_values"), "bool", "none", "advantages",
                                 keywords=True),
    "cleanrl": LibrarySignature(("rewards", "values", "episode_starts", "last_values",
                                 "last_dones"), "float", "none", "advantages"),
    "sb3": LibrarySignature(("rewards", "values", "episode_starts", "last_values",
                             "last_dones"), "float", "final_value", "advantages"),
    "skrl": LibrarySignature(("rewards", "dones", "values", "last_values"), "bool", "none",
                             "returns"),
}
_FLAG_FIELDS = ("terminated", "truncated", "dones", "episode_starts", "last_dones")


def _gamma_lambda(fn, gamma: float, lam: float, keywords: bool) -> tuple[list, dict]:
    """(positional, keyword) γ and λ for ``fn``: by its own parameter names when it has
    both, else positionally after the arrays."""
    if keywords:
        return [], dict(gamma=gamma, lam=lam)
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # pragma: no cover - builtins
        params = []
    kw = {}
    for names, value in ((GAMMA_NAMES, gamma), (LAMBDA_NAMES, lam)):
        hit = next((p for p in params if p in names), None)
        if hit is not None:
            kw[hit] = value
    return ([], kw) if len(kw) == 2 else ([gamma, lam], {})


def call_library(fn, signature: str, x: EpisodeArrays, *, lam: float,
                 convert: Callable = lambda a: a):
    """Call ``fn`` as library ``signature`` (:data:`LIBRARY_SIGNATURES`) calls its GAE, on
    the time-major arrays ``x``, and return its raw output. ``convert`` maps each numpy
    argument to the array type the function takes (floats; flags as floats or booleans
    per the library)."""
    check_choice("signature", signature, tuple(LIBRARY_SIGNATURES))
    sig = LIBRARY_SIGNATURES[signature]
    args = []
    for name in sig.fields:
        a = getattr(x, name)
        if name in _FLAG_FIELDS:
            a = np.asarray(a, dtype=bool)
            if sig.flags == "float":
                a = a.astype(x.rewards.dtype)
        args.append(convert(a))
    pos, kw = _gamma_lambda(fn, x.gamma, lam, sig.keywords)
    return fn(*args, *pos, **kw)


def library_advantages(fn, signature: str, *, lam: float, output: str | None = None
                       ) -> Callable[[EpisodeArrays], np.ndarray]:
    """An advantage function for :func:`advantage_estimator` (``layout="time_major"``) from
    a GAE function with a library's signature: ``x -> Â`` ``[T, N]``, Â the advantages or,
    for ``output="returns"`` (skrl's default), returns − values."""
    check_choice("signature", signature, tuple(LIBRARY_SIGNATURES))
    kind = output or LIBRARY_SIGNATURES[signature].output
    check_choice("output", kind, ("advantages", "returns"))

    def advantages(x: EpisodeArrays):
        out = call_library(fn, signature, x, lam=lam)
        first = out[0] if isinstance(out, (tuple, list)) else out
        if kind == "returns":
            a = _to_numpy(first, f"{_name(fn)} returned")
            return a - np.asarray(x.values, dtype=a.dtype)
        return first
    advantages.__name__ = f"{signature}:{_name(fn)}"
    return advantages


# -- turning a framework's array into numpy ----------------------------------------------------------
def _to_numpy(x, what: str) -> np.ndarray:
    """A numpy array from a numpy/torch/JAX array; a tensor that requires grad is refused.

    ``what`` starts the error message ("advantage function f returned", "values= got").
    """
    if isinstance(x, (tuple, list)) and len(x) and not np.isscalar(x[0]) and hasattr(x[0], "shape"):
        raise EstimatorError(f"{what} a {type(x).__name__} of {len(x)} arrays; return "
                             "the advantages only (torchrl's estimators return (advantage, "
                             "value_target): take [0])")
    if getattr(x, "requires_grad", False):
        raise EstimatorError(
            f"{what} a tensor that requires grad ({type(x).__name__}, dtype "
            f"{getattr(x, 'dtype', '?')}): advantages and values are constants of the loss; detach them "
            "(.detach()) or compute them under torch.no_grad()")
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        if str(getattr(x, "dtype", "")) == "torch.bfloat16":
            x = x.float()
        x = x.numpy()
    try:
        arr = np.asarray(x)
    except Exception as exc:  # noqa: BLE001 - re-raised with context
        raise EstimatorError(f"{what} {type(x).__name__}, which is not an array: "
                             f"{exc}") from exc
    if arr.dtype.name in _NARROW:
        arr = arr.astype(np.float32)
    if arr.dtype.kind not in "fiub":
        raise EstimatorError(f"{what} an array of dtype {arr.dtype}, not a numeric array")
    return arr


def working_dtype(*dtypes) -> np.dtype:
    """float32 when any of ``dtypes`` is float32 or narrower, else float64."""
    for d in dtypes:
        d = np.dtype(d)
        if d.kind == "f" and d.itemsize <= 4:
            return np.dtype(np.float32)
    return np.dtype(np.float64)


# -- errors raised inside a user's function -------------------------------------------------------
def describe_array(a) -> str:
    """``"[4, 8] float32"``: the shape and dtype of a numpy, torch or JAX array."""
    shape = ", ".join(str(int(n)) for n in tuple(a.shape))
    return f"[{shape}] {str(a.dtype).rsplit('.', 1)[-1]}"   # torch.float32 -> float32


def describe_inputs(arrays: Mapping[str, object]) -> str:
    """The shapes and dtypes of what a user's function received, fields of one shape and
    dtype grouped: ``"rewards, values: [4, 8] float32; states, actions: [4, 8] int64;
    values: None"`` (numpy, torch or JAX arrays; entries without a shape are left out)."""
    groups: dict[str, list[str]] = {}
    for key, a in arrays.items():
        if a is None:
            what = "None"
        elif hasattr(a, "shape") and hasattr(a, "dtype"):
            what = describe_array(a)
        else:
            continue
        groups.setdefault(what, []).append(key)
    return "; ".join(f"{', '.join(keys)}: {what}" for what, keys in groups.items())


def _code_file(fn) -> str | None:
    target = inspect.unwrap(fn) if callable(fn) else fn
    target = getattr(target, "func", target)               # functools.partial
    code = getattr(target, "__code__", None) or getattr(getattr(type(target), "__call__", None),
                                                        "__code__", None)
    return code.co_filename if code is not None else None


def user_code_location(fn, exc: BaseException) -> str | None:
    """``"my_file.py:12"``: the deepest line of the traceback of ``exc`` in the file that
    defines ``fn`` (the user's line that raised, or that called what raised), or ``None``."""
    file = _code_file(fn)
    where, tb = None, exc.__traceback__
    while tb is not None:
        if file is not None and tb.tb_frame.f_code.co_filename == file:
            where = f"{os.path.basename(file)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def user_function_error(what: str, fn, exc: BaseException, inputs: str,
                        hint: str = "") -> EstimatorError:
    """One :class:`EstimatorError` for an exception raised inside a user's function,
    saying once what failed (``what``: "advantage function my_gae"), where (the user's
    line, :func:`user_code_location`), the exception's first line, and what the function
    was given (``inputs``, e.g. from :func:`describe_inputs`). An :class:`EstimatorError`
    (already saying all that) is returned unchanged, never wrapped again."""
    if isinstance(exc, EstimatorError):
        return exc
    loc = user_code_location(fn, exc)
    first = (str(exc).strip().splitlines() or [""])[0].rstrip(".")
    return EstimatorError(f"{what} raised {type(exc).__name__}"
                          + (f" at {loc}" if loc else "") + f": {first}{hint}. "
                          f"It was called with {inputs}")


def loss_failure(label: str, loss_fn) -> str:
    """A loss adapter's failing function as its errors name it: the estimator's label, and
    the user's loss by name when the label does not say it."""
    name = _name(loss_fn)
    return label if name in label else f"{label} (loss function {name})"


def loss_inputs(logits, arrays: Mapping[str, object], discount: float, *,
                per_trajectory: bool = False) -> str:
    """What a loss was given: ``"logits [X, A] float32 and batch = LossBatch(...): …"``."""
    rows = " (each call sees one trajectory: [1, T])" if per_trajectory else ""
    return (f"logits {describe_array(logits)} and batch = LossBatch(discount={discount})"
            f"{rows}: {describe_inputs(arrays)}")


# -- the advantage adapter --------------------------------------------------------------------------
def advantage_estimator(advantage_fn: Callable[[EpisodeArrays], object], values, *,
                        layout: str = "time_major", dtype=np.float32,
                        discounting: str = "step", name: str | None = None) -> Callable:
    """An estimator g_i = Σ_t w_t ψ_{i,t} Â_{i,t} from a user's (or a library's) advantage code.

    Args:
      advantage_fn: ``advantage_fn(x) -> Â`` with ``x`` an :class:`EpisodeArrays` and Â
        ``[T, N]`` (``"time_major"``) or ``[N, T]`` (``"batch_major"``; a trailing
        feature axis of size 1, torchrl's ``[N, T, 1]``, is accepted). A numpy, torch or
        JAX array; a torch tensor that requires grad is refused.
      values: where V comes from: an MDP (the exact V^π at the θ being checked) or a
        table (:func:`value_table`).
      layout: ``"time_major"`` or ``"batch_major"``.
      dtype: the dtype of the float inputs (float32 by default, as in SB3, CleanRL and JAX).
      discounting: ``"step"`` (w_t = 1, as libraries weight Â_t) or ``"start"``
        (w_t = γ^t, unbiased for ∇J_γ).
      name: the estimator's name in reports.

    Returns:
      ``estimator(batch, policy, theta) -> [N, d]``, per-trajectory (row i reads
      episode i only, provided ``advantage_fn`` treats columns independently), in the
      working precision (float32 if ``dtype`` or Â is float32).

    Raises (when called):
      EstimatorError: ``advantage_fn`` raised, returned a tuple, a tensor that requires
        grad, the wrong shape, or a non-finite value (named by step t and episode i).
    """
    _check_layout(layout)
    dt = _float_dtype(dtype)
    check_choice("discounting", discounting, DISCOUNTINGS)
    if not callable(advantage_fn):
        raise InvalidArgumentError(f"advantage_fn must be callable, got {advantage_fn!r}")
    label = name or f"advantage_estimator({_name(advantage_fn)}, layout={layout!r})"

    def estimator(batch, policy, theta):
        N, T = batch.states.shape
        V = value_table(values, policy, theta, T)
        if V is None:
            raise EstimatorError(f"{label} needs values (an MDP or a table)")
        x = episode_arrays(batch, V, layout=layout, dtype=dt)
        try:
            out = advantage_fn(x)
        except Exception as exc:  # noqa: BLE001 - re-raised with context
            arrays = {f.name: getattr(x, f.name) for f in fields(x)}
            raise user_function_error(
                f"advantage function {_name(advantage_fn)}", advantage_fn, exc,
                f"x = EpisodeArrays(layout={layout!r}, gamma={x.gamma}): "
                + describe_inputs(arrays)) from exc
        adv = _to_numpy(out, f"advantage function {_name(advantage_fn)} returned")
        want = (T, N) if layout == "time_major" else (N, T)
        if adv.shape == want + (1,):
            adv = adv[..., 0]
        if adv.shape != want:
            axes = "[T, N]" if layout == "time_major" else "[N, T]"
            raise ShapeError(f"advantage function {_name(advantage_fn)} returned shape "
                             f"{adv.shape}; layout={layout!r} needs {axes} = {want}")
        if layout == "time_major":
            adv = adv.T
        bad = ~np.isfinite(adv)
        if bad.any():
            i, t = (int(v) for v in np.argwhere(bad)[0])
            raise EstimatorError(f"advantage function {_name(advantage_fn)} returned a "
                                 f"non-finite advantage {float(adv[i, t])!r} at step t={t} of episode i={i}")
        work = working_dtype(dt, adv.dtype)
        w = np.ones(T) if discounting == "step" else batch.discount ** np.arange(T)
        psi = step_scores(batch, policy, theta).astype(work)
        return np.einsum("ntd,nt->nd", psi, (adv * w).astype(work))

    estimator.__name__ = estimator.__qualname__ = label
    estimator.__doc__ = advantage_estimator.__doc__
    return estimator


# -- shared by pgmath.torch and pgmath.jax ------------------------------------------------------------
class LossBatch(NamedTuple):
    """What a loss function receives beside the logits (tensors/arrays of one framework).

    Attributes:
      states, actions, inputs: ``[N, T]`` int (``inputs`` = what the policy reads: the
        observations of a POMDP, else the states; index the logits with it).
      rewards: ``[N, T]`` float, r_t.
      behaviour_log_probs: ``[N, T]`` log π_old(a_t|x_t) of the policy that drew the
        batch (PPO's old log-probs; equal to the current ones on-policy).
      values: ``[N, T]`` V_t(s_t), or ``None`` when the adapter was given no ``values``.
      next_values: ``[N, T]`` V_{t+1}(s_{t+1}), 0 at t = T−1 (the episode ends at T), or
        ``None``.
      discount: γ (a Python float).
    """

    states: object
    actions: object
    inputs: object
    rewards: object
    behaviour_log_probs: object
    values: object
    next_values: object
    discount: float


#: The array fields of :class:`LossBatch` (all but ``discount``).
ARRAY_FIELDS = tuple(f for f in LossBatch._fields if f != "discount")
_INT_FIELDS = ("states", "actions", "inputs")


def loss_batch_arrays(batch, policy, theta, values, dtype) -> dict[str, np.ndarray | None]:
    """The numpy arrays of a :class:`LossBatch` (floats in ``dtype``, ints as int64)."""
    V = value_table(values, policy, theta, batch.horizon)
    v, nxt = _lookup(V, batch) if V is not None else (None, None)
    blp = batch.behaviour_log_probs
    if blp is None:
        lp = np.asarray(policy.log_probs(theta))
        blp = lp[batch.inputs, batch.actions]
    out = dict(states=batch.states, actions=batch.actions, inputs=batch.inputs,
               rewards=batch.rewards, behaviour_log_probs=blp, values=v, next_values=nxt)
    return {k: (None if a is None else
                np.ascontiguousarray(a, dtype=np.int64 if k in _INT_FIELDS else dtype))
            for k, a in out.items()}


def logits_to_theta(grad_logits: np.ndarray, policy) -> np.ndarray:
    """``[N, d]`` ∇_θ from ``[N, X, A]`` gradients with respect to the logits.

    logits = Φ θ, so ∇_θ f = Σ_{x,a} ∇_{logits[x,a]} f Φ[x, a, :] (for a tabular softmax
    Φ is the identity and this is a reshape).
    """
    N = grad_logits.shape[0]
    if isinstance(policy, SoftmaxPolicy):
        return grad_logits.reshape(N, -1)
    phi = np.asarray(policy.features(), dtype=grad_logits.dtype)
    return np.einsum("nxa,xad->nd", grad_logits, phi)


def coupling_gap(rows: np.ndarray, batch_grad: np.ndarray) -> tuple[bool, int, float]:
    """Is the gradient of the whole batch the mean of the per-trajectory gradients?

    Returns (consistent, j, gap): consistent when |ḡ_j − g_B,j| ≤ tol_j for every j,
    tol_j = 64 √u (mean_i |g_ij| + |g_B,j|) + 64 u max|g| with u the unit roundoff of the
    rows' dtype: far above rounding (a loss that is a mean of per-trajectory terms agrees
    to a few ulps), far below what coupling does (a batch-mean baseline at N = 1 zeroes
    the row; standardisation rescales it by O(1)).
    """
    work = np.float64
    u = float(np.finfo(rows.dtype if rows.dtype.kind == "f" else work).eps) / 2
    r = rows.astype(work)
    gB = batch_grad.astype(work)
    mean = r.mean(axis=0)
    scale = np.abs(r).mean(axis=0) + np.abs(gB)
    tol = 64 * np.sqrt(u) * scale + 64 * u * max(float(np.abs(r).max(initial=0)), float(np.abs(gB).max(initial=0)))
    gap = np.abs(mean - gB) - tol
    j = int(np.argmax(gap))
    return bool(gap[j] <= 0), j, float(np.abs(mean - gB)[j])


def logit_name(policy, j: int) -> str:
    """``"logit (s=…, a=…)"`` for flat coordinate j of a tabular policy (``o=`` for
    observations; ``"component j"`` for a policy with features)."""
    if not isinstance(policy, SoftmaxPolicy):
        return f"component {j}"
    A = policy.n_actions
    over = "o" if getattr(policy, "over", "states") == "observations" else "s"
    return f"logit ({over}={j // A}, a={j % A})"


def coupling_message(label: str, batch_size: int, policy, j: int, gap: float) -> str:
    """The error for a loss whose batch gradient is not the mean of its per-trajectory ones."""
    n = batch_size
    return (f"{label} couples the batch: its gradient on a batch of {n} trajectories differs "
            f"from the mean of the {n} per-trajectory gradients by {gap:.3e} at "
            f"{logit_name(policy, j)} (a batch-mean baseline, advantages standardised over the "
            "batch, a sum instead of a mean over trajectories). Its rows are not "
            "per-trajectory estimates: pass coupling='batch' (one gradient per batch)")


#: How a loss adapter treats the batch (:func:`pgmath.torch.loss_estimator`).
COUPLINGS = ("auto", "per_trajectory", "batch")


def check_loss_options(loss_fn, coupling: str, minimize) -> None:
    """Validate the options shared by :mod:`pgmath.torch` and :mod:`pgmath.jax`."""
    if not callable(loss_fn):
        raise InvalidArgumentError(f"loss_fn must be callable, got {loss_fn!r}")
    check_choice("coupling", coupling, COUPLINGS)
    if not isinstance(minimize, bool):
        raise InvalidArgumentError(f"minimize must be True (a loss) or False (an objective), "
                                   f"got {minimize!r}")


def check_finite_gradient(g: np.ndarray, label: str, policy, *, whole: bool = False) -> None:
    """Raise :class:`EstimatorError` naming the trajectory and logit of a NaN/inf gradient
    (``g`` ``[N, X·A]``; ``whole``: the gradient of the whole batch, one row)."""
    bad = ~np.isfinite(g)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        where = "the whole batch" if whole else f"trajectory {i}"
        raise EstimatorError(f"{label}: the gradient of the loss on {where} is {float(g[i, j])!r} "
                             f"at {logit_name(policy, j)}")


def choose_rows(rows: np.ndarray | None, batch_grad: np.ndarray, coupling: str, label: str,
                policy, *, first: int | None = None,
                whole: Callable[[], np.ndarray] | None = None) -> np.ndarray:
    """The ``[N, X, A]`` rows a loss adapter returns (before the sign and θ mapping).

    ``rows``: per-trajectory gradients (``None`` for ``coupling="batch"``); ``batch_grad``
    ``[X, A]``: the gradient of the loss on the first ``first`` trajectories (all when
    ``None``); ``whole()``: the gradient on the whole batch, computed only when it is
    needed (``batch_grad`` when ``None``). Per-trajectory rows when their mean agrees with
    ``batch_grad`` (:func:`coupling_gap`); otherwise ``"per_trajectory"`` raises and
    ``"auto"`` (like ``"batch"``) puts the whole-batch gradient in every row.
    """
    full = whole if whole is not None else (lambda: batch_grad)
    if rows is None:
        return full()[None]
    n = rows.shape[0]
    check_finite_gradient(rows.reshape(n, -1), label, policy)
    k = n if first is None else first
    ok, j, gap = coupling_gap(rows[:k].reshape(k, -1), batch_grad.reshape(-1))
    if ok:
        return rows
    if coupling == "per_trajectory":
        raise EstimatorError(coupling_message(label, k, policy, j, gap))
    return full()[None]


def finish_rows(rows: np.ndarray, batch_size: int, sign: float, policy, dtype) -> np.ndarray:
    """``[N, d]`` sign × rows mapped from logits to θ, in ``dtype`` (a ``[1, X, A]`` batch
    gradient is repeated in every row; N = ``batch_size``)."""
    n = batch_size
    g = logits_to_theta(sign * rows, policy).astype(dtype, copy=False)
    return np.ascontiguousarray(np.broadcast_to(g, (n, g.shape[1]))) if g.shape[0] != n else g
