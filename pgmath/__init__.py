"""pgmath: exact, checkable mathematics of policy-gradient reinforcement learning.

Exact tabular solvers (``pgmath.exact``), estimators (``pgmath.estimators``), sampling
and enumeration of trajectories, Hypothesis strategies (``pgmath.strategies``) and
named environments (``pgmath.environments``); continuous actions on linear-quadratic
problems (``pgmath.lqr``).
"""
from . import errors, exact, estimators, environments, strategies
from . import algorithms, lqr
from . import rollouts
from .errors import *  # noqa: F401,F403
from .mdp import POMDP, TabularMDP
from .policies import LinearSoftmaxPolicy, ObservationSoftmaxPolicy, Policy, SoftmaxPolicy
from .trajectories import (Trajectories, count_trajectories, enumerate_trajectories,
                           sample)
from . import check, testing
from .check import (CheckResult, bernstein_threshold, check_unbiased, compare_variance,
                    empirical_bernstein_threshold,
                    min_discrepancy_of_true_means_detectable_by_bernstein,
                    min_num_samples_for_bernstein_mean_test, plan_sample_size)
from .check import bernstein_sample_size  # noqa: F401  (deprecated alias, one release)

__version__ = "0.1.0"

__all__ = [
    "TabularMDP", "POMDP",
    "Policy", "SoftmaxPolicy", "ObservationSoftmaxPolicy", "LinearSoftmaxPolicy",
    "Trajectories", "sample", "enumerate_trajectories", "count_trajectories",
    "exact", "estimators", "strategies", "environments", "errors",
    "algorithms", "lqr", "rollouts",
    *(n for n in errors.__all__ if isinstance(getattr(errors, n), type)),  # the error classes
    "check", "check_unbiased", "compare_variance", "plan_sample_size", "testing",
    "CheckResult", "bernstein_threshold", "empirical_bernstein_threshold",
    "min_num_samples_for_bernstein_mean_test",
    "min_discrepancy_of_true_means_detectable_by_bernstein",
]
