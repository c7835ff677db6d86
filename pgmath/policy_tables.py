"""Turning ``(mdp, policy, theta)`` into the action-probability table the solvers use."""
from __future__ import annotations

import numpy as np

from .errors import InvalidPolicyError, ShapeError
from .mdp import check_distribution

__all__ = ["policy_table", "policy_at", "tabular_blocks"]


def policy_table(mdp, policy, theta=None):
    """The action probabilities π(a|s) in hidden states, ``[S, A]`` or ``[T, S, A]``.

    Accepts a pgmath policy with its θ, or (with ``theta=None``) a probability table:
    ``[S, A]`` (stationary) or ``[T, S, A]`` (time-dependent, finite horizon only), as
    returned by :func:`pgmath.exact.optimal_policy` or :func:`greedy_policy`.
    Autograd-traceable for a pgmath policy.
    """
    if hasattr(policy, "state_probs"):
        if theta is None:
            raise InvalidPolicyError(f"{policy!r} needs a parameter vector theta")
        return policy.state_probs(mdp, policy.check_theta(theta))
    if theta is not None:
        raise InvalidPolicyError(
            "theta was given but policy is not a pgmath Policy; pass a probability table "
            "with theta=None, or a Policy with its theta")
    pi = np.asarray(policy, dtype=float)
    S, A = mdp.n_states, mdp.n_actions
    if pi.shape == (S, A):
        return check_distribution(pi, "policy", index_names=("s",))
    if pi.ndim == 3 and pi.shape[1:] == (S, A):
        if mdp.horizon is None:
            raise ShapeError(f"a time-dependent policy table {pi.shape} needs a finite-horizon MDP")
        if pi.shape[0] != mdp.horizon:
            raise ShapeError(f"policy table has {pi.shape[0]} time steps but the horizon is {mdp.horizon}")
        return check_distribution(pi, "policy", index_names=("t", "s"))
    raise ShapeError(f"policy table has shape {pi.shape}; expected [S, A] = {(S, A)} or [T, S, A]")


def policy_at(pi, t: int):
    """π_t ``[S, A]`` from a stationary ``[S, A]`` or time-dependent ``[T, S, A]`` table."""
    return pi[t] if np.ndim(pi) == 3 else pi


def tabular_blocks(psi: np.ndarray) -> np.ndarray | None:
    """``[X, A, A]`` the blocks ψ_x[a, b] = ψ(x, a)[(x, b)] when the score table
    ``[X, A, d]`` is block diagonal (d = X·A, ψ(x, a) zero outside block x, as for a tabular
    softmax), else ``None``."""
    X, A, d = psi.shape
    if d != X * A:
        return None
    p4 = psi.reshape(X, A, X, A)
    idx = np.arange(X)
    blocks = p4[idx, :, idx, :]
    return blocks if np.count_nonzero(blocks) == np.count_nonzero(p4) else None
