"""The sigmoid and all_finite kernels against references, in float32 and float64:
any finite input, the extremes, the last ulps, and the finiteness check's blocks.

Tolerances (see ``fastprop._testing``): ``|got - expected| <= rtol * (|expected| +
scale)``, rtol 1e-12 (float64) or 1e-5 (float32), ``scale`` the sum of the
magnitudes of the terms that were added up, which keeps the test honest where
terms cancel.
"""
import decimal
import math
import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastprop
from fastprop import _kernels, reference
from fastprop._testing import (
    arrays,
    available_cpu_paths,
    f64,
    nan_filled,
    np_sigmoid,
    ulp_distance_ok,
)

# --- sigmoid -------------------------------------------------------------------

@given(data=st.data())
def test_sigmoid_matches_references_on_any_finite_input(dtype, data):
    z = data.draw(hnp.arrays(dtype, st.integers(1, 40),
                             elements=st.floats(allow_nan=False, allow_infinity=False,
                                                width=8 * dtype.itemsize)))
    out = nan_filled(z.shape, dtype)
    z_before = z.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _kernels.sigmoid(z, out)
    np.testing.assert_array_equal(z, z_before)
    assert np.all(np.isfinite(out)) and np.all((out >= 0) & (out <= 1))
    expected = np.array([reference.sigmoid(float(v)) for v in z])
    # The kernel's exp is its own (vectorisable) approximation, within 2 ulps of
    # the exact sigmoid; the reference's math.exp and two roundings add about 2
    # more. Ulps are counted in the kernel's dtype, subnormal results included.
    np.testing.assert_array_max_ulp(out, expected.astype(dtype), maxulp=6)


@given(data=st.data())
def test_sigmoid_matches_numpy_one_liner_for_moderate_z(dtype, data):
    z = data.draw(arrays(dtype, st.integers(1, 40), -30.0, 30.0))
    out = nan_filled(z.shape, dtype)
    _kernels.sigmoid(z, out)
    # 1/(1 + exp(-z)) is accurate to a few ulps for |z| <= 30 (no cancellation).
    np.testing.assert_allclose(out, np_sigmoid(f64(z)), rtol=1e-15 if dtype == np.float64 else 1e-6)


EXTREMES = {
    np.dtype(np.float64): [1e308, -1e308, np.finfo(np.float64).max, -np.finfo(np.float64).max,
                           1e4, -1e4, 745.0, -745.0, 746.0, -746.0, 710.0, -710.0],
    np.dtype(np.float32): [3e38, -3e38, np.finfo(np.float32).max, -np.finfo(np.float32).max,
                           1e4, -1e4, 88.0, -88.0, 89.0, -89.0, 104.0, -104.0, 110.0, -110.0],
}


def test_sigmoid_is_finite_in_unit_interval_without_warnings_at_extremes(dtype):
    z = np.array(EXTREMES[dtype], dtype=dtype)
    out = nan_filled(z.shape, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _kernels.sigmoid(z, out)
    assert np.all(np.isfinite(out))
    assert np.all((out >= 0) & (out <= 1))
    huge = np.abs(z) >= 1e4
    np.testing.assert_array_equal(out[huge & (z > 0)], 1.0)
    np.testing.assert_array_equal(out[huge & (z < 0)], 0.0)
    # In the negative tail, sigma(z) = e^z / (1 + e^z) > 0 while e^z is representable.
    tail = {np.dtype(np.float64): -745.0, np.dtype(np.float32): -103.0}[dtype]
    assert np.all(out[(z < 0) & (z >= tail)] > 0)


def test_sigmoid_of_zero_is_one_half(dtype):
    z = np.array([0.0, -0.0], dtype=dtype)
    out = nan_filled(2, dtype)
    _kernels.sigmoid(z, out)
    assert out[0] == 0.5 and out[1] == 0.5


@given(data=st.data())
def test_sigmoid_symmetry(dtype, data):
    z = data.draw(hnp.arrays(dtype, st.integers(1, 30),
                             elements=st.floats(0, 1e4, width=8 * dtype.itemsize)))
    positive, negative = nan_filled(z.shape, dtype), nan_filled(z.shape, dtype)
    _kernels.sigmoid(z, positive)
    _kernels.sigmoid(-z, negative)
    # sigma(-z) = 1 - sigma(z): each side is within a couple of ulps of 1.
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(f64(negative), 1.0 - f64(positive), rtol=0, atol=2 * eps)
    assert np.all(positive >= 0.5) and np.all(negative <= 0.5)


SMALL_AND_TAIL_Z = [1e-30, -1e-30, 2.0 ** -30, -(2.0 ** -30), 1e-8, -1e-8, 0.1, -0.1, 0.5,
                    -0.5, 1.0, -1.0, 2.0, -2.0, 10.0, -10.0, 20.0, -20.0, -40.0, -80.0]


def exact_sigmoid(z):
    """sigma(z) of the binary value z, to 50 significant digits."""
    with decimal.localcontext() as context:
        context.prec = 50
        return float(1 / (1 + (-decimal.Decimal(float(z))).exp()))


@pytest.mark.parametrize("z", SMALL_AND_TAIL_Z + [-300.0, -700.0])
def test_sigmoid_is_accurate_to_a_few_ulps(dtype, z):
    if dtype == np.float32 and abs(z) > 80:
        pytest.skip("beyond float32's normal range")
    value = dtype.type(z)
    out = nan_filled(1, dtype)
    _kernels.sigmoid(np.array([value]), out)
    exact = exact_sigmoid(value)
    # Tiny z: sigma(z) = 1/2 + z/4 + ..., so sigma(±1e-30) rounds to exactly 1/2.
    if abs(z) < 1e-20:
        assert out[0] == 0.5
    assert ulp_distance_ok(out[0], exact, 4), (out[0], exact)
    if z <= -20:
        # The negative tail keeps full relative precision: sigma(z) ≈ e^z.
        assert out[0] == pytest.approx(math.exp(float(value)) / (1 + math.exp(float(value))),
                                       rel=4 * float(np.finfo(dtype).eps))


@pytest.mark.parametrize("low, high, case_dtype", [
    (-746.0, -700.0, np.dtype(np.float64)),   # e^z goes subnormal near -708, to 0 near -745
    (-104.5, -80.0, np.dtype(np.float32)),    # the same for float32: -87 and -103
    (-40.0, 40.0, np.dtype(np.float64)),
    (-20.0, 20.0, np.dtype(np.float32)),
])
def test_sigmoid_in_ulps_of_the_exact_value_across_ranges(low, high, case_dtype):
    z = np.linspace(low, high, 1001).astype(case_dtype)
    out = nan_filled(z.shape, case_dtype)
    _kernels.sigmoid(z, out)
    exact = np.array([exact_sigmoid(v) for v in z]).astype(case_dtype)
    # Subnormal results are counted in subnormal ulps: "exact into subnormals".
    np.testing.assert_array_max_ulp(out, exact, maxulp=4)


# --- all_finite ----------------------------------------------------------------

@given(data=st.data())
def test_all_finite(dtype, data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=6))
    values = data.draw(hnp.arrays(dtype, shape, elements=st.floats(
        allow_nan=False, allow_infinity=False, width=8 * dtype.itemsize)))
    assert _kernels.all_finite(values) is True
    bad = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    position = data.draw(st.integers(0, values.size - 1))
    values.reshape(-1)[position] = bad
    assert _kernels.all_finite(values) is False
    assert _kernels.all_finite(values) == bool(np.isfinite(values).all())


