"""fastprop.to_onnx, fastprop.to_torch and Network.from_torch (fastprop.export).

The outputs of onnxruntime and of PyTorch are compared with Network.forward within 1e-6
(float32) and 1e-12 (float64) relative to the magnitude of the outputs compared: the
kernels, onnxruntime's MLAS and PyTorch sum each layer's products in different orders,
and each is within a few units of roundoff of the exact sum relative to the sum of the
magnitudes of its terms (measured against float64 sums of the same float32 weights: 1e-7
to 5e-7 of the outputs' magnitude for both). An output that is near zero by
cancellation (an identity output) carries that absolute error, so compared with its own
tiny value it can differ by far more than 1e-6; the bound is therefore
rtol * (|expected| + max |expected|).
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastprop
from fastprop import Network
from fastprop.export import network_from_torch

RTOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}
HIDDEN = ("sigmoid", "tanh", "relu", "identity")
OUTPUTS = {"sigmoid": "sse", "identity": "mse", "softmax": "cross_entropy"}
# Layer widths, input first: width 1 everywhere it can be, and random ones (drawn per test).
FIXED_SIZES = ([1, 1], [1, 1, 1], [4, 1, 3], [1, 7, 1, 2])


def assert_outputs_close(actual, expected, dtype):
    """Same shape and dtype; |actual - expected| <= rtol * (|expected| + max |expected|)."""
    actual = np.asarray(actual)
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype == dtype
    rtol = RTOL[np.dtype(dtype)]
    scale = float(np.abs(expected).max())
    error = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    bound = rtol * (np.abs(expected.astype(np.float64)) + scale)
    assert np.all(error <= bound), f"worst error {error.max():.3g} against scale {scale:.3g}"


def layer_sizes(rng, output):
    """FIXED_SIZES and three random shapes; a softmax output gets at least 2 units."""
    drawn = [[int(width) for width in rng.integers(1, 40, size=rng.integers(2, 5))]
             for _ in range(3)]
    sizes = [list(sizes) for sizes in FIXED_SIZES] + drawn
    if output == "softmax":
        for widths in sizes:
            widths[-1] = max(widths[-1], 2)
    return sizes


def networks(dtype, activation, output, seed):
    """(network, X) pairs: every shape of layer_sizes, batches of 1 and of a random size;
    the initial weights (Glorot or He) and random biases. (Weights made much larger make
    the hidden layers' sums large and cancelling: there float32 itself cannot give 1e-6,
    and onnxruntime, PyTorch and the kernels each differ from the exact result by up to
    1e-5 in float32; wide_range_networks reaches the functions' extremes instead.)"""
    rng = np.random.default_rng(seed)
    for index, sizes in enumerate(layer_sizes(rng, output)):
        net = Network(sizes, seed=seed + index, dtype=dtype, activation=activation,
                      output=output, loss=OUTPUTS[output])
        net = Network.from_weights(net.weights,
                                   [rng.normal(scale=0.5, size=b.shape) for b in net.biases],
                                   loss=net.loss, dtype=dtype, activation=activation,
                                   output=output)
        for batch in (1, int(rng.integers(2, 60))):
            yield net, rng.normal(size=(batch, sizes[0])).astype(dtype)


def wide_range_networks(dtype, activation, output):
    """(network, X): one input, pre-activations from -60 to 60 in every layer (each the
    product of one input and one weight, or of one hidden unit and one weight: no sum
    that cancels), so that the functions are compared in saturation too."""
    n_out = 3 if output == "softmax" else 2
    weights = [np.array([[1.0], [-1.0], [0.5]]), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
                                                          + ([[0.0, 0.0, -1.0]] if n_out == 3
                                                             else []))]
    net = Network.from_weights(weights, [np.zeros(3), np.zeros(n_out)], loss=OUTPUTS[output],
                               dtype=dtype, activation=activation, output=output)
    X = np.linspace(-60, 60, 241).reshape(-1, 1).astype(dtype)
    return net, X


