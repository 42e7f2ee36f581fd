/* Row-major products on BLAS GEMM (see _blas.h). */
#include "_blas.h"

static fastprop_sgemm_function sgemm_address;
static fastprop_dgemm_function dgemm_address;

void fastprop_blas_install(fastprop_sgemm_function sgemm, fastprop_dgemm_function dgemm)
{
    sgemm_address = sgemm;
    dgemm_address = dgemm;
}

/* Column-major c := alpha * op(a) @ op(b) + beta * c; BLAS takes every argument by
 * address and writes none but c. */
static void gemm_float(char transa, char transb, int m, int n, int k, float alpha,
                       const float* a, int lda, const float* b, int ldb, float beta, float* c,
                       int ldc)
{
    sgemm_address(&transa, &transb, &m, &n, &k, &alpha, (float*) a, &lda, (float*) b, &ldb,
                  &beta, c, &ldc);
}

static void gemm_double(char transa, char transb, int m, int n, int k, double alpha,
                        const double* a, int lda, const double* b, int ldb, double beta,
                        double* c, int ldc)
{
    dgemm_address(&transa, &transb, &m, &n, &k, &alpha, (double*) a, &lda, (double*) b, &ldb,
                  &beta, c, &ldc);
}

/* Column-major C.T (n, m) := W (as its transpose) @ A.T */
void fastprop_blas_a_bt_float(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A,
                              const float* W, float* C)
{
    gemm_float('T', 'N', (int) n, (int) m, (int) k, 1, W, (int) k, A, (int) k, 0, C, (int) n);
}

void fastprop_blas_a_bt_double(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A,
                               const double* W, double* C)
{
    gemm_double('T', 'N', (int) n, (int) m, (int) k, 1, W, (int) k, A, (int) k, 0, C, (int) n);
}

/* Column-major C.T (n, m) := B.T @ A.T */
void fastprop_blas_a_b_float(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A,
                             const float* B, float* C)
{
    gemm_float('N', 'N', (int) n, (int) m, (int) k, 1, B, (int) n, A, (int) k, 0, C, (int) n);
}

void fastprop_blas_a_b_double(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A,
                              const double* B, double* C)
{
    gemm_double('N', 'N', (int) n, (int) m, (int) k, 1, B, (int) n, A, (int) k, 0, C, (int) n);
}

/* Column-major C.T (n, m) := alpha * B.T @ A + beta * C.T */
void fastprop_blas_at_b_float(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float* A,
                              ptrdiff_t lda, const float* B, float beta, float* C)
{
    gemm_float('N', 'T', (int) n, (int) m, (int) k, alpha, B, (int) n, A, (int) lda, beta, C,
               (int) n);
}

void fastprop_blas_at_b_double(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, double alpha,
                               const double* A, ptrdiff_t lda, const double* B, double beta,
                               double* C)
{
    gemm_double('N', 'T', (int) n, (int) m, (int) k, alpha, B, (int) n, A, (int) lda, beta, C,
                (int) n);
}
