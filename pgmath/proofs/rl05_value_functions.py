"""RL-2, RL-5: the objective as a sum over the state-action marginals, the Markov chain of
(s_t, a_t), and the value functions (notes §3.1, §3.3), on the symbolic two-state,
two-action, two-step MDP (symbolic start distribution, dynamics, rewards and logits)."""
import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import probability_domain, two_state_mdp

M = two_state_mdp(T=2)
DOM = probability_domain(M)
S = A = range(2)
pi, P, r, p0 = M.pi, M.P, M.r, M.p0

# state-action marginals p(s_t, a_t) by enumeration of the trajectories
marg = [[[M.expect(lambda st, ac, t=t, s=s, a=a: sp.Integer(int(st[t] == s and ac[t] == a)))
          for a in A] for s in S] for t in range(2)]
# value functions by backward recursion (§3.3): Q_2 = r, V_t = E_π Q_t, Q_1 = r + E_{s'} V_2
Q2 = [[r[s][a] for a in A] for s in S]
V2 = [sum(pi(a, s) * Q2[s][a] for a in A) for s in S]
Q1 = [[r[s][a] + sum(P[s][a][s2] * V2[s2] for s2 in S) for a in A] for s in S]
V1 = [sum(pi(a, s) * Q1[s][a] for a in A) for s in S]
J = M.J()


def q_by_enumeration(s, a):
    """Q^π(s₁, a₁) = Σ_{t'} E[r(s_t', a_t') | s₁ = s, a₁ = a] (§3.3's definition)."""
    return r[s][a] + sum(P[s][a][s2] * pi(a2, s2) * r[s2][a2] for s2 in S for a2 in A)


DERIVATION = Derivation(
    name="rl05_value_functions",
    title="State-action marginals and value functions",
    claims={"RL-2": ["marginals", "chain"], "RL-5": ["start_value", "v_is_mean_q", "q_definition"]},
    intro=r"""
The symbolic two-state, two-action, $T = 2$ MDP of
[the score-function page](pg01_score_function.md). Marginals $p_\theta(s_t, a_t)$ come
from enumerating the 16 trajectories; $Q^\pi$ and $V^\pi$ from the backward recursion.
""",
    steps=[
        Step("The objective over the marginals",
             tex=r"\mathbb{E}_{\tau\sim p_\theta(\tau)}\Big[\sum_t r(s_t,a_t)\Big] = \sum_{t=1}^{T}\mathbb{E}_{(s_t,a_t)\sim p_\theta(s_t,a_t)}[r(s_t,a_t)]",
             lhs=J, rhs=sum(marg[t][s][a] * r[s][a] for t in range(2) for s in S for a in A),
             label="marginals", notes="§3.1", domain=DOM),
        Step("The state-action Markov chain",
             tex=r"p_\theta(s_2{=}s', a_2{=}a') = \sum_{s,a} p_\theta(s_1{=}s, a_1{=}a)\,p(s'|s,a)\,\pi_\theta(a'|s')",
             lhs=sp.Matrix([[marg[1][s2][a2] for a2 in A] for s2 in S]),
             rhs=sp.Matrix([[sum(marg[0][s][a] * P[s][a][s2] * pi(a2, s2) for s in S for a in A)
                             for a2 in A] for s2 in S]),
             label="chain", notes="§3.1", domain=DOM),
        Step("Q by its definition equals Q by the recursion",
             tex=r"Q^\pi(s_1,a_1) = \sum_{t'=1}^{T}\mathbb{E}_{\pi_\theta}[r(s_{t'},a_{t'})|s_1,a_1] = r(s_1,a_1) + \mathbb{E}_{s_2\sim p(\cdot|s_1,a_1)}[V^\pi(s_2)]",
             lhs=sp.Matrix([[q_by_enumeration(s, a) for a in A] for s in S]), rhs=sp.Matrix(Q1),
             label="q_definition", notes="§3.3", domain=DOM),
        Step("V is the policy's mean of Q",
             tex=r"V^\pi(s_1) = \mathbb{E}_{a_1\sim\pi(a_1|s_1)}[Q^\pi(s_1,a_1)] = \sum_{t'}\mathbb{E}_{\pi_\theta}[r(s_{t'},a_{t'})|s_1]",
             lhs=sp.Matrix(V1),
             rhs=sp.Matrix([sum(pi(a, s) * q_by_enumeration(s, a) for a in A) for s in S]),
             label="v_is_mean_q", notes="§3.3", domain=DOM),
        Step("The objective is the start-state value",
             tex=r"J(\theta) = \mathbb{E}_{s_1\sim p(s_1)}[V^\pi(s_1)]",
             lhs=J, rhs=sum(p0[s] * V1[s] for s in S), label="start_value", notes="§3.3",
             domain=DOM),
    ])
