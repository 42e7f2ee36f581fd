/* Row-major products on the BLAS GEMM of scipy.linalg.cython_blas.
 *
 * Nothing is linked at build time: _kernels.pyx cimports SciPy's sgemm and
 * dgemm (the BLAS SciPy ships) and installs their addresses here once, at
 * import, before any kernel can run. BLAS is column-major: it sees a row-major
 * (r, c) matrix as its (c, r) transpose, which is how the functions below map
 * row-major products onto ?gemm. Sizes must fit in an int (the boundary checks).
 */
#ifndef FASTPROP_BLAS_H
#define FASTPROP_BLAS_H

#include <stddef.h>

typedef void (*fastprop_sgemm_function)(char* transa, char* transb, int* m, int* n, int* k,
                                        float* alpha, float* a, int* lda, float* b, int* ldb,
                                        float* beta, float* c, int* ldc);
typedef void (*fastprop_dgemm_function)(char* transa, char* transb, int* m, int* n, int* k,
                                        double* alpha, double* a, int* lda, double* b, int* ldb,
                                        double* beta, double* c, int* ldc);

void fastprop_blas_install(fastprop_sgemm_function sgemm, fastprop_dgemm_function dgemm);

/* C (m, n) := A (m, k) @ W (n, k).T */
void fastprop_blas_a_bt_float(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A,
                              const float* W, float* C);
void fastprop_blas_a_bt_double(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A,
                               const double* W, double* C);

/* C (m, n) := A (m, k) @ B (k, n) */
void fastprop_blas_a_b_float(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A,
                             const float* B, float* C);
void fastprop_blas_a_b_double(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A,
                              const double* B, double* C);

/* C (m, n) := alpha * A (k, m).T @ B (k, n) + beta * C, A's rows lda >= m apart */
void fastprop_blas_at_b_float(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float* A,
                              ptrdiff_t lda, const float* B, float beta, float* C);
void fastprop_blas_at_b_double(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, double alpha,
                               const double* A, ptrdiff_t lda, const double* B, double beta,
                               double* C);

#endif  /* FASTPROP_BLAS_H */
