"""Which of two per-trajectory estimators has less variance, exactly.

Cov g = Σ_τ p(τ)(g(τ) − E g)(g(τ) − E g)ᵀ, by the forward moment recursion for estimators
that describe themselves (any horizon, :mod:`pgmath.check.recursion_moments`) and by
enumeration otherwise (notes §4.3: e.g. reward-to-go against REINFORCE, PG-7). Totals
within rounding (the sum of both routes' bounds on the rounding error of tr Cov) are
called ``"equal"``.
"""
from __future__ import annotations

import numpy as np

from ..errors import PgmathError, TooManyTrajectoriesError
from ..estimator_protocol import _name
from ..exact import gradient
from ..trajectories import count_trajectories
from .moments import MAX_ENUMERATION, enumeration_moments
from .probing import probe_estimator
from .recursion_moments import recursion_moments
from .context import require_finite_horizon
from .routes import recursion_route
from .results import VarianceComparison
from .._deprecation import renamed_arguments

__all__ = ["compare_variance"]


def _covariance(est, mdp, policy, theta, theta_behaviour, target) -> tuple[str, np.ndarray, float]:
    """(route, ``[d, d]`` exact Cov g, rounding slack of its trace) of one estimator."""
    route = recursion_route(est, mdp, policy, theta, theta_behaviour=theta_behaviour)
    if route is not None:  # described: held to its code, no probing needed
        m = recursion_moments(est, mdp, policy, theta, theta_behaviour=theta_behaviour,
                              target=target, route=route)
        return "recursion", m.cov, float(np.sum(m.var_slack))
    probe = probe_estimator(est, mdp, policy, theta, theta_behaviour=theta_behaviour)
    if probe.coupled:
        raise PgmathError(f"{_name(est)} is batch-coupled ({probe.evidence}): compare_variance "
                          "needs per-trajectory estimators")
    bt = theta if theta_behaviour is None else theta_behaviour
    count = count_trajectories(mdp, policy, bt, final_states=probe.reads_final_states)
    if count * policy.n_params > MAX_ENUMERATION:
        raise TooManyTrajectoriesError(
            f"compare_variance: {_name(est)} has no moment recursion and {mdp!r} has too many "
            "trajectories to enumerate")
    m = enumeration_moments(est, mdp, policy, theta, theta_behaviour=theta_behaviour,
                            target=target, final_states=probe.reads_final_states)
    return "enumeration", m.cov, float(np.sum(m.var_slack))


@renamed_arguments(behaviour_theta="theta_behaviour")
def compare_variance(est_a, est_b, mdp, policy, theta, *, theta_behaviour=None
                     ) -> VarianceComparison:
    """Exact covariances of two per-trajectory estimators, and which has less variance
    (module docstring)."""
    require_finite_horizon(mdp)
    theta = policy.check_theta(theta)
    if theta_behaviour is not None:
        theta_behaviour = policy.check_theta(theta_behaviour)
    target = gradient(mdp, policy, theta)
    ra, cov_a, sa = _covariance(est_a, mdp, policy, theta, theta_behaviour, target)
    rb, cov_b, sb = _covariance(est_b, mdp, policy, theta, theta_behaviour, target)
    va, vb = np.diag(cov_a).copy(), np.diag(cov_b).copy()
    ta, tb = float(va.sum()), float(vb.sum())
    slack = sa + sb
    smaller = "equal" if abs(ta - tb) <= slack else ("a" if ta < tb else "b")
    cw = "a" if np.all(va <= vb + slack) else ("b" if np.all(vb <= va + slack) else None)
    na, nb = _name(est_a), _name(est_b)
    lines = [f"compare_variance({na}, {nb}) on {mdp!r}: exact covariances "
             f"(a by {ra}, b by {rb})",
             f"  tr Cov: a = {ta:.6g}, b = {tb:.6g} (rounding slack {slack:.2e})",
             f"  smaller total: {smaller}; smaller in every coordinate: {cw or 'neither'}",
             "  j  Var a  Var b"]
    lines += [f"  {j:3d} {va[j]:.6g} {vb[j]:.6g}" for j in range(min(va.size, 12))]
    return VarianceComparison(cov_a, cov_b, va, vb, ta, tb, smaller, cw, slack,
                              "\n".join(lines), f"{ra}/{rb}")
