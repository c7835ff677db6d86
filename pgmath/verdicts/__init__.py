"""Claim checks: one module per area, each registering checks with :func:`pgmath.claims.claim`."""
