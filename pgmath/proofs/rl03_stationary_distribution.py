"""RL-3: the stationary distribution of a symbolic two-state chain (notes §3.1) is the
eigenvector of eigenvalue 1, p(s_t) converges to it when the chain is ergodic, and the
time-averaged reward tends to E_μ[r]."""
import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import unit_domain

a, b = sp.symbols("a b", positive=True)       # P(0→1) = a, P(1→0) = b
n = sp.Symbol("n", nonnegative=True, integer=True)
T = sp.Symbol("T", positive=True, integer=True)
t = sp.Symbol("t", nonnegative=True, integer=True)
lam = 1 - a - b
P = sp.Matrix([[1 - a, a], [b, 1 - b]])
mu = sp.Matrix([[b / (a + b), a / (a + b)]])  # row vector
one = sp.ones(2, 1)
R = sp.eye(2) - one * mu
DOM = unit_domain(a, b)

DERIVATION = Derivation(
    name="rl03_stationary_distribution",
    title="Stationary distribution of a two-state chain",
    claims={"RL-3": ["stationary", "eigen", "spectral", "power", "cesaro"]},
    conditions={"RL-3": "ergodic = irreducible and aperiodic: here 0 < a + b < 2. For the "
                        "periodic chain a = b = 1, p(s_t) oscillates and does not converge, "
                        "though the time average still tends to E_μ[r]; for a = b = 0 "
                        "(reducible) the limit depends on p(s_1)."},
    intro=r"""
The state chain $P = \begin{pmatrix}1-a & a\\ b & 1-b\end{pmatrix}$ (for a policy,
$P_\pi(s, s') = \sum_a \pi(a|s)p(s'|s,a)$; the state-action chain of §3.1 works the same
way). The notes write $\mu = \mathcal{T}\mu$ with $\mathcal{T}$ acting on column vectors,
i.e. $\mathcal{T} = P^T$.
""",
    steps=[
        Step("μ is stationary", tex=r"\mu P = \mu,\qquad \mu = \Big(\frac{b}{a+b}, \frac{a}{a+b}\Big)",
             lhs=mu * P, rhs=mu, label="stationary", domain=DOM),
        Step("Eigenvector of eigenvalue 1", tex=r"\mathcal{T}\mu^T = P^T\mu^T = 1\cdot\mu^T,\qquad \det(P^T - I) = 0",
             lhs=sp.Matrix([(P.T * mu.T - mu.T).norm()**2, (P.T - sp.eye(2)).det()]),
             rhs=sp.zeros(2, 1), label="eigen", notes="§3.1", domain=DOM),
        Step("Spectral decomposition", tex=r"P = \mathbf{1}\mu + \lambda R,\quad R = I - \mathbf{1}\mu,\quad R^2 = R,\quad R\,\mathbf{1}\mu = \mathbf{1}\mu\,R = 0,\quad \lambda = 1 - a - b",
             lhs=sp.Matrix.vstack(P - one * mu - lam * R, R * R - R, R * one * mu, one * mu * R),
             rhs=sp.zeros(8, 2), label="spectral", domain=DOM),
        Step("Powers", tex=r"P^n = \mathbf{1}\mu + \lambda^n R\quad(n = 5)",
             lhs=P**5, rhs=one * mu + lam**5 * R, domain=DOM,
             why="From the decomposition, $(\\mathbf{1}\\mu + \\lambda R)^n = \\mathbf{1}\\mu + \\lambda^n R$ "
                 "by induction on $n$ (the cross terms vanish); checked here at $n = 5$."),
        Step("Induction step for the powers",
             tex=r"(\mathbf{1}\mu + \lambda^n R)\,P = \mathbf{1}\mu + \lambda^{n+1}R",
             lhs=(one * mu + lam**n * R) * P, rhs=one * mu + lam**(n + 1) * R, label="power",
             domain=DOM,
             why="So $p(s_{n+1}) = p(s_1)P^n \\to \\mu$ exactly when $|\\lambda| < 1$, i.e. "
                 "$0 < a + b < 2$ (irreducible and aperiodic)."),
        Step("Time average of the reward",
             tex=r"\frac1T\sum_{t=0}^{T-1} p(s_1)P^t r = \mu r + \frac{1-\lambda^T}{T(1-\lambda)}\,p(s_1)R\,r",
             lhs=sp.summation(lam**t, (t, 0, T - 1)), rhs=(1 - lam**T) / (1 - lam), label="cesaro",
             domain={**DOM, T: [1, 2, 5]}, counter={"a": sp.Rational(1, 3), "b": sp.Rational(1, 4), "T": 3},
             why="The geometric sum (checked) is bounded by $2/(a+b)$ when $|\\lambda|\\le 1$, so the "
                 "correction term is $O(1/T)$ and $\\frac1T\\sum_t\\mathbb{E}[r_t] \\to \\mathbb{E}_\\mu[r]$."),
    ])
