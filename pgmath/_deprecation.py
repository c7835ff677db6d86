"""Deprecated spellings kept for one release (issue 14: one vocabulary).

Each helper forwards an old call to the new one and raises a ``DeprecationWarning``
that names the new spelling:

* :func:`renamed_arguments`: keyword arguments renamed (``behaviour_theta=`` →
  ``theta_behaviour=``);
* :func:`keyword_only`: options that became keyword-only, still accepted positionally;
* :func:`deprecated_alias`: a function renamed or moved (the old name forwards);
* :func:`target_first`: the old behaviour-first order ``f(..., theta_behaviour,
  theta_target)`` of two-policy functions, now ``f(..., theta, *, theta_behaviour)``.

Imports nothing of pgmath.
"""
from __future__ import annotations

import functools
import inspect
import warnings
from typing import Callable

from .errors import ArgumentSpellingError

__all__ = ["renamed_arguments", "keyword_only", "deprecated_alias", "target_first"]


def _warn(message: str) -> None:
    warnings.warn(message + " (the old spelling is removed in the next release)",
                  DeprecationWarning, stacklevel=3)


def renamed_arguments(**renames: str) -> Callable:
    """Decorator: accept each old keyword ``old=`` as ``renames[old]=``, with a warning.

    Passing both spellings is a ``TypeError`` (as for any argument given twice).
    """
    def decorate(func):
        name = func.__qualname__

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            used = [old for old in renames if old in kwargs]
            for old in used:
                new = renames[old]
                if new in kwargs:
                    raise ArgumentSpellingError(f"{name}() got both {old}= (deprecated) and {new}=")
                kwargs[new] = kwargs.pop(old)
            if used:
                _warn(f"{name}({', '.join(o + '=' for o in used)}) is deprecated; use "
                      f"{', '.join(renames[o] + '=' for o in used)}")
            return func(*args, **kwargs)
        return wrapper
    return decorate


def keyword_only(func: Callable) -> Callable:
    """Decorator: options after the positional parameters of ``func`` are keyword-only;
    an old call passing them positionally still works, with a warning naming them."""
    params = list(inspect.signature(func).parameters.values())
    n_pos = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
    kw_names = [p.name for p in params if p.kind is p.KEYWORD_ONLY]

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if len(args) > n_pos:
            extra = args[n_pos:]
            if len(extra) > len(kw_names):
                raise ArgumentSpellingError(f"{func.__qualname__}() takes {n_pos} positional arguments "
                                f"but {len(args)} were given")
            names = kw_names[:len(extra)]
            for k in names:
                if k in kwargs:
                    raise ArgumentSpellingError(f"{func.__qualname__}() got multiple values for {k!r}")
            _warn(f"passing {', '.join(names)} to {func.__qualname__}() positionally is "
                  f"deprecated; pass {', '.join(k + '=' for k in names)} by keyword")
            kwargs.update(zip(names, extra))
            args = args[:n_pos]
        return func(*args, **kwargs)
    return wrapper


def deprecated_alias(func: Callable, old: str, new: str | None = None) -> Callable:
    """``func`` under its old name ``old``: calling it warns and forwards."""
    new = new or f"{func.__module__}.{func.__qualname__}"

    @functools.wraps(func)
    def alias(*args, **kwargs):
        _warn(f"{old} is deprecated; use {new}")
        return func(*args, **kwargs)
    alias.__name__ = alias.__qualname__ = old.rsplit(".", 1)[-1]
    alias.__doc__ = f"Deprecated alias of :func:`{new}` (removed in the next release)."
    return alias


def target_first(n_lead: int) -> Callable:
    """Decorator for ``f(<n_lead arguments>, theta, *, theta_behaviour, ...)``, the target θ
    first and the behaviour by keyword: the old calls ``f(<lead>, theta_behaviour,
    theta_target)`` (positional) and ``theta_target=`` still work, with a warning. (After
    the next release the old positional call is a TypeError, never a silent swap.)"""
    def decorate(func):
        name = func.__qualname__

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            old_kw = "theta_target" in kwargs
            if old_kw:
                if "theta" in kwargs:
                    raise ArgumentSpellingError(f"{name}() got both theta_target= (deprecated) and theta=")
                kwargs["theta"] = kwargs.pop("theta_target")
            if len(args) == n_lead + 2 or (old_kw and len(args) == n_lead + 1):
                if "theta_behaviour" in kwargs:
                    raise ArgumentSpellingError(f"{name}() got multiple values for 'theta_behaviour'")
                kwargs["theta_behaviour"] = args[n_lead]
                if len(args) == n_lead + 2:
                    kwargs["theta"] = args[n_lead + 1]
                args = args[:n_lead]
                _warn(f"{name}(..., theta_behaviour, theta_target) is deprecated; pass the "
                      f"target first and the behaviour by keyword: {name}(..., theta, "
                      "theta_behaviour=...)")
            elif old_kw:
                _warn(f"{name}(theta_target=...) is deprecated; use theta=")
            return func(*args, **kwargs)
        return wrapper
    return decorate
