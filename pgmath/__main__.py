"""``python -m pgmath``: the ``pgmath`` command."""
import sys

from .cli import main

sys.exit(main())
