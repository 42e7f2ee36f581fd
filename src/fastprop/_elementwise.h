/* Elementwise passes: bias and activation, f', column sums (bias gradients),
 * plain updates, row gathers and the finiteness
 * check; alone, or shared out over a team of threads (the passes after a BLAS
 * product, which would otherwise run on one thread while BLAS's wait).
 * No checks, no allocation; sizes >= 0; every matrix row-major. */
#ifndef FASTPROP_ELEMENTWISE_H
#define FASTPROP_ELEMENTWISE_H

#include <stddef.h>

#include "_activations.h"
#include "_config.h"
#include "_team.h"

/* Columns summed per pass of the column sums (their partial sums live on the stack). */
#define FASTPROP_COLUMN_BLOCK 256
/* Elements per task of a pass shared out over a team. */
#define FASTPROP_ELEMENTS_PER_TASK 16384
/* Elements per block of the finiteness check. */
#define FASTPROP_FINITE_CHECK_BLOCK 4096

/* Z := f(Z + b), in place, b (cols) broadcast over the rows, f not the softmax */
void fastprop_add_bias_activate_float(fastprop_cpu_path cpu, fastprop_activation function,
                                      float* Z, const float* b, ptrdiff_t rows, ptrdiff_t cols);
void fastprop_add_bias_activate_double(fastprop_cpu_path cpu, fastprop_activation function,
                                       double* Z, const double* b, ptrdiff_t rows,
                                       ptrdiff_t cols);

/* out (cols) := alpha * D.sum(0) + beta * out, beta 0 or 1 */
void fastprop_column_sums_float(ptrdiff_t rows, ptrdiff_t cols, float alpha, const float* D,
                                float beta, float* out);
void fastprop_column_sums_double(ptrdiff_t rows, ptrdiff_t cols, double alpha, const double* D,
                                 double beta, double* out);

/* param := param - lr * grad */
void fastprop_sgd_update_float(ptrdiff_t size, float lr, const float* grad, float* param);
void fastprop_sgd_update_double(ptrdiff_t size, double lr, const double* grad, double* param);

/* destination[i] := source[row_indices[i]], rows of width elements */
void fastprop_gather_rows_float(const float* source, ptrdiff_t width,
                                const long long* row_indices, ptrdiff_t n_rows,
                                float* destination);
void fastprop_gather_rows_double(const double* source, ptrdiff_t width,
                                 const long long* row_indices, ptrdiff_t n_rows,
                                 double* destination);

/* all(isfinite(values)) */
int fastprop_all_finite_float(const float* values, ptrdiff_t size);
int fastprop_all_finite_double(const double* values, ptrdiff_t size);

/* The same passes shared out over team (NULL: on this thread). */
void fastprop_shared_add_bias_activate_float(fastprop_team* team, fastprop_cpu_path cpu,
                                             fastprop_activation function, float* Z,
                                             const float* b, ptrdiff_t rows, ptrdiff_t cols);
void fastprop_shared_multiply_derivative_float(fastprop_team* team,
                                               fastprop_activation function, float* D,
                                               const float* A, ptrdiff_t rows, ptrdiff_t cols);
void fastprop_shared_column_sums_float(fastprop_team* team, ptrdiff_t rows, ptrdiff_t cols,
                                       float alpha, const float* D, float beta, float* out);
void fastprop_shared_add_bias_activate_double(fastprop_team* team, fastprop_cpu_path cpu,
                                              fastprop_activation function, double* Z,
                                              const double* b, ptrdiff_t rows, ptrdiff_t cols);
void fastprop_shared_multiply_derivative_double(fastprop_team* team,
                                                fastprop_activation function, double* D,
                                                const double* A, ptrdiff_t rows, ptrdiff_t cols);
void fastprop_shared_column_sums_double(fastprop_team* team, ptrdiff_t rows, ptrdiff_t cols,
                                        double alpha, const double* D, double beta, double* out);

#endif  /* FASTPROP_ELEMENTWISE_H */
