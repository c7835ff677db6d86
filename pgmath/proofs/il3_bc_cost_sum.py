"""IL-3: the behavioural-cloning cost sum Σ_{t=1}^T (ε + 2εt) (notes §2.1): closed form
εT(T+2) and the order O(εT²)."""
import sympy as sp

from pgmath.derivation import Derivation, Step

eps = sp.Symbol("epsilon", nonnegative=True)
T = sp.Symbol("T", positive=True, integer=True)
t = sp.Symbol("t", positive=True, integer=True)
W = sp.Symbol("W", nonnegative=True)  # W = T − 1 ≥ 0
total = sp.summation(eps + 2 * eps * t, (t, 1, T))

DERIVATION = Derivation(
    name="il3_bc_cost_sum",
    title="The behavioural-cloning cost sum",
    claims={"IL-3": ["closed", "order"]},
    intro=r"""
The last line of the notes' §2.1 bound: $\sum_t \mathbb{E}_{p_\theta}[c_t] \le \sum_{t=1}^T
(\epsilon + 2\epsilon t)$, with $t$ from 1 to $T$ as in the notes.
""",
    steps=[
        Step("Closed form", tex=r"\sum_{t=1}^{T}(\epsilon + 2\epsilon t) = \epsilon T(T+2)",
             lhs=total, rhs=eps * T * (T + 2), label="closed", domain={T: [1, 2, 7]}),
        Step("Order εT²", tex=r"\epsilon T(T+2) \le 3\epsilon T^2\qquad(T \ge 1)",
             lhs=eps * T * (T + 2), rhs=3 * eps * T**2, rel="<=", label="order", notes="§2.1",
             facts={W: T - 1}, certificate=2 * eps * T * W,
             why="The difference is $2\\epsilon T(T-1)$, nonnegative for $T \\ge 1$; so the sum "
                 "is $O(\\epsilon T^2)$ (and at least $\\epsilon T^2$, so the order is exact)."),
    ])
