"""Subcommands of the ``pgmath`` command: each module defines ``register(subparsers)``."""
