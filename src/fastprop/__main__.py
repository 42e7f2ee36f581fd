"""``python -m fastprop``: the same as the ``fastprop`` command."""
import sys

from .cli import main

sys.exit(main())
