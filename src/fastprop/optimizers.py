"""``fastprop.SGD`` and ``fastprop.Adam``: the optimizers ``Network.fit`` and ``step`` take.

An optimizer holds its settings and its state (momentum buffers, Adam's moments, the
number of steps taken), which continues across ``fit`` and ``step`` calls: training a
network in several calls with one optimizer is training it in one. The update itself
runs in the compiled loop, after each layer's gradient (``_optimizers.h`` gives the
formulas, those of ``torch.optim.SGD`` and ``torch.optim.AdamW``).

The state is made for the first network the optimizer is used with, and fits networks
of those very widths and dtype only (another: ``ValueError``); use one optimizer per
network. ``lr`` may be changed between calls, or between epochs from a ``fit`` callback,
which is how to schedule the learning rate::

    opt = fastprop.Adam(lr=1e-3)
    def decay(epoch, loss):
        opt.lr = 1e-3 * 0.95 ** (epoch + 1)
    net.fit(X, labels, epochs=50, batch_size=32, optimizer=opt, callback=decay)
"""
from __future__ import annotations

import contextlib
import math
import numbers
import threading
from collections.abc import Iterator, Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = ["SGD", "Adam"]


def _real(value: object, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number!r}")
    return number


def _learning_rate(lr: object) -> float:
    rate = _real(lr, "lr")
    if rate <= 0:
        raise ValueError(f"lr must be > 0, got {rate!r}")
    return rate


def _non_negative(value: object, name: str) -> float:
    number = _real(value, name)
    if number < 0:
        raise ValueError(f"{name} must be >= 0, got {number!r}")
    return number


# The elements of a block of a layer's weight gradient in the fused pass of an optimizer's
# update (_steps_template.c, optimize_layer): rows of it are computed into one buffer and
# applied while in cache, block after block, so that the memory a fit needs beyond plain
# SGD's is the optimizer's state and this block. 131072 floats are 512 KiB, doubles 1 MiB:
# about an L2 cache. Smaller blocks cost time in their products' and updates' setting out
# (784-256-10 Adam, float32, batch 128, on an AMD EPYC Zen 4 with 1 MiB of L2: 32768
# elements 4-5% slower than the whole gradient at once, 131072 within the noise, 1-2%).
GRADIENT_BLOCK_ELEMENTS = 131072


