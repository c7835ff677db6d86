"""Continuous actions, exactly: Gaussian policies on linear-quadratic problems."""
from .problem import LQRProblem
from .policies import (ContinuousPolicy, GaussianLinearPolicy, SquashedGaussianPolicy,
                       StateDependentGaussianPolicy)
from .trajectories import ContinuousTrajectories, rollout, sample
from .objective import gradient, objective, optimal_gain, optimal_objective
