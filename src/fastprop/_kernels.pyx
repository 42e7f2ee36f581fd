# cython: language_level=3
"""The Python-facing layer of fastprop's compiled kernels.

Design
------
* The kernels are C (``_steps.c``, ``_products.c``, ``_vector_products*.c``,
  ``_elementwise.c``, ``_activations.c``, ``_losses.c``, ``_sigmoid.c``, ``_blas.c``,
  ``_team.c``; each header says
  what its file does). They check nothing, allocate nothing and never touch
  Python: they take raw pointers and sizes and run without the GIL.
* This module is the only way in from Python. Every ``def`` here checks dtype,
  rank, shape, contiguity, alignment and writability of what it is given, then
  calls the kernels inside ``with nogil:``. ``fastprop.network`` validates the
  user's data (ranks, widths, finiteness) before it calls these.
* The caller allocates every buffer and passes it in; a kernel writes only into
  the outputs it is given. ``Trainer.run`` runs whole epochs on a workspace
  that ``fastprop.network`` allocates once per ``fit``; nothing is allocated per
  step and the training set is never copied.
* Every 2-D buffer is C-contiguous (row-major), samples are rows, weights are
  ``(n_out, n_in)``.
* The configuration (threads, CPU path, routing thresholds) is one C struct,
  ``_config.h``, held here and changed only with the GIL held (through
  ``fastprop.set_config``); each kernel call gets a copy taken before the GIL is
  released, so a call runs under one configuration from start to end.
* Threads: ``Trainer.run`` starts a team of helper threads (``_team.h``) when
  some product of the network's step is large enough to share out, and keeps it
  until ``Trainer.stop_threads``; outside ``fit`` everything runs on the calling
  thread. A product gives the same bits whichever thread computes which part.
"""
import math
import threading

from cpython.exc cimport PyErr_CheckSignals
from cython cimport floating
from libc.stddef cimport ptrdiff_t
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport dgemm, sgemm

import numpy as np
cimport numpy as cnp

cnp.import_array()


fastprop_blas_install(sgemm, dgemm)



# ---------------------------------------------------------------------------
# The configuration: one C struct, read and written through fastprop._configuration
# ---------------------------------------------------------------------------

MAX_THREADS = FASTPROP_MAX_THREADS
NEVER = FASTPROP_NEVER
CPU_PATHS = ("baseline", "avx2", "avx512")   # in the order of fastprop_cpu_path
PLANS = ("fixed", "measured", "portable")    # in the order of fastprop_plan
ROUTES = ("loops", "vector", "blas")         # in the order of fastprop_route
PRODUCT_KINDS = ("forward", "hidden_delta", "gradient_step")   # a plan's products per layer
# in the order of fastprop_activation (softmax: output layers only)
ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity", "softmax")
# in the order of fastprop_loss: 1/2 * squared error, binary and categorical cross-entropy
LOSS_KINDS = ("squared", "bce", "cross_entropy")
# Networks no wider than this whose products all run in the loops take one fused step.
SMALL_STEP_MAX_WIDTH = FASTPROP_SMALL_STEP_MAX_WIDTH

cdef fastprop_config CONFIG = fastprop_default_config()

cdef extern from *:
    const char* FASTPROP_BUILD_FLAGS    # defined by setup.py

BUILD_FLAGS = FASTPROP_BUILD_FLAGS.decode()

# The integer fields of the struct, as get_config names them.
THRESHOLD_FIELDS = (
    "vector_min_multiply_adds", "blas_min_multiply_adds_float32", "blas_min_multiply_adds_float64",
    "loops_blas_min_multiply_adds", "single_thread_blas_min_multiply_adds",
    "narrow_blas_min_multiply_adds", "parallel_min_multiply_adds", "parallel_min_batch_rows",
)


def cpu_capabilities():
    """What this CPU and build offer: {"avx2_fma", "avx512", "vector_kernels_compiled",
    "threads_compiled", "best_path"}."""
    return {
        "avx2_fma": bool(fastprop_cpu_has_avx2_fma()),
        "avx512": bool(fastprop_cpu_has_avx512()),
        "vector_kernels_compiled": bool(fastprop_vector_kernels_compiled()),
        "threads_compiled": bool(FASTPROP_TEAM_HAS_THREADS),
        "best_path": CPU_PATHS[<int> fastprop_cpu_best_path()],
    }


