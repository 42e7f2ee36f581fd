"""The measured plan (``_planning``), its cache on disk (``_plan_cache``), the
portable plan, and the plans' independence from the thread count.

Every test here runs with its own cache directory (``plan_directory``), and none
times anything for its own sake: how fast the plans are is the benchmarks' job.
"""
import importlib.util
import io
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

import fastprop
from fastprop import _kernels, _plan_cache, _planning
from fastprop._testing import available_cpu_paths, vector_kernels_in_use

SIZES = [12, 20, 9]


@pytest.fixture
def plan_directory(tmp_path, monkeypatch):
    """A fresh, empty cache directory, and a process that has read no plan yet."""
    monkeypatch.setenv("FASTPROP_CACHE_DIR", str(tmp_path))
    _planning.forget_loaded_plans()
    yield tmp_path
    _planning.forget_loaded_plans()


@pytest.fixture
def measurements(monkeypatch):
    """The plans measured during the test, as (key) strings, in order."""
    measured = []
    original = _planning.measure

    def counting_measure(*args, **kwargs):
        plan = original(*args, **kwargs)
        measured.append(plan.key)
        return plan

    monkeypatch.setattr(_planning, "measure", counting_measure)
    return measured


def training_data(dtype, sizes=SIZES, n_samples=70):
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (n_samples, sizes[0])).astype(dtype)
    Y = rng.uniform(0, 1, (n_samples, sizes[-1])).astype(dtype)
    return X, Y


def fit(dtype, sizes=SIZES, batch_size=16, epochs=3, **options):
    X, Y = training_data(dtype, sizes)
    net = fastprop.Network(sizes, seed=4, dtype=dtype, loss="mse")
    with fastprop.config_context(**options):
        losses = net.fit(X, Y, epochs=epochs, lr=0.5, batch_size=batch_size, seed=1)
    return net, losses


def assert_same_bits(first, second):
    (net_a, losses_a), (net_b, losses_b) = first, second
    np.testing.assert_array_equal(losses_a, losses_b)
    for a, b in zip(net_a.weights + net_a.biases, net_b.weights + net_b.biases):
        np.testing.assert_array_equal(a, b)


def the_cache_file(directory):
    files = sorted(Path(directory).glob("plans-*.json"))
    assert len(files) == 1, files
    return files[0]


# --------------------------------------------------------------- the cache on disk

def test_a_fit_measures_its_plan_once_and_writes_it_to_the_cache(plan_directory, measurements,
                                                                 dtype):
    fit(dtype, plan="measured")
    assert len(measurements) == 1
    content = json.loads(the_cache_file(plan_directory).read_text())
    assert content["format"] == "fastprop-plan-cache" and content["format_version"] == 1
    assert content["machine"] == _plan_cache.machine_key()
    assert content["machine"]["fastprop"] == fastprop.__version__
    (key, entry), = content["plans"].items()
    config = _kernels.read_config()
    assert key == (f"{np.dtype(dtype).name} 12-20-9 batch 16 cpu {config['cpu']} "
                   f"threads {config['threads']}")
    assert [sorted(layer) for layer in entry["layers"]] == [
        ["forward", "gradient_step"], ["forward", "gradient_step", "hidden_delta"]]
    for layer in entry["layers"]:
        for route, shared in layer.values():
            assert route in ("loops", "vector", "blas") and isinstance(shared, bool)
    assert entry["seconds_per_step"] > 0 and entry["planning_seconds"] > 0


def test_later_fits_reuse_the_stored_plan_and_give_the_same_bits(plan_directory, measurements,
                                                                 dtype):
    first = fit(dtype, plan="measured")
    _planning.forget_loaded_plans()              # as a new process would: read from disk
    second = fit(dtype, plan="measured")
    assert len(measurements) == 1
    assert_same_bits(first, second)
    # Another batch size is another plan.
    fit(dtype, batch_size=10, plan="measured")
    assert len(measurements) == 2 and "batch 10" in measurements[1]


def test_every_cpu_path_and_thread_count_has_a_plan_of_its_own(plan_directory, measurements):
    for cpu in available_cpu_paths():
        for threads in (1, 2):
            fit(np.float32, plan="measured", cpu=cpu, threads=threads)
    assert len(measurements) == len(set(measurements)) == 2 * len(available_cpu_paths())
    plans = json.loads(the_cache_file(plan_directory).read_text())["plans"]
    assert sorted(plans) == sorted(measurements)
    for key, entry in plans.items():
        routes = {route for layer in entry["layers"] for route, _ in layer.values()}
        if " cpu baseline " in key:
            assert "vector" not in routes
        if key.endswith("threads 1"):
            assert not any(shared for layer in entry["layers"] for _, shared in layer.values())


@pytest.mark.parametrize("field, value", [("fastprop", "0.0.0-another-version"),
                                          ("planner", "1")])
