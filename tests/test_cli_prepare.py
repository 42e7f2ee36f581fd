"""Issue 13's command line: data preparation, tasks, optimizers, predict/evaluate and the
refusals, each run as a subprocess (``python -m fastprop``)."""
import csv
import io
import sys
from pathlib import Path

import numpy as np
import pytest

import fastprop
from fastprop.persistence import read_model

from test_cli import assert_one_line_error, run

DATA = Path(__file__).resolve().parent / "data"

# Two inputs, an id, a text column, a constant column, a regression target y (0..5), a
# label column of strings (3 classes) and one of integers (2 classes).
MIXED_HEADER = ["id", "a", "b", "note", "constant", "y", "kind", "flag"]


def mixed_rows(n=40, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a, b = rng.normal(10, 3), rng.normal(-2, 0.5)
        kind = ["cat", "dog", "eel"][i % 3]
        rows.append([f"r{i}", repr(a), repr(b), f"text {i}", "7.5", repr(abs(a + b) % 5),
                     kind, str(i % 2 * 7 - 1)])
    return rows


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream, delimiter=delimiter, lineterminator="\n").writerows([header] + rows)
    return path


@pytest.fixture
def mixed(tmp_path):
    return write_csv(tmp_path / "mixed.csv", MIXED_HEADER, mixed_rows())


def read_csv_text(text, delimiter=","):
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def columns(rows, *names):
    header = rows[0]
    return [[row[header.index(name)] for name in names] for row in rows[1:]]


