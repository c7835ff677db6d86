"""pgmath.torch: losses as written in a PyTorch training loop, checked against closed forms.

Expected values are derived in tests/pg_reference.py (enumeration, no pgmath code):
a correct VPG loss has mean ∇J; a flipped sign −∇J; a mean over all N·T entries ∇J/T;
a sum over trajectories at batch size b (b/T)∇J; a batch-average baseline (1 − 1/b)∇J;
an expected-value baseline b_θ(s) = Σ_a π_θ(a|s) C(s, a) left attached to the graph adds
−Σ_t γ^t E[log π(a_t|s_t) ∇_θ b_θ(s_t)].
"""
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import pgmath  # noqa: E402
from pgmath.errors import EstimatorError, InvalidArgumentError  # noqa: E402
from pgmath.torch import loss_estimator  # noqa: E402

import pg_reference as pr  # noqa: E402
from adapter_cases import as_pgmath, error_said_once, problem  # noqa: E402


# -- losses as a user writes them ------------------------------------------------------------------
def logp(logits, b):
    return torch.log_softmax(logits, -1)[b.inputs, b.actions]


def powers(b):
    return b.discount ** torch.arange(b.rewards.shape[1], dtype=b.rewards.dtype)


def rtg(b):
    """Σ_{t'≥t} γ^{t'} r_{t'} (start discounting), [N, T]."""
    return (b.rewards * powers(b)).flip(1).cumsum(1).flip(1)


def vpg(logits, b):
    return -(logp(logits, b) * rtg(b)).sum(1).mean()


def vpg_wrong_sign(logits, b):
    return (logp(logits, b) * rtg(b)).sum(1).mean()


def vpg_mean_over_everything(logits, b):
    return -(logp(logits, b) * rtg(b)).mean()


def vpg_sum_over_batch(logits, b):
    return -(logp(logits, b) * rtg(b)).mean(1).sum()


def batch_average_baseline(logits, b):
    ret = (b.rewards * powers(b)).sum(1)
    return -(logp(logits, b).sum(1) * (ret - ret.mean())).mean()


C_TABLE = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)


def expected_baseline(detach: bool):
    def loss(logits, b):
        pi = torch.softmax(logits, -1)
        base = (pi * C_TABLE.to(pi.dtype)).sum(-1)[b.inputs]       # b_θ(s_t)
        if detach:
            base = base.detach()
        return -(logp(logits, b) * (rtg(b) - powers(b) * base)).sum(1).mean()
    loss.__name__ = f"expected_baseline_detach_{detach}"
    return loss


def gae(b, lam: float):
    """The user's own GAE(λ) loop over time: δ_t = r_t + γV_{t+1} − V_t, Â_t = Σ_l (γλ)^l δ_{t+l}."""
    delta = b.rewards + b.discount * b.next_values - b.values
    acc, out = torch.zeros_like(delta[:, 0]), []
    for t in reversed(range(delta.shape[1])):
        acc = delta[:, t] + b.discount * lam * acc
        out.append(acc)
    return torch.stack(out[::-1], 1)


def ppo(start_discount: bool = True, ratio_sign: int = 1, eps: float = 0.2):
    def loss(logits, b):
        lp = logp(logits, b)
        ratio = torch.exp(ratio_sign * (lp - b.behaviour_log_probs))
        adv = gae(b, 0.95) * (powers(b) if start_discount else 1.0)
        surr = torch.min(ratio * adv, torch.clamp(ratio, 1 - eps, 1 + eps) * adv)
        return -surr.sum(1).mean()
    loss.__name__ = f"ppo(start={start_discount}, ratio_sign={ratio_sign})"
    return loss


# -- verdicts --------------------------------------------------------------------------------------
@pytest.mark.parametrize("gamma", [1.0, 0.8])
def test_correct_vpg_loss_float64_passes_and_float32_mean_is_the_gradient(gamma):
    pb = problem(11, T=3, gamma=gamma)
    mdp, policy, theta = as_pgmath(pb)
    truth = pr.gradient(pb)
    res = pgmath.check_unbiased(loss_estimator(vpg, dtype=torch.float64), mdp, policy, theta)
    assert res.passed, res.report
    np.testing.assert_allclose(res.estimate, truth, rtol=0, atol=1e-12)
    est32 = loss_estimator(vpg)
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta)
    g = est32(batch, policy, theta)
    assert g.dtype == np.float32
    # float32 rounding: |E g − ∇J| ≤ 1e-5 E|g| (≈100× u = 6e-8 times the terms per row)
    assert np.all(np.abs(prob @ g.astype(float) - truth) <= 1e-5 * (prob @ np.abs(g)).max())
    res32 = pgmath.check_unbiased(est32, mdp, policy, theta)   # default settings
    assert res32.verdict == "unbiased" and res32.precision == "float32", res32.report


