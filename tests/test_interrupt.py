"""Ctrl-C inside a long step (issue 14): a fit or step whose steps are long runs its
products in pieces and looks at SIGINT between them (_interrupt.h), abandons the step,
puts back what it had changed, and Python raises KeyboardInterrupt: within a fraction of a
second, at a whole number of steps, with the optimizer's state as it was after them.

SIGINT is sent by os.kill from a helper thread, as a terminal's Ctrl-C would be; the
process's own handler (Python's default_int_handler) turns it into KeyboardInterrupt."""
import os
import signal
import threading
import time

import numpy as np
import pytest

import fastprop
from fastprop import _workspace
from fastprop._testing import product_path, vector_kernels_in_use

pytestmark = pytest.mark.skipif(not hasattr(signal, "pthread_kill") or os.name != "posix",
                                reason="SIGINT from another thread needs POSIX signals")


def problem(n_in, n_hidden, rows, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, n_in))
    Y = rng.uniform(0.2, 0.8, (rows, 1))
    net = fastprop.Network([n_in, n_hidden, 1], seed=seed, loss="mse")
    return net, X, Y


def state_of(net, optimizer=None):
    arrays = [w.copy() for w in net.weights] + [b.copy() for b in net.biases]
    if optimizer is not None:
        arrays += [array.copy() for array in optimizer._state.arrays()]
    return arrays


def same(first, second):
    return len(first) == len(second) and all(np.array_equal(a, b) for a, b in zip(first, second))


def send_sigint_after(seconds):
    """SIGINT to this process after seconds, from another thread; returns a list that
    receives the time it was sent."""
    sent = []

    def interrupt():
        time.sleep(seconds)
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    return sent


@pytest.fixture(autouse=True)
def fixed_plan():
    # No planning: the steps start at once, and every fit of a shape runs the same routes.
    with fastprop.config_context(plan="fixed"):
        yield


@pytest.fixture
def watched_steps(monkeypatch):
    # Steps of 256-512-1 on 2048 or 4096 rows (8e8 and 1.7e9 multiply-adds, 10-30 ms) are
    # under the threshold at which steps are watched; these tests are about what happens to
    # a watched step, so they lower it, and the pieces' least rows so that every product of
    # theirs runs in several pieces (2048 rows: 8 pieces of the batch, 2 of W's 512 rows).
    monkeypatch.setattr(_workspace, "INTERRUPTIBLE_STEP_MULTIPLY_ADDS", 10 ** 8)
    monkeypatch.setattr(_workspace, "PIECE_MULTIPLY_ADDS", 1 << 26)
    monkeypatch.setattr(_workspace, "PIECE_MIN_BATCH_ROWS", 256)
    monkeypatch.setattr(_workspace, "PIECE_MIN_WEIGHT_ROWS", 256)


def test_ctrl_c_inside_a_long_step_stops_within_a_fraction_of_a_second():
    # 512-1024-1 on 8192 rows: one step of about 1.3e10 multiply-adds (0.8 s on an AMD
    # EPYC Zen 3, 0.2 s on an Intel Xeon with AVX-512), in pieces (the defaults: 8 of the
    # batch's rows for the forward product; the gradient's 1024 rows of W in one). Without pieces, Ctrl-C waited for the step's end.
    net, X, Y = problem(512, 1024, 8192)
    started = time.perf_counter()
    net.fit(X, Y, epochs=1, lr=0.1, shuffle=False)                   # one whole step
    step_seconds = time.perf_counter() - started
    before = state_of(net)
    sent = send_sigint_after(min(0.3, step_seconds / 4))
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, Y, epochs=5, lr=0.1, shuffle=False)
    latency = time.perf_counter() - sent[0]
    # Sent a quarter into a step: waiting for its end would take three quarters of it.
    assert latency < min(0.5, step_seconds / 3), (latency, step_seconds)
    assert same(state_of(net), before)          # the step it was in was undone
    # The network trains on as if nothing had happened.
    net.fit(X, Y, epochs=1, lr=0.1, shuffle=False)
    assert not same(state_of(net), before)


