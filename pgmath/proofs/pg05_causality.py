"""PG-5, PG-6: causality (notes §4.3.1). Which reward/score pairs have zero expectation,
checked literally on the symbolic two-state, two-action, two-step MDP. The notes sum
t' from 1 to t, *including* t' = t, which is false; the correct range stops at t − 1."""
import functools

import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import probability_domain, two_state_mdp

M = two_state_mdp(T=2)
DOM = probability_domain(M)
T = M.T


@functools.lru_cache(maxsize=None)
def pair(t, tp):
    """E[∇log π_θ(a_t|s_t) r(s_t', a_t')] (1-based t, t')."""
    return M.expect(lambda s, a: M.score(a[t - 1], s[t - 1]) * M.r[s[tp - 1]][a[tp - 1]])


def causal_sum(last):
    """E[Σ_t ∇log π(a_t|s_t) Σ_{t'=1}^{last(t)} r_t']."""
    return sum((pair(t, tp) for t in range(1, T + 1) for tp in range(1, last(t) + 1)),
               sp.zeros(4, 1))


ZERO = sp.zeros(4, 1)
#: A simple point for the counterexamples: uniform everything, reward 1 for (s=0, a=0).
SIMPLE = {**{str(x): sp.Rational(1, 2) for x in DOM}, **{f"u_{s}{a}": 1 for s in range(2) for a in range(2)},
          "r_00": 1, "r_01": 0, "r_10": 0, "r_11": 0}
GRAD = M.grad(M.J())
DERIVATION = Derivation(
    name="pg05_causality",
    title="Causality: which reward/score pairs vanish in expectation",
    claims={"PG-5": ["notes_causality"], "PG-6": ["reward_to_go"]},
    intro=r"""
On the symbolic two-state, two-action, $T=2$ MDP (see
[the score-function page](pg01_score_function.md)) the four pairs
$\mathbb{E}[\nabla_\theta\log\pi_\theta(a_t|s_t)\, r(s_{t'},a_{t'})]$, $t, t' \in \{1, 2\}$,
are computed exactly. Only the pairs with $t' < t$ (past rewards) vanish.
""",
    steps=[
        Step("Past reward, later score: zero", lemma="Lemma (causality)",
             tex=r"\mathbb{E}\left[\nabla_\theta\log\pi_\theta(a_2|s_2)\, r(s_1,a_1)\right] = 0",
             lhs=pair(2, 1), rhs=ZERO, label="past", domain=DOM,
             why="Conditioned on $(s_1, a_1, s_2)$ the score of $a_2$ has mean 0, and "
                 "$r(s_1, a_1)$ is fixed by the condition."),
        Step("Same-step reward: not zero",
             tex=r"\mathbb{E}\left[\nabla_\theta\log\pi_\theta(a_1|s_1)\, r(s_1,a_1)\right] = 0",
             lhs=pair(1, 1), rhs=ZERO, label="same", domain=DOM, counter=SIMPLE,
             why="The reward at time $t$ depends on $a_t$, so this pair is correlated with "
                 "the score of $a_t$: SymPy refutes the equation.",
             correction="E[∇log π_θ(a_t|s_t) r(s_t, a_t)] ≠ 0 in general."),
        Step("Notes' causality statement, read literally",
             tex=r"\mathbb{E}_{\tau\sim p_\theta(\tau)}\left[\sum_{t=1}^{T}\nabla_\theta\log\pi_\theta(a_t|s_t)\Big(\sum_{t'=1}^{t} r(s_{t'},a_{t'})\Big)\right] = 0",
             lhs=causal_sum(lambda t: t), rhs=ZERO, label="notes_causality", notes="§4.3.1",
             domain=DOM, counter=SIMPLE, why="The inner sum includes $t' = t$.",
             correction="E[Σ_t ∇log π_θ(a_t|s_t) Σ_{t'=1}^{t−1} r(s_t', a_t')] = 0: the inner "
                        "sum must stop at t − 1 (past rewards only)."),
        Step("Causality with the correct range", fixes="notes_causality",
             tex=r"\mathbb{E}_{\tau\sim p_\theta(\tau)}\left[\sum_{t=1}^{T}\nabla_\theta\log\pi_\theta(a_t|s_t)\Big(\sum_{t'=1}^{t-1} r(s_{t'},a_{t'})\Big)\right] = 0",
             lhs=causal_sum(lambda t: t - 1), rhs=ZERO, label="corrected", domain=DOM,
             why="By the causality lemma, term by term."),
        Step("Reward-to-go is unbiased",
             tex=r"\mathbb{E}\left[\sum_{t=1}^{T}\nabla_\theta\log\pi_\theta(a_t|s_t)\,\hat Q_t\right] = \nabla_\theta J(\theta),\qquad \hat Q_t = \sum_{t'=t}^{T} r(s_{t'},a_{t'})",
             lhs=sum((pair(t, tp) for t in range(1, T + 1) for tp in range(t, T + 1)), ZERO),
             rhs=GRAD, label="reward_to_go", notes="§4.3.1", domain=DOM,
             why="REINFORCE minus the vanishing past-reward pairs (corrected step above)."),
    ])
