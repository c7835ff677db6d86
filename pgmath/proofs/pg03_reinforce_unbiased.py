"""PG-3: REINFORCE is unbiased for ∇J (notes §4.1), exactly, on the symbolic two-state,
two-action, two-step MDP: the expectation over all 16 trajectories of
(Σ_t ∇log π_θ(a_t|s_t))(Σ_t r(s_t,a_t)) equals d/dθ of the symbolic J(θ)."""
import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import probability_domain, two_state_mdp

M = two_state_mdp(T=2)
DOM = probability_domain(M)


def reinforce(s, a):
    """g(τ) = (Σ_t ψ(s_t, a_t)) (Σ_t r(s_t, a_t)), the notes' §4.1 estimator for N = 1."""
    return (M.score(a[0], s[0]) + M.score(a[1], s[1])) * sum(M.rewards(s, a))


J = M.J()
DERIVATION = Derivation(
    name="pg03_reinforce_unbiased",
    title="REINFORCE is unbiased (exact, on a symbolic MDP)",
    claims={"PG-3": ["unbiased"]},
    intro=r"""
Same symbolic problem as [the score-function page](pg01_score_function.md): two states,
two actions, $T = 2$, symbolic start distribution, dynamics, rewards and softmax logits.
$J(\theta)$ is the exact sum over the 16 trajectories; the estimator's expectation is the
exact sum of probability × estimate.
""",
    steps=[
        Step("The objective as a rational function",
             tex=r"J(\theta) = \sum_{\tau} p_\theta(\tau) \sum_{t=1}^{2} r(s_t, a_t) = \sum_{t=1}^{2}\sum_{s,a} p_\theta(s_t{=}s, a_t{=}a)\, r(s,a)",
             lhs=J,
             rhs=sum(M.p0[s] * M.pi(a, s) * M.r[s][a] for s in range(2) for a in range(2))
             + sum(M.p0[s] * M.pi(a, s) * M.P[s][a][s2] * M.pi(a2, s2) * M.r[s2][a2]
                   for s in range(2) for a in range(2) for s2 in range(2) for a2 in range(2)),
             domain=DOM, why="Enumeration agrees with the state-action marginals (§3.1)."),
        Step("REINFORCE's expectation is the gradient",
             tex=r"\mathbb{E}_{\tau\sim p_\theta}\left[\Big(\sum_{t=1}^{T}\nabla_\theta\log\pi_\theta(a_t|s_t)\Big)\Big(\sum_{t=1}^{T} r(s_t,a_t)\Big)\right] = \nabla_\theta J(\theta)",
             lhs=M.expect(reinforce), rhs=M.grad(J), label="unbiased", notes="§4.1", domain=DOM,
             why="Both sides are 4-vectors of rational functions of $(p, q, r, u)$; the right side "
                 "is the derivative of the symbolic $J$, independent of any score-function argument."),
    ])