@pytest.mark.parametrize("loss, factor", [(vpg_wrong_sign, -1.0),
                                          (vpg_mean_over_everything, 1.0 / 3)])
def test_buggy_vpg_losses_fail_with_their_exact_bias(loss, factor):
    """float64: the bias is (c − 1)∇J to 1e-12; float32 with default settings: "biased",
    with the scale c = ⟨E g, ∇J⟩/‖∇J‖² the check reports."""
    pb = problem(12, T=3, gamma=0.9)
    mdp, policy, theta = as_pgmath(pb)
    truth = pr.gradient(pb)
    res = pgmath.check_unbiased(loss_estimator(loss, dtype=torch.float64), mdp, policy, theta)
    assert res.verdict == "biased"
    np.testing.assert_allclose(res.bias, (factor - 1.0) * truth, rtol=0, atol=1e-12)
    res32 = pgmath.check_unbiased(loss_estimator(loss), mdp, policy, theta)
    assert res32.verdict == "biased" and res32.precision == "float32"
    assert abs(res32.scale - factor) < 1e-5


def test_an_attached_policy_baseline_fails_with_its_exact_bias():
    pb = problem(13, T=3, gamma=0.9)
    mdp, policy, theta = as_pgmath(pb)
    C = C_TABLE.numpy()
    ok = pgmath.check_unbiased(loss_estimator(expected_baseline(True), dtype=torch.float64),
                               mdp, policy, theta)
    assert ok.passed, ok.report
    res = pgmath.check_unbiased(loss_estimator(expected_baseline(False), dtype=torch.float64),
                                mdp, policy, theta)

    def extra(s, a):   # −Σ_t γ^t log π(a_t|s_t) ∇_θ b_θ(s_t), ∇b(s)[s, c] = π(c|s)(C[s,c] − b(s))
        out = np.zeros((pb.S, pb.A))
        for t in range(pb.T):
            st = s[t]
            grad_b = pb.pi[st] * (C[st] - pb.pi[st] @ C[st])
            out[st] -= pb.gamma ** t * np.log(pb.pi[st, a[t]]) * grad_b
        return out
    expected = pr.mean_over_trajectories(pb, extra)
    assert np.abs(expected).max() > 1e-3 and not res.passed
    np.testing.assert_allclose(res.bias, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("gamma", [1.0, 0.8])
def test_ppo_clipped_loss_at_ratio_one(gamma):
    """PPO's clipped surrogate with the user's own GAE and the exact V: unbiased with γ^t
    weights (float64 verdict; float32 mean within rounding); the step-discounted form is
    biased by Σ_t (1 − γ^t) E[ψ_t A_t]; a ratio written exp(old − new) by −2∇J."""
    pb = problem(14, T=3, gamma=gamma)
    mdp, policy, theta = as_pgmath(pb)
    truth = pr.gradient(pb)
    res = pgmath.check_unbiased(loss_estimator(ppo(), values=mdp, dtype=torch.float64),
                                mdp, policy, theta)
    assert res.passed, res.report
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta)
    est32 = loss_estimator(ppo(), values=mdp)
    g = est32(batch, policy, theta)
    assert g.dtype == np.float32
    assert np.all(np.abs(prob @ g.astype(float) - truth) <= 1e-5 * (prob @ np.abs(g)).max())
    assert pgmath.check_unbiased(est32, mdp, policy, theta).verdict == "unbiased"
    step = pgmath.check_unbiased(loss_estimator(ppo(start_discount=False), values=mdp,
                                                dtype=torch.float64), mdp, policy, theta)
    bias = pr.weighted_advantage_mean(pb, 1.0 - gamma ** np.arange(pb.T))
    assert step.passed == (gamma == 1.0)
    np.testing.assert_allclose(step.bias, bias, rtol=0, atol=1e-12)
    flipped = pgmath.check_unbiased(loss_estimator(ppo(ratio_sign=-1), values=mdp,
                                                   dtype=torch.float64), mdp, policy, theta)
    assert not flipped.passed
    np.testing.assert_allclose(flipped.bias, -2 * truth, rtol=0, atol=1e-12)


