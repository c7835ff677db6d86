"""``pgmath check FILE.py:FUNCTION``: check a user's estimator on a battery of problems.

The battery is the named environments (:mod:`pgmath.environments`, cut to a short
finite horizon so that every one can be enumerated) and seeded random MDPs. Each row
is one :func:`pgmath.check_unbiased`; the table gives the environment, the verdict,
the observed bias and the detectable bias. The exit status is 1 when any check fails
(or the estimator breaks the protocol), 0 otherwise.
"""
from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np

from .. import environments
from ..check import check_unbiased
from ..errors import PgmathError
from ..mdp import TabularMDP
from ..policies import SoftmaxPolicy

__all__ = ["load_estimator", "battery", "run_battery", "register"]


def load_estimator(spec: str):
    """The callable named by ``FILE.py:FUNCTION`` (the file is imported as a module)."""
    path, sep, func = spec.rpartition(":")
    if not sep or not path or not func:
        raise PgmathError(f"expected FILE.py:FUNCTION, got {spec!r}")
    p = pathlib.Path(path)
    if not p.is_file():
        raise PgmathError(f"no such file: {path}")
    mod_spec = importlib.util.spec_from_file_location(f"_pgmath_user_{p.stem}", p)
    mod = importlib.util.module_from_spec(mod_spec)
    sys.path.insert(0, str(p.parent.resolve()))
    try:
        mod_spec.loader.exec_module(mod)
    finally:
        sys.path.pop(0)
    if not hasattr(mod, func):
        raise PgmathError(f"{path} defines no {func!r}")
    est = getattr(mod, func)
    if not callable(est):
        raise PgmathError(f"{path}:{func} is not callable")
    return est


#: Named environments of the battery with the short horizon each is checked at.
NAMED_HORIZONS = {"bandit": 2, "chain": 4, "gridworld": 2, "short_corridor": 4, "tightrope": 4}


def _random_mdp(rng: np.random.Generator) -> TabularMDP:
    S, A, T = int(rng.integers(2, 4)), int(rng.integers(2, 4)), int(rng.integers(2, 4))
    P = rng.dirichlet(np.full(S, 0.5), size=(S, A))
    R = rng.normal(size=(S, A, S) if rng.random() < 0.3 else (S, A))
    gamma = float(rng.choice([1.0, 0.9, 0.5]))
    return TabularMDP(P, R, rng.dirichlet(np.ones(S)), horizon=T, discount=gamma)


def battery(n_random: int = 6, seed: int = 0):
    """[(name, mdp, policy, theta)]: the named environments then ``n_random`` random MDPs.

    θ is drawn from N(0, 1) per entry with ``numpy.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    out = []
    for name, T in NAMED_HORIZONS.items():
        mdp = environments.make(name).with_horizon(T)
        pol = environments.default_policy(mdp)
        out.append((f"{name} (T={T})", mdp, pol, rng.normal(size=pol.n_params)))
    for k in range(n_random):
        mdp = _random_mdp(rng)
        pol = SoftmaxPolicy(mdp.n_states, mdp.n_actions)
        out.append((f"random-{k} (S={mdp.n_states}, A={mdp.n_actions}, T={mdp.horizon}, "
                    f"γ={mdp.discount:g})", mdp, pol, rng.normal(size=pol.n_params)))
    return out


def run_battery(estimator, problems, *, progress: bool | None = None, **kwargs):
    """[(name, CheckResult or the error message)] for every problem, with a tqdm bar on stderr."""
    from tqdm import tqdm

    rows = []
    bar = tqdm(problems, desc="checking", unit="env", file=sys.stderr,
               disable=(not progress) if progress is not None else None, leave=False)
    for name, mdp, pol, th in bar:
        try:
            rows.append((name, check_unbiased(estimator, mdp, pol, th, **kwargs)))
        except PgmathError as exc:
            rows.append((name, f"{type(exc).__name__}: {exc}"))
    return rows


def format_table(rows) -> str:
    """A plain-text table: environment, verdict, method, bias, detectable bias."""
    w = max(len("environment"), *(len(r[0]) for r in rows))
    lines = [f"{'environment':{w}s}  verdict  method               max |bias|  detectable",
             "-" * (w + 62)]
    for name, res in rows:
        if isinstance(res, str):
            lines.append(f"{name:{w}s}  ERROR    {res}")
            continue
        verdict = "pass" if res.passed else "FAIL"
        lines.append(f"{name:{w}s}  {verdict:7s}  {res.method:19s}  {res.max_abs_bias:10.3e}"
                     f"  {res.detectable_bias:10.3e}")
    return "\n".join(lines)


def _check(args) -> int:
    try:
        est = load_estimator(args.target)
    except PgmathError as exc:
        print(f"pgmath check: {exc}", file=sys.stderr)
        return 2
    kwargs = dict(alpha=args.alpha, batch_size=args.batch_size)
    if args.n is not None:
        kwargs.update(n=args.n, rng=np.random.default_rng(args.seed))
    if args.bound is not None:
        kwargs["bound"] = args.bound
    rows = run_battery(est, battery(args.random, args.seed), progress=args.progress, **kwargs)
    print(format_table(rows))
    bad = [name for name, res in rows if isinstance(res, str) or not res.passed]
    if args.verbose:
        for name, res in rows:
            print(f"\n== {name}\n{res}")
    if bad:
        print(f"\n{len(bad)} of {len(rows)} checks failed: {', '.join(bad)}")
        return 1
    print(f"\nall {len(rows)} checks passed")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "check", help="check a user's estimator for bias on named and random MDPs",
        description="Check FILE.py:FUNCTION, an estimator(batch, policy, theta) -> [N, d], "
                    "against the exact ∇J on a battery of environments. Exit status 1 when "
                    "a check fails.")
    p.add_argument("target", metavar="FILE.py:FUNCTION")
    p.add_argument("--alpha", type=float, default=1e-6,
                   help="false-failure probability of each statistical test (default 1e-6)")
    p.add_argument("--n", type=int, default=None,
                   help="sample N trajectories instead of the exact enumeration")
    p.add_argument("--bound", type=float, default=None,
                   help="a bound B on |g_j| (empirical-Bernstein test when sampling)")
    p.add_argument("--batch-size", type=int, default=16,
                   help="trajectories per batch for a batch-coupled estimator (default 16)")
    p.add_argument("--random", type=int, default=6, help="number of random MDPs (default 6)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random MDPs and θ")
    p.add_argument("--progress", action=argparse_bool(), default=None,
                   help="force the progress bar on or off (default: on a terminal)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every report")
    p.set_defaults(func=_check)


def argparse_bool():
    import argparse
    return argparse.BooleanOptionalAction
