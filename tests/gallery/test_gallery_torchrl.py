"""torchrl: the functional value estimators of ``torchrl.objectives.value.functional``
(``generalized_advantage_estimate``, ``vec_generalized_advantage_estimate``,
``td_lambda_return_estimate``), tensors ``[N, T, 1]`` (batch, time at dim −2, one feature),
``done`` = ``terminated`` True at the last step, ``next_state_value`` V(s_{t+1}) with 0
after the end; float64 tensors, so the verdicts are exact now.

Expected (tests/pg_reference.py, enumeration): with the exact V, Σ_t E[ψ_t A_t] for every
λ (the vectorised GAE drops the (γλ)^k below 1e-7 — harmless here, since each later TD
error has mean 0 given (s_t, a_t)): unbiased for γ = 1, biased by Σ_t (1 − γ^t) E[ψ_t A_t]
for γ < 1. On top of that, both GAE functions form γ(1 − terminated) as
``gamma * (~terminated).int()``, which PyTorch computes in the default dtype, float32, even
for float64 tensors: δ_t uses γ₃₂ = fl32(γ), which moves the mean by
(γ₃₂ − γ) Σ_t Σ_l (γλ)^l E[ψ_t V_{t+l+1}(s_{t+l+1})] (2.5e-9 here at γ = 0.9; nothing at
γ = 1, which float32 holds exactly). ``pr.gae_mean`` computes the mean of that formula by
enumeration; ``td_lambda_return_estimate`` keeps γ in float64.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchrl")
from torchrl.objectives.value import functional as F  # noqa: E402

import pgmath  # noqa: E402
from pgmath.adapters import advantage_estimator  # noqa: E402

import pg_reference as pr  # noqa: E402
from adapter_cases import as_pgmath, problem  # noqa: E402

LAM = 0.8


def tensors(x):
    """(state_value, next_state_value, reward, done, terminated) as torchrl wants them."""
    f = lambda a: torch.as_tensor(a)[..., None]   # noqa: E731 - [N, T] -> [N, T, 1]
    return f(x.values), f(x.next_values), f(x.rewards), f(x.dones), f(x.terminated)


def gae(x):
    v, nv, r, d, term = tensors(x)
    return F.generalized_advantage_estimate(x.gamma, LAM, v, nv, r, d, term)[0]


def vec_gae(x):
    v, nv, r, d, term = tensors(x)
    return F.vec_generalized_advantage_estimate(x.gamma, LAM, v, nv, r, d, term)[0]


def td_lambda_minus_v(x):
    v, nv, r, d, term = tensors(x)
    return F.td_lambda_return_estimate(x.gamma, LAM, nv, r, d, term) - v


def fl32(v: float) -> float:
    return float(np.float32(v))


@pytest.mark.parametrize("fn", [gae, vec_gae, td_lambda_minus_v])
@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_torchrl_value_estimators(fn, gamma):
    pb = problem(51, T=4, gamma=gamma, S=3)
    mdp, policy, theta = as_pgmath(pb)
    est = advantage_estimator(fn, mdp, layout="batch_major", dtype=np.float64)
    res = pgmath.check_unbiased(est, mdp, policy, theta)
    truth = pr.gradient(pb)
    discount_bias = pr.weighted_advantage_mean(pb, 1.0 - gamma ** np.arange(pb.T))
    rounds_gamma = fn is not td_lambda_minus_v
    mean = pr.gae_mean(pb, gamma_delta=fl32(gamma) if rounds_gamma else gamma,
                       decay=fl32(gamma * LAM) if fn is gae else gamma * LAM)
    assert res.passed == (gamma == 1.0), res.report
    np.testing.assert_allclose(res.target, truth, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.estimate, mean, rtol=0, atol=1e-13)
    rounding = mean - (truth + discount_bias)
    if gamma < 1.0:
        assert np.abs(discount_bias).max() > 1e-2
    if rounds_gamma and gamma < 1.0:
        # the float32 γ moves the mean by ~2e-9, far outside the exact check's tolerance
        assert np.abs(rounding).max() > max(1e-9, 100 * res.threshold.max())
    else:
        assert np.abs(rounding).max() < 1e-14


@pytest.mark.parametrize("fn", [gae, vec_gae, td_lambda_minus_v])
def test_torchrl_in_float32_passes_at_gamma_one(fn):
    """float32 tensors (torchrl's usual dtype): the rows are float32, the check holds them
    to float32 rounding with default settings, and γ = 1 is unbiased."""
    pb = problem(52, T=4, gamma=1.0, S=3)
    mdp, policy, theta = as_pgmath(pb)
    res = pgmath.check_unbiased(advantage_estimator(fn, mdp, layout="batch_major"),
                                mdp, policy, theta)
    assert res.precision == "float32" and res.verdict == "unbiased", res.report
    assert np.abs(res.estimate - pr.gradient(pb)).max() <= 1e-5 * np.abs(res.target).max() + 1e-7
