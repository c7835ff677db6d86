"""The derivation framework: SymPy verifies, refutes (with a counterexample) or leaves
unverified each step, never accepting a step silently. Expected statuses come from
hand-checked algebra stated in each test."""
import textwrap

import pytest
import sympy as sp

from pgmath.derivation import (Derivation, DerivationError, Step, check, counterexample,
                               format_counterexample, is_nonnegative, is_zero, load, render)

x = sp.Symbol("x", positive=True)
y = sp.Symbol("y", real=True)


def statuses(*steps):
    return [r.status for r in check(Derivation("t", "T", steps=list(steps)))]


def test_true_equality_is_verified():
    # (x + 1)² = x² + 2x + 1 by expansion
    assert statuses(Step("square", (x + 1)**2, x**2 + 2 * x + 1)) == ["verified"]


def test_false_equality_reports_a_counterexample_that_refutes_it():
    # (x + 1)² − (x² + 1) = 2x ≠ 0 for x > 0
    step = Step("slip", (x + 1)**2, x**2 + 1, counter={"x": 1})
    (r,) = check(Derivation("t", "T", steps=[step]))
    assert r.status == "false"
    assert r.counterexample["point"] == {"x": "1"}
    assert (r.counterexample["lhs"], r.counterexample["rhs"]) == ("4", "2")  # (1+1)², 1+1
    assert "x = 1" in format_counterexample(r)


def test_counterexample_search_finds_one_without_a_hint():
    # x² = x fails at every x ∉ {0, 1}; the seeded search draws from (1/10, 3)
    cx = counterexample(Step("s", x**2, x))
    assert cx is not None
    v = sp.Rational(cx["point"]["x"])
    assert v**2 != v


def test_true_statement_sympy_cannot_prove_is_unverified_not_accepted():
    # eˣ ≥ 1 + x holds for all real x, but SymPy's sign reasoning cannot show it
    assert statuses(Step("exp", sp.exp(y), 1 + y, rel=">=")) == ["unverified"]


def test_inequality_by_certificate_and_a_wrong_certificate():
    # x² + 1 − 2x = (x − 1)² ≥ 0; the certificate (x + 1)² does not equal the difference
    good = Step("AM-GM", x**2 + 1, 2 * x, rel=">=", certificate=(x - 1)**2)
    bad = Step("AM-GM", x**2 + 1, 2 * x, rel=">=", certificate=(x + 1)**2)
    assert statuses(good, bad) == ["verified", "unverified"]


def test_induction_with_facts_and_by_steps():
    # Bernoulli: (1+x)^n ≥ 1 + n x; base n = 0 and step (1+x)^{n+1} − 1 − (n+1)x = (1+x)H + n x²
    n = sp.Symbol("n", nonnegative=True, integer=True)
    H = sp.Symbol("H", nonnegative=True)
    z = sp.Symbol("z", nonnegative=True)
    base = Step("base", (1 + z)**0, 1, rel=">=", label="base")
    ind = Step("step", (1 + z)**(n + 1), 1 + (n + 1) * z, rel=">=", label="ind",
               facts={H: (1 + z)**n - 1 - n * z}, certificate=(1 + z) * H + n * z**2)
    concl = Step("all n", by_steps=["base", "ind"])
    assert statuses(base, ind, concl) == ["verified", "verified", "verified"]


def test_conclusion_from_an_unverified_step_is_unverified():
    a = Step("exp", sp.exp(y), 1 + y, rel=">=", label="a")
    assert statuses(a, Step("hence", by_steps=["a"])) == ["unverified", "unverified"]


def test_facts_restrict_the_counterexample_search():
    # 1 − εT ≥ 0 holds only where the fact W = 1 − εT ≥ 0 does; inside it no counterexample
    e, T = sp.Symbol("e", positive=True), sp.Symbol("T", positive=True, integer=True)
    W = sp.Symbol("W", nonnegative=True)
    step = Step("inside", 1 - e * T, 0, rel=">=", facts={W: 1 - e * T}, certificate=W,
                domain={e: (0, 1), T: [1, 2, 3, 10]})
    assert counterexample(step) is None
    assert statuses(step) == ["verified"]


def test_monotonicity_proof():
    # d(x) = x³ + x ≥ 0 on x ≥ 0: d(0) = 0 and d'(x) = 3x² + 1 ≥ 0
    assert statuses(Step("mono", x**3 + x, 0, rel=">=", monotone=(x, 0))) == ["verified"]


def test_matrix_equalities():
    A = sp.Matrix([[x, 1], [0, x]])
    assert statuses(Step("square", A * A, sp.Matrix([[x**2, 2 * x], [0, x**2]]))) == ["verified"]
    assert statuses(Step("square", A * A, sp.Matrix([[x**2, x], [0, x**2]]))) == ["false"]


def test_is_zero_and_is_nonnegative_helpers():
    assert is_zero(sp.log(x * 2) - sp.log(x) - sp.log(2))
    assert not is_zero(x / (x + 1) - 1)
    assert is_nonnegative((y - 1)**2)
    assert not is_nonnegative(y)


