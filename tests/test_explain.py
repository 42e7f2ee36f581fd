"""fastprop.explain against the tutorials' worked examples, number for number.

The tutorials (Step by Step, NumPy XOR, Forward & Backpropagation) and their
errata are described in docs/worked-examples.md. Each figure a tutorial prints
is checked as a string: the exact value fastprop computes must round to it at
the digits the tutorial printed. Where a tutorial's own arithmetic is wrong, the
comment says which figure differs and why, and the test checks the correct
value instead.
"""
import math
import re
from decimal import Decimal

import numpy as np
import pytest

import fastprop
from fastprop import cli, reference
from fastprop.examples import (
    network_from_example,
    seed_000_example_1,
    seed_000_example_2,
    seed_002,
)


def rounds_to(exact: float, printed: str) -> bool:
    """Whether ``exact`` rounded to the decimals of ``printed`` gives ``printed``."""
    decimals = -Decimal(printed).as_tuple().exponent
    return abs(exact - float(printed)) <= 0.5 * 10.0 ** -decimals * (1 + 1e-9)


def assert_printed(exact: float, printed: str, what: str):
    assert rounds_to(exact, printed), (
        f"{what}: fastprop computes {exact!r}, the tutorial prints {printed}")


def half_unit(printed: str) -> float:
    return 0.5 * 10.0 ** Decimal(printed).as_tuple().exponent


def trace_of(example):
    net = network_from_example(example)
    return fastprop.explain(net, example.x, example.y, example.lr)


# ------------------------------------------ Forward & Backpropagation tutorial
@pytest.fixture(scope="module")
def trace_002():
    return trace_of(seed_002())


def test_seed_002_forward_pass_and_loss(trace_002):
    h1, h2, out = trace_002.neuron("h1"), trace_002.neuron("h2"), trace_002.neuron("out")
    assert_printed(h1.z, "0.3775", "z_h1")
    assert_printed(h2.z, "0.3925", "z_h2")
    assert_printed(h1.a, "0.5933", "a_h1")
    assert_printed(h2.a, "0.5969", "a_h2")
    assert_printed(out.z, "1.1059", "z_out")
    assert_printed(out.a, "0.7514", "y_hat")
    assert trace_002.outputs == (out.a,)
    assert_printed(trace_002.loss, "0.2748", "Loss")


def test_seed_002_deltas(trace_002):
    h1, h2, out = trace_002.neuron("h1"), trace_002.neuron("h2"), trace_002.neuron("out")
    assert_printed(out.dL_da, "0.7414", "dL/dy_hat")
    assert_printed(out.da_dz, "0.1868", "dy_hat/dz_out")
    assert_printed(out.delta, "0.1385", "0.7414 * 0.1868")
    assert_printed(h1.dL_da, "0.0554", "0.1385 * 0.40")
    assert_printed(h2.dL_da, "0.0623", "0.1385 * 0.45")
    assert_printed(h1.da_dz, "0.2413", "da_h1/dz_h1")
    # Erratum: the tutorial prints 0.5969 * 0.4031 ≈ 0.2407; that product is 0.24061,
    # and the exact a_h2 (1 − a_h2) = 0.240613.
    assert_printed(h2.da_dz, "0.2406", "da_h2/dz_h2")
    assert not rounds_to(h2.da_dz, "0.2407")
    assert_printed(h1.delta, "0.0134", "dLoss/db1 from h1")
    assert_printed(h2.delta, "0.0150", "dLoss/db1 from h2")