def activation_pattern_networks(dtype):
    """Networks whose hidden layers differ, layer by layer."""
    for index, output in enumerate(OUTPUTS):
        activation = list(HIDDEN[index:] + HIDDEN[:index])
        net = Network([3, 5, 4, 6, 2, 2], seed=index, dtype=dtype, activation=activation,
                      output=output, loss=OUTPUTS[output])
        yield net, np.random.default_rng(index).normal(size=(9, 3)).astype(dtype)


def hidden_functions(net):
    activation = net.activation
    return [activation] * (len(net.sizes) - 2) if isinstance(activation, str) else activation


# ----------------------------------------------------------------------------- ONNX
@pytest.fixture
def onnxruntime():
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


def run_onnx(onnxruntime, model, X):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {"input": X})
    return output


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_onnx_outputs_are_forward(onnxruntime, dtype, activation, output):
    for net, X in networks(dtype, activation, output, seed=HIDDEN.index(activation)):
        assert_outputs_close(run_onnx(onnxruntime, fastprop.to_onnx(net), X), net.forward(X),
                             dtype)


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_onnx_functions_over_a_wide_range(onnxruntime, dtype, activation, output):
    net, X = wide_range_networks(dtype, activation, output)
    assert_outputs_close(run_onnx(onnxruntime, fastprop.to_onnx(net), X), net.forward(X), dtype)


def test_onnx_per_layer_activations(onnxruntime, dtype):
    for net, X in activation_pattern_networks(dtype):
        assert_outputs_close(run_onnx(onnxruntime, fastprop.to_onnx(net), X), net.forward(X),
                             dtype)


def test_onnx_graph_layout(onnxruntime, dtype):
    import onnx
    from onnx import numpy_helper

    net = Network([3, 5, 4, 2], seed=0, dtype=dtype, activation=["relu", "identity"],
                  output="softmax", loss="cross_entropy")
    model = fastprop.to_onnx(net)
    assert [node.op_type for node in model.graph.node] == ["Gemm", "Relu", "Gemm", "Gemm",
                                                           "Softmax"]
    gemms = [node for node in model.graph.node if node.op_type == "Gemm"]
    for node in gemms:
        assert {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute} == {
            "transB": 1}
    softmax = model.graph.node[-1]
    assert [(a.name, a.i) for a in softmax.attribute] == [("axis", -1)]
    stored = {tensor.name: numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    for layer, (weights, biases) in enumerate(zip(net.weights, net.biases)):
        for name, array in ((f"layer{layer}.weight", weights), (f"layer{layer}.bias", biases)):
            assert stored[name].dtype == dtype
            np.testing.assert_array_equal(stored[name], array)       # bit for bit
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 21)]
    assert model.ir_version == 10
    element = onnx.TensorProto.FLOAT if dtype == np.float32 else onnx.TensorProto.DOUBLE
    for value, name, width in ((model.graph.input[0], "input", 3),
                               (model.graph.output[0], "output", 2)):
        assert value.name == name
        assert value.type.tensor_type.elem_type == element
        batch, features = value.type.tensor_type.shape.dim
        assert batch.dim_param == "batch" and features.dim_value == width
    onnx.checker.check_model(model, full_check=True)


def test_onnx_batch_is_dynamic(onnxruntime):
    net = Network([2, 3, 1], seed=1)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(fastprop.to_onnx(net).SerializeToString(), options)
    for batch in (1, 2, 17):
        X = np.random.default_rng(batch).normal(size=(batch, 2))
        (output,) = session.run(None, {"input": X})
        assert output.shape == (batch, 1)
        np.testing.assert_allclose(output, net.forward(X), rtol=1e-12, atol=0)


