"""`pgmath docs`: the generated pages are current (a fresh generation equals the committed
files), carry the generated header, list every mistake on the errata page; the MathML
hook; `mkdocs build --strict`; and the built site in headless Chromium."""
import html
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pgmath import docsite
from pgmath.claims import CLAIMS
from pgmath.derivation import checked, proof_files
from pgmath.mkdocs_hook import MathError, latex_to_mathml, render_math
from pgmath.paths import docs_dir, repo_root
from pgmath.verification import load_expected


@pytest.fixture(scope="module")
def pages():
    return docsite.generate_pages()


def test_committed_docs_are_current(pages):
    stale = [rel for rel, text in pages.items()
             if not (docs_dir() / rel).exists() or (docs_dir() / rel).read_text(encoding="utf-8") != text]
    assert stale == [], f"stale generated docs {stale}: run `pgmath docs`"


def test_generated_pages_carry_the_header_and_the_guide_is_hand_written(pages):
    assert all(text.startswith(docsite.HEADER) for text in pages.values())
    assert {f"derivations/{p.stem}.md" for p in proof_files()} <= set(pages)
    assert {"index.md", "claims.md", "errata.md", "figures.md", "derivations/index.md"} <= set(pages)
    guide = (docs_dir() / "guide" / "index.md").read_text(encoding="utf-8")
    assert not guide.startswith(docsite.HEADER)


def test_claims_page_has_every_claim_and_errata_every_mistake(pages):
    claims = pages["claims.md"]
    for cid in CLAIMS:
        assert f"| [{cid}](#{cid.lower()}) |" in claims and f"## {cid}\n" in claims
    errata = pages["errata.md"]
    for c in load_expected()["claims"]:
        if c["verdict"] == "false as written":
            assert f"### {c['id']} " in errata and c["correction"] in errata
    for p in proof_files():
        d, results = checked(p.stem)
        for r in results:
            if r.status == "false" and r.step.notes:
                assert f"[{d.title}, step {r.number}](derivations/{d.name}.md)" in errata


def test_write_site_into_a_fresh_directory(tmp_path):
    written = docsite.write_site(tmp_path, with_figures=False)  # figures: next test
    assert (tmp_path / "claims.md").read_text() == (docs_dir() / "claims.md").read_text()
    assert len(written) == len(proof_files()) + 5


def test_figures_are_drawn_listed_and_recorded(tmp_path, monkeypatch):
    from pgmath.claims import Figure

    def draw(outdir):
        path = outdir / "demo_curve.png"
        path.write_bytes(b"\x89PNG fake")
        return [path]
    monkeypatch.setattr(docsite, "figures", lambda: [Figure("demo", "A demo curve", draw)])
    figdir = docsite.write_figures(tmp_path)
    listing = docsite._figure_listing(figdir)
    assert listing == [("demo", "A demo curve", ["demo_curve.png"])]
    assert json.loads((figdir / "manifest.json").read_text()) == {"demo": ["demo_curve.png"]}
    page = docsite._figures_page(listing)
    assert "## A demo curve" in page and "![A demo curve](figures/demo_curve.png)" in page


def test_hook_renders_inline_and_display_maths_and_leaves_code_alone():
    pytest.importorskip("latex2mathml")
    md = "Inline $x_t^2$ and\n\n$$\n\\frac{a}{b}\n$$\n\n`$not maths$` and\n```\n$$ code $$\n```\n"
    text, stash = render_math(md)
    assert len(stash) == 2
    display, inline = stash  # display maths is converted first
    assert 'display="inline"' in inline and "<msubsup>" in inline
    assert 'display="block"' in display and "<mfrac>" in display
    assert "`$not maths$`" in text and "$$ code $$" in text


def test_hook_refuses_latex_it_cannot_render():
    pytest.importorskip("latex2mathml")
    with pytest.raises(MathError, match="cannot render LaTeX"):
        latex_to_mathml(r"\frac{a}{")


def _formulas(markdown: str) -> int:
    return len(render_math(markdown)[1])


@pytest.fixture(scope="module")
def site():
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("latex2mathml") is None:
        pytest.skip("mkdocs or latex2mathml not installed")
    out = Path(tempfile.mkdtemp(prefix="pgmath-site-"))
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
                          cwd=repo_root(), capture_output=True, text=True,
                          env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin",
                               "PYTHONPATH": str(repo_root())})
    assert proc.returncode == 0, proc.stderr[-3000:]
    yield out
    shutil.rmtree(out, ignore_errors=True)


