/* Private to the vector products (_vector_products.c, the per-path files
 * _vector_products_avx2.c and _vector_products_avx512.c, and their shared
 * _vector_products_template.c), and only where FASTPROP_VECTOR_PRODUCTS is 1:
 * each path's entry points, which _vector_products.c dispatches to, and the
 * blocking constants and micro-kernel cases every path shares.
 *
 * The constants set only how the work is blocked and copied, never the order
 * of any output's operations, so they may differ between paths without a bit
 * of the results changing; the narrow width is the exception (it picks the
 * dot-product kernel, whose partial sums differ from the broadcast kernels'),
 * so it is one AVX2 vector on every path.
 */
#ifndef FASTPROP_VECTOR_PRODUCTS_KERNELS_H
#define FASTPROP_VECTOR_PRODUCTS_KERNELS_H

#include <stddef.h>

#include "_activations.h"
#include "_team.h"

/* Each path's entry points, with the arguments of _vector_products.h's (the same contract). */
#define FASTPROP_DECLARE_PATH(path)                                                             \
    int fastprop_products_##path##_float(                                                       \
        struct fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A,      \
        ptrdiff_t row_stride, ptrdiff_t inner_stride, const float* B, float alpha, float beta,  \
        float* C, const float* outputs, fastprop_activation function, float* column_sums);      \
    int fastprop_products_##path##_double(                                                      \
        struct fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A,     \
        ptrdiff_t row_stride, ptrdiff_t inner_stride, const double* B, double alpha,            \
        double beta, double* C, const double* outputs, fastprop_activation function,            \
        double* column_sums);                                                                   \
    void fastprop_dense_activate_##path##_float(                                                \
        struct fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A,      \
        const float* W, const float* bias, float* C, fastprop_activation function);             \
    void fastprop_dense_activate_##path##_double(                                               \
        struct fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A,     \
        const double* W, const double* bias, double* C, fastprop_activation function);
FASTPROP_DECLARE_PATH(avx2)
FASTPROP_DECLARE_PATH(avx512)
#undef FASTPROP_DECLARE_PATH

/* NAME(x) in the template is x_PATH_TYPE: one name per path and dtype. */
#define FASTPROP_NAME_(name, path, type) name##_##path##_##type
#define FASTPROP_NAME(name, path, type) FASTPROP_NAME_(name, path, type)

/* The micro-kernel's cases (see the template): how its sums start, how they end
 * and which loads and stores are masked. */
enum { FASTPROP_START_ZERO, FASTPROP_START_BIAS, FASTPROP_START_C };
enum { FASTPROP_FINISH_SCALED, FASTPROP_FINISH_SUM, FASTPROP_FINISH_RELU,
       FASTPROP_FINISH_SIGMOID_DERIVATIVE, FASTPROP_FINISH_TANH_DERIVATIVE,
       FASTPROP_FINISH_RELU_DERIVATIVE };
#define FASTPROP_FINISH_IS_DERIVATIVE(finish) ((finish) >= FASTPROP_FINISH_SIGMOID_DERIVATIVE)
enum { FASTPROP_MASK_NONE, FASTPROP_MASK_C, FASTPROP_MASK_B_AND_C };

/* Column panels of C are 2 vectors wide (AVX2: 16 floats or 8 doubles; AVX-512: 32 or 16). */
#define FASTPROP_PANELS(n, lanes) (((n) + 2 * (lanes) - 1) / (2 * (lanes)))

/* Deepest B panel packed on the stack at a time by the backward products: 64 KiB
 * (AVX2: 1024 deep; AVX-512: 512); deeper sums go in chunks, or read B in place when
 * they add to C. Used where TYPE and LANES are. */
#define FASTPROP_PACK_BYTES 65536
#define FASTPROP_PACK_DEPTH ((ptrdiff_t) (FASTPROP_PACK_BYTES / (2 * LANES * sizeof(TYPE))))
/* Rows, and deepest sum, of the A.T @ B strips (32 KiB in float32, 64 KiB in float64, on
 * the stack). They also decide whether the strips sum the columns of A for the bias
 * gradient (otherwise the caller does, _elementwise.h): the same on every path. */
#define FASTPROP_STRIP_ROWS 16
#define FASTPROP_STRIP_DEPTH 512
/* Into how many groups each of a product's tasks (column panels, strips of rows) is split
 * so that the team has one for every thread: 1 with as many tasks as threads or without a
 * team, else enough groups, but at most max_groups (at least 1). Which thread computes an
 * output never changes its operations. */
static inline ptrdiff_t fastprop_groups(const fastprop_team* team, ptrdiff_t tasks,
                                        ptrdiff_t max_groups)
{
    const ptrdiff_t threads = team == NULL ? 1 : (ptrdiff_t) team->n_helpers + 1;
    if (tasks >= threads)
        return 1;
    const ptrdiff_t groups = (threads + tasks - 1) / tasks;
    return groups > max_groups ? (max_groups < 1 ? 1 : max_groups) : groups;
}

/* Deepest W panel transposed on the stack at a time by the forward step. */
#define FASTPROP_PANEL_DEPTH 256

/* Forward outputs narrower than this are dot products (8 floats or 4 doubles: one AVX2
 * vector, on every path, like fastprop_fills_vectors in _routing.h). */
#define FASTPROP_NARROW_WIDTH(type) ((ptrdiff_t) (32 / sizeof(type)))
/* Rows of narrow outputs per task: about 128 outputs, whose sigmoid is one array. */
#define FASTPROP_NARROW_ROWS_PER_TASK(n) ((n) < 128 ? (ptrdiff_t) 128 / (n) : (ptrdiff_t) 1)

#endif  /* FASTPROP_VECTOR_PRODUCTS_KERNELS_H */
