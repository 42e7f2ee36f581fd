"""The ``fastprop`` command's data preparation: CSV files (their delimiter detected),
column selection, standardisation and class labels.

Every problem with a file or a column raises :class:`CommandError` (or, for a bad
command line, :class:`UsageError`) with a one-line message naming the file, the line
and the column where it can.
"""
from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# The delimiters a file's header row is searched for, and the names --delimiter takes.
DETECTED_DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t"}


class CommandError(Exception):
    """A problem to report in one line, without a traceback (exit status 1)."""


class UsageError(Exception):
    """A bad command line, reported in one line (exit status 2)."""


@dataclass(frozen=True)
class Table:
    """A CSV file's header and rows, every row as long as the header.

    ``lines[i]`` is the line number of ``rows[i]`` in the file (for messages).
    """

    path: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    delimiter: str

    def column(self, name: str) -> list[str]:
        """The stripped texts of one column, row by row."""
        index = self.header.index(name)
        return [row[index].strip() for row in self.rows]


def delimiter_option(text: str) -> str:
    """``--delimiter``'s value: a name (comma, semicolon, tab), ``\\t`` or one character."""
    delimiter = DELIMITER_NAMES.get(text.lower(), text)
    if len(delimiter) != 1 or delimiter in "\"\r\n":
        raise UsageError(f"--delimiter: expected one character, comma, semicolon or tab, "
                         f"got {text!r}")
    return delimiter


def detect_delimiter(first_line: str) -> str:
    """The delimiter of a header line: the most frequent of comma, semicolon and tab (a
    comma where none occurs, a file of one column)."""
    counts = [first_line.count(delimiter) for delimiter in DETECTED_DELIMITERS]
    return DETECTED_DELIMITERS[counts.index(max(counts))] if max(counts) else ","


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_table(path: str, delimiter: str | None = None) -> Table:
    """Read a CSV file whose first row names the columns; blank lines are skipped.

    ``delimiter`` None detects comma, semicolon or tab from the header row.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            first_line = stream.readline()
            stream.seek(0)
            if delimiter is None:
                delimiter = detect_delimiter(first_line)
            reader = csv.reader(stream, delimiter=delimiter)
            header = next(reader, None)
            rows, lines = [], []
            for row in reader:
                if row and any(cell.strip() for cell in row):
                    rows.append(row)
                    lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as error:
        raise CommandError(f"{path}: not a readable CSV file ({error})") from None
    if header is None:
        raise CommandError(f"{path}: the file is empty (expected a header row of column names)")
    header = [name.strip() for name in header]
    if all(_is_number(name) for name in header):
        shown = delimiter.join(header) if len(header) <= 6 else delimiter.join(header[:6]) + "…"
        raise CommandError(f"{path}: the first row ({shown!r}) holds numbers, not column "
                           "names: the first row must name the columns")
    if any(not name for name in header):
        raise CommandError(f"{path}: the header row has an empty column name")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise CommandError(f"{path}: the header names column {duplicates[0]!r} more than once")
    if not rows:
        raise CommandError(f"{path}: there are no data rows under the header")
    for row, line in zip(rows, lines):
        if len(row) != len(header):
            raise CommandError(f"{path} line {line}: {len(row)} values, "
                               f"but the header has {len(header)} columns")
    return Table(path, header, rows, lines, delimiter)


def numeric_columns(table: Table, columns: Sequence[str], role: str = "") -> NDArray[np.float64]:
    """The named columns as a float64 array ``(n_rows, len(columns))``, every value a
    finite number. ``role`` "input": a column holding text is named with a hint to drop
    it."""
    indices = [table.header.index(name) for name in columns]
    values = np.empty((len(table.rows), len(columns)))
    for r, (row, line) in enumerate(zip(table.rows, table.lines)):
        for c, index in enumerate(indices):
            text = row[index].strip()
            try:
                value = float(text)
            except ValueError:
                hint = (f" (leave the column out with --drop {table.header[index]}, or choose "
                        "the inputs with --features)" if role == "input" else "")
                raise CommandError(f"{table.path} line {line}, column {table.header[index]!r}: "
                                   f"{text!r} is not a number{hint}") from None
            if not math.isfinite(value):
                raise CommandError(f"{table.path} line {line}, column {table.header[index]!r}: "
                                   f"{text!r} is not a finite number")
            values[r, c] = value
    return values


def check_columns(table: Table, wanted: Sequence[str], role: str) -> None:
    """CommandError naming the first of wanted that the file lacks, and the file's columns."""
    for name in wanted:
        if name not in table.header:
            raise CommandError(f"{table.path} has no column {name!r} {role} "
                               f"(its columns: {', '.join(table.header)})")


