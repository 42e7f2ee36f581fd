"""Data-parallel steps (Trainer.set_split; _steps.h, fastprop_split).

A split step cuts each batch into parts, takes each part through the whole step on one
thread (forward pass, the loss's delta, hidden deltas, the part's partial gradients) and
then applies the parts' gradients summed in order. It computes the same step as the
unsplit one, only with the batch's sums cut where the parts are: so its results equal the
unsplit trainer's to rounding, and its bits depend on the parts, never on the threads.
"""
import time

import numpy as np
import pytest

import fastprop
from fastprop import _kernels

DTYPES = [np.float32, np.float64]
# Rounding of a few steps' sums cut in two places instead of one (the weights are of order 1).
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-12}


def plan_on_one_thread(sizes, dtype):
    """Every product on one thread: the vector kernels where they fit, else the loops."""
    vector = _kernels.read_config()["cpu"] != "baseline"
    decisions = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        for kind in _kernels.PRODUCT_KINDS:
            fits = vector and _kernels.vector_kernels_fit(n_in, n_out, kind, dtype == np.float32)
            decisions.append(("vector" if fits else "loops", False))
    return decisions


def part_size(sizes):
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes, sizes[1:]))


def train(sizes, dtype, parts, threads, *, loss="squared", functions=None, optimizer=None,
          n_samples=37, batch_size=8, epochs=2, lr=0.1, seed=0):
    """The weights, biases and epoch losses after epochs of training (orders shuffled),
    on a fresh trainer with the same start."""
    generator = np.random.default_rng(seed)
    X = generator.uniform(-1, 1, (n_samples, sizes[0])).astype(dtype)
    labels = Y = None
    if loss == "cross_entropy":
        labels = generator.integers(0, sizes[-1], n_samples).astype(np.int64)
    else:
        Y = generator.uniform(0, 1, (n_samples, sizes[-1])).astype(dtype)
    weights = [generator.normal(0, 0.5, (n_out, n_in)).astype(dtype)
               for n_in, n_out in zip(sizes, sizes[1:])]
    biases = [generator.normal(0, 0.1, n_out).astype(dtype) for n_out in sizes[1:]]
    rows = min(batch_size, n_samples)
    work = [[np.empty((rows, width), dtype) for width in sizes[1:]] for _ in range(2)]
    batch = {"batch_X": np.empty((rows, sizes[0]), dtype)}
    if Y is not None:
        batch["batch_Y"] = np.empty((rows, sizes[-1]), dtype)
    else:
        batch["batch_labels"] = np.empty(rows, np.int64)
    trainer = _kernels.Trainer(list(sizes), weights, biases, X, Y, batch_size, True, *work,
                               **batch, functions=functions, loss=loss, labels=labels)
    if optimizer is not None:
        from fastprop._planning import _give_optimizer
        _give_optimizer(trainer, sizes, dtype, optimizer)
    trainer.set_plan(plan_on_one_thread(sizes, dtype))
    if parts:
        trainer.set_split(parts, np.empty((parts, part_size(sizes)), dtype))
    orders = np.array([generator.permutation(n_samples) for _ in range(epochs)])
    losses = np.zeros(epochs)
    with fastprop.config_context(plan="measured", threads=threads):
        trainer.run(orders, 0, n_samples, lr, losses)
    trainer.stop_threads()
    return weights + biases + [losses]


def assert_close(split, unsplit, dtype):
    for got, expected in zip(split, unsplit):
        np.testing.assert_allclose(got, expected, rtol=TOLERANCE[dtype],
                                   atol=TOLERANCE[dtype])


def assert_same_bits(first, second):
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


