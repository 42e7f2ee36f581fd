"""Outputs of fastprop's compiled code, stored so that a rewrite can be checked bit for bit.

Run from the repository root, with the extension built in place::

    PYTHONPATH=src python tests/data/make_stored_outputs.py

It computes every case below on five code paths ("loops", "avx2_vector",
"avx2_default", "avx512_vector", "avx512_default"), with 1 and 2 threads, in
float32 and float64, and writes
``tests/data/stored_outputs.npz``. ``tests/test_stored_outputs.py`` loads this
file as a module (by its path), calls ``compute_outputs`` with a ``force_path``
of its own and compares each array with the stored one, bit for bit.

Everything here is deterministic: inputs come from ``np.random.default_rng``
seeded from the case's name (the same inputs on every path, thread count and
dtype), networks and shuffles from fixed seeds. Inputs are made with correctly
rounded operations only (no BLAS, no NumPy exp, whose bits vary with the CPU).

What depends on the API that picks a code path is ``force_path`` alone; the
case definitions (``compute_group``) use only ``fastprop.Network`` and the
kernel wrappers of ``fastprop._kernels``. No case sends a product to BLAS
(whose bits depend on the OpenBLAS build and the CPU): every product stays
below 2**19 multiply-adds, and every product too narrow to fill a vector
(fewer than 8 floats or 4 doubles along its vector dimension) below 8192
(``check_shapes_avoid_blas``; ``main`` also checks that the "avx2_default"
and "avx512_default" results do not change when BLAS is switched off).

The avx512 groups were added later (the first AVX-512 kernels), by adding their
keys: every array stored before kept its bits, and the avx512 arrays equal the
avx2 ones bit for bit (``main`` checks both; the file stores each distinct array
once, so they cost little room).

Keys read ``path/tN/dtype/case...``, e.g.
``avx2_default/t2/float32/net/64-40-10/fit_sse_b32_shuffled_e300/W0``. Every group
(path, threads, dtype) holds the same case names.

File format (``np.savez``, no pickle; ``save_outputs`` and ``load_outputs``, which
returns the plain ``{key: array}`` dict): many arrays are the same on several paths
and on 1 and 2 threads, so each distinct array is stored once, in ``float32_pool``
or ``float64_pool`` (all of them end to end). ``table`` has a row (pool: 0 float32,
1 float64; offset in the pool; ndim; rows; columns (1 for 1-D)) per distinct array;
``refs[g, n]`` is the row of case name n in group g; ``groups`` and ``names`` are
those strings, UTF-8, one per line, as uint8 arrays.
"""
import contextlib
import itertools
import sys
import zlib
from pathlib import Path

import numpy as np

PATHS = ("loops", "avx2_vector", "avx2_default", "avx512_vector", "avx512_default")
THREADS = (1, 2)
DTYPES = ("float32", "float64")
GROUPS = [(path, threads, dtype) for path in PATHS for threads in THREADS for dtype in DTYPES]
OUTPUT_FILE = Path(__file__).with_name("stored_outputs.npz")

# The routing limits of the default configuration that the cases must stay below.
SINGLE_THREAD_BLAS_MIN = 2 ** 19
NARROW_BLAS_MIN = 8192
PARALLEL_MIN_MULTIPLY_ADDS = 32768
PARALLEL_MIN_BATCH_ROWS = 16


# ---------------------------------------------------------------------------
# The one place that knows how to force a code path
# ---------------------------------------------------------------------------

