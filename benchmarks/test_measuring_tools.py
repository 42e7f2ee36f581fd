"""The instrument itself: FLOP counts, the same-work check, the JAX batches, the route variants,
memory measurement, the machine description, report and README writing, run_all with and
without the optional peers."""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import run_all
from cases import FULL_CASES, benchmark_cases, make_initial_parameters, make_training_data
from peak_memory import measure_peak_memory
from report import README_END, README_START, replace_readme_section


def test_flop_count_of_xor_by_hand():
    xor = FULL_CASES[0]
    # Per sample: forward 2·(2·2) + 2·(2·1) = 12; backward delta @ W, second layer only: 2·2 = 4;
    # weight gradients 2·(2·2) + 2·(2·1) = 12. Total 28, for 4 samples and 10 000 epochs.
    assert xor.training_flops() == 28 * 4 * 10_000


def test_flop_count_of_case_d_by_hand():
    d = FULL_CASES[3]
    products = 784 * 1024 + 1024 * 1024 + 1024 * 10
    assert d.training_flops() == 2 * 60_000 * (products + (products - 784 * 1024) + products)


@pytest.mark.parametrize("case", benchmark_cases(), ids=lambda case: case.name)
def test_data_and_weights_are_deterministic_and_of_the_case_dtype(case):
    X1, Y1 = make_training_data(case)
    X2, Y2 = make_training_data(case)
    assert X1.dtype == case.dtype and X1.flags.c_contiguous and Y1.flags.c_contiguous
    assert X1.shape == (case.n_samples, case.layer_sizes[0])
    assert np.array_equal(X1, X2) and np.array_equal(Y1, Y2)
    if case.is_classification:     # class labels, every class present
        assert Y1.dtype == np.int64 and Y1.shape == (case.n_samples,)
        assert set(np.unique(Y1)) == set(range(case.layer_sizes[-1]))
    else:
        assert Y1.dtype == case.dtype and Y1.shape == (case.n_samples, case.layer_sizes[-1])
        assert 0 <= Y1.min() and Y1.max() <= 1
    (W1, b1), (W2, b2) = make_initial_parameters(case), make_initial_parameters(case)
    assert all(np.array_equal(p, q) and p.dtype == case.dtype for p, q in zip(W1 + b1, W2 + b2))


def test_peak_memory_sees_a_copy_of_the_data_and_not_a_view():
    data = np.ones((2_000, 1_000))  # 16 MB
    copy = measure_peak_memory(lambda: data.copy())
    view = measure_peak_memory(lambda: data[:10].sum())
    assert copy.traced_peak_bytes >= data.nbytes
    assert view.traced_peak_bytes < data.nbytes / 100
    if copy.rss_growth_bytes is not None:
        assert copy.rss_growth_bytes >= 0.9 * data.nbytes


def test_readme_section_is_replaced_between_the_markers_only():
    readme = f"# title\n\n{README_START}\nold table\n{README_END}\n\nafter\n"
    once = replace_readme_section(readme, "new table")
    assert once == f"# title\n\n{README_START}\nnew table\n{README_END}\n\nafter\n"
    assert replace_readme_section(once, "new table") == once
    with pytest.raises(ValueError):
        replace_readme_section("# no markers\n", "new table")


def test_run_all_writes_results_and_readme_section(tmp_path, capsys):
    pytest.importorskip("fastprop")
    readme = tmp_path / "README.md"
    readme.write_text(f"# fastprop\n\n{README_START}\n{README_END}\n", encoding="utf-8")
    results = tmp_path / "RESULTS.md"
    exit_code = run_all.main(["--quick", "--cases", "A", "--results", str(results), "--readme", str(readme)])
    assert exit_code == 0
    written = results.read_text(encoding="utf-8")
    assert "| A: XOR 2-2-1 float64" in written and "## Machine" in written and "QUICK MODE" in written
    # The CPU and the BLAS come first, then the ratios (with JAX's column), then the default-never-loses table.
    assert written.index("Measured on: **") < written.index("BLAS (threadpoolctl): ") < written.index("## Ratios")
    assert "CPU vector extensions: " in written.split("## Ratios")[0]
    assert "| fastprop vs JAX |" in written and "## The default never loses" in written
    assert "| A | float64 | 4 | baseline |" in written
    if run_all.scikit_learn_missing() is None:  # then after them, the comparison with scikit-learn
        assert written.index("## The default never loses") < written.index("## Against scikit-learn's MLP")
        assert "| scikit-learn: digits, relu/adam | test accuracy within ±0.01" in written
    section = readme.read_text(encoding="utf-8")
    assert "| A: XOR 2-2-1 float64" in section and run_all.DEFAULT_RESULTS.name in section
    assert "python benchmarks/run_all.py" in section
    assert "| A: XOR" in capsys.readouterr().out


