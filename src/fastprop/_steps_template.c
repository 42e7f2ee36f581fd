/* The backpropagation steps and whole-network passes for one dtype: included by
 * _steps.c with REAL (float or double) and TYPED(name) defined. */

void TYPED(fastprop_hidden_delta)(const fastprop_config* config, fastprop_team* team,
                                  ptrdiff_t rows, ptrdiff_t n_next, ptrdiff_t n_this,
                                  const REAL* delta_next, const REAL* W_next, const REAL* A,
                                  fastprop_activation function, REAL* delta)
{
    TYPED(fastprop_product_a_b)(config, NULL, team, rows, n_this, n_next, delta_next, W_next, delta,
                                A, function);
}

void TYPED(fastprop_weight_gradient)(const fastprop_config* config, ptrdiff_t rows,
                                     ptrdiff_t n_in, ptrdiff_t n_out, const REAL* delta,
                                     const REAL* A_prev, REAL* grad_W, REAL* grad_b)
{
    TYPED(fastprop_product_at_b)(config, NULL, NULL, n_out, n_in, rows, 1, delta, n_out, A_prev,
                                 0, grad_W, grad_b);
}

void TYPED(fastprop_gradient_step)(const fastprop_config* config, fastprop_team* team,
                                   ptrdiff_t rows, ptrdiff_t n_in, ptrdiff_t n_out, REAL lr,
                                   const REAL* delta, const REAL* A_prev, REAL* W, REAL* b)
{
    TYPED(fastprop_product_at_b)(config, NULL, team, n_out, n_in, rows, -lr, delta, n_out, A_prev,
                                 1, W, b);
}

/* A plan's decision for one product of a layer, or NULL without a plan */
static inline const fastprop_decision* TYPED(decision_for)(const fastprop_decision* plan,
                                                           ptrdiff_t layer, int kind)
{
    return plan == NULL ? NULL : plan + layer * FASTPROP_PRODUCT_KINDS + kind;
}

/* The forward pass, each product as the plan decides (plan NULL: by the configuration); the
 * output layer's z where output_z, else its outputs but for a softmax's (still z). In
 * pieces of rows where interruption says; returns 1 if the step is to be abandoned. */
static int TYPED(forward)(const fastprop_config* config, const fastprop_decision* plan,
                          fastprop_team* team, ptrdiff_t n_layers, const ptrdiff_t* sizes,
                          const fastprop_activation* functions, int output_z, ptrdiff_t rows,
                          const REAL* X, REAL* const* weights, REAL* const* biases,
                          REAL* const* activations, const fastprop_interruption* interruption)
{
    const REAL* layer_input = X;
    for (ptrdiff_t layer = 0; layer < n_layers; ++layer) {
        const ptrdiff_t n_in = sizes[layer], n_out = sizes[layer + 1];
        const ptrdiff_t piece = fastprop_piece_rows(interruption, rows, n_in * n_out, 0);
        for (ptrdiff_t row = 0; row < rows; row += piece) {
            TYPED(fastprop_dense_forward)(config,
                                          TYPED(decision_for)(plan, layer,
                                                              FASTPROP_PRODUCT_FORWARD),
                                          team, rows - row < piece ? rows - row : piece, n_in,
                                          n_out, layer_input + row * n_in, weights[layer],
                                          biases[layer], activations[layer] + row * n_out,
                                          fastprop_forward_function(functions, n_layers, layer,
                                                                  output_z));
            if (fastprop_abandon(interruption))
                return 1;
        }
        layer_input = activations[layer];
    }
    return 0;
}

void TYPED(fastprop_network_forward)(const fastprop_config* config, fastprop_team* team,
                                     ptrdiff_t n_layers, const ptrdiff_t* sizes,
                                     const fastprop_activation* functions, int output_z,
                                     ptrdiff_t rows, const REAL* X, REAL* const* weights,
                                     REAL* const* biases, REAL* const* activations)
{
    TYPED(forward)(config, NULL, team, n_layers, sizes, functions, output_z, rows, X, weights,
                   biases, activations, NULL);
    if (!output_z && functions[n_layers - 1] == FASTPROP_ACTIVATION_SOFTMAX)
        TYPED(fastprop_softmax_rows)(config->cpu, activations[n_layers - 1], rows,
                                     sizes[n_layers]);
}