# The options that force each path. Each path is given every option that can change
# which code runs, so that nothing depends on the configuration a run starts in.
# (The stored file was written by the code before the compiled layer's rewrite,
# commit 7b74989, with that code's setters forcing the same routes.)
PATH_OPTIONS = {
    "loops": {
        "cpu": "baseline", "plan": "fixed",
        "loops_blas_min_multiply_adds": None,
        "single_thread_blas_min_multiply_adds": None,
    },
    "avx2_vector": {
        "cpu": "avx2", "plan": "fixed",
        "vector_min_multiply_adds": 0,
        "blas_min_multiply_adds_float32": None,
        "blas_min_multiply_adds_float64": None,
        "single_thread_blas_min_multiply_adds": None,
        "narrow_blas_min_multiply_adds": NARROW_BLAS_MIN,
        "parallel_min_multiply_adds": PARALLEL_MIN_MULTIPLY_ADDS,
        "parallel_min_batch_rows": PARALLEL_MIN_BATCH_ROWS,
    },
    "avx2_default": {
        "cpu": "avx2", "plan": "fixed",
        "vector_min_multiply_adds": 256,
        "blas_min_multiply_adds_float32": 2 ** 26,
        "blas_min_multiply_adds_float64": 2 ** 24,
        "single_thread_blas_min_multiply_adds": SINGLE_THREAD_BLAS_MIN,
        "narrow_blas_min_multiply_adds": NARROW_BLAS_MIN,
        "parallel_min_multiply_adds": PARALLEL_MIN_MULTIPLY_ADDS,
        "parallel_min_batch_rows": PARALLEL_MIN_BATCH_ROWS,
    },
}
# The avx512 paths: the avx2 paths' options on the AVX-512 kernels.
for _name in ("vector", "default"):
    PATH_OPTIONS[f"avx512_{_name}"] = dict(PATH_OPTIONS[f"avx2_{_name}"], cpu="avx512")
del _name


@contextlib.contextmanager
def force_path(name, threads):
    """Run the body on code path ``name`` with ``threads`` threads (restored after)."""
    import fastprop

    options = dict(PATH_OPTIONS[name], threads=threads)
    with fastprop.config_context(**options):
        config = fastprop.get_config()
        not_applied = {key: (value, config.get(key)) for key, value in options.items()
                       if config.get(key) != value}
        assert not not_applied, f"config_context did not apply (wanted, got): {not_applied}"
        yield


# ---------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------

BASE_SEED = 20240531


def _rng(case):
    """The same generator for a case on every path, thread count and dtype."""
    return np.random.default_rng([BASE_SEED, zlib.crc32(case.encode())])


# dense_sigmoid_forward: (rows, n_in, n_out). Widths 1, 4/5 (doubles), 8/16/17 (floats);
# depths 300 and 784 (the vector forward kernel sums in chunks of at most 256);
# 255 and 256 multiply-adds sit either side of the default loops/vector crossover;
# outputs narrower than a vector (dot products in the vector kernel).
FORWARD_SHAPES = [(1, 1, 1), (1, 3, 2), (3, 2, 5), (1, 15, 17), (1, 16, 16), (4, 8, 8),
                  (5, 1, 16), (3, 7, 8), (4, 9, 17), (2, 5, 4), (6, 4, 5), (17, 16, 4),
                  (16, 17, 9), (9, 20, 33), (2, 300, 16), (3, 300, 1), (2, 300, 5),
                  (2, 784, 9), (1, 64, 40)]
# hidden_delta: (rows, n_next, n_this); 1100 > 1024, the deepest B panel the vector
# backward kernel packs.
HIDDEN_SHAPES = [(1, 1, 1), (1, 3, 4), (5, 2, 8), (3, 16, 17), (7, 5, 16), (4, 9, 5),
                 (16, 16, 16), (1, 16, 16), (2, 1100, 16), (32, 10, 24), (40, 2, 3)]
# weight_gradient and fused_gradient_step: (rows, n_in, n_out); 600 rows > 512 (the
# deepest strip the vector kernel packs for A.T @ B) and 1100 > 1024; 259 outputs >
# 256, the column block of the bias sums.
GRADIENT_SHAPES = [(1, 1, 1), (1, 16, 3), (7, 8, 5), (17, 17, 4), (3, 5, 16), (16, 16, 1),
                   (16, 16, 16), (40, 20, 9), (32, 24, 20), (600, 8, 3), (1100, 8, 2),
                   (3, 1, 259), (9, 4, 4), (5, 5, 17)]
