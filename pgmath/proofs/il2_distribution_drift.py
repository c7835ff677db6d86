"""IL-2: the distribution drift of behavioural cloning (notes §2.1):
p_θ(s_t) − p_train(s_t) = (1−(1−ε)^t)(p_mistake − p_train), and Bernoulli's inequality
1 − (1−ε)^t ≤ εt on ε ∈ [0, 1], proved by induction on t."""
import sympy as sp

from pgmath.derivation import Derivation, Step

eps = sp.Symbol("epsilon", nonnegative=True)
t = sp.Symbol("t", nonnegative=True, integer=True)
ptr, pm = sp.symbols("p_train p_mistake", nonnegative=True)
U = sp.Symbol("U", nonnegative=True)   # U = 1 − ε ≥ 0 (ε ≤ 1)
H = sp.Symbol("H", nonnegative=True)   # induction hypothesis
p_theta = (1 - eps)**t * ptr + (1 - (1 - eps)**t) * pm
DOM = {eps: (0, 1)}

DERIVATION = Derivation(
    name="il2_distribution_drift",
    title="Behavioural cloning: distribution drift and Bernoulli's inequality",
    claims={"IL-2": ["drift", "base", "induction", "bernoulli"]},
    conditions={"IL-2": "ε ∈ [0, 1], t a nonnegative integer; the mixture is the model "
                        "'no mistake in the first t steps w.p. (1−ε)^t' (for the state at step "
                        "t only t − 1 actions precede it, so (1−ε)^{t−1} is tighter); the bound "
                        "|p_mistake − p_train| ≤ 2 is in total variation (Σ_s |·| ≤ 2)."},
    intro=r"""
Per-step error probability $\epsilon\in[0,1]$. The notes' model: with probability
$(1-\epsilon)^t$ no mistake has happened and the state follows $p_{train}$; otherwise it
follows some $p_{mistake}$.
""",
    steps=[
        Step("Drift of the state distribution",
             tex=r"p_\theta(s_t) - p_{train}(s_t) = \big(1 - (1-\epsilon)^t\big)\big(p_{mistake}(s_t) - p_{train}(s_t)\big)",
             lhs=p_theta - ptr, rhs=(1 - (1 - eps)**t) * (pm - ptr), label="drift", notes="§2.1",
             domain=DOM),
        Step("Bernoulli, base case", tex=r"1 - (1-\epsilon)^0 \le \epsilon\cdot 0",
             lhs=1 - (1 - eps)**0, rhs=0, rel="<=", label="base"),
        Step("Bernoulli, inductive step",
             tex=r"1 - (1-\epsilon)^t \le \epsilon t\ \Rightarrow\ 1 - (1-\epsilon)^{t+1} \le \epsilon(t+1)",
             lhs=1 - (1 - eps)**(t + 1), rhs=eps * (t + 1), rel="<=", label="induction",
             facts={U: 1 - eps, H: eps * t - 1 + (1 - eps)**t},
             certificate=U * H + eps**2 * t,
             why="With $U = 1-\\epsilon \\ge 0$ and the hypothesis $H = \\epsilon t - 1 + "
                 "(1-\\epsilon)^t \\ge 0$, the difference is $U H + \\epsilon^2 t \\ge 0$."),
        Step("Bernoulli's inequality", lemma="Lemma (Bernoulli)", by_steps=["base", "induction"],
             tex=r"1 - (1-\epsilon)^t \le \epsilon t\qquad(\epsilon\in[0,1],\ t = 0, 1, 2, \dots)",
             label="bernoulli", notes="§2.1"),
        Step("Not for fractional t",
             tex=r"1 - (1-\epsilon)^{1/2} \le \tfrac12\epsilon\ \text{fails at}\ \epsilon = \tfrac34",
             lhs=1 - (1 - eps)**sp.Rational(1, 2), rhs=eps / 2, rel="<=",
             counter={"epsilon": sp.Rational(3, 4)}, domain=DOM,
             why="The integer condition matters: for $0 < t < 1$ the inequality reverses "
                 "(concavity). Expected to be false; shown for the conditions."),
    ])
