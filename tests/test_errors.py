"""Bad input to public functions raises a PgmathError subclass naming what is wrong.

Each case is (call, error class, a fragment the message must contain); the fragment is
the argument's name or the offending value, so a generic message would fail.
"""
import dataclasses

import numpy as np
import pytest

import pgmath as pg
from pgmath import environments as env
from pgmath import estimators as E
from pgmath import exact as X
from pgmath.algorithms import behavioural_cloning as bc
from pgmath.algorithms import dagger as dg
from pgmath.algorithms import gcsl as gc
from pgmath.errors import (EstimatorError, InvalidArgumentError, InvalidPolicyError, PgmathError,
                           ShapeError)

MDP = env.chain(3)
POL = pg.SoftmaxPolicy(MDP.n_states, MDP.n_actions)
TH = np.zeros(POL.n_params)
BANDIT = env.bandit()
EXPERT = bc.expert_policy(BANDIT)


def _batch(behaviour=True):
    b = pg.sample(MDP, POL, TH, 4, np.random.default_rng(0), n_steps=3)
    return b if behaviour else dataclasses.replace(b, behaviour_log_probs=None)


CASES = {
    "sample n=0": (lambda: pg.sample(MDP, POL, TH, 0, np.random.default_rng(0), n_steps=3),
                   InvalidArgumentError, "got 0"),
    "sample n=2.5": (lambda: pg.sample(MDP, POL, TH, 2.5, np.random.default_rng(0), n_steps=3),
                     InvalidArgumentError, "2.5"),
    "gae lam 1.5": (lambda: E.gae(np.zeros(3), 1.5), EstimatorError, "1.5"),
    "gae lam nan": (lambda: E.gae(np.zeros(3), float("nan")), EstimatorError, "nan"),
    "gae lam str": (lambda: E.gae(np.zeros(3), "x"), EstimatorError, "'x'"),
    "state_baseline shape": (lambda: E.state_baseline(np.zeros((2, 2, 2)))(_batch(), POL, TH),
                             ShapeError, "(2, 2, 2)"),
    "q_critic shape": (lambda: E.q_critic(np.zeros(3))(_batch(), POL, TH), ShapeError, "(3,)"),
    "gae V width": (lambda: E.gae(np.zeros(4), 0.5)(_batch(), POL, TH), ShapeError, "4 states"),
    "state_baseline V width": (lambda: E.state_baseline(np.zeros(4))(_batch(), POL, TH),
                               ShapeError, "4 states"),
    "q_critic Q width": (lambda: E.q_critic(np.zeros((3, 5)))(_batch(), POL, TH),
                         ShapeError, "5 actions"),
    "advantage_critic A states": (lambda: E.advantage_critic(np.zeros((2, 2)))(_batch(), POL, TH),
                                  ShapeError, "2 states"),
    "q_critic nan": (lambda: E.q_critic(np.full((3, 2), np.nan)), EstimatorError, "nan"),
    "constant_baseline length": (lambda: E.constant_baseline(np.zeros(7))(_batch(), POL, TH),
                                 ShapeError, "7"),
    "trajectory_is without mu": (lambda: E.trajectory_is(_batch(False), POL, TH),
                                 EstimatorError, "behaviour_log_probs"),
    "per_decision_is without mu": (lambda: E.per_decision_is(_batch(False), POL, TH),
                                   EstimatorError, "behaviour_log_probs"),
    "is_surrogate without mu": (lambda: E.is_surrogate(_batch(False), POL, TH),
                                EstimatorError, "behaviour_log_probs"),
    "natural_gradient method": (lambda: E.natural_gradient(MDP, POL, TH, method="x"),
                                InvalidArgumentError, "'x'"),
    "trpo_step_exact KL budget 0": (lambda: E.trpo_step_exact(MDP, POL, TH, 0.0), PgmathError, "ε"),
    "trpo_step_exact KL budget -1": (lambda: E.trpo_step_exact(MDP, POL, TH, -1.0),
                                     PgmathError, "-1"),
    "trpo_step_sampled KL budget 0": (lambda: E.trpo_step_sampled(_batch(), POL, TH, 0.0),
                                      PgmathError, "ε"),
    "kl_step_size KL budget nan": (lambda: E.kl_step_size(np.ones(2), np.ones(2), float("nan")),
                                   PgmathError, "nan"),
    "conjugate_gradient damping": (lambda: E.conjugate_gradient(lambda v: v, np.ones(2), damping=-1),
                                   PgmathError, "damping"),
    "fisher weighting": (lambda: X.fisher(MDP, POL, TH, weighting="x"), InvalidArgumentError, "weighting"),
    "kl weights_from": (lambda: X.kl(MDP, POL, TH, TH, weights_from="x"),
                        InvalidArgumentError, "weights_from"),
    "gradient method": (lambda: X.gradient(MDP, POL, TH, method="x"), InvalidArgumentError, "'x'"),
    "epsilon_learner eps 1.5": (lambda: bc.epsilon_learner(EXPERT, 1.5), InvalidPolicyError, "1.5"),
    "epsilon_learner eps nan": (lambda: bc.epsilon_learner(EXPERT, float("nan")),
                                InvalidPolicyError, "nan"),
    "bc_cost_bound eps nan": (lambda: bc.bc_cost_bound(float("nan"), 5), InvalidPolicyError, "nan"),
    "bc_cost_bound eps 2": (lambda: bc.bc_cost_bound(2.0, 5), InvalidPolicyError, "2"),
    "bc_cost_bound T -3": (lambda: bc.bc_cost_bound(0.1, -3), InvalidArgumentError, "-3"),
    "bc_series_bound T 2.5": (lambda: bc.bc_series_bound(0.1, 2.5), InvalidArgumentError, "2.5"),
    "drift_bound t -1": (lambda: bc.drift_bound(0.1, -1), InvalidArgumentError, "-1"),
    "notes_cost_bound eps -1": (lambda: bc.notes_cost_bound(-1.0, 3), InvalidPolicyError, "-1"),
    "average_error_cost_bound eps 2": (lambda: bc.average_error_cost_bound([2.0, 0.1]),
                                       InvalidPolicyError, "2.0"),
    "average_error_cost_bound empty": (lambda: bc.average_error_cost_bound([]), ShapeError, "(0,)"),
    "clone n 0": (lambda: bc.clone(BANDIT, EXPERT, 0, np.random.default_rng(0)),
                  InvalidArgumentError, "got 0"),
    "dagger n_rounds -1": (lambda: dg.dagger(BANDIT, EXPERT, n_rounds=-1, n_trajectories=3,
                                                rng=np.random.default_rng(0)),
                              InvalidArgumentError, "n_rounds"),
    "gcsl n_trajectories 0": (lambda: gc.gcsl(BANDIT, [0], n_iterations=1, n_trajectories=0),
                              InvalidArgumentError, "n_trajectories"),
    "gcsl goal out of range": (lambda: gc.gcsl(BANDIT, [99], n_iterations=1, n_trajectories=1),
                               ShapeError, "goals"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_named(name):
    call, error, fragment = CASES[name]
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


def test_sample_rejects_a_non_generator_rng_naming_it():
    """A seed passed as rng is a TypeError (not a silent global-state draw) naming its type."""
    with pytest.raises(TypeError, match="got int 0"):
        pg.sample(MDP, POL, TH, 3, 0, n_steps=3)


def test_every_error_is_a_value_error():
    for name in pg.errors.__all__:
        assert issubclass(getattr(pg.errors, name), ValueError), name
