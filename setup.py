"""Declares the compiled extension; all metadata lives in pyproject.toml.

Build switches (environment variables, read at build time):
  FASTPROP_DEBUG_CHECKS=1                  turn Cython's bounds, wraparound and initialisation
                                           checks back on (and keep debug information, which a
                                           release build strips)
  FASTPROP_NATIVE=1                        compile with -march=native (never for wheels you share)
  FASTPROP_BUILD_WITHOUT_VECTOR_KERNELS=1  compile the vector kernels' stubs instead: only the
                                           baseline CPU path exists (as on non-x86 machines)
  FASTPROP_BUILD_WITHOUT_THREADS=1         compile the thread team's stub: fit runs on one thread
                                           (as where there are no POSIX threads)
  FASTPROP_SANITIZE=address,undefined      compile and link with gcc's -fsanitize= these (or
                                           =thread); the Python that imports it needs the
                                           sanitizer's runtime preloaded (LD_PRELOAD, see .ci/run)
CI builds and tests each of the last three.
"""
import hashlib
import json
import os
from pathlib import Path

import Cython
import numpy
import scipy

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
# -fvisibility=hidden: the C kernels' functions stay inside the extension (Python's
# module init is exported by its own macro).
# -falign-loops=32 (with the vector kernels' aligned(64), _avx2.h): where a hot
# loop falls relative to the fetch blocks no longer depends on the code before
# it; the same code measured up to 5% apart in benchmarks/kernel_rates.py
# depending only on where it was placed.
compile_args = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off",
                "-fvisibility=hidden", "-falign-loops=32"]
link_args = []
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_25_API_VERSION")]
if os.name == "posix":  # the helper threads of _team.c
    compile_args.append("-pthread")
    link_args.append("-pthread")
if _flag("FASTPROP_NATIVE"):
    compile_args.append("-march=native")
if _flag("FASTPROP_BUILD_WITHOUT_VECTOR_KERNELS"):
    macros.append(("FASTPROP_WITHOUT_VECTOR_KERNELS", "1"))
if _flag("FASTPROP_BUILD_WITHOUT_THREADS"):
    macros.append(("FASTPROP_WITHOUT_THREADS", "1"))
sanitize = os.environ.get("FASTPROP_SANITIZE", "").strip()
if not sanitize and not debug_checks:
    # A release build carries no debug information: Python's own CFLAGS hold -g, which
    # made the extension some 10 MB, most of it DWARF. -g0 (after -g) turns it off;
    # the linker drops whatever debug sections remain. Symbols are kept (backtraces and
    # perf still name fastprop's functions).
    compile_args.append("-g0")
    link_args.append("-Wl,--strip-debug")
if sanitize:
    # Every finding fatal (-fno-sanitize-recover), with frames to read it by.
    sanitizer_args = [f"-fsanitize={sanitize}", "-fno-sanitize-recover=all",
                      "-fno-omit-frame-pointer", "-g"]
    compile_args += sanitizer_args
    link_args += sanitizer_args
# What show_config reports as the build.
build_description = " ".join(compile_args + [f"-D{name}" for name, _ in macros[1:]])
macros.append(("FASTPROP_BUILD_FLAGS", '"' + build_description + '"'))

# The C kernels, one concern per file; each header says what its file does.
package = "src/fastprop"
c_sources = ["_config.c", "_routing.c", "_blas.c", "_team.c", "_interrupt.c", "_sigmoid.c",
             "_activations.c",
             "_losses.c", "_optimizers.c", "_elementwise.c",
             "_products.c", "_steps.c", "_vector_products.c", "_vector_products_avx2.c",
             "_vector_products_avx512.c"]
# Headers, and the templates the .c files include once per dtype or CPU path.
c_depends = ["_config.h", "_routing.h", "_blas.h", "_team.h", "_interrupt.h", "_sigmoid.h",
             "_activations.h",
             "_activations_template.c", "_losses.h", "_losses_template.c", "_optimizers.h",
             "_optimizers_template.c", "_elementwise.h",
             "_products.h", "_steps.h", "_vector_products.h", "_vector_products_kernels.h",
             "_avx2.h", "_avx512.h", "_sigmoid_template.c", "_sigmoid_arrays.c",
             "_elementwise_template.c", "_products_template.c", "_steps_template.c",
             "_small_steps_template.c", "_vector_products_template.c", "_kernels.pxd", "_trainer.pxi"]

directives = {
    "language_level": 3,
    "boundscheck": debug_checks,
    "wraparound": debug_checks,
    "initializedcheck": debug_checks,
    "cdivision": not debug_checks,
    "embedsignature": True,
}
cython_sources = ["_kernels.pyx", "_kernels.pxd", "_trainer.pxi"]
generated = Path(package) / "_kernels.c"


def _build_stamp():
    """One line naming everything the generated C file and the build depend on beyond the
    C sources (which setuptools compares by time itself): Cython's, NumPy's and SciPy's
    versions (their .pxd files), the directives, the flags and the Cython sources' bytes."""
    digest = hashlib.sha256(json.dumps(
        {"cython": Cython.__version__, "numpy": numpy.__version__, "scipy": scipy.__version__,
         "directives": directives, "compile": compile_args, "link": link_args,
         "macros": macros}, sort_keys=True).encode())
    for name in cython_sources:
        digest.update((Path(package) / name).read_bytes())
    return f"/* fastprop build stamp {digest.hexdigest()} */"


def _stamp_of(path):
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 200))
            lines = file.read().decode("ascii", "replace").splitlines()
    except OSError:
        return None
    return lines[-1] if lines else None


extension = Extension(
    "fastprop._kernels",
    sources=[f"{package}/_kernels.pyx"] + [f"{package}/{name}" for name in c_sources],
    depends=[f"{package}/{name}" for name in c_depends],
    include_dirs=[numpy.get_include(), package],
    define_macros=macros,
    extra_compile_args=compile_args,
    extra_link_args=link_args,
)

# pip builds every install in a new isolated environment, whose Cython and NumPy .pxd
# files are newer than any C file Cython wrote before; cythonize would write the C file
# anew at every install and setuptools compile the whole extension again (a minute, for
# the README's second command too). The stamp at the end of the generated file says
# whether it is what Cython would write now: then it is compiled as it is, and setuptools,
# finding the extension in build/ newer than every source, skips the compile too.
stamp = _build_stamp()
if _stamp_of(generated) == stamp:
    extension.sources[0] = str(generated)
    ext_modules = [extension]
else:
    ext_modules = cythonize([extension], compiler_directives=directives, force=True)
    with open(generated, "a", encoding="ascii") as file:
        file.write("\n" + stamp + "\n")

setup(ext_modules=ext_modules)
