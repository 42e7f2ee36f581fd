# cython: language_level=3
"""Compiled kernels for dense sigmoid networks trained by backpropagation.

Design
------
* Two kinds of function live here. The ``cdef ... noexcept nogil`` kernels check
  nothing: they take raw pointers and sizes, run without the GIL and never
  allocate. The ``def`` wrappers at the bottom are the only way in from Python:
  they check dtype, shape, contiguity and writability, then call the kernels in
  ``with nogil:`` blocks. ``fastprop.network`` validates the user's data (ranks,
  widths, finiteness) before it calls the wrappers.
* The caller allocates every buffer and passes it in; a kernel writes only into
  the outputs it is given. ``train_epochs`` runs whole epochs of minibatch
  gradient descent on a workspace that ``fastprop.network`` allocates once per
  ``fit``: nothing is allocated per step, and the training set is never copied
  (minibatches are gathered row by row from it when the order is shuffled, and
  read in place when it is not).
* Every 2-D buffer is C-contiguous (row-major), samples are rows, weights are
  ``(n_out, n_in)``. BLAS is column-major: it sees a row-major ``(r, c)`` matrix as
  its ``(c, r)`` transpose, which is how the ``_matmul_*`` helpers below map
  row-major products onto ``?gemm``.
* Each product goes where it was measured to run fastest (the thresholds
  below): tiny ones to plain loops; small and medium ones to the AVX2/FMA
  kernels of ``_vector_products.h`` (C with intrinsics, compiled for AVX2 by a
  function attribute and called only when the CPU has it, so the rest of the
  extension stays baseline x86-64); large ones to the BLAS GEMM of
  ``scipy.linalg.cython_blas`` (the BLAS SciPy ships; nothing is linked at build
  time). Elementwise work runs in one pass right after each product, on data
  still in cache (the bias and sigmoid of the forward step inside each column
  panel's task of the vector kernels; sigmoid' in one pass over the delta).
* Threads: ``Trainer.run`` starts a team of helper threads (``_team.h``) for a
  chunk of training and passes it down to the kernels, which share the column
  panels of medium products out over it; outside ``fit`` the team is NULL and
  everything runs on the calling thread. A product gives the same bits
  whichever thread computes which panel.
* One fused ``floating`` type covers float32 and float64. Losses are accumulated
  in double precision for both.
"""
from cython cimport floating
from libc.math cimport fabs, fabsf, isfinite
from libc.stddef cimport ptrdiff_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport dgemm, sgemm

import numpy as np
cimport numpy as cnp

cnp.import_array()

cdef extern from "_team.h" nogil:
    # A team of threads sharing the tasks of each phase (see the header).
    ctypedef struct fastprop_team:
        pass
    ctypedef void (*fastprop_task_function)(void* arguments, ptrdiff_t task) noexcept nogil
    int fastprop_team_start(fastprop_team* team, int n_helpers)
    void fastprop_team_run(fastprop_team* team, fastprop_task_function function, void* arguments,
                           ptrdiff_t n_tasks)
    long fastprop_team_stop(fastprop_team* team)

cdef extern from "_vector_products.h" nogil:
    # AVX2/FMA register-blocked products and sigmoid (see the header for why and how).
    const int FASTPROP_VECTOR_PRODUCTS
    int fastprop_cpu_has_avx2_fma()
    bint fastprop_products_float(fastprop_team* team, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                                 const float* A, Py_ssize_t row_stride, Py_ssize_t inner_stride,
                                 const float* B, float alpha, float beta, float* C,
                                 const float* sigmoid_outputs, float* column_sums)
    bint fastprop_products_double(fastprop_team* team, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                                  const double* A, Py_ssize_t row_stride, Py_ssize_t inner_stride,
                                  const double* B, double alpha, double beta, double* C,
                                  const double* sigmoid_outputs, double* column_sums)
    void fastprop_dense_sigmoid_float(fastprop_team* team, Py_ssize_t m, Py_ssize_t n,
                                      Py_ssize_t k, const float* A, const float* W,
                                      const float* bias, float* C)
    void fastprop_dense_sigmoid_double(fastprop_team* team, Py_ssize_t m, Py_ssize_t n,
                                       Py_ssize_t k, const double* A, const double* W,
                                       const double* bias, double* C)
    void fastprop_sigmoid_float(const float* z, float* out, Py_ssize_t size)
    void fastprop_sigmoid_double(const double* z, double* out, Py_ssize_t size)


# Where each product runs, by its number of multiply-adds m * n * k:
#   below VECTOR_MIN_MULTIPLY_ADDS            plain loops
#   from it, below BLAS_MIN_MULTIPLY_ADDS_*   the AVX2/FMA kernels of _vector_products.h,
#                                             if the product fills vectors (below)
#   from BLAS_MIN_MULTIPLY_ADDS_* on          BLAS GEMM (one threshold per dtype)
# The vector range exists only where the CPU has AVX2 and FMA; elsewhere the
# loops run up to LOOPS_ONLY_BLAS_MIN. A product "fills vectors" when the
# dimension its kernel spreads over the vector lanes (the output's columns; for
# the forward step, the outputs or else the inputs) is at least one vector, 8
# floats or 4 doubles; narrower ones would leave most lanes empty, and run in
# the loops up to NARROW_BLAS_MIN_MULTIPLY_ADDS and in BLAS from there.
#
# Measured on the project's 2-core machine (AMD EPYC, Zen 1, 2 GHz) with
# benchmarks/product_crossover.py, whose last run is benchmarks/PRODUCT_CROSSOVER.md
# (networks [w, w, w] trained full-batch on m samples, each path forced in turn,
# w from 2 to 512, m from 1 to 256; microseconds per step below):
# * loops against BLAS (no AVX2): a GEMM call costs about a microsecond of fixed
#   overhead; the loops win up to about 512 multiply-adds, BLAS from about 1024;
# * vector against loops: the vector kernels win from 256 multiply-adds
#   (m 1, w 16: 0.81 against 1.44 in float32; m 4, w 8: 0.94 against 1.95 in
#   float64) wherever the product fills vectors. For widths below one vector
#   the loops stay at least as fast (an earlier run, before this rule: m 256,
#   w 4, float32: 28 against 65), and BLAS overtakes them at about 8192;
# * vector (shared out over the team) against BLAS: in float64 the vector
#   kernels win up to about 8 million multiply-adds (m 32, w 512: 2864 against
#   3982; m 128, w 256: 3328 against 3395) and lose from about 16 million (m 256,
#   w 256: 5872 against 5543); in float32 they stay ahead up to 33 million (m 128,
#   w 512: 5910 against 6465) and tie at 67 million (m 256, w 512: 13097 against
#   13486); on case D's shapes (m 128, 784 and 1024 wide, 2**26.6 and 2**27)
#   OpenBLAS was about 15% faster. So BLAS takes over at 2**24 in float64 and
#   2**26 in float32. (Before the backward products copied their panels of B
#   contiguous, widths of 256 and more lost to cache-set conflicts and the
#   crossovers were at 2**22 and 2**25.);
# * a product that is not shared out over a team (a batch below 16, one thread,
#   or a call from outside fit such as Network.forward) runs the vector kernels
#   on one core, and two-thread BLAS catches up from about 2**20 (m 16, w 256:
#   373 against 375 in float32, 814 against 669 in float64; m 32, w 128: 181
#   against 160 in float32 at 2**19): ALONE_BLAS_MIN_MULTIPLY_ADDS is 2**19.
# Not yet well served: outputs exactly one vector wide (8 floats), where half of
# each 2-vector block is masked (m 256, w 8, float32: vector 47, BLAS 35).
cdef bint VECTOR_PRODUCTS_AVAILABLE = FASTPROP_VECTOR_PRODUCTS and fastprop_cpu_has_avx2_fma()
cdef Py_ssize_t LOOPS_ONLY_BLAS_MIN = 1024
cdef Py_ssize_t VECTOR_DEFAULT_MIN = 256
cdef Py_ssize_t VECTOR_DEFAULT_BLAS_MIN_DOUBLE = 1 << 24
cdef Py_ssize_t VECTOR_DEFAULT_BLAS_MIN_FLOAT = 1 << 26
cdef Py_ssize_t NARROW_BLAS_MIN_MULTIPLY_ADDS = 8192
cdef Py_ssize_t ALONE_DEFAULT_BLAS_MIN = 1 << 19
cdef Py_ssize_t NEVER = (<Py_ssize_t> 1) << 62
cdef Py_ssize_t VECTOR_MIN_MULTIPLY_ADDS = VECTOR_DEFAULT_MIN if VECTOR_PRODUCTS_AVAILABLE else NEVER
cdef Py_ssize_t BLAS_MIN_MULTIPLY_ADDS_DOUBLE = (VECTOR_DEFAULT_BLAS_MIN_DOUBLE
                                                if VECTOR_PRODUCTS_AVAILABLE else LOOPS_ONLY_BLAS_MIN)
