"""Where the source checkout's top-level folders are (proofs/, docs/)."""
from __future__ import annotations

from pathlib import Path

__all__ = ["repo_root", "proofs_dir", "docs_dir"]


def repo_root() -> Path:
    """The source checkout that holds this package (pgmath is installed editable)."""
    return Path(__file__).resolve().parent.parent


def proofs_dir() -> Path:
    """``proofs/``: one SymPy derivation per file."""
    return repo_root() / "proofs"


def docs_dir() -> Path:
    """``docs/``: the generated documentation site."""
    return repo_root() / "docs"
