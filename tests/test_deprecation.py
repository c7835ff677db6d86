"""Deprecated spellings (issue 14, item 4: one vocabulary), kept for one release.

Each old spelling must (1) raise a DeprecationWarning that names the new spelling and
(2) forward: give exactly what the new spelling gives on the same input.
"""
import warnings

import numpy as np
import pytest

import pgmath
from pgmath import _deprecation as dep
from pgmath import check_routes as cr
from pgmath import estimators as E
from pgmath.check.recursion_moments import recursion_moments
from pgmath.check.diagnosis import diagnose


def _problem(seed=0, S=2, A=2, T=3):
    rng = np.random.default_rng(seed)
    mdp = pgmath.TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.normal(size=(S, A)),
                            rng.dirichlet(np.ones(S)), horizon=T)
    pol = pgmath.SoftmaxPolicy(S, A)
    th = rng.normal(size=S * A)
    return mdp, pol, th, th + 0.3 * rng.normal(size=S * A)


def _same(a, b, where="result"):
    """Equal results, compared recursively: arrays, numbers, tuples, dataclass records."""
    if isinstance(a, (np.ndarray, np.generic)):
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif hasattr(a, "__dataclass_fields__"):
        for f in a.__dataclass_fields__:
            _same(getattr(a, f), getattr(b, f), f"{where}.{f}")
    elif isinstance(a, float) and a != a:
        assert b != b, where
    elif not callable(a):
        assert a == b, where


def warns_and_forwards(old, new, name_of_new: str):
    """``old()`` warns naming ``name_of_new`` and returns what ``new()`` returns."""
    with pytest.warns(DeprecationWarning, match=name_of_new):
        got = old()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        want = new()
    _same(got, want)


# --- the helpers themselves --------------------------------------------------------

def test_renamed_arguments_refuses_both_spellings():
    @dep.renamed_arguments(old="new")
    def f(*, new):
        return new

    with pytest.raises(TypeError, match="old"):
        f(old=1, new=2)
    with pytest.warns(DeprecationWarning, match="new="):
        assert f(old=3) == 3


def test_keyword_only_counts_arguments():
    @dep.keyword_only
    def f(a, *, b=1, c=2):
        return a, b, c

    assert f(0) == (0, 1, 2)
    with pytest.warns(DeprecationWarning, match="b="):
        assert f(0, 5) == (0, 5, 2)
    with pytest.raises(TypeError, match="positional"):
        f(0, 1, 2, 3)
    with pytest.raises(TypeError, match="multiple values"):
        f(0, 1, b=1)


# --- behaviour_theta= -> theta_behaviour= ------------------------------------------

def test_check_unbiased_behaviour_theta():
    mdp, pol, th, tb = _problem()
    warns_and_forwards(
        lambda: pgmath.check_unbiased(E.per_decision_is, mdp, pol, th, behaviour_theta=tb),
        lambda: pgmath.check_unbiased(E.per_decision_is, mdp, pol, th, theta_behaviour=tb),
        "theta_behaviour=")


def test_plan_sample_size_behaviour_theta():
    mdp, pol, th, tb = _problem()
    kw = dict(detectable_bias=0.1)
    warns_and_forwards(
        lambda: pgmath.plan_sample_size(E.per_decision_is, mdp, pol, th, behaviour_theta=tb,
                                        **kw),
        lambda: pgmath.plan_sample_size(E.per_decision_is, mdp, pol, th, theta_behaviour=tb,
                                        **kw),
        "theta_behaviour=")


def test_exact_moments_behaviour_theta():
    mdp, pol, th, tb = _problem()
    warns_and_forwards(
        lambda: pgmath.check.exact_moments(E.trajectory_is, mdp, pol, th, behaviour_theta=tb),
        lambda: pgmath.check.exact_moments(E.trajectory_is, mdp, pol, th, theta_behaviour=tb),
        "theta_behaviour=")