def gradient_buffers(sizes: Sequence[int], dtype: DTypeLike) -> list[NDArray[np.floating[Any]]]:
    """The fused update's workspace (Trainer.set_optimizer): a block of rows of a weight
    gradient (one row at least, the layer's whole gradient at most) and a bias gradient."""
    largest = max(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    capacity = min(largest, max(GRADIENT_BLOCK_ELEMENTS, max(sizes[:-1])))
    return [np.empty(capacity, dtype), np.empty(max(sizes[1:]), dtype)]


class _State:
    """An optimizer's state for a network of these sizes and dtype: per layer the weights'
    then the biases' arrays of each moment kept (first: momentum buffers or Adam's m;
    second: Adam's v), and the steps taken (a 1-element int64 array, the compiled loop's
    counter)."""

    def __init__(self, sizes: Sequence[int], dtype: DTypeLike, moments: int) -> None:
        self.sizes = tuple(sizes)
        self.dtype = cast("np.dtype[np.floating[Any]]", np.dtype(dtype))  # a network's dtype
        shapes: list[tuple[int, ...]] = (
            [(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
            + [(n_out,) for n_out in sizes[1:]])
        self.first = [np.zeros(shape, self.dtype) for shape in shapes] if moments >= 1 else None
        self.second = [np.zeros(shape, self.dtype) for shape in shapes] if moments >= 2 else None
        self.steps = np.zeros(1, dtype=np.int64)

    def arrays(self) -> list[NDArray[Any]]:
        """Every array of the state, for a copy to restore."""
        return [self.steps] + (self.first or []) + (self.second or [])


class _Optimizer:
    """What SGD and Adam share: lr, the state, and what fit needs of them."""

    _moments = 0

    def __init__(self, lr: float) -> None:
        self.lr = lr
        self._state: _State | None = None
        self._mutex = threading.Lock()
        self._user: str | None = None      # the call updating the state now, if any
        # scikit-learn's alpha (fastprop.sklearn): alpha / rows * W added to the weights'
        # gradients of every step, before the update (not part of the public API).
        self._sample_l2 = 0.0

    def __getstate__(self) -> dict[str, Any]:
        """Pickled and copied with its settings and state (bit for bit), not with its lock
        or the call using it."""
        state = self.__dict__.copy()
        del state["_mutex"], state["_user"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._mutex = threading.Lock()
        self._user = None

    @contextlib.contextmanager
    def _in_use(self, call: str) -> Iterator[None]:
        """Hold the state for call (a fit or step of some network), or raise RuntimeError:
        two trainings updating one state at once would interleave their moments."""
        with self._mutex:
            if self._user is not None:
                raise RuntimeError(f"cannot {call} with this {type(self).__name__}: a "
                                   f"{self._user} is updating its state (in another thread, "
                                   "or from a callback); use one optimizer per network")
            self._user = call
        try:
            yield
        finally:
            with self._mutex:
                self._user = None

    @property
    def lr(self) -> float:
        """The learning rate of the next step (may be changed between steps or epochs)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _learning_rate(value)

    @property
    def steps(self) -> int:
        """The number of steps taken with this optimizer."""
        return 0 if self._state is None else int(self._state.steps[0])

    def _is_plain(self) -> bool:
        """Plain gradient descent, which fit fuses into the gradient product (no state)."""
        return False

    def _settings(self) -> dict[str, Any]:
        raise NotImplementedError

    def _state_for(self, sizes: Sequence[int], dtype: DTypeLike) -> _State:
        """The state for a network of these sizes and dtype: made on first use, then
        refused for any other widths or dtype (ValueError)."""
        with self._mutex:
            if self._state is None:
                self._state = _State(sizes, dtype, self._moments)
        if self._state.sizes != tuple(sizes) or self._state.dtype != np.dtype(dtype):
            raise ValueError(
                f"this {type(self).__name__} holds the state of a network of sizes "
                f"{list(self._state.sizes)} ({self._state.dtype.name}), not of "
                f"{list(sizes)} ({np.dtype(dtype).name}): use one optimizer per network")
        return self._state


class SGD(_Optimizer):
    """Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay.

    As ``torch.optim.SGD`` (dampening 0)::

        g := dL/dθ + weight_decay · θ
        b := g on the first step, momentum · b + g after      (momentum > 0)
        g := g + momentum · b (nesterov), or b                 (momentum > 0)
        θ := θ − lr · g

    ``SGD(lr)`` is the plain gradient descent of ``fit(..., lr=lr)``, with the same bits.

    Parameters
    ----------
    lr : float
        The learning rate α, > 0; may be changed between calls or epochs (``opt.lr = ...``).
    momentum : float, default 0
        μ, >= 0 (0: no momentum buffers).
    nesterov : bool, default False
        Nesterov momentum (needs ``momentum > 0``).
    weight_decay : float, default 0
        λ, the L2 penalty's factor, >= 0.

    Raises
    ------
    TypeError
        If a number is not a real number, or ``nesterov`` not a bool.
    ValueError
        If ``lr <= 0``, a factor is negative or not finite, or ``nesterov`` without
        momentum.

    Examples
    --------
    >>> import numpy as np
    >>> import fastprop
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    >>> net = fastprop.Network([2, 4, 1], seed=0, loss="mse")
    >>> opt = fastprop.SGD(lr=2.0, momentum=0.9)
    >>> losses = net.fit(X, Y, epochs=1000, optimizer=opt)
    >>> opt.steps
    1000
    >>> print(net.forward(X).round().ravel())
    [0. 1. 1. 0.]
    """

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        self._momentum = _non_negative(momentum, "momentum")
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        if nesterov and self._momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0")
        self._nesterov = bool(nesterov)
        self._weight_decay = _non_negative(weight_decay, "weight_decay")
        self._moments = 1 if self._momentum else 0

    # Fixed once made (the state depends on them); only lr may change.
    @property
    def momentum(self) -> float:
        """The momentum factor (0: none)."""
        return self._momentum

    @property
    def nesterov(self) -> bool:
        """Whether the momentum is Nesterov's."""
        return self._nesterov

    @property
    def weight_decay(self) -> float:
        """The L2 weight decay factor."""
        return self._weight_decay

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr!r}, momentum={self.momentum!r}, nesterov={self.nesterov!r}, "
                f"weight_decay={self.weight_decay!r})")

    def _is_plain(self) -> bool:
        return self.momentum == 0 and self.weight_decay == 0 and self._sample_l2 == 0

    def _settings(self) -> dict[str, Any]:
        return {"kind": "sgd", "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay, "sample_l2": self._sample_l2}


class Adam(_Optimizer):
    """Adam with decoupled weight decay and bias correction, as ``torch.optim.AdamW``.

    With ``weight_decay=0`` it is ``torch.optim.Adam``; t counts the steps from 1::

        θ := θ · (1 − lr · weight_decay)
        m := β₁ m + (1 − β₁) g,   v := β₂ v + (1 − β₂) g²
        θ := θ − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps)

    Parameters
    ----------
    lr : float, default 1e-3
        The learning rate α, > 0; may be changed between calls or epochs.
    betas : (float, float), default (0.9, 0.999)
        β₁ and β₂, each in [0, 1).
    eps : float, default 1e-8
        The term added to the denominator, >= 0.
    weight_decay : float, default 0
        λ, the decoupled weight decay, >= 0.

    Raises
    ------
    TypeError
        If ``betas`` is not a pair, or a number is not a real number.
    ValueError
        If ``lr <= 0``, a beta is outside [0, 1), or ``eps`` or ``weight_decay`` is
        negative or not finite.

    Examples
    --------
    >>> import numpy as np
    >>> import fastprop
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> labels = np.array([0, 1, 1, 0])
    >>> net = fastprop.Network([2, 8, 2], seed=0, output="softmax", loss="cross_entropy")
    >>> opt = fastprop.Adam(lr=0.05)
    >>> losses = net.fit(X, labels, epochs=300, optimizer=opt)
    >>> opt
    Adam(lr=0.05, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0)
    >>> net.forward(X).argmax(axis=1).tolist()
    [0, 1, 1, 0]
    """

    _moments = 2

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        beta1, beta2 = (_real(beta, f"betas[{index}]") for index, beta in enumerate(betas))
        for index, beta in enumerate((beta1, beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"betas[{index}] must be in [0, 1), got {beta!r}")
        self._betas = (beta1, beta2)
        self._eps = _non_negative(eps, "eps")
        self._weight_decay = _non_negative(weight_decay, "weight_decay")

    # Fixed once made; only lr may change.
    @property
    def betas(self) -> tuple[float, float]:
        """(beta1, beta2): the decay rates of the first and second moments."""
        return self._betas

    @property
    def eps(self) -> float:
        """The term added to the denominator."""
        return self._eps

    @property
    def weight_decay(self) -> float:
        """The decoupled weight decay factor."""
        return self._weight_decay

    def __repr__(self) -> str:
        return (f"Adam(lr={self.lr!r}, betas={self.betas!r}, eps={self.eps!r}, "
                f"weight_decay={self.weight_decay!r})")

    def _settings(self) -> dict[str, Any]:
        return {"kind": "adam", "beta1": self.betas[0], "beta2": self.betas[1], "eps": self.eps,
                "weight_decay": self.weight_decay, "sample_l2": self._sample_l2}
