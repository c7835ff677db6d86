"""The registered checks of PG-11..PG-21 compute their verdicts, fast, and name real tests."""
import pathlib

import pytest

from pgmath.claims import registered, run_claim

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: Verdicts derived by hand from the notes (see each claim's evidence for the numbers).
EXPECTED = {
    "PG-11": "false as written", "PG-12": "false as written", "PG-13": "holds under conditions",
    "PG-14": "holds under conditions", "PG-15": "holds under conditions", "PG-16": "holds",
    "PG-17": "false as written", "PG-18": "false as written", "PG-19": "holds",
    "PG-20": "holds under conditions", "PG-21": "holds under conditions",
    "PG-24": "holds under conditions",
}


def _checks(cid):
    entry = next(e for e in registered() if e.id == cid)
    return [f for f in entry.funcs if f.__module__ == "pgmath.verdicts.pg_offpolicy"]


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_claim_verdict_and_check_nodes(cid):
    """Each check returns the verdict worked out by hand, in < 5 s, with its deciding
    pytest nodes present in the named files; false claims carry correction and counterexample."""
    from pgmath.claims import _run_one
    (fn,) = _checks(cid)
    out = _run_one(fn)
    assert "error" not in out, out.get("error")
    assert out["verdict"] == EXPECTED[cid]
    assert out["seconds"] < 5
    for node in out["check"].split("; "):
        path, _, name = node.partition("::")
        assert name and f"def {name}(" in (ROOT / path).read_text(), node
    if out["verdict"] == "false as written":
        assert out.get("correction") and out.get("counterexample")
    if out["verdict"] == "holds under conditions":
        assert out.get("conditions")
