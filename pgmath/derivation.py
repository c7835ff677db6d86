"""Derivations that SymPy checks step by step (DESIGN §5: claims are data).

A :class:`Derivation` is an ordered list of numbered, titled :class:`Step` s, each an
equality or inequality ``lhs ⋈ rhs`` with its justification, in the style of Spinning
Up's proofs. :func:`check` asks SymPy to confirm every step and gives each a status:

* ``"verified"`` – an equality whose difference simplifies to 0, or an inequality
  whose sign SymPy proves: directly from the symbols' assumptions (``is_nonnegative``),
  after factoring, after a reparametrisation (``subs``), from a *certificate* (the
  difference equals a sum of manifestly nonnegative terms, possibly involving named
  nonnegative facts / induction hypotheses), or by monotonicity (value at a point plus
  the sign of the derivative, itself proved recursively); or a conclusion that follows
  from earlier verified steps (``by_steps``);
* ``"false"`` – SymPy found a numeric counterexample: a point of the step's domain where
  the two sides differ (or the inequality fails). The point and both sides are reported;
* ``"unverified"`` – SymPy could neither confirm nor refute it. Never silently accepted.

A step taken literally from the notes is marked with ``notes="…"`` (where in the notes);
when such a step is false the derivation continues with the corrected step
(``fixes=<label of the false step>``), and :meth:`Derivation.claim_verdicts` turns the
statuses into claim verdicts for :mod:`pgmath.claims`.

Example (exact; a one-line derivation):

>>> import sympy as sp
>>> x = sp.Symbol("x", positive=True)
>>> d = Derivation("demo", "A demo", steps=[
...     Step("Square of a sum", (x + 1)**2, x**2 + 2*x + 1, why="expand"),
...     Step("AM–GM", x**2 + 1, 2*x, rel=">=", certificate=(x - 1)**2),
...     Step("A slip", (x + 1)**2, x**2 + 1, notes="§0")])
>>> [r.status for r in check(d)]
['verified', 'verified', 'false']
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Mapping, Sequence

import sympy as sp

from .errors import PgmathError

__all__ = ["Step", "Derivation", "StepResult", "check", "render", "is_zero", "is_nonnegative",
           "counterexample", "STATUSES", "DerivationError", "load", "proof_files", "checked",
           "format_counterexample", "step_tex"]

#: Step statuses, from best to worst.
STATUSES = ("verified", "unverified", "false")
_RELS = {"=": r"=", "!=": r"\neq", "<=": r"\le", ">=": r"\ge", "<": r"<", ">": r">"}
_NUMERIC_TOL = 1e-9


class DerivationError(PgmathError):
    """A malformed derivation or step (unknown relation, bad reference)."""


@dataclass
class Step:
    """One step ``lhs rel rhs`` of a derivation.

    Attributes:
      title: a short title ("Score-function identity").
      lhs, rhs: SymPy expressions (or matrices for ``rel="="``) that SymPy checks.
      rel: ``"="``, ``"!="`` (not identically equal: verified by a witness point),
        ``"<="``, ``">="``, ``"<"`` or ``">"``.
      why: the justification (Markdown with ``$…$`` maths).
      tex: LaTeX shown for the step in the notes' notation (default: ``latex(lhs) rel
        latex(rhs)``) when the checked expressions are a concrete instance.
      label: a name other steps refer to (``fixes``, ``by_steps``).
      lemma: names the step as a lemma once ("Lemma (EGLP)"); later steps cite the name.
      notes: where the step is taken literally from the notes ("§4.4, line 2").
      fixes: label of a false notes' step this step corrects.
      correction: for a notes' step, the correct statement in plain Unicode (for the
        claims table and the errata page).
      domain: ranges for the counterexample search: ``{symbol: (lo, hi)}`` (rationals
        drawn inside) or ``{symbol: [values]}``; unspecified symbols use their
        assumptions (positive → (1/10, 3), else (−2, 2); integer → 1..4).
      counter: an explicit point tried first in the counterexample search.
      subs: a reparametrisation applied before a sign proof (e.g. ``{eps: 1 - u}``).
      facts: named nonnegative quantities for a certificate: ``{F: expr}`` where ``F``
        is a ``Symbol(nonnegative=True)`` standing for ``expr`` (a domain fact such as
        ``1 − ε ≥ 0`` or an induction hypothesis); explained in ``why``.
      certificate: for an inequality, an expression that equals the nonnegative side's
        difference (``rhs − lhs`` for ``<=``) after substituting ``facts`` and is
        manifestly nonnegative.
      monotone: ``(x, x0)``: the difference d(x) is ≥ 0 at x = x0 and d'(x) ≥ 0 for
        x ≥ x0 (the derivative's sign is proved with ``subs``/``facts``).
      by_steps: labels of earlier steps this one follows from (e.g. an induction's base
        and step); verified iff they all are.
      numeric_only: an equality SymPy cannot simplify but which is evaluated exactly at
        rational points: reported "unverified" unless a point refutes it.
    """

    title: str
    lhs: object = None
    rhs: object = None
    rel: str = "="
    why: str = ""
    tex: str | None = None
    label: str | None = None
    lemma: str | None = None
    notes: str | None = None
    fixes: str | None = None
    correction: str | None = None
    domain: Mapping = field(default_factory=dict)
    counter: Mapping | None = None
    subs: Mapping = field(default_factory=dict)
    facts: Mapping = field(default_factory=dict)
    certificate: object = None
    monotone: tuple | None = None
    by_steps: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.rel not in _RELS:
            raise DerivationError(f"step {self.title!r}: rel must be one of {list(_RELS)}, "
                                  f"got {self.rel!r}")
        if not self.by_steps and (self.lhs is None or self.rhs is None):
            raise DerivationError(f"step {self.title!r}: lhs and rhs are required "
                                  "unless the step follows from by_steps")

    def difference(self):
        """The quantity that must be 0 (``=``), not identically 0 (``!=``) or ≥ 0
        (inequalities)."""
        if self.rel in ("=", "!="):
            return _sympify(self.lhs) - _sympify(self.rhs)
        if self.rel in ("<=", "<"):
            return _sympify(self.rhs) - _sympify(self.lhs)
        return _sympify(self.lhs) - _sympify(self.rhs)


@dataclass
class StepResult:
    """The outcome of checking one step: ``status`` ∈ :data:`STATUSES`, ``method`` (how
    SymPy decided), ``counterexample`` (point → value, and both sides) when false."""

    number: int
    step: Step
    status: str
    method: str
    counterexample: dict | None = None


@dataclass
class Derivation:
    """A titled, ordered list of steps proving (or refuting) some claims of the notes.

    Attributes:
      name: file stem under ``proofs/`` (``"pg22_optimal_baseline"``).
      title: page title.
      claims: the claim IDs this derivation decides, mapped to the labels of the steps
        that constitute the notes' claim (all must be verified for "holds").
      conditions: per claim ID, the conditions the steps are proved under (plain text);
        rendered on the derivation page after the intro, and :meth:`claim_verdicts`
        gives "holds under conditions" with them. The claim's own verdict
        (``pgmath/claims/``) may still read them as the claim's setting and say "holds".
      intro, outro: Markdown before and after the steps.
      steps: the steps, in order.
    """

    name: str
    title: str
    steps: list[Step]
    claims: Mapping[str, Sequence[str]] = field(default_factory=dict)
    conditions: Mapping[str, str] = field(default_factory=dict)
    intro: str = ""
    outro: str = ""

    def __post_init__(self) -> None:
        labels = [s.label for s in self.steps if s.label]
        if len(labels) != len(set(labels)):
            raise DerivationError(f"derivation {self.name}: duplicate step labels {labels}")
        known = set(labels)
        for s in self.steps:
            for ref in [*s.by_steps, *([s.fixes] if s.fixes else [])]:
                if ref not in known:
                    raise DerivationError(f"derivation {self.name}, step {s.title!r}: "
                                          f"unknown label {ref!r}")
        for cid, refs in self.claims.items():
            for ref in refs:
                if ref not in known:
                    raise DerivationError(f"derivation {self.name}, claim {cid}: "
                                          f"unknown step label {ref!r}")

    def step(self, label: str) -> Step:
        """The step with this label."""
        for s in self.steps:
            if s.label == label:
                return s
        raise DerivationError(f"derivation {self.name}: no step labelled {label!r}")

    def claim_verdicts(self, results: Sequence[StepResult]) -> dict[str, dict]:
        """Per claim ID, a :class:`pgmath.claims.Verdict`-shaped dict computed from the
        statuses of the claim's steps: any false → "false as written" (with the step's
        correction and counterexample), any unverified → "undecided", else "holds" or
        "holds under conditions"."""
        by_label = {r.step.label: r for r in results if r.step.label}
        out = {}
        for cid, refs in self.claims.items():
            rs = [by_label[ref] for ref in refs]
            false = [r for r in rs if r.status == "false"]
            unver = [r for r in rs if r.status == "unverified"]
            check = f"pgmath/proofs/{self.name}.py"
            steps = ", ".join(f"step {r.number}" for r in rs)
            if false:
                out[cid] = dict(
                    verdict="false as written", check=check,
                    evidence=f"SymPy refutes " + ", ".join(
                        f"step {r.number} ({r.step.title})" for r in false)
                    + f" of [{self.title}](derivations/{self.name}.md).",
                    correction=" ".join(r.step.correction or "" for r in false).strip()
                    or None,
                    counterexample="; ".join(format_counterexample(r) for r in false))
            elif unver:
                out[cid] = dict(verdict="undecided", check=check,
                                evidence="SymPy could not confirm " + ", ".join(
                                    f"step {r.number}" for r in unver) + ".")
            else:
                cond = self.conditions.get(cid)
                out[cid] = dict(verdict="holds under conditions" if cond else "holds",
                                check=check, conditions=cond,
                                evidence=f"SymPy verifies {steps} of "
                                         f"[{self.title}](derivations/{self.name}.md).")
        return out


# -- SymPy decisions ---------------------------------------------------------------------------
def _sympify(x):
    return x if isinstance(x, sp.MatrixBase) else sp.sympify(x)


def _elements(e) -> list:
    return list(e) if isinstance(e, sp.MatrixBase) else [e]


def is_zero(expr) -> bool:
    """True when SymPy proves ``expr`` (a scalar or matrix) identically 0: ``cancel`` for
    rational functions, then ``simplify`` (after ``doit`` for sums and derivatives)."""
    def zero(e) -> bool:
        e = sp.sympify(e).doit()
        if e == 0:
            return True
        if e.is_rational_function():  # cancel is a canonical form: its verdict is final
            return sp.cancel(sp.together(e)) == 0
        # expand_log without force: log(ab) = log a + log b only where SymPy knows a, b > 0
        for f in (sp.cancel, lambda z: sp.cancel(sp.expand_log(sp.expand(z))), sp.simplify,
                  lambda z: sp.simplify(sp.expand(sp.powsimp(z))),
                  lambda z: sp.simplify(sp.expand_log(sp.expand(z)))):
            try:
                if f(e) == 0:
                    return True
            except (TypeError, ValueError, NotImplementedError):  # pragma: no cover
                continue
        return False
    return all(zero(e) for e in _elements(expr))


def is_nonnegative(expr, subs: Mapping | None = None, *, strict: bool = False) -> bool:
    """True when SymPy proves ``expr ≥ 0`` (``> 0`` when ``strict``) from its symbols'
    assumptions, possibly after factoring, simplifying, or the reparametrisation ``subs``."""
    exprs = [sp.sympify(expr).doit()]
    if subs:
        exprs.append(exprs[0].subs(subs))
    for e in exprs:
        for f in (lambda z: z, sp.factor, sp.simplify, lambda z: sp.factor(sp.simplify(z)),
                  sp.expand):
            try:
                if (f(e).is_positive if strict else f(e).is_nonnegative):
                    return True
            except (TypeError, ValueError, NotImplementedError):  # pragma: no cover
                continue
    return False


def _default_range(s: sp.Symbol):
    if s.is_integer:
        return [1, 2, 3, 4] if s.is_positive else [0, 1, 2, 3]
    if s.is_positive or s.is_nonnegative:
        return (Fraction(1, 10), Fraction(3))
    return (Fraction(-2), Fraction(2))


def _draw(rng: random.Random, spec) -> sp.Rational:
    if isinstance(spec, tuple):  # a range (lo, hi); a list is a set of values
        lo, hi = Fraction(spec[0]), Fraction(spec[1])
        k = rng.randint(1, 15)
        return sp.Rational(lo + (hi - lo) * Fraction(k, 16))
    return sp.sympify(rng.choice(list(spec)))


def _at(expr, point: dict):
    """``expr`` at an exact point: ``xreplace`` (fast; rationals evaluate on the fly),
    then ``doit`` for what stayed unevaluated (sums, derivatives)."""
    v = sp.sympify(expr).xreplace(point)
    return v.doit() if v.has(sp.Sum, sp.Derivative, sp.Integral, sp.Piecewise) else v


def counterexample(step: Step, *, tries: int = 8, seed: int = 0) -> dict | None:
    """A point of the step's domain where it fails (exact rational evaluation to 30
    digits), or None. Returns ``{"point": {name: value}, "lhs": …, "rhs": …}`` with
    values as strings."""
    d = step.difference()
    syms = sorted(set().union(*(sp.sympify(e).free_symbols for e in _elements(d)),
                              *(sp.sympify(f).free_symbols for f in step.facts.values())), key=str)
    rng = random.Random(seed)
    points = []
    if step.counter:
        points.append({sp.Symbol(k) if isinstance(k, str) else k: sp.sympify(v)
                       for k, v in step.counter.items()})
    for _ in range(tries):
        points.append({s: _draw(rng, step.domain.get(s, _default_range(s))) for s in syms})
    for pt in points:
        pt = {s: pt.get(s, pt.get(sp.Symbol(s.name), None)) for s in syms}
        if any(v is None for v in pt.values()):
            continue
        # the step's facts (domain conditions such as 1 − εT ≥ 0) restrict the search
        if any(sp.N(_at(f, pt)) < 0 for f in step.facts.values()):
            continue
        try:
            vals = [sp.N(_at(e, pt), 30) for e in _elements(d)]
        except (TypeError, ValueError, ZeroDivisionError):  # pragma: no cover
            continue
        if any(not v.is_real and not v.is_number for v in vals):  # pragma: no cover
            continue
        bad = (any(abs(complex(v)) > _NUMERIC_TOL for v in vals) if step.rel == "="
               else any(complex(v).real < -_NUMERIC_TOL for v in vals)
               or (step.rel in ("<", ">") and any(abs(complex(v)) <= _NUMERIC_TOL for v in vals)))
        if bad:
            def show(e):
                return _short(e.applyfunc(lambda x: _at(x, pt)) if isinstance(e, sp.MatrixBase)
                              else _at(e, pt))
            return {"point": {_name(s): str(v) for s, v in pt.items()},
                    "lhs": show(_sympify(step.lhs)), "rhs": show(_sympify(step.rhs))}
    return None


def _name(s: sp.Symbol) -> str:
    """A symbol's Unicode name for reports (``epsilon`` → ``ε``, ``theta_1`` → ``θ₁``)."""
    return sp.pretty(s, use_unicode=True) if "\n" not in sp.pretty(s, use_unicode=True) else str(s)


