"""REINFORCE / NPG / TRPO loops against the exact optimum (small budgets)."""
import numpy as np
import pytest

import pgmath
from pgmath.algorithms import policy_gradient as pg
from pgmath.errors import PgmathError


def test_reference_optimum_of_short_corridor_is_the_closed_form_maximum():
    """J(p) = (2p − 4)/(p(1 − p)) maximised on a fine grid (independent of the code's
    p = 2 − √2) agrees to 1e-6; for the chain it is the engine's backward induction."""
    p = np.linspace(1e-3, 1 - 1e-3, 200_001)
    best = np.max((2 * p - 4) / (p * (1 - p)))
    assert pg.reference_optimum(pgmath.environments.short_corridor()) == pytest.approx(best, abs=1e-6)
    chain = pgmath.environments.chain()
    assert pg.reference_optimum(chain) == pgmath.exact.optimal_objective(chain)


def test_exact_npg_on_bandit_reaches_the_best_arm():
    """Bandit means (0.2, 0.5, 0.8): J* = 0.8 (by hand); exact NPG with α = 0.5 from θ = 0
    gets within 1e-3 in 40 steps, monotonically."""
    mdp = pgmath.environments.bandit()
    res = pg.npg(mdp, pgmath.SoftmaxPolicy(1, 3), np.zeros(3), iterations=40, step_size=0.5)
    assert res.optimum == pytest.approx(0.8)
    assert res.gap < 1e-3
    assert np.all(np.diff(res.objectives) >= -1e-12)


@pytest.mark.parametrize("alg", pg.ALGORITHMS)
def test_every_algorithm_closes_most_of_the_gap_on_the_chain(alg):
    """30 iterations on the chain (T = 20): the final gap to J* is < 25% of the initial gap
    (deterministic seed)."""
    res = pg.run("chain", alg, iterations=30, seed=0)
    gap0 = res.optimum - res.objectives[0]
    assert 0 <= res.gap + 1e-9 < 0.25 * gap0


def test_runs_are_deterministic_given_the_seed():
    a = pg.run("short_corridor", "trpo", iterations=5, seed=3)
    b = pg.run("short_corridor", "trpo", iterations=5, seed=3)
    c = pg.run("short_corridor", "trpo", iterations=5, seed=4)
    np.testing.assert_array_equal(a.thetas, b.thetas)
    assert not np.array_equal(a.thetas, c.thetas)


def test_exact_trpo_improves_on_short_corridor():
    """The POMDP: exact TRPO from p ≈ 0.18 improves J and ends within 0.5 of J(2 − √2)."""
    res = pg.run("short_corridor", "trpo_exact", iterations=40)
    assert res.objectives[-1] > res.objectives[0]
    assert res.gap < 0.5


def test_bad_arguments():
    with pytest.raises(PgmathError, match="environment"):
        pg.run("maze", "npg")
    with pytest.raises(PgmathError, match="algorithm"):
        pg.run("chain", "ppo")
    mdp = pgmath.environments.bandit()
    with pytest.raises(PgmathError, match="exactly one"):
        pg.npg(mdp, pgmath.SoftmaxPolicy(1, 3), np.zeros(3), iterations=2, step_size=1.0,
               epsilon=0.1)
    with pytest.raises(PgmathError, match="iterations"):
        pg.reinforce(mdp, pgmath.SoftmaxPolicy(1, 3), np.zeros(3), iterations=0, batch_size=1,
                     step_size=1.0)
