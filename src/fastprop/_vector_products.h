/* The vector product kernels, dispatched by CPU path: the AVX2/FMA kernels of
 * _vector_products_avx2.c on the avx2 path, the AVX-512 kernels of
 * _vector_products_avx512.c on the avx512 path (their opening comments say why
 * they exist, what they compute and to which rounding; both paths give the same
 * bits). Every matrix is row-major and C-contiguous except where strides are
 * given; sizes are >= 1; team NULL runs everything on the calling thread. Call
 * them only on the avx2 and avx512 CPU paths (_config.h), which exist only where
 * FASTPROP_VECTOR_PRODUCTS is 1 and the CPU has the path's instructions.
 */
#ifndef FASTPROP_VECTOR_PRODUCTS_H
#define FASTPROP_VECTOR_PRODUCTS_H

#include <stddef.h>

#include "_activations.h"
#include "_config.h"

/* 1 when the vector kernels are compiled (a GCC-compatible compiler for x86-64,
 * and the build did not define FASTPROP_WITHOUT_VECTOR_KERNELS); 0 when the
 * functions below are stubs that do nothing. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(FASTPROP_WITHOUT_VECTOR_KERNELS)
#define FASTPROP_VECTOR_PRODUCTS 1
#else
#define FASTPROP_VECTOR_PRODUCTS 0
#endif

struct fastprop_team;  /* _team.h */

/* C (m, n) := alpha * A @ B + beta * C, beta 0 or 1, A(i, p) = A[i * row_stride + p * inner_stride],
 * B (k, n); then C := C * f'(z) from S = f(z) unless outputs (S, m x n) is NULL; and for A.T @ B
 * (row_stride 1) maybe column_sums (m) := alpha * (row sums of A(i, p)) + beta * column_sums,
 * returning whether it did (otherwise the caller sums). */
int fastprop_products_float(fastprop_cpu_path cpu, struct fastprop_team* team, ptrdiff_t m,
                            ptrdiff_t n, ptrdiff_t k, const float* A, ptrdiff_t row_stride,
                            ptrdiff_t inner_stride, const float* B, float alpha, float beta,
                            float* C, const float* outputs, fastprop_activation function,
                            float* column_sums);
int fastprop_products_double(fastprop_cpu_path cpu, struct fastprop_team* team, ptrdiff_t m,
                             ptrdiff_t n, ptrdiff_t k, const double* A, ptrdiff_t row_stride,
                             ptrdiff_t inner_stride, const double* B, double alpha, double beta,
                             double* C, const double* outputs, fastprop_activation function,
                             double* column_sums);

/* C (m, n) := f(A (m, k) @ W (n, k).T + bias (n)), the forward step; f not the softmax. */
void fastprop_dense_activate_float(fastprop_cpu_path cpu, struct fastprop_team* team,
                                   ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A,
                                   const float* W, const float* bias, float* C,
                                   fastprop_activation function);
void fastprop_dense_activate_double(fastprop_cpu_path cpu, struct fastprop_team* team,
                                    ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A,
                                    const double* W, const double* bias, double* C,
                                    fastprop_activation function);

#endif  /* FASTPROP_VECTOR_PRODUCTS_H */
