"""pytest-benchmark: what progress bars and callbacks cost a fit.

Compare the groups' timings: "plain", "progress" and "callback" train the same
network on the same data. (The test suite checks only that they give the same
weights and how often they return to Python; speed is measured here.)
"""
from __future__ import annotations

import numpy as np
import pytest

import fastprop
from cases import quick_mode_requested
from fastprop.examples import xor_data

EXTRAS = {
    "plain": {},
    "progress": {"progress": True},
    "callback": {"callback": lambda epoch, loss: None},
}


def medium_data():
    rng = np.random.default_rng(0)
    n = 500 if quick_mode_requested() else 20_000
    return rng.uniform(0, 1, (n, 32)), rng.uniform(0, 1, (n, 4))


@pytest.mark.parametrize("extra", list(EXTRAS))
def test_medium_epochs(benchmark, extra, capsys):
    X, Y = medium_data()
    benchmark.group = "progress and callbacks: 32-64-4, batch 32, 5 epochs"
    benchmark.pedantic(
        lambda: fastprop.Network([32, 64, 4], seed=0).fit(
            X, Y, epochs=5, lr=0.05, batch_size=32, seed=0, **EXTRAS[extra]),
        rounds=3, iterations=1)


@pytest.mark.parametrize("extra", list(EXTRAS))
def test_many_tiny_epochs(benchmark, extra, capsys):
    X, Y = xor_data()
    epochs = 1_000 if quick_mode_requested() else 100_000
    benchmark.group = f"progress and callbacks: XOR 2-4-1, {epochs} epochs"
    benchmark.pedantic(
        lambda: fastprop.Network([2, 4, 1], seed=0).fit(X, Y, epochs=epochs, lr=1.0,
                                                        **EXTRAS[extra]),
        rounds=3, iterations=1)
