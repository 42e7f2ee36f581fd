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
 *
 * Under the measured plan (_config.h), fit passes each product a
 * fastprop_decision that fastprop/_planning.py chose by timing the candidates
 * on this machine; it replaces the thresholds for that product. Under the
 * portable plan every product runs in the plain loops.
 */
#ifndef FASTPROP_ROUTING_H
#define FASTPROP_ROUTING_H

#include <stddef.h>

#include "_config.h"
#include "_team.h"

typedef enum { FASTPROP_ROUTE_LOOPS, FASTPROP_ROUTE_VECTOR, FASTPROP_ROUTE_BLAS } fastprop_route;

/* A measured plan's choice for one product: its route, and whether it is shared
 * out over the team (when there is one). _kernels.pyx accepts a decision only
 * where it is safe: the vector route only on the avx2 and avx512 paths, for a
 * product that fills vectors. */
typedef struct {
    unsigned char route;    /* a fastprop_route */
    unsigned char shared;   /* 0 or 1 */
} fastprop_decision;

/* The products of a training step, in the order of a plan's decisions: for each
 * layer, its forward product, its hidden delta (unused for layer 0: there is
 * none) and its gradient step. */
enum {
    FASTPROP_PRODUCT_FORWARD = 0,
    FASTPROP_PRODUCT_HIDDEN_DELTA = 1,
    FASTPROP_PRODUCT_GRADIENT_STEP = 2,
    FASTPROP_PRODUCT_KINDS = 3
};

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

/* Where a product runs and over which team (*shared: team or NULL): as decision
 * says where there is one, otherwise by the configuration. The rows that decide
 * whether it may be shared out are batch_rows (the step's samples). */
fastprop_route fastprop_route_product(const fastprop_config* config,
                                      const fastprop_decision* decision, fastprop_team* team,
                                      ptrdiff_t batch_rows, ptrdiff_t multiply_adds,
                                      int fills_vectors, int is_float, fastprop_team** shared);

/* Whether a training step on batch_rows samples through layers of these sizes
 * (n_layers + 1 widths) has work to share out over a team: a product shared
 * out in the vector kernels, or the elementwise pass after a BLAS product.
 * With a plan (FASTPROP_PRODUCT_KINDS decisions per layer; NULL: none), whether
 * a decision shares a product out. */
int fastprop_network_uses_team(const fastprop_config* config, ptrdiff_t n_layers,
                               const ptrdiff_t* sizes, ptrdiff_t batch_rows, int is_float,
                               const fastprop_decision* plan);

#endif  /* FASTPROP_ROUTING_H */