def test_seed_002_chain_rule_factors_of_w1_are_the_tutorials(trace_002):
    w1 = trace_002.parameter("w1")
    assert [f.symbol for f in w1.factors] == [
        "∂L/∂ŷ", "∂ŷ/∂z_out", "∂z_out/∂a_h1", "∂a_h1/∂z_h1", "∂z_h1/∂w1"]
    for factor, printed in zip(w1.factors, ["0.7414", "0.1868", "0.40", "0.2413", "0.05"]):
        assert_printed(factor.value, printed, factor.symbol)
    w5 = trace_002.parameter("w5")
    assert [f.symbol for f in w5.factors] == ["∂L/∂ŷ", "∂ŷ/∂z_out", "∂z_out/∂w5"]
    for factor, printed in zip(w5.factors, ["0.7414", "0.1868", "0.5933"]):
        assert_printed(factor.value, printed, factor.symbol)
    b2 = trace_002.parameter("b2[1]")
    assert [f.symbol for f in b2.factors] == ["∂L/∂ŷ", "∂ŷ/∂z_out", "∂z_out/∂b2[1]"]
    assert b2.factors[-1].value == 1.0
    for parameter in trace_002.weights + trace_002.biases:
        product = math.prod(f.value for f in parameter.factors)
        assert product == pytest.approx(parameter.gradient, rel=1e-14, abs=0)


def test_seed_002_weight_names_map_to_the_tutorial(trace_002):
    # The tutorial's names: w1: x1→h1, w2: x2→h1, w3: x1→h2, w4: x2→h2, w5: h1→out, w6: h2→out
    expected = {
        "w1": ("W1[1,1]", 1, 1, 1, "x1 → h1"), "w2": ("W1[1,2]", 1, 1, 2, "x2 → h1"),
        "w3": ("W1[2,1]", 1, 2, 1, "x1 → h2"), "w4": ("W1[2,2]", 1, 2, 2, "x2 → h2"),
        "w5": ("W2[1,1]", 2, 1, 1, "h1 → out"), "w6": ("W2[1,2]", 2, 1, 2, "h2 → out"),
    }
    assert [w.name for w in trace_002.weights] == list(expected)
    for weight in trace_002.weights:
        assert (weight.position, weight.layer, weight.to_neuron, weight.from_neuron,
                weight.connection) == expected[weight.name]
        assert trace_002.parameter(weight.position) is weight
    assert [b.name for b in trace_002.biases] == ["b1[1]", "b1[2]", "b2[1]"]
    with pytest.raises(KeyError, match="no weight or bias named 'w7'"):
        trace_002.parameter("w7")


def test_seed_002_gradients(trace_002):
    printed = {"w1": "0.00067", "w3": "0.00075", "w4": "0.00150", "w5": "0.0822", "w6": "0.0827"}
    for name, figure in printed.items():
        assert_printed(trace_002.parameter(name).gradient, figure, f"dL/d{name}")
    # Erratum: the tutorial prints dL/dw2 ≈ 0.00135 (from 0.0134 * 0.10, which is
    # 0.00134); the exact gradient is 0.0013368.
    assert_printed(trace_002.parameter("w2").gradient, "0.00134", "dL/dw2")
    assert_printed(trace_002.parameter("b2[1]").gradient, "0.1385", "dL/db2")


def test_seed_002_shared_hidden_bias_is_the_sum_of_the_per_neuron_biases(trace_002):
    hidden = trace_002.layers[0]
    assert hidden.biases_share_a_value
    assert not trace_002.layers[1].biases_share_a_value  # one bias: nothing to share
    assert_printed(hidden.biases[0].gradient, "0.0134", "dLoss/db1 from h1")
    assert_printed(hidden.biases[1].gradient, "0.0150", "dLoss/db1 from h2")
    assert_printed(hidden.bias_gradient_sum, "0.0284", "dLoss/db1 = 0.0134 + 0.0150")
    assert_printed(0.35 - 0.5 * hidden.bias_gradient_sum, "0.3358", "b1_new")
    text = " ".join(str(trace_002).split())  # paragraphs are wrapped
    assert ("Note: layer 1's biases all start at 0.35. Read as one bias b1 shared by h1, h2 "
            "(as the Forward & Backpropagation tutorial does), its gradient is the sum "
            "0.0133679 + 0.0149961 = 0.028364, "
            "and its update 0.35 − 0.5 · 0.028364 = 0.335818.") in text


