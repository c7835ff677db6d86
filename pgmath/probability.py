"""Probabilities computed in floating point: one tolerance model for every [0, 1] check.

pgmath accepts a distribution whose entries are ≥ 0 and sum to 1 within
:data:`SUM_TOL` = 1e-8 (:func:`pgmath.mdp.check_distribution`). A probability computed
from such inputs, by pgmath or by a user (a marginal p(s_t = s), an error rate
ε_t = Σ_s p_train(s_t = s) e_t(s), a difference 1 − p), is exact only up to two effects:

* **the inputs**: each of the k distributions it is built from (k = ``n_steps``: the
  transitions of t steps, the policy, the start distribution) may sum to 1 ± SUM_TOL, so
  a mass built from k of them lies in [(1 − SUM_TOL)^k, (1 + SUM_TOL)^k];
* **rounding**: each step is a sum of n non-negative products, with relative error at
  most γ_{n+1} = (n + 1)u / (1 − (n + 1)u), u = 2⁻⁵³ (Higham, *Accuracy and Stability of
  Numerical Algorithms*, eq. 3.5); for n ≤ 10⁷ terms γ_{n+1} ≤ SUM_TOL / 4.

So a value computed through k such steps lies within (1 + SUM_TOL)^k (1 + γ)^k − 1 ≤
exp(1.25 k SUM_TOL) − 1 ≤ 1.39 k SUM_TOL of the interval [0, 1] its exact counterpart
lies in (for k SUM_TOL ≤ 0.1), and pgmath's tolerance is

    tol(k) = 2 k SUM_TOL, at most MAX_TOL = 1e-2          (:func:`probability_tolerance`).

The cap keeps the model honest where it stops being one (k > 5·10⁵ steps): a value 1%
outside [0, 1] is an error, not rounding, however long the computation.

Every [0, 1] check in pgmath goes through :func:`check_probability`: a value within
tol(k) outside [0, 1] is rounding and is clipped back into [0, 1]; a value further out,
or NaN, is an error naming the array, the index and the value. The minimal case that
motivated it (issue 11, cause C): S = 2, p0 = (0.6, 0.4), P[0, ·] = (64/65, 1/65),
P[1, ·] = (½, ½) and a learner that always errs give ε_1 = 1.0000000000000002.
"""
from __future__ import annotations

import numpy as np

from .errors import InvalidDistributionError, PgmathError

__all__ = ["SUM_TOL", "MAX_TOL", "probability_tolerance", "check_probability"]

#: Tolerance on |Σ p − 1| for a probability vector given to pgmath.
SUM_TOL = 1e-8
#: The largest rounding tolerance of a computed probability, whatever its number of steps.
MAX_TOL = 1e-2


def probability_tolerance(n_steps: int = 1) -> float:
    """tol(k) = min(2 k SUM_TOL, MAX_TOL): how far outside [0, 1] a probability computed
    through k steps of validated distributions may lie from rounding alone (module
    docstring)."""
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise PgmathError(f"n_steps must be a positive int, got {n_steps!r}")
    return min(2.0 * int(n_steps) * SUM_TOL, MAX_TOL)


def check_probability(p, name: str, *, n_steps: int = 1,
                      error: type[PgmathError] = InvalidDistributionError) -> np.ndarray:
    """``p`` as float64 with every entry in [0, 1]: entries within tol(``n_steps``) outside
    [0, 1] are clipped back (rounding), anything else raises.

    Args:
      p: a number or an array of probabilities (any shape).
      name: what ``p`` is, for the message (e.g. ``"eps"``).
      n_steps: k, the number of distributions the values were computed through
        (:func:`probability_tolerance`).
      error: the :class:`~pgmath.errors.PgmathError` subclass to raise.

    Returns:
      ``p`` clipped to [0, 1] (a 0-d array for a number).

    Raises:
      ``error`` naming the first entry that is NaN or lies further than tol(k) outside
      [0, 1], its index and its value.

    Examples:
      >>> float(check_probability(1.0000000000000002, "eps"))
      1.0
      >>> check_probability([0.5, 1.5], "eps")
      Traceback (most recent call last):
      ...
      pgmath.errors.InvalidDistributionError: eps[1] = 1.5 is not a probability: it lies outside [0, 1] by more than the rounding tolerance 2e-08
    """
    arr = np.asarray(p, dtype=float)
    tol = probability_tolerance(n_steps)
    bad = ~((arr >= -tol) & (arr <= 1.0 + tol))  # also NaN
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(np.atleast_1d(bad))[0])
        where = name if arr.ndim == 0 else f"{name}[{', '.join(map(str, idx))}]"
        value = float(arr) if arr.ndim == 0 else float(arr[idx])
        raise error(f"{where} = {value!r} is not a probability: it lies outside [0, 1] by "
                    f"more than the rounding tolerance {tol:.0e}")
    return np.clip(arr, 0.0, 1.0)
