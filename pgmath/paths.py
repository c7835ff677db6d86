"""Where pgmath's files are: the proofs and the expected verdicts ship inside the package
(so ``pgmath verify`` works from a regular install); ``docs/`` belongs to a source checkout."""
from __future__ import annotations

from pathlib import Path

from .errors import PgmathError

__all__ = ["package_dir", "proofs_dir", "expected_verdicts_path", "repo_root", "docs_dir",
           "NotACheckoutError", "shared_dir"]


class NotACheckoutError(PgmathError):
    """A command needs the source checkout (``docs/``, ``pyproject.toml``) and pgmath is
    installed from a wheel."""


def package_dir() -> Path:
    """The installed ``pgmath`` package."""
    return Path(__file__).resolve().parent


def proofs_dir() -> Path:
    """``pgmath/proofs/``: one SymPy derivation per module (package data of pgmath)."""
    return package_dir() / "proofs"


def expected_verdicts_path() -> Path:
    """``pgmath/claims/verdicts.json``: the committed expected results of ``pgmath verify``."""
    return package_dir() / "claims" / "verdicts.json"


def repo_root() -> Path:
    """The source checkout holding this package. Raises :class:`NotACheckoutError` when
    pgmath runs from a regular install (no ``pyproject.toml`` beside the package)."""
    root = package_dir().parent
    if not (root / "pyproject.toml").exists():
        raise NotACheckoutError(
            f"pgmath runs from an installed package ({package_dir()}), not from a source "
            "checkout: this needs the checkout's docs/ (clone the repository and "
            "`pip install -e .`), or pass --outdir")
    return root


def docs_dir() -> Path:
    """``docs/`` of the source checkout: the generated documentation site."""
    return repo_root() / "docs"


def shared_dir() -> Path | None:
    """The project's ``shared/`` folder (CLAIMS.md, the notes) beside the checkout or one of
    its parents, or None: it is not part of the repository or the package."""
    for parent in package_dir().parents:
        cand = parent / "shared"
        if (cand / "CLAIMS.md").exists():
            return cand
    return None