ADAM = {"kind": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01}
MOMENTUM = {"kind": "sgd", "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("parts", [2, 3])
@pytest.mark.parametrize("case", ["sigmoid sse", "relu softmax adam", "tanh mse momentum"])
def test_split_step_is_the_unsplit_step_to_rounding(dtype, parts, case):
    # 37 samples in batches of 8: four full batches and a short one of 5 rows, each cut
    # into parts of 2-3 (parts=3) or 4 (parts=2) rows; the batch's sums change order only.
    sizes = [6, 9, 4]
    settings = {"sigmoid sse": dict(),
                "relu softmax adam": dict(loss="cross_entropy", functions=["relu", "softmax"],
                                          optimizer=ADAM, lr=0.01),
                "tanh mse momentum": dict(functions=["tanh", "identity"],
                                          optimizer=MOMENTUM)}[case]
    unsplit = train(sizes, dtype, 0, 1, **settings)
    split = train(sizes, dtype, parts, 1, **settings)
    assert_close(split, unsplit, dtype)
    assert any(not np.array_equal(a, b) for a, b in zip(split, unsplit)) or dtype == np.float32


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("parts", [2, 3, 8])
def test_split_bits_do_not_depend_on_the_threads(dtype, parts):
    sizes = [7, 16, 5]
    alone = train(sizes, dtype, parts, 1, optimizer=ADAM, lr=0.01, n_samples=61, batch_size=20)
    before = _kernels.helper_task_count()
    for threads in (2, 3):
        together = train(sizes, dtype, parts, threads, optimizer=ADAM, lr=0.01, n_samples=61,
                         batch_size=20)
        assert_same_bits(alone, together)
    if _kernels.cpu_capabilities()["threads_compiled"]:
        # The helpers took parts (a helper not scheduled in time leaves its share to the
        # main thread on a loaded machine: more runs, for up to 10 seconds).
        deadline = time.monotonic() + 10.0
        while _kernels.helper_task_count() == before and time.monotonic() < deadline:
            train(sizes, dtype, parts, 2, optimizer=ADAM, lr=0.01, n_samples=61, batch_size=20)
        assert _kernels.helper_task_count() > before


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes, n_samples, batch_size", [
    ([1, 1], 5, 1),          # width 1, batch 1: every step one part
    ([1, 3, 1], 7, 2),       # batches of 2 rows in 3 parts: 2 parts each
    ([5, 1, 1, 2], 9, 4),    # a hidden layer of width 1
])
def test_split_small_shapes(dtype, sizes, n_samples, batch_size):
    unsplit = train(sizes, dtype, 0, 1, n_samples=n_samples, batch_size=batch_size)
    split = train(sizes, dtype, 3, 2, n_samples=n_samples, batch_size=batch_size)
    assert_close(split, unsplit, dtype)


@pytest.mark.parametrize("optimizer", [ADAM, MOMENTUM])
def test_split_with_one_row_per_step_is_the_unsplit_step(optimizer):
    # A step of one row is one part: no sum is cut, and with an optimizer both compute the
    # gradient the same way and hand it to the same update: the same bits. (Plain gradient
    # descent unsplit fuses -lr into the gradient product; split, it applies lr after.)
    sizes = [4, 6, 3]
    assert_same_bits(train(sizes, np.float64, 2, 2, batch_size=1, optimizer=optimizer),
                     train(sizes, np.float64, 0, 1, batch_size=1, optimizer=optimizer))


