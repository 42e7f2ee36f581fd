/* The losses for one dtype: included by _losses.c with REAL (float or double) and
 * TYPED(name) defined. */

/* sum of (A - Y)**2 / 2, and delta := (A - Y) * f'(z) from A = f(z) */
static double TYPED(squared_error_delta)(fastprop_activation output, ptrdiff_t size,
                                         const REAL* A, const REAL* Y, REAL* delta)
{
    double squared_error = 0;
    if (output == FASTPROP_ACTIVATION_SIGMOID)
        for (ptrdiff_t i = 0; i < size; ++i) {
            const REAL error = A[i] - Y[i];
            squared_error += (double) error * (double) error;
            delta[i] = error * (A[i] * ((REAL) 1 - A[i]));
        }
    else
        for (ptrdiff_t i = 0; i < size; ++i) {
            const REAL error = A[i] - Y[i];
            squared_error += (double) error * (double) error;
            delta[i] = error;
        }
    return 0.5 * squared_error;
}

/* sum of max(z, 0) - z y + log1p(exp(-|z|)), the binary cross-entropy of sigmoid(z) */
static double TYPED(binary_cross_entropy)(ptrdiff_t size, const REAL* Z, const REAL* Y)
{
    double total = 0;
    for (ptrdiff_t i = 0; i < size; ++i) {
        const double z = Z[i], y = Y[i];
        total += (z > 0 ? z : 0) - z * y + log1p(exp(-fabs(z)));
    }
    return total;
}

/* delta := A - Y (labels: A - one-hot(labels)) */
static void TYPED(difference)(ptrdiff_t rows, ptrdiff_t cols, const REAL* A, const REAL* Y,
                              const long long* labels, REAL* delta)
{
    if (labels == NULL)
        for (ptrdiff_t i = 0; i < rows * cols; ++i)
            delta[i] = A[i] - Y[i];
    else
        for (ptrdiff_t r = 0; r < rows; ++r) {
            for (ptrdiff_t j = 0; j < cols; ++j)
                delta[r * cols + j] = A[r * cols + j];
            delta[r * cols + labels[r]] = A[r * cols + labels[r]] - (REAL) 1;
        }
}

double TYPED(fastprop_output_delta)(fastprop_cpu_path cpu, fastprop_loss loss,
                                    fastprop_activation output, ptrdiff_t rows, ptrdiff_t cols,
                                    REAL* A, const REAL* Y, const long long* labels, REAL* delta)
{
    const ptrdiff_t size = rows * cols;
    double total = 0;
    switch (loss) {
    case FASTPROP_LOSS_SQUARED:
        return TYPED(squared_error_delta)(output, size, A, Y, delta);
    case FASTPROP_LOSS_BCE:
        total = TYPED(binary_cross_entropy)(size, A, Y);
        TYPED(fastprop_sigmoid)(cpu, A, A, size);
        TYPED(difference)(rows, cols, A, Y, NULL, delta);
        return total;
    case FASTPROP_LOSS_CROSS_ENTROPY:
        /* The softmax of _activations.h (fastprop_softmax_rows) step by step, the loss
         * taken between the steps: A := z - max of its row, delta := exp(A), the row's
         * sum s; the loss from A and log s; then A := delta / s, the outputs. */
        TYPED(fastprop_subtract_row_max)(A, rows, cols);
        TYPED(fastprop_exp_nonpositive)(cpu, A, delta, size);
        for (ptrdiff_t r = 0; r < rows; ++r) {
            const REAL* exps = delta + r * cols;
            REAL row_total = 0;
            for (ptrdiff_t j = 0; j < cols; ++j)
                row_total = row_total + exps[j];
            const double log_total = log((double) row_total);
            REAL* row = A + r * cols;
            if (labels != NULL)
                total += log_total - row[labels[r]];
            else
                for (ptrdiff_t j = 0; j < cols; ++j)
                    if (Y[r * cols + j] != 0)
                        total += (double) Y[r * cols + j] * (log_total - row[j]);
            for (ptrdiff_t j = 0; j < cols; ++j)
                row[j] = exps[j] / row_total;
        }
        TYPED(difference)(rows, cols, A, Y, labels, delta);
        return total;
    }
    return total;
}
