/* The routing decision (see _routing.h). */
#include "_routing.h"

fastprop_route fastprop_choose_route(const fastprop_config* config, ptrdiff_t multiply_adds,
                                     int fills_vectors, int is_float, int shared)
{
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

int fastprop_network_uses_team(const fastprop_config* config, ptrdiff_t n_layers,
                               const ptrdiff_t* sizes, ptrdiff_t batch_rows, int is_float)
{
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
