"""``pgmath verify``: decide every claim of the notes — run each claim's check and every SymPy
proof — and print the claims table (ID, verdict, claim, time; a progress bar on stderr),
each claim in full with ``--verbose``, or ``--json``. Exits non-zero only when a check
errors or a result differs from the expected results shipped with pgmath
(``pgmath/claims/verdicts.json``; refresh them from a source checkout with ``--update``)
— never because a claim of the notes is false."""
from __future__ import annotations

import json
import sys

from .. import verification
from ..paths import NotACheckoutError


def _verify(args) -> int:
    result = verification.run_all(progress=not args.no_progress and sys.stderr.isatty()
                                  or args.progress, claim_ids=args.claims or None)
    expected = verification.load_expected()
    problems = verification.compare(result, expected)
    if args.json:
        keys = [k for k in verification.CLAIM_KEYS if k != "statement"] + ["seconds"]
        print(json.dumps([{k: c[k] for k in keys if c.get(k) is not None}
                          for c in result["claims"]], indent=1, ensure_ascii=False))
    else:
        if args.verbose:
            print("\n\n".join(verification.claim_report(c) for c in result["claims"]))
            print()
        print(verification.claims_table(result["claims"]))
        counts: dict[str, int] = {}
        for c in result["claims"]:
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
        n_steps = sum(len(p["steps"]) for p in result["proofs"].values())
        n_ok = sum(s == "verified" for p in result["proofs"].values() for s in p["steps"])
        print(f"\n{len(result['claims'])} claims decided: "
              + ", ".join(f"{n} {v}" for v, n in counts.items())
              + f". {len(result['proofs'])} SymPy proofs, {n_ok}/{n_steps} steps verified."
              + ("" if args.verbose else " Each claim in full: pgmath verify --verbose [ID …]."))
    if args.update:
        if any("error" in c for c in result["claims"]) or any(
                "error" in p for p in result["proofs"].values()):
            print("not updating: a check errors", file=sys.stderr)
        elif args.claims:
            print("not updating: --update needs the full run (no claim IDs)", file=sys.stderr)
        else:
            try:
                path = verification.save_expected(result)
            except NotACheckoutError as exc:
                print(f"pgmath verify: {exc}", file=sys.stderr)
                return 1
            print(f"wrote {path}", file=sys.stderr)
            problems = []
    if not args.update:
        for note in verification.new_results(result, expected):
            print(f"pgmath verify: {note} (accept with --update)", file=sys.stderr)
    for p in problems:
        print(f"pgmath verify: {p}", file=sys.stderr)
    return 1 if problems else 0


def register(sub) -> None:
    p = sub.add_parser("verify", help="decide every claim of the notes; print the verdicts",
                       description=__doc__)
    p.add_argument("claims", nargs="*", help="only these claim IDs (e.g. PG-5 IL-1)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print each claim in full: its text, verdict, correction, "
                        "counterexample, evidence and what decides it")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list, one object per claim (id, verdict, texts, "
                        "decided_by, seconds)")
    p.add_argument("--update", action="store_true",
                   help="write the results as the new expected results "
                        "(pgmath/claims/verdicts.json; from a source checkout)")
    p.add_argument("--progress", action="store_true", help="progress bar even when not a tty")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_verify)
