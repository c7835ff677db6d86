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
    classes = [getattr(pg.errors, n) for n in pg.errors.__all__ if isinstance(getattr(pg.errors, n), type)]
    assert len(classes) >= 12
    for cls in classes:
        assert issubclass(cls, pg.errors.PgmathError), cls


def test_a_non_generator_is_also_a_type_error():
    with pytest.raises(pg.errors.NotAGeneratorError, match="got int 0"):
        pg.sample(MDP, POL, TH, 3, 0, n_steps=3)
    assert issubclass(pg.errors.NotAGeneratorError, TypeError)
    assert pg.errors.check_generator(None, optional=True) is None
    with pytest.raises(pg.errors.NotAGeneratorError, match="or None"):
        pg.errors.check_generator(np.random.RandomState(0), optional=True)


def test_check_choice_names_the_argument_the_choices_and_the_value():
    assert pg.errors.check_choice("method", "auto", ("auto", "exact")) == "auto"
    with pytest.raises(InvalidArgumentError) as info:
        pg.errors.check_choice("method", "fast", ["auto", "exact"])
    assert str(info.value) == "method must be one of ('auto', 'exact'), got 'fast'"
    with pytest.raises(EstimatorError, match="over must be one of"):
        pg.errors.check_choice("over", np.zeros(2), ("states",), error=EstimatorError)
    with pytest.raises(InvalidArgumentError, match="got 1"):   # 1 == True, but not a choice
        pg.errors.check_choice("flag", 1, (True, "x"))


# Builtin exceptions pgmath may raise, and why: none of them is a user's bad input.
_ALLOWED_BUILTIN_RAISES = {
    ("pgmath.check_routes", "AttributeError"),   # module __getattr__ protocol
    ("pgmath.exact", "AttributeError"),
    ("pgmath.policies", "NotImplementedError"),  # abstract methods
    ("pgmath.lqr.policies", "NotImplementedError"),
    ("pgmath.testing", "AssertionError"),        # assert_* helpers for a user's test suite
    ("pgmath.rollouts.check", "AssertionError"),
    ("pgmath.exact.control", "RuntimeError"),    # policy iteration not converging: a bug
}
_BUILTIN = {"ValueError", "KeyError", "TypeError", "IndexError", "RuntimeError",
            "AttributeError", "NotImplementedError", "AssertionError", "Exception",
            "LookupError", "ArithmeticError", "ZeroDivisionError"}


def _pgmath_sources():
    import pathlib
    root = pathlib.Path(pg.__file__).parent
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        name = ".".join(p for p in rel.parts if p != "__init__")
        yield name, path


def test_every_raise_uses_the_pgmath_hierarchy():
    """A scan of every ``raise`` in pgmath (the optional adapters pgmath.torch/jax, which
    raise ImportError for a missing extra, included): no builtin exception for bad input."""
    import ast
    found = []
    for name, path in _pgmath_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(exc, ast.Name) and exc.id in _BUILTIN \
                        and (name, exc.id) not in _ALLOWED_BUILTIN_RAISES:
                    found.append(f"{name}:{node.lineno} raises {exc.id}")
    assert not found, "\n".join(found)


def test_must_be_one_of_is_written_once():
    """The message "… must be one of …" is built by pgmath.errors.check_choice only."""
    import ast
    found = []
    for name, path in _pgmath_sources():
        if name == "pgmath.errors":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and "must be one of" in node.value and not node.value.lstrip().startswith(
                        ("Args", "\n")) and len(node.value) < 200:
                found.append(f"{name}:{node.lineno}: {node.value!r}")
    assert not found, "\n".join(found)