# -- coupling -----------------------------------------------------------------------------------
def test_losses_that_couple_the_batch():
    """A sum over trajectories and a batch-average baseline are not per-trajectory:
    ``coupling='per_trajectory'`` refuses them naming coupling='batch'; with it the exact
    check over all batches of b = 3 gives (b/T)∇J and (1 − 1/b)∇J."""
    pb = problem(15, T=2, gamma=1.0, S=1)      # a two-step bandit: 4 trajectories, 20 batches
    mdp, policy, theta = as_pgmath(pb)
    truth = pr.gradient(pb)
    assert np.abs(truth).max() > 1e-2
    batch = pgmath.sample(mdp, policy, theta, 5, np.random.default_rng(0))
    for loss, factor in ((vpg_sum_over_batch, 3 / pb.T), (batch_average_baseline, 2 / 3)):
        with pytest.raises(EstimatorError, match="couples the batch.*coupling='batch'"):
            loss_estimator(loss, dtype=torch.float64, coupling="per_trajectory")(batch, policy, theta)
        est = loss_estimator(loss, dtype=torch.float64, coupling="batch")
        assert pgmath.estimators.is_batch_coupled(est)
        res = pgmath.check_unbiased(est, mdp, policy, theta, batch_size=3)
        assert res.method == "enumeration" and res.verdict == "biased"
        np.testing.assert_allclose(res.estimate, factor * truth, rtol=0, atol=1e-12)
        # auto: one batch gradient in every row, which the check's probe finds coupled
        auto = loss_estimator(loss, dtype=torch.float64)
        rows = auto(batch, policy, theta)
        np.testing.assert_allclose(rows, np.broadcast_to(rows[0], rows.shape))
        found = pgmath.check_unbiased(auto, mdp, policy, theta, batch_size=3)
        assert found.coupled and "found by probing" in found.coupling, found.report
        np.testing.assert_allclose(found.estimate, factor * truth, rtol=0, atol=1e-12)
    per = loss_estimator(vpg, dtype=torch.float64)(batch, policy, theta)
    assert np.ptp(per, axis=0).max() > 0  # per-trajectory rows differ


def test_rows_are_per_trajectory_gradients_by_autograd():
    """Row i is −∇_θ of the loss on trajectory i alone (plain autograd, one at a time)."""
    pb = problem(16, T=3, gamma=0.9)
    mdp, policy, theta = as_pgmath(pb)
    batch = pgmath.sample(mdp, policy, theta, 6, np.random.default_rng(1))
    rows = loss_estimator(ppo(), values=mdp, dtype=torch.float64)(batch, policy, theta)
    from pgmath.adapters import loss_batch_arrays, LossBatch
    arrays = loss_batch_arrays(batch, policy, theta, mdp, np.float64)
    for i in range(batch.n):
        lg = torch.tensor(theta.reshape(2, 2), requires_grad=True)
        one = LossBatch(**{k: torch.as_tensor(v[i:i + 1]) for k, v in arrays.items()},
                        discount=batch.discount)
        (g,) = torch.autograd.grad(ppo()(lg, one), lg)
        np.testing.assert_allclose(rows[i], -g.numpy().reshape(-1), rtol=1e-12, atol=1e-14)


# -- bad input ----------------------------------------------------------------------------------
@pytest.fixture
def small():
    pb = problem(17, T=2, gamma=1.0)
    mdp, policy, theta = as_pgmath(pb)
    batch = pgmath.sample(mdp, policy, theta, 4, np.random.default_rng(2))
    return mdp, policy, theta, batch


def _nan_grad(logits, b):
    return vpg(logits, b) + torch.sqrt(torch.abs(logits[1, 0] - logits[1, 0]))


def _float64_inside(logits, b):
    return vpg(logits, b) * torch.as_tensor(np.float64(1.0))  * torch.ones(1, dtype=torch.float64)


def _data_dependent(logits, b):
    if rtg(b).sum() > 0:
        return vpg(logits, b)
    return -vpg(logits, b)


BAD = [
    (lambda lg, b: -(logp(lg, b) * rtg(b)).sum(1), "shape \\(4,\\), not a scalar"),
    (_nan_grad, "gradient of the loss on the whole batch is nan at logit \\(s=1, a=0\\)"),
    (_float64_inside, "attribute 'dtype' do not match: torch.float64 != torch.float32"),
    (lambda lg, b: vpg(lg.detach(), b), "does not use the logits"),
    (lambda lg, b: rtg(b).sum(), "does not use the logits"),
    (lambda lg, b: logp(lg, b).sum() / 0.0, "non-finite loss"),
    (_data_dependent, "torch.func.vmap.*control flow.*coupling='batch'"),
    (lambda lg, b: (logp(lg, b) * b.values).sum(), "batch.values .* are None unless .*values="),
    (lambda lg, b: 1.0, "returned float, not a tensor"),
]


@pytest.mark.parametrize("loss, message", BAD)
def test_bad_losses_get_a_named_error(small, loss, message):
    mdp, policy, theta, batch = small
    with pytest.raises(EstimatorError, match=message):
        loss_estimator(loss)(batch, policy, theta)


def _indexes_past_the_end(logits, b):
    return -(logp(logits, b) * b.rewards[:, [0, 5]]).sum(1).mean()   # T = 2: no column 5


