/* One CPU path's optimizer updates for one dtype: included by _optimizers.c with REAL
 * (float or double), TYPED(name) (name_path_dtype) and PATH_TARGET (the path's function
 * attribute) defined. */

PATH_TARGET static void TYPED(sgd)(const fastprop_optimizer* optimizer, REAL l2, ptrdiff_t size,
                                   REAL* param, const REAL* grad, REAL* buffer)
{
    const REAL weight_decay = (REAL) optimizer->weight_decay;
    const REAL momentum = (REAL) optimizer->momentum;
    const REAL step = (REAL) -optimizer->lr;
    const int decays = optimizer->weight_decay != 0, first_step = optimizer->step == 1;
    const int penalised = l2 != 0;
    if (buffer == NULL) {
        for (ptrdiff_t i = 0; i < size; ++i) {
            const REAL penalised_g = penalised ? grad[i] + l2 * param[i] : grad[i];
            const REAL g = decays ? penalised_g + weight_decay * param[i] : penalised_g;
            param[i] = param[i] + step * g;
        }
    } else if (optimizer->nesterov) {
        for (ptrdiff_t i = 0; i < size; ++i) {
            const REAL penalised_g = penalised ? grad[i] + l2 * param[i] : grad[i];
            const REAL g = decays ? penalised_g + weight_decay * param[i] : penalised_g;
            const REAL b = first_step ? g : momentum * buffer[i] + g;
            buffer[i] = b;
            param[i] = param[i] + step * (g + momentum * b);
        }
    } else {
        for (ptrdiff_t i = 0; i < size; ++i) {
            const REAL penalised_g = penalised ? grad[i] + l2 * param[i] : grad[i];
            const REAL g = decays ? penalised_g + weight_decay * param[i] : penalised_g;
            const REAL b = first_step ? g : momentum * buffer[i] + g;
            buffer[i] = b;
            param[i] = param[i] + step * b;
        }
    }
}

PATH_TARGET static void TYPED(adam)(const fastprop_optimizer* optimizer, REAL l2, ptrdiff_t size,
                                    REAL* param, const REAL* grad, REAL* m, REAL* v)
{
    const REAL decay_factor = (REAL) optimizer->decay_factor;
    const REAL weight = (REAL) (1.0 - optimizer->beta1);
    const REAL beta2 = (REAL) optimizer->beta2, one_minus_beta2 = (REAL) (1.0 - optimizer->beta2);
    const REAL step_size = (REAL) optimizer->step_size;
    const REAL inverse_correction = (REAL) (1.0 / optimizer->bias_correction2_sqrt);
    const REAL eps = (REAL) optimizer->eps;
    const int decays = optimizer->weight_decay != 0, penalised = l2 != 0;
    /* torch's lerp towards g with weight w = 1 - beta1: m + w * (g - m) for |w| < 0.5,
     * else g - (g - m) * (1 - w) */
    const int small_weight = (weight < 0 ? -weight : weight) < (REAL) 0.5;
    const REAL one_minus_weight = (REAL) 1 - weight;
    for (ptrdiff_t i = 0; i < size; ++i) {
        const REAL p = decays ? param[i] * decay_factor : param[i];
        const REAL g = penalised ? grad[i] + l2 * param[i] : grad[i];
        const REAL new_m = small_weight ? m[i] + weight * (g - m[i])
                                        : g - (g - m[i]) * one_minus_weight;
        const REAL new_v = v[i] * beta2 + (one_minus_beta2 * g) * g;
        m[i] = new_m;
        v[i] = new_v;
        param[i] = p + (step_size * new_m) / (SQRT(new_v) * inverse_correction + eps);
    }
}

PATH_TARGET static void TYPED(update)(const fastprop_optimizer* optimizer, int weights,
                                      ptrdiff_t size, REAL* param, const REAL* grad, REAL* first,
                                      REAL* second)
{
    const REAL l2 = weights ? (REAL) optimizer->weight_l2 : (REAL) 0;
    if (optimizer->kind == FASTPROP_OPTIMIZER_SGD)
        TYPED(sgd)(optimizer, l2, size, param, grad, first);
    else
        TYPED(adam)(optimizer, l2, size, param, grad, first, second);
}