@pytest.mark.parametrize("make", [None, lambda: fastprop.Adam(lr=1e-3),
                                  lambda: fastprop.SGD(0.05, momentum=0.9)])
def test_an_interrupted_fit_stops_at_a_whole_number_of_steps(make, watched_steps):
    # Four steps of 2048 rows an epoch; interrupted somewhere in one of them. The network
    # and the optimizer's state are those after some whole number k of steps, bit for bit:
    # the same as a fit of exactly those k steps (batches taken in order).
    net, X, Y = problem(256, 512, 8192, seed=1)
    fresh = fastprop.Network.from_weights(net.weights, net.biases, loss="mse")
    optimizer = make() if make else None
    arguments = dict(optimizer=optimizer) if optimizer else dict(lr=0.1)
    sent = send_sigint_after(0.15)
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, Y, epochs=50, batch_size=2048, shuffle=False, **arguments)
    assert sent
    interrupted = state_of(net)
    # Replay whole steps on a copy until the parameters agree (at most the steps a fit of
    # 50 epochs could have taken; every step changes them).
    replay = fastprop.Network.from_weights(fresh.weights, fresh.biases, loss="mse")
    replay_optimizer = make() if make else None
    replay_arguments = dict(optimizer=replay_optimizer) if replay_optimizer else dict(lr=0.1)
    for k in range(200):
        if same(state_of(replay), interrupted):
            break
        batch = slice(2048 * (k % 4), 2048 * (k % 4 + 1))
        replay.step(X[batch], Y[batch], **replay_arguments)
    else:
        pytest.fail("the interrupted network is no whole number of steps of the fit")
    if optimizer is not None:
        # Its state too: the step counter, the moments or momentum buffers.
        assert int(optimizer._state.steps[0]) == k
        if k > 0:
            assert same(optimizer._state.arrays(), replay_optimizer._state.arrays())
        else:
            assert not any(array.any() for array in optimizer._state.arrays())


def test_a_sigint_handler_that_returns_lets_the_fit_go_on_to_the_same_bits(watched_steps):
    # A handler of the user's own that does not raise: the abandoned step is taken again,
    # and the fit ends as an uninterrupted one does, bit for bit.
    net, X, Y = problem(256, 512, 8192, seed=2)
    alone = fastprop.Network.from_weights(net.weights, net.biases, loss="mse")
    alone.fit(X, Y, epochs=3, batch_size=2048, shuffle=False, lr=0.1)
    calls = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: calls.append(number))
    try:
        send_sigint_after(0.1)
        net.fit(X, Y, epochs=3, batch_size=2048, shuffle=False, lr=0.1)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert calls == [signal.SIGINT]
    assert same(state_of(net), state_of(alone))
    assert signal.getsignal(signal.SIGINT) is previous


def test_an_ignored_sigint_is_left_ignored(watched_steps):
    net, X, Y = problem(256, 512, 8192, seed=3)
    alone = fastprop.Network.from_weights(net.weights, net.biases, loss="mse")
    alone.fit(X, Y, epochs=2, batch_size=4096, shuffle=False, lr=0.1)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        send_sigint_after(0.1)
        net.fit(X, Y, epochs=2, batch_size=4096, shuffle=False, lr=0.1)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert same(state_of(net), state_of(alone))


def test_a_long_step_call_is_interrupted_too_and_leaves_the_network_unchanged():
    net, X, Y = problem(512, 1024, 8192, seed=4)
    started = time.perf_counter()
    net.step(X, Y, 0.1)
    step_seconds = time.perf_counter() - started
    before = state_of(net)
    sent = send_sigint_after(step_seconds / 4)
    with pytest.raises(KeyboardInterrupt):
        net.step(X, Y, 0.1)
    assert time.perf_counter() - sent[0] < min(0.5, step_seconds / 3)
    assert same(state_of(net), before)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("make", [None, lambda: fastprop.Adam(lr=1e-3)])