def test_seed_002_updated_values(trace_002):
    # Figures in the text body, rounded correctly from the exact gradients:
    for name, figure in {"w5": "0.3589", "w6": "0.4087", "w4": "0.2993", "w3": "0.2496"}.items():
        assert_printed(trace_002.parameter(name).new, figure, f"{name}_new")
    # Erratum (rounding): the tutorial computes b2_new as 0.60 − 0.0693 = 0.5307,
    # rounding 0.5 · 0.1385 = 0.06925 up first; exact 0.530751, i.e. 0.5308.
    assert_printed(trace_002.parameter("b2[1]").new, "0.5308", "b2_new")
    # The final table computes old − 0.5 · (printed, rounded gradient), so each
    # of its figures may differ from the exact update by lr times that rounding.
    table = {"w6": ("0.0827", "0.40865"), "w5": ("0.0822", "0.35890"),
             "w4": ("0.00150", "0.29925"), "w3": ("0.00075", "0.249625"),
             "w2": ("0.00135", "0.199325"), "w1": ("0.00067", "0.149665")}
    for name, (gradient, new) in table.items():
        weight = trace_002.parameter(name)
        assert float(new) == pytest.approx(weight.old - 0.5 * float(gradient), abs=half_unit(new))
        explained = 0.5 * abs(weight.gradient - float(gradient)) + half_unit(new)
        assert abs(weight.new - float(new)) <= explained, name
    for parameter in trace_002.weights + trace_002.biases:
        assert parameter.new == parameter.old - 0.5 * parameter.gradient


def parse_last_table(text):
    """The rows of the last table of a plain-text trace, as lists of cells."""
    block = text.rstrip("\n").split("\n\n")[-1].splitlines()
    return [[cell.strip() for cell in line.split(" | ")] for line in block]


def test_seed_002_text_ends_with_the_weight_table(trace_002):
    text = str(trace_002)
    rows = parse_last_table(text)
    assert rows[0] == ["Weight", "Old Value", "Gradient", "New Value"]
    assert re.fullmatch(r"[-+]+", rows[1][0] + "+".join(rows[1][1:]))
    assert len(rows) == 2 + 6
    for row, weight in zip(rows[2:], trace_002.weights):
        assert row[0] == f"{weight.name} = {weight.position} ({weight.connection})"
        for cell, value in zip(row[1:], (weight.old, weight.gradient, weight.new)):
            assert float(cell) == float(f"{value:.6g}")
    assert rows[2] == ["w1 = W1[1,1] (x1 → h1)", "0.15", "0.000668396", "0.149666"]
    assert rows[7] == ["w6 = W2[1,2] (h2 → out)", "0.45", "0.0826676", "0.408666"]
    # Every figure the tutorial prints appears in the text at six significant digits:
    for figure in ["0.3775", "0.3925", "0.59327", "0.596884", "1.10591", "0.751365", "0.274811",
                   "0.741365", "0.186816", "0.241301", "0.240613", "0.138499", "0.0133679",
                   "0.0149961", "0.000668396", "0.00133679", "0.000749804", "0.00149961",
                   "0.082167", "0.0826676", "0.530751"]:
        assert figure in text


def test_seed_002_markdown(trace_002):
    markdown = trace_002.to_markdown()
    tables = [block for block in markdown.rstrip("\n").split("\n\n") if block.startswith("|")]
    assert markdown.rstrip("\n").split("\n\n")[-1] == tables[-1]
    last = tables[-1].splitlines()
    assert last[0] == "| Weight | Old Value | Gradient | New Value |"
    assert last[1] == "|---|---|---|---|"
    assert last[2] == "| w1 = W1[1,1] (x1 → h1) | 0.15 | 0.000668396 | 0.149666 |"
    assert len(last) == 8
    assert "| b1[1] (h1) | 0.35 | 0.0133679 | 0.343316 |" in markdown
    assert markdown.startswith("## One training step of a 2-2-1 sigmoid network")
    assert "`L = ½ (y − ŷ)² = ½ (0.01 − 0.751365)² = 0.274811`" in markdown


