"""The estimator protocol: ``estimator(batch, policy, theta) -> ndarray [N, d]``.

One row per trajectory; the estimate of ∇J(θ) is the row mean. A user's own estimator
is any callable with this signature; it may return a numpy array or a PyTorch/JAX tensor
(:func:`evaluate_estimator` detaches and converts it by duck typing and records the dtype
it computed in). Estimators whose rows depend on the whole batch (a batch-average
baseline, standardised advantages) are batch-coupled: their rows are not independent,
and exact per-trajectory moments do not apply to them
(:func:`pgmath.exact.coupled_moments` gives the exact moments of their batch mean for a
given N). :func:`pgmath.check_unbiased` finds coupling by probing
(:mod:`pgmath.check.probing`); marking a function with :func:`batch_coupled` is a hint.

Built-in per-trajectory estimators also carry ``step_weights(T, discount)``, their
description as a linear recursion (:class:`pgmath.exact.recursion.StepWeights`; the
importance-sampling estimators with the powers of the ratio π_θ'/π_θ in its update);
:func:`has_recursion` tells whether an estimator has one, in which case
:func:`pgmath.exact.estimator_moments` (with ``theta_behaviour`` for trajectories of
another policy) computes its exact moments in polynomial time.
A user's estimator without it is handled by enumeration.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import EstimatorError

__all__ = ["batch_coupled", "is_batch_coupled", "has_recursion", "call_estimator",
           "evaluate_estimator", "EstimatorOutput", "step_scores", "Estimator"]

Estimator = Callable[..., np.ndarray]


def batch_coupled(fn: Estimator) -> Estimator:
    """Mark ``fn`` as batch-coupled: row i depends on other trajectories of the batch."""
    fn.batch_coupled = True
    return fn


def is_batch_coupled(fn: Estimator) -> bool:
    """True when ``fn`` was marked with :func:`batch_coupled`."""
    return bool(getattr(fn, "batch_coupled", False))


def has_recursion(fn: Estimator) -> bool:
    """True when ``fn`` describes itself as a linear recursion (``step_weights``)."""
    return callable(getattr(fn, "step_weights", None)) and not is_batch_coupled(fn)


def _name(fn) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def call_estimator(estimator: Estimator, batch, policy, theta) -> np.ndarray:
    """Call a (possibly user-written) estimator and validate what it returns.

    Returns a float64 ``[N, d]`` array (:func:`evaluate_estimator` also says which dtype
    the estimator computed in). Raises :class:`EstimatorError` naming the estimator when it
    raises, returns the wrong shape or dtype, or returns NaN/inf.
    """
    return evaluate_estimator(estimator, batch, policy, theta).values


@dataclass(frozen=True, eq=False)
class EstimatorOutput:
    """What an estimator returned: ``values`` ``[N, d]`` float64 and the ``dtype`` it
    computed in (``"float64"``, ``"float32"``, ``"float16"``, ``"bfloat16"``; integer
    output counts as ``"float64"``)."""

    values: np.ndarray
    dtype: str


#: Floating dtypes an estimator may return, by name (numpy, PyTorch and JAX spell them so).
FLOAT_DTYPES = ("float64", "float32", "float16", "bfloat16")


def _dtype_name(x) -> str | None:
    if isinstance(x, np.ndarray):
        return x.dtype.name
    dt = getattr(x, "dtype", None)
    if dt is None:
        return None
    name = str(dt).rsplit(".", 1)[-1]  # torch.float32 -> float32
    return {"double": "float64", "float": "float32", "half": "float16"}.get(name, name)


def _as_numpy(g, name: str):
    """A tensor (PyTorch, JAX, …) as a numpy array, by duck typing: detach from the graph,
    move to the CPU, widen bfloat16 (which numpy cannot hold) to float32."""
    if isinstance(g, np.ndarray):
        return g
    if callable(getattr(g, "detach", None)):
        g = g.detach()
    if callable(getattr(g, "cpu", None)):
        g = g.cpu()
    if _dtype_name(g) == "bfloat16" and callable(getattr(g, "float", None)):
        g = g.float()
    if callable(getattr(g, "numpy", None)) and not isinstance(g, np.ndarray):
        try:
            return g.numpy()
        except Exception as exc:  # noqa: BLE001 - named below
            raise EstimatorError(
                f"estimator {name} returned a {type(g).__name__} that could not be converted "
                f"to a numpy array ({type(exc).__name__}: {exc})") from exc
    return g


def evaluate_estimator(estimator: Estimator, batch, policy, theta) -> EstimatorOutput:
    """Call an estimator, validate its output and record its working dtype.

    Accepts numpy arrays, PyTorch tensors (also ones that require grad: detached) and JAX
    arrays, found by duck typing (pgmath never imports torch or jax here). Raises
    :class:`EstimatorError` naming the estimator when it raises, returns something that is
    not a real ``[N, d]`` array (complex, boolean, object), or a non-finite value; an
    :class:`EstimatorError` raised inside the estimator (an adapter's, which names the
    user's function, its line and its inputs) propagates unchanged, not wrapped again.
    """
    d = policy.n_params
    name = _name(estimator)
    try:
        g = estimator(batch, policy, theta)
    except EstimatorError:
        raise  # already names what failed and where (an adapter's message): not wrapped again
    except Exception as exc:  # noqa: BLE001 - re-raised with context
        raise EstimatorError(f"estimator {name} raised {type(exc).__name__}: {exc}") from exc
    observed = _dtype_name(g)
    g = _as_numpy(g, name)
    try:
        arr = np.asarray(g)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise EstimatorError(
            f"estimator {name} returned {type(g).__name__}, which is not a numeric "
            f"array of shape [N, d] = ({batch.n}, {d})") from exc
    kind = arr.dtype.kind
    if kind not in "fiu" and observed != "bfloat16":
        what = {"c": "complex", "b": "boolean", "O": "object", "U": "string",
                "S": "bytes"}.get(kind, str(arr.dtype))
        raise EstimatorError(
            f"estimator {name} returned a {what} array (dtype {arr.dtype}); the protocol "
            f"needs real floats [N, d] = ({batch.n}, {d})")
    try:
        values = arr.astype(float)
    except (TypeError, ValueError) as exc:
        raise EstimatorError(f"estimator {name} returned dtype {arr.dtype}, which does not "
                             "convert to float") from exc
    if values.shape != (batch.n, d):
        raise EstimatorError(
            f"estimator {name} returned shape {values.shape}; the protocol needs one row "
            f"per trajectory, [N, d] = ({batch.n}, {d})")
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise EstimatorError(
            f"estimator {name} returned a non-finite value {values[i, j]!r} at row {i} "
            f"(trajectory {i}), component {j}")
    dtype = observed if observed in FLOAT_DTYPES else "float64"
    return EstimatorOutput(values, dtype)


def step_scores(batch, policy, theta) -> np.ndarray:
    """``[N, T, d]`` ψ_t = ∇_θ log π_θ(a_t|x_t) for every step of the batch."""
    psi = policy.score(theta)
    return psi[batch.inputs, batch.actions]
