"""Network.save / fastprop.load: bit-exact round trips, atomic saves, clear errors on bad files."""
import ast
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import fastprop
from fastprop import persistence
from fastprop.network import load_with_names
from fastprop.persistence import ModelData, ModelFileError, read_model, write_model


def trained_network(sizes=(3, 4, 2), dtype=np.float64, loss="sse"):
    net = fastprop.Network(list(sizes), seed=7, dtype=dtype, loss=loss)
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (16, sizes[0]))
    Y = rng.uniform(0, 1, (16, sizes[-1]))
    net.fit(X, Y, epochs=5, lr=0.5)
    return net


def assert_same_network(a, b):
    assert a.sizes == b.sizes and a.loss == b.loss and a.dtype == b.dtype
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


def saved_arrays(path):
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def rewrite(tmp_path, net, **changes):
    """A copy of net's model file with some entries changed (None removes one)."""
    good = tmp_path / "good.npz"
    net.save(good)
    arrays = saved_arrays(good)
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    return bad


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sizes, loss", [((2, 2, 1), "sse"), ((3, 5, 4, 2), "mse"), ((1, 1), "sse")])
def test_round_trip_is_bit_exact(tmp_path, dtype, sizes, loss):
    net = trained_network(sizes, dtype, loss)
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = fastprop.load(path)
    assert isinstance(loaded, fastprop.Network)
    assert_same_network(net, loaded)
    X = np.random.default_rng(1).uniform(0, 1, (5, sizes[0]))
    np.testing.assert_array_equal(net.predict(X), loaded.predict(X))
    assert fastprop.load(str(path)).sizes == net.sizes  # str paths work too


def test_file_holds_only_plain_arrays(tmp_path):
    path = tmp_path / "model.npz"
    trained_network().save(path)
    arrays = saved_arrays(path)  # allow_pickle=False: would raise on any object array
    assert set(arrays) == {"format", "format_version", "sizes", "loss", "dtype",
                           "W1", "b1", "W2", "b2"}
    assert str(arrays["format"]) == "fastprop-network"
    assert int(arrays["format_version"]) == persistence.FORMAT_VERSION == 1
    assert arrays["sizes"].tolist() == [3, 4, 2]
    assert str(arrays["loss"]) == "sse" and str(arrays["dtype"]) == "float64"
    assert all(array.dtype.kind in "iufU" for array in arrays.values())
    assert arrays["W1"].shape == (4, 3) and arrays["b2"].shape == (2,)


def test_save_writes_exactly_the_given_name(tmp_path):
    path = tmp_path / "model.bin"
    trained_network().save(path)
    assert sorted(os.listdir(tmp_path)) == ["model.bin"]
    assert fastprop.load(path).sizes == (3, 4, 2)


def write_network(net, path, **names):
    write_model(path, net.sizes, net.dtype, net.loss, net.weights, net.biases, **names)


def test_column_names_round_trip(tmp_path):
    path = tmp_path / "model.npz"
    net = trained_network()
    write_network(net, path, input_names=["a", "b", "c"], output_names=["p", "q"])
    loaded, inputs, outputs = load_with_names(path)
    assert_same_network(net, loaded)
    assert (inputs, outputs) == (["a", "b", "c"], ["p", "q"])
    assert load_with_names(rewrite(tmp_path, net))[1:] == (None, None)
    with pytest.raises(ValueError, match="input_names has 2 names for 3 neurons"):
        write_network(net, tmp_path / "other.npz", input_names=["a", "b"])
    assert not (tmp_path / "other.npz").exists()


# ------------------------------------------- the plain-array layer underneath
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_read_model_returns_the_arrays_and_metadata(tmp_path, dtype):
    path = tmp_path / "model.npz"
    net = trained_network((3, 4, 2), dtype, "mse")
    write_network(net, path, output_names=["p", "q"])
    model = read_model(path)
    assert isinstance(model, ModelData)
    assert model.sizes == (3, 4, 2) and model.dtype == np.dtype(dtype) and model.loss == "mse"
    assert (model.input_names, model.output_names) == (None, ["p", "q"])
    for got, want in zip(model.weights + model.biases, net.weights + net.biases):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    loaded = fastprop.Network.load(path)  # the classmethod behind fastprop.load
    assert isinstance(loaded, fastprop.Network)
    assert_same_network(net, loaded)


