"""PyTorch losses as pgmath estimators (the optional extra ``pgmath[torch]``).

A policy-gradient loss as written in a training loop — a mean over the batch, the sign
of a loss, the user's own log-prob and advantage code, float32 — becomes an estimator
``estimator(batch, policy, theta) -> [N, d]`` that :func:`pgmath.check_unbiased` can
decide. The loss is called as ``loss_fn(logits, batch)``:

* ``logits``: a ``[X, A]`` tensor, the policy's logits at θ (``theta.reshape(S, A)``
  for a tabular softmax), the parameter the gradient is taken with respect to;
* ``batch``: a :class:`pgmath.adapters.LossBatch` of ``[N, T]`` tensors (states,
  actions, inputs, rewards, behaviour_log_probs and, when ``values=`` is given, the
  exact values V_t(s_t) and V_{t+1}(s_{t+1})).

Row i of the estimator is −∇_θ loss(τ_i), the gradient of the loss on the batch made of
trajectory i alone (for a loss that is minimised): per-trajectory gradients with
``torch.func.vmap(torch.func.grad(...))``, no Python loop. Its row mean is −∇_θ of the
loss on the whole batch when the loss is a mean of per-trajectory terms; the adapter
checks that on every call (the gradient of the whole batch against the mean of the
rows) and otherwise treats the loss as coupling the batch (``coupling=``).

Gradients come back detached as numpy arrays in the working dtype (float32 stays
float32, so a check of the working precision sees it). Bad input gets an
:class:`pgmath.EstimatorError` that names it, in the style of
``torch.testing.assert_close`` ("The values for attribute 'dtype' do not match:
torch.float64 != torch.float32."): a loss that is not a scalar, a NaN gradient (row and
(x, a)), a loss of another dtype or device, logits the loss does not use.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

try:
    import torch
    import torch.func
except ImportError as _exc:  # pragma: no cover - exercised where torch is absent
    raise ImportError(
        "pgmath.torch needs PyTorch, an optional extra: pip install 'pgmath[torch]' "
        "(CPU wheel: pip install torch)") from _exc

from .adapters import (ARRAY_FIELDS, COUPLINGS, LossBatch, check_finite_gradient,
                       check_loss_options, choose_rows, finish_rows, loss_batch_arrays,
                       loss_failure, loss_inputs, user_function_error)
from .errors import EstimatorError, InvalidArgumentError
from .estimators._protocol import _name

__all__ = ["loss_estimator", "COUPLINGS"]

_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _numpy_dtype(dtype) -> np.dtype:
    return np.dtype(np.float64) if dtype == torch.float64 else np.dtype(np.float32)


def _tensors(arrays: dict, dtype, device) -> dict:
    return {k: (None if a is None else
                torch.as_tensor(a, device=device,
                                dtype=torch.int64 if a.dtype.kind == "i" else dtype))
            for k, a in arrays.items()}


def _check_loss(loss, logits, label: str) -> None:
    """A scalar tensor of the logits' dtype and device with a gradient path to the logits."""
    if not isinstance(loss, torch.Tensor):
        raise EstimatorError(f"{label} returned {type(loss).__name__}, not a tensor: a loss is a "
                             "scalar tensor computed from the logits")
    if loss.numel() != 1:
        raise EstimatorError(
            f"{label} returned a tensor of shape {tuple(loss.shape)}, not a scalar: a loss "
            "reduces over the batch (e.g. .mean() over trajectories, .sum() over time)")
    if loss.dtype != logits.dtype:
        raise EstimatorError(
            f"{label} returned a {loss.dtype} loss from {logits.dtype} logits. The values for "
            f"attribute 'dtype' do not match: {loss.dtype} != {logits.dtype}. A tensor of "
            f"another dtype inside the loss promoted it (torch.tensor of a float64 numpy array "
            f"is float64): cast it with .to(batch.rewards.dtype), or check in {loss.dtype} "
            f"with dtype={loss.dtype}")
    if loss.device != logits.device:
        raise EstimatorError(
            f"{label} returned a loss on {loss.device}. The values for attribute 'device' do "
            f"not match: {loss.device} != {logits.device}")
    if not torch.isfinite(loss).all():
        raise EstimatorError(f"{label} returned a non-finite loss {loss.item()!r} on the batch")
    if not loss.requires_grad:
        raise EstimatorError(
            f"{label} does not use the logits: its loss has no gradient path to the logits "
            "tensor it was given (was it detached, or were the log-probs computed from "
            "something else?). Compute them from the argument, e.g. "
            "torch.log_softmax(logits, -1)[batch.inputs, batch.actions]")


def _batch_gradient(loss_fn, logits0, tensors, gamma, label, policy) -> np.ndarray:
    """``[X, A]`` ∇_logits of the loss on the whole batch (plain autograd)."""
    logits = logits0.detach().clone().requires_grad_(True)
    try:
        loss = loss_fn(logits, LossBatch(**tensors, discount=gamma))
    except Exception as exc:  # noqa: BLE001 - re-raised with context
        raise user_function_error(loss_failure(label, loss_fn), loss_fn, exc,
                                  loss_inputs(logits, tensors, gamma),
                                  _none_hint(exc, tensors)) from exc
    _check_loss(loss, logits, label)
    (g,) = torch.autograd.grad(loss.reshape(()), logits, allow_unused=True)
    if g is None:
        raise EstimatorError(f"{label} does not use the logits: autograd finds no path from the "
                             "loss to the logits tensor it was given")
    out = _numpy(g)
    check_finite_gradient(out.reshape(1, -1), label, policy, whole=True)
    return out


