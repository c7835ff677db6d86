"""``pgmath docs``: write the documentation site into ``docs/`` — index, claims table,
errata, one page per SymPy derivation, figures — from ``proofs/`` and the committed
expected results ``pgmath/claims/verdicts.json`` (refresh those with ``pgmath verify --update``).
Build the HTML with ``mkdocs build --strict`` (maths rendered to MathML, offline)."""
from __future__ import annotations

import sys
from pathlib import Path

from .. import docsite


def _docs(args) -> int:
    out = Path(args.outdir) if args.outdir else None
    if args.check:
        stale = docsite.stale_pages(out)
        for rel in stale:
            print(f"stale: docs/{rel}", file=sys.stderr)
        return 1 if stale else 0
    written = docsite.write_site(out, with_figures=not args.no_figures)
    print(f"wrote {len(written)} pages into {written[0].parent if written else out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("docs", help="write the documentation site into docs/", description=__doc__)
    p.add_argument("--outdir", help="write here instead of docs/")
    p.add_argument("--no-figures", action="store_true", help="do not redraw the figures")
    p.add_argument("--check", action="store_true",
                   help="only report generated pages that are stale (exit 1 if any)")
    p.set_defaults(func=_docs)
