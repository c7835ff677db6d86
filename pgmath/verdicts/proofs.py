"""Claim checks from the SymPy derivations in ``proofs/``: each derivation decides the
claims it lists (``Derivation.claims``); the verdict is computed from SymPy's step
statuses (:meth:`pgmath.derivation.Derivation.claim_verdicts`). A derivation is checked
once per process (:func:`pgmath.derivation.checked`), however many claims it covers."""
from __future__ import annotations

import ast

from ..claims import CLAIMS, Verdict, claim
from ..derivation import checked, proof_files

__all__ = ["proof_claims"]


def proof_claims() -> dict[str, list[str]]:
    """Claim ID → names of the proof files deciding it, read from each file's source
    (cheap: the derivations are not built)."""
    out: dict[str, list[str]] = {}
    for path in proof_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "claims" and isinstance(node.value, ast.Dict):
                for key in node.value.keys:
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        out.setdefault(key.value, []).append(path.stem)
    return out


def _make_check(name: str, cid: str):
    def check() -> Verdict:
        derivation, results = checked(name)
        v = derivation.claim_verdicts(results)[cid]
        return Verdict(**{k: val for k, val in v.items() if val is not None})
    check.__qualname__ = check.__name__ = f"proof_{name}_{cid.replace('-', '_')}"
    check.__doc__ = f"Claim {cid} decided by the SymPy derivation proofs/{name}.py."
    return check


def _register() -> None:
    for cid, names in proof_claims().items():
        if cid not in CLAIMS:
            continue
        for name in names:
            claim(cid)(_make_check(name, cid))


_register()
