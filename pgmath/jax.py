"""JAX losses as pgmath estimators (the optional extra ``pgmath[jax]``).

The JAX twin of :mod:`pgmath.torch`: a loss as written in a training loop,
``loss_fn(logits, batch) -> scalar``, with ``logits`` a ``[X, A]`` array and ``batch`` a
:class:`pgmath.adapters.LossBatch` of ``[N, T]`` arrays, becomes an estimator
``estimator(batch, policy, theta) -> [N, d]``. Row i is −∇_θ loss(τ_i), from
``jax.vmap(jax.grad(...))`` over trajectories (no Python loop, jitted, the batch padded
to a power of two so that XLA compiles few shapes). On every call the gradient of the loss
on the first :data:`FIRST` trajectories is compared with the mean of their rows; a loss
that couples the batch is recognised there (``coupling=``), and only then is the gradient
of the whole batch taken.

JAX computes in float32 unless 64-bit mode is on (``jax.config.update("jax_enable_x64",
True)``); ``dtype=jnp.float64`` without it raises :class:`pgmath.InvalidArgumentError`
naming the flag, instead of silently computing in float32. Gradients come back as
numpy arrays in the working dtype.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

try:
    import jax
    import jax.numpy as jnp
except ImportError as _exc:  # pragma: no cover - exercised where jax is absent
    raise ImportError(
        "pgmath.jax needs JAX, an optional extra: pip install 'pgmath[jax]' "
        "(CPU: pip install jax jaxlib)") from _exc

from .adapters import (ARRAY_FIELDS, COUPLINGS, LossBatch, check_finite_gradient,
                       check_loss_options, choose_rows, finish_rows, loss_batch_arrays,
                       loss_failure, loss_inputs, user_function_error)
from .errors import EstimatorError, InvalidArgumentError
from .estimators._protocol import _name

__all__ = ["loss_estimator", "COUPLINGS", "FIRST"]

#: The whole-batch gradient the per-trajectory rows are compared with is taken on the first
#: FIRST trajectories of each batch (all of them when the loss couples the batch).
FIRST = 8



def _float_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise InvalidArgumentError(f"dtype must be jnp.float32 or jnp.float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise InvalidArgumentError(f"dtype must be jnp.float32 or jnp.float64, got {dt}")
    if dt == np.float64 and not jax.config.read("jax_enable_x64"):
        raise InvalidArgumentError(
            "dtype=float64 needs JAX's 64-bit mode, which is off (JAX would silently compute "
            "in float32): call jax.config.update('jax_enable_x64', True) first, or check in "
            "float32")
    return dt


def _arrays(arrays: dict, dtype: np.dtype) -> dict:
    ints = jnp.int64 if jax.config.read("jax_enable_x64") else jnp.int32
    return {k: (None if a is None else
                jnp.asarray(a, dtype=ints if a.dtype.kind == "i" else dtype))
            for k, a in arrays.items()}


def _uses_first_argument(fn, *args) -> bool:
    """Whether the traced computation of ``fn(*args)`` reads its first argument."""
    closed = jax.make_jaxpr(fn)(*args)
    jp = closed.jaxpr
    first = jp.invars[0]
    if any(v is first for v in jp.outvars):
        return True
    return any(any(v is first for v in eqn.invars) for eqn in jp.eqns)


def _check_loss(loss, dtype: np.dtype, label: str) -> None:
    if not hasattr(loss, "shape") or not hasattr(loss, "dtype"):
        raise EstimatorError(f"{label} returned {type(loss).__name__}, not an array: a loss is "
                             "a scalar computed from the logits")
    if int(np.prod(loss.shape)) != 1:
        raise EstimatorError(
            f"{label} returned an array of shape {tuple(loss.shape)}, not a scalar: a loss "
            "reduces over the batch (e.g. jnp.mean over trajectories, a sum over time)")
    if np.dtype(loss.dtype) != dtype:
        raise EstimatorError(
            f"{label} returned a {np.dtype(loss.dtype)} loss from {dtype} logits. The values "
            f"for attribute 'dtype' do not match: {np.dtype(loss.dtype)} != {dtype}. An array "
            "of another dtype inside the loss promoted it: cast it with "
            ".astype(batch.rewards.dtype), or check in that dtype with dtype=")
    if not bool(jnp.all(jnp.isfinite(loss))):
        raise EstimatorError(f"{label} returned a non-finite loss {float(loss.reshape(()))!r} "
                             "on the batch")


def loss_estimator(loss_fn: Callable, *, values=None, dtype=jnp.float32,
                   coupling: str = "auto", minimize: bool = True,
                   name: str | None = None) -> Callable:
    """An estimator from a JAX loss ``loss_fn(logits, batch) -> scalar``.

    g_i = −∇_θ L(τ_i) (``minimize=True``; +∇_θ for an objective), L(τ_i) the loss on the
    batch of trajectory i alone, by ``jax.vmap(jax.grad(·))``. Options as in
    :func:`pgmath.torch.loss_estimator` (``values``, ``coupling``, ``minimize``,
    ``name``); ``dtype`` is ``jnp.float32`` (default) or ``jnp.float64`` (needs
    ``jax_enable_x64``).

    Returns:
      ``estimator(batch, policy, theta) -> ndarray [N, d]`` in the working dtype.
    """
    dt = _float_dtype(dtype)
    check_loss_options(loss_fn, coupling, minimize)
    label = name or f"jax_loss({_name(loss_fn)})"
    sign = -1.0 if minimize else 1.0

    compiled: dict = {}
    uses_logits: dict = {}   # whether the traced loss reads the logits, per input shapes

    def functions(names: tuple[str, ...], discount: float):
        """(loss, jitted (loss, ∇ loss) on a batch, jitted vmap of ∇ loss per trajectory),
        built once per (fields present, γ); XLA compiles them once per input shape."""
        key = (names, discount)
        if key not in compiled:
            def call(lg, *cols, one=False):
                fields = dict.fromkeys(ARRAY_FIELDS)
                fields.update({k: (c[None] if one else c) for k, c in zip(names, cols)})
                return loss_fn(lg, LossBatch(**fields, discount=discount))

            value_grad = jax.jit(jax.value_and_grad(lambda lg, *cols: call(lg, *cols).reshape(())))
            one = jax.grad(lambda lg, *cols: call(lg, *cols, one=True).reshape(()))
            rows = jax.jit(jax.vmap(one, in_axes=(None,) + (0,) * len(names)))
            compiled[key] = (call, value_grad, rows)
        return compiled[key]

    def estimator(batch, policy, theta):
        _float_dtype(dt)  # the 64-bit mode may have been switched off since
        arrays = _arrays(loss_batch_arrays(batch, policy, theta, values, dt), dt)
        logits = jnp.asarray(np.asarray(policy.logits(policy.check_theta(theta))), dtype=dt)
        names = tuple(k for k in ARRAY_FIELDS if arrays[k] is not None)
        xs = tuple(arrays[k] for k in names)
        call, value_grad, per_row = functions(names, float(batch.discount))
        # the loss and its gradient on the first k trajectories (k ≤ FIRST: few shapes to
        # compile); the whole batch only when the loss turns out to couple it
        k = min(batch.n, FIRST)
        head = tuple(x[:k] for x in xs)
        failure = loss_failure(label, loss_fn)

        def inputs(cols, **kw) -> str:
            return loss_inputs(logits, dict(zip(names, cols)), float(batch.discount), **kw)
        try:
            loss = call(logits, *head)
        except Exception as exc:  # noqa: BLE001 - re-raised with context
            raise user_function_error(failure, loss_fn, exc, inputs(head)) from exc
        _check_loss(loss, dt, label)
        shapes = (names, float(batch.discount), tuple((x.shape, str(x.dtype)) for x in head))
        if shapes not in uses_logits:
            uses_logits[shapes] = _traced(
                f"{failure} under jax.make_jaxpr", loss_fn, inputs(head),
                _uses_first_argument, lambda lg: call(lg, *head), logits)
        if not uses_logits[shapes]:
            raise EstimatorError(
                f"{label} does not use the logits: the traced loss never reads the logits "
                "array it was given. Compute the log-probs from the argument, e.g. "
                "jax.nn.log_softmax(logits)[batch.inputs, batch.actions]")

        def gradient(cols) -> np.ndarray:
            g = np.asarray(_traced(f"{failure} under jax.jit(jax.grad(...)) on the batch",
                                   loss_fn, inputs(cols), value_grad, logits, *cols)[1])
            check_finite_gradient(g.reshape(1, -1), label, policy, whole=True)
            return g

        g_head = gradient(head)
        rows = None
        if coupling != "batch":
            size = max(FIRST, 1 << (batch.n - 1).bit_length())   # pad N to a power of two
            padded = tuple(jnp.concatenate([x, jnp.repeat(x[-1:], size - batch.n, axis=0)])
                           for x in xs)
            rows = np.asarray(_traced(f"{failure} under jax.vmap(jax.grad(...))", loss_fn,
                                      inputs(padded, per_trajectory=True),
                                      per_row, logits, *padded))[:batch.n]
        rows = choose_rows(rows, g_head, coupling, label, policy, first=k,
                           whole=lambda: g_head if k == batch.n else gradient(xs))
        return finish_rows(rows, batch.n, sign, policy, dt)

    estimator.__name__ = estimator.__qualname__ = label
    estimator.__doc__ = loss_estimator.__doc__
    estimator.loss_fn, estimator.coupling, estimator.dtype = loss_fn, coupling, str(dt)
    if coupling == "batch":
        estimator.batch_coupled = True
    return estimator


def _traced(what: str, loss_fn, inputs: str, fn, *args):
    """``fn(*args)``, a JAX transformation of the user's ``loss_fn``; an error raised in it
    named once (:func:`pgmath.adapters.user_function_error`: ``what``, the user's line,
    ``inputs``)."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - re-raised with context
        raise user_function_error(
            what, loss_fn, exc, inputs,
            ". Python control flow on a traced value (if/while on it, float(), .item()) cannot "
            "be traced (by jax.grad either); use jnp.where / lax.cond") from exc