def test_a_changed_machine_key_means_another_file_and_new_plans(plan_directory, measurements,
                                                                monkeypatch, field, value):
    # Another version of fastprop, or plans measured by an earlier planner (planner "1":
    # the files written before the planner's version was part of the key had none).
    assert _plan_cache.machine_key()["planner"] == str(_plan_cache.PLANNER_VERSION)
    fit(np.float64, plan="measured")
    old_file = the_cache_file(plan_directory)
    changed = dict(_plan_cache.machine_key(), **{field: value})
    monkeypatch.setattr(_plan_cache, "_machine_key", changed)
    _planning.forget_loaded_plans()
    fit(np.float64, plan="measured")
    assert len(measurements) == 2
    files = sorted(plan_directory.glob("plans-*.json"))
    assert len(files) == 2 and old_file in files
    new_file, = set(files) - {old_file}
    assert json.loads(new_file.read_text())["machine"][field] == value


@pytest.mark.parametrize("content, message", [
    ("{not json", r"is not valid JSON"),
    ("[1, 2, 3]", r"is not a fastprop plan cache"),
    (json.dumps({"format": "something-else", "plans": {}}), r"is not a fastprop plan cache"),
    (json.dumps({"format": "fastprop-plan-cache", "format_version": 99, "plans": {}}),
     r"has format version 99, this fastprop reads 1"),
])
def test_a_corrupt_cache_file_is_ignored_with_a_warning_and_rebuilt(plan_directory, measurements,
                                                                    content, message):
    path = _plan_cache.cache_file()
    path.write_text(content)
    with pytest.warns(fastprop.PlanCacheWarning, match=message):
        fit(np.float32, plan="measured")
    assert len(measurements) == 1
    rebuilt = json.loads(path.read_text())
    assert rebuilt["format"] == "fastprop-plan-cache" and list(rebuilt["plans"]) == measurements


def test_a_cache_file_from_another_machine_is_ignored_with_a_warning(plan_directory,
                                                                     measurements):
    path = _plan_cache.cache_file()
    foreign_machine = dict(_plan_cache.machine_key(), cpu="Some Other CPU", blas="another BLAS")
    key = _planning.entry_key(SIZES, np.float32, 16, _kernels.read_config())
    foreign_plan = {"layers": [{"forward": ["loops", False], "gradient_step": ["loops", False]},
                               {"forward": ["loops", False], "hidden_delta": ["loops", False],
                                "gradient_step": ["loops", False]}],
                    "seconds_per_step": 1.0, "planning_seconds": 1.0,
                    "measured": "2020-01-01T00:00:00+00:00"}
    path.write_text(json.dumps({"format": "fastprop-plan-cache", "format_version": 1,
                                "machine": foreign_machine, "plans": {key: foreign_plan}}))
    with pytest.warns(fastprop.PlanCacheWarning,
                      match=r"made for another machine .*differs in: blas, cpu"):
        fit(np.float32, plan="measured")
    assert measurements == [key]                   # measured here, not taken from the file
    assert json.loads(path.read_text())["machine"] == _plan_cache.machine_key()


def stored_entry(layers):
    return {"layers": layers, "seconds_per_step": 1e-5, "planning_seconds": 1e-3,
            "measured": "2026-01-01T00:00:00+00:00"}


@pytest.mark.parametrize("layers, message", [
    ([{"forward": ["loops", False], "gradient_step": ["loops", False]}],
     r"it has 1 layers, the network 2"),
    ([{"forward": ["loops", False]},
      {"forward": ["loops", False], "hidden_delta": ["loops", False],
       "gradient_step": ["loops", False]}], r"layer 0 has products \['forward'\]"),
    ([{"forward": ["gpu", False], "gradient_step": ["loops", False]},
      {"forward": ["loops", False], "hidden_delta": ["loops", False],
       "gradient_step": ["loops", False]}], r"a decision is a \(route, shared\) pair"),
    ([{"forward": ["loops", True], "gradient_step": ["loops", False]},
      {"forward": ["loops", False], "hidden_delta": ["loops", False],
       "gradient_step": ["loops", False]}], r"the plain loops are not shared out"),
    ([{"forward": ["blas", 1], "gradient_step": ["loops", False]},
      {"forward": ["loops", False], "hidden_delta": ["loops", False],
       "gradient_step": ["loops", False]}], r"a decision is a \(route, shared\) pair"),
    ("not a list", r"does not check"),
])
def test_a_stored_plan_that_does_not_check_is_measured_again(plan_directory, measurements,
                                                            layers, message):
    key = _planning.entry_key(SIZES, np.float32, 16, _kernels.read_config())
    _plan_cache.write_plans(_plan_cache.cache_file(), _plan_cache.machine_key(),
                            {key: stored_entry(layers)})
    with pytest.warns(fastprop.PlanCacheWarning, match=message):
        fit(np.float32, plan="measured")
    assert measurements == [key]


