"""JAX losses of Gaussian policies as continuous-action estimators (extra ``pgmath[jax]``).

The JAX twin of :mod:`pgmath.lqr.torch`: ``loss_fn(theta, batch) -> scalar`` with θ a
``[d]`` array and ``batch`` a :class:`ArrayBatch` of ``jnp`` arrays (``states [N, T+1, n]``,
``actions [N, T, m]``, ``rewards [N, T]``, ``terminal_rewards [N]``, ``noise [N, T, m]``) and
the float ``discount``. Row i is −∇_θ loss(τ_i) by ``jax.vmap(jax.grad(...))``; a loss that
is not a mean of per-trajectory terms gives the batch gradient in every row (the check's
coupling probe refuses it). JAX computes in float32 unless 64-bit mode is on
(``jax.config.update("jax_enable_x64", True)``); ``dtype=jnp.float64`` without it raises.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

try:
    import jax
    import jax.numpy as jnp
except ImportError as _exc:  # pragma: no cover - exercised where jax is absent
    raise ImportError("pgmath.lqr.jax needs JAX, an optional extra: pip install 'pgmath[jax]'") \
        from _exc

from ..errors import EstimatorError, InvalidArgumentError
from ..estimator_protocol import _name
from .loss_rows import FIELDS, batch_arrays, finish_rows

__all__ = ["ArrayBatch", "loss_estimator"]


class ArrayBatch(NamedTuple):
    """A continuous batch as ``jnp`` arrays (module docstring)."""

    states: object
    actions: object
    rewards: object
    terminal_rewards: object
    noise: object
    discount: float


def loss_estimator(loss_fn: Callable, *, dtype=None, minimize: bool = True,
                   name: str | None = None) -> Callable:
    """An estimator from a JAX loss ``loss_fn(theta, batch) -> scalar`` (module docstring)."""
    dt = np.dtype(jnp.float32 if dtype is None else dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise InvalidArgumentError(f"dtype must be jnp.float32 or jnp.float64, got {dt}")
    if dt == np.float64 and not jax.config.read("jax_enable_x64"):
        raise InvalidArgumentError(
            "dtype=float64 needs JAX's 64-bit mode, which is off (JAX would silently compute in "
            "float32): call jax.config.update('jax_enable_x64', True) first")
    if not callable(loss_fn):
        raise InvalidArgumentError(f"loss_fn must be callable, got {loss_fn!r}")
    label = name or f"jax_loss({_name(loss_fn)})"
    sign = -1.0 if minimize else 1.0

    def whole(th, gamma, *xs):
        return loss_fn(th, ArrayBatch(*xs, discount=gamma))

    def one(th, gamma, *xs):
        return loss_fn(th, ArrayBatch(*(x[None] for x in xs), discount=gamma))

    # compiled once per batch shape (the discount is static)
    batch_grad = jax.jit(jax.grad(whole), static_argnums=1)
    row_grads = jax.jit(jax.vmap(jax.grad(one), in_axes=(None, None, *([0] * len(FIELDS)))),
                        static_argnums=1)

    def estimator(batch, policy, theta):
        gamma = float(batch.discount)
        th = jnp.asarray(np.asarray(policy.check_theta(theta)), dtype=dt)
        xs = [jnp.asarray(v, dtype=dt) for v in batch_arrays(batch)]
        try:
            loss = whole(th, gamma, *xs)
        except Exception as exc:  # noqa: BLE001 - named below
            raise EstimatorError(f"{label} raised {type(exc).__name__}: {exc}") from exc
        if np.ndim(loss) != 0:
            raise EstimatorError(f"{label} must return a scalar (a loss), got shape {np.shape(loss)}")
        gB = np.asarray(batch_grad(th, gamma, *xs))
        rows = np.asarray(row_grads(th, gamma, *xs))
        return finish_rows(rows, gB, label, batch, sign)

    estimator.__name__ = estimator.__qualname__ = label
    estimator.loss_fn = loss_fn
    return estimator
