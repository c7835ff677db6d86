"""Exact mean and covariance of linear-recursion estimators in polynomial time (DESIGN §3).

Every built-in per-trajectory estimator of :mod:`pgmath.estimators` (REINFORCE,
reward-to-go, constant and state baselines, Q/A critics, GAE(λ) with a given V, both
discountings, observation policies on POMDPs) is a *step-weighted score sum*
(:class:`StepWeights`)

    g(τ) = Σ_t ψ_t w_t − b ⊙ Σ_t ω_t ψ_t,                         ψ_t = ∇_θ log π_θ(a_t|x_t)
    w_t  = h_t + κ_t Σ_{t'≥t} ρ^{t'−t} u_{t'} + β_t Σ_{t'<t} u_{t'}
    u_t  = α_t r_t + y_t(s_t, a_t, s_{t+1}),     h_t = η_t r_t + c_t(s_t, a_t, s_{t+1}) + c^x_t(x_t, a_t).

(c^x is indexed by what the policy reads: the observation o_t of a POMDP, so baselines
V(o_t) and critics Q(o_t, a_t) over observations fit too.)

It is computed by a forward accumulator that stays *linear* (the lift of DESIGN §3):
scalars σ = (1, P) with P_t = Σ_{t'<t} u_{t'}, and vector rows V = (e, G, Ψ_ω) with the
eligibility trace e_t = Σ_{t''≤t} κ_{t''} ρ^{t−t''} ψ_{t''}, the running estimate G and
the weighted score sum Ψ_ω:

    σ' = B σ,           B = [[1, 0], [u, 1]]
    V' = C V + (D σ) ψᵀ, e' = ρ e + κ ψ,  G' = G + u e' + ψ (h + β P),  Ψ_ω' = Ψ_ω + ω ψ

with B, C, D functions of (t, s_t, a_t, s_{t+1}) and ψ of (x_t, a_t) (x = state, or the
observation of a POMDP). Because the update is linear, the state-conditioned moments

    E[σ 1{s_t=s}], E[σσᵀ 1{s_t=s}], E[V 1{s_t=s}], E[σ⊗V 1{s_t=s}], E[V⊗V 1{s_t=s}]

obey an exact forward recursion through p(x|s) π(a|x) P(s'|s, a). With q ≤ 3 rows and
p ≤ 2 scalars one step costs O(n S A q⁴ d²) (n = S pairs (s, x) for a state policy, see
below), so the exact covariance of g costs O(T S² A d²) instead of the (S A)^T of
enumeration, and
read-out g = Σ_i L_i ⊙ V_i gives E[g] and E[g gᵀ].

Importance ratios (notes §4.4, DESIGN §3 "for importance sampling multiply by the ratio").
Trajectories are drawn by a behaviour θ (``theta_behaviour``), the estimator is evaluated
at the target θ' (ψ = ψ_θ'), and ϱ_t = π_θ'(a_t|x_t)/π_θ(a_t|x_t) multiplies the update
with integer powers (k_σ, k_e, k_ψ, k_G) = ``StepWeights.ratio_powers``:

    σ' = ϱ^{k_σ} B σ,   e' = ϱ^{k_e} ρ e + ϱ^{k_ψ} κ ψ σ₀,
    G' = ϱ^{k_G} G + u e' + ϱ^{k_ψ} ψ (h σ₀ + β σ₁),   Ψ_ω' = ϱ^{k_G} Ψ_ω + ϱ^{k_ψ} ω ψ σ₀,

so with k_σ = 1 the scalar σ₀ is W_t = ϱ_0 ⋯ ϱ_{t−1}. The estimators of
:mod:`pgmath.estimators.offpolicy` (with κ = 1, α_t = γ^t) are

    trajectory_is (β = 1)    (1, 1, 1, 1)   W_T (Σ_t ψ_t)(Σ_t γ^t r_t)
    per_decision_is          (1, 1, 1, 0)   Σ_t ψ_t Σ_{t'≥t} γ^{t'} r_{t'} W_{t'+1}
    per_decision_is_notes    (1, 1, 2, 0)   Σ_t ψ_t ϱ_t Σ_{t'≥t} γ^{t'} r_{t'} W_{t'+1}
    truncated_is             (1, 0, 1, 0)   Σ_t ψ_t W_{t+1} Σ_{t'≥t} γ^{t'} r_{t'}
    action_ratio_is          (0, 0, 1, 0)   Σ_t ψ_t ϱ_t Σ_{t'≥t} γ^{t'} r_{t'}

The update stays linear in (σ, V), so the same moment recursion applies with the
coefficients depending on the policy input x as well: it runs over the pairs (s, x) with
O(x|s) > 0 (x = s for a state policy), weighted by O(x|s) π_θ(a|x) P(s'|s, a).
With all powers 0 (on-policy estimators) and θ = θ' it is the on-policy recursion.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import EstimatorError, InvalidPolicyError, ShapeError, check_choice
from ..mdp import horizon_steps as _steps
from ._einsum import einsum as _einsum
from .forward_backward import chain, label_moments, rounding_depth, score_sandwich

__all__ = ["StepWeights", "recursive_moments", "accumulator_moments", "step_weights_of",
           "ALGORITHMS", "recursion_rounding_depth"]


def _vec(x, T: int, name: str) -> np.ndarray:
    v = np.broadcast_to(np.asarray(x, dtype=float), (T,)).copy()
    if not np.all(np.isfinite(v)):
        raise EstimatorError(f"{name} has a non-finite entry at t={int(np.flatnonzero(~np.isfinite(v))[0])}")
    return v


@dataclass(frozen=True, eq=False)
class StepWeights:
    """A step-weighted score sum (module docstring), for horizon T.

    Attributes:
      T: horizon.
      kappa, beta, alpha, eta: ``[T]`` time weights κ_t, β_t, α_t, η_t.
      rho: ρ, the decay of the forward kernel.
      y, c: tables ``[T, S, A, S']`` (any axis but T may have length 1, broadcast) of
        the state parts of u_t and h_t, or ``None`` for zero.
      cx: table ``[T, X, A]`` (axis 2 may have length 1) over the policy's inputs x
        (observations of a POMDP, else states), or ``None``.
      offset: ``[d]`` per-component constant b, or ``None``.
      omega: ``[T]`` ω_t, the time weights of the offset's score sum.
      ratio_powers: (k_σ, k_e, k_ψ, k_G), the powers of the importance ratio ϱ_t in the
        update (module docstring); (0, 0, 0, 0) for an on-policy estimator.
    """

    T: int
    kappa: np.ndarray
    rho: float
    beta: np.ndarray
    alpha: np.ndarray
    eta: np.ndarray
    y: np.ndarray | None = None
    c: np.ndarray | None = None
    offset: np.ndarray | None = None
    omega: np.ndarray | None = None
    cx: np.ndarray | None = None
    ratio_powers: tuple[int, int, int, int] = (0, 0, 0, 0)

    @classmethod
    def make(cls, T: int, *, kappa=0.0, rho=1.0, beta=0.0, alpha=0.0, eta=0.0, y=None,
             c=None, cx=None, offset=None, omega=1.0, ratio_powers=(0, 0, 0, 0)
             ) -> "StepWeights":
        """Build and validate; scalars broadcast over t."""
        powers = tuple(ratio_powers)
        if len(powers) != 4 or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool)
                                       and k >= 0 for k in powers):
            raise EstimatorError(f"ratio_powers must be 4 non-negative ints (k_σ, k_e, k_ψ, k_G), "
                                 f"got {ratio_powers!r}")
        tabs = {}
        for name, tab, nd in (("y", y, 4), ("c", c, 4), ("cx", cx, 3)):
            if tab is None:
                tabs[name] = None
                continue
            tab = np.asarray(tab, dtype=float)
            if tab.ndim != nd or tab.shape[0] != T:
                want = "[T, S, A, S'] (axes 1–3 may" if nd == 4 else "[T, X, A] (axis 2 may"
                raise ShapeError(f"table {name} must be {want} have length 1) with T={T}, "
                                 f"got shape {tab.shape}")
            if not np.all(np.isfinite(tab)):
                idx = tuple(int(i) for i in np.argwhere(~np.isfinite(tab))[0])
                raise EstimatorError(f"table {name}{list(idx)} is not finite: {tab[idx]!r}")
            tabs[name] = tab
        if offset is not None:
            offset = np.asarray(offset, dtype=float)
            if offset.ndim != 1 or not np.all(np.isfinite(offset)):
                raise EstimatorError(f"offset must be a finite vector [d], got {offset!r}")
        rho = float(rho)
        if not np.isfinite(rho):
            raise EstimatorError(f"rho must be finite, got {rho!r}")
        return cls(int(T), _vec(kappa, T, "kappa"), rho, _vec(beta, T, "beta"),
                   _vec(alpha, T, "alpha"), _vec(eta, T, "eta"), tabs["y"], tabs["c"],
                   offset, _vec(omega, T, "omega") if offset is not None else None, tabs["cx"],
                   tuple(int(k) for k in powers))

    # -- the layout of the accumulator -------------------------------------------------
    @property
    def has_trace(self) -> bool:
        return bool(np.any(self.kappa != 0))

    @property
    def has_ratios(self) -> bool:
        """True when the importance ratio enters the update (an off-policy estimator)."""
        return any(self.ratio_powers)

    @property
    def has_past(self) -> bool:
        return bool(np.any(self.beta != 0))

    def rows(self) -> list[str]:
        """Names of the vector rows of V, in order."""
        return (["e"] if self.has_trace else []) + ["G"] + (["psi"] if self.offset is not None else [])

    # -- per-trajectory evaluation (the estimator itself) ---------------------------------
    def evaluate(self, batch, psi: np.ndarray, log_ratios: np.ndarray | None = None
                 ) -> np.ndarray:
        """g ``[N, d]`` on a batch, given its step scores ψ ``[N, T, d]`` (and, for a spec
        with ratio powers, the log-ratios log ϱ_t ``[N, T]``, e.g.
        :func:`pgmath.estimators.log_ratios`)."""
        N, T = batch.rewards.shape
        if T != self.T:
            raise ShapeError(f"the batch has horizon {T} but the estimator was built for T={self.T}")
        r = np.asarray(batch.rewards, dtype=float)
        u = self.alpha * r + self._lookup(self.y, batch, "y")
        h = self.eta * r + self._lookup(self.c, batch, "c")
        if self.cx is not None:
            x = batch.inputs
            _check_index(self.cx, x, 1, "policy inputs", "cx")
            a = batch.actions if self.cx.shape[2] > 1 else np.zeros_like(batch.actions)
            _check_index(self.cx, a, 2, "actions", "cx")
            h = h + self.cx[np.arange(T)[None, :], x, a]
        if self.has_ratios:
            return self._forward(u, h, psi, log_ratios)
        F = np.zeros((N, T))
        acc = np.zeros(N)
        for t in range(T - 1, -1, -1):
            acc = u[:, t] + self.rho * acc
            F[:, t] = acc
        past = np.concatenate([np.zeros((N, 1)), np.cumsum(u, axis=1)[:, :-1]], axis=1)
        w = h + self.kappa * F + self.beta * past
        g = np.einsum("ntd,nt->nd", psi, w)
        if self.offset is not None:
            if self.offset.shape[0] != psi.shape[2]:
                raise ShapeError(f"baseline vector has length {self.offset.shape[0]} but the "
                                 f"policy has d={psi.shape[2]} parameters")
            g = g - self.offset * np.einsum("ntd,t->nd", psi, self.omega)
        return g

    def _forward(self, u, h, psi, log_ratios) -> np.ndarray:
        """The accumulator update of the module docstring run along each trajectory."""
        N, T, d = psi.shape
        if log_ratios is None or np.shape(log_ratios) != (N, T):
            raise EstimatorError(f"this estimator has importance ratios {self.ratio_powers}: "
                                 f"pass log_ratios of shape [N, T] = {(N, T)}, got "
                                 f"{None if log_ratios is None else np.shape(log_ratios)}")
        k_sig, k_e, k_psi, k_G = self.ratio_powers
        u, h = np.broadcast_to(u, (N, T)), np.broadcast_to(h, (N, T))
        s0, s1 = np.ones(N), np.zeros(N)
        e, G, Pw = np.zeros((N, d)), np.zeros((N, d)), np.zeros((N, d))
        for t in range(T):
            vr = np.exp(log_ratios[:, t])
            new = (vr ** k_psi * s0)[:, None] * psi[:, t]
            e = (self.rho * vr ** k_e)[:, None] * e + self.kappa[t] * new
            G = (vr ** k_G)[:, None] * G + u[:, t, None] * e + new * h[:, t, None]
            if self.has_past:
                G += (self.beta[t] * vr ** k_psi * s1)[:, None] * psi[:, t]
            if self.offset is not None:
                Pw = (vr ** k_G)[:, None] * Pw + self.omega[t] * new
            s0, s1 = vr ** k_sig * s0, vr ** k_sig * (s1 + u[:, t] * s0)
        if self.offset is None:
            return G
        if self.offset.shape[0] != d:
            raise ShapeError(f"baseline vector has length {self.offset.shape[0]} but the "
                             f"policy has d={d} parameters")
        return G - self.offset * Pw

    @staticmethod
    def _lookup(tab, batch, name: str) -> np.ndarray:
        if tab is None:
            return 0.0
        N, T = batch.states.shape
        s = batch.states
        a = batch.actions
        _check_index(tab, s, 1, "states", name)
        _check_index(tab, a, 2, "actions", name)
        idx_t = np.arange(T)[None, :]
        if tab.shape[3] == 1:
            s2 = np.zeros_like(s)
        else:
            fin = batch.final_states
            last = tab[T - 1]
            needs_final = not np.all(last == last[..., :1])
            if fin is None or np.any(np.asarray(fin) < 0):
                if needs_final:
                    raise EstimatorError(
                        f"table {name} depends on the state s_T after the last action, but the "
                        "batch has no final_states (enumeration of an MDP with rewards r(s, a) "
                        "does not draw s_T): pass values of shape [T, S] (V_T = 0) or sample")
                fin = np.zeros(N, dtype=np.int64)
            s2 = np.concatenate([s[:, 1:], np.asarray(fin)[:, None]], axis=1)
            _check_index(tab, s2, 3, "next states", name)
        pick = lambda ix, ax: ix if tab.shape[ax] > 1 else np.zeros_like(ix)  # noqa: E731
        return tab[idx_t, pick(s, 1), pick(a, 2), s2]


def _check_index(tab, ix, axis, what, name):
    if tab.shape[axis] > 1 and ix.size and int(ix.max()) >= tab.shape[axis]:
        raise ShapeError(f"the batch has {what} up to {int(ix.max())} but table {name} has "
                         f"only {tab.shape[axis]} along that axis (shape {tab.shape})")


def step_weights_of(estimator, T: int, discount: float):
    """The :class:`StepWeights` of an estimator for horizon T and discount γ, or ``None``
    when the estimator does not expose one (attribute ``step_weights(T, discount)``)."""
    fn = getattr(estimator, "step_weights", None)
    return None if fn is None else fn(T, discount)


# -- the descriptions of the built-in returns (read by pgmath.estimators and by the
#    exact moments, which must not import the estimators) ------------------------------------
#: The returns a score can multiply: ``"reinforce"`` the full return r(τ) = Σ_t' γ^t' r_t',
#: ``"reward_to_go"`` the rest Σ_{t'≥t} γ^t' r_t' (notes §4.1, §4.3.1).
BASES = ("reinforce", "reward_to_go")


def return_weights(base: str, T: int, discount: float) -> dict:
    """The :meth:`StepWeights.make` keywords of Σ_t ψ_t W_t: κ = 1, α_t = γ^t, and β = 1
    for the full return (``base="reinforce"``) or 0 for the reward-to-go."""
    return dict(kappa=1.0, beta=1.0 if base == "reinforce" else 0.0,
                alpha=discount ** np.arange(T))


def reinforce_weights(T: int, discount: float) -> StepWeights:
    """The description of :func:`pgmath.estimators.reinforce`: Σ_t ψ_t r(τ)."""
    return StepWeights.make(T, **return_weights("reinforce", T, discount))


def reward_to_go_weights(T: int, discount: float) -> StepWeights:
    """The description of :func:`pgmath.estimators.reward_to_go`: Σ_t ψ_t Σ_{t'≥t} γ^t' r_t'."""
    return StepWeights.make(T, **return_weights("reward_to_go", T, discount))


def score_sum_weights(T: int, discount: float) -> StepWeights:
    """The description of :data:`pgmath.estimators.score_sum`: Σ_t ψ_t (h_t = 1)."""
    return StepWeights.make(T, c=np.ones((T, 1, 1, 1)))


def constant_baseline_weights(b, base: str, T: int, discount: float) -> StepWeights:
    """The description of :func:`pgmath.estimators.constant_baseline`: Σ_t ψ_t (W_t − b),
    W the return of ``base``; ``b`` a number (h_t = −b) or a vector ``[d]`` (the offset)."""
    b = np.asarray(b, dtype=float)
    kw = return_weights(base, T, discount)
    if b.ndim == 0:
        return StepWeights.make(T, c=np.full((T, 1, 1, 1), -float(b)), **kw)
    return StepWeights.make(T, offset=b, omega=1.0, **kw)


def base_kind(base) -> str:
    """``"reinforce"`` or ``"reward_to_go"`` from that name or from the built-in estimator
    itself (recognised by its description, not its name)."""
    if isinstance(base, str) and base in BASES:
        return base
    described = getattr(base, "step_weights", None)
    if described is reinforce_weights:
        return "reinforce"
    if described is reward_to_go_weights:
        return "reward_to_go"
    raise EstimatorError(f"base must be 'reinforce' or 'reward_to_go', got {base!r}")


#: The importance-sampling estimators of :mod:`pgmath.estimators.offpolicy` as linear
#: recursions: name → (ratio powers (k_σ, k_e, k_ψ, k_G), full return β = 1).
IMPORTANCE_WEIGHTS = {
    "trajectory_is": ((1, 1, 1, 1), True),
    "per_decision_is": ((1, 1, 1, 0), False),
    "per_decision_is_notes": ((1, 1, 2, 0), False),
    "truncated_is": ((1, 0, 1, 0), False),
    "action_ratio_is": ((0, 0, 1, 0), False),
}


def importance_weights(name: str, T: int, discount: float) -> StepWeights:
    """The description of the importance-sampling estimator ``name`` of
    :data:`IMPORTANCE_WEIGHTS`: κ = 1, α_t = γ^t (rewards discounted from the start), β = 1
    for the full return, and its ratio powers."""
    ratio_powers, past = IMPORTANCE_WEIGHTS[name]
    return StepWeights.make(T, **return_weights("reinforce" if past else "reward_to_go",
                                                T, discount), ratio_powers=ratio_powers)


# -- the recursion ---------------------------------------------------------------------------
def _coefficients(spec: StepWeights, t: int, rtab: np.ndarray, ratio: np.ndarray,
                  cx: np.ndarray | None):
    """(B ``[n,A,S,p,p]``, C ``[n,A,S,q,q]``, D ``[n,A,S,q,p]``) at step t over the pairs
    (s, x) (rtab, the tables and ratio ϱ ``[n, A]`` already gathered per pair; cx ``[n, A]``
    the c^x_t term or ``None``)."""
    shp = rtab.shape
    u = spec.alpha[t] * rtab + (0.0 if spec.y is None else spec.y[t])
    h = spec.eta[t] * rtab + (0.0 if spec.c is None else spec.c[t])
    if cx is not None:
        h = h + cx[:, :, None]
    k_sig, k_e, k_psi, k_G = spec.ratio_powers
    pw = lambda k: ratio[:, :, None] ** k if k else 1.0  # noqa: E731
    p = 2 if spec.has_past else 1
    rows = spec.rows()
    q = len(rows)
    B = np.zeros(shp + (p, p))
    B[..., 0, 0] = pw(k_sig)
    if p == 2:
        B[..., 1, 0] = u * pw(k_sig)
        B[..., 1, 1] = pw(k_sig)
    C = np.zeros(shp + (q, q))
    D = np.zeros(shp + (q, p))
    iG = rows.index("G")
    C[..., iG, iG] = pw(k_G)
    D[..., iG, 0] = h * pw(k_psi)
    if spec.has_trace:
        ie = rows.index("e")
        C[..., ie, ie] = spec.rho * pw(k_e)
        D[..., ie, 0] = spec.kappa[t] * pw(k_psi)
        C[..., iG, ie] = u * C[..., ie, ie]
        D[..., iG, 0] += u * D[..., ie, 0]
    if p == 2:
        D[..., iG, 1] = spec.beta[t] * pw(k_psi)
    if "psi" in rows:
        ip = rows.index("psi")
        C[..., ip, ip] = pw(k_G)
        D[..., ip, 0] = spec.omega[t] * pw(k_psi)
    return B, C, D


def _readout(spec: StepWeights, rows: list[str], d: int) -> np.ndarray:
    """``[r, d]`` L: g = Σ_i L_i ⊙ V_i over ``rows`` (1 on G, −b on Ψ_ω, 0 on the trace)."""
    L = np.zeros((len(rows), d))
    L[rows.index("G")] = 1.0
    if spec.offset is not None:
        if spec.offset.shape[0] != d:
            raise ShapeError(f"baseline vector has length {spec.offset.shape[0]} but the policy "
                             f"has d={d} parameters")
        L[rows.index("psi")] = -spec.offset
    return L


def _spec(estimator, mdp, T: int) -> StepWeights:
    spec = estimator if isinstance(estimator, StepWeights) else step_weights_of(estimator, T, mdp.discount)
    if spec is None:
        raise EstimatorError(
            f"{getattr(estimator, '__name__', estimator)!r} has no linear-recursion description "
            "(no step_weights attribute): use estimator_moments(..., method='enumeration')")
    if spec.T != T:
        raise ShapeError(f"the estimator was built for T={spec.T} but the recursion runs T={T} steps")
    S, A = mdp.n_states, mdp.n_actions
    for name, tab in (("y", spec.y), ("c", spec.c)):
        if tab is not None and any(n not in (1, m) for n, m in zip(tab.shape[1:], (S, A, S))):
            raise ShapeError(f"table {name} has shape {tab.shape}; it must broadcast to "
                             f"[T, S, A, S] = {(T, S, A, S)}")
    return spec


#: The algorithms of :func:`accumulator_moments`: ``"forward-backward"`` (default,
#: :mod:`pgmath.exact.forward_backward`) and ``"state"`` (the state-conditioned recursion of
#: this module's docstring, O(T n S A d²): the reference route the tests hold it to).
ALGORITHMS = ("forward-backward", "state")


def _validated(estimator, mdp, policy, theta, theta_behaviour, n_steps):
    """(T, spec, chain) after checking θ, θ_b, the policy against the MDP and the tables."""
    if not hasattr(policy, "score"):
        raise InvalidPolicyError("the moment recursion needs a pgmath Policy and its theta")
    theta = policy.check_theta(theta)
    if theta_behaviour is not None:
        try:
            theta_behaviour = policy.check_theta(theta_behaviour)
        except InvalidPolicyError as exc:
            raise InvalidPolicyError(f"theta_behaviour (the behaviour θ): {exc}") from exc
    policy.check_compatible(mdp)
    T = _steps(mdp, n_steps)
    spec = _spec(estimator, mdp, T)
    ch = chain(mdp, policy, theta, theta_behaviour=theta_behaviour)
    d = ch.psi.shape[2]
    if spec.offset is not None and spec.offset.shape[0] != d:
        raise ShapeError(f"baseline vector has length {spec.offset.shape[0]} but the policy "
                         f"has d={d} parameters")
    if spec.cx is not None and (spec.cx.shape[1] != ch.X or spec.cx.shape[2] not in (1, ch.A)):
        raise ShapeError(f"table cx has shape {spec.cx.shape}; it must broadcast to "
                         f"[T, X, A] = {(T, ch.X, ch.A)} (X = what the policy reads)")
    return T, spec, ch


def accumulator_moments(estimator, mdp, policy, theta, *, n_steps: int | None = None,
                        theta_behaviour=None, algorithm: str = "forward-backward"
                        ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(row names, E[V] ``[r, d]``, E[V ⊗ V] ``[r, d, r, d]``) of the read-out rows of the
    accumulator at the end of the trajectory (module docstring): row ``"G"`` is g without
    offset and row ``"psi"`` (when the estimator has an offset) is Σ_t ω_t ψ_t, so cross
    moments such as E[G_k Ψ_k] are read off. With ``algorithm="state"`` the trace row
    ``"e"`` is returned too.

    ``theta`` is where the estimator is evaluated (ψ, ratios' numerator); the trajectories
    are drawn by ``theta_behaviour`` (default: ``theta``, on-policy). ``algorithm`` is one
    of :data:`ALGORITHMS`; both give the same numbers up to rounding."""
    check_choice("algorithm", algorithm, ALGORITHMS)
    T, spec, ch = _validated(estimator, mdp, policy, theta, theta_behaviour, n_steps)
    if algorithm == "state":
        return _state_moments(spec, ch, T)
    with threadpool_limits(limits=1, user_api="blas"):  # see label_moments' docstring
        read, m1, Kd, Kc = label_moments(spec, ch, T)
        mean, W = score_sandwich(ch.psi, m1, Kd, Kc)
    rows = spec.rows()
    return [rows[i] for i in read], mean, W


def _state_moments(spec: StepWeights, ch, T: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The state-conditioned recursion of the module docstring: (rows, E[V], E[V ⊗ V])."""
    S, A = ch.S, ch.A
    s_idx, x_idx, wP, ratio, psi = ch.s_idx, ch.x_idx, ch.wP, ch.ratio, ch.psi
    d = psi.shape[2]
    psipsi = psi[:, :, :, None] * psi[:, :, None, :]                  # [X, A, d, d]
    psi, psipsi = psi[x_idx], psipsi[x_idx]                           # over the pairs
    rtab = np.broadcast_to(ch.r, wP.shape)
    rows = spec.rows()
    q = len(rows)
    p = 2 if spec.has_past else 1
    ms = np.zeros((S, p)); ms[:, 0] = ch.p0
    Mss = np.zeros((S, p, p)); Mss[:, 0, 0] = ch.p0
    mV = np.zeros((S, q, d))
    X = np.zeros((S, p, q, d))
    W = np.zeros((S, q, d, q, d))
    gathered = replace(spec, y=_gathered(spec.y, s_idx), c=_gathered(spec.c, s_idx))
    for t in range(T):
        cx = None if spec.cx is None else np.broadcast_to(spec.cx[t][x_idx], (len(x_idx), A))
        B, C, D = _coefficients(gathered, t, rtab, ratio, cx)
        ms_p, Mss_p, mV_p, X_p, W_p = ms[s_idx], Mss[s_idx], mV[s_idx], X[s_idx], W[s_idx]
        ms_n = _einsum("pau,paumn,pn->um", wP, B, ms_p)
        Mss_n = _einsum("pau,paumn,pnk,paulk->uml", wP, B, Mss_p, B)
        mV_n = (_einsum("pau,pauij,pjd->uid", wP, C, mV_p)
                + _einsum("pau,pauim,pm,pad->uid", wP, D, ms_p, psi))
        X_n = (_einsum("pau,paumn,pauij,pnjd->umid", wP, B, C, X_p)
               + _einsum("pau,paumn,pauik,pnk,pad->umid", wP, B, D, Mss_p, psi))
        cross = _einsum("pau,pauij,paukm,pmjd,pae->uidke", wP, C, D, X_p, psi)
        W_n = (_einsum("pau,pauij,paukl,pjdle->uidke", wP, C, C, W_p)
               + _einsum("pau,pauim,paukn,pmn,pade->uidke", wP, D, D, Mss_p, psipsi))
        W_n += cross + cross.transpose(0, 3, 4, 1, 2)
        ms, Mss, mV, X, W = ms_n, Mss_n, mV_n, X_n, W_n
    return rows, mV.sum(axis=0), W.sum(axis=0)


def _gathered(tab, s_idx):
    """A table ``[T, S|1, A|1, S'|1]`` with its state axis gathered over the pairs."""
    if tab is None or tab.shape[1] == 1:
        return tab
    return tab[:, s_idx]


def recursive_moments(estimator, mdp, policy, theta, *, n_steps: int | None = None,
                      theta_behaviour=None, algorithm: str = "forward-backward"
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(mean ``[d]``, covariance ``[d, d]``) of one row g(τ), exactly, by a moment
    recursion: by default the forward–backward recursion over score labels
    (:mod:`pgmath.exact.forward_backward`, O(T S³ A) for a tabular policy, no d × d
    quantity per state), or with ``algorithm="state"`` the state-conditioned recursion of
    the module docstring (O(T n S A d²), memory O(S q² d²)), n the number of (s, x) pairs
    (n = S for a state policy).

    Args:
      estimator: a built-in per-trajectory estimator of :mod:`pgmath.estimators`
        (anything with ``step_weights(T, discount)``, a user's own included), or a
        :class:`StepWeights`.
      mdp: a :class:`pgmath.TabularMDP` or :class:`pgmath.POMDP`.
      policy, theta: a pgmath policy (over states, or observations of a POMDP) and the θ
        ``[d]`` at which the estimator is evaluated (the target θ' of an off-policy one).
      n_steps: T for an infinite-horizon MDP (default: the horizon).
      theta_behaviour: θ of the policy that draws the trajectories (default ``theta``):

          E_θ[g_θ'(τ)] = Σ_τ p_θ(τ) g_θ'(τ),   Cov_θ[g_θ'(τ)].

      algorithm: one of :data:`ALGORITHMS`.

    Raises:
      EstimatorError: when the estimator has no linear-recursion description (use
        :func:`pgmath.exact.estimator_moments` with ``method="enumeration"``).
    """
    T = _steps(mdp, n_steps)
    spec = _spec(estimator, mdp, T)
    rows, mean_V, W = accumulator_moments(spec, mdp, policy, theta, n_steps=T,
                                          theta_behaviour=theta_behaviour, algorithm=algorithm)
    L = _readout(spec, rows, mean_V.shape[1])
    mean = np.einsum("id,id->d", L, mean_V)
    second = np.einsum("id,ke,idke->de", L, L, W)
    cov = second - np.outer(mean, mean)
    return mean, 0.5 * (cov + cov.T)


def _max_log_prob(policy, theta) -> float:
    lp = np.asarray(policy.log_probs(theta))
    return float(np.max(np.abs(lp[np.isfinite(lp)]), initial=0.0))


def recursion_rounding_depth(estimator, mdp, policy, theta, *, n_steps: int | None = None,
                             theta_behaviour=None) -> int:
    """K such that every entry x̂ of the mean and second moment :func:`recursive_moments`
    computes (default algorithm) obeys |x̂ − x| ≤ γ_K x_abs, γ_K = K u/(1 − K u) (Higham),
    where x_abs is :func:`recursive_moments` run on the absolute values of every input
    (|r|, |tables|, |weights|, −|offset|, a score table dominating |ψ|). The derivation is
    in :func:`pgmath.exact.forward_backward.rounding_depth`."""
    T, spec, ch = _validated(estimator, mdp, policy, theta, theta_behaviour, n_steps)
    L = _max_log_prob(policy, theta)
    if theta_behaviour is not None:
        L += _max_log_prob(policy, theta_behaviour)
    return rounding_depth(spec, ch, T, log_prob_max=L)
