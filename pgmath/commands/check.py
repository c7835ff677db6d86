"""``pgmath check FILE.py:FUNCTION``: check a user's estimator on a battery of problems.

The battery is the named environments (:mod:`pgmath.environments`, cut to a short
finite horizon so that every one can be enumerated), seeded random MDPs, and larger
problems (:data:`LARGE_HORIZONS`: the tightrope and the chain at their full horizons,
the gridworld cut to T = 50). Each row is one :func:`pgmath.check_unbiased`; the table
gives the environment, the verdict, the method, N, the observed bias and the
detectable bias. The exit status is 1 when any check fails (or the estimator breaks
the protocol), 0 otherwise.

On a problem that can be enumerated, or for a built-in estimator with a moment
recursion, the verdict is exact. Otherwise a user's estimator is a black box whose
variance pgmath does not know (the exact variance of a reference estimator says
nothing about it), so it is sampled with a planned N (:func:`planned_n`): with
``--bound B`` (|g_j| ≤ B) the empirical-Bernstein test, guaranteed, planned for the
detectable bias from B alone; without a bound the Bonferroni z-test, labelled
asymptotic, planned from a pilot run's sample variance.
"""
from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np

from .. import environments
from ..check import DEFAULT_BETA, _enumerable, check_unbiased, empirical_bernstein_sample_size
from ..check_routes import recursion_route
from ..errors import PgmathError
from ..exact import gradient
from ..mdp import TabularMDP
from ..policies import SoftmaxPolicy
from ..rollouts import command as rollout_command

__all__ = ["load_estimator", "battery", "run_battery", "planned_n", "register"]


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
#: Larger problems (``None``: the environment's own horizon).
LARGE_HORIZONS = {"tightrope": None, "chain": None, "gridworld": 50}
#: Trajectories of the pilot run that plans N for the asymptotic test.
PILOT_N = 1000


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


def planned_n(estimator, mdp, policy, theta, *, detectable_bias: float, alpha: float,
              beta: float = DEFAULT_BETA, bound: float | None = None, max_n: int = 20_000,
              batch_size: int = 16, rng=None) -> int:
    """N for a black-box check on a problem too large to enumerate, at most ``max_n``.

    With ``bound`` B: :func:`pgmath.check.empirical_bernstein_sample_size` (from B alone,
    non-asymptotic). Without: a pilot of :data:`PILOT_N` draws gives the asymptotic test's
    detectable bias δ₀ = (z_{α/2d} + z_β) σ̂ / √N₀, which scales as 1/√N, so
    N = ⌈N₀ (δ₀ / δ)²⌉ (asymptotic, like the test it plans for).
    """
    if bound is not None:
        n = empirical_bernstein_sample_size(bound, detectable_bias, policy.n_params,
                                            alpha=alpha, beta=beta)
    else:
        pilot = check_unbiased(estimator, mdp, policy, theta, method="asymptotic", n=PILOT_N,
                               alpha=alpha, beta=beta, batch_size=batch_size,
                               rng=np.random.default_rng(0) if rng is None else rng)
        n = int(np.ceil(PILOT_N * (pilot.detectable_bias / detectable_bias) ** 2))
    return int(min(max(n, PILOT_N), max_n))


def _decided_exactly(estimator, mdp, pol, th, batch_size: int) -> bool:
    return (_enumerable(estimator, mdp, pol, th, None, batch_size)
            or recursion_route(estimator, mdp, pol, th) is not None)


def run_battery(estimator, problems, *, progress: bool | None = None,
                detectable_bias: float = 0.1, max_n: int = 20_000, seed: int = 0, **kwargs):
    """[(name, CheckResult or the error message)] for every problem, with a tqdm bar on stderr.

    ``kwargs`` go to :func:`pgmath.check_unbiased`. Without ``n``, a problem that can be
    neither enumerated nor handled by a moment recursion is sampled with
    :func:`planned_n` for the detectable bias ``detectable_bias`` × ‖∇J(θ)‖∞ (seeded
    ``default_rng([seed, row])``).
    """
    from tqdm import tqdm

    rows = []
    bar = tqdm(problems, desc="checking", unit="env", file=sys.stderr,
               disable=(not progress) if progress is not None else None, leave=False)
    for k, (name, mdp, pol, th) in enumerate(bar):
        bar.set_postfix_str(name, refresh=False)
        try:
            kw = dict(kwargs)
            if "n" not in kw and not _decided_exactly(estimator, mdp, pol, th,
                                                      kw.get("batch_size", 16)):
                delta = detectable_bias * max(float(np.abs(gradient(mdp, pol, th)).max()), 1e-9)
                kw["n"] = planned_n(estimator, mdp, pol, th, detectable_bias=delta,
                                    alpha=kw.get("alpha", 1e-6), bound=kw.get("bound"),
                                    max_n=max_n, batch_size=kw.get("batch_size", 16),
                                    rng=np.random.default_rng([seed, k, 0]))
                kw["rng"] = np.random.default_rng([seed, k])
            rows.append((name, check_unbiased(estimator, mdp, pol, th, **kw)))
        except PgmathError as exc:
            rows.append((name, f"{type(exc).__name__}: {exc}"))
    return rows


def format_table(rows) -> str:
    """A plain-text table: environment, verdict, method, N, bias, detectable bias; a note
    under it when a row's guarantee is only asymptotic."""
    w = max(len("environment"), *(len(r[0]) for r in rows))
    lines = [f"{'environment':{w}s}  verdict  method               N        max |bias|  detectable",
             "-" * (w + 71)]
    for name, res in rows:
        if isinstance(res, str):
            lines.append(f"{name:{w}s}  ERROR    {res}")
            continue
        verdict = "pass" if res.passed else "FAIL"
        n = "-" if res.method.startswith("exact") else f"{res.n:,}"
        lines.append(f"{name:{w}s}  {verdict:7s}  {res.method:19s}  {n:>7s}  "
                     f"{res.max_abs_bias:10.3e}  {res.detectable_bias:10.3e}")
    if any(not isinstance(res, str) and not res.guaranteed for _, res in rows):
        lines.append("asymptotic: CLT-based, the false-failure rate α is not guaranteed for a "
                     "black box of unknown range; pass --bound B (|g_j| ≤ B) for a guaranteed "
                     "empirical-Bernstein test")
    return "\n".join(lines)


def _check(args) -> int:
    if args.rollout:  # seam: rollout advantage functions live in pgmath.rollouts.command
        return rollout_command.run(args, load_estimator)
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
    rows = run_battery(est, battery(args.random, args.seed, large=args.large),
                       progress=args.progress, detectable_bias=args.detectable_bias,
                       max_n=args.max_n, seed=args.seed, **kwargs)
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
    p.add_argument("--large", action=argparse_bool(), default=True,
                   help="include the larger problems (full-horizon tightrope and chain, "
                        "gridworld T=50; default on)")
    p.add_argument("--detectable-bias", type=float, default=0.1,
                   help="on problems that are sampled, plan N to detect a bias of this "
                        "fraction of ‖∇J‖∞ (default 0.1)")
    p.add_argument("--max-n", type=int, default=20_000,
                   help="cap on the planned N (default 20,000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random MDPs and θ")
    p.add_argument("--progress", action=argparse_bool(), default=None,
                   help="force the progress bar on or off (default: on a terminal)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every report")
    rollout_command.add_arguments(p)
    p.set_defaults(func=_check)


def argparse_bool():
    import argparse
    return argparse.BooleanOptionalAction