OUTPUT_DELTA_SHAPES = [(1, 1), (3, 5), (7, 17), (16, 4), (40, 10)]
SIGMOID_SIZES = [1, 3, 4, 5, 8, 15, 16, 17, 33, 100]


def _special_values(dtype):
    """Inputs at the sigmoid's edges, NaNs with payloads and signs included."""
    finfo = np.finfo(dtype)
    tiny = float(finfo.smallest_subnormal)
    values = [0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 0.5, -0.5, 17.0, -17.0, 20.0, -20.0,
              36.7, -36.7, 88.7, -88.7, 90.0, -90.0, 103.9, -103.9, 104.5, -104.5,
              745.0, -745.0, 746.5, -746.5, 1000.0, -1000.0, float(finfo.max), -float(finfo.max),
              float(finfo.tiny), -float(finfo.tiny), tiny, -tiny, 3 * tiny, -3 * tiny,
              np.inf, -np.inf, np.nan]
    array = np.array(values, dtype=np.float64).astype(dtype)
    uint = np.uint32 if dtype == np.float32 else np.uint64
    nan_bits = ([0x7FC00000, 0xFFC00000, 0x7FC12345, 0x7F800001] if dtype == np.float32
                else [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF8000000012345,
                      0x7FF0000000000001])
    # quiet NaN, negative quiet NaN, quiet NaN with a payload, signalling NaN
    nans = np.array(nan_bits, dtype=uint).view(dtype)
    return np.concatenate([array, nans, array[::-1]])


def _scaled_weights(rng, n_out, n_in, dtype):
    """Weights whose sums over n_in inputs of size ~1 stay of size ~1 (sigmoid not saturated)."""
    return (rng.uniform(-1, 1, (n_out, n_in)) * np.sqrt(3.0 / n_in)).astype(dtype)


def _kernel_outputs(dtype):
    """{name: array} of the kernel wrappers' outputs, each on inputs of its own."""
    from fastprop import _kernels

    out = {}
    for rows, n_in, n_out in FORWARD_SHAPES:
        case = f"kernel/dense_sigmoid_forward/r{rows}_i{n_in}_o{n_out}"
        rng = _rng(case)
        A_in = rng.uniform(-1, 1, (rows, n_in)).astype(dtype)
        W = _scaled_weights(rng, n_out, n_in, dtype)
        b = rng.uniform(-0.5, 0.5, n_out).astype(dtype)
        A_out = np.full((rows, n_out), np.nan, dtype=dtype)
        _kernels.dense_sigmoid_forward(A_in, W, b, A_out)
        out[case + "/A_out"] = A_out

    for rows, n_next, n_this in HIDDEN_SHAPES:
        case = f"kernel/hidden_delta/r{rows}_n{n_next}_t{n_this}"
        rng = _rng(case)
        delta_next = (rng.standard_normal((rows, n_next)) * 0.1).astype(dtype)
        W_next = _scaled_weights(rng, n_next, n_this, dtype)
        A = rng.uniform(0.02, 0.98, (rows, n_this)).astype(dtype)
        delta = np.full((rows, n_this), np.nan, dtype=dtype)
        _kernels.hidden_delta(delta_next, W_next, A, delta)
        out[case + "/delta"] = delta

    for rows, n_in, n_out in GRADIENT_SHAPES:
        case = f"kernel/weight_gradient/r{rows}_i{n_in}_o{n_out}"
        rng = _rng(case)
        delta = (rng.standard_normal((rows, n_out)) * 0.1).astype(dtype)
        A_prev = rng.uniform(0, 1, (rows, n_in)).astype(dtype)
        grad_W = np.full((n_out, n_in), np.nan, dtype=dtype)
        grad_b = np.full(n_out, np.nan, dtype=dtype)
        _kernels.weight_gradient(delta, A_prev, grad_W, grad_b)
        out[case + "/grad_W"] = grad_W
        out[case + "/grad_b"] = grad_b

    for rows, n_in, n_out in GRADIENT_SHAPES:
        case = f"kernel/fused_gradient_step/r{rows}_i{n_in}_o{n_out}"
        rng = _rng(case)
        delta = (rng.standard_normal((rows, n_out)) * 0.1).astype(dtype)
        A_prev = rng.uniform(0, 1, (rows, n_in)).astype(dtype)
        W = _scaled_weights(rng, n_out, n_in, dtype)
        b = rng.uniform(-0.5, 0.5, n_out).astype(dtype)
        _kernels.fused_gradient_step(delta, A_prev, W, b, 0.37)
        out[case + "/W"] = W
        out[case + "/b"] = b

    for rows, cols in OUTPUT_DELTA_SHAPES:
        case = f"kernel/output_delta/r{rows}_c{cols}"
        rng = _rng(case)
        A = rng.uniform(0.01, 0.99, (rows, cols)).astype(dtype)
        Y = rng.uniform(0, 1, (rows, cols)).astype(dtype)
        delta = np.full((rows, cols), np.nan, dtype=dtype)
        loss = _kernels.output_delta(A, Y, delta)
        out[case + "/delta"] = delta
        out[case + "/loss"] = np.array([loss], dtype=np.float64)

    for size in SIGMOID_SIZES:
        case = f"kernel/sigmoid/n{size}"
        rng = _rng(case)
        z = (rng.standard_normal(size) * 8).astype(dtype)
        result = np.full(size, np.nan, dtype=dtype)
        _kernels.sigmoid(z, result)
        out[case + "/out"] = result
    z = _special_values(dtype)
    result = np.full(z.shape, 0.25, dtype=dtype)
    _kernels.sigmoid(z, result)
    out["kernel/sigmoid/special_values/out"] = result
    return out


