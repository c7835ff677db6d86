"""The forward–backward recursion over score labels (pgmath.exact.forward_backward) held to
three independent routes:

* the state-conditioned recursion (``algorithm="state"``, the reference route: it carries
  E[V ⊗ V 1{s_t = s}] densely and never forms labels, co-states or a sandwich), to 1e-10
  relative, on random problems *and random StepWeights descriptions* (every weight, table,
  offset and ratio power drawn at random: what a user's own description may be);
* enumeration of every trajectory with the description evaluated along each one
  (``StepWeights.evaluate``, with the behaviour's log-ratios);
* exact rationals (``tests/reference.py``, which imports nothing of pgmath), which also
  check the rounding bound the check path uses: |computed − exact| ≤ γ_K · (the run on
  absolute values).
"""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pgmath
from pgmath.environments import random_mdp
import reference as ref
from pgmath.check.recursion_moments import recursion_moments
from pgmath import estimators as E
from pgmath import regressions
from pgmath import strategies as pst
from pgmath.errors import InvalidArgumentError
from pgmath.policy_tables import tabular_blocks
from pgmath.exact.recursion import (StepWeights, accumulator_moments, recursion_rounding_depth,
                                    recursive_moments)

REL = 1e-10


def random_spec(rng: np.random.Generator, T: int, S: int, A: int, X: int, d: int) -> StepWeights:
    """A StepWeights with every part switched on or off at random (tables with broadcast
    axes, both signs, ratio powers 0..2)."""
    def maybe(p, draw):
        return draw() if rng.random() < p else None

    def table(n_x):
        shape = (T, rng.choice([1, n_x]), rng.choice([1, A]), rng.choice([1, S]))
        return rng.normal(size=shape)

    kw = dict(kappa=maybe(0.7, lambda: rng.normal(size=T)),
              rho=float(rng.uniform(-1.0, 1.2)),
              beta=maybe(0.4, lambda: rng.normal(size=T)),
              alpha=maybe(0.8, lambda: rng.normal(size=T)),
              eta=maybe(0.5, lambda: rng.normal(size=T)),
              y=maybe(0.4, lambda: table(S)), c=maybe(0.4, lambda: table(S)),
              cx=maybe(0.3, lambda: rng.normal(size=(T, X, rng.choice([1, A])))),
              offset=maybe(0.4, lambda: rng.normal(size=d)),
              ratio_powers=tuple(int(k) for k in rng.integers(0, 3, size=4))
              if rng.random() < 0.5 else (0, 0, 0, 0))
    if kw["offset"] is not None:
        kw["omega"] = rng.normal(size=T)
    return StepWeights.make(T, **{k: (0.0 if v is None and k in ("kappa", "beta", "alpha", "eta")
                                      else v) for k, v in kw.items()})


def _assert_routes_agree(mdp, pol, th, tb, spec):
    """Forward–backward against the state-conditioned recursion, row by row."""
    rows, m_fb, W_fb = accumulator_moments(spec, mdp, pol, th, theta_behaviour=tb)
    rows_s, m_s, W_s = accumulator_moments(spec, mdp, pol, th, theta_behaviour=tb,
                                           algorithm="state")
    idx = [rows_s.index(r) for r in rows]
    m_s, W_s = m_s[idx], W_s[idx][:, :, idx]
    scale = np.abs(W_s).max() + 1e-300
    assert np.abs(W_fb - W_s).max() <= REL * scale, (rows, np.abs(W_fb - W_s).max() / scale)
    assert np.abs(m_fb - m_s).max() <= REL * np.sqrt(scale) + 1e-300
    mean, cov = recursive_moments(spec, mdp, pol, th, theta_behaviour=tb)
    mean_s, cov_s = recursive_moments(spec, mdp, pol, th, theta_behaviour=tb, algorithm="state")
    c_scale = np.abs(cov_s + np.outer(mean_s, mean_s)).max() + 1e-300
    assert np.abs(cov - cov_s).max() <= REL * c_scale
    assert np.abs(mean - mean_s).max() <= REL * np.sqrt(c_scale) + 1e-300


def _assert_random_case_agrees(problem, seed, off_policy):
    """A random description (and behaviour θ when ``off_policy``) on a drawn problem."""
    mdp, pol, th = problem
    rng = np.random.default_rng(seed)
    tb = th + rng.normal(size=th.size) if off_policy else None
    spec = random_spec(rng, mdp.horizon, mdp.n_states, mdp.n_actions, pol.n_inputs, pol.n_params)
    _assert_routes_agree(mdp, pol, th, tb, spec)