def test_goals_not_met_text_keeps_only_the_named_cases():
    from report import goals_not_met_text

    text = goals_not_met_text({"C"})
    assert text.startswith("## Goals not met")
    assert "### Case C" in text
    assert "### Case B" not in text and "### Case D" not in text and "### Case A" not in text
    both = goals_not_met_text({"B", "D"})
    assert "### Case B" in both and "### Case D" in both and "### Case C" not in both


def test_kernel_rates_measures_both_paths_and_restores_the_configuration():
    fastprop = pytest.importorskip("fastprop")
    import kernel_rates
    from fastprop import _kernels

    before = fastprop.get_config()
    rows = kernel_rates.measure([(16, 24, 8)], np.dtype(np.float32), seconds_per_timing=0.01)
    paths = ["vector", "blas"] if _kernels.read_config()["cpu"] != "baseline" else ["blas"]
    assert [path for _, path, _ in rows] == paths
    for shape, _, rates in rows:
        assert shape == (16, 24, 8)
        assert set(rates) == {"forward", "weight gradient", "hidden delta"}
        assert all(rate > 0 for rate in rates.values())
    assert fastprop.get_config() == before
    assert "| 16 x 24 -> 8 |" in kernel_rates.table(rows)


def test_the_same_work_check_catches_a_skipped_short_last_batch():
    from trainers import NUMPY, compare_parameters, train_once

    case = FULL_CASES[2].quick()  # 1 000 samples in batches of 128: a short last batch of 104
    X, Y = make_training_data(case)
    everything = train_once(NUMPY, case, X, Y).parameters()
    without_last_batch = train_once(NUMPY, replace(case, n_samples=896), X[:896], Y[:896]).parameters()
    assert compare_parameters(case, everything, everything).agrees
    assert not compare_parameters(case, everything, without_last_batch).agrees


def test_jax_batches_are_the_full_ones_and_the_short_last_one():
    from jax_baseline import split_into_batches

    assert split_into_batches(60_000, 128) == (468, 96)
    assert split_into_batches(60_000, 32) == (1_875, 0)
    assert split_into_batches(4, 4) == (1, 0)


def test_jax_trains_a_short_last_batch_like_numpy_in_both_dtypes():
    pytest.importorskip("jax")
    from trainers import JAX, NUMPY, compare_parameters, train_once

    for dtype in (np.float32, np.float64):
        case = replace(FULL_CASES[1].quick(), n_samples=100, dtype=dtype)  # batches of 32: 3 full, 4 rows
        X, Y = make_training_data(case)
        jax_parameters = train_once(JAX, case, X, Y).parameters()
        assert all(p.dtype == dtype for p in jax_parameters[0] + jax_parameters[1])
        agreement = compare_parameters(case, train_once(NUMPY, case, X, Y).parameters(), jax_parameters)
        assert agreement.agrees, agreement.describe()


def test_goals_name_their_peer():
    from cases import Goal

    assert Goal("speedup_vs_jax", 3).peer == "jax" and Goal("speedup_vs_torch", 2).peer == "torch"
    assert Goal("fraction_of_gemm_floor", 0.7).peer is None
    assert Goal("speedup_vs_jax", 1.5).describe() == "≥ 1.5x faster than JAX"
    assert {goal.peer for case in FULL_CASES for goal in case.goals} == {"numpy", "torch", "jax", None}


def test_route_variants_force_every_route_and_skip_what_a_path_lacks():
    pytest.importorskip("fastprop")
    import default_never_loses as routes

    baseline, avx2 = routes.variants("baseline"), routes.variants("avx2")
    assert routes.ALL_VECTOR not in baseline and routes.ALL_VECTOR in avx2
    assert baseline[routes.DEFAULT] == {} and baseline[routes.ONE_THREAD] == {"threads": 1}
    for route in routes.FORCED_ROUTES:
        assert avx2[route]["plan"] == "fixed"
    assert all(value is None for key, value in avx2[routes.ALL_LOOPS].items() if key != "plan")
    assert avx2[routes.ALL_VECTOR]["vector_min_multiply_adds"] == 0
    assert all(value == 0 for key, value in avx2[routes.ALL_BLAS].items() if key != "plan")
    assert routes.plan_is_accepted("fixed") and not routes.plan_is_accepted("no such plan")


