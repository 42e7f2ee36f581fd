"""The fastprop command: each command run as a subprocess, and its errors one line each."""
import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastprop
from fastprop.cli import main
from fastprop.examples import XOR_TRAINING, network_from_example, seed_002

SEED_002_EXPLAIN = ["explain", "--sizes", "2,2,1", "--weights", "0.15,0.20,0.25,0.30,0.40,0.45",
                    "--biases", "0.35,0.35,0.60", "--x", "0.05,0.10", "--y", "0.01", "--lr", "0.5"]
VOTES_CSV = "a,b,c,majority\n0,0,0,0\n0,0,1,0\n0,1,0,0\n0,1,1,1\n1,0,0,0\n1,0,1,1\n1,1,0,1\n1,1,1,1\n"


def environment():
    """The current environment, with the fastprop under test first on the path."""
    env = dict(os.environ)
    package_root = str(Path(fastprop.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fastprop", *map(str, args)], cwd=cwd,
                          env=environment(), capture_output=True, text=True, encoding="utf-8",
                          timeout=300)


def assert_one_line_error(stderr, *fragments):
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    for fragment in fragments:
        assert fragment in lines[0]


def seed_002_trace():
    example = seed_002()
    return fastprop.explain(network_from_example(example), example.x, example.y, example.lr)


@pytest.fixture
def votes(tmp_path):
    path = tmp_path / "votes.csv"
    path.write_text(VOTES_CSV)
    return path


# The tutorials' network and training (the defaults of train were these before issue 13).
TUTORIAL_SETTINGS = ["--activation", "sigmoid", "--output", "sigmoid", "--loss", "sse",
                     "--optimizer", "sgd", "--batch-size", 8]


def train_votes(tmp_path, *extra):
    return run("train", "votes.csv", "--target", "majority", "--sizes", "3,3,1", "--epochs", 2000,
               "--lr", 1, "--out", "votes.npz", *TUTORIAL_SETTINGS, *extra, cwd=tmp_path)


# ---------------------------------------------------------------------- help
@pytest.mark.parametrize("command, expected", [
    ([], ["usage: fastprop", "demo", "explain", "train", "predict"]),
    (["demo"], ["usage: fastprop demo", "XOR"]),
    (["explain"], ["usage: fastprop explain", "--sizes", "--weights", "--biases", "--x", "--y",
                   "--lr", "--markdown"]),
    (["train"], ["usage: fastprop train", "--target", "--sizes", "--epochs", "--lr",
                 "--batch-size", "--seed", "--loss", "--out", "--plot"]),
    (["predict"], ["usage: fastprop predict", "model", "data", "--out"]),
])
def test_help(tmp_path, command, expected):
    result = run(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    for fragment in expected:
        assert fragment in result.stdout


def test_console_script(tmp_path):
    script = shutil.which("fastprop")
    if script is None:
        pytest.skip("the fastprop console script is not installed (source checkout)")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "usage: fastprop" in result.stdout


def test_no_command_is_a_usage_error(tmp_path):
    result = run(cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result.stderr, "fastprop: error:", "COMMAND", "fastprop --help")


def test_unknown_command(tmp_path):
    result = run("frobnicate", cwd=tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "invalid choice: 'frobnicate'")


# ---------------------------------------------------------------------- demo
def test_demo_trains_xor_and_explains_seed_002(tmp_path):
    result = run("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    sizes = "-".join(map(str, XOR_TRAINING.sizes))
    assert out.startswith(f"Training a {sizes} sigmoid network on XOR ({XOR_TRAINING.epochs} epochs")
    final_state = result.stderr.split("\r")[-1]  # of the progress bar
    assert f"{XOR_TRAINING.epochs}/{XOR_TRAINING.epochs}" in final_state
    table = out[out.index("x1 | x2 | target | prediction"):].split("\n\n")[0].splitlines()
    assert len(table) == 2 + 4
    for row in table[2:]:
        x1, x2, target, prediction = (float(cell) for cell in row.split("|"))
        assert target == float(int(x1) ^ int(x2))
        assert abs(prediction - target) < 0.1
    assert out.endswith(str(seed_002_trace()))


# ------------------------------------------------------------------- explain
def test_explain_prints_seed_002(tmp_path):
    result = run(*SEED_002_EXPLAIN, cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == str(seed_002_trace())
    for figure in ["0.3775", "0.59327", "0.751365", "0.274811", "0.138499", "0.082167",
                   "0.0826676", "0.028364", "0.335818", "0.530751"]:
        assert figure in result.stdout
    assert result.stdout.splitlines()[-1] == "w6 = W2[1,2] (h2 → out) | 0.45      | 0.0826676   | 0.408666"


def test_explain_markdown(tmp_path):
    result = run(*SEED_002_EXPLAIN, "--markdown", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == seed_002_trace().to_markdown()
    assert result.stdout.splitlines()[-1] == "| w6 = W2[1,2] (h2 → out) | 0.45 | 0.0826676 | 0.408666 |"


def test_explain_negative_numbers_and_mse(tmp_path):
    result = run("explain", "--sizes", "1,1", "--weights=-0.3", "--biases=-0.1", "--x", "0.5",
                 "--y", "1", "--lr", "0.1", "--loss", "mse", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    net = fastprop.Network.from_weights([np.array([[-0.3]])], [np.array([-0.1])], loss="mse")
    assert result.stdout == str(fastprop.explain(net, [0.5], [1.0], 0.1))


def test_explain_bad_weight_count_as_subprocess(tmp_path):
    args = list(SEED_002_EXPLAIN)
    args[4] = "0.15,0.20,0.25,0.30,0.40"
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result.stderr, "fastprop explain: error: --weights: a 2-2-1 network "
                                         "has 6 weights (4 + 2), got 5")


def replaced(option, value):
    args = list(SEED_002_EXPLAIN)
    args[args.index(option) + 1] = value
    return args


@pytest.mark.parametrize("argv, message", [
    (replaced("--biases", "0.35,0.6"), "--biases: a 2-2-1 network has 3 biases (2 + 1), got 2"),
    (replaced("--x", "0.05"), "--x: the network has 2 inputs, got 1 numbers"),
    (replaced("--y", "0.01,0.5"), "--y: the network has 1 outputs, got 2 numbers"),
    (replaced("--lr", "0"), "argument --lr: must be > 0, got 0"),
    (replaced("--lr", "fast"), "argument --lr: 'fast' is not a number"),
    (replaced("--lr", "inf"), "argument --lr: 'inf' is not a finite number"),
    (replaced("--weights", "0.15,0.2,x,0.3,0.4,0.45"), "argument --weights: 'x' is not a number"),
    (replaced("--sizes", "2"), "argument --sizes: give at least an input and an output size"),
    (replaced("--sizes", "2,0,1"), "argument --sizes: layer sizes must be >= 1, got 0"),
    (replaced("--sizes", "2,1.5,1"), "argument --sizes: '1.5' is not a whole number"),
    (SEED_002_EXPLAIN + ["--loss", "hinge"], "argument --loss: invalid choice: 'hinge'"),
    (SEED_002_EXPLAIN[:-2], "the following arguments are required: --lr"),
])
def test_explain_usage_errors(capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, "fastprop explain: error: ", message,
                          "(see 'fastprop explain --help')")


# --------------------------------------------------------------------- train
def test_train_writes_the_model_and_the_loss_curve(tmp_path, votes):
    pytest.importorskip("matplotlib")
    result = train_votes(tmp_path, "--plot", "loss.png")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ("Training a 3-3-1 network on 8 rows of votes.csv (task regress majority; "
                        "inputs a, b, c; not standardized; hidden sigmoid, output sigmoid, loss "
                        "sse; optimizer sgd, lr 1; batch size 8; 2000 epochs; seed 0)")
    first, last = (float(word.rstrip(",.")) for word in lines[1].split() if word[0].isdigit())
    assert last < first / 100
    assert lines[2:] == ["Wrote the model to votes.npz", "Wrote the loss curve to loss.png"]
    assert "2000/2000" in result.stderr.split("\r")[-1]
    net = fastprop.load(tmp_path / "votes.npz")
    assert net.sizes == (3, 3, 1) and net.loss == "sse"
    X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 0], [1, 1, 1]], dtype=float)
    assert np.abs(net.predict(X)[:, 0] - [0, 1, 0, 1]).max() < 0.1
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_train_options_are_used(tmp_path, votes):
    result = run("train", "votes.csv", "--target", "majority", "--sizes", "3,2,1", "--epochs", 7,
                 "--lr", 0.25, "--batch-size", 3, "--seed", 5, "--loss", "mse", "--out", "m.npz",
                 "--no-progress", "--activation", "sigmoid", "--output", "sigmoid",
                 "--optimizer", "sgd", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # --no-progress
    expected = fastprop.Network([3, 2, 1], seed=5, loss="mse")
    data = np.loadtxt(votes, delimiter=",", skiprows=1)
    expected.fit(data[:, :3], data[:, 3:], epochs=7, lr=0.25, batch_size=3, seed=5)
    trained = fastprop.load(tmp_path / "m.npz")
    assert trained.loss == "mse"
    for a, b in zip(trained.weights + trained.biases, expected.weights + expected.biases):
        np.testing.assert_array_equal(a, b)


def test_train_bad_number_in_csv_as_subprocess(tmp_path):
    (tmp_path / "votes.csv").write_text(VOTES_CSV.replace("1,0,1,1", "1,zero,1,1"))
    result = train_votes(tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert_one_line_error(result.stderr, "fastprop train: error: votes.csv line 7, column 'b': "
                                         "'zero' is not a number")
    assert not (tmp_path / "votes.npz").exists()


TRAIN = ["train", "data.csv", "--target", "majority", "--sizes", "3,3,1", "--epochs", "5",
         "--out", "model.npz"]


@pytest.mark.parametrize("content, argv, message", [
    (None, TRAIN, "data.csv: No such file or directory"),
    ("", TRAIN, "data.csv: the file is empty (expected a header row of column names)"),
    ("a,b,c,majority\n", TRAIN, "data.csv: there are no data rows under the header"),
    ("a,b,c,majority\n0,0,0,0\n1,1\n", TRAIN, "data.csv line 3: 2 values, but the header has 4 columns"),
    ("a,b,a,majority\n0,0,0,0\n", TRAIN, "data.csv: the header names column 'a' more than once"),
    ("a,,c,majority\n0,0,0,0\n", TRAIN, "data.csv: the header row has an empty column name"),
    ("a,b,c,majority\n0,0,nan,0\n", TRAIN, "data.csv line 2, column 'c': 'nan' is not a finite number"),
    ("a,b,c,majority\n0,0,,0\n", TRAIN, "data.csv line 2, column 'c': '' is not a number"),
    (b"a,b,c,majority\n0,0,\xff,0\n", TRAIN, "data.csv: not a UTF-8 text file"),
    (VOTES_CSV, TRAIN[:3] + ["vote"] + TRAIN[4:],
     "data.csv has no column 'vote' to use as --target (its columns: a, b, c, majority)"),
    (VOTES_CSV, TRAIN[:3] + ["a,b,c,majority"] + TRAIN[4:],
     "data.csv: every column is a --target column; none is left as input"),
    (VOTES_CSV, TRAIN[:5] + ["2,3,1"] + TRAIN[6:],
     "--sizes 2-3-1 does not fit data.csv: it has 3 input columns (a, b, c) and 1 target "
     "columns (majority), so sizes must start with 3 and end with 1"),
    (VOTES_CSV, TRAIN[:-1] + ["missing/model.npz"], "cannot save the model to 'missing/model.npz': "
                                                    "directory 'missing' does not exist"),
])
def test_train_errors(tmp_path, monkeypatch, capsys, content, argv, message):
    monkeypatch.chdir(tmp_path)
    if content is not None:
        path = tmp_path / "data.csv"
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 1
    assert_one_line_error(captured.err, "fastprop train: error: ", message)
    assert not (tmp_path / "model.npz").exists()


@pytest.mark.parametrize("argv, message", [
    (TRAIN + ["--epochs", "-1"], "argument --epochs: must be >= 1, got -1"),
    (TRAIN + ["--batch-size", "0"], "argument --batch-size: must be >= 1, got 0"),
    (TRAIN + ["--seed", "x"], "argument --seed: 'x' is not a whole number"),
    (TRAIN + ["--loss", "l1"], "argument --loss: invalid choice: 'l1'"),
    (TRAIN[:2] + TRAIN[4:], "the following arguments are required: --target"),
    (TRAIN[:-2], "the following arguments are required: --out"),
    (TRAIN + ["--target", "a,,b"], "argument --target: 'a,,b' holds an empty column name"),
])
def test_train_usage_errors(capsys, argv, message):
    assert main(argv) == 2
    assert_one_line_error(capsys.readouterr().err, "fastprop train: error: ", message)


def test_train_plot_without_matplotlib_fails_before_training(tmp_path, monkeypatch, capsys, votes):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    status = main(["train", "votes.csv", "--target", "majority", "--sizes", "3,1", "--out",
                   "model.npz", "--plot", "loss.png"])
    captured = capsys.readouterr()
    assert status == 1 and captured.out == ""
    assert_one_line_error(captured.err, "pip install matplotlib")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["votes.csv"]


# ------------------------------------------------------------------- predict
def read_csv_text(text):
    return list(csv.reader(io.StringIO(text)))


def test_predict_prints_the_rows_with_predictions(tmp_path, votes):
    assert train_votes(tmp_path).returncode == 0
    result = run("predict", "votes.npz", "votes.csv", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    rows = read_csv_text(result.stdout)
    assert rows[0] == ["a", "b", "c", "majority", "predicted_majority"]
    assert [row[:4] for row in rows[1:]] == read_csv_text(VOTES_CSV)[1:]
    net = fastprop.load(tmp_path / "votes.npz")
    X = np.array([[float(v) for v in row[:3]] for row in rows[1:]])
    assert [float(row[4]) for row in rows[1:]] == net.predict(X)[:, 0].tolist()  # repr: exact


def test_predict_finds_the_input_columns_by_name_and_writes_a_file(tmp_path, votes):
    assert train_votes(tmp_path).returncode == 0
    (tmp_path / "new.csv").write_text("id,c,b,a\nfirst,0,1,1\nsecond,1,0,0\n")
    result = run("predict", "votes.npz", "new.csv", "--out", "predictions.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Wrote predictions for 2 rows to predictions.csv\n"
    rows = read_csv_text((tmp_path / "predictions.csv").read_text())
    assert rows[0] == ["id", "c", "b", "a", "predicted_majority"]
    net = fastprop.load(tmp_path / "votes.npz")
    expected = net.predict(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))[:, 0]  # a, b, c order
    assert [float(row[4]) for row in rows[1:]] == expected.tolist()


def test_predict_with_a_model_saved_from_python(tmp_path):
    net = fastprop.Network([2, 3, 2], seed=1)
    net.save(tmp_path / "net.npz")
    (tmp_path / "points.csv").write_text("u,v\n0.1,0.2\n0.9,0.4\n")
    result = run("predict", "net.npz", "points.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = read_csv_text(result.stdout)
    assert rows[0] == ["u", "v", "prediction_1", "prediction_2"]
    assert [[float(v) for v in row[2:]] for row in rows[1:]] == net.predict(
        np.array([[0.1, 0.2], [0.9, 0.4]])).tolist()


def test_predict_bad_model_file_as_subprocess(tmp_path, votes):
    (tmp_path / "model.npz").write_text("not a model\n")
    result = run("predict", "model.npz", "votes.csv", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert_one_line_error(result.stderr, "fastprop predict: error: model.npz: not a fastprop "
                                         "model file (not an .npz archive)")


@pytest.mark.parametrize("data, model, message", [
    ("a,b\n1,1\n", "votes", "data.csv has no column 'c' that the model takes as input "
                            "(its columns: a, b)"),
    ("a,b,c\n1,x,1\n", "votes", "data.csv line 2, column 'b': 'x' is not a number"),
    ("u,v,w\n1,1,1\n", "python", "python.npz has 2 inputs and no column names, but data.csv has 3 columns"),
    (None, "votes", "data.csv: No such file or directory"),
    ("a,b,c\n1,1,1\n", "missing", "missing.npz: No such file or directory"),
    ("a,b,c\n1,1,1\n", "truncated", "truncated.npz: the file is truncated or corrupted"),
])
def test_predict_errors(tmp_path, monkeypatch, capsys, votes, data, model, message):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "votes.csv", "--target", "majority", "--sizes", "3,1", "--epochs", "3",
                 "--out", "votes.npz", "--no-progress"]) == 0
    fastprop.Network([2, 1], seed=0).save("python.npz")
    content = (tmp_path / "votes.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(content[:len(content) // 2])
    if data is not None:
        (tmp_path / "data.csv").write_text(data)
    capsys.readouterr()
    assert main(["predict", f"{model}.npz", "data.csv"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, "fastprop predict: error: ", message)


def test_predict_out_directory_must_exist(tmp_path, monkeypatch, capsys, votes):
    monkeypatch.chdir(tmp_path)
    fastprop.Network([3, 1], seed=0).save("m.npz")
    (tmp_path / "data.csv").write_text("a,b,c\n1,1,1\n")
    assert main(["predict", "m.npz", "data.csv", "--out", "nowhere/p.csv"]) == 1
    assert_one_line_error(capsys.readouterr().err, "--out nowhere/p.csv: directory",
                          "does not exist")
