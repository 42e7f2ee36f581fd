/* Where each product runs, decided in this one place.
 *
 * A product of m * n * k multiply-adds (the configuration's thresholds, _config.h):
 *   with vector kernels (cpu path avx2 or above):
 *     below vector_min_multiply_adds            plain loops
 *     from it, below the dtype's blas_min_*     the vector kernels, if the product fills vectors;
 *                                               a narrower one stays in the loops up to
 *                                               narrow_blas_min_multiply_adds, then BLAS
 *     from blas_min_multiply_adds_<dtype>       BLAS GEMM
 *   without (cpu path baseline):
 *     below loops_blas_min_multiply_adds        plain loops, else BLAS GEMM
 * A product that is not shared out over a team of threads (see below) goes to
 * BLAS from single_thread_blas_min_multiply_adds if that is lower: BLAS has
 * threads of its own.
 * A product "fills vectors" when the dimension its kernel spreads over the
 * vector lanes has at least one vector's worth (8 floats or 4 doubles).
 *
 * A product is shared out over fit's team of threads when it has at least
 * parallel_min_multiply_adds multiply-adds, in a step on at least
 * parallel_min_batch_rows samples (fewer rows use each weight too few times to
 * pay for moving it between cores' caches).
 */
#ifndef FASTPROP_ROUTING_H
#define FASTPROP_ROUTING_H

#include <stddef.h>

#include "_config.h"

typedef enum { FASTPROP_ROUTE_LOOPS, FASTPROP_ROUTE_VECTOR, FASTPROP_ROUTE_BLAS } fastprop_route;

/* Whether a product of a step on batch_rows samples is shared out over a team. */
static inline int fastprop_shares_out(const fastprop_config* config, ptrdiff_t batch_rows,
                                      ptrdiff_t multiply_adds)
{
    return multiply_adds >= config->parallel_min_multiply_adds
           && batch_rows >= config->parallel_min_batch_rows;
}

/* length >= one AVX2 vector: 8 floats or 4 doubles */
static inline int fastprop_fills_vectors(ptrdiff_t length, int is_float)
{
    return length >= (is_float ? 8 : 4);
}

/* Where a product of multiply_adds runs; fills_vectors: see above; shared: it
 * runs over a team (0: on one thread). */
fastprop_route fastprop_choose_route(const fastprop_config* config, ptrdiff_t multiply_adds,
                                     int fills_vectors, int is_float, int shared);

/* Whether a training step on batch_rows samples through layers of these sizes
 * (n_layers + 1 widths) has work to share out over a team: a product shared
 * out in the vector kernels, or the elementwise pass after a BLAS product. */
int fastprop_network_uses_team(const fastprop_config* config, ptrdiff_t n_layers,
                               const ptrdiff_t* sizes, ptrdiff_t batch_rows, int is_float);

#endif  /* FASTPROP_ROUTING_H */
