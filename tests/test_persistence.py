"""Network.save / fastprop.load: bit-exact round trips, atomic saves, clear errors on bad files."""
import ast
import errno
import io
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import tracemalloc
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
    assert int(arrays["format_version"]) == persistence.FORMAT_VERSION == 2
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
    # A ModelFileError, as every failure to load is, and still the FileNotFoundError that
    # code written before caught.
    path = tmp_path / "nothing.npz"
    with pytest.raises(fastprop.ModelFileError, match=r"nothing\.npz: No such file or directory$") as caught:
        fastprop.load(path)
    assert isinstance(caught.value, FileNotFoundError)
    assert caught.value.errno == errno.ENOENT and caught.value.filename == str(path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads files whatever their permissions")
def test_unreadable_file(tmp_path):
    path = tmp_path / "model.npz"
    trained_network().save(path)
    path.chmod(0)
    with pytest.raises(fastprop.ModelFileError, match=r"model\.npz: Permission denied$") as caught:
        fastprop.load(path)
    assert isinstance(caught.value, PermissionError)


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
    (3, r"unsupported format version 3 \(written by a newer fastprop\); this fastprop reads "
        r"versions 1, 2"),
    (0, r"unsupported format version 0; this fastprop reads versions 1, 2"),
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
    ({"loss": np.str_("hinge")}, "loss must be one of 'sse', 'mse', 'bce', 'cross_entropy', got 'hinge'"),
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


# ------------------------------------------------------------- hostile files
# A model file is read as untrusted input: nothing it declares makes loading block,
# allocate more than the file's own size, or fail with anything but ModelFileError.

def npy_member(array_or_header, data=b""):
    """The bytes of one .npy member: an array as np.save writes it, or a header dict
    (written as np.save would, any shape and dtype it declares) followed by data."""
    stream = io.BytesIO()
    if isinstance(array_or_header, np.ndarray):
        np.save(stream, array_or_header, allow_pickle=False)
    else:
        np.lib.format.write_array_header_1_0(stream, array_or_header)
        stream.write(data)
    return stream.getvalue()


def archive_with(tmp_path, members, compression=zipfile.ZIP_STORED, drop=()):
    """A zip of {member name: bytes}: a good 3-4-2 model's members but those dropped or
    replaced, then these."""
    good = tmp_path / "good.npz"
    trained_network().save(good)
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w", compression) as target:
        for info in source.infolist():
            if info.filename not in members and info.filename not in drop:
                target.writestr(info.filename, source.read(info))
        for member, data in members.items():
            target.writestr(member, data)
    return path


def load_in_a_thread(path, seconds=10):
    """fastprop.load(path) run where a hang cannot stop the test: (finished, outcome)."""
    outcome = []

    def run():
        try:
            outcome.append(fastprop.load(path))
        except BaseException as error:  # noqa: BLE001 (reported to the test)
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), outcome[0] if outcome else None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    path = tmp_path / "model.npz"
    os.mkfifo(path)
    finished, outcome = load_in_a_thread(path)
    assert finished, "load blocked on a FIFO"
    assert isinstance(outcome, ModelFileError)
    assert "model.npz: not a fastprop model file (a FIFO (named pipe), not a regular file)" in str(outcome)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_fastprop_predict_refuses_a_fifo_in_one_line(tmp_path):
    model = tmp_path / "model.npz"
    os.mkfifo(model)
    data = tmp_path / "data.csv"
    data.write_text("a,b,c\n0.1,0.2,0.3\n")
    result = subprocess.run([sys.executable, "-m", "fastprop", "predict", str(model), str(data)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a regular file" in lines[0], result.stderr


@pytest.mark.parametrize("make_path, kind", [
    (lambda tmp: tmp, "a directory"),
    (lambda tmp: Path(os.devnull), "a device"),
])
def test_what_is_not_a_regular_file_is_refused(tmp_path, make_path, kind):
    if not Path(os.devnull).exists() and kind == "a device":
        pytest.skip("no null device here")
    with pytest.raises(ModelFileError, match=f"not a fastprop model file \\({kind}, not a regular file\\)"):
        fastprop.load(make_path(tmp_path))


def test_a_symbolic_link_to_a_model_loads(tmp_path):
    net = trained_network()
    net.save(tmp_path / "model.npz")
    (tmp_path / "link.npz").symlink_to(tmp_path / "model.npz")
    assert_same_network(fastprop.load(tmp_path / "link.npz"), net)


def test_a_compressed_member_is_refused_before_it_is_decompressed(tmp_path):
    # A small file whose W1 decompresses to 64 MB of a shape consistent with its sizes
    # (the reported case: 4.2 MB holding 4 GB took 12-23 s and 4-8 GB before failing).
    width = 2048
    weights = npy_member({"descr": "<f8", "fortran_order": False, "shape": (width, 4096)},
                         bytes(8 * width * 4096))
    members = {"W1.npy": weights, "sizes.npy": npy_member(np.array([4096, width, 2])),
               "W2.npy": npy_member(np.zeros((2, width))), "b1.npy": npy_member(np.zeros(width))}
    path = archive_with(tmp_path, members, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"bad.npz: member '.*' is compressed or extends "
                                                 r"beyond the file .* fastprop writes its arrays uncompressed"):
            fastprop.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000


@pytest.mark.parametrize("sizes, message", [
    # A header that does not match the network: refused before its data is read (the
    # reported case escaped as numpy's MemoryError).
    ([3, 4, 2], r"array W1 has shape \(1000000, 1000000\), but a 3-4-2 network needs \(4, 3\)"),
    # One that matches declared sizes of a huge network: its data must be in the file.
    ([10**6, 10**6], r"the file is truncated or corrupted \(entry '(W1|b1)' declares "
                     r"\d+ bytes of data in a member of 128\)"),
])
def test_an_npy_header_declaring_a_huge_array_is_refused_before_allocating(tmp_path, sizes, message):
    def header_only(shape):
        return npy_member({"descr": "<f8", "fortran_order": False, "shape": shape})

    members = {"W1.npy": header_only((10**6, 10**6)), "sizes.npy": npy_member(np.array(sizes))}
    drop = ()
    if len(sizes) == 2:
        members["b1.npy"] = header_only((10**6,))
        drop = ("W2.npy", "b2.npy")
    path = archive_with(tmp_path, members, drop=drop)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"bad.npz: " + message):
            fastprop.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000


def test_a_huge_npy_header_is_refused_as_such_not_as_pickled_data(tmp_path):
    header = {"descr": "<f8", "fortran_order": False, "shape": (4, 3), "padding": "x" * 200_000}
    stream = io.BytesIO()
    np.lib.format.write_array_header_2_0(stream, header)
    path = archive_with(tmp_path, {"W1.npy": stream.getvalue() + bytes(8 * 12)})
    with pytest.raises(ModelFileError) as refused:
        fastprop.load(path)
    assert ("entry 'W1' is not a NumPy array that fastprop writes (its .npy header is malformed "
            "or longer than 4096 bytes)") in str(refused.value)
    assert "pickle" not in str(refused.value)


def test_many_members_are_refused_quickly_naming_the_first_few(tmp_path):
    # The reported case: 100,000 members took 49 s (a list scanned per name) and the
    # message listed all of them.
    extra = {f"x{index:05d}.npy": b"" for index in range(20_000)}
    path = archive_with(tmp_path, extra)
    with pytest.raises(ModelFileError) as refused:
        fastprop.load(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: unexpected arrays x00000, x00001, x00002, x00003, x00004 "
                              "and 19995 more for a 3-4-2 network")
    assert len(message) < 300


def test_overlapping_members_are_refused(tmp_path):
    # b1's central-directory entry pointed at W1's data: each member alone lies inside the
    # file, together they declare more bytes than it has (a small file whose many layers
    # all point at one large stored array would otherwise load as many copies of it).
    path = tmp_path / "model.npz"
    trained_network((20, 30, 2)).save(path)
    with zipfile.ZipFile(path) as archive:
        w1 = archive.getinfo("W1.npy")
    data = bytearray(path.read_bytes())
    entry = data.index(b"b1.npy", data.index(b"PK\x01\x02")) - 46   # its central entry
    assert data[entry:entry + 4] == b"PK\x01\x02"
    data[entry + 16:entry + 20] = w1.CRC.to_bytes(4, "little")
    data[entry + 20:entry + 24] = w1.compress_size.to_bytes(4, "little")
    data[entry + 24:entry + 28] = w1.file_size.to_bytes(4, "little")
    data[entry + 42:entry + 46] = w1.header_offset.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"model.npz: its members declare \d+ bytes in a file "
                                             r"of \d+: members overlap"):
        fastprop.load(path)


