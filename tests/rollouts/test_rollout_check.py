"""Checking a user's GAE with the signature of CleanRL, stable-baselines3 or skrl, directly;
float32 and torch code; the `pgmath check --rollout` seam."""
import numpy as np
import pytest

import pgmath
from pgmath import cli
from pgmath.check import CheckResult
from pgmath.errors import EstimatorError, InvalidArgumentError
from pgmath.rollouts import PATTERNS, RolloutCheckResult, gae, sample_segment
from pgmath.rollouts.check import (check_rollout, check_rollout_battery, critic_tables,
                                   max_enumerable_steps)
from pgmath.rollouts.examples import boundary_problem
from pgmath.rollouts.expectation import call_advantages
from pgmath.rollouts.signatures import adapt

from adapter_cases import cleanrl_gae as episode_cleanrl

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


def _black_box(fn):
    """``fn`` without its rollout_rule: pgmath can only enumerate it."""
    def box(*args, gamma, lam):
        return fn(*args, gamma=gamma, lam=lam)
    return box


def test_inconclusive_when_nothing_can_be_decided():
    """A black box on segments too long to list is inconclusive, and the report says which
    n_steps would decide it; a described function (gae's rollout_rule) is decided at any
    length by the recursion."""
    prob, pol, th = boundary_problem()
    res = check_rollout(_black_box(gae), prob, pol, th, n_steps=9, max_segments=50)
    assert res.verdict == "inconclusive" and not res.passed
    assert res.errors and "TooManyTrajectoriesError" in res.errors[0][1]
    assert "n_steps=3" in res.report and "rollout_rule" in res.report
    with pytest.raises(AssertionError, match="check inconclusive"):
        pgmath.testing.assert_result_unbiased(res)
    rec = check_rollout(gae, prob, pol, th, n_steps=9, max_segments=50)
    assert rec.verdict == "unbiased" and rec.method == "recursion" and rec.n == 0
    bug = check_rollout(PATTERNS["last_value_dropped"], prob, pol, th, n_steps=9,
                        max_segments=50)
    assert bug.verdict == "biased" and bug.method == "recursion"
    assert "'last_value_dropped'" in bug.pattern
    with pytest.raises(InvalidArgumentError, match="black box"):
        check_rollout(_black_box(gae), prob, pol, th, method="recursion")


def test_max_enumerable_steps_is_the_longest_listable_segment():
    prob, pol, th = boundary_problem()
    n = max_enumerable_steps(prob, pol, th, max_segments=2_000)
    assert n >= 3
    assert check_rollout(_black_box(gae), prob, pol, th, n_steps=n, max_segments=2_000,
                         n_critics=0).verdict == "unbiased"
    over = check_rollout(_black_box(gae), prob, pol, th, n_steps=n + 1, max_segments=2_000,
                         n_critics=0)
    assert over.verdict == "inconclusive"


def test_the_result_is_a_check_result_with_its_fields():
    """Same type, verdicts and fields as pgmath.check_unbiased's result: the target is
    E g_GAE, the deciding row's bias = estimate − target, its threshold the rounding bound,
    scale = ⟨E g, E g_GAE⟩/‖E g_GAE‖² (computed here), the bug named."""
    prob, pol, th = boundary_problem()
    res = check_rollout(PATTERNS["truncation_as_termination"], prob, pol, th, lam=0.9)
    assert isinstance(res, CheckResult) and res.verdict == "biased" and not res.passed
    assert res.method == "enumeration" and res.exact and res.precision == "float64"
    assert np.array_equal(res.bias, res.estimate - res.target)
    assert np.array_equal(res.threshold, res.rounding.slack())
    assert res.thresholds.kind == "rounding"
    assert np.isclose(res.scale, res.estimate @ res.target / (res.target @ res.target))
    assert np.isclose(res.orthogonal, np.linalg.norm(res.estimate - res.scale * res.target))
    assert res.max_abs_bias == max(r.max_abs_bias for r in res.rows)
    assert "'truncation_as_termination'" in res.pattern
    assert res.labels[0] == "(s=0, a=0)" and res.bias_table.shape == (4, 2)
    assert res.n == sum(r.user.n_segments for r in res.rows)
    for fn, want in ((lambda *a, gamma, lam: -gae(*a, gamma=gamma, lam=lam), "sign flipped"),
                     (lambda *a, gamma, lam: 2.0 * gae(*a, gamma=gamma, lam=lam),
                      "scaled by c = 2")):
        r = check_rollout(fn, prob, pol, th, lam=0.9)
        assert r.verdict == "biased" and r.pattern.startswith(want), r.pattern
    ok = check_rollout(gae, prob, pol, th, lam=0.9)
    assert ok.verdict == "unbiased" and ok.passed and ok.pattern is None
    assert "verdict: PASS (unbiased)" in ok.report


