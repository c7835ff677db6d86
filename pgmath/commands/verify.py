"""``pgmath verify``: run every SymPy proof and every claim check, print the claims table
(ID, verdict, deciding check, time; a progress bar on stderr) or ``--json``. Exits
non-zero only when a check errors or a result differs from the committed expected
results (``docs/verdicts.json``; refresh it with ``--update``) — never because a claim
of the notes is false."""
from __future__ import annotations

import json
import sys

from .. import verification


def _verify(args) -> int:
    result = verification.run_all(progress=not args.no_progress and sys.stderr.isatty()
                                  or args.progress, claim_ids=args.claims or None)
    expected = verification.load_expected()
    problems = verification.compare(result, expected)
    if args.json:
        out = []
        for c in result["claims"]:
            item = {k: c[k] for k in ("id", "verdict", "check", "seconds")}
            for k in ("conditions", "correction", "counterexample", "evidence", "error"):
                if c.get(k):
                    item[k] = c[k]
            out.append(item)
        print(json.dumps(out, indent=1, ensure_ascii=False))
    else:
        print(verification.claims_table(result["claims"]))
        counts = {}
        for c in result["claims"]:
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
        n_steps = sum(len(p["steps"]) for p in result["proofs"].values())
        n_ok = sum(s == "verified" for p in result["proofs"].values() for s in p["steps"])
        print(f"\n{len(result['proofs'])} proofs, {n_ok}/{n_steps} steps verified by SymPy; "
              + ", ".join(f"{n} {v}" for v, n in counts.items()))
    if args.update:
        if any("error" in c for c in result["claims"]) or any(
                "error" in p for p in result["proofs"].values()):
            print("not updating: a check errors", file=sys.stderr)
        elif args.claims:
            print("not updating: --update needs the full run (no claim IDs)", file=sys.stderr)
        else:
            path = verification.save_expected(result)
            print(f"wrote {path}", file=sys.stderr)
            problems = []
    if not args.update:
        for note in verification.new_results(result, expected):
            print(f"pgmath verify: {note} (accept with --update)", file=sys.stderr)
    for p in problems:
        print(f"pgmath verify: {p}", file=sys.stderr)
    return 1 if problems else 0


def register(sub) -> None:
    p = sub.add_parser("verify", help="run every proof and claim check; print the claims table",
                       description=__doc__)
    p.add_argument("claims", nargs="*", help="only these claim IDs (e.g. PG-5 IL-1)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list, one object per claim (id, verdict, check, "
                        "conditions/correction, seconds)")
    p.add_argument("--update", action="store_true",
                   help="write the results as the new expected results (docs/verdicts.json)")
    p.add_argument("--progress", action="store_true", help="progress bar even when not a tty")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_verify)
