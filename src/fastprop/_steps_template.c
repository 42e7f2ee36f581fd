/* The backpropagation steps and whole-network passes for one dtype: included by
 * _steps.c with REAL (float or double) and TYPED(name) defined. */

void TYPED(fastprop_hidden_delta)(const fastprop_config* config, fastprop_team* team,
                                  ptrdiff_t rows, ptrdiff_t n_next, ptrdiff_t n_this,
                                  const REAL* delta_next, const REAL* W_next, const REAL* A,
                                  REAL* delta)
{
    TYPED(fastprop_product_a_b)(config, team, rows, n_this, n_next, delta_next, W_next, delta, A);
}

void TYPED(fastprop_weight_gradient)(const fastprop_config* config, ptrdiff_t rows,
                                     ptrdiff_t n_in, ptrdiff_t n_out, const REAL* delta,
                                     const REAL* A_prev, REAL* grad_W, REAL* grad_b)
{
    TYPED(fastprop_product_at_b)(config, NULL, n_out, n_in, rows, 1, delta, A_prev, 0, grad_W,
                                 grad_b);
}

void TYPED(fastprop_gradient_step)(const fastprop_config* config, fastprop_team* team,
                                   ptrdiff_t rows, ptrdiff_t n_in, ptrdiff_t n_out, REAL lr,
                                   const REAL* delta, const REAL* A_prev, REAL* W, REAL* b)
{
    TYPED(fastprop_product_at_b)(config, team, n_out, n_in, rows, -lr, delta, A_prev, 1, W, b);
}

void TYPED(fastprop_network_forward)(const fastprop_config* config, fastprop_team* team,
                                     ptrdiff_t n_layers, const ptrdiff_t* sizes, ptrdiff_t rows,
                                     const REAL* X, REAL* const* weights, REAL* const* biases,
                                     REAL* const* activations)
{
    const REAL* layer_input = X;
    for (ptrdiff_t layer = 0; layer < n_layers; ++layer) {
        TYPED(fastprop_dense_sigmoid_forward)(config, team, rows, sizes[layer], sizes[layer + 1],
                                              layer_input, weights[layer], biases[layer],
                                              activations[layer]);
        layer_input = activations[layer];
    }
}

/* One gradient-descent step on a batch; returns the batch's 1/2 * sum of squared errors. */
static double TYPED(train_batch)(const fastprop_config* config, fastprop_team* team,
                                 ptrdiff_t n_layers, const ptrdiff_t* sizes, ptrdiff_t rows,
                                 const REAL* X, const REAL* Y, REAL lr, REAL* const* weights,
                                 REAL* const* biases, REAL* const* activations,
                                 REAL* const* deltas)
{
    const ptrdiff_t last = n_layers - 1;
    TYPED(fastprop_network_forward)(config, team, n_layers, sizes, rows, X, weights, biases,
                                    activations);
    const double loss = TYPED(fastprop_output_delta)(rows * sizes[n_layers], activations[last], Y,
                                                     deltas[last]);
    for (ptrdiff_t layer = last; layer >= 0; --layer) {
        const REAL* layer_input = layer == 0 ? X : activations[layer - 1];
        if (layer > 0)
            /* The delta of the layer below needs this layer's weights before they are updated. */
            TYPED(fastprop_hidden_delta)(config, team, rows, sizes[layer + 1], sizes[layer],
                                         deltas[layer], weights[layer], activations[layer - 1],
                                         deltas[layer - 1]);
        TYPED(fastprop_gradient_step)(config, team, rows, sizes[layer], sizes[layer + 1], lr,
                                      deltas[layer], layer_input, weights[layer], biases[layer]);
    }
    return loss;
}

void TYPED(fastprop_train_epochs)(const fastprop_config* config, fastprop_team* team,
                                  const TYPED(fastprop_network)* network,
                                  const TYPED(fastprop_training_set)* data,
                                  const long long* orders, ptrdiff_t n_epochs, ptrdiff_t start,
                                  ptrdiff_t stop, REAL lr, double* epoch_losses)
{
    const ptrdiff_t n_layers = network->n_layers;
    const ptrdiff_t n_in = network->sizes[0], n_out = network->sizes[n_layers];
    for (ptrdiff_t epoch = 0; epoch < n_epochs; ++epoch) {
        for (ptrdiff_t position = start; position < stop;) {
            const ptrdiff_t rows = stop - position < data->batch_size ? stop - position
                                                                      : data->batch_size;
            const REAL* inputs = data->X + position * n_in;
            const REAL* targets = data->Y + position * n_out;
            if (orders != NULL) {
                const long long* order = orders + epoch * data->n_samples + position;
                TYPED(fastprop_gather_rows)(data->X, n_in, order, rows, data->batch_X);
                TYPED(fastprop_gather_rows)(data->Y, n_out, order, rows, data->batch_Y);
                inputs = data->batch_X;
                targets = data->batch_Y;
            }
            /* "mse" divides the loss, hence every gradient, by the batch's size. */
            const REAL step_size = data->mean_loss ? lr / rows : lr;
            epoch_losses[epoch] += TYPED(train_batch)(config, team, n_layers, network->sizes, rows,
                                                      inputs, targets, step_size, network->weights,
                                                      network->biases, network->activations,
                                                      network->deltas);
            position += rows;
        }
    }
}
