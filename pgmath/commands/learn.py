"""``pgmath learn ENV ALG``: run REINFORCE / NPG / TRPO on a named environment and report
the exact objective along the run and the gap to the exact optimum."""
from __future__ import annotations

from .. import environments
from ..algorithms.policy_gradient import ALGORITHMS, DEFAULTS, run
from . import fmt
from ..errors import InvalidArgumentError


def _learn(args) -> int:
    if args.env not in DEFAULTS:
        raise InvalidArgumentError(
            f"`pgmath learn` has no learning-loop settings for {args.env!r} (an imitation-"
            f"learning problem: see pgmath.algorithms.dagger); it runs on "
            f"{', '.join(sorted(DEFAULTS))}. `pgmath envs` lists the commands of each environment.")
    algs = ALGORITHMS if args.algorithm == "all" else (args.algorithm,)
    print(f"{'algorithm':20s} {'J(θ_0)':>10s} {'J(θ_K)':>10s} {'J*':>10s} {'gap':>9s} {'samples':>8s}")
    for alg in algs:
        r = run(args.env, alg, iterations=args.iterations, seed=args.seed)
        print(f"{alg:20s} {fmt(r.objectives[0]):>10s} {fmt(r.objectives[-1]):>10s} "
              f"{fmt(r.optimum):>10s} {fmt(r.gap):>9s} {r.samples:8d}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("learn", help="run a policy-gradient algorithm and report its gap to J*")
    p.add_argument("env", choices=environments.names(),
                   help=f"one of {', '.join(sorted(DEFAULTS))} (see `pgmath envs`)")
    p.add_argument("algorithm", choices=(*ALGORITHMS, "all"))
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_learn)
