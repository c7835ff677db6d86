"""PG-16: the gradient step as a regularised argmax and its constrained form (notes
§4.5.1), in two dimensions with symbolic θ_k, ∇J = g, α and ε."""
import sympy as sp

from pgmath.derivation import Derivation, Step

alpha, eps = sp.symbols("alpha epsilon", positive=True)
g = sp.Matrix(sp.symbols("g_1 g_2", real=True))
tk = sp.Matrix(sp.symbols("theta_k1 theta_k2", real=True))
th = sp.Matrix(sp.symbols("theta_1 theta_2", real=True))
D = sp.Matrix(sp.symbols("delta_1 delta_2", real=True))
norm_g = sp.sqrt(g.dot(g))


def objective(x):
    """α ∇J(θ_k)ᵀ θ − ½‖θ − θ_k‖²."""
    return alpha * g.dot(x) - sp.Rational(1, 2) * (x - tk).dot(x - tk)


step = tk + alpha * g
delta_star = eps * g / norm_g
lam = norm_g / (2 * eps)

DERIVATION = Derivation(
    name="pg16_regularised_argmax",
    title="The gradient step as a regularised argmax",
    claims={"PG-16": ["stationary", "global", "kkt", "active", "same_direction"]},
    conditions={"PG-16": "the constrained form θ + ε∇J/‖∇J‖ is the gradient step with the "
                         "step size α = ε/‖∇J‖ (same direction, a different length rule); "
                         "∇J ≠ 0."},
    intro=r"""
Parameters in $\mathbb{R}^2$, symbolic $\theta_k$, gradient $g = \nabla_\theta J(\theta_k)$,
step size $\alpha > 0$ and radius $\epsilon > 0$.
""",
    steps=[
        Step("Stationary point of the regularised objective",
             tex=r"\nabla_\theta\Big(\alpha g^T\theta - \tfrac12\|\theta-\theta_k\|^2\Big)\Big|_{\theta=\theta_k+\alpha g} = 0",
             lhs=sp.Matrix([sp.diff(objective(th), x) for x in th]).subs(dict(zip(th, step))),
             rhs=sp.zeros(2, 1), label="stationary", notes="§4.5.1"),
        Step("It is the global maximum",
             tex=r"f(\theta_k + \alpha g) - f(\theta) = \tfrac12\|\theta - \theta_k - \alpha g\|^2 \ge 0",
             lhs=objective(step) - objective(th), rhs=0, rel=">=", label="global",
             certificate=sp.Rational(1, 2) * ((th - step).dot(th - step)),
             why="The objective is a concave quadratic; the gap is half a squared norm."),
        Step("KKT stationarity of the constrained form",
             tex=r"\nabla_{\theta'}\Big[(\theta'-\theta)^T g - \lambda(\|\theta'-\theta\|^2 - \epsilon^2)\Big] = g - 2\lambda\delta^* = 0,\quad \delta^* = \epsilon\frac{g}{\|g\|},\ \lambda = \frac{\|g\|}{2\epsilon} \ge 0",
             lhs=g - 2 * lam * delta_star, rhs=sp.zeros(2, 1), label="kkt", notes="§4.5.1"),
        Step("The constraint is active", tex=r"\|\delta^*\|^2 = \epsilon^2",
             lhs=delta_star.dot(delta_star), rhs=eps**2, label="active"),
        Step("Same direction as the gradient step",
             tex=r"\delta^* = \alpha g \quad\text{for}\quad \alpha = \frac{\epsilon}{\|g\|}",
             lhs=delta_star, rhs=(eps / norm_g) * g, label="same_direction",
             why="The maximiser of a linear function over a ball is on the boundary along $g$ "
                 "(Cauchy–Schwarz); the two forms agree when the step size is tied to the "
                 "radius by $\\alpha = \\epsilon/\\|g\\|$."),
    ])
