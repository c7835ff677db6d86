"""PG-4: REINFORCE with observations in place of states is unbiased on a POMDP (notes
§4.2), exactly on a symbolic two-state, two-observation, two-action POMDP with horizon 2:
symbolic emission probabilities and observation-policy logits, all 64 trajectories."""
import itertools

import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import two_state_mdp, unit_domain

M = two_state_mdp(T=2, symbolic_dynamics=False)   # dynamics and rewards: fixed rationals
e = [sp.Symbol(f"e_{s}", positive=True) for s in range(2)]  # p(o = 0 | s)
E = [[e[s], 1 - e[s]] for s in range(2)]
w = [[sp.Symbol(f"w_{o}{a}", positive=True) for a in range(2)] for o in range(2)]  # e^θ[o,a]
params = [w[o][a] for o in range(2) for a in range(2)]


def pi(a, o):
    return w[o][a] / (w[o][0] + w[o][1])


def score(a, o):
    """∇_θ log π_θ(a|o) for the tabular softmax over observations."""
    out = [0] * 4
    for b in range(2):
        out[2 * o + b] = (1 if b == a else 0) - pi(b, o)
    return sp.Matrix(out)


TAUS = list(itertools.product(range(2), repeat=6))  # (s1, o1, a1, s2, o2, a2)


def prob(s1, o1, a1, s2, o2, a2):
    return (M.p0[s1] * E[s1][o1] * pi(a1, o1) * M.P[s1][a1][s2] * E[s2][o2] * pi(a2, o2))


def ret(s1, o1, a1, s2, o2, a2):
    return M.r[s1][a1] + M.r[s2][a2]


J = sum(prob(*t) * ret(*t) for t in TAUS)
grad_J = sp.Matrix([wk * sp.diff(J, wk) for wk in params])
estimate = sum((prob(*t) * (score(t[2], t[1]) + score(t[5], t[4])) * ret(*t) for t in TAUS),
               sp.zeros(4, 1))
DOM = unit_domain(*e)

DERIVATION = Derivation(
    name="pg04_pomdp_reinforce",
    title="REINFORCE on a POMDP (observations in place of states)",
    claims={"PG-4": ["unbiased"]},
    intro=r"""
Two hidden states, two observations with $p(o = 0|s) = e_s$, two actions, $T = 2$;
the policy sees only the observation: $\pi_\theta(a|o) = w_{oa}/(w_{o0}+w_{o1})$,
$w = e^{\theta}$. Dynamics and rewards are fixed rationals. The trajectory
$\tau = (s_1, o_1, a_1, s_2, o_2, a_2)$ takes 64 values.
""",
    steps=[
        Step("The observation-score estimator is unbiased",
             tex=r"\mathbb{E}\left[\Big(\sum_{t=1}^{T}\nabla_\theta\log\pi_\theta(a_t|o_t)\Big)\Big(\sum_{t=1}^{T} r(s_t,a_t)\Big)\right] = \nabla_\theta J(\theta)",
             lhs=estimate, rhs=grad_J, label="unbiased", notes="§4.2", domain=DOM,
             why="The score-function argument never uses the Markov property of the policy's "
                 "input: $p_\\theta(\\tau)$ still factors into $\\theta$-free terms (start, "
                 "emissions, dynamics) times $\\prod_t\\pi_\\theta(a_t|o_t)$."),
    ])
