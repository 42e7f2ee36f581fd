"""The worked examples of the tutorials fastprop reproduces, as data.

The tutorials, the figures they print and their errata are described in
docs/worked-examples.md. The ``seed_*`` functions number the tutorials in the
order fastprop took them up: ``seed_000_*`` is the Step by Step tutorial
("Backpropagation Step by Step") and ``seed_002`` the Forward & Backpropagation
tutorial; ``xor_data`` is the NumPy XOR tutorial's data set.

Each ``seed_*`` function returns a fresh :class:`Example`: the starting weights
(one ``(n_out, n_in)`` list of rows per layer), the biases (one list per layer),
the single training sample ``x``, its target ``y`` and the learning rate ``lr``,
all plain Python floats. They are used by the tests, by ``fastprop demo`` and by
the tests of ``fastprop.explain``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import DTypeLike, NDArray

if TYPE_CHECKING:
    from .network import Network


class Example(NamedTuple):
    """One worked example: parameters, one sample, its target and the learning rate.

    Parameters
    ----------
    weights : list of list of list of float
        The starting weights, one matrix per layer (input side first), each a list of
        ``n_out`` rows of ``n_in`` floats: ``weights[l][j][i]`` connects neuron i of
        one layer to neuron j of the next.
    biases : list of list of float
        The starting biases, one list of ``n_out`` floats per layer.
    x : list of float
        The single training sample, one value per input.
    y : list of float
        Its target, one value per output (the value the tutorial's figures are computed
        with).
    lr : float
        The learning rate of the tutorial's gradient-descent step.
    """

    weights: list[list[list[float]]]
    biases: list[list[float]]
    x: list[float]
    y: list[float]
    lr: float


def seed_000_example_1() -> Example:
    """Step by Step tutorial, example 1: one neuron, w = 0.3, b = 0.1, x = 0.5, α = 0.1.

    The tutorial says y = 1 but every figure it prints is computed with y = 1.5,
    so y = 1.5 here (see docs/worked-examples.md).

    Returns
    -------
    Example
        Sizes 1-1: weights ``[[[0.3]]]``, biases ``[[0.1]]``, x ``[0.5]``, y ``[1.5]``,
        lr 0.1.

    Examples
    --------
    >>> from fastprop.examples import seed_000_example_1
    >>> seed_000_example_1()
    Example(weights=[[[0.3]]], biases=[[0.1]], x=[0.5], y=[1.5], lr=0.1)
    """
    return Example(weights=[[[0.3]]], biases=[[0.1]], x=[0.5], y=[1.5], lr=0.1)


def seed_000_example_2() -> Example:
    """Step by Step tutorial, example 2: two neurons in a chain (sizes 1-1-1), y = 1.5, α = 0.1.

    Returns
    -------
    Example
        w¹ = 0.3, b¹ = 0.1, w² = 0.2, b² = 0.4, x = 0.5.

    Examples
    --------
    >>> from fastprop.examples import seed_000_example_2
    >>> seed_000_example_2().weights
    [[[0.3]], [[0.2]]]
    """
    return Example(
        weights=[[[0.3]], [[0.2]]],  # w¹ = 0.3, w² = 0.2
        biases=[[0.1], [0.4]],       # b¹ = 0.1, b² = 0.4
        x=[0.5],
        y=[1.5],
        lr=0.1,
    )


def seed_002() -> Example:
    """Forward & Backpropagation tutorial: the 2-2-1 network, target 0.01, α = 0.5.

    Weight names in the tutorial: w1: x1→h1, w2: x2→h1, w3: x1→h2, w4: x2→h2,
    w5: h1→out, w6: h2→out. The tutorial shares one bias b1 = 0.35 between both
    hidden neurons; fastprop gives every neuron its own bias, so both start at
    0.35 (the forward pass is identical; the shared bias's gradient is the sum
    of the two per-neuron bias gradients).

    Returns
    -------
    Example
        Sizes 2-2-1, x ``[0.05, 0.10]``, y ``[0.01]``, lr 0.5.

    Examples
    --------
    >>> from fastprop.examples import network_from_example, seed_002
    >>> example = seed_002()
    >>> net = network_from_example(example)
    >>> print(f"{net.forward(example.x)[0]:.9f}")
    0.751365070
    """
    return Example(
        weights=[
            [[0.15, 0.20],    # h1: w1, w2
             [0.25, 0.30]],   # h2: w3, w4
            [[0.40, 0.45]],   # out: w5, w6
        ],
        biases=[[0.35, 0.35], [0.60]],
        x=[0.05, 0.10],
        y=[0.01],
        lr=0.5,
    )


EXAMPLES = {
    "seed-000-example-1": seed_000_example_1,
    "seed-000-example-2": seed_000_example_2,
    "seed-002": seed_002,
}


def network_from_example(example: Example, dtype: DTypeLike = np.float64) -> Network:
    """A ``fastprop.Network`` holding the example's weights and biases (loss "sse").

    Parameters
    ----------
    example : Example
        A worked example, as the ``seed_*`` functions return.
    dtype : numpy.float64 (default) or numpy.float32
        The network's dtype.

    Returns
    -------
    Network
        Sigmoid layers, loss "sse", the example's weights and biases.

    Examples
    --------
    >>> from fastprop.examples import network_from_example, seed_000_example_2
    >>> network_from_example(seed_000_example_2()).sizes
    (1, 1, 1)
    """
    from .network import Network

    return Network.from_weights(
        [np.array(W, dtype=dtype) for W in example.weights],
        [np.array(b, dtype=dtype) for b in example.biases],
        loss="sse",
    )


def xor_data() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """XOR as the NumPy XOR tutorial trains it, samples as rows: X (4, 2), Y (4, 1).

    Returns
    -------
    X : ndarray of shape (4, 2)
        The four inputs, 0 and 1.
    Y : ndarray of shape (4, 1)
        Their exclusive or.

    Examples
    --------
    >>> from fastprop.examples import xor_data
    >>> X, Y = xor_data()
    >>> X.shape, Y.ravel().tolist()
    ((4, 2), [0.0, 1.0, 1.0, 0.0])
    """
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    return X, Y


@dataclass(frozen=True)
class TrainingSetup:
    """Everything needed to train a network from scratch: ``Network(sizes, seed=seed,
    loss=loss).fit(X, Y, epochs=epochs, lr=lr, batch_size=batch_size)``.

    Parameters
    ----------
    sizes : tuple of int
        The network's layer widths, input first (``Network``'s ``sizes``).
    lr : float
        The learning rate of plain gradient descent (``fit``'s ``lr``).
    epochs : int
        The number of passes over the training set (``fit``'s ``epochs``).
    loss : str
        The network's loss, as for ``Network``: "sse", "mse", "bce" or "cross_entropy".
    batch_size : int or None
        Samples per step (``fit``'s ``batch_size``); None takes the full batch, one step
        per epoch, as the NumPy XOR tutorial does.
    seed : int
        The seed of the network's initial weights (``Network``'s ``seed``); ``fastprop
        demo`` also passes it to ``fit`` as the seed of the shuffling order.
    """

    sizes: tuple[int, ...]
    lr: float
    epochs: int
    loss: str
    batch_size: int | None  # None: the full batch, as in the NumPy XOR tutorial
    seed: int


# XOR as the NumPy XOR tutorial trains it (sum-of-squares loss, full batch,
# plain gradient descent), with the width and learning rate that make it
# converge from fastprop's own initialisation (Glorot uniform weights, zero
# biases) for every init seed tried: with the tutorial's two hidden units,
# gradient descent often settles in a local minimum. The convergence counts
# behind this choice are in docs/worked-examples.md (NumPy XOR);
# tests/test_xor.py checks it.
#: XOR as the NumPy XOR tutorial trains it (sum-of-squares loss, full batch, plain
#: gradient descent), with a 2-4-1 network, learning rate 1.0, 5000 epochs and seed 0:
#: what ``fastprop demo`` trains.
XOR_TRAINING = TrainingSetup(
    sizes=(2, 4, 1),
    lr=1.0,
    epochs=5000,
    loss="sse",
    batch_size=None,
    seed=0,
)
