"""Exact solvers on finite MDPs and POMDPs: the truth every check is measured against.

All functions take ``(mdp, policy, theta)`` where a policy is involved; ``policy`` may
also be a probability table ``[S, A]`` (or ``[T, S, A]``) with ``theta=None``.
"""
import importlib
import warnings

from ..policy_tables import policy_table
from .control import (greedy_policy, one_hot_policy, optimal_objective, optimal_policy,
                      optimal_q_values, optimal_values)
from .marginals import (discounted_state_visitation, log_state_marginals,
                        state_action_marginals, state_action_transition, state_marginals)
from .objective import gradient, objective
from .stationary import average_reward, stationary_distribution
from .values import advantages, q_values, values
from .fisher import fisher, fisher_vector_product, input_weights, per_input_fisher
from .kl import kl, kl_quadratic, policy_kl, trajectory_kl
from .offpolicy_moments import (action_ratio_bias_bound, action_ratio_is_mean,
                                log_weight_second_moments, max_policy_tv, offpolicy_moments,
                                offpolicy_moments_recursion,
                                truncated_is_mean, weight_growth_rate)
from .surrogate import surrogate, surrogate_gradient, surrogate_weights
from .moments import (batch_average_moments, coupled_moments, discount_bias,
                      estimator_moments, optimal_baseline)
from .recursion import recursive_moments

__all__ = [
    "policy_table",
    "state_marginals", "log_state_marginals", "state_action_marginals", "state_action_transition",
    "discounted_state_visitation",
    "values", "q_values", "advantages",
    "objective", "gradient",
    "stationary_distribution", "average_reward",
    "optimal_values", "optimal_q_values", "optimal_policy", "optimal_objective",
    "greedy_policy", "one_hot_policy",
    "estimator_moments",
    "fisher", "fisher_vector_product", "input_weights", "per_input_fisher", "kl", "kl_quadratic", "policy_kl", "trajectory_kl",
    "action_ratio_bias_bound", "action_ratio_is_mean", "log_weight_second_moments",
    "max_policy_tv", "offpolicy_moments", "offpolicy_moments_recursion", "truncated_is_mean",
    "weight_growth_rate",
    "surrogate", "surrogate_gradient", "surrogate_weights",
    "recursive_moments", "coupled_moments", "batch_average_moments", "optimal_baseline",
    "discount_bias",
]

#: Sample estimators that lived here until 0.1: now in :mod:`pgmath.estimators` (samples
#: belong with the estimators; ``pgmath.exact`` computes exact quantities only).
_MOVED = {"fisher_estimate": "pgmath.estimators.fisher_estimate",
          "step_fisher_estimate": "pgmath.estimators.step_fisher_estimate"}


def __getattr__(name: str):
    """``pgmath.exact.fisher_estimate`` and ``step_fisher_estimate``: deprecated aliases
    (a ``DeprecationWarning`` naming the new home) kept for one release."""
    if name in _MOVED:
        # the one reference from pgmath.exact up to pgmath.estimators, by name and only
        # for this deprecated alias (removed in the next release)
        estimators = importlib.import_module("pgmath.estimators")
        warnings.warn(f"pgmath.exact.{name} is deprecated; use {_MOVED[name]} (the old name "
                      "is removed in the next release)", DeprecationWarning, stacklevel=2)
        return getattr(estimators, name)
    raise AttributeError(f"module 'pgmath.exact' has no attribute {name!r}")
