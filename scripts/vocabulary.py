"""Census of pgmath's argument vocabulary (issue 14, item 4). Rerunnable, read-only.

    python scripts/vocabulary.py            # counts
    python scripts/vocabulary.py --list     # and the offending functions

Counts, over every function defined in ``pgmath/`` (parsed with ``ast``, nothing
imported):

* parameters spelling the second θ (``theta_behaviour`` is the one spelling; the others
  are counted where they appear as a parameter name);
* parameters named ``n`` / ``N`` (a batch size is ``batch_size``);
* public functions (listed in a module's ``__all__``, outside the tooling: claims,
  proofs, commands, docs site) whose optional parameters
  (those with a default, ``theta`` and ``policy`` excepted: they are the data of the
  ``(mdp, policy, theta)`` triple) can be passed positionally.
"""
from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "pgmath"
SECOND_THETA = ("theta_behaviour", "behaviour_theta", "theta_b", "theta_p", "theta_q",
                "theta_a", "theta_target", "theta_old", "theta_new")
BATCH = ("n", "N", "n_samples", "num_samples")
#: Data, not options: ``theta`` may default to ``None`` (a probability table as policy).
DATA = ("theta", "policy")
#: Tooling, not the library's API: the claim checks, proofs and the command line.
TOOLING = ("claims", "proofs", "commands", "cli.py", "docsite.py", "mkdocs_hook.py",
           "verification.py", "derivation.py")


def _all(tree: ast.Module) -> set[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            if isinstance(node.value, (ast.List, ast.Tuple)):
                return {e.value for e in node.value.elts
                        if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def census():
    spellings: Counter = Counter()
    batch: list[str] = []
    positional: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        rel = path.relative_to(ROOT.parent)
        public = _all(tree)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            args = node.args
            names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
            for name in names:
                if name in SECOND_THETA:
                    spellings[name] += 1
                if name in BATCH:
                    batch.append(f"{rel}:{node.lineno} {node.name}({name})")
            if node.name in public and node in tree.body and rel.parts[1] not in TOOLING:
                pos = args.posonlyargs + args.args
                n_opt = len(args.defaults)
                optional = [a.arg for a in pos[len(pos) - n_opt:]
                            if a.arg not in DATA] if n_opt else []
                if optional:
                    positional.append(f"{rel}:{node.lineno} {node.name}: {', '.join(optional)}")
    return spellings, batch, positional


def main(argv: list[str]) -> int:
    spellings, batch, positional = census()
    print("second-theta parameter spellings:")
    for name in SECOND_THETA:
        print(f"  {name:16s} {spellings[name]}")
    print(f"parameters named n/N/n_samples: {len(batch)}")
    print(f"public functions with positional options: {len(positional)}")
    if "--list" in argv:
        for line in batch + positional:
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
