"""Gaussian policies for continuous actions (notes §4.1 with a Gaussian π_θ).

* :class:`GaussianLinearPolicy`: u_t = K_t x_t + k_t + σ_t ⊙ ε_t, ε_t ~ N(0, I_m),
  θ = (vec K, k, log σ) flat (K row-major), the same at every step or, with
  ``time_varying=True``, one block per step t (θ = (θ_0, …, θ_{T−1})).
* :class:`StateDependentGaussianPolicy`: u = Kx + k + σ(x) ⊙ ε with
  log σ(x) = c + D x, θ = (vec K, k, c, vec D).
* :class:`SquashedGaussianPolicy`: a = tanh(v), v = Kx + k + σ ⊙ ε, θ = (vec K, k, log σ).

The log-density of a Gaussian action and its score (ψ = ∇_θ log π_θ(u|x)), with
μ(x) = Kx + k and ε = (u − μ(x))/σ:

    log π_θ(u|x) = −Σ_i [ε_i²/2 + log σ_i + ½ log 2π],
    ∂/∂K_ij = ε_i x_j / σ_i,   ∂/∂k_i = ε_i / σ_i,   ∂/∂log σ_i = ε_i² − 1,

and for log σ(x) = c + Dx: ∂/∂c_i = ε_i² − 1, ∂/∂D_ij = (ε_i² − 1) x_j. A squashed
action a = tanh(v) has density π_v(atanh a|x) Π_i 1/(1 − a_i²): the log-det-Jacobian
term −Σ_i log(1 − a_i²) does not depend on θ, so its score is the Gaussian score of v.
"""
from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from ..errors import InvalidPolicyError, ShapeError
from ..policies import Policy

__all__ = ["ContinuousPolicy", "GaussianLinearPolicy", "StateDependentGaussianPolicy",
           "SquashedGaussianPolicy"]

_LOG_2PI = float(np.log(2.0 * np.pi))


def _positive_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise InvalidPolicyError(f"{name} must be a positive int, got {v!r}")
    return int(v)


class ContinuousPolicy:
    """Base class of the continuous-action policy families.

    Attributes:
      n_states: n, the dimension of x; n_actions: m, the dimension of u.
      n_params: d, the length of θ; block_size: the parameters of one step.
      time_varying: one parameter block per step; horizon: T (time-varying only).
    """

    n_states: int
    n_actions: int
    block_size: int
    time_varying: bool = False
    horizon: int | None = None

    @property
    def n_params(self) -> int:
        return self.block_size * (self.horizon if self.time_varying else 1)

    #: θ as a float ``[d]`` array; raises :class:`InvalidPolicyError` naming the problem
    #: (the same validation as the tabular policies).
    check_theta = Policy.check_theta

    def check_compatible(self, problem, horizon: int | None = None) -> None:
        """Raise :class:`ShapeError` when this policy cannot act in ``problem``."""
        if self.n_states != problem.n_states or self.n_actions != problem.n_actions:
            raise ShapeError(
                f"{self!r} maps n={self.n_states} states to m={self.n_actions} actions but "
                f"{problem!r} has n={problem.n_states}, m={problem.n_actions}")
        T = problem.horizon if horizon is None else horizon
        if self.time_varying and T != self.horizon:
            raise ShapeError(
                f"{self!r} has one parameter block per step for T = {self.horizon}, but the "
                f"problem runs for T = {'∞' if T is None else T} steps")

    def block(self, theta, t: int):
        """``[block_size]`` the parameters that act at step t (autograd-traceable)."""
        if not self.time_varying:
            return theta
        b = self.block_size
        return theta[t * b:(t + 1) * b]

    def _place(self, per_step: np.ndarray, t: int) -> np.ndarray:
        """``[N, d]`` a per-step score ``[N, block_size]`` put in block t of θ."""
        if not self.time_varying:
            return per_step
        out = np.zeros((per_step.shape[0], self.n_params))
        b = self.block_size
        out[:, t * b:(t + 1) * b] = per_step
        return out

    def coordinate_labels(self) -> tuple[str, ...]:
        """A name per coordinate of θ (``"K[0,1]"``, ``"k[0]"``, ``"log σ[0]"``, prefixed by
        ``"t=3 "`` for a time-varying policy), for reports."""
        block = self._block_labels()
        if not self.time_varying:
            return tuple(block)
        return tuple(f"t={t} {name}" for t in range(self.horizon) for name in block)

    def _block_labels(self) -> list[str]:
        n, m = self.n_states, self.n_actions
        return ([f"K[{i},{j}]" for i in range(m) for j in range(n)] + [f"k[{i}]" for i in range(m)]
                + [f"log σ[{i}]" for i in range(m)])

    # -- to override --------------------------------------------------------------------
    def act(self, theta, t: int, x, eps):
        """``[N, m]`` the action for states x ``[N, n]`` and standard normals ε ``[N, m]``."""
        raise NotImplementedError

    def noise_of(self, theta, t: int, x, u):
        """``[N, m]`` the ε that produced action u in state x (inverse of :meth:`act`)."""
        raise NotImplementedError

    def block_score(self, theta, t: int, x, eps) -> np.ndarray:
        """``[N, block_size]`` ∇ of log π(u_t|x_t) with respect to step t's block."""
        raise NotImplementedError

    def log_prob(self, theta, t: int, x, u):
        """``[N]`` log π_θ(u|x) at step t."""
        raise NotImplementedError

    # -- derived ------------------------------------------------------------------------
    def score(self, theta, t: int, x, u) -> np.ndarray:
        """``[N, d]`` ψ = ∇_θ log π_θ(u|x) at step t (module docstring)."""
        theta = self.check_theta(theta)
        x, u = np.atleast_2d(x), np.atleast_2d(u)
        return self._place(self.block_score(theta, t, x, self.noise_of(theta, t, x, u)), t)

    def score_magnitude(self, theta, t: int, x_mag, u_mag) -> np.ndarray:
        """``[N, block_size]`` a bound on the magnitude of the terms ψ_t is computed from, at
        states and actions of magnitudes ``x_mag`` ``[N, n]``, ``u_mag`` ``[N, m]`` (for
        rounding bounds). The default, for the one-step families, is the score at those
        magnitudes with ε = (|u| + |μ|)/σ; :class:`GaussianLinearPolicy` states it exactly."""
        raise NotImplementedError

    def step_scores(self, batch, theta) -> np.ndarray:
        """``[N, T, d]`` ψ_t = ∇_θ log π_θ(u_t|x_t) for every step of a batch.

        Uses the batch's recorded noises ε_t when present (exact for squashed actions
        near ±1), else recovers ε_t from the actions.
        """
        theta = self.check_theta(theta)
        N, T = batch.n, batch.horizon
        out = np.zeros((N, T, self.n_params))
        for t in range(T):
            x = batch.states[:, t]
            eps = (batch.noise[:, t] if batch.noise is not None
                   else self.noise_of(theta, t, x, batch.actions[:, t]))
            out[:, t] = self._place(self.block_score(theta, t, x, eps), t)
        return out