# ------------------------------------------------------- Step by Step tutorial
def test_seed_000_example_1_one_neuron():
    trace = trace_of(seed_000_example_1())  # y = 1.5, as every figure printed uses
    out = trace.neuron("out")
    assert_printed(out.z, "0.25", "z = 0.3 · 0.5 + 0.1")
    assert_printed(out.a, "0.56", "y_hat")
    assert_printed(trace.loss, "0.44", "L(1.5, 0.56)")
    w, b = trace.parameter("w1"), trace.parameter("b1[1]")
    assert [f.symbol for f in w.factors] == ["∂L/∂ŷ", "∂ŷ/∂z_out", "∂z_out/∂w1"]
    for factor, printed in zip(w.factors, ["-0.94", "0.25", "0.5"]):
        assert_printed(factor.value, printed, factor.symbol)
    assert [f.value for f in b.factors][-1] == 1.0
    # Erratum (rounding): the tutorial multiplies two-digit intermediates,
    # −0.94 · 0.25 · 0.5 = −0.1175 → −0.118 and −0.94 · 0.25 = −0.235, and then
    # b_new = 0.125. Exact: −0.115415, −0.23083, b_new = 0.12308 (to five
    # digits the weight's gradient is −0.11542; −0.11541 would be truncated).
    assert_printed(w.gradient, "-0.1154", "dL/dw")
    assert_printed(b.gradient, "-0.23083", "dL/db")
    assert_printed(b.new, "0.12308", "b_new")
    assert_printed(w.new, "0.312", "w_new")  # 0.311541, right as printed


def test_seed_000_example_2_two_neurons_in_a_chain():
    trace = trace_of(seed_000_example_2())
    hidden, out = trace.neuron("h1"), trace.neuron("out")
    assert_printed(hidden.z, "0.25", "z2")
    assert_printed(hidden.a, "0.56", "sigma(0.25)")
    assert_printed(out.z, "0.512", "z3")
    assert_printed(out.a, "0.625", "y_hat")
    assert_printed(trace.loss, "0.38", "L")
    assert_printed(out.dL_da, "-0.875", "dL/dy_hat")
    # Erratum: the tutorial evaluates σ'(z³) at 0.56 instead of z³ ≈ 0.512; at z³ it
    # is 0.2343, which happens to round to the same printed 0.23.
    assert_printed(out.da_dz, "0.23", "dy_hat/dz3")
    assert_printed(out.da_dz, "0.2343", "dy_hat/dz3 at z3")
    w1, b1 = trace.parameter("w1"), trace.parameter("b1[1]")
    assert [f.symbol for f in w1.factors] == [
        "∂L/∂ŷ", "∂ŷ/∂z_out", "∂z_out/∂a_h1", "∂a_h1/∂z_h1", "∂z_h1/∂w1"]
    for factor, printed in zip(w1.factors, ["-0.875", "0.23", "0.2", "0.25", "0.5"]):
        assert_printed(factor.value, printed, factor.symbol)
    assert_printed(w1.gradient, "-0.005", "dL/dw1")
    assert_printed(b1.gradient, "-0.01", "dL/db1")
    assert_printed(w1.new, "0.3005", "w1_new")
    assert_printed(b1.new, "0.101", "b1_new")
    w2, b2 = trace.parameter("w2"), trace.parameter("b2[1]")
    assert_printed(b2.gradient, "-0.205", "dL/db2")
    # Erratum: the tutorial prints dL/dw² = −0.103, multiplying by x = 0.5 where the
    # chain rule needs a² = σ(0.25) ≈ 0.562; hence its w²_new = 0.2103.
    assert w2.factors[-1].value == hidden.a
    assert_printed(w2.gradient, "-0.11519", "dL/dw2")
    assert_printed(w2.new, "0.21152", "w2_new")
    # Erratum: the tutorial prints b²_new = 0.3795, a sign slip: 0.4 − 0.1 · (−0.205) = 0.4205.
    assert_printed(b2.new, "0.4205", "b2_new")


