"""``fastprop train``: a network trained on a CSV file.

It prepares the data (input columns by name, standardisation learned on the training
rows, class labels encoded), trains with settings that suit standardised data (Adam,
mini-batches, relu), and writes the model file with what ``predict`` and ``evaluate``
(``_cli_predict``) need to prepare new rows the same way (format version 2).
"""
from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._cli_data import (
    CommandError,
    Table,
    UsageError,
    check_columns,
    check_distinct,
    check_output_path,
    encode_classes,
    input_columns,
    names_text,
    numeric_columns,
    read_table,
    sizes_text,
    standardizer,
)

# Defaults of `fastprop train` (chosen on standardised real data sets: see the tests).
DEFAULT_HIDDEN = 64
DEFAULT_EPOCHS = 100
DEFAULT_BATCH_SIZE = 32
DEFAULT_LEARNING_RATES = {"adam": 1e-3, "sgd": 1e-2, "momentum": 1e-2, "nesterov": 1e-2}
DEFAULT_MOMENTUM = 0.9


@dataclass(frozen=True)
class TrainingSetup:
    """What `fastprop train` trains: the network's shape and functions, and the targets."""

    sizes: list[int]
    activation: str | list[str]
    output: str
    loss: str
    targets: NDArray[Any]         # (n, n_outputs) float64, or class labels (n,) int64
    classes: tuple[str, ...] | tuple[int, ...] | None


# --------------------------------------------------------------------- train
def _setup(args: argparse.Namespace, table: Table, inputs: Sequence[str]) -> TrainingSetup:
    """The network's functions, loss and sizes for the task, and the targets."""
    n_inputs = len(inputs)
    activation: str | list[str] = (args.activation[0] if len(args.activation) == 1
                                   else list(args.activation))
    classes = None
    if args.task == "classify":
        if len(args.target) != 1:
            raise UsageError(f"--task classify takes one --target column of class labels, "
                             f"got {len(args.target)} ({', '.join(args.target)})")
        classes, labels = encode_classes(table, args.target[0])
        if args.output == "identity":
            raise UsageError("--task classify needs --output softmax or sigmoid (two classes)")
        if args.output == "sigmoid" and len(classes) > 2:
            raise UsageError(f"--output sigmoid classifies two classes; column "
                             f"{args.target[0]!r} holds {len(classes)} (use softmax)")
        if len(classes) == 2 and args.output in (None, "sigmoid") and args.loss != "cross_entropy":
            output, loss, width = "sigmoid", args.loss or "bce", 1
            targets: NDArray[Any] = labels.astype(np.float64).reshape(-1, 1)
        else:
            output, loss, width = "softmax", args.loss or "cross_entropy", len(classes)
            targets = labels
    else:
        if args.output == "softmax":
            raise UsageError("--output softmax is for --task classify")
        output = args.output or "identity"
        loss = args.loss or "mse"
        width = len(args.target)
        targets = numeric_columns(table, args.target)
        if output == "sigmoid":
            low, high = float(targets.min()), float(targets.max())
            if low < 0 or high > 1:
                raise CommandError(
                    f"{table.path}: the --target values run from {low:g} to {high:g}, outside "
                    "[0, 1], which a sigmoid output (--output sigmoid) cannot reach: use "
                    "--output identity, or --task classify for class labels")
    sizes = args.sizes or [n_inputs, DEFAULT_HIDDEN, width]
    if sizes[0] != n_inputs or sizes[-1] != width:
        what = (f"{len(classes)} classes in {args.target[0]!r}, so {width} output"
                f"{'s' if width > 1 else ''}" if classes is not None
                else f"{width} target columns ({names_text(args.target)})")
        raise CommandError(
            f"--sizes {sizes_text(sizes)} does not fit {table.path}: it has {n_inputs} input "
            f"columns ({names_text(inputs)}) and {what}, so sizes must start with {n_inputs} "
            f"and end with {width}")
    return TrainingSetup(list(sizes), activation, output, loss, targets, classes)


