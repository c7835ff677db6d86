"""Magnitudes a_j(τ) of an estimator's rows, for the rounding model (:mod:`pgmath.check.rounding`).

a_j(τ) bounds the terms row j of g(τ) is computed from: the same computation with every
input made non-negative and the score ψ(x, a) replaced by m(x, a) ≥ |ψ(x, a)|
(:func:`pgmath.check.rounding.score_magnitude`). Three sources, best first:

* ``"description"``: the estimator's ``step_weights`` (a :class:`StepWeights`) with every
  weight and table replaced by its absolute value (:func:`abs_step_weights`), evaluated on
  the batch with |r| and m: exact.
* ``"score probe"``: a black box that reads the score through ``policy.score`` (directly
  or via :func:`pgmath.estimators.step_scores`) and uses it linearly, g(τ) =
  Σ_{x,a} ψ(x, a) ω(x, a; τ): evaluated once with one-hot scores (a policy whose
  ``score`` is the identity over the X·A pairs) it returns ω itself. The probe is
  accepted only when Σ_{x,a} ψ(x, a) ω(x, a; τ) reproduces g(τ). Then
  a_j(τ) = Σ_{x,a} m_j(x, a) |ω(x, a; τ)| + 2 R̄ Σ_t m_j(x_t, a_t), R̄ = T max|r|
  (the second term covers a cancellation inside a weight, as in G_t − b(s_t)).
* ``"least squares"``: any other black box (for instance one that differentiates its own
  log-probabilities with PyTorch): per trajectory, the weights w_t of the minimum-norm
  solution of Σ_t ψ_t w_t = g(τ), and a_j(τ) = Σ_t m_j(x_t, a_t)(|w_t| + 2 R̄). An
  estimate, not a bound; the report says so.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import EstimatorError
from ..estimators._protocol import evaluate_estimator
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
    """R̄ = T max|r| ≥ |Σ_{t'≥t} γ^{t'−t} r_{t'}| for either discounting."""
    return float(mdp.horizon) * float(np.max(np.abs(mdp.R), initial=0.0))


def described_magnitudes(spec: StepWeights, batch, policy, theta) -> np.ndarray:
    """``[N, d]`` a(τ) of a StepWeights estimator: its absolute version on |r| and m."""
    m = score_magnitude(policy, theta)[batch.inputs, batch.actions]
    abs_batch = replace(batch, rewards=np.abs(batch.rewards))
    lr = log_ratios(batch, policy, theta) if spec.has_ratios else None
    return abs_step_weights(spec).evaluate(abs_batch, m, lr)


class _OneHotScores:
    """A policy whose score table is the identity over the X·A pairs (``[X, A, X·A]``)
    and everything else the wrapped policy's: an estimator linear in the score returns
    its weights ω(x, a; τ)."""

    def __init__(self, policy) -> None:
        self._policy = policy
        X, A = policy.n_inputs, policy.n_actions
        self.n_params = X * A
        self._score = np.eye(X * A).reshape(X, A, X * A)

    def score(self, theta) -> np.ndarray:
        return self._score

    def __getattr__(self, name):
        return getattr(self._policy, name)

    def __repr__(self) -> str:
        return repr(self._policy)


def _probe_weights(estimator, batch, policy, theta) -> np.ndarray | None:
    """``[N, X·A]`` ω(x, a; τ) from one call with one-hot scores, or ``None`` when the
    estimator cannot be called that way."""
    try:
        return evaluate_estimator(estimator, batch, _OneHotScores(policy), theta).values
    except EstimatorError:
        return None


def black_box_magnitudes(estimator, batch, g: np.ndarray, policy, theta, *, r_bar: float,
                         tol: float) -> tuple[np.ndarray, str]:
    """(``[N, d]`` a(τ), source) of a black box with rows ``g`` ``[N, d]`` on ``batch``
    (module docstring); ``tol`` is the relative mismatch allowed when the score probe's
    weights are checked against g."""
    m = score_magnitude(policy, theta)                       # [X, A, d]
    X, A, d = m.shape
    steps = m[batch.inputs, batch.actions]                   # [N, T, d]
    base = 2.0 * r_bar * steps.sum(axis=1)
    omega = _probe_weights(estimator, batch, policy, theta)
    if omega is not None:
        psi = np.asarray(policy.score(theta)).reshape(X * A, d)
        mag = np.abs(omega) @ m.reshape(X * A, d)
        if np.all(np.abs(omega @ psi - g) <= tol * (mag + np.abs(g)) + 1e-300):
            return mag + base, "score probe"
    psi_steps = np.asarray(policy.score(theta))[batch.inputs, batch.actions]  # [N, T, d]
    w = np.einsum("ntd,nd->nt", np.linalg.pinv(np.swapaxes(psi_steps, 1, 2)), g)
    return np.einsum("ntd,nt->nd", steps, np.abs(w) + 2.0 * r_bar), "least squares"