cdef Py_ssize_t BLAS_MIN_MULTIPLY_ADDS_FLOAT = (VECTOR_DEFAULT_BLAS_MIN_FLOAT
                                               if VECTOR_PRODUCTS_AVAILABLE else LOOPS_ONLY_BLAS_MIN)
cdef Py_ssize_t ALONE_BLAS_MIN_MULTIPLY_ADDS = ALONE_DEFAULT_BLAS_MIN

# The elementwise sigmoid passes use AVX2 where the CPU has it (same results).
cdef bint VECTOR_SIGMOID = VECTOR_PRODUCTS_AVAILABLE


def vector_sigmoid_enabled():
    """True when the sigmoid passes run in AVX2 (8 floats or 4 doubles at a time)."""
    return bool(VECTOR_SIGMOID)


def set_vector_sigmoid(bint enabled):
    """Turn the AVX2 sigmoid passes on or off (for tests and measurement)."""
    global VECTOR_SIGMOID
    if enabled and not VECTOR_PRODUCTS_AVAILABLE:
        raise ValueError("the AVX2 sigmoid is not available on this CPU or build; "
                         "see vector_products_available()")
    VECTOR_SIGMOID = enabled


# Threads: the first Trainer.run of a fit in which some layer's work is shared
# out starts a team of THREADS threads (itself and THREADS - 1 helpers,
# _team.h), kept until Trainer.stop_threads. Shared out: products with at least
# PARALLEL_MIN_MULTIPLY_ADDS multiply-adds, in steps on at least
# PARALLEL_MIN_BATCH_ROWS samples (in the vector kernels, their panels; after
# BLAS, the elementwise pass that follows). A shared-out product gives the same bits
# whichever thread computes which panel. Measured with
# benchmarks/product_crossover.py (PRODUCT_CROSSOVER.md; 2 threads against 1, us
# per step): the team wins from about 32768 multiply-adds (m 32, w 32: 14.0
# against 17.2 in float32; m 32, w 64: 39.9 against 53.9; m 256, w 16: 65.8
# against 95.8 in float64), though in float64 at batch 32 the gain was within
# the machine's noise in this run (m 32, w 64: 117 against 112). Batches below
# 16 lost at every width in an earlier run of the script, before this rule (m 4,
# w 256: 148 against 123 in float32): each weight is then used for only a few
# multiply-adds per step, and moving the weights between the cores' caches
# costs more than the arithmetic saved.
cdef int MAX_THREADS = 8
cdef int THREADS = 1
cdef Py_ssize_t PARALLEL_MIN_MULTIPLY_ADDS = 32768
cdef Py_ssize_t PARALLEL_MIN_BATCH_ROWS = 16


def _available_cores():
    import os
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


THREADS = min(MAX_THREADS, _available_cores())


def threads():
    """How many threads fit's compiled loop uses (itself and its helpers)."""
    return THREADS


def set_threads(n):
    """Use n threads (1 to 8) in fit's compiled loop; the default is the number of
    cores this process may run on, at most 8. A product shared out over the threads
    gives the same bits with any number of them; with one thread the largest of
    those products go to BLAS instead (alone_blas_min_multiply_adds), which agrees
    to rounding."""
    global THREADS
    import operator
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"n must be an integer, got {type(n).__name__}") from None
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"n must be between 1 and {MAX_THREADS}, got {n}")
    THREADS = n


cdef int _require_nonnegative(Py_ssize_t value) except -1:
    """The check every threshold setter makes."""
    if value < 0:
        raise ValueError(f"value must be >= 0, got {value}")
    return 0


def parallel_min_multiply_adds():
    """The product size from which a vector-range product is shared out over the threads."""
    return PARALLEL_MIN_MULTIPLY_ADDS


def set_parallel_min_multiply_adds(Py_ssize_t value):
    """Change the one-thread/team crossover (for measuring it)."""
    global PARALLEL_MIN_MULTIPLY_ADDS
    _require_nonnegative(value)
    PARALLEL_MIN_MULTIPLY_ADDS = value


cdef long long HELPER_TASKS = 0


def helper_task_count():
    """How many tasks helper threads have done in this process (a diagnostic)."""
    return HELPER_TASKS


cdef inline bint _shares_out(Py_ssize_t batch_rows, Py_ssize_t multiply_adds) noexcept nogil:
    """Whether a vector-range product of a step on batch_rows samples is shared out"""
    return (multiply_adds >= PARALLEL_MIN_MULTIPLY_ADDS
            and batch_rows >= PARALLEL_MIN_BATCH_ROWS)


cdef inline fastprop_team* _team_for(Py_ssize_t batch_rows, Py_ssize_t multiply_adds,
                                     fastprop_team* team) noexcept nogil:
    """The team for a product of a step on batch_rows samples, or NULL to run it
    on the calling thread"""
    return team if _shares_out(batch_rows, multiply_adds) else NULL


cdef enum ProductRoute:
    ROUTE_LOOPS
    ROUTE_VECTOR
    ROUTE_BLAS


cdef inline ProductRoute _route(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, bint fills_vectors,
                               bint is_float, fastprop_team* shared) noexcept nogil:
    """Where a product of m * n * k multiply-adds runs; fills_vectors: its vector
    dimension has at least one vector's worth of elements; shared: the team it
    would be shared out over (NULL: the vector kernels would run on one thread)"""
    cdef Py_ssize_t multiply_adds = m * n * k
    cdef Py_ssize_t blas_min = (BLAS_MIN_MULTIPLY_ADDS_FLOAT if is_float
                                else BLAS_MIN_MULTIPLY_ADDS_DOUBLE)
    if shared == NULL:
        blas_min = min(blas_min, ALONE_BLAS_MIN_MULTIPLY_ADDS)
    if multiply_adds >= blas_min:
        return ROUTE_BLAS
    if multiply_adds >= VECTOR_MIN_MULTIPLY_ADDS:
        if fills_vectors:
            return ROUTE_VECTOR
        if multiply_adds >= NARROW_BLAS_MIN_MULTIPLY_ADDS:
            return ROUTE_BLAS
    return ROUTE_LOOPS


cdef inline bint _fills_vectors(Py_ssize_t length, bint is_float) noexcept nogil:
    """length >= one AVX2 vector: 8 floats or 4 doubles"""
    return length >= (8 if is_float else 4)


def vector_products_available():
    """True when this CPU runs the AVX2/FMA product kernels (and they were compiled)."""
    return bool(VECTOR_PRODUCTS_AVAILABLE)


cdef bint _is_float32(dtype) except -1:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype == np.float32


def blas_min_multiply_adds(dtype=np.float64):
    """The product size (m * n * k multiply-adds) from which BLAS GEMM is used, for dtype."""
    return BLAS_MIN_MULTIPLY_ADDS_FLOAT if _is_float32(dtype) else BLAS_MIN_MULTIPLY_ADDS_DOUBLE