/* delta[layer - 1] := (delta[layer] @ W[layer]) * f'(z) of layer - 1, from its outputs
 * A = activations[layer - 1]; in pieces of rows where interruption says; returns 1 if the
 * step is to be abandoned. */
static inline int TYPED(backward_delta)(const fastprop_config* config,
                                        const fastprop_decision* plan, fastprop_team* team,
                                        const ptrdiff_t* sizes,
                                        const fastprop_activation* functions, ptrdiff_t rows,
                                        ptrdiff_t layer, REAL* const* weights,
                                        REAL* const* activations, REAL* const* deltas,
                                        const fastprop_interruption* interruption)
{
    const ptrdiff_t n_this = sizes[layer], n_next = sizes[layer + 1];
    const ptrdiff_t piece = fastprop_piece_rows(interruption, rows, n_this * n_next, 0);
    for (ptrdiff_t row = 0; row < rows; row += piece) {
        TYPED(fastprop_product_a_b)(config, TYPED(decision_for)(plan, layer,
                                                                FASTPROP_PRODUCT_HIDDEN_DELTA),
                                    team, rows - row < piece ? rows - row : piece, n_this, n_next,
                                    deltas[layer] + row * n_next, weights[layer],
                                    deltas[layer - 1] + row * n_this,
                                    activations[layer - 1] + row * n_this, functions[layer - 1]);
        if (fastprop_abandon(interruption))
            return 1;
    }
    return 0;
}

/* W[layer] := W[layer] - lr * delta[layer].T @ input; b[layer] := b[layer] - lr * delta[layer].sum(0);
 * in pieces of rows of W where interruption says; returns 1 if the step is to be abandoned. */
static inline int TYPED(update_layer)(const fastprop_config* config,
                                      const fastprop_decision* plan, fastprop_team* team,
                                      const ptrdiff_t* sizes, ptrdiff_t rows, ptrdiff_t layer,
                                      REAL lr, const REAL* layer_input, REAL* const* weights,
                                      REAL* const* biases, REAL* const* deltas,
                                      const fastprop_interruption* interruption)
{
    const ptrdiff_t n_in = sizes[layer], n_out = sizes[layer + 1];
    const ptrdiff_t piece = fastprop_piece_rows(interruption, n_out, n_in * rows, 1);
    const fastprop_decision* decision = TYPED(decision_for)(plan, layer,
                                                            FASTPROP_PRODUCT_GRADIENT_STEP);
    if (piece >= n_out) {
        TYPED(fastprop_product_at_b)(config, decision, team, n_out, n_in, rows, -lr, deltas[layer],
                                     n_out, layer_input, 1, weights[layer], biases[layer]);
        return fastprop_abandon(interruption);
    }
    /* In pieces of W's rows, each a product on the first columns of delta (lda n_out), which
     * cannot sum delta's columns as it goes (_products.h): the biases' update, the same
     * column sums in the same order, once for the layer. */
    for (ptrdiff_t row = 0; row < n_out; row += piece) {
        TYPED(fastprop_product_at_b)(config, decision, team,
                                     n_out - row < piece ? n_out - row : piece, n_in, rows, -lr,
                                     deltas[layer] + row, n_out, layer_input, 1,
                                     weights[layer] + row * n_in, NULL);
        if (fastprop_abandon(interruption))
            return 1;
    }
    TYPED(fastprop_column_sums)(rows, n_out, -lr, deltas[layer], 1, biases[layer]);
    return fastprop_abandon(interruption);
}

/* The optimizer's update of layer's weights and biases from their gradients (scale *
 * delta[layer].T @ input, and scale * delta[layer]'s column sums), fused: the weight
 * gradient in blocks of rows that fit the gradient buffer (a block's rows of W, of the
 * optimizer's state and of the gradient updated while in cache), each by the product the
 * plan calls the gradient step. The block does not change a gradient's bits: each element
 * is summed over the batch in the same order whatever the rows around it. */