# Networks: (sizes, samples, fits); a fit is (loss, batch_size, shuffle, epochs), batch
# size None meaning the whole set. The small networks get every combination; the
# large ones a few (file size). On 2 threads the helper team shares products of at
# least 32768 multiply-adds out in steps of at least 16 rows: [64, 40, 10] at batch 32
# (32 * 64 * 40 = 81920) and [20, 33, 17, 9] on its whole set of 64 (64 * 20 * 33 = 42240).
# Those two fits run for hundreds of steps (15 to 35 ms): on the project's machine the
# helper often takes no task at all in the first few milliseconds of a fit (20 fits of
# 4 ms each, [64, 40, 10] in float32 at batch 32 on 40 samples: 13 without one).
_ALL_FITS = ([(loss, batch, shuffle, 4) for loss in ("sse", "mse") for batch in (1, 7, 32)
              for shuffle in (False, True)]
             + [("sse", None, False, 4), ("mse", None, False, 4)])
NETWORKS = [
    ([2, 2, 1], 40, _ALL_FITS),
    ([3, 5, 4, 2], 45, _ALL_FITS),
    ([30, 24, 1], 37, [("sse", 1, True, 2), ("mse", 7, False, 3), ("sse", 32, True, 3)]),
    ([20, 33, 17, 9], 64, [("sse", 7, True, 3), ("mse", None, False, 400)]),
    ([64, 40, 10], 160, [("sse", 32, True, 300)]),
]
LEARNING_RATES = {"sse": 0.3, "mse": 2.0}


def _network_data(sizes, n_samples):
    """Inputs in [-1, 1) and XOR-like targets: 0.9 where inputs j and j + 1 have the
    same sign, else 0.1. Only correctly rounded operations (no BLAS, no exp), so the
    data have the same bits on every machine."""
    case = f"net/{'-'.join(map(str, sizes))}/data"
    X = _rng(case).uniform(-1, 1, (n_samples, sizes[0]))
    n_in, n_out = sizes[0], sizes[-1]
    same_sign = np.stack([X[:, j % n_in] * X[:, (j + 1) % n_in] > 0 for j in range(n_out)], axis=1)
    return X, np.where(same_sign, 0.9, 0.1)