def test_recursion_moments_behaviour_theta():
    mdp, pol, th, tb = _problem()
    warns_and_forwards(
        lambda: recursion_moments(E.per_decision_is, mdp, pol, th, behaviour_theta=tb),
        lambda: recursion_moments(E.per_decision_is, mdp, pol, th, theta_behaviour=tb),
        "theta_behaviour=")


def test_compare_variance_behaviour_theta():
    mdp, pol, th, tb = _problem()
    args = (E.trajectory_is, E.per_decision_is, mdp, pol, th)
    warns_and_forwards(lambda: pgmath.compare_variance(*args, behaviour_theta=tb),
                       lambda: pgmath.compare_variance(*args, theta_behaviour=tb),
                       "theta_behaviour=")


def test_diagnose_behaviour_theta():
    mdp, pol, th, tb = _problem()
    g = pgmath.exact.gradient(mdp, pol, th)
    args = (0.5 * g, g, np.full_like(g, 1e-9))
    warns_and_forwards(
        lambda: diagnose(*args, mdp=mdp, policy=pol, theta=th, behaviour_theta=tb),
        lambda: diagnose(*args, mdp=mdp, policy=pol, theta=th, theta_behaviour=tb),
        "theta_behaviour=")


def test_recursion_route_positional_behaviour():
    mdp, pol, th, tb = _problem()
    warns_and_forwards(lambda: cr.recursion_route(E.per_decision_is, mdp, pol, th, tb),
                       lambda: cr.recursion_route(E.per_decision_is, mdp, pol, th,
                                                  theta_behaviour=tb),
                       "theta_behaviour=")


# --- behaviour-first order -> target first, theta_behaviour= ----------------------

TARGET_FIRST = [("offpolicy_moments", (E.per_decision_is,)),
                ("offpolicy_moments_recursion", (E.per_decision_is,)),
                ("log_weight_second_moments", ()), ("weight_growth_rate", ()),
                ("truncated_is_mean", ()), ("action_ratio_is_mean", ()),
                ("action_ratio_bias_bound", ())]


@pytest.mark.parametrize("name, lead", TARGET_FIRST, ids=[n for n, _ in TARGET_FIRST])
def test_behaviour_first_order_warns_and_forwards(name, lead):
    mdp, pol, th, tb = _problem()
    f = getattr(pgmath.exact, name)
    new = lambda: f(*lead, mdp, pol, th, theta_behaviour=tb)  # noqa: E731
    warns_and_forwards(lambda: f(*lead, mdp, pol, tb, th), new, "theta_behaviour=")
    warns_and_forwards(lambda: f(*lead, mdp, pol, theta_behaviour=tb, theta_target=th), new,
                       "theta=")
    warns_and_forwards(lambda: f(*lead, mdp, pol, tb, theta_target=th), new,
                       "theta_behaviour=")


def test_behaviour_first_is_not_the_same_number():
    """The two orders give different answers here, so the forwarding tests above can fail."""
    mdp, pol, th, tb = _problem()
    a = pgmath.exact.truncated_is_mean(mdp, pol, th, theta_behaviour=tb)
    b = pgmath.exact.truncated_is_mean(mdp, pol, tb, theta_behaviour=th)
    assert np.abs(a - b).max() > 1e-3


def test_max_policy_tv_theta_a_b():
    _, pol, th, tb = _problem()
    warns_and_forwards(lambda: pgmath.exact.max_policy_tv(pol, theta_a=th, theta_b=tb),
                       lambda: pgmath.exact.max_policy_tv(pol, theta_p=th, theta_q=tb),
                       "theta_p=")


# --- options that became keyword-only ----------------------------------------------

def test_fisher_kl_weighting_positional():
    mdp, pol, th, tb = _problem()
    X = pgmath.exact
    for old, new in [
            (lambda: X.fisher(mdp, pol, th, "trajectory"),
             lambda: X.fisher(mdp, pol, th, weighting="trajectory")),
            (lambda: X.input_weights(mdp, pol, th, "trajectory"),
             lambda: X.input_weights(mdp, pol, th, weighting="trajectory")),
            (lambda: X.fisher_vector_product(mdp, pol, th, tb, "trajectory"),
             lambda: X.fisher_vector_product(mdp, pol, th, tb, weighting="trajectory")),
            (lambda: X.kl(mdp, pol, th, tb, "trajectory", "q"),
             lambda: X.kl(mdp, pol, th, tb, weighting="trajectory", weights_from="q"))]:
        warns_and_forwards(old, new, "weighting=")


