"""`pgmath verify`: the claims table / JSON, the comparison with the committed expected
results (docs/verdicts.json), and its exit status (non-zero only for errors or changed
results, never because a claim of the notes is false)."""
import copy
import json

import pytest

from pgmath import verification
from pgmath.claims import CLAIMS, VERDICTS, ClaimCheck, Verdict
from pgmath.cli import main


@pytest.fixture(scope="module")
def result():
    return verification.run_all()


def test_json_lists_every_claim_and_matches_the_committed_results(capsys):
    rc = main(["verify", "--json", "--no-progress"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0, "docs/verdicts.json is out of date: run `pgmath verify --update`"
    assert [c["id"] for c in out] == sorted(CLAIMS, key=lambda k: (
        {"IL": 0, "RL": 1, "PG": 2}[k.split("-")[0]], int(k.split("-")[1])))
    for c in out:
        assert c["verdict"] in VERDICTS and isinstance(c["seconds"], float | int) and c["check"]
        if c["verdict"] == "holds under conditions":
            assert c["conditions"]
        if c["verdict"] == "false as written" and c["check"].startswith("proofs/"):
            assert c["correction"] and c["counterexample"]


def test_the_notes_mistakes_found_by_the_proofs(result):
    # the literal readings refuted in proofs/ (see the errata page); a false claim of the
    # notes is a result, and verify still exits 0 (previous test)
    verdicts = {c["id"]: c["verdict"] for c in result["claims"]}
    for cid in ("PG-5", "PG-9", "PG-11", "PG-12", "PG-17", "PG-18", "IL-1"):
        assert verdicts[cid] == "false as written", cid
    for cid in ("PG-1", "PG-2", "PG-3", "PG-8", "PG-22", "IL-3"):
        assert verdicts[cid] in ("holds", "holds under conditions"), cid


def test_table_has_one_row_per_claim(result, capsys):
    table = verification.claims_table(result["claims"])
    lines = table.splitlines()
    assert lines[0].split() == ["ID", "verdict", "check", "time"]
    assert len(lines) == 1 + len(CLAIMS)
    assert any(line.startswith("PG-5 ") and "false as written" in line for line in lines)


def test_compare_reports_changed_verdicts_steps_and_errors(result):
    expected = json.loads(json.dumps(verification._strip(result)))
    assert verification.compare(result, expected) == []
    changed = copy.deepcopy(expected)
    next(c for c in changed["claims"] if c["id"] == "PG-5")["verdict"] = "holds"
    assert any("PG-5: verdict changed from 'holds' to 'false as written'" in p
               for p in verification.compare(result, changed))
    changed = copy.deepcopy(expected)
    changed["proofs"]["pg05_causality"]["steps"][1] = "verified"
    assert any("pg05_causality: step 2: verified → false" in p
               for p in verification.compare(result, changed))
    changed = copy.deepcopy(expected)
    del changed["proofs"]["pg05_causality"]
    assert any("pg05_causality is new" in p for p in verification.compare(result, changed))
    fresh = copy.deepcopy(expected)
    pg5 = next(c for c in fresh["claims"] if c["id"] == "PG-5")
    pg5.update(verdict="undecided", check="none registered")
    assert not any("PG-5" in p for p in verification.compare(result, fresh))  # a new result...
    assert any(n.startswith("claim PG-5: new result 'false as written'")
               for n in verification.new_results(result, fresh))           # ...is reported
    broken = copy.deepcopy(result)
    broken["claims"][0]["error"] = "ValueError: boom"
    assert any("a check errors: ValueError: boom" in p
               for p in verification.compare(broken, expected))


def test_exit_status_is_one_when_a_result_changes(monkeypatch, result, capsys):
    expected = json.loads(json.dumps(verification._strip(result)))
    next(c for c in expected["claims"] if c["id"] == "PG-17")["verdict"] = "holds"
    monkeypatch.setattr(verification, "load_expected", lambda path=None: expected)
    assert main(["verify", "--no-progress", "PG-17"]) == 1
    assert "PG-17: verdict changed" in capsys.readouterr().err


def test_exit_status_is_one_when_a_check_errors(monkeypatch, capsys):
    def boom() -> Verdict:
        raise RuntimeError("kaboom")
    entry = ClaimCheck("PG-4", *CLAIMS["PG-4"], funcs=[boom])
    monkeypatch.setattr(verification, "registered", lambda: [entry])
    assert main(["verify", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "PG-4: a check errors: RuntimeError: kaboom" in err


def test_update_writes_the_expected_file(monkeypatch, tmp_path, capsys):
    path = tmp_path / "verdicts.json"
    monkeypatch.setattr(verification, "expected_path", lambda: path)
    assert main(["verify", "--no-progress", "--update"]) == 0
    saved = json.loads(path.read_text())
    assert {c["id"] for c in saved["claims"]} == set(CLAIMS)
    assert "seconds" not in saved["claims"][0]
    assert saved["proofs"]["pg05_causality"]["steps"][2] == "false"