static inline int TYPED(optimize_layer)(const fastprop_config* config,
                                        const fastprop_decision* plan, fastprop_team* team,
                                        const ptrdiff_t* sizes, ptrdiff_t rows, ptrdiff_t layer,
                                        REAL scale, const REAL* layer_input,
                                        REAL* const* weights, REAL* const* biases,
                                        REAL* const* deltas,
                                        const TYPED(fastprop_optimizer_state)* optimizer,
                                        const fastprop_interruption* interruption)
{
    const ptrdiff_t n_in = sizes[layer], n_out = sizes[layer + 1];
    /* Blocks of whole pairs of strips of the vector kernels (FASTPROP_STRIP_ROWS, 16), where
     * the buffer holds that many rows: 784-256-10's 41 rows a block were 2 strips and one of
     * 9 rows, shared unevenly by 2 threads (17% slower than the whole gradient at once; 32
     * rows a block, 4%). The block must not depend on the team: fastprop's own products sum
     * each element in the same order whatever rows surround it, but BLAS's GEMM does not
     * (OpenBLAS's Haswell SGEMM kernels give other bits for 7 or 16 rows than for 70), so a
     * block sized by the team's threads would make the BLAS route's bits depend on them. */
    const ptrdiff_t fits = optimizer->gradient_capacity / n_in;
    const ptrdiff_t multiple = 2 * 16;
    ptrdiff_t block = fits >= multiple ? fits - fits % multiple : fits;
    /* A step that may be abandoned: no block over a piece (whole strips). */
    const ptrdiff_t piece = fastprop_piece_rows(interruption, n_out, n_in * rows, 1);
    block = piece < block ? piece : block;
    const fastprop_decision* decision = TYPED(decision_for)(plan, layer,
                                                            FASTPROP_PRODUCT_GRADIENT_STEP);
    REAL* first_weights = optimizer->first_weights != NULL ? optimizer->first_weights[layer]
                                                           : NULL;
    REAL* second_weights = optimizer->second_weights != NULL ? optimizer->second_weights[layer]
                                                             : NULL;
    for (ptrdiff_t row = 0; row < n_out; row += block) {
        const ptrdiff_t count = n_out - row < block ? n_out - row : block;
        const ptrdiff_t offset = row * n_in;
        TYPED(fastprop_product_at_b)(config, decision, team, count, n_in, rows, scale,
                                     deltas[layer] + row, n_out, layer_input, 0,
                                     optimizer->weight_gradient, NULL);
        TYPED(fastprop_optimizer_update)(config, team, &optimizer->settings, 1, count * n_in,
                                         weights[layer] + offset, optimizer->weight_gradient,
                                         first_weights != NULL ? first_weights + offset : NULL,
                                         second_weights != NULL ? second_weights + offset : NULL);
        if (fastprop_abandon(interruption))
            return 1;
    }
    TYPED(fastprop_column_sums)(rows, n_out, scale, deltas[layer], 0, optimizer->bias_gradient);
    TYPED(fastprop_optimizer_update)(config, NULL, &optimizer->settings, 0, n_out, biases[layer],
                                     optimizer->bias_gradient,
                                     optimizer->first_biases != NULL
                                     ? optimizer->first_biases[layer] : NULL,
                                     optimizer->second_biases != NULL
                                     ? optimizer->second_biases[layer] : NULL);
    return 0;
}

/* One step on a batch; returns the batch's summed loss (_losses.h). Without an optimizer,
 * plain gradient descent with step size lr, fused into the gradient product; with one, its
 * update of each layer fused with the layer's gradient (times gradient_scale). Where
 * interruption is not NULL, in pieces, and *abandoned = 1 if the step was left unfinished
 * (the caller undoes it). */