def _short(v) -> str:
    """A short display of an exact value (a float when the rational is long)."""
    if isinstance(v, sp.MatrixBase):
        return "(" + ", ".join(_short(x) for x in v) + ")"
    v = sp.simplify(v)
    s = str(v)
    if len(s) > 24:
        try:
            s = f"{float(sp.N(v, 20)):.6g}"
        except TypeError:  # pragma: no cover
            s = s[:21] + "…"
    return s


#: What the symbols of the symbolic MDPs (:mod:`pgmath.symbolic`) stand for, by prefix.
SYMBOL_MEANINGS = {
    "p": "p = p(s₁ = 0)",
    "q": "q_sa = p(s' = 0 | s, a)",
    "r": "r_sa = r(s, a)",
    "u": "u_sa = exp θ[s, a] (the sampling policy's logits)",
    "v": "v_sa = exp θ'[s, a] (the target policy's logits)",
}


def _legend(names) -> str:
    seen = []
    for n in names:
        base = n.rstrip("₀₁₂₃₄₅₆₇₈₉")
        key = base if base in SYMBOL_MEANINGS and base != n else None
        if key and SYMBOL_MEANINGS[key] not in seen:
            seen.append(SYMBOL_MEANINGS[key])
    return f" ({'; '.join(seen)})" if seen else ""


