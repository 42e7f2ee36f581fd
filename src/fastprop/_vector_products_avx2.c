/* Interim: the macro-built AVX2 products of _vector_products_legacy.h (unchanged), behind
 * the functions _products.c calls, until they are rewritten as plain C functions. */
#include "_team.h"
#define fastprop_cpu_has_avx2_fma old_cpu_has
#define fastprop_products_float old_products_float
#define fastprop_products_double old_products_double
#define fastprop_dense_sigmoid_float old_dense_float
#define fastprop_dense_sigmoid_double old_dense_double
#define fastprop_sigmoid_float old_sigmoid_float
#define fastprop_sigmoid_double old_sigmoid_double
#include "_vector_products_legacy.h"
#undef fastprop_products_float
#undef fastprop_products_double
#undef fastprop_dense_sigmoid_float
#undef fastprop_dense_sigmoid_double
#include "_vector_products.h"
int fastprop_products_float(fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A, ptrdiff_t rs, ptrdiff_t is, const float* B, float alpha, float beta, float* C, const float* s, float* cs)
{ return old_products_float(team, m, n, k, A, rs, is, B, alpha, beta, C, s, cs); }
int fastprop_products_double(fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A, ptrdiff_t rs, ptrdiff_t is, const double* B, double alpha, double beta, double* C, const double* s, double* cs)
{ return old_products_double(team, m, n, k, A, rs, is, B, alpha, beta, C, s, cs); }
void fastprop_dense_sigmoid_float(fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A, const float* W, const float* b, float* C)
{ old_dense_float(team, m, n, k, A, W, b, C); }
void fastprop_dense_sigmoid_double(fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A, const double* W, const double* b, double* C)
{ old_dense_double(team, m, n, k, A, W, b, C); }
