"""IL-1: the behavioural-cloning series εT + (1−ε)εT + (1−ε)²εT + … (notes §2.1) and the
tightrope example. With one term per time step (the "…" ends at the horizon) the series
is T(1 − (1−ε)^T) ≤ εT²; without an end it would sum to T. The tightrope's expected cost
Σ_{t=1}^T (1 − (1−ε)^t) has the closed form T − (1−ε)(1 − (1−ε)^T)/ε and is at least
εT(T+1)/4 when εT ≤ 1, so the order εT² is tight."""
import sympy as sp

from pgmath.derivation import Derivation, Step

eps = sp.Symbol("epsilon", positive=True)
T = sp.Symbol("T", positive=True, integer=True)
t, k = sp.symbols("t k", nonnegative=True, integer=True)
U = sp.Symbol("U", nonnegative=True)   # 1 − ε ≥ 0
H = sp.Symbol("H", nonnegative=True)   # induction hypothesis / Bernoulli lemma
W = sp.Symbol("W", nonnegative=True)   # 1 − εT ≥ 0
DOM = {eps: (0, 1), T: [1, 2, 3, 10]}
infinite = sp.Sum((1 - eps)**k * eps * T, (k, 0, sp.oo))
# SymPy sums the geometric series under the condition |1 − ε| < 1, i.e. ε ∈ (0, 2)
infinite_value = infinite.doit().replace(
    lambda e: isinstance(e, sp.Piecewise),
    lambda e: e.args[0][0] if e.args[0][1].subs(eps, sp.Rational(1, 2)) else e)
truncated = sp.Sum((1 - eps)**k * eps * T, (k, 0, T - 1))
cost = sp.Sum(1 - (1 - eps)**t, (t, 1, T))
closed = T - (1 - eps) * (1 - (1 - eps)**T) / eps
quad_t = 1 - eps * t + eps**2 * t**2 / 2