def fit_uses_team(sizes, n_samples, batch_size):
    """Whether fit on 2 threads shares some product out over the helper team (today's rule)."""
    rows = n_samples if batch_size is None else min(batch_size, n_samples)
    return rows >= PARALLEL_MIN_BATCH_ROWS and any(
        rows * n_in * n_out >= PARALLEL_MIN_MULTIPLY_ADDS
        for n_in, n_out in itertools.pairwise(sizes))


def _fit_name(loss, batch_size, shuffle, epochs):
    batch = "full" if batch_size is None else f"b{batch_size}"
    return f"fit_{loss}_{batch}_{'shuffled' if shuffle else 'in_order'}_e{epochs}"


def _helper_tasks():
    """Tasks done by helper threads so far, or None when the build has no such counter."""
    from fastprop import _kernels

    counter = getattr(_kernels, "helper_task_count", None)
    return None if counter is None else counter()


def _network_outputs(dtype, team_tasks):
    """{name: array} of Network.forward and of the weights, biases and losses after fit;
    team_tasks[name] := helper tasks done during each fit that should use the team."""
    import fastprop

    out = {}
    for index, (sizes, n_samples, fits) in enumerate(NETWORKS):
        net_name = f"net/{'-'.join(map(str, sizes))}"
        X64, Y64 = _network_data(sizes, n_samples)
        X, Y = X64.astype(dtype), Y64.astype(dtype)
        net = fastprop.Network(sizes, seed=100 + index, dtype=dtype)
        out[f"{net_name}/forward_batch"] = net.forward(X[:20])
        out[f"{net_name}/forward_one_sample"] = net.forward(X[3])
        for fit_index, (loss, batch_size, shuffle, epochs) in enumerate(fits):
            name = f"{net_name}/{_fit_name(loss, batch_size, shuffle, epochs)}"
            net = fastprop.Network(sizes, seed=100 + index, dtype=dtype, loss=loss)
            before = _helper_tasks()
            history = net.fit(X, Y, epochs=epochs, lr=LEARNING_RATES[loss], batch_size=batch_size,
                              shuffle=shuffle, seed=1000 + fit_index)
            after = _helper_tasks()
            if fit_uses_team(sizes, n_samples, batch_size) and before is not None:
                team_tasks[name] = after - before
            out[f"{name}/history"] = history
            for layer, (W, b) in enumerate(zip(net.weights, net.biases)):
                out[f"{name}/W{layer}"] = W
                out[f"{name}/b{layer}"] = b
            out[f"{name}/forward_after"] = net.forward(X[:5])
    return out


def group_prefix(path, threads, dtype):
    """The start of the keys of one group: "path/tN/dtype"."""
    return f"{path}/t{threads}/{np.dtype(dtype).name}"


def compute_group(force_path, path, threads, dtype, team_tasks=None):
    """{key: array} of every case on one path, thread count and dtype, the path forced
    by ``force_path(path, threads)``; keys start with ``path/tN/dtype/``.
    team_tasks, if given, receives the helper tasks done in each fit that should use
    the team (only counted when the build has fastprop._kernels.helper_task_count)."""
    dtype = np.dtype(dtype)
    prefix = group_prefix(path, threads, dtype) + "/"
    group_team_tasks = {}
    with force_path(path, threads):
        outputs = _kernel_outputs(dtype)
        outputs.update(_network_outputs(dtype, group_team_tasks))
    if team_tasks is not None:
        team_tasks.update({prefix + name: tasks for name, tasks in group_team_tasks.items()})
    return {prefix + name: np.ascontiguousarray(array) for name, array in outputs.items()}


def compute_outputs(force_path, groups=GROUPS, team_tasks=None):
    """{key: array} of every case of every (path, threads, dtype) in groups."""
    outputs = {}
    for path, threads, dtype in groups:
        outputs.update(compute_group(force_path, path, threads, dtype, team_tasks))
    return outputs


# ---------------------------------------------------------------------------
# Checks of the case definitions
# ---------------------------------------------------------------------------

