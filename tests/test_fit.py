"""``Network.fit``: its results against ``Network.step`` on the same batches, its
shuffling, chunking, callbacks, interruption and memory use.

fit and step run the same compiled training step on the same numbers, so where
the batches are the same their weights are compared bit for bit; the epoch
loss of "sse" is the same double-precision running sum of the same batch
losses, hence also bit for bit. For "mse", step returns each batch's loss
divided by its size, and the epoch loss divides the sum by n instead: those
agree to a few roundings (1e-15 relative).
"""
import tracemalloc

import numpy as np
import pytest

import fastprop
import fastprop.network as network_module


def make_problem(sizes=(3, 4, 2), n=10, dtype=np.float64, loss="sse", seed=0):
    rng = np.random.default_rng(seed)
    net = fastprop.Network(sizes, seed=seed, dtype=dtype, loss=loss)
    X = rng.uniform(-2, 2, (n, sizes[0])).astype(dtype)
    Y = rng.uniform(0, 1, (n, sizes[-1])).astype(dtype)
    return net, X, Y


def clone(net):
    return fastprop.Network.from_weights(net.weights, net.biases, loss=net.loss, dtype=net.dtype)


def state(net):
    return [a.tobytes() for a in net.weights + net.biases]


def assert_same_state(a, b):
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


def fit_by_steps(net, X, Y, orders, batch_size, lr):
    """What fit must do, with step: one update per batch of each epoch's order."""
    n = X.shape[0]
    history = []
    for order in orders:
        total = 0.0
        for position in range(0, n, batch_size):
            rows = order[position:position + batch_size]
            batch_loss = net.step(X[rows], Y[rows], lr)
            # step's "mse" loss is divided by the batch's size; the epoch's by n.
            total += batch_loss * len(rows) if net.loss == "mse" else batch_loss
        history.append(total / n if net.loss == "mse" else total)
    return np.array(history)


def assert_history_matches(got, expected, loss):
    if loss == "sse":
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-15 * 8, atol=0)


# --- the return value ----------------------------------------------------------------

@pytest.mark.parametrize("epochs", [1, 3, 7])
def test_fit_returns_float64_losses_one_per_epoch(dtype, epochs):
    net, X, Y = make_problem(dtype=dtype)
    history = net.fit(X, Y, epochs=epochs, lr=0.5, batch_size=3, seed=0)
    assert isinstance(history, np.ndarray)
    assert history.dtype == np.float64 and history.shape == (epochs,)
    assert np.all(np.isfinite(history)) and np.all(history >= 0)


def test_full_batch_epoch_loss_is_the_loss_before_the_epochs_update():
    net, X, Y = make_problem(loss="mse")
    before = [clone(net).compute_loss(X, Y)]
    reference = clone(net)
    for _ in range(3):
        reference.step(X, Y, 0.5)
        before.append(reference.compute_loss(X, Y))
    history = net.fit(X, Y, epochs=3, lr=0.5)
    np.testing.assert_allclose(history, before[:3], rtol=1e-15, atol=0)
    assert_same_state(net, reference)


# --- fit equals step on the same batches ------------------------------------------

@pytest.mark.parametrize("loss", ["sse", "mse"])
@pytest.mark.parametrize("batch_size", [1, 3, 4, 10])
def test_fit_without_shuffle_equals_steps_in_order(dtype, matmul_path, loss, batch_size):
    # n = 10: batch sizes 3 and 4 leave a smaller last batch (1 and 2 samples).
    net, X, Y = make_problem(dtype=dtype, loss=loss)
    by_steps = clone(net)
    history = net.fit(X, Y, epochs=3, lr=0.7, batch_size=batch_size, shuffle=False)
    expected = fit_by_steps(by_steps, X, Y, [np.arange(10)] * 3, batch_size, 0.7)
    assert_same_state(net, by_steps)
    assert_history_matches(history, expected, loss)


