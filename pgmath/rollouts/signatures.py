"""Adapters: GAE functions with the signatures of CleanRL, stable-baselines3 and skrl.

The conventions — which arrays each library passes, in which order, how its flags and
γ/λ are named and typed, what its rollout collection adds to a truncated step's reward,
whether it returns advantages or returns — are defined once, in
:data:`pgmath.adapters.LIBRARY_SIGNATURES`, with the fields of
:class:`pgmath.adapters.EpisodeArrays` (:func:`pgmath.adapters.boundary_fields` derives
``dones``, ``episode_starts``, ``last_dones`` from ``terminated`` and ``truncated``).
This module only turns a function with one of those signatures into an
*explicit-signature* advantage function (:mod:`.gae`), the form the rollout engine calls:

``"explicit"`` — ``fn(rewards, values, terminated, truncated, final_values, last_values,
    *, gamma, lam)``, pgmath's own; the function is returned as it is.
``"cleanrl"`` — ``fn(rewards, values, dones, next_value, next_done, gamma, gae_lambda)``
    as the loop of CleanRL's ``ppo.py``: ``dones[t]`` = ``episode_starts[t]`` (observation
    t is the first of an episode), ``next_done`` = ``last_dones``; no truncation bootstrap.
``"sb3"`` — ``fn(rewards, values, episode_starts, last_values, dones, gamma, gae_lambda)``
    as ``RolloutBuffer.compute_returns_and_advantage``; γ V(final observation) added to a
    truncated step's reward first (``reward_bootstrap="final_value"``).
``"skrl"`` — ``fn(rewards, dones, values, next_values, discount_factor,
    lambda_coefficient)`` as skrl's ``compute_gae`` (``next_values`` = ``last_values``),
    returning ``(returns, standardised advantages)``: the adapter takes
    ``returns − values`` (standardising is a separate, batch-coupled step). With
    ``time_limit_bootstrap`` skrl adds γ V(s_t) (``reward_bootstrap="current_value"``);
    its default is none.
``"arrays"`` — ``fn(x) -> Â``, ``x`` an :class:`pgmath.adapters.EpisodeArrays` (time
    major): the advantage functions :func:`pgmath.adapters.advantage_estimator` takes, so
    the same code is checked on episodes and on rollout segments.

``reward_bootstrap`` (what is added to a truncated step's reward before the call):
``"none"``, ``"final_value"`` (γ V(final observation): partial-episode bootstrapping
done in the reward) or ``"current_value"`` (γ V(s_t)).

``backend="torch"`` passes ``torch.Tensor`` inputs (``dtype`` float64 or float32);
torch is imported only then.
"""
from __future__ import annotations

import numpy as np

from ..adapters import (LIBRARY_SIGNATURES, REWARD_BOOTSTRAPS, _to_numpy, call_library,
                        step_arrays)
from ..errors import InvalidArgumentError

__all__ = ["adapt", "SIGNATURES", "REWARD_BOOTSTRAPS"]

#: The signatures :func:`adapt` knows: the libraries of
#: :data:`pgmath.adapters.LIBRARY_SIGNATURES` and ``"arrays"``.
SIGNATURES = (*LIBRARY_SIGNATURES, "arrays")


def _choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise InvalidArgumentError(f"{name} must be one of {tuple(allowed)}, got {value!r}")


def adapt(fn, signature: str, *, reward_bootstrap: str | None = None, backend: str = "numpy",
          dtype: str = "float64", output: str | None = None):
    """An explicit-signature advantage function that calls ``fn`` the way its library does.

    Args:
      fn: the user's GAE function.
      signature: ``"cleanrl"``, ``"sb3"``, ``"skrl"``, ``"explicit"`` or ``"arrays"``
        (module docstring).
      reward_bootstrap: ``"none"``, ``"final_value"`` or ``"current_value"``; default
        what the library's own rollout collection does (none for ``"arrays"``).
      backend: ``"numpy"`` or ``"torch"``; dtype: ``"float64"`` or ``"float32"``.
      output: ``"advantages"`` (the array, or the first of a returned tuple; default for
        cleanrl/sb3/explicit/arrays) or ``"returns"`` (Â = returns − values, the first of a
        returned tuple; default for skrl).

    Returns:
      ``advantages(rewards, values, terminated, truncated, final_values, last_values, *,
      gamma, lam)``.
    """
    _choice("signature", signature, SIGNATURES)
    lib = LIBRARY_SIGNATURES.get(signature)
    boot = (lib.reward_bootstrap if lib else "none") if reward_bootstrap is None \
        else reward_bootstrap
    _choice("reward_bootstrap", boot, REWARD_BOOTSTRAPS)
    _choice("backend", backend, ("numpy", "torch"))
    _choice("dtype", dtype, ("float64", "float32"))
    out_kind = output or (lib.output if lib else "advantages")
    _choice("output", out_kind, ("advantages", "returns"))
    if signature == "explicit" and boot == "none" and backend == "numpy" and output is None:
        return fn

    def convert(x):
        if backend == "numpy" or x.dtype.kind not in "fb":
            return x
        import torch  # optional dependency: only this path needs it
        return torch.as_tensor(x)

    def advantages(rewards, values, terminated, truncated, final_values, last_values, *,
                   gamma, lam):
        rewards = np.asarray(rewards, dtype=float)
        if boot == "final_value":
            rewards = rewards + gamma * np.asarray(truncated) * final_values
        elif boot == "current_value":
            rewards = rewards + gamma * np.asarray(truncated) * values
        x = step_arrays(rewards, values, terminated, truncated, final_values, last_values,
                        gamma=gamma, dtype=dtype)
        if signature == "arrays":
            out = fn(x)
        else:
            out = call_library(fn, signature, x, lam=lam, convert=convert)
        first = out[0] if isinstance(out, (tuple, list)) else out
        a = _to_numpy(first, f"advantage function {getattr(fn, '__name__', fn)!s} returned")
        if str(getattr(first, "dtype", "")).endswith("float16") and "bfloat" not in \
                str(first.dtype):
            a = a.astype(np.float16)   # keep the working precision the check's tolerance reads
        elif a.dtype.kind != "f":
            a = a.astype(float)
        return a - np.asarray(values, dtype=a.dtype) if out_kind == "returns" else a

    advantages.__name__ = getattr(fn, "__name__", "advantages")
    advantages.__qualname__ = f"{signature}:{getattr(fn, '__qualname__', advantages.__name__)}"
    advantages.adapted_from = fn
    return advantages