def test_save_refuses_a_network_with_non_finite_parameters_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "model.npz"
    good = trained_network()
    good.save(path)
    before = path.read_bytes()
    # fit and step no longer leave such a network (TrainingDivergedError restores it), so
    # the state is made by hand: save is the last line of defence of the file on disk.
    diverged = trained_network()
    diverged._weights[1][0, 0] = np.inf
    with pytest.raises(ValueError, match=r"cannot save a network whose W\d holds non-finite values "
                                         r"\(NaN or infinity: training diverged\?\); nothing was written"):
        diverged.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]
    assert_same_network(fastprop.load(path), good)


def unnamed_files_work_in(directory):
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return False
    try:
        os.close(os.open(directory, flag | os.O_WRONLY, 0o600))
    except OSError:
        return False
    return True


def test_a_process_killed_while_saving_leaves_no_temporary_file(tmp_path):
    # 100 SIGKILLs during save left 62 temporary files (1.7 GB) that nothing removed.
    if not unnamed_files_work_in(tmp_path) or not hasattr(signal, "SIGKILL"):
        pytest.skip("no unnamed temporary files (O_TMPFILE) here")
    path = tmp_path / "model.npz"
    code = ("import sys, fastprop\n"
            "net = fastprop.Network([1500, 1500, 1], seed=0)\n"   # 18 MB a save
            "print('ready', flush=True)\n"
            "while True:\n"
            "    net.save(sys.argv[1])\n")
    for delay in (0.05, 0.1, 0.15, 0.2, 0.3):
        saver = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE,
                                 text=True)
        assert saver.stdout.readline().strip() == "ready"
        time.sleep(delay)
        saver.send_signal(signal.SIGKILL)
        saver.wait(30)
        saver.stdout.close()
    assert [name for name in os.listdir(tmp_path) if name != "model.npz"] == []
    if path.exists():                       # a save that completed is whole
        assert fastprop.load(path).sizes == (1500, 1500, 1)