@pytest.mark.parametrize("path", ["loops", "vector", "blas"])
def test_pieces_give_the_whole_products_results(monkeypatch, path, make, threads):
    # The same fit with and without the pieces (the threshold above or below its steps), with
    # plain SGD (whose bias update is fused into the gradient product unless in pieces) and
    # with Adam, ten outputs. The plain loops and the vector kernels sum every element in the
    # same order whatever rows surround it: the same bits. BLAS's GEMM may round a piece
    # otherwise than the whole: the same to the rounding of the sums (a wrong piece, such as
    # biases summed with the wrong row stride, was off by 5e-3).
    if path == "vector" and not vector_kernels_in_use():
        pytest.skip("no vector kernels on this CPU path")
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((512, 64)), rng.uniform(0.2, 0.8, (512, 10))
    start = fastprop.Network([64, 96, 10], seed=5, loss="mse")
    results = []
    for threshold, piece in ((10 ** 12, 1 << 24), (1, 5000)):
        monkeypatch.setattr(_workspace, "INTERRUPTIBLE_STEP_MULTIPLY_ADDS", threshold)
        monkeypatch.setattr(_workspace, "PIECE_MULTIPLY_ADDS", piece)
        monkeypatch.setattr(_workspace, "PIECE_MIN_BATCH_ROWS", 16)
        monkeypatch.setattr(_workspace, "PIECE_MIN_WEIGHT_ROWS", 16)
        copy = fastprop.Network.from_weights(start.weights, start.biases, loss="mse")
        optimizer = make() if make else None
        arguments = dict(optimizer=optimizer) if optimizer else dict(lr=0.1)
        with product_path(path), fastprop.config_context(threads=threads):
            copy.fit(X, Y, epochs=2, batch_size=128, seed=0, **arguments)
        results.append(state_of(copy, optimizer))
    if path == "blas":
        for whole, pieces in zip(*results):
            if whole.dtype.kind != "f":            # the optimizer's step counter
                np.testing.assert_array_equal(pieces, whole)
                continue
            np.testing.assert_allclose(pieces, whole, rtol=0,
                                       atol=64 * np.finfo(whole.dtype).eps
                                       * max(1.0, np.abs(whole).max()))
    else:
        assert same(results[0], results[1])


def test_a_fit_in_another_thread_runs_the_same_pieces_and_bits(watched_steps):
    # Only the main thread watches SIGINT, but every thread runs long steps in the same
    # pieces: the bits do not depend on the thread (BLAS's GEMM, which the fixed plan
    # routes these products to, gives other bits for a piece than for the whole).
    net, X, Y = problem(256, 512, 8192, seed=7)
    other = fastprop.Network.from_weights(net.weights, net.biases, loss="mse")
    net.fit(X, Y, epochs=2, batch_size=4096, shuffle=False, lr=0.1)
    thread = threading.Thread(target=other.fit, args=(X, Y),
                              kwargs=dict(epochs=2, batch_size=4096, shuffle=False, lr=0.1))
    thread.start()
    thread.join()
    assert same(state_of(net), state_of(other))


def test_watching_stops_with_the_fit(watched_steps):
    # After an interruptible fit the SIGINT disposition is Python's again.
    net, X, Y = problem(256, 512, 8192, seed=6)
    handler = signal.getsignal(signal.SIGINT)
    net.fit(X, Y, epochs=1, batch_size=4096, shuffle=False, lr=0.1)
    assert signal.getsignal(signal.SIGINT) is handler
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)


@pytest.mark.parametrize("arguments, message", [
    ((0,), None),                                       # 0: never abandoned, no error
    ((-1,), r"piece_multiply_adds must be >= 1, got -1"),
    ((1 << 20, 100, 16), r"min_batch_rows must be a positive multiple of 16, got 100"),
    ((1 << 20, 16, 0), r"min_weight_rows must be a positive multiple of 16, got 0"),
])
def test_set_interruption_checks_its_pieces(arguments, message):
    net, X, Y = problem(4, 3, 8)
    workspace = _workspace.Workspace(net, np.ascontiguousarray(X), np.ascontiguousarray(Y),
                                     None, 8, False)
    changed = net._state_arrays(None)
    if message is None:
        workspace.trainer.set_interruption(changed, *arguments)
        return
    with pytest.raises(ValueError, match=message):
        workspace.trainer.set_interruption(changed, *arguments)
