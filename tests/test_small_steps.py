"""Small networks' steps as one function (``_small_steps_template.c``).

A network no layer of which is wider than ``_kernels.SMALL_STEP_MAX_WIDTH``, every
product of whose step runs in the plain loops on one thread, takes the whole step in
one function: the same sums in the same order as the loops, without a call per
product. It must give the general step's bits exactly, on any shape up to that width
(width 1, batch 1, a short last batch), shuffled or not, with either loss; and it must
be taken exactly where it applies. ``tests/data/stored_outputs.npz`` (the portable plan,
test_plan.py) checks the same bits against outputs computed before it existed.
"""
import numpy as np
import pytest

import fastprop
from fastprop import _kernels
from fastprop._testing import available_cpu_paths


def make_trainer(sizes, dtype, n_samples, batch_size, mean_loss, shuffled, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n_samples, sizes[0])).astype(dtype)
    Y = rng.uniform(0, 1, (n_samples, sizes[-1])).astype(dtype)
    weights = [rng.uniform(-1, 1, (n_out, n_in)).astype(dtype)
               for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-1, 1, n_out).astype(dtype) for n_out in sizes[1:]]
    rows = min(batch_size, n_samples)
    buffers = {}
    if shuffled:
        buffers = {"batch_X": np.empty((rows, sizes[0]), dtype),
                   "batch_Y": np.empty((rows, sizes[-1]), dtype)}
    trainer = _kernels.Trainer(list(sizes), weights, biases, X, Y, batch_size, mean_loss,
                               [np.empty((rows, width), dtype) for width in sizes[1:]],
                               [np.empty((rows, width), dtype) for width in sizes[1:]],
                               **buffers)
    return trainer, weights, biases


def train(sizes, dtype, n_samples, batch_size, mean_loss, shuffled, small_steps_allowed,
          plan=None, epochs=3, seed=0, config_plan="measured"):
    """(weights, biases, epoch losses, steps run as one function) after epochs on a fresh
    trainer, every product as plan says (default: all in the loops, one thread) under the
    configuration's plan config_plan (only "measured" uses the trainer's)."""
    trainer, weights, biases = make_trainer(sizes, dtype, n_samples, batch_size, mean_loss,
                                            shuffled, seed)
    trainer.small_steps_allowed = small_steps_allowed
    trainer.set_plan(plan or [("loops", False)] * (3 * (len(sizes) - 1)))
    orders = None
    if shuffled:
        rng = np.random.default_rng(seed + 1)
        orders = np.stack([rng.permutation(n_samples) for _ in range(epochs)]).astype(np.int64)
    losses = np.zeros(epochs)
    with fastprop.config_context(plan=config_plan):
        trainer.run(orders, 0, n_samples, 0.5, losses)
    return weights, biases, losses, trainer.small_steps


def assert_same_bits(first, second):
    for a, b in zip(first, second):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


def random_shapes(count, seed):
    rng = np.random.default_rng(seed)
    widest = _kernels.SMALL_STEP_MAX_WIDTH
    shapes = [[1, 1], [widest, widest], [2, 2, 1], [1, widest, 1], [widest, 1, widest, 1]]
    for _ in range(count):
        shapes.append([int(w) for w in rng.integers(1, widest + 1, rng.integers(2, 6))])
    return shapes


@pytest.mark.parametrize("sizes", random_shapes(7, seed=3), ids=str)
@pytest.mark.parametrize("n_samples, batch_size", [(1, 1), (5, 1), (13, 4), (9, 9), (40, 32)],
                         ids=lambda value: str(value))
@pytest.mark.parametrize("mean_loss, shuffled", [(False, False), (True, True)],
                         ids=["sse in order", "mse shuffled"])
def test_the_one_function_step_gives_the_general_steps_bits(dtype, sizes, n_samples, batch_size,
                                                            mean_loss, shuffled):
    fused = train(sizes, dtype, n_samples, batch_size, mean_loss, shuffled, True)
    general = train(sizes, dtype, n_samples, batch_size, mean_loss, shuffled, False)
    steps = 3 * -(-n_samples // batch_size)
    assert fused[3] == steps and general[3] == 0
    assert_same_bits(fused[0], general[0])
    assert_same_bits(fused[1], general[1])
    assert_same_bits([fused[2]], [general[2]])
    # And it trained: the weights moved.
    start = make_trainer(sizes, dtype, n_samples, batch_size, mean_loss, shuffled, 0)[1]
    assert any(not np.array_equal(before, after) for before, after in zip(start, fused[0]))


@pytest.mark.parametrize("shuffled", [False, True], ids=["in order", "shuffled"])
def test_the_portable_plan_takes_the_one_function_step_with_the_same_bits(dtype, shuffled):
    # No plan of the trainer's own: the portable plan routes every product to the loops.
    fused = train([2, 2, 1], dtype, 4, 4, False, shuffled, True, config_plan="portable")
    general = train([2, 2, 1], dtype, 4, 4, False, shuffled, False, config_plan="portable")
    assert fused[3] == 3 and general[3] == 0
    for first, second in zip(fused[:3], general[:3]):
        assert_same_bits(first if isinstance(first, list) else [first],
                         second if isinstance(second, list) else [second])


@pytest.mark.parametrize("sizes, reason", [
    ([_kernels.SMALL_STEP_MAX_WIDTH + 1, 2, 1], "a layer too wide"),
    ([2, _kernels.SMALL_STEP_MAX_WIDTH + 1], "an output layer too wide"),
])
def test_wider_networks_take_the_general_step(dtype, sizes, reason):
    assert train(sizes, dtype, 10, 4, False, False, True)[3] == 0, reason


def test_a_product_out_of_the_loops_means_the_general_step(dtype):
    # One product in BLAS: the step is no longer all loops, so it runs product by product.
    plan = [("loops", False)] * 6
    plan[5] = ("blas", False)                 # layer 1's gradient step
    assert train([2, 3, 1], dtype, 10, 4, False, False, True, plan=plan)[3] == 0


def test_only_the_short_last_batch_can_differ():
    # Routed by the thresholds (no plan): 16 rows of 8 x 8 send the products to the vector
    # kernels on a path that has them, the short last batch of 1 row (64 multiply-adds)
    # stays in the loops: only that step runs as one function.
    if "avx2" not in available_cpu_paths():
        pytest.skip("needs a path with vector kernels")
    trainer, _, _ = make_trainer([8, 8], np.float64, 17, 16, False, False, 0)
    with fastprop.config_context(plan="fixed", cpu="avx2", vector_min_multiply_adds=256):
        trainer.run(None, 0, 17, 0.5, np.zeros(2))
    assert trainer.small_steps == 2