def test_onnx_writes_the_file(onnxruntime, tmp_path):
    import onnx

    net = Network([2, 2, 1], seed=2, dtype=np.float32)
    for path in (tmp_path / "as_path.onnx", str(tmp_path / "as_str.onnx")):
        model = fastprop.to_onnx(net, path)
        assert os.path.isfile(path)
        assert onnx.load(path) == model
        X = np.array([[0.5, -0.25]], dtype=np.float32)
        session = onnxruntime.InferenceSession(os.fspath(path))
        assert_outputs_close(session.run(None, {"input": X})[0], net.forward(X), np.float32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["as_path.onnx", "as_str.onnx"]
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "as_path.onnx").stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(tmp_path / "as_path.onnx", 0o640)
    fastprop.to_onnx(Network([2, 1], seed=3), tmp_path / "as_path.onnx")      # replaced
    assert len(onnx.load(tmp_path / "as_path.onnx").graph.node) == 2
    assert (tmp_path / "as_path.onnx").stat().st_mode & 0o777 == 0o640      # kept


def test_onnx_refuses_bad_paths_before_any_work(onnxruntime, tmp_path, monkeypatch):
    from fastprop import export

    net = Network([2, 1], seed=0)
    calls = []
    monkeypatch.setattr(export, "_require_onnx", lambda: calls.append(1))
    with pytest.raises(ValueError, match="directory .*missing.* does not exist"):
        fastprop.to_onnx(net, tmp_path / "missing" / "model.onnx")
    with pytest.raises(ValueError, match="is a directory, not a file"):
        fastprop.to_onnx(net, tmp_path)
    with pytest.raises(TypeError, match="path must be None, a str or an os.PathLike, got 3"):
        fastprop.to_onnx(net, 3)
    with pytest.raises(TypeError, match="path must name a file .*got ''"):
        fastprop.to_onnx(net, "")
    assert calls == []
    assert list(tmp_path.iterdir()) == []