def format_counterexample(r: StepResult, *, name_step: bool = False) -> str:
    """``ε = 1/2: left side = 1/4, right side = 0`` for a false step (empty string
    otherwise); the symbols of the symbolic MDPs are defined after the point, and with
    ``name_step`` the step is named first ("step 4 (title) fails at …")."""
    c = r.counterexample
    if not c:
        return ""
    pt = ", ".join(f"{k} = {v}" for k, v in c["point"].items()) or "(no free symbols)"
    head = f"step {r.number} ({r.step.title}) fails at " if name_step else ""
    return (f"{head}{pt}{_legend(c['point'])}: left side = {c['lhs']}, "
            f"right side = {c['rhs']}")


def _prove_inequality(step: Step) -> str | None:
    d = step.difference()
    strict = step.rel in ("<", ">")
    if step.certificate is not None:
        cert = sp.sympify(step.certificate)
        if is_zero(d - cert.subs(dict(step.facts))) and is_nonnegative(cert, step.subs, strict=strict):
            return "certificate: difference = " + ("a sum of nonnegative terms" if step.facts
                                                   else "a manifestly nonnegative expression")
        return None
    if step.monotone is not None and not strict:
        x, x0 = step.monotone
        at0 = d.subs(x, x0)
        deriv = sp.diff(d, x)
        if (is_zero(at0) or is_nonnegative(at0, step.subs)) and is_nonnegative(deriv, step.subs):
            return f"monotonicity: difference ≥ 0 at {x} = {x0} and its {x}-derivative ≥ 0"
        return None
    if is_nonnegative(d, step.subs, strict=step.rel in ("<", ">")):
        return "sign: SymPy proves the difference " + (
            "positive" if step.rel in ("<", ">") else "nonnegative") + (
            " after reparametrising" if step.subs else "")
    return None