LOOPS_PLAN = [{"forward": ["loops", False], "gradient_step": ["loops", False]},
              {"forward": ["loops", False], "hidden_delta": ["loops", False],
               "gradient_step": ["loops", False]}]


@pytest.mark.parametrize("parts, message", [
    ("two", r"parts must be an integer, got 'two'"),
    (True, r"parts must be an integer, got True"),
    (9, r"parts must be 0 or from 2 to 8, got 9"),
    (1, r"parts must be 0 or from 2 to 8, got 1"),
])
def test_a_stored_plan_with_bad_parts_is_measured_again(plan_directory, measurements, parts,
                                                        message):
    key = _planning.entry_key(SIZES, np.float32, 16, _kernels.read_config())
    entry = dict(stored_entry(LOOPS_PLAN), parts=parts)
    _plan_cache.write_plans(_plan_cache.cache_file(), _plan_cache.machine_key(), {key: entry})
    with pytest.warns(fastprop.PlanCacheWarning, match=message):
        fit(np.float32, plan="measured")
    assert measurements == [key]


def test_a_stored_split_plan_cannot_split_over_blas(plan_directory, measurements):
    key = _planning.entry_key(SIZES, np.float32, 16, _kernels.read_config())
    layers = [dict(layer) for layer in LOOPS_PLAN]
    layers[1]["forward"] = ["blas", False]
    _plan_cache.write_plans(_plan_cache.cache_file(), _plan_cache.machine_key(),
                            {key: dict(stored_entry(layers), parts=2)})
    with pytest.warns(fastprop.PlanCacheWarning, match=r"a split plan's products run on one "
                                                       r"thread each"):
        fit(np.float32, plan="measured")
    assert measurements == [key]


@pytest.mark.parametrize("threads", [1, 2])
def test_a_stored_split_plan_runs_split_and_gives_the_same_bits_on_any_threads(
        plan_directory, measurements, dtype, threads):
    # The stored plan's parts (2) cut each batch of 16 into two parts of 8 rows, whatever the
    # threads: the bits of two parts on one thread or two, and not those of the same
    # routes unsplit (the gradients' sums are cut in two).
    path = _kernels.path_and_threads()["cpu"]
    key = _planning.entry_key(SIZES, dtype, 16, {"cpu": path, "threads": threads})
    _plan_cache.write_plans(_plan_cache.cache_file(), _plan_cache.machine_key(),
                            {key: dict(stored_entry(LOOPS_PLAN), parts=2)})
    split = fit(dtype, plan="measured", threads=threads)
    assert measurements == []
    (plan,) = _planning.plans_in_use()
    assert plan.parts == 2 and "in 2 parts, each on a thread" in str(plan)
    report = io.StringIO()
    with fastprop.config_context(plan="measured"):   # (the suite runs under every plan too)
        fastprop.show_config(file=report)
    assert "in 2 parts, each on a thread" in report.getvalue()
    _planning.forget_loaded_plans()
    other_key = _planning.entry_key(SIZES, dtype, 16, {"cpu": path, "threads": 3 - threads})
    _plan_cache.write_plans(_plan_cache.cache_file(), _plan_cache.machine_key(),
                            {other_key: dict(stored_entry(LOOPS_PLAN), parts=2)})
    assert_same_bits(split, fit(dtype, plan="measured", threads=3 - threads))
    _plan_cache.write_plans(_plan_cache.cache_file(), _plan_cache.machine_key(),
                            {key: stored_entry(LOOPS_PLAN)})
    _planning.forget_loaded_plans()
    unsplit_net, unsplit_losses = fit(dtype, plan="measured", threads=threads)
    assert measurements == []
    assert not np.array_equal(unsplit_net.weights[0], split[0].weights[0])
    np.testing.assert_allclose(unsplit_losses, split[1], rtol=1e-5)


def test_the_planner_splits_only_with_threads_and_rows_enough():
    config = {"threads": 2, "cpu": "avx2"}
    threads_compiled = _kernels.cpu_capabilities()["threads_compiled"]
    assert _planning._split_parts([64, 64, 10], np.float64, 200, config) == (
        2 if threads_compiled else 0)
    assert _planning._split_parts([64, 64, 10], np.float64, 200, dict(config, threads=1)) == 0
    # fewer than SPLIT_MIN_PART_ROWS (8) rows a part
    assert _planning._split_parts([64, 64, 10], np.float64, 15, config) == 0
    # a step over SPLIT_MAX_STEP_MULTIPLY_ADDS (2^28): 1024 x 1024 x 512 rows
    assert _planning._split_parts([1024, 1024], np.float32, 512, config) == 0
    # partial gradients over SPLIT_MAX_PARTIAL_BYTES (64 MiB): 2 x 8193 x 1024 x 8 bytes
    assert _planning._split_parts([8192, 1024], np.float64, 16, config) == 0