def test_save_falls_back_to_a_named_temporary_file_without_unnamed_ones(tmp_path, monkeypatch):
    monkeypatch.delattr(persistence.os, "O_TMPFILE", raising=False)
    path = tmp_path / "model.npz"
    net = trained_network()
    net.save(path)
    assert os.listdir(tmp_path) == ["model.npz"]
    assert_same_network(fastprop.load(path), net)


# ------------------------------------------------ format version 2: data preparation
DATA = Path(__file__).resolve().parent / "data"


def test_a_version_1_file_written_by_the_version_1_code_still_loads():
    # tests/data/make_model_v1.py wrote it with persistence.py of commit 548c16f.
    sys.path.insert(0, str(DATA))
    try:
        from make_model_v1 import version_1_weights
    finally:
        sys.path.remove(str(DATA))
    path = DATA / "model_v1.npz"
    assert int(saved_arrays(path)["format_version"]) == 1
    model = read_model(path)
    assert model.task is None and model.classes is None and model.input_mean is None
    net, inputs, outputs = load_with_names(path)
    assert (inputs, outputs) == (["a", "b", "c"], ["majority"])
    assert net.sizes == (3, 4, 1) and net.loss == "mse"
    assert net.activation == "relu" and net.output == "sigmoid"
    weights, biases = version_1_weights()
    for a, b in zip(net.weights + net.biases, weights + biases):
        np.testing.assert_array_equal(a, b)


def test_a_version_1_file_with_version_2_entries_is_refused(tmp_path):
    arrays = saved_arrays(DATA / "model_v1.npz")
    arrays["task"] = np.str_("regress")
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError, match="bad.npz: unexpected arrays task for a 3-4-1"):
        read_model(tmp_path / "bad.npz")