def test_bad_steps_and_derivations_are_refused():
    with pytest.raises(DerivationError, match="rel must be one of"):
        Step("s", x, x, rel="==")
    with pytest.raises(DerivationError, match="lhs and rhs are required"):
        Step("s")
    with pytest.raises(DerivationError, match="unknown label 'nope'"):
        Derivation("t", "T", steps=[Step("s", x, x, fixes="nope")])
    with pytest.raises(DerivationError, match="claim PG-1: unknown step label"):
        Derivation("t", "T", steps=[Step("s", x, x, label="a")], claims={"PG-1": ["b"]})
    with pytest.raises(DerivationError, match="duplicate step labels"):
        Derivation("t", "T", steps=[Step("s", x, x, label="a"), Step("s", x, x, label="a")])
    assert issubclass(DerivationError, ValueError)


def test_claim_verdicts_follow_the_step_statuses():
    d = Derivation("demo", "Demo", claims={"PG-1": ["ok"], "PG-2": ["bad"], "PG-3": ["ok"],
                                           "PG-4": ["unv"]},
                   conditions={"PG-3": "x > 0"},
                   steps=[Step("fine", (x + 1)**2, x**2 + 2 * x + 1, label="ok"),
                          Step("slip", (x + 1)**2, x**2 + 1, label="bad", notes="§0",
                               correction="(x+1)² = x² + 2x + 1", counter={"x": 1}),
                          Step("exp", sp.exp(y), 1 + y, rel=">=", label="unv")])
    v = d.claim_verdicts(check(d))
    assert v["PG-1"]["verdict"] == "holds"
    assert v["PG-2"]["verdict"] == "false as written"
    assert v["PG-2"]["correction"] == "(x+1)² = x² + 2x + 1"
    assert "x = 1" in v["PG-2"]["counterexample"]
    assert v["PG-3"] == {**v["PG-3"], "verdict": "holds under conditions", "conditions": "x > 0"}
    assert v["PG-4"]["verdict"] == "undecided"
    assert all(val["check"] == "pgmath/proofs/demo.py" for val in v.values())


def test_render_numbers_steps_and_shows_the_verdicts():
    d = Derivation("demo", "Demo", steps=[
        Step("fine", (x + 1)**2, x**2 + 2 * x + 1, lemma="Lemma (square)"),
        Step("slip", (x + 1)**2, x**2 + 1, notes="§9", label="bad", counter={"x": 1},
             correction="use 2x"),
        Step("fixed", (x + 1)**2, x**2 + 2 * x + 1, fixes="bad")],
        claims={"PG-1": ["bad"]}, conditions={"PG-1": "x is a real number"}, intro="Intro.")
    md = render(d, check(d))
    # the conditions are on the page, after the intro and before the first step
    assert md.index("Intro.") < md.index("**Proved under these conditions (PG-1).** x is a "
                                         "real number") < md.index("## Step 1.")
    assert md.startswith("# Demo")
    assert "## Step 1. fine — Lemma (square)" in md
    assert "*As written in the notes (§9):*" in md and "*Corrects step 2:*" in md
    assert "**false**" in md and "x = 1: left side = 4, right side = 2" in md
    assert "$$\n" + sp.latex((x + 1)**2) in md


def test_load_checks_the_file(tmp_path):
    good = tmp_path / "demo.py"
    good.write_text(textwrap.dedent("""
        import sympy as sp
        from pgmath.derivation import Derivation, Step
        DERIVATION = Derivation("demo", "Demo", steps=[Step("one", sp.Integer(1), 1)])
    """))
    assert load(good).title == "Demo"
    renamed = tmp_path / "other.py"
    renamed.write_text(good.read_text())
    with pytest.raises(DerivationError, match="expected the file stem 'other'"):
        load(renamed)
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(DerivationError, match="defines no DERIVATION"):
        load(empty)


def test_not_identically_equal_needs_a_witness():
    # x² ≠ x as functions (they differ at x = 2); (x+1)² − 2x ≡ x² + 1 so "≠" is false
    (r,) = check(Derivation("t", "T", steps=[Step("differ", x**2, x, rel="!=", counter={"x": 2})]))
    assert r.status == "verified" and r.counterexample["point"] == {"x": "2"}
    assert statuses(Step("same", (x + 1)**2 - 2 * x, x**2 + 1, rel="!=")) == ["false"]


def test_strict_inequalities_need_a_strict_sign():
    # x² + 1 > 0 for real x (SymPy: positive); x² > 0 fails at x = 0 (the hint point)
    assert statuses(Step("pos", y**2 + 1, 0, rel=">")) == ["verified"]
    assert statuses(Step("zero", y**2, 0, rel=">", counter={"y": 0})) == ["false"]


def test_log_rules_are_used_only_where_they_are_valid():
    # log(ab) = log a + log b needs a, b > 0: with real (possibly negative) a, b it is not
    # an identity (a = b = −1: log 1 = 0 vs 2iπ), so it must not be verified
    a, b = sp.symbols("a b", real=True)
    assert statuses(Step("log rule", sp.log(a * b), sp.log(a) + sp.log(b))) != ["verified"]
    p, q = sp.symbols("p q", positive=True)
    assert statuses(Step("log rule", sp.log(p * q), sp.log(p) + sp.log(q))) == ["verified"]
