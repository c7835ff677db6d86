"""PG-1, PG-2: the score-function identity and the dynamics dropping out of ∇log p_θ(τ)
(notes §4.1), checked on the symbolic two-state, two-action, two-step MDP: every one of
the 16 trajectories, with symbolic start distribution, dynamics, rewards and logits."""
import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import probability_domain, two_state_mdp

M = two_state_mdp(T=2)
TAUS = M.trajectories()
DOM = probability_domain(M)

p_tau = sp.Matrix([M.prob(s, a) for s, a in TAUS])                      # [16]
grad_p = sp.Matrix([list(M.grad(M.prob(s, a)).T) for s, a in TAUS])     # [16, 4]
grad_log_p = sp.Matrix([list(M.grad(sp.log(M.prob(s, a))).T) for s, a in TAUS])
sum_scores = sp.Matrix([list((M.score(a[0], s[0]) + M.score(a[1], s[1])).T) for s, a in TAUS])
r_tau = [sum(M.rewards(s, a)) for s, a in TAUS]
grad_J = M.grad(M.J())

DERIVATION = Derivation(
    name="pg01_score_function",
    title="Score-function identity; the dynamics drop out of ∇log p_θ(τ)",
    claims={"PG-1": ["identity", "grad_J"], "PG-2": ["dynamics"], "RL-1": ["normalised"]},
    intro=r"""
The setting is the notes' §4.1 on a concrete but fully symbolic problem: two states,
two actions, horizon $T = 2$, start distribution $(p, 1-p)$, transitions
$p(s_{t+1}=0|s,a) = q_{sa}$, rewards $r_{sa}$, and the tabular softmax policy
$\pi_\theta(a|s) = u_{sa}/(u_{s0}+u_{s1})$ with $u_{sa} = e^{\theta_{sa}}$
(so $\partial/\partial\theta_{sa} = u_{sa}\,\partial/\partial u_{sa}$). All 16 trajectories
$\tau = (s_1, a_1, s_2, a_2)$ are enumerated and every identity is checked for each of
them as an exact rational function.
""",
    steps=[
        Step("Trajectory distribution", tex=r"p_\theta(\tau) = p(s_1)\prod_{t=1}^{T}\pi_\theta(a_t|s_t)\,p(s_{t+1}|s_t,a_t),\qquad \sum_\tau p_\theta(\tau) = 1",
             lhs=sum(p_tau), rhs=1, label="normalised", notes="§3.1", domain=DOM,
             why="The 16 trajectory probabilities sum to one (the last transition sums out)."),
        Step("Score-function identity", lemma="Lemma (score function)",
             tex=r"p_\theta(\tau)\,\nabla_\theta \log p_\theta(\tau) = \nabla_\theta p_\theta(\tau)",
             lhs=sp.diag(*p_tau) * grad_log_p, rhs=grad_p, label="identity", notes="§4.1",
             domain=DOM, why="For each trajectory and each of the 4 parameters."),
        Step("Policy gradient as an expectation",
             tex=r"\nabla_\theta J(\theta) = \int \nabla_\theta p_\theta(\tau) r(\tau)\,d\tau = \mathbb{E}_{\tau\sim p_\theta}\left[\nabla_\theta \log p_\theta(\tau)\, r(\tau)\right]",
             lhs=grad_J, rhs=(grad_log_p.T * sp.diag(*p_tau) * sp.Matrix(r_tau)), label="grad_J",
             notes="§4.1", domain=DOM,
             why="Differentiate $J(\\theta) = \\sum_\\tau p_\\theta(\\tau) r(\\tau)$ and apply the "
                 "score-function lemma to each term."),
        Step("The dynamics drop out",
             tex=r"\nabla_\theta \log p_\theta(\tau) = \sum_{t=1}^{T} \nabla_\theta \log \pi_\theta(a_t|s_t)",
             lhs=grad_log_p, rhs=sum_scores, label="dynamics", notes="§4.1", domain=DOM,
             why="$\\log p(s_1)$ and $\\log p(s_{t+1}|s_t,a_t)$ do not depend on $\\theta$; the "
                 "right side uses the softmax score $\\psi(s,a) = e_{sa} - \\sum_b \\pi_\\theta(b|s) e_{sb}$."),
    ])
