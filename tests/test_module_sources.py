"""The package's modules as Python sees them: docstrings hold prose, imports are code.

A slip that once went unnoticed: ``from __future__ import annotations`` inserted into the
middle of fastprop.sklearn._base's docstring, so that help() showed it as prose and the
module's annotations were evaluated (numpy's expanded unions in help()) instead of shown
as written.
"""
import ast
import importlib
import inspect
from pathlib import Path

import pytest

import fastprop

PACKAGE = Path(fastprop.__file__).resolve().parent
MODULES = sorted(PACKAGE.rglob("*.py"))
STATEMENT_STARTS = ("from __future__ import", "import numpy", "from .", "from typing import")


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_module_docstring_holds_no_code(path):
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    pasted = [line for line in docstring.splitlines() if line.startswith(STATEMENT_STARTS)]
    assert pasted == [], f"{path.name}: code lines inside the module docstring: {pasted}"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_future_import_is_a_statement(path):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    as_statement = any(isinstance(node, ast.ImportFrom) and node.module == "__future__"
                       for node in tree.body)
    assert as_statement or "from __future__ import" not in source, path.name


def test_estimator_annotations_are_shown_as_written():
    pytest.importorskip("sklearn")
    base = importlib.import_module("fastprop.sklearn._base")
    annotations = [parameter.annotation for function in vars(base.NetworkEstimator).values()
                   if inspect.isfunction(function)
                   for parameter in inspect.signature(function).parameters.values()
                   if parameter.annotation is not inspect.Parameter.empty]
    assert annotations and all(isinstance(annotation, str) for annotation in annotations)