def test_onnx_failed_write_leaves_no_file(onnxruntime, tmp_path, monkeypatch):
    def fail(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        fastprop.to_onnx(Network([2, 1], seed=0), tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_onnx_import_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "\.\[onnx\]"') as raised:
        fastprop.to_onnx(Network([2, 1], seed=0))
    assert "pip install fastprop" not in str(raised.value)


def test_import_fastprop_imports_neither_onnx_nor_torch():
    code = ("import sys, fastprop; "
            "print(sorted(m for m in ('onnx', 'onnxruntime', 'torch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("model", [object(), "network", None, [np.ones((1, 1))]],
                         ids=["object", "str", "None", "list"])
def test_onnx_refuses_other_objects(model):
    with pytest.raises(TypeError, match="to_onnx takes a fastprop.Network or a fitted "
                                        "fastprop.sklearn.NetworkClassifier"):
        fastprop.to_onnx(model)


# ------------------------------------------------------------------ scikit-learn estimators
def fitted(estimator_class, X, y, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # a short fit does not converge: not the point
        return estimator_class(hidden_layer_sizes=(6, 3), max_iter=15, random_state=0,
                               dtype=dtype).fit(X, y)


def estimator_targets(rng, n):
    return {
        "binary": rng.integers(0, 2, n),
        "multiclass": np.array(["cat", "dog", "eel", "fox"])[rng.integers(0, 4, n)],
        "multilabel": rng.integers(0, 2, (n, 3)),
        "single": rng.normal(size=n),
        "single column": rng.normal(size=(n, 1)),
        "multi-output": rng.normal(size=(n, 3)),
    }


@pytest.mark.parametrize("problem", ["binary", "multiclass", "multilabel", "single",
                                     "single column", "multi-output"])
def test_onnx_of_estimators_is_predict_proba_or_predict(onnxruntime, dtype, problem):
    sklearn = pytest.importorskip("sklearn")  # noqa: F841
    from fastprop.sklearn import NetworkClassifier, NetworkRegressor

    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 4))
    y = estimator_targets(rng, 50)[problem]
    classify = problem in ("binary", "multiclass", "multilabel")
    estimator = fitted(NetworkClassifier if classify else NetworkRegressor, X, y, dtype)
    model = fastprop.to_onnx(estimator)
    name = "probabilities" if classify else "predictions"
    assert [output.name for output in model.graph.output] == [name]
    for rows in (X, X[:1]):
        expected = estimator.predict_proba(rows) if classify else estimator.predict(rows)
        got = run_onnx(onnxruntime, model, rows.astype(dtype))
        assert_outputs_close(got, expected, dtype)
    expected_shape = {"binary": (50, 2), "multiclass": (50, 4), "multilabel": (50, 3),
                      "single": (50,), "single column": (50,), "multi-output": (50, 3)}
    assert got.shape[1:] == expected_shape[problem][1:]


def test_onnx_refuses_unfitted_estimators():
    pytest.importorskip("sklearn")
    from fastprop.sklearn import NetworkClassifier, NetworkRegressor

    for estimator in (NetworkClassifier(), NetworkRegressor()):
        with pytest.raises(ValueError, match=f"this {type(estimator).__name__} is not "
                                             "fitted yet: call fit before to_onnx"):
            fastprop.to_onnx(estimator)


def test_onnx_refuses_scikit_learns_own_estimators():
    pytest.importorskip("sklearn")
    from sklearn.neural_network import MLPClassifier

    with pytest.raises(TypeError, match="got sklearn.neural_network.*MLPClassifier"):
        fastprop.to_onnx(MLPClassifier())


# ---------------------------------------------------------------------------- PyTorch
@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def from_torch(module, **options):
    """Network.from_torch, which network.py delegates to fastprop.export.network_from_torch."""
    if not hasattr(Network, "from_torch"):
        pytest.fail("Network.from_torch is missing: network.py should delegate it to "
                    "fastprop.export.network_from_torch")
    return Network.from_torch(module, **options)


def torch_outputs(torch, module, X):
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_torch_outputs_are_forward(torch, dtype, activation, output):
    expected_function = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh,
                         "relu": torch.nn.ReLU, "identity": torch.nn.Identity}
    for net, X in networks(dtype, activation, output, seed=10 + HIDDEN.index(activation)):
        module = fastprop.to_torch(net)
        kinds = [type(child) for child in module]
        n_layers = len(net.sizes) - 1
        expected = []
        for _ in range(n_layers - 1):
            expected += [torch.nn.Linear, expected_function[activation]]
        expected += [torch.nn.Linear] + {"sigmoid": [torch.nn.Sigmoid], "identity": [],
                                         "softmax": [torch.nn.Softmax]}[output]
        assert kinds == expected
        if output == "softmax":
            assert module[-1].dim == -1
        for parameter in module.parameters():
            assert parameter.dtype == (torch.float32 if dtype == np.float32 else torch.float64)
        assert_outputs_close(torch_outputs(torch, module, X), net.forward(X), dtype)


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_torch_functions_over_a_wide_range(torch, dtype, activation, output):
    net, X = wide_range_networks(dtype, activation, output)
    assert_outputs_close(torch_outputs(torch, fastprop.to_torch(net), X), net.forward(X), dtype)


def test_torch_per_layer_activations(torch, dtype):
    for net, X in activation_pattern_networks(dtype):
        assert_outputs_close(torch_outputs(torch, fastprop.to_torch(net), X), net.forward(X),
                             dtype)


@pytest.mark.parametrize("output", OUTPUTS)
def test_round_trip_network_torch_network_is_bit_exact(torch, dtype, output):
    for activation in HIDDEN + ("mixed",):
        for net, X in networks(dtype, "sigmoid" if activation == "mixed" else activation,
                               output, seed=20):
            if activation == "mixed":
                n_hidden = len(net.sizes) - 2
                net = Network.from_weights(net.weights, net.biases, loss=net.loss,
                                           activation=list((HIDDEN * 3)[:n_hidden]),
                                           output=output)
            back = from_torch(fastprop.to_torch(net))
            assert back.sizes == net.sizes and back.dtype == net.dtype
            assert back.output == net.output and back.loss == OUTPUTS[output]
            assert hidden_functions(back) == hidden_functions(net)
            for ours, theirs in zip(net.weights + net.biases, back.weights + back.biases):
                assert theirs.dtype == ours.dtype
                np.testing.assert_array_equal(theirs, ours)
            np.testing.assert_array_equal(back.forward(X), net.forward(X))