def write_prepared(path, sizes=(3, 4, 2), **preparation):
    net = fastprop.Network(list(sizes), seed=3, output="softmax", loss="cross_entropy") \
        if sizes[-1] > 1 else fastprop.Network(list(sizes), seed=3, loss="bce")
    write_model(path, net.sizes, net.dtype, net.loss, net.weights, net.biases,
                input_names=["x", "y", "z"], activations=["sigmoid"] * (len(sizes) - 2),
                output=net.output, **preparation)
    return net


@pytest.mark.parametrize("sizes, classes", [((3, 4, 2), ("benign", "malignant")),
                                            ((3, 4, 3), (-1, 0, 7)),
                                            ((3, 1), (0, 1)),
                                            ((3, 5, 1), ("no", "yes"))])
def test_classifier_preparation_round_trips(tmp_path, sizes, classes):
    mean, scale = np.array([1.5, -2.0, 0.0]), np.array([0.5, 1.0, 3.25])
    net = write_prepared(tmp_path / "m.npz", sizes, task="classify", input_mean=mean,
                         input_scale=scale, class_column="diagnosis", classes=classes)
    arrays = saved_arrays(tmp_path / "m.npz")
    assert arrays["classes"].dtype.kind == "U"              # no object arrays, no pickle
    assert str(arrays["classes_kind"]) == ("int" if isinstance(classes[0], int) else "str")
    model = read_model(tmp_path / "m.npz")
    assert model.task == "classify" and model.class_column == "diagnosis"
    assert model.classes == classes and type(model.classes[0]) is type(classes[0])
    np.testing.assert_array_equal(model.input_mean, mean)
    np.testing.assert_array_equal(model.input_scale, scale)
    assert model.input_mean.dtype == np.float64
    assert_same_network(fastprop.load(tmp_path / "m.npz"), net)


def test_regression_preparation_round_trips_and_a_python_save_writes_none(tmp_path):
    net = fastprop.Network([3, 2], seed=1, output="identity", loss="mse")
    write_model(tmp_path / "r.npz", net.sizes, net.dtype, net.loss, net.weights, net.biases,
                output_names=["u", "v"], activations=[], output="identity", task="regress")
    model = read_model(tmp_path / "r.npz")
    assert model.task == "regress" and model.classes is None and model.input_mean is None
    assert model.target_mean is None
    write_model(tmp_path / "r.npz", net.sizes, net.dtype, net.loss, net.weights, net.biases,
                activations=[], output="identity", task="regress", target_mean=[150.0, -1.0],
                target_scale=[75.5, 2.0])
    model = read_model(tmp_path / "r.npz")
    np.testing.assert_array_equal(model.target_mean, [150.0, -1.0])
    np.testing.assert_array_equal(model.target_scale, [75.5, 2.0])
    arrays = saved_arrays(tmp_path / "r.npz")
    arrays["target_scale"] = np.array([1.0, -2.0])
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError, match="bad.npz: 'target_scale' holds values <= 0"):
        read_model(tmp_path / "bad.npz")
    arrays["target_scale"] = np.ones(3)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError, match=r"bad.npz: array target_scale has shape \(3,\), "
                                             r"but a 3-2 network needs \(2,\)"):
        read_model(tmp_path / "bad.npz")
    net.save(tmp_path / "plain.npz")
    assert not set(saved_arrays(tmp_path / "plain.npz")) & set(persistence._PREPARATION_KEYS)
    assert read_model(tmp_path / "plain.npz").task is None


@pytest.mark.parametrize("preparation, error, message", [
    ({"task": "cluster"}, ValueError, "task must be one of 'regress', 'classify'"),
    ({"task": "regress", "input_mean": [0, 0, 0]}, ValueError, "input_mean and input_scale go"),
    ({"task": "regress", "input_mean": [0, 0], "input_scale": [1, 1]}, ValueError,
     r"input_mean must hold one number per input \(3\)"),
    ({"task": "regress", "input_mean": [0, 0, 0], "input_scale": [1, 0, 1]}, ValueError,
     "input_scale must hold finite numbers > 0"),
    ({"task": "classify", "classes": ["a", "b"]}, ValueError, "needs classes and class_column"),
    ({"task": "classify", "class_column": "c", "classes": ["a", "b", "c"]}, ValueError,
     "classifies 2 classes, got 3"),
    ({"task": "classify", "class_column": "c", "classes": ["a", "a"]}, ValueError,
     "classes must be distinct"),
    ({"task": "classify", "class_column": "c", "classes": ["a", 1]}, TypeError,
     "all strings or all integers"),
    ({"classes": ["a", "b"]}, ValueError, "need a task"),
    ({"task": "classify", "class_column": "c", "classes": ["a", "b"], "target_mean": [0, 0],
      "target_scale": [1, 1]}, ValueError, "target_mean and target_scale belong to task 'regress'"),
])
def test_write_model_checks_the_preparation(tmp_path, preparation, error, message):
    with pytest.raises(error, match=message):
        write_prepared(tmp_path / "m.npz", **preparation)
    assert not (tmp_path / "m.npz").exists()


