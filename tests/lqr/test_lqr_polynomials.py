"""The polynomial algebra of the moment recursion, each operation against a direct route:
evaluation at random points (products, substitution, quadratics), Isserlis' recursion
(smoothing), and Gauss–Hermite quadrature (the expectation over standard normals)."""
import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss

from pgmath.lqr.polynomials import MonomialBasis, basis, double_factorial, gaussian_moment

RNG = np.random.default_rng(7)


def test_basis_is_graded_and_indexed():
    b = MonomialBasis(3, 4)
    assert b.size(0) == 1 and b.size(1) == 4 and b.size(4) == 35
    assert np.all(np.diff(b.degrees) >= 0)
    np.testing.assert_array_equal(b.index(b.exps), np.arange(35))
    assert b.index(np.array([5, 0, 0])) == -1 and b.index(np.array([-1, 1, 0])) == -1
    assert basis(3, 4) is basis(3, 4)


def test_multiply_and_quadratic_evaluate_pointwise():
    b = MonomialBasis(3, 6)
    a = RNG.normal(size=(2, b.size(2)))
    q = RNG.normal(size=(3, b.size(3)))
    x = RNG.normal(size=3)
    pr = b.multiply(a, q, "i,j->ij")
    np.testing.assert_allclose(b.evaluate(pr, x), np.outer(b.evaluate(a, x), b.evaluate(q, x)),
                               rtol=1e-12)
    M2, v = RNG.normal(size=(3, 3)), RNG.normal(size=3)
    assert b.evaluate(b.quadratic(M2, v, np.array(1.5)), x) == pytest.approx(x @ M2 @ x + v @ x + 1.5)


def test_smoothing_is_isserlis():
    """E[x^α] for x ~ N(μ, Σ): smoothing then evaluation at μ, against the pairing sum."""
    b = MonomialBasis(3, 6)
    mu = RNG.normal(size=3)
    L = RNG.normal(size=(3, 3))
    S = L @ L.T
    moments = b.smooth(np.eye(b.size(6)), S) @ b.monomials(mu)
    for k in (0, 3, 11, 27, 50, 83):
        assert moments[k] == pytest.approx(gaussian_moment(b.exps[k], mu, S), rel=1e-11)
    # a one-dimensional check by hand: E[x⁴] = μ⁴ + 6μ²σ² + 3σ⁴
    b1 = MonomialBasis(1, 4)
    c = np.zeros(b1.size(4)); c[4] = 1.0
    assert b1.evaluate(b1.smooth(c, np.array([[2.0]])), np.array([0.5])) == pytest.approx(
        0.5 ** 4 + 6 * 0.25 * 2 + 3 * 4)


def test_substitution():
    b, z = MonomialBasis(2, 5), MonomialBasis(4, 5)
    L, c = RNG.normal(size=(2, 4)), RNG.normal(size=2)
    S = b.substitution_matrix(z, L, c, 5)
    p = RNG.normal(size=b.size(5))
    pt = RNG.normal(size=4)
    assert z.evaluate(p @ S, pt) == pytest.approx(b.evaluate(p, L @ pt + c), rel=1e-11)


def test_expectation_over_normals_against_gauss_hermite():
    zb = MonomialBasis(4, 6)   # (x1, x2, ε1, ε2)
    p = RNG.normal(size=zb.size(6))
    x = RNG.normal(size=2)
    nodes, w = hermegauss(4)
    w = w / w.sum()
    ref = sum(w[i] * w[j] * zb.evaluate(p, np.r_[x, nodes[i], nodes[j]])
              for i in range(4) for j in range(4))
    assert basis(2, 6).evaluate(zb.integrate_normals(p, 2), x) == pytest.approx(ref, rel=1e-11)


def test_double_factorial():
    assert [double_factorial(k) for k in (-1, 0, 1, 2, 5, 7)] == [1, 1, 1, 2, 15, 105]
