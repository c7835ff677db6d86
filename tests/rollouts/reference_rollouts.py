"""An independent reference for rollout segments: written from gymnasium's rules, not from
pgmath's row chain, and importing nothing of pgmath.

Each environment is a state (s, k, pending-reset). A step draws a ~ π(·|s) and
s' ~ P(·|s, a); s' terminal → terminated; else k + 1 = H → truncated. Same-step
auto-reset returns the reset observation at once (s' is the final observation);
next-step returns s' and resets on the following call, which ignores its action and
pays 0. Every segment is listed with ``itertools``-style recursion and weighted by the
product of its factors, so with ``fractions.Fraction`` inputs every expectation is an
exact rational.

The stationary start is built from the renewal argument alone: a row of a long rollout
is the k-th step of an episode with probability P(s_k = s, alive at k) / (E[L] + [next-step])
(and an auto-reset row at final observation s' with probability
P(the episode ends with s') / (E[L] + 1)), E[L] = Σ_k P(alive at k).

The GAE variants are written again here, as plain loops over one environment.
"""
from __future__ import annotations

from fractions import Fraction

__all__ = ["boundary_rational", "reset_start", "renewal_start", "segments", "values_discounted", "values_episodic",
           "GAE", "expected_update", "pi_from_ratios"]


def pi_from_ratios(rows):
    """π[s][a] = w[s][a] / Σ_b w[s][b] in Fractions (softmax of logits log w)."""
    return [[Fraction(w) / sum(Fraction(x) for x in row) for w in row] for row in rows]


def boundary_rational():
    """(P, R, p0, π) of pgmath.rollouts.examples.boundary_problem in Fractions, copied from
    its docstring (not from its code)."""
    h, q = Fraction(1, 2), Fraction(1, 4)
    P = [[[h, h, 0, 0], [0, q, 3 * q, 0]],
         [[q, 0, 3 * q, 0], [0, 0, h, h]],
         [[h, 0, 0, h], [0, h, q, q]],
         [[0, 0, 0, 1], [0, 0, 0, 1]]]
    r = [[0, h], [1, 0], [-h, 2], [0, 0]]
    R = [[[r[s][a] + (1 if t == 3 and s < 3 else 0) for t in range(4)] for a in range(2)]
         for s in range(4)]
    p0 = [h, h, 0, 0]
    pi = pi_from_ratios([[1, 2], [1, 3], [2, 1], [1, 1]])
    return P, R, p0, pi


def reset_start(p0):
    """{(s, 0, False): p0[s]}."""
    return {(s, 0, False): p for s, p in enumerate(p0) if p != 0}


def renewal_start(P, p0, terminal, H, pi, mode):
    """The stationary distribution of a row, from the per-episode occupancy (renewal)."""
    S, A = len(P), len(P[0])
    occ = {}
    ends = {}
    d = {s: p for s, p in enumerate(p0) if p != 0}
    for k in range(H):
        nxt = {}
        for s, ps in d.items():
            occ[(s, k, False)] = occ.get((s, k, False), 0) + ps
            for a in range(A):
                for s2 in range(S):
                    q = ps * pi[s][a] * P[s][a][s2]
                    if q == 0:
                        continue
                    if s2 in terminal or k + 1 == H:
                        key = (s2, k + 1, True)
                        ends[key] = ends.get(key, 0) + q
                    else:
                        nxt[s2] = nxt.get(s2, 0) + q
        d = nxt
    length = sum(occ.values())
    cycle = length + (1 if mode == "next_step" else 0)
    out = {x: p / cycle for x, p in occ.items()}
    if mode == "next_step":
        out.update({x: p / cycle for x, p in ends.items()})
    return out


def _rows_from(node, P, R, p0, terminal, H, pi, mode):
    """[(prob, row, next node)] of one step from env state ``node``."""
    s, k, pending = node
    S, A = len(P), len(P[0])
    out = []
    if pending:
        for a in range(A):
            for s0 in range(S):
                q = pi[s][a] * p0[s0]
                if q != 0:
                    out.append((q, dict(obs=s, k=k, dead=True, a=a, r=0, term=False, trunc=False,
                                        final=None), (s0, 0, False)))
        return out
    for a in range(A):
        for s2 in range(S):
            q = pi[s][a] * P[s][a][s2]
            if q == 0:
                continue
            term = s2 in terminal
            trunc = (not term) and H is not None and k + 1 == H
            row = dict(obs=s, k=k, dead=False, a=a, r=R[s][a][s2], term=term, trunc=trunc,
                       final=s2 if (term or trunc) else None)
            if (term or trunc) and mode == "same_step":
                for s0 in range(S):
                    if p0[s0] != 0:
                        out.append((q * p0[s0], row, (s0, 0, False)))
            elif term or trunc:
                out.append((q, row, (s2, k + 1, True)))
            else:
                out.append((q, row, (s2, k + 1, False)))
    return out


def segments(start, n_steps, P, R, p0, terminal, H, pi, mode):
    """[(probability, rows, next node)] of every segment of ``n_steps`` rows of one env."""
    out = []

    def walk(node, prob, rows):
        if len(rows) == n_steps:
            out.append((prob, rows, node))
            return
        for q, row, nxt in _rows_from(node, P, R, p0, terminal, H, pi, mode):
            walk(nxt, prob * q, rows + [row])

    for node, p in start.items():
        walk(node, p, [])
    return out