def _check_step(number: int, step: Step, done: dict[str, StepResult]) -> StepResult:
    if step.by_steps:
        ok = all(done[label].status == "verified" for label in step.by_steps)
        nums = ", ".join(str(done[label].number) for label in step.by_steps)
        return StepResult(number, step, "verified" if ok else "unverified",
                          f"follows from steps {nums}")
    if step.rel == "!=":
        # "not identically equal": a witness point proves it; SymPy's 0 refutes it
        witness = counterexample(Step(step.title, step.lhs, step.rhs, domain=step.domain,
                                      counter=step.counter, facts=step.facts))
        if witness:
            return StepResult(number, step, "verified", "witness: the sides differ at a point",
                              witness)
        if is_zero(step.difference()):
            return StepResult(number, step, "false", "SymPy simplifies lhs − rhs to 0")
        return StepResult(number, step, "unverified", "no witness found; SymPy cannot decide")
    # a refutation at exact rational points is cheap; try it before simplifying
    cx = counterexample(step)
    if cx:
        return StepResult(number, step, "false", "numeric counterexample", cx)
    if step.rel == "=":
        if is_zero(step.difference()):
            return StepResult(number, step, "verified", "SymPy simplifies lhs − rhs to 0")
    else:
        how = _prove_inequality(step)
        if how:
            return StepResult(number, step, "verified", how)
    return StepResult(number, step, "unverified",
                      "SymPy could neither confirm nor refute it (no counterexample found)")