@pytest.mark.parametrize("loss", ["sse", "mse"])
@pytest.mark.parametrize("batch_size", [1, 3, 7])
def test_shuffled_order_is_default_rng_permutation_per_epoch(dtype, matmul_path, loss, batch_size):
    net, X, Y = make_problem(dtype=dtype, loss=loss)
    by_steps = clone(net)
    history = net.fit(X, Y, epochs=4, lr=0.7, batch_size=batch_size, shuffle=True, seed=1234)
    rng = np.random.default_rng(1234)
    orders = [rng.permutation(10) for _ in range(4)]
    expected = fit_by_steps(by_steps, X, Y, orders, batch_size, 0.7)
    assert_same_state(net, by_steps)
    assert_history_matches(history, expected, loss)


def test_shuffle_is_the_default():
    net, X, Y = make_problem()
    default, explicit = clone(net), clone(net)
    default.fit(X, Y, epochs=2, lr=0.5, batch_size=3, seed=9)
    explicit.fit(X, Y, epochs=2, lr=0.5, batch_size=3, shuffle=True, seed=9)
    assert state(default) == state(explicit)
    unshuffled = clone(net)
    unshuffled.fit(X, Y, epochs=2, lr=0.5, batch_size=3, shuffle=False)
    assert state(unshuffled) != state(default)


def test_same_seed_same_run_and_different_seeds_differ(dtype):
    net, X, Y = make_problem(dtype=dtype)
    runs = []
    for seed in (5, 5, 6, np.random.default_rng(5)):
        copy = clone(net)
        history = copy.fit(X, Y, epochs=3, lr=0.5, batch_size=2, seed=seed)
        runs.append((history.tobytes(), state(copy)))
    assert runs[0] == runs[1] == runs[3]  # a Generator seeded 5 draws the same orders
    assert runs[2] != runs[0]
    unseeded = []
    for _ in range(2):
        copy = clone(net)
        copy.fit(X, Y, epochs=3, lr=0.5, batch_size=2)
        unseeded.append(state(copy))
    assert unseeded[0] != unseeded[1]


# --- batch sizes -------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["sse", "mse"])
def test_full_batch_variants_are_all_the_same(dtype, loss):
    net, X, Y = make_problem(dtype=dtype, loss=loss)
    results = []
    for kwargs in (dict(batch_size=None), dict(), dict(batch_size=10), dict(batch_size=11),
                   dict(batch_size=10 ** 9), dict(batch_size=None, shuffle=False),
                   dict(batch_size=25, shuffle=True, seed=3)):
        copy = clone(net)
        history = copy.fit(X, Y, epochs=3, lr=0.5, **kwargs)
        results.append((history.tobytes(), state(copy)))
    assert all(r == results[0] for r in results)
    by_steps = clone(net)
    assert_history_matches(np.frombuffer(results[0][0]),
                           fit_by_steps(by_steps, X, Y, [np.arange(10)] * 3, 10, 0.5), loss)
    assert results[0][1] == state(by_steps)


def test_epochs_zero_returns_empty_and_leaves_the_network_unchanged(dtype):
    net, X, Y = make_problem(dtype=dtype)
    before = state(net)
    for kwargs in (dict(), dict(batch_size=2, seed=1), dict(shuffle=False)):
        history = net.fit(X, Y, epochs=0, lr=0.5, **kwargs)
        assert isinstance(history, np.ndarray)
        assert history.shape == (0,) and history.dtype == np.float64
    assert state(net) == before


# --- dtype ------------------------------------------------------------------------

