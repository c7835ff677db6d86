"""docs/guide/checking.md runs as written: every ``python`` block (in order, in one
namespace, each asserting what the page says; the complete test file in its own namespace,
its tests run by tests/test_testing.py), and every ``pgmath check`` command of its
``console`` blocks, run in a temporary folder on the page's ``my_estimators.py``, prints
the rows, notes and summary the page shows (environment, verdict, method; N where it is
exact) and the failing problem as code that runs."""
import re
import subprocess
import sys

import pytest

from pgmath.paths import docs_dir

PAGE = docs_dir() / "guide" / "checking.md"
TEST_FILE = "# tests/test_my_estimators.py"
ZERO = '''

def zero(batch, policy, theta):
    return np.zeros((batch.n, policy.n_params))
'''
ROW = re.compile(r"^(?P<env>\S.*?\))\s+(?P<verdict>pass|FAIL|inconclusive)\s+(?P<method>\S+)\s+"
                 r"(?P<n>[\d,]+)\s")


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def test_python_blocks_run_in_order():
    blocks = _blocks("python")
    assert blocks[0].startswith("# my_estimators.py") and any(b.startswith(TEST_FILE) for b in blocks)
    ns: dict = {}
    for i, code in enumerate(blocks):
        target = {} if code.startswith(TEST_FILE) else ns
        exec(compile(code, f"checking.md[python {i}]", "exec"), target)  # noqa: S102 - our docs
    assert "my_estimator" in ns and "flipped" in ns


def _rows(text: str) -> dict[str, re.Match]:
    return {m["env"]: m for m in map(ROW.match, text.splitlines()) if m}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("project")
    (folder / "my_estimators.py").write_text(_blocks("python")[0] + ZERO, encoding="utf-8")
    return folder


@pytest.mark.parametrize("index", range(3))
def test_console_blocks_print_what_the_page_shows(project, index):
    block = _blocks("console")[index]
    command, *shown = block.splitlines()
    assert command.startswith("$ pgmath check ")
    run = subprocess.run([sys.executable, "-m", "pgmath", *command[2:].split()[1:]],
                         cwd=project, capture_output=True, text=True, timeout=600)
    out = run.stdout
    summary = shown[-1] if "smallest failing" not in block else None
    if summary is not None:
        expected_status = 0 if summary.startswith("all ") else 3
        assert run.returncode == expected_status, run.stderr[-2000:]
        assert out.rstrip().splitlines()[-1] == summary
    got = _rows(out)
    for env, m in _rows(block).items():
        assert env in got, (env, out)
        g = got[env]
        assert (g["verdict"], g["method"]) == (m["verdict"], m["method"]), (env, out)
        if m["method"] == "enumeration":
            assert g["n"] == m["n"], (env, out)
    for line in shown:
        if line.startswith(("asymptotic:", "inconclusive ")):
            assert any(o.startswith(line.split(" detectable")[0]) for o in out.splitlines()), line
    if summary is None:
        _check_failing_problem(block, out, run.returncode)


def _check_failing_problem(block: str, out: str, status: int) -> None:
    assert status == 1
    code = out.split("the smallest failing problem, to reproduce:\n", 1)[1]
    shown = block.split("the smallest failing problem, to reproduce:\n", 1)[1]

    def stable(text: str) -> list[str]:   # the folder differs; θ is the seeded one
        return [line for line in text.strip().splitlines() if not line.startswith("sys.path")]
    assert stable(code) == stable(shown)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0 and "FAIL (biased)" in run.stdout, run.stderr[-2000:]
