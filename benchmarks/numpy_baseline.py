"""The NumPy baseline: the NumPy XOR tutorial's ``SimpleNeuralNetwork``, in its own style.

The tutorial is described in docs/worked-examples.md. Changes from its class,
each needed to do the benchmark's work and nothing more:

* any number of layers (lists of weights and biases instead of W1, W2);
* samples are rows (fastprop's notation): ``z = a_prev @ W.T + b`` instead of
  ``W @ x + b``, so it trains on the same C-contiguous arrays as fastprop;
* minibatches in order (the tutorial trains full-batch), the short last batch kept;
* the dtype of the case (the arithmetic stays in float32 for float32 data);
* loss ``"mse"`` divides the gradients by the batch size (the tutorial sums: ``"sse"``);
* no loss printing every 1000 epochs.

Like the tutorial's class it allocates new arrays for every intermediate result.
"""
from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_derivative(x):
    return x * (1 - x)


class SeedNumpyNetwork:
    def __init__(self, weights, biases, loss="sse", dtype=np.float64):
        if loss not in ("sse", "mse"):
            raise ValueError(f"loss must be 'sse' or 'mse', not {loss!r}")
        self.weights = [np.array(W, dtype=dtype) for W in weights]
        self.biases = [np.array(b, dtype=dtype) for b in biases]
        self.loss = loss

    def forward(self, X):
        self.activations = [X]
        for W, b in zip(self.weights, self.biases):
            z = np.dot(self.activations[-1], W.T) + b
            self.activations.append(sigmoid(z))
        return self.activations[-1]

    def backward(self, X, y, learning_rate):
        a = self.activations
        step = learning_rate / len(X) if self.loss == "mse" else learning_rate
        delta = (a[-1] - y) * sigmoid_derivative(a[-1])
        for layer in reversed(range(len(self.weights))):
            W = self.weights[layer]
            # Propagate through the weights before they are updated.
            delta_below = np.dot(delta, W) * sigmoid_derivative(a[layer]) if layer > 0 else None
            W -= step * np.dot(delta.T, a[layer])
            self.biases[layer] -= step * np.sum(delta, axis=0)
            delta = delta_below

    def train(self, X, y, epochs, learning_rate, batch_size=None):
        batch_size = batch_size or len(X)
        for _ in range(epochs):
            for start in range(0, len(X), batch_size):
                X_batch = X[start : start + batch_size]
                y_batch = y[start : start + batch_size]
                self.forward(X_batch)
                self.backward(X_batch, y_batch, learning_rate)