def test_float32_fit_stays_float32_and_tracks_float64():
    net32, X, Y = make_problem(dtype=np.float32, loss="mse")
    net64 = fastprop.Network.from_weights(net32.weights, net32.biases, loss="mse", dtype=np.float64)
    h32 = net32.fit(X, Y, epochs=5, lr=0.5, batch_size=4, seed=2)
    h64 = net64.fit(X.astype(np.float64), Y.astype(np.float64), epochs=5, lr=0.5, batch_size=4, seed=2)
    assert net32.dtype == np.float32 and h32.dtype == np.float64
    assert all(a.dtype == np.float32 for a in net32.weights + net32.biases)
    # 15 float32 steps, each off by a few float32 roundings (6e-8) of O(1)
    # values: far below 1e-5, while a step done in a different precision or
    # order of samples would differ by ~1e-2.
    for a32, a64 in zip(net32.weights + net32.biases, net64.weights + net64.biases):
        np.testing.assert_allclose(a32, a64, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(h32, h64, rtol=1e-5)


# --- the training set is not copied -------------------------------------------------

def peak_allocation_during(call):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_does_not_copy_a_c_contiguous_training_set(dtype, shuffle):
    n, width = 40_000 if dtype == np.float32 else 20_000, 100
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (n, width)).astype(dtype)
    Y = rng.uniform(0, 1, (n, 1)).astype(dtype)
    assert X.nbytes == 16_000_000
    net = fastprop.Network([width, 1], seed=0, dtype=dtype)
    peak = peak_allocation_during(
        lambda: net.fit(X, Y, epochs=2, lr=0.01, batch_size=64, shuffle=shuffle, seed=0))
    # Batches, activations and (shuffled) the sample orders: a small fraction of X.
    assert peak < X.nbytes / 8, f"fit allocated {peak} bytes for a {X.nbytes}-byte X"


def test_the_memory_measurement_sees_a_copy():
    # The same measurement does see the copy that a Fortran-ordered X needs.
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.uniform(-1, 1, (20_000, 100)))
    Y = rng.uniform(0, 1, (20_000, 1))
    net = fastprop.Network([100, 1], seed=0)
    peak = peak_allocation_during(lambda: net.fit(X, Y, epochs=1, lr=0.01, batch_size=64, shuffle=False))
    assert peak >= X.nbytes


def test_fit_does_not_modify_its_data():
    net, X, Y = make_problem()
    X_before, Y_before = X.copy(), Y.copy()
    net.fit(X, Y, epochs=3, lr=0.5, batch_size=3, seed=0)
    net.fit(X, Y, epochs=3, lr=0.5, batch_size=3, shuffle=False)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(Y, Y_before)


# --- chunks of the compiled loop ----------------------------------------------------

@pytest.mark.parametrize("chunk", [1, 40, 1000, 5000])
@pytest.mark.parametrize("loss", ["sse", "mse"])
@pytest.mark.parametrize("shuffle, batch_size", [(False, 3), (True, 3), (True, 1), (False, None), (True, 4)])
def test_chunked_compiled_loop_is_bit_identical_to_one_chunk(monkeypatch, dtype, chunk, loss, shuffle,
                                                             batch_size):
    net, X, Y = make_problem(dtype=dtype, loss=loss, n=10)
    one_chunk = clone(net)
    expected = one_chunk.fit(X, Y, epochs=6, lr=0.5, batch_size=batch_size, shuffle=shuffle, seed=4)
    monkeypatch.setattr(network_module, "_CHUNK_MULTIPLY_ADDS", chunk)
    monkeypatch.setattr(network_module, "_MAX_ORDER_ENTRIES", 25)  # orders drawn 2 epochs at a time
    history = net.fit(X, Y, epochs=6, lr=0.5, batch_size=batch_size, shuffle=shuffle, seed=4)
    assert history.tobytes() == expected.tobytes()
    assert state(net) == state(one_chunk)


# --- callbacks, progress, interruption ------------------------------------------------

def test_callback_is_called_once_per_epoch_with_the_loss():
    net, X, Y = make_problem()
    plain = clone(net)
    calls = []
    history = net.fit(X, Y, epochs=5, lr=0.5, batch_size=3, seed=1,
                      callback=lambda epoch, loss: calls.append((epoch, loss)))
    assert [epoch for epoch, _ in calls] == [0, 1, 2, 3, 4]
    assert all(type(epoch) is int and type(loss) is float for epoch, loss in calls)
    assert [loss for _, loss in calls] == history.tolist()
    plain_history = plain.fit(X, Y, epochs=5, lr=0.5, batch_size=3, seed=1)
    assert history.tobytes() == plain_history.tobytes()
    assert state(net) == state(plain)


