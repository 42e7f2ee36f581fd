"""The instrument itself: FLOP counts, memory measurement, report and README writing, run_all."""
from __future__ import annotations

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
    assert X1.dtype == Y1.dtype == case.dtype and X1.flags.c_contiguous and Y1.flags.c_contiguous
    assert X1.shape == (case.n_samples, case.layer_sizes[0]) and Y1.shape == (case.n_samples, case.layer_sizes[-1])
    assert np.array_equal(X1, X2) and np.array_equal(Y1, Y2)
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
