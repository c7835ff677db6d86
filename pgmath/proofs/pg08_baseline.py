"""PG-8: a constant baseline leaves the estimator unbiased (notes §4.3.2), symbolically:
the general argument E[∇log p b] = b ∇Σ p = 0, and exactly on the symbolic two-state,
two-action, two-step MDP."""
import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import probability_domain, two_state_mdp

M = two_state_mdp(T=2)
DOM = probability_domain(M)
b = sp.Symbol("b", real=True)
total = sum(M.prob(s, a) for s, a in M.trajectories())


def with_baseline(s, a):
    """(Σ_t ψ_t)(r(τ) − b)."""
    return (M.score(a[0], s[0]) + M.score(a[1], s[1])) * (sum(M.rewards(s, a)) - b)


DERIVATION = Derivation(
    name="pg08_baseline",
    title="A constant baseline leaves the gradient unbiased",
    claims={"PG-8": ["eglp", "unbiased"]},
    intro=r"""
The notes' four-line argument (§4.3.2), each line checked on the symbolic two-state,
two-action, $T = 2$ MDP with a symbolic constant $b$.
""",
    steps=[
        Step("Score function", tex=r"\mathbb{E}[\nabla_\theta\log p_\theta(\tau)\, b] = \sum_\tau \nabla_\theta p_\theta(\tau)\, b",
             lhs=M.expect(lambda s, a: (M.score(a[0], s[0]) + M.score(a[1], s[1])) * b),
             rhs=sum((M.grad(M.prob(s, a)) * b for s, a in M.trajectories()), sp.zeros(4, 1)),
             notes="§4.3.2, lines 1–2", domain=DOM),
        Step("Gradient of the total probability", lemma="Lemma (EGLP: expected grad-log-prob is 0)",
             tex=r"\sum_\tau \nabla_\theta p_\theta(\tau)\, b = b\,\nabla_\theta \sum_\tau p_\theta(\tau) = b\,\nabla_\theta 1 = 0",
             lhs=sum((M.grad(M.prob(s, a)) * b for s, a in M.trajectories()), sp.zeros(4, 1)),
             rhs=sp.zeros(4, 1), label="eglp", notes="§4.3.2, lines 3–4", domain=DOM),
        Step("The baseline estimator is unbiased",
             tex=r"\mathbb{E}\left[\nabla_\theta\log p_\theta(\tau)\,(r(\tau) - b)\right] = \nabla_\theta J(\theta)",
             lhs=M.expect(with_baseline), rhs=M.grad(M.J()), label="unbiased", domain=DOM,
             why="By the EGLP lemma and [REINFORCE's unbiasedness](pg03_reinforce_unbiased.md)."),
    ])