DERIVATION = Derivation(
    name="il1_bc_series",
    title="Behavioural cloning: the series bound and the tightrope",
    claims={"IL-1": ["truncated_sum", "truncated_bound", "tight"]},
    intro=r"""
Per-step error $\epsilon \in (0, 1]$, horizon $T$. The notes bound the expected cost by
$\epsilon T + (1-\epsilon)\epsilon T + (1-\epsilon)^2\epsilon T + \dots = O(\epsilon T^2)$:
the $k$-th term is the probability $(1-\epsilon)^k\epsilon$ that the first mistake
happens at step $k+1$, times the most it can cost, $T$. The **tightrope** makes the bound
tight: each step on the rope errs with probability $\epsilon$, a fall is unrecoverable,
and every step after the fall costs 1, so the cost at step $t$ is
$\Pr(\text{fallen by } t) = 1 - (1-\epsilon)^t$.
""",
    steps=[
        Step("The series as written has infinitely many terms",
             tex=r"\epsilon T + (1-\epsilon)\epsilon T + (1-\epsilon)^2\epsilon T + \dots = \sum_{k=0}^{\infty}(1-\epsilon)^k\epsilon T = T",
             lhs=infinite_value, rhs=T, domain=DOM,
             why="A geometric series with ratio $1-\\epsilon \\in [0, 1)$: read without an "
                 "end the series would be $T$ whatever $\\epsilon$, so its \"…\" ends at the "
                 "horizon: one term per time step, as a sum over $t = 1 \\ldots T$ does."),
        Step("One term per time step",
             tex=r"\sum_{k=0}^{T-1}(1-\epsilon)^k\epsilon T = T\big(1 - (1-\epsilon)^T\big)",
             lhs=truncated, rhs=T * (1 - (1 - eps)**T), label="truncated_sum", domain=DOM),
        Step("Truncated series is O(εT²)",
             tex=r"T\big(1 - (1-\epsilon)^T\big) \le \epsilon T^2",
             lhs=T * (1 - (1 - eps)**T), rhs=eps * T**2, rel="<=", label="truncated_bound",
             facts={H: eps * T - 1 + (1 - eps)**T}, certificate=T * H,
             why="$T$ times Bernoulli's lemma ([IL-2 page](il2_distribution_drift.md)): "
                 "$H = \\epsilon T - 1 + (1-\\epsilon)^T \\ge 0$."),
        Step("Tightrope: closed form of the expected cost",
             tex=r"\mathbb{E}\Big[\sum_{t=1}^{T} c_t\Big] = \sum_{t=1}^{T}\big(1 - (1-\epsilon)^t\big) = T - \frac{(1-\epsilon)\big(1 - (1-\epsilon)^T\big)}{\epsilon}",
             lhs=cost, rhs=closed, label="closed", domain=DOM),
        Step("Tightrope: leading order", tex=r"T - \frac{(1-\epsilon)(1 - (1-\epsilon)^T)}{\epsilon} = \epsilon\frac{T(T+1)}{2} + O(\epsilon^2)",
             lhs=sp.series(closed, eps, 0, 2).removeO(), rhs=eps * T * (T + 1) / 2, domain=DOM),
        Step("Second-order Bernoulli, base case", tex=r"(1-\epsilon)^0 \le 1 - 0 + 0",
             lhs=(1 - eps)**0, rhs=quad_t.subs(t, 0), rel="<=", label="b2_base"),
        Step("Second-order Bernoulli, inductive step",
             tex=r"(1-\epsilon)^t \le 1 - \epsilon t + \tfrac{(\epsilon t)^2}{2}\ \Rightarrow\ (1-\epsilon)^{t+1} \le 1 - \epsilon(t+1) + \tfrac{\epsilon^2(t+1)^2}{2}",
             lhs=(1 - eps)**(t + 1), rhs=quad_t.subs(t, t + 1), rel="<=", label="b2_step",
             facts={U: 1 - eps, H: quad_t - (1 - eps)**t},
             certificate=U * H + eps**2 / 2 + eps**3 * t**2 / 2,
             why="With $U = 1 - \\epsilon$ and the hypothesis $H$, the difference is "
                 "$UH + \\epsilon^2/2 + \\epsilon^3t^2/2$."),
        Step("Lemma: the fall probability grows at least like εt − (εt)²/2",
             lemma="Lemma (second-order Bernoulli)", by_steps=["b2_base", "b2_step"],
             tex=r"1 - (1-\epsilon)^t \ge \epsilon t - \tfrac{(\epsilon t)^2}{2}\qquad(t = 0, 1, 2, \dots)"),
        Step("Sum of the lower bounds",
             tex=r"\sum_{t=1}^{T}\Big(\epsilon t - \tfrac{\epsilon^2t^2}{2}\Big) = \frac{\epsilon T(T+1)}{2} - \frac{\epsilon^2T(T+1)(2T+1)}{12}",
             lhs=sp.Sum(eps * t - eps**2 * t**2 / 2, (t, 1, T)),
             rhs=eps * T * (T + 1) / 2 - eps**2 * T * (T + 1) * (2 * T + 1) / 12, domain=DOM),
        Step("The order εT² is tight",
             tex=r"\frac{\epsilon T(T+1)}{2} - \frac{\epsilon^2T(T+1)(2T+1)}{12} \ge \frac{\epsilon T(T+1)}{4}\qquad(\epsilon T \le 1)",
             lhs=eps * T * (T + 1) / 2 - eps**2 * T * (T + 1) * (2 * T + 1) / 12,
             rhs=eps * T * (T + 1) / 4, rel=">=", label="tight", domain=DOM,
             facts={W: 1 - eps * T, U: 1 - eps}, certificate=eps * T * (T + 1) / 12 * (2 * W + U),
             why="With $W = 1 - \\epsilon T \\ge 0$ and $U = 1-\\epsilon \\ge 0$ the difference is "
                 "$\\frac{\\epsilon T(T+1)}{12}(2W + U)$. So the tightrope's cost is between "
                 "$\\epsilon T(T+1)/4$ and $\\epsilon T^2$ when $\\epsilon T \\le 1$."),
    ])