def test_route_comparison_verdict():
    import default_never_loses as routes

    comparison = routes.RouteComparison(case=FULL_CASES[0], cpu_path="avx2", seconds={
        routes.DEFAULT: [1.02, 1.5], routes.ONE_THREAD: [1.05], routes.ALL_LOOPS: [1.0], routes.ALL_BLAS: [3.0]})
    assert comparison.fastest_alternative == routes.ALL_LOOPS
    assert comparison.ratio_to(routes.ALL_LOOPS) == pytest.approx(1.02)
    assert comparison.goal_met  # within 3% of the fastest forced route, faster than one thread
    comparison.seconds[routes.ONE_THREAD] = [1.0]
    assert not comparison.goal_met  # slower than one thread
    comparison.seconds[routes.ONE_THREAD] = [1.05]
    comparison.seconds[routes.ALL_BLAS] = [0.9]
    assert comparison.fastest_alternative == routes.ALL_BLAS and not comparison.goal_met


def test_a_variant_running_the_defaults_own_routes_neither_wins_nor_beats_it():
    import default_never_loses as routes

    loops = (("loops", False),) * 6
    team = (("vector", True),) * 6
    comparison = routes.RouteComparison(
        case=FULL_CASES[0], cpu_path="avx2",
        seconds={routes.DEFAULT: [1.05], routes.ONE_THREAD: [1.0], routes.ALL_LOOPS: [0.95],
                 routes.ALL_BLAS: [1.04]},
        routes={routes.DEFAULT: loops, routes.ONE_THREAD: loops, routes.ALL_LOOPS: loops,
                routes.ALL_BLAS: (("blas", False),) * 6})
    # One thread and all-loops run the default's code: noise, not a loss; BLAS is the
    # fastest alternative with other routes, and the default is within 3% of it.
    assert comparison.runs_the_defaults_routes(routes.ONE_THREAD)
    assert comparison.fastest_alternative == routes.ALL_BLAS and comparison.goal_met
    comparison.seconds[routes.ALL_BLAS] = [1.0]
    assert not comparison.goal_met
    # Routes shared out over the team are not "the same" as one thread's, nor are unknown ones.
    comparison.seconds[routes.ALL_BLAS] = [1.04]
    comparison.routes = {routes.DEFAULT: team, routes.ONE_THREAD: team, routes.ALL_LOOPS: None}
    assert not comparison.runs_the_defaults_routes(routes.ONE_THREAD)
    assert not comparison.goal_met and comparison.fastest_alternative == routes.ALL_LOOPS


def test_the_routes_of_a_fit_are_read_for_measured_fixed_and_portable_plans(tmp_path, monkeypatch):
    fastprop = pytest.importorskip("fastprop")
    import default_never_loses as routes

    if fastprop.get_config()["plan"] != "measured":
        pytest.skip("the default plan is not the measured one here (FASTPROP_PLAN)")
    monkeypatch.setenv("FASTPROP_CACHE_DIR", str(tmp_path))
    case = routes.comparison_case(FULL_CASES[0], np.float64)      # XOR: every plan is the loops
    comparison = routes.compare_routes(case, routes.cpu_paths()[0], repeats=1, pause_seconds=0.0)
    loops = (("loops", False),) * 6
    assert comparison.routes[routes.DEFAULT] == comparison.routes[routes.ONE_THREAD] == loops
    assert comparison.routes[routes.ALL_LOOPS] == loops
    # Layer 0 has no hidden delta (index 1): the loops' decision stands for it in every plan.
    assert comparison.routes[routes.ALL_BLAS] == (("blas", False), ("loops", False)) + (("blas", False),) * 4
    # The portable plan runs every product in the plain loops: XOR's default routes.
    assert comparison.routes["plan 'portable'"] == loops
    assert comparison.runs_the_defaults_routes("plan 'portable'")


def test_route_comparison_runs_every_variant_and_restores_the_configuration():
    fastprop = pytest.importorskip("fastprop")
    import default_never_loses as routes

    before = fastprop.get_config()
    case = routes.comparison_case(FULL_CASES[2].quick(), np.float64)
    assert case.dtype == np.float64 and case.n_samples == 96  # quick: the short last batch alone
    comparison = routes.compare_routes(case, routes.cpu_paths()[-1], repeats=1, pause_seconds=0.0)
    assert set(comparison.seconds) == set(routes.variants(routes.cpu_paths()[-1]))
    assert comparison.same_work and set(comparison.agreement) == set(comparison.seconds) - {routes.DEFAULT}
    assert fastprop.get_config() == before


