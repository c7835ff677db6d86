"""``pgmath check --rollout FILE.py:FUNCTION``: check a GAE function over rollout segments.

The seam in :mod:`pgmath.commands.check` is two calls: :func:`add_arguments` adds this
option group to the ``check`` parser, and the handler hands over to :func:`run` when
``--rollout`` is given (passing its own ``load_estimator`` and ``format_table``). Everything else lives here.

The function is checked on :func:`pgmath.rollouts.check.rollout_battery` (small problems
with terminations and truncations, both objectives) by exact enumeration of every
segment, against correct GAE(λ) with partial-episode bootstrapping
(:func:`pgmath.rollouts.check.check_rollout`), and printed as ``pgmath check`` prints
an estimator's check. Exit status as ``pgmath check``: 0 when every verdict is "unbiased",
1 when one is "biased", 3 when some are "inconclusive" and none is biased, 2 for bad input.
"""
from __future__ import annotations

import sys

from ..errors import PgmathError
from .check import rollout_battery_results
from .signatures import REWARD_BOOTSTRAPS, SIGNATURES, adapt

__all__ = ["add_arguments", "run"]


def add_arguments(parser) -> None:
    """Add the ``--rollout`` option group to the ``pgmath check`` parser."""
    g = parser.add_argument_group(
        "rollout advantage functions",
        "with --rollout, FILE.py:FUNCTION is a GAE function over [n_steps, n_envs] arrays "
        "(CleanRL, stable-baselines3, skrl or pgmath's explicit signature), checked exactly "
        "against correct GAE on problems with terminations and truncations")
    g.add_argument("--rollout", action="store_true",
                   help="check a rollout advantage function instead of an estimator(batch, "
                        "policy, theta)")
    g.add_argument("--signature", choices=SIGNATURES, default="explicit",
                   help="the function's calling convention (default: explicit, pgmath's "
                        "fn(rewards, values, terminated, truncated, final_values, last_values, *, "
                        "gamma, lam)); arrays: fn(x), x a pgmath.adapters.EpisodeArrays, as "
                        "pgmath.adapters.advantage_estimator takes")
    g.add_argument("--reward-bootstrap", choices=REWARD_BOOTSTRAPS, default=None,
                   help="what the pipeline adds to a truncated step's reward before the call "
                        "(default: what the signature's library does)")
    g.add_argument("--autoreset", choices=("same-step", "next-step"), default="same-step",
                   help="gymnasium's auto-reset mode of the segments (default same-step)")
    g.add_argument("--lam", type=float, default=0.95, help="GAE λ (default 0.95)")
    g.add_argument("--n-steps", type=int, default=3,
                   help="segment length enumerated (default 3; every segment is listed)")
    g.add_argument("--n-envs", type=int, default=1,
                   help="environments per segment (default 1; >1 only matters for a function "
                        "that couples its columns)")
    g.add_argument("--backend", choices=("numpy", "torch"), default="numpy",
                   help="array type the function takes (default numpy)")
    g.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="floating-point type of the arrays passed (default float64)")


def run(args, load_estimator, print_results) -> int:
    """Run the rollout check for parsed ``args`` and print it the way ``pgmath check``
    prints an estimator's (``print_results``: the table, one row per problem, every report
    with ``-v``), then for a failure the report of the worst failing problem (what the bias
    looks like, the known bug it equals). ``load_estimator(spec)`` imports the target.

    Returns the exit status of ``pgmath check``: 0 unbiased, 1 biased, 3 inconclusive (no
    bias found, something undecided), 2 bad input."""
    try:
        fn = load_estimator(args.target)
        adv = adapt(fn, args.signature, reward_bootstrap=args.reward_bootstrap,
                    backend=args.backend, dtype=args.dtype)
        rows = rollout_battery_results(adv, seed=args.seed, lam=args.lam, n_steps=args.n_steps,
                                       n_envs=args.n_envs, precision=args.precision,
                                       mode=args.autoreset.replace("-", "_"))
    except PgmathError as exc:
        print(f"pgmath check --rollout: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    common = set.intersection(*(set(res.matches) for _, res in rows))
    notes = []
    if "gae" in common:
        notes.append("pathwise: equal to correct GAE on every enumerated segment of every "
                     "problem")
    elif common:
        notes.append(f"pathwise: equal to the known bug {sorted(common)[0]!r} on every "
                     "enumerated segment of every problem")

    def worst(failed) -> None:
        if not args.verbose:
            name, res = max(failed, key=lambda x: x[1].max_abs_bias)
            print(f"\nthe worst failing problem:\n== {name}\n{res}")
    return print_results(rows, verbose=args.verbose, notes=notes, on_failure=worst)
