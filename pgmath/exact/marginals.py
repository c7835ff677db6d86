"""State and state-action marginals p_θ(s_t), p_θ(s_t, a_t) (notes §3.1, RL-2).

    p(s₀) = p0,   p(s_{t+1} = s') = Σ_{s,a} p(s_t = s) π(a|s) P[s, a, s'],
    p(s_t, a_t) = p(s_t) π(a_t|s_t).

The pairs (s_t, a_t) form a Markov chain with transition
p((s', a')|(s, a)) = P[s, a, s'] π(a'|s')  (:func:`state_action_transition`).
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .._deprecation import keyword_only
from ..errors import InvalidMDPError
from ..mdp import horizon_steps
from ..policy_tables import policy_at, policy_table
from ._system import active_states, state_transition

__all__ = [
    "state_marginals",
    "log_state_marginals",
    "state_action_marginals",
    "state_action_transition",
    "discounted_state_visitation",
]


def _steps(mdp, n_steps: int | None) -> int:
    """T by the sampler's rule (:func:`pgmath.mdp.horizon_steps`), with a fuller message for
    an infinite horizon."""
    if n_steps is None and mdp.horizon is None:
        raise InvalidMDPError(
            f"{mdp!r} has an infinite horizon: pass n_steps to get the first n_steps "
            "marginals, or use discounted_state_visitation / stationary_distribution")
    return horizon_steps(mdp, n_steps)


@keyword_only
def state_marginals(mdp, policy, theta=None, *, n_steps: int | None = None) -> np.ndarray:
    """``[T, S]`` d_t(s) = p_θ(s_t = s) for t = 0..T−1 (T = horizon, or ``n_steps``).

    d₀ = p0 and d_{t+1} = d_t P_π with P_π[s, s'] = Σ_a π(a|s) P[s, a, s'].
    """
    pi = np.asarray(policy_table(mdp, policy, theta))
    T = _steps(mdp, n_steps)
    d = np.empty((T, mdp.n_states))
    d[0] = mdp.p0
    P_pi = state_transition(mdp, pi) if pi.ndim == 2 else None
    for t in range(T - 1):
        d[t + 1] = d[t] @ (P_pi if P_pi is not None else state_transition(mdp, policy_at(pi, t)))
    return d


@keyword_only
def log_state_marginals(mdp, policy, theta=None, *, n_steps: int | None = None) -> np.ndarray:
    """``[T, S]`` log p_θ(s_t = s), computed in log space (−inf where the state is unreachable).

        log d₀ = log p0,  log d_{t+1}(s') = logsumexp_{s,a} [log d_t(s) + log π(a|s) + log P[s, a, s']].

    Unlike ``log(state_marginals(...))`` it stays finite for a reachable state whose
    probability underflows (e.g. two transitions of probability 1e-200): a ratio of
    marginals formed from it is then finite wherever a trajectory can go.
    """
    pi = np.asarray(policy_table(mdp, policy, theta))
    T = _steps(mdp, n_steps)
    with np.errstate(divide="ignore"):
        logP, logpi = np.log(mdp.P), np.log(pi)
        ld = np.empty((T, mdp.n_states))
        ld[0] = np.log(mdp.p0)
    for t in range(T - 1):
        lp = logpi if pi.ndim == 2 else logpi[t]
        x = ld[t][:, None, None] + lp[:, :, None] + logP          # [S, A, S']
        ld[t + 1] = logsumexp(x, axis=(0, 1))
    return ld


@keyword_only
def state_action_marginals(mdp, policy, theta=None, *, n_steps: int | None = None) -> np.ndarray:
    """``[T, S, A]`` p_θ(s_t = s, a_t = a) = d_t(s) π_t(a|s)."""
    pi = np.asarray(policy_table(mdp, policy, theta))
    d = state_marginals(mdp, pi, None, n_steps=n_steps)
    pis = pi if pi.ndim == 3 else np.broadcast_to(pi, (d.shape[0],) + pi.shape)
    return d[:, :, None] * pis[: d.shape[0]]


def state_action_transition(mdp, policy, theta=None) -> np.ndarray:
    """``[S·A, S·A]`` the (s, a) chain of RL-2: M[(s, a), (s', a')] = P[s, a, s'] π(a'|s').

    Row index s·A + a. Needs a stationary policy.
    """
    pi = np.asarray(policy_table(mdp, policy, theta))
    if pi.ndim != 2:
        raise InvalidMDPError("state_action_transition needs a stationary [S, A] policy")
    S, A = pi.shape
    return np.einsum("sat,tb->satb", mdp.P, pi).reshape(S * A, S * A)


def discounted_state_visitation(mdp, policy, theta=None) -> np.ndarray:
    """``[S]`` ρ(s) = Σ_t γ^t p_θ(s_t = s), unnormalised (Σ ρ = Σ_t γ^t).

    Finite horizon: the sum of the marginals. Infinite horizon: ρ = p0 (I − γ P_π)⁻¹,
    restricted to non-terminal states when γ = 1 (terminal states get 0; a proper
    policy is required).
    """
    pi = np.asarray(policy_table(mdp, policy, theta))
    if mdp.horizon is not None:
        d = state_marginals(mdp, pi)
        return (mdp.discount ** np.arange(mdp.horizon)) @ d
    act = active_states(mdp, pi)
    Pa = state_transition(mdp, pi)[np.ix_(act, act)]
    rho = np.zeros(mdp.n_states)
    rho[act] = np.linalg.solve((np.eye(act.sum()) - mdp.discount * Pa).T, mdp.p0[act])
    return rho
