"""Magnitudes a_j(τ) of an estimator's rows, for the rounding model (:mod:`pgmath.check.rounding`).

a_j(τ) bounds the terms row j of g(τ) is computed from: the same computation with every
input made non-negative and the score ψ(x, a) replaced by m(x, a) ≥ |ψ(x, a)|
(:func:`pgmath.check.rounding.score_magnitude`). Three sources, best first:

* ``"description"``: the estimator's ``step_weights`` (a :class:`StepWeights`) with every
  weight and table replaced by its absolute value (:func:`abs_step_weights`), evaluated on
  the batch with |r| and m: exact.
* ``"score probe"``: a black box that reads the score through ``policy.score`` (directly
  or via :func:`pgmath.estimators.step_scores`) and uses it linearly,
  g(τ) = Σ_{x,a} ψ(x, a) ω(x, a; τ). Evaluated with one-hot scores (:class:`_OneHotScores`)
  it returns the weights ω themselves; they are accepted only when Σ ψ ω reproduces g.
  A weight is typically a reward part minus a part that does not depend on the rewards
  (G_t − b(s_t), r_t + γV(s') − V(s)), and its rounding follows the magnitudes of both
  parts, not of their difference (issue 11: R = 0 and b ≠ 0). So the weights are probed
  twice more, with the rewards set to 0 (ω₀, the reward-free part) and to |r| (ω₊), and

      a_j(τ) = Σ_{x,a} m_j(x, a) (|ω₀(x, a; τ)| + |ω₊(x, a; τ) − ω₀(x, a; τ)|).

* ``"least squares"``: any other black box (for instance one that differentiates its own
  log-probabilities with PyTorch): per trajectory, the weights w_t of the minimum-norm
  solution of Σ_t ψ_t w_t = g(τ), for the rows with rewards 0 and |r| likewise, and
  a_j(τ) = Σ_t m_j(x_t, a_t)(|w₀,t| + |w₊,t − w₀,t|). An estimate, not a bound; the report
  says which source was used.

When an estimator cannot be evaluated with rewards 0 or |r| (it normalises by the
rewards' spread, say), the reward-free part is bounded instead by 2 R̄ per step,
R̄ = Σ_t γ^t max|r| ≥ any return or value (|b| ≤ |G_t| + |G_t − b|).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import EstimatorError
from ..estimator_protocol import evaluate_estimator
from ..estimators.offpolicy import log_ratios
from ..exact.recursion import StepWeights
from .rounding import score_magnitude

__all__ = ["abs_step_weights", "described_magnitudes", "black_box_magnitudes",
           "reward_scale"]


def abs_step_weights(spec: StepWeights) -> StepWeights:
    """The same StepWeights with every weight and table replaced by its absolute value
    (the offset enters the read-out with a minus sign, so it is stored as −|b|)."""
    ab = lambda x: None if x is None else np.abs(x)  # noqa: E731
    return StepWeights.make(
        spec.T, kappa=np.abs(spec.kappa), rho=abs(spec.rho), beta=np.abs(spec.beta),
        alpha=np.abs(spec.alpha), eta=np.abs(spec.eta), y=ab(spec.y), c=ab(spec.c),
        cx=ab(spec.cx), offset=None if spec.offset is None else -np.abs(spec.offset),
        omega=1.0 if spec.omega is None else np.abs(spec.omega),
        ratio_powers=spec.ratio_powers)


def reward_scale(mdp) -> float:
    """R̄ = Σ_t γ^t max|r| ≥ |Σ_{t'≥t} γ^{t'−t} r_{t'}| and ≥ |V_t(s)|, either discounting."""
    return float(np.max(np.abs(mdp.R), initial=0.0)) * float(
        np.sum(mdp.discount ** np.arange(mdp.horizon)))


def described_magnitudes(spec: StepWeights, batch, policy, theta) -> np.ndarray:
    """``[N, d]`` a(τ) of a StepWeights estimator: its absolute version on |r| and m."""
    m = score_magnitude(policy, theta)[batch.inputs, batch.actions]
    abs_batch = replace(batch, rewards=np.abs(batch.rewards))
    lr = log_ratios(batch, policy, theta) if spec.has_ratios else None
    return abs_step_weights(spec).evaluate(abs_batch, m, lr)


class _OneHotScores:
    """A policy whose score table is the identity over the X·A pairs followed by one
    column of zeros (``[X, A, X·A + 1]``) and everything else the wrapped policy's: an
    estimator linear in the score returns its weights ω(x, a; τ) and a zero column. The
    extra column makes the width differ from d, so an estimator that ignores this score
    (and returns its usual ``[N, d]``) is refused instead of mistaken for weights (for a
    tabular policy the score table is a projection, so g itself would pass the check
    Σ ψ ω = g)."""

    def __init__(self, policy) -> None:
        self._policy = policy
        X, A = policy.n_inputs, policy.n_actions
        self.n_params = X * A + 1
        self._score = np.concatenate([np.eye(X * A), np.zeros((X * A, 1))], axis=1
                                     ).reshape(X, A, X * A + 1)

    def score(self, theta) -> np.ndarray:
        return self._score

    def __getattr__(self, name):
        return getattr(self._policy, name)

    def __repr__(self) -> str:
        return repr(self._policy)


def _try(estimator, batch, policy, theta) -> np.ndarray | None:
    try:
        return evaluate_estimator(estimator, batch, policy, theta).values
    except EstimatorError:
        return None


def _probe_weights(estimator, batch, policy, theta) -> np.ndarray | None:
    """``[N, X·A]`` ω(x, a; τ) from one call with one-hot scores, or ``None`` when the
    estimator cannot be called that way (or does not read the score through it)."""
    out = _try(estimator, batch, _OneHotScores(policy), theta)
    return None if out is None or np.any(out[:, -1] != 0.0) else out[:, :-1]


def _split(weights_of, batch):
    """|reward-free part| + |reward part at |r||, from ``weights_of(batch)`` at rewards 0
    and |r|; ``None`` when the estimator cannot be evaluated there."""
    w0 = weights_of(replace(batch, rewards=np.zeros_like(batch.rewards)))
    wp = weights_of(replace(batch, rewards=np.abs(batch.rewards)))
    if w0 is None or wp is None:
        return None
    return np.abs(w0) + np.abs(wp - w0)


def black_box_magnitudes(estimator, batch, g: np.ndarray, policy, theta, *, r_bar: float,
                         tol: float) -> tuple[np.ndarray, str]:
    """(``[N, d]`` a(τ), source) of a black box with rows ``g`` ``[N, d]`` on ``batch``
    (module docstring); ``tol`` is the relative mismatch allowed when the score probe's
    weights are checked against g."""
    m = score_magnitude(policy, theta)                       # [X, A, d]
    X, A, d = m.shape
    mflat = m.reshape(X * A, d)
    pair = batch.inputs * A + batch.actions                  # [N, T] the (x, a) of each step
    visits = np.zeros((batch.n, X * A))
    np.add.at(visits, (np.arange(batch.n)[:, None], pair), 1.0)
    omega = _probe_weights(estimator, batch, policy, theta)
    if omega is not None:
        psi = np.asarray(policy.score(theta)).reshape(X * A, d)
        mag = np.abs(omega) @ mflat
        if np.all(np.abs(omega @ psi - g) <= tol * (mag + np.abs(g)) + 1e-300):
            parts = _split(lambda b: _probe_weights(estimator, b, policy, theta), batch)
            if parts is None:
                parts = np.abs(omega) + 2.0 * r_bar * visits
            return parts @ mflat, "score probe"
    psi_steps = np.asarray(policy.score(theta))[batch.inputs, batch.actions]  # [N, T, d]
    pinv = np.linalg.pinv(np.swapaxes(psi_steps, 1, 2))                       # [N, T, d]

    def fitted(b):
        rows = _try(estimator, b, policy, theta)
        return None if rows is None else np.einsum("ntd,nd->nt", pinv, rows)

    parts = _split(fitted, batch)
    if parts is None:
        parts = np.abs(np.einsum("ntd,nd->nt", pinv, g)) + 2.0 * r_bar
    steps = m[batch.inputs, batch.actions]                                   # [N, T, d]
    return np.einsum("ntd,nt->nd", steps, parts), "least squares"
