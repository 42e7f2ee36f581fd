"""fastprop's version (also in pyproject.toml, which a test keeps equal to it)."""
__version__ = "0.1.0"
