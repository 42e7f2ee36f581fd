"""pytest-benchmark: each case A–D trained by fastprop, the NumPy baseline and PyTorch eager.

Every benchmark then checks that its final weights match the NumPy baseline's,
so all three did the same work. Ratios, the GEMM floor and memory are in
``run_all.py``, which runs everything in one process.
"""
from __future__ import annotations

import pytest

from cases import benchmark_cases
from measurements import warm_up
from trainers import IMPLEMENTATIONS, TORCH, compare_parameters, make_trainer


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", benchmark_cases(), ids=lambda case: case.name)
def test_training_time(benchmark, case, implementation, training_data, numpy_reference_parameters):
    if implementation == TORCH:
        pytest.importorskip("torch")
    X, Y = training_data(case)
    trainers = []

    def fresh_trainer():
        trainers[:] = [make_trainer(implementation, case)]
        return (trainers[0],), {}

    warm_up(implementation, case)
    benchmark.group = case.label
    benchmark.extra_info.update(steps=case.steps(), flops=case.training_flops())
    benchmark.pedantic(lambda trainer: trainer.train(X, Y), setup=fresh_trainer,
                       rounds=case.repeats, iterations=1)

    agreement = compare_parameters(case, numpy_reference_parameters(case), trainers[0].parameters())
    benchmark.extra_info["relative_difference_from_numpy"] = agreement.relative_difference
    assert agreement.agrees, f"{implementation} did not do the NumPy baseline's work: {agreement.describe()}"