def test_route_comparison_drops_slow_variants_after_two_runs_and_hopeless_ones_after_one(monkeypatch):
    pytest.importorskip("fastprop")
    import default_never_loses as routes

    path = routes.cpu_paths()[0]
    options = routes.variants(path)
    # Default 1 s; loops hopeless (30x), BLAS slow (1.6x: out after two runs), the rest close.
    seconds = {routes.DEFAULT: 1.0, routes.ONE_THREAD: 1.01, routes.ALL_LOOPS: 30.0, routes.ALL_BLAS: 1.6}
    calls = []

    def fake_fit(case, X, Y, cpu_path, variant_options, max_wait, pause, routes=None, name=None):
        name = next(name for name, known in options.items() if known == variant_options)
        calls.append(name)
        parameters = [np.zeros(1)] * (2 * (len(case.layer_sizes) - 1))
        return seconds.get(name, 1.02), (parameters[::2], parameters[1::2])

    monkeypatch.setattr(routes, "_timed_fit", fake_fit)
    monkeypatch.setattr(routes, "compare_parameters", lambda case, ours, theirs: None)
    case = routes.comparison_case(FULL_CASES[2].quick(), np.float64)
    comparison = routes.compare_routes(case, path, repeats=5, pause_seconds=0.5)
    assert len(comparison.seconds[routes.ALL_LOOPS]) == 1
    assert len(comparison.seconds[routes.ALL_BLAS]) == 2
    assert len(comparison.seconds[routes.DEFAULT]) == len(comparison.seconds[routes.ONE_THREAD]) == 5


def test_cpu_vector_features_are_read_from_the_flags():
    from machine_description import cpu_vector_features

    cpuinfo = "processor : 0\nflags : fpu sse2 avx avx2 fma avx512f avx512dq avx512bw avx512vl\n"
    assert cpu_vector_features(cpuinfo).startswith("AVX2, FMA, AVX-512F, AVX-512DQ, AVX-512BW, AVX-512VL; not ")
    assert cpu_vector_features("flags : fpu sse2\n").startswith("none of AVX2, FMA, AVX-512; not AVX2")


def _run_with_hidden_packages(packages: str, *arguments: str) -> subprocess.CompletedProcess:
    here = Path(__file__).resolve().parent
    inherited = [str(Path(entry).resolve()) for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    environment = dict(os.environ, FASTPROP_BENCH_HIDE=packages, PYTHONPATH=os.pathsep.join([str(here), *inherited]))
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, env=environment, cwd=here)


def test_hidden_packages_cannot_be_imported():
    hidden = _run_with_hidden_packages("colorsys", "-c", "import hide_packages, colorsys")
    assert hidden.returncode != 0 and "hidden by FASTPROP_BENCH_HIDE" in hidden.stderr
    assert _run_with_hidden_packages("", "-c", "import hide_packages, colorsys").returncode == 0


def test_run_all_quick_runs_without_torch_and_jax():
    pytest.importorskip("fastprop")
    run = _run_with_hidden_packages("torch,jax", str(Path(run_all.__file__)), "--quick", "--cases", "A")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "implementations: fastprop, numpy;" in run.stderr
    assert "PyTorch eager not installed (torch)" in run.stdout and "JAX (jit, lax.scan) not installed (jax)" in run.stdout


def test_a_cheap_implementation_runs_untimed_right_before_each_timed_run_after_the_first(monkeypatch):
    import measurements

    events = []

    class Instant:
        def prepare_data(self, X, Y):
            return X, Y

        def train(self, X, Y):
            events.append("train")

        def parameters(self):
            return [], []

    monkeypatch.setattr(measurements, "make_trainer", lambda name, case: Instant())
    monkeypatch.setattr(measurements, "warm_up", lambda name, case: None)
    monkeypatch.setattr(measurements, "wait_for_quiet", lambda *args, **kwargs: events.append("pause"))
    case = FULL_CASES[0].quick()
    result = measurements.measure_case(case, ["numpy"], repeats=3, measure_memory=False,
                                       square_gemm_size=16, pause_seconds=0.01)
    assert len(result.seconds["numpy"]) == 3
    # Its part of the rotation: the first run timed alone, then untimed + timed after each pause.
    trains_after_pauses = [len(list(group)) for key, group in itertools.groupby(events) if key == "train"]
    assert sorted(trains_after_pauses) == [1, 2, 2]


