"""The configuration API: get_config, set_config, config_context, show_config, and
the FASTPROP_NUM_THREADS and FASTPROP_CPU environment variables.

Every CPU path the machine has is exercised by the rest of the suite (``.ci/run``
runs it once per path); here, that each option is read back as set, that every bad
key or value is refused with nothing changed, and that a context restores
everything, also when its block raises.
"""
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import fastprop
from fastprop import _kernels
from fastprop._testing import available_cpu_paths, product_path

THRESHOLDS = ["vector_min_multiply_adds", "blas_min_multiply_adds_float32",
              "blas_min_multiply_adds_float64", "loops_blas_min_multiply_adds",
              "single_thread_blas_min_multiply_adds", "narrow_blas_min_multiply_adds",
              "parallel_min_multiply_adds", "parallel_min_batch_rows"]
CAPABILITY = {"avx2": "avx2_fma", "avx512": "avx512"}
# What show_config says each path runs.
KERNELS = {"baseline": "no vector kernels", "avx2": "AVX2/FMA vector kernels",
           "avx512": "AVX-512 vector kernels"}


def test_get_config_holds_every_key():
    config = fastprop.get_config()
    assert list(config) == ["threads", "pin_threads", "cpu", "plan"] + THRESHOLDS
    assert config["pin_threads"] is (os.environ.get("FASTPROP_PIN_THREADS", "1").strip() != "0")
    assert 1 <= config["threads"] <= 8
    assert config["cpu"] in ("auto", "avx512", "avx2", "baseline")
    # The default, unless FASTPROP_PLAN set another (.ci/run runs the suite under each).
    assert config["plan"] == (os.environ.get("FASTPROP_PLAN", "").strip() or "measured")
    for name in THRESHOLDS:
        assert config[name] is None or (isinstance(config[name], int) and config[name] >= 0)


def test_default_thresholds():
    # The fixed plan (benchmarks/PRODUCT_CROSSOVER.md says where the numbers come from).
    defaults = _kernels.default_config()
    assert {name: defaults[name] for name in THRESHOLDS} == {
        "vector_min_multiply_adds": 256, "blas_min_multiply_adds_float32": 2 ** 26,
        "blas_min_multiply_adds_float64": 2 ** 24, "loops_blas_min_multiply_adds": 1024,
        "single_thread_blas_min_multiply_adds": 2 ** 19, "narrow_blas_min_multiply_adds": 8192,
        "parallel_min_multiply_adds": 32768, "parallel_min_batch_rows": 16}


@pytest.mark.parametrize("name", THRESHOLDS)
def test_each_threshold_is_read_back_as_set_and_none_means_never(name):
    with fastprop.config_context(**{name: 12345}):
        assert fastprop.get_config()[name] == 12345
        fastprop.set_config(**{name: None})
        assert fastprop.get_config()[name] is None
        assert _kernels.read_config()[name] == _kernels.NEVER == 2 ** 62
        fastprop.set_config(**{name: 0})
        assert fastprop.get_config()[name] == 0


def test_threads_are_read_back_as_set():
    with fastprop.config_context(threads=3):
        assert fastprop.get_config()["threads"] == 3
        fastprop.set_config(threads=8)
        assert fastprop.get_config()["threads"] == 8


@pytest.mark.parametrize("path", ["baseline", "avx2", "avx512"])
def test_cpu_paths_the_machine_has_are_selected(path):
    if path not in available_cpu_paths():
        pytest.skip(f"this CPU or build has no {path} path")
    with fastprop.config_context(cpu=path):
        assert fastprop.get_config()["cpu"] == path
        assert _kernels.read_config()["cpu"] == path
        report = io.StringIO()
        fastprop.show_config(file=report)
        assert f"cpu={path!r} runs {path!r}: {KERNELS[path]}" in report.getvalue()


def test_auto_runs_the_best_path_the_machine_has():
    with fastprop.config_context(cpu="auto"):
        assert fastprop.get_config()["cpu"] == "auto"
        assert _kernels.read_config()["cpu"] == available_cpu_paths()[-1]


@pytest.mark.parametrize("path", ["avx2", "avx512"])
def test_a_path_the_cpu_lacks_is_a_clear_error(path, monkeypatch):
    # On a machine that has the path, pretend it does not: the check reads the
    # capabilities the extension reports.
    capabilities = dict(_kernels.cpu_capabilities(), **{CAPABILITY[path]: False})
    if path == "avx2":
        capabilities["avx512"] = False
    capabilities["best_path"] = "avx2" if path == "avx512" and capabilities["avx2_fma"] else "baseline"
    monkeypatch.setattr(_kernels, "cpu_capabilities", lambda: capabilities)
    before = fastprop.get_config()
    expected = (rf"cpu='{path}' needs .*, which this CPU does not have"
                if capabilities["vector_kernels_compiled"] else
                rf"cpu='{path}': this build of fastprop has no vector kernels")
    with pytest.raises(ValueError, match=expected):
        fastprop.set_config(cpu=path, threads=1)
    assert fastprop.get_config() == before