def _optimizer(args: argparse.Namespace) -> tuple[Any, str]:
    """The optimizer of --optimizer, --lr, --momentum, --weight-decay, and its description."""
    from .optimizers import SGD, Adam

    name = args.optimizer
    lr = args.lr if args.lr is not None else DEFAULT_LEARNING_RATES[name]
    if args.momentum is not None and name not in ("momentum", "nesterov"):
        raise UsageError(f"--momentum is for --optimizer momentum or nesterov, not {name}")
    decay = args.weight_decay
    if name == "adam":
        return Adam(lr=lr, weight_decay=decay), f"adam, lr {lr:g}"
    momentum = 0.0 if name == "sgd" else (DEFAULT_MOMENTUM if args.momentum is None
                                          else args.momentum)
    if name != "sgd" and momentum == 0:
        raise UsageError(f"--optimizer {name} needs a --momentum > 0")
    described = f"{name}, lr {lr:g}" + (f", momentum {momentum:g}" if name != "sgd" else "")
    return SGD(lr=lr, momentum=momentum, nesterov=name == "nesterov",
               weight_decay=decay), described


def _split(n_rows: int, fraction: float | None, seed: int,
           path: str) -> tuple[NDArray[np.intp], NDArray[np.intp] | None]:
    """(training rows, validation rows or None): a seeded random split."""
    if fraction is None:
        return np.arange(n_rows), None
    n_validation = int(round(fraction * n_rows))
    if not 1 <= n_validation <= n_rows - 1:
        raise CommandError(f"--validation-fraction {fraction:g} of the {n_rows} rows of {path} "
                           f"leaves {n_validation} validation and {n_rows - n_validation} "
                           "training rows; each needs at least one")
    order = np.random.default_rng(seed).permutation(n_rows)
    return np.sort(order[n_validation:]), np.sort(order[:n_validation])


def _accuracy(net: Any, X: NDArray[np.float64], labels: NDArray[Any]) -> float:
    return float(np.mean(_class_indices(net.predict(X)) == labels.reshape(-1)))


def _class_indices(outputs: NDArray[Any]) -> NDArray[np.int64]:
    if outputs.shape[1] == 1:
        return np.asarray(outputs[:, 0] >= 0.5, dtype=np.int64)
    return np.asarray(np.argmax(outputs, axis=1), dtype=np.int64)


def run_train(args: argparse.Namespace) -> int:
    """``fastprop train``: see the command's --help."""
    from .network import Network
    from .persistence import validate_save_path, write_model

    check_distinct(args.target, "--target")
    table = read_table(args.data, args.delimiter)
    check_columns(table, args.target, "to use as --target")
    inputs = input_columns(table, args.target, args.features, args.drop)
    setup = _setup(args, table, inputs)
    X = numeric_columns(table, inputs, role="input")
    optimizer, optimizer_text = _optimizer(args)
    validate_save_path(args.out)
    if args.plot is not None:
        from .plotting import require_matplotlib
        require_matplotlib()
        check_output_path(args.plot, "--plot")
    training, validation = _split(len(table.rows), args.validation_fraction, args.seed,
                                  args.data)
    mean = scale = target_mean = target_scale = None
    targets = setup.targets
    if args.standardize:
        mean, scale = standardizer(X[training])
        X = (X - mean) / scale
        if setup.output == "identity":
            # The targets too, so that an output of the scale of 1 fits them; predict undoes it.
            target_mean, target_scale = standardizer(targets[training])
            targets = (targets - target_mean) / target_scale
    X_train, Y_train = X[training], targets[training]
    try:
        net = Network(setup.sizes, seed=args.seed, loss=setup.loss, activation=setup.activation,
                      output=setup.output)
    except ValueError as error:
        raise UsageError(str(error).replace("loss=", "--loss ").replace("output=", "--output ")
                         ) from error
    if not args.standardize:
        _hint_standardize(X_train, inputs)
    hidden = setup.activation if isinstance(setup.activation, str) else ",".join(setup.activation)
    batch_size = min(args.batch_size, len(training))
    task = (f"classify {len(setup.classes)} classes of {args.target[0]}"
            if setup.classes is not None else f"regress {', '.join(args.target)}")
    held_out = "" if validation is None else f", {len(validation)} held out for validation"
    print(f"Training a {sizes_text(setup.sizes)} network on {len(training)} rows of "
          f"{args.data}{held_out} (task {task}; inputs {names_text(inputs)}; "
          f"{_standardized_text(args.standardize, target_mean is not None)}; hidden {hidden}, "
          f"output {setup.output}, loss {setup.loss}; optimizer {optimizer_text}"
          f"{f', weight decay {args.weight_decay:g}' if args.weight_decay else ''}; "
          f"batch size {batch_size}; {args.epochs} epochs; seed {args.seed})", flush=True)

    validation_losses: list[float] = []
    callback = None
    if validation is not None:
        X_valid, Y_valid = X[validation], targets[validation]
        width = len(str(args.epochs))
        # The training loss of "sse" is a sum over the training rows: the validation rows'
        # sum is scaled to as many rows, so that the two compare (the others are means).
        rows_factor = len(training) / len(validation) if setup.loss == "sse" else 1.0

        def callback(epoch: int, loss: float) -> None:
            validation_losses.append(net.compute_loss(X_valid, Y_valid) * rows_factor)
            print(f"epoch {epoch + 1:{width}d}/{args.epochs}: loss {loss:.6g}, "
                  f"validation loss {validation_losses[-1]:.6g}", flush=True)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = net.fit(X_train, Y_train, epochs=args.epochs, batch_size=batch_size,
                          seed=args.seed, optimizer=optimizer, callback=callback,
                          progress=not args.no_progress and validation is None)
    for warning in caught:
        print(f"fastprop train: warning: {' '.join(str(warning.message).split())}",
              file=sys.stderr)
    print(f"Loss: {history[0]:.6g} after the first epoch, {history[-1]:.6g} after the last.")
    if validation_losses:
        print(f"Validation loss: {validation_losses[0]:.6g} after the first epoch, "
              f"{validation_losses[-1]:.6g} after the last.")
    if setup.classes is not None:
        text = f"Accuracy: {_accuracy(net, X_train, Y_train):.4f} on the training rows"
        if validation is not None:
            text += (f", {_accuracy(net, X[validation], setup.targets[validation]):.4f} on the "
                     "validation rows")
        print(text + ".")
    write_model(args.out, net.sizes, net.dtype, net.loss, net.weights, net.biases,
                input_names=inputs,
                output_names=None if setup.classes is not None else args.target,
                activations=[net.activation] * (len(net.sizes) - 2)
                if isinstance(net.activation, str) else net.activation,
                output=net.output, task=args.task, input_mean=mean, input_scale=scale,
                target_mean=target_mean, target_scale=target_scale,
                class_column=args.target[0] if setup.classes is not None else None,
                classes=setup.classes)
    print(f"Wrote the model to {args.out}")
    if args.plot is not None:
        _plot(history, validation_losses, args.plot)
        print(f"Wrote the loss curve to {args.plot}")
    return 0


