"""
XOR: the decision boundary of a 2-4-1 network
=============================================

The NumPy XOR tutorial's problem trained with fastprop's own setting
(``fastprop.examples.XOR_TRAINING``: 4 sigmoid hidden units, loss "sse",
full-batch gradient descent at learning rate 1.0, 5000 epochs), then the
network's output drawn over the whole input square. The four training points
sit in the corners; the network separates the two classes with two curved
bands, which no network without a hidden layer can do.
"""

import matplotlib.pyplot as plt
import numpy as np

import fastprop
from fastprop.examples import XOR_TRAINING, xor_data

X, Y = xor_data()
setup = XOR_TRAINING
net = fastprop.Network(list(setup.sizes), seed=setup.seed, loss=setup.loss)
losses = net.fit(X, Y, epochs=setup.epochs, lr=setup.lr, batch_size=setup.batch_size)
print(f"loss {losses[0]:.3f} after the first epoch, {losses[-1]:.5f} after the last")
print("predictions:", net.predict(X).ravel().round(3))

# %%
# The output on a grid over [-0.25, 1.25]²; the 0.5 contour is the decision boundary.

grid = np.linspace(-0.25, 1.25, 301)
x1, x2 = np.meshgrid(grid, grid)
output = net.predict(np.column_stack([x1.ravel(), x2.ravel()])).reshape(x1.shape)

fig, ax = plt.subplots(figsize=(5.5, 4.5))
image = ax.contourf(x1, x2, output, levels=np.linspace(0, 1, 11), cmap="RdBu_r")
ax.contour(x1, x2, output, levels=[0.5], colors="black", linewidths=1.5)
ax.scatter(X[:, 0], X[:, 1], c=Y.ravel(), cmap="RdBu_r", vmin=0, vmax=1,
           s=160, edgecolors="black", linewidths=1.5, zorder=3)
for (a, b), target in zip(X, Y.ravel()):
    ax.annotate(f"y = {target:.0f}", (a, b), textcoords="offset points", xytext=(0, 14),
                ha="center")
ax.set_xlabel("x1")
ax.set_ylabel("x2")
ax.set_title("XOR: output of a 2-4-1 sigmoid network (black: 0.5)")
fig.colorbar(image, ax=ax, label="network output")
fig.tight_layout()
plt.show()
