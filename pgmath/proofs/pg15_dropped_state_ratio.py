"""PG-15: dropping the state-marginal ratio (notes §4.4, last equation) gives a biased
estimator whose error vanishes at θ' = θ and is smooth in θ', hence O(‖θ' − θ‖) near θ.
Exactly on the two-state, two-action, two-step MDP with behaviour logits θ (u = e^θ) and
target logits θ' (v = e^θ')."""
import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import two_state_mdp

M = two_state_mdp(T=2, symbolic_dynamics=False)            # behaviour θ: u
Mt = two_state_mdp(T=2, symbolic_dynamics=False, prefix="v")  # target θ': v
T = M.T


def dropped(s, a):
    """Σ_t ρ_t ∇log π_θ'(a_t|s_t) Q̂_t with Q̂_t = Σ_{t'≥t} r_t' (no state ratio, no future ratios)."""
    rs = M.rewards(s, a)
    return sum((Mt.pi(a[t], s[t]) / M.pi(a[t], s[t]) * Mt.score(a[t], s[t]) * sum(rs[t:])
                for t in range(T)), sp.zeros(4, 1))


bias = M.expect(dropped) - Mt.grad(Mt.J())
together = [sp.together(b) for b in bias]
denominators = [sp.fraction(b)[1] for b in together]
same = dict(zip(Mt.params, M.params))
WITNESS = {**{f"u_{s}{a}": 1 for s in range(2) for a in range(2)},
           **{f"v_{s}{a}": 1 for s in range(2) for a in range(2)}, "v_00": 3}

DERIVATION = Derivation(
    name="pg15_dropped_state_ratio",
    title="Dropping the state-marginal ratio: biased, with an error that vanishes at θ' = θ",
    claims={"PG-15": ["biased", "zero_at_theta", "smooth"]},
    conditions={"PG-15": "the bound is local: the bias is 0 at θ' = θ and a smooth (rational) "
                         "function of e^θ', so ‖bias‖ ≤ C‖θ' − θ‖ near θ with C depending on "
                         "the MDP; the notes' global bound (“more on this later”, TRPO) is not "
                         "derived in the notes."},
    intro=r"""
The estimator of the notes' last equation of §4.4,
$\frac1N\sum_i\sum_t \frac{\pi_{\theta'}(a_{i,t}|s_{i,t})}{\pi_\theta(a_{i,t}|s_{i,t})}\nabla_{\theta'}\log\pi_{\theta'}(a_{i,t}|s_{i,t})\hat Q_{i,t}$,
has the exact expectation below (sum over the 16 trajectories under $\pi_\theta$); its
bias is that minus $\nabla_{\theta'}J(\theta')$.
""",
    steps=[
        Step("The estimator is biased",
             tex=r"\mathbb{E}_{\tau\sim p_\theta}\Big[\sum_t \rho_t\,\nabla_{\theta'}\log\pi_{\theta'}(a_t|s_t)\,\hat Q_t\Big] \neq \nabla_{\theta'}J(\theta')",
             lhs=M.expect(dropped), rhs=Mt.grad(Mt.J()), rel="!=", label="biased",
             notes="§4.4", counter=WITNESS),
        Step("No bias on-policy", tex=r"\mathrm{bias}(\theta' = \theta) = 0",
             lhs=bias.subs(same), rhs=sp.zeros(4, 1), label="zero_at_theta",
             why="With $\\theta' = \\theta$ every $\\rho_t = 1$ and the estimator is reward-to-go "
                 "([PG-6](pg05_causality.md))."),
        Step("The bias is smooth in θ'",
             tex=r"\mathrm{bias} = \frac{\text{polynomial}}{\text{denominator}},\qquad \text{denominator} > 0",
             lhs=sp.Mul(*denominators), rhs=0, rel=">", label="smooth",
             why="Every denominator is a polynomial in the positive $u, v$ with positive "
                 "coefficients, so the bias is $C^\\infty$ in $\\theta'$; with the previous step, "
                 "$\\|\\mathrm{bias}\\| \\le C\\|\\theta'-\\theta\\|$ near $\\theta$."),
    ])