@pytest.mark.skipif(not vector_kernels_in_use(), reason="needs the vector kernels")
def test_a_stored_plan_cannot_send_a_narrow_product_to_the_vector_kernels(plan_directory,
                                                                          measurements):
    # 12 -> 20 -> 9 widths; the gradient step of layer 1 spreads over its 20 inputs,
    # the hidden delta of a 3-wide layer would not fill a vector.
    sizes = [3, 2, 9]
    key = _planning.entry_key(sizes, np.float32, 16, _kernels.read_config())
    layers = [{"forward": ["loops", False], "gradient_step": ["loops", False]},
              {"forward": ["vector", False], "hidden_delta": ["vector", False],
               "gradient_step": ["loops", False]}]
    _plan_cache.write_plans(_plan_cache.cache_file(), _plan_cache.machine_key(),
                            {key: stored_entry(layers)})
    with pytest.warns(fastprop.PlanCacheWarning,
                      match=r"the hidden_delta product of layer 1: the vector kernels need"):
        fit(np.float32, sizes=sizes, plan="measured")
    assert measurements == [key]


@pytest.mark.parametrize("n_in, n_out", [(1, 1), (3, 4), (4, 3), (7, 9), (8, 1), (1, 8), (16, 16)])
def test_the_vector_kernels_fit_exactly_where_a_plan_may_use_them(dtype, n_in, n_out):
    # One rule (fastprop_fills_vectors), which the planner asks for its candidates
    # (_kernels.vector_kernels_fit) and set_plan checks.
    is_float32 = np.dtype(dtype) == np.float32
    X = np.zeros((4, n_in), dtype)
    trainer = _kernels.Trainer([n_in, n_out], [np.zeros((n_out, n_in), dtype)],
                               [np.zeros(n_out, dtype)], X, np.zeros((4, n_out), dtype), 4,
                               False, [np.empty((4, n_out), dtype)], [np.empty((4, n_out), dtype)])
    for kind in ("forward", "gradient_step"):
        fits = _kernels.vector_kernels_fit(n_in, n_out, kind, is_float32)
        assert fits == (max(n_in, n_out) >= (8 if is_float32 else 4) if kind == "forward"
                        else n_in >= (8 if is_float32 else 4))
        plan = [("loops", False)] * 3
        plan[_kernels.PRODUCT_KINDS.index(kind)] = ("vector", False)
        if fits:
            trainer.set_plan(plan)
        else:
            with pytest.raises(ValueError, match=f"the {kind} product of layer 0: the vector "
                                                 "kernels need at least one vector's width"):
                trainer.set_plan(plan)


def test_an_unwritable_cache_directory_keeps_plans_for_the_process(tmp_path, monkeypatch,
                                                                   measurements):
    blocked = tmp_path / "a file, not a directory"
    blocked.write_text("")
    monkeypatch.setenv("FASTPROP_CACHE_DIR", str(blocked / "cache"))
    _planning.forget_loaded_plans()
    try:
        with pytest.warns(fastprop.PlanCacheWarning) as warned:
            first = fit(np.float64, plan="measured")
        second = fit(np.float64, plan="measured")      # from this process's copy
    finally:
        _planning.forget_loaded_plans()
    messages = [str(warning.message) for warning in warned]
    assert any("cannot read the plan cache" in message for message in messages), messages
    assert any("cannot write the plan cache" in message and "for this process only" in message
               for message in messages), messages
    assert len(measurements) == 1
    assert_same_bits(first, second)


def test_the_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTPROP_CACHE_DIR", str(tmp_path / "here"))
    assert _plan_cache.cache_directory() == tmp_path / "here"
    assert _plan_cache.cache_file().parent == tmp_path / "here"
    monkeypatch.delenv("FASTPROP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if _plan_cache.sys.platform.startswith("linux"):
        assert _plan_cache.cache_directory() == tmp_path / "xdg" / "fastprop"



def test_the_blas_part_of_the_machine_key_does_not_depend_on_the_order_libraries_loaded(
        monkeypatch):
    # threadpoolctl lists BLAS libraries in load order, which follows the program's imports
    # (NumPy's and SciPy's OpenBLAS, say): one machine must not get two keys and two files.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    libraries = [{"user_api": "blas", "internal_api": "openblas", "version": version,
                  "num_threads": 2, "architecture": "SkylakeX", "filepath": path}
                 for version, path in (("0.3.30", "/scipy.libs/a.so"),
                                       ("0.3.31", "/numpy.libs/b.so"))]
    seen = []
    for order in (libraries, libraries[::-1]):
        monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda order=order: order)
        seen.append(_plan_cache.blas_descriptions())
    assert seen[0] == seen[1] and len(seen[0]) == 2


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc/self/task (Linux)")
def test_waiting_for_idle_threads_waits_while_another_thread_runs_and_not_after():
    import threading
    import time

    stop = threading.Event()
    started = threading.Event()

    def spin():                    # a thread that keeps running, as a BLAS's threads after a call
        started.set()
        while not stop.is_set():
            sum(range(1000))

    spinner = threading.Thread(target=spin)
    spinner.start()
    started.wait()
    try:
        start = time.perf_counter()
        _planning._wait_for_idle_threads(0.05)
        assert time.perf_counter() - start >= 0.05          # it ran the whole time: waited it out
    finally:
        stop.set()
        spinner.join()
    start = time.perf_counter()
    _planning._wait_for_idle_threads(5.0)
    assert time.perf_counter() - start < 2.5                # nothing else runs: back at once