def _products(sizes, rows):
    """(multiply-adds, vector length) of each product of one training step on rows samples."""
    products = []
    for layer, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        products.append((rows * n_in * n_out, max(n_in, n_out)))   # forward
        products.append((rows * n_in * n_out, n_in))               # weight update
        if layer > 0:
            products.append((rows * n_in * n_out, n_in))           # delta of the layer below
    return products


def check_shapes_avoid_blas():
    """Raise AssertionError if some case has a product today's thresholds could send to
    BLAS on a path stored here: 2**19 multiply-adds or more (the one-thread BLAS
    minimum), or 8192 or more when narrower than a vector of the dtype."""
    products = []
    products += [(r * i * o, max(i, o)) for r, i, o in FORWARD_SHAPES]
    products += [(r * n * t, t) for r, n, t in HIDDEN_SHAPES]
    products += [(r * i * o, i) for r, i, o in GRADIENT_SHAPES]
    for sizes, n_samples, fits in NETWORKS:
        products += _products(sizes, n_samples)     # forward on the whole set; full batches
        for _, batch_size, _, _ in fits:
            products += _products(sizes, min(batch_size or n_samples, n_samples))
    for multiply_adds, vector_length in products:
        assert multiply_adds < SINGLE_THREAD_BLAS_MIN, (multiply_adds, vector_length)
        if vector_length < 8:     # narrow in float32 (8 lanes); float64 has 4
            assert multiply_adds < NARROW_BLAS_MIN, (multiply_adds, vector_length)


# ---------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------

_POOL_DTYPES = ("float32", "float64")


def save_outputs(outputs, path=OUTPUT_FILE):
    """Write outputs (every group with the same case names, as compute_outputs makes
    them) with np.savez, no pickle; each distinct array is stored once. Returns the
    number of distinct arrays."""
    groups = [prefix for prefix in map(group_prefix, *zip(*GROUPS))
              if any(key.startswith(prefix + "/") for key in outputs)]
    names = [key[len(groups[0]) + 1:] for key in outputs if key.startswith(groups[0] + "/")]
    refs = np.empty((len(groups), len(names)), dtype=np.int32)
    pools = {dtype: [] for dtype in _POOL_DTYPES}
    pool_sizes = {dtype: 0 for dtype in _POOL_DTYPES}
    table, seen = [], {}
    for g, group in enumerate(groups):
        for n, name in enumerate(names):
            array = np.ascontiguousarray(outputs[f"{group}/{name}"])
            assert array.dtype.name in _POOL_DTYPES and array.ndim in (1, 2), (name, array.dtype)
            identity = (array.dtype.name, array.shape, array.tobytes())
            if identity not in seen:
                kind = array.dtype.name
                seen[identity] = len(table)
                shape = array.shape + (1,) * (2 - array.ndim)
                table.append((_POOL_DTYPES.index(kind), pool_sizes[kind], array.ndim) + shape)
                pools[kind].append(array.reshape(-1))
                pool_sizes[kind] += array.size
            refs[g, n] = seen[identity]
    assert len(groups) * len(names) == len(outputs), "every group must hold the same cases"
    np.savez(path,
             groups=np.frombuffer("\n".join(groups).encode(), dtype=np.uint8),
             names=np.frombuffer("\n".join(names).encode(), dtype=np.uint8),
             refs=refs,
             table=np.array(table, dtype=np.int32).reshape(-1, 5),
             **{f"{dtype}_pool": np.concatenate(pools[dtype]) if pools[dtype]
                else np.empty(0, dtype=dtype) for dtype in _POOL_DTYPES})
    return len(table)


def load_outputs(path=OUTPUT_FILE):
    """The {key: array} dict written by save_outputs."""
    with np.load(path, allow_pickle=False) as data:
        groups = data["groups"].tobytes().decode().split("\n")
        names = data["names"].tobytes().decode().split("\n")
        refs, table = data["refs"], data["table"]
        pools = [data[f"{dtype}_pool"] for dtype in _POOL_DTYPES]
    arrays = []
    for kind, offset, ndim, rows, cols in table.tolist():
        shape = (rows, cols)[:ndim]
        size = rows * cols
        arrays.append(pools[kind][offset:offset + size].reshape(shape).copy())
    return {f"{group}/{name}": arrays[refs[g, n]]
            for g, group in enumerate(groups) for n, name in enumerate(names)}


