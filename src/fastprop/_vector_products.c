/* The vector products' run-time dispatch (see _vector_products.h): compiled
 * for the build's baseline, it picks the kernels of the CPU path it is given,
 * AVX-512 on the avx512 path and AVX2/FMA on the avx2 path. The configuration
 * holds only paths the CPU has (_config.c, checked again in _kernels.pyx), so
 * no kernel runs on a CPU without its instructions. Where the vector kernels
 * are not compiled (FASTPROP_VECTOR_PRODUCTS 0) the entry points are stubs that
 * do nothing: only the baseline path exists then, and it never calls them.
 */
#include "_vector_products.h"

#if FASTPROP_VECTOR_PRODUCTS

#include "_vector_products_kernels.h"

#define FASTPROP_DISPATCH(type)                                                                 \
    int fastprop_products_##type(fastprop_cpu_path cpu, struct fastprop_team* team, ptrdiff_t m, \
                                 ptrdiff_t n, ptrdiff_t k, const type* A, ptrdiff_t row_stride, \
                                 ptrdiff_t inner_stride, const type* B, type alpha, type beta,  \
                                 type* C, const type* outputs, fastprop_activation function,  \
                                 type* column_sums)                                             \
    {                                                                                           \
        if (cpu >= FASTPROP_CPU_AVX512)                                                         \
            return fastprop_products_avx512_##type(team, m, n, k, A, row_stride, inner_stride,  \
                                                   B, alpha, beta, C, outputs, function,        \
                                                   column_sums);                                \
        return fastprop_products_avx2_##type(team, m, n, k, A, row_stride, inner_stride, B,     \
                                             alpha, beta, C, outputs, function, column_sums); \
    }                                                                                           \
    void fastprop_dense_activate_##type(fastprop_cpu_path cpu, struct fastprop_team* team,      \
                                        ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const type* A,   \
                                        const type* W, const type* bias, type* C,               \
                                        fastprop_activation function)                           \
    {                                                                                           \
        if (cpu >= FASTPROP_CPU_AVX512)                                                         \
            fastprop_dense_activate_avx512_##type(team, m, n, k, A, W, bias, C, function);      \
        else                                                                                    \
            fastprop_dense_activate_avx2_##type(team, m, n, k, A, W, bias, C, function);        \
    }
FASTPROP_DISPATCH(float)
FASTPROP_DISPATCH(double)
#undef FASTPROP_DISPATCH

#else  /* no vector kernels: stubs, never called (fastprop_cpu_best_path says "baseline") */

int fastprop_products_float(fastprop_cpu_path cpu, struct fastprop_team* team, ptrdiff_t m,
                            ptrdiff_t n, ptrdiff_t k, const float* A, ptrdiff_t row_stride,
                            ptrdiff_t inner_stride, const float* B, float alpha, float beta,
                            float* C, const float* outputs, fastprop_activation function,
                            float* column_sums)
{
    return 0;
}
int fastprop_products_double(fastprop_cpu_path cpu, struct fastprop_team* team, ptrdiff_t m,
                             ptrdiff_t n, ptrdiff_t k, const double* A, ptrdiff_t row_stride,
                             ptrdiff_t inner_stride, const double* B, double alpha, double beta,
                             double* C, const double* outputs, fastprop_activation function,
                             double* column_sums)
{
    return 0;
}
void fastprop_dense_activate_float(fastprop_cpu_path cpu, struct fastprop_team* team,
                                   ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A,
                                   const float* W, const float* bias, float* C,
                                   fastprop_activation function) {}
void fastprop_dense_activate_double(fastprop_cpu_path cpu, struct fastprop_team* team,
                                    ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A,
                                    const double* W, const double* bias, double* C,
                                    fastprop_activation function) {}

#endif
