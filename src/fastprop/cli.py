"""The ``fastprop`` command (also ``python -m fastprop``): demo, explain, train, predict,
evaluate.

Every problem with the user's files, numbers or options ends the command with
one line on stderr and a non-zero exit status: 2 for a bad command line, 1 for
anything else (a file that cannot be read, a bad CSV, a bad model file).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

import numpy as np

from ._cli_data import CommandError, UsageError, check_output_path, delimiter_option
from ._cli_predict import run_evaluate, run_predict
from ._cli_train import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_HIDDEN,
    DEFAULT_LEARNING_RATES,
    DEFAULT_MOMENTUM,
    run_train,
)
from ._version import __version__

if TYPE_CHECKING:
    from .explain import Trace

EXIT_FAILURE = 1
EXIT_USAGE = 2


# One-line problems: CommandError exits with status 1, _UsageError with 2.
_UsageError = UsageError


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line gives one line on stderr instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


# ----------------------------------------------------------- argument types
def _numbers(text: str) -> list[float]:
    """'0.15,0.2,…' -> [0.15, 0.2, …], every one finite."""
    values = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{item.strip()!r} is not a finite number")
        values.append(value)
    return values


def _sizes(text: str) -> list[int]:
    """'2,2,1' -> [2, 2, 1]: at least two layer widths, each a positive integer."""
    sizes = []
    for item in text.split(","):
        try:
            size = int(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item.strip()!r} is not a whole number") from None
        if size < 1:
            raise argparse.ArgumentTypeError(f"layer sizes must be >= 1, got {size}")
        sizes.append(size)
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError("give at least an input and an output size, such as 2,4,1")
    return sizes


def _positive_number(text: str) -> float:
    (value,) = _one_number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _one_number(text: str) -> list[float]:
    values = _numbers(text)
    if len(values) != 1:
        raise argparse.ArgumentTypeError(f"expected one number, got {text!r}")
    return values


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value
    return parse


def _fraction(text: str) -> float:
    (value,) = _one_number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text}")
    return value


def _non_negative_number(text: str) -> float:
    (value,) = _one_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _delimiter(text: str) -> str:
    try:
        return delimiter_option(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--delimiter: ")) from None


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if any(not name for name in names):
        raise argparse.ArgumentTypeError(f"{text!r} holds an empty column name")
    return names


# ------------------------------------------------------------------ commands
def run_demo(args: argparse.Namespace) -> int:
    from .examples import XOR_TRAINING, network_from_example, seed_002, xor_data
    from .explain import explain, format_table
    from .network import Network

    setup = XOR_TRAINING
    X, Y = xor_data()
    batch = "full batch" if setup.batch_size is None else f"batch size {setup.batch_size}"
    print(f"Training a {_sizes_text(setup.sizes)} sigmoid network on XOR "
          f"({setup.epochs} epochs, learning rate {setup.lr:g}, {batch}, loss {setup.loss}, "
          f"seed {setup.seed})")
    net = Network(list(setup.sizes), seed=setup.seed, loss=setup.loss)
    history = net.fit(X, Y, epochs=setup.epochs, lr=setup.lr, batch_size=setup.batch_size,
                      seed=setup.seed, progress=True)
    print(f"Loss: {history[0]:.4g} after the first epoch, {history[-1]:.4g} after the last.")
    predictions = net.predict(X)
    print()
    print(format_table(["x1", "x2", "target", "prediction"],
                       [[f"{a:g}", f"{b:g}", f"{t:g}", f"{p:.4f}"]
                        for (a, b), (t,), (p,) in zip(X, Y, predictions)]))
    print()
    print("The Forward & Backpropagation tutorial's network (2-2-1, x = (0.05, 0.10), "
          "target 0.01, lr 0.5), one training step explained:")
    print()
    example = seed_002()
    print(explain(network_from_example(example), example.x, example.y, example.lr), end="")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    from .explain import explain
    from .network import Network

    sizes = args.sizes
    shapes = list(zip(sizes[1:], sizes[:-1]))
    expected = [n_out * n_in for n_out, n_in in shapes]
    if len(args.weights) != sum(expected):
        raise _UsageError(f"--weights: a {_sizes_text(sizes)} network has {sum(expected)} weights "
                          f"({' + '.join(map(str, expected))}), got {len(args.weights)}")
    if len(args.biases) != sum(sizes[1:]):
        raise _UsageError(f"--biases: a {_sizes_text(sizes)} network has {sum(sizes[1:])} biases "
                          f"({' + '.join(map(str, sizes[1:]))}), got {len(args.biases)}")
    for option, values, width, what in (("--x", args.x, sizes[0], "inputs"),
                                        ("--y", args.y, sizes[-1], "outputs")):
        if option == "--y" and args.output == "softmax" and len(values) == 1:
            continue             # a class label
        if len(values) != width:
            raise _UsageError(f"{option}: the network has {width} {what}, got {len(values)} numbers"
                              + (" (or one class label)" if option == "--y"
                                 and args.output == "softmax" else ""))
    weights, biases, w_start, b_start = [], [], 0, 0
    for (n_out, n_in), count in zip(shapes, expected):
        weights.append(np.array(args.weights[w_start:w_start + count]).reshape(n_out, n_in))
        biases.append(np.array(args.biases[b_start:b_start + n_out]))
        w_start, b_start = w_start + count, b_start + n_out
    activation = args.activation[0] if len(args.activation) == 1 else args.activation
    try:
        net = Network.from_weights(weights, biases, loss=args.loss, activation=activation,
                                   output=args.output)
    except ValueError as error:
        raise _UsageError(str(error).replace("activation", "--activation", 1)
                          if "activation" in str(error) else str(error)) from error
    trace = explain(net, args.x, args.y, args.lr)
    if args.svg is not None or args.png is not None:
        _write_pictures(trace, args.svg, args.png)
    print(trace.to_markdown() if args.markdown else str(trace), end="")
    return 0


def _write_pictures(trace: Trace, svg_path: str | None, png_path: str | None) -> None:
    """--svg and --png: every check (the paths, the network's size, matplotlib) before
    anything is written."""
    from . import _explain_svg

    for path, option in ((svg_path, "--svg"), (png_path, "--png")):
        if path is not None:
            check_output_path(path, option)
    if png_path is not None:
        from .plotting import require_matplotlib
        require_matplotlib()
    try:
        layout = _explain_svg.layout(trace)
    except ValueError as error:
        option = "--svg" if svg_path is not None else "--png"
        raise _UsageError(f"{option}: {error}") from None
    if svg_path is not None:
        _explain_svg.save_svg(layout, svg_path)
    if png_path is not None:
        _explain_svg.save_png(layout, png_path)


def _sizes_text(sizes: Sequence[int]) -> str:
    return "-".join(str(size) for size in sizes)


# -------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fastprop",
        description="Backpropagation for dense sigmoid networks, in compiled Cython.",
        epilog="Run 'fastprop COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"fastprop {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)

    demo = commands.add_parser(
        "demo", help="train XOR, then explain one step of the Forward & Backpropagation "
                     "tutorial's 2-2-1 network",
        description="Train a small network on XOR with a progress bar, show its predictions, "
                    "then print every number of one training step of the 2-2-1 network "
                    "worked by hand in the tutorial \"Forward & Backpropagation\".")
    demo.set_defaults(run=run_demo)

    explain = commands.add_parser(
        "explain", help="print every number of one training step on one sample",
        description="Print every number of one gradient-descent step of a network on one "
                    "sample: z and a of each neuron, the loss, the deltas, the chain-rule "
                    "factors and gradient of every weight and bias, and the updated values.",
        epilog="Example (the Forward & Backpropagation tutorial's network): "
               "fastprop explain --sizes 2,2,1 "
               "--weights 0.15,0.20,0.25,0.30,0.40,0.45 --biases 0.35,0.35,0.60 "
               "--x 0.05,0.10 --y 0.01 --lr 0.5. When a list starts with a minus sign, "
               "write it with '=': --weights=-0.5,0.3")
    explain.add_argument("--sizes", type=_sizes, required=True,
                         help="layer sizes, input first, such as 2,2,1")
    explain.add_argument("--weights", type=_numbers, required=True,
                         help="all weights, layer by layer, each (n_out, n_in) matrix row by row")
    explain.add_argument("--biases", type=_numbers, required=True,
                         help="all biases, layer by layer (one per neuron)")
    explain.add_argument("--x", type=_numbers, required=True, help="the input sample")
    explain.add_argument("--y", type=_numbers, required=True, help="its target")
    explain.add_argument("--lr", type=_positive_number, required=True, help="the learning rate")
    explain.add_argument("--loss", choices=("sse", "mse", "bce", "cross_entropy"), default="sse",
                         help="loss function (default sse; for one sample mse is the same; bce "
                              "takes --output sigmoid, cross_entropy --output softmax)")
    explain.add_argument("--activation", type=_names, default=["sigmoid"],
                         help="the hidden layers' function: sigmoid (default), tanh, relu or "
                              "identity, or one per hidden layer, such as relu,tanh")
    explain.add_argument("--output", choices=("sigmoid", "identity", "softmax"),
                         default="sigmoid", help="the output layer's function (default sigmoid)")
    explain.add_argument("--markdown", action="store_true", help="print Markdown, not plain text")
    explain.add_argument("--svg", metavar="OUT.svg", default=None,
                         help="also draw the network with every number of the step there, as "
                              "SVG (at most 6 neurons per layer and 4 weight layers)")
    explain.add_argument("--png", metavar="OUT.png", default=None,
                         help="the same picture as a PNG (needs matplotlib)")
    explain.set_defaults(run=run_explain)

    train = commands.add_parser(
        "train", help="train a network on a CSV file and save the model",
        description="Train a network on a CSV file whose first row names the columns "
                    "(comma, semicolon or tab separated). --target names what the network "
                    "learns to predict; the inputs are every other column, or --features, or "
                    "all but --drop. --task regress (default) learns numbers through an "
                    "identity output with the mean squared error; --task classify learns one "
                    "column of class labels (strings or integers) through a softmax with "
                    "cross-entropy (a sigmoid with binary cross-entropy for two classes). "
                    "The defaults (a hidden layer of "
                    f"{DEFAULT_HIDDEN} relu units, Adam with lr {DEFAULT_LEARNING_RATES['adam']:g}, "
                    f"batches of {DEFAULT_BATCH_SIZE}, {DEFAULT_EPOCHS} epochs) suit "
                    "standardized inputs: add --standardize unless the inputs are already "
                    "on a scale of about 1. The first line of output gives the settings used.")
    train.add_argument("data", help="CSV file whose first row names the columns")
    train.add_argument("--target", type=_names, required=True, metavar="COLUMNS",
                       help="the target column(s), comma-separated (one for --task classify)")
    columns = train.add_mutually_exclusive_group()
    columns.add_argument("--features", type=_names, metavar="COLUMNS", default=None,
                         help="the input columns, comma-separated (default: every column "
                              "that is not a target)")
    columns.add_argument("--drop", type=_names, metavar="COLUMNS", default=None,
                         help="columns that are not inputs, such as an id column")
    train.add_argument("--task", choices=("regress", "classify"), default="regress",
                       help="regress (default): predict numbers; classify: predict the class "
                            "label of one column")
    train.add_argument("--standardize", action="store_true",
                       help="scale each input to mean 0 and standard deviation 1 (learned on "
                            "the training rows, stored in the model, applied by predict; with "
                            "an identity output the targets too, which predict undoes)")
    train.add_argument("--validation-fraction", type=_fraction, default=None, metavar="F",
                       help="hold out this fraction of the rows (drawn with --seed) and print "
                            "their loss after each epoch next to the training loss, a line per "
                            "epoch instead of the progress bar (with --loss sse, scaled to as "
                            "many rows as the training set's)")
    train.add_argument("--sizes", type=_sizes, default=None,
                       help="layer sizes, input first, such as 30,64,1: the first is the number "
                            "of inputs, the last the number of targets (classify: of classes, "
                            f"or 1 for two). Default: one hidden layer of {DEFAULT_HIDDEN}")
    train.add_argument("--activation", type=_names, default=["relu"],
                       help="the hidden layers' function: relu (default), sigmoid, tanh or "
                            "identity, or one per hidden layer, such as relu,tanh")
    train.add_argument("--output", choices=("identity", "sigmoid", "softmax"), default=None,
                       help="the output layer's function (default: identity to regress, "
                            "sigmoid for two classes, softmax for more)")
    train.add_argument("--loss", choices=("mse", "sse", "bce", "cross_entropy"), default=None,
                       help="default: mse to regress, bce with a sigmoid output, "
                            "cross_entropy with softmax")
    train.add_argument("--optimizer", choices=tuple(DEFAULT_LEARNING_RATES), default="adam",
                       help="default adam")
    train.add_argument("--lr", type=_positive_number, default=None,
                       help="learning rate (default: " + ", ".join(
                           f"{value:g} for {name}" for name, value
                           in DEFAULT_LEARNING_RATES.items()) + ")")
    train.add_argument("--momentum", type=_positive_number, default=None,
                       help=f"for --optimizer momentum or nesterov (default {DEFAULT_MOMENTUM:g})")
    train.add_argument("--weight-decay", type=_non_negative_number, default=0.0,
                       help="L2 weight decay (decoupled for adam), default 0")
    train.add_argument("--epochs", type=_count(1), default=DEFAULT_EPOCHS,
                       help=f"default {DEFAULT_EPOCHS}")
    train.add_argument("--batch-size", type=_count(1), default=DEFAULT_BATCH_SIZE,
                       help=f"samples per gradient step, default {DEFAULT_BATCH_SIZE}")
    train.add_argument("--seed", type=_count(0), default=0,
                       help="seed for the initial weights, the shuffling and the validation "
                            "split, default 0")
    train.add_argument("--delimiter", type=_delimiter, default=None,
                       help="the CSV delimiter: comma, semicolon, tab or one character "
                            "(default: detected from the first row)")
    train.add_argument("--out", required=True, metavar="MODEL.npz",
                       help="where to write the trained model")
    train.add_argument("--plot", metavar="LOSS.png", default=None,
                       help="also draw the loss curve there (needs matplotlib)")
    train.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    train.set_defaults(run=run_train)

    predict = commands.add_parser(
        "predict", help="predict with a saved model",
        description="Predict with a model written by 'fastprop train' (or Network.save). "
                    "Prints the CSV rows with the predictions added as new columns: "
                    "predicted_<target> (for a classifier the class label, then "
                    "probability_<class> for each class). The model's input columns are "
                    "found by name and standardized as in training.")
    predict.add_argument("model", help="model file (.npz)")
    predict.add_argument("data", help="CSV file whose first row names the columns, holding "
                                      "the model's input columns")
    predict.add_argument("--out", metavar="PREDICTIONS.csv", default=None,
                         help="write the CSV there instead of printing it")
    predict.add_argument("--delimiter", type=_delimiter, default=None,
                         help="the CSV delimiter (default: detected from the first row)")
    predict.set_defaults(run=run_predict)

    evaluate = commands.add_parser(
        "evaluate", help="score a saved model on a CSV file holding the targets",
        description="Score a model written by 'fastprop train' on a CSV file holding its "
                    "input and target columns: the accuracy of a classifier, the RMSE and "
                    "R^2 of each target of a regression.")
    evaluate.add_argument("model", help="model file (.npz) written by fastprop train")
    evaluate.add_argument("data", help="CSV file with the model's input and target columns")
    evaluate.add_argument("--delimiter", type=_delimiter, default=None,
                          help="the CSV delimiter (default: detected from the first row)")
    evaluate.set_defaults(run=run_evaluate)
    return parser


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return " ".join(str(error).split())


def _printable_output() -> None:
    """Replace, rather than fail on, characters (∂, ŷ, σ) a legacy console cannot encode."""
    for stream in (sys.stdout, sys.stderr):
        try:
            "∂ŷσ−→½·Σ█".encode(stream.encoding or "ascii")
        except (UnicodeEncodeError, LookupError):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fastprop`` command (the console script and ``python -m fastprop``).

    Parameters
    ----------
    argv : sequence of str or None
        The command line without the program's name, such as ``["train", "data.csv",
        "--target", "y", "--out", "model.npz"]``; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for a bad command line, 1 for any other
        problem (a file that cannot be read, a bad CSV, a bad model file), each
        reported in one line on stderr; 130 when interrupted.

    Examples
    --------
    >>> from fastprop.cli import main
    >>> main(["--version"])  # doctest: +ELLIPSIS
    fastprop ...
    0
    """
    _printable_output()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    prefix = f"fastprop {args.command}: error:"
    try:
        status: int = args.run(args)
        return status
    except _UsageError as error:
        print(f"{prefix} {error} (see 'fastprop {args.command} --help')", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader of stdout left early: nothing more to say
        _silence_stdout()
        return EXIT_FAILURE
    except (CommandError, ValueError, OSError, ImportError) as error:
        print(f"{prefix} {_one_line(error)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"fastprop {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. 'fastprop predict … | head': the reader left early
            _silence_stdout()


def _silence_stdout() -> None:
    """Send what is left of stdout to devnull, so that Python's exit does not fail on it."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