def test_all_finite_edge_values(dtype):
    info = np.finfo(dtype)
    assert _kernels.all_finite(np.array([info.max, -info.max, info.tiny, info.smallest_subnormal, -0.0],
                                        dtype=dtype))
    assert _kernels.all_finite(np.empty((0, 4), dtype=dtype))
    assert not _kernels.all_finite(np.array([[0.0, 0.0], [0.0, np.nan]], dtype=dtype))


@pytest.mark.parametrize("position", [0, 4095, 4096, 4097, 12287, 20000 - 1])
@pytest.mark.parametrize("bad", [np.nan, -np.nan, np.inf, -np.inf])
def test_all_finite_finds_one_bad_value_in_any_block(dtype, position, bad):
    # The check runs in blocks of 4096 values: a bad value at either end of a
    # block, or in the last, partial block, is found.
    values = np.random.default_rng(position).uniform(-1e30, 1e30, 20000).astype(dtype)
    assert _kernels.all_finite(values)
    values[position] = bad
    assert not _kernels.all_finite(values)


@pytest.mark.parametrize("path", ["avx512", "avx2"])
def test_every_cpu_path_gives_the_baseline_sigmoids_bits(dtype, path):
    # The sigmoid has one source (_sigmoid_template.c) compiled at each path's
    # vector width, with no multiply and add fused, so every path gives the same
    # bits: NaN payloads, infinities, zeros of either sign, subnormals and the
    # tails included, and for every length (the last elements of an array go
    # through a padded vector).
    if path not in available_cpu_paths():
        pytest.skip(f"this CPU or build has no {path} path")
    rng = np.random.default_rng(11)
    info = np.finfo(dtype)
    random_bits = rng.integers(0, 2 ** 63, 50_000, dtype=np.uint64)
    random_floats = (random_bits.astype(np.uint32).view(np.float32) if dtype == np.float32
                     else random_bits.view(np.float64))   # every kind of value, NaNs included
    z = np.concatenate([
        rng.standard_normal(100_000) * 30,
        np.linspace(-800, 800, 20_001),
        [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, float(info.tiny), -float(info.tiny),
         float(info.smallest_subnormal), -float(info.smallest_subnormal), float(info.max),
         -float(info.max)],
    ]).astype(dtype)
    z = np.concatenate([z, random_floats])
    integer = np.uint32 if dtype == np.float32 else np.uint64
    # 16 floats per AVX-512 vector and 4 vectors side by side: 63, 64, 65, 127, 129.
    for size in (z.size, 1, 2, 3, 7, 8, 9, 15, 17, 31, 33, 63, 64, 65, 127, 129):
        outputs = []
        for cpu in (path, "baseline"):
            out = nan_filled(size, dtype)
            with fastprop.config_context(cpu=cpu):
                _kernels.sigmoid(z[:size].copy(), out)
            outputs.append(out.view(integer))
        np.testing.assert_array_equal(outputs[0], outputs[1])
