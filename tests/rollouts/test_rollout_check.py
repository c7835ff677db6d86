"""Checking a user's GAE with the signature of CleanRL, stable-baselines3 or skrl, directly;
float32 and torch code; the `pgmath check --rollout` seam."""
import numpy as np
import pytest

from pgmath import cli
from pgmath.errors import EstimatorError, InvalidArgumentError
from pgmath.rollouts import PATTERNS, gae, sample_segment
from pgmath.rollouts.check import check_rollout, check_rollout_battery, critic_tables
from pgmath.rollouts.examples import boundary_problem
from pgmath.rollouts.expectation import call_advantages
from pgmath.rollouts.signatures import adapt

USER_CODE = '''
import numpy as np

def cleanrl_gae(rewards, values, dones, next_value, next_done, gamma, gae_lambda):
    """The loop of CleanRL's ppo.py (dones[t]: observation t starts an episode)."""
    num_steps = rewards.shape[0]
    advantages = np.zeros_like(rewards)
    lastgaelam = 0
    for t in reversed(range(num_steps)):
        if t == num_steps - 1:
            nextnonterminal = 1.0 - next_done
            nextvalues = next_value
        else:
            nextnonterminal = 1.0 - dones[t + 1]
            nextvalues = values[t + 1]
        delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
        advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
    return advantages, advantages + values


def sb3_gae(rewards, values, episode_starts, last_values, dones, gamma, gae_lambda):
    """RolloutBuffer.compute_returns_and_advantage as a function."""
    buffer_size = rewards.shape[0]
    advantages = np.zeros_like(rewards)
    last_gae_lam = 0
    for step in reversed(range(buffer_size)):
        if step == buffer_size - 1:
            next_non_terminal = 1.0 - dones
            next_values = last_values
        else:
            next_non_terminal = 1.0 - episode_starts[step + 1]
            next_values = values[step + 1]
        delta = rewards[step] + gamma * next_values * next_non_terminal - values[step]
        last_gae_lam = delta + gamma * gae_lambda * next_non_terminal * last_gae_lam
        advantages[step] = last_gae_lam
    return advantages


def skrl_gae(rewards, dones, values, next_values, discount_factor=0.99, lambda_coefficient=0.95):
    """skrl's compute_gae (returns, standardised advantages)."""
    advantage = 0
    advantages = np.zeros_like(rewards)
    not_dones = np.logical_not(dones)
    memory_size = rewards.shape[0]
    last_values = next_values
    for i in reversed(range(memory_size)):
        next_values = values[i + 1] if i < memory_size - 1 else last_values
        advantage = rewards[i] - values[i] + discount_factor * not_dones[i] * (
            next_values + lambda_coefficient * advantage)
        advantages[i] = advantage
    returns = advantages + values
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    return returns, advantages


def sb3_gae_done_late(rewards, values, episode_starts, last_values, dones, gamma, gae_lambda):
    """The SB3 loop reading the step flag one row late (a dones array stored per step)."""
    step_dones = np.concatenate([episode_starts[1:], dones[None]], axis=0)
    buffer_size = rewards.shape[0]
    advantages = np.zeros_like(rewards)
    last_gae_lam = 0
    for step in reversed(range(buffer_size)):
        if step == buffer_size - 1:
            next_non_terminal = 1.0 - dones
            next_values = last_values
        else:
            next_non_terminal = 1.0 - step_dones[step + 1]
            next_values = values[step + 1]
        delta = rewards[step] + gamma * next_values * next_non_terminal - values[step]
        last_gae_lam = delta + gamma * gae_lambda * next_non_terminal * last_gae_lam
        advantages[step] = last_gae_lam
    return advantages
'''


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    path = tmp_path_factory.mktemp("user") / "user_gae.py"
    path.write_text(USER_CODE)
    ns = {}
    exec(compile(USER_CODE, str(path), "exec"), ns)
    return path, ns


@pytest.mark.parametrize("signature, name, boot, want", [
    ("cleanrl", "cleanrl_gae", None, "truncation_as_termination"),
    ("cleanrl", "cleanrl_gae", "final_value", "gae"),
    ("sb3", "sb3_gae", None, "gae"),
    ("sb3", "sb3_gae", "none", "truncation_as_termination"),
    ("skrl", "skrl_gae", None, "truncation_as_termination"),
    ("skrl", "skrl_gae", "current_value", "truncation_bootstraps_current_value"),
    ("skrl", "skrl_gae", "final_value", "gae"),
    ("sb3", "sb3_gae_done_late", None, "done_read_late"),
])
def test_library_signatures_are_matched_pathwise(user, signature, name, boot, want):
    """On a sampled 64 × 4 segment the adapted function equals correct GAE or exactly the
    known bug its pipeline has (CleanRL: no truncation bootstrap; SB3: γV(final obs) in the
    reward; skrl: none by default, γV(s_t) with time_limit_bootstrap)."""
    _, ns = user
    prob, pol, th = boundary_problem()
    rng = np.random.default_rng(0)
    seg = sample_segment(prob, pol, th, n_steps=64, n_envs=4, rng=rng,
                         values=rng.normal(size=4))
    adv, _ = call_advantages(adapt(ns[name], signature, reward_bootstrap=boot), seg, 0.9)
    cands = {"gae": gae, **PATTERNS}
    hits = [k for k, fn in cands.items()
            if np.allclose(adv, call_advantages(fn, seg, 0.9)[0], atol=1e-12, rtol=0)]
    assert hits == [want]