def _solve(M, b):
    """Gaussian elimination (generic arithmetic)."""
    n = len(b)
    A = [list(M[i]) + [b[i]] for i in range(n)]
    for c in range(n):
        piv = next(i for i in range(c, n) if A[i][c] != 0)
        A[c], A[piv] = A[piv], A[c]
        for i in range(n):
            if i != c and A[i][c] != 0:
                f = A[i][c] / A[c][c]
                A[i] = [x - f * y for x, y in zip(A[i], A[c])]
    return [A[i][n] / A[i][i] for i in range(n)]


def values_discounted(P, R, terminal, pi, gamma):
    """[S] V = r_π + γ P_π V on non-terminal states, 0 on terminal ones (generic)."""
    S, A = len(P), len(P[0])
    live = [s for s in range(S) if s not in terminal]
    r = {s: sum(pi[s][a] * P[s][a][t] * R[s][a][t] for a in range(A) for t in range(S))
         for s in live}
    M = [[(1 if i == j else 0) - gamma * sum(pi[i][a] * P[i][a][j] for a in range(A))
          for j in live] for i in live]
    v = _solve(M, [r[s] for s in live])
    V = [0] * S
    for s, x in zip(live, v):
        V[s] = x
    return V


def values_episodic(P, R, terminal, pi, gamma, H):
    """[H + 1][S] V_k(s) = E[Σ_{j<H−k} γ^j r | s_k = s], V_H = 0, terminal states 0."""
    S, A = len(P), len(P[0])
    V = [[0] * S for _ in range(H + 1)]
    for k in range(H - 1, -1, -1):
        for s in range(S):
            if s in terminal:
                continue
            V[k][s] = sum(pi[s][a] * P[s][a][t] * (R[s][a][t] + gamma * V[k + 1][t])
                          for a in range(A) for t in range(S))
    return V


# -- the advantage functions, one environment, plain loops ------------------------------------
def _gae(r, v, term, trunc, vfin, v_last, g, lam, *, boot, cont, late=False, drop_last=False):
    n = len(r)
    adv = [0] * n
    last = 0
    for t in range(n - 1, -1, -1):
        v_next = v_last if t == n - 1 else v[t + 1]
        if late and t < n - 1:
            ended_next = term[t + 1] or trunc[t + 1]
            delta = r[t] + g * trunc[t] * vfin[t] + g * (0 if ended_next else v_next) - v[t]
            c = 0 if ended_next else g * lam
        else:
            ended = term[t] or trunc[t]
            if drop_last and t == n - 1:
                v_next = 0
            b = boot(t, ended, v_next, v, term, trunc, vfin)
            delta = r[t] + g * b - v[t]
            c = cont(t, term, trunc) * g * lam
        last = delta + c * last
        adv[t] = last
    return adv


def _boot_correct(t, ended, v_next, v, term, trunc, vfin):
    return vfin[t] if trunc[t] else (0 if term[t] else v_next)


def _cont_ended(t, term, trunc):
    return 0 if (term[t] or trunc[t]) else 1


GAE = {
    "gae": lambda *a: _gae(*a, boot=_boot_correct, cont=_cont_ended),
    "done_read_late": lambda *a: _gae(*a, boot=_boot_correct, cont=_cont_ended, late=True),
    "truncation_as_termination": lambda *a: _gae(
        *a, boot=lambda t, e, vn, v, te, tr, vf: 0 if e else vn, cont=_cont_ended),
    "truncation_bootstraps_current_value": lambda *a: _gae(
        *a, boot=lambda t, e, vn, v, te, tr, vf: v[t] if tr[t] else (0 if e else vn),
        cont=_cont_ended),
    "carried_across_truncation": lambda *a: _gae(
        *a, boot=_boot_correct, cont=lambda t, te, tr: 0 if te[t] else 1),
    "last_value_dropped": lambda *a: _gae(*a, boot=_boot_correct, cont=_cont_ended,
                                          drop_last=True),
}


def _value(V, k, s):
    return V[0][s] if len(V) == 1 else V[k][s]


def expected_update(name, segs, V, pi, gamma, lam, *, weighting="none"):
    """E[Σ_t w_t ψ_t Â_t] ``[S·A]`` (list) over ``segs`` for the tabular softmax (ψ w.r.t.
    the logits θ[s, b]: 1[s = s_t](1[b = a_t] − π(b|s))); V is [[V(s)]] or [[V_k(s)]].
    ``weighting`` is "none", "discounted" (w_t = γ^{k_t}), or a tuple of them (then a dict
    weighting → list, from one pass over the segments)."""
    S, A = len(pi), len(pi[0])
    kinds = (weighting,) if isinstance(weighting, str) else tuple(weighting)
    totals = {kind: [0] * (S * A) for kind in kinds}
    for prob, rows, nxt in segs:
        r = [row["r"] for row in rows]
        v = [_value(V, row["k"], row["obs"]) for row in rows]
        term = [row["term"] for row in rows]
        trunc = [row["trunc"] for row in rows]
        vfin = [_value(V, row["k"] + 1, row["final"]) if row["final"] is not None else 0
                for row in rows]
        v_last = _value(V, nxt[1], nxt[0])
        adv = GAE[name](r, v, term, trunc, vfin, v_last, gamma, lam)
        for row, a_t in zip(rows, adv):
            if row["dead"]:
                continue
            s, a = row["obs"], row["a"]
            for kind in kinds:
                w = gamma ** row["k"] if kind == "discounted" else 1
                total = totals[kind]
                for b in range(A):
                    total[s * A + b] += prob * w * ((1 if b == a else 0) - pi[s][b]) * a_t
    return totals[weighting] if isinstance(weighting, str) else totals
