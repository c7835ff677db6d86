"""Softmax policies: tabular, over observations, and linear in features (notes §3.1, §4.1).

Every policy here is a softmax of logits that are *linear* in θ:

    logits[x, a] = Φ[x, a, :] · θ,   π_θ(a|x) = exp(logits[x, a]) / Σ_b exp(logits[x, b])

where x is a state (``over="states"``) or an observation (``over="observations"``).
The score is then

    ψ[x, a, :] = ∇_θ log π_θ(a|x) = Φ[x, a, :] − Σ_b π_θ(b|x) Φ[x, b, :].

For :class:`SoftmaxPolicy` Φ is the identity: θ has length S·A and
``theta.reshape(S, A)`` are the logits, so ψ[s, a, (s, b)] = 1[a = b] − π(b|s).

Probabilities are computed in log space (log-sum-exp), so logits of ±1e3 give finite
log-probabilities and scores. ``probs`` and ``log_probs`` are written with
``autograd.numpy`` so that :func:`pgmath.exact.gradient` can differentiate through them.
"""
from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from .errors import InvalidPolicyError, ShapeError, check_choice

__all__ = [
    "Policy",
    "LinearSoftmaxPolicy",
    "SoftmaxPolicy",
    "ObservationSoftmaxPolicy",
    "log_softmax",
]


def log_softmax(logits):
    """log π = logits − logsumexp(logits) along the last axis (finite for huge logits).

    Written with ``autograd.numpy``: differentiable, and plain arrays in give plain
    arrays out.
    """
    m = anp.max(logits, axis=-1, keepdims=True)
    z = logits - m
    return z - anp.log(anp.sum(anp.exp(z), axis=-1, keepdims=True))


class Policy:
    """Base class of the policy families. Subclasses define :meth:`logits`.

    Attributes:
      n_inputs: number of states (or observations) the policy reads.
      n_actions: number of actions A.
      n_params: length d of θ.
      over: ``"states"`` or ``"observations"``.
    """

    n_inputs: int
    n_actions: int
    n_params: int
    over: str = "states"

    # -- to override ------------------------------------------------------------------
    def logits(self, theta):
        """``[X, A]`` logits for parameters θ ``[d]`` (autograd-traceable)."""
        raise NotImplementedError

    def features(self) -> np.ndarray:
        """Φ ``[X, A, d]`` with logits = Φ · θ."""
        raise NotImplementedError

    # -- derived ------------------------------------------------------------------------
    def check_theta(self, theta) -> np.ndarray:
        """θ as a float ``[d]`` array; raises :class:`InvalidPolicyError` naming the problem."""
        if hasattr(theta, "_value"):  # an autograd box: trust it, it came through us
            return theta
        th = np.asarray(theta, dtype=float)
        if th.ndim != 1:
            raise InvalidPolicyError(
                f"theta must be a flat vector of length {self.n_params}, got shape {th.shape}")
        if th.shape[0] != self.n_params:
            raise InvalidPolicyError(
                f"theta has length {th.shape[0]} but {self!r} needs {self.n_params} parameters")
        if not np.all(np.isfinite(th)):
            i = int(np.flatnonzero(~np.isfinite(th))[0])
            raise InvalidPolicyError(f"theta[{i}] is not finite: {th[i]!r}")
        return th

    def log_probs(self, theta):
        """``[X, A]`` log π_θ(a|x) = logits − logsumexp(logits)."""
        return log_softmax(self.logits(self.check_theta(theta)))

    def probs(self, theta):
        """``[X, A]`` π_θ(a|x) = softmax(logits)[x, a]."""
        return anp.exp(self.log_probs(theta))

    def score(self, theta) -> np.ndarray:
        """``[X, A, d]`` ψ[x, a, :] = ∇_θ log π_θ(a|x) = Φ[x, a] − Σ_b π(b|x) Φ[x, b]."""
        pi = np.asarray(self.probs(theta))
        phi = self.features()
        return phi - np.einsum("xb,xbd->xd", pi, phi)[:, None, :]

    def vjp_probs(self, theta, W: np.ndarray) -> np.ndarray:
        """``[d]`` Σ_{x,a} W[x, a] ∇_θ π_θ(a|x) = Σ_{x,a} W π (Φ[x,a] − Φ̄[x]) for W ``[X, A]``."""
        pi = np.asarray(self.probs(theta))
        phi = self.features()
        wp = W * pi
        return (np.einsum("xa,xad->d", wp, phi)
                - np.einsum("x,xb,xbd->d", wp.sum(axis=1), pi, phi))

    # -- acting in an MDP or POMDP --------------------------------------------------------
    def check_compatible(self, mdp) -> None:
        """Raise :class:`ShapeError` when this policy cannot act in ``mdp``."""
        if self.n_actions != mdp.n_actions:
            raise ShapeError(
                f"{self!r} has {self.n_actions} actions but the MDP has {mdp.n_actions}")
        if self.over == "states":
            if self.n_inputs != mdp.n_states:
                raise ShapeError(
                    f"{self!r} reads {self.n_inputs} states but the MDP has {mdp.n_states}")
        else:
            if not getattr(mdp, "is_pomdp", False):
                raise ShapeError(f"{self!r} reads observations but {mdp!r} is not a POMDP")
            if self.n_inputs != mdp.n_observations:
                raise ShapeError(
                    f"{self!r} reads {self.n_inputs} observations but the POMDP has "
                    f"{mdp.n_observations}")

    def state_probs(self, mdp, theta):
        """``[S, A]`` the action distribution in each hidden state.

        π_s(a|s) = π_θ(a|s) for a state policy; Σ_o O[s, o] π_θ(a|o) for an observation
        policy in a POMDP. Autograd-traceable.
        """
        self.check_compatible(mdp)
        pi = self.probs(theta)
        return pi if self.over == "states" else anp.dot(mdp.O, pi)

    def state_vjp(self, mdp, theta, W: np.ndarray) -> np.ndarray:
        """``[d]`` Σ_{s,a} W[s, a] ∇_θ π_s(a|s) for W ``[S, A]`` (hidden states)."""
        self.check_compatible(mdp)
        W = np.asarray(W, dtype=float)
        if self.over == "observations":
            W = mdp.O.T @ W
        return self.vjp_probs(theta, W)


