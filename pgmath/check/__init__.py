"""Checking an estimator of ∇J(θ): exact decisions and tests that cannot be flaky by design.

The question is "is E[g] = ∇J(θ)?" for an estimator ``g(batch, policy, theta) -> [N, d]``
(notes §4.1–4.4; DESIGN §4, §6), answered by :func:`check_unbiased` with one of three
verdicts: **unbiased**, **biased**, or **inconclusive** (a statistical check that could not
have seen a bias of the size it had to resolve; it says which N would decide).

* **enumeration** (exact): E[g] = Σ_τ p(τ) g(τ) over every trajectory (or every batch of
  a batch-coupled estimator); the only tolerance is the rounding bound of
  :mod:`pgmath.check.rounding`, in the estimator's working precision.
* **recursion** (exact): estimators that describe themselves as linear recursions
  (``step_weights``) get E[g] from the forward moment recursion, polynomial in T
  (:mod:`pgmath.check.recursion_moments`); the same rounding model.
* **bernstein** (non-asymptotic, exact variance and range), **empirical-bernstein**
  (non-asymptotic, a declared bound), **asymptotic** and **chi2** (labelled):
  :mod:`pgmath.check.statistical`, with the bounds of :mod:`pgmath.check.bounds`.

Before routing, the estimator is probed (:mod:`pgmath.check.probing`): rows that depend
on their batch are checked as batch-coupled whether or not they are marked, and an
estimator that reads ``batch.final_states`` gets them enumerated. A failure says what the
bias looks like (:mod:`pgmath.check.diagnosis`). Modules, one concept each: ``results``,
``bounds``, ``rounding``, ``magnitudes``, ``probing``, ``moments`` (enumeration),
``recursion_moments``, ``sampling``, ``planning``, ``diagnosis``, ``reports``,
``exact_check``, ``statistical``, ``routing`` (the router), ``variance``.
"""
from .bounds import *  # noqa: F401,F403
from .bounds import __all__ as _bounds_all
from .moments import MAX_BATCHES, MAX_ENUMERATION, Moments
from .probing import Probe, probe_estimator
from .results import VERDICTS, CheckResult, Thresholds, VarianceComparison
from .rounding import RoundingBound
from .routing import (DEFAULT_MAX_N, DEFAULT_RELATIVE_RESOLUTION, METHODS, check_unbiased,
                      exact_moments, plan_sample_size, register_problem_type)
from .variance import compare_variance

__all__ = [
    "CheckResult", "VarianceComparison", "Thresholds", "Moments", "RoundingBound", "Probe",
    "VERDICTS", "METHODS",
    "check_unbiased", "compare_variance", "plan_sample_size", "exact_moments",
    "probe_estimator", "register_problem_type",
    "DEFAULT_MAX_N", "DEFAULT_RELATIVE_RESOLUTION", "MAX_ENUMERATION", "MAX_BATCHES",
    *_bounds_all,
]