# --- n= -> batch_size= ------------------------------------------------------------

def test_sample_n():
    mdp, pol, th, _ = _problem()
    warns_and_forwards(
        lambda: pgmath.sample(mdp, pol, th, n=5, rng=np.random.default_rng(1)),
        lambda: pgmath.sample(mdp, pol, th, batch_size=5, rng=np.random.default_rng(1)),
        "batch_size=")


def test_lqr_sample_n():
    prob = pgmath.lqr.LQRProblem(A=[[1.0]], B=[[1.0]], Q=[[1.0]], R=[[1.0]], mu0=[1.0],
                                 horizon=2)
    pol = pgmath.lqr.GaussianLinearPolicy(1, 1)
    th = pol.pack([[0.5]], [0.0], [np.log(0.3)])
    warns_and_forwards(
        lambda: pgmath.lqr.sample(prob, pol, th, n=4, rng=np.random.default_rng(2)),
        lambda: pgmath.lqr.sample(prob, pol, th, batch_size=4, rng=np.random.default_rng(2)),
        "batch_size=")


def test_coupled_and_batch_average_moments_n():
    mdp, pol, th, _ = _problem(T=2)
    X = pgmath.exact
    warns_and_forwards(lambda: X.coupled_moments(E.batch_average_baseline, mdp, pol, th, n=2),
                       lambda: X.coupled_moments(E.batch_average_baseline, mdp, pol, th,
                                                 batch_size=2), "batch_size=")
    warns_and_forwards(lambda: X.batch_average_moments(mdp, pol, th, n=3),
                       lambda: X.batch_average_moments(mdp, pol, th, batch_size=3),
                       "batch_size=")


# --- fisher_estimate moved from pgmath.exact to pgmath.estimators -------------------

@pytest.mark.parametrize("name", ["fisher_estimate", "step_fisher_estimate"])
def test_fisher_estimate_moved(name):
    mdp, pol, th, _ = _problem()
    batch = pgmath.sample(mdp, pol, th, 6, np.random.default_rng(3))
    warns_and_forwards(lambda: getattr(pgmath.exact, name)(batch, pol, th),
                       lambda: getattr(pgmath.estimators, name)(batch, pol, th),
                       f"pgmath.estimators.{name}")
    assert name not in pgmath.exact.__all__ and name in pgmath.estimators.__all__
    with pytest.raises(AttributeError):
        pgmath.exact.no_such_name  # noqa: B018


# --- TFP-style names of the statistical companions ---------------------------------

_C = pgmath.check
OLD_COMPANIONS = [
    ("min_detectable_bias_by_bernstein", "min_discrepancy_of_true_means_detectable_by_bernstein",
     ([0.5, 2.0], 3.0, 400), dict(alpha=1e-6)),
    ("min_detectable_bias_by_empirical_bernstein",
     "min_discrepancy_of_true_means_detectable_by_empirical_bernstein",
     ([0.5, 2.0], 3.0, 400), dict(alpha=1e-6)),
    ("bernstein_sample_size", "min_num_samples_for_bernstein_mean_test",
     ([0.5, 2.0], 3.0, 0.1), dict(alpha=1e-6)),
    ("empirical_bernstein_sample_size", "min_num_samples_for_empirical_bernstein_mean_test",
     (3.0, 0.5), dict(d=2)),
    ("dkwm_sample_size", "min_num_samples_for_dkwm_mean_test", (2.0, 0.1), dict(d=3)),
    ("power_sample_size", "min_num_samples_for_bernstein_power",
     ([0.3, 0.0], [0.5, 2.0], 3.0, 3.0), dict(alpha=1e-6)),
]


@pytest.mark.parametrize("old, new, args, kw", OLD_COMPANIONS,
                         ids=[o for o, *_ in OLD_COMPANIONS])
