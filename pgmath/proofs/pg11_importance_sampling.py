"""PG-11: the importance-sampling identity as derived step by step in the notes' §4.4,
each line checked literally against the previous one, on a distribution with three
two outcomes (symbolic probabilities p, q and values f)."""
import sympy as sp

from pgmath.derivation import Derivation, Step

p = sp.symbols("p_1:3", positive=True)
q = sp.symbols("q_1:3", positive=True)
f = sp.symbols("f_1:3", real=True)
K = range(2)
line1 = sum(p[i] * f[i] for i in K)
line2_notes = sum(q[i] / p[i] * p[i] * f[i] for i in K)
line3 = sum(q[i] * (p[i] / q[i]) * f[i] for i in K)
SIMPLE = {"p_1": sp.Rational(1, 2), "p_2": sp.Rational(1, 2),
          "q_1": sp.Rational(1, 4), "q_2": sp.Rational(3, 4), "f_1": 1, "f_2": 0}

DERIVATION = Derivation(
    name="pg11_importance_sampling",
    title="Importance sampling, line by line",
    claims={"PG-11": ["line2", "line3"]},
    intro=r"""
The notes' §4.4 derivation of $\mathbb{E}_{x\sim p}[f(x)] = \mathbb{E}_{x\sim q}[\frac{p(x)}{q(x)} f(x)]$,
with the integral over a two-point space ($\int \to \sum_{x=1}^2$), so that each line
is an exact expression in $p_x, q_x, f_x$. Each line is compared with the line before it.
""",
    steps=[
        Step("Definition", tex=r"\mathbb{E}_{x\sim p(x)}[f(x)] = \int p(x) f(x)\,dx",
             lhs=line1, rhs=sum(p[i] * f[i] for i in K), notes="§4.4, line 1"),
        Step("Notes: multiply by q/p",
             tex=r"\int p(x)f(x)\,dx = \int \frac{q(x)}{p(x)}\,p(x)f(x)\,dx",
             lhs=line1, rhs=line2_notes, label="line2", notes="§4.4, line 2", counter=SIMPLE,
             why="The notes multiply by $q/p$, which is not 1: the right side is $\\int q f$.",
             correction="∫ p(x) f(x) dx = ∫ (q(x)/q(x)) p(x) f(x) dx (multiply by q/q = 1)."),
        Step("Notes: regroup", tex=r"\int \frac{q(x)}{p(x)}\,p(x)f(x)\,dx = \int q(x)\frac{p(x)}{q(x)}f(x)\,dx",
             lhs=line2_notes, rhs=line3, label="line3", notes="§4.4, line 3", counter=SIMPLE,
             why="The two sides differ as they stand; only the corrected line 2 regroups to line 3.",
             correction="∫ (q(x)/q(x)) p(x) f(x) dx = ∫ q(x) (p(x)/q(x)) f(x) dx."),
        Step("Corrected line 2", fixes="line2",
             tex=r"\int p(x)f(x)\,dx = \int \frac{q(x)}{q(x)}\,p(x)f(x)\,dx",
             lhs=line1, rhs=sum(q[i] / q[i] * p[i] * f[i] for i in K)),
        Step("Corrected line 3", fixes="line3",
             tex=r"\int \frac{q(x)}{q(x)}\,p(x)f(x)\,dx = \int q(x)\frac{p(x)}{q(x)}f(x)\,dx",
             lhs=sum(q[i] / q[i] * p[i] * f[i] for i in K), rhs=line3),
        Step("Importance-sampling identity", lemma="Lemma (importance sampling)",
             tex=r"\mathbb{E}_{x\sim p(x)}[f(x)] = \mathbb{E}_{x\sim q(x)}\left[\frac{p(x)}{q(x)}f(x)\right]",
             lhs=line1, rhs=line3, label="identity", notes="§4.4, line 4",
             why="The end points of the notes' chain agree (wherever $q > 0$ where $p f \\neq 0$)."),
    ])
