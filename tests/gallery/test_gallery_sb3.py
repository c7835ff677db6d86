"""stable-baselines3: ``RolloutBuffer.compute_returns_and_advantage`` (GAE(λ), float32
buffers ``[buffer_size, n_envs]`` = ``[T, N]``), filled with ``RolloutBuffer.add`` as SB3's
``collect_rollouts`` does, the exact V as the value predictions, every episode ending at T
(``dones`` True for the last step, ``last_values`` 0).

Expected (tests/pg_reference.py, enumeration): E[Σ_t ψ_t Â_t] = Σ_t E[ψ_t A_t], so
unbiased for γ = 1 and biased by exactly Σ_t (1 − γ^t) E[ψ_t A_t] for γ < 1 (SB3 weights
Â_t without γ^t, as the PPO paper does).
"""
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")
from gymnasium import spaces  # noqa: E402
from stable_baselines3.common.buffers import RolloutBuffer  # noqa: E402

from pgmath.adapters import advantage_estimator  # noqa: E402

from adapter_cases import as_pgmath, assert_float32_step_discounted, problem  # noqa: E402


def sb3_gae(n_states: int, n_actions: int, lam: float):
    def advantages(x):
        T, N = x.rewards.shape
        buf = RolloutBuffer(T, spaces.Discrete(n_states), spaces.Discrete(n_actions),
                            device="cpu", gae_lambda=lam, gamma=x.gamma, n_envs=N)
        for t in range(T):
            buf.add(x.states[t], x.actions[t], x.rewards[t], x.episode_starts[t],
                    torch.as_tensor(x.values[t]), torch.zeros(N))
        buf.compute_returns_and_advantage(torch.as_tensor(x.last_values), x.last_dones)
        return buf.advantages
    advantages.__name__ = f"sb3_RolloutBuffer_gae(lam={lam})"
    return advantages


@pytest.mark.parametrize("gamma, lam", [(1.0, 0.95), (1.0, 1.0), (0.9, 0.95)])
def test_sb3_rollout_buffer_gae(gamma, lam):
    pb = problem(31, T=4, gamma=gamma, S=3)
    mdp, policy, theta = as_pgmath(pb)
    est = advantage_estimator(sb3_gae(pb.S, pb.A, lam), mdp, layout="time_major")
    assert_float32_step_discounted(est, pb, mdp, policy, theta)
