"""``pgmath check FILE.py:FUNCTION``: check a user's estimator on a battery of problems.

The battery is the named environments (:mod:`pgmath.environments`, cut to a short
finite horizon so that every one can be enumerated), seeded random MDPs, and larger
problems (:data:`LARGE_HORIZONS`: the tightrope and the chain at their full horizons,
the gridworld cut to T = 50). Each row is one :func:`pgmath.check_unbiased`; the table
gives the environment, the verdict, the method, N, the observed bias and the detectable
bias. Exit status: 0 when every check says unbiased, 1 when one finds a bias (or the
estimator breaks the protocol), 3 when none finds a bias but some are inconclusive.

On a problem that can be enumerated, or for an estimator with a moment recursion, the
verdict is exact. Otherwise the estimator is sampled with N planned by
:func:`pgmath.check_unbiased` for a detectable bias of ``--detectable-bias`` × ‖∇J‖∞
(capped at ``--max-n``): with ``--bound B`` the guaranteed empirical-Bernstein test,
without it the z-test labelled asymptotic, planned from a pilot run. A check that cannot
see that bias at the cap is inconclusive and says which N would decide it.

When a check fails, the smallest failing problem (fewest trajectories, then the shortest
horizon that still fails) is printed as code the user can paste to reproduce it.
"""
from __future__ import annotations

import contextlib
import importlib.util
import pathlib
import sys

import numpy as np

from .. import environments
from ..check import check_unbiased
from ..errors import PgmathError
from ..mdp import TabularMDP
from ..policies import LinearSoftmaxPolicy, ObservationSoftmaxPolicy, SoftmaxPolicy
from ..rollouts import command as rollout_command
from ..trajectories import count_trajectories

__all__ = ["load_estimator", "user_path", "battery", "run_battery", "format_table",
           "reproduction", "register"]


@contextlib.contextmanager
def user_path(spec: str):
    """Keep the directory of ``FILE.py`` on ``sys.path`` for the whole check, so that an
    estimator may import its sibling modules (or its own file) inside its body."""
    path = str(pathlib.Path(spec.rpartition(":")[0]).resolve().parent)
    sys.path.insert(0, path)
    try:
        yield path
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(path)


def load_estimator(spec: str):
    """The callable named by ``FILE.py:FUNCTION`` (the file is imported as a module; its
    directory must be on ``sys.path`` while the estimator runs: :func:`user_path`)."""
    path, sep, func = spec.rpartition(":")
    if not sep or not path or not func:
        raise PgmathError(f"expected FILE.py:FUNCTION, got {spec!r}")
    p = pathlib.Path(path)
    if not p.is_file():
        raise PgmathError(f"no such file: {path}")
    mod_spec = importlib.util.spec_from_file_location(f"_pgmath_user_{p.stem}", p)
    mod = importlib.util.module_from_spec(mod_spec)
    with user_path(spec):
        mod_spec.loader.exec_module(mod)
    if not hasattr(mod, func):
        raise PgmathError(f"{path} defines no {func!r}")
    est = getattr(mod, func)
    if not callable(est):
        raise PgmathError(f"{path}:{func} is not callable")
    return est


#: Default cap on the N a statistical check of the battery plans.
MAX_N = 100_000
#: Named environments of the battery with the short horizon each is checked at.
NAMED_HORIZONS = {"bandit": 2, "chain": 4, "gridworld": 2, "short_corridor": 4, "tightrope": 4}
#: Larger problems (``None``: the environment's own horizon).
LARGE_HORIZONS = {"tightrope": None, "chain": None, "gridworld": 50}


def _random_mdp(rng: np.random.Generator) -> TabularMDP:
    S, A, T = int(rng.integers(2, 4)), int(rng.integers(2, 4)), int(rng.integers(2, 4))
    P = rng.dirichlet(np.full(S, 0.5), size=(S, A))
    R = rng.normal(size=(S, A, S) if rng.random() < 0.3 else (S, A))
    gamma = float(rng.choice([1.0, 0.9, 0.5]))
    return TabularMDP(P, R, rng.dirichlet(np.ones(S)), horizon=T, discount=gamma)


