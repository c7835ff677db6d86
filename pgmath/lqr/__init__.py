"""Continuous actions, exactly: Gaussian policies on linear-quadratic problems (issue 16).

* :class:`LQRProblem`: x_{t+1} = A x_t + B u_t + w_t, r_t = −(xᵀQx + uᵀRu + 2xᵀNu),
  finite horizon or discounted (:mod:`pgmath.lqr.problem`).
* Policies: :class:`GaussianLinearPolicy` (u = Kx + k + σ ⊙ ε), :class:`StateDependentGaussianPolicy`,
  :class:`SquashedGaussianPolicy` (:mod:`pgmath.lqr.policies`).
* :func:`objective`, :func:`gradient`: exact J and ∇J (closed form and autograd);
  :func:`optimal_gain`, :func:`optimal_objective` (Riccati).
* :func:`estimator_moments`: the exact mean and covariance of an estimator by a moment
  recursion on the lifted Gaussian state; :func:`quadrature_moments`: the same by
  Gauss–Hermite quadrature over the trajectory's normals.
* :func:`check_unbiased`: a verdict on a user's continuous-action estimator.
* :func:`sample`, :class:`ContinuousTrajectories`: data for the estimator protocol.
"""
from . import estimators, squashing, state_noise
from .check import check_unbiased, target_gradient
from .moments import LQRMoments, estimator_moments, optimal_constant_baseline
from .objective import gradient, objective, optimal_gain, optimal_objective
from .policies import (ContinuousPolicy, GaussianLinearPolicy, SquashedGaussianPolicy,
                       StateDependentGaussianPolicy)
from .problem import LQRProblem
from .quadrature import quadrature_moments
from .trajectories import ContinuousTrajectories, rollout, sample
from .weights import LQRWeights

# pgmath.check_unbiased(estimator, lqr_problem, policy, theta) is decided here
from ..check import register_problem_type as _register

_register(LQRProblem, check_unbiased)

__all__ = ["LQRProblem", "ContinuousPolicy", "GaussianLinearPolicy",
           "StateDependentGaussianPolicy", "SquashedGaussianPolicy", "ContinuousTrajectories",
           "rollout", "sample", "objective", "gradient", "optimal_gain", "optimal_objective",
           "estimator_moments", "LQRMoments", "optimal_constant_baseline", "quadrature_moments",
           "LQRWeights", "check_unbiased", "target_gradient", "estimators", "squashing",
           "state_noise"]
