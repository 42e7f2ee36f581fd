"""One network used from two threads (fastprop._usage): a call that changes it refuses to
run beside another, and reading it while another thread trains it is refused, never torn.

A fit in a helper thread is held between two epochs by its callback (an Event), so that
the main thread's calls happen while it is in progress, deterministically.
"""
import copy
import pickle
import threading

import numpy as np
import pytest

import fastprop
from fastprop._usage import NetworkInUseError


def data(n_samples=32):
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (n_samples, 3)), rng.uniform(0, 1, (n_samples, 2))


def snapshot(net):
    return [a.tobytes() for a in net._weights + net._biases]


class HeldFit:
    """net.fit in a thread of its own, held inside its callback after the first epoch."""

    def __init__(self, net, method="fit"):
        self.net = net
        self.inside, self.release = threading.Event(), threading.Event()
        self.error = None
        X, Y = data()

        def callback(epoch, loss):
            self.inside.set()
            assert self.release.wait(30), "the test never released the fit"

        def run():
            try:
                net.fit(X, Y, epochs=2, lr=0.5, batch_size=8, callback=callback)
            except BaseException as error:  # noqa: BLE001 (reported to the test)
                self.error = error

        self.thread = threading.Thread(target=run, daemon=True)

    def __enter__(self):
        self.thread.start()
        assert self.inside.wait(30), "the fit never reached its callback"
        return self

    def __exit__(self, *exc_info):
        self.release.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        assert self.error is None, self.error


def test_a_second_fit_or_step_from_another_thread_is_refused_naming_the_fit():
    net = fastprop.Network([3, 4, 2], seed=0)
    X, Y = data()
    with HeldFit(net):
        held = snapshot(net)
        with pytest.raises(RuntimeError, match=r"cannot fit: fit is in progress on this network "
                                               r"\(in another thread\)"):
            net.fit(X, Y, epochs=1, lr=0.5)
        with pytest.raises(RuntimeError, match=r"cannot step: fit is in progress"):
            net.step(X, Y, 0.5)
        assert snapshot(net) == held           # the refused calls changed nothing
    net.fit(X, Y, epochs=1, lr=0.5)           # free again once the fit is over


@pytest.mark.parametrize("read", [
    lambda net, X, Y, tmp: net.forward(X),
    lambda net, X, Y, tmp: net.predict(X),
    lambda net, X, Y, tmp: net.gradients(X, Y),
    lambda net, X, Y, tmp: net.compute_loss(X, Y),
    lambda net, X, Y, tmp: net.weights,
    lambda net, X, Y, tmp: net.biases,
    lambda net, X, Y, tmp: net.save(tmp / "model.npz"),
], ids=["forward", "predict", "gradients", "compute_loss", "weights", "biases", "save"])
def test_reading_while_another_thread_trains_is_refused(tmp_path, read):
    # save during a fit in another thread wrote torn snapshots (weights of no whole number
    # of steps) in 40 of 82 files; forward gave no error.
    net = fastprop.Network([3, 4, 2], seed=0)
    X, Y = data()
    with HeldFit(net):
        with pytest.raises(RuntimeError, match=r"cannot \w+: fit is changing this network in "
                                               r"another thread"):
            read(net, X, Y, tmp_path)
    assert not (tmp_path / "model.npz").exists()
    read(net, X, Y, tmp_path)                 # and allowed after it


def test_the_callback_may_read_and_save_but_not_train_the_network(tmp_path):
    net = fastprop.Network([3, 4, 2], seed=0)
    X, Y = data()
    seen = []

    def callback(epoch, loss):
        net.save(tmp_path / f"epoch{epoch}.npz")             # a checkpoint: allowed
        seen.append((net.forward(X[:1]), net.weights[0].copy()))
        with pytest.raises(RuntimeError, match=r"cannot step: fit is in progress on this network "
                                               r"\(in this thread: called from its callback\?\)"):
            net.step(X, Y, 0.5)

    net.fit(X, Y, epochs=3, lr=0.5, batch_size=8, callback=callback)
    assert len(seen) == 3
    # The last checkpoint is the trained network, bit for bit.
    np.testing.assert_array_equal(fastprop.load(tmp_path / "epoch2.npz").weights[0], net.weights[0])


def test_a_fit_refuses_to_start_beside_a_reader_in_another_thread():
    net = fastprop.Network([3, 4, 2], seed=0)
    X, Y = data()
    inside, release = threading.Event(), threading.Event()
    guard = net._usage

    def long_read():
        with guard.reading("forward"):          # a reader in progress in another thread
            inside.set()
            release.wait(30)

    reader = threading.Thread(target=long_read, daemon=True)
    reader.start()
    assert inside.wait(30)
    try:
        with pytest.raises(RuntimeError, match=r"cannot fit: forward is in progress on this "
                                               r"network in another thread"):
            net.fit(X, Y, epochs=1, lr=0.5)
        net.forward(X)                          # readers run together
    finally:
        release.set()
        reader.join(30)
    net.fit(X, Y, epochs=1, lr=0.5)


def test_concurrent_fits_on_different_networks_match_sequential_ones():
    X, Y = data(256)
    nets = [fastprop.Network([3, 16, 2], seed=seed) for seed in range(4)]
    expected = []
    for seed in range(4):
        alone = fastprop.Network([3, 16, 2], seed=seed)
        alone.fit(X, Y, epochs=20, lr=0.5, batch_size=16, seed=1)
        expected.append(alone.weights)
    threads = [threading.Thread(target=net.fit, args=(X, Y), daemon=True,
                                kwargs=dict(epochs=20, lr=0.5, batch_size=16, seed=1))
               for net in nets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for net, weights in zip(nets, expected):
        for ours, theirs in zip(net.weights, weights):
            np.testing.assert_array_equal(ours, theirs)


def test_a_refused_call_is_a_runtime_error_and_copies_get_a_guard_of_their_own():
    assert issubclass(NetworkInUseError, RuntimeError)
    net = fastprop.Network([3, 4, 2], seed=0)
    X, Y = data()
    for duplicate in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        with HeldFit(net):
            duplicate.fit(X, Y, epochs=1, lr=0.5)   # another network: free
        np.testing.assert_array_equal(duplicate.forward(X).shape, (32, 2))