def test_check_unbiased_and_assert_unbiased_route_a_rollout_problem():
    prob, pol, th = boundary_problem()
    res = pgmath.check_unbiased(gae, prob, pol, th, lam=0.9, n_steps=2)
    assert isinstance(res, RolloutCheckResult) and res.verdict == "unbiased"
    assert pgmath.testing.assert_unbiased(gae, prob, pol, th, lam=0.9, n_steps=2).passed
    with pytest.raises(AssertionError, match="estimator is biased(.|\n)*last_value_dropped"):
        pgmath.testing.assert_unbiased(PATTERNS["last_value_dropped"], prob, pol, th, n_steps=2)
    with pytest.raises(InvalidArgumentError, match="n= does not apply"):
        pgmath.check_unbiased(gae, prob, pol, th, n=100)
    with pytest.raises(InvalidArgumentError, match="unknown options"):
        pgmath.check_unbiased(lambda b, p, t: None, *_tabular(), lam=0.9)


def _tabular():
    mdp = pgmath.TabularMDP(np.full((2, 2, 2), 0.5), np.ones((2, 2)), np.array([1.0, 0.0]),
                            horizon=2)
    return mdp, pgmath.SoftmaxPolicy(2, 2), np.zeros(4)


def _gae_in_float32(rewards, values, terminated, truncated, final_values, next_values, *,
                    gamma, lam):
    """Correct GAE computed in float32 and returned as float64 (the dtype hides it)."""
    return _gae32(rewards, values, terminated, truncated, final_values, next_values,
                  gamma=gamma, lam=lam).astype(np.float64)


def test_float32_code_returned_as_float64_is_named_and_passes_with_the_flag():
    """The float64 tolerance calls its float32 rounding a bias, and the report names the one
    flag, precision="float32", which makes it pass; a real bug still fails with the flag."""
    prob, pol, th = boundary_problem()
    res = check_rollout(_gae_in_float32, prob, pol, th, lam=0.9)
    assert res.verdict == "biased" and 'precision="float32"' in res.report
    ok = check_rollout(_gae_in_float32, prob, pol, th, lam=0.9, precision="float32")
    assert ok.verdict == "unbiased" and ok.precision == "float32"
    assert check_rollout(PATTERNS["last_value_dropped"], prob, pol, th, lam=0.9,
                         precision="float32").verdict == "biased"


def test_a_requested_detectable_bias_below_the_tolerance_is_inconclusive():
    prob, pol, th = boundary_problem()
    res = check_rollout(_gae32, prob, pol, th, lam=0.9, detectable_bias=1e-9)
    assert res.verdict == "inconclusive" and res.detectable_bias > 1e-9
    assert check_rollout(_gae32, prob, pol, th, lam=0.9, detectable_bias=1e-3).passed


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


def test_cli_rollout_seam(user, capsys, tmp_path):
    """Printed as pgmath check prints an estimator's check, with its exit statuses."""
    path, _ = user
    assert cli.main(["check", "--rollout", f"{path}:sb3_gae", "--signature", "sb3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("environment") and "all 4 checks passed" in out
    assert "pathwise: equal to correct GAE" in out
    assert cli.main(["check", "--rollout", f"{path}:cleanrl_gae", "--signature", "cleanrl",
                     "--autoreset", "next-step"]) == 1
    out = capsys.readouterr().out
    assert "checks failed: boundary (discounted, H=3)" in out
    assert "verdict: FAIL (biased)" in out and "'truncation_as_termination'" in out
    assert cli.main(["check", "--rollout", f"{path}:sb3_gae", "--signature", "sb3",
                     "--n-steps", "12"]) == 3
    out = capsys.readouterr().out
    assert "inconclusive" in out and "exact route could not decide" in out
    assert cli.main(["check", "--rollout", f"{path}:nothing", "--signature", "sb3"]) == 2
    assert "defines no 'nothing'" in capsys.readouterr().err


def test_every_exported_name_resolves_and_the_assertion_helper():
    import pgmath.rollouts as R
    assert all(hasattr(R, name) for name in R.__all__)
    prob, pol, th = boundary_problem()
    assert R.assert_rollout_unbiased(gae, (prob, pol, th), n_steps=2).passed
    with pytest.raises(AssertionError, match=r"verdict: FAIL \(biased\)"):
        R.assert_rollout_unbiased(PATTERNS["last_value_dropped"], (prob, pol, th), n_steps=2)


def test_one_advantage_function_on_episodes_and_on_rollout_segments():
    """The EpisodeArrays function pgmath.adapters.advantage_estimator takes (CleanRL's loop,
    tests/adapter_cases.py, used by tests/test_adapters.py) is checked on rollout segments as it is (signature "arrays"):
    with truncations and no bootstrap it is exactly bug 2, with γV(final obs) added to
    the reward it is correct GAE."""
    prob, pol, th = boundary_problem()
    plain = check_rollout(adapt(episode_cleanrl(0.9), "arrays"), prob, pol, th, lam=0.9)
    assert plain.verdict == "biased" and plain.matches == ("truncation_as_termination",)
    boot = check_rollout(adapt(episode_cleanrl(0.9), "arrays", reward_bootstrap="final_value"),
                         prob, pol, th, lam=0.9)
    assert boot.verdict == "unbiased" and boot.matches == ("gae",)
