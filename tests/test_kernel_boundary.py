"""The checks at the boundary of ``fastprop._kernels``: every wrapper rejects every
bad argument with a TypeError or ValueError naming it (dtype, rank, shape,
contiguity, alignment, writability, mismatched sizes), never crashes, and keeps
alive every array the Trainer points to."""
import os

import numpy as np
import pytest

from fastprop import _kernels
from fastprop._testing import (
    OTHER,
    make_training_problem,
    train_buffers,
)

# --- the wrappers' own checks --------------------------------------------------

def valid_arguments(name, dtype, rows=3, n_in=4, n_out=2):
    """Valid arguments (names, values, names of outputs) of a wrapper; every side >= 2."""
    rng = np.random.default_rng(0)

    def r(*shape, low=-1.0, high=1.0):
        return rng.uniform(low, high, size=shape).astype(dtype)

    if name == "sigmoid":
        return {"z": r(5), "out": r(5)}, {"out"}
    if name == "dense_sigmoid_forward":
        return {"A_in": r(rows, n_in), "W": r(n_out, n_in), "b": r(n_out), "A_out": r(rows, n_out)}, {"A_out"}
    if name == "output_delta":
        return {"A": r(rows, n_out, low=0), "Y": r(rows, n_out), "delta": r(rows, n_out)}, {"delta"}
    if name == "hidden_delta":
        return {"delta_next": r(rows, n_out), "W_next": r(n_out, n_in), "A": r(rows, n_in, low=0),
                "delta": r(rows, n_in)}, {"delta"}
    if name == "weight_gradient":
        return {"delta": r(rows, n_out), "A_prev": r(rows, n_in), "grad_W": r(n_out, n_in),
                "grad_b": r(n_out)}, {"grad_W", "grad_b"}
    if name == "sgd_update":
        return {"param": r(rows, n_in), "grad": r(rows, n_in), "lr": 0.5}, {"param"}
    if name == "fused_gradient_step":
        return {"delta": r(rows, n_out), "A_prev": r(rows, n_in), "W": r(n_out, n_in), "b": r(n_out),
                "lr": 0.5}, {"W", "b"}
    raise AssertionError(name)


ELEMENTWISE_WRAPPERS = ["sigmoid", "dense_sigmoid_forward", "output_delta", "hidden_delta",
                        "weight_gradient", "sgd_update", "fused_gradient_step"]


def call(name, arguments):
    return getattr(_kernels, name)(*arguments.values())


def non_contiguous_copy(array):
    """The same values and shape, as a strided (not C-contiguous) view."""
    wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), dtype=array.dtype)
    view = wide[..., ::2]
    view[...] = array
    assert not view.flags.c_contiguous
    return view


def unaligned_copy(array):
    """A C-contiguous copy of array one byte off its dtype's alignment."""
    buffer = np.zeros(array.nbytes + 1, dtype=np.uint8)
    view = buffer[1:].view(array.dtype).reshape(array.shape)
    view[...] = array
    assert view.flags.c_contiguous and not view.flags.aligned
    return view


def bad_variants(name, dtype):
    """(description, arguments, exception, match) for one wrong argument at a time."""
    arguments, outputs = valid_arguments(name, dtype)
    array_names = [key for key, value in arguments.items() if isinstance(value, np.ndarray)]
    for key in array_names:
        value = arguments[key]

        def replaced(new, key=key):
            changed = dict(arguments)
            changed[key] = new
            return changed

        yield f"{key} int64", replaced(value.astype(np.int64)), TypeError, r"dtype"
        yield f"{key} mixed dtype", replaced(value.astype(OTHER[dtype])), TypeError, r"dtype"
        if key == array_names[0] or key in outputs:
            yield f"{key} list", replaced(value.tolist()), TypeError, r"numpy\.ndarray"
            yield f"{key} float16", replaced(value.astype(np.float16)), TypeError, r"dtype"
        yield f"{key} non-contiguous", replaced(non_contiguous_copy(value)), ValueError, r"C-contiguous"
        yield f"{key} unaligned", replaced(unaligned_copy(value)), ValueError, rf"{key} must be aligned"
        if value.ndim == 2:
            yield (f"{key} Fortran", replaced(np.asfortranarray(value)), ValueError, r"C-contiguous")
        if key in outputs:
            read_only = value.copy()
            read_only.setflags(write=False)
            yield f"{key} read-only", replaced(read_only), ValueError, r"writable"
        if not (name == "sgd_update" and key == "param") and key != array_names[0]:
            yield (f"{key} extra column", replaced(np.zeros(value.shape[:-1] + (value.shape[-1] + 1,), dtype)),
                   ValueError, r"must have shape")
            yield (f"{key} wrong rank", replaced(value[..., None].copy()), ValueError, r"must be \d-D|must have shape")
        if key == array_names[0] and name != "sgd_update":
            yield (f"{key} wrong rank", replaced(value.reshape(-1)[None, None].copy() if value.ndim == 1
                                                 else value.reshape(-1).copy()),
                   ValueError, r"must be \d-D")
    if name == "sgd_update":
        yield "grad wrong shape", dict(arguments, grad=arguments["grad"].T.copy()), ValueError, r"must have shape"
    if name in ("dense_sigmoid_forward", "output_delta", "hidden_delta", "weight_gradient",
                "fused_gradient_step"):
        # Empty batches are refused (there is no first element to point at).
        empty = {key: (np.zeros((0,) + value.shape[1:], dtype)
                       if isinstance(value, np.ndarray) and value.ndim == 2
                       and key not in ("W", "W_next", "grad_W") else value)
                 for key, value in arguments.items()}
        yield "empty batch", empty, ValueError, r"must not be empty"