def test_from_torch_reads_what_torch_computes(torch, dtype):
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(3, 6, bias=False, dtype=torch_dtype),       # zero biases
        torch.nn.Linear(6, 4, dtype=torch_dtype),                   # nothing: identity
        torch.nn.ReLU(inplace=True),
        torch.nn.Linear(4, 4, dtype=torch_dtype),
        torch.nn.Identity(),
        torch.nn.Linear(4, 3, dtype=torch_dtype),
        torch.nn.Softmax(dim=1))
    net = from_torch(module)
    assert net.sizes == (3, 6, 4, 4, 3) and net.dtype == dtype
    assert net.activation == ["identity", "relu", "identity"]
    assert net.output == "softmax" and net.loss == "cross_entropy"
    np.testing.assert_array_equal(net.biases[0], np.zeros(6, dtype=dtype))
    X = np.random.default_rng(1).normal(size=(7, 3)).astype(dtype)
    assert_outputs_close(net.forward(X), torch_outputs(torch, module, X), dtype)
    # and back to torch: the same parameters, bit for bit (the missing bias as zeros)
    linears = [child for child in module if isinstance(child, torch.nn.Linear)]
    again = [child for child in fastprop.to_torch(net) if isinstance(child, torch.nn.Linear)]
    for original, copy in zip(linears, again, strict=True):
        assert torch.equal(copy.weight, original.weight)
        bias = original.bias if original.bias is not None else torch.zeros_like(copy.bias)
        assert torch.equal(copy.bias, bias)


def test_from_torch_outputs_and_losses(torch):
    linear = torch.nn.Linear(2, 3)
    cases = [((linear,), "identity", "mse"), ((linear, torch.nn.Identity()), "identity", "mse"),
             ((linear, torch.nn.Sigmoid()), "sigmoid", "sse"),
             ((linear, torch.nn.Softmax(dim=-1)), "softmax", "cross_entropy")]
    for modules, output, loss in cases:
        net = from_torch(torch.nn.Sequential(*modules))
        assert (net.output, net.loss, net.sizes) == (output, loss, (2, 3))
    sigmoid = torch.nn.Sequential(linear, torch.nn.Sigmoid())
    assert from_torch(sigmoid, loss="bce").loss == "bce"
    assert from_torch(sigmoid, loss="mse").loss == "mse"
    with pytest.raises(ValueError, match="output='sigmoid' does not go with "
                                         "loss='cross_entropy'"):
        from_torch(sigmoid, loss="cross_entropy")


def test_from_torch_dtype_converts(torch):
    module = torch.nn.Sequential(torch.nn.Linear(2, 3, dtype=torch.float16),
                                 torch.nn.Tanh(), torch.nn.Linear(3, 1, dtype=torch.float64))
    net = from_torch(module, dtype=np.float64)
    assert net.dtype == np.float64
    np.testing.assert_array_equal(net.weights[0],
                                  module[0].weight.detach().to(torch.float64).numpy())
    assert from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2, dtype=torch.float64)),
                      dtype=np.float32).dtype == np.float32


def test_network_from_torch_is_network_from_torch(torch):
    module = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid())
    direct = network_from_torch(module)
    through_network = from_torch(module)
    assert repr(direct) == repr(through_network)


