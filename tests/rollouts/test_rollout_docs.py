"""docs/guide/episode-boundaries.md quotes the numbers scripts/episode_boundaries.py computes,
its example runs, and the figure script is deterministic."""
import importlib.util
import re

import pytest

from pgmath.paths import docs_dir, repo_root

PAGE = docs_dir() / "guide" / "episode-boundaries.md"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location(
        "episode_boundaries", repo_root() / "scripts" / "episode_boundaries.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_page_quotes_the_exact_tables(script):
    page = PAGE.read_text(encoding="utf-8")
    assert script.pattern_table() in page
    assert script.gap_table() in page
    assert "![Bias against the time limit H](figures/episode-boundaries-bias.png)" in page
    assert (docs_dir() / "guide" / "figures" / "episode-boundaries-bias.png").read_bytes()[:4] \
        == b"\x89PNG"


def test_the_page_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    runnable = [b for b in blocks if "..." not in b]
    assert runnable
    for code in runnable:
        exec(compile(code, "episode-boundaries.md", "exec"), {})


def test_the_figure_is_drawn_deterministically(script, tmp_path):
    a = script.draw(tmp_path / "a.png", time_limits=(2,))
    b = script.draw(tmp_path / "b.png", time_limits=(2,))
    assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 1000


def test_the_curves_say_what_the_page_says(script):
    c = script.curves((2, 12))
    for name in ("truncation_as_termination", "truncation_bootstraps_current_value",
                 "carried_across_truncation"):
        assert c[name][1] < c[name][0] / 10          # truncation bugs fade with H
    for name in ("done_read_late", "last_value_dropped"):
        assert c[name][1] > 0.01                      # these do not
    assert c["discounted"][1] < c["discounted"][0] / 10 and c["none"][1] > 0.01
