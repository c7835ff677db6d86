"""``pgmath envs`` lists the named environments and the commands each supports;
``pgmath show NAME`` summarises one."""
from __future__ import annotations

import numpy as np

from .. import environments, exact, lqr
from ..algorithms.policy_gradient import DEFAULTS
from ..lqr import LQRProblem
from . import fmt


def commands_for(name: str) -> list[str]:
    """The ``pgmath`` commands that take environment ``name``: every tabular environment has
    ``show`` and ``check``; ``learn`` needs learning-loop defaults (step sizes, batch sizes)
    in :data:`pgmath.algorithms.policy_gradient.DEFAULTS`. A linear-quadratic problem has
    ``show`` (its estimators are checked from Python: :func:`pgmath.lqr.check_unbiased`)."""
    if isinstance(environments.make(name), LQRProblem):
        return ["show"]
    return ["show", "check"] + (["learn"] if name in DEFAULTS else [])


def _rows(mdp) -> list[tuple[str, str]]:
    """(label, value) rows of :func:`summary`: sizes, horizon, discount, J at θ = 0 (the
    uniform policy; for a linear-Gaussian policy u = ε, K = 0, k = 0, σ = 1) and J*."""
    pol = environments.default_policy(mdp)
    theta = np.zeros(pol.n_params)
    horizon = [("horizon", str(mdp.horizon) if mdp.horizon is not None else "infinite"),
               ("discount", fmt(mdp.discount, "g"))]
    if isinstance(mdp, LQRProblem):
        return [("state dimension", str(mdp.n_states)), ("action dimension", str(mdp.n_actions)),
                *horizon, ("J(theta = 0)", fmt(lqr.objective(mdp, pol, theta), ".6g")),
                ("J* (optimal, Riccati)", fmt(lqr.optimal_objective(mdp), ".6g"))]
    rows = [("states", str(mdp.n_states)), ("actions", str(mdp.n_actions))]
    if mdp.is_pomdp:
        rows.append(("observations", str(mdp.n_observations)))
    return rows + horizon + [
        ("J(uniform)", fmt(exact.objective(mdp, pol, theta), ".6g")),
        ("J* (optimal" + (", full observation)" if mdp.is_pomdp else ")"),
         fmt(exact.optimal_objective(mdp), ".6g"))]


def summary(name: str) -> str:
    """States, actions, horizon, discount, optimal value J* and the uniform policy's J,
    values right-aligned in one column."""
    mdp = environments.make(name)
    rows = _rows(mdp)
    w = max(len(k) for k, _ in rows)
    v = max(len(x) for _, x in rows)
    return "\n".join([f"{name}: {mdp!r}", *(f"  {k:<{w}}  {x:>{v}}" for k, x in rows),
                      f"  commands: {', '.join(commands_for(name))}"])


def _envs(args) -> int:
    names = environments.names()
    w = max(len(n) for n in names)
    print(f"{'name':<{w}}  {'commands':<18}  problem")
    for name in names:
        print(f"{name:<{w}}  {', '.join(commands_for(name)):<18}  {environments.make(name)!r}")
    return 0


def _show(args) -> int:
    print(summary(args.name))
    return 0


def register(sub) -> None:
    p = sub.add_parser("envs", help="list the named environments and the commands each supports")
    p.set_defaults(func=_envs)
    p = sub.add_parser("show", help="summarise a named environment")
    p.add_argument("name", choices=environments.names())
    p.set_defaults(func=_show)