@pytest.mark.skipif("avx2" not in available_cpu_paths(), reason="needs a path with vector kernels")
def test_the_planner_calls_no_blas_before_timing_the_team_without_it(plan_directory, monkeypatch):
    # BLAS's threads spin after each call and slow the team down: every route that calls
    # no BLAS, and the steps of the plans that share products out without BLAS, come first.
    events = []
    time_product = _kernels.Trainer.time_product

    class Recording(_kernels.Trainer):
        def time_product(self, layer, kind, decision, lr, budget_seconds):
            events.append(("product", decision[0]))
            return time_product(self, layer, kind, decision, lr, budget_seconds)

        def set_plan(self, decisions):
            if decisions is not None:
                events.append(("plan", "blas" if any(route == "blas" for route, _ in decisions)
                               else "team" if any(shared for _, shared in decisions) else "alone"))
            return super().set_plan(decisions)

    monkeypatch.setattr(_kernels, "Trainer", Recording)
    with fastprop.config_context(cpu="avx2", threads=2):
        fastprop.tune([40, 64, 24], 32, np.float32)
    first_blas = next(index for index, event in enumerate(events) if event[1] == "blas")
    assert ("plan", "team") in events[:first_blas]               # a team plan was timed first
    assert all(route != "blas" for _, route in events[:first_blas])
    assert ("product", "vector") in events[:first_blas]


@pytest.mark.skipif("avx2" not in available_cpu_paths(), reason="needs a path with vector kernels")
def test_a_team_step_timed_far_over_its_estimate_is_timed_again_before_any_blas(
        plan_directory, monkeypatch):
    # Noise only slows: a step of the team's plans without BLAS timed at several times the
    # sum of its products' timings is timed again, and keeps its best time.
    calls = []
    time_steps = _planning._time_steps

    def noisy_first_timing(scratch, rows, plans, estimates):
        seconds = time_steps(scratch, rows, plans, estimates)
        calls.append([any(route == "blas" for route, _ in plan) for plan, _parts in plans])
        if len(calls) == 1:
            seconds = [10 * estimate for estimate in estimates]    # a moment of noise
        return seconds

    monkeypatch.setattr(_planning, "_time_steps", noisy_first_timing)
    with fastprop.config_context(cpu="avx2", threads=2):
        plan = fastprop.tune([40, 64, 24], 32, np.float32)
    if not calls[0] or any(calls[0]):
        pytest.skip("no plan shares products out without BLAS here (no threads compiled?)")
    assert calls[1] == calls[0]                # the same plans again, still without BLAS
    assert len(calls) == 3                     # then the other plans, once
    noisy = 10 * min(seconds for _, seconds in plan.timed)
    assert all(seconds < noisy for _, seconds in plan.timed)


@pytest.mark.parametrize("step_seconds, team_chosen", [
    (1e-5, False),     # timed over several batches in cache: the team must win by 10%
    (5e-3, True),      # timed on one whole batch (over STEP_TIMING_SECONDS): by 3%
])
def test_the_team_must_win_by_a_margin_that_depends_on_how_the_step_was_timed(
        plan_directory, monkeypatch, step_seconds, team_chosen):
    assert _planning.TEAM_MARGIN < 0.95 < _planning.LONG_STEP_TEAM_MARGIN
    assert _planning.STEP_TIMING_SECONDS < 5e-3
    timed_team = []

    def team_five_percent_faster(scratch, rows, plans, estimates):
        team = [bool(parts) or any(shared for _, shared in plan) for plan, parts in plans]
        timed_team.extend(team)
        return [step_seconds * (0.95 if uses_team else 1.0) for uses_team in team]

    monkeypatch.setattr(_planning, "_time_steps", team_five_percent_faster)
    with fastprop.config_context(threads=2):
        plan = fastprop.tune([40, 64, 24], 32, np.float32)
    if not any(timed_team):
        pytest.skip("no plan shares products out here (no threads compiled?)")
    uses_team = bool(plan.parts) or any(shared for _, shared in plan.decisions())
    assert uses_team == team_chosen
    assert plan.seconds_per_step == step_seconds * (0.95 if team_chosen else 1.0)


