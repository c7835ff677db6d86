"""PG-17: the KL divergence as the notes define it (§4.5.1):
D_KL(π_θ' ‖ π_θ) = E_{π_θ'}[log π_θ − log π_θ'] — the sign is reversed."""
import sympy as sp

from pgmath.derivation import Derivation, Step

a1, a2, b1, b2 = sp.symbols("a_1 a_2 b_1 b_2", positive=True)
new = [a1 / (a1 + a2), a2 / (a1 + a2)]  # π_θ'(a)
old = [b1 / (b1 + b2), b2 / (b1 + b2)]  # π_θ(a)
kl = sum(new[a] * sp.log(new[a] / old[a]) for a in range(2))
notes = sum(new[a] * (sp.log(old[a]) - sp.log(new[a])) for a in range(2))
DOM = {}

DERIVATION = Derivation(
    name="pg17_kl_definition",
    title="The KL divergence: sign of the notes' definition",
    claims={"PG-17": ["notes_def"]},
    intro=r"""
One state, two actions: $\pi_{\theta'} = (a_1, a_2)/(a_1+a_2)$, $\pi_\theta = (b_1, b_2)/(b_1+b_2)$ (positive $a$, $b$). The KL
divergence is $D_{KL}(\pi_{\theta'}\|\pi_\theta) = \sum_a \pi_{\theta'}(a)\log\frac{\pi_{\theta'}(a)}{\pi_\theta(a)} \ge 0$.
""",
    steps=[
        Step("Notes' definition", tex=r"D_{KL}(\pi_{\theta'}\|\pi_\theta) = \mathbb{E}_{\pi_{\theta'}}[\log\pi_\theta - \log\pi_{\theta'}]",
             lhs=kl, rhs=notes, label="notes_def", notes="§4.5.1", domain=DOM,
             counter={"a_1": 1, "a_2": 1, "b_1": 1, "b_2": 3},
             why="The right side is $-D_{KL}$, which is $\\le 0$.",
             correction="D_KL(π_θ' ‖ π_θ) = E_{π_θ'}[log π_θ' − log π_θ] (≥ 0)."),
        Step("Corrected definition", fixes="notes_def",
             tex=r"D_{KL}(\pi_{\theta'}\|\pi_\theta) = \mathbb{E}_{\pi_{\theta'}}[\log\pi_{\theta'} - \log\pi_\theta]",
             lhs=kl, rhs=sum(new[a] * (sp.log(new[a]) - sp.log(old[a])) for a in range(2)), domain=DOM),
        Step("The notes' expression is minus the divergence",
             tex=r"\mathbb{E}_{\pi_{\theta'}}[\log\pi_\theta - \log\pi_{\theta'}] = -D_{KL}(\pi_{\theta'}\|\pi_\theta)",
             lhs=notes, rhs=-kl, domain=DOM),
    ])