def battery(n_random: int = 6, seed: int = 0, *, large: bool = True):
    """[(name, mdp, policy, theta)]: the named environments, ``n_random`` random MDPs,
    then (``large``) the problems of :data:`LARGE_HORIZONS`.

    θ is drawn from N(0, 1) per entry with ``numpy.random.default_rng(seed)`` (the large
    problems from ``default_rng([seed, 1])``, so the small rows do not depend on them).
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
    if large:
        rng = np.random.default_rng([seed, 1])
        for name, T in LARGE_HORIZONS.items():
            mdp = environments.make(name)
            mdp = mdp.with_horizon(T) if T is not None else mdp
            pol = environments.default_policy(mdp)
            out.append((f"{name} (T={mdp.horizon})", mdp, pol, rng.normal(size=pol.n_params)))
    return out


def run_battery(estimator, problems, *, progress: bool | None = None,
                detectable_bias: float = 0.1, max_n: int = MAX_N, seed: int = 0, **kwargs):
    """[(name, CheckResult or the error message)] for every problem, with a tqdm bar on stderr.

    ``kwargs`` go to :func:`pgmath.check_unbiased`; a statistical check plans N for a
    detectable bias of ``detectable_bias`` × ‖∇J(θ)‖∞ (its ``relative_resolution``), at
    most ``max_n``, seeded ``default_rng([seed, row])`` unless ``rng`` is given.
    """
    from tqdm import tqdm

    rows = []
    bar = tqdm(problems, desc="checking", unit="env", file=sys.stderr,
               disable=(not progress) if progress is not None else None, leave=False)
    for k, (name, mdp, pol, th) in enumerate(bar):
        bar.set_postfix_str(name, refresh=False)
        kw = dict(relative_resolution=detectable_bias, max_n=max_n, **kwargs)
        kw.setdefault("rng", np.random.default_rng([seed, k]))
        try:
            rows.append((name, check_unbiased(estimator, mdp, pol, th, **kw)))
        except PgmathError as exc:
            rows.append((name, f"{type(exc).__name__}: {exc}"))
    return rows


_SHOWN = {"unbiased": "pass", "biased": "FAIL", "inconclusive": "inconclusive"}


def format_table(rows) -> str:
    """A plain-text table: environment, verdict, method, N, bias, detectable bias; notes
    under it for asymptotic guarantees and inconclusive rows."""
    w = max(len("environment"), *(len(r[0]) for r in rows))
    lines = [f"{'environment':{w}s}  verdict       method               N        max |bias|  detectable",
             "-" * (w + 76)]
    for name, res in rows:
        if isinstance(res, str):
            lines.append(f"{name:{w}s}  ERROR         {res}")
            continue
        n = "-" if res.method == "recursion" else f"{res.n:,}"
        lines.append(f"{name:{w}s}  {_SHOWN[res.verdict]:12s}  {res.method:19s}  {n:>7s}  "
                     f"{res.max_abs_bias:10.3e}  {res.detectable_bias:10.3e}")
    results = [res for _, res in rows if not isinstance(res, str)]
    if any(not res.guaranteed for res in results):
        lines.append("asymptotic: CLT-based, the false-failure rate α is not guaranteed for a "
                     "black box of unknown range; pass --bound B (|g_j| ≤ B) for a guaranteed "
                     "empirical-Bernstein test")
    for name, res in rows:
        if not isinstance(res, str) and res.verdict == "inconclusive":
            if res.resolution is None:   # an exact route that could not decide every case
                lines.append(f"inconclusive {name}: the exact route could not decide every "
                             "case (-v shows which, and what would decide it)")
                continue
            need = (f"N ≈ {res.n_needed:,} would decide it (--max-n)" if res.n_needed
                    else "no N decides it")
            lines.append(f"inconclusive {name}: detectable {res.detectable_bias:.3e} > required "
                         f"{res.resolution:.3e}; {need}")
    if any(res.coupled for res in results):
        lines.append(f"batch-coupled: {next(res.coupling for res in results if res.coupled)}; "
                     f"checked over batches of {next(r.batch_size for r in results if r.coupled)}"
                     " (--batch-size)")
    return "\n".join(lines)


def _array(x) -> str:
    """``np.array([...])`` that rebuilds ``x`` exactly (Python's float repr round-trips)."""
    return f"np.array({np.asarray(x, dtype=float).tolist()!r})"


def _policy_code(policy) -> str:
    if isinstance(policy, ObservationSoftmaxPolicy):
        return f"pgmath.ObservationSoftmaxPolicy({policy.n_inputs}, {policy.n_actions})"
    if isinstance(policy, SoftmaxPolicy):
        return f"pgmath.SoftmaxPolicy({policy.n_inputs}, {policy.n_actions})"
    if isinstance(policy, LinearSoftmaxPolicy):
        return (f"pgmath.LinearSoftmaxPolicy({_array(policy.features())}, "
                f"over={policy.over!r})")
    return repr(policy)


def reproduction(spec: str, mdp, policy, theta, options: dict) -> str:
    """Python code that rebuilds (mdp, policy, θ) exactly and reruns the check of
    ``FILE.py:FUNCTION``."""
    path, _, func = spec.rpartition(":")
    p = pathlib.Path(path).resolve()
    O = f"    O={_array(mdp.O)},\n" if getattr(mdp, "is_pomdp", False) else ""
    cls = "POMDP" if getattr(mdp, "is_pomdp", False) else "TabularMDP"
    opts = "".join(f", {k}={v!r}" for k, v in options.items())
    return (f"import sys\nimport numpy as np\nimport pgmath\n"
            f"sys.path.insert(0, {str(p.parent)!r})\nfrom {p.stem} import {func}\n\n"
            f"mdp = pgmath.{cls}(\n    P={_array(mdp.P)},\n    R={_array(mdp.R)},\n"
            f"    p0={_array(mdp.p0)},\n{O}    horizon={mdp.horizon}, discount={mdp.discount!r})\n"
            f"policy = {_policy_code(policy)}\ntheta = {_array(theta)}\n"
            f"print(pgmath.check_unbiased({func}, mdp, policy, theta{opts}))\n")


def _smallest_failure(estimator, problems, rows, kwargs):
    """(mdp, policy, θ) of the failing problem with the fewest trajectories, cut to the
    shortest horizon at which it still fails; ``None`` when nothing was found biased."""
    failing = [(count_trajectories(m, p, t), m, p, t) for (name, m, p, t), (_, res)
               in zip(problems, rows) if not isinstance(res, str) and res.verdict == "biased"]
    if not failing:
        return None
    _, mdp, pol, th = min(failing, key=lambda x: x[0])
    for T in range(1, mdp.horizon):
        try:
            res = check_unbiased(estimator, mdp.with_horizon(T), pol, th, **kwargs)
        except PgmathError:
            continue
        if res.verdict == "biased":
            return mdp.with_horizon(T), pol, th
    return mdp, pol, th


def print_results(rows, *, verbose: bool = False, notes=(), on_failure=None) -> int:
    """Print [(name, result or error message)] as ``pgmath check`` does — the table, the
    ``notes`` lines, every report with ``verbose``, then what failed (and
    ``on_failure(failed rows)``) or what is inconclusive — and return the exit status: 0
    all unbiased, 1 a bias or an error, 3 inconclusive and nothing biased."""
    print(format_table(rows))
    for line in notes:
        print(line)
    if verbose:
        for name, res in rows:
            print(f"\n== {name}\n{res}")
    bad = [name for name, res in rows if isinstance(res, str) or res.verdict == "biased"]
    open_ = [name for name, res in rows if not isinstance(res, str)
             and res.verdict == "inconclusive"]
    if bad:
        print(f"\n{len(bad)} of {len(rows)} checks failed: {', '.join(bad)}")
        if on_failure is not None:
            on_failure([(n, r) for n, r in rows if n in bad])
        return 1
    if open_:
        print(f"\nno bias found, but {len(open_)} of {len(rows)} checks are inconclusive: "
              f"{', '.join(open_)}")
        return 3
    print(f"\nall {len(rows)} checks passed")
    return 0


def _check(args) -> int:
    with user_path(args.target):
        if args.rollout:  # seam: rollout advantage functions live in pgmath.rollouts.command
            return rollout_command.run(args, load_estimator, print_results)
        try:
            est = load_estimator(args.target)
        except PgmathError as exc:
            print(f"pgmath check: {exc}", file=sys.stderr)
            return 2
        kwargs = dict(alpha=args.alpha, batch_size=args.batch_size, precision=args.precision)
        if args.n is not None:
            kwargs.update(n=args.n, rng=np.random.default_rng(args.seed))
        if args.bound is not None:
            kwargs["bound"] = args.bound
        problems = battery(args.random, args.seed, large=args.large)
        rows = run_battery(est, problems, progress=args.progress,
                           detectable_bias=args.detectable_bias, max_n=args.max_n,
                           seed=args.seed, **kwargs)

        def smallest(_failed) -> None:
            small = _smallest_failure(est, problems, rows, kwargs)
            if small is not None:
                opts = {k: v for k, v in kwargs.items() if k in ("precision", "batch_size")
                        and v != {"precision": "auto", "batch_size": 16}[k]}
                print("\nthe smallest failing problem, to reproduce:\n")
                print(reproduction(args.target, *small, opts))
        return print_results(rows, verbose=args.verbose, on_failure=smallest)


def register(sub) -> None:
    import argparse

    p = sub.add_parser(
        "check", help="check a user's estimator for bias on named and random MDPs",
        description="Check FILE.py:FUNCTION, an estimator(batch, policy, theta) -> [N, d], "
                    "against the exact ∇J on a battery of environments. Exit status 0 when "
                    "every check says unbiased, 1 when one finds a bias, 3 when some are "
                    "inconclusive and none finds a bias.")
    p.add_argument("target", metavar="FILE.py:FUNCTION")
    p.add_argument("--alpha", type=float, default=1e-6,
                   help="false-failure probability of each statistical test (default 1e-6)")
    p.add_argument("--n", type=int, default=None,
                   help="sample N trajectories instead of the exact enumeration")
    p.add_argument("--bound", type=float, default=None,
                   help="a bound B on |g_j| (empirical-Bernstein test when sampling)")
    p.add_argument("--batch-size", type=int, default=16,
                   help="trajectories per batch for a batch-coupled estimator (default 16)")
    p.add_argument("--precision", choices=["auto", "float64", "float32"], default="auto",
                   help="working precision of the estimator for the rounding tolerance "
                        "(default auto: the dtype it returns)")
    p.add_argument("--random", type=int, default=6, help="number of random MDPs (default 6)")
    p.add_argument("--large", action=argparse.BooleanOptionalAction, default=True,
                   help="include the larger problems (full-horizon tightrope and chain, "
                        "gridworld T=50; default on)")
    p.add_argument("--detectable-bias", type=float, default=0.1,
                   help="a statistical check must see a bias of this fraction of ‖∇J‖∞ to "
                        "call the estimator unbiased (default 0.1)")
    p.add_argument("--max-n", type=int, default=MAX_N,
                   help=f"cap on the planned N (default {MAX_N:,})")
    p.add_argument("--seed", type=int, default=0, help="seed of the random MDPs and θ")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="force the progress bar on or off (default: on a terminal)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every report")
    rollout_command.add_arguments(p)
    p.set_defaults(func=_check)