def test_the_plan_records_the_steps_it_timed(plan_directory):
    plan = fastprop.tune([40, 64, 24], 32, np.float64)
    codes = [code for code, _ in plan.timed]
    assert len(codes) >= 2 and len(set(codes)) == len(codes)
    assert [seconds for _, seconds in plan.timed] == sorted(seconds for _, seconds in plan.timed)
    # The chosen plan is among them (not always the fastest: the team must win by a margin).
    assert (_planning._code(plan.decisions(), plan.parts), plan.seconds_per_step) in plan.timed
    # Two layers; the first has no hidden delta: 'r r / r r r', r one of l v b, + when shared;
    # a split step's prefixed by its parts, its products on one thread each, outside BLAS.
    assert all(re.fullmatch(r"[lvb]\+? [lvb]\+? / [lvb]\+? [lvb]\+? [lvb]\+?", code)
               or re.fullmatch(r"split [2-8]: [lv] [lv] / [lv] [lv] [lv]", code)
               for code in codes), codes
    _planning.forget_loaded_plans()
    (reloaded,) = [_planning._plan_of(key, entry, "file") for key, entry
                   in _planning._plans_in(_plan_cache.cache_file()).items()]
    assert reloaded.timed == plan.timed
    report = io.StringIO()
    fastprop.show_config(file=report)
    assert f"{codes[0]} {plan.timed[0][1] * 1e6:.1f} us" not in report.getvalue()  # not in use yet


# --------------------------------------------------------------- tune and show_config

def test_tune_measures_ahead_and_a_fit_then_uses_that_plan(plan_directory, measurements):
    plan = fastprop.tune(SIZES, 16, np.float32)
    assert isinstance(plan, fastprop.Plan)
    assert plan.key == measurements[0] and "float32 12-20-9 batch 16" in plan.key
    assert len(plan.layers) == 2 and "hidden_delta" not in plan.layers[0]
    assert plan.cache_file == str(_plan_cache.cache_file())
    fit(np.float32, plan="measured")
    assert len(measurements) == 1                   # the fit found tune's plan
    fastprop.tune(SIZES, 16, np.float32)            # tune always measures anew
    assert len(measurements) == 2


@pytest.mark.parametrize("arguments, error, message", [
    (([4], 8), ValueError, r"sizes must be a list or tuple of at least two widths"),
    (([4, 0, 1], 8), ValueError, r"sizes must be"),
    (([4, 2], 0), ValueError, r"batch_size must be"),
    (([4, 2], 8, np.int32), TypeError, r"dtype must be float32 or float64, got int32"),
])
def test_tune_rejects_bad_arguments(plan_directory, arguments, error, message):
    with pytest.raises(error, match=message):
        fastprop.tune(*arguments)


def test_show_config_lists_the_plans_in_use_and_where_they_are_stored(plan_directory):
    with fastprop.config_context(plan="measured"):
        report = io.StringIO()
        fastprop.show_config(file=report)
        assert "in use: none yet in this process" in report.getvalue()
        fit(np.float64, plan="measured")
        report = io.StringIO()
        fastprop.show_config(file=report)
    text = report.getvalue()
    assert f"plan cache: {_plan_cache.cache_file()}" in text
    assert "in use: float64 12-20-9 batch 16 cpu " in text and " us per step; planned in " in text
    (plan,) = _planning.plans_in_use()
    assert "steps timed (l loops, v vector kernels, b BLAS, + shared out" in text
    assert f"{plan.timed[0][0]} {plan.timed[0][1] * 1e6:.1f} us" in text


def test_the_fixed_and_portable_plans_neither_measure_nor_write(plan_directory, measurements):
    fit(np.float32, plan="fixed")
    fit(np.float32, plan="portable")
    assert measurements == [] and not list(plan_directory.iterdir())


def test_fastprop_plan_sets_the_default_plan(plan_directory):
    import subprocess
    import sys

    for plan in ("portable", "fixed", "measured"):
        run = subprocess.run([sys.executable, "-c", "import fastprop; "
                              "print(fastprop.get_config()['plan'])"],
                             capture_output=True, text=True,
                             env={**_environment(), "FASTPROP_PLAN": plan})
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == plan
    run = subprocess.run([sys.executable, "-c", "import fastprop"], capture_output=True,
                         text=True, env={**_environment(), "FASTPROP_PLAN": "fast"})
    assert run.returncode != 0
    assert "FASTPROP_PLAN must be one of 'measured', 'portable', 'fixed', got 'fast'" in run.stderr


def _environment():
    import os

    return dict(os.environ)


# --------------------------------------------------------------- bits

