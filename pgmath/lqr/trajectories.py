"""Batches of continuous trajectories, and the sampler (notes §3.1 with x ∈ ℝⁿ, u ∈ ℝᵐ).

A trajectory of a linear-quadratic problem is a deterministic function of standard
normals: z₀ (for x_0 = μ₀ + L₀ z₀, L₀L₀ᵀ = Σ₀), and per step ε_t (the policy's noise)
and ω_t (w_t = L_w ω_t, L_wL_wᵀ = W). :func:`rollout` builds the batch from given
normals (the sampler draws them; quadrature passes its nodes), so an estimator is a
function of those D = rank Σ₀ + T (rank W + m) numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .._deprecation import renamed_arguments
from ..errors import InvalidArgumentError, ShapeError

__all__ = ["ContinuousTrajectories", "rollout", "sample", "split_noise"]


@dataclass(frozen=True, eq=False)
class ContinuousTrajectories:
    """A batch of N trajectories of T steps with vector states and actions.

    Attributes:
      states: ``[N, T+1, n]`` x_0, …, x_T (x_T is the state after the last action).
      actions: ``[N, T, m]`` u_t as executed (squashed, for a squashed policy).
      rewards: ``[N, T]`` r_t.
      terminal_rewards: ``[N]`` r_T = −x_Tᵀ Q_T x_T (zero without a terminal cost).
      noise: ``[N, T, m]`` the standard normals ε_t behind each action, or ``None``.
      discount: γ.

    The estimator protocol ``estimator(batch, policy, theta) -> [N, d]`` takes this batch
    as it takes :class:`pgmath.Trajectories`.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminal_rewards: np.ndarray
    noise: np.ndarray | None = None
    discount: float = 1.0

    def __post_init__(self) -> None:
        s = np.asarray(self.states)
        a = np.asarray(self.actions)
        if s.ndim != 3 or a.ndim != 3:
            raise ShapeError(f"states must be [N, T+1, n] and actions [N, T, m]; got "
                             f"{s.shape} and {a.shape}")
        N, T1, _ = s.shape
        if a.shape[:2] != (N, T1 - 1):
            raise ShapeError(f"actions has shape {a.shape} but states has shape {s.shape}: "
                             f"need actions [N, T, m] = [{N}, {T1 - 1}, m]")
        if np.shape(self.rewards) != (N, T1 - 1):
            raise ShapeError(f"rewards has shape {np.shape(self.rewards)}; it must be [N, T] = "
                             f"[{N}, {T1 - 1}]")
        if np.shape(self.terminal_rewards) != (N,):
            raise ShapeError(f"terminal_rewards has shape {np.shape(self.terminal_rewards)}; "
                             f"it must be [N] = [{N}]")
        if self.noise is not None and np.shape(self.noise) != a.shape:
            raise ShapeError(f"noise has shape {np.shape(self.noise)}; it must match actions "
                             f"{a.shape}")

    @property
    def n(self) -> int:
        """N, the number of trajectories."""
        return self.states.shape[0]

    @property
    def horizon(self) -> int:
        """T, the number of actions per trajectory."""
        return self.actions.shape[1]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, idx) -> "ContinuousTrajectories":
        """A sub-batch (rows ``idx``; an int keeps a batch of one)."""
        if isinstance(idx, (int, np.integer)):
            idx = slice(int(idx), int(idx) + 1) if idx != -1 else slice(-1, None)
        kw = {}
        for f in fields(self):
            v = getattr(self, f.name)
            kw[f.name] = v[idx] if isinstance(v, np.ndarray) else v
        return ContinuousTrajectories(**kw)

    def returns(self) -> np.ndarray:
        """``[N]`` r(τ) = Σ_{t<T} γ^t r_t + γ^T r_T."""
        T = self.horizon
        return self.rewards @ (self.discount ** np.arange(T)) + self.discount ** T * self.terminal_rewards


def _horizon(problem, n_steps) -> int:
    if n_steps is None:
        if problem.horizon is None:
            raise InvalidArgumentError(f"{problem!r} has an infinite horizon: pass n_steps")
        return problem.horizon
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise InvalidArgumentError(f"n_steps must be a positive int, got {n_steps!r}")
    return int(n_steps)


def split_noise(problem, xi: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z₀ ``[N, r₀]``, ε ``[N, T, m]``, ω ``[N, T, r_w]``) from flat normals ξ ``[N, D]``.

    The order is z₀, then per step t: ε_t, ω_t (so a trajectory's first steps use the
    first columns).
    """
    xi = np.asarray(xi, dtype=float)
    r0, rw, m = problem.L0.shape[1], problem.Lw.shape[1], problem.n_actions
    D = r0 + T * (m + rw)
    if xi.ndim != 2 or xi.shape[1] != D:
        raise ShapeError(f"the noise must be [N, D] with D = rank Σ₀ + T (m + rank W) = {D}, "
                         f"got shape {xi.shape}")
    steps = xi[:, r0:].reshape(xi.shape[0], T, m + rw)
    return xi[:, :r0], steps[:, :, :m], steps[:, :, m:]


def rollout(problem, policy, theta, z0, eps, omega) -> ContinuousTrajectories:
    """The batch produced by given standard normals (module docstring).

    Args:
      z0: ``[N, r₀]`` (r₀ = rank Σ₀); eps: ``[N, T, m]``; omega: ``[N, T, r_w]`` (r_w = rank W).
    Returns:
      :class:`ContinuousTrajectories` with x_0 = μ₀ + L₀ z₀,
      u_t = policy.act(θ, t, x_t, ε_t), r_t = −(x_tᵀQx_t + u_tᵀRu_t + 2x_tᵀNu_t),
      x_{t+1} = A x_t + B u_t + L_w ω_t.
    """
    theta = policy.check_theta(theta)
    eps = np.asarray(eps, dtype=float)
    N, T, _ = eps.shape
    policy.check_compatible(problem, T)
    n = problem.n_states
    states = np.empty((N, T + 1, n))
    actions = np.empty((N, T, problem.n_actions))
    rewards = np.empty((N, T))
    x = problem.mu0 + np.asarray(z0, dtype=float) @ problem.L0.T
    for t in range(T):
        states[:, t] = x
        u = np.asarray(policy.act(theta, t, x, eps[:, t]))
        actions[:, t] = u
        rewards[:, t] = problem.stage_reward(x, u)
        x = x @ problem.A.T + u @ problem.B.T + np.asarray(omega[:, t]) @ problem.Lw.T
    states[:, T] = x
    return ContinuousTrajectories(states, actions, rewards, problem.terminal_reward(x),
                                  noise=eps.copy(), discount=problem.discount)


@renamed_arguments(n="batch_size")
def sample(problem, policy, theta, batch_size: int, rng: np.random.Generator, *,
           n_steps: int | None = None) -> ContinuousTrajectories:
    """N trajectories drawn from π_θ (vectorised over N).

    Args:
      batch_size: N ≥ 1 (``n=`` is a deprecated spelling); rng: the only source of
        randomness.
      n_steps: T for an infinite-horizon problem (a finite one uses its horizon).
    """
    n = batch_size
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidArgumentError(f"n must be a positive int, got {n!r}")
    if not isinstance(rng, np.random.Generator):
        raise InvalidArgumentError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    T = _horizon(problem, n_steps)
    xi = rng.standard_normal((int(n), problem.noise_dimension(T)))
    return rollout(problem, policy, theta, *split_noise(problem, xi, T))