ALL_BAD_CASES = [(name, description, dtype)
                 for name in ELEMENTWISE_WRAPPERS
                 for dtype in (np.dtype(np.float32), np.dtype(np.float64))
                 for description, *_ in bad_variants(name, np.dtype(dtype))]


@pytest.mark.parametrize("name, description, case_dtype", ALL_BAD_CASES,
                         ids=[f"{n}-{d}-{t.name}" for n, d, t in ALL_BAD_CASES])
def test_wrapper_rejects_bad_argument(name, description, case_dtype):
    (arguments, exception, match), = [(a, e, m) for d, a, e, m in bad_variants(name, case_dtype)
                                      if d == description]
    snapshots = {key: value.copy() for key, value in arguments.items() if isinstance(value, np.ndarray)}
    with pytest.raises(exception, match=match):
        call(name, arguments)
    for key, before in snapshots.items():  # nothing was written
        np.testing.assert_array_equal(arguments[key], before)


@pytest.mark.parametrize("name", ["dense_sigmoid_forward", "hidden_delta", "weight_gradient",
                                  "fused_gradient_step", "output_delta"])
def test_wrapper_rejects_mismatched_inner_sizes(dtype, name):
    arguments, _ = valid_arguments(name, dtype)
    first, second = list(arguments)[:2]
    # Same first array, second array one row or column too many: never read out of bounds.
    bigger = np.zeros((arguments[second].shape[0] + 1, arguments[second].shape[1] + 1), dtype)
    with pytest.raises(ValueError, match=r"must have shape"):
        call(name, dict(arguments, **{second: bigger}))


def test_wrappers_reject_non_arrays_and_none(dtype):
    with pytest.raises(TypeError, match=r"z must be a numpy\.ndarray, got NoneType"):
        _kernels.sigmoid(None, np.zeros(3, dtype))
    with pytest.raises(TypeError, match=r"out must be a numpy\.ndarray, got list"):
        _kernels.sigmoid(np.zeros(3, dtype), [0.0, 0.0, 0.0])
    with pytest.raises(TypeError, match=r"values must be a numpy\.ndarray"):
        _kernels.all_finite([1.0, 2.0])
    with pytest.raises(TypeError, match=r"values must have dtype float32 or float64, got int64"):
        _kernels.all_finite(np.arange(3))
    with pytest.raises(ValueError, match=r"values must be C-contiguous"):
        _kernels.all_finite(np.zeros((4, 4), dtype)[:, ::2])
    with pytest.raises(TypeError):
        _kernels.sgd_update(np.zeros(3, dtype), np.zeros(3, dtype), "0.5")


# --- network_forward and train_epochs: their own checks -------------------------

def valid_network_arguments(dtype, shuffled=True):
    sizes, weights, biases, X, Y = make_training_problem(dtype, sizes=(3, 4, 2), n=6)
    activations, deltas, batch_X, batch_Y = train_buffers(sizes, dtype, 4, True)
    orders = np.array([np.random.default_rng(1).permutation(6)], dtype=np.int64) if shuffled else None
    return dict(sizes=sizes, weights=weights, biases=biases, X=X, Y=Y, orders=orders, start=0, stop=6,
                batch_size=4, lr=0.5, mean_loss=False, activations=activations, deltas=deltas,
                batch_X=batch_X, batch_Y=batch_Y, epoch_losses=np.zeros(1))


