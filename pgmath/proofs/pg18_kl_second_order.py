"""PG-18, PG-19: the second-order expansion of the KL divergence for a softmax policy and
the Fisher matrix (notes §4.5.1). One state, three actions, symbolic logits θ and
direction δ; KL(h) = D_KL(π_{θ+hδ} ‖ π_θ) is expanded in h."""
import sympy as sp

from pgmath.derivation import Derivation, Step
from pgmath.symbolic import softmax_probs

u = sp.symbols("u_1:4", positive=True)   # u_a = exp θ_a
v = sp.symbols("v_1:4", positive=True)   # v_a = exp θ'_a
dl = sp.symbols("delta_1:4", real=True)
pi = softmax_probs(list(u))
pi_new = softmax_probs(list(v))
KL = sum(pi_new[a] * (sp.log(pi_new[a]) - sp.log(pi[a])) for a in range(3))


def d(expr, w, i):
    """∂/∂θ_i = w_i ∂/∂w_i for w = exp θ."""
    return w[i] * sp.diff(expr, w[i])


at = dict(zip(v, u))  # θ' = θ
grad_KL = sp.Matrix([d(KL, v, i) for i in range(3)])
hess_KL = sp.Matrix(3, 3, lambda i, j: d(d(KL, v, i), v, j))
psi = [sp.Matrix([(1 if b == a else 0) - pi[b] for b in range(3)]) for a in range(3)]  # ∇log π_a
F = sum((pi[a] * psi[a] * psi[a].T for a in range(3)), sp.zeros(3, 3))
delta = sp.Matrix(dl)
quad = (delta.T * F * delta)[0]
curv = (delta.T * hess_KL.subs(at) * delta)[0]  # KL''(0) along θ' = θ + hδ
hess_log = [sp.Matrix(3, 3, lambda i, j: d(d(sp.log(p), u, i), u, j)) for p in pi]
H = sp.Symbol("h", real=True)
ONE = {"u_1": 1, "u_2": 1, "u_3": 1, "delta_1": 1, "delta_2": 0, "delta_3": 0}

DERIVATION = Derivation(
    name="pg18_kl_second_order",
    title="Second-order expansion of the KL divergence and the Fisher matrix",
    claims={"PG-18": ["notes_quadratic"], "PG-19": ["fisher_outer", "fisher_hessian"]},
    intro=r"""
One state, three actions, $\pi_\theta(a) = u_a/\sum_b u_b$ with $u_a = e^{\theta_a}$
(and $v_a = e^{\theta'_a}$; $\partial/\partial\theta_a = u_a\partial/\partial u_a$), and the
one-dimensional path $\theta' = \theta + h\delta$. The second-order Taylor expansion of
$\mathrm{KL}(h) = D_{KL}(\pi_{\theta+h\delta}\|\pi_\theta)$ at $h = 0$ is
$\mathrm{KL}(0) + h\,\mathrm{KL}'(0) + \frac{h^2}{2}\mathrm{KL}''(0)$.
""",
    steps=[
        Step("Zero at θ' = θ", tex=r"\mathrm{KL}(0) = 0", lhs=KL.subs(at), rhs=0),
        Step("Zero slope at θ' = θ", tex=r"\mathrm{KL}'(0) = \delta^T\nabla_{\theta'} D_{KL}\big|_{\theta'=\theta} = 0", lhs=grad_KL.subs(at), rhs=sp.zeros(3, 1)),
        Step("Curvature is the Fisher quadratic form",
             tex=r"\mathrm{KL}''(0) = \delta^T\mathbf{F}\,\delta,\qquad \mathbf{F} = \mathbb{E}_{\pi_\theta}[\nabla_\theta\log\pi_\theta\,\nabla_\theta\log\pi_\theta^T]",
             lhs=curv, rhs=quad, label="curvature"),
        Step("Notes' second-order approximation",
             tex=r"D_{KL}(\pi_{\theta'}\|\pi_\theta) \approx (\theta'-\theta)^T\mathbf{F}(\theta'-\theta)\quad\Longleftrightarrow\quad \mathrm{KL}''(0) = \frac{d^2}{dh^2}\big(h^2\,\delta^T\mathbf{F}\delta\big) = 2\,\delta^T\mathbf{F}\delta",
             lhs=curv, rhs=sp.diff(H**2 * quad, H, 2), label="notes_quadratic",
             notes="§4.5.1", counter=ONE,
             why="Matching second derivatives at $h = 0$: the notes' quadratic has twice the "
                 "curvature of the divergence.",
             correction="D_KL(π_θ' ‖ π_θ) ≈ ½ (θ'−θ)ᵀ F (θ'−θ) to second order (the factor ½ "
                        "matters: it changes the step size α by √2)."),
        Step("Corrected expansion", fixes="notes_quadratic",
             tex=r"D_{KL}(\pi_{\theta'}\|\pi_\theta) = \tfrac12(\theta'-\theta)^T\mathbf{F}(\theta'-\theta) + O(\|\theta'-\theta\|^3)\quad\Longleftrightarrow\quad \mathrm{KL}''(0) = \frac{d^2}{dh^2}\big(\tfrac{h^2}{2}\delta^T\mathbf{F}\delta\big)",
             lhs=curv, rhs=sp.diff(H**2 / 2 * quad, H, 2)),
        Step("Fisher matrix of the softmax",
             tex=r"\mathbf{F} = \mathbb{E}_{a\sim\pi_\theta}[\psi_a\psi_a^T] = \mathrm{diag}(\pi) - \pi\pi^T",
             lhs=F, rhs=sp.diag(*pi) - sp.Matrix(pi) * sp.Matrix(pi).T, label="fisher_outer", notes="§4.5.1"),
        Step("Fisher matrix as expected negative Hessian",
             tex=r"\mathbf{F} = -\mathbb{E}_{a\sim\pi_\theta}[\nabla^2_\theta\log\pi_\theta(a)]",
             lhs=F, rhs=-sum((pi[a] * hess_log[a] for a in range(3)), sp.zeros(3, 3)),
             label="fisher_hessian"),
        Step("The softmax Fisher matrix is singular",
             tex=r"\mathbf{F}\,\mathbf{1} = 0", lhs=F * sp.ones(3, 1), rhs=sp.zeros(3, 1),
             why="Adding a constant to every logit does not change the policy."),
    ])
