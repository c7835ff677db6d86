"""``pgmath envs`` lists the named environments; ``pgmath show NAME`` summarises one."""
from __future__ import annotations

import numpy as np

from .. import environments, exact


def _lqr_summary(name: str, problem) -> str:
    """Dimensions, horizon, discount, J at θ = 0 (u = ε: K = 0, k = 0, σ = 1) and J* (Riccati)."""
    from ..lqr import objective, optimal_objective
    pol = environments.default_policy(problem)
    return "\n".join([
        f"{name}: {problem!r}",
        f"  state dimension  {problem.n_states}",
        f"  action dimension {problem.n_actions}",
        f"  horizon         {problem.horizon if problem.horizon is not None else 'infinite'}",
        f"  discount        {problem.discount:g}",
        f"  J(theta = 0)    {objective(problem, pol, np.zeros(pol.n_params)):.6g}",
        f"  J* (optimal, Riccati) {optimal_objective(problem):.6g}"])


def summary(name: str) -> str:
    """States, actions, horizon, discount, optimal value J* and the uniform policy's J."""
    mdp = environments.make(name)
    if not hasattr(mdp, "P"):
        return _lqr_summary(name, mdp)
    pol = environments.default_policy(mdp)
    theta = np.zeros(pol.n_params)
    lines = [f"{name}: {mdp!r}",
             f"  states          {mdp.n_states}",
             f"  actions         {mdp.n_actions}"]
    if mdp.is_pomdp:
        lines.append(f"  observations    {mdp.n_observations}")
    lines += [f"  horizon         {mdp.horizon if mdp.horizon is not None else 'infinite'}",
              f"  discount        {mdp.discount:g}",
              f"  J(uniform)      {exact.objective(mdp, pol, theta):.6g}",
              f"  J* (optimal{', full observation' if mdp.is_pomdp else ''}) "
              f"{exact.optimal_objective(mdp):.6g}"]
    return "\n".join(lines)


def _envs(args) -> int:
    for name in environments.names():
        mdp = environments.make(name)
        print(f"{name:16s} {mdp!r}")
    return 0


def _show(args) -> int:
    print(summary(args.name))
    return 0


def register(sub) -> None:
    p = sub.add_parser("envs", help="list the named environments")
    p.set_defaults(func=_envs)
    p = sub.add_parser("show", help="summarise a named environment")
    p.add_argument("name", choices=environments.names())
    p.set_defaults(func=_show)
