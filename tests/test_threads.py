"""fit's compiled loop on a team of threads (``_team.c``).

Products in the vector range share their column panels (or, for narrow forward
products, their rows) out over the threads; every output element is computed
by the same code in the same order whichever thread takes it, so the trained
network must be the same to the bit for any number of threads. Many phases per
fit (hundreds of steps, several products each) give races a chance to show.
"""
import os
import threading
import time

import numpy as np
import pytest

import fastprop
from fastprop import _kernels
from fastprop._testing import NO_VECTOR_KERNELS, product_path, vector_kernels_in_use

needs_vector_products = pytest.mark.skipif(not vector_kernels_in_use(), reason=NO_VECTOR_KERNELS)


# Tests that count the process's threads: they need Linux's /proc, and a build with threads.
needs_proc = pytest.mark.skipif(
    not os.path.isdir("/proc/self/task") or not _kernels.cpu_capabilities()["threads_compiled"],
    reason="needs Linux's /proc and a build with helper threads")


def thread_ids():
    """The process's threads but those Python started: fit's helpers are native threads,
    while a library's Python threads may start at any moment (a closed Dask cluster's
    executors, an earlier test's daemons): one did, in CI, between two of these counts."""
    started_by_python = {str(thread.native_id) for thread in threading.enumerate()
                         if thread.native_id is not None}
    return set(os.listdir("/proc/self/task")) - started_by_python


@pytest.fixture(autouse=True)
def fixed_plan_and_restored_settings():
    # The team as the thresholds use it (the fixed plan); the measured plan's
    # decisions to share products out are tested in test_plan.py.
    with fastprop.config_context(plan="fixed"):
        yield


def set_threads(n):
    fastprop.set_config(threads=n)


def train(sizes, dtype, n_threads, batch_size=16, epochs=4, shuffle=True, callback=None):
    set_threads(n_threads)
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, (203, sizes[0])).astype(dtype)
    Y = rng.uniform(0, 1, (203, sizes[-1])).astype(dtype)
    net = fastprop.Network(sizes, seed=2, dtype=dtype, loss="mse")
    losses = net.fit(X, Y, epochs=epochs, lr=0.5, batch_size=batch_size, shuffle=shuffle, seed=9,
                     callback=callback)
    return net, losses


@needs_vector_products
@pytest.mark.parametrize("sizes", [[32, 64, 64, 1], [7, 40, 3], [50, 17, 33, 9], [3, 90, 90, 90]],
                         ids=str)
@pytest.mark.parametrize("n_threads", [2, 3, 8])
def test_any_number_of_threads_trains_the_same_network_to_the_bit(dtype, sizes, n_threads):
    # Every product in the vector kernels and shared out, however small.
    fastprop.set_config(parallel_min_multiply_adds=0)
    with product_path("vector"):
        team, team_losses = train(sizes, dtype, n_threads, epochs=12)
        alone, alone_losses = train(sizes, dtype, 1, epochs=12)
    # Hundreds of phases. Which tasks the helpers take varies from run to run (on
    # a loaded machine they may take none: the main thread never waits for a
    # helper that has not started); the result must not.
    np.testing.assert_array_equal(team_losses, alone_losses)
    for a, b in zip(alone.weights + alone.biases, team.weights + team.biases):
        np.testing.assert_array_equal(a, b)


@needs_vector_products
@pytest.mark.parametrize("n_threads", [2, 3, 4, 8])
def test_products_with_fewer_panels_than_threads_share_their_rows_or_columns_to_the_bit(
        dtype, n_threads):
    # 150 -> 10 at batch 72 (203 samples: a short last batch of 59). The forward product
    # into 10 outputs is one column panel, so its rows are shared out in groups of whole
    # blocks (with 8 threads the last groups are empty); the gradient step's 10 rows are
    # one strip, so its 150 columns are (5 panels in float32 on AVX-512, 10 in float64,
    # 10 and 19 on AVX2: with 4 threads a last group may be empty).
    fastprop.set_config(parallel_min_multiply_adds=0)
    before = _kernels.helper_task_count()
    with product_path("vector"):
        team, team_losses = train([150, 10], dtype, n_threads, batch_size=72, epochs=3)
        alone, alone_losses = train([150, 10], dtype, 1, batch_size=72, epochs=3)
    np.testing.assert_array_equal(team_losses, alone_losses)
    for a, b in zip(alone.weights + alone.biases, team.weights + team.biases):
        np.testing.assert_array_equal(a, b)
    if _kernels.cpu_capabilities()["threads_compiled"]:
        # The helpers took some of the tasks. A helper not scheduled in time leaves its
        # share to the main thread (on a machine loaded by other processes a fit of a
        # millisecond may run with no helper awake), so more fits, for up to 10 seconds.
        with product_path("vector"):
            deadline = time.monotonic() + 10.0
            while _kernels.helper_task_count() == before and time.monotonic() < deadline:
                train([150, 10], dtype, n_threads, batch_size=72, epochs=3)
        assert _kernels.helper_task_count() > before


