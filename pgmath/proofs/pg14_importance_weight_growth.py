"""PG-14: the second moment of trajectory importance weights grows exponentially in T
(notes §4.4): a two-armed bandit played T times, behaviour q, target p;
E_q[ρ²] = Σ_a p_a²/q_a = 1 + χ²(p‖q) ≥ 1 and E_q[Π_t ρ_t²] = (E_q[ρ²])^T."""
import itertools

import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import unit_domain

p, q = sp.symbols("p q", positive=True)
P, Q = [p, 1 - p], [q, 1 - q]
rho = [P[a] / Q[a] for a in range(2)]
m2 = sum(Q[a] * rho[a]**2 for a in range(2))
T = sp.Symbol("T", positive=True, integer=True)
X = sp.Symbol("x", nonnegative=True)  # x = E_q[ρ²] − 1 ≥ 0
n = sp.Symbol("n", nonnegative=True, integer=True)
H = sp.Symbol("H", nonnegative=True)  # induction hypothesis
DOM = unit_domain(p, q)


def weight_moment(n: int, k: int):
    """E_q[(Π_{t=1}^{n} ρ_t)^k] by enumerating the 2^n action sequences."""
    return sum(sp.Mul(*(Q[a] * rho[a]**k for a in seq)) for seq in itertools.product(range(2), repeat=n))


DERIVATION = Derivation(
    name="pg14_importance_weight_growth",
    title="Importance weights: the second moment grows exponentially in T",
    claims={"PG-14": ["mean", "chi2", "product3", "base", "induction", "growth"]},
    conditions={"PG-14": "π_θ' ≠ π_θ on the states visited (else every weight is 1); shown for "
                         "a bandit repeated T times, where Var[Π_t ρ_t] = (1 + χ²)^T − 1 exactly."},
    intro=r"""
A two-armed bandit played for $T$ independent steps; the behaviour policy picks arm 1
with probability $q$, the target with probability $p$; $\rho = p_a/q_a$.
""",
    steps=[
        Step("Weights have mean one", tex=r"\mathbb{E}_q[\rho] = 1", lhs=sum(Q[a] * rho[a] for a in range(2)),
             rhs=1, label="mean", domain=DOM),
        Step("Second moment is one plus a χ² divergence",
             tex=r"\mathbb{E}_q[\rho^2] - 1 = \frac{(p-q)^2}{q} + \frac{(p-q)^2}{1-q} \ge 0",
             lhs=m2 - 1, rhs=(p - q)**2 / q + (p - q)**2 / (1 - q), label="chi2", domain=DOM),
        Step("Independent steps multiply (T = 3)",
             tex=r"\mathbb{E}_q\Big[\prod_{t=1}^{3}\rho_t^2\Big] = \big(\mathbb{E}_q[\rho^2]\big)^3",
             lhs=weight_moment(3, 2), rhs=m2**3, label="product3", domain=DOM),
        Step("Bernoulli, base case", tex=r"(1+x)^0 - 1 \ge 0\cdot x",
             lhs=(1 + X)**0 - 1, rhs=0, rel=">=", label="base"),
        Step("Bernoulli, inductive step",
             tex=r"(1+x)^{n} - 1 \ge n x \;\Rightarrow\; (1+x)^{n+1} - 1 \ge (n+1)x",
             lhs=(1 + X)**(n + 1) - 1, rhs=(n + 1) * X, rel=">=", label="induction",
             facts={H: (1 + X)**n - 1 - n * X}, certificate=(1 + X) * H + n * X**2,
             why="With the induction hypothesis $H = (1+x)^n - 1 - nx \\ge 0$: the difference is "
                 "$(1+x)H + n x^2$, a sum of nonnegative terms."),
        Step("Exponential growth of the variance", lemma="Lemma (Bernoulli)", by_steps=["base", "induction"],
             tex=r"\mathrm{Var}\Big[\prod_{t=1}^{T}\rho_t\Big] = (1+x)^T - 1 \ge T x,\qquad x = \mathbb{E}_q[\rho^2] - 1",
             label="growth",
             why="By induction on $T$ (steps above). With $x > 0$ fixed the variance is "
                 "$(1+x)^T - 1$, exponential in $T$; it is 0 only when $p = q$."),
    ])