class GaussianLinearPolicy(ContinuousPolicy):
    """u_t = K_t x_t + k_t + σ_t ⊙ ε_t, θ = (vec K, k, log σ) (module docstring).

    Args:
      n_states: n; n_actions: m.
      time_varying: one block (K_t, k_t, log σ_t) per step; then ``horizon`` is T.

    Examples:
      >>> import numpy as np
      >>> pol = GaussianLinearPolicy(2, 1)
      >>> theta = pol.pack(K=[[-0.5, -1.0]], k=[0.0], log_sigma=[np.log(0.3)])
      >>> pol.n_params, pol.params(theta)[0].tolist()
      (4, [[-0.5, -1.0]])
    """

    def __init__(self, n_states: int, n_actions: int, *, time_varying: bool = False,
                 horizon: int | None = None) -> None:
        self.n_states = _positive_int("n_states", n_states)
        self.n_actions = _positive_int("n_actions", n_actions)
        self.time_varying = bool(time_varying)
        if self.time_varying:
            self.horizon = _positive_int("horizon (needed by time_varying=True)", horizon)
        elif horizon is not None:
            raise InvalidPolicyError("horizon is only used with time_varying=True")
        n, m = self.n_states, self.n_actions
        self.block_size = m * n + 2 * m

    def params(self, theta, t: int = 0):
        """(K ``[m, n]``, k ``[m]``, log σ ``[m]``) acting at step t (autograd-traceable)."""
        n, m = self.n_states, self.n_actions
        b = self.block(self.check_theta(theta), t)
        return anp.reshape(b[:m * n], (m, n)), b[m * n:m * n + m], b[m * n + m:]

    def gains(self, theta, T: int):
        """(K ``[T, m, n]``, k ``[T, m]``, σ ``[T, m]``) as numpy arrays, one per step."""
        theta = self.check_theta(theta)
        Ks, ks, ss = zip(*(self.params(theta, t if self.time_varying else 0) for t in range(T)))
        return np.array(Ks), np.array(ks), np.exp(np.array(ss))

    def pack(self, K, k=None, log_sigma=None) -> np.ndarray:
        """θ from K ``[m, n]`` (or ``[T, m, n]`` when time-varying), k, log σ (default 0)."""
        n, m = self.n_states, self.n_actions
        steps = self.horizon if self.time_varying else 1
        K = np.broadcast_to(np.asarray(K, dtype=float), (steps, m, n)) if np.ndim(K) == 2 \
            else np.asarray(K, dtype=float)
        if K.shape != (steps, m, n):
            raise ShapeError(f"K has shape {np.shape(K)}; it must be [m, n] = [{m}, {n}]"
                             + (f" or [T, m, n] = [{steps}, {m}, {n}]" if self.time_varying else ""))

        def per_step(v, name):
            v = np.zeros(m) if v is None else np.asarray(v, dtype=float)
            v = np.broadcast_to(v, (steps, m)) if v.ndim <= 1 else v
            if v.shape != (steps, m):
                raise ShapeError(f"{name} has shape {v.shape}; it must be [m] = [{m}]")
            return v
        k = per_step(k, "k")
        s = per_step(log_sigma, "log_sigma")
        return np.concatenate([np.concatenate([K[t].ravel(), k[t], s[t]]) for t in range(steps)])

    def act(self, theta, t, x, eps):
        K, k, ls = self.params(theta, t)
        return anp.dot(x, K.T) + k + anp.exp(ls) * eps

    def noise_of(self, theta, t, x, u):
        K, k, ls = (np.asarray(v) for v in self.params(theta, t))
        return (u - x @ K.T - k) / np.exp(ls)

    def block_score(self, theta, t, x, eps):
        _, _, ls = (np.asarray(v) for v in self.params(theta, t))
        e = eps / np.exp(ls)
        N = x.shape[0]
        return np.concatenate([(e[:, :, None] * x[:, None, :]).reshape(N, -1), e,
                               eps ** 2 - 1.0], axis=1)

    def log_prob(self, theta, t, x, u):
        K, k, ls = self.params(theta, t)
        z = (u - anp.dot(x, K.T) - k) / anp.exp(ls)
        return -anp.sum(0.5 * z ** 2 + ls + 0.5 * _LOG_2PI, axis=-1)

    def score_magnitude(self, theta, t, x_mag, u_mag):
        """With ē = (|u| + |K||x| + |k|)/σ (the terms u − μ(x) is formed from):
        (ē_i |x_j|/σ_i, ē_i/σ_i, ē_i² + 1) in the layout of ψ."""
        K, k, ls = (np.asarray(v) for v in self.params(theta, t))
        sig = np.exp(ls)
        e = (u_mag + x_mag @ np.abs(K).T + np.abs(k)) / sig
        N = x_mag.shape[0]
        return np.concatenate([((e / sig)[:, :, None] * x_mag[:, None, :]).reshape(N, -1),
                               e / sig, e ** 2 + 1.0], axis=1)

    def __repr__(self) -> str:
        tv = f", time_varying=True, horizon={self.horizon}" if self.time_varying else ""
        return f"GaussianLinearPolicy(n={self.n_states}, m={self.n_actions}{tv})"