static double TYPED(train_batch)(const fastprop_config* config, const fastprop_decision* plan,
                                 fastprop_team* team, const TYPED(fastprop_network)* network,
                                 fastprop_loss loss_kind, ptrdiff_t rows, const REAL* X,
                                 const REAL* Y, const long long* labels, REAL lr,
                                 const TYPED(fastprop_optimizer_state)* optimizer,
                                 REAL gradient_scale, const fastprop_interruption* interruption,
                                 int* abandoned)
{
    const ptrdiff_t n_layers = network->n_layers, last = n_layers - 1;
    const ptrdiff_t* sizes = network->sizes;
    const fastprop_activation* functions = network->functions;
    REAL* const* weights = network->weights;
    REAL* const* biases = network->biases;
    REAL* const* activations = network->activations;
    REAL* const* deltas = network->deltas;
    *abandoned = 0;
    if (TYPED(forward)(config, plan, team, n_layers, sizes, functions,
                       loss_kind != FASTPROP_LOSS_SQUARED, rows, X, weights, biases, activations,
                       interruption)) {
        *abandoned = 1;
        return 0.0;
    }
    const double loss = TYPED(fastprop_output_delta)(config->cpu, loss_kind, functions[last], rows,
                                                     sizes[n_layers], activations[last], Y,
                                                     labels, deltas[last]);
    for (ptrdiff_t layer = last; layer >= 0; --layer) {
        const REAL* layer_input = layer == 0 ? X : activations[layer - 1];
        /* The delta of the layer below needs this layer's weights before they are updated. */
        if ((layer > 0
             && TYPED(backward_delta)(config, plan, team, sizes, functions, rows, layer, weights,
                                      activations, deltas, interruption))
            || (optimizer != NULL
                ? TYPED(optimize_layer)(config, plan, team, sizes, rows, layer, gradient_scale,
                                        layer_input, weights, biases, deltas, optimizer,
                                        interruption)
                : TYPED(update_layer)(config, plan, team, sizes, rows, layer, lr, layer_input,
                                      weights, biases, deltas, interruption))) {
            *abandoned = 1;
            return 0.0;
        }
    }
    return loss;
}

/* Rows [first, first + count) of a shuffled batch (order: its positions' samples) into
 * the same rows of the batch buffers: inputs, and targets or labels. */
static void TYPED(gather_batch)(const TYPED(fastprop_training_set)* data, ptrdiff_t n_in,
                                ptrdiff_t n_out, const long long* order, ptrdiff_t first,
                                ptrdiff_t count)
{
    TYPED(fastprop_gather_rows)(data->X, n_in, order + first, count,
                                data->batch_X + first * n_in);
    if (data->Y != NULL)
        TYPED(fastprop_gather_rows)(data->Y, n_out, order + first, count,
                                    data->batch_Y + first * n_out);
    else
        for (ptrdiff_t i = first; i < first + count; ++i)
            data->batch_labels[i] = data->labels[order[i]];
}

/* A data-parallel step (_steps.h: fastprop_split): what its two phases' tasks share. */
typedef struct {
    const fastprop_config* config;
    const fastprop_decision* plan;
    const TYPED(fastprop_network)* network;
    const TYPED(fastprop_training_set)* data;
    const long long* order;     /* a shuffled batch's samples (gathered by the parts), or NULL */
    ptrdiff_t rows, parts;
    const REAL* X;
    const REAL* Y;
    const long long* labels;
    REAL gradient_scale;        /* the partial gradients' factor (1 for plain descent) */
    REAL step_size;             /* plain descent's */
    const TYPED(fastprop_optimizer_state)* optimizer;     /* NULL: plain descent */
    const TYPED(fastprop_split)* split;
    double part_losses[FASTPROP_MAX_THREADS];
} TYPED(split_step);

/* The first row of part (of parts) of rows */
static inline ptrdiff_t TYPED(part_start)(ptrdiff_t rows, ptrdiff_t parts, ptrdiff_t part)
{
    return part * rows / parts;
}

/* Where layer's weights and biases start in a part's partial gradients: every layer's
 * weights, then every layer's biases. */
