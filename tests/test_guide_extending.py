"""docs/guide/extending.md runs as written: every code block executes in order in one
namespace (its asserts are part of the test), on copies of the claim registry and the
environments table, so that the page's PG-99 and two_step do not leak into other tests."""
import re

import pytest

import pgmath.claims
from pgmath import environments
from pgmath.paths import docs_dir

GUIDE = docs_dir() / "guide" / "extending.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)


def test_the_page_has_its_three_parts():
    text = GUIDE.read_text(encoding="utf-8")
    for heading in ("## Adding an estimator", "## Adding a claim", "## Adding an environment"):
        assert heading in text
    assert len(_blocks()) >= 7


def test_the_blocks_run_and_decide_on_copies_of_the_registries():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pgmath.claims, "_CLAIMS", dict(pgmath.claims._CLAIMS))
        mp.setattr(environments, "NAMED", dict(environments.NAMED))
        ns: dict = {"__name__": "extending_guide"}  # as a script of that name would run it
        for i, block in enumerate(_blocks()):
            exec(compile(block, f"guide/extending.md, block {i}", "exec"), ns)
        assert "PG-99" in pgmath.claims._CLAIMS and "two_step" in environments.NAMED
    assert ns["res"].passed and ns["res"].method == "recursion"
    assert ns["result"]["verdict"] == "holds"
    assert ns["env"].n_states == 2
    assert "two_step" not in environments.NAMED
    assert "PG-99" not in {c.id for c in pgmath.claims.registered()}


def test_the_page_is_in_the_nav():
    nav = (docs_dir().parent / "mkdocs.yml").read_text(encoding="utf-8")
    assert "guide/extending.md" in nav