def test_sb3_gae_is_unbiased_and_cleanrl_gae_biased_on_the_battery(user):
    _, ns = user
    sb3 = check_rollout_battery(adapt(ns["sb3_gae"], "sb3"), lam=0.9)
    assert sb3.verdict == "unbiased" and sb3.matches == ("gae",)
    clean = check_rollout_battery(adapt(ns["cleanrl_gae"], "cleanrl"), lam=0.9)
    assert clean.verdict == "biased" and clean.matches == ("truncation_as_termination",)
    # on the episodic objective with a time limit, no bootstrap at the limit is right
    epi = [r for r in clean.rows if "episodic" in r.problem]
    assert epi and all(r.passed for r in epi)


def _gae32(rewards, values, terminated, truncated, final_values, next_values, *, gamma, lam):
    f = np.float32
    return gae(rewards.astype(f), values.astype(f), terminated, truncated, final_values.astype(f),
               next_values.astype(f), gamma=f(gamma), lam=f(lam)).astype(f)


def test_float32_code_is_held_to_float32_precision():
    """A float32 correct GAE passes (the tolerance follows the returned dtype); a float32
    buggy one still fails; the float32 function's slack is far above float64's."""
    prob, pol, th = boundary_problem()
    res = check_rollout(_gae32, prob, pol, th, n_steps=3, lam=0.9)
    assert res.verdict == "unbiased"
    assert all(1e-7 < float(r.slack.max()) < 1e-4 for r in res.rows)

    def bug32(rewards, values, terminated, truncated, final_values, next_values, *, gamma, lam):
        f = np.float32
        return PATTERNS["truncation_bootstraps_current_value"](
            rewards.astype(f), values.astype(f), terminated, truncated, final_values.astype(f),
            next_values.astype(f), gamma=f(gamma), lam=f(lam)).astype(f)
    bad = check_rollout(bug32, prob, pol, th, n_steps=3, lam=0.9)
    assert bad.verdict == "biased"
    assert all(r.max_abs_bias > 100 * float(r.slack.max()) for r in bad.rows)


def test_torch_cleanrl_gae_in_float32():
    torch = pytest.importorskip("torch")

    def cleanrl_torch(rewards, values, dones, next_value, next_done, gamma, gae_lambda):
        num_steps = rewards.shape[0]
        advantages = torch.zeros_like(rewards)
        lastgaelam = 0
        for t in reversed(range(num_steps)):
            if t == num_steps - 1:
                nextnonterminal = 1.0 - next_done
                nextvalues = next_value
            else:
                nextnonterminal = 1.0 - dones[t + 1]
                nextvalues = values[t + 1]
            delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
            advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
        return advantages, advantages + values

    assert torch.zeros(1).dtype == torch.float32
    prob, pol, th = boundary_problem()
    right = adapt(cleanrl_torch, "cleanrl", reward_bootstrap="final_value", backend="torch",
                  dtype="float32")
    res = check_rollout(right, prob, pol, th, n_steps=3, lam=0.9)
    assert res.verdict == "unbiased", res.report
    wrong = adapt(cleanrl_torch, "cleanrl", backend="torch", dtype="float32")
    assert check_rollout(wrong, prob, pol, th, n_steps=3, lam=0.9).verdict == "biased"


def test_inconclusive_when_nothing_can_be_decided():
    prob, pol, th = boundary_problem()
    res = check_rollout(gae, prob, pol, th, n_steps=9, max_segments=50)
    assert res.verdict == "inconclusive" and not res.passed
    assert res.errors and "TooManyTrajectoriesError" in res.errors[0][1]


def test_a_broken_function_raises_instead_of_a_verdict():
    prob, pol, th = boundary_problem()
    with pytest.raises(EstimatorError, match="KeyError"):
        check_rollout(lambda *a, gamma, lam: {}["x"], prob, pol, th)


def test_critic_tables_keep_the_value_at_the_time_limit_zero():
    prob, pol, th = boundary_problem(objective="episodic")
    tables = critic_tables(prob, pol, th, n_critics=2)
    assert [n for n, _ in tables] == ["exact V^π", "critic 1", "critic 2"]
    assert all(t.shape == (4, 4) and np.all(t[-1] == 0) for _, t in tables)
    assert not np.allclose(tables[1][1], tables[0][1])


def test_adapter_errors():
    with pytest.raises(InvalidArgumentError, match="'tf'"):
        adapt(gae, "tf")
    with pytest.raises(InvalidArgumentError, match="'maybe'"):
        adapt(gae, "sb3", reward_bootstrap="maybe")
    assert adapt(gae, "explicit") is gae


def test_cli_rollout_seam(user, capsys):
    path, _ = user
    assert cli.main(["check", "--rollout", f"{path}:sb3_gae", "--signature", "sb3"]) == 0
    out = capsys.readouterr().out
    assert "verdict: unbiased" in out and "pathwise: equal to correct GAE" in out
    assert cli.main(["check", "--rollout", f"{path}:cleanrl_gae", "--signature", "cleanrl",
                     "--autoreset", "next-step"]) == 1
    out = capsys.readouterr().out
    assert "verdict: biased" in out and "truncation_as_termination" in out
    assert cli.main(["check", "--rollout", f"{path}:nothing", "--signature", "sb3"]) == 2
    assert "defines no 'nothing'" in capsys.readouterr().err


def test_every_exported_name_resolves_and_the_assertion_helper():
    import pgmath.rollouts as R
    assert all(hasattr(R, name) for name in R.__all__)
    prob, pol, th = boundary_problem()
    assert R.assert_rollout_unbiased(gae, (prob, pol, th), n_steps=2).passed
    with pytest.raises(AssertionError, match="verdict: biased"):
        R.assert_rollout_unbiased(PATTERNS["last_value_dropped"], (prob, pol, th), n_steps=2)
