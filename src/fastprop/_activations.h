/* The activation functions of a layer, their derivatives and the softmax.
 *
 * A layer's function is one of fastprop_activation. The sigmoid and tanh are
 * _sigmoid.h's (one source, the same bits on every CPU path); relu and the
 * identity are exact. Every derivative is taken from the layer's outputs
 * a = f(z), never from z, as the textbook does for the sigmoid: no z is stored
 * and nothing transcendental is evaluated again:
 *   sigmoid  f'(z) = a (1 - a)
 *   tanh     f'(z) = 1 - a**2
 *   relu     f'(z) = 1 where a > 0, else 0 (so 0 at z = 0, as PyTorch)
 *   identity f'(z) = 1
 * The softmax only ends a network (across each row of the output layer); its
 * derivative is never formed: with cross-entropy the output delta is a - y
 * (_losses.h).
 *
 * No checks, no allocation; sizes >= 0; out may be z.
 */
#ifndef FASTPROP_ACTIVATIONS_H
#define FASTPROP_ACTIVATIONS_H

#include <stddef.h>

#include "_config.h"
#include "_team.h"

typedef enum {
    FASTPROP_ACTIVATION_SIGMOID = 0,
    FASTPROP_ACTIVATION_TANH = 1,
    FASTPROP_ACTIVATION_RELU = 2,
    FASTPROP_ACTIVATION_IDENTITY = 3,
    FASTPROP_ACTIVATION_SOFTMAX = 4     /* output layers only */
} fastprop_activation;

/* out := f(z), elementwise, f not the softmax, on the given path. */
void fastprop_activate_float(fastprop_cpu_path cpu, fastprop_activation function, const float* z,
                             float* out, ptrdiff_t size);
void fastprop_activate_double(fastprop_cpu_path cpu, fastprop_activation function,
                              const double* z, double* out, ptrdiff_t size);

/* C[i, j] := f(C[i, j]) for i < rows, j < width (row stride ldc), f not the softmax, on
 * the given path's kernels (the vector products call these for their panels). */
void fastprop_activate_panel_float(fastprop_cpu_path cpu, fastprop_activation function, float* C,
                                   ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t width);
void fastprop_activate_panel_double(fastprop_cpu_path cpu, fastprop_activation function,
                                    double* C, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t width);

/* D := D * f'(z), from A = f(z), elementwise; f not the softmax (the identity: nothing). */
void fastprop_multiply_derivative_float(fastprop_activation function, float* D, const float* A,
                                        ptrdiff_t size);
void fastprop_multiply_derivative_double(fastprop_activation function, double* D,
                                         const double* A, ptrdiff_t size);

/* Z (rows x cols) := softmax of each row, in place: exp(z - max z) / its sum over the row
 * (the sum in order of the columns). */
void fastprop_softmax_rows_float(fastprop_cpu_path cpu, float* Z, ptrdiff_t rows,
                                 ptrdiff_t cols);
void fastprop_softmax_rows_double(fastprop_cpu_path cpu, double* Z, ptrdiff_t rows,
                                  ptrdiff_t cols);

/* Z (rows x cols) := Z - max of its row, each row, in place; NaN in a row makes it all NaN. */
void fastprop_subtract_row_max_float(float* Z, ptrdiff_t rows, ptrdiff_t cols);
void fastprop_subtract_row_max_double(double* Z, ptrdiff_t rows, ptrdiff_t cols);

/* The function a forward pass applies to the sums of layer (of n_layers, functions[l] each
 * layer's): the layer's own, but the identity for a softmax (whose rows are taken after)
 * and, where output_z, for the output layer (whose outputs a loss computes from z). */
static inline fastprop_activation fastprop_forward_function(const fastprop_activation* functions,
                                                            ptrdiff_t n_layers, ptrdiff_t layer,
                                                            int output_z)
{
    if (functions[layer] == FASTPROP_ACTIVATION_SOFTMAX || (output_z && layer == n_layers - 1))
        return FASTPROP_ACTIVATION_IDENTITY;
    return functions[layer];
}

#endif  /* FASTPROP_ACTIVATIONS_H */
