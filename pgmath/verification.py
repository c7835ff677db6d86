"""Run every SymPy proof and every registered claim check, and compare with the committed
expected results (``pgmath/claims/verdicts.json``): the engine of ``pgmath verify``.

The expected file (``pgmath/claims/verdicts.json``, shipped with the package) records, per
claim, the verdict and its texts and, per derivation, the status of each step. :func:`compare` lists what changed; a claim of the notes being false is a
result, not a failure.
"""
from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterable

from .claims import get, plain, registered, run_claim
from .derivation import checked, proof_files
from .paths import NotACheckoutError, expected_verdicts_path, package_dir

__all__ = ["run_all", "compare", "new_results", "expected_path", "load_expected", "save_expected",
           "claims_table", "claim_report", "CLAIM_KEYS"]

#: The fields of a claim's result kept in the expected file (no timings).
CLAIM_KEYS = ("id", "section", "title", "statement", "verdict", "wrong", "correction",
              "conditions", "counterexample", "evidence", "decided_by", "proofs", "error")


def expected_path() -> Path:
    """``pgmath/claims/verdicts.json``: the committed expected results."""
    return expected_verdicts_path()


def _progress(items: list, desc: str, enabled: bool) -> Iterable:
    if not enabled:
        return items
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return items
    return tqdm(items, desc=desc, file=sys.stderr, leave=False, unit="item")


def run_all(*, progress: bool = False, claim_ids: Iterable[str] | None = None) -> dict:
    """Check every derivation of ``proofs/`` and run every registered claim check.

    Returns ``{"proofs": {name: {"title", "steps": [status, …], "seconds"}},
    "claims": [run_claim dict, …]}`` (claims in the registry's order).
    ``claim_ids`` restricts the claims run (all proofs still run); an unknown ID raises
    :class:`~pgmath.claims.ClaimError`.
    """
    # claims first: a proof is checked once (cached) and its time counts for the first
    # claim it decides
    entries = registered()
    if claim_ids is not None:
        entries = [get(cid) for cid in claim_ids]
    claims = [run_claim(e) for e in _progress(entries, "claims", progress)]
    proofs = {}
    names = [p.stem for p in proof_files()]
    for name in _progress(names, "proofs", progress):
        t0 = time.perf_counter()
        try:
            d, results = checked(name)
            proofs[name] = {"title": d.title, "steps": [r.status for r in results]}
        except Exception as exc:  # noqa: BLE001 - reported, verify exits non-zero
            proofs[name] = {"title": name, "steps": [], "error": f"{type(exc).__name__}: {exc}"}
        proofs[name]["seconds"] = round(time.perf_counter() - t0, 3)
    return {"proofs": proofs, "claims": claims}


def _strip(result: dict) -> dict:
    return {"proofs": {k: {"title": v["title"], "steps": v["steps"]}
                       for k, v in sorted(result["proofs"].items())},
            "claims": [{k: c[k] for k in CLAIM_KEYS if c.get(k) is not None}
                       for c in result["claims"]]}


def save_expected(result: dict, path: Path | None = None) -> Path:
    """Write the timing-free part of ``result`` as the expected results (sorted, stable).
    Refuses (:class:`~pgmath.paths.NotACheckoutError`) to write into an installed package."""
    path = expected_path() if path is None else path
    if path == expected_path() and not (package_dir().parent / "pyproject.toml").exists():
        raise NotACheckoutError(f"not writing {path}: pgmath is installed, not a source checkout")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_strip(result), indent=1, ensure_ascii=False, sort_keys=True) + "\n",
                    encoding="utf-8")
    return path


def load_expected(path: Path | None = None) -> dict:
    """The committed expected results (empty when there is no file yet)."""
    path = expected_path() if path is None else path
    if not path.exists():
        return {"proofs": {}, "claims": []}
    return json.loads(path.read_text(encoding="utf-8"))