# ---------------------------------------------------------------- --version
def test_version(tmp_path):
    result = run("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == f"fastprop {fastprop.__version__}\n"


# -------------------------------------------------------- real data, the contract
def test_breast_cancer_csv_with_an_id_and_string_labels_reaches_95_percent(tmp_path):
    pytest.importorskip("sklearn")
    sys.path.insert(0, str(DATA))
    try:
        from make_breast_cancer_csv import write_breast_cancer_csvs
    finally:
        sys.path.remove(str(DATA))
    train_csv, test_csv = write_breast_cancer_csvs(tmp_path)
    result = run("train", train_csv.name, "--target", "diagnosis", "--task", "classify",
                 "--drop", "id", "--standardize", "--out", "bc.npz", "--no-progress",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    first = result.stdout.splitlines()[0]
    assert first.startswith("Training a 30-64-1 network on 455 rows of breast_cancer_train.csv "
                            "(task classify 2 classes of diagnosis; inputs mean radius, ")
    assert ("inputs standardized; hidden relu, output sigmoid, loss bce; optimizer adam, "
            "lr 0.001; batch size 32; 100 epochs; seed 0)") in first
    model = read_model(tmp_path / "bc.npz")
    assert model.classes == ("benign", "malignant") and model.class_column == "diagnosis"
    assert "id" not in model.input_names and len(model.input_names) == 30

    evaluated = run("evaluate", "bc.npz", test_csv.name, cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    words = evaluated.stdout.split()
    assert words[0] == "accuracy" and evaluated.stdout.count("\n") == 1
    accuracy = float(words[1])
    assert accuracy >= 0.95, evaluated.stdout
    assert "of 114 rows of breast_cancer_test.csv, target diagnosis" in evaluated.stdout

    predicted = run("predict", "bc.npz", test_csv.name, "--out", "predicted.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    rows = read_csv_text((tmp_path / "predicted.csv").read_text())
    assert rows[0][-3:] == ["predicted_diagnosis", "probability_benign", "probability_malignant"]
    table = columns(rows, "diagnosis", "predicted_diagnosis", "probability_benign",
                    "probability_malignant")
    assert {label for _, label, _, _ in table} <= {"benign", "malignant"}
    for _, label, benign, malignant in table:
        assert float(benign) + float(malignant) == pytest.approx(1, abs=1e-15)
        assert label == ("benign" if float(benign) > float(malignant) else "malignant")
    agreed = sum(truth == label for truth, label, _, _ in table)
    assert agreed / len(table) == pytest.approx(accuracy, abs=5e-5)

    # predict on its own output: an error, not a second predicted_diagnosis column.
    again = run("predict", "bc.npz", "predicted.csv", cwd=tmp_path)
    assert again.returncode == 1 and again.stdout == ""
    assert_one_line_error(again.stderr, "predicted.csv already has a column "
                                        "'predicted_diagnosis'")


# ------------------------------------------------------------ inputs and tasks
def test_features_choose_the_inputs_and_standardize_stores_the_training_scaler(tmp_path, mixed):
    result = run("train", "mixed.csv", "--target", "y", "--features", "b,a,constant",
                 "--standardize", "--validation-fraction", "0.25", "--epochs", 3, "--out",
                 "m.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    model = read_model(tmp_path / "m.npz")
    assert model.input_names == ["b", "a", "constant"] and model.output_names == ["y"]
    assert model.task == "regress"
    rows = mixed_rows()
    X = np.array([[float(r[2]), float(r[1]), float(r[4])] for r in rows])
    y = np.array([float(r[5]) for r in rows])
    validation = np.sort(np.random.default_rng(0).permutation(40)[:10])
    training = np.setdiff1d(np.arange(40), validation)
    np.testing.assert_allclose(model.input_mean, X[training].mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(model.input_scale[:2], X[training, :2].std(axis=0), rtol=1e-15)
    assert model.input_scale[2] == 1.0          # a constant column: no division by zero
    assert model.target_mean[0] == pytest.approx(y[training].mean(), rel=1e-15)
    assert model.target_scale[0] == pytest.approx(y[training].std(), rel=1e-15)
    # predict applies the scaler and undoes the targets' standardisation.
    predicted = run("predict", "m.npz", "mixed.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    got = np.array([float(v) for (v,) in columns(read_csv_text(predicted.stdout), "predicted_y")])
    net = fastprop.load(tmp_path / "m.npz")
    expected = (net.predict((X - model.input_mean) / model.input_scale)[:, 0]
                * model.target_scale[0] + model.target_mean[0])
    np.testing.assert_array_equal(got, expected)
    # evaluate: RMSE and R^2 of those predictions.
    evaluated = run("evaluate", "m.npz", "mixed.csv", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    rmse = np.sqrt(np.mean((y - expected) ** 2))
    r2 = 1 - np.sum((y - expected) ** 2) / np.sum((y - y.mean()) ** 2)
    assert evaluated.stdout == (f"RMSE {rmse:.6g}, R^2 {r2:.4f} (40 rows of mixed.csv, "
                                "target y)\n")


def test_drop_leaves_out_columns_and_a_text_input_is_named_with_a_hint(tmp_path, mixed):
    result = run("train", "mixed.csv", "--target", "y", "--drop", "id,note,kind", "--epochs", 2,
                 "--out", "m.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert read_model(tmp_path / "m.npz").input_names == ["a", "b", "constant", "flag"]
    result = run("train", "mixed.csv", "--target", "y", "--drop", "id,kind", "--out", "m2.npz",
                 cwd=tmp_path)
    assert result.returncode == 1
    assert_one_line_error(result.stderr, "mixed.csv line 2, column 'note': 'text 0' is not a "
                                         "number (leave the column out with --drop note")


@pytest.mark.parametrize("column, classes, output, loss, width", [
    ("kind", ("cat", "dog", "eel"), "softmax", "cross_entropy", 3),
    ("flag", (-1, 6), "sigmoid", "bce", 1),
])
def test_classify_stores_the_classes_and_predict_writes_labels_and_probabilities(
        tmp_path, mixed, column, classes, output, loss, width):
    result = run("train", "mixed.csv", "--target", column, "--task", "classify", "--features",
                 "a,b", "--standardize", "--epochs", 5, "--out", "c.npz", "--no-progress",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"output {output}, loss {loss}" in result.stdout.splitlines()[0]
    model = read_model(tmp_path / "c.npz")
    assert model.classes == classes and model.sizes == (2, 64, width)
    assert type(model.classes[0]) is type(classes[0])
    assert model.target_mean is None
    predicted = run("predict", "c.npz", "mixed.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    rows = read_csv_text(predicted.stdout)
    names = [f"probability_{label}" for label in classes]
    assert rows[0] == MIXED_HEADER + [f"predicted_{column}"] + names
    net = fastprop.load(tmp_path / "c.npz")
    X = np.array([[float(r[1]), float(r[2])] for r in mixed_rows()])
    outputs = net.predict((X - model.input_mean) / model.input_scale)
    probabilities = outputs if width > 1 else np.column_stack([1 - outputs[:, 0], outputs[:, 0]])
    got = np.array([[float(v) for v in row] for row in columns(rows, *names)])
    np.testing.assert_array_equal(got, probabilities)
    labels = [label for (label,) in columns(rows, f"predicted_{column}")]
    assert labels == [str(classes[i]) for i in np.argmax(probabilities, axis=1)]
    evaluated = run("evaluate", "c.npz", "mixed.csv", cwd=tmp_path)
    truth = [row[MIXED_HEADER.index(column)] for row in mixed_rows()]
    correct = sum(t == p for t, p in zip(truth, labels))
    assert evaluated.stdout == (f"accuracy {correct / 40:.4f} ({correct} of 40 rows of "
                                f"mixed.csv, target {column})\n")


def test_validation_loss_is_shown_each_epoch_and_plotted(tmp_path, mixed, monkeypatch):
    result = run("train", "mixed.csv", "--target", "kind", "--task", "classify", "--features",
                 "a,b", "--standardize", "--validation-fraction", "0.3", "--epochs", 12,
                 "--out", "v.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "on 28 rows of mixed.csv, 12 held out for validation" in lines[0]
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == [f"epoch {e:2d}/12" for e in range(1, 13)]
    last = float(epochs[-1].split("validation loss ")[1])
    model = read_model(tmp_path / "v.npz")
    validation = np.sort(np.random.default_rng(0).permutation(40)[:12])
    rows = [mixed_rows()[i] for i in validation]
    X = (np.array([[float(r[1]), float(r[2])] for r in rows]) - model.input_mean) / model.input_scale
    labels = [model.classes.index(r[6]) for r in rows]
    assert last == pytest.approx(fastprop.load(tmp_path / "v.npz").compute_loss(X, labels),
                                 rel=1e-5)
    assert any(line.startswith("Validation loss: ") for line in lines)
    assert "on the validation rows" in lines[-2]

    pytest.importorskip("matplotlib")
    from fastprop import _cli_train
    figure = _cli_train._plot(np.array([1.0, 0.5, 0.25]), [1.2, 0.7, 0.6],
                                 str(tmp_path / "loss.png"))
    axes = figure.axes[0]
    assert [line.get_label() for line in axes.lines] == ["training", "validation"]
    np.testing.assert_array_equal(axes.lines[1].get_ydata(), [1.2, 0.7, 0.6])
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    plotted = run("train", "mixed.csv", "--target", "y", "--features", "a,b", "--epochs", 3,
                  "--validation-fraction", "0.5", "--out", "p.npz", "--plot", "p.png",
                  cwd=tmp_path)
    assert plotted.returncode == 0, plotted.stderr
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("name, options, optimizer", [
    ("adam", ["--lr", "0.01", "--weight-decay", "0.1"], fastprop.Adam(lr=0.01, weight_decay=0.1)),
    ("sgd", [], fastprop.SGD(lr=0.01)),
    ("momentum", ["--momentum", "0.5"], fastprop.SGD(lr=0.01, momentum=0.5)),
    ("nesterov", ["--weight-decay", "0.01"],
     fastprop.SGD(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.01)),
])
def test_the_optimizer_options_are_used(tmp_path, mixed, name, options, optimizer):
    result = run("train", "mixed.csv", "--target", "y", "--features", "a,b", "--sizes", "2,5,1",
                 "--activation", "tanh", "--epochs", 4, "--batch-size", 16, "--seed", 3,
                 "--optimizer", name, *options, "--out", "o.npz", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = mixed_rows()
    X = np.array([[float(r[1]), float(r[2])] for r in rows])
    y = np.array([[float(r[5])] for r in rows])
    expected = fastprop.Network([2, 5, 1], seed=3, loss="mse", activation="tanh",
                                output="identity")
    start = fastprop.Network.from_weights(expected.weights, expected.biases, loss="mse",
                                          activation="tanh", output="identity")
    expected.fit(X, y, epochs=4, batch_size=16, seed=3, optimizer=optimizer)
    # Not bit for bit: the products of the two processes may take different routes (plain
    # loops, vector kernels, BLAS: planned per process), which agree to rounding (one ulp
    # seen). Another setting moves the weights by far more (checked below).
    trained = fastprop.load(tmp_path / "o.npz")
    for a, b in zip(trained.weights + trained.biases, expected.weights + expected.biases):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    other = fastprop.SGD(lr=0.01, momentum=0.8) if name != "sgd" else fastprop.SGD(lr=0.02)
    start.fit(X, y, epochs=4, batch_size=16, seed=3, optimizer=other)
    assert max(np.abs(a - b).max() for a, b in zip(start.weights, expected.weights)) > 1e-4


# ------------------------------------------------------------------ CSV dialects
@pytest.mark.parametrize("delimiter, option", [(";", None), ("\t", None), (";", "semicolon"),
                                                ("|", "|"), ("\t", "tab")])
def test_semicolon_and_tab_files_are_read(tmp_path, delimiter, option):
    rows = [[str(i % 2), str(i // 2 % 2), str((i % 2) & (i // 2 % 2))] for i in range(8)]
    write_csv(tmp_path / "d.csv", ["p", "q", "both"], rows, delimiter)
    extra = [] if option is None else ["--delimiter", option]
    result = run("train", "d.csv", "--target", "both", "--epochs", 2, "--out", "d.npz", *extra,
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert read_model(tmp_path / "d.npz").input_names == ["p", "q"]
    predicted = run("predict", "d.npz", "d.csv", *extra, cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert read_csv_text(predicted.stdout, delimiter)[0] == ["p", "q", "both", "predicted_both"]


def test_a_semicolon_file_names_its_columns_one_by_one(tmp_path):
    (tmp_path / "d.csv").write_text("a;b;c\n1;2;3\n")
    result = run("train", "d.csv", "--target", "z", "--out", "d.npz", cwd=tmp_path)
    assert result.returncode == 1
    assert_one_line_error(result.stderr, "d.csv has no column 'z' to use as --target "
                                         "(its columns: a, b, c)")


def test_a_file_without_a_header_row_is_named_as_such(tmp_path):
    (tmp_path / "d.csv").write_text("0,0,1\n0,1,1\n1,0,1\n")
    result = run("train", "d.csv", "--target", "0", "--out", "d.npz", cwd=tmp_path)
    assert result.returncode == 1
    assert_one_line_error(result.stderr, "d.csv: the first row ('0,0,1') holds numbers, not "
                                         "column names: the first row must name the columns")


# ------------------------------------------------------------------- refusals
TRAIN = ["train", "mixed.csv", "--out", "r.npz"]


@pytest.mark.parametrize("argv, status, message", [
    (TRAIN + ["--target", "y", "--epochs", "0"], 2, "argument --epochs: must be >= 1, got 0"),
    (TRAIN + ["--target", "y,y"], 2, "--target names column 'y' more than once"),
    (TRAIN + ["--target", "y", "--features", "a,a"], 2, "--features names column 'a' more "
                                                        "than once"),
    (TRAIN + ["--target", "y", "--features", "a,y"], 2, "column 'y' is in both --target and "
                                                        "--features"),
    (TRAIN + ["--target", "y", "--features", "a", "--drop", "id"], 2,
     "argument --drop: not allowed with argument --features"),
    (TRAIN + ["--target", "y", "--features", "a,z"], 1,
     "mixed.csv has no column 'z' to use as --features (its columns: id, a, b, note, constant, "
     "y, kind, flag)"),
    (TRAIN + ["--target", "y", "--drop", "id,zz"], 1, "mixed.csv has no column 'zz' to --drop "
                                                      "(its columns: id, a, b,"),
    (TRAIN + ["--target", "constant", "--task", "classify", "--features", "a"], 1,
     "mixed.csv: column 'constant' holds one class only ('7.5'): a classifier needs at least "
     "two"),
    (TRAIN + ["--target", "kind,flag", "--task", "classify", "--features", "a"], 2,
     "--task classify takes one --target column of class labels, got 2 (kind, flag)"),
    (TRAIN + ["--target", "kind", "--task", "classify", "--features", "a", "--output",
              "sigmoid"], 2, "--output sigmoid classifies two classes; column 'kind' holds 3"),
    (TRAIN + ["--target", "y", "--features", "a", "--output", "softmax"], 2,
     "--output softmax is for --task classify"),
    (TRAIN + ["--target", "y", "--features", "a", "--loss", "cross_entropy"], 2,
     "--loss 'cross_entropy'"),
    (TRAIN + ["--target", "y", "--features", "a", "--momentum", "0.9"], 2,
     "--momentum is for --optimizer momentum or nesterov, not adam"),
    (TRAIN + ["--target", "y", "--features", "a", "--validation-fraction", "1"], 2,
     "argument --validation-fraction: must be between 0 and 1 (exclusive), got 1"),
    (TRAIN + ["--target", "y", "--features", "a", "--validation-fraction", "0.001"], 1,
     "--validation-fraction 0.001 of the 40 rows of mixed.csv leaves 0 validation"),
    (TRAIN + ["--target", "y", "--features", "a", "--sizes", "2,4,1"], 1,
     "--sizes 2-4-1 does not fit mixed.csv: it has 1 input columns (a) and 1 target columns "
     "(y), so sizes must start with 1 and end with 1"),
    (TRAIN + ["--target", "y", "--features", "a", "--delimiter", "ab"], 2,
     "argument --delimiter: expected one character, comma, semicolon or tab, got 'ab'"),
])
def test_refusals_are_one_line(tmp_path, mixed, argv, status, message):
    result = run(*argv, cwd=tmp_path)
    assert result.returncode == status, result.stderr
    assert result.stdout == ""
    assert_one_line_error(result.stderr, "fastprop train: error: ", message)
    assert not (tmp_path / "r.npz").exists()


def test_refusals_as_a_subprocess_with_fragments(tmp_path, mixed):
    # A message whose middle depends on the data: its two ends.
    result = run(*TRAIN, "--target", "y", "--features", "a,b", "--output", "sigmoid",
                 cwd=tmp_path)
    assert result.returncode == 1
    assert_one_line_error(result.stderr, "fastprop train: error: mixed.csv: the --target values "
                                         "run from ", "which a sigmoid output (--output sigmoid) "
                                         "cannot reach: use --output identity")


# ------------------------------------------------------- predict and evaluate
def test_a_model_without_names_is_matched_by_position_and_says_so(tmp_path):
    fastprop.Network([2, 1], seed=0).save(tmp_path / "net.npz")
    (tmp_path / "points.csv").write_text("u,v\n0.1,0.2\n")
    result = run("predict", "net.npz", "points.csv", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == ("fastprop: note: net.npz has no column names (saved from Python); "
                             "taking the 2 columns of points.csv in order as its inputs\n")
    assert read_csv_text(result.stdout)[0] == ["u", "v", "prediction"]
    evaluated = run("evaluate", "net.npz", "points.csv", cwd=tmp_path)
    assert evaluated.returncode == 1
    assert_one_line_error(evaluated.stderr, "fastprop evaluate: error: net.npz has no target "
                                            "column names (a model saved from Python)")


def test_predict_refuses_a_column_it_would_add_and_evaluate_needs_the_target(tmp_path, mixed):
    assert run("train", "mixed.csv", "--target", "y", "--features", "a,b", "--epochs", 2,
               "--out", "m.npz", cwd=tmp_path).returncode == 0
    (tmp_path / "again.csv").write_text("a,b,predicted_y\n1,2,3\n")
    result = run("predict", "m.npz", "again.csv", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert_one_line_error(result.stderr, "fastprop predict: error: again.csv already has a "
                                         "column 'predicted_y'")
    (tmp_path / "inputs.csv").write_text("a,b\n1,2\n")
    result = run("evaluate", "m.npz", "inputs.csv", cwd=tmp_path)
    assert result.returncode == 1
    assert_one_line_error(result.stderr, "fastprop evaluate: error: inputs.csv has no column "
                                         "'y' holding the model's target (its columns: a, b)")


def test_a_version_1_model_still_predicts(tmp_path):
    (tmp_path / "d.csv").write_text("c,b,a\n1,0,1\n")
    result = run("predict", str(DATA / "model_v1.npz"), "d.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    net = fastprop.load(DATA / "model_v1.npz")
    rows = read_csv_text(result.stdout)
    assert rows[0] == ["c", "b", "a", "predicted_majority"]
    assert float(rows[1][3]) == net.predict(np.array([[1.0, 0.0, 1.0]]))[0, 0]


def test_unscaled_inputs_get_a_note_and_sse_validation_compares(tmp_path):
    rng = np.random.default_rng(1)
    rows = [[repr(float(v)), repr(float(w)), str(int(v > 500))] for v, w in
            zip(rng.uniform(0, 1000, 30), rng.uniform(0, 1, 30))]
    write_csv(tmp_path / "big.csv", ["area", "w", "t"], rows)
    result = run("train", "big.csv", "--target", "t", "--epochs", 2, "--out", "b.npz",
                 "--no-progress", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr.startswith("fastprop train: note: the inputs are not on a scale of "
                                    "about 1 (column 'area' has mean ")
    assert result.stderr.endswith("; --standardize usually trains much better\n")
    result = run("train", "big.csv", "--target", "t", "--epochs", 2, "--out", "b.npz",
                 "--standardize", "--loss", "sse", "--validation-fraction", "0.2",
                 cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    last = [line for line in result.stdout.splitlines() if line.startswith("epoch 2/2:")][0]
    shown = float(last.split("validation loss ")[1])
    model = read_model(tmp_path / "b.npz")
    validation = np.sort(np.random.default_rng(0).permutation(30)[:6])
    X = np.array([[float(rows[i][0]), float(rows[i][1])] for i in validation])
    y = np.array([[float(rows[i][2])] for i in validation])
    X, y = (X - model.input_mean) / model.input_scale, (y - model.target_mean) / model.target_scale
    summed = fastprop.load(tmp_path / "b.npz").compute_loss(X, y)    # sse: a sum over 6 rows
    assert shown == pytest.approx(summed * 24 / 6, rel=1e-5)


@pytest.mark.parametrize("command, expected", [
    ([], ["evaluate", "--version"]),
    (["train"], ["--features", "--drop", "--task", "--standardize", "--validation-fraction",
                 "--activation", "--output", "--loss", "--optimizer", "--momentum",
                 "--weight-decay", "--delimiter", "--batch-size"]),
    (["predict"], ["--delimiter", "probability_<class>"]),
    (["evaluate"], ["usage: fastprop evaluate", "model", "data", "accuracy", "RMSE"]),
])
def test_help_names_the_new_options(tmp_path, command, expected):
    result = run(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    text = " ".join(result.stdout.split())
    for fragment in expected:
        assert fragment in text