# Inputs whose standard deviation or mean is beyond this are far from a scale of about 1.
UNSCALED_INPUT = 10.0


def _hint_standardize(X: NDArray[np.float64], inputs: Sequence[str]) -> None:
    """A note on stderr when the inputs are far from a scale of about 1 (the defaults'
    learning rate and initial weights assume it) and --standardize was not given."""
    spread = np.maximum(X.std(axis=0), np.abs(X.mean(axis=0)))
    worst = int(np.argmax(spread))
    if spread[worst] > UNSCALED_INPUT:
        print(f"fastprop train: note: the inputs are not on a scale of about 1 (column "
              f"{inputs[worst]!r} has mean {X[:, worst].mean():.4g} and standard deviation "
              f"{X[:, worst].std():.4g}); --standardize usually trains much better",
              file=sys.stderr)


def _standardized_text(inputs: bool, targets: bool) -> str:
    if not inputs:
        return "not standardized"
    return "inputs and targets standardized" if targets else "inputs standardized"


def _plot(history: NDArray[np.float64], validation: list[float], path: str) -> Any:
    """The loss curve: fastprop.plot_loss, with the validation loss drawn on its axes (a
    second curve, which plot_loss does not draw)."""
    from .plotting import plot_loss

    figure = plot_loss(history)
    if validation:
        axes = figure.axes[0]
        epochs = np.arange(1, len(validation) + 1)
        axes.lines[0].set_label("training")
        axes.plot(epochs, validation, color="tab:orange", linewidth=1.5, label="validation",
                  marker="o" if len(validation) == 1 else None)
        axes.legend()
        values = np.concatenate([history, validation])
        if axes.get_yscale() == "log" and values.min() <= 0:
            axes.set_yscale("linear")
        axes.set_title(f"Loss: training {history[0]:.4g} → {history[-1]:.4g}, validation "
                       f"{validation[0]:.4g} → {validation[-1]:.4g} in {len(history)} epochs")
    figure.savefig(path)
    return figure


