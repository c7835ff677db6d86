"""MkDocs hook (``hooks:`` in mkdocs.yml): renders the pages' LaTeX to MathML at build
time, so the site needs no JavaScript maths renderer and no network.

``$$…$$`` (display) and ``$…$`` (inline) outside code are converted with
:func:`latex_to_mathml` (``latex2mathml``) into placeholders before Markdown runs, and
the MathML is put back into the HTML afterwards, so Markdown never touches it. A formula
that cannot be converted fails the build.
"""
from __future__ import annotations

import re
from pathlib import Path

__all__ = ["latex_to_mathml", "render_math", "expand_nav", "on_config", "on_page_markdown",
           "on_page_content"]

_FENCE = re.compile(r"(^```.*?^```[^\n]*$|`[^`\n]+`)", re.M | re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)([^$\n]+?)(?<!\\)\$")
_KEY = "PGMATHMATH{}X"


class MathError(ValueError):
    """A formula latex2mathml cannot convert (the message quotes it)."""


def latex_to_mathml(tex: str, *, display: bool = False) -> str:
    """MathML for one LaTeX formula (``display="block"`` for display maths)."""
    from latex2mathml.converter import convert
    tex = re.sub(r"\\arg\s*\\max", r"\\text{arg max}", tex)  # latex2mathml has no \arg
    tex = re.sub(r"\\arg(?![A-Za-z])", r"\\text{arg}", tex)
    try:
        out = convert(tex.strip(), display="block" if display else "inline")
        # a thin space after log, exp, max, … as TeX sets it (latex2mathml adds none)
        return re.sub(r"(<mi>(?:log|exp|max|min|tr|Var)</mi>|<mtext>arg(?: max)?</mtext>)",
                      r'\1<mspace width="0.1667em"></mspace>', out)
    except Exception as exc:  # noqa: BLE001 - re-raised with the formula
        raise MathError(f"cannot render LaTeX {tex.strip()!r}: {type(exc).__name__}: {exc}") from exc


def render_math(markdown: str) -> tuple[str, list[str]]:
    """(markdown with placeholders, MathML list). Code spans and fences are left alone."""
    stash: list[str] = []

    def keep(mathml: str) -> str:
        stash.append(mathml)
        return _KEY.format(len(stash) - 1)

    def convert(text: str) -> str:
        text = _DISPLAY.sub(lambda m: "\n\n" + keep(
            f'<div class="math-display">{latex_to_mathml(m.group(1), display=True)}</div>')
            + "\n\n", text)
        return _INLINE.sub(lambda m: keep(latex_to_mathml(m.group(1))), text)

    parts = _FENCE.split(markdown)
    out = [p if i % 2 else convert(p) for i, p in enumerate(parts)]
    return "".join(out), stash


_STASH: dict[str, list[str]] = {}


_H1 = re.compile(r"^# (.+)$", re.M)


def _title(path) -> str | None:
    """The page's first ``# heading`` (maths and links reduced to their text)."""
    m = _H1.search(path.read_text(encoding="utf-8"))
    if not m:
        return None
    t = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))
    return re.sub(r"\{#[^}]*\}", "", t).replace("$", "").strip()


def expand_nav(nav, docs_dir):
    """The nav with every entry titled by its page's first heading, and every entry whose
    value is a folder (``"claims/"``) expanded into that folder's pages (``index.md``
    first, then by name in natural order): generated folders need no hand-kept list, and
    hand-written entries (``guide/…``) keep working."""
    docs = Path(docs_dir)

    def natural(p):
        # claim pages in the notes' order (IL, RL, PG), then by number
        parts = [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", p.stem)]
        return [{"il-": 0, "rl-": 1, "pg-": 2}.get(str(parts[0]), 3), *parts]

    def item(entry):
        if isinstance(entry, str):
            if entry.endswith("/"):
                return _folder(entry)
            t = _title(docs / entry) if (docs / entry).exists() else None
            return {t: entry} if t else entry
        (label, value), = entry.items()
        if isinstance(value, list):
            return {label: [item(e) for e in value]}
        if isinstance(value, str) and value.endswith("/"):
            return {label: _folder(value)}
        return entry

    def _folder(folder):
        pages = sorted((docs / folder).glob("*.md"),
                       key=lambda p: (p.name != "index.md", natural(p)))
        out = []
        for p in pages:
            rel = p.relative_to(docs).as_posix()
            t = _title(p)
            out.append({t: rel} if t else rel)
        return out

    return [item(e) for e in nav]


def on_config(config):  # MkDocs hook API
    if config.get("nav"):
        config["nav"] = expand_nav(config["nav"], config["docs_dir"])
    return config


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 - MkDocs hook API
    from mkdocs.exceptions import PluginError
    try:
        text, stash = render_math(markdown)
    except MathError as exc:
        raise PluginError(f"{page.file.src_path}: {exc}") from exc
    _STASH[page.file.src_path] = stash
    return text


def on_page_content(html, page, config, files):  # noqa: ARG001 - MkDocs hook API
    stash = _STASH.pop(page.file.src_path, [])
    html = re.sub(r"<p>\s*(" + _KEY.format(r"(\d+)") + r")\s*</p>",
                  lambda m: stash[int(m.group(2))], html)
    return re.sub(_KEY.format(r"(\d+)"), lambda m: stash[int(m.group(1))], html)
