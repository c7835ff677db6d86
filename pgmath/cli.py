"""The ``pgmath`` command. Subcommands live in :mod:`pgmath.commands`, one module each,
every module defining ``register(subparsers)`` that adds its parser and sets
``func=handler`` (``handler(args) -> int`` exit status); :data:`COMMANDS` lists them
(tests/test_cli.py checks that every module of the package is listed)."""
from __future__ import annotations

import argparse
import sys

from .commands import check, docs, envs, learn, verify
from .errors import PgmathError

#: The subcommand modules, in the order ``pgmath --help`` lists them.
COMMANDS = (check, docs, envs, learn, verify)

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgmath",
        description="Exact, checkable mathematics of policy-gradient reinforcement learning.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in COMMANDS:
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; a user's mistake (a :class:`~pgmath.errors.PgmathError`) is one line
    on stderr and exit status 2, not a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except PgmathError as exc:
        print(f"pgmath {args.command}: error: {exc}", file=sys.stderr)
        return 2

