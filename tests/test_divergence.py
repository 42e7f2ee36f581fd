"""Training that makes the loss or the weights non-finite stops with
fastprop.TrainingDivergedError, the network left as it was after the last epoch that ended
finite (issue 14: fit(..., lr=1e308) used to leave [[-inf]] weights without a word, and
save then wrote them over a good file).

The diverging network: inputs of 1e30 (float32) on two axes with targets of opposite
pull make the first step's weights of opposite signs and about 1e37; the next epoch's
third sample, (1e30, 1e30), then sums +inf and -inf into its pre-activation: NaN.
"""
import numpy as np
import pytest

import fastprop

X = np.array([[1e30, 0], [0, 1e30], [1e30, 1e30]], dtype=np.float32)
Y = np.array([[0], [1], [0.62]], dtype=np.float32)


def network():
    return fastprop.Network.from_weights(
        [np.zeros((1, 2), np.float32), np.ones((1, 1), np.float32)],
        [np.zeros(1, np.float32), np.zeros(1, np.float32)])


def parameters(net):
    return [a.tobytes() for a in net.weights + net.biases]


def test_a_fit_that_diverges_in_its_second_epoch_leaves_the_first_epochs_network():
    net = network()
    with pytest.raises(fastprop.TrainingDivergedError,
                       match=r"training diverged in epoch 1 \(counting from 0\): the loss became "
                             r"NaN or infinite with lr=1e\+09; the network is as it was after "
                             r"epoch 0\. Try a smaller learning rate") as diverged:
        net.fit(X, Y, epochs=5, lr=1e9)
    assert diverged.value.epoch == 1 and isinstance(diverged.value, FloatingPointError)
    one_epoch = network()
    one_epoch.fit(X, Y, epochs=1, lr=1e9)                  # finite: no error
    assert parameters(net) == parameters(one_epoch)         # bit for bit


@pytest.mark.parametrize("batch_size, shuffle, lr, diverges_in", [
    (2, True, 1e9, 1),      # shuffled batches of 2 (a short last one): epoch 1's order replayed
    (2, False, 1e9, 0),
    (1, False, 1e10, 0),
])
def test_the_replay_follows_the_same_batches_and_orders(batch_size, shuffle, lr, diverges_in):
    # The network is the one a fit of the epochs before gives, bit for bit.
    net = network()
    with pytest.raises(fastprop.TrainingDivergedError) as diverged:
        net.fit(X, Y, epochs=20, lr=lr, batch_size=batch_size, shuffle=shuffle, seed=3)
    assert diverged.value.epoch == diverges_in
    shorter = network()
    if diverges_in:
        shorter.fit(X, Y, epochs=diverges_in, lr=lr, batch_size=batch_size, shuffle=shuffle, seed=3)
    assert parameters(net) == parameters(shorter)


def test_weights_that_overflow_while_the_loss_stays_finite_are_caught_too():
    # lr 1e308 on a full batch of 1000 samples: the first update's sum overflows to
    # infinity; the saturated sigmoids could keep the losses finite.
    rng = np.random.default_rng(0)
    net = fastprop.Network([3, 4, 2], seed=7)
    before = parameters(net)
    with pytest.raises(fastprop.TrainingDivergedError,
                       match=r"epoch 0 .*the network is as it was before training"):
        net.fit(rng.uniform(0, 1, (1000, 3)), rng.uniform(0, 1, (1000, 2)), epochs=3, lr=1e308)
    assert parameters(net) == before


def test_a_diverging_step_leaves_the_network_as_it_was():
    net = network()
    net.step(X, Y, 1e9)                                     # finite
    after_one = parameters(net)
    with pytest.raises(fastprop.TrainingDivergedError,
                       match=r"the step diverged \(the loss became NaN or infinite\) with lr=1e\+09: "
                             r"the network is as it was before it"):
        net.step(X, Y, 1e9)
    assert parameters(net) == after_one


def test_a_callback_that_stops_early_still_returns_the_losses_so_far():
    net = fastprop.Network([2, 3, 1], seed=0)
    rng = np.random.default_rng(1)
    losses = net.fit(rng.uniform(0, 1, (8, 2)), rng.uniform(0, 1, (8, 1)), epochs=10, lr=0.5,
                     callback=lambda epoch, loss: epoch < 3)
    assert losses.shape == (4,) and np.isfinite(losses).all()