def test_sklearn_comparison_quick_mode_makes_a_well_formed_table_without_goals(tmp_path, monkeypatch):
    pytest.importorskip("fastprop")
    pytest.importorskip("sklearn")
    import sklearn_comparison
    from report import SKLEARN_SECTION_TITLE, goal_table, sklearn_goals_line, sklearn_section_lines, sklearn_table

    monkeypatch.setenv("FASTPROP_CACHE_DIR", str(tmp_path))
    rows = sklearn_comparison.compare_with_scikit_learn(quick=True)
    assert [row.case.name for row in rows] == [case.name for case in sklearn_comparison.sklearn_cases()]
    assert [row.is_grid for row in rows] == [False, False, False, True]
    for row in rows:
        assert all(len(row.seconds[name]) == 1 and row.seconds[name][0] > 0 and 0 <= row.accuracy[name] <= 1
                   for name in (sklearn_comparison.SKLEARN, sklearn_comparison.FASTPROP))
        assert row.epochs[sklearn_comparison.FASTPROP] == sklearn_comparison.QUICK_MAX_ITER
        assert row.first_seconds[sklearn_comparison.FASTPROP] > 0 and row.speedup > 0
        assert [met for _, _, met in row.goals()] == [None, None]  # quick mode asserts no goal
    grid = rows[-1]
    assert set(grid.cv_score) == {sklearn_comparison.SKLEARN, sklearn_comparison.FASTPROP}
    assert grid.n_train + grid.n_test == 1797 and "12 candidates" in grid.case.describe_parameters()

    table = sklearn_table(rows).splitlines()
    columns = table[0].count("|")
    assert len(table) == 2 + len(rows) and all(line.count("|") == columns for line in table)
    assert table[2].startswith("| digits, relu/adam | 1347 / 450 | `hidden_layer_sizes=(64,), activation='relu'")
    assert "not measured (quick mode)" in sklearn_goals_line(rows)
    assert "| scikit-learn: digits, grid search | grid search ≥ 3x faster" in goal_table([], rows)
    section = sklearn_section_lines(rows, {"CPU": "some CPU", "cores": "2 logical", "date": "today"}, ["a note"])
    assert section[0] == SKLEARN_SECTION_TITLE and "Measured on: **some CPU**" in section[2]
    assert "- a note" in section


def test_sklearn_comparison_goals():
    import sklearn_comparison as sc

    fit, grid = sc.sklearn_cases()[0], sc.sklearn_cases()[-1]
    row = sc.SklearnComparison(case=fit, quick=False, n_train=1, n_test=1,
                               accuracy={sc.SKLEARN: 0.97, sc.FASTPROP: 0.96},
                               seconds={sc.SKLEARN: [1.0, 0.5], sc.FASTPROP: [0.2, 0.1]})
    assert row.speedup == pytest.approx(5.0) and row.speed_goal_met and row.accuracy_goal_met
    row.accuracy[sc.FASTPROP] = 0.955
    assert not row.accuracy_goal_met
    row.seconds[sc.FASTPROP] = [0.11]
    assert not row.speed_goal_met
    grid_row = sc.SklearnComparison(case=grid, quick=False, n_train=1, n_test=1,
                                    seconds={sc.SKLEARN: [0.33], sc.FASTPROP: [0.11]})
    assert grid_row.speed_goal == sc.GRID_SPEEDUP_GOAL and grid_row.speed_goal_met
    assert grid_row.accuracy_goal_met is None  # not measured


def test_run_all_skips_the_sklearn_comparison_when_asked(tmp_path):
    pytest.importorskip("fastprop")
    results = tmp_path / "RESULTS.md"
    assert run_all.main(["--quick", "--cases", "A", "--no-routes", "--no-sklearn", "--no-memory",
                         "--results", str(results)]) == 0
    assert "Against scikit-learn" not in results.read_text(encoding="utf-8")


def test_the_scikit_learn_part_of_goals_not_met_is_found_and_kept_out_of_the_cases():
    from report import goals_not_met_text, sklearn_goals_not_met_text

    text = sklearn_goals_not_met_text()
    assert text.startswith("### scikit-learn") and "5x" in text
    # A case's section stops at the next "### " heading: not part of case E's.
    assert "scikit-learn" not in goals_not_met_text({"E"}).split("### Case E", 1)[1]
