"""docs/guide/lqr.md runs and says what pgmath computes: every code block executes (its
asserts are part of the test), the squashing table's exact biases and the figure's numbers
are current, and the figure is regenerated identically."""
import importlib.util
import json
import re

import numpy as np
import pytest

from pgmath import lqr
from pgmath.lqr import figure, squashing
from pgmath.paths import docs_dir

GUIDE = docs_dir() / "guide" / "lqr.md"


@pytest.fixture(scope="module")
def namespace():
    ns: dict = {}
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)):
        if "import torch" in block and importlib.util.find_spec("torch") is None:
            continue                        # the optional extra is absent: that block only
        exec(compile(block, f"guide/lqr.md, block {i}", "exec"), ns)
    return ns


def test_the_blocks_run_and_decide(namespace):
    assert namespace["ok"].passed and not namespace["bad"].passed
    if importlib.util.find_spec("torch") is not None:
        assert namespace["res"].passed
    assert namespace["p_crash_gaussian"] == pytest.approx(0.381, abs=5e-4)


def _numbers(text: str) -> list[float]:
    return [float(v.replace("−", "-")) for v in text.split(",")]


def test_the_squashing_table_is_current(namespace):
    text = GUIDE.read_text(encoding="utf-8")
    rows = {
        "atanh forgotten": namespace["bias"]["gaussian_of_squashed_action"],
        "without 1 − a²": namespace["bias"]["reparameterised, tanh Jacobian dropped"],
    }
    for key, value in rows.items():
        line = next(l for l in text.splitlines() if l.startswith("|") and key in l)
        shown = _numbers(re.search(r"\(([-−\d., ]+)\)", line).group(1))
        np.testing.assert_allclose(shown, value, atol=5e-5)
    grad = _numbers(re.search(r"∇J = \(([-−\d., ]+)\)", text).group(1))
    np.testing.assert_allclose(grad, namespace["grad"], atol=5e-5)


def test_the_variance_table_is_current(namespace):
    text = GUIDE.read_text(encoding="utf-8")
    names = {"REINFORCE": "reinforce", "reward-to-go": "reward_to_go",
             "reward-to-go, exact V baseline": "value_baseline",
             "pathwise (reparameterised)": "pathwise"}
    for label, key in names.items():
        row = re.search(rf"^\| {re.escape(label)} \| ([\d.]+) \|$", text, re.M)
        assert row, label
        assert float(row.group(1)) == pytest.approx(namespace["traces"][key], rel=5e-5), label


def test_the_figure_numbers_are_current():
    """A few horizons recomputed against the committed JSON (the full run takes minutes)."""
    stored = json.loads((docs_dir() / "guide" / "figures" / "lqr_variance_vs_T.json").read_text())
    assert stored["horizons"] == list(figure.HORIZONS)
    fresh = figure.variance_against_horizon((1, 7, 30))
    for name in figure.ESTIMATORS:
        for i, T in enumerate((1, 7, 30)):
            assert fresh[name][i] == pytest.approx(stored[name][T - 1], rel=1e-10), (name, T)
    assert (docs_dir() / "guide" / "figures" / "lqr_variance_vs_T.png").stat().st_size > 10_000
