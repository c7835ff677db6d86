"""The imitation-learning bounds on the problems that attain them (issue 11, item 2).

A bound tested only where it is loose cannot see a wrong constant. On the tightrope
(positions 0..L−1, the expert walks one position per step, any other action falls into an
absorbing state) the bounds of pgmath.algorithms.behavioural_cloning are equalities:

* drift_bound: with an ε-learner the walker is still on the rope at step t with
  probability (1 − ε)^t, where the expert is with probability 1, so
  ‖p_θ(s_t) − p_train(s_t)‖₁ = 2(1 − (1 − ε)^t) exactly (IL-2).
* average_error_cost_bound Σ_k (T − k) ε_k: a learner that errs only at step k, with
  probability ε, on the rope, and never takes the expert's action once fallen, pays 1 at
  every step from k on after a mistake: cost (T − k) ε, and ε_t = ε·1[t = k] (IL-5).
* bc_cost_bound Σ_{t=1}^{T} (1 − (1 − ε)^t): the same ε-learner erring at every step and
  never recovering (tested against the engine in test_behavioural_cloning).
"""
import numpy as np
import pytest

from pgmath.algorithms import behavioural_cloning as bc
from pgmath.environments import tightrope


@pytest.mark.parametrize("eps", [0.05, 0.3])
def test_drift_bound_is_attained_on_the_tightrope(eps):
    T = 8
    mdp = tightrope(T, horizon=T)
    expert = bc.expert_policy(mdp)
    learner = bc.epsilon_learner(expert, eps)
    p_train, p_theta = bc.state_distributions(mdp, expert, learner)
    l1 = np.abs(p_theta - p_train).sum(axis=1)
    t = np.arange(T)
    np.testing.assert_allclose(l1, bc.drift_bound(eps, t), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(l1, 2 * (1 - (1 - eps) ** t), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("k", [0, 3, 7])
def test_average_error_cost_bound_is_attained_by_a_learner_erring_once(k):
    T, eps = 8, 0.2
    mdp = tightrope(T, horizon=T)
    expert = bc.expert_policy(mdp)             # [S, A]; fallen state: action 0
    fallen = mdp.n_states - 1
    learner = np.broadcast_to(expert, (T,) + expert.shape).copy()
    learner[k, k] = (1 - eps) * expert[k] + eps * (1 - expert[k])
    learner[:, fallen] = 1 - expert[fallen]    # never the expert's action once fallen
    eps_t = bc.epsilon_average(mdp, expert, learner, per_step=True)
    np.testing.assert_allclose(eps_t, eps * (np.arange(T) == k), atol=1e-15)
    cost = bc.expected_cost(mdp, expert, learner)
    assert cost == pytest.approx((T - k) * eps, rel=1e-12)
    assert bc.average_error_cost_bound(eps_t) == pytest.approx(cost, rel=1e-12)