def test_an_error_inside_the_loss_is_said_once_with_its_line_and_inputs(small):
    """From check_unbiased, the error names the loss, the line of the test file that
    raised, and the shapes and dtypes the loss was given, once (no error wrapping an
    error)."""
    mdp, policy, theta, _ = small
    est = loss_estimator(_indexes_past_the_end)
    msg = error_said_once(lambda: pgmath.check_unbiased(est, mdp, policy, theta),
                          _indexes_past_the_end,
                          "torch_loss(_indexes_past_the_end) raised IndexError {at}: ")
    assert "logits [2, 2] float32 and batch = LossBatch(discount=1.0)" in msg
    assert "states, actions, inputs: [" in msg and "values, next_values: None" in msg
    named = loss_estimator(_indexes_past_the_end, name="my PPO")
    with pytest.raises(EstimatorError, match=r"^my PPO \(loss function _indexes_past_the_end\) "
                                             r"raised IndexError"):
        pgmath.check_unbiased(named, mdp, policy, theta)


def test_bad_options_and_values(small):
    mdp, policy, theta, batch = small
    with pytest.raises(InvalidArgumentError, match="dtype"):
        loss_estimator(vpg, dtype=torch.int32)
    with pytest.raises(InvalidArgumentError, match="coupling"):
        loss_estimator(vpg, coupling="rows")
    with pytest.raises(InvalidArgumentError, match="minimize"):
        loss_estimator(vpg, minimize=1)
    table = torch.zeros(2, requires_grad=True)
    with pytest.raises(EstimatorError, match="values= got a tensor that requires grad"):
        loss_estimator(ppo(), values=table)(batch, policy, theta)
    with pytest.raises(EstimatorError, match="^values= got a tensor that requires grad") as info:
        pgmath.check_unbiased(loss_estimator(ppo(), values=table), mdp, policy, theta)
    assert "raised" not in str(info.value)   # said once, not wrapped in "estimator … raised"


def test_objective_sign_and_linear_softmax_features(small):
    mdp, policy, theta, batch = small
    down = loss_estimator(vpg, dtype=torch.float64)(batch, policy, theta)
    up = loss_estimator(lambda lg, b: -vpg(lg, b), dtype=torch.float64, minimize=False)(
        batch, policy, theta)
    np.testing.assert_array_equal(down, up)
    phi = np.random.default_rng(3).normal(size=(2, 2, 3))
    lin = pgmath.LinearSoftmaxPolicy(phi)
    th = np.array([0.3, -0.2, 0.5])
    rows = loss_estimator(vpg, dtype=torch.float64)(batch, lin, th)
    ref = pgmath.estimators.reward_to_go(batch, lin, th)   # ψ = Φ − Σπ Φ; same rows
    np.testing.assert_allclose(rows, ref, rtol=1e-12, atol=1e-12)


def test_import_pgmath_stays_light_and_a_missing_extra_is_named():
    code = ("import sys, pgmath, pgmath.adapters; "
            "assert 'torch' not in sys.modules and 'jax' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
    blocked = ("import sys\n"
               "class Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name.split('.')[0] == 'torch':\n"
               "            raise ModuleNotFoundError(\"No module named 'torch'\")\n"
               "sys.meta_path.insert(0, Block())\n"
               "try:\n    import pgmath.torch\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", blocked], check=True, capture_output=True,
                         text=True).stdout
    assert "pip install 'pgmath[torch]'" in out


# -- property: the autograd rows are the analytic ones -------------------------------------------
from hypothesis import given, strategies as st  # noqa: E402

from pgmath import strategies as pst  # noqa: E402


@given(pst.problems(max_states=3, max_actions=3, horizon=(1, 4), discount=st.floats(0.5, 1.0))
       | pst.problems(pomdp=True, max_states=3, max_actions=3), st.integers(0, 2 ** 32 - 1))
def test_vpg_rows_equal_reward_to_go_on_random_problems(problem, seed):
    """Row i of the float64 VPG loss is −∇ of the loss on τ_i by autograd; it equals the
    analytic reward-to-go row Σ_t ψ_t Σ_{t'≥t} γ^{t'} r_{t'} (ψ from the policy's score),
    on MDPs and POMDPs, with extreme logits and R[s, a, s']."""
    mdp, policy, theta = problem
    batch = pgmath.sample(mdp, policy, theta, 8, np.random.default_rng(seed))
    rows = loss_estimator(vpg, dtype=torch.float64)(batch, policy, theta)
    ref = pgmath.estimators.reward_to_go(batch, policy, theta)
    scale = 1.0 + np.abs(batch.rewards).sum(axis=1, keepdims=True)
    assert np.all(np.abs(rows - ref) <= 1e-12 * scale)
