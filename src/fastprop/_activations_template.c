/* The activation functions for one dtype: included by _activations.c with REAL
 * (float or double) and TYPED(name) defined. */

/* out := max(z, 0) (NaN stays NaN) */
static void TYPED(relu)(const REAL* z, REAL* out, ptrdiff_t size)
{
    for (ptrdiff_t i = 0; i < size; ++i)
        out[i] = z[i] < 0 ? (REAL) 0 : z[i];
}

void TYPED(fastprop_activate)(fastprop_cpu_path cpu, fastprop_activation function, const REAL* z,
                              REAL* out, ptrdiff_t size)
{
    switch (function) {
    case FASTPROP_ACTIVATION_SIGMOID:
        TYPED(fastprop_sigmoid)(cpu, z, out, size);
        return;
    case FASTPROP_ACTIVATION_TANH:
        TYPED(fastprop_tanh)(cpu, z, out, size);
        return;
    case FASTPROP_ACTIVATION_RELU:
        TYPED(relu)(z, out, size);
        return;
    case FASTPROP_ACTIVATION_IDENTITY:
    case FASTPROP_ACTIVATION_SOFTMAX:   /* never asked for: the caller takes rows */
        if (out != z)
            memmove(out, z, (size_t) size * sizeof(REAL));
        return;
    }
}

void TYPED(fastprop_activate_panel)(fastprop_cpu_path cpu, fastprop_activation function, REAL* C,
                                    ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t width)
{
    if (function == FASTPROP_ACTIVATION_IDENTITY || function == FASTPROP_ACTIVATION_SOFTMAX)
        return;
    if (function == FASTPROP_ACTIVATION_SIGMOID && cpu >= FASTPROP_CPU_AVX512)
        TYPED(fastprop_sigmoid_panel_avx512)(C, ldc, rows, width);
    else if (function == FASTPROP_ACTIVATION_SIGMOID && cpu >= FASTPROP_CPU_AVX2)
        TYPED(fastprop_sigmoid_panel_avx2)(C, ldc, rows, width);
    else if (function == FASTPROP_ACTIVATION_TANH && cpu >= FASTPROP_CPU_AVX512)
        TYPED(fastprop_tanh_panel_avx512)(C, ldc, rows, width);
    else if (function == FASTPROP_ACTIVATION_TANH && cpu >= FASTPROP_CPU_AVX2)
        TYPED(fastprop_tanh_panel_avx2)(C, ldc, rows, width);
    else if (width == ldc)
        TYPED(fastprop_activate)(cpu, function, C, C, rows * width);
    else
        for (ptrdiff_t i = 0; i < rows; ++i)
            TYPED(fastprop_activate)(cpu, function, C + i * ldc, C + i * ldc, width);
}

void TYPED(fastprop_multiply_derivative)(fastprop_activation function, REAL* D, const REAL* A,
                                         ptrdiff_t size)
{
    switch (function) {
    case FASTPROP_ACTIVATION_SIGMOID:
        for (ptrdiff_t i = 0; i < size; ++i)
            D[i] = D[i] * (A[i] * ((REAL) 1 - A[i]));
        return;
    case FASTPROP_ACTIVATION_TANH:
        for (ptrdiff_t i = 0; i < size; ++i)
            D[i] = D[i] * ((REAL) 1 - A[i] * A[i]);
        return;
    case FASTPROP_ACTIVATION_RELU:
        for (ptrdiff_t i = 0; i < size; ++i)
            D[i] = A[i] > 0 ? D[i] : (REAL) 0;
        return;
    case FASTPROP_ACTIVATION_IDENTITY:
    case FASTPROP_ACTIVATION_SOFTMAX:
        return;
    }
}

void TYPED(fastprop_subtract_row_max)(REAL* Z, ptrdiff_t rows, ptrdiff_t cols)
{
    for (ptrdiff_t r = 0; r < rows; ++r) {
        REAL* row = Z + r * cols;
        REAL largest = row[0];
        for (ptrdiff_t j = 1; j < cols; ++j)
            /* not (row[j] <= largest): a NaN becomes the maximum, and makes the row NaN */
            largest = !(row[j] <= largest) ? row[j] : largest;
        for (ptrdiff_t j = 0; j < cols; ++j)
            row[j] = row[j] - largest;
    }
}

void TYPED(fastprop_softmax_rows)(fastprop_cpu_path cpu, REAL* Z, ptrdiff_t rows, ptrdiff_t cols)
{
    TYPED(fastprop_subtract_row_max)(Z, rows, cols);
    TYPED(fastprop_exp_nonpositive)(cpu, Z, Z, rows * cols);
    for (ptrdiff_t r = 0; r < rows; ++r) {
        REAL* row = Z + r * cols;
        REAL total = 0;
        for (ptrdiff_t j = 0; j < cols; ++j)
            total = total + row[j];
        for (ptrdiff_t j = 0; j < cols; ++j)
            row[j] = row[j] / total;
    }
}