def _read_only(array):
    array = array.copy()
    array.setflags(write=False)
    return array


def train_epochs_bad_cases(dtype):
    other = OTHER[dtype]
    v = valid_network_arguments(dtype)
    W, b, acts = v["weights"], v["biases"], v["activations"]
    yield "X int", dict(X=v["X"].astype(np.int64)), TypeError, r"X must have dtype float32 or float64"
    yield "X list", dict(X=v["X"].tolist()), TypeError, r"X must be a numpy\.ndarray"
    yield "Y other dtype", dict(Y=v["Y"].astype(other)), TypeError, r"Y must have dtype"
    yield "X non-contiguous", dict(X=non_contiguous_copy(v["X"])), ValueError, r"X must be C-contiguous"
    yield "X wrong width", dict(X=np.zeros((6, 4), dtype)), ValueError, r"X must have 3 columns"
    yield "X empty", dict(X=np.zeros((0, 3), dtype)), ValueError, r"X must not be empty"
    yield "Y wrong shape", dict(Y=np.zeros((6, 3), dtype)), ValueError, r"Y must have shape \(6, 2\)"
    yield "Y too few rows", dict(Y=np.zeros((5, 2), dtype)), ValueError, r"Y must have shape"
    yield "weights other dtype", dict(weights=[W[0].astype(other), W[1]]), TypeError, r"weights\[0\] must have dtype"
    yield "weights read-only", dict(weights=[W[0], _read_only(W[1])]), ValueError, r"weights\[1\] must be writable"
    yield "weights wrong shape", dict(weights=[W[0].T.copy(), W[1]]), ValueError, r"weights\[0\] must have shape"
    yield "one weight too few", dict(weights=W[:1]), ValueError, r"one entry per layer"
    yield "biases wrong shape", dict(biases=[b[0][:3].copy(), b[1]]), ValueError, r"biases\[0\] must have shape"
    yield "sizes disagree", dict(sizes=[3, 5, 2]), ValueError, r"weights\[0\] must have shape"
    yield "sizes zero", dict(sizes=[3, 0, 2]), ValueError, r"layer sizes must be >= 1"
    yield "activations too short", dict(activations=[acts[0][:2].copy(), acts[1]]), ValueError, r"at least 4 rows"
    yield "activations wrong width", dict(activations=[acts[1], acts[1]]), ValueError, r"activations\[0\]"
    yield "activations one too few", dict(activations=acts[:1]), ValueError, r"activations must have one entry"
    yield "deltas read-only", dict(deltas=[_read_only(d) for d in v["deltas"]]), ValueError, r"deltas\[0\] must be writable"
    yield "deltas other dtype", dict(deltas=[d.astype(other) for d in v["deltas"]]), TypeError, r"deltas\[0\]"
    yield "orders float", dict(orders=v["orders"].astype(np.float64)), TypeError, r"orders must have dtype int64"
    yield "orders int32", dict(orders=v["orders"].astype(np.int32)), TypeError, r"orders must have dtype int64"
    yield "orders 1-D", dict(orders=v["orders"][0].copy()), ValueError, r"orders must be 2-D"
    yield "orders too short", dict(orders=v["orders"][:, :5].copy()), ValueError, r"orders must have shape \(1, 6\)"
    yield "orders one epoch too many", dict(orders=np.zeros((2, 6), np.int64)), ValueError, r"orders must have shape"
    yield "orders index too big", dict(orders=np.array([[0, 1, 2, 3, 4, 6]])), ValueError, r"orders must hold sample indices in \[0, 6\)"
    yield "orders negative", dict(orders=np.array([[0, 1, 2, 3, 4, -1]])), ValueError, r"orders must hold sample indices"
    yield "batch_X missing", dict(batch_X=None), TypeError, r"batch_X must be a numpy\.ndarray"
    yield "batch_X too short", dict(batch_X=np.zeros((3, 3), dtype)), ValueError, r"batch_X must have at least 4 rows"
    yield "batch_Y wrong width", dict(batch_Y=np.zeros((4, 3), dtype)), ValueError, r"batch_Y must have at least 4 rows and 2 columns"
    yield "batch_Y read-only", dict(batch_Y=_read_only(v["batch_Y"])), ValueError, r"batch_Y must be writable"
    yield "epoch_losses float32", dict(epoch_losses=np.zeros(1, np.float32)), TypeError, r"epoch_losses must be"
    yield "epoch_losses read-only", dict(epoch_losses=_read_only(np.zeros(1))), TypeError, r"epoch_losses must be"
    yield "epoch_losses 2-D", dict(epoch_losses=np.zeros((1, 1))), TypeError, r"epoch_losses must be"
    yield "epoch_losses list", dict(epoch_losses=[0.0]), TypeError, r"epoch_losses must be"
    yield "batch_size zero", dict(batch_size=0), ValueError, r"batch_size must be >= 1, got 0"
    yield "batch_size negative", dict(batch_size=-3), ValueError, r"batch_size must be >= 1"
    yield "start negative", dict(start=-1), ValueError, r"need 0 <= start <= stop <= 6"
    yield "stop too big", dict(stop=7), ValueError, r"need 0 <= start <= stop <= 6"
    yield "start after stop", dict(start=5, stop=4), ValueError, r"need 0 <= start <= stop"


