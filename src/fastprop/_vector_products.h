/* INTERIM declarations (replaced by the vector-kernel work) */
#ifndef FASTPROP_VECTOR_PRODUCTS_H
#define FASTPROP_VECTOR_PRODUCTS_H
#include <stddef.h>
#include "_team.h"
int fastprop_products_float(fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                            const float* A, ptrdiff_t row_stride, ptrdiff_t inner_stride,
                            const float* B, float alpha, float beta, float* C,
                            const float* sigmoid_outputs, float* column_sums);
int fastprop_products_double(fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                             const double* A, ptrdiff_t row_stride, ptrdiff_t inner_stride,
                             const double* B, double alpha, double beta, double* C,
                             const double* sigmoid_outputs, double* column_sums);
void fastprop_dense_sigmoid_float(fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                                  const float* A, const float* W, const float* bias, float* C);
void fastprop_dense_sigmoid_double(fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                                   const double* A, const double* W, const double* bias, double* C);
#endif
