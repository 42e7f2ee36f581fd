"""Declares the compiled extension; all metadata lives in pyproject.toml.

Build switches (environment variables, read at build time):
  FASTPROP_DEBUG_CHECKS=1  turn Cython's bounds, wraparound and initialisation checks back on
  FASTPROP_NATIVE=1        compile with -march=native (never for wheels you share)
"""
import os

import numpy

from Cython.Build import cythonize
from setuptools import Extension, setup


def _flag(name):
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


debug_checks = _flag("FASTPROP_DEBUG_CHECKS")

# -fno-math-errno and -fno-trapping-math change no result: they let gcc assume
# no code reads errno or traps on floating-point exceptions, which is what lets
# it vectorise the branch-free sigmoid loops (see the vectorisation report:
# CFLAGS=-fopt-info-vec-optimized python setup.py build_ext --inplace --force).
# -ffp-contract=off: a multiply and an add are never fused behind the code's
# back (only where _vector_products.h asks for an FMA), so the AVX2 sigmoid gives
# the scalar sigmoid's bits, and -march=native builds the same results as others.
compile_args = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off"]
link_args = []
if os.name == "posix":  # the helper threads of _team.h
    compile_args.append("-pthread")
    link_args.append("-pthread")
if _flag("FASTPROP_NATIVE"):
    compile_args.append("-march=native")

extensions = [
    Extension(
        "fastprop._kernels",
        sources=["src/fastprop/_kernels.pyx"],
        depends=["src/fastprop/_vector_products.h", "src/fastprop/_team.h"],
        include_dirs=[numpy.get_include()],  # only for PyArray_DATA
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_25_API_VERSION")],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "boundscheck": debug_checks,
            "wraparound": debug_checks,
            "initializedcheck": debug_checks,
            "cdivision": not debug_checks,
            "embedsignature": True,
        },
    ),
)
