"""REINFORCE, natural policy gradient and TRPO loops, measured against the exact optimum.

Each loop runs on a finite MDP (or POMDP) with a softmax policy and records the exact
objective J(θ_k) of every iterate (:func:`pgmath.exact.objective`), so a run is
compared with the truth, not with its own noisy returns:

* :func:`reinforce`: θ ← θ + α ĝ with ĝ = (1/N) Σ_i (Σ_t ψ_t) r(τ_i) (notes §4.1,
  Algorithm 2), or with ``baseline=True`` ĝ = (1/N) Σ_i Σ_t ψ_{i,t} (G_{i,t} − b_{i,t}),
  b_{i,t} the mean of the reward-to-go G_{j,t} of the other trajectories of the batch
  (notes §4.3; leave-one-out, so that ĝ stays unbiased: the plain batch mean gives
  (1 − 1/N) ∇J).
* :func:`npg`: θ ← θ + α F⁺ g with a fixed α (notes §4.5.1: "the natural policy
  gradient selects α"), or α = √(2ε / gᵀF⁺g): exact (F, ∇J from the solvers) or
  sampled (CG on the sampled Fisher, damped; g the leave-one-out ĝ).
* :func:`trpo`: :func:`pgmath.estimators.trpo_step_exact` / ``trpo_step_sampled``.

Every sampled loop's gradient is the row mean of a public estimator,
:data:`GRADIENT_ESTIMATORS`, so it can be checked like any other: each is unbiased for
∇J(θ), decided exactly by :func:`pgmath.check_unbiased` (tests/algorithms).

Sampled runs draw trajectories of ``n_steps`` steps (the MDP's horizon by default; an
infinite-horizon problem needs ``n_steps``, which truncates the episodes the
estimators see, while J is still evaluated exactly on the untruncated problem). Runs
are deterministic given the seed. :func:`run` runs a named environment with tuned
defaults; :func:`reference_optimum` gives the value to compare with: J* from optimal
control, or for the short corridor (a POMDP, where the fully observed optimum is out of
reach of a memoryless policy) the best J(p) of the closed form, at p = 2 − √2.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import environments
from ..errors import PgmathError
from ..estimators import onpolicy as _onpolicy
from ..estimators.natural import (kl_step_size, natural_gradient, natural_gradient_estimate,
                                  trpo_step_exact, trpo_step_sampled)
from ..exact import gradient, objective, optimal_objective
from ..trajectories import sample

__all__ = ["RunResult", "reinforce", "npg", "trpo", "reference_optimum", "run", "DEFAULTS",
           "ALGORITHMS", "GRADIENT_ESTIMATORS"]

#: The estimator whose row mean is each sampled loop's gradient ĝ (all unbiased for ∇J):
#: REINFORCE without baseline, and the reward-to-go with the leave-one-out time-dependent
#: baseline for REINFORCE with baseline, sampled NPG and sampled TRPO.
GRADIENT_ESTIMATORS = {
    "reinforce": _onpolicy.reinforce,
    "reinforce_baseline": _onpolicy.reward_to_go_leave_one_out,
    "npg": _onpolicy.reward_to_go_leave_one_out,
    "trpo": _onpolicy.reward_to_go_leave_one_out,
}


@dataclass
class RunResult:
    """A learning run.

    Attributes:
      algorithm: ``"reinforce"``, ``"reinforce_baseline"``, ``"npg"`` or ``"trpo"``.
      thetas: ``[K+1, d]`` the iterates θ_0..θ_K.
      objectives: ``[K+1]`` exact J(θ_k).
      optimum: the reference optimum J* (:func:`reference_optimum`).
      samples: trajectories drawn in total (0 for exact runs).
    """

    algorithm: str
    thetas: np.ndarray
    objectives: np.ndarray
    optimum: float
    samples: int = 0
    info: dict = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """J* − J(θ_K) (≥ 0 up to rounding when J* is the optimum over the policy class)."""
        return float(self.optimum - self.objectives[-1])


def reference_optimum(mdp) -> float:
    """J* to compare with: the short corridor's best memoryless J(p) = J(2 − √2) for a
    POMDP whose observations carry no information about the state (one observation), the
    optimal-control J* otherwise (for other POMDPs: the fully observed J*, an upper bound)."""
    if getattr(mdp, "is_pomdp", False) and mdp.n_observations == 1 \
            and mdp.n_states == 4 and mdp.n_actions == 2:
        ref = environments.short_corridor()
        if np.array_equal(mdp.P, ref.P) and np.array_equal(mdp.r, ref.r):
            return environments.short_corridor_objective(2.0 - np.sqrt(2.0))
    return optimal_objective(mdp)


def _check(iterations, batch_size=None, min_batch: int = 2) -> None:
    """iterations ≥ 1; batch_size None (exact) or ≥ ``min_batch`` (2 for the leave-one-out
    baseline)."""
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) \
            or iterations < 1:
        raise PgmathError(f"iterations must be a positive int, got {iterations!r}")
    if batch_size is not None and (isinstance(batch_size, bool)
                                   or not isinstance(batch_size, (int, np.integer))
                                   or batch_size < min_batch):
        raise PgmathError(f"batch_size must be an int ≥ {min_batch}, got {batch_size!r}"
                          + (" (the leave-one-out baseline needs two trajectories)"
                             if min_batch == 2 else ""))


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _finish(name, mdp, policy, thetas, samples, info=None) -> RunResult:
    th = np.array(thetas)
    J = np.array([objective(mdp, policy, t) for t in th])
    return RunResult(name, th, J, reference_optimum(mdp), samples, info or {})


def reinforce(mdp, policy, theta0, *, iterations: int, batch_size: int, step_size: float,
              seed=0, baseline: bool = False, n_steps: int | None = None) -> RunResult:
    """REINFORCE: θ ← θ + α ĝ(θ) on a fresh batch of ``batch_size`` trajectories per step,
    ĝ the row mean of :data:`GRADIENT_ESTIMATORS` ``["reinforce"]`` (or
    ``["reinforce_baseline"]`` with ``baseline=True``, which needs ``batch_size`` ≥ 2)."""
    name = "reinforce_baseline" if baseline else "reinforce"
    _check(iterations, batch_size, 2 if baseline else 1)
    estimator = GRADIENT_ESTIMATORS[name]
    rng = _rng(seed)
    theta = policy.check_theta(theta0).copy()
    thetas = [theta.copy()]
    for _ in range(iterations):
        batch = sample(mdp, policy, theta, batch_size, rng, n_steps=n_steps)
        theta = theta + step_size * estimator(batch, policy, theta).mean(axis=0)
        thetas.append(theta.copy())
    return _finish(name, mdp, policy, thetas, iterations * batch_size)


def npg(mdp, policy, theta0, *, iterations: int, step_size: float | None = None,
        epsilon: float | None = None, batch_size: int | None = None, seed=0,
        n_steps: int | None = None, damping: float = 1e-3) -> RunResult:
    """Natural policy gradient θ ← θ + α F⁺g: exact when ``batch_size`` is None (F⁺∇J from
    the solvers), sampled otherwise (damped CG on the sampled Fisher).

    Give exactly one of ``step_size`` (a fixed α, as the notes' NPG "selects α") or
    ``epsilon`` (α = √(2ε / gᵀF⁺g) every step; a fixed KL per step, which does not shrink
    near the optimum, so the iterates hover at KL distance ε from it).
    """
    _check(iterations, batch_size)
    if (step_size is None) == (epsilon is None):
        raise PgmathError("npg needs exactly one of step_size (α) and epsilon (KL budget)")
    rng = _rng(seed)
    theta = policy.check_theta(theta0).copy()
    thetas = [theta.copy()]
    for _ in range(iterations):
        if batch_size is None:
            x, g = natural_gradient(mdp, policy, theta), gradient(mdp, policy, theta)
        else:
            batch = sample(mdp, policy, theta, batch_size, rng, n_steps=n_steps)
            x, g = natural_gradient_estimate(batch, policy, theta, damping=damping)
        alpha = step_size if epsilon is None else kl_step_size(g, x, epsilon)
        theta = theta + alpha * x
        thetas.append(theta.copy())
    return _finish("npg", mdp, policy, thetas, 0 if batch_size is None else iterations * batch_size)


def trpo(mdp, policy, theta0, *, iterations: int, epsilon: float, batch_size: int | None = None,
         seed=0, n_steps: int | None = None, damping: float = 1e-3) -> RunResult:
    """TRPO: exact (``batch_size=None``) or sampled steps with KL budget ε."""
    _check(iterations, batch_size)
    rng = _rng(seed)
    theta = policy.check_theta(theta0).copy()
    thetas = [theta.copy()]
    rejected = 0
    for _ in range(iterations):
        if batch_size is None:
            step = trpo_step_exact(mdp, policy, theta, epsilon)
        else:
            batch = sample(mdp, policy, theta, batch_size, rng, n_steps=n_steps)
            step = trpo_step_sampled(batch, policy, theta, epsilon, damping=damping)
        rejected += not step.accepted
        theta = step.theta.copy()
        thetas.append(theta.copy())
    return _finish("trpo", mdp, policy, thetas,
                   0 if batch_size is None else iterations * batch_size, {"rejected": rejected})


#: Defaults per named environment: the initial θ, sampling horizon and step sizes.
DEFAULTS: dict[str, dict] = {
    "bandit": dict(theta0=None, n_steps=None, step_size=1.0, natural_step_size=0.5,
                   epsilon=0.05, batch_size=100),
    "chain": dict(theta0=None, n_steps=None, step_size=0.2, natural_step_size=0.05,
                  epsilon=0.05, batch_size=100),
    "gridworld": dict(theta0=None, n_steps=30, step_size=0.2, natural_step_size=0.05,
                      epsilon=0.05, batch_size=50),
    "short_corridor": dict(theta0=np.array([0.75, -0.75]), n_steps=100, step_size=0.005,
                           natural_step_size=0.02, epsilon=0.05, batch_size=100),
}

#: The algorithms :func:`run` knows.
ALGORITHMS = ("reinforce", "reinforce_baseline", "npg", "trpo", "npg_exact", "trpo_exact")


def run(env: str, algorithm: str, *, iterations: int = 50, seed: int = 0, **overrides) -> RunResult:
    """Run ``algorithm`` (one of :data:`ALGORITHMS`) on the named environment ``env`` with
    :data:`DEFAULTS` (overridable by keyword)."""
    if env not in DEFAULTS:
        raise PgmathError(f"unknown environment {env!r}; choose from {sorted(DEFAULTS)}")
    if algorithm not in ALGORITHMS:
        raise PgmathError(f"unknown algorithm {algorithm!r}; choose from {ALGORITHMS}")
    mdp = environments.make(env)
    policy = environments.default_policy(mdp)
    cfg = {**DEFAULTS[env], **overrides}
    theta0 = cfg["theta0"] if cfg["theta0"] is not None else np.zeros(policy.n_params)
    kw = dict(iterations=iterations, seed=seed, n_steps=cfg["n_steps"])
    if algorithm.startswith("reinforce"):
        return reinforce(mdp, policy, theta0, batch_size=cfg["batch_size"],
                         step_size=cfg["step_size"], baseline=algorithm == "reinforce_baseline", **kw)
    bs = None if algorithm.endswith("_exact") else cfg["batch_size"]
    if algorithm.startswith("npg"):
        res = npg(mdp, policy, theta0, step_size=cfg["natural_step_size"], batch_size=bs, **kw)
    else:
        res = trpo(mdp, policy, theta0, epsilon=cfg["epsilon"], batch_size=bs, **kw)
    res.algorithm = algorithm
    return res