def test_split_step_matches_numpy_gradient_descent():
    # One step of plain gradient descent on the mean squared error (batch = all 6 rows,
    # parts 2): the textbook's step, written out in NumPy.
    sizes = [3, 4, 2]
    generator = np.random.default_rng(5)
    X = generator.uniform(-1, 1, (6, 3))
    Y = generator.uniform(0, 1, (6, 2))
    W = [generator.normal(0, 0.5, (4, 3)), generator.normal(0, 0.5, (2, 4))]
    b = [generator.normal(0, 0.1, 4), generator.normal(0, 0.1, 2)]
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    A1 = sigmoid(X @ W[0].T + b[0])
    A2 = sigmoid(A1 @ W[1].T + b[1])
    D2 = (A2 - Y) * A2 * (1 - A2)
    D1 = (D2 @ W[1]) * A1 * (1 - A1)
    lr = 0.5
    expected = [W[0] - lr / 6 * D1.T @ X, W[1] - lr / 6 * D2.T @ A1,
                b[0] - lr / 6 * D1.sum(0), b[1] - lr / 6 * D2.sum(0)]
    weights, biases = [w.copy() for w in W], [v.copy() for v in b]
    work = [[np.empty((6, width)) for width in sizes[1:]] for _ in range(2)]
    trainer = _kernels.Trainer(sizes, weights, biases, X, Y, 6, True, *work)
    trainer.set_plan(plan_on_one_thread(sizes, np.float64))
    trainer.set_split(2, np.empty((2, part_size(sizes))))
    losses = np.zeros(1)
    with fastprop.config_context(plan="measured", threads=2):
        trainer.run(None, 0, 6, lr, losses)
    trainer.stop_threads()
    for got, want in zip(weights + biases, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    # the loss before the step: 1/2 * sum of squared errors (the kernels' sum; fit scales it)
    assert losses[0] == pytest.approx(0.5 * ((A2 - Y) ** 2).sum(), rel=1e-12)


def test_split_runs_only_under_the_measured_plan():
    # Under the portable plan the trainer's plan (and with it the split) is not used.
    sizes = [4, 6, 3]
    generator = np.random.default_rng(1)
    X = generator.uniform(-1, 1, (12, 4))
    Y = generator.uniform(0, 1, (12, 3))

    def run(parts):
        weights = [np.full((6, 4), 0.1), np.full((3, 6), -0.2)]
        biases = [np.zeros(6), np.zeros(3)]
        work = [[np.empty((12, width)) for width in sizes[1:]] for _ in range(2)]
        trainer = _kernels.Trainer(sizes, weights, biases, X, Y, 12, True, *work)
        trainer.set_plan(plan_on_one_thread(sizes, np.float64))
        if parts:
            trainer.set_split(parts, np.empty((parts, part_size(sizes))))
        with fastprop.config_context(plan="portable"):
            trainer.run(None, 0, 12, 0.5, np.zeros(3))
        return weights + biases

    assert_same_bits(run(2), run(0))


# --------------------------------------------------------------- set_split's checks

def make_trainer(sizes=(4, 6, 3), dtype=np.float64):
    X = np.zeros((10, sizes[0]), dtype)
    Y = np.zeros((10, sizes[-1]), dtype)
    weights = [np.zeros((b, a), dtype) for a, b in zip(sizes, sizes[1:])]
    biases = [np.zeros(b, dtype) for b in sizes[1:]]
    work = [[np.empty((5, b), dtype) for b in sizes[1:]] for _ in range(2)]
    return _kernels.Trainer(list(sizes), weights, biases, X, Y, 5, False, *work)


def test_set_split_needs_a_plan():
    trainer = make_trainer()
    with pytest.raises(ValueError, match=r"set_split needs a plan \(set_plan first\)"):
        trainer.set_split(2, np.empty((2, 51)))


@pytest.mark.parametrize("decision", [("blas", False), ("vector", True)])
def test_set_split_refuses_blas_and_shared_products(decision):
    trainer = make_trainer()
    decisions = [("loops", False)] * 6
    decisions[5] = decision
    if decision[0] == "vector" and _kernels.read_config()["cpu"] == "baseline":
        pytest.skip("the vector route needs the avx2 or avx512 path")
    trainer.set_plan(decisions)
    with pytest.raises(ValueError, match=r"a split plan's products run on one thread each"):
        trainer.set_split(2, np.empty((2, 51)))


@pytest.mark.parametrize("parts", [1, -1, 9])
def test_set_split_checks_parts(parts):
    trainer = make_trainer()
    trainer.set_plan([("loops", False)] * 6)
    with pytest.raises(ValueError, match=r"parts must be 0 or from 2 to 8, got"):
        trainer.set_split(parts, np.empty((2, 51)))


@pytest.mark.parametrize("partials, error, message", [
    ([0.0] * 102, TypeError, r"partials must be a numpy.ndarray, got list"),
    (np.empty((2, 51)).view(), None, None),  # made read-only below
    (np.empty((2, 50)), ValueError, r"partials must have shape \(2, 51\)"),
    (np.empty((3, 51)), ValueError, r"partials must have shape \(2, 51\)"),
    (np.empty((2, 51), np.float32), TypeError, r"partials must have dtype float64"),
    (np.empty((51, 2)).T, ValueError, r"partials must be C-contiguous"),
])
def test_set_split_checks_partials(partials, error, message):
    trainer = make_trainer()
    trainer.set_plan([("loops", False)] * 6)
    if error is None:
        partials.flags.writeable = False
        error, message = ValueError, r"partials must be writable"
    with pytest.raises(error, match=message):
        trainer.set_split(2, partials)
    assert trainer.split_parts == 0


def test_set_plan_ends_the_split_and_pieces_exclude_it():
    trainer = make_trainer()
    trainer.set_plan([("loops", False)] * 6)
    trainer.set_split(2, np.empty((2, 51)))
    assert trainer.split_parts == 2
    arrays = [np.zeros(1)]
    with pytest.raises(ValueError, match=r"steps are split \(set_split\) does not run them in "
                                         r"pieces"):
        trainer.set_interruption(arrays, 1000)
    trainer.set_plan([("loops", False)] * 6)
    assert trainer.split_parts == 0
    trainer.set_interruption(arrays, 1000)
    with pytest.raises(ValueError, match=r"steps run in pieces \(set_interruption\) does not "
                                         r"split them"):
        trainer.set_split(2, np.empty((2, 51)))


def test_set_split_allocates_the_partials_itself():
    trainer = make_trainer()
    trainer.set_plan([("loops", False)] * 6)
    trainer.set_split(3)
    assert trainer.split_parts == 3
    trainer.set_split(0)
    assert trainer.split_parts == 0