def test_seed_000_example_3_one_hidden_layer_of_two_matches_reference_and_finite_differences():
    # The Step by Step tutorial's third example (sizes 1-2-1) has equations only:
    # check the structure.
    rng = np.random.default_rng(3)
    weights = [rng.uniform(-1, 1, (2, 1)), rng.uniform(-1, 1, (1, 2))]
    biases = [rng.uniform(-1, 1, 2), rng.uniform(-1, 1, 1)]
    net = fastprop.Network.from_weights(weights, biases)
    x, y = [0.5], [1.5]
    trace = fastprop.explain(net, x, y, 0.1)
    ref_W, ref_b = reference.gradients([w.tolist() for w in weights], [b.tolist() for b in biases],
                                       [x], [y])
    assert [w.gradient for w in trace.weights] == pytest.approx(
        [g for rows in ref_W for row in rows for g in row], rel=1e-13)
    assert [b.gradient for b in trace.biases] == pytest.approx(
        [g for row in ref_b for g in row], rel=1e-13)
    step = 1e-6
    for parameter in trace.weights + trace.biases:
        values = [w.copy() for w in weights] if parameter.kind == "weight" else [b.copy() for b in biases]
        index = ((parameter.to_neuron - 1, parameter.from_neuron - 1) if parameter.kind == "weight"
                 else (parameter.to_neuron - 1,))
        losses = []
        for sign in (1, -1):
            shifted = [v.copy() for v in values]
            shifted[parameter.layer - 1][index] += sign * step
            pair = (shifted, biases) if parameter.kind == "weight" else (weights, shifted)
            losses.append(reference.loss([w.tolist() for w in pair[0]],
                                         [b.tolist() for b in pair[1]], [x], [y]))
        numeric = (losses[0] - losses[1]) / (2 * step)
        assert parameter.gradient == pytest.approx(numeric, rel=1e-6, abs=1e-10), parameter.name


# ------------------------------------------------------------- any small network
@pytest.mark.parametrize("sizes", [(1, 1), (3, 1), (2, 3, 2), (3, 4, 3, 2), (2, 2, 2, 2, 1)])
@pytest.mark.parametrize("loss", ["sse", "mse"])
def test_trace_matches_the_network(sizes, loss):
    net = fastprop.Network(list(sizes), seed=sum(sizes), loss=loss)
    rng = np.random.default_rng(len(sizes))
    net = fastprop.Network.from_weights(net.weights, [rng.uniform(-1, 1, b.shape) for b in net.biases],
                                        loss=loss)
    x, y = rng.uniform(0, 1, sizes[0]), rng.uniform(0, 1, sizes[-1])
    before_W, before_b = net.weights, net.biases
    trace = fastprop.explain(net, x, y, 0.3)
    for old, now in zip(before_W + before_b, net.weights + net.biases):
        np.testing.assert_array_equal(old, now)  # explain does not change the network
    assert trace.loss == pytest.approx(net.compute_loss(x[None], y[None]), rel=1e-13)
    assert np.array(trace.outputs) == pytest.approx(net.forward(x), rel=1e-13)
    grads_W, grads_b = net.gradients(x[None], y[None])
    for layer, grad_W, grad_b in zip(trace.layers, grads_W, grads_b):
        assert np.array([w.gradient for w in layer.weights]).reshape(grad_W.shape) == pytest.approx(
            grad_W, rel=1e-12, abs=1e-15)
        assert np.array([b.gradient for b in layer.biases]) == pytest.approx(grad_b, rel=1e-12, abs=1e-15)
        assert [n.delta for n in layer.neurons] == pytest.approx(
            [b.gradient for b in layer.biases], rel=0, abs=0)
    stepped = fastprop.Network.from_weights(net.weights, net.biases, loss=loss)
    stepped.step(x[None], y[None], 0.3)
    for ours, theirs in zip(trace.new_weights() + trace.new_biases(), stepped.weights + stepped.biases):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
    for parameter in trace.weights + trace.biases:
        assert math.prod(f.value for f in parameter.factors) == pytest.approx(
            parameter.gradient, rel=1e-13, abs=1e-300)
    assert [w.name for w in trace.weights] == [f"w{k}" for k in range(1, len(trace.weights) + 1)]
    rows = parse_last_table(str(trace))
    assert rows[0] == ["Weight", "Old Value", "Gradient", "New Value"]
    assert len(rows) == 2 + sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def test_multiple_outputs_have_one_loss_derivative_each():
    net = fastprop.Network([2, 2], seed=0)
    trace = fastprop.explain(net, [0.2, 0.7], [0.0, 1.0], 0.5)
    outs = trace.layers[-1].neurons
    assert [n.name for n in outs] == ["out1", "out2"]
    assert [n.dL_da for n in outs] == [outs[0].a - 0.0, outs[1].a - 1.0]
    assert [f.symbol for f in trace.parameter("w3").factors] == ["∂L/∂ŷ2", "∂ŷ2/∂z_out2", "∂z_out2/∂w3"]
    assert "L = ½ [(y1 − ŷ1)² + (y2 − ŷ2)²]" in str(trace)