def test_old_companion_names(old, new, args, kw):
    warns_and_forwards(lambda: getattr(_C, old)(*args, **kw),
                       lambda: getattr(_C, new)(*args, **kw), new)
    assert new in _C.__all__


def test_top_level_bernstein_sample_size():
    warns_and_forwards(lambda: pgmath.bernstein_sample_size([1.0], 2.0, 0.1),
                       lambda: pgmath.min_num_samples_for_bernstein_mean_test([1.0], 2.0, 0.1),
                       "min_num_samples_for_bernstein_mean_test")


def test_companions_positional_d_and_alpha():
    warns_and_forwards(lambda: _C.min_num_samples_for_dkwm_mean_test(2.0, 0.1, 3),
                       lambda: _C.min_num_samples_for_dkwm_mean_test(2.0, 0.1, d=3), "d=")
    warns_and_forwards(
        lambda: _C.min_num_samples_for_empirical_bernstein_mean_test(3.0, 0.5, 2),
        lambda: _C.min_num_samples_for_empirical_bernstein_mean_test(3.0, 0.5, d=2), "d=")
    args = ([0.3, 0.0], [0.5, 2.0], 3.0, 3.0, 500)
    warns_and_forwards(lambda: _C.bernstein_power(*args, 1e-6),
                       lambda: _C.bernstein_power(*args, alpha=1e-6), "alpha=")


# --- the remaining options made keyword-only (scripts/vocabulary.py lists them) -----

def _kw_cases():
    from pgmath.algorithms import behavioural_cloning as bc
    from pgmath.check import reports, rounding
    from pgmath.check.recursion_moments import step_weights_range
    from pgmath.exact import forward_backward as fb
    from pgmath.lqr import quadrature
    from pgmath.mdp import check_distribution
    mdp, pol, th, tb = _problem()
    X = pgmath.exact
    spec = E.per_decision_is.step_weights(mdp.horizon, mdp.discount)
    batch = pgmath.sample(mdp, pol, th, 4, np.random.default_rng(0))
    g = X.gradient(mdp, pol, th)
    F = X.fisher(mdp, pol, th)
    lqr = pgmath.lqr.LQRProblem(A=[[1.0]], B=[[1.0]], Q=[[1.0]], R=[[1.0]], mu0=[1.0],
                                horizon=2)
    expert = np.eye(2)
    return {
        "gradient method": (lambda: X.gradient(mdp, pol, th, "autograd"),
                            lambda: X.gradient(mdp, pol, th, method="autograd"), "method="),
        "state_marginals n_steps": (lambda: X.state_marginals(mdp, pol, th, 2),
                                    lambda: X.state_marginals(mdp, pol, th, n_steps=2),
                                    "n_steps="),
        "log_state_marginals n_steps": (
            lambda: X.log_state_marginals(mdp, pol, th, 2),
            lambda: X.log_state_marginals(mdp, pol, th, n_steps=2), "n_steps="),
        "state_action_marginals n_steps": (
            lambda: X.state_action_marginals(mdp, pol, th, 2),
            lambda: X.state_action_marginals(mdp, pol, th, n_steps=2), "n_steps="),
        "bandit horizon": (lambda: pgmath.environments.bandit((0.1, 0.2), 3).R,
                           lambda: pgmath.environments.bandit((0.1, 0.2), horizon=3).R,
                           "horizon="),
        "pinv_natural_gradient rcond": (lambda: E.pinv_natural_gradient(F, g, 1e-8),
                                        lambda: E.pinv_natural_gradient(F, g, rcond=1e-8),
                                        "rcond="),
        "is_surrogate baseline": (lambda: E.is_surrogate(batch, pol, tb, 0.5),
                                  lambda: E.is_surrogate(batch, pol, tb, baseline=0.5),
                                  "baseline="),
        "forward_backward.chain theta_behaviour": (
            lambda: fb.chain(mdp, pol, th, tb).__dict__.get("P", 0),
            lambda: fb.chain(mdp, pol, th, theta_behaviour=tb).__dict__.get("P", 0),
            "theta_behaviour="),
        "node_count horizon": (lambda: quadrature.node_count(lqr, 3, 1),
                               lambda: quadrature.node_count(lqr, 3, horizon=1), "horizon="),
        "check_distribution index_names": (
            lambda: check_distribution(np.array([[0.5, 0.5]]), "p", ("s",)),
            lambda: check_distribution(np.array([[0.5, 0.5]]), "p", index_names=("s",)),
            "index_names="),
        "epsilon_learner mistakes": (
            lambda: bc.epsilon_learner(expert, 0.1, 1.0 - expert),
            lambda: bc.epsilon_learner(expert, 0.1, mistakes=1.0 - expert),
            "mistakes="),
        "bias_lines k": (
            lambda: reports.bias_lines(g, np.ones_like(g), g, g, [str(i) for i in range(4)], 2),
            lambda: reports.bias_lines(g, np.ones_like(g), g, g, [str(i) for i in range(4)],
                                       k=2), "k="),
        "bias_table_lines max_cells": (
            lambda: reports.bias_table_lines(g, (2, 2), "states", 10),
            lambda: reports.bias_table_lines(g, (2, 2), "states", max_cells=10), "max_cells="),
        "rounding.gamma u": (lambda: rounding.gamma(3, 1e-8),
                             lambda: rounding.gamma(3, u=1e-8), "u="),
        "step_weights_range positional": (
            lambda: step_weights_range(spec, mdp, pol, th, tb),
            lambda: step_weights_range(spec, mdp, pol, th, theta_behaviour=tb),
            "theta_behaviour="),
        "step_weights_range theta_b": (
            lambda: step_weights_range(spec, mdp, pol, th, theta_b=tb),
            lambda: step_weights_range(spec, mdp, pol, th, theta_behaviour=tb),
            "theta_behaviour="),
        "surrogate old order": (lambda: X.surrogate(mdp, pol, tb, th),
                                lambda: X.surrogate(mdp, pol, th, theta_behaviour=tb),
                                "theta_behaviour="),
        "surrogate theta_old/theta_new": (
            lambda: X.surrogate(mdp, pol, theta_old=tb, theta_new=th),
            lambda: X.surrogate(mdp, pol, th, theta_behaviour=tb), "theta_behaviour="),
        "surrogate_gradient old order": (
            lambda: X.surrogate_gradient(mdp, pol, tb, th),
            lambda: X.surrogate_gradient(mdp, pol, th, theta_behaviour=tb), "theta_behaviour="),
    }