def set_blas_min_multiply_adds(Py_ssize_t value, dtype=None):
    """Change the BLAS crossover for dtype, or for both dtypes when dtype is None
    (for measuring it; 0 sends every product to BLAS)."""
    global BLAS_MIN_MULTIPLY_ADDS_FLOAT, BLAS_MIN_MULTIPLY_ADDS_DOUBLE
    _require_nonnegative(value)
    if dtype is None or _is_float32(dtype):
        BLAS_MIN_MULTIPLY_ADDS_FLOAT = value
    if dtype is None or not _is_float32(dtype):
        BLAS_MIN_MULTIPLY_ADDS_DOUBLE = value


def alone_blas_min_multiply_adds():
    """The product size from which BLAS is used instead of the vector kernels when a
    product would run on one thread (not shared out over fit's team)."""
    return ALONE_BLAS_MIN_MULTIPLY_ADDS


def set_alone_blas_min_multiply_adds(Py_ssize_t value):
    """Change the one-thread vector/BLAS crossover (for measuring it)."""
    global ALONE_BLAS_MIN_MULTIPLY_ADDS
    _require_nonnegative(value)
    ALONE_BLAS_MIN_MULTIPLY_ADDS = value


def vector_min_multiply_adds():
    """The product size from which the AVX2/FMA kernels are used (below BLAS's);
    a huge number where they are unavailable."""
    return VECTOR_MIN_MULTIPLY_ADDS


def set_vector_min_multiply_adds(Py_ssize_t value):
    """Change the loops/vector crossover (for measuring it; 0 sends every product
    below the BLAS crossover to the vector kernels)."""
    global VECTOR_MIN_MULTIPLY_ADDS
    _require_nonnegative(value)
    if not VECTOR_PRODUCTS_AVAILABLE and value < NEVER:
        raise ValueError("the AVX2/FMA product kernels are not available on this CPU or build; "
                         "see vector_products_available()")
    VECTOR_MIN_MULTIPLY_ADDS = value


def default_product_thresholds(dtype=np.float64):
    """(vector_min_multiply_adds, blas_min_multiply_adds) for dtype as set at import on this CPU."""
    if not VECTOR_PRODUCTS_AVAILABLE:
        return (NEVER, LOOPS_ONLY_BLAS_MIN)
    if _is_float32(dtype):
        return (VECTOR_DEFAULT_MIN, VECTOR_DEFAULT_BLAS_MIN_FLOAT)
    return (VECTOR_DEFAULT_MIN, VECTOR_DEFAULT_BLAS_MIN_DOUBLE)


# ---------------------------------------------------------------------------
# Elementwise pieces
# ---------------------------------------------------------------------------

# exp(x) for x <= 0, branch-free so the C compiler vectorises the loops that
# call it (the C library's exp is a call it cannot vectorise). Cody-Waite range
# reduction x = n ln2 + r with |r| <= ln2 / 2, then Cephes' approximations of
# exp(r): a Pade form for double, a degree-7 polynomial for float, each within
# an ulp or two. Adding 1.5 * 2**52 (1.5 * 2**23 for float) rounds x / ln2 to the
# integer n and leaves n in the low bits of the sum; 2**n is then applied as
# (p * 2**(n + 64)) * 2**-64 (2**(n + 512) and 2**-512 for double): the first
# product is exact, as 2**(n + 64) is a normal number for every n here, so the
# one rounding is that of p * 2**n itself, and results that are subnormal come
# out right and those below the smallest subnormal are 0.
# The argument is clamped where exp(x) is already 0 in the type.
cdef inline double _exp_nonpositive_double(double x) noexcept nogil:
    cdef double shifted, n, r, rr, p, q, scale
    cdef long long bits
    x = -746.0 if x < -746.0 else x          # NaN stays NaN
    shifted = x * 1.4426950408889634 + 6755399441055744.0
    n = shifted - 6755399441055744.0
    r = x - n * 6.93145751953125e-1
    r = r - n * 1.42860682030941723212e-6
    rr = r * r
    p = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr
             + 9.99999999999999999910e-1)
    q = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr
         + 2.27265548208155028766e-1) * rr + 2.00000000000000000009e0
    memcpy(&bits, &shifted, sizeof(double))
    # n, in [-1077, 0], is bits - 0x4338000000000000; 2**(n + 512) has exponent field n + 1535
    bits = <long long> ((<unsigned long long> (bits - (0x4338000000000000LL - 1535))) << 52)
    memcpy(&scale, &bits, sizeof(double))
    return ((1 + 2 * p / (q - p)) * scale) * 7.458340731200206743e-155   # 2**-512


cdef inline float _exp_nonpositive_float(float x) noexcept nogil:
    cdef float shifted, n, r, p, scale
    cdef int bits
    x = <float> -104.0 if x < <float> -104.0 else x          # NaN stays NaN
    shifted = x * <float> 1.44269504088896341 + <float> 12582912.0
    n = shifted - <float> 12582912.0
    r = x - n * <float> 0.693359375
    r = r + n * <float> 2.12194440e-4
    p = (((((<float> 1.9875691500e-4 * r + <float> 1.3981999507e-3) * r
            + <float> 8.3334519073e-3) * r + <float> 4.1665795894e-2) * r
          + <float> 1.6666665459e-1) * r + <float> 5.0000001201e-1) * (r * r) + r + <float> 1
    memcpy(&bits, &shifted, sizeof(float))
    # n, in [-150, 0], is bits - 0x4B400000; 2**(n + 64) has exponent field n + 191
    bits = <int> ((<unsigned int> (bits - (0x4B400000 - 191))) << 23)
    memcpy(&scale, &bits, sizeof(float))
    return (p * scale) * <float> 5.42101086242752217e-20                # 2**-64


cdef inline floating _sigmoid(floating z) noexcept nogil:
    """sigmoid(z) = 1 / (1 + exp(-z))"""
    # exp is only ever taken of -|z| <= 0, so it cannot overflow: the result is
    # finite and in [0, 1] for every finite z (|z| up to the largest double or
    # float), and for z < 0 the form e / (1 + e) keeps full relative precision
    # where 1 - 1/(1 + exp(-z)) would cancel.
    cdef floating e, s, s_of_negative
    if floating is float:
        e = _exp_nonpositive_float(-fabsf(z))
    else:
        e = _exp_nonpositive_double(-fabs(z))
    # <floating> literals: a bare 1 is a C double and would turn float work into double.
    s = (<floating> 1) / ((<floating> 1) + e)
    # Both arms are computed so the choice is a select, not a branch: the C
    # compiler vectorises the loops around it.
    s_of_negative = e * s
    return s if z >= 0 else s_of_negative


cdef void _sigmoid_array(const floating* z, floating* out, Py_ssize_t size) noexcept nogil:
    """out := sigmoid(z)"""
    cdef Py_ssize_t i
    # The AVX2 version does the same operations 8 floats (4 doubles) at a time:
    # the results are the same bits.
    if VECTOR_SIGMOID:
        if floating is float:
            fastprop_sigmoid_float(z, out, size)
        else:
            fastprop_sigmoid_double(z, out, size)
        return
    for i in range(size):
        out[i] = _sigmoid(z[i])


