"""The PyTorch baseline: eager mode, ``nn.Linear`` + ``nn.Sigmoid``, ``torch.optim.SGD``;
for the classification cases ``nn.ReLU``, ``F.cross_entropy`` on the logits and
``torch.optim.Adam``.

Torch is optional (``pip install '.[bench]'``): this module imports it only
when a network is built, so importing the module never needs torch.

The loss follows fastprop's convention (CONTRIBUTING.md): ``"sse"`` is
½ Σ (y − ŷ)² over the batch, ``"mse"`` the same divided by the batch size
(not ``nn.MSELoss``, which also averages over the outputs and drops the ½).
"""
from __future__ import annotations

import numpy as np

TORCH_THREADS = 2


def torch_is_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


class TorchEagerNetwork:
    def __init__(self, weights, biases, loss="sse", dtype=np.float64, threads=TORCH_THREADS,
                 activation="sigmoid", optimizer="sgd"):
        import torch

        if loss not in ("sse", "mse", "cross_entropy"):
            raise ValueError(f"loss must be 'sse', 'mse' or 'cross_entropy', not {loss!r}")
        self.optimizer_name = optimizer
        torch.set_num_threads(threads)
        self._torch = torch
        self.loss = loss
        torch_dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[np.dtype(dtype)]
        layers = []
        for W, b in zip(weights, biases):
            n_out, n_in = W.shape
            linear = torch.nn.Linear(n_in, n_out, dtype=torch_dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.asarray(W)))
                linear.bias.copy_(torch.from_numpy(np.asarray(b)))
            hidden = torch.nn.ReLU() if activation == "relu" else torch.nn.Sigmoid()
            layers += [linear, hidden]
        if loss == "cross_entropy":
            layers = layers[:-1]             # logits: the loss takes the softmax
        self.model = torch.nn.Sequential(*layers)

    def train(self, X, y, epochs, learning_rate, batch_size=None):
        torch = self._torch
        X_all, y_all = torch.from_numpy(X), torch.from_numpy(y)  # no copies
        batch_size = batch_size or len(X)
        if self.optimizer_name == "adam":
            optimizer = torch.optim.Adam(self.model.parameters(), lr=learning_rate)
        else:
            optimizer = torch.optim.SGD(self.model.parameters(), lr=learning_rate)
        for _ in range(epochs):
            for start in range(0, len(X), batch_size):
                X_batch = X_all[start : start + batch_size]
                y_batch = y_all[start : start + batch_size]
                if self.loss == "cross_entropy":
                    loss = torch.nn.functional.cross_entropy(self.model(X_batch), y_batch)
                else:
                    loss = 0.5 * (self.model(X_batch) - y_batch).pow(2).sum()
                if self.loss == "mse":
                    loss = loss / X_batch.shape[0]
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

    def parameters(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        linears = [m for m in self.model if isinstance(m, self._torch.nn.Linear)]
        weights = [m.weight.detach().numpy().copy() for m in linears]
        biases = [m.bias.detach().numpy().copy() for m in linears]
        return weights, biases