class LinearSoftmaxPolicy(Policy):
    """Softmax of logits linear in features: π_θ(a|x) ∝ exp(φ[x, a, :] · θ).

    Args:
      features: ``[X, A, d]`` φ; X states or observations.
      over: ``"states"`` (default) or ``"observations"`` (a memoryless POMDP policy).
    """

    def __init__(self, features, over: str = "states") -> None:
        phi = np.asarray(features, dtype=float)
        if phi.ndim != 3 or 0 in phi.shape:
            raise ShapeError(f"features must have shape [X, A, d] with no empty axis, got {phi.shape}")
        if not np.all(np.isfinite(phi)):
            raise InvalidPolicyError("features contain a non-finite entry")
        check_choice("over", over, ("states", "observations"), error=InvalidPolicyError)
        phi = phi.copy()
        phi.setflags(write=False)
        self._phi = phi
        self.n_inputs, self.n_actions, self.n_params = phi.shape
        self.over = over

    def logits(self, theta):
        return anp.dot(self._phi, theta)

    def features(self) -> np.ndarray:
        return self._phi

    def __repr__(self) -> str:
        return (f"LinearSoftmaxPolicy(X={self.n_inputs}, A={self.n_actions}, "
                f"d={self.n_params}, over={self.over!r})")


class SoftmaxPolicy(Policy):
    """Tabular softmax over states: θ ``[S·A]``, logits = ``theta.reshape(S, A)``.

    ψ[s, a, (s', b)] = 1[s' = s](1[a = b] − π(b|s)).

    Examples:
      >>> import numpy as np
      >>> pol = SoftmaxPolicy(1, 2)
      >>> pol.probs(np.array([0.0, np.log(3.0)])).round(12).tolist()
      [[0.25, 0.75]]
    """

    over = "states"

    def __init__(self, n_states: int, n_actions: int) -> None:
        for name, v in (("n_states", n_states), ("n_actions", n_actions)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise InvalidPolicyError(f"{name} must be a positive int, got {v!r}")
        self.n_inputs, self.n_actions = int(n_states), int(n_actions)
        self.n_params = self.n_inputs * self.n_actions

    def logits(self, theta):
        return anp.reshape(theta, (self.n_inputs, self.n_actions))

    def features(self) -> np.ndarray:
        X, A = self.n_inputs, self.n_actions
        return np.eye(X * A).reshape(X, A, X * A)

    def score(self, theta) -> np.ndarray:
        X, A = self.n_inputs, self.n_actions
        pi = np.asarray(self.probs(theta))
        psi = np.zeros((X, A, X, A))
        idx = np.arange(X)
        psi[idx, :, idx, :] = np.eye(A)[None, :, :] - pi[:, None, :]
        return psi.reshape(X, A, X * A)

    def vjp_probs(self, theta, W: np.ndarray) -> np.ndarray:
        pi = np.asarray(self.probs(theta))
        wp = W * pi
        return (wp - pi * wp.sum(axis=1, keepdims=True)).reshape(-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.n_inputs}, {self.n_actions})"


class ObservationSoftmaxPolicy(SoftmaxPolicy):
    """Tabular softmax over observations of a POMDP: logits = ``theta.reshape(n_obs, A)``.

    Acts in hidden state s through π_s(a|s) = Σ_o O[s, o] π_θ(a|o).
    """

    over = "observations"

    def __init__(self, n_observations: int, n_actions: int) -> None:
        super().__init__(n_observations, n_actions)