def _html_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("index.html") if "search" not in p.parts)


def test_mkdocs_build_strict_renders_every_formula_to_mathml(site):
    pages = _html_pages(site)
    assert len(pages) >= len(proof_files()) + 5
    for md in docs_dir().rglob("*.md"):
        rel = md.relative_to(docs_dir()).with_suffix("")
        html_path = site / (rel.parent if rel.name == "index" else rel) / "index.html"
        html = html_path.read_text(encoding="utf-8")
        assert html.count("<math ") == _formulas(md.read_text(encoding="utf-8")), md
        assert "PGMATHMATH" not in html and "$$" not in html
    assert not re.search(r"https?://cdn", "".join(p.read_text() for p in pages))


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _chromium(*args, profile):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


#: A probe page that loads every page of the site in an iframe and records, per page,
#: whether each <math> element is a MathML element Chromium laid out with a non-empty box
#: ("ok"/"bad", comma-separated) and whether an <merror> or raw "$$" is present.
_PROBE = """<!doctype html><html><body><script>
const pages = %s; const results = {}; let pending = pages.length;
for (const p of pages) {
  const f = document.createElement('iframe');
  f.style.width = '1000px'; f.style.height = '700px'; f.src = p;
  f.onload = () => {
    const d = f.contentDocument, W = f.contentWindow;
    const marks = [...d.querySelectorAll('math')].map(m => {
      const r = m.getBoundingClientRect();
      return (m instanceof W.MathMLElement && r.width > 0 && r.height > 0) ? 'ok' : 'bad'; });
    results[p] = {math: marks.join(','), merror: !!d.querySelector('merror'),
                  raw: d.body.innerText.includes('$$')};
    if (--pending === 0) document.body.setAttribute('data-results', JSON.stringify(results));
  };
  document.body.appendChild(f);
}
</script></body></html>"""


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_site_renders_in_headless_chromium(site, tmp_path):
    """Chromium lays out every formula of every page as MathML (native rendering, offline):
    each <math> is a MathMLElement with a non-empty box, there is no <merror> and no raw
    TeX; a screenshot of a derivation page is non-trivial."""
    pages = [p.relative_to(site).as_posix() for p in _html_pages(site)]
    probe = site / "probe.html"
    probe.write_text(_PROBE % json.dumps(pages), encoding="utf-8")
    dom = _chromium("--allow-file-access-from-files", "--dump-dom", probe.as_uri(),
                    profile=tmp_path / "profile").stdout
    found = re.search(r'data-results="([^"]*)"', dom)
    assert found is not None, dom[-2000:]
    results = json.loads(html.unescape(found.group(1)))
    assert sorted(results) == sorted(pages)
    for rel, res in results.items():
        n = (site / rel).read_text(encoding="utf-8").count("<math ")
        assert res["math"] == ",".join(["ok"] * n), (rel, res)
        assert not res["merror"] and not res["raw"], (rel, res)
    assert sum(len(r["math"].split(",")) for r in results.values() if r["math"]) > 200
    shot = tmp_path / "causality.png"
    _chromium("--window-size=1200,1600", f"--screenshot={shot}",
              (site / "derivations" / "pg05_causality" / "index.html").as_uri(),
              profile=tmp_path / "profile")
    assert shot.exists() and shot.stat().st_size > 20_000

def test_user_guide_examples_run_and_show_what_they_claim(capsys):
    """The guide's worked example: the off-by-one estimator is biased (exact bias clearly
    non-zero), reward-to-go is not (bias at rounding level); the derivation example
    verifies; the probability check clips rounding and names a real error."""
    guide = (docs_dir() / "guide" / "index.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 3
    for code in blocks:
        exec(compile(code, "guide/index.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    biases = [float(line.split()[1]) for line in out if line.startswith("bias ")]
    assert biases[0] > 1e-3 and biases[1] < 1e-12
    assert "['verified']" in out
    assert "[0.25, 1.0]" in out and any(line.startswith("eps[1] = 1.001 is not a probability")
                                         for line in out)
