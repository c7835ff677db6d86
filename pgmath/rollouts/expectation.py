"""The exact expected update of an advantage function computed from a segment.

The update a policy-gradient library forms from a segment ``[n_steps, n_envs]`` is

    g = Σ_e Σ_t w_t ψ_t Â_t   (``reduce="sum"``)   or   g / L   (``"mean"``),

L the number of live rows of the segment (n_steps · n_envs, less the next-step auto-reset
rows, which are not transitions; g = 0 when L = 0), as a loss masked to live rows and
averaged takes it (L is random in next-step mode: E[g / L] is not E[g] / E[L]),

ψ_t = ∇_θ log π_θ(a_t|s_t), Â_t the advantages the function returns, and
w_t = 0 on next-step auto-reset rows (their action did nothing), else 1
(``weighting="none"``, the common practice) or γ^{k_t} (``weighting="discounted"``,
k_t the steps since the episode's reset: the state weighting of ∇J_γ, Thomas 2014).
The n_envs environments are independent and start alike, so E[g] is n_envs times the
expectation over one column.

Two routes:

* ``"enumeration"``: every segment of one column (:mod:`.enumeration`), any advantage
  function (a user's black box), E = Σ p(segment) g(segment);
* ``"recursion"``: for a function described as a rule (:mod:`.rules`), a forward
  recursion over the row chain from the start distribution. With Â_t = δ_t + c_t Â_{t+1},

      Σ_t w_t ψ_t Â_t = Σ_u δ_u z_u,   z_u = w_u ψ_u + c_{u−1} z_{u−1},

  and the first moments m_u(x) = E[z 1{X_u = x}] (two of them, before and after the
  row's own factor c^own) propagate along the chain's edges like the state marginals
  p_u(x), so the cost is O(n_steps · E · d), E the number of edges — polynomial where
  enumeration is exponential in n_steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..check.rounding import UNDERFLOW, RoundingBound, gamma, unit_roundoff
from ..errors import (EstimatorError, InvalidArgumentError, PgmathError,
                      TooManyTrajectoriesError, check_choice)
from ..estimator_protocol import _name
from ..policy_tables import policy_table
from .chain import RolloutChain, rollout_chain, start_distribution
from .enumeration import MAX_SEGMENTS, count_segments, enumerate_segments
from .objective import values as exact_values
from .problem import RolloutProblem
from .rules import Rows, Rule, abs_rule, rows_of_segment, rule_advantages
from .sampling import sample_segment
from .segment import Segment
from .value_tables import as_value_table, lookup

__all__ = ["SegmentExpectation", "Setting", "prepare", "enumerate_setting", "expected_update",
           "enumeration_expectation", "recursion_expectation", "call_advantages",
           "segment_updates", "columns_independent",
           "update_weights", "recursion_update", "rule_of", "value_table_for",
           "WEIGHTINGS", "REDUCTIONS", "METHODS"]

WEIGHTINGS = ("none", "discounted")
REDUCTIONS = ("sum", "mean")
METHODS = ("auto", "recursion", "enumeration")
#: Where the rounding model's magnitudes of a rollout expectation come from.
MAGNITUDE_SOURCE = "|terms| of every Â_t (abs_rule) times |w ψ|"


@dataclass(frozen=True, eq=False)
class SegmentExpectation:
    """E[g] of one advantage function on segments of a problem.

    Attributes:
      mean: ``[d]`` the exact expected update E[g].
      method: ``"recursion"`` or ``"enumeration"``.
      n_segments: segments enumerated for one column (0 for the recursion).
      slack: ``[d]`` a bound on the floating-point error of ``mean`` (``rounding.slack()``).
      abs_mean: ``[d]`` E[Σ_t |w_t ψ_t| Â^abs_t] (the magnitude the rounding scales with).
      name, n_steps, n_envs, start, mode, weighting, reduce, lam: what was computed.
      precision: the working precision of the function's output (its dtype).
      rounding: the :class:`~pgmath.check.rounding.RoundingBound` of ``slack`` (pgmath's
        one rounding model: γ_K(u) × magnitudes, Higham eq. 3.5).
      coupled: the function's columns depend on each other (probed), so each batch of
        n_envs segments was one call.
    """

    mean: np.ndarray
    method: str
    n_segments: int
    slack: np.ndarray
    abs_mean: np.ndarray
    name: str
    n_steps: int
    n_envs: int
    start: str
    mode: str
    weighting: str
    reduce: str
    lam: float
    precision: str = "float64"
    rounding: RoundingBound | None = None
    coupled: bool = False


# -- the pieces ---------------------------------------------------------------------------
def _check_options(weighting, reduce, method, problem) -> None:
    check_choice("weighting", weighting, WEIGHTINGS)
    check_choice("reduce", reduce, REDUCTIONS)
    check_choice("method", method, METHODS)
    if weighting == "discounted" and problem.time_limit is None:
        raise InvalidArgumentError(
            "weighting='discounted' weights row t by γ^k, k the steps since the reset; without "
            "a time limit k is unbounded and the row chain does not track it: give a time limit")


def _check_lam(lam) -> float:
    try:
        lam = float(lam)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"lam (λ) must be a number in [0, 1], got {lam!r}") from None
    if not 0.0 <= lam <= 1.0:
        raise InvalidArgumentError(f"lam (λ) must lie in [0, 1], got {lam!r}")
    return lam


def call_advantages(fn, segment: Segment, lam: float) -> tuple[np.ndarray, str]:
    """(``[n, e]`` float64 Â, the working precision of the dtype the function returned:
    ``"float64"``, ``"float32"`` or ``"float16"``; integers count as float64).

    Calls ``fn(rewards, values, terminated, truncated, final_values, last_values,
    gamma=γ, lam=λ)`` (``last_values`` is the segment's ``next_values``). Raises :class:`EstimatorError` naming the function when it raises,
    returns the wrong shape or a non-finite value.
    """
    args = (segment.rewards.copy(), segment.values.copy(), segment.terminated.copy(),
            segment.truncated.copy(), segment.final_values.copy(), segment.next_values.copy())
    try:
        out = fn(*args, gamma=segment.discount, lam=lam)
    except Exception as exc:  # noqa: BLE001 - re-raised with context
        raise EstimatorError(f"advantage function {_name(fn)} raised {type(exc).__name__}: {exc}") from exc
    if hasattr(out, "detach"):  # a torch tensor
        out = out.detach().cpu().numpy()
    arr = np.asarray(out)
    if arr.dtype.kind not in "fiu":
        raise EstimatorError(f"advantage function {_name(fn)} returned {type(out).__name__} of dtype "
                             f"{arr.dtype}, not a numeric array [n_steps, n_envs]")
    precision = arr.dtype.name if arr.dtype.name in ("float32", "float16") else "float64"
    shape = segment.rewards.shape
    if arr.shape != shape:
        raise EstimatorError(f"advantage function {_name(fn)} returned shape {arr.shape}; expected "
                             f"[n_steps, n_envs] = {shape}")
    arr = arr.astype(float)
    bad = ~np.isfinite(arr)
    if bad.any():
        t, e = (int(i) for i in np.argwhere(bad)[0])
        raise EstimatorError(f"advantage function {_name(fn)} returned a non-finite value "
                             f"{arr[t, e]!r} at t={t}, env={e}")
    return arr, precision


def update_weights(segment: Segment, weighting: str) -> np.ndarray:
    """``[n, e]`` w_t: 0 on auto-reset rows, else 1 or γ^{k_t} (``"discounted"``)."""
    w = segment.live.astype(float)
    if weighting == "discounted":
        if segment.elapsed is None:
            raise InvalidArgumentError("weighting='discounted' needs the segment's elapsed times")
        w = w * segment.discount ** segment.elapsed
    return w


def segment_updates(segment: Segment, adv: np.ndarray, psi: np.ndarray, weighting: str
                    ) -> np.ndarray:
    """``[e, d]`` Σ_t w_t ψ(s_t, a_t) Â_t per environment column (``psi`` ``[S, A, d]``)."""
    w = update_weights(segment, weighting) * adv
    return np.einsum("te,ted->ed", w, psi[segment.observations, segment.actions])


def rule_of(fn, gamma: float, lam: float) -> Rule | None:
    """The :class:`Rule` an advantage function describes itself by, or ``None``."""
    factory = getattr(fn, "rollout_rule", None)
    return factory(gamma, lam) if callable(factory) else None


def value_table_for(problem: RolloutProblem, policy, theta, values) -> np.ndarray:
    """``[K, S]``: the exact values of the problem's objective (``values=None``), or the
    given table checked against the problem."""
    if values is None:
        values = exact_values(problem, policy, theta)
    return as_value_table(values, problem.n_states, problem.time_limit)


def _scale(reduce: str, n_steps: int, n_envs: int) -> float:
    """n_envs (``"sum"``: the columns are alike) or 1 / n_steps (``"mean"`` when every row
    is live: the n_envs columns over n_steps · n_envs rows)."""
    return float(n_envs) if reduce == "sum" else 1.0 / n_steps


def rounding_bound(precision: str, n_rows: int, n_terms: int, abs_mean, abs_g, abs_sum
                   ) -> RoundingBound:
    """The rounding bound (:mod:`pgmath.check.rounding`, (R)) of an enumerated E[g]: each Â_t
    from the function, in its working precision, within γ_{K_w}(u) (K_w = 8n + 16 for n rows)
    of the magnitude of its terms (``abs_mean`` weights them by |w ψ| and p); pgmath's float64
    sum of the n_terms weighted rows within γ_{K_s} (K_s = n_terms + 2n + 16) of
    ``abs_mean + abs_g``; the underflow floor η (n_terms + K_s ``abs_sum``), ``abs_sum`` the
    unweighted Σ |g| (Higham, eq. 3.5)."""
    absm = np.asarray(abs_mean, dtype=float)
    k_s = n_terms + 2 * n_rows + 16
    return RoundingBound(precision, unit_roundoff(precision), 8 * n_rows + 16, k_s,
                         absm + np.asarray(abs_g, dtype=float), 0, np.zeros_like(absm),
                         UNDERFLOW * (n_terms + k_s * np.asarray(abs_sum, dtype=float)),
                         magnitude_fn=lambda: (absm, MAGNITUDE_SOURCE))


def _tolerance(n_rows: int, precision: str, rows: Rows) -> np.ndarray:
    """``[n, e]`` how far two codes of one GAE-family Â may differ by rounding alone:
    4 γ_{8n+16}(u) × the magnitude of Â's terms (:func:`abs_rule`)."""
    return gamma(8 * n_rows + 16, u=unit_roundoff(precision)) * abs_rule(rows) * 4


# -- recursion ----------------------------------------------------------------------------
def _edge_rows(chain: RolloutChain, V: np.ndarray, gamma: float, lam: float) -> Rows:
    src, dst = chain.src, chain.dst
    ended = chain.ended
    fin_k = np.where(ended, chain.elapsed[src] + 1, 0) if V.shape[0] > 1 else chain.elapsed[src]
    v_final = np.where(ended, lookup(V, fin_k, np.maximum(chain.env_next, 0)), 0.0)
    return Rows(chain.reward, lookup(V, chain.elapsed[src], chain.state[src]),
                lookup(V, chain.elapsed[dst], chain.state[dst]), v_final,
                chain.terminated, chain.truncated, float(gamma), float(lam))


def recursion_update(rule: Rule, chain: RolloutChain, start: np.ndarray, V: np.ndarray,
                     psi: np.ndarray, n_steps: int, weighting: str, lam: float, *,
                     absolute: bool = False, s: np.ndarray | None = None):
    """``[d]`` E[Σ_t w_t ψ_t Â_t] over one column of ``n_steps`` rows from ``start`` ``[N]``.

    ``absolute=True`` runs the same recursion on |coefficients| and |ψ| (a bound on
    E[Σ_t |w ψ_t| · Σ |terms of Â_t|], for the rounding slack).

    With ``s`` ``[Q]`` (points of (0, 1]) it returns (``[Q, d]`` E[X s^L], ``[Q]`` E[s^L]),
    X = Σ_t w_t ψ_t Â_t and L the column's live rows (all but next-step auto-reset rows):
    the generating function of the live-row count, which :func:`live_mean_update` integrates
    to get E[X / L_total]. Every term is multiplied by s^{live(x)} at each row it passes and,
    when it is added, by h_{u+1}(y) = E[s^{live rows u+1..n−1} | X_{u+1} = y] (backward).
    """
    g = chain.problem.discount
    rows = _edge_rows(chain, V, g, lam)
    E, N, A = chain.n_edges, chain.n_nodes, chain.problem.n_actions
    ones, zeros = np.ones(E), np.zeros(E)

    def coef(fn, *args, default):
        return np.broadcast_to(np.asarray(fn(rows, *args), dtype=float), (E,)).copy() \
            if fn is not None else (ones if default == 1 else zeros).copy()

    d_own = coef(lambda x, last: rule.delta_own(x, last), False, default=0)
    d_last = coef(lambda x, last: rule.delta_own(x, last), True, default=0)
    c_own = coef(rule.cont_own, default=1)
    d_next = coef(rule.delta_next, default=0)
    c_next = coef(rule.cont_next, default=1)
    Psi = psi[chain.state].reshape(N * A, -1)
    w = (~chain.dead).astype(float)
    if weighting == "discounted":
        w = w * g ** chain.elapsed
    if absolute:
        d_own, d_last, c_own, d_next, c_next = map(np.abs, (d_own, d_last, c_own, d_next, c_next))
        Psi = np.abs(Psi)
    sv = np.ones(1) if s is None else np.asarray(s, dtype=float)
    Q, d = sv.size, Psi.shape[1]
    fac = np.where(chain.dead[:, None], 1.0, sv[None, :])            # [N, Q] s^{live(x)}
    q = chain.prob
    src, dst = chain.src, chain.dst
    xa = src * A + chain.action

    def to_dst(vals, cols, n_cols):
        return sparse.csr_matrix((vals, (dst, cols)), shape=(N, n_cols))

    T_psi = to_dst(q, xa, N * A)                       # z ← w ψ p
    T_zeta = to_dst(q * c_next, src, N)                # z ← c^next ζ
    T3_psi = to_dst(q * c_own, xa, N * A)              # ζ' ← c^own z
    T3_zeta = to_dst(q * c_own * c_next, src, N)
    Kt = to_dst(q, src, N)
    per_xa = sparse.csr_matrix((np.ones(E), (xa, np.arange(E))), shape=(N * A, E))
    per_x = sparse.csr_matrix((np.ones(E), (src, np.arange(E))), shape=(N, E))
    # h[u] = E[s^{live rows u..n−1} | X_u], u = 1..n (h[n] = 1)
    h = [np.ones((N, Q))] * (n_steps + 1)
    if s is not None:
        K = Kt.T.tocsr()
        for u in range(n_steps - 1, 0, -1):
            h[u] = fac * (K @ h[u + 1])
    look = rule.looks_ahead
    p = np.repeat(np.asarray(start, dtype=float)[:, None], Q, axis=1)   # [N, Q]
    m_Z = np.zeros((N, Q, d))
    m_zeta = np.zeros((N, Q, d))
    total = np.zeros((Q, d))

    def mat(M, X):                                     # sparse [R, C] @ [C, Q, d]
        return (M @ X.reshape(X.shape[0], -1)).reshape(M.shape[0], *X.shape[1:])

    for u in range(n_steps):
        last = u == n_steps - 1
        hq = q[:, None] * h[u + 1][dst]                # [E, Q]: the edge and the rows after it
        d_u = d_last if last else d_own
        a_vec = per_xa @ (d_u[:, None] * hq)           # [N·A, Q]
        b_vec = (per_x @ (d_u[:, None] * c_next[:, None] * hq)) * fac
        pw = np.repeat(p * w[:, None] * fac, A, axis=0)  # [N·A, Q]
        total += np.einsum("kq,kd->qd", pw * a_vec, Psi) + np.einsum("nq,nqd->qd", b_vec, m_zeta)
        if look and u > 0:
            b_next = (per_x @ (d_next[:, None] * hq)) * fac
            total += np.einsum("nq,nqd->qd", b_next, m_Z)
        if last:
            break
        pPsi = pw[:, :, None] * Psi[:, None, :]         # [N·A, Q, d]
        zf = m_zeta * fac[:, :, None]
        if look:
            m_Z = mat(T_psi, pPsi) + mat(T_zeta, zf)
        m_zeta = mat(T3_psi, pPsi) + mat(T3_zeta, zf)
        p = Kt @ (p * fac)
    if s is None:
        return total[0]
    h0 = fac * (Kt.T.tocsr() @ h[1])
    return total, np.asarray(start, dtype=float) @ h0


def live_mean_update(rule: Rule, chain: RolloutChain, start: np.ndarray, V: np.ndarray,
                     psi: np.ndarray, n_steps: int, n_envs: int, weighting: str, lam: float, *,
                     absolute: bool = False) -> np.ndarray:
    """``[d]`` E[Σ_e X_e / Σ_e L_e] (0 when no row is live): the update averaged over the
    live rows of ``n_envs`` independent columns, X_e = Σ_t w_t ψ_t Â_t and L_e the live
    rows of column e (next-step auto-reset rows are not transitions and are not counted).

    With 1/L = ∫₀¹ s^{L−1} ds and the columns independent,

        E[Σ_e X_e / L] = n_envs ∫₀¹ E[X_1 s^{L_1}] E[s^{L_1}]^{n_envs − 1} s^{−1} ds,

    a polynomial of degree ≤ n_steps · n_envs − 1 in s (X_1 ≠ 0 needs L_1 ≥ 1), integrated
    exactly by Gauss–Legendre with ⌈n_steps · n_envs / 2⌉ nodes.
    """
    m = (n_steps * n_envs + 1) // 2 + 1
    x, wq = np.polynomial.legendre.leggauss(m)
    s, wq = (x + 1) / 2, wq / 2
    R, G = recursion_update(rule, chain, start, V, psi, n_steps, weighting, lam,
                            absolute=absolute, s=s)
    return n_envs * ((wq * G ** (n_envs - 1) / s) @ R)


# -- the front end --------------------------------------------------------------------------
def _verify_rule(fn, rule: Rule, setting: "Setting", lam: float, n_steps: int) -> str:
    """Refuse a rule that disagrees with its function's code: on every segment of
    min(n_steps, 3) rows (fewer rows when there would be more than 20,000 segments), and
    on one sampled segment of n_steps rows × 4 environments (seeded), so code that changes
    with the segment's length is caught too."""
    chain, start, discount = setting.chain, setting.p_start, setting.problem.discount
    n = min(n_steps, 3)
    while n > 1 and count_segments(chain, start, n) > 20_000:
        n -= 1
    seg, _, _ = enumerate_segments(chain, start, n, discount=discount, max_segments=10 ** 9)
    segments = [seg.with_values(setting.V)]
    if n_steps > n:
        V = setting.V[0] if setting.V.shape[0] == 1 else setting.V
        segments.append(sample_segment(setting.problem, setting.pi, None, n_steps=n_steps,
                                       n_envs=4, rng=np.random.default_rng(0),
                                       start=setting.start, mode=setting.mode, values=V))
    worst = "float64"
    for seg in segments:
        code, precision = call_advantages(fn, seg, lam)
        rows = rows_of_segment(seg, discount, lam)
        want = rule_advantages(rule, rows)
        tol = _tolerance(seg.n_steps, precision, rows) + 1e-300
        bad = np.abs(code - want) > tol
        if bad.any():
            t, e = (int(i) for i in np.argwhere(bad)[0])
            raise EstimatorError(
                f"{_name(fn)} describes itself by the rule {rule.name!r}, but its code disagrees: "
                f"on a segment of {seg.n_steps} steps, Â[t={t}] is {code[t, e]!r} from the code "
                f"and {want[t, e]!r} from the rule; pgmath does not route by a description the "
                "code contradicts")
        worst = precision if unit_roundoff(precision) > unit_roundoff(worst) else worst
    return worst


@dataclass(frozen=True, eq=False)
class Setting:
    """Everything an expectation needs besides the advantage function: the problem, the
    action probabilities π ``[S, A]``, the score table ψ ``[S, A, d]``, the value table
    ``[K, S]``, the row chain and the start distribution ``[N]`` of a segment's first row."""

    problem: RolloutProblem
    pi: np.ndarray
    psi: np.ndarray
    V: np.ndarray
    chain: RolloutChain
    p_start: np.ndarray
    start: str
    mode: str


def prepare(problem: RolloutProblem, policy, theta, *, mode: str = "same_step",
            start: str = "stationary", values=None) -> Setting:
    """The :class:`Setting` of ``problem`` under (policy, θ) with the value table ``values``
    (``None``: the exact values of the problem's objective)."""
    if not hasattr(policy, "score"):
        raise PgmathError("rollout expectations need a pgmath Policy (for the score ψ) and its θ")
    theta = policy.check_theta(theta)
    pi = np.asarray(policy_table(problem.mdp, policy, theta))
    V = value_table_for(problem, policy, theta, values)
    chain = rollout_chain(problem, pi, mode=mode)
    return Setting(problem, pi, policy.score(theta), V, chain, start_distribution(chain, start),
                   start, mode)


def enumerate_setting(setting: Setting, n_steps: int, *, max_segments: int = MAX_SEGMENTS
                      ) -> tuple[Segment, np.ndarray]:
    """(every segment of one column as the columns of one :class:`Segment` with value
    predictions, probabilities ``[M]`` summing to 1)."""
    seg, prob, _ = enumerate_segments(setting.chain, setting.p_start, n_steps,
                                      discount=setting.problem.discount, max_segments=max_segments)
    return seg.with_values(setting.V), prob / prob.sum()


def _common(fn, setting: Setting, n_steps, n_envs, weighting, reduce, lam) -> dict:
    return dict(name=_name(fn), n_steps=int(n_steps), n_envs=int(n_envs), start=setting.start,
                mode=setting.mode, weighting=weighting, reduce=reduce, lam=lam)


def enumeration_expectation(fn, setting: Setting, segments: Segment, prob: np.ndarray, *,
                            n_envs: int, lam: float, weighting: str = "none",
                            reduce: str = "sum", max_batches: int = MAX_SEGMENTS
                            ) -> tuple[SegmentExpectation, np.ndarray]:
    """(E[g] by enumeration, ``[n, M]`` the function's Â on the enumerated segments).

    Columns are probed for independence (:func:`columns_independent`); a function that
    couples them is called once per ordered batch of ``n_envs`` segments.
    """
    n_steps = segments.n_steps
    common = _common(fn, setting, n_steps, n_envs, weighting, reduce, lam)
    adv, precision = call_advantages(fn, segments, lam)
    if columns_independent(fn, segments, adv, lam, precision):
        g, absg = _updates(segments, adv, setting.psi, weighting, lam)
        if reduce == "sum":
            pw = prob * n_envs
        else:
            pw = prob * live_mean_weights(segments.live.sum(axis=0), prob, n_envs)
        mean, absm = pw @ g, pw @ absg
        rb = rounding_bound(precision, n_steps, g.shape[0], absm, pw @ np.abs(g),
                            n_envs * np.abs(g).sum(axis=0))
        return SegmentExpectation(mean, "enumeration", int(g.shape[0]), rb.slack(), absm,
                                  **common, precision=precision, rounding=rb), adv
    mean, absm, absg_sum, n_batches = _coupled_expectation(fn, segments, prob, setting.psi,
                                                           weighting, lam, n_envs, max_batches,
                                                           reduce)
    rb = rounding_bound(precision, n_steps * n_envs, n_batches, absm, absg_sum, absg_sum)
    return SegmentExpectation(mean, "enumeration", int(segments.n_envs), rb.slack(), absm,
                              **common, precision=precision, rounding=rb, coupled=True), adv


def live_mean_weights(live: np.ndarray, prob: np.ndarray, n_envs: int) -> np.ndarray:
    """``[M]`` n_envs · E[1 / (L_m + L_other)] for each enumerated segment m of one column with
    ``live`` ``[M]`` live rows and probability ``prob`` ``[M]``, L_other the live rows of the
    n_envs − 1 other columns (independent copies: the (n_envs − 1)-fold convolution of the
    distribution of L), 1/0 read as 0. E[Σ_e X_e / Σ_e L_e] = Σ_m p_m X_m · weight_m."""
    live = np.asarray(live, dtype=np.intp)
    pL = np.bincount(live, weights=prob, minlength=int(live.max(initial=0)) + 1)
    other = np.ones(1)
    for _ in range(n_envs - 1):
        other = np.convolve(other, pL)
    k = np.arange(other.size)
    tot = live[:, None] + k[None, :]
    inv = np.divide(1.0, tot, out=np.zeros(tot.shape), where=tot > 0)
    return n_envs * (inv @ other)


def recursion_expectation(fn, setting: Setting, *, n_steps: int, n_envs: int, lam: float,
                          weighting: str = "none", reduce: str = "sum") -> SegmentExpectation:
    """E[g] by the recursion, for a function with a rule (checked against its code)."""
    rule = rule_of(fn, setting.problem.discount, lam)
    if rule is None:
        raise PgmathError(f"method='recursion' needs a described advantage function; "
                          f"{_name(fn)} has no rollout_rule (use enumeration)")
    chain, p_start, V, psi = setting.chain, setting.p_start, setting.V, setting.psi
    precision = _verify_rule(fn, rule, setting, lam, n_steps)
    if reduce == "mean" and chain.dead.any():
        mean, absm = (live_mean_update(rule, chain, p_start, V, psi, n_steps, n_envs, weighting,
                                       lam, absolute=a) for a in (False, True))
        scale = 1.0
        K = 4 * n_steps + 64 + int(np.bincount(chain.dst, minlength=chain.n_nodes).max()) \
            + 2 * n_steps * n_envs + 8
    else:
        mean = recursion_update(rule, chain, p_start, V, psi, n_steps, weighting, lam)
        absm = recursion_update(rule, chain, p_start, V, psi, n_steps, weighting, lam,
                                absolute=True)
        K = 4 * n_steps + 64 + int(np.bincount(chain.dst, minlength=chain.n_nodes).max())
        scale = _scale(reduce, n_steps, n_envs)
    # the code computes Â in its own precision (the rule agrees with it to that rounding);
    # pgmath's recursion runs in float64 over K roundings along a path
    absm = absm * scale
    rb = RoundingBound(precision, unit_roundoff(precision), 8 * n_steps + 16, K, absm, 0,
                       np.zeros_like(absm),
                       UNDERFLOW * K * chain.n_nodes * chain.problem.n_actions * (1 + absm),
                       magnitude_fn=lambda: (absm, MAGNITUDE_SOURCE + " (recursion)"))
    return SegmentExpectation(mean * scale, "recursion", 0, rb.slack(), absm,
                              **_common(fn, setting, n_steps, n_envs, weighting, reduce, lam),
                              precision=precision, rounding=rb)


def expected_update(advantage_fn, problem: RolloutProblem, policy, theta, *, n_steps: int,
                    n_envs: int = 1, lam: float = 0.95, values=None, start: str = "stationary",
                    mode: str = "same_step", weighting: str = "none", reduce: str = "sum",
                    method: str = "auto", max_segments: int = MAX_SEGMENTS) -> SegmentExpectation:
    """E[g], the exact expected update of ``advantage_fn`` on segments of ``problem``.

    Args:
      advantage_fn: an explicit-signature advantage function (:mod:`pgmath.rollouts.gae`;
        adapters in :mod:`pgmath.rollouts.signatures`).
      problem, policy, theta: the problem and a state policy with θ ``[d]``.
      n_steps, n_envs: the segment's size.
      lam: λ passed to the function.
      values: the value predictions' table (``[S]`` or ``[H + 1, S]``); ``None`` for the
        exact values of the problem's objective.
      start: ``"stationary"`` or ``"reset"`` (:mod:`pgmath.rollouts.chain`).
      mode: ``"same_step"`` or ``"next_step"`` auto-reset.
      weighting: ``"none"`` or ``"discounted"`` (γ^k, needs a time limit).
      reduce: ``"sum"`` (Σ over steps and environments) or ``"mean"`` (divided by the
        segment's live rows, as a loss's masked ``.mean()``: n_steps · n_envs less the
        next-step auto-reset rows; 0 when none is live).
      method: ``"auto"`` (recursion for a function with a rule, else enumeration),
        ``"recursion"`` or ``"enumeration"``.

    Raises:
      EstimatorError: the function raised or returned a bad array, or its rule disagrees
        with its code; TooManyTrajectoriesError: enumeration too large.
    """
    _check_options(weighting, reduce, method, problem)
    lam = _check_lam(lam)
    for name, v in (("n_steps", n_steps), ("n_envs", n_envs)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InvalidArgumentError(f"{name} must be a positive int, got {v!r}")
    setting = prepare(problem, policy, theta, mode=mode, start=start, values=values)
    if method == "auto":
        method = "recursion" if rule_of(advantage_fn, problem.discount, lam) else "enumeration"
    if method == "recursion":
        return recursion_expectation(advantage_fn, setting, n_steps=n_steps, n_envs=n_envs,
                                     lam=lam, weighting=weighting, reduce=reduce)
    seg, prob = enumerate_setting(setting, n_steps, max_segments=max_segments)
    return enumeration_expectation(advantage_fn, setting, seg, prob, n_envs=n_envs, lam=lam,
                                   weighting=weighting, reduce=reduce, max_batches=max_segments)[0]


def columns_independent(fn, seg: Segment, adv: np.ndarray, lam: float, precision: str) -> bool:
    """Whether column e of ``fn``'s output depends on column e of its input only, probed:
    the two halves of the columns, and the columns reversed, must give the same Â
    (within rounding). A function that normalises advantages over the batch fails."""
    M = seg.n_envs
    if M == 1:
        return True
    tol = _tolerance(seg.n_steps, precision, rows_of_segment(seg, seg.discount, lam))
    probes = [np.arange(M)[::-1], np.arange(M // 2), np.arange(M // 2, M)]
    for cols in probes:
        got, _ = call_advantages(fn, seg.columns(cols), lam)
        if np.any(np.abs(got - adv[:, cols]) > tol[:, cols]):
            return False
    return True


def _updates(seg: Segment, adv, psi, weighting, lam):
    """(``[M, d]`` per-column updates, ``[M, d]`` their magnitudes for the rounding slack)."""
    g = segment_updates(seg, adv, psi, weighting)
    mag = abs_rule(rows_of_segment(seg, seg.discount, lam))
    w = np.abs(update_weights(seg, weighting)) * mag
    absg = np.einsum("te,ted->ed", w, np.abs(psi[seg.observations, seg.actions]))
    return g, absg


def _coupled_expectation(fn, seg: Segment, prob, psi, weighting, lam, n_envs, max_batches,
                         reduce="sum"):
    """E[Σ_e g_e] (``reduce="mean"``: divided by the batch's live rows, 0 when there are
    none) of a function that couples its columns: every ordered batch of n_envs enumerated
    segments is one call (M^{n_envs} calls, at most ``max_batches``)."""
    M = seg.n_envs
    if M ** n_envs > max_batches:
        raise TooManyTrajectoriesError(
            f"{_name(fn)} couples its environment columns (its output for one column changes "
            f"with the others), so each batch of {n_envs} segments is one call: {M}^{n_envs} = "
            f"{M ** n_envs:,} batches, above {max_batches:,}; use fewer steps or environments")
    idx = np.indices((M,) * n_envs).reshape(n_envs, -1).T
    mean = absm = absg_sum = 0.0
    for cols in idx:
        sub = seg.columns(cols)
        adv, _ = call_advantages(fn, sub, lam)
        g, absg = _updates(sub, adv, psi, weighting, lam)
        p = float(np.prod(prob[cols]))
        if reduce == "mean":
            n_live = int(sub.live.sum())
            p = p / n_live if n_live else 0.0
        mean = mean + p * g.sum(axis=0)
        absm = absm + p * absg.sum(axis=0)
        absg_sum = absg_sum + p * np.abs(g).sum(axis=0)
    return mean, absm, absg_sum, idx.shape[0]