static inline void TYPED(split_offsets)(const ptrdiff_t* sizes, ptrdiff_t n_layers,
                                        ptrdiff_t layer, ptrdiff_t* weights_offset,
                                        ptrdiff_t* biases_offset)
{
    ptrdiff_t weights = 0, biases = 0;
    for (ptrdiff_t l = 0; l < n_layers; ++l) {
        if (l < layer) {
            weights += sizes[l] * sizes[l + 1];
            biases += sizes[l + 1];
        }
        biases += sizes[l] * sizes[l + 1];
    }
    *weights_offset = weights;
    *biases_offset = biases;
}

/* Phase 1, task part: the part's rows through the forward pass, the loss's delta, the
 * hidden deltas (with the weights as they were at the start of the step) and the part's
 * partial gradients: weights scale * delta.T @ input, biases scale * delta.sum(0). */
static void TYPED(split_part)(void* arguments, ptrdiff_t part)
{
    TYPED(split_step)* step = (TYPED(split_step)*) arguments;
    const fastprop_config* config = step->config;
    const TYPED(fastprop_network)* network = step->network;
    const ptrdiff_t n_layers = network->n_layers, last = n_layers - 1;
    const ptrdiff_t* sizes = network->sizes;
    const fastprop_activation* functions = network->functions;
    const ptrdiff_t first = TYPED(part_start)(step->rows, step->parts, part);
    const ptrdiff_t rows = TYPED(part_start)(step->rows, step->parts, part + 1) - first;
    const int output_z = step->data->loss != FASTPROP_LOSS_SQUARED;
    if (step->order != NULL)
        TYPED(gather_batch)(step->data, sizes[0], sizes[n_layers], step->order, first, rows);
    const REAL* layer_input = step->X + first * sizes[0];
    for (ptrdiff_t layer = 0; layer < n_layers; ++layer) {
        const ptrdiff_t n_out = sizes[layer + 1];
        TYPED(fastprop_dense_forward)(config,
                                      TYPED(decision_for)(step->plan, layer,
                                                          FASTPROP_PRODUCT_FORWARD),
                                      NULL, rows, sizes[layer], n_out, layer_input,
                                      network->weights[layer], network->biases[layer],
                                      network->activations[layer] + first * n_out,
                                      fastprop_forward_function(functions, n_layers, layer,
                                                              output_z));
        layer_input = network->activations[layer] + first * n_out;
    }
    const ptrdiff_t n_outputs = sizes[n_layers];
    step->part_losses[part] = TYPED(fastprop_output_delta)(
        config->cpu, step->data->loss, functions[last], rows, n_outputs,
        network->activations[last] + first * n_outputs,
        step->Y != NULL ? step->Y + first * n_outputs : NULL,
        step->labels != NULL ? step->labels + first : NULL,
        network->deltas[last] + first * n_outputs);
    REAL* gradients = step->split->partials + part * step->split->part_size;
    for (ptrdiff_t layer = last; layer >= 0; --layer) {
        const ptrdiff_t n_in = sizes[layer], n_out = sizes[layer + 1];
        ptrdiff_t weights_offset, biases_offset;
        TYPED(split_offsets)(sizes, n_layers, layer, &weights_offset, &biases_offset);
        const REAL* delta = network->deltas[layer] + first * n_out;
        if (layer > 0)
            TYPED(fastprop_product_a_b)(config, TYPED(decision_for)(step->plan, layer,
                                                                    FASTPROP_PRODUCT_HIDDEN_DELTA),
                                        NULL, rows, n_in, n_out, delta, network->weights[layer],
                                        network->deltas[layer - 1] + first * n_in,
                                        network->activations[layer - 1] + first * n_in,
                                        functions[layer - 1]);
        const REAL* input = layer == 0 ? step->X + first * n_in
                                       : network->activations[layer - 1] + first * n_in;
        TYPED(fastprop_product_at_b)(config, TYPED(decision_for)(step->plan, layer,
                                                                 FASTPROP_PRODUCT_GRADIENT_STEP),
                                     NULL, n_out, n_in, rows, step->gradient_scale, delta, n_out,
                                     input, 0, gradients + weights_offset,
                                     gradients + biases_offset);
    }
}

