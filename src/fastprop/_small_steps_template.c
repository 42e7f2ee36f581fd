/* A whole training step of a small network in one function: included by _steps.c
 * with REAL (float or double), TYPED(name) and IS_FLOAT (1 or 0) defined, before
 * _steps_template.c, whose fastprop_train_epochs runs it when every product of
 * the step would run in the plain loops on one thread (small_step_applies, below).
 *
 * Why: in a network of a few units per layer (XOR's 2-2-1 on its 4 samples) a
 * step is some 50 multiply-adds and 12 sigmoids, and the per-product calls,
 * routing and loop set-ups of the general step cost more than the arithmetic.
 * Here each output is one scalar sum over its inputs, with the same operations
 * in the same order as the plain loops of _products_template.c and the passes of
 * _elementwise_template.c, so the bits are those of the loops route:
 *   forward      total := b[j], then total := total + a[p] * W[j, p] for p in order;
 *                then the path's sigmoid over the layer's block (the same call);
 *   hidden delta total := 0, then total := total + delta[r, p] * W[p, j] for p in
 *                order; then total * f' (for the sigmoid, total * (A * (1 - A))), as a_b_loops
 *                then fastprop_multiply_derivative;
 *   gradient     total := 0, then total := total + delta[r, i] * input[r, j] for r
 *                in order; W[i, j] := W[i, j] + (-lr) * total, as at_b_loops;
 *   bias         total := 0, then total := total + delta[r, i] for r in order;
 *                b[i] := b[i] + (-lr) * total, as fastprop_column_sums.
 * Scalar sums suit widths under a vector (FASTPROP_SMALL_STEP_MAX_WIDTH); wider
 * layers take the general step, whose loops fill vectors. */

/* total + a[0] * b[0] + a[s] * b[t] + ..., n terms added one at a time in order (a[i * s],
 * b[i * t]). */
static inline REAL TYPED(sum_of_products)(REAL total, const REAL* a, ptrdiff_t s, const REAL* b,
                                          ptrdiff_t t, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; ++i)
        total = total + a[i * s] * b[i * t];
    return total;
}

/* W := W + step * delta.T @ input, b := b + step * delta.sum(0), each sum over the rows
 * in order from 0 (as at_b_loops and fastprop_column_sums): one output after another,
 * for a few rows, whose sums are short chains. */
static inline void TYPED(small_gradient_step_by_columns)(ptrdiff_t rows, ptrdiff_t n_in,
                                                         ptrdiff_t n_out, REAL step,
                                                         const REAL* delta, const REAL* input,
                                                         REAL* W, REAL* b)
{
    for (ptrdiff_t i = 0; i < n_out; ++i) {
        for (ptrdiff_t j = 0; j < n_in; ++j) {
            const REAL total = TYPED(sum_of_products)(0, delta + i, n_out, input + j, n_in, rows);
            W[i * n_in + j] = W[i * n_in + j] + step * total;
        }
        REAL total = 0;
        for (ptrdiff_t r = 0; r < rows; ++r)
            total = total + delta[r * n_out + i];
        b[i] = b[i] + step * total;
    }
}

/* The same for more rows: row by row, every output's sum advancing together, so that the
 * sums (each still over the rows in order) do not wait on each other. */
static inline void TYPED(small_gradient_step_by_rows)(ptrdiff_t rows, ptrdiff_t n_in,
                                                      ptrdiff_t n_out, REAL step,
                                                      const REAL* delta, const REAL* input,
                                                      REAL* W, REAL* b)
{
    REAL totals[FASTPROP_SMALL_STEP_MAX_WIDTH * FASTPROP_SMALL_STEP_MAX_WIDTH];
    REAL bias_totals[FASTPROP_SMALL_STEP_MAX_WIDTH];
    for (ptrdiff_t i = 0; i < n_out; ++i) {
        bias_totals[i] = 0;
        for (ptrdiff_t j = 0; j < n_in; ++j)
            totals[i * n_in + j] = 0;
    }
    for (ptrdiff_t r = 0; r < rows; ++r) {
        const REAL* d = delta + r * n_out;
        const REAL* x = input + r * n_in;
        for (ptrdiff_t i = 0; i < n_out; ++i) {
            bias_totals[i] = bias_totals[i] + d[i];
            for (ptrdiff_t j = 0; j < n_in; ++j)
                totals[i * n_in + j] = totals[i * n_in + j] + d[i] * x[j];
        }
    }
    for (ptrdiff_t i = 0; i < n_out; ++i) {
        for (ptrdiff_t j = 0; j < n_in; ++j)
            W[i * n_in + j] = W[i * n_in + j] + step * totals[i * n_in + j];
        b[i] = b[i] + step * bias_totals[i];
    }
}

/* The step of fastprop_train_epochs (train_batch) for a network all of whose widths are at
 * most FASTPROP_SMALL_STEP_MAX_WIDTH; returns the batch's summed loss (_losses.h). */