def check(derivation: Derivation) -> list[StepResult]:
    """Check every step of ``derivation`` in order (see the module docstring)."""
    done: dict[str, StepResult] = {}
    out = []
    for i, step in enumerate(derivation.steps, start=1):
        r = _check_step(i, step, done)
        if step.label:
            done[step.label] = r
        out.append(r)
    return out


# -- rendering ---------------------------------------------------------------------------------
_BADGE = {"verified": "**verified**", "false": "**false**", "unverified": "**unverified**"}


def step_tex(step: Step) -> str:
    """The displayed LaTeX of a step."""
    if step.tex:
        return step.tex
    if step.by_steps:
        return ""
    return f"{sp.latex(step.lhs)} {_RELS[step.rel]} {sp.latex(step.rhs)}"


def render(derivation: Derivation, results: Sequence[StepResult], *, title: str | None = None) -> str:
    """Markdown with ``$$…$$`` LaTeX: numbered, titled steps, each with its justification
    and SymPy's status; false notes' steps show the counterexample and point to the
    corrected step."""
    by_label = {r.step.label: r for r in results if r.step.label}
    lines = [f"# {title or derivation.title}", ""]
    if derivation.claims:
        lines += ["Claims this derivation bears on: " + ", ".join(
            f"[{c}](../claims/{c.lower()}.md)" for c in derivation.claims) + ".", ""]
    counts = {st: sum(r.status == st for r in results) for st in STATUSES}
    fixed_by = {r.step.fixes: r.number for r in results if r.step.fixes}
    lines += [f"Source: `pgmath/proofs/{derivation.name}.py`. {len(results)} steps: "
              + ", ".join(f"{n} {st}" for st, n in counts.items() if n) + ".", ""]
    if derivation.intro:
        lines += [derivation.intro.strip(), ""]
    for cid, cond in derivation.conditions.items():
        lines += [f"**Proved under these conditions ({cid}).** {cond.strip()}", ""]
    for r in results:
        s = r.step
        head = f"## Step {r.number}. {s.title}"
        if s.lemma:
            head += f" — {s.lemma}"
        lines += [head + f" {{#step-{r.number}}}", ""]
        if s.notes:
            lines += [f"*As written in the notes ({s.notes}):*", ""]
        if s.fixes:
            lines += [f"*Corrects step {by_label[s.fixes].number}:*", ""]
        tex = step_tex(s)
        if tex:
            lines += ["$$", tex, "$$", ""]
        if s.why:
            lines += [s.why.strip(), ""]
        status = f"SymPy: {_BADGE[r.status]} — {r.method}."
        if r.status == "verified" and r.counterexample:
            status += f" Witness: {format_counterexample(r)}."
        if r.status == "false":
            status += f" Counterexample: {format_counterexample(r)}."
            if s.label in fixed_by:
                status += f" Corrected in [step {fixed_by[s.label]}](#step-{fixed_by[s.label]})."
        lines += [status, ""]
    if derivation.outro:
        lines += [derivation.outro.strip(), ""]
    return "\n".join(lines)