def _none_hint(exc: Exception, tensors: dict) -> str:
    if tensors.get("values") is None and "NoneType" in str(exc):
        return ("; batch.values and batch.next_values are None unless the adapter is given "
                "values= (an MDP for the exact V, or a table)")
    return ""


def _per_trajectory(loss_fn, logits0, tensors, gamma, label) -> torch.Tensor:
    """``[N, X, A]`` ∇_logits loss(τ_i) for each trajectory, by vmap(grad(·))."""
    names = [k for k in ARRAY_FIELDS if tensors[k] is not None]

    def one(lg, *xs):
        fields = dict.fromkeys(ARRAY_FIELDS)
        fields.update({k: x.unsqueeze(0) for k, x in zip(names, xs)})
        return loss_fn(lg, LossBatch(**fields, discount=gamma)).reshape(())

    per_row = torch.func.vmap(torch.func.grad(one), in_dims=(None,) + (0,) * len(names))
    try:
        return per_row(logits0.detach(), *(tensors[k] for k in names))
    except Exception as exc:  # noqa: BLE001 - re-raised with context
        raise user_function_error(
            f"{loss_failure(label, loss_fn)} under torch.func.vmap(torch.func.grad(...))",
            loss_fn, exc, loss_inputs(logits0, tensors, gamma, per_trajectory=True),
            ". vmap cannot run Python control flow on a tensor's value (if/while on it, "
            ".item()); write it with torch.where, or take one gradient per batch with "
            "coupling='batch'") from exc


def loss_estimator(loss_fn: Callable, *, values=None, dtype=torch.float32, device="cpu",
                   coupling: str = "auto", minimize: bool = True,
                   name: str | None = None) -> Callable:
    """An estimator from a PyTorch loss ``loss_fn(logits, batch) -> scalar tensor``.

    g_i = −∇_θ L(τ_i) (``minimize=True``; +∇_θ for an objective), L(τ_i) the loss on the
    batch of trajectory i alone, θ → logits = Φθ (:func:`pgmath.adapters.logits_to_theta`).
    For a loss L(B) = (1/|B|) Σ_{i∈B} ℓ(τ_i) the row mean is −∇_θ L(B), the gradient a
    training step takes.

    Args:
      loss_fn: the loss as written in a training loop (see the module docstring).
      values: an MDP (``batch.values`` holds the exact V^π_t(s_t) at the θ being
        checked, ``batch.next_values`` V_{t+1}(s_{t+1}) with 0 after the last step) or a
        table (:func:`pgmath.adapters.value_table`); ``None`` leaves them ``None``.
      dtype: the working dtype of the logits and float tensors (float32 by default).
      device: where the tensors live (``"cpu"``).
      coupling: ``"auto"``: per-trajectory rows when the gradient of the whole batch is
        the mean of the per-trajectory gradients (checked on every call,
        :func:`pgmath.adapters.coupling_gap`), else one gradient per batch broadcast to
        every row (so a check that probes companions sees the coupling);
        ``"per_trajectory"``: the same, but a mismatch raises :class:`EstimatorError`;
        ``"batch"``: one gradient per batch (−∇L(B) in every row), marked
        :func:`pgmath.estimators.batch_coupled` — for losses that couple the batch
        (a batch-mean baseline, advantages standardised over the batch).
      minimize: True for a loss (gradient descent), False for an objective.
      name: the estimator's name in reports.

    Returns:
      ``estimator(batch, policy, theta) -> ndarray [N, d]`` in the working dtype
      (float64 for ``torch.float64``, float32 otherwise).
    """
    if dtype not in _DTYPES:
        raise InvalidArgumentError(f"dtype must be a torch floating dtype {_DTYPES}, got {dtype!r}")
    check_loss_options(loss_fn, coupling, minimize)
    label = name or f"torch_loss({_name(loss_fn)})"
    sign = -1.0 if minimize else 1.0
    np_dtype = _numpy_dtype(dtype)

    def estimator(batch, policy, theta):
        arrays = loss_batch_arrays(batch, policy, theta, values, np_dtype)
        tensors = _tensors(arrays, dtype, device)
        logits = torch.as_tensor(np.asarray(policy.logits(policy.check_theta(theta))),
                                 dtype=dtype, device=device)
        gB = _batch_gradient(loss_fn, logits, tensors, batch.discount, label, policy)
        rows = None if coupling == "batch" else _numpy(
            _per_trajectory(loss_fn, logits, tensors, batch.discount, label))
        rows = choose_rows(rows, gB, coupling, label, policy)
        return finish_rows(rows, batch.n, sign, policy, np_dtype)

    estimator.__name__ = estimator.__qualname__ = label
    estimator.__doc__ = loss_estimator.__doc__
    estimator.loss_fn, estimator.coupling, estimator.dtype = loss_fn, coupling, str(dtype)
    if coupling == "batch":
        estimator.batch_coupled = True
    return estimator


def _numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t.numpy()
