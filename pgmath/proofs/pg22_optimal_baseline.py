"""PG-22, PG-10: the optimal constant baseline (notes §4.3.2): the derivative of the
variance, the stationary point, the second-order condition, and its variance against the
average-reward baseline. Exactly on a two-armed softmax bandit with symbolic logits and
rewards (one parameter component), and in general from the moments."""
import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import softmax_probs

u = sp.symbols("u_1 u_2", positive=True)
r = sp.symbols("r_1 r_2", real=True)
b = sp.Symbol("b", real=True)
pi = softmax_probs(list(u))
g = [1 - pi[0], -pi[0]]  # ∂/∂θ_1 log π_a


def E(f):
    """E_{a∼π}[f(a)] on the bandit."""
    return sum(pi[a] * f(a) for a in range(2))


Var = E(lambda a: (g[a] * (r[a] - b))**2) - E(lambda a: g[a] * (r[a] - b))**2
Eg2, Eg2r, Eg2r2 = E(lambda a: g[a]**2), E(lambda a: g[a]**2 * r[a]), E(lambda a: g[a]**2 * r[a]**2)
b_star = Eg2r / Eg2
Er = E(lambda a: r[a])

# general form, from the moments A = E[g²] > 0, B = E[g²r], C = E[g²r²], m = E[gr]
A = sp.Symbol(r"\mathbb{E}[g^2]", positive=True)
B, C, m, c = sp.symbols(r"\mathbb{E}[g^2r] \mathbb{E}[g^2r^2] \mathbb{E}[gr] c", real=True)
var = C - 2 * b * B + b**2 * A - m**2

DERIVATION = Derivation(
    name="pg22_optimal_baseline",
    title="The optimal constant baseline",
    claims={"PG-22": ["dvar_1", "expand", "dvar", "stationary"],
            "PG-10": ["stationary", "second_order", "vs_average"]},
    conditions={"PG-10": "per parameter component, for constant baselines: the optimal b* is "
                         "compared with the constant b = E[r(τ)] (the batch average's "
                         "expectation); a batch average computed from the same samples is "
                         "biased (PG-9)."},
    intro=r"""
$g(\tau)$ is one component of $\nabla_\theta\log p_\theta(\tau)$. The instance is a
two-armed softmax bandit ($\pi_a = u_a/(u_1+u_2)$, rewards $r_1, r_2$, component
$\theta_1$); the variance
$\mathrm{Var}(b) = \mathbb{E}[(g(r-b))^2] - \mathbb{E}[g(r-b)]^2$ is an exact rational
function of $(u, r, b)$, differentiated by SymPy.
""",
    steps=[
        Step("The mean does not depend on b",
             tex=r"\frac{\partial}{\partial b}\,\mathbb{E}[g(\tau)(r(\tau)-b)]^2 = 0",
             lhs=sp.diff(E(lambda a: g[a] * (r[a] - b))**2, b), rhs=0, notes="§4.3.2",
             why="By the EGLP lemma ([baseline page](pg08_baseline.md)) the mean is "
                 "$\\mathbb{E}[gr]$ for every $b$."),
        Step("Derivative of the variance", tex=r"\frac{\partial\,\mathrm{Var}}{\partial b} = \frac{\partial}{\partial b}\,\mathbb{E}[g(\tau)^2(r(\tau)-b)^2]",
             lhs=sp.diff(Var, b), rhs=sp.diff(E(lambda a: g[a]**2 * (r[a] - b)**2), b),
             label="dvar_1", notes="§4.3.2, line 1"),
        Step("Expand the square",
             tex=r"\mathbb{E}[g^2(r-b)^2] = \mathbb{E}[g^2r^2] - 2\,\mathbb{E}[g^2 r]\,b + b^2\,\mathbb{E}[g^2]",
             lhs=E(lambda a: g[a]**2 * (r[a] - b)**2), rhs=Eg2r2 - 2 * Eg2r * b + b**2 * Eg2,
             label="expand", notes="§4.3.2, line 2"),
        Step("Differentiate", tex=r"\frac{\partial\,\mathrm{Var}}{\partial b} = -2\,\mathbb{E}[g^2 r] + 2b\,\mathbb{E}[g^2]",
             lhs=sp.diff(Var, b), rhs=-2 * Eg2r + 2 * b * Eg2, label="dvar", notes="§4.3.2, line 3"),
        Step("Stationary point", tex=r"\frac{\partial\,\mathrm{Var}}{\partial b}\Big|_{b = b^*} = 0,\qquad b^* = \frac{\mathbb{E}[g(\tau)^2 r(\tau)]}{\mathbb{E}[g(\tau)^2]}",
             lhs=sp.diff(Var, b).subs(b, b_star), rhs=0, label="stationary", notes="§4.3.2, line 4"),
        Step("Second-order condition: a minimum",
             tex=r"\frac{\partial^2\,\mathrm{Var}}{\partial b^2} = 2\,\mathbb{E}[g^2] \ge 0",
             lhs=sp.diff(Var, b, 2), rhs=0, rel=">=", label="second_order",
             why="The variance is a convex quadratic in $b$, so the stationary point is its minimum."),
        Step("Against the average-reward baseline (bandit)",
             tex=r"\mathrm{Var}(\mathbb{E}[r]) - \mathrm{Var}(b^*) = \mathbb{E}[g^2]\,(\mathbb{E}[r] - b^*)^2 \ge 0",
             lhs=Var.subs(b, Er) - Var.subs(b, b_star), rhs=Eg2 * (Er - b_star)**2),
        Step("Against any constant baseline (general)", lemma="Lemma (variance gap)",
             tex=r"\mathrm{Var}(c) - \mathrm{Var}(b^*) \ge 0\quad\text{for every constant } c,\qquad \mathrm{Var}(b) = \mathbb{E}[g^2r^2] - 2b\,\mathbb{E}[g^2r] + b^2\,\mathbb{E}[g^2] - \mathbb{E}[gr]^2",
             lhs=var.subs(b, c) - var.subs(b, B / A), rhs=0, rel=">=", label="vs_average",
             certificate=A * (c - B / A)**2,
             why="The gap is $\\mathbb{E}[g^2](c - b^*)^2$; in particular for $c = \\mathbb{E}[r]$, "
                 "the average-reward baseline."),
    ])