class StateDependentGaussianPolicy(ContinuousPolicy):
    """u = Kx + k + σ(x) ⊙ ε with log σ(x) = c + D x; θ = (vec K, k, c, vec D).

    Examples:
      >>> pol = StateDependentGaussianPolicy(1, 1)
      >>> pol.n_params
      4
    """

    def __init__(self, n_states: int, n_actions: int) -> None:
        self.n_states = _positive_int("n_states", n_states)
        self.n_actions = _positive_int("n_actions", n_actions)
        n, m = self.n_states, self.n_actions
        self.block_size = 2 * m * n + 2 * m

    def params(self, theta, t: int = 0):
        """(K ``[m, n]``, k ``[m]``, c ``[m]``, D ``[m, n]``) (autograd-traceable)."""
        n, m = self.n_states, self.n_actions
        b = self.check_theta(theta)
        return (anp.reshape(b[:m * n], (m, n)), b[m * n:m * n + m], b[m * n + m:m * n + 2 * m],
                anp.reshape(b[m * n + 2 * m:], (m, n)))

    def pack(self, K, k=None, c=None, D=None) -> np.ndarray:
        """θ from K ``[m, n]``, k ``[m]``, c ``[m]``, D ``[m, n]`` (defaults 0)."""
        n, m = self.n_states, self.n_actions
        parts = []
        for name, v, shape in (("K", K, (m, n)), ("k", k, (m,)), ("c", c, (m,)), ("D", D, (m, n))):
            v = np.zeros(shape) if v is None else np.asarray(v, dtype=float)
            if v.shape != shape:
                raise ShapeError(f"{name} has shape {v.shape}; it must be {list(shape)}")
            parts.append(v.ravel())
        return np.concatenate(parts)

    def _block_labels(self) -> list[str]:
        n, m = self.n_states, self.n_actions
        return ([f"K[{i},{j}]" for i in range(m) for j in range(n)] + [f"k[{i}]" for i in range(m)]
                + [f"c[{i}]" for i in range(m)] + [f"D[{i},{j}]" for i in range(m) for j in range(n)])

    def log_sigma(self, theta, x):
        """``[N, m]`` log σ(x) = c + D x."""
        _, _, c, D = self.params(theta)
        return c + anp.dot(x, D.T)

    def act(self, theta, t, x, eps):
        K, k, _, _ = self.params(theta)
        return anp.dot(x, K.T) + k + anp.exp(self.log_sigma(theta, x)) * eps

    def noise_of(self, theta, t, x, u):
        K, k, _, _ = (np.asarray(v) for v in self.params(theta))
        return (u - x @ K.T - k) / np.exp(np.asarray(self.log_sigma(theta, x)))

    def block_score(self, theta, t, x, eps):
        e = eps / np.exp(np.asarray(self.log_sigma(theta, x)))
        N = x.shape[0]
        s = eps ** 2 - 1.0
        return np.concatenate([(e[:, :, None] * x[:, None, :]).reshape(N, -1), e, s,
                               (s[:, :, None] * x[:, None, :]).reshape(N, -1)], axis=1)

    def log_prob(self, theta, t, x, u):
        K, k, _, _ = self.params(theta)
        ls = self.log_sigma(theta, x)
        z = (u - anp.dot(x, K.T) - k) / anp.exp(ls)
        return -anp.sum(0.5 * z ** 2 + ls + 0.5 * _LOG_2PI, axis=-1)

    def score_magnitude(self, theta, t, x_mag, u_mag):
        """ē = (|u| + |K||x| + |k|)/σ(x) with σ(x) at the magnitudes' worst sign (exp(c − |D||x|)),
        in the layout of ψ: (ē|x|/σ, ē/σ, ē² + 1, (ē² + 1)|x|)."""
        K, k, c, D = (np.asarray(v) for v in self.params(theta))
        sig = np.exp(c - x_mag @ np.abs(D).T)
        e = (u_mag + x_mag @ np.abs(K).T + np.abs(k)) / sig
        N = x_mag.shape[0]
        s2 = e ** 2 + 1.0
        return np.concatenate([((e / sig)[:, :, None] * x_mag[:, None, :]).reshape(N, -1), e / sig,
                               s2, (s2[:, :, None] * x_mag[:, None, :]).reshape(N, -1)], axis=1)

    def __repr__(self) -> str:
        return f"StateDependentGaussianPolicy(n={self.n_states}, m={self.n_actions})"


