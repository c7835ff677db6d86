"""PyTorch losses of Gaussian policies as continuous-action estimators (extra ``pgmath[torch]``).

A policy-gradient loss as written in a training loop for a Gaussian policy —
``torch.distributions.Normal``, your own log-density, float32 — becomes an estimator
``estimator(batch, policy, theta) -> [N, d]`` that :func:`pgmath.lqr.check_unbiased`
decides. The loss is called as ``loss_fn(theta, batch)``:

* ``theta``: a ``[d]`` tensor, the policy's flat θ (for
  :class:`~pgmath.lqr.GaussianLinearPolicy`: vec K row-major, k, log σ), the parameter the
  gradient is taken with respect to;
* ``batch``: a :class:`TensorBatch` of tensors — ``states [N, T+1, n]``, ``actions
  [N, T, m]``, ``rewards [N, T]``, ``terminal_rewards [N]``, ``noise [N, T, m]`` (the ε
  behind each action, for a reparameterised loss) — and the float ``discount``.

Row i is −∇_θ loss(τ_i), the gradient of the loss on the batch of trajectory i alone
(``minimize=True``), by ``torch.func.vmap(torch.func.grad(...))``; for a loss that is a mean
of per-trajectory terms the row mean is −∇_θ of the loss on the batch. When it is not (a
loss coupling the batch), every row is the batch gradient, which the check's coupling
probe then refuses. Gradients come back detached, in the working dtype (float32 stays
float32: the check reads the precision from it).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

try:
    import torch
    import torch.func
except ImportError as _exc:  # pragma: no cover - exercised where torch is absent
    raise ImportError("pgmath.lqr.torch needs PyTorch, an optional extra: "
                      "pip install 'pgmath[torch]'") from _exc

from ..errors import EstimatorError, InvalidArgumentError
from ..estimator_protocol import _name
from .loss_rows import batch_arrays, finish_rows

__all__ = ["TensorBatch", "loss_estimator"]


class TensorBatch(NamedTuple):
    """A continuous batch as tensors (module docstring)."""

    states: "torch.Tensor"
    actions: "torch.Tensor"
    rewards: "torch.Tensor"
    terminal_rewards: "torch.Tensor"
    noise: "torch.Tensor"
    discount: float


def _tensors(batch, dtype, device) -> list:
    return [torch.as_tensor(v, dtype=dtype, device=device) for v in batch_arrays(batch)]


def loss_estimator(loss_fn: Callable, *, dtype=None, device: str = "cpu",
                   minimize: bool = True, name: str | None = None) -> Callable:
    """An estimator from a PyTorch loss ``loss_fn(theta, batch) -> scalar tensor``.

    Args:
      loss_fn: the loss as written in a training loop (module docstring).
      dtype: the working dtype of θ and the batch (``torch.float32`` by default).
      device: where the tensors live.
      minimize: True for a loss (rows −∇), False for an objective (rows +∇).
      name: the estimator's name in reports.
    """
    dtype = torch.float32 if dtype is None else dtype
    if dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        raise InvalidArgumentError(f"dtype must be a torch floating dtype, got {dtype!r}")
    if not callable(loss_fn):
        raise InvalidArgumentError(f"loss_fn must be callable, got {loss_fn!r}")
    label = name or f"torch_loss({_name(loss_fn)})"
    sign = -1.0 if minimize else 1.0

    def whole(theta, gamma, *xs):
        return loss_fn(theta, TensorBatch(*xs, discount=gamma))

    def one(theta, gamma, *xs):
        return loss_fn(theta, TensorBatch(*(x.unsqueeze(0) for x in xs), discount=gamma))

    def estimator(batch, policy, theta):
        th = torch.as_tensor(np.asarray(policy.check_theta(theta)), dtype=dtype, device=device)
        xs = _tensors(batch, dtype, device)
        try:
            loss = whole(th, batch.discount, *xs)
        except Exception as exc:  # noqa: BLE001 - named below
            raise EstimatorError(f"{label} raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
            raise EstimatorError(f"{label} must return a scalar tensor (a loss), got "
                                 f"{type(loss).__name__} of shape {tuple(getattr(loss, 'shape', ()))}")
        if loss.dtype != dtype:
            raise EstimatorError(f"{label}: the values for attribute 'dtype' do not match: "
                                 f"{loss.dtype} != {dtype}")
        gB = torch.func.grad(whole)(th, batch.discount, *xs)
        rows = torch.func.vmap(torch.func.grad(one), in_dims=(None, None, *([0] * len(xs))))(
            th, batch.discount, *xs)
        rows, gB = rows.detach().cpu(), gB.detach().cpu()
        if rows.dtype in (torch.float16, torch.bfloat16):
            rows, gB = rows.float(), gB.float()
        return finish_rows(rows.numpy(), gB.numpy(), label, batch, sign)

    estimator.__name__ = estimator.__qualname__ = label
    estimator.loss_fn = loss_fn
    return estimator
