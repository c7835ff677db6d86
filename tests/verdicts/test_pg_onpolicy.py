"""The registered verdicts of PG-1..PG-10, PG-22: each computes its verdict, runs in
under 5 s, and names deciding tests that exist in the suite."""
import ast
import pathlib

import pytest

from pgmath import claims

ROOT = pathlib.Path(__file__).resolve().parents[2]
IDS = [f"PG-{i}" for i in range(1, 11)] + ["PG-22"]
#: decided here from the exact computations in tests/exact/test_moments.py
EXPECTED = {"PG-1": "holds", "PG-2": "holds", "PG-3": "holds",
            "PG-4": "holds under conditions", "PG-5": "false as written", "PG-6": "holds",
            "PG-7": "false as written", "PG-8": "holds", "PG-9": "false as written",
            "PG-10": "false as written", "PG-22": "holds"}


def _entry(cid):
    return next(e for e in claims.registered() if e.id == cid)


def _test_names(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize("cid", IDS)
def test_verdict_is_computed_and_names_existing_tests(cid):
    from pgmath.verdicts import pg_onpolicy  # noqa: F401  (registers the checks)
    entry = _entry(cid)
    mine = [f for f in entry.funcs if f.__module__ == "pgmath.verdicts.pg_onpolicy"]
    assert mine, f"{cid} has no check in pg_onpolicy"
    for fn in mine:
        out = claims._run_one(fn)
        assert "error" not in out, out
        assert out["verdict"] == EXPECTED[cid], out
        assert out["seconds"] < 5.0
        if out["verdict"] == "false as written":
            assert out.get("correction") and out.get("counterexample")
        for node in out["check"].split(";"):
            path, _, name = node.strip().partition("::")
            assert name in _test_names(ROOT / path), node


def test_variance_figure_is_written(tmp_path):
    from pgmath.verdicts.pg_onpolicy import variance_figure
    paths = variance_figure(tmp_path)
    assert [p.suffix for p in paths] == [".png"] and paths[0].stat().st_size > 10_000
    assert any(f.name == "pg_onpolicy_variances" for f in claims.figures())
