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
from pgmath.claims import registered
from pgmath.derivation import checked, proof_files
from pgmath.mkdocs_hook import MathError, latex_to_mathml, render_math
from pgmath.paths import docs_dir, repo_root
from pgmath.verification import load_expected


@pytest.fixture(scope="module")
def pages():
    return docsite.generate_pages()


def test_internal_links_resolve_to_files_so_the_site_works_from_disk(site):
    """use_directory_urls is off: every relative link of every built page names an
    existing file, which is what opening the site from file:// needs (a server needs no
    more)."""
    for page in _html_pages(site):
        for href in re.findall(r'(?:href|src)="([^"#:?]+)(?:#[^"]*)?"', page.read_text(encoding="utf-8")):
            if href.startswith(("/", "mailto")) or not href:
                continue
            target = (page.parent / html.unescape(href)).resolve()
            assert target.exists(), (page.relative_to(site), href)


def test_site_served_over_http_renders_the_claims_table(site, tmp_path):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed")
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1", "-d", str(site)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        import time
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        dom = _chromium("--dump-dom", f"http://127.0.0.1:{port}/claims/index.html",
                        profile=tmp_path / "profile").stdout
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert dom.count("<math") > 54 and "PG-8 · A constant baseline" in dom


def test_figures_are_current_and_byte_reproducible(tmp_path):
    """Drawing every figure afresh gives the committed PNGs byte for byte (no timestamps,
    no random ids): `pgmath docs` is reproducible and the committed figures are current."""
    fresh = docsite.write_figures(tmp_path)
    docsite._figure_listing(fresh)
    committed = docs_dir() / "figures"
    names = sorted(p.name for p in committed.iterdir())
    assert names == sorted(p.name for p in fresh.iterdir())
    stale = [n for n in names if (committed / n).read_bytes() != (fresh / n).read_bytes()]
    assert stale == [], f"stale figures {stale}: run `pgmath docs`"


def test_committed_docs_are_current(pages):
    stale = [rel for rel, text in pages.items()
             if not (docs_dir() / rel).exists() or (docs_dir() / rel).read_text(encoding="utf-8") != text]
    assert stale == [], f"stale generated docs {stale}: run `pgmath docs`"


def test_generated_pages_carry_the_header_and_the_guide_is_hand_written(pages):
    assert all(text.startswith(docsite.HEADER) for text in pages.values())
    assert {f"derivations/{p.stem}.md" for p in proof_files()} <= set(pages)
    assert {"index.md", "claims/index.md", "errata.md", "figures.md",
            "derivations/index.md"} <= set(pages)
    assert {docsite.claim_page_name(c.id) for c in registered()} <= set(pages)
    guide = (docs_dir() / "guide" / "index.md").read_text(encoding="utf-8")
    assert not guide.startswith(docsite.HEADER)


def test_claims_table_quotes_the_notes_and_errata_list_every_mistake(pages):
    table = pages["claims/index.md"]
    expected = {c["id"]: c for c in load_expected()["claims"]}
    assert len(expected) == 54
    for c in registered():
        row = next(line for line in table.splitlines() if line.startswith(f"| [{c.id}]("))
        cells = row.split(" | ")
        assert docsite._cell(c.quote) in cells[1], c.id          # the notes' words, quoted
        assert cells[2] == expected[c.id]["verdict"], c.id      # the verdict in words
        page = pages[docsite.claim_page_name(c.id)]
        assert page.splitlines()[2] == f"# {c.id} · {c.title}"
        assert "Decided by:" in page and expected[c.id]["decided_by"][0] in page
    errata = pages["errata.md"]
    for c in expected.values():
        if c["verdict"] == "false as written":
            assert f"[{c['id']}](claims/{c['id'].lower()}.md)" in errata
            assert docsite._cell(c["correction"]) in errata and docsite._cell(c["counterexample"]) in errata
    for p in proof_files():
        d, results = checked(p.stem)
        for r in results:
            if r.status == "false" and r.step.notes:
                assert f"[{d.title}, step {r.number}](derivations/{d.name}.md#step-{r.number})" in errata
                assert f"step {r.number} ({r.step.title}) fails at" in errata


