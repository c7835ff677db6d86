"""PG-20: the KL-constrained step (notes §4.5.1): maximising gᵀδ subject to the
second-order KL ½ δᵀFδ ≤ ε gives δ = α F⁻¹g with α = sqrt(2ε / gᵀF⁻¹g) (Lagrangian /
KKT), and the natural gradient is unchanged by a linear reparametrisation θ = Aφ.
Two dimensions, symbolic positive-definite F = [[a, b], [b, c]] (ac > b²)."""
import sympy as sp

from pgmath.derivation import Derivation, Step

a, c, eps = sp.symbols("a c epsilon", positive=True)
k = sp.Symbol("k", positive=True)           # k = ac − b² > 0
bb = sp.Symbol("b", real=True)
F = sp.Matrix([[a, bb], [bb, (k + bb**2) / a]])  # c = (k + b²)/a, so det F = k > 0
g = sp.Matrix(sp.symbols("g_1 g_2", real=True))
A = sp.Matrix(2, 2, sp.symbols("A_11 A_12 A_21 A_22", real=True))
Finv_g = F.inv() * g
q = (g.T * Finv_g)[0]                        # gᵀF⁻¹g
alpha = sp.sqrt(2 * eps / q)
delta = alpha * Finv_g
lam = 1 / alpha

DERIVATION = Derivation(
    name="pg20_natural_gradient_step",
    title="The KL-constrained step and the natural gradient",
    claims={"PG-20": ["kkt", "active", "covariant"]},
    conditions={"PG-20": "F invertible (a softmax Fisher matrix is singular: use its "
                         "pseudo-inverse or damping); with the second-order KL ½ δᵀFδ ≤ ε the "
                         "step size is α = sqrt(2ε / ∇Jᵀ F⁻¹ ∇J); the invariance is exact for "
                         "linear reparametrisations θ = Aφ (A invertible) and holds to first "
                         "order for smooth ones."},
    intro=r"""
Maximise the linearised objective $g^T\delta$, $g = \nabla_\theta J(\theta)$, subject to the
second-order KL constraint $\frac12\delta^T\mathbf{F}\delta \le \epsilon$ (the factor $\frac12$
is established on [the KL expansion page](pg18_kl_second_order.md)). $\mathbf{F}$ is a
symbolic $2\times 2$ positive-definite matrix written with $\det\mathbf{F} = k > 0$.
""",
    steps=[
        Step("Lagrangian stationarity",
             tex=r"\nabla_\delta\Big[g^T\delta - \lambda\big(\tfrac12\delta^T\mathbf{F}\delta - \epsilon\big)\Big] = g - \lambda\mathbf{F}\delta = 0\quad\text{at}\quad \delta = \alpha\mathbf{F}^{-1}g,\ \lambda = \frac1\alpha > 0",
             lhs=g - lam * F * delta, rhs=sp.zeros(2, 1), label="kkt", notes="§4.5.1"),
        Step("The constraint is active: the step size",
             tex=r"\tfrac12\delta^T\mathbf{F}\delta = \epsilon\quad\text{for}\quad \alpha = \sqrt{\frac{2\epsilon}{g^T\mathbf{F}^{-1}g}}",
             lhs=(delta.T * F * delta)[0] / 2, rhs=eps, label="active"),
        Step("With the notes' quadratic (no ½) the step is shorter by √2",
             tex=r"\delta^T\mathbf{F}\delta = \epsilon\quad\text{for}\quad \alpha = \sqrt{\frac{\epsilon}{g^T\mathbf{F}^{-1}g}}",
             lhs=(sp.sqrt(eps / q) * Finv_g).T * F * (sp.sqrt(eps / q) * Finv_g), rhs=sp.Matrix([eps]),
             why="Using the notes' approximation $D_{KL}\\approx\\delta^T\\mathbf{F}\\delta$ "
                 "(see PG-18) the same KKT argument gives a step $\\sqrt2$ times shorter."),
        Step("Covariance under θ = Aφ",
             tex=r"A\,\big(A^T\mathbf{F}A\big)^{-1}A^T g = \mathbf{F}^{-1}g",
             lhs=A * (A.T * F * A).inv() * (A.T * g), rhs=Finv_g, label="covariant",
             why="In $\\phi$ coordinates the Fisher matrix is $A^T\\mathbf{F}A$ and the gradient "
                 "$A^T g$; mapping the natural-gradient step back with $A$ gives the same "
                 "$\\theta$-step. (For invertible $A$; SymPy simplifies the rational identity.)"),
    ])
