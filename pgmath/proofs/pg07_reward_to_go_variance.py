"""PG-7: "the reward-to-go estimator has smaller variance" (notes §4.3.1) — not in
general. REINFORCE = reward-to-go + X with X = Σ_t ∇log π(a_t|s_t) Σ_{t'<t} r_t' (mean 0),
so tr Var[REINFORCE] − tr Var[reward-to-go] = E|X|² + 2 E[X·g_rtg], and the cross term
can be negative. Exactly on the symbolic two-state, two-action, two-step MDP."""
import functools

import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import probability_domain, two_state_mdp

M = two_state_mdp(T=2)
DOM = probability_domain(M)
TAUS = M.trajectories()


def psi(s, a, t):
    return M.score(a[t], s[t])


def g_reinforce(s, a):
    return (psi(s, a, 0) + psi(s, a, 1)) * sum(M.rewards(s, a))


def g_rtg(s, a):
    rs = M.rewards(s, a)
    return psi(s, a, 0) * (rs[0] + rs[1]) + psi(s, a, 1) * rs[1]


def x_past(s, a):
    """X = Σ_t ψ_t Σ_{t'<t} r_t' = ψ_2 r_1 for T = 2."""
    return psi(s, a, 1) * M.rewards(s, a)[0]


def dot(f, g):
    return lambda s, a: (f(s, a).T * g(s, a))[0]


@functools.lru_cache(maxsize=None)
def trace_var(name):
    f = {"reinforce": g_reinforce, "rtg": g_rtg}[name]
    m = M.expect(f)
    return M.expect(dot(f, f)) - (m.T * m)[0]


# moments of one component: A = g_rtg, X = past-reward terms
a, x, mAA, mXA, mXX = sp.symbols(r"\mathbb{E}[A] \mathbb{E}[X] \mathbb{E}[A^2] \mathbb{E}[XA] \mathbb{E}[X^2]",
                                 real=True)

C, Q2 = sp.symbols("C Q", nonnegative=True)  # facts: E[XA] ≥ 0 (condition), E[X²] ≥ 0

POINT = {"p": sp.Rational(9, 10), "q_00": sp.Rational(1, 10), "q_01": sp.Rational(9, 10),
         "q_10": sp.Rational(9, 10), "q_11": sp.Rational(9, 10), "r_00": -2, "r_01": 0,
         "r_10": 2, "r_11": 2, "u_00": 4, "u_01": sp.Rational(1, 4), "u_10": 1, "u_11": 1}