def refused_sequential(case, torch):
    """The module of a refusal case: a Sequential made of torch.nn's modules (nn)."""
    nn = torch.nn
    linear = nn.Linear(2, 3)
    my_relu = type("MyReLU", (nn.ReLU,), {})
    return {
        "not a Sequential": lambda: nn.Linear(2, 3),
        "ModuleList": lambda: nn.ModuleList([linear]),
        "empty": lambda: nn.Sequential(),
        "Dropout": lambda: nn.Sequential(linear, nn.Dropout(0.1), nn.Linear(3, 1)),
        "LogSoftmax": lambda: nn.Sequential(linear, nn.LogSoftmax(dim=1)),
        "nested": lambda: nn.Sequential(linear, nn.Sequential(nn.ReLU()), nn.Linear(3, 1)),
        "LeakyReLU": lambda: nn.Sequential(linear, nn.LeakyReLU(), nn.Linear(3, 1)),
        "subclass": lambda: nn.Sequential(linear, my_relu(), nn.Linear(3, 1)),
        "LazyLinear": lambda: nn.Sequential(nn.LazyLinear(3)),
        "activation first": lambda: nn.Sequential(nn.ReLU(), linear),
        "two activations": lambda: nn.Sequential(linear, nn.ReLU(), nn.Tanh(), nn.Linear(3, 1)),
        "Identity then Sigmoid": lambda: nn.Sequential(linear, nn.Identity(), nn.Sigmoid()),
        "widths": lambda: nn.Sequential(linear, nn.Linear(4, 1)),
        "Softmax dim 0": lambda: nn.Sequential(linear, nn.Softmax(dim=0)),
        "Softmax without dim": lambda: nn.Sequential(linear, nn.Softmax()),
        "Softmax inside": lambda: nn.Sequential(linear, nn.Softmax(dim=-1), nn.Linear(3, 1)),
        "final ReLU": lambda: nn.Sequential(linear, nn.ReLU()),
        "final Tanh": lambda: nn.Sequential(linear, nn.Tanh()),
        "softmax of one": lambda: nn.Sequential(nn.Linear(2, 1), nn.Softmax(dim=-1)),
        "float16": lambda: nn.Sequential(nn.Linear(2, 3, dtype=torch.float16)),
        "complex": lambda: nn.Sequential(nn.Linear(2, 3, dtype=torch.complex64)),
        "meta": lambda: nn.Sequential(nn.Linear(2, 3, device="meta")),
        "mixed dtypes": lambda: nn.Sequential(linear, nn.Linear(3, 1, dtype=torch.float64)),
    }[case]()


# (case of refused_sequential, exception, message)
REFUSALS = [
    ("not a Sequential", TypeError,
     "module must be a torch.nn.Sequential .* got torch.nn.modules.linear.Linear"),
    ("ModuleList", TypeError, "module must be a torch.nn.Sequential"),
    ("empty", ValueError, "module is an empty Sequential"),
    ("Dropout", TypeError,
     r"module 1 of the Sequential \('1': Dropout\(p=0.1.*\) is not supported"),
    ("LogSoftmax", TypeError,
     r"module 1 of the Sequential \('1': LogSoftmax\(dim=1\)\) is not supported"),
    ("nested", TypeError,
     r"module 1 .*'1': Sequential\(\.\.\.\)\) is not supported \(a nested module: flatten"),
    ("LeakyReLU", TypeError, r"module 1 .*LeakyReLU.*is not supported"),
    ("subclass", TypeError, r"module 1 .*'1': MyReLU\(\)\) is not supported"),
    ("LazyLinear", TypeError, r"module 0 .*LazyLinear.*is not supported"),
    ("activation first", ValueError, r"module 0 .*ReLU.* comes before any Linear layer"),
    ("two activations", ValueError, r"module 2 .*Tanh.* follows another activation \(relu\)"),
    ("Identity then Sigmoid", ValueError,
     r"module 2 .*Sigmoid.* follows another activation \(identity\)"),
    ("widths", ValueError, r"module 1 .*takes 4 inputs, but the Linear before it has 3 outputs"),
    ("Softmax dim 0", ValueError,
     r"module 1 .*Softmax\(dim=0\).*Softmax\(dim=-1\) \(or dim=1\), got dim=0"),
    ("Softmax without dim", ValueError, r"module 1 .*got dim=None"),
    ("Softmax inside", ValueError, r"module 1 .*a Softmax may only end the Sequential"),
    ("final ReLU", ValueError,
     r"module 1 .*'1': ReLU\(\)\) follows the last Linear, but relu is not an output"),
    ("final Tanh", ValueError, r"module 1 .*but tanh is not an output"),
    ("softmax of one", ValueError, "output='softmax' needs at least 2 outputs"),
    ("float16", TypeError, r"module 0 .*holds torch.float16 parameters; .*pass dtype="),
    ("complex", TypeError,
     r"module 0 .*holds torch.complex64 parameters; fastprop takes float32 or float64$"),
    ("meta", ValueError, r"module 0 .*has no weights to read \(device meta\)"),
    ("mixed dtypes", TypeError, "module mixes float32 and float64 parameters; pass dtype="),
]


