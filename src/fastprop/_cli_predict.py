"""``fastprop predict`` and ``fastprop evaluate``: a saved model on a CSV file, its rows
prepared as ``fastprop train`` stored (columns by name, standardisation, classes)."""
from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._cli_data import (
    CommandError,
    Table,
    check_columns,
    check_output_path,
    format_number,
    numeric_columns,
    parse_label,
    read_table,
)


def _load(path: str) -> tuple[Any, Any]:
    """(model data, network) of a model file."""
    from .network import Network
    from .persistence import read_model

    model = read_model(path)
    return model, Network._from_model(model, path)


def _model_inputs(model: Any, net: Any, model_path: str, table: Table) -> NDArray[np.float64]:
    """The model's inputs from the table: its columns by name, or, for a model without
    names, the table's columns in order when their number is the network's (said on
    stderr); standardised as the model says."""
    if model.input_names is not None:
        check_columns(table, model.input_names, "that the model takes as input")
        columns = model.input_names
    elif len(table.header) == net.sizes[0]:
        columns = table.header
        print(f"fastprop: note: {model_path} has no column names (saved from Python); "
              f"taking the {len(columns)} columns of {table.path} in order as its inputs",
              file=sys.stderr)
    else:
        raise CommandError(f"{model_path} has {net.sizes[0]} inputs and no column names, "
                           f"but {table.path} has {len(table.header)} columns")
    X = numeric_columns(table, columns)
    if model.input_mean is not None:
        X = (X - model.input_mean) / model.input_scale
    return X


def _probabilities(outputs: NDArray[Any]) -> NDArray[np.float64]:
    """One probability column per class: a single sigmoid output p is (1 - p, p)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.shape[1] == 1:
        return np.column_stack([1.0 - outputs[:, 0], outputs[:, 0]])
    return outputs


def _unscaled(model: Any, outputs: NDArray[Any]) -> NDArray[np.float64]:
    """A regression's outputs on the targets' scale (undoing train's standardisation)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if model.target_mean is None:
        return outputs
    return np.asarray(outputs * model.target_scale + model.target_mean, dtype=np.float64)


def run_predict(args: argparse.Namespace) -> int:
    """``fastprop predict``: see the command's --help."""
    model, net = _load(args.model)
    table = read_table(args.data, args.delimiter)
    if args.out is not None:
        check_output_path(args.out, "--out")
    X = _model_inputs(model, net, args.model, table)
    outputs = net.predict(X)
    if model.classes is not None:
        probabilities = _probabilities(outputs)
        names = [f"predicted_{model.class_column}"] + [f"probability_{label}"
                                                       for label in model.classes]
        chosen = np.argmax(probabilities, axis=1)
        cells = [[str(model.classes[index])] + [format_number(p) for p in row]
                 for index, row in zip(chosen, probabilities)]
    else:
        if model.output_names is None:
            names = ["prediction"] if net.sizes[-1] == 1 else [
                f"prediction_{j + 1}" for j in range(net.sizes[-1])]
        else:
            names = [f"predicted_{name}" for name in model.output_names]
        cells = [[format_number(value) for value in row] for row in _unscaled(model, outputs)]
    existing = [name for name in names if name in table.header]
    if existing:
        raise CommandError(f"{table.path} already has a column {existing[0]!r}, which predict "
                           "would add (is it the output of an earlier predict?); remove or "
                           "rename it")
    table_out = [table.header + names] + [row + added for row, added in zip(table.rows, cells)]
    if args.out is None:
        csv.writer(sys.stdout, delimiter=table.delimiter, lineterminator="\n").writerows(table_out)
    else:
        with open(args.out, "w", newline="", encoding="utf-8") as stream:
            csv.writer(stream, delimiter=table.delimiter, lineterminator="\n").writerows(table_out)
        print(f"Wrote predictions for {len(table.rows)} rows to {args.out}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """``fastprop evaluate``: see the command's --help."""
    model, net = _load(args.model)
    targets = ([model.class_column] if model.classes is not None else model.output_names)
    if targets is None:
        raise CommandError(f"{args.model} has no target column names (a model saved from "
                           "Python): evaluate needs a model written by fastprop train")
    table = read_table(args.data, args.delimiter)
    check_columns(table, targets, "holding the model's target")
    X = _model_inputs(model, net, args.model, table)
    outputs = net.predict(X)
    n = len(table.rows)
    if model.classes is not None:
        predicted = [model.classes[index] for index in np.argmax(_probabilities(outputs), axis=1)]
        truth = [parse_label(text) if isinstance(model.classes[0], int) else text
                 for text in table.column(targets[0])]
        correct = sum(p == t for p, t in zip(predicted, truth))
        unknown = sorted({str(label) for label in truth} - {str(c) for c in model.classes})
        print(f"accuracy {correct / n:.4f} ({correct} of {n} rows of {args.data}, "
              f"target {targets[0]})")
        if unknown:
            print(f"({', '.join(unknown[:5])}: labels the model does not know, counted as "
                  "wrong)")
        return 0
    Y = numeric_columns(table, targets)
    outputs = _unscaled(model, outputs)
    for j, name in enumerate(targets):
        errors = Y[:, j] - outputs[:, j]
        rmse = float(np.sqrt(np.mean(errors ** 2)))
        total = float(np.sum((Y[:, j] - Y[:, j].mean()) ** 2))
        residual = float(np.sum(errors ** 2))
        # scikit-learn's r2_score for a constant target: 1 when predicted exactly, else 0.
        r2 = 1.0 - residual / total if total > 0 else (1.0 if residual == 0 else 0.0)
        print(f"RMSE {rmse:.6g}, R^2 {r2:.4f} ({n} rows of {args.data}, target {name})")
    return 0