#: Code points that need an emoji font (pictographs, dingbats, variation selector 16).
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u2B00-\u2BFF]")


def test_no_emoji_glyphs_and_no_file_outside_the_repository(pages):
    files = subprocess.run(["git", "ls-files"], cwd=repo_root(), capture_output=True,
                           text=True).stdout.split()
    tracked = set(files) | {p.relative_to(repo_root()).as_posix()
                            for p in repo_root().rglob("*") if ".venv" not in p.parts}
    for rel, text in pages.items():
        assert not EMOJI.search(text), (rel, EMOJI.search(text).group(0))
        for name in re.findall(r"`([\w./-]+\.(?:py|md|json|yml|toml))(?:::\w+)?`", text):
            assert name in tracked, f"{rel} names {name}, which is not in the repository"
        assert "CLAIMS.md" not in text and "../shared" not in text, rel


def test_nav_titles_come_from_page_titles():
    from pgmath.mkdocs_hook import expand_nav
    nav = expand_nav(["index.md", {"Claims": "claims/"}, {"Derivations": "derivations/"}],
                     docs_dir())
    claims = nav[1]["Claims"]
    assert claims[0] == {"Claims of the notes": "claims/index.md"}
    titles = [next(iter(e)) for e in claims[1:]]
    assert titles[:2] == ["IL-1 · Behavioural cloning's cost is O(εT²)",
                          "IL-2 · The learner's state distribution drifts by at most 2εt"]
    assert [t.split(" ·")[0] for t in titles] == [c.id for c in registered()]
    derivs = dict(next(iter(e.items())) for e in nav[2]["Derivations"])
    assert derivs["PG-8 · A constant baseline leaves the gradient unbiased"] == \
        "derivations/pg08_baseline.md"


def test_write_site_into_a_fresh_directory(tmp_path):
    written = docsite.write_site(tmp_path, with_figures=False)  # figures: next test
    assert (tmp_path / "claims" / "index.md").read_text() == \
        (docs_dir() / "claims" / "index.md").read_text()
    assert len(written) == len(proof_files()) + 5 + len(registered())


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
    return sorted(p for p in site.rglob("*.html")
                  if "search" not in p.parts and p.name != "404.html" and p.name != "probe.html")


def test_mkdocs_build_strict_renders_every_formula_to_mathml(site):
    pages = _html_pages(site)
    assert len(pages) >= len(proof_files()) + 5
    for md in docs_dir().rglob("*.md"):
        rel = md.relative_to(docs_dir()).with_suffix("")
        html_path = site / rel.with_suffix(".html")
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
    # Latin Modern Math (shipped with the site) is the font the formulas are laid out in
    fonts = _chromium("--allow-file-access-from-files", "--dump-dom",
                      (site / "errata.html").as_uri(), profile=tmp_path / "profile").stdout
    assert "Latin Modern Math" in (site / "stylesheets" / "math.css").read_text()
    assert (site / "stylesheets" / "fonts" / "latinmodern-math.otf").exists() and fonts
    shot = tmp_path / "causality.png"
    _chromium("--window-size=1200,1600", f"--screenshot={shot}",
              (site / "derivations" / "pg05_causality.html").as_uri(),
              profile=tmp_path / "profile")
    assert shot.exists() and shot.stat().st_size > 20_000

def test_user_guide_examples_run_and_show_what_they_claim(capsys):
    """The guide's worked example: the off-by-one estimator is biased (exact bias clearly
    non-zero), reward-to-go is not (bias at rounding level); the derivation example
    verifies."""
    guide = (docs_dir() / "guide" / "index.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 2
    for code in blocks:
        exec(compile(code, "guide/index.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    biases = [float(line.split()[1]) for line in out if line.startswith("bias ")]
    assert biases[0] > 1e-3 and biases[1] < 1e-12
    assert "['verified']" in out