/* The parts' sums, in order, of elements [offset, offset + count) of the partials, into
 * those of the block's own part (the part its thread computed: its lines are in that
 * core's cache); returns them. */
static REAL* TYPED(split_sum)(const TYPED(fastprop_split)* split, ptrdiff_t parts,
                              ptrdiff_t block, ptrdiff_t offset, ptrdiff_t count)
{
    REAL* sum = split->partials + block * split->part_size + offset;
    for (ptrdiff_t i = 0; i < count; ++i) {
        REAL total = split->partials[offset + i];
        for (ptrdiff_t part = 1; part < parts; ++part)
            total += split->partials[part * split->part_size + offset + i];
        sum[i] = total;
    }
    return sum;
}

/* Phase 2, task block * n_layers + layer: the layer's rows of weights (and their biases)
 * in block (of parts), their gradients summed over the parts and applied. */
static void TYPED(split_apply)(void* arguments, ptrdiff_t task)
{
    const TYPED(split_step)* step = (const TYPED(split_step)*) arguments;
    const TYPED(fastprop_network)* network = step->network;
    const ptrdiff_t n_layers = network->n_layers;
    const ptrdiff_t block = task / n_layers, layer = task % n_layers;
    const ptrdiff_t* sizes = network->sizes;
    const ptrdiff_t n_in = sizes[layer], n_out = sizes[layer + 1];
    const ptrdiff_t row = TYPED(part_start)(n_out, step->parts, block);
    const ptrdiff_t count = TYPED(part_start)(n_out, step->parts, block + 1) - row;
    if (count == 0)
        return;
    ptrdiff_t weights_offset, biases_offset;
    TYPED(split_offsets)(sizes, n_layers, layer, &weights_offset, &biases_offset);
    weights_offset += row * n_in;
    biases_offset += row;
    const REAL* weight_gradient = TYPED(split_sum)(step->split, step->parts, block,
                                                   weights_offset, count * n_in);
    const REAL* bias_gradient = TYPED(split_sum)(step->split, step->parts, block, biases_offset,
                                                 count);
    REAL* weights = network->weights[layer] + row * n_in;
    REAL* biases = network->biases[layer] + row;
    const TYPED(fastprop_optimizer_state)* optimizer = step->optimizer;
    if (optimizer == NULL) {
        TYPED(fastprop_sgd_update)(count * n_in, step->step_size, weight_gradient, weights);
        TYPED(fastprop_sgd_update)(count, step->step_size, bias_gradient, biases);
        return;
    }
    const ptrdiff_t offset = row * n_in;
    TYPED(fastprop_optimizer_update)(step->config, NULL, &optimizer->settings, 1, count * n_in,
                                     weights, weight_gradient,
                                     optimizer->first_weights != NULL
                                     ? optimizer->first_weights[layer] + offset : NULL,
                                     optimizer->second_weights != NULL
                                     ? optimizer->second_weights[layer] + offset : NULL);
    TYPED(fastprop_optimizer_update)(step->config, NULL, &optimizer->settings, 0, count, biases,
                                     bias_gradient,
                                     optimizer->first_biases != NULL
                                     ? optimizer->first_biases[layer] + row : NULL,
                                     optimizer->second_biases != NULL
                                     ? optimizer->second_biases[layer] + row : NULL);
}

/* One data-parallel step on a batch (fastprop_split): X, Y and labels its rows (the batch
 * buffers, which the parts fill from order, where order is not NULL); returns the batch's
 * summed loss, the parts' losses added in order. */
