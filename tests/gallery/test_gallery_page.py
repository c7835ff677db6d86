"""docs/guide/gallery.md: its code runs as written (with the gallery libraries installed)
and shows what the page says (each block asserts its own claims)."""
import re

import pytest

for _lib in ("torch", "jax", "rlax", "stable_baselines3", "torchrl", "skrl"):
    pytest.importorskip(_lib)

from pgmath.paths import docs_dir  # noqa: E402


@pytest.mark.filterwarnings("ignore:Rlax softmax will be deprecated")
def test_gallery_page_examples_run(capsys):
    page = (docs_dir() / "guide" / "gallery.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(blocks) == 3
    namespace: dict = {}
    for i, code in enumerate(blocks):
        exec(compile(code, f"guide/gallery.md[{i}]", "exec"), namespace)
    out = capsys.readouterr().out.split()
    assert out[0] == "False" and 1e-9 < float(out[1]) < 1e-8 and out[2] == "biased"