def default_config():
    """The struct's defaults as a dict (threads 1, plan fixed, cpu path baseline: the caller
    resolves them)."""
    return _as_dict(fastprop_default_config())


def read_config():
    """The configuration in use, as a dict: threads, plan, cpu (the path, resolved), the
    thresholds."""
    return _as_dict(CONFIG)


def plan_in_use():
    """read_config()["plan"], without building the dict (fit asks for it every time)."""
    return PLANS[<int> CONFIG.plan]


def path_and_threads():
    """{"cpu": the CPU path in use, "threads": the thread count} (for a plan's key)."""
    return {"cpu": CPU_PATHS[<int> CONFIG.cpu], "threads": CONFIG.threads}


def write_config(values):
    """Replace the configuration with values (a dict as read_config returns).

    fastprop._configuration checks options and words its errors for users; this
    checks again what could make a kernel misbehave (a CPU path this CPU cannot
    run, a thread count beyond the team's, a negative threshold), so that no call
    from Python can reach an unsafe state."""
    cdef fastprop_config config = CONFIG
    cdef int cpu = CPU_PATHS.index(values["cpu"])
    if cpu > <int> fastprop_cpu_best_path():
        raise ValueError(f"cpu path {values['cpu']!r} is beyond what this CPU and build run")
    cdef int plan = PLANS.index(values["plan"])
    if not 1 <= values["threads"] <= FASTPROP_MAX_THREADS:
        raise ValueError(f"threads must be from 1 to {FASTPROP_MAX_THREADS}")
    for name in THRESHOLD_FIELDS:
        if not 0 <= values[name] <= FASTPROP_NEVER:
            raise ValueError(f"{name} must be from 0 to {FASTPROP_NEVER}")
    config.threads = values["threads"]
    config.pin_threads = 1 if values["pin_threads"] else 0
    config.plan = <fastprop_plan> plan
    config.cpu = <fastprop_cpu_path> cpu
    config.vector_min_multiply_adds = values["vector_min_multiply_adds"]
    config.blas_min_multiply_adds_float32 = values["blas_min_multiply_adds_float32"]
    config.blas_min_multiply_adds_float64 = values["blas_min_multiply_adds_float64"]
    config.loops_blas_min_multiply_adds = values["loops_blas_min_multiply_adds"]
    config.single_thread_blas_min_multiply_adds = values["single_thread_blas_min_multiply_adds"]
    config.narrow_blas_min_multiply_adds = values["narrow_blas_min_multiply_adds"]
    config.parallel_min_multiply_adds = values["parallel_min_multiply_adds"]
    config.parallel_min_batch_rows = values["parallel_min_batch_rows"]
    global CONFIG
    CONFIG = config


cdef dict _as_dict(fastprop_config config):
    return {
        "threads": config.threads,
        "pin_threads": bool(config.pin_threads),
        "plan": PLANS[<int> config.plan],
        "cpu": CPU_PATHS[<int> config.cpu],
        "vector_min_multiply_adds": config.vector_min_multiply_adds,
        "blas_min_multiply_adds_float32": config.blas_min_multiply_adds_float32,
        "blas_min_multiply_adds_float64": config.blas_min_multiply_adds_float64,
        "loops_blas_min_multiply_adds": config.loops_blas_min_multiply_adds,
        "single_thread_blas_min_multiply_adds": config.single_thread_blas_min_multiply_adds,
        "narrow_blas_min_multiply_adds": config.narrow_blas_min_multiply_adds,
        "parallel_min_multiply_adds": config.parallel_min_multiply_adds,
        "parallel_min_batch_rows": config.parallel_min_batch_rows,
    }


cdef long long HELPER_TASKS = 0


def helper_task_count():
    """How many tasks helper threads have done in this process (a diagnostic)."""
    return HELPER_TASKS


# ---------------------------------------------------------------------------
# Checks at the boundary
# ---------------------------------------------------------------------------