def load(path) -> Derivation:
    """The ``DERIVATION`` of a proof module: ``pgmath/proofs/<name>.py`` imported as
    ``pgmath.proofs.<name>`` (the proofs ship inside the package), or any other file by path."""
    import importlib
    import importlib.util
    from pathlib import Path

    from .paths import proofs_dir
    path = Path(path)
    if path.parent.resolve() == proofs_dir():
        mod = importlib.import_module(f"pgmath.proofs.{path.stem}")
    else:
        spec = importlib.util.spec_from_file_location(f"pgmath_proofs.{path.stem}", path)
        if spec is None or spec.loader is None:
            raise DerivationError(f"cannot load proof file {path}")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    d = getattr(mod, "DERIVATION", None)
    if not isinstance(d, Derivation):
        raise DerivationError(f"proof file {path} defines no DERIVATION")
    if d.name != path.stem:
        raise DerivationError(f"proof file {path}: DERIVATION.name is {d.name!r}, "
                              f"expected the file stem {path.stem!r}")
    return d


def proof_files(directory=None) -> list:
    """The proof modules ``pgmath/proofs/*.py`` (sorted; package files, no ``__init__``)."""
    from .paths import proofs_dir
    directory = proofs_dir() if directory is None else directory
    return sorted(p for p in directory.glob("*.py") if not p.name.startswith("_"))


@functools.lru_cache(maxsize=None)
def checked(name: str) -> tuple[Derivation, tuple[StepResult, ...]]:
    """The derivation ``pgmath/proofs/<name>.py`` and its step results, computed once per process."""
    from .paths import proofs_dir
    d = load(proofs_dir() / f"{name}.py")
    return d, tuple(check(d))