KW_CASES = list(_kw_cases())


@pytest.mark.parametrize("case", KW_CASES)
def test_keyword_only_option_positional_warns_and_forwards(case):
    old, new, name = _kw_cases()[case]
    warns_and_forwards(old, new, name)


def test_surrogate_orders_differ():
    """L_θb(θ) ≠ L_θ(θb) here, so the forwarding of the old order is a real check."""
    mdp, pol, th, tb = _problem()
    assert abs(pgmath.exact.surrogate(mdp, pol, th, theta_behaviour=tb)
               - pgmath.exact.surrogate(mdp, pol, tb, theta_behaviour=th)) > 1e-6


def test_lqr_probe_coupling_n():
    from pgmath.lqr.check import probe_coupling
    prob = pgmath.lqr.LQRProblem(A=[[1.0]], B=[[1.0]], Q=[[1.0]], R=[[1.0]], mu0=[1.0],
                                 horizon=2)
    pol = pgmath.lqr.GaussianLinearPolicy(1, 1)
    th = pol.pack([[0.5]], [0.0], [np.log(0.3)])

    def centred(batch, policy, theta):  # couples its batch: rows minus the batch mean
        g = pgmath.lqr.estimators.reinforce(batch, policy, theta)
        return g - g.mean(axis=0)

    warns_and_forwards(lambda: probe_coupling(centred, prob, pol, th, n=4),
                       lambda: probe_coupling(centred, prob, pol, th, batch_size=4),
                       "batch_size=")
    assert probe_coupling(centred, prob, pol, th, batch_size=4) is not None
