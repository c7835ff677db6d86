"""Named environments reproduce their known answers.

Expected values: Sutton & Barto (2nd ed.) Figure 3.2 (Example 3.5, equiprobable policy) and
Figure 3.5 (V*), printed to one decimal; the short corridor's J(p) derived here with SymPy
from its Bellman equations; closed forms for the bandit, chain and tightrope.
"""
from math import comb

import numpy as np
import pytest
import sympy as sp

import pgmath
from pgmath import environments as envs
from pgmath import exact

# Sutton & Barto, Figure 3.2 (right): v_π for the equiprobable random policy, γ = 0.9.
SB_FIG_3_2 = [[3.3, 8.8, 4.4, 5.3, 1.5],
              [1.5, 3.0, 2.3, 1.9, 0.5],
              [0.1, 0.7, 0.7, 0.4, -0.4],
              [-1.0, -0.4, -0.4, -0.6, -1.2],
              [-1.9, -1.3, -1.2, -1.4, -2.0]]
# Sutton & Barto, Figure 3.5 (middle): v*.
SB_FIG_3_5 = [[22.0, 24.4, 22.0, 19.4, 17.5],
              [19.8, 22.0, 19.8, 17.8, 16.0],
              [17.8, 19.8, 17.8, 16.0, 14.4],
              [16.0, 17.8, 16.0, 14.4, 13.0],
              [14.4, 16.0, 14.4, 13.0, 11.7]]
ONE_DECIMAL = 0.05 + 1e-9


def test_gridworld_reproduces_sutton_barto_example_3_5():
    mdp = envs.gridworld()
    pol = envs.default_policy(mdp)
    V = exact.values(mdp, pol, np.zeros(pol.n_params)).reshape(5, 5)
    assert np.max(np.abs(V - np.array(SB_FIG_3_2))) <= ONE_DECIMAL
    V_star = exact.optimal_values(mdp).reshape(5, 5)
    assert np.max(np.abs(V_star - np.array(SB_FIG_3_5))) <= ONE_DECIMAL


def test_gridworld_walls_goals_and_off_grid_penalty():
    """Layout by hand, γ = 0.9: S at (0,0), wall at (0,1), goal at (0,2): the shortest path
    S→(1,0)→(1,1)→(1,2)→G pays only the goal reward 1 on the 4th move, so V*(S) = 0.9³."""
    mdp = envs.gridworld(["S#G", "..."], discount=0.9)
    V = exact.optimal_values(mdp)
    cells = [(0, 0), (0, 2), (1, 0), (1, 1), (1, 2)]  # free cells, row-major
    assert mdp.n_states == 5 and mdp.p0[0] == 1.0
    assert V[0] == pytest.approx(0.9 ** 3)
    assert V[cells.index((0, 2))] == 0.0  # the goal is terminal
    Q = exact.optimal_q_values(mdp)
    up = [name for name, _ in envs.GRID_ACTIONS].index("up")
    right = [name for name, _ in envs.GRID_ACTIONS].index("right")
    assert Q[0, up] == pytest.approx(-1.0 + 0.9 * V[0])  # off the grid: −1, stay
    assert Q[0, right] == pytest.approx(0.9 * V[0])  # into the wall: 0, stay
    slippery = envs.gridworld(["S.G"], slip=0.2, discount=0.9)
    np.testing.assert_allclose(slippery.P.sum(axis=2), 1.0)


def _corridor_bellman():
    """V₀(p) of the short corridor from its Bellman equations, solved by SymPy:
    V0 = −1 + p V1 + (1−p) V0, V1 = −1 + p V0 + (1−p) V2 (actions switched),
    V2 = −1 + p·0 + (1−p) V1 (right from 2 reaches the goal)."""
    p, v0, v1, v2 = sp.symbols("p v0 v1 v2")
    sol = sp.solve([sp.Eq(v0, -1 + p * v1 + (1 - p) * v0),
                    sp.Eq(v1, -1 + p * v0 + (1 - p) * v2),
                    sp.Eq(v2, -1 + (1 - p) * v1)], [v0, v1, v2], dict=True)[0]
    return p, sp.simplify(sol[v0])


def test_short_corridor_closed_form_and_optimum():
    p, J = _corridor_bellman()
    assert sp.simplify(J - (2 * p - 4) / (p * (1 - p))) == 0
    crit = [c for c in sp.solve(sp.diff(J, p), p) if c.is_real and 0 < c < 1]
    assert crit == [2 - sp.sqrt(2)]
    mdp = envs.short_corridor()
    pol = envs.default_policy(mdp)
    for q in (0.1, 0.3, 0.5, float(2 - np.sqrt(2)), 0.9):
        theta = np.array([0.0, np.log(q / (1 - q))])
        assert exact.objective(mdp, pol, theta) == pytest.approx(float(J.subs(p, q)), rel=1e-12)
        assert envs.short_corridor_objective(q) == pytest.approx(float(J.subs(p, q)), rel=1e-12)
    q = 2 - np.sqrt(2)
    g = exact.gradient(mdp, pol, np.array([0.0, np.log(q / (1 - q))]))
    np.testing.assert_allclose(g, 0.0, atol=1e-9)  # the optimum is a stationary point
    # J(2 − √2) = −2√2 / (3√2 − 4) = −6 − 4√2 (by hand)
    assert sp.simplify(J.subs(p, 2 - sp.sqrt(2)) - (-6 - 4 * sp.sqrt(2))) == 0
    assert exact.objective(mdp, pol, np.array([0.0, np.log(q / (1 - q))])) == pytest.approx(
        -6 - 4 * np.sqrt(2), rel=1e-12)


