"""``pgmath learn ENV ALG``: run REINFORCE / NPG / TRPO on a named environment and report
the exact objective along the run and the gap to the exact optimum."""
from __future__ import annotations

from ..algorithms.policy_gradient import ALGORITHMS, DEFAULTS, run


def _learn(args) -> int:
    algs = ALGORITHMS if args.algorithm == "all" else (args.algorithm,)
    print(f"{'algorithm':20s} {'J(θ_0)':>10s} {'J(θ_K)':>10s} {'J*':>10s} {'gap':>9s} {'samples':>8s}")
    for alg in algs:
        r = run(args.env, alg, iterations=args.iterations, seed=args.seed)
        print(f"{alg:20s} {r.objectives[0]:10.4f} {r.objectives[-1]:10.4f} {r.optimum:10.4f} "
              f"{r.gap:9.4f} {r.samples:8d}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("learn", help="run a policy-gradient algorithm and report its gap to J*")
    p.add_argument("env", choices=sorted(DEFAULTS))
    p.add_argument("algorithm", choices=(*ALGORITHMS, "all"))
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_learn)
