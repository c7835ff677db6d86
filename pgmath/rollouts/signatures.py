"""Adapters: GAE functions with the signatures of CleanRL, stable-baselines3 and skrl.

Each adapter returns an *explicit-signature* advantage function (:mod:`.gae`) that
feeds the user's function the arrays its library would, from pgmath's rollout view:

``"cleanrl"`` — ``fn(rewards, values, dones, next_value, next_done, gamma, gae_lambda)``
    as the loop of CleanRL's ``ppo.py``: ``dones[t]`` flags that *observation* t is the
    first of an episode (CleanRL stores ``next_done`` before acting), ``next_done`` that
    the last step ended one, ``done = terminated | truncated``. CleanRL adds no bootstrap
    for truncations (``reward_bootstrap="none"``).
``"sb3"`` — ``fn(rewards, values, episode_starts, last_values, dones, gamma, gae_lambda)``
    as ``RolloutBuffer.compute_returns_and_advantage``: ``episode_starts[t]`` as
    CleanRL's ``dones``, ``dones`` the last step's flag; stable-baselines3 adds
    γ V(terminal_observation) to the reward of a truncated step before
    (``reward_bootstrap="final_value"``).
``"skrl"`` — ``fn(rewards, dones, values, next_values, discount_factor, lambda_coefficient)``
    as skrl's ``compute_gae``, ``dones`` per step (``terminated | truncated``); it returns
    ``(returns, advantages)`` with the advantages standardised over the batch, so the
    adapter takes ``returns − values`` (the raw advantages; standardising is a separate,
    batch-coupled step). skrl bootstraps truncations only with ``time_limit_bootstrap``,
    adding γ V(s_t) (``reward_bootstrap="current_value"``); its default is none.
``"explicit"`` — pgmath's own signature; the function is returned as it is.

``reward_bootstrap`` (what is added to a truncated step's reward before the call):
``"none"``, ``"final_value"`` (γ V(final observation): partial-episode bootstrapping
done in the reward) or ``"current_value"`` (γ V(s_t)).

``backend="torch"`` passes ``torch.Tensor`` inputs (``dtype`` float64 or float32);
torch is imported only then.
"""
from __future__ import annotations

import inspect

import numpy as np

from ..errors import InvalidArgumentError, check_choice

__all__ = ["adapt", "SIGNATURES", "REWARD_BOOTSTRAPS"]

SIGNATURES = ("explicit", "cleanrl", "sb3", "skrl")
REWARD_BOOTSTRAPS = ("none", "final_value", "current_value")
_DEFAULT_BOOTSTRAP = {"cleanrl": "none", "sb3": "final_value", "skrl": "none", "explicit": "none"}
_GAMMA = ("gamma", "discount", "discount_factor")
_LAM = ("gae_lambda", "lam", "lmbda", "lambda_", "lambda_coefficient", "gae_lam")


def _call(fn, arrays: list, gamma: float, lam: float, gamma_pos: int, lam_pos: int):
    """Call with the arrays positionally and γ, λ by the function's own parameter names
    when it has them (``gamma``/``discount_factor``, ``gae_lambda``/``lambda_coefficient``…),
    else positionally after the arrays."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # pragma: no cover - builtins
        params = []
    kw = {}
    for names, value in ((_GAMMA, gamma), (_LAM, lam)):
        hit = next((p for p in params if p in names), None)
        if hit is not None:
            kw[hit] = value
    if len(kw) == 2:
        return fn(*arrays, **kw)
    extra = [gamma, lam] if gamma_pos < lam_pos else [lam, gamma]
    return fn(*arrays, *extra)


def adapt(fn, signature: str, *, reward_bootstrap: str | None = None, backend: str = "numpy",
          dtype: str = "float64", output: str | None = None):
    """An explicit-signature advantage function that calls ``fn`` the way its library does.

    Args:
      fn: the user's GAE function.
      signature: ``"cleanrl"``, ``"sb3"``, ``"skrl"`` or ``"explicit"`` (module docstring).
      reward_bootstrap: ``"none"``, ``"final_value"`` or ``"current_value"``; default
        what the library's own rollout collection does.
      backend: ``"numpy"`` or ``"torch"``; dtype: ``"float64"`` or ``"float32"``.
      output: ``"advantages"`` (the array, or the first of a returned tuple; default for
        cleanrl/sb3/explicit) or ``"returns"`` (Â = returns − values, the first of a
        returned tuple; default for skrl).

    Returns:
      ``advantages(rewards, values, terminated, truncated, final_values, next_values, *,
      gamma, lam)``.
    """
    check_choice("signature", signature, SIGNATURES)
    boot = _DEFAULT_BOOTSTRAP[signature] if reward_bootstrap is None else reward_bootstrap
    check_choice("reward_bootstrap", boot, REWARD_BOOTSTRAPS)
    if backend not in ("numpy", "torch"):
        raise InvalidArgumentError(f"backend must be 'numpy' or 'torch', got {backend!r}")
    if dtype not in ("float64", "float32"):
        raise InvalidArgumentError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    out_kind = output or ("returns" if signature == "skrl" else "advantages")
    if out_kind not in ("advantages", "returns"):
        raise InvalidArgumentError(f"output must be 'advantages' or 'returns', got {output!r}")
    if signature == "explicit" and boot == "none" and backend == "numpy" and output is None:
        return fn

    def convert(x):
        if backend == "numpy":
            return np.asarray(x, dtype=dtype)
        import torch  # optional dependency: only this path needs it
        return torch.as_tensor(np.asarray(x, dtype=dtype))

    def advantages(rewards, values, terminated, truncated, final_values, next_values, *,
                   gamma, lam):
        rewards = np.asarray(rewards, dtype=float)
        if boot == "final_value":
            rewards = rewards + gamma * np.asarray(truncated) * final_values
        elif boot == "current_value":
            rewards = rewards + gamma * np.asarray(truncated) * values
        ended = (np.asarray(terminated) | np.asarray(truncated)).astype(float)
        starts = np.concatenate([np.zeros((1,) + ended.shape[1:]), ended[:-1]], axis=0)
        c = convert
        if signature == "cleanrl":
            args = [c(rewards), c(values), c(starts), c(next_values), c(ended[-1])]
            out = _call(fn, args, gamma, lam, 5, 6)
        elif signature == "sb3":
            args = [c(rewards), c(values), c(starts), c(next_values), c(ended[-1])]
            out = _call(fn, args, gamma, lam, 5, 6)
        elif signature == "skrl":
            args = [c(rewards), c(ended.astype(bool)) if backend == "numpy" else
                    c(ended).bool(), c(values), c(next_values)]
            out = _call(fn, args, gamma, lam, 4, 5)
        else:
            out = fn(c(rewards), c(values), np.asarray(terminated), np.asarray(truncated),
                     c(final_values), c(next_values), gamma=gamma, lam=lam)
        first = out[0] if isinstance(out, (tuple, list)) else out
        if out_kind == "returns":
            return _keep_dtype(first, lambda a: a - np.asarray(values, dtype=a.dtype))
        return _keep_dtype(first, lambda a: a)

    advantages.__name__ = getattr(fn, "__name__", "advantages")
    advantages.__qualname__ = f"{signature}:{getattr(fn, '__qualname__', advantages.__name__)}"
    advantages.adapted_from = fn
    return advantages


def _keep_dtype(x, f) -> np.ndarray:
    """``f`` applied to x as a numpy array of x's own float dtype (so float32 stays float32
    and the check's tolerance follows the working precision)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.dtype.kind != "f":
        a = a.astype(float)
    return f(a)

