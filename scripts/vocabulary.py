"""Census of pgmath's argument vocabulary (issue 14, item 4). Rerunnable, read-only.

    python scripts/vocabulary.py            # counts
    python scripts/vocabulary.py --list     # and the offending functions
    python scripts/vocabulary.py --root DIR # another checkout's package, e.g. before:
        git archive 1f967a8 pgmath | tar -x -C /tmp/before && \
        python scripts/vocabulary.py --root /tmp/before/pgmath

Counts, over every function defined in ``pgmath/`` (parsed with ``ast``, nothing
imported):

* parameters spelling the second θ (``theta_behaviour`` is the one spelling; the others
  are counted where they appear as a parameter name);
* parameters named ``n`` / ``N`` (a batch size is ``batch_size``);
* public functions (listed in a module's ``__all__``, outside the tooling: claims,
  proofs, commands, docs site) whose optional parameters
  (those with a default, ``theta``, ``policy`` and ``rng`` excepted: they are data; and
  the first parameter of a function that has only optional ones, its principal one as
  in ``environments.chain(4)``) can be passed positionally.
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
#: Data, not options: ``theta`` may default to ``None`` (a probability table as policy);
#: ``rng`` is the one source of randomness, positional as in ``pgmath.sample``;
#: ``problems`` the battery a rollout check runs on.
DATA = ("theta", "policy", "rng", "problems")
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


def census(root: Path = ROOT):
    spellings: Counter = Counter()
    others: list[str] = []
    batch: list[str] = []
    positional: list[str] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        rel = path.relative_to(root.parent)
        public = _all(tree)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            args = node.args
            names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
            for name in names:
                if name in SECOND_THETA:
                    spellings[name] += 1
                    if name != "theta_behaviour":
                        others.append(f"{rel}:{node.lineno} {node.name}({name})")
                if name in BATCH:
                    batch.append(f"{rel}:{node.lineno} {node.name}({name})")
            private = path.name.startswith("_") and path.name != "__init__.py"
            if node.name in public and node in tree.body and not private \
                    and rel.parts[1] not in TOOLING:
                pos = args.posonlyargs + args.args
                n_opt = len(args.defaults)
                first_opt = len(pos) - n_opt
                # a function of options only (chain(n_states=4)) keeps its principal one
                skip = 1 if first_opt == 0 else 0
                optional = [a.arg for a in pos[first_opt + skip:]
                            if a.arg not in DATA] if n_opt else []
                if optional:
                    positional.append(f"{rel}:{node.lineno} {node.name}: {', '.join(optional)}")
    return spellings, others, batch, positional


def main(argv: list[str]) -> int:
    root = Path(argv[argv.index("--root") + 1]) if "--root" in argv else ROOT
    spellings, others, batch, positional = census(root)
    print("second-theta parameter spellings:")
    for name in SECOND_THETA:
        print(f"  {name:16s} {spellings[name]}")
    print(f"parameters named n/N/n_samples: {len(batch)}")
    print(f"public functions with positional options: {len(positional)}")
    if "--list" in argv:
        for line in others + batch + positional:
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
