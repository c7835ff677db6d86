"""Gaussian-policy losses written in PyTorch and JAX, as users write them, checked on a
linear-quadratic problem: a correct float32 VPG loss passes, the same loss with a planted
bug fails, a loss that couples the batch is refused, a bad loss is named."""
import numpy as np
import pytest

from pgmath.errors import EstimatorError
from pgmath.lqr import GaussianLinearPolicy, LQRProblem, check_unbiased

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
jnp = jax.numpy

from pgmath.lqr import jax as pjax  # noqa: E402
from pgmath.lqr import torch as ptorch  # noqa: E402

PROB = LQRProblem(A=[[1.0, 0.1], [0.0, 1.0]], B=[[0.0], [0.1]], Q=np.eye(2), R=[[0.1]],
                  Q_T=np.eye(2), mu0=[1.0, 0.0], Sigma0=[[0.1, 0.0], [0.0, 0.0]], horizon=2)
POL = GaussianLinearPolicy(2, 1)
THETA = POL.pack([[-1.0, -1.5]], [0.1], [np.log(0.5)])


def torch_vpg(theta, batch, bug=False):
    K, k, log_std = theta[:2].reshape(1, 2), theta[2:3], theta[3:4]
    mean = batch.states[:, :-1] @ K.T + k
    std = log_std.exp() if not bug else log_std.exp() ** 2      # bug: variance as std
    logp = torch.distributions.Normal(mean, std).log_prob(batch.actions).sum(-1)   # [N, T]
    T = batch.rewards.shape[1]
    disc = batch.discount ** torch.arange(T, dtype=batch.rewards.dtype)
    ret = (batch.rewards * disc).sum(1) + batch.discount ** T * batch.terminal_rewards
    return -(logp.sum(1) * ret).mean()


def jax_vpg(theta, batch, sign=1.0):
    K, k, log_std = theta[:2].reshape(1, 2), theta[2:3], theta[3:4]
    z = (batch.actions - (batch.states[:, :-1] @ K.T + k)) / jnp.exp(log_std)
    logp = (-0.5 * sign * z ** 2 - log_std).sum(-1)               # sign=-1: the flipped bug
    T = batch.rewards.shape[1]
    ret = (batch.rewards * batch.discount ** jnp.arange(T)).sum(1) \
        + batch.discount ** T * batch.terminal_rewards
    return -(logp.sum(1) * ret).mean()


def test_torch_float32_vpg_passes_and_its_bug_fails():
    ok = check_unbiased(ptorch.loss_estimator(torch_vpg), PROB, POL, THETA)
    assert ok.passed and ok.method == "quadrature" and "float32" in ok.report, ok.report
    bad = check_unbiased(ptorch.loss_estimator(lambda t, b: torch_vpg(t, b, bug=True)), PROB, POL, THETA)
    assert not bad.passed


def test_jax_float32_vpg_passes_and_its_bug_fails():
    ok = check_unbiased(pjax.loss_estimator(jax_vpg), PROB, POL, THETA)
    assert ok.passed and ok.method == "quadrature" and "float32" in ok.report, ok.report
    bad = check_unbiased(pjax.loss_estimator(lambda t, b: jax_vpg(t, b, sign=-1.0)), PROB, POL, THETA)
    assert not bad.passed


def test_torch_rows_equal_the_hand_written_numpy_rows():
    """Expected value: the numpy REINFORCE of user_estimators on the same batch."""
    import user_estimators as U
    from pgmath.lqr import sample
    batch = sample(PROB, POL, THETA, 16, np.random.default_rng(3))
    rows = ptorch.loss_estimator(torch_vpg, dtype=torch.float64)(batch, POL, THETA)
    np.testing.assert_allclose(rows, U.reinforce_by_hand(batch, POL, THETA), rtol=1e-12, atol=1e-12)


def test_a_batch_coupled_loss_is_refused_and_bad_losses_are_named():
    def centred(theta, batch):       # a batch-mean baseline inside the loss
        K, k, log_std = theta[:2].reshape(1, 2), theta[2:3], theta[3:4]
        logp = torch.distributions.Normal(batch.states[:, :-1] @ K.T + k,
                                          log_std.exp()).log_prob(batch.actions).sum((1, 2))
        ret = batch.rewards.sum(1) + batch.terminal_rewards
        return -(logp * (ret - ret.mean())).mean()
    with pytest.raises(EstimatorError, match="couples"):
        check_unbiased(ptorch.loss_estimator(centred), PROB, POL, THETA)
    with pytest.raises(EstimatorError, match="scalar"):
        check_unbiased(ptorch.loss_estimator(lambda t, b: t * 1.0), PROB, POL, THETA)
    with pytest.raises(EstimatorError, match="non-finite"):
        check_unbiased(ptorch.loss_estimator(lambda t, b: (t * 0).sum() + torch.sqrt(-t[0] ** 2 - 1)),
                       PROB, POL, THETA)