class SquashedGaussianPolicy(ContinuousPolicy):
    """a = tanh(v), v = Kx + k + σ ⊙ ε; θ = (vec K, k, log σ).

    log π_θ(a|x) = log N(atanh a; Kx + k, diag σ²) − Σ_i log(1 − a_i²); the last term
    (the log-det-Jacobian of tanh) does not depend on θ.
    """

    def __init__(self, n_states: int, n_actions: int) -> None:
        self.n_states = _positive_int("n_states", n_states)
        self.n_actions = _positive_int("n_actions", n_actions)
        self._gauss = GaussianLinearPolicy(n_states, n_actions)
        self.block_size = self._gauss.block_size

    def params(self, theta, t: int = 0):
        """(K ``[m, n]``, k ``[m]``, log σ ``[m]``) of the pre-squash Gaussian."""
        return self._gauss.params(self.check_theta(theta))

    def pack(self, K, k=None, log_sigma=None) -> np.ndarray:
        """θ from K ``[m, n]``, k ``[m]``, log σ ``[m]``."""
        return self._gauss.pack(K, k, log_sigma)

    def act(self, theta, t, x, eps):
        return anp.tanh(self._gauss.act(theta, 0, x, eps))

    def noise_of(self, theta, t, x, u):
        with np.errstate(divide="ignore"):
            v = np.arctanh(np.clip(u, -1.0, 1.0))
        return self._gauss.noise_of(theta, 0, x, v)

    def block_score(self, theta, t, x, eps):
        return self._gauss.block_score(theta, 0, x, eps)

    def log_prob(self, theta, t, x, u):
        v = anp.arctanh(u)
        return self._gauss.log_prob(theta, 0, x, v) - anp.sum(anp.log1p(-u ** 2), axis=-1)

    def score_magnitude(self, theta, t, x_mag, u_mag):
        """The Gaussian magnitude of v = atanh(a), with |v| ≤ atanh|a| + |a|/(1 − a²) (the
        recovery of v from a is that ill-conditioned near ±1)."""
        a = np.minimum(u_mag, 1.0 - 1e-16)
        v = np.arctanh(a) + a / (1.0 - a * a)
        return self._gauss.score_magnitude(theta, 0, x_mag, v)

    def __repr__(self) -> str:
        return f"SquashedGaussianPolicy(n={self.n_states}, m={self.n_actions})"