DERIVATION = Derivation(
    name="pg07_reward_to_go_variance",
    title="Reward-to-go does not always reduce the variance",
    claims={"PG-7": ["notes_variance"]},
    intro=r"""
On the symbolic two-state, two-action, $T = 2$ MDP of
[the score-function page](pg01_score_function.md), with "variance" of the vector
estimator $g$ meaning $\mathrm{tr}\,\mathrm{Var}[g] = \mathbb{E}|g|^2 - |\mathbb{E}g|^2$.
The counterexample: state 0 pays $-2$ for action 0, which mostly leads to state 1,
which pays $+2$, so the past and the future reward mostly have opposite signs
($\mathbb{E}[r_1 r_2] = -21887/7225$). What decides is that sign, not a correlation: the
term $\mathbb{E}\big[|\nabla\log\pi_\theta(a_2|s_2)|^2\, r_1 r_2\big]$ of
$\mathbb{E}[X^T g_{\mathrm{rtg}}]$ is negative, so the past reward that REINFORCE keeps
acts as a baseline for the future one (a constant past reward of the opposite sign does
the same, with no correlation at all: the counterexample of
[PG-7](../claims/pg-7.md)).
""",
    steps=[
        Step("REINFORCE is reward-to-go plus the past-reward terms",
             tex=r"g_{\mathrm{R}}(\tau) = g_{\mathrm{rtg}}(\tau) + X(\tau),\qquad X = \sum_{t=1}^{T}\nabla_\theta\log\pi_\theta(a_t|s_t)\sum_{t'=1}^{t-1} r(s_{t'},a_{t'})",
             lhs=sp.Matrix.hstack(*[g_reinforce(s, a) for s, a in TAUS]),
             rhs=sp.Matrix.hstack(*[g_rtg(s, a) + x_past(s, a) for s, a in TAUS]), domain=DOM),
        Step("The past-reward terms have mean zero", tex=r"\mathbb{E}[X] = 0",
             lhs=M.expect(x_past), rhs=sp.zeros(4, 1), domain=DOM,
             why="The causality lemma ([PG-5 page](pg05_causality.md))."),
        Step("Variance difference (per component, by linearity)",
             tex=r"\mathrm{Var}[A + X] - \mathrm{Var}[A] = \mathbb{E}[X^2] + 2\,\mathbb{E}[XA]\quad\text{when }\mathbb{E}[X] = 0",
             lhs=(mAA + 2 * mXA + mXX - (a + x)**2 - (mAA - a**2)).subs(x, 0), rhs=mXX + 2 * mXA,
             why=r"Expand $\mathbb{E}[(A+X)^2] - (\mathbb{E}A + \mathbb{E}X)^2$ and use step 2; "
                 r"summed over components: $\mathrm{tr}\,\mathrm{Var}[g_{\mathrm{R}}] - "
                 r"\mathrm{tr}\,\mathrm{Var}[g_{\mathrm{rtg}}] = \mathbb{E}|X|^2 + "
                 r"2\,\mathbb{E}[X^T g_{\mathrm{rtg}}]$."),
        Step("Notes: reward-to-go has smaller variance",
             tex=r"\mathrm{tr}\,\mathrm{Var}[g_{\mathrm{rtg}}] \le \mathrm{tr}\,\mathrm{Var}[g_{\mathrm{R}}]",
             lhs=trace_var("rtg"), rhs=trace_var("reinforce"), rel="<=", label="notes_variance",
             notes="§4.3.1", counter=POINT, domain=DOM,
             why="Fails when the cross term $2\\mathbb{E}[X^T g_{\\mathrm{rtg}}]$ is more negative "
                 "than $\\mathbb{E}|X|^2$ is positive.",
             correction="Reward-to-go is unbiased, but its variance is not always smaller: "
                        "tr Var[REINFORCE] − tr Var[reward-to-go] = E|X|² + 2E[Xᵀ g_rtg] with "
                        "X = Σ_t ∇log π(a_t|s_t) Σ_{t'<t} r_t', which is negative when the past "
                        "rewards act as a baseline for the future ones (mostly of the "
                        "opposite sign)."),
        Step("The cross term at the counterexample",
             tex=r"\mathbb{E}|X|^2 + 2\,\mathbb{E}[X^T g_{\mathrm{rtg}}] < 0\quad\text{at the point above}",
             lhs=(M.expect(dot(x_past, x_past)) + 2 * M.expect(dot(x_past, g_rtg))).xreplace(
                 {sp.Symbol(k, **({"real": True} if k[0] == "r" else {"positive": True})): v
                  for k, v in POINT.items()}), rhs=0, rel="<"),
        Step("Corrected: a sufficient condition", fixes="notes_variance",
             tex=r"\mathrm{tr}\,\mathrm{Var}[g_{\mathrm{R}}] - \mathrm{tr}\,\mathrm{Var}[g_{\mathrm{rtg}}] = \mathbb{E}|X|^2 + 2\,\mathbb{E}[X^T g_{\mathrm{rtg}}] \ge 0\quad\text{when}\quad \mathbb{E}[X^T g_{\mathrm{rtg}}] \ge 0",
             lhs=mXX + 2 * mXA, rhs=0, rel=">=", facts={C: mXA, Q2: mXX},
             certificate=Q2 + 2 * C,
             why=r"With the facts $\mathbb{E}|X|^2 \ge 0$ and the condition "
                 r"$\mathbb{E}[X^T g_{\mathrm{rtg}}] \ge 0$ (on average the past-reward terms "
                 "do not point against the reward-to-go term)."),
    ])
