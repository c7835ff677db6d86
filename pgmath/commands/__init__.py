"""Subcommands of the ``pgmath`` command: each module defines ``register(subparsers)``."""

__all__ = ["fmt"]


def fmt(x: float, spec: str = ".4f") -> str:
    """A number for a table: ``format(x, spec)`` without a negative zero (``-0.0000``)."""
    out = format(x, spec)
    return out[1:] if out.startswith("-") and float(out) == 0 else out
