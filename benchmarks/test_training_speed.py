"""pytest-benchmark: each case A–D trained by fastprop, the NumPy baseline, PyTorch eager and JAX.

Every benchmark then checks that its final weights match the NumPy baseline's,
so all of them did the same work. Ratios, the GEMM floor, memory and "the
default never loses" are in ``run_all.py``, which runs everything in one process.
PyTorch and JAX are skipped when they are not installed.
"""
from __future__ import annotations

import pytest

from cases import benchmark_cases
from trainers import IMPLEMENTATIONS, OPTIONAL_PACKAGES, compare_parameters, make_trainer, warm_up


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", benchmark_cases(), ids=lambda case: case.name)
def test_training_time(benchmark, case, implementation, training_data, numpy_reference_parameters):
    if implementation in OPTIONAL_PACKAGES:
        pytest.importorskip(OPTIONAL_PACKAGES[implementation])
    X, Y = training_data(case)
    trainers = []

    def fresh_trainer():  # not timed: the network from the initial weights (JAX compiles), the data's format
        trainer = make_trainer(implementation, case)
        trainers[:] = [trainer]
        return tuple(trainer.prepare_data(X, Y)), {}

    warm_up(implementation, case)
    benchmark.group = case.label
    benchmark.extra_info.update(steps=case.steps(), flops=case.training_flops())
    benchmark.pedantic(lambda *data: trainers[0].train(*data), setup=fresh_trainer,
                       rounds=case.repeats, iterations=1)

    agreement = compare_parameters(case, numpy_reference_parameters(case), trainers[0].parameters())
    benchmark.extra_info["relative_difference_from_numpy"] = agreement.relative_difference
    assert agreement.agrees, f"{implementation} did not do the NumPy baseline's work: {agreement.describe()}"
