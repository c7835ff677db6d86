"""PG-12: the off-policy policy gradient of the notes' §4.4, checked line by line on the
two-state, two-action, two-step MDP with symbolic behaviour logits θ (u = e^θ) and target
logits θ' (v = e^θ'), exactly over all 16 trajectories. The notes' per-decision form
multiplies by ∏_{t'=1}^{t} ρ and ∏_{t''=t}^{t'} ρ, counting ρ_t twice."""
import functools

import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import two_state_mdp

M = two_state_mdp(T=2, symbolic_dynamics=False)           # behaviour θ: u
Mt = two_state_mdp(T=2, symbolic_dynamics=False, prefix="v")  # target θ': v
T = M.T
TAUS = M.trajectories()


@functools.lru_cache(maxsize=None)
def rho(s, a):
    """ρ(s, a) = π_θ'(a|s) / π_θ(a|s)."""
    return Mt.pi(a, s) / M.pi(a, s)


def rhos(s, a, t0, t1):
    """∏_{t=t0}^{t1} ρ(s_t, a_t) (1-based, empty product = 1)."""
    return sp.Mul(*(rho(s[t - 1], a[t - 1]) for t in range(t0, t1 + 1)))


def score(s, a, t):
    return Mt.score(a[t - 1], s[t - 1])


def per_decision(first, last_from):
    """E_θ[Σ_t ψ'_t (∏_{t'=1}^{first(t)} ρ) Σ_{t'≥t} r_t' ∏_{t''=last_from(t)}^{t'} ρ]."""
    def f(s, a):
        rs = M.rewards(s, a)
        return sum((score(s, a, t) * rhos(s, a, 1, first(t))
                    * sum(rs[tp - 1] * rhos(s, a, last_from(t), tp) for tp in range(t, T + 1))
                    for t in range(1, T + 1)), sp.zeros(4, 1))
    return M.expect(f)


grad_J_target = Mt.grad(Mt.J())
full_weight = M.expect(lambda s, a: Mt.prob(s, a) / M.prob(s, a)
                       * Mt.grad(sp.log(Mt.prob(s, a))) * sum(M.rewards(s, a)))
product_form = M.expect(lambda s, a: rhos(s, a, 1, T) * (score(s, a, 1) + score(s, a, 2))
                        * sum(M.rewards(s, a)))
ONES = {**{f"u_{s}{a}": 1 for s in range(2) for a in range(2)},
        **{f"v_{s}{a}": 1 for s in range(2) for a in range(2)}, "v_00": 2}

DERIVATION = Derivation(
    name="pg12_offpolicy_gradient",
    title="Off-policy policy gradient: trajectory weights and the per-decision form",
    claims={"PG-12": ["line1", "line2", "line3"]},
    intro=r"""
Samples come from $\pi_\theta$ (variables $u_{sa} = e^{\theta_{sa}}$); the gradient is
that of $J(\theta')$ (variables $v_{sa} = e^{\theta'_{sa}}$); $\rho_t =
\pi_{\theta'}(a_t|s_t)/\pi_\theta(a_t|s_t)$. Dynamics and rewards are fixed rationals
(they are symbolic on [the score-function page](pg01_score_function.md)). Every
expectation is an exact sum over the 16 trajectories, compared with the derivative of
the symbolic $J(\theta')$.
""",
    steps=[
        Step("Trajectory importance weights",
             tex=r"\nabla_{\theta'}J(\theta') = \mathbb{E}_{\tau\sim p_\theta(\tau)}\left[\frac{p_{\theta'}(\tau)}{p_\theta(\tau)}\nabla_{\theta'}\log p_{\theta'}(\tau)\, r(\tau)\right]",
             lhs=grad_J_target, rhs=full_weight, label="line1", notes="§4.4, line 1",
             why="The notes write $\\nabla_{\\theta'}\\log\\pi_{\\theta'}(\\tau)$; read as "
                 "$\\log p_{\\theta'}(\\tau)$ (the dynamics drop out, "
                 "[PG-2](pg01_score_function.md)), the line holds by the importance-sampling "
                 "lemma and the score-function lemma."),
        Step("Product of per-step ratios",
             tex=r"= \mathbb{E}_{\tau\sim p_\theta(\tau)}\left[\Big(\prod_{t=1}^{T}\frac{\pi_{\theta'}(a_t|s_t)}{\pi_\theta(a_t|s_t)}\Big)\Big(\sum_{t=1}^{T}\nabla_{\theta'}\log\pi_{\theta'}(a_t|s_t)\Big)\Big(\sum_{t=1}^{T} r(s_t,a_t)\Big)\right]",
             lhs=full_weight, rhs=product_form, label="line2", notes="§4.4, line 2"),
        Step("Notes' per-decision form",
             tex=r"= \mathbb{E}_{\tau\sim p_\theta(\tau)}\left[\sum_{t=1}^{T}\nabla_{\theta'}\log\pi_{\theta'}(a_t|s_t)\Big(\prod_{t'=1}^{t}\rho_{t'}\Big)\Big(\sum_{t'=t}^{T} r(s_{t'},a_{t'})\prod_{t''=t}^{t'}\rho_{t''}\Big)\right]",
             lhs=product_form, rhs=per_decision(lambda t: t, lambda t: t), label="line3",
             notes="§4.4, line 3", counter=ONES,
             why="The two products overlap at $t'' = t$, so $\\rho_t$ enters squared.",
             correction="∇J(θ') = E_θ[Σ_t ∇log π_θ'(a_t|s_t) (Π_{t'=1}^{t} ρ_t') Σ_{t'=t}^{T} r_t' "
                        "Π_{t''=t+1}^{t'} ρ_t''] (the future product starts at t + 1), i.e. each "
                        "reward r_t' weighted by Π_{t''=1}^{t'} ρ_t''."),
        Step("Corrected per-decision form", fixes="line3",
             tex=r"\nabla_{\theta'}J(\theta') = \mathbb{E}_{\tau\sim p_\theta(\tau)}\left[\sum_{t=1}^{T}\nabla_{\theta'}\log\pi_{\theta'}(a_t|s_t)\Big(\prod_{t'=1}^{t}\rho_{t'}\Big)\Big(\sum_{t'=t}^{T} r(s_{t'},a_{t'})\prod_{t''=t+1}^{t'}\rho_{t''}\Big)\right]",
             lhs=grad_J_target, rhs=per_decision(lambda t: t, lambda t: t + 1),
             why="The past rewards drop out by causality ([PG-5 page](pg05_causality.md)); "
                 "a reward at $t'$ needs the ratios up to $t'$ only."),
    ])