def test_a_path_this_machine_really_lacks_is_refused():
    missing = [path for path in ("avx2", "avx512") if path not in available_cpu_paths()]
    if not missing:
        pytest.skip("this CPU and build have every path")
    with pytest.raises(ValueError, match=rf"cpu='{missing[-1]}'"):
        fastprop.set_config(cpu=missing[-1])


@pytest.mark.parametrize("options, error, message", [
    ({"thread": 2}, ValueError, r"unknown configuration key 'thread'; the keys are threads, pin_threads, cpu"),
    ({"threads": 2, "colour": 1, "size": 2}, ValueError, r"unknown configuration keys 'colour', 'size'"),
    ({"threads": 0}, ValueError, r"threads must be from 1 to 8, got 0"),
    ({"threads": 9}, ValueError, r"threads must be from 1 to 8, got 9"),
    ({"threads": 2.0}, TypeError, r"threads must be an integer from 1 to 8, got 2.0"),
    ({"threads": True}, TypeError, r"threads must be an integer from 1 to 8, got True"),
    ({"threads": "2"}, TypeError, r"threads must be an integer"),
    ({"cpu": "sse2"}, ValueError, r"cpu must be one of 'auto', 'avx512', 'avx2', 'baseline', got 'sse2'"),
    ({"cpu": None}, ValueError, r"cpu must be one of .*, got None"),
    ({"plan": "measure"}, ValueError,
     r"plan must be one of 'measured', 'portable', 'fixed', got 'measure'"),
    ({"plan": None}, ValueError, r"plan must be one of .*, got None"),
    ({"pin_threads": 1}, TypeError, r"pin_threads must be True or False, got 1"),
    ({"vector_min_multiply_adds": -1}, ValueError,
     r"vector_min_multiply_adds must be from 0 to 2\*\*62 or None \(never\), got -1"),
    ({"parallel_min_batch_rows": 2 ** 63}, ValueError, r"parallel_min_batch_rows must be from 0"),
    ({"blas_min_multiply_adds_float32": 1.5}, TypeError,
     r"blas_min_multiply_adds_float32 must be a whole number of multiply-adds or None"),
    ({"narrow_blas_min_multiply_adds": "8192"}, TypeError, r"narrow_blas_min_multiply_adds must be"),
], ids=str)
def test_bad_keys_and_values_are_refused_and_change_nothing(options, error, message):
    before = fastprop.get_config()
    # A good option beside the bad one is not applied either.
    with pytest.raises(error, match=message):
        fastprop.set_config(**{"loops_blas_min_multiply_adds": 7, **options})
    with pytest.raises(error, match=message):
        with fastprop.config_context(**{"parallel_min_batch_rows": 3, **options}):
            pass  # pragma: no cover - never entered
    assert fastprop.get_config() == before


def test_config_context_restores_on_exit_and_on_error():
    before = fastprop.get_config()
    with fastprop.config_context(threads=1, cpu="baseline", vector_min_multiply_adds=None) as inside:
        assert inside == fastprop.get_config()
        assert (inside["threads"], inside["cpu"], inside["vector_min_multiply_adds"]) == (1, "baseline", None)
    assert fastprop.get_config() == before
    with pytest.raises(RuntimeError, match="inside"):
        with fastprop.config_context(threads=2, parallel_min_batch_rows=1):
            fastprop.set_config(loops_blas_min_multiply_adds=5)   # changed inside: restored too
            raise RuntimeError("inside")
    assert fastprop.get_config() == before


def test_config_contexts_nest():
    before = fastprop.get_config()
    with fastprop.config_context(threads=1):
        with fastprop.config_context(threads=2, cpu="baseline"):
            assert fastprop.get_config()["threads"] == 2
        assert fastprop.get_config()["threads"] == 1
        assert fastprop.get_config()["cpu"] == before["cpu"]
    assert fastprop.get_config() == before


def test_the_configuration_steers_the_kernels():
    # A product of 64 multiply-adds in float64: in the loops by default; sent to
    # BLAS by loops_blas_min_multiply_adds=0 on the baseline path. Both agree to
    # rounding; the route is visible in that the two differ by at most an ulp or so.
    rng = np.random.default_rng(0)
    A, W, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4)), rng.normal(size=4)
    outputs = []
    for options in ({"cpu": "baseline"}, {"cpu": "baseline", "loops_blas_min_multiply_adds": 0}):
        out = np.empty((4, 4))
        with fastprop.config_context(**options):
            _kernels.dense_sigmoid_forward(A, W, b, out)
        outputs.append(out)
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-15)


