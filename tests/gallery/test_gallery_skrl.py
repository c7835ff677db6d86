"""skrl: ``skrl.agents.torch.ppo.ppo.compute_gae`` (the same function is defined in skrl's
A2C, RPO, TRPO and AMP agents), as skrl's PPO calls it: time-major tensors
``[memory_size, num_envs, 1]`` = ``[T, N, 1]``, ``terminated`` True at the last step,
``last_values`` 0. It returns ``(returns, advantages)``: the GAE(λ) advantages before
normalisation are ``returns − values``; the ``advantages`` it returns are standardised
over the whole memory, (Â − mean Â) / (std Â + 1e-8), so each row depends on the batch.

Expected (tests/pg_reference.py, enumeration):

* ``returns − values`` in float32 (skrl's default dtype): Σ_t E[ψ_t A_t], unbiased for
  γ = 1 and biased by exactly Σ_t (1 − γ^t) E[ψ_t A_t] for γ < 1, as SB3.
* In float64 skrl rounds γ to float32 as torchrl does: ``discount_factor * not_done[i]``
  is a Python float times a bool tensor, which PyTorch computes in the default dtype,
  float32; so δ_t uses γ₃₂ = fl32(γ) and the decay is γ₃₂λ: ``pr.gae_mean`` of that
  formula, ~3e-9 from the float64 formula at γ = 0.9.
* The standardised advantages are batch-coupled: pgmath finds it by probing and takes
  the exact mean of the batch mean over every batch of b = 2; the expected value is the
  same mean over all ordered pairs of trajectories, standardised here in numpy (torch's
  ``std`` is the sample standard deviation, n − 1 in the denominator).
"""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skrl")
from skrl.agents.torch.ppo.ppo import compute_gae  # noqa: E402

import pgmath  # noqa: E402
from pgmath.adapters import advantage_estimator  # noqa: E402

import pg_reference as pr  # noqa: E402
from adapter_cases import as_pgmath, assert_float32_step_discounted, problem  # noqa: E402

LAM = 0.95


def skrl_gae(lam: float, *, normalised: bool):
    """The advantage function: skrl's compute_gae on ``[T, N, 1]`` tensors."""
    def advantages(x):
        t = lambda a: torch.as_tensor(a)[..., None]   # noqa: E731 - [T, N] -> [T, N, 1]
        returns, adv = compute_gae(rewards=t(x.rewards), terminated=t(x.terminated),
                                   truncated=t(x.truncated), values=t(x.values),
                                   last_values=t(x.last_values), discount_factor=x.gamma,
                                   lambda_coefficient=lam)
        return adv if normalised else returns - t(x.values)
    advantages.__name__ = f"skrl_compute_gae(lam={lam}{', normalised' if normalised else ''})"
    return advantages


def fl32(v: float) -> float:
    return float(np.float32(v))


@pytest.mark.parametrize("gamma, lam", [(1.0, 0.95), (1.0, 1.0), (0.9, 0.95)])
def test_skrl_gae_in_float32(gamma, lam):
    pb = problem(41, T=4, gamma=gamma, S=3)
    mdp, policy, theta = as_pgmath(pb)
    est = advantage_estimator(skrl_gae(lam, normalised=False), mdp, layout="time_major")
    assert_float32_step_discounted(est, pb, mdp, policy, theta)


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_skrl_gae_in_float64_rounds_gamma_to_float32(gamma):
    pb = problem(42, T=4, gamma=gamma, S=3)
    mdp, policy, theta = as_pgmath(pb)
    est = advantage_estimator(skrl_gae(LAM, normalised=False), mdp, layout="time_major",
                              dtype=np.float64)
    res = pgmath.check_unbiased(est, mdp, policy, theta)
    truth = pr.gradient(pb)
    discount_bias = pr.weighted_advantage_mean(pb, 1.0 - gamma ** np.arange(pb.T))
    g32 = fl32(gamma)
    mean = pr.gae_mean(pb, gamma_delta=g32, decay=g32 * LAM)
    assert res.precision == "float64" and res.verdict == ("unbiased" if gamma == 1.0 else "biased")
    np.testing.assert_allclose(res.target, truth, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.estimate, mean, rtol=0, atol=1e-13)
    rounding = mean - (truth + discount_bias)
    if gamma < 1.0:   # the float32 γ moves the mean by ~3e-9: far outside the exact tolerance
        assert np.abs(rounding).max() > max(1e-9, 100 * res.threshold.max())
    else:             # γ = 1 is exact in float32
        assert np.abs(rounding).max() < 1e-14


def _standardised_pair_mean(pb: pr.Problem, lam: float) -> np.ndarray:
    """``[S·A]`` E[(1/2) Σ_i Σ_t ψ_{i,t} Ã_{i,t}] over every ordered pair of independent
    trajectories, Ã the GAE(λ) of both (exact V, γ = 1 here) standardised over the 2T
    entries with the sample standard deviation (+1e-8), as skrl does."""
    _, V = pr.q_v_tables(pb)
    trajs = pb.trajectories()
    T = pb.T

    def gae(s, a):
        delta = [pb.R[s[u], a[u]] + pb.gamma * (V[u + 1, s[u + 1]] if u + 1 < T else 0.0)
                 - V[u, s[u]] for u in range(T)]
        return [sum((pb.gamma * lam) ** l * delta[t + l] for l in range(T - t))
                for t in range(T)]

    def psi(s, a):
        g = np.zeros((pb.S, pb.A))
        g[s] = -pb.pi[s]
        g[s, a] += 1.0
        return g

    total = np.zeros((pb.S, pb.A))
    for (s1, a1, p1), (s2, a2, p2) in itertools.product(trajs, repeat=2):
        adv = np.array([gae(s1, a1), gae(s2, a2)])
        std = np.sqrt(np.sum((adv - adv.mean()) ** 2) / (adv.size - 1))
        z = (adv - adv.mean()) / (std + 1e-8)
        row = sum(psi(s[t], a[t]) * z[i, t] for i, (s, a) in enumerate(((s1, a1), (s2, a2)))
                  for t in range(T))
        total += p1 * p2 * row / 2
    return total.reshape(-1)


def test_skrl_standardised_advantages_are_found_coupled_and_biased():
    pb = problem(43, T=2, gamma=1.0, S=2)
    mdp, policy, theta = as_pgmath(pb)
    est = advantage_estimator(skrl_gae(LAM, normalised=True), mdp, layout="time_major")
    res = pgmath.check_unbiased(est, mdp, policy, theta, batch_size=2)
    expected = _standardised_pair_mean(pb, LAM)
    truth = pr.gradient(pb)
    assert res.coupled and res.batch_size == 2, res.report
    assert res.verdict == "biased", res.report
    # float32 rows: |E g − expected| within 1e-5 of the largest |E g| (rounding of ~10 ops)
    assert np.abs(res.estimate - expected).max() <= 1e-5 * np.abs(expected).max()
    assert np.abs(expected - truth).max() > 1e-2   # the bias the verdict reports is real