def check_distinct(names: Sequence[str], option: str) -> None:
    """UsageError when option lists a name twice."""
    repeated = sorted({name for name in names if list(names).count(name) > 1})
    if repeated:
        raise UsageError(f"{option} names column {repeated[0]!r} more than once")


def input_columns(table: Table, targets: Sequence[str], features: Sequence[str] | None,
                  drop: Sequence[str] | None) -> list[str]:
    """The input columns: features as given, or every column but the targets and drop."""
    if features is not None:
        check_distinct(features, "--features")
        check_columns(table, features, "to use as --features")
        both = [name for name in features if name in targets]
        if both:
            raise UsageError(f"column {both[0]!r} is in both --target and --features: a "
                             "target cannot also be an input")
        return list(features)
    if drop is not None:
        check_distinct(drop, "--drop")
        check_columns(table, drop, "to --drop")
    left_out = set(targets) | set(drop or ())
    inputs = [name for name in table.header if name not in left_out]
    if not inputs:
        raise CommandError(f"{table.path}: every column is a --target"
                           f"{' or --drop' if drop else ''} column; none is left as input")
    return inputs


def parse_label(text: str) -> int | str:
    """A class label: an int when the text is an integer, else the text."""
    try:
        return int(text)
    except ValueError:
        return text


def encode_classes(table: Table, column: str) -> tuple[tuple[str, ...] | tuple[int, ...],
                                                       NDArray[np.int64]]:
    """``(classes, labels)`` of a column of class labels: the distinct labels sorted (ints
    when every label is an integer, strings otherwise) and each row's index into them."""
    texts = table.column(column)
    for text, line in zip(texts, table.lines):
        if not text:
            raise CommandError(f"{table.path} line {line}, column {column!r}: the class "
                               "label is empty")
    parsed = [parse_label(text) for text in texts]
    classes: tuple[str, ...] | tuple[int, ...]
    if all(isinstance(label, int) for label in parsed):
        classes = tuple(sorted({int(label) for label in parsed}))
        keys: list[int | str] = list(parsed)
    else:
        classes = tuple(sorted(set(texts)))
        keys = list(texts)
    if len(classes) < 2:
        raise CommandError(f"{table.path}: column {column!r} holds one class only "
                           f"({classes[0]!r}): a classifier needs at least two")
    index = {label: position for position, label in enumerate(classes)}
    return classes, np.array([index[key] for key in keys], dtype=np.int64)


def standardizer(X: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(mean, scale)`` of each column of X: its mean and population standard deviation,
    a scale of 1 where a column is constant (as scikit-learn's StandardScaler: a scale
    below 10 machine epsilons of the column's magnitude counts as zero)."""
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    constant = scale <= 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean))
    scale[constant] = 1.0
    return mean, scale


def format_number(value: float) -> str:
    """A number for a CSV cell: its shortest exact text (repr)."""
    return repr(float(value))


def sizes_text(sizes: Sequence[int]) -> str:
    """'30-64-1'."""
    return "-".join(str(size) for size in sizes)


def names_text(names: Sequence[str], shown: int = 8) -> str:
    """'a, b, c', or the first eight and 'and N more'."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


def check_output_path(path: str, option: str) -> None:
    """CommandError unless option's file can be written at path (its directory exists)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CommandError(f"{option} {path}: directory {directory!r} does not exist")
    if os.path.isdir(path):
        raise CommandError(f"{option} {path}: is a directory")