@given(pst.problems(max_states=4, max_actions=3, horizon=(1, 6), max_logit=2.0,
                    allow_extreme=False, discount=st.sampled_from([1.0, 0.9])),
       st.integers(0, 2 ** 32 - 1), st.booleans())
@settings(max_examples=60, deadline=None)
def test_random_descriptions_equal_the_state_recursion_on_mdps(problem, seed, off_policy):
    _assert_random_case_agrees(problem, seed, off_policy)


@given(pst.problems(pomdp=True, max_states=3, max_actions=2, max_observations=3,
                    horizon=(1, 5), max_logit=2.0, allow_extreme=False),
       st.integers(0, 2 ** 32 - 1), st.booleans())
@settings(max_examples=40, deadline=None)
def test_random_descriptions_equal_the_state_recursion_on_pomdps(problem, seed, off_policy):
    """Observation policies: labels z = (o, a), the chain over the pairs (s, o)."""
    _assert_random_case_agrees(problem, seed, off_policy)


@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 6), st.booleans())
@settings(max_examples=30, deadline=None)
def test_linear_softmax_policies_take_the_dense_sandwich(seed, d, off_policy):
    """A linear-softmax policy has a dense score table (no block structure): the general
    sandwich Ψᵀ K Ψ, against the state recursion."""
    rng = np.random.default_rng(seed)
    S, A, T = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
    mdp = random_mdp(rng, S, A, T, discount=0.9)
    pol = pgmath.LinearSoftmaxPolicy(rng.normal(size=(S, A, d)))
    th = rng.normal(size=d)
    tb = th + rng.normal(size=d) if off_policy else None
    assert tabular_blocks(pol.score(th)) is None or d == S * A
    _assert_routes_agree(mdp, pol, th, tb, random_spec(rng, T, S, A, S, d))


@given(pst.problems(max_states=3, max_actions=2, horizon=(1, 4), max_logit=2.0,
                    allow_extreme=False, discount=st.sampled_from([1.0, 0.9])),
       st.integers(0, 2 ** 32 - 1), st.booleans())
@settings(max_examples=40, deadline=None)
def test_random_descriptions_equal_enumeration(problem, seed, off_policy):
    """Every trajectory of the behaviour, the description evaluated along it
    (``StepWeights.evaluate`` with the log-ratios), weighted by p_θb(τ). Rewards are
    written R[s, a, s'] so that enumeration draws s_T (tables may read it)."""
    mdp, pol, th = problem
    if mdp.R.ndim == 2:
        mdp = type(mdp)(**{**mdp._fields(), "R": np.repeat(mdp.R[:, :, None], mdp.n_states, 2)})
    rng = np.random.default_rng(seed)
    tb = th + rng.normal(size=th.size) if off_policy else th
    spec = random_spec(rng, mdp.horizon, mdp.n_states, mdp.n_actions, pol.n_inputs, pol.n_params)
    batch, p = pgmath.enumerate_trajectories(mdp, pol, tb)
    p = p / p.sum()
    g = spec.evaluate(batch, E.step_scores(batch, pol, th), E.log_ratios(batch, pol, th))
    m1 = p @ g
    second = (g * p[:, None]).T @ g
    mean, cov = recursive_moments(spec, mdp, pol, th, theta_behaviour=tb)
    scale = np.abs(second).max() + 1e-300
    assert np.abs(mean - m1).max() <= 1e-9 * np.sqrt(scale) + 1e-300
    assert np.abs(cov + np.outer(mean, mean) - second).max() <= 1e-9 * scale


def test_tabular_blocks_are_found_from_the_table():
    """Block structure is read off the score table, not the policy's class: a tabular
    softmax and a linear softmax with one-hot features both have it; dense features and a
    table with one entry outside its block do not."""
    rng = np.random.default_rng(0)
    S, A = 3, 2
    th = rng.normal(size=S * A)
    psi = pgmath.SoftmaxPolicy(S, A).score(th)
    blocks = tabular_blocks(psi)
    np.testing.assert_array_equal(blocks[1], psi[1, :, 2:4])
    onehot = pgmath.LinearSoftmaxPolicy(np.eye(S * A).reshape(S, A, S * A))
    np.testing.assert_allclose(tabular_blocks(onehot.score(th)), blocks, atol=1e-15)
    assert tabular_blocks(pgmath.LinearSoftmaxPolicy(rng.normal(size=(S, A, 4))).score(th[:4])) is None
    leak = psi.copy()
    leak[0, 0, 5] = 1e-300
    assert tabular_blocks(leak) is None