def test_branching_hidden_layers_sum_over_the_next_layer():
    net = fastprop.Network([2, 3, 2, 1], seed=5)
    trace = fastprop.explain(net, [0.3, 0.6], [1.0], 1.0)
    first = trace.parameter("w1")
    # h1.1 feeds two neurons of layer 2: its ∂L/∂a is a sum, shown as one factor.
    assert [f.symbol for f in first.factors] == ["∂L/∂a_h1.1", "∂a_h1.1/∂z_h1.1", "∂z_h1.1/∂w1"]
    layer2, W2 = trace.layers[1], net.weights[1]
    expected = sum(W2[k, 0] * layer2.neurons[k].delta for k in range(2))
    assert first.factors[0].value == pytest.approx(expected, rel=1e-14)
    # Layer 2 feeds the single output: its chain is written out through it.
    assert [f.symbol for f in trace.parameter("w7").factors] == [
        "∂L/∂ŷ", "∂ŷ/∂z_out", "∂z_out/∂a_h2.1", "∂a_h2.1/∂z_h2.1", "∂z_h2.1/∂w7"]
    assert "∂L/∂a = w7·δ_h2.1 + w10·δ_h2.2" in str(trace)


def test_fresh_zero_biases_are_not_read_as_shared():
    trace = fastprop.explain(fastprop.Network([2, 3, 1], seed=0), [0.1, 0.2], [1.0], 0.5)
    assert not any(layer.biases_share_a_value for layer in trace.layers)
    assert "Note:" not in str(trace)


def test_float32_network_is_traced_from_its_exact_values():
    example = seed_002()
    net32 = network_from_example(example, dtype=np.float32)
    trace = fastprop.explain(net32, example.x, example.y, example.lr)
    assert trace.network_dtype == "float32"
    assert trace.parameter("w1").old == float(np.float32(0.15))
    assert "The network holds float32 values; this trace computes in float64." in str(trace)
    assert_printed(trace.neuron("out").a, "0.7514", "y_hat in float32")


def test_accepted_sample_shapes():
    net = network_from_example(seed_000_example_1())
    as_numbers = fastprop.explain(net, 0.5, 1.5, 0.1)
    as_rows = fastprop.explain(net, [[0.5]], [[1.5]], 0.1)
    assert as_numbers == as_rows == fastprop.explain(net, np.array([0.5]), (1.5,), 0.1)