def test_callback_sees_the_network_after_each_epoch():
    net, X, Y = make_problem()
    seen = []
    net.fit(X, Y, epochs=3, lr=0.5, batch_size=3, shuffle=False,
            callback=lambda epoch, loss: seen.append(state(net)))
    reference = clone(make_problem()[0])
    for epoch in range(3):
        reference.fit(X, Y, epochs=1, lr=0.5, batch_size=3, shuffle=False)
        assert seen[epoch] == state(reference)


@pytest.mark.parametrize("stop_after", [0, 2])
def test_callback_returning_false_stops_training(stop_after):
    net, X, Y = make_problem()
    full = clone(net)
    full_history = full.fit(X, Y, epochs=stop_after + 1, lr=0.5, batch_size=3, seed=7)
    calls = []

    def callback(epoch, loss):
        calls.append(epoch)
        return False if epoch == stop_after else None

    history = net.fit(X, Y, epochs=10, lr=0.5, batch_size=3, seed=7, callback=callback)
    assert calls == list(range(stop_after + 1))
    assert history.shape == (stop_after + 1,) and history.dtype == np.float64
    assert history.tobytes() == full_history.tobytes()
    assert state(net) == state(full)


def test_callback_returning_true_or_none_continues():
    net, X, Y = make_problem()
    assert net.fit(X, Y, epochs=3, lr=0.5, callback=lambda e, l: True).shape == (3,)
    assert net.fit(X, Y, epochs=3, lr=0.5, callback=lambda e, l: None).shape == (3,)


def test_progress_and_callback_give_the_same_weights_as_a_plain_run(capsys):
    net, X, Y = make_problem()
    plain, with_progress, with_both = clone(net), clone(net), clone(net)
    expected = plain.fit(X, Y, epochs=4, lr=0.5, batch_size=3, seed=2)
    got = with_progress.fit(X, Y, epochs=4, lr=0.5, batch_size=3, seed=2, progress=True)
    both = with_both.fit(X, Y, epochs=4, lr=0.5, batch_size=3, seed=2, progress=True,
                         callback=lambda epoch, loss: None)
    assert got.tobytes() == expected.tobytes() == both.tobytes()
    assert state(with_progress) == state(plain) == state(with_both)
    captured = capsys.readouterr()
    assert captured.out == ""  # the bar goes to stderr
    assert captured.err != ""


@pytest.mark.parametrize("exception", [KeyboardInterrupt, RuntimeError])
@pytest.mark.parametrize("interrupt_at", [0, 2])
def test_interrupt_from_callback_leaves_the_completed_epochs(exception, interrupt_at):
    net, X, Y = make_problem(loss="mse")
    completed = clone(net)
    completed.fit(X, Y, epochs=interrupt_at + 1, lr=0.5, batch_size=3, seed=8)

    def callback(epoch, loss):
        if epoch == interrupt_at:
            raise exception("stop")

    with pytest.raises(exception):
        net.fit(X, Y, epochs=10, lr=0.5, batch_size=3, seed=8, callback=callback)
    assert state(net) == state(completed)
    # The network is consistent and usable afterwards.
    assert net.sizes == completed.sizes and net.dtype == completed.dtype
    np.testing.assert_array_equal(net.forward(X), completed.forward(X))
    assert net.compute_loss(X, Y) == completed.compute_loss(X, Y)
    np.testing.assert_array_equal(net.fit(X, Y, epochs=2, lr=0.5, batch_size=3, seed=1),
                                  completed.fit(X, Y, epochs=2, lr=0.5, batch_size=3, seed=1))
    assert state(net) == state(completed)