def test_write_model_checks_the_arrays_against_the_sizes(tmp_path):
    net = trained_network((3, 4, 2))
    path = tmp_path / "model.npz"
    with pytest.raises(ValueError, match=r"W1 has shape \(4, 3\), but a 3-5-2 network needs \(5, 3\)"):
        write_model(path, (3, 5, 2), net.dtype, net.loss, net.weights, net.biases)
    with pytest.raises(ValueError, match="a 3-4-2 network has 2 layers, got 1 weight matrices"):
        write_model(path, (3, 4, 2), net.dtype, net.loss, net.weights[:1], net.biases[:1])
    with pytest.raises(TypeError, match="cannot save a network of dtype int64"):
        write_model(path, (3, 4, 2), np.int64, net.loss, net.weights, net.biases)
    assert not path.exists()


PERSISTENCE_SOURCE = Path(persistence.__file__)


def test_persistence_source_never_imports_network():
    # Every import statement of the module, at any depth (inside functions too).
    tree = ast.parse(PERSISTENCE_SOURCE.read_text(encoding="utf-8"))
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            imported += [module] + [f"{module}.{alias.name}" for alias in node.names]
    assert imported, "the parse found no imports at all"
    assert not [name for name in imported if "network" in name.split(".")], imported


def test_importing_persistence_does_not_import_network():
    # fastprop/__init__.py imports network, so the package is stood in for by an
    # empty module with the same path: only persistence and what it imports run.
    code = (
        "import importlib.util, sys, types\n"
        "spec = importlib.util.find_spec('fastprop')\n"
        "package = types.ModuleType('fastprop')\n"
        "package.__path__ = list(spec.submodule_search_locations)\n"
        "sys.modules['fastprop'] = package\n"
        "import fastprop.persistence\n"
        "assert 'fastprop.network' not in sys.modules, sorted(sys.modules)\n"
        "assert fastprop.persistence.__file__ == sys.argv[1], fastprop.persistence.__file__\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PERSISTENCE_SOURCE.parent.parent)] + [p for p in [env.get("PYTHONPATH")] if p])
    result = subprocess.run([sys.executable, "-c", code, str(PERSISTENCE_SOURCE)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr


# -------------------------------------------------------------- atomic saving
def test_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = trained_network((2, 2, 1))
    old.save(path)
    before = path.read_bytes()

    def interrupted(stream, **arrays):
        stream.write(b"PK\x03\x04 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(persistence.np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trained_network((3, 3, 1)).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind
    monkeypatch.undo()
    assert_same_network(fastprop.load(path), old)


def test_failed_rename_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    trained_network((2, 2, 1)).save(path)
    before = path.read_bytes()

    def refuse(source, target):
        raise PermissionError(f"cannot replace {target}")

    monkeypatch.setattr(persistence.os, "replace", refuse)
    with pytest.raises(PermissionError, match="cannot replace"):
        trained_network((3, 3, 1)).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


def test_permissions_of_new_and_overwritten_files(tmp_path):
    path = tmp_path / "model.npz"
    net = trained_network()
    umask = os.umask(0o022)
    try:
        net.save(path)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o600)
    net.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("make_path, error, message", [
    (lambda tmp: tmp / "missing" / "model.npz", FileNotFoundError,
     r"cannot save the model to .*model.npz.*: directory .*missing.* does not exist"),
    (lambda tmp: tmp, IsADirectoryError, "cannot save the model to .*: it is a directory"),
    (lambda tmp: "", ValueError, "path '' does not name a file"),
    (lambda tmp: None, TypeError, "path must be a str or os.PathLike, got NoneType"),
    (lambda tmp: b"model.npz", TypeError, "path must be a str or os.PathLike, got bytes"),
])
def test_bad_save_paths(tmp_path, make_path, error, message):
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(error, match=message):
        trained_network().save(make_path(tmp_path))
    assert sorted(os.listdir(tmp_path)) == before


# ------------------------------------------------------------------ bad files
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        fastprop.load(tmp_path / "nothing.npz")


def test_load_path_type():
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int"):
        fastprop.load(3)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match=r"empty.npz: the file is empty"):
        fastprop.load(path)


def test_text_file(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("x,y\n1,2\n")
    with pytest.raises(ModelFileError, match=r"notes.npz: not a fastprop model file \(not an .npz archive\)"):
        fastprop.load(path)


def test_npy_file_is_not_a_model(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ModelFileError, match="array.npy: not a fastprop model file"):
        fastprop.load(path)


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.1])
def test_truncated_file(tmp_path, keep):
    path = tmp_path / "model.npz"
    trained_network((20, 30, 2)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ModelFileError, match=r"model.npz: the file is truncated or corrupted"):
        fastprop.load(path)


def test_corrupted_weights_fail_the_checksum(tmp_path):
    path = tmp_path / "model.npz"
    net = trained_network((20, 30, 2))
    net.save(path)
    data = bytearray(path.read_bytes())
    start = data.index(np.ascontiguousarray(net.weights[0]).tobytes()[:64])
    data[start + 100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"model.npz: the file is truncated or corrupted .*CRC"):
        fastprop.load(path)


def test_foreign_npz(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, weights=np.zeros((2, 2)))
    with pytest.raises(ModelFileError, match=r"foreign.npz: not a fastprop model file \(an .npz archive "
                                             r"without fastprop's 'format' entry\)"):
        fastprop.load(path)


def test_foreign_zip(tmp_path):
    path = tmp_path / "document.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("format", "fastprop-network")
    with pytest.raises(ModelFileError, match="document.zip: entry 'format' is not a NumPy array"):
        fastprop.load(path)


def test_other_format_marker(tmp_path):
    bad = rewrite(tmp_path, trained_network(), format=np.str_("someone-else"))
    with pytest.raises(ModelFileError, match="bad.npz: not a fastprop model file"):
        fastprop.load(bad)


@pytest.mark.parametrize("version, message", [
    (2, r"unsupported format version 2 \(written by a newer fastprop\); this fastprop reads version 1"),
    (0, r"unsupported format version 0; this fastprop reads version 1"),
])
def test_wrong_version(tmp_path, version, message):
    bad = rewrite(tmp_path, trained_network(), format_version=np.int64(version))
    with pytest.raises(ModelFileError, match="bad.npz: " + message):
        fastprop.load(bad)


def test_pickled_entry_is_refused(tmp_path):
    bad = rewrite(tmp_path, trained_network(), sizes=np.array([3, 4, 2], dtype=object))
    with pytest.raises(ModelFileError, match=r"bad.npz: holds pickled \(object\) data"):
        fastprop.load(bad)


@pytest.mark.parametrize("changes, message", [
    ({"W1": np.zeros((3, 4))}, r"array W1 has shape \(3, 4\), but a 3-4-2 network needs \(4, 3\)"),
    ({"b2": np.zeros(3)}, r"array b2 has shape \(3,\), but a 3-4-2 network needs \(2,\)"),
    ({"sizes": np.array([3, 5, 2])}, r"array W1 has shape \(4, 3\), but a 3-5-2 network needs \(5, 3\)"),
    ({"sizes": np.array([3, 4])}, "unexpected arrays W2, b2 for a 3-4 network"),
    ({"sizes": np.array([3])}, r"'sizes' must list at least two positive layer sizes, got \[3\]"),
    ({"sizes": np.array([3.0, 4.0, 2.0])}, "'sizes' must list at least two positive layer sizes"),
    ({"b2": None}, "missing array b2 of a 3-4-2 network"),
    ({"loss": None}, "incomplete model file, missing loss"),
    ({"W1": np.zeros((4, 3), dtype=np.float32)}, "array W1 has dtype float32, but the file says float64"),
    ({"W2": np.full((2, 4), np.nan)}, "array W2 holds non-finite values"),
    ({"dtype": np.str_("float16")}, "unsupported dtype 'float16'"),
    ({"loss": np.str_("hinge")}, "loss must be one of 'sse', 'mse', got 'hinge'"),
    ({"loss": np.array([1, 2])}, "'loss' must be a string"),
    ({"extra": np.zeros(2)}, "unexpected arrays extra"),
    ({"input_names": np.array(["a", "b"])}, "'input_names' must hold 3 strings"),
])
def test_inconsistent_files(tmp_path, changes, message):
    bad = rewrite(tmp_path, trained_network(), **changes)
    with pytest.raises(ModelFileError, match=r"bad.npz: " + message):
        fastprop.load(bad)


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)