def rewrite_prepared(tmp_path, **changes):
    good = tmp_path / "good.npz"
    write_prepared(good, task="classify", input_mean=[0.0, 1.0, 2.0],
                   input_scale=[1.0, 1.0, 2.0], class_column="label", classes=["a", "b"])
    arrays = saved_arrays(good)
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    np.savez(tmp_path / "bad.npz", **arrays)
    return tmp_path / "bad.npz"


@pytest.mark.parametrize("changes, message", [
    ({"task": None}, "it has input_mean, input_scale, class_column, classes, classes_kind "
                     "without 'task'"),
    ({"target_mean": np.zeros(2), "target_scale": np.ones(2)},
     "task 'classify' with target_mean and target_scale"),
    ({"task": np.str_("cluster")}, "unknown task 'cluster'"),
    ({"task": np.array(["classify"])}, "'task' must be a string"),
    ({"input_scale": None}, "it has 'input_mean' without 'input_scale'"),
    ({"input_scale": np.array([1.0, 0.0, 1.0])}, "'input_scale' holds values <= 0"),
    ({"input_mean": np.array([1.0, np.nan, 1.0])}, "'input_mean' holds non-finite values"),
    ({"input_mean": np.zeros(3, dtype=np.float32)},
     "array input_mean has dtype float32, but the file says float64"),
    ({"input_mean": np.zeros(4)}, r"array input_mean has shape \(4,\), but a 3-4-2 network "
                                  r"needs \(3,\)"),
    ({"classes": np.array(["a", "b", "c"])}, "'classes' must hold 2 strings"),
    ({"classes": np.array([0, 1])}, "'classes' must hold 2 strings"),
    ({"classes": np.array(["a", "a"])}, "'classes' names a class more than once"),
    ({"classes_kind": np.str_("int")}, "'classes' of kind 'int' must hold integers"),
    ({"classes_kind": np.str_("float")}, "'classes_kind' must be 'str' or 'int'"),
    ({"class_column": None}, "task 'classify' without class_column"),
    ({"task": np.str_("regress")}, "task 'regress' with class_column, classes, classes_kind"),
    ({"classes": np.array(["a", "b"], dtype=object)}, r"holds pickled \(object\) data"),
])
def test_bad_preparation_entries_are_refused(tmp_path, changes, message):
    with pytest.raises(ModelFileError, match="bad.npz: " + message):
        read_model(rewrite_prepared(tmp_path, **changes))


def test_a_huge_classes_entry_is_refused_before_its_data_is_read(tmp_path):
    bad = _with_npy_shape(tmp_path, "classes", (99999999,))   # 4 GB of <U10 declared
    tracemalloc.start()
    with pytest.raises(ModelFileError, match=r"'classes' must hold 2 strings, got dtype <U1 "
                                             r"and shape \(99999999,\)"):
        read_model(bad)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10_000_000


def _with_npy_shape(tmp_path, key, shape):
    """A prepared model file whose member key declares another shape in its .npy header (the
    data left as they are), written with zipfile as np.savez writes members (stored)."""
    good = rewrite_prepared(tmp_path)
    out = tmp_path / "shape.npz"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == f"{key}.npy":
                stream = io.BytesIO(data)
                version = np.lib.format.read_magic(stream)
                _, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
                body = data[stream.tell():]
                header = io.BytesIO()
                np.lib.format.write_array_header_1_0(
                    header, {"descr": np.lib.format.dtype_to_descr(dtype),
                             "fortran_order": fortran, "shape": shape})
                data = header.getvalue() + body
            target.writestr(info.filename, data)
    return out
