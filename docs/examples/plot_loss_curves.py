"""
Loss curves, with and without a validation split
================================================

A small regression (a noisy sine, identity output, loss "mse", Adam) trained
twice on the same data: once on every sample, and once with a fifth held out
for validation, its loss computed after every epoch from ``fit``'s callback
(``callback(epoch, loss)`` runs after each epoch and may read the network).
The left panel is the first run's curve (``fastprop.plot_loss(losses, path)``
draws the same on a figure of its own, without pyplot); the right one puts the
second run's training and validation losses side by side.
"""

import matplotlib.pyplot as plt
import numpy as np

import fastprop

rng = np.random.default_rng(0)
X = rng.uniform(-3, 3, size=(400, 1))
Y = np.sin(X) + 0.1 * rng.standard_normal(X.shape)

net = fastprop.Network([1, 32, 1], activation="tanh", output="identity", loss="mse", seed=0)
losses = net.fit(X, Y, epochs=200, batch_size=32, optimizer=fastprop.Adam(lr=1e-2), seed=0)
print(f"all samples: loss {losses[0]:.3f} after the first epoch, {losses[-1]:.4f} after the last")

# %%
# With a validation split: train on 320 samples, and after every epoch compute
# the loss on the other 80. The gap between the curves is what overfitting
# would widen; here, with 32 hidden units and a smooth target, it stays small.

order = rng.permutation(len(X))
train, held_out = order[:320], order[320:]
net = fastprop.Network([1, 32, 1], activation="tanh", output="identity", loss="mse", seed=0)
validation = []


def record_validation_loss(epoch, loss):
    validation.append(net.compute_loss(X[held_out], Y[held_out]))
    return True


training = net.fit(X[train], Y[train], epochs=200, batch_size=32,
                   optimizer=fastprop.Adam(lr=1e-2), seed=0, callback=record_validation_loss)
print(f"with a split: training loss {training[-1]:.4f}, validation loss {validation[-1]:.4f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
left.plot(np.arange(1, len(losses) + 1), losses, label="training (all 400 samples)")
left.set_title("Without a validation split")
epochs = np.arange(1, len(training) + 1)
right.plot(epochs, training, label="training (320 samples)")
right.plot(epochs, validation, label="validation (80 held out)")
right.set_title("With a validation split")
for ax in (left, right):
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.legend()
left.set_ylabel("loss (mse)")
fig.tight_layout()
plt.show()
