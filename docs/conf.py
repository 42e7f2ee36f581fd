"""Sphinx configuration of fastprop's documentation.

Build from the repository's top directory, with fastprop importable::

    python -m sphinx -W --keep-going docs docs/_build/html

The build is offline: no intersphinx inventories are fetched and nothing is downloaded
(the gallery's digits are scikit-learn's bundled copy; the speed figure reads
benchmarks/RESULTS.md).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import fastprop

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

# The gallery's scripts import their shared helpers from docs/examples.
sys.path.insert(0, str(DOCS / "examples"))
# Matplotlib without a display.
os.environ.setdefault("MPLBACKEND", "agg")

project = "fastprop"
author = "the fastprop authors"
copyright = "the fastprop authors"  # noqa: A001 (Sphinx's name)
release = fastprop.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples/README.txt", "**.ipynb_checkpoints"]
templates_path = ["_templates"]

# Offline: no intersphinx, no remote images.
# README.md's set-up block (included on getting-started) is bash with a placeholder
# "<this repository's URL>" that Pygments cannot lex strictly; it falls back to relaxed mode.
suppress_warnings = ["misc.highlighting_failure"]
nitpicky = False

# MyST: ```{directive}``` blocks, $math$, and heading anchors for links between pages.
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3

# The API reference: autosummary writes a page per public name from the docstrings.
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "inherited-members": False, "show-inheritance": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_preserve_defaults = True

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# Validation: every check but the stylistic ones, so that a missing, misnamed or
# misordered parameter, a parameter without a type or an undocumented public name warns
# (and, with -W, fails the build).
numpydoc_validation_checks = {
    "all",
    "GL01", "GL02",  # the summary may start on the opening line
    "ES01",  # an extended summary is optional
    "SA01",  # See Also is optional
    "EX01",  # Examples: CONTRIBUTING asks for them, the doctests run them
    "SS02",  # a summary may start with a formula or a name: "σ(z) = ...", "fit(X, y)"
    "SS03", "SS05", "SS06",  # a summary may end without a period, start with "Returns", span two lines
    "RT02", "RT04", "RT05",  # a Returns description may start lower-case, without a period
    "PR08", "PR09",  # the same for parameter descriptions
    "SA03", "SA04",  # See Also descriptions: lower-case or absent
    "YD01",
}
numpydoc_validation_exclude = {
    r"\.__init__$",
    r"\.__repr__$",
    r"\.__str__$",
}

html_theme = "pydata_sphinx_theme"
html_title = f"fastprop {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": []}
html_show_sourcelink = False

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "min_reported_time": 0,
    "show_memory": False,
    "capture_repr": ("_repr_html_",),
}
