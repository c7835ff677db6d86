"""`pgmath verify`: the claims table / JSON / --verbose, the comparison with the expected
results shipped in the package (pgmath/claims/verdicts.json), its exit status (non-zero
only for errors or changed results, never because a claim of the notes is false), and a
run from a regular (non-editable) install."""
import copy
import json
import os
import subprocess
import sys
import zipfile

import pytest

from pgmath import verification
from pgmath.claims import Claim, Verdict, get, registered
from pgmath.cli import main
from pgmath.paths import repo_root


def test_json_lists_every_claim_and_matches_the_committed_results(capsys):
    rc = main(["verify", "--json", "--no-progress"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0, "pgmath/claims/verdicts.json is out of date: run `pgmath verify --update`"
    assert [c["id"] for c in out] == [c.id for c in registered()] and len(out) == 54
    for c in out:
        assert c["decided_by"][0].startswith("pgmath/claims/") and isinstance(c["seconds"], float | int)


def test_table_fits_100_columns_and_verbose_prints_each_claim(result, capsys):
    table = verification.claims_table(result["claims"])
    lines = table.splitlines()
    assert lines[0].split() == ["ID", "verdict", "claim", "time"]
    assert len(lines) == 1 + 54 and max(len(line) for line in lines) <= 100
    assert any(line.startswith("PG-5 ") and "false as written" in line for line in lines)
    assert main(["verify", "--no-progress", "--verbose", "PG-5"]) == 0
    out = capsys.readouterr().out
    assert "wrong: the inner sum Σ_{t'=1}^t includes t' = t" in out
    assert "decided by: pgmath/claims/pg_onpolicy.py, pgmath/proofs/pg05_causality.py" in out
    assert max(len(line) for line in out.splitlines()) <= 100


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
    fresh["claims"] = [c for c in fresh["claims"] if c["id"] != "PG-32"]
    assert any(n.startswith("claim PG-32: new") for n in verification.new_results(result, fresh))
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
    c = get("PG-4")
    def boom() -> Verdict:
        raise RuntimeError("kaboom")
    entry = Claim(c.id, c.section, c.title, c.statement, c.quote, boom)
    monkeypatch.setattr(verification, "get", lambda cid: entry)
    assert main(["verify", "--no-progress", "PG-4"]) == 1
    assert "PG-4: a check errors: RuntimeError: kaboom" in capsys.readouterr().err


def test_unknown_claim_is_a_one_line_error(capsys):
    assert main(["verify", "--no-progress", "PG-99"]) == 2
    err = capsys.readouterr().err
    assert "unknown claim 'PG-99'" in err and "Traceback" not in err


def test_update_writes_the_expected_file(monkeypatch, tmp_path, capsys):
    path = tmp_path / "verdicts.json"
    monkeypatch.setattr(verification, "expected_path", lambda: path)
    assert main(["verify", "--no-progress", "--update"]) == 0
    saved = json.loads(path.read_text())
    assert len(saved["claims"]) == 54 and "seconds" not in saved["claims"][0]
    assert saved["proofs"]["pg05_causality"]["steps"][2] == "false"


def test_verify_runs_from_a_regular_install(tmp_path):
    """Build the wheel, unpack it (a regular install of a pure-Python package), and run
    `python -m pgmath verify` from it in an empty folder: the proofs and the expected
    verdicts come from inside the package, not from a checkout."""
    wheels = tmp_path / "wheels"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "-q", "-w", str(wheels), str(repo_root())],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {proc.stderr[-300:]}")
    (wheel,) = wheels.glob("pgmath-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    names = zipfile.ZipFile(wheel).namelist()
    assert "pgmath/claims/verdicts.json" in names and "pgmath/proofs/pg05_causality.py" in names
    work = tmp_path / "elsewhere"
    work.mkdir()
    # -S keeps the editable checkout off sys.path; the venv's packages come from PYTHONPATH
    deps = [p for p in sys.path if p.endswith("site-packages")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *deps])}
    run = subprocess.run([sys.executable, "-S", "-c",
                          "import pgmath, sys; print(pgmath.__file__);"
                          "from pgmath.cli import main; sys.exit(main(['verify', '--no-progress', 'PG-5', 'IL-9']))"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    first, *rest = run.stdout.splitlines()
    assert first.startswith(str(site))
    assert any(line.startswith("PG-5 ") and "false as written" in line for line in rest)
    docs = subprocess.run([sys.executable, "-S", "-m", "pgmath", "docs"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    assert docs.returncode == 2 and "not from a source checkout" in docs.stderr
