"""Small problems shared by the adapter and gallery tests: the rational problems of
tests/reference.py as a pg_reference.Problem (the independent side) and as pgmath objects
(the side under test)."""
import numpy as np

import pgmath

import pg_reference as pr
from reference import random_rational_problem


def problem(seed: int, T: int, gamma: float, S: int = 2, A: int = 2) -> pr.Problem:
    """Rational P, R, p0 and a policy table with every π(a|s) > 0 (θ = log π)."""
    P, R, p0, pi, _ = random_rational_problem(seed, S=S, A=A)
    return pr.Problem(P, R, p0, pi, T, gamma)


def as_pgmath(pb: pr.Problem):
    """(TabularMDP, SoftmaxPolicy, θ) for the same problem."""
    mdp = pgmath.TabularMDP(pb.P, pb.R, pb.p0, horizon=pb.T, discount=pb.gamma)
    return mdp, pgmath.SoftmaxPolicy(pb.S, pb.A), pb.theta


def exact_mean(estimator, mdp, policy, theta):
    """(E g ``[d]``, E|g| ``[d]``, rows ``[M, d]``) over every trajectory, accumulated in float64."""
    batch, prob = pgmath.enumerate_trajectories(mdp, policy, theta)
    g = estimator(batch, policy, theta)
    return prob @ np.asarray(g, dtype=float), prob @ np.abs(np.asarray(g, dtype=float)), g


def float32_close(mean, abs_mean, expected) -> bool:
    """|E g − expected| ≤ 1e-5 max E|g|: float32 rounding (unit roundoff 6e-8) of the few
    operations behind each term, with a margin of ~100; the biases the tests tell apart
    are ≥ 1e-3."""
    return bool(np.all(np.abs(mean - expected) <= 1e-5 * abs_mean.max()))


def cleanrl_gae(lam: float):
    """CleanRL's ppo.py GAE loop, transcribed ([T, N] time-major, ``dones[t]`` = s_t starts
    an episode, ``next_value``/``next_done`` for the step after the last)."""
    def advantages(x):
        rewards, values, dones = x.rewards, x.values, x.episode_starts.astype(x.rewards.dtype)
        next_value, next_done = x.last_values, x.last_dones.astype(x.rewards.dtype)
        num_steps = rewards.shape[0]
        adv = np.zeros_like(rewards)
        lastgaelam = 0
        for t in reversed(range(num_steps)):
            if t == num_steps - 1:
                nextnonterminal = 1.0 - next_done
                nextvalues = next_value
            else:
                nextnonterminal = 1.0 - dones[t + 1]
                nextvalues = values[t + 1]
            delta = rewards[t] + x.gamma * nextvalues * nextnonterminal - values[t]
            adv[t] = lastgaelam = delta + x.gamma * lam * nextnonterminal * lastgaelam
        return adv
    return advantages


def assert_float32_step_discounted(est, pb, mdp, policy, theta) -> None:
    """A float32 advantage estimator Σ_t ψ_t Â_t with the exact V (w_t = 1): its rows are
    float32, its exact mean is ∇J_γ + Σ_t (1 − γ^t) E[ψ_t A_t] (tests/pg_reference.py) to
    float32 rounding, and ``check_unbiased`` with default settings says "unbiased" for
    γ = 1, "biased" (by that amount, > 1e-2 here) for γ < 1."""
    import numpy as np
    mean, abs_mean, g = exact_mean(est, mdp, policy, theta)
    assert g.dtype == np.float32
    truth = pr.gradient(pb)
    bias = pr.weighted_advantage_mean(pb, 1.0 - pb.gamma ** np.arange(pb.T))
    assert float32_close(mean, abs_mean, truth + bias)
    res = pgmath.check_unbiased(est, mdp, policy, theta)    # default settings
    assert res.precision == "float32"
    assert res.verdict == ("unbiased" if pb.gamma == 1.0 else "biased"), res.report
    assert float32_close(res.bias, abs_mean, bias)
    if pb.gamma < 1.0:
        assert np.abs(bias).max() > 1e-2


def error_said_once(check, fn, prefix: str) -> str:
    """The message of the EstimatorError ``check()`` raises, asserted to start with
    ``prefix`` (``{at}`` → ``"at <file of fn>:<line after its def>"``, the line that
    raised) and to say "raised" once, wrapping no other EstimatorError."""
    import os

    import pytest

    from pgmath.errors import EstimatorError
    with pytest.raises(EstimatorError) as info:
        check()
    msg = str(info.value)
    code = fn.__code__
    at = f"at {os.path.basename(code.co_filename)}:{code.co_firstlineno + 1}"
    assert msg.startswith(prefix.format(at=at)), msg
    assert msg.count("raised") == 1 and "EstimatorError" not in msg, msg
    return msg
