"""``check_unbiased``: send the question "is E[g] = ∇J(θ)?" to the check that decides it.

The router validates the options, probes the estimator (:mod:`pgmath.check.probing`:
coupling, final states, symmetry, dtype), picks the unit (a trajectory, or a batch of b
for a coupled estimator) and the method, computes exact moments where a route has them,
and hands over to :func:`~pgmath.check.exact_check.decide_exactly` or, after drawing N
units, :func:`~pgmath.check.statistical.decide_statistically`.

``method="auto"`` (in this order):

1. no ``n`` and no ``detectable_bias``: **enumeration** when the units can be enumerated
   (trajectories, or batches: multisets for a symmetric coupled estimator), else the
   **recursion** when the estimator describes itself (``step_weights``,
   :func:`pgmath.check.routes.recursion_route`), else a statistical test with N planned;
2. with ``n`` or ``detectable_bias``: **bernstein** when the exact variance is known
   (enumeration or recursion), **empirical-bernstein** when ``bound`` is given (or a
   batch-coupled estimator describes its range, ``batch_range``), else **asymptotic**
   (labelled).

Problems other than tabular MDPs/POMDPs (Gaussian/LQR, …) plug in with
:func:`register_problem_type`: ``check_unbiased`` dispatches on the problem's type.
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from ..errors import InvalidArgumentError, PgmathError, TooManyTrajectoriesError, check_choice
from ..estimator_protocol import _name, has_recursion
from ..exact.recursion import step_weights_of
from ..exact import gradient
from ..trajectories import count_trajectories
from .bounds import DEFAULT_BETA, check_rate
from .context import CheckContext, require_finite_horizon
from .exact_check import decide_exactly
from .moments import (MAX_BATCHES, MAX_ENUMERATION, Moments, batch_count,
                      batch_enumeration_moments, enumeration_moments, probe_tolerance,
                      row_magnitudes)
from .planning import PILOT_N, plan_units
from .probing import Probe, described_probe, probe_estimator
from .recursion_moments import recursion_moments
from .routes import recursion_route
from .results import CheckResult
from .rounding import PRECISIONS, resolve_precision, row_depth, unit_roundoff
from .sampling import draw
from .statistical import decide_statistically
from .._deprecation import renamed_arguments

__all__ = ["check_unbiased", "plan_sample_size", "exact_moments", "register_problem_type",
           "METHODS", "DEFAULT_RELATIVE_RESOLUTION", "DEFAULT_MAX_N"]

METHODS = ("auto", "enumeration", "recursion", "bernstein", "empirical-bernstein",
           "asymptotic", "chi2")
#: Old spellings of the exact methods (the vocabulary of pgmath.exact.estimator_moments
#: is the one kept); accepted with a DeprecationWarning for one release.
DEPRECATED_METHODS = {"exact": "enumeration", "exact-recursion": "recursion"}
#: A statistical check must see a bias of this fraction of ‖∇J‖∞ to call an estimator unbiased.
DEFAULT_RELATIVE_RESOLUTION = 0.1
#: Most trajectories a check samples when it plans N itself.
DEFAULT_MAX_N = 200_000
#: N when nothing can plan it (∇J = 0 and no detectable_bias given).
FALLBACK_N = 10_000

_CHECKERS: list[tuple[type, Callable[..., CheckResult]]] = []


def register_problem_type(cls: type, checker: Callable[..., CheckResult]) -> None:
    """Route ``check_unbiased(estimator, problem, policy, theta, **options)`` to
    ``checker`` when ``problem`` is an instance of ``cls`` (a problem family with its own
    exact engine, e.g. linear-quadratic Gaussian problems). The checker receives every
    option of :func:`check_unbiased` and any further keyword options the caller gave."""
    _CHECKERS.append((cls, checker))


def _method(method: str) -> str:
    if method in DEPRECATED_METHODS:
        new = DEPRECATED_METHODS[method]
        warnings.warn(f"method={method!r} is now method={new!r}", DeprecationWarning,
                      stacklevel=3)
        return new
    check_choice("method", method, METHODS)
    return method


def _validate(*, alpha, beta, n, detectable_bias, batch_size, precision, relative_resolution,
              max_n) -> None:
    check_rate("alpha", alpha)
    check_rate("beta", beta)
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2):
        raise PgmathError(f"n must be an int ≥ 2, got {n!r}")
    if detectable_bias is not None and not detectable_bias > 0:
        raise PgmathError(f"detectable_bias must be > 0, got {detectable_bias!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise InvalidArgumentError(f"batch_size must be an int ≥ 1, got {batch_size!r}")
    check_choice("precision", precision, PRECISIONS)
    if not 0 < relative_resolution:
        raise InvalidArgumentError(f"relative_resolution must be > 0, got {relative_resolution!r}")
    if isinstance(max_n, bool) or not isinstance(max_n, (int, np.integer)) or max_n < 2:
        raise InvalidArgumentError(f"max_n must be an int ≥ 2, got {max_n!r}")


def _probe(estimator, mdp, policy, theta, bt) -> Probe:
    """What the estimator does with its batch: from its description when it has one
    (held to its code on every route), else by probing (:mod:`pgmath.check.probing`)."""
    if has_recursion(estimator):
        return described_probe(step_weights_of(estimator, mdp.horizon, mdp.discount))
    return probe_estimator(estimator, mdp, policy, theta, theta_behaviour=bt)


def _enumerable(mdp, policy, bt, probe: Probe, b: int) -> bool:
    m = count_trajectories(mdp, policy, bt, final_states=probe.reads_final_states)
    if probe.coupled:
        return batch_count(m, b, bool(probe.symmetric)) <= MAX_BATCHES
    return m * policy.n_params <= MAX_ENUMERATION


def _resolve(method, *, enumerable, route, bound, sampling, coupled, estimator, b) -> str:
    """The method ``"auto"`` stands for (module docstring), or ``method`` once it is known
    to be possible here (else an error naming what is missing)."""
    exact_variance = enumerable or route is not None
    if method == "auto":
        if not sampling and enumerable:
            return "enumeration"
        if not sampling and route is not None:
            return "recursion"
        if exact_variance:
            return "bernstein"
        return "empirical-bernstein" if bound is not None else "asymptotic"
    name = _name(estimator)
    if method == "recursion" and route is None:
        raise PgmathError(
            f"method='recursion' needs a moment recursion, and {name} has none here (an "
            "estimator without step_weights, or a batch-coupled one)")
    if method == "enumeration" and not enumerable or method in ("bernstein", "chi2") \
            and not exact_variance:
        why = (f"it is batch-coupled and its batches of {b} are too many to enumerate"
               if coupled else "the problem has too many trajectories to enumerate")
        alt = "; method='recursion' decides it by the moment recursion" if route else ""
        raise TooManyTrajectoriesError(
            f"method={method!r} needs the exact moments of {name}, but {why}; use "
            f"method='empirical-bernstein' with bound=, or 'asymptotic'{alt}")
    if method == "empirical-bernstein" and bound is None:
        raise PgmathError("method='empirical-bernstein' needs bound= (a bound B on |g_j|)")
    return method


def _moments(method, estimator, mdp, policy, theta, bt, target, probe, b, enumerable, route,
             precision) -> Moments | None:
    if method not in ("enumeration", "recursion", "bernstein", "chi2"):
        return None
    if enumerable and method != "recursion":
        if probe.coupled:
            return batch_enumeration_moments(
                estimator, mdp, policy, theta, batch_size=b, symmetric=bool(probe.symmetric),
                theta_behaviour=bt, target=target, precision=precision,
                final_states=probe.reads_final_states)
        return enumeration_moments(estimator, mdp, policy, theta, theta_behaviour=bt,
                                   target=target, precision=precision,
                                   final_states=probe.reads_final_states)
    return recursion_moments(estimator, mdp, policy, theta, theta_behaviour=bt, target=target,
                             route=route)


def _context(estimator, mdp, policy, theta, *, theta_behaviour, method, bound, batch_size,
             alpha, beta, precision, detectable_bias, relative_resolution, sampling
             ) -> CheckContext:
    require_finite_horizon(mdp)
    theta = policy.check_theta(theta)
    bt = None if theta_behaviour is None else policy.check_theta(theta_behaviour)
    target = gradient(mdp, policy, theta)
    probe = _probe(estimator, mdp, policy, theta, bt)
    b = int(batch_size) if probe.coupled else 1
    route = None if probe.coupled else recursion_route(estimator, mdp, policy, theta, theta_behaviour=bt)
    if bound is None and probe.coupled and callable(getattr(estimator, "batch_range", None)):
        bound = np.asarray(estimator.batch_range(mdp, policy, theta, b), dtype=float)
    enumerable = _enumerable(mdp, policy, theta if bt is None else bt, probe, b)
    method = _resolve(method, enumerable=enumerable, route=route, bound=bound,
                      sampling=sampling, coupled=probe.coupled, estimator=estimator, b=b)
    mom = _moments(method, estimator, mdp, policy, theta, bt, target, probe, b, enumerable,
                   route, precision)
    resolution = (float(detectable_bias) if detectable_bias is not None
                  else relative_resolution * float(np.max(np.abs(target))))
    by_recursion = mom is not None and mom.route.endswith("recursion")
    return CheckContext(estimator, mdp, policy, theta, bt, target, probe, b, method, mom,
                        route if by_recursion else None, bound, alpha, beta, precision,
                        resolution)


def _magnitude_of(ctx: CheckContext):
    """a(τ) of rows on a sampled batch, for the statistical rounding bound."""
    prec = resolve_precision(ctx.precision, ctx.probe.dtype)
    k_w = row_depth(ctx.policy, ctx.theta, ctx.mdp.horizon, theta_behaviour=ctx.theta_behaviour)
    tol = probe_tolerance(k_w, unit_roundoff(prec))
    return lambda est, batch, g: row_magnitudes(est, batch, g, ctx.mdp, ctx.policy, ctx.theta,
                                                tol)


def _draw(ctx: CheckContext, n: int, rng):
    return draw(ctx.estimator, ctx.mdp, ctx.policy, ctx.theta, n, rng,
                theta_behaviour=ctx.theta_behaviour, coupled=ctx.coupled,
                batch_size=ctx.batch_size, magnitude_of=_magnitude_of(ctx))


#: The asymptotic plan rests on a sample variance: plan for this fraction of δ, and a
#: follow-up round (after an inconclusive first one) for this multiple of the N it names.
PILOT_MARGIN, FOLLOW_UP = 0.85, 1.25


def _planned_n(ctx: CheckContext, delta: float, rng) -> int | None:
    """N for ``delta``; the asymptotic plan first draws a pilot of :data:`PILOT_N` units
    and plans for :data:`PILOT_MARGIN` δ (its variance is itself an estimate)."""
    if ctx.method in ("asymptotic",) and delta > 0:
        pilot = _draw(ctx, PILOT_N, rng).g
        return max(PILOT_N, plan_units(ctx, PILOT_MARGIN * delta,
                                       sample_variance=pilot.var(axis=0, ddof=1)))
    return plan_units(ctx, delta)


@renamed_arguments(behaviour_theta="theta_behaviour")
def check_unbiased(estimator, mdp, policy, theta, *, alpha: float = 1e-6, n: int | None = None,
                   detectable_bias: float | None = None, theta_behaviour=None, rng=None,
                   method: str = "auto", bound: float | None = None, batch_size: int = 16,
                   beta: float = DEFAULT_BETA, precision: str = "auto",
                   relative_resolution: float = DEFAULT_RELATIVE_RESOLUTION,
                   max_n: int = DEFAULT_MAX_N, **options) -> CheckResult:
    """Is E[g] = ∇J(θ)? Decide exactly, or by a test that fails a correct estimator w.p. ≤ α.

    Args:
      estimator: ``estimator(batch, policy, theta) -> [N, d]`` (numpy array, or a PyTorch
        or JAX tensor: detached and converted; a user's own is fine).
      mdp, policy, theta: a finite-horizon problem and θ ``[d]``; the target is
        ∇J(θ) = ∇_θ E[Σ_t γ^t r_t] from the exact engine.
      alpha: the false-failure probability (the test's level).
      n: units to sample (trajectories; independent batches for a batch-coupled
        estimator); ``None`` plans N for the resolution (capped at ``max_n``).
      detectable_bias: the ∞-norm bias a statistical check must catch w.p. ≥ 1 − ``beta``;
        N is planned for it, and a check that cannot reach it is ``"inconclusive"``.
      theta_behaviour: sample from π_{theta_behaviour} (the batch's
        ``behaviour_log_probs`` hold its log-probabilities); the target stays ∇J(θ).
      rng: ``numpy.random.Generator`` (default ``default_rng(0)``: reproducible).
      method: ``"auto"`` (module docstring of :mod:`pgmath.check.routing`),
        ``"enumeration"``, ``"recursion"`` (exact), ``"bernstein"``,
        ``"empirical-bernstein"``, ``"asymptotic"`` or ``"chi2"``. (``"exact"`` and
        ``"exact-recursion"`` are deprecated spellings of the first two.)
      bound: B with |g_j| ≤ B per unit (a scalar or ``[d]``), for the empirical-Bernstein
        test. Violations raise :class:`EstimatorError`.
      batch_size: trajectories per batch for a batch-coupled estimator (marked with
        ``@batch_coupled`` or found coupled by probing).
      beta: false-pass rate for ``detectable_bias`` and planning.
      precision: the estimator's working precision for the rounding tolerance:
        ``"auto"`` (the dtype it returns: float32, float16 or bfloat16 arrays or tensors
        get their own unit roundoff, anything else float64), ``"float64"``, ``"float32"``.
      relative_resolution: without ``detectable_bias``, a statistical check must see a
        bias of this fraction of ‖∇J‖∞ (default 10%) to call the estimator unbiased.
      max_n: the most trajectories a check samples when it plans N itself (N units of
        ``batch_size`` for a coupled estimator count N × batch_size).
      options: options of a registered problem type's own check
        (:func:`register_problem_type`; e.g. ``lam``, ``n_steps`` of a rollout check);
        any other problem refuses them.

    Returns:
      :class:`CheckResult` with ``verdict`` ``"unbiased"``, ``"biased"`` or
      ``"inconclusive"`` (``passed`` only for the first).

    Raises:
      EstimatorError: the estimator raised, returned the wrong shape, dtype or a non-finite
        value, or broke its declared ``bound``.
    """
    for cls, checker in _CHECKERS:
        if isinstance(mdp, cls):
            return checker(estimator, mdp, policy, theta, alpha=alpha, n=n,
                           detectable_bias=detectable_bias, theta_behaviour=theta_behaviour,
                           rng=rng, method=method, bound=bound, batch_size=batch_size,
                           beta=beta, precision=precision,
                           relative_resolution=relative_resolution, max_n=max_n, **options)
    if options:
        raise InvalidArgumentError(f"check_unbiased got unknown options {sorted(options)} for "
                                   f"{type(mdp).__name__}")
    method = _method(method)
    _validate(alpha=alpha, beta=beta, n=n, detectable_bias=detectable_bias,
              batch_size=batch_size, precision=precision,
              relative_resolution=relative_resolution, max_n=max_n)
    ctx = _context(estimator, mdp, policy, theta, theta_behaviour=theta_behaviour,
                   method=method, bound=bound, batch_size=batch_size, alpha=alpha, beta=beta,
                   precision=precision, detectable_bias=detectable_bias,
                   relative_resolution=relative_resolution,
                   sampling=n is not None or detectable_bias is not None)
    if ctx.method in ("enumeration", "recursion"):
        return decide_exactly(ctx)
    rng = np.random.default_rng(0) if rng is None else rng
    if n is not None:
        return decide_statistically(ctx, _draw(ctx, int(n), rng))
    planned = _planned_n(ctx, ctx.resolution, rng)
    cap = max(2, int(max_n) // ctx.batch_size)  # max_n counts trajectories
    n = min(FALLBACK_N, cap) if planned is None else min(max(int(planned), 2), cap)
    res = decide_statistically(ctx, _draw(ctx, n, rng))
    if ctx.method == "asymptotic" and res.verdict == "inconclusive" and res.n_needed \
            and n < min(res.n_needed, cap):
        # the pilot's variance was an estimate: one more round at the N this sample asks for
        more = min(int(np.ceil(FOLLOW_UP * res.n_needed)), cap)
        res = decide_statistically(ctx, _draw(ctx, more, rng))
    return res


@renamed_arguments(behaviour_theta="theta_behaviour")
def plan_sample_size(estimator, mdp, policy, theta, *, detectable_bias: float,
                     alpha: float = 1e-6, beta: float = DEFAULT_BETA,
                     theta_behaviour=None, bound=None, batch_size: int = 16,
                     rng=None) -> int:
    """N for :func:`check_unbiased` to catch any ‖bias‖∞ ≥ ``detectable_bias`` w.p. ≥ 1 − β.

    The same design the check uses (:mod:`pgmath.check.planning`): Bernstein with the
    exact variance when enumeration or the moment recursion gives it (range
    max(max_τ |g_j(τ) − E g_j|, max_τ |g_j(τ) − ∇J_j|)); the empirical-Bernstein design
    from ``bound`` alone; else the asymptotic design from a pilot of 1,000 units (seeded
    by ``rng``). Counted in batches for a batch-coupled estimator.
    """
    _validate(alpha=alpha, beta=beta, n=None, detectable_bias=detectable_bias,
              batch_size=batch_size, precision="auto", relative_resolution=1.0, max_n=2)
    ctx = _context(estimator, mdp, policy, theta, theta_behaviour=theta_behaviour,
                   method="auto", bound=bound, batch_size=batch_size, alpha=alpha, beta=beta,
                   precision="auto", detectable_bias=detectable_bias, relative_resolution=1.0,
                   sampling=True)
    return int(_planned_n(ctx, float(detectable_bias),
                          np.random.default_rng(0) if rng is None else rng))


@renamed_arguments(behaviour_theta="theta_behaviour")
def exact_moments(estimator, mdp, policy, theta, *, theta_behaviour=None, target=None,
                  batch_size: int = 1, precision: str = "auto") -> Moments:
    """Exact :class:`~pgmath.check.moments.Moments` of one unit by enumeration: one row
    g(τ), τ drawn from π_{theta_behaviour} (θ itself when ``None``); for a batch-coupled
    estimator (marked, or found by probing) the mean of a batch of ``batch_size``
    trajectories, over every batch (multisets when the estimator is symmetric).
    """
    require_finite_horizon(mdp)
    theta = policy.check_theta(theta)
    bt = None if theta_behaviour is None else policy.check_theta(theta_behaviour)
    target = gradient(mdp, policy, theta) if target is None else target
    probe = _probe(estimator, mdp, policy, theta, bt)
    if probe.coupled:
        if batch_size < 2 and not probe.marked:
            raise PgmathError(f"{_name(estimator)} is batch-coupled ({probe.evidence}): pass "
                              "batch_size= (the batch its estimate is the mean of)")
        return batch_enumeration_moments(
            estimator, mdp, policy, theta, batch_size=batch_size,
            symmetric=bool(probe.symmetric), theta_behaviour=bt, target=target,
            precision=precision, final_states=probe.reads_final_states)
    return enumeration_moments(estimator, mdp, policy, theta, theta_behaviour=bt, target=target,
                               precision=precision, final_states=probe.reads_final_states)