@needs_proc
@pytest.mark.parametrize("sizes", [[30, 70, 300, 4], [5, 600, 1]], ids=str)
@pytest.mark.parametrize("n_threads", [2, 3])
def test_elementwise_passes_after_blas_are_shared_out_and_change_no_bit(dtype, sizes, n_threads):
    # Every product to BLAS; the bias and sigmoid, sigma' and bias sums after
    # them are shared out in blocks of rows (of columns for the sums): 300 and
    # 600 wide, more than one block of each. The team must start for them (a
    # network with no product in the vector kernels), and change nothing.
    fastprop.set_config(parallel_min_multiply_adds=0)
    helpers_seen = []
    with product_path("blas"):
        # First alone: BLAS may start its own threads at its first large product.
        alone, alone_losses = train(sizes, dtype, 1, batch_size=64, epochs=6)
        before = thread_ids()
        team, team_losses = train(sizes, dtype, n_threads, batch_size=64, epochs=6,
                                  callback=lambda epoch, loss: helpers_seen.append(
                                      len(thread_ids() - before)))
    assert helpers_seen == [n_threads - 1] * 6
    np.testing.assert_array_equal(team_losses, alone_losses)
    for a, b in zip(alone.weights + alone.biases, team.weights + team.biases):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("sizes", [[32, 64, 64, 1], [2, 2, 1], [100, 40, 10]], ids=str)
def test_default_settings_give_the_same_network_with_one_or_two_threads(dtype, sizes):
    # At the default thresholds, whichever products are shared out (none for
    # the tiny network, some for the others). Products below the one-thread
    # BLAS crossover, so that one thread takes the same path as two; above it,
    # one thread hands them to BLAS (same result to rounding, not to the bit).
    assert 32 * max(a * b for a, b in zip(sizes, sizes[1:])) < fastprop.get_config()["single_thread_blas_min_multiply_adds"]
    alone, alone_losses = train(sizes, dtype, 1, batch_size=32, epochs=2)
    team, team_losses = train(sizes, dtype, 2, batch_size=32, epochs=2)
    np.testing.assert_array_equal(team_losses, alone_losses)
    for a, b in zip(alone.weights + alone.biases, team.weights + team.biases):
        np.testing.assert_array_equal(a, b)


@needs_proc
def test_a_fit_keeps_one_team_of_helpers_across_its_chunks_and_stops_it_at_the_end():
    # A callback after every epoch returns to Python, so each epoch is a chunk
    # of compiled work. The helper started by the first chunk is the same thread
    # in every later one (no thread is created and joined per chunk), and none
    # is left when fit returns.
    fastprop.set_config(parallel_min_multiply_adds=0)
    helpers_seen = []
    before = thread_ids()

    def record_helpers(epoch, loss):
        helpers_seen.append(thread_ids() - before)

    train([20, 30, 5], np.float64, 2, batch_size=16, epochs=60, callback=record_helpers)
    assert len(helpers_seen) == 60
    assert len(helpers_seen[0]) == 1 and all(seen == helpers_seen[0] for seen in helpers_seen)
    assert thread_ids() == before


@needs_proc
def test_set_threads_in_a_callback_applies_to_the_next_chunk_and_changes_no_result(dtype):
    fastprop.set_config(parallel_min_multiply_adds=0)
    helper_counts = []
    before = thread_ids()

    def change_threads(epoch, loss):
        helper_counts.append(len(thread_ids() - before))
        set_threads({2: 3, 5: 1}.get(epoch, fastprop.get_config()["threads"]))

    # Shared out: the vector kernels' panels, or on the baseline path the passes after BLAS.
    with product_path("vector" if vector_kernels_in_use() else "blas"):
        changed, changed_losses = train([9, 40, 24, 3], dtype, 2, batch_size=16, epochs=8,
                                        callback=change_threads)
        alone, alone_losses = train([9, 40, 24, 3], dtype, 1, batch_size=16, epochs=8)
    # Epochs 0-2 ran with one helper, 3-5 with two, 6-7 with none.
    assert helper_counts == [1, 1, 1, 2, 2, 2, 0, 0]
    assert thread_ids() == before
    np.testing.assert_array_equal(changed_losses, alone_losses)
    for a, b in zip(alone.weights + alone.biases, changed.weights + changed.biases):
        np.testing.assert_array_equal(a, b)