static double TYPED(small_step)(fastprop_cpu_path cpu, const TYPED(fastprop_network)* network,
                                fastprop_loss loss_kind, ptrdiff_t rows, const REAL* X,
                                const REAL* Y, const long long* labels, REAL lr)
{
    const ptrdiff_t n_layers = network->n_layers, last = n_layers - 1;
    const ptrdiff_t* sizes = network->sizes;
    const fastprop_activation* functions = network->functions;
    REAL* const* weights = network->weights;
    REAL* const* biases = network->biases;
    REAL* const* activations = network->activations;
    REAL* const* deltas = network->deltas;
    const REAL* layer_input = X;
    for (ptrdiff_t layer = 0; layer < n_layers; ++layer) {
        const ptrdiff_t n_in = sizes[layer], n_out = sizes[layer + 1];
        const REAL* W = weights[layer];
        const REAL* b = biases[layer];
        REAL* out = activations[layer];
        for (ptrdiff_t r = 0; r < rows; ++r) {
            const REAL* a_row = layer_input + r * n_in;
            for (ptrdiff_t j = 0; j < n_out; ++j) {
                const REAL* w_row = W + j * n_in;
                out[r * n_out + j] = TYPED(sum_of_products)(b[j], a_row, 1, w_row, 1, n_in);
            }
        }
        TYPED(fastprop_activate)(cpu, fastprop_forward_function(functions, n_layers, layer,
                                                              loss_kind != FASTPROP_LOSS_SQUARED),
                                 out, out, rows * n_out);
        layer_input = out;
    }
    const double loss = TYPED(fastprop_output_delta)(cpu, loss_kind, functions[last], rows,
                                                     sizes[n_layers], activations[last], Y,
                                                     labels, deltas[last]);
    const REAL step = -lr;
    for (ptrdiff_t layer = last; layer >= 0; --layer) {
        const ptrdiff_t n_in = sizes[layer], n_out = sizes[layer + 1];
        REAL* W = weights[layer];
        REAL* b = biases[layer];
        const REAL* delta = deltas[layer];
        const REAL* input = layer == 0 ? X : activations[layer - 1];
        if (layer > 0) {
            /* The delta of the layer below needs this layer's weights before they are updated. */
            REAL* below = deltas[layer - 1];
            const fastprop_activation function = functions[layer - 1];
            for (ptrdiff_t r = 0; r < rows; ++r)
                for (ptrdiff_t j = 0; j < n_in; ++j) {
                    const REAL total = TYPED(sum_of_products)(0, delta + r * n_out, 1, W + j,
                                                              n_in, n_out);
                    const REAL a = input[r * n_in + j];
                    below[r * n_in + j] = function == FASTPROP_ACTIVATION_SIGMOID
                                          ? total * (a * ((REAL) 1 - a)) : total;
                }
            if (function != FASTPROP_ACTIVATION_SIGMOID)
                TYPED(fastprop_multiply_derivative)(function, below, input, rows * n_in);
        }
        if (rows <= FASTPROP_SMALL_STEP_MAX_WIDTH)
            TYPED(small_gradient_step_by_columns)(rows, n_in, n_out, step, delta, input, W, b);
        else
            TYPED(small_gradient_step_by_rows)(rows, n_in, n_out, step, delta, input, W, b);
    }
    return loss;
}

/* Whether every product of a step of rows rows runs in the plain loops on one thread, as
 * fastprop_train_epochs would route it (plan, or the configuration without one), and
 * every width is at most FASTPROP_SMALL_STEP_MAX_WIDTH: then small_step gives its bits. */
static int TYPED(small_step_applies)(const fastprop_config* config,
                                     const fastprop_decision* plan, fastprop_team* team,
                                     ptrdiff_t n_layers, const ptrdiff_t* sizes, ptrdiff_t rows)
{
    for (ptrdiff_t layer = 0; layer < n_layers; ++layer) {
        const ptrdiff_t n_in = sizes[layer], n_out = sizes[layer + 1];
        if (n_in > FASTPROP_SMALL_STEP_MAX_WIDTH || n_out > FASTPROP_SMALL_STEP_MAX_WIDTH)
            return 0;
        /* The arguments fastprop_dense_forward, fastprop_product_a_b and
         * fastprop_product_at_b give the routing for this layer's three products. */
        const ptrdiff_t multiply_adds = rows * n_in * n_out;
        const int fills_in = fastprop_fills_vectors(n_in, IS_FLOAT);
        const int fills_forward = fastprop_fills_vectors(n_out > n_in ? n_out : n_in, IS_FLOAT);
        for (int kind = 0; kind < FASTPROP_PRODUCT_KINDS; ++kind) {
            if (kind == FASTPROP_PRODUCT_HIDDEN_DELTA && layer == 0)
                continue;
            fastprop_team* shared;
            const fastprop_decision* decision = plan == NULL
                                                ? NULL
                                                : plan + layer * FASTPROP_PRODUCT_KINDS + kind;
            const fastprop_route route = fastprop_route_product(
                config, decision, team, rows, multiply_adds,
                kind == FASTPROP_PRODUCT_FORWARD ? fills_forward : fills_in, IS_FLOAT, &shared);
            if (route != FASTPROP_ROUTE_LOOPS || shared != NULL)
                return 0;
        }
    }
    return 1;
}
