"""pgmath.symbolic: the symbolic two-state MDP agrees with pgmath's numeric exact engine
(an independent route: backward/forward recursions in numpy) at a rational point."""
import numpy as np
import sympy as sp

import pgmath
from pgmath import exact
from pgmath.symbolic import two_state_mdp


def test_symbolic_objective_and_gradient_match_the_exact_engine():
    m = two_state_mdp(T=2)
    theta = np.array([0.3, -0.2, 0.5, 0.1])
    point = {"p": sp.Rational(1, 3), "q_00": sp.Rational(1, 4), "q_01": sp.Rational(2, 3),
             "q_10": sp.Rational(1, 2), "q_11": sp.Rational(1, 5), "r_00": 1, "r_01": 0,
             "r_10": sp.Rational(-1, 2), "r_11": 2}
    subs = {sp.Symbol(k, positive=True) if k.startswith(("p", "q")) else sp.Symbol(k, real=True): v
            for k, v in point.items()}
    subs.update({u: sp.exp(sp.Float(t)) for u, t in zip(m.params, theta)})
    P = np.zeros((2, 2, 2))
    R = np.zeros((2, 2))
    for s in range(2):
        for a in range(2):
            q = float(point[f"q_{s}{a}"])
            P[s, a] = [q, 1 - q]
            R[s, a] = float(point[f"r_{s}{a}"])
    mdp = pgmath.TabularMDP(P, R, np.array([1 / 3, 2 / 3]), horizon=2)
    policy = pgmath.SoftmaxPolicy(2, 2)
    assert abs(float(m.J().xreplace(subs)) - exact.objective(mdp, policy, theta)) < 1e-12
    grad = np.array([float(g.xreplace(subs)) for g in m.grad(m.J())])
    np.testing.assert_allclose(grad, exact.gradient(mdp, policy, theta), atol=1e-12)