TRAIN_BAD = [(d, t) for t in (np.dtype(np.float32), np.dtype(np.float64))
             for d, *_ in train_epochs_bad_cases(t)]


@pytest.mark.parametrize("description, case_dtype", TRAIN_BAD, ids=[f"{d}-{t.name}" for d, t in TRAIN_BAD])
def test_train_epochs_rejects_bad_argument(description, case_dtype):
    (changes, exception, match), = [(c, e, m) for d, c, e, m in train_epochs_bad_cases(case_dtype)
                                    if d == description]
    arguments = dict(valid_network_arguments(case_dtype), **changes)
    weights_before = [w.copy() for w in arguments["weights"]]
    biases_before = [b.copy() for b in arguments["biases"]]
    losses = arguments["epoch_losses"]
    losses_before = np.array(losses, dtype=np.float64, copy=True)
    with pytest.raises(exception, match=match):
        _kernels.train_epochs(**arguments)
    for got, before in zip(arguments["weights"] + arguments["biases"], weights_before + biases_before):
        np.testing.assert_array_equal(got, before)
    np.testing.assert_array_equal(np.asarray(losses, dtype=np.float64), losses_before)


def test_train_epochs_valid_arguments_are_valid(dtype):
    # The base of the bad cases above runs, and with orders=None needs no batch buffers.
    _kernels.train_epochs(**valid_network_arguments(dtype))
    _kernels.train_epochs(**dict(valid_network_arguments(dtype, shuffled=False), batch_X=None, batch_Y=None))


def network_forward_bad_cases(dtype):
    other = OTHER[dtype]
    v = valid_network_arguments(dtype)
    acts = [np.zeros((6, 4), dtype), np.zeros((6, 2), dtype)]
    yield "X other dtype", dict(X=v["X"].astype(np.int32)), TypeError, r"X must have dtype float32 or float64"
    yield "X 1-D", dict(X=v["X"][0].copy()), ValueError, r"X must be 2-D"
    yield "X non-contiguous", dict(X=non_contiguous_copy(v["X"])), ValueError, r"X must be C-contiguous"
    yield "X wrong width", dict(X=np.zeros((6, 2), dtype)), ValueError, r"X must have 3 columns, got 2"
    yield "X empty", dict(X=np.zeros((0, 3), dtype)), ValueError, r"X must not be empty"
    yield "activations too short", dict(activations=[acts[0][:5].copy(), acts[1]]), ValueError, r"at least 6 rows"
    yield "activations wrong width", dict(activations=[acts[0], np.zeros((6, 3), dtype)]), ValueError, r"activations\[1\]"
    yield "activations read-only", dict(activations=[acts[0], _read_only(acts[1])]), ValueError, r"activations\[1\] must be writable"
    yield "activations other dtype", dict(activations=[acts[0].astype(other), acts[1]]), TypeError, r"activations\[0\] must have dtype"
    yield "activations one too few", dict(activations=acts[:1]), ValueError, r"activations must have one entry per layer"
    yield "weights other dtype", dict(weights=[v["weights"][0], v["weights"][1].astype(other)]), TypeError, r"weights\[1\]"
    yield "weights don't chain", dict(weights=[v["weights"][0], np.zeros((2, 3), dtype)]), ValueError, r"weights\[1\] must have shape \(2, 4\)"
    yield "biases missing", dict(biases=v["biases"][:1]), ValueError, r"one entry per layer"


FORWARD_BAD = [(d, t) for t in (np.dtype(np.float32), np.dtype(np.float64))
               for d, *_ in network_forward_bad_cases(t)]


