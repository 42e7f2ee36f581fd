/* The output layer's delta and the loss of a batch, for each loss.
 *
 *   FASTPROP_LOSS_SQUARED         1/2 * sum of (a - y)**2 over the batch, with a
 *                                 sigmoid or identity output: A holds the outputs
 *                                 a = f(z), and delta := (a - y) * f'(z) (from a,
 *                                 _activations.h). "mse" is this divided by the rows,
 *                                 which the caller applies (to the step size and the
 *                                 reported loss).
 *   FASTPROP_LOSS_BCE             sum over the batch of -[y log a + (1 - y) log(1 - a)],
 *                                 a = sigmoid(z), computed from z as
 *                                 max(z, 0) - z y + log1p(exp(-|z|)): no log(0), finite
 *                                 for every finite z.
 *   FASTPROP_LOSS_CROSS_ENTROPY   sum over the rows of -sum_j y_j log softmax(z)_j,
 *                                 computed from z as y_j (log s - (z_j - m)), m the
 *                                 row's largest z, s = sum_j exp(z_j - m) >= 1.
 * For the last two A holds z on entry and the outputs a on return (the sigmoid or
 * softmax of _activations.h: the same bits as a forward pass), and the delta of the
 * pair is a - y: the derivative of the loss with respect to z, the output function's
 * derivative already in it. For cross-entropy, labels (one class index per row, in
 * [0, cols)) may stand for one-hot rows of Y (then Y is not read). Losses are summed
 * in double. No checks, no allocation.
 */
#ifndef FASTPROP_LOSSES_H
#define FASTPROP_LOSSES_H

#include <stddef.h>

#include "_activations.h"
#include "_config.h"

typedef enum {
    FASTPROP_LOSS_SQUARED = 0,
    FASTPROP_LOSS_BCE = 1,
    FASTPROP_LOSS_CROSS_ENTROPY = 2
} fastprop_loss;

/* delta (rows x cols) := the output delta; returns the batch's summed loss (see above).
 * output: the output layer's function (sigmoid or identity for SQUARED; sigmoid for BCE;
 * softmax for CROSS_ENTROPY); labels: NULL, or for CROSS_ENTROPY the rows' classes. */
double fastprop_output_delta_float(fastprop_cpu_path cpu, fastprop_loss loss,
                                   fastprop_activation output, ptrdiff_t rows, ptrdiff_t cols,
                                   float* A, const float* Y, const long long* labels,
                                   float* delta);
double fastprop_output_delta_double(fastprop_cpu_path cpu, fastprop_loss loss,
                                    fastprop_activation output, ptrdiff_t rows, ptrdiff_t cols,
                                    double* A, const double* Y, const long long* labels,
                                    double* delta);

#endif  /* FASTPROP_LOSSES_H */
