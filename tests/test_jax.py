"""pgmath.jax: losses as written in a JAX training loop, checked against closed forms
(tests/pg_reference.py: enumeration, no pgmath code). Float64 verdicts run inside
``jax.enable_x64(True)``; the float32 default is held to the closed form within rounding."""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

import pgmath  # noqa: E402
from pgmath.errors import EstimatorError, InvalidArgumentError  # noqa: E402
from pgmath.jax import loss_estimator  # noqa: E402

import pg_reference as pr  # noqa: E402
from adapter_cases import as_pgmath, error_said_once, problem  # noqa: E402


def logp(logits, b):
    return jax.nn.log_softmax(logits)[b.inputs, b.actions]


def powers(b):
    return b.discount ** jnp.arange(b.rewards.shape[1], dtype=b.rewards.dtype)


def rtg(b):
    return jnp.cumsum((b.rewards * powers(b))[:, ::-1], axis=1)[:, ::-1]


def vpg(logits, b):
    return -(logp(logits, b) * rtg(b)).sum(1).mean()


def ppo(logits, b, eps=0.2):
    lp = logp(logits, b)
    ratio = jnp.exp(lp - b.behaviour_log_probs)
    adv = (b.rewards + b.discount * b.next_values - b.values) * powers(b)   # TD(0), γ^t
    return -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - eps, 1 + eps) * adv).sum(1).mean()


def loo_baseline(logits, b):
    """Leave-one-out baseline (batch-coupled, unbiased)."""
    ret = (b.rewards * powers(b)).sum(1)
    n = ret.shape[0]
    base = (ret.sum() - ret) / jnp.maximum(n - 1, 1)
    return -(logp(logits, b).sum(1) * (ret - base)).mean()


@pytest.mark.parametrize("gamma", [1.0, 0.8])
def test_vpg_and_ppo_at_ratio_one(gamma):
    pb = problem(21, T=3, gamma=gamma)
    mdp, policy, theta = as_pgmath(pb)
    truth = pr.gradient(pb)
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta)
    for loss in (vpg, ppo):
        est32 = loss_estimator(loss, values=mdp)
        g = est32(batch, policy, theta)
        assert g.dtype == np.float32
        assert np.all(np.abs(prob @ g.astype(float) - truth) <= 1e-5 * (prob @ np.abs(g)).max())
        res32 = pgmath.check_unbiased(est32, mdp, policy, theta)
        assert res32.verdict == "unbiased" and res32.precision == "float32", res32.report
        with jax.enable_x64(True):
            res = pgmath.check_unbiased(loss_estimator(loss, values=mdp, dtype=jnp.float64),
                                        mdp, policy, theta)
        assert res.passed, res.report
        np.testing.assert_allclose(res.estimate, truth, rtol=0, atol=1e-12)


def test_wrong_sign_and_coupled_loss():
    pb = problem(22, T=2, gamma=1.0, S=1)      # a two-step bandit: 4 trajectories
    mdp, policy, theta = as_pgmath(pb)
    truth = pr.gradient(pb)
    with jax.enable_x64(True):
        res = pgmath.check_unbiased(loss_estimator(vpg, dtype=jnp.float64, minimize=False),
                                    mdp, policy, theta)
        assert not res.passed
        np.testing.assert_allclose(res.bias, -2 * truth, rtol=0, atol=1e-12)
        batch = pgmath.sample(mdp, policy, theta, 5, np.random.default_rng(0))
        with pytest.raises(EstimatorError, match="couples the batch.*coupling='batch'"):
            loss_estimator(loo_baseline, dtype=jnp.float64, coupling="per_trajectory")(
                batch, policy, theta)
        res = pgmath.check_unbiased(loss_estimator(loo_baseline, dtype=jnp.float64,
                                                   coupling="batch"), mdp, policy, theta,
                                    batch_size=3)
        assert res.method == "enumeration" and res.passed, res.report
        np.testing.assert_allclose(res.estimate, truth, rtol=0, atol=1e-12)


@pytest.fixture
def small():
    pb = problem(23, T=2, gamma=1.0)
    mdp, policy, theta = as_pgmath(pb)
    return mdp, policy, theta, pgmath.sample(mdp, policy, theta, 4, np.random.default_rng(2))


def _data_dependent(logits, b):
    return vpg(logits, b) if float(rtg(b).sum()) > 0 else -vpg(logits, b)


BAD = [
    (lambda lg, b: -(logp(lg, b) * rtg(b)).sum(1), "shape \\(4,\\), not a scalar"),
    (lambda lg, b: vpg(lg, b) + jnp.sqrt(jnp.abs(lg[1, 0] - lg[1, 0])),
     "gradient of the loss on the whole batch is nan at logit \\(s=1, a=0\\)"),
    (lambda lg, b: rtg(b).sum(), "does not use the logits"),
    (lambda lg, b: logp(lg, b).sum() / 0.0, "non-finite loss"),
    (_data_dependent, "under jax.make_jaxpr raised .* at test_jax.py:\\d+: .*control flow.*"
                      "jnp.where"),
]


@pytest.mark.parametrize("loss, message", BAD)
def test_bad_losses_get_a_named_error(small, loss, message):
    mdp, policy, theta, batch = small
    with pytest.raises(EstimatorError, match=message):
        loss_estimator(loss)(batch, policy, theta)


def _misshapen(logits, b):
    return jnp.dot(logits[0], b.rewards[0, :1]).sum()       # [2] · [1]: a TypeError here


def test_an_error_inside_the_loss_is_said_once_with_its_line_and_inputs(small):
    """From check_unbiased, the error names the loss, the line of the test file that
    raised, and the shapes and dtypes the loss was given, once (no error wrapping an
    error)."""
    mdp, policy, theta, _ = small
    est = loss_estimator(_misshapen)
    msg = error_said_once(lambda: pgmath.check_unbiased(est, mdp, policy, theta), _misshapen,
                          "jax_loss(_misshapen) raised TypeError {at}: ")
    assert "logits [2, 2] float32" in msg and "rewards, behaviour_log_probs: [" in msg


def test_dtype_promotion_and_64_bit_mode(small):
    mdp, policy, theta, batch = small
    with pytest.raises(InvalidArgumentError, match="jax_enable_x64"):
        loss_estimator(vpg, dtype=jnp.float64)
    with jax.enable_x64(True):
        promoted = loss_estimator(lambda lg, b: vpg(lg, b) * np.float64(1.0) * jnp.ones((), jnp.float64))
        with pytest.raises(EstimatorError, match="'dtype' do not match: float64 != float32"):
            promoted(batch, policy, theta)
