/* Elementwise passes: bias and sigmoid, sigma', column sums (bias gradients),
 * the output delta and loss, plain updates, row gathers and the finiteness
 * check; alone, or shared out over a team of threads (the passes after a BLAS
 * product, which would otherwise run on one thread while BLAS's wait).
 * No checks, no allocation; sizes >= 0; every matrix row-major. */
#ifndef FASTPROP_ELEMENTWISE_H
#define FASTPROP_ELEMENTWISE_H

#include <stddef.h>

#include "_config.h"
#include "_team.h"

/* Columns summed per pass of the column sums (their partial sums live on the stack). */
#define FASTPROP_COLUMN_BLOCK 256
/* Elements per task of a pass shared out over a team. */
#define FASTPROP_ELEMENTS_PER_TASK 16384
/* Elements per block of the finiteness check. */
#define FASTPROP_FINITE_CHECK_BLOCK 4096

#define FASTPROP_DECLARE_ELEMENTWISE(REAL, TYPE)                                                  \
    /* Z := sigmoid(Z + b), in place, b (cols) broadcast over the rows */                        \
    void fastprop_add_bias_sigmoid_##TYPE(fastprop_cpu_path cpu, REAL* Z, const REAL* b,         \
                                          ptrdiff_t rows, ptrdiff_t cols);                       \
    /* D := D * A * (1 - A) */                                                                   \
    void fastprop_multiply_sigmoid_derivative_##TYPE(REAL* D, const REAL* A, ptrdiff_t size);    \
    /* out (cols) := alpha * D.sum(0) + beta * out, beta 0 or 1 */                               \
    void fastprop_column_sums_##TYPE(ptrdiff_t rows, ptrdiff_t cols, REAL alpha, const REAL* D,  \
                                     REAL beta, REAL* out);                                      \
    /* delta := (A - Y) * A * (1 - A); returns 1/2 * sum((A - Y)**2), summed in double */        \
    double fastprop_output_delta_##TYPE(ptrdiff_t size, const REAL* A, const REAL* Y,            \
                                        REAL* delta);                                            \
    /* param := param - lr * grad */                                                             \
    void fastprop_sgd_update_##TYPE(ptrdiff_t size, REAL lr, const REAL* grad, REAL* param);     \
    /* destination[i] := source[row_indices[i]], rows of width elements */                      \
    void fastprop_gather_rows_##TYPE(const REAL* source, ptrdiff_t width,                        \
                                     const long long* row_indices, ptrdiff_t n_rows,             \
                                     REAL* destination);                                         \
    /* all(isfinite(values)) */                                                                  \
    int fastprop_all_finite_##TYPE(const REAL* values, ptrdiff_t size);                          \
    /* the same passes shared out over team (NULL: on this thread) */                            \
    void fastprop_shared_add_bias_sigmoid_##TYPE(fastprop_team* team, fastprop_cpu_path cpu,     \
                                                 REAL* Z, const REAL* b, ptrdiff_t rows,         \
                                                 ptrdiff_t cols);                                \
    void fastprop_shared_multiply_sigmoid_derivative_##TYPE(fastprop_team* team, REAL* D,        \
                                                            const REAL* A, ptrdiff_t rows,       \
                                                            ptrdiff_t cols);                     \
    void fastprop_shared_column_sums_##TYPE(fastprop_team* team, ptrdiff_t rows, ptrdiff_t cols, \
                                            REAL alpha, const REAL* D, REAL beta, REAL* out);

FASTPROP_DECLARE_ELEMENTWISE(float, float)
FASTPROP_DECLARE_ELEMENTWISE(double, double)

#undef FASTPROP_DECLARE_ELEMENTWISE

#endif  /* FASTPROP_ELEMENTWISE_H */