@pytest.mark.parametrize("x, y, lr, error, message", [
    ([0.05], [0.01], 0.5, ValueError, r"x must be one sample of shape \(2,\) or \(1, 2\)"),
    ([[0.05, 0.1], [0.2, 0.3]], [0.01], 0.5, ValueError, r"x must be one sample .* got shape \(2, 2\)"),
    (0.05, [0.01], 0.5, ValueError, r"x must be one sample of shape \(2,\)"),
    (["a", "b"], [0.01], 0.5, TypeError, "x must hold real numbers"),
    ([0.05, float("nan")], [0.01], 0.5, ValueError, "x must contain only finite numbers"),
    ([0.05, 0.1], [0.01, 0.02], 0.5, ValueError, r"y must be one sample of shape \(1,\)"),
    ([0.05, 0.1], [float("inf")], 0.5, ValueError, "y must contain only finite numbers"),
    ([0.05, 0.1], [0.01], 0.0, ValueError, "lr must be a finite positive number"),
    ([0.05, 0.1], [0.01], -0.5, ValueError, "lr must be a finite positive number"),
    ([0.05, 0.1], [0.01], float("nan"), ValueError, "lr must be a finite positive number"),
    ([0.05, 0.1], [0.01], "0.5", TypeError, "lr must be a real number"),
    ([0.05, 0.1], [0.01], True, TypeError, "lr must be a real number"),
])
def test_bad_arguments_are_named(x, y, lr, error, message):
    net = network_from_example(seed_002())
    with pytest.raises(error, match=message):
        fastprop.explain(net, x, y, lr)


def test_net_must_be_a_network():
    with pytest.raises(TypeError, match="net must be a fastprop.Network, got list"):
        fastprop.explain([[0.1]], [0.5], [1.0], 0.1)


@pytest.mark.parametrize("y", [1e308, -1e200, 2e154])
def test_targets_whose_squared_error_overflows_are_a_value_error(y):
    # (y - output) ** 2 raised OverflowError for y = 1e308.
    net = fastprop.Network([2, 2, 1], seed=0)
    with pytest.raises(ValueError, match=r"y is too large to trace: the squared error overflows float64"):
        fastprop.explain(net, [0.5, 0.5], [y], 0.1)
    fastprop.explain(net, [0.5, 0.5], [1e150], 0.1)        # large, but its square is finite


# --- other activations, outputs and losses ------------------------------------------

EXPLAINED = [("tanh", "identity", "mse"), ("relu", "sigmoid", "bce"),
             ("identity", "softmax", "cross_entropy"), (["relu", "tanh"], "softmax",
                                                        "cross_entropy")]


@pytest.mark.parametrize("activation, output, loss", EXPLAINED)
def test_the_trace_of_other_functions_is_the_reference_step(activation, output, loss):
    sizes = [3, 4, 4, 2] if isinstance(activation, list) else [3, 4, 2]
    net = fastprop.Network(sizes, activation=activation, output=output, loss=loss, seed=4)
    x = [0.3, -1.2, 0.8]
    y = [0.0, 1.0] if output == "softmax" else ([0.2, 0.9] if output == "sigmoid" else [2.0, -1.0])
    trace = fastprop.explain(net, x, y, 0.1)
    weights = [w.tolist() for w in net.weights]
    biases = [b.tolist() for b in net.biases]
    expected_W, expected_b = reference.gradients(weights, biases, [x], [y], loss, activation,
                                                 output)
    got_W = [[[w.gradient for w in layer.weights[j * len(row):(j + 1) * len(row)]]
              for j, row in enumerate(W)] for layer, W in zip(trace.layers, weights)]
    for got, want in zip(got_W, expected_W):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    for layer, want in zip(trace.layers, expected_b):
        np.testing.assert_allclose([b.gradient for b in layer.biases], want, rtol=1e-12,
                                   atol=1e-15)
    assert trace.loss == pytest.approx(reference.loss(weights, biases, [x], [y], loss,
                                                      activation, output), rel=1e-12)
    # Each gradient is the product of its chain's factors, as printed.
    for parameter in trace.weights + trace.biases:
        assert math.prod(f.value for f in parameter.factors) == pytest.approx(
            parameter.gradient, rel=1e-12, abs=1e-300)