cdef _require_floating_c_array(name, array, int ndim, dtype, bint writable=False):
    """Raise TypeError/ValueError unless array is an aligned C-contiguous ndarray of dtype and rank."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    if array.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {array.dtype}")
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {array.ndim}-D with shape {array.shape}")
    if not array.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if not array.flags.aligned:
        raise ValueError(f"{name} must be aligned for its dtype (copy it, e.g. with numpy.array)")
    if writable and not array.flags.writeable:
        raise ValueError(f"{name} must be writable")


cdef _require_shape(name, array, expected):
    if tuple(array.shape) != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}, got {tuple(array.shape)}")


cdef _floating_dtype_of(name, array):
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    if array.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must have dtype float32 or float64, got {array.dtype}")
    return array.dtype


cdef _require_nonempty(name, array):
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")


cdef inline void* _data_pointer(array):
    """The data pointer of an ndarray the caller has already checked."""
    return cnp.PyArray_DATA(<cnp.ndarray> array)


# ---------------------------------------------------------------------------
# One kernel per call, on arrays
# ---------------------------------------------------------------------------

cdef fastprop_activation _activation_code(name, argument="activation") except *:
    if name not in ACTIVATIONS:
        raise ValueError(f"{argument} must be one of {', '.join(ACTIVATIONS)}, got {name!r}")
    return <fastprop_activation> <int> ACTIVATIONS.index(name)


cdef fastprop_loss _loss_code(name) except *:
    if name not in LOSS_KINDS:
        raise ValueError(f"loss must be one of {', '.join(LOSS_KINDS)}, got {name!r}")
    return <fastprop_loss> <int> LOSS_KINDS.index(name)


def activate(z, out, activation):
    """out := f(z) for 1-D arrays of one floating dtype, f one of ACTIVATIONS but the softmax."""
    cdef fastprop_activation function = _activation_code(activation)
    if function == FASTPROP_ACTIVATION_SOFTMAX:
        raise ValueError("the softmax is taken across rows: use softmax_rows")
    dtype = _floating_dtype_of("z", z)
    _require_floating_c_array("z", z, 1, dtype)
    _require_floating_c_array("out", out, 1, dtype, writable=True)
    _require_shape("out", out, z.shape)
    if z.size == 0:
        return
    if dtype == np.float32:
        _activate_wrapper[float](z, out, function)
    else:
        _activate_wrapper[double](z, out, function)


cdef _activate_wrapper(const floating[::1] z, floating[::1] out, fastprop_activation function):
    cdef fastprop_cpu_path cpu = CONFIG.cpu
    with nogil:
        if floating is float:
            fastprop_activate_float(cpu, function, &z[0], &out[0], z.shape[0])
        else:
            fastprop_activate_double(cpu, function, &z[0], &out[0], z.shape[0])


def softmax_rows(Z):
    """Z := the softmax of each row of Z (2-D), in place: exp(z - max z) / its sum."""
    dtype = _floating_dtype_of("Z", Z)
    _require_floating_c_array("Z", Z, 2, dtype, writable=True)
    _require_nonempty("Z", Z)
    if dtype == np.float32:
        _softmax_wrapper[float](Z)
    else:
        _softmax_wrapper[double](Z)


cdef _softmax_wrapper(floating[:, ::1] Z):
    cdef fastprop_cpu_path cpu = CONFIG.cpu
    with nogil:
        if floating is float:
            fastprop_softmax_rows_float(cpu, &Z[0, 0], Z.shape[0], Z.shape[1])
        else:
            fastprop_softmax_rows_double(cpu, &Z[0, 0], Z.shape[0], Z.shape[1])


def sigmoid(z, out):
    """out := sigmoid(z), for 1-D arrays of one floating dtype."""
    dtype = _floating_dtype_of("z", z)
    _require_floating_c_array("z", z, 1, dtype)
    _require_floating_c_array("out", out, 1, dtype, writable=True)
    _require_shape("out", out, z.shape)
    if z.size == 0:
        return
    if dtype == np.float32:
        _sigmoid_wrapper[float](z, out)
    else:
        _sigmoid_wrapper[double](z, out)


cdef _sigmoid_wrapper(const floating[::1] z, floating[::1] out):
    cdef fastprop_cpu_path cpu = CONFIG.cpu
    with nogil:
        if floating is float:
            fastprop_sigmoid_float(cpu, &z[0], &out[0], z.shape[0])
        else:
            fastprop_sigmoid_double(cpu, &z[0], &out[0], z.shape[0])


def all_finite(values):
    """True when every element of an aligned C-contiguous float32/float64 array is finite."""
    dtype = _floating_dtype_of("values", values)
    if not values.flags.c_contiguous:
        raise ValueError("values must be C-contiguous")
    if not values.flags.aligned:
        raise ValueError("values must be aligned for its dtype")
    if values.size == 0:
        return True
    flat = values.reshape(-1)
    if dtype == np.float32:
        return _all_finite_wrapper[float](flat)
    return _all_finite_wrapper[double](flat)


cdef bint _all_finite_wrapper(const floating[::1] values):
    cdef bint result
    with nogil:
        if floating is float:
            result = fastprop_all_finite_float(&values[0], values.shape[0])
        else:
            result = fastprop_all_finite_double(&values[0], values.shape[0])
    return result


def dense_forward(A_in, W, b, A_out, activation="sigmoid"):
    """A_out := f(A_in @ W.T + b), f one of ACTIVATIONS but the softmax"""
    cdef fastprop_activation function = _activation_code(activation)
    if function == FASTPROP_ACTIVATION_SOFTMAX:
        raise ValueError("the softmax is taken across rows: use activation='identity', then "
                         "softmax_rows")
    dtype = _floating_dtype_of("A_in", A_in)
    _require_floating_c_array("A_in", A_in, 2, dtype)
    _require_floating_c_array("W", W, 2, dtype)
    _require_floating_c_array("b", b, 1, dtype)
    _require_floating_c_array("A_out", A_out, 2, dtype, writable=True)
    rows, n_in = A_in.shape
    n_out = W.shape[0]
    _require_shape("W", W, (n_out, n_in))
    _require_shape("b", b, (n_out,))
    _require_shape("A_out", A_out, (rows, n_out))
    for name, array in (("A_in", A_in), ("W", W), ("A_out", A_out)):
        _require_nonempty(name, array)
    if dtype == np.float32:
        _forward_wrapper[float](A_in, W, b, A_out, function)
    else:
        _forward_wrapper[double](A_in, W, b, A_out, function)


dense_sigmoid_forward = dense_forward


cdef _forward_wrapper(const floating[:, ::1] A_in, const floating[:, ::1] W,
                      const floating[::1] b, floating[:, ::1] A_out,
                      fastprop_activation function):
    cdef fastprop_config config = CONFIG
    with nogil:
        if floating is float:
            fastprop_dense_forward_float(&config, NULL, NULL, A_in.shape[0], A_in.shape[1],
                                         W.shape[0], &A_in[0, 0], &W[0, 0], &b[0], &A_out[0, 0],
                                         function)
        else:
            fastprop_dense_forward_double(&config, NULL, NULL, A_in.shape[0], A_in.shape[1],
                                          W.shape[0], &A_in[0, 0], &W[0, 0], &b[0], &A_out[0, 0],
                                          function)


# The output functions each loss takes (_losses.h).
_LOSS_OUTPUTS = {"squared": ("sigmoid", "identity"), "bce": ("sigmoid",),
                 "cross_entropy": ("softmax",)}


def output_delta(A, Y, delta, loss="squared", output="sigmoid", labels=None):
    """delta := the output delta of loss (one of LOSS_KINDS) for the output function output;
    returns the batch's summed loss. For "squared", A holds the outputs f(z) and
    delta := (A - Y) * f'(z) (1/2 * sum((A - Y)**2) returned); for "bce" and
    "cross_entropy", A holds z and is overwritten with the outputs, and delta := A - Y.
    labels (int64, one class per row) may replace Y for "cross_entropy" (Y None)."""
    cdef fastprop_loss loss_code = _loss_code(loss)
    cdef fastprop_activation output_code = _activation_code(output, "output")
    if output not in _LOSS_OUTPUTS[loss]:
        raise ValueError(f"loss {loss!r} takes output {' or '.join(map(repr, _LOSS_OUTPUTS[loss]))}, "
                         f"got {output!r}")
    dtype = _floating_dtype_of("A", A)
    _require_floating_c_array("A", A, 2, dtype, writable=loss != "squared")
    _require_floating_c_array("delta", delta, 2, dtype, writable=True)
    _require_shape("delta", delta, A.shape)
    _require_nonempty("A", A)
    if labels is None:
        _require_floating_c_array("Y", Y, 2, dtype)
        _require_shape("Y", Y, A.shape)
    else:
        if loss != "cross_entropy":
            raise ValueError("labels stand for targets only with loss 'cross_entropy'")
        if Y is not None:
            raise ValueError("give Y or labels, not both")
        _require_labels("labels", labels, A.shape[0], A.shape[1])
    cdef const long long* label_data = NULL
    cdef void* target_data = NULL
    if labels is None:
        target_data = _data_pointer(Y)
    else:
        label_data = <const long long*> _data_pointer(labels)
    cdef cnp.ndarray outputs = A, deltas = delta
    cdef double total
    cdef fastprop_cpu_path cpu = CONFIG.cpu
    cdef ptrdiff_t rows = A.shape[0], cols = A.shape[1]
    cdef bint is_float32 = dtype == np.float32
    cdef void* a_data = cnp.PyArray_DATA(outputs)
    cdef void* delta_data = cnp.PyArray_DATA(deltas)
    with nogil:
        if is_float32:
            total = fastprop_output_delta_float(cpu, loss_code, output_code, rows, cols,
                                                <float*> a_data, <const float*> target_data,
                                                label_data, <float*> delta_data)
        else:
            total = fastprop_output_delta_double(cpu, loss_code, output_code, rows, cols,
                                                 <double*> a_data, <const double*> target_data,
                                                 label_data, <double*> delta_data)
    return total


cdef _require_labels(name, labels, Py_ssize_t rows, Py_ssize_t classes):
    """labels: a C-contiguous int64 array of rows class indices, each in [0, classes)."""
    if not isinstance(labels, np.ndarray) or labels.dtype != np.int64 or labels.ndim != 1:
        raise TypeError(f"{name} must be a 1-D int64 array")
    if not (labels.flags.c_contiguous and labels.flags.aligned):
        raise ValueError(f"{name} must be C-contiguous and aligned")
    if labels.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} entries, got {labels.shape[0]}")
    if rows and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{name} must be class indices from 0 to {classes - 1}")


def hidden_delta(delta_next, W_next, A, delta, activation="sigmoid"):
    """delta := (delta_next @ W_next) * f'(z), from A = f(z), f one of ACTIVATIONS but the
    softmax"""
    cdef fastprop_activation function = _activation_code(activation)
    if function == FASTPROP_ACTIVATION_SOFTMAX:
        raise ValueError("a softmax layer has no hidden delta")
    dtype = _floating_dtype_of("delta_next", delta_next)
    _require_floating_c_array("delta_next", delta_next, 2, dtype)
    _require_floating_c_array("W_next", W_next, 2, dtype)
    _require_floating_c_array("A", A, 2, dtype)
    _require_floating_c_array("delta", delta, 2, dtype, writable=True)
    rows, n_next = delta_next.shape
    n_this = A.shape[1]
    _require_shape("W_next", W_next, (n_next, n_this))
    _require_shape("A", A, (rows, n_this))
    _require_shape("delta", delta, (rows, n_this))
    for name, array in (("delta_next", delta_next), ("A", A)):
        _require_nonempty(name, array)
    if dtype == np.float32:
        _hidden_delta_wrapper[float](delta_next, W_next, A, delta, function)
    else:
        _hidden_delta_wrapper[double](delta_next, W_next, A, delta, function)


cdef _hidden_delta_wrapper(const floating[:, ::1] delta_next, const floating[:, ::1] W_next,
                           const floating[:, ::1] A, floating[:, ::1] delta,
                           fastprop_activation function):
    cdef fastprop_config config = CONFIG
    with nogil:
        if floating is float:
            fastprop_hidden_delta_float(&config, NULL, A.shape[0], delta_next.shape[1], A.shape[1],
                                        &delta_next[0, 0], &W_next[0, 0], &A[0, 0], function,
                                        &delta[0, 0])
        else:
            fastprop_hidden_delta_double(&config, NULL, A.shape[0], delta_next.shape[1],
                                         A.shape[1], &delta_next[0, 0], &W_next[0, 0], &A[0, 0],
                                         function, &delta[0, 0])


def weight_gradient(delta, A_prev, grad_W, grad_b):
    """grad_W := delta.T @ A_prev; grad_b := delta.sum(0)"""
    dtype = _floating_dtype_of("delta", delta)
    _require_floating_c_array("delta", delta, 2, dtype)
    _require_floating_c_array("A_prev", A_prev, 2, dtype)
    _require_floating_c_array("grad_W", grad_W, 2, dtype, writable=True)
    _require_floating_c_array("grad_b", grad_b, 1, dtype, writable=True)
    rows, n_out = delta.shape
    n_in = A_prev.shape[1]
    _require_shape("A_prev", A_prev, (rows, n_in))
    _require_shape("grad_W", grad_W, (n_out, n_in))
    _require_shape("grad_b", grad_b, (n_out,))
    for name, array in (("delta", delta), ("A_prev", A_prev)):
        _require_nonempty(name, array)
    if dtype == np.float32:
        _weight_gradient_wrapper[float](delta, A_prev, grad_W, grad_b)
    else:
        _weight_gradient_wrapper[double](delta, A_prev, grad_W, grad_b)


cdef _weight_gradient_wrapper(const floating[:, ::1] delta, const floating[:, ::1] A_prev,
                              floating[:, ::1] grad_W, floating[::1] grad_b):
    cdef fastprop_config config = CONFIG
    with nogil:
        if floating is float:
            fastprop_weight_gradient_float(&config, delta.shape[0], A_prev.shape[1],
                                           delta.shape[1], &delta[0, 0], &A_prev[0, 0],
                                           &grad_W[0, 0], &grad_b[0])
        else:
            fastprop_weight_gradient_double(&config, delta.shape[0], A_prev.shape[1],
                                            delta.shape[1], &delta[0, 0], &A_prev[0, 0],
                                            &grad_W[0, 0], &grad_b[0])


def fused_gradient_step(delta, A_prev, W, b, lr):
    """W := W - lr * delta.T @ A_prev; b := b - lr * delta.sum(0)"""
    dtype = _floating_dtype_of("delta", delta)
    _require_floating_c_array("delta", delta, 2, dtype)
    _require_floating_c_array("A_prev", A_prev, 2, dtype)
    _require_floating_c_array("W", W, 2, dtype, writable=True)
    _require_floating_c_array("b", b, 1, dtype, writable=True)
    rows, n_out = delta.shape
    n_in = A_prev.shape[1]
    _require_shape("A_prev", A_prev, (rows, n_in))
    _require_shape("W", W, (n_out, n_in))
    _require_shape("b", b, (n_out,))
    for name, array in (("delta", delta), ("A_prev", A_prev)):
        _require_nonempty(name, array)
    if dtype == np.float32:
        _gradient_step_wrapper[float](delta, A_prev, W, b, lr)
    else:
        _gradient_step_wrapper[double](delta, A_prev, W, b, lr)


cdef _gradient_step_wrapper(const floating[:, ::1] delta, const floating[:, ::1] A_prev,
                            floating[:, ::1] W, floating[::1] b, floating lr):
    cdef fastprop_config config = CONFIG
    with nogil:
        if floating is float:
            fastprop_gradient_step_float(&config, NULL, delta.shape[0], A_prev.shape[1],
                                         delta.shape[1], lr, &delta[0, 0], &A_prev[0, 0],
                                         &W[0, 0], &b[0])
        else:
            fastprop_gradient_step_double(&config, NULL, delta.shape[0], A_prev.shape[1],
                                          delta.shape[1], lr, &delta[0, 0], &A_prev[0, 0],
                                          &W[0, 0], &b[0])


def sgd_update(param, grad, lr):
    """param := param - lr * grad (arrays of any shape, the same shape)"""
    dtype = _floating_dtype_of("param", param)
    _require_floating_c_array("param", param, param.ndim, dtype, writable=True)
    _require_floating_c_array("grad", grad, param.ndim, dtype)
    _require_shape("grad", grad, param.shape)
    if param.size == 0:
        return
    if dtype == np.float32:
        _sgd_update_wrapper[float](param.reshape(-1), grad.reshape(-1), lr)
    else:
        _sgd_update_wrapper[double](param.reshape(-1), grad.reshape(-1), lr)


cdef _sgd_update_wrapper(floating[::1] param, const floating[::1] grad, floating lr):
    with nogil:
        if floating is float:
            fastprop_sgd_update_float(param.shape[0], lr, &grad[0], &param[0])
        else:
            fastprop_sgd_update_double(param.shape[0], lr, &grad[0], &param[0])


include "_trainer.pxi"
