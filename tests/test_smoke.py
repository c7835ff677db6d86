"""The package imports and every exported name resolves."""
import pgmath


def test_every_exported_name_resolves():
    for name in pgmath.__all__:
        assert getattr(pgmath, name) is not None, name
    for name in pgmath.exact.__all__:
        assert callable(getattr(pgmath.exact, name)), name
    for name in pgmath.estimators.__all__:
        assert callable(getattr(pgmath.estimators, name)), name
