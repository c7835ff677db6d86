"""``pgmath envs`` lists the named environments and the commands each supports;
``pgmath show NAME`` summarises one."""
from __future__ import annotations

import numpy as np

from .. import environments, exact
from ..algorithms.policy_gradient import DEFAULTS
from . import fmt


def commands_for(name: str) -> list[str]:
    """The ``pgmath`` commands that take environment ``name``: every environment has
    ``show`` and ``check``; ``learn`` needs learning-loop defaults (step sizes, batch sizes)
    in :data:`pgmath.algorithms.policy_gradient.DEFAULTS`."""
    return ["show", "check"] + (["learn"] if name in DEFAULTS else [])


def summary(name: str) -> str:
    """States, actions, horizon, discount, optimal value J* and the uniform policy's J,
    values right-aligned in one column."""
    mdp = environments.make(name)
    pol = environments.default_policy(mdp)
    theta = np.zeros(pol.n_params)
    rows = [("states", str(mdp.n_states)), ("actions", str(mdp.n_actions))]
    if mdp.is_pomdp:
        rows.append(("observations", str(mdp.n_observations)))
    rows += [("horizon", str(mdp.horizon) if mdp.horizon is not None else "infinite"),
             ("discount", fmt(mdp.discount, "g")),
             ("J(uniform)", fmt(exact.objective(mdp, pol, theta), ".6g")),
             ("J* (optimal" + (", full observation)" if mdp.is_pomdp else ")"),
              fmt(exact.optimal_objective(mdp), ".6g"))]
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
