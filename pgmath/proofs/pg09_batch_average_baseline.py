"""PG-9: the batch-average baseline b = (1/N) Σ_j r(τ_j) (notes §4.3.2) is *biased*: its
estimator's expectation is (1 − 1/N) ∇J. Checked exactly on a two-armed softmax bandit by
enumerating every batch of N = 2 and N = 3 draws, and for general N from the moments."""
import itertools

import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import softmax_probs

u = sp.symbols("u_1 u_2", positive=True)
r = sp.symbols("r_1 r_2", real=True)
pi = softmax_probs(list(u))
# score of arm a for parameter θ_1: ∂/∂θ_1 log π_a = 1[a = 1] − π_1
g = [1 - pi[0], -pi[0]]
grad_J = u[0] * sp.diff(sum(p * ri for p, ri in zip(pi, r)), u[0])


def batch_expectation(N: int):
    """E[(1/N) Σ_i g(a_i)(r(a_i) − (1/N) Σ_j r(a_j))] over all 2^N batches (component θ_1)."""
    total = 0
    for arms in itertools.product(range(2), repeat=N):
        prob = sp.Mul(*(pi[a] for a in arms))
        bbar = sp.Rational(1, N) * sum(r[a] for a in arms)
        total += prob * sp.Rational(1, N) * sum(g[a] * (r[a] - bbar) for a in arms)
    return total


N = sp.Symbol("N", positive=True, integer=True)
m_gr, m_g, m_r = sp.symbols(r"\mathbb{E}[gr] \mathbb{E}[g] \mathbb{E}[r]", real=True)
general = m_gr - (N * m_gr + N * (N - 1) * m_g * m_r) / N**2

DERIVATION = Derivation(
    name="pg09_batch_average_baseline",
    title="The batch-average baseline is biased by the factor (1 − 1/N)",
    claims={"PG-9": ["notes_n2"]},
    intro=r"""
The notes (§4.3.2) subtract $b = \frac1N\sum_{j=1}^N r(\tau_j)$ from each sample's return and
call the estimator valid, citing the constant-baseline argument. But $b$ contains
$r(\tau_i)$ itself, so $\mathbb{E}[\nabla\log p(\tau_i)\, b] \neq 0$. The check uses a
two-armed softmax bandit ($\pi_a = u_a/(u_1+u_2)$, rewards $r_1, r_2$), parameter
component $\theta_1$, and enumerates every batch.
""",
    steps=[
        Step("Notes: the batch-average baseline is unbiased (N = 2)",
             tex=r"\mathbb{E}\left[\frac1N\sum_{i=1}^N \nabla_\theta\log p_\theta(\tau_i)\Big(r(\tau_i) - \frac1N\sum_{j=1}^N r(\tau_j)\Big)\right] = \nabla_\theta J(\theta),\quad N = 2",
             lhs=batch_expectation(2), rhs=grad_J, label="notes_n2", notes="§4.3.2",
             counter={"u_1": 1, "u_2": 1, "r_1": 1, "r_2": 0},
             correction="E[(1/N) Σ_i ∇log p(τ_i)(r(τ_i) − b̄)] = (1 − 1/N) ∇J(θ); use the "
                        "leave-one-out baseline b_i = (1/(N−1)) Σ_{j≠i} r(τ_j), or multiply by "
                        "N/(N − 1), for an unbiased estimator."),
        Step("Exact expectation, N = 2", fixes="notes_n2",
             tex=r"\mathbb{E}[\hat g_{N=2}] = \left(1 - \tfrac12\right)\nabla_\theta J(\theta)",
             lhs=batch_expectation(2), rhs=(1 - sp.Rational(1, 2)) * grad_J),
        Step("Exact expectation, N = 3",
             tex=r"\mathbb{E}[\hat g_{N=3}] = \left(1 - \tfrac13\right)\nabla_\theta J(\theta)",
             lhs=batch_expectation(3), rhs=(1 - sp.Rational(1, 3)) * grad_J),
        Step("General N from the moments",
             tex=r"\mathbb{E}[gr] - \frac{1}{N^2}\Big(N\,\mathbb{E}[gr] + N(N-1)\,\mathbb{E}[g]\,\mathbb{E}[r]\Big) = \Big(1-\frac1N\Big)\mathbb{E}[gr] \quad\text{when } \mathbb{E}[g] = 0",
             lhs=general.subs(m_g, 0), rhs=(1 - 1 / N) * m_gr,
             why="Of the $N^2$ pairs $(i, j)$, the $N$ with $i = j$ give $\\mathbb{E}[gr] = "
                 "\\nabla J$; the others are independent and give $\\mathbb{E}[g]\\mathbb{E}[r] = 0$ "
                 "by the EGLP lemma of [the baseline page](pg08_baseline.md)."),
    ])