def test_show_config_reports_version_build_cpu_blas_threads_and_plan():
    report = io.StringIO()
    with fastprop.config_context(threads=2, plan="measured"):
        fastprop.show_config(file=report)
    text = report.getvalue()
    for expected in (f"fastprop {fastprop.__version__}", "build: -O3", "vector kernels compiled:",
                     "CPU: ", "AVX2 and FMA: ", "AVX-512", "path: cpu=", "BLAS: ", "threads: 2",
                     "helpers pinned to CPUs of their own: yes",
                     "plan: 'measured'", "plan cache: ", "vector_min_multiply_adds = "):
        assert expected in text, f"{expected!r} not in:\n{text}"
    assert "-march=native" not in text or os.environ.get("FASTPROP_NATIVE")


def run_python(code, **environment):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **environment})


@pytest.mark.parametrize("path", ["baseline", "avx2", "avx512", "auto"])
def test_fastprop_cpu_sets_the_default_path(path):
    if path != "auto" and path not in available_cpu_paths():
        pytest.skip(f"this CPU or build has no {path} path")
    run = run_python("import fastprop, fastprop._kernels as k; "
                     "print(fastprop.get_config()['cpu'], k.read_config()['cpu'])", FASTPROP_CPU=path)
    assert run.returncode == 0, run.stderr
    resolved = available_cpu_paths()[-1] if path == "auto" else path
    assert run.stdout.split() == [path, resolved]


@pytest.mark.parametrize("value, message", [
    ("sse4", "FASTPROP_CPU must be one of 'auto', 'avx512', 'avx2', 'baseline', got 'sse4'"),
    ("AVX2", "FASTPROP_CPU must be one of"),
])
def test_fastprop_cpu_rejects_bad_values(value, message):
    run = run_python("import fastprop", FASTPROP_CPU=value)
    assert run.returncode != 0
    assert message in run.stderr


def test_the_version_is_the_one_pyproject_declares():
    import re
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    declared = re.search(r'^version = "([^"]+)"', pyproject.read_text(), re.M).group(1)
    assert fastprop.__version__ == declared


@pytest.mark.parametrize("change, message", [
    ({"threads": 9}, "threads must be from 1 to 8"),
    ({"threads": 0}, "threads must be from 1 to 8"),
    ({"vector_min_multiply_adds": -1}, "vector_min_multiply_adds must be from 0"),
])
def test_the_extension_refuses_a_configuration_that_could_misbehave(change, message):
    # fastprop._configuration checks first; the extension checks again what could
    # make a kernel misbehave, so no call from Python reaches an unsafe state.
    before = _kernels.read_config()
    with pytest.raises(ValueError, match=message):
        _kernels.write_config(dict(before, **change))
    assert _kernels.read_config() == before


def test_the_extension_refuses_a_cpu_path_beyond_the_cpu():
    paths = _kernels.CPU_PATHS
    best = _kernels.cpu_capabilities()["best_path"]
    if best == paths[-1]:
        pytest.skip("this CPU and build run every path")
    before = _kernels.read_config()
    with pytest.raises(ValueError, match="beyond what this CPU and build run"):
        _kernels.write_config(dict(before, cpu=paths[paths.index(best) + 1]))
    assert _kernels.read_config() == before


@pytest.mark.parametrize("name", ["vector", "vector_avx2", "vector_avx512"])
def test_product_path_refuses_vector_kernels_the_run_does_not_have(name):
    # On the baseline path no vector kernels run, so no test may ask for them
    # (a test that did would silently run something else).
    with fastprop.config_context(cpu="baseline"):
        with pytest.raises(ValueError, match="has no (vector kernels|avx2 path|avx512 path)"):
            product_path(name)


@pytest.mark.parametrize("value, expected", [("0", "False"), ("1", "True"), ("", "True")])
def test_fastprop_pin_threads_sets_the_default(value, expected):
    run = run_python("import fastprop; print(fastprop.get_config()['pin_threads'])",
                     FASTPROP_PIN_THREADS=value)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == expected


def test_fastprop_pin_threads_rejects_other_values():
    run = run_python("import fastprop", FASTPROP_PIN_THREADS="yes")
    assert run.returncode != 0
    assert "FASTPROP_PIN_THREADS must be 0 or 1, got 'yes'" in run.stderr