def test_bandit_closed_form():
    mdp = envs.bandit((0.2, 0.5, 0.8), horizon=3)
    pol = envs.default_policy(mdp)
    assert exact.objective(mdp, pol, np.zeros(3)) == pytest.approx(3 * 0.5)
    assert exact.optimal_objective(mdp) == pytest.approx(3 * 0.8)
    theta = np.array([0.0, 1.0, 2.0])
    w = np.exp(theta) / np.exp(theta).sum()
    assert exact.objective(mdp, pol, theta) == pytest.approx(3 * w @ [0.2, 0.5, 0.8])


def test_chain_optimum_is_always_right_with_a_binomial_closed_form():
    """Always right: s_t = min(#successes in t Bernoulli(0.9) trials, 4), and the right
    action at the last state pays 1 whether or not it slips, so
    J = Σ_{t<20} P(s_t = 4) = Σ_{t<20} P(Bin(t, 0.9) ≥ 4)."""
    mdp = envs.chain()
    J_right = sum(sum(comb(t, k) * 0.9 ** k * 0.1 ** (t - k) for k in range(4, t + 1))
                  for t in range(20))
    assert exact.objective(mdp, np.tile([0.0, 1.0], (5, 1))) == pytest.approx(J_right, rel=1e-12)
    assert exact.optimal_objective(mdp) == pytest.approx(J_right, rel=1e-12)


@pytest.mark.parametrize("A", [2, 3])
def test_tightrope_closed_form(A):
    """Uniform policy: first error at t with probability (1/A)^t (1 − 1/A), then T − t
    steps of −1: J = −Σ_{t<T} (1/A)^t (1 − 1/A)(T − t). The expert has J* = 0."""
    L = 6
    mdp = envs.tightrope(L, n_actions=A)
    pol = envs.default_policy(mdp)
    J = -sum((1 / A) ** t * (1 - 1 / A) * (L - t) for t in range(L))
    assert exact.objective(mdp, pol, np.zeros(pol.n_params)) == pytest.approx(J, rel=1e-12)
    assert exact.optimal_objective(mdp) == 0.0


def test_make_and_names():
    assert envs.names() == sorted(["bandit", "chain", "double_integrator", "gridworld",
                                   "short_corridor", "tightrope"])
    for name in envs.names():
        assert isinstance(envs.make(name), (pgmath.TabularMDP, pgmath.lqr.LQRProblem))
    with pytest.raises(pgmath.InvalidMDPError, match="unknown environment 'maze'"):
        envs.make("maze")
    with pytest.raises(pgmath.InvalidMDPError, match="teleport cell"):
        envs.gridworld(["..", ".."], teleports={(5, 5): ((0, 0), 1.0)})


# -- one table of named environments -------------------------------------------------------
def test_the_check_battery_reads_the_environments_table():
    """`pgmath check`'s battery covers every named tabular environment, at the horizon the
    table gives, and names no environment the table lacks."""
    from pgmath.commands import check as cmd
    tabular = {n for n in envs.names() if isinstance(envs.make(n), pgmath.TabularMDP)}
    assert set(cmd.NAMED_HORIZONS) == tabular
    assert all(cmd.NAMED_HORIZONS[n] == envs.NAMED[n].check_horizon for n in tabular)
    assert set(cmd.LARGE_HORIZONS) <= set(envs.names())
    names = [row[0] for row in cmd.battery(0, large=False)]
    assert names == [f"{n} (T={T})" for n, T in cmd.NAMED_HORIZONS.items()]


# -- the seeded problem factory --------------------------------------------------------------
def test_random_mdp_draws_what_its_docstring_says_in_that_order():
    """Independent route: the documented draws made by hand from a twin generator."""
    S, A, T, k = 3, 2, 4, 0.5
    mdp = envs.random_mdp(np.random.default_rng(5), S, A, T, discount=0.9, pomdp=True, n_obs=3,
                          rewards_next_state=True, concentration=k, reward_scale=2.0)
    rng = np.random.default_rng(5)
    P = rng.dirichlet(np.full(S, k), size=(S, A))
    R = 2.0 * rng.normal(size=(S, A, S))
    p0 = rng.dirichlet(np.ones(S))
    O = rng.dirichlet(np.ones(3), size=S)
    assert isinstance(mdp, pgmath.POMDP) and (mdp.horizon, mdp.discount) == (T, 0.9)
    for got, want in ((mdp.P, P), (mdp.R, R), (mdp.p0, p0), (mdp.O, O)):
        np.testing.assert_array_equal(got, want)


def test_random_problem_is_a_function_of_the_generator_state():
    a = envs.random_problem(np.random.default_rng(7), 2, 3, None, discount=0.8)
    b = envs.random_problem(np.random.default_rng(7), 2, 3, None, discount=0.8)
    c = envs.random_problem(np.random.default_rng(8), 2, 3, None, discount=0.8)
    assert type(a[1]) is pgmath.SoftmaxPolicy and a[2].shape == (6,)
    np.testing.assert_array_equal(a[0].P, b[0].P)
    np.testing.assert_array_equal(a[2], b[2])
    assert not np.array_equal(a[0].P, c[0].P)
    assert a[0].horizon is None and a[0].R.shape == (2, 3)