static double TYPED(split_batch)(const fastprop_config* config, const fastprop_decision* plan,
                                 fastprop_team* team, const TYPED(fastprop_network)* network,
                                 const TYPED(fastprop_training_set)* data,
                                 const long long* order, ptrdiff_t rows, const REAL* X,
                                 const REAL* Y, const long long* labels, REAL step_size,
                                 const TYPED(fastprop_optimizer_state)* optimizer,
                                 REAL gradient_scale, const TYPED(fastprop_split)* split)
{
    TYPED(split_step) step;
    step.config = config;
    step.plan = plan;
    step.network = network;
    step.data = data;
    step.order = order;
    step.rows = rows;
    step.parts = split->parts < rows ? split->parts : rows;
    step.X = X;
    step.Y = Y;
    step.labels = labels;
    step.gradient_scale = optimizer != NULL ? gradient_scale : (REAL) 1;
    step.step_size = step_size;
    step.optimizer = optimizer;
    step.split = split;
    fastprop_team_run(team, TYPED(split_part), &step, step.parts);
    fastprop_team_run(team, TYPED(split_apply), &step, step.parts * network->n_layers);
    double loss = step.part_losses[0];
    for (ptrdiff_t part = 1; part < step.parts; ++part)
        loss += step.part_losses[part];
    return loss;
}

ptrdiff_t TYPED(fastprop_train_epochs)(const fastprop_config* config,
                                       const fastprop_decision* plan, fastprop_team* team,
                                       const TYPED(fastprop_network)* network,
                                       const TYPED(fastprop_training_set)* data,
                                       TYPED(fastprop_optimizer_state)* optimizer,
                                       const TYPED(fastprop_split)* split,
                                       const long long* orders, ptrdiff_t n_epochs,
                                       ptrdiff_t start, ptrdiff_t stop, REAL lr,
                                       double* epoch_losses, int small_steps_allowed,
                                       fastprop_interruption* interruption)
{
    /* The fused small step knows plain gradient descent only. */
    small_steps_allowed = small_steps_allowed && optimizer == NULL;
    const ptrdiff_t n_layers = network->n_layers;
    const ptrdiff_t n_in = network->sizes[0], n_out = network->sizes[n_layers];
    /* A step has batch_size rows, or fewer once at the end of each epoch. */
    const ptrdiff_t full_rows = stop - start < data->batch_size ? stop - start : data->batch_size;
    const ptrdiff_t short_rows = full_rows > 0 ? (stop - start) % full_rows : 0;
    const int small_full = small_steps_allowed
                           && TYPED(small_step_applies)(config, plan, team, n_layers,
                                                        network->sizes, full_rows);
    const int small_short = small_steps_allowed
                            && (short_rows == 0
                                || TYPED(small_step_applies)(config, plan, team, n_layers,
                                                             network->sizes, short_rows));
    ptrdiff_t small_steps = 0;
    for (ptrdiff_t epoch = 0; epoch < n_epochs; ++epoch) {
        for (ptrdiff_t position = start; position < stop;) {
            const ptrdiff_t rows = stop - position < data->batch_size ? stop - position
                                                                      : data->batch_size;
            if (interruption != NULL && interruption->watching) {
                if (fastprop_interrupt_requested()) {
                    interruption->interrupted = 1;
                    interruption->epoch = epoch;
                    interruption->position = position;
                    return small_steps;
                }
                fastprop_copy_step_state(interruption, 1);
            }
            const REAL* inputs = data->X + position * n_in;
            const REAL* targets = data->Y == NULL ? NULL : data->Y + position * n_out;
            const long long* labels = data->labels == NULL ? NULL : data->labels + position;
            const long long* order = orders == NULL ? NULL
                                                    : orders + epoch * data->n_samples + position;
            const int split_step = split != NULL && interruption == NULL;
            if (order != NULL) {
                /* A split step's parts gather their own rows, into their threads' caches. */
                if (!split_step)
                    TYPED(gather_batch)(data, n_in, n_out, order, 0, rows);
                inputs = data->batch_X;
                if (targets != NULL)
                    targets = data->batch_Y;
                else
                    labels = data->batch_labels;
            }
            /* "mse" divides the loss, hence every gradient, by the batch's size. */
            const REAL step_size = data->mean_loss ? lr / rows : lr;
            const REAL gradient_scale = data->mean_loss ? (REAL) 1 / (REAL) rows : (REAL) 1;
            if (optimizer != NULL)
                fastprop_optimizer_begin_step(&optimizer->settings, ++*optimizer->steps, lr,
                                              rows);
            if (split_step) {
                epoch_losses[epoch] += TYPED(split_batch)(config, plan, team, network, data,
                                                          order, rows, inputs, targets, labels,
                                                          step_size, optimizer, gradient_scale,
                                                          split);
            } else if (rows == full_rows ? small_full : small_short) {
                ++small_steps;
                epoch_losses[epoch] += TYPED(small_step)(config->cpu, network, data->loss, rows,
                                                         inputs, targets, labels, step_size);
            } else {
                int abandoned;
                const double loss = TYPED(train_batch)(config, plan, team, network, data->loss,
                                                       rows, inputs, targets, labels, step_size,
                                                       optimizer, gradient_scale, interruption,
                                                       &abandoned);
                if (abandoned) {
                    fastprop_copy_step_state(interruption, 0);
                    interruption->interrupted = 1;
                    interruption->epoch = epoch;
                    interruption->position = position;
                    return small_steps;
                }
                epoch_losses[epoch] += loss;
            }
            position += rows;
        }
    }
    return small_steps;
}

