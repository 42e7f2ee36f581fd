"""``python -m fastprop``: the same as the ``fastprop`` command."""
import sys

from .cli import main

if __name__ == "__main__":          # not when imported (pytest --doctest-modules imports it)
    sys.exit(main())