@pytest.mark.parametrize("threads", [2, 3])
def test_a_measured_plan_gives_the_same_bits_on_any_number_of_threads(dtype, threads):
    # A plan that shares every product it can out over the team, run by a trainer
    # on one thread and on several: the same routes, so the same bits.
    # Products of millions of multiply-adds, so that the helpers surely take tasks.
    sizes = [10, 256, 200, 3]
    rng = np.random.default_rng(8)
    X = rng.uniform(-1, 1, (400, sizes[0])).astype(dtype)
    Y = rng.uniform(0, 1, (400, sizes[-1])).astype(dtype)
    lanes = 8 if dtype == np.float32 else 4
    decisions = []
    for layer, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        for kind in _kernels.PRODUCT_KINDS:
            spread = max(n_in, n_out) if kind == "forward" else n_in
            vector = vector_kernels_in_use() and spread >= lanes and layer != 1
            decisions.append(("vector" if vector else "blas", True))

    def train(n_threads):
        generator = np.random.default_rng(2)
        weights = [generator.normal(0, 0.5, (b, a)).astype(dtype) for a, b in zip(sizes, sizes[1:])]
        biases = [np.zeros(b, dtype=dtype) for b in sizes[1:]]
        work = [[np.empty((64, b), dtype=dtype) for b in sizes[1:]] for _ in range(2)]
        trainer = _kernels.Trainer(sizes, weights, biases, X, Y, 64, True, *work)
        trainer.set_plan(decisions)
        losses = np.zeros(5)
        with fastprop.config_context(plan="measured", threads=n_threads,
                                     parallel_min_multiply_adds=None):
            trainer.run(None, 0, X.shape[0], 0.5, losses)
        trainer.stop_threads()
        return weights + biases + [losses]

    alone = train(1)
    before = _kernels.helper_task_count()
    together = train(threads)
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)
    if _kernels.cpu_capabilities()["threads_compiled"] and vector_kernels_in_use():
        # The plan, not the thresholds (parallel_min_multiply_adds=None), shared work out
        # (the vector kernels' panels; BLAS shares only the short passes after it). A
        # helper not scheduled in time leaves its share to the main thread (on a machine
        # loaded by other processes), so more runs, for up to 10 seconds.
        deadline = time.monotonic() + 10.0
        while _kernels.helper_task_count() == before and time.monotonic() < deadline:
            train(threads)
        assert _kernels.helper_task_count() > before