def same_bits(a, b):
    """Whether two arrays have the same dtype, shape and bits (NaN payloads, signed zeros)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        unsigned = np.dtype(f"u{a.dtype.itemsize}")
        return bool(np.array_equal(a.view(unsigned), b.view(unsigned)))
    return bool(np.array_equal(a, b))


# ---------------------------------------------------------------------------

@contextlib.contextmanager
def _default_without_blas(name, threads):
    """force_path(name) of a default path, then BLAS switched off: results that do not
    change show that no product of the cases reached BLAS's thresholds."""
    import fastprop

    assert name.endswith("_default")
    with force_path(name, threads):
        with fastprop.config_context(blas_min_multiply_adds_float32=None,
                                     blas_min_multiply_adds_float64=None,
                                     single_thread_blas_min_multiply_adds=None,
                                     narrow_blas_min_multiply_adds=None):
            yield


def main():
    check_shapes_avoid_blas()
    before = load_outputs() if OUTPUT_FILE.exists() else {}
    team_tasks = {}
    outputs = compute_outputs(force_path, team_tasks=team_tasks)
    again = compute_outputs(force_path)
    assert list(again) == list(outputs)
    unstable = [key for key in outputs if not same_bits(outputs[key], again[key])]
    assert not unstable, f"not deterministic in one process: {unstable[:10]}"
    for path in ("avx2_default", "avx512_default"):
        for threads in THREADS:
            for dtype in DTYPES:
                without_blas = compute_group(_default_without_blas, path, threads, dtype)
                changed = [key for key, array in without_blas.items()
                           if not same_bits(array, outputs[key])]
                assert not changed, f"BLAS changes these {path} results: {changed[:10]}"
    # The file only grows: what it held keeps its bits.
    changed = [key for key, array in before.items()
               if key not in outputs or not same_bits(array, outputs[key])]
    assert not changed, f"stored arrays that would change: {changed[:10]}"
    # The avx512 paths give the avx2 paths' bits.
    differ = [key for key in outputs if key.startswith("avx512_")
              and not same_bits(outputs[key], outputs["avx2_" + key[len("avx512_"):]])]
    assert not differ, f"avx512 results that differ from avx2: {differ[:10]}"
    for key, tasks in team_tasks.items():
        path, threads = key.split("/")[:2]
        if threads == "t1" or path == "loops":
            assert tasks == 0, (key, tasks)
        else:
            assert tasks > 0, f"the helper team did no work in {key}"
    n_members = save_outputs(outputs)
    loaded = load_outputs()
    assert list(loaded) == list(outputs)
    assert all(same_bits(array, outputs[key]) for key, array in loaded.items())
    print(f"{len(outputs)} arrays ({n_members} distinct) in {OUTPUT_FILE}, "
          f"{OUTPUT_FILE.stat().st_size} bytes")
    threads_differ = [key for key in outputs if "/t1/" in key
                      and not same_bits(outputs[key], outputs[key.replace("/t1/", "/t2/", 1)])]
    print(f"arrays that differ between 1 and 2 threads: {len(threads_differ)} {threads_differ[:5]}")
    for first, second in [("loops", "avx2_vector"), ("loops", "avx2_default"),
                          ("avx2_vector", "avx2_default"), ("avx2_vector", "avx512_vector"),
                          ("avx2_default", "avx512_default")]:
        keys = [key for key in outputs if key.startswith(first + "/")]
        differ = sum(not same_bits(outputs[key], outputs[second + key[len(first):]])
                     for key in keys)
        print(f"arrays that differ between {first} and {second}: {differ} of {len(keys)}")
    print("helper tasks in the fits that share products out:")
    for key, tasks in team_tasks.items():
        if tasks:
            print(f"  {key}: {tasks}")


if __name__ == "__main__":
    sys.exit(main())