cdef inline void _add_bias_sigmoid(floating* Z, const floating* b, Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """Z := sigmoid(Z + b), in place, b broadcast over rows"""
    cdef Py_ssize_t r, j
    cdef floating* row
    for r in range(rows):
        row = Z + r * cols
        if VECTOR_SIGMOID:
            for j in range(cols):
                row[j] = row[j] + b[j]
            _sigmoid_array(row, row, cols)
        else:
            for j in range(cols):
                row[j] = _sigmoid(row[j] + b[j])


cdef inline void _multiply_sigmoid_derivative(floating* D, const floating* A, Py_ssize_t size) noexcept nogil:
    """D := D * A * (1 - A)"""
    # sigma'(z) is taken from the layer's output a = sigma(z) as a * (1 - a), as
    # the seeds do: no z is stored and no second exp is evaluated.
    cdef Py_ssize_t i
    for i in range(size):
        D[i] = D[i] * (A[i] * (<floating> 1 - A[i]))


cdef enum:
    FINITE_CHECK_BLOCK = 4096


cdef bint _all_finite(const floating* values, Py_ssize_t size) noexcept nogil:
    """all(isfinite(values))"""
    # A value is NaN or infinite exactly when its exponent bits are all ones.
    # Testing the bits block by block, with an OR over the block and no early
    # exit inside it, lets the compiler vectorise the test (an early exit per
    # element would not); the check of a training set then costs a few
    # milliseconds instead of tens.
    cdef Py_ssize_t first, i, end
    cdef unsigned int float_bits, float_found
    cdef unsigned long long double_bits, double_found
    first = 0
    while first < size:
        end = min(size, first + <Py_ssize_t> FINITE_CHECK_BLOCK)
        if floating is float:
            float_found = 0
            for i in range(first, end):
                memcpy(&float_bits, &values[i], sizeof(float))
                float_found |= (float_bits & 0x7F800000u) == 0x7F800000u
            if float_found:
                return False
        else:
            double_found = 0
            for i in range(first, end):
                memcpy(&double_bits, &values[i], sizeof(double))
                double_found |= (double_bits & 0x7FF0000000000000ULL) == 0x7FF0000000000000ULL
            if double_found:
                return False
        first = end
    return True


# ---------------------------------------------------------------------------
# Row-major products: BLAS GEMM for large ones, loops for small ones
# ---------------------------------------------------------------------------

cdef inline void _gemm(char transa, char transb, int m, int n, int k,
                       floating alpha, const floating* a, int lda,
                       const floating* b, int ldb,
                       floating beta, floating* c, int ldc) noexcept nogil:
    """Column-major c := alpha * op(a) @ op(b) + beta * c"""
    if floating is float:
        sgemm(&transa, &transb, &m, &n, &k, &alpha, <float*> a, &lda,
              <float*> b, &ldb, &beta, c, &ldc)
    else:
        dgemm(&transa, &transb, &m, &n, &k, &alpha, <double*> a, &lda,
              <double*> b, &ldb, &beta, c, &ldc)


cdef void _affine_loops(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const floating* A,
                       const floating* B, const floating* bias, floating* C) noexcept nogil:
    """C (m, n) := A (m, k) @ B (n, k).T + bias, in plain loops for small products"""
    cdef Py_ssize_t r, j, p
    cdef floating total
    cdef const floating* a_row
    cdef const floating* b_row
    for r in range(m):
        a_row = A + r * k
        for j in range(n):
            b_row = B + j * k
            total = bias[j]
            for p in range(k):
                total = total + a_row[p] * b_row[p]
            C[r * n + j] = total


cdef void _matmul_a_b(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                      const floating* A, const floating* B, floating* C,
                      const floating* sigmoid_outputs, fastprop_team* team) noexcept nogil:
    """C (m, n) := A (m, k) @ B (k, n); then, unless sigmoid_outputs (S) is NULL,
    C := C * S * (1 - S)"""
    cdef Py_ssize_t r, j, p
    cdef floating a_value
    cdef floating* c_row
    cdef const floating* b_row
    cdef fastprop_team* shared = _team_for(m, m * n * k, team)
    cdef ProductRoute route = _route(m, n, k, _fills_vectors(n, floating is float),
                                     floating is float, shared)
    if route == ROUTE_VECTOR:
        # The vector kernels apply sigma' to each column panel as they finish it.
        if floating is float:
            fastprop_products_float(shared, m, n, k, A, k, 1, B, 1, 0, C, sigmoid_outputs, NULL)
        else:
            fastprop_products_double(shared, m, n, k, A, k, 1, B, 1, 0, C, sigmoid_outputs, NULL)
        return
    if route == ROUTE_BLAS:
        _gemm(c'N', c'N', <int> n, <int> m, <int> k, <floating> 1, B, <int> n,
              A, <int> k, <floating> 0, C, <int> n)
        if sigmoid_outputs != NULL:
            _shared_multiply_sigmoid_derivative(C, sigmoid_outputs, m, n, shared)
        return
    for r in range(m):
        c_row = C + r * n
        for j in range(n):
            c_row[j] = 0
        for p in range(k):
            a_value = A[r * k + p]
            b_row = B + p * n
            for j in range(n):
                c_row[j] = c_row[j] + a_value * b_row[j]
    if sigmoid_outputs != NULL:
        _multiply_sigmoid_derivative(C, sigmoid_outputs, m * n)


cdef void _matmul_at_b_accumulate(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, floating alpha,
                                  const floating* A, const floating* B,
                                  floating beta, floating* C, floating* column_sums,
                                  fastprop_team* team) noexcept nogil:
    """C (m, n) := alpha * A (k, m).T @ B (k, n) + beta * C, beta 0 or 1; and, unless
    column_sums is NULL, column_sums (m) := alpha * A.sum(0) + beta * column_sums"""
    cdef Py_ssize_t i, j, p
    cdef floating total
    cdef bint summed = False
    # The sum runs over the batch: k is the step's number of rows.
    cdef fastprop_team* shared = _team_for(k, m * n * k, team)
    cdef ProductRoute route = _route(m, n, k, _fills_vectors(n, floating is float),
                                     floating is float, shared)
    if route == ROUTE_BLAS:
        _gemm(c'N', c'T', <int> n, <int> m, <int> k, alpha, B, <int> n,
              A, <int> m, beta, C, <int> n)
    elif route == ROUTE_VECTOR:
        # A.T read in place: A.T (i, p) = A[p * m + i]. In row strips, the kernels
        # also sum the strip's columns of A, in the same order as below.
        if floating is float:
            summed = fastprop_products_float(shared, m, n, k, A, 1, m, B, alpha, beta, C, NULL,
                                             column_sums)
        else:
            summed = fastprop_products_double(shared, m, n, k, A, 1, m, B, alpha, beta, C, NULL,
                                              column_sums)
    else:
        # Sum over the batch first, then scale and add: the same order of operations
        # as the textbook's W := W - lr * (delta.T @ A_prev).
        for i in range(m):
            for j in range(n):
                total = 0
                for p in range(k):
                    total = total + A[p * m + i] * B[p * n + j]
                if beta == 0:
                    C[i * n + j] = alpha * total
                else:
                    C[i * n + j] = C[i * n + j] + alpha * total
    if column_sums != NULL and not summed:
        _shared_column_sums_accumulate(k, m, alpha, A, beta, column_sums, shared)


# Columns summed per pass of _column_sums_accumulate: its partial sums live on the stack.
cdef enum:
    COLUMN_BLOCK = 256


cdef void _column_sums_accumulate(Py_ssize_t rows, Py_ssize_t cols, floating alpha,
                                  const floating* D, floating beta, floating* out) noexcept nogil:
    """out (cols,) := alpha * D.sum(0) + beta * out, beta 0 or 1"""
    cdef Py_ssize_t first = 0
    while first < cols:
        _column_block_sums(rows, cols, first, min(<Py_ssize_t> COLUMN_BLOCK, cols - first), alpha,
                           D, beta, out)
        first += COLUMN_BLOCK


cdef inline void _column_block_sums(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t first, Py_ssize_t width,
                                    floating alpha, const floating* D, floating beta,
                                    floating* out) noexcept nogil:
    """out[first:first + width] := alpha * D[:, first:first + width].sum(0) + beta * out[...]"""
    # Each column is summed over the rows in order, as in the textbook, but a
    # block of columns at a time and row by row, so the reads are contiguous and
    # the loop vectorises (column by column it would stride a whole row per read).
    cdef floating totals[COLUMN_BLOCK]
    cdef floating total
    cdef Py_ssize_t r, j
    cdef const floating* row
    if width < 4:
        # A few columns (an output layer of a unit or two): column by column,
        # the same sums without the vectorised loop's set-up.
        for j in range(first, first + width):
            total = 0
            for r in range(rows):
                total = total + D[r * cols + j]
            out[j] = alpha * total if beta == 0 else out[j] + alpha * total
        return
    for j in range(width):
        totals[j] = 0
    for r in range(rows):
        row = D + r * cols + first
        for j in range(width):
            totals[j] = totals[j] + row[j]
    for j in range(width):
        if beta == 0:
            out[first + j] = alpha * totals[j]
        else:
            out[first + j] = out[first + j] + alpha * totals[j]


# ---------------------------------------------------------------------------
# The elementwise passes after a BLAS product, shared out over the team
# ---------------------------------------------------------------------------
# Alone, the pass after an OpenBLAS product (bias and sigmoid, sigma', bias
# sums) runs on the main thread while BLAS's threads wait. With a team, blocks
# of its rows (of its columns, for the sums) are the tasks of one phase. Every
# element is computed by the same code as alone, so the result is the same bits.

cdef enum:
    ELEMENTS_PER_TASK = 16384

ctypedef struct _ElementwiseWork:
    bint is_float
    void* target                # rows x cols in place; for the column sums, out (cols)
    const void* source          # the bias (cols), the sigmoid outputs or the deltas (rows x cols)
    Py_ssize_t rows, cols, rows_per_task
    double alpha, beta          # column sums only; exact for float values too


cdef void _bias_sigmoid_task(void* arguments, ptrdiff_t task) noexcept nogil:
    """rows of task: Z := sigmoid(Z + b)"""
    cdef _ElementwiseWork* work = <_ElementwiseWork*> arguments
    cdef Py_ssize_t first = task * work.rows_per_task
    cdef Py_ssize_t rows = min(work.rows_per_task, work.rows - first)
    if work.is_float:
        _add_bias_sigmoid(<float*> work.target + first * work.cols, <const float*> work.source,
                          rows, work.cols)
    else:
        _add_bias_sigmoid(<double*> work.target + first * work.cols, <const double*> work.source,
                          rows, work.cols)


cdef void _sigmoid_derivative_task(void* arguments, ptrdiff_t task) noexcept nogil:
    """rows of task: D := D * S * (1 - S)"""
    cdef _ElementwiseWork* work = <_ElementwiseWork*> arguments
    cdef Py_ssize_t offset = task * work.rows_per_task * work.cols
    cdef Py_ssize_t size = min(work.rows_per_task, work.rows - task * work.rows_per_task) * work.cols
    if work.is_float:
        _multiply_sigmoid_derivative(<float*> work.target + offset,
                                     <const float*> work.source + offset, size)
    else:
        _multiply_sigmoid_derivative(<double*> work.target + offset,
                                     <const double*> work.source + offset, size)


cdef void _column_sums_task(void* arguments, ptrdiff_t task) noexcept nogil:
    """columns of task: out := alpha * D.sum(0) + beta * out"""
    cdef _ElementwiseWork* work = <_ElementwiseWork*> arguments
    cdef Py_ssize_t first = task * COLUMN_BLOCK
    cdef Py_ssize_t width = min(<Py_ssize_t> COLUMN_BLOCK, work.cols - first)
    if work.is_float:
        _column_block_sums(work.rows, work.cols, first, width, <float> work.alpha,
                           <const float*> work.source, <float> work.beta, <float*> work.target)
    else:
        _column_block_sums(work.rows, work.cols, first, width, work.alpha,
                           <const double*> work.source, work.beta, <double*> work.target)


cdef inline void _run_over_rows(fastprop_team* team, fastprop_task_function task, bint is_float,
                                void* target, const void* source, Py_ssize_t rows,
                                Py_ssize_t cols) noexcept nogil:
    """task over blocks of rows (about ELEMENTS_PER_TASK elements each), shared out"""
    cdef _ElementwiseWork work
    work.is_float = is_float
    work.target = target
    work.source = source
    work.rows = rows
    work.cols = cols
    work.rows_per_task = max(1, ELEMENTS_PER_TASK // max(1, cols))
    fastprop_team_run(team, task, &work, (rows + work.rows_per_task - 1) // work.rows_per_task)


cdef void _shared_add_bias_sigmoid(floating* Z, const floating* b, Py_ssize_t rows,
                                   Py_ssize_t cols, fastprop_team* team) noexcept nogil:
    """Z := sigmoid(Z + b), in place, b broadcast over rows; shared out over team (NULL: here)"""
    if team == NULL:
        _add_bias_sigmoid(Z, b, rows, cols)
        return
    _run_over_rows(team, _bias_sigmoid_task, floating is float, Z, b, rows, cols)


cdef void _shared_multiply_sigmoid_derivative(floating* D, const floating* A, Py_ssize_t rows,
                                              Py_ssize_t cols, fastprop_team* team) noexcept nogil:
    """D := D * A * (1 - A); shared out over team (NULL: here)"""
    if team == NULL:
        _multiply_sigmoid_derivative(D, A, rows * cols)
        return
    _run_over_rows(team, _sigmoid_derivative_task, floating is float, D, A, rows, cols)


cdef void _shared_column_sums_accumulate(Py_ssize_t rows, Py_ssize_t cols, floating alpha,
                                         const floating* D, floating beta, floating* out,
                                         fastprop_team* team) noexcept nogil:
    """out (cols,) := alpha * D.sum(0) + beta * out, beta 0 or 1; shared out over team
    (NULL: here)"""
    cdef _ElementwiseWork work
    if team == NULL:
        _column_sums_accumulate(rows, cols, alpha, D, beta, out)
        return
    work.is_float = floating is float
    work.target = out
    work.source = D
    work.rows = rows
    work.cols = cols
    work.alpha = alpha
    work.beta = beta
    fastprop_team_run(team, _column_sums_task, &work, (cols + COLUMN_BLOCK - 1) // COLUMN_BLOCK)


# ---------------------------------------------------------------------------
# The backpropagation steps
# ---------------------------------------------------------------------------

cdef void _dense_sigmoid_forward(Py_ssize_t rows, Py_ssize_t n_in, Py_ssize_t n_out,
                                 const floating* A_in, const floating* W, const floating* b,
                                 floating* A_out, fastprop_team* team) noexcept nogil:
    """A_out := sigmoid(A_in @ W.T + b)"""
    # Narrow outputs run as dot products over the inputs: either dimension fills vectors.
    cdef fastprop_team* shared = _team_for(rows, rows * n_out * n_in, team)
    cdef ProductRoute route = _route(rows, n_out, n_in,
                                     _fills_vectors(max(n_out, n_in), floating is float),
                                     floating is float, shared)
    if route == ROUTE_BLAS:
        # Column-major A_out.T (n_out, rows) := W (as its transpose) @ A_in.T
        _gemm(c'T', c'N', <int> n_out, <int> rows, <int> n_in, <floating> 1, W, <int> n_in,
              A_in, <int> n_in, <floating> 0, A_out, <int> n_out)
        _shared_add_bias_sigmoid(A_out, b, rows, n_out, shared)
        return
    if route == ROUTE_VECTOR:
        # The bias goes into the sums, the sigmoid into each column panel's task.
        if floating is float:
            fastprop_dense_sigmoid_float(shared, rows, n_out, n_in,
                                         A_in, W, b, A_out)
        else:
            fastprop_dense_sigmoid_double(shared, rows, n_out, n_in,
                                          A_in, W, b, A_out)
        return
    # Small layers: the bias goes into the loops' sums, and one sigmoid pass
    # covers the whole block, so short rows still fill the vector lanes.
    _affine_loops(rows, n_out, n_in, A_in, W, b, A_out)
    _sigmoid_array(A_out, A_out, rows * n_out)


cdef double _output_delta(Py_ssize_t size, const floating* A, const floating* Y,
                          floating* delta) noexcept nogil:
    """delta := (A - Y) * A * (1 - A); returns 1/2 * sum((A - Y)**2)"""
    cdef Py_ssize_t i
    cdef floating error
    cdef double half_squared_error = 0
    for i in range(size):
        error = A[i] - Y[i]
        half_squared_error += <double> error * <double> error
        delta[i] = error * (A[i] * (<floating> 1 - A[i]))
    return 0.5 * half_squared_error


cdef void _hidden_delta(Py_ssize_t rows, Py_ssize_t n_next, Py_ssize_t n_this,
                        const floating* delta_next, const floating* W_next, const floating* A,
                        floating* delta, fastprop_team* team) noexcept nogil:
    """delta := (delta_next @ W_next) * A * (1 - A)"""
    _matmul_a_b(rows, n_this, n_next, delta_next, W_next, delta, A, team)


cdef void _weight_gradient(Py_ssize_t rows, Py_ssize_t n_in, Py_ssize_t n_out,
                           const floating* delta, const floating* A_prev,
                           floating* grad_W, floating* grad_b) noexcept nogil:
    """grad_W := delta.T @ A_prev; grad_b := delta.sum(0)"""
    _matmul_at_b_accumulate(n_out, n_in, rows, <floating> 1, delta, A_prev, <floating> 0, grad_W,
                            grad_b, NULL)


cdef void _gradient_step(Py_ssize_t rows, Py_ssize_t n_in, Py_ssize_t n_out, floating lr,
                         const floating* delta, const floating* A_prev,
                         floating* W, floating* b, fastprop_team* team) noexcept nogil:
    """W := W - lr * delta.T @ A_prev; b := b - lr * delta.sum(0)"""
    _matmul_at_b_accumulate(n_out, n_in, rows, -lr, delta, A_prev, <floating> 1, W, b, team)


cdef void _sgd_update(Py_ssize_t size, floating lr, const floating* grad, floating* param) noexcept nogil:
    """param := param - lr * grad"""
    cdef Py_ssize_t i
    for i in range(size):
        param[i] = param[i] - lr * grad[i]


# ---------------------------------------------------------------------------
# Whole networks: forward pass and training epochs
# ---------------------------------------------------------------------------

cdef void _network_forward(Py_ssize_t n_layers, const Py_ssize_t* sizes, Py_ssize_t rows,
                           const floating* X, floating** weights, floating** biases,
                           floating** activations, fastprop_team* team) noexcept nogil:
    """activations[l] := sigmoid(activations[l-1] @ W[l].T + b[l]), activations[-1] = X"""
    cdef Py_ssize_t layer
    cdef const floating* layer_input = X
    for layer in range(n_layers):
        _dense_sigmoid_forward(rows, sizes[layer], sizes[layer + 1], layer_input,
                               weights[layer], biases[layer], activations[layer], team)
        layer_input = activations[layer]


cdef double _train_batch(Py_ssize_t n_layers, const Py_ssize_t* sizes, Py_ssize_t rows,
                         const floating* X, const floating* Y, floating lr,
                         floating** weights, floating** biases,
                         floating** activations, floating** deltas,
                         fastprop_team* team) noexcept nogil:
    """One gradient-descent step on a batch; returns the batch's 1/2 * sum of squared errors"""
    cdef Py_ssize_t layer, last = n_layers - 1
    cdef const floating* layer_input
    cdef double half_squared_error
    _network_forward(n_layers, sizes, rows, X, weights, biases, activations, team)
    half_squared_error = _output_delta(rows * sizes[n_layers], activations[last], Y, deltas[last])
    for layer in range(last, -1, -1):
        layer_input = X if layer == 0 else activations[layer - 1]
        if layer > 0:
            # The delta of the layer below needs this layer's weights before
            # they are updated.
            _hidden_delta(rows, sizes[layer + 1], sizes[layer], deltas[layer], weights[layer],
                          activations[layer - 1], deltas[layer - 1], team)
        _gradient_step(rows, sizes[layer], sizes[layer + 1], lr, deltas[layer], layer_input,
                       weights[layer], biases[layer], team)
    return half_squared_error


cdef void _gather_rows(const floating* source, Py_ssize_t width, const long long* row_indices,
                       Py_ssize_t n_rows, floating* destination) noexcept nogil:
    """destination[i] := source[row_indices[i]]"""
    cdef Py_ssize_t i
    for i in range(n_rows):
        memcpy(destination + i * width, source + row_indices[i] * width, width * sizeof(floating))


cdef void _train_epochs(Py_ssize_t n_layers, const Py_ssize_t* sizes,
                        const floating* X, const floating* Y, Py_ssize_t n_samples,
                        const long long* orders, Py_ssize_t n_epochs,
                        Py_ssize_t start, Py_ssize_t stop, Py_ssize_t batch_size,
                        floating lr, bint mean_loss,
                        floating** weights, floating** biases,
                        floating** activations, floating** deltas,
                        floating* batch_X, floating* batch_Y,
                        double* epoch_losses, fastprop_team* team) noexcept nogil:
    """For each epoch, one step per batch of positions [start, stop) of its order;
    epoch_losses[e] += the batches' 1/2 * sums of squared errors (before each step)"""
    cdef Py_ssize_t epoch, position, rows
    cdef Py_ssize_t n_in = sizes[0], n_out = sizes[n_layers]
    cdef const long long* order
    cdef const floating* inputs
    cdef const floating* targets
    cdef floating step_size
    for epoch in range(n_epochs):
        position = start
        while position < stop:
            rows = min(batch_size, stop - position)
            if orders == NULL:
                inputs = X + position * n_in
                targets = Y + position * n_out
            else:
                order = orders + epoch * n_samples + position
                _gather_rows(X, n_in, order, rows, batch_X)
                _gather_rows(Y, n_out, order, rows, batch_Y)
                inputs = batch_X
                targets = batch_Y
            # "mse" divides the loss, hence every gradient, by the batch's size.
            step_size = lr / rows if mean_loss else lr
            epoch_losses[epoch] += _train_batch(n_layers, sizes, rows, inputs, targets, step_size,
                                                weights, biases, activations, deltas, team)
            position += rows


# ---------------------------------------------------------------------------
# Python-callable wrappers: the boundary where everything is checked
# ---------------------------------------------------------------------------

cdef _require_floating_c_array(name, array, int ndim, dtype, bint writable=False):
    """Raise TypeError/ValueError unless array is a C-contiguous ndarray of dtype and rank."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    if array.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {array.dtype}")
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {array.ndim}-D with shape {array.shape}")
    if not array.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
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
    with nogil:
        _sigmoid_array(&z[0], &out[0], z.shape[0])


def all_finite(values):
    """True when every element of a C-contiguous float32/float64 array is finite."""
    dtype = _floating_dtype_of("values", values)
    if not values.flags.c_contiguous:
        raise ValueError("values must be C-contiguous")
    if values.size == 0:
        return True
    flat = values.reshape(-1)
    if dtype == np.float32:
        return _all_finite_wrapper[float](flat)
    return _all_finite_wrapper[double](flat)


cdef bint _all_finite_wrapper(const floating[::1] values):
    cdef bint result
    with nogil:
        result = _all_finite(&values[0], values.shape[0])
    return result


def dense_sigmoid_forward(A_in, W, b, A_out):
    """A_out := sigmoid(A_in @ W.T + b)"""
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
        _forward_wrapper[float](A_in, W, b, A_out)
    else:
        _forward_wrapper[double](A_in, W, b, A_out)


cdef _forward_wrapper(const floating[:, ::1] A_in, const floating[:, ::1] W,
                      const floating[::1] b, floating[:, ::1] A_out):
    with nogil:
        _dense_sigmoid_forward(A_in.shape[0], A_in.shape[1], W.shape[0],
                               &A_in[0, 0], &W[0, 0], &b[0], &A_out[0, 0], NULL)


def output_delta(A, Y, delta):
    """delta := (A - Y) * A * (1 - A); returns 1/2 * sum((A - Y)**2)"""
    dtype = _floating_dtype_of("A", A)
    _require_floating_c_array("A", A, 2, dtype)
    _require_floating_c_array("Y", Y, 2, dtype)
    _require_floating_c_array("delta", delta, 2, dtype, writable=True)
    _require_shape("Y", Y, A.shape)
    _require_shape("delta", delta, A.shape)
    _require_nonempty("A", A)
    if dtype == np.float32:
        return _output_delta_wrapper[float](A.reshape(-1), Y.reshape(-1), delta.reshape(-1))
    return _output_delta_wrapper[double](A.reshape(-1), Y.reshape(-1), delta.reshape(-1))


cdef double _output_delta_wrapper(const floating[::1] A, const floating[::1] Y, floating[::1] delta):
    cdef double loss
    with nogil:
        loss = _output_delta(A.shape[0], &A[0], &Y[0], &delta[0])
    return loss


def hidden_delta(delta_next, W_next, A, delta):
    """delta := (delta_next @ W_next) * A * (1 - A)"""
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
        _hidden_delta_wrapper[float](delta_next, W_next, A, delta)
    else:
        _hidden_delta_wrapper[double](delta_next, W_next, A, delta)


cdef _hidden_delta_wrapper(const floating[:, ::1] delta_next, const floating[:, ::1] W_next,
                           const floating[:, ::1] A, floating[:, ::1] delta):
    with nogil:
        _hidden_delta(A.shape[0], delta_next.shape[1], A.shape[1],
                      &delta_next[0, 0], &W_next[0, 0], &A[0, 0], &delta[0, 0], NULL)


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
    with nogil:
        _weight_gradient(delta.shape[0], A_prev.shape[1], delta.shape[1],
                         &delta[0, 0], &A_prev[0, 0], &grad_W[0, 0], &grad_b[0])


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
    with nogil:
        _gradient_step(delta.shape[0], A_prev.shape[1], delta.shape[1], lr,
                       &delta[0, 0], &A_prev[0, 0], &W[0, 0], &b[0], NULL)


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
        _sgd_update(param.shape[0], lr, &grad[0], &param[0])


# ---------------------------------------------------------------------------
# Whole-network entry points used by fastprop.network
# ---------------------------------------------------------------------------

cdef class _LayerPointers:
    """C arrays of the data pointers of a network's per-layer arrays.

    Built from lists of C-contiguous arrays that were checked by the caller;
    holds references to them so the pointers stay valid.
    """
    cdef Py_ssize_t n_layers
    cdef Py_ssize_t* sizes
    cdef void** weights
    cdef void** biases
    cdef void** activations
    cdef void** deltas
    cdef list keep_alive

    def __cinit__(self, sizes, weights, biases, activations, deltas):
        cdef Py_ssize_t layer
        self.n_layers = len(weights)
        # Our own lists: the caller replacing an entry of theirs must not free
        # an array we point into.
        self.keep_alive = [list(arrays) for arrays in (weights, biases, activations, deltas)
                           if arrays is not None]
        self.sizes = <Py_ssize_t*> malloc((self.n_layers + 1) * sizeof(Py_ssize_t))
        self.weights = <void**> malloc(self.n_layers * sizeof(void*))
        self.biases = <void**> malloc(self.n_layers * sizeof(void*))
        self.activations = <void**> malloc(self.n_layers * sizeof(void*))
        self.deltas = <void**> malloc(self.n_layers * sizeof(void*))
        if (self.sizes == NULL or self.weights == NULL or self.biases == NULL
                or self.activations == NULL or self.deltas == NULL):
            raise MemoryError()
        for layer in range(self.n_layers + 1):
            self.sizes[layer] = sizes[layer]
        for layer in range(self.n_layers):
            self.weights[layer] = _data_pointer(weights[layer])
            self.biases[layer] = _data_pointer(biases[layer])
            self.activations[layer] = _data_pointer(activations[layer]) if activations is not None else NULL
            self.deltas[layer] = _data_pointer(deltas[layer]) if deltas is not None else NULL

    def __dealloc__(self):
        free(self.sizes)
        free(self.weights)
        free(self.biases)
        free(self.activations)
        free(self.deltas)


cdef inline void* _data_pointer(array):
    """The data pointer of an ndarray the caller has already checked."""
    return cnp.PyArray_DATA(<cnp.ndarray> array)


def _check_network_buffers(sizes, dtype, weights, biases, rows, **buffer_lists):
    """Check sizes and every per-layer array: dtype, contiguity, writability and shape.

    Each keyword names a list with one (rows or more, n_out) buffer per layer.
    """
    if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
        raise ValueError(f"sizes must be a list or tuple of at least two widths, got {sizes!r}")
    for size in sizes:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"layer sizes must be >= 1, got {tuple(sizes)}")
    n_layers = len(sizes) - 1
    lists = dict(weights=weights, biases=biases, **buffer_lists)
    for name, arrays in lists.items():
        if not isinstance(arrays, (list, tuple)):
            raise TypeError(f"{name} must be a list with one array per layer, "
                            f"got {type(arrays).__name__}")
        if len(arrays) != n_layers:
            raise ValueError(f"{name} must have one entry per layer ({n_layers}), got {len(arrays)}")
    for layer in range(n_layers):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        _require_floating_c_array(f"weights[{layer}]", weights[layer], 2, dtype, writable=True)
        _require_floating_c_array(f"biases[{layer}]", biases[layer], 1, dtype, writable=True)
        _require_shape(f"weights[{layer}]", weights[layer], (n_out, n_in))
        _require_shape(f"biases[{layer}]", biases[layer], (n_out,))
        for name, buffers in buffer_lists.items():
            _require_floating_c_array(f"{name}[{layer}]", buffers[layer], 2, dtype, writable=True)
            if buffers[layer].shape[0] < rows or buffers[layer].shape[1] != n_out:
                raise ValueError(f"{name}[{layer}] must have at least {rows} rows and {n_out} columns, "
                                 f"got shape {buffers[layer].shape}")


def network_forward(sizes, weights, biases, X, activations):
    """activations[l] := sigmoid(activations[l-1] @ weights[l].T + biases[l]) for every layer, from X."""
    dtype = _floating_dtype_of("X", X)
    _require_floating_c_array("X", X, 2, dtype)
    _require_nonempty("X", X)
    _check_network_buffers(sizes, dtype, weights, biases, X.shape[0], activations=activations)
    if X.shape[1] != sizes[0]:
        raise ValueError(f"X must have {sizes[0]} columns, got {X.shape[1]}")
    pointers = _LayerPointers(sizes, weights, biases, activations, None)
    if dtype == np.float32:
        _network_forward_wrapper[float](pointers, X)
    else:
        _network_forward_wrapper[double](pointers, X)


cdef _network_forward_wrapper(_LayerPointers pointers, const floating[:, ::1] X):
    with nogil:
        _network_forward(pointers.n_layers, pointers.sizes, X.shape[0], &X[0, 0],
                         <floating**> pointers.weights, <floating**> pointers.biases,
                         <floating**> pointers.activations, NULL)


cdef class Trainer:
    """Minibatch gradient descent on one network's arrays and one training set.

    Everything is checked once, here; ``run`` then only checks its own
    arguments, so a training loop that returns to Python often (a callback
    after every epoch) pays microseconds per call. The trainer keeps references
    to every array it was given, so the pointers it holds stay valid. Helper
    threads started by ``run`` stay (asleep between runs) until ``stop_threads``.
    """
    cdef _LayerPointers pointers
    cdef list keep_alive
    cdef void* X_data
    cdef void* Y_data
    cdef void* batch_X_data
    cdef void* batch_Y_data
    cdef readonly Py_ssize_t n_samples, batch_size
    cdef readonly bint mean_loss, shuffled
    cdef bint is_float32
    # The helper threads, started by the first run that shares products out and
    # kept until stop_threads (fit calls it when it ends), so that a fit's chunks
    # do not each create and join threads: a helper that exits leaves its core
    # idle, and a virtual machine's idle core can take milliseconds to be fast again.
    cdef fastprop_team team
    cdef bint team_started
    cdef int team_threads

    def __cinit__(self, sizes, weights, biases, X, Y, Py_ssize_t batch_size, bint mean_loss,
                  activations, deltas, batch_X=None, batch_Y=None):
        dtype = _floating_dtype_of("X", X)
        _require_floating_c_array("X", X, 2, dtype)
        _require_floating_c_array("Y", Y, 2, dtype)
        _require_nonempty("X", X)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.n_samples = X.shape[0]
        self.batch_size = batch_size
        batch_rows = min(batch_size, self.n_samples)
        _check_network_buffers(sizes, dtype, weights, biases, batch_rows,
                               activations=activations, deltas=deltas)
        n_in, n_out = sizes[0], sizes[len(sizes) - 1]
        if X.shape[1] != n_in:
            raise ValueError(f"X must have {n_in} columns, got {X.shape[1]}")
        _require_shape("Y", Y, (self.n_samples, n_out))
        self.shuffled = batch_X is not None or batch_Y is not None
        if self.shuffled:
            _require_floating_c_array("batch_X", batch_X, 2, dtype, writable=True)
            _require_floating_c_array("batch_Y", batch_Y, 2, dtype, writable=True)
            if batch_X.shape[0] < batch_rows or batch_X.shape[1] != n_in:
                raise ValueError(f"batch_X must have at least {batch_rows} rows and {n_in} columns")
            if batch_Y.shape[0] < batch_rows or batch_Y.shape[1] != n_out:
                raise ValueError(f"batch_Y must have at least {batch_rows} rows and {n_out} columns")
            self.batch_X_data = _data_pointer(batch_X)
            self.batch_Y_data = _data_pointer(batch_Y)
        self.pointers = _LayerPointers(sizes, weights, biases, activations, deltas)
        self.keep_alive = [X, Y, batch_X, batch_Y]
        self.X_data = _data_pointer(X)
        self.Y_data = _data_pointer(Y)
        self.mean_loss = mean_loss
        self.is_float32 = dtype == np.float32

    def run(self, orders, Py_ssize_t start, Py_ssize_t stop, double lr, epoch_losses):
        """For each epoch e (one per entry of epoch_losses), one step per batch of
        positions start..stop of that epoch's order (orders[e], a permutation of
        the samples, required when shuffled; in order when orders is None);
        epoch_losses[e] += the batches' 1/2 * sums of squared errors before each step.
        """
        if not (isinstance(epoch_losses, np.ndarray)
                and cnp.PyArray_TYPE(<cnp.ndarray> epoch_losses) == cnp.NPY_DOUBLE
                and cnp.PyArray_NDIM(<cnp.ndarray> epoch_losses) == 1
                and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray> epoch_losses)
                and cnp.PyArray_ISWRITEABLE(<cnp.ndarray> epoch_losses)):
            raise TypeError("epoch_losses must be a writable C-contiguous 1-D float64 array")
        cdef Py_ssize_t n_epochs = cnp.PyArray_DIM(<cnp.ndarray> epoch_losses, 0)
        if not 0 <= start <= stop <= self.n_samples:
            raise ValueError(f"need 0 <= start <= stop <= {self.n_samples}, "
                             f"got start={start}, stop={stop}")
        cdef const long long* order_data = NULL
        if self.shuffled:
            _require_floating_c_array("orders", orders, 2, np.int64)
            _require_shape("orders", orders, (n_epochs, self.n_samples))
            if orders.size and (orders.min() < 0 or orders.max() >= self.n_samples):
                raise ValueError(f"orders must hold sample indices in [0, {self.n_samples})")
            order_data = <const long long*> _data_pointer(orders)
        elif orders is not None:
            raise ValueError("orders must be None: this trainer was built without batch buffers")
        if n_epochs == 0 or start == stop:
            return
        cdef double* losses = <double*> _data_pointer(epoch_losses)
        self._run(order_data, n_epochs, start, stop, lr, losses, self._ready_team())

    def stop_threads(self):
        """Stop the helper threads this trainer started (a later run starts them again)."""
        cdef long helper_tasks
        if not self.team_started:
            return
        with nogil:
            helper_tasks = fastprop_team_stop(&self.team)
        self.team_started = False
        global HELPER_TASKS
        HELPER_TASKS += helper_tasks

    def __dealloc__(self):
        global HELPER_TASKS
        if self.team_started:
            # The helpers never take the GIL, so joining them here cannot deadlock.
            HELPER_TASKS += fastprop_team_stop(&self.team)
            self.team_started = False

    cdef fastprop_team* _ready_team(self):
        """The team for this run's products (started now if need be), or NULL for none."""
        cdef int started
        if self.team_started and self.team_threads != THREADS:
            self.stop_threads()          # set_threads was called since the team started
        if not self.team_started and THREADS > 1 and self._has_parallel_products():
            with nogil:
                started = fastprop_team_start(&self.team, THREADS - 1)
            self.team_started = started > 0
            self.team_threads = THREADS
        return &self.team if self.team_started else NULL

    cdef bint _has_parallel_products(self):
        """Whether any layer's work is large enough to share out over threads
        (every product of a layer has batch * n_in * n_out multiply-adds): its
        products in the vector kernels, or the elementwise passes after BLAS."""
        cdef Py_ssize_t layer, multiply_adds, rows = min(self.batch_size, self.n_samples)
        cdef Py_ssize_t blas_min = (BLAS_MIN_MULTIPLY_ADDS_FLOAT if self.is_float32
                                    else BLAS_MIN_MULTIPLY_ADDS_DOUBLE)
        cdef const Py_ssize_t* sizes = self.pointers.sizes
        for layer in range(self.pointers.n_layers):
            multiply_adds = rows * sizes[layer] * sizes[layer + 1]
            if (_shares_out(rows, multiply_adds)
                    and (multiply_adds >= VECTOR_MIN_MULTIPLY_ADDS or multiply_adds >= blas_min)):
                return True
        return False

    cdef void _run(self, const long long* order_data, Py_ssize_t n_epochs, Py_ssize_t start,
                   Py_ssize_t stop, double lr, double* losses, fastprop_team* team):
        cdef _LayerPointers p = self.pointers
        if self.is_float32:
            with nogil:
                _train_epochs[float](p.n_layers, p.sizes, <float*> self.X_data, <float*> self.Y_data,
                                     self.n_samples, order_data, n_epochs, start, stop,
                                     self.batch_size, <float> lr, self.mean_loss,
                                     <float**> p.weights, <float**> p.biases,
                                     <float**> p.activations, <float**> p.deltas,
                                     <float*> self.batch_X_data, <float*> self.batch_Y_data, losses,
                                     team)
        else:
            with nogil:
                _train_epochs[double](p.n_layers, p.sizes, <double*> self.X_data, <double*> self.Y_data,
                                      self.n_samples, order_data, n_epochs, start, stop,
                                      self.batch_size, lr, self.mean_loss,
                                      <double**> p.weights, <double**> p.biases,
                                      <double**> p.activations, <double**> p.deltas,
                                      <double*> self.batch_X_data, <double*> self.batch_Y_data, losses,
                                      team)


def train_epochs(sizes, weights, biases, X, Y, orders, Py_ssize_t start, Py_ssize_t stop,
                 Py_ssize_t batch_size, double lr, bint mean_loss, activations, deltas,
                 batch_X, batch_Y, epoch_losses):
    """Minibatch gradient descent in place on weights and biases: ``Trainer(...).run(...)``.

    For each epoch e (one per entry of epoch_losses), take positions start..stop of
    that epoch's sample order (orders[e], or 0, 1, 2, ... when orders is None) in
    batches of batch_size, and make one step per batch. epoch_losses[e] is
    increased by the batches' 1/2 * sums of squared errors measured before each
    step. With mean_loss, each step's gradient is divided by its batch's size.
    """
    if orders is None:
        batch_X = batch_Y = None
    trainer = Trainer(sizes, weights, biases, X, Y, batch_size, mean_loss, activations, deltas,
                      batch_X, batch_Y)
    try:
        trainer.run(orders, start, stop, lr, epoch_losses)
    finally:
        trainer.stop_threads()
