"""rlax (JAX): ``truncated_generalized_advantage_estimation``, ``lambda_returns`` and the
losses ``policy_gradient_loss`` / ``clipped_surrogate_pg_loss``, each per sequence ``[T]``
and batched with ``jax.vmap`` over episodes (``[N, T]``, batch-major). Every episode ends at
T: ``discount_t`` is γ and 0 at the last step, ``values`` V(s_0..s_T) with V(s_T) = 0.

Expected (tests/pg_reference.py, enumeration):
* Σ_t ψ_t Â_t with GAE(λ) or λ-returns minus V: Σ_t E[ψ_t A_t] — unbiased for γ = 1,
  biased by Σ_t (1 − γ^t) E[ψ_t A_t] for γ < 1;
* ``policy_gradient_loss`` and ``clipped_surrogate_pg_loss`` (at ratio 1) are means over the
  T steps of a sequence (``jnp.mean``), so their gradient is (1/T) Σ_t ψ_t Â_t: with the
  exact advantage (γ = 1) E g = ∇J / T — biased by (1/T − 1) ∇J, a constant rescaling.
Float64 verdicts run inside ``jax.enable_x64(True)``; float32 (rlax's default) means are
held to the same closed forms within rounding.
"""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
rlax = pytest.importorskip("rlax")
import jax.numpy as jnp  # noqa: E402

import pgmath  # noqa: E402
from pgmath.adapters import advantage_estimator  # noqa: E402
from pgmath.jax import loss_estimator  # noqa: E402

import pg_reference as pr  # noqa: E402
from adapter_cases import as_pgmath, exact_mean, float32_close, problem  # noqa: E402

LAM = 0.9
pytestmark = pytest.mark.filterwarnings("ignore:Rlax softmax will be deprecated")


def rlax_gae(x):
    f = jax.vmap(rlax.truncated_generalized_advantage_estimation, in_axes=(0, 0, None, 0))
    return f(jnp.asarray(x.rewards), jnp.asarray(x.discounts), LAM,
             jnp.asarray(x.values_with_last))


def rlax_lambda_returns_minus_v(x):
    f = jax.vmap(rlax.lambda_returns, in_axes=(0, 0, 0, None))
    G = f(jnp.asarray(x.rewards), jnp.asarray(x.discounts),
          jnp.asarray(x.values_with_last[:, 1:]), LAM)
    return G - jnp.asarray(x.values)


@pytest.mark.parametrize("fn", [rlax_gae, rlax_lambda_returns_minus_v])
@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_rlax_advantages(fn, gamma):
    pb = problem(41, T=4, gamma=gamma, S=3)
    mdp, policy, theta = as_pgmath(pb)
    truth = pr.gradient(pb)
    bias = pr.weighted_advantage_mean(pb, 1.0 - gamma ** np.arange(pb.T))
    est32 = advantage_estimator(fn, mdp, layout="batch_major")
    mean, abs_mean, g = exact_mean(est32, mdp, policy, theta)
    assert g.dtype == np.float32 and float32_close(mean, abs_mean, truth + bias)
    res32 = pgmath.check_unbiased(est32, mdp, policy, theta)   # rlax's float32, default settings
    assert res32.verdict == ("unbiased" if gamma == 1.0 else "biased"), res32.report
    with jax.enable_x64(True):
        res = pgmath.check_unbiased(advantage_estimator(fn, mdp, layout="batch_major",
                                                        dtype=np.float64), mdp, policy, theta)
    assert res.passed == (gamma == 1.0), res.report
    np.testing.assert_allclose(res.bias, bias, rtol=0, atol=1e-12)
    if gamma < 1.0:
        assert np.abs(bias).max() > 1e-2


def exact_advantages(b):
    """A_t(s_t, a_t) = r_t + γ V_{t+1}(s_{t+1}) − V_t(s_t) has mean A_t given (s_t, a_t): the
    TD error with the exact V (GAE λ = 0), as the advantage the losses are fed."""
    return b.rewards + b.discount * b.next_values - b.values


def pg_loss(logits, b):
    w = jnp.ones_like(b.rewards)
    per_seq = jax.vmap(rlax.policy_gradient_loss)(logits[b.inputs], b.actions,
                                                  exact_advantages(b), w)
    return per_seq.mean()


def ppo_loss(logits, b):
    lp = jax.nn.log_softmax(logits)[b.inputs, b.actions]
    ratio = jnp.exp(lp - b.behaviour_log_probs)
    per_seq = jax.vmap(rlax.clipped_surrogate_pg_loss, in_axes=(0, 0, None))(
        ratio, exact_advantages(b), 0.2)
    return per_seq.mean()


@pytest.mark.parametrize("loss", [pg_loss, ppo_loss])
def test_rlax_losses_are_scaled_by_one_over_T(loss):
    pb = problem(42, T=3, gamma=1.0, S=3)
    mdp, policy, theta = as_pgmath(pb)
    truth = pr.gradient(pb)
    mean, abs_mean, g = exact_mean(loss_estimator(loss, values=mdp), mdp, policy, theta)
    assert g.dtype == np.float32 and float32_close(mean, abs_mean, truth / pb.T)
    res32 = pgmath.check_unbiased(loss_estimator(loss, values=mdp), mdp, policy, theta)
    assert res32.verdict == "biased" and abs(res32.scale - 1.0 / pb.T) < 1e-5, res32.report
    with jax.enable_x64(True):
        res = pgmath.check_unbiased(loss_estimator(loss, values=mdp, dtype=jnp.float64),
                                    mdp, policy, theta)
    assert not res.passed
    np.testing.assert_allclose(res.bias, (1.0 / pb.T - 1.0) * truth, rtol=0, atol=1e-12)
    np.testing.assert_allclose(pb.T * res.estimate, truth, rtol=0, atol=1e-12)
