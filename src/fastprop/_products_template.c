/* The routed products for one dtype: included by _products.c with REAL (float
 * or double), TYPED(name) and IS_FLOAT (1 or 0) defined. Each product asks
 * fastprop_choose_route (_routing.h) where to run, then runs in the plain loops
 * below, the vector kernels (_vector_products.h) or BLAS (_blas.h), and applies
 * the elementwise work that follows it while the data is in cache. */

/* C (m, n) := A (m, k) @ B (n, k).T + bias, in plain loops for small products */
static void TYPED(affine_loops)(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const REAL* A,
                                const REAL* B, const REAL* bias, REAL* C)
{
    for (ptrdiff_t r = 0; r < m; ++r) {
        const REAL* a_row = A + r * k;
        for (ptrdiff_t j = 0; j < n; ++j) {
            const REAL* b_row = B + j * k;
            REAL total = bias[j];
            for (ptrdiff_t p = 0; p < k; ++p)
                total = total + a_row[p] * b_row[p];
            C[r * n + j] = total;
        }
    }
}

/* C (m, n) := A (m, k) @ B (k, n), in plain loops */
static void TYPED(a_b_loops)(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const REAL* A, const REAL* B,
                             REAL* C)
{
    for (ptrdiff_t r = 0; r < m; ++r) {
        REAL* c_row = C + r * n;
        for (ptrdiff_t j = 0; j < n; ++j)
            c_row[j] = 0;
        for (ptrdiff_t p = 0; p < k; ++p) {
            const REAL a_value = A[r * k + p];
            const REAL* b_row = B + p * n;
            for (ptrdiff_t j = 0; j < n; ++j)
                c_row[j] = c_row[j] + a_value * b_row[j];
        }
    }
}

/* C (m, n) := alpha * A (k, m).T @ B (k, n) + beta * C, beta 0 or 1, in plain loops: the
 * sum over the batch first, then scaled and added, the same order of operations as
 * the textbook's W := W - lr * (delta.T @ A_prev). */
static void TYPED(at_b_loops)(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, REAL alpha, const REAL* A,
                              ptrdiff_t lda, const REAL* B, REAL beta, REAL* C)
{
    for (ptrdiff_t i = 0; i < m; ++i)
        for (ptrdiff_t j = 0; j < n; ++j) {
            REAL total = 0;
            for (ptrdiff_t p = 0; p < k; ++p)
                total = total + A[p * lda + i] * B[p * n + j];
            if (beta == 0)
                C[i * n + j] = alpha * total;
            else
                C[i * n + j] = C[i * n + j] + alpha * total;
        }
}

void TYPED(fastprop_dense_forward)(const fastprop_config* config,
                                   const fastprop_decision* decision, fastprop_team* team,
                                   ptrdiff_t rows, ptrdiff_t n_in, ptrdiff_t n_out,
                                   const REAL* A_in, const REAL* W, const REAL* b, REAL* A_out,
                                   fastprop_activation function)
{
    const ptrdiff_t multiply_adds = rows * n_out * n_in;
    /* Narrow outputs run as dot products over the inputs: either dimension fills vectors. */
    const int fills = fastprop_fills_vectors(n_out > n_in ? n_out : n_in, IS_FLOAT);
    fastprop_team* shared;
    switch (fastprop_route_product(config, decision, team, rows, multiply_adds, fills, IS_FLOAT,
                                   &shared)) {
    case FASTPROP_ROUTE_BLAS:
        TYPED(fastprop_blas_a_bt)(rows, n_out, n_in, A_in, W, A_out);
        TYPED(fastprop_shared_add_bias_activate)(shared, config->cpu, function, A_out, b, rows,
                                                 n_out);
        return;
    case FASTPROP_ROUTE_VECTOR:
        /* The bias goes into the sums, the function into each column panel's task. */
        TYPED(fastprop_dense_activate)(config->cpu, shared, rows, n_out, n_in, A_in, W, b, A_out,
                                       function);
        return;
    case FASTPROP_ROUTE_LOOPS:
        /* The bias goes into the loops' sums, and one pass of the function covers
         * the whole block, so that short rows still fill the vector lanes. */
        TYPED(affine_loops)(rows, n_out, n_in, A_in, W, b, A_out);
        TYPED(fastprop_activate)(config->cpu, function, A_out, A_out, rows * n_out);
        return;
    }
}

void TYPED(fastprop_product_a_b)(const fastprop_config* config, const fastprop_decision* decision,
                                 fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                                 const REAL* A, const REAL* B, REAL* C, const REAL* outputs,
                                 fastprop_activation function)
{
    const ptrdiff_t multiply_adds = m * n * k;
    fastprop_team* shared;
    /* The identity's derivative is 1: nothing to multiply by. */
    if (function == FASTPROP_ACTIVATION_IDENTITY)
        outputs = NULL;
    switch (fastprop_route_product(config, decision, team, m, multiply_adds,
                                   fastprop_fills_vectors(n, IS_FLOAT), IS_FLOAT, &shared)) {
    case FASTPROP_ROUTE_VECTOR:
        /* The vector kernels apply f' to each column panel as they finish it. */
        TYPED(fastprop_products)(config->cpu, shared, m, n, k, A, k, 1, B, 1, 0, C, outputs,
                                 function, NULL);
        return;
    case FASTPROP_ROUTE_BLAS:
        TYPED(fastprop_blas_a_b)(m, n, k, A, B, C);
        if (outputs != NULL)
            TYPED(fastprop_shared_multiply_derivative)(shared, function, C, outputs, m, n);
        return;
    case FASTPROP_ROUTE_LOOPS:
        TYPED(a_b_loops)(m, n, k, A, B, C);
        if (outputs != NULL)
            TYPED(fastprop_multiply_derivative)(function, C, outputs, m * n);
        return;
    }
}

void TYPED(fastprop_product_at_b)(const fastprop_config* config,
                                  const fastprop_decision* decision, fastprop_team* team,
                                  ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, REAL alpha, const REAL* A,
                                  ptrdiff_t lda, const REAL* B, REAL beta, REAL* C,
                                  REAL* column_sums)
{
    const ptrdiff_t multiply_adds = m * n * k;
    fastprop_team* shared;
    int summed = 0;
    /* The sum runs over the batch: k is the step's number of rows. */
    switch (fastprop_route_product(config, decision, team, k, multiply_adds,
                                   fastprop_fills_vectors(n, IS_FLOAT), IS_FLOAT, &shared)) {
    case FASTPROP_ROUTE_BLAS:
        TYPED(fastprop_blas_at_b)(m, n, k, alpha, A, lda, B, beta, C);
        break;
    case FASTPROP_ROUTE_VECTOR:
        /* A.T read in place: A.T (i, p) = A[p * lda + i]. In row strips, the kernels
         * also sum the strip's columns of A, in the same order as the column sums. */
        summed = TYPED(fastprop_products)(config->cpu, shared, m, n, k, A, 1, lda, B, alpha, beta,
                                          C, NULL, FASTPROP_ACTIVATION_IDENTITY, column_sums);
        break;
    case FASTPROP_ROUTE_LOOPS:
        TYPED(at_b_loops)(m, n, k, alpha, A, lda, B, beta, C);
        break;
    }
    if (column_sums != NULL && !summed)
        TYPED(fastprop_shared_column_sums)(shared, k, m, alpha, A, beta, column_sums);
}
