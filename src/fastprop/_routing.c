/* The routing decision (see _routing.h). */
#include "_routing.h"

fastprop_route fastprop_choose_route(const fastprop_config* config, ptrdiff_t multiply_adds,
                                     int fills_vectors, int is_float, int shared)
{
    if (config->plan == FASTPROP_PLAN_PORTABLE)
        return FASTPROP_ROUTE_LOOPS;
    const int vector = config->cpu >= FASTPROP_CPU_AVX2;
    ptrdiff_t blas_min = !vector ? config->loops_blas_min_multiply_adds
                         : is_float ? config->blas_min_multiply_adds_float32
                         : config->blas_min_multiply_adds_float64;
    if (!shared && config->single_thread_blas_min_multiply_adds < blas_min)
        blas_min = config->single_thread_blas_min_multiply_adds;
    if (multiply_adds >= blas_min)
        return FASTPROP_ROUTE_BLAS;
    if (vector && multiply_adds >= config->vector_min_multiply_adds) {
        if (fills_vectors)
            return FASTPROP_ROUTE_VECTOR;
        if (multiply_adds >= config->narrow_blas_min_multiply_adds)
            return FASTPROP_ROUTE_BLAS;
    }
    return FASTPROP_ROUTE_LOOPS;
}

fastprop_route fastprop_route_product(const fastprop_config* config,
                                      const fastprop_decision* decision, fastprop_team* team,
                                      ptrdiff_t batch_rows, ptrdiff_t multiply_adds,
                                      int fills_vectors, int is_float, fastprop_team** shared)
{
    if (decision != NULL) {
        *shared = decision->shared ? team : NULL;
        return (fastprop_route) decision->route;
    }
    *shared = team != NULL && fastprop_shares_out(config, batch_rows, multiply_adds) ? team : NULL;
    return fastprop_choose_route(config, multiply_adds, fills_vectors, is_float, *shared != NULL);
}

int fastprop_network_uses_team(const fastprop_config* config, ptrdiff_t n_layers,
                               const ptrdiff_t* sizes, ptrdiff_t batch_rows, int is_float,
                               const fastprop_decision* plan)
{
    if (plan != NULL) {
        for (ptrdiff_t index = 0; index < n_layers * FASTPROP_PRODUCT_KINDS; ++index)
            if (plan[index].shared)
                return 1;
        return 0;
    }
    for (ptrdiff_t layer = 0; layer < n_layers; ++layer) {
        /* Every product of a layer's step has batch_rows * n_in * n_out multiply-adds. */
        const ptrdiff_t multiply_adds = batch_rows * sizes[layer] * sizes[layer + 1];
        if (!fastprop_shares_out(config, batch_rows, multiply_adds))
            continue;
        const fastprop_route route = fastprop_choose_route(config, multiply_adds, 1, is_float, 1);
        if (route != FASTPROP_ROUTE_LOOPS)
            return 1;
    }
    return 0;
}
