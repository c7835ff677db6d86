"""MkDocs hook (``hooks:`` in mkdocs.yml): renders the pages' LaTeX to MathML at build
time, so the site needs no JavaScript maths renderer and no network.

``$$…$$`` (display) and ``$…$`` (inline) outside code are converted with
:func:`latex_to_mathml` (``latex2mathml``) into placeholders before Markdown runs, and
the MathML is put back into the HTML afterwards, so Markdown never touches it. A formula
that cannot be converted fails the build.
"""
from __future__ import annotations

import re

__all__ = ["latex_to_mathml", "render_math", "on_page_markdown", "on_page_content"]

_FENCE = re.compile(r"(^```.*?^```[^\n]*$|`[^`\n]+`)", re.M | re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)([^$\n]+?)(?<!\\)\$")
_KEY = "PGMATHMATH{}X"


class MathError(ValueError):
    """A formula latex2mathml cannot convert (the message quotes it)."""


def latex_to_mathml(tex: str, *, display: bool = False) -> str:
    """MathML for one LaTeX formula (``display="block"`` for display maths)."""
    from latex2mathml.converter import convert
    try:
        return convert(tex.strip(), display="block" if display else "inline")
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