@pytest.mark.parametrize("description, case_dtype", FORWARD_BAD, ids=[f"{d}-{t.name}" for d, t in FORWARD_BAD])
def test_network_forward_rejects_bad_argument(description, case_dtype):
    (changes, exception, match), = [(c, e, m) for d, c, e, m in network_forward_bad_cases(case_dtype)
                                    if d == description]
    v = valid_network_arguments(case_dtype)
    arguments = dict(sizes=v["sizes"], weights=v["weights"], biases=v["biases"], X=v["X"],
                     activations=[np.zeros((6, 4), case_dtype), np.zeros((6, 2), case_dtype)])
    arguments.update(changes)
    activations_before = [np.array(a, copy=True) for a in arguments["activations"]]
    with pytest.raises(exception, match=match):
        _kernels.network_forward(**arguments)
    for got, before in zip(arguments["activations"], activations_before):
        np.testing.assert_array_equal(got, before)


# Calls that must raise rather than crash the interpreter: each runs in a forked
# child process, so that a segmentation fault fails this test instead of the run.
CRASH_CANDIDATES = {
    "network_forward without activations":
        lambda: _kernels.network_forward([2, 1], [np.ones((1, 2))], [np.ones(1)], np.ones((3, 2)), None),
    "train_epochs without activations or deltas":
        lambda: _kernels.train_epochs([2, 1], [np.ones((1, 2))], [np.ones(1)], np.ones((3, 2)),
                                      np.ones((3, 1)), None, 0, 3, 3, 0.1, False, None, None, None, None,
                                      np.zeros(1)),
    "train_epochs without deltas":
        lambda: _kernels.train_epochs([2, 1], [np.ones((1, 2))], [np.ones(1)], np.ones((3, 2)),
                                      np.ones((3, 1)), None, 0, 3, 3, 0.1, False, [np.ones((3, 1))], None,
                                      None, None, np.zeros(1)),
    "network_forward with no layers":
        lambda: _kernels.network_forward([2], [], [], np.ones((3, 2)), []),
    "train_epochs with no layers":
        lambda: _kernels.train_epochs([2], [], [], np.ones((3, 2)), np.ones((3, 2)), None,
                                      0, 3, 3, 0.1, False, [], [], None, None, np.zeros(1)),
    "train_epochs with a huge entry in sizes":
        lambda: _kernels.train_epochs([2, 2 ** 62], [np.ones((1, 2))], [np.ones(1)], np.ones((3, 2)),
                                      np.ones((3, 1)), None, 0, 3, 3, 0.1, False, [np.ones((3, 1))],
                                      [np.ones((3, 1))], None, None, np.zeros(1)),
}

RAISED, RETURNED, OTHER_EXCEPTION = 17, 18, 19


def _run_in_child(call):
    """Exit code of a forked child that makes the call: RAISED, RETURNED, ... or -signal."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = OTHER_EXCEPTION
        try:
            call()
            code = RETURNED
        except (TypeError, ValueError):
            code = RAISED
        except BaseException:
            pass
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("description", list(CRASH_CANDIDATES))
def test_wrapper_raises_instead_of_crashing(description):
    outcome = _run_in_child(CRASH_CANDIDATES[description])
    assert outcome >= 0, f"the call killed the interpreter with signal {-outcome}"
    assert outcome == RAISED, {RETURNED: "returned without raising",
                               OTHER_EXCEPTION: "raised something other than TypeError/ValueError"}[outcome]


def test_trainer_keeps_alive_every_array_it_points_to(dtype):
    # _kernels.Trainer (what train_epochs and Network.fit use) keeps raw pointers
    # to the per-layer arrays between construction and run(). Whatever the caller
    # later does with its lists, those arrays must stay alive, or run() would
    # write into freed memory.
    import gc
    import weakref

    sizes, weights, biases, X, Y = make_training_problem(dtype, sizes=(3, 4, 2), n=6)
    activations, deltas, _, _ = train_buffers(sizes, dtype, 6, False)
    trainer = _kernels.Trainer(sizes, weights, biases, X, Y, 6, False, activations, deltas)
    held = {name: weakref.ref(arrays[0]) for name, arrays in
            (("weights", weights), ("biases", biases), ("activations", activations), ("deltas", deltas))}
    for arrays in (weights, biases, activations, deltas):
        arrays[0] = arrays[0].copy()  # the caller's list now points elsewhere
    gc.collect()
    dead = [name for name, ref in held.items() if ref() is None]
    assert not dead, f"the trainer holds pointers into freed arrays: {dead}"
    trainer.run(None, 0, 6, 0.5, np.zeros(1))
