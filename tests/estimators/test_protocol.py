"""pgmath.estimator_protocol: what an estimator may return, and the dtype it computed in.

Tensors are recognised by duck typing (``detach``, ``cpu``, ``numpy``, ``dtype``): a small
stand-in class tests that path without PyTorch; the real PyTorch and JAX tests run when
those extras are installed."""
import numpy as np
import pytest

import pgmath
from pgmath.environments import random_problem
from pgmath.errors import EstimatorError
from pgmath.estimators import evaluate_estimator, reward_to_go


def _problem():
    mdp, pol, th = random_problem(np.random.default_rng(0), 2, 2, 2)
    batch, _ = pgmath.enumerate_trajectories(mdp, pol, th)
    return mdp, pol, th, batch


class FakeTensor:
    """A tensor-like object: refuses numpy conversion while it requires grad, like torch."""

    def __init__(self, values, dtype="torch.float32", requires_grad=True):
        self.values, self.dtype, self.requires_grad = np.asarray(values), dtype, requires_grad

    def detach(self):
        return FakeTensor(self.values, self.dtype, False)

    def cpu(self):
        return self

    def float(self):
        return FakeTensor(self.values.astype(np.float32), "torch.float32", self.requires_grad)

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad")
        if self.dtype == "torch.bfloat16":
            raise TypeError("Got unsupported ScalarType BFloat16")
        return self.values.astype(np.float32 if "32" in self.dtype else np.float64)

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad")


@pytest.mark.parametrize("dtype,expect", [("torch.float32", "float32"),
                                          ("torch.float64", "float64"),
                                          ("torch.bfloat16", "bfloat16")])
def test_a_tensor_that_requires_grad_is_detached_and_its_dtype_read(dtype, expect):
    mdp, pol, th, batch = _problem()
    ref = reward_to_go(batch, pol, th)
    out = evaluate_estimator(lambda b, p, t: FakeTensor(reward_to_go(b, p, t), dtype),
                             batch, pol, th)
    assert out.dtype == expect and out.values.dtype == np.float64
    np.testing.assert_allclose(out.values, ref, rtol=1e-6)


@pytest.mark.parametrize("value,match", [
    (lambda g: g.astype(complex), "complex"),
    (lambda g: g > 0, "boolean"),
    (lambda g: np.array([object()] * g.size, dtype=object).reshape(g.shape), "object"),
    (lambda g: g.astype(np.float32)[:, :-1], "shape"),
])
def test_outputs_that_are_not_real_float_arrays_are_named(value, match):
    mdp, pol, th, batch = _problem()
    with pytest.raises(EstimatorError, match=match):
        evaluate_estimator(lambda b, p, t: value(reward_to_go(b, p, t)), batch, pol, th)


def test_numpy_dtypes_are_recorded():
    mdp, pol, th, batch = _problem()
    for dt, name in ((np.float32, "float32"), (np.float16, "float16"), (np.float64, "float64"),
                     (np.int64, "float64")):
        out = evaluate_estimator(lambda b, p, t: reward_to_go(b, p, t).astype(dt), batch, pol, th)
        assert out.dtype == name


def test_a_real_torch_tensor_that_requires_grad_is_checked():
    torch = pytest.importorskip("torch")
    mdp, pol, th, _ = _problem()

    def torch_rtg(batch, policy, theta):
        logits = torch.tensor(theta.reshape(2, 2), dtype=torch.float32, requires_grad=True)
        psi = torch.eye(2)[None] - torch.softmax(logits, -1)[:, None, :]       # [X, A, A]
        score = torch.zeros(2, 2, 4)
        for x in range(2):
            score[x, :, 2 * x:2 * x + 2] = psi[x]
        w = torch.tensor(batch.rewards * batch.discount ** np.arange(batch.horizon),
                         dtype=torch.float32)
        rtg = torch.flip(torch.cumsum(torch.flip(w, [1]), 1), [1])
        steps = score[torch.tensor(batch.inputs), torch.tensor(batch.actions)]  # [N, T, d]
        return torch.einsum("ntd,nt->nd", steps, rtg)  # requires grad (built from logits)

    res = pgmath.check_unbiased(torch_rtg, mdp, pol, th)
    assert res.passed and res.precision == "float32", res.report


def test_a_jax_array_is_checked():
    jnp = pytest.importorskip("jax.numpy")
    mdp, pol, th, _ = _problem()

    def jax_rtg(batch, policy, theta):
        return jnp.asarray(reward_to_go(batch, policy, theta), dtype=jnp.float32)

    res = pgmath.check_unbiased(jax_rtg, mdp, pol, th)
    assert res.passed and res.precision == "float32", res.report