def test_each_function_shows_its_own_derivative():
    net = fastprop.Network([2, 3, 1], activation="tanh", output="identity", loss="mse", seed=1)
    trace = fastprop.explain(net, [0.4, -0.3], [0.7], 0.1)
    for neuron in trace.layers[0].neurons:
        assert neuron.da_dz == 1 - neuron.a ** 2                 # tanh'(z) = 1 - a²
    assert trace.layers[1].neurons[0].da_dz == 1.0                # the identity's
    text = str(trace)
    assert "a 2-3-1 network (tanh hidden layers, identity output)" in text
    assert "∂a/∂z: tanh'(z) = 1 − a²; 1 for the identity." in text
    relu = fastprop.Network.from_weights([np.array([[1.0, 0.0], [-1.0, 0.0]]), np.ones((1, 2))],
                                         [np.zeros(2), np.zeros(1)], activation="relu")
    trace = fastprop.explain(relu, [0.5, 0.2], [0.3], 0.1)
    assert [n.da_dz for n in trace.layers[0].neurons] == [1.0, 0.0]   # on, off


def test_softmax_with_cross_entropy_takes_the_output_delta_whole():
    net = fastprop.Network([2, 3, 3], activation="relu", output="softmax",
                           loss="cross_entropy", seed=2)
    by_label = fastprop.explain(net, [0.5, -0.5], 2, 0.1)
    by_row = fastprop.explain(net, [0.5, -0.5], [0.0, 0.0, 1.0], 0.1)
    assert by_label == by_row
    outs = by_label.layers[-1].neurons
    assert [n.delta for n in outs] == [outs[0].a, outs[1].a, outs[2].a - 1.0]   # ŷ − y
    assert all(n.dL_da is None and n.da_dz is None for n in outs)
    assert sum(n.a for n in outs) == pytest.approx(1.0, rel=1e-15)
    text = " ".join(str(by_label).split())       # paragraphs are wrapped
    assert "the cross-entropy's −y/ŷ and the softmax's derivative cancel" in text
    assert "δ = ŷ3 − y3 = " in text
    assert "∂L/∂z_out3" in text                # the chains start from the whole δ
    with pytest.raises(ValueError, match=r"a class label from 0 to 2, got 3\.0"):
        fastprop.explain(net, [0.5, -0.5], 3, 0.1)


def test_sigmoid_with_bce_takes_the_output_delta_whole():
    net = fastprop.Network([2, 2, 1], output="sigmoid", loss="bce", seed=3)
    trace = fastprop.explain(net, [1.0, 2.0], [1.0], 0.5)
    out = trace.layers[-1].neurons[0]
    assert out.delta == out.a - 1.0
    assert trace.loss == pytest.approx(-math.log(out.a), rel=1e-12)
    assert "(ŷ(1 − ŷ)) and ∂ŷ/∂z = σ'(z) = ŷ(1 − ŷ) cancel" in " ".join(str(trace).split())


def test_cli_explain_takes_activation_output_and_loss(capsys):
    arguments = ["explain", "--sizes", "2,3,2", "--weights",
                 "0.1,0.2,0.3,-0.4,0.5,0.6,0.7,0.8,0.9,1.0,1.1,1.2", "--biases", "0,0,0,0,0",
                 "--x", "0.5,1", "--lr", "0.1"]
    assert cli.main(arguments + ["--y", "1", "--activation", "relu", "--output", "softmax",
                                 "--loss", "cross_entropy"]) == 0
    text = capsys.readouterr().out
    assert "a 2-3-2 network (relu hidden layers, softmax output)" in text
    # h2: z = 0.3·0.5 + (-0.4)·1 = -0.25, off: relu gives 0, and so does its derivative
    assert "h2     | -0.25 | 0        |" in text
    assert cli.main(arguments + ["--y", "1,0", "--activation", "swish"]) == 2
    assert "--activation must be one of 'sigmoid', 'tanh'" in capsys.readouterr().err
    assert cli.main(arguments + ["--y", "1", "--output", "softmax"]) == 2
    assert "output='softmax' does not go with loss='sse'" in capsys.readouterr().err
