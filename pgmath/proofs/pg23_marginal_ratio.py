"""PG-23 (a claim pgmath found): the state-action-marginal form of the off-policy gradient
(notes §4.4, the first "≈" line, with weights p_θ'(s_t, a_t)/p_θ(s_t, a_t)). With the
reward-to-go Q̂_t sampled under θ its mean uses Q^{π_θ}, not Q^{π_θ'}: an approximation of
∇J(θ') that is exact at θ' = θ (the same mean as PG-13's truncated form), and exact for
every θ' once the future rewards are reweighted. Exactly on the two-state, two-action,
two-step MDP with symbolic behaviour (u) and target (v) logits."""
import functools

import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import two_state_mdp

M = two_state_mdp(T=2, symbolic_dynamics=False)            # behaviour θ: u
Mt = two_state_mdp(T=2, symbolic_dynamics=False, prefix="v")  # target θ': v
T, S, A = M.T, range(2), range(2)


def marginal(m, t, s, a):
    """p(s_t = s, a_t = a) under m's policy (t = 0, 1)."""
    if t == 0:
        return m.p0[s] * m.pi(a, s)
    return sum(m.p0[s0] * m.pi(a0, s0) * m.P[s0][a0][s] for s0 in S for a0 in A) * m.pi(a, s)


@functools.lru_cache(maxsize=None)
def w(t, s, a):
    """p_θ'(s_t, a_t) / p_θ(s_t, a_t)."""
    return marginal(Mt, t, s, a) / marginal(M, t, s, a)


def rho(s, a):
    return Mt.pi(a, s) / M.pi(a, s)


def estimator(future_ratios: bool):
    def g(s, a):
        rs = M.rewards(s, a)
        out = sp.zeros(4, 1)
        for t in range(T):
            q = sum(rs[tp] * (sp.Mul(*(rho(s[k], a[k]) for k in range(t + 1, tp + 1)))
                              if future_ratios else 1) for tp in range(t, T))
            out += w(t, s[t], a[t]) * Mt.score(a[t], s[t]) * q
        return out
    return g


def q_behaviour(t, s, a):
    """Q^{π_θ}_t(s, a) (t = 0: r + E_{s'}[V^{π_θ}_1(s')]; t = 1: r)."""
    if t == 1:
        return M.r[s][a]
    return M.r[s][a] + sum(M.P[s][a][s2] * M.pi(a2, s2) * M.r[s2][a2] for s2 in S for a2 in A)


grad_target = Mt.grad(Mt.J())
#: θ' = θ: each target logit v_sa replaced by the behaviour's u_sa
SAME = {Mt.u[s][a]: M.u[s][a] for s in S for a in A}
mean_notes = M.expect(estimator(False))
WITNESS = {**{f"u_{s}{a}": 1 for s in S for a in A}, **{f"v_{s}{a}": 1 for s in S for a in A},
           "v_00": 3}

DERIVATION = Derivation(
    name="pg23_marginal_ratio",
    title="Off-policy gradient with state-action marginal ratios",
    claims={"PG-23": ["mean", "at_theta"]},
    intro=r"""
Samples from $\pi_\theta$ ($u = e^\theta$), gradient of $J(\theta')$ ($v = e^{\theta'}$),
$w_t = p_{\theta'}(s_t,a_t)/p_\theta(s_t,a_t)$ the exact marginal ratio, $\rho_t$ the
per-step action ratio, $\hat Q_t = \sum_{t'\ge t} r_{t'}$ from the behaviour samples.
""",
    steps=[
        Step("What it estimates", label="mean",
             tex=r"\mathbb{E}_{\tau\sim p_\theta}\Big[\sum_t w_t\,\nabla_{\theta'}\log\pi_{\theta'}(a_t|s_t)\,\hat Q_t\Big] = \sum_t\sum_{s,a} p_{\theta'}(s_t{=}s,a_t{=}a)\,\nabla_{\theta'}\log\pi_{\theta'}(a|s)\,Q^{\pi_\theta}_t(s,a)",
             lhs=mean_notes,
             rhs=sum((marginal(Mt, t, s, a) * Mt.score(a, s) * q_behaviour(t, s, a)
                      for t in range(T) for s in S for a in A), sp.zeros(4, 1))),
        Step("It is not the gradient at θ' ≠ θ", rel="!=", counter=WITNESS,
             tex=r"\sum_t\sum_{s,a} p_{\theta'}(s_t{=}s,a_t{=}a)\,\nabla_{\theta'}\log\pi_{\theta'}(a|s)\,Q^{\pi_\theta}_t(s,a) \ne \nabla_{\theta'}J(\theta')",
             lhs=mean_notes, rhs=grad_target,
             why="A witness point (all logits 0 except $\\theta'_{00} = \\log 3$) where the two "
                 "differ: the form approximates $\\nabla J(\\theta')$; it is not equal to it."),
        Step("Exact at θ' = θ", label="at_theta",
             tex=r"\mathbb{E}_{\tau\sim p_\theta}\Big[\sum_t w_t\,\nabla_{\theta'}\log\pi_{\theta'}(a_t|s_t)\,\hat Q_t\Big]\Big|_{\theta'=\theta} = \nabla_\theta J(\theta)",
             lhs=mean_notes.xreplace(SAME), rhs=grad_target.xreplace(SAME),
             why="With $\\theta' = \\theta$ every weight is 1 and the form is reward-to-go (PG-6)."),
        Step("Corrected: future rewards reweighted",
             tex=r"\nabla_{\theta'}J(\theta') = \mathbb{E}_{\tau\sim p_\theta}\Big[\sum_{t=1}^{T} w_t\,\nabla_{\theta'}\log\pi_{\theta'}(a_t|s_t)\sum_{t'=t}^{T} r_{t'}\prod_{t''=t+1}^{t'}\rho_{t''}\Big]",
             lhs=grad_target, rhs=M.expect(estimator(True)),
             why="The reweighted reward-to-go has conditional mean $Q^{\\pi_{\\theta'}}_t$; the "
                 "policy-gradient theorem finishes the step."),
    ])
