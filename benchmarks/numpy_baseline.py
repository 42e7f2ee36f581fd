"""The NumPy baseline: the NumPy XOR tutorial's ``SimpleNeuralNetwork``, in its own style.

The tutorial is described in docs/worked-examples.md. Changes from its class,
each needed to do the benchmark's work and nothing more:

* any number of layers (lists of weights and biases instead of W1, W2);
* samples are rows (fastprop's notation): ``z = a_prev @ W.T + b`` instead of
  ``W @ x + b``, so it trains on the same C-contiguous arrays as fastprop;
* minibatches in order (the tutorial trains full-batch), the short last batch kept;
* the dtype of the case (the arithmetic stays in float32 for float32 data);
* loss ``"mse"`` divides the gradients by the batch size (the tutorial sums: ``"sse"``);
* no loss printing every 1000 epochs;
* for the classification cases, relu hidden layers, a softmax output with the
  cross-entropy on integer labels (mean over the batch) and Adam (torch's formulas), in
  the same style: the tutorial's loop with other functions and update.

Like the tutorial's class it allocates new arrays for every intermediate result.
"""
from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_derivative(x):
    return x * (1 - x)


def relu(x):
    return np.maximum(x, 0)


def relu_derivative(x):
    return (x > 0).astype(x.dtype)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class SeedNumpyNetwork:
    def __init__(self, weights, biases, loss="sse", dtype=np.float64, activation="sigmoid",
                 optimizer="sgd"):
        if loss not in ("sse", "mse", "cross_entropy"):
            raise ValueError(f"loss must be 'sse', 'mse' or 'cross_entropy', not {loss!r}")
        self.weights = [np.array(W, dtype=dtype) for W in weights]
        self.biases = [np.array(b, dtype=dtype) for b in biases]
        self.loss = loss
        self.hidden, self.hidden_derivative = ((relu, relu_derivative) if activation == "relu"
                                               else (sigmoid, sigmoid_derivative))
        self.optimizer = optimizer
        self.adam_state = [(np.zeros_like(p), np.zeros_like(p))
                           for p in self.weights + self.biases]
        self.steps = 0

    def forward(self, X):
        self.activations = [X]
        for layer, (W, b) in enumerate(zip(self.weights, self.biases)):
            z = np.dot(self.activations[-1], W.T) + b
            if layer < len(self.weights) - 1:
                self.activations.append(self.hidden(z))
            else:
                self.activations.append(softmax(z) if self.loss == "cross_entropy" else sigmoid(z))
        return self.activations[-1]

    def backward(self, X, y, learning_rate):
        a = self.activations
        if self.loss == "cross_entropy":       # y: labels; softmax and cross-entropy: a - y
            one_hot = np.eye(a[-1].shape[1], dtype=a[-1].dtype)[y]
            delta = (a[-1] - one_hot) / len(X)
            step = learning_rate
        else:
            step = learning_rate / len(X) if self.loss == "mse" else learning_rate
            delta = (a[-1] - y) * sigmoid_derivative(a[-1])
        gradients = [None] * (2 * len(self.weights))
        for layer in reversed(range(len(self.weights))):
            W = self.weights[layer]
            # Propagate through the weights before they are updated.
            delta_below = np.dot(delta, W) * self.hidden_derivative(a[layer]) if layer > 0 else None
            if self.optimizer == "adam":
                gradients[layer] = np.dot(delta.T, a[layer])
                gradients[len(self.weights) + layer] = np.sum(delta, axis=0)
            else:
                W -= step * np.dot(delta.T, a[layer])
                self.biases[layer] -= step * np.sum(delta, axis=0)
            delta = delta_below
        if self.optimizer == "adam":
            self.adam(gradients, learning_rate)

    def adam(self, gradients, learning_rate, beta1=0.9, beta2=0.999, eps=1e-8):
        self.steps += 1
        step_size = learning_rate / (1 - beta1 ** self.steps)
        correction = np.sqrt(1 - beta2 ** self.steps)
        for p, g, (m, v) in zip(self.weights + self.biases, gradients, self.adam_state):
            m += (1 - beta1) * (g - m)
            v *= beta2
            v += (1 - beta2) * g * g
            p -= step_size * m / (np.sqrt(v) / correction + eps)

    def train(self, X, y, epochs, learning_rate, batch_size=None):
        batch_size = batch_size or len(X)
        for _ in range(epochs):
            for start in range(0, len(X), batch_size):
                X_batch = X[start : start + batch_size]
                y_batch = y[start : start + batch_size]
                self.forward(X_batch)
                self.backward(X_batch, y_batch, learning_rate)