@needs_proc
@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_helpers_are_stopped_when_a_fit_is_interrupted(error):
    fastprop.set_config(parallel_min_multiply_adds=0)
    before = thread_ids()

    def interrupt(epoch, loss):
        if epoch == 3:
            assert len(thread_ids() - before) == 1
            raise error("stop")

    with pytest.raises(error, match="stop"):
        train([20, 30, 5], np.float32, 2, batch_size=16, epochs=10, callback=interrupt)
    assert thread_ids() == before


@needs_proc
def test_trainer_stop_threads_can_be_called_any_time_and_a_later_run_restarts_them():
    fastprop.set_config(parallel_min_multiply_adds=0)
    set_threads(2)
    rng = np.random.default_rng(0)
    sizes = [6, 20, 2]
    weights = [rng.normal(size=(b, a)) for a, b in zip(sizes, sizes[1:])]
    biases = [np.zeros(b) for b in sizes[1:]]
    X, Y = rng.normal(size=(64, 6)), rng.uniform(size=(64, 2))
    buffers = [[np.empty((16, b)) for b in sizes[1:]] for _ in range(2)]
    before = thread_ids()
    trainer = _kernels.Trainer(sizes, weights, biases, X, Y, 16, True, *buffers)
    trainer.stop_threads()                              # none started yet: nothing to do
    trainer.run(None, 0, 64, 0.1, np.zeros(1))
    helper = thread_ids() - before
    assert len(helper) == 1
    trainer.stop_threads()
    trainer.stop_threads()
    assert not helper & thread_ids()                    # the helper is gone
    before = thread_ids()
    trainer.run(None, 0, 64, 0.1, np.zeros(1))
    helper = thread_ids() - before
    assert len(helper) == 1
    del trainer                                         # deallocation stops them too
    assert not helper & thread_ids()


def test_threads_and_set_threads_are_aliases_of_the_configuration():
    fastprop.set_threads(3)
    assert fastprop.threads() == fastprop.get_config()["threads"] == 3
    with pytest.raises(ValueError, match="threads must be from 1 to 8, got 9"):
        fastprop.set_threads(9)
    assert fastprop.threads() == 3


@pytest.mark.parametrize("value, expected", [("1", "1"), (" 3 ", "3"), ("", None)])
def test_fastprop_num_threads_sets_the_default(value, expected):
    import subprocess
    import sys

    # (Without OMP_NUM_THREADS, which bounds the default too: test_threadpoolctl.py.)
    environment = {**{key: text for key, text in os.environ.items() if key != "OMP_NUM_THREADS"},
                   "FASTPROP_NUM_THREADS": value}
    output = subprocess.run([sys.executable, "-c", "import fastprop; print(fastprop.threads())"],
                            capture_output=True, text=True, env=environment, check=True).stdout
    default = str(min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count()))
    assert output.strip() == (expected or default)


@pytest.mark.parametrize("value", ["0", "9", "two", "1.5"])
def test_fastprop_num_threads_rejects_bad_values(value):
    import subprocess
    import sys

    environment = {**os.environ, "FASTPROP_NUM_THREADS": value}
    run = subprocess.run([sys.executable, "-c", "import fastprop"], capture_output=True, text=True,
                         env=environment)
    assert run.returncode != 0
    assert f"FASTPROP_NUM_THREADS must be a whole number from 1 to 8, got {value!r}" in run.stderr


def test_helper_task_count_is_a_running_total():
    # A diagnostic: how many tasks helper threads took, summed over the process.
    # How many they take depends on the OS's scheduling, so only its form is tested.
    fastprop.set_config(parallel_min_multiply_adds=0)
    before = _kernels.helper_task_count()
    train([40, 48, 5], np.float32, 2, batch_size=16, epochs=3)
    after = _kernels.helper_task_count()
    assert isinstance(before, int) and isinstance(after, int) and after >= before >= 0


@needs_vector_products
def test_pinned_and_unpinned_helpers_train_the_same_network_to_the_bit(dtype):
    fastprop.set_config(parallel_min_multiply_adds=0)
    with product_path("vector"):
        fastprop.set_config(pin_threads=True)
        pinned, pinned_losses = train([20, 48, 9], dtype, 2, epochs=6)
        fastprop.set_config(pin_threads=False)
        free, free_losses = train([20, 48, 9], dtype, 2, epochs=6)
    np.testing.assert_array_equal(pinned_losses, free_losses)
    for a, b in zip(pinned.weights + pinned.biases, free.weights + free.biases):
        np.testing.assert_array_equal(a, b)