@pytest.mark.parametrize("case, exception, message", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_from_torch_refusals(torch, case, exception, message):
    with pytest.raises(exception, match=message) as raised:
        from_torch(refused_sequential(case, torch))
    assert "\n" not in str(raised.value)


def test_from_torch_refuses_bad_dtypes(torch):
    module = torch.nn.Sequential(torch.nn.Linear(2, 3))
    with pytest.raises(ValueError, match="dtype must be numpy.float32, numpy.float64 or None, "
                                         "got <class 'numpy.int32'>"):
        from_torch(module, dtype=np.int32)
    with pytest.raises(ValueError, match="dtype must be .* got 'float16'"):
        from_torch(module, dtype="float16")


def test_from_torch_refuses_non_finite_weights(torch):
    module = torch.nn.Sequential(torch.nn.Linear(2, 3))
    with torch.no_grad():
        module[0].weight[1, 0] = float("nan")
    with pytest.raises(ValueError, match=r"module 0 of the Sequential \('0': Linear\(.*\)\) has "
                                         "a weight that is NaN or infinite"):
        from_torch(module)
    with torch.no_grad():
        module[0].weight[1, 0] = 0.0
        module[0].bias[2] = float("inf")
    with pytest.raises(ValueError, match=r"module 0 .* has a bias that is NaN or infinite"):
        from_torch(module)


def test_to_torch_refuses_other_objects(torch):
    with pytest.raises(TypeError, match="to_torch takes a fastprop.Network, got builtins.object$"):
        fastprop.to_torch(object())


def test_to_torch_refuses_estimators_and_names_network_(torch):
    pytest.importorskip("sklearn")
    from fastprop.sklearn import NetworkRegressor

    rng = np.random.default_rng(0)
    estimator = fitted(NetworkRegressor, rng.normal(size=(20, 2)), rng.normal(size=20),
                       np.float64)
    with pytest.raises(TypeError, match="pass its network_"):
        fastprop.to_torch(estimator)
    with pytest.raises(TypeError, match="pass its network_"):
        fastprop.to_torch(NetworkRegressor())
    module = fastprop.to_torch(estimator.network_)
    X = rng.normal(size=(5, 2))
    assert_outputs_close(torch_outputs(torch, module, X).ravel(), estimator.predict(X),
                         np.float64)


def test_torch_import_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="needs PyTorch") as raised:
        fastprop.to_torch(Network([2, 1], seed=0))
    assert "pip install torch" in str(raised.value)
    with pytest.raises(ImportError, match="needs PyTorch"):
        network_from_torch(None)


# ----------------------------------------------------------------------------- README
def test_the_readme_export_example_prints_what_it_says(onnxruntime, torch, tmp_path,
                                                       monkeypatch):
    import contextlib
    import io
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    heading = "## Export: ONNX and PyTorch"
    if heading not in readme:
        pytest.fail(f"README.md has no section {heading!r} (its text is in the report of "
                    "the export work)")
    section = readme[readme.index(heading):]
    section = section[:section.find("\n## ", len(heading))]
    (example,) = re.findall(r"```python\n(.*?)```", section, re.S)
    stated = re.search(r"prints\n```\n(.*?)```", section, re.S).group(1).splitlines()
    monkeypatch.chdir(tmp_path)                     # xor.onnx is written here
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, "README: export", "exec"), {})
    got = printed.getvalue().splitlines()
    assert len(got) == len(stated)
    for line, expected in zip(got, stated):
        if line.startswith("["):
            np.testing.assert_allclose(np.array(line[1:-1].split(), dtype=float),
                                       np.array(expected[1:-1].split(), dtype=float),
                                       rtol=1e-6)
        else:
            assert line == expected
    assert (tmp_path / "xor.onnx").is_file()