def _stored_output_cases():
    path = Path(__file__).resolve().parent / "data" / "make_stored_outputs.py"
    spec = importlib.util.spec_from_file_location("fastprop_stored_output_cases_for_plans", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("cpu", ["baseline", "avx2", "avx512"])
@pytest.mark.parametrize("threads", [1, 2])
def test_the_portable_plan_gives_the_stored_bits_on_every_path_and_thread_count(cpu, threads,
                                                                               dtype):
    # tests/data/stored_outputs.npz was computed in the plain loops, on another
    # machine, before the compiled layer's rewrite: the portable plan must give its
    # bits on every CPU path this machine has and with any number of threads.
    if cpu not in available_cpu_paths():
        pytest.skip(f"this CPU or build has no {cpu} path")
    import contextlib

    cases = _stored_output_cases()

    @contextlib.contextmanager
    def portable(name, n_threads):
        with fastprop.config_context(plan="portable", cpu=cpu, threads=n_threads):
            yield

    computed = cases.compute_group(portable, "loops", threads, dtype, {})
    stored = cases.load_outputs()
    prefix = cases.group_prefix("loops", threads, dtype) + "/"
    expected = {key: array for key, array in stored.items() if key.startswith(prefix)}
    assert expected and sorted(computed) == sorted(expected)
    differing = [key for key in expected if not cases.same_bits(computed[key], expected[key])]
    assert not differing, f"{len(differing)} of {len(expected)} differ, e.g. {differing[:5]}"


def test_the_portable_plan_ignores_thresholds_that_would_send_products_to_blas(dtype):
    blas_everywhere = dict(blas_min_multiply_adds_float32=0, blas_min_multiply_adds_float64=0,
                           loops_blas_min_multiply_adds=0, single_thread_blas_min_multiply_adds=0)
    portable = fit(dtype, plan="portable", **blas_everywhere)
    loops = fit(dtype, plan="fixed", vector_min_multiply_adds=None,
                blas_min_multiply_adds_float32=None, blas_min_multiply_adds_float64=None,
                loops_blas_min_multiply_adds=None, single_thread_blas_min_multiply_adds=None)
    assert_same_bits(portable, loops)


# --------------------------------------------------------------- Trainer's checks

def make_trainer(sizes=(12, 20, 9), dtype=np.float32):
    X, Y = training_data(dtype, list(sizes))
    weights = [np.zeros((b, a), dtype=dtype) for a, b in zip(sizes, sizes[1:])]
    biases = [np.zeros(b, dtype=dtype) for b in sizes[1:]]
    work = [[np.empty((16, b), dtype=dtype) for b in sizes[1:]] for _ in range(2)]
    return _kernels.Trainer(list(sizes), weights, biases, X, Y, 16, False, *work)


@pytest.mark.parametrize("decisions, message", [
    ([("blas", False)] * 5, r"a plan needs 6 decisions \(3 per layer\), got 5"),
    ([("blas", False)] * 5 + [("fast", False)],
     r"the gradient_step product of layer 1: a decision is a \(route, shared\) pair"),
    ([("blas", False)] * 5 + [("blas", "yes")], r"a decision is a \(route, shared\) pair"),
    ([("blas", False)] * 5 + [("blas",)], r"a decision is a \(route, shared\) pair"),
    ([("loops", True)] + [("blas", False)] * 5,
     r"the forward product of layer 0: the plain loops are not shared out over threads"),
])
def test_set_plan_rejects_decisions_a_kernel_cannot_run(decisions, message):
    trainer = make_trainer()
    with pytest.raises(ValueError, match=message):
        trainer.set_plan(decisions)


def test_set_plan_rejects_the_vector_kernels_on_a_product_too_narrow_for_them():
    trainer = make_trainer(sizes=(3, 2, 9))
    decisions = [("loops", False)] * 6
    decisions[4] = ("vector", False)        # the hidden delta of layer 1: 2 wide
    with pytest.raises(ValueError, match=r"hidden_delta product of layer 1: the vector kernels "
                                         r"need at least one vector's width across, 2 x 9"):
        trainer.set_plan(decisions)


@pytest.mark.parametrize("arguments, message", [
    ((2, "forward", ("blas", False)), r"layer must be from 0 to 1, got 2"),
    ((0, "backward", ("blas", False)), r"kind must be one of forward, hidden_delta"),
    ((0, "hidden_delta", ("blas", False)), r"layer 0 has no hidden delta"),
    ((0, "forward", ("blas", False), -1.0), r"budget_seconds must be >= 0"),
    ((0, "forward", ("loops", True)), r"the plain loops are not shared out"),
])
def test_time_product_rejects_bad_arguments(arguments, message):
    layer, kind, decision, *budget = arguments
    with pytest.raises(ValueError, match=message):
        make_trainer().time_product(layer, kind, decision, 0.1, budget[0] if budget else 0.0)


@pytest.mark.skipif(not vector_kernels_in_use(), reason="needs the vector kernels")
def test_the_vector_route_is_refused_or_dropped_on_the_baseline_path():
    trainer = make_trainer()
    decisions = [("vector", False)] * 6
    trainer.set_plan(decisions)
    with fastprop.config_context(cpu="baseline", plan="measured"):
        with pytest.raises(ValueError, match=r"the vector route needs the avx2 or avx512 cpu "
                                             r"path, not 'baseline'"):
            trainer.time_product(0, "forward", ("vector", False), 0.1, 0.0)
        # A run routes by the thresholds instead of the plan made for another path.
        trainer.run(None, 0, 32, 0.1, np.zeros(1))


def test_time_product_returns_a_positive_time_and_leaves_the_plan_alone():
    trainer = make_trainer()
    trainer.run(None, 0, 16, 0.1, np.zeros(1))
    for kind, layer in (("forward", 0), ("hidden_delta", 1), ("gradient_step", 1)):
        seconds = trainer.time_product(layer, kind, ("blas", False), 1e-6, 1e-4)
        assert 0 < seconds < 1


@pytest.mark.parametrize("sizes", [[12, 20, 9], [64, 300, 40, 1], [3, 2, 1]], ids=str)
def test_threshold_decisions_are_the_fixed_plans_routes(dtype, sizes):
    # The planner's hedge "the fixed plan's routes", given as a plan, trains the
    # network exactly as the fixed plan does (on whole batches: a plan gives the last,
    # smaller batch of an epoch the routes of a whole one, the thresholds may not).
    def train(**options):
        X, Y = training_data(dtype, sizes, n_samples=96)
        generator = np.random.default_rng(6)
        weights = [generator.normal(0, 0.3, (b, a)).astype(dtype) for a, b in zip(sizes, sizes[1:])]
        biases = [np.zeros(b, dtype=dtype) for b in sizes[1:]]
        work = [[np.empty((32, b), dtype=dtype) for b in sizes[1:]] for _ in range(2)]
        trainer = _kernels.Trainer(sizes, weights, biases, X, Y, 32, True, *work)
        losses = np.zeros(3)
        with fastprop.config_context(**options):
            if options["plan"] == "measured":
                trainer.set_plan(_kernels.threshold_decisions(sizes, 32, dtype == np.float32))
            trainer.run(None, 0, X.shape[0], 0.5, losses)
        trainer.stop_threads()
        return weights + biases + [losses]

    for threads in (1, 2):
        for a, b in zip(train(plan="fixed", threads=threads),
                        train(plan="measured", threads=threads)):
            np.testing.assert_array_equal(a, b)