/* One product of a training step on batch rows of X, as decided: the product
 * of kind (FASTPROP_PRODUCT_*) of layer, on the network's own arrays. */
static void TYPED(run_product)(const fastprop_config* config, const fastprop_decision* decision,
                               fastprop_team* team, const TYPED(fastprop_network)* network,
                               const REAL* X, ptrdiff_t rows, ptrdiff_t layer, int kind, REAL lr)
{
    const ptrdiff_t* sizes = network->sizes;
    const REAL* layer_input = layer == 0 ? X : network->activations[layer - 1];
    if (kind == FASTPROP_PRODUCT_FORWARD)
        TYPED(fastprop_dense_forward)(config, decision, team, rows, sizes[layer],
                                      sizes[layer + 1], layer_input, network->weights[layer],
                                      network->biases[layer], network->activations[layer],
                                      fastprop_forward_function(network->functions,
                                                              network->n_layers, layer, 0));
    else if (kind == FASTPROP_PRODUCT_HIDDEN_DELTA)
        TYPED(fastprop_product_a_b)(config, decision, team, rows, sizes[layer], sizes[layer + 1],
                                    network->deltas[layer], network->weights[layer],
                                    network->deltas[layer - 1], network->activations[layer - 1],
                                    network->functions[layer - 1]);
    else
        TYPED(fastprop_product_at_b)(config, decision, team, sizes[layer + 1], sizes[layer], rows,
                                     -lr, network->deltas[layer], sizes[layer + 1], layer_input, 1,
                                     network->weights[layer], network->biases[layer]);
}

double TYPED(fastprop_time_product)(const fastprop_config* config,
                                    fastprop_decision decision, fastprop_team* team,
                                    const TYPED(fastprop_network)* network, const REAL* X,
                                    ptrdiff_t rows, ptrdiff_t layer, int kind, REAL lr,
                                    double budget_seconds)
{
    /* The first call warms caches and the team, and says how long a call takes. */
    double start = fastprop_seconds();
    TYPED(run_product)(config, &decision, team, network, X, rows, layer, kind, lr);
    const double first = fastprop_seconds() - start;
    if (budget_seconds <= 0)
        return first;
    ptrdiff_t calls = (ptrdiff_t) (budget_seconds / FASTPROP_TIMING_ROUNDS / (first + 1e-9));
    calls = calls < 1 ? 1 : calls > 100000 ? 100000 : calls;
    double best = first;
    for (int round = 0; round < FASTPROP_TIMING_ROUNDS; ++round) {
        start = fastprop_seconds();
        for (ptrdiff_t call = 0; call < calls; ++call)
            TYPED(run_product)(config, &decision, team, network, X, rows, layer, kind, lr);
        const double per_call = (fastprop_seconds() - start) / (double) calls;
        best = per_call < best ? per_call : best;
    }
    return best;
}