def compare(result: dict, expected: dict) -> list[str]:
    """Human-readable differences that make ``pgmath verify`` fail: a check or proof
    that errors, a claim whose verdict differs from the expected one (a claim that had no
    check is not a change: see :func:`new_results`), a proof step whose
    status changed, a proof that appeared or disappeared."""
    problems = []
    for name, p in result["proofs"].items():
        if "error" in p:
            problems.append(f"proof {name} errors: {p['error']}")
    for c in result["claims"]:
        if "error" in c:
            problems.append(f"claim {c['id']}: a check errors: {c['error']}")
    exp_claims = {c["id"]: c for c in expected.get("claims", [])}
    for c in result["claims"]:
        e = exp_claims.get(c["id"])
        if e is not None and e["verdict"] != c["verdict"]:
            problems.append(f"claim {c['id']}: verdict changed from {e['verdict']!r} "
                            f"to {c['verdict']!r}")
    exp_proofs = expected.get("proofs", {})
    for name, p in result["proofs"].items():
        e = exp_proofs.get(name)
        if e is None:
            if exp_proofs:
                problems.append(f"proof {name} is new (run `pgmath verify --update`)")
            continue
        if "error" not in p and e["steps"] != p["steps"]:
            changed = [f"step {i + 1}: {a} → {b}"
                       for i, (a, b) in enumerate(zip(e["steps"], p["steps"])) if a != b]
            if len(e["steps"]) != len(p["steps"]):
                changed.append(f"{len(e['steps'])} → {len(p['steps'])} steps")
            problems.append(f"proof {name}: " + ", ".join(changed))
    for name in exp_proofs:
        if name not in result["proofs"]:
            problems.append(f"proof {name} disappeared")
    return problems


def new_results(result: dict, expected: dict) -> list[str]:
    """Claims that the expected results do not have yet (reported, not a failure: accept
    them with ``pgmath verify --update``)."""
    exp_ids = {c["id"] for c in expected.get("claims", [])}
    if not exp_ids:
        return []
    return [f"claim {c['id']}: new, {c['verdict']!r}" for c in result["claims"]
            if c["id"] not in exp_ids]


def _number(x: float) -> str:
    return f"{x:.2f}s"


def claims_table(claims: list[dict], *, width: int = 100) -> str:
    """The plain-text claims table, at most ``width`` columns: ID, verdict, title, time.
    (``pgmath verify --verbose`` prints each claim in full.)"""
    rows = [("ID", "verdict", "claim", "time")]
    for c in claims:
        rows.append((c["id"], c["verdict"] + (" (error)" if "error" in c else ""),
                     c.get("title", ""), _number(c.get("seconds", 0))))
    w = [max(len(r[i]) for r in rows) for i in (0, 1, 3)]
    room = max(10, width - w[0] - w[1] - w[2] - 6)
    lines = []
    for r in rows:
        title = r[2] if len(r[2]) <= room else r[2][:room - 1] + "…"
        lines.append(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {title:<{room}}  {r[3]:>{w[2]}}".rstrip())
    return "\n".join(lines)


def claim_report(c: dict, *, width: int = 100) -> str:
    """One claim in full for the terminal: statement, verdict and its texts, decided by."""

    lines = [f"{c['id']} ({c['section']}) {c.get('title', '')}: {c['verdict']}"]
    for key, label in (("statement", "claim"), ("wrong", "wrong"), ("correction", "correction"),
                       ("conditions", "conditions"), ("counterexample", "counterexample"),
                       ("evidence", "evidence"), ("error", "error")):
        if c.get(key):
            lines += textwrap.wrap(plain(c[key]), width, initial_indent=f"  {label}: ",
                                   subsequent_indent="    ")
    by = ", ".join(c.get("decided_by", []))
    lines += textwrap.wrap(by, width, initial_indent="  decided by: ", subsequent_indent="    ")
    return "\n".join(lines)