def _rational_case(seed, S=2, A=2, T=3, n_obs=None, gamma=Fraction(9, 10), r3=False):
    P, R, p0, pi, O = ref.random_rational_problem(seed, S, A, n_obs, next_state_rewards=r3)
    f = ref.as_float
    kw = dict(horizon=T, discount=float(gamma))
    mdp = (pgmath.TabularMDP(f(P), f(R), f(p0), **kw) if O is None
           else pgmath.POMDP(f(P), f(R), f(p0), f(O), **kw))
    X = S if O is None else n_obs
    pol = pgmath.SoftmaxPolicy(X, A) if O is None else pgmath.ObservationSoftmaxPolicy(X, A)
    th = np.log(f(pi)).ravel()
    return (P, R, p0, pi, O), mdp, pol, th


@pytest.mark.parametrize("seed,n_obs,r3", [(0, None, False), (1, None, True), (2, 2, False),
                                           (3, 3, True)])
@pytest.mark.parametrize("form", ["reinforce", "reward_to_go"])
def test_exact_rationals_and_the_rounding_bound(seed, n_obs, r3, form):
    """E[g] and Var g_j of REINFORCE and reward-to-go in exact rationals (enumeration with
    Fractions): the float recursion is within the check path's rounding slack of them
    (γ_K times the run on absolute values, K from recursion_rounding_depth), and within
    1e-12 relative; the absolute run dominates the exact magnitudes."""
    gamma = Fraction(9, 10)
    (P, R, p0, pi, O), mdp, pol, th = _rational_case(seed, n_obs=n_obs, r3=r3, gamma=gamma)
    mean_q, second_q = ref.score_weight_moments(P, R, p0, pi, 3, gamma, O, form=form)
    var_q = np.array([second_q[i, i] - mean_q[i] ** 2 for i in range(len(mean_q))], dtype=object)
    est = E.reinforce if form == "reinforce" else E.reward_to_go
    rm = recursion_moments(est, mdp, pol, th)
    err_mean = np.abs(rm.mean - ref.as_float(mean_q))
    err_var = np.abs(np.diag(rm.cov) - ref.as_float(var_q))
    assert np.all(err_mean <= rm.slack), (err_mean, rm.slack)
    assert np.all(err_var <= rm.var_slack), (err_var, rm.var_slack)
    scale = float(max(abs(v) for v in second_q.ravel()))
    assert err_mean.max() <= 1e-12 * np.sqrt(scale) and err_var.max() <= 1e-12 * scale
    second = rm.cov + np.outer(rm.mean, rm.mean)
    np.testing.assert_allclose(second, ref.as_float(second_q), rtol=0, atol=1e-12 * scale)
    K = recursion_rounding_depth(est, mdp, pol, th)
    assert rm.depth == K and 0 < K < 10_000


def test_algorithm_must_be_known():
    mdp, pol, th = regressions.two_armed_bandit()
    with pytest.raises(InvalidArgumentError, match="algorithm must be one of"):
        recursive_moments(E.reinforce, mdp, pol, th, algorithm="fast")


def test_long_horizon_against_the_policy_gradient_theorem():
    """T = 300 on a random 6-state MDP (enumeration impossible, the state recursion slow):
    E[reward_to_go] = ∇J (policy-gradient theorem route), and the trace of the covariance
    of REINFORCE exceeds reward-to-go's (PG-7)."""
    rng = np.random.default_rng(11)
    S, A, T = 6, 3, 300
    mdp = random_mdp(rng, S, A, T, discount=0.99)
    pol = pgmath.SoftmaxPolicy(S, A)
    th = rng.normal(size=S * A)
    m, c = recursive_moments(E.reward_to_go, mdp, pol, th)
    g = pgmath.exact.gradient(mdp, pol, th)
    np.testing.assert_allclose(m, g, rtol=1e-9, atol=1e-9 * np.abs(g).max())
    _, c_r = recursive_moments(E.reinforce, mdp, pol, th)
    assert np.trace(c) < np.trace(c_r)
    assert np.linalg.eigvalsh(c).min() > -1e-9 * np.abs(c).max()
