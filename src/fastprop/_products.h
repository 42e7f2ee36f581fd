/* The products of a training step, each sent where the configuration routes it
 * (_routing.h): plain loops, the vector kernels or BLAS, shared out over team
 * where it is given and the product is large enough (team NULL: this thread);
 * or, where a measured plan's decision is given (not NULL), as it says.
 * No checks, no allocation; every matrix row-major and C-contiguous; sizes >= 1. */
#ifndef FASTPROP_PRODUCTS_H
#define FASTPROP_PRODUCTS_H

#include <stddef.h>

#include "_activations.h"
#include "_config.h"
#include "_routing.h"
#include "_team.h"

/* A_out (rows, n_out) := f(A_in (rows, n_in) @ W (n_out, n_in).T + b), f the function
 * (not the softmax: the identity there, and the caller takes the rows' softmax) */
void fastprop_dense_forward_float(const fastprop_config* config,
                                  const fastprop_decision* decision, fastprop_team* team,
                                  ptrdiff_t rows, ptrdiff_t n_in, ptrdiff_t n_out,
                                  const float* A_in, const float* W, const float* b, float* A_out,
                                  fastprop_activation function);
void fastprop_dense_forward_double(const fastprop_config* config,
                                   const fastprop_decision* decision, fastprop_team* team,
                                   ptrdiff_t rows, ptrdiff_t n_in, ptrdiff_t n_out,
                                   const double* A_in, const double* W, const double* b,
                                   double* A_out, fastprop_activation function);

/* C (m, n) := A (m, k) @ B (k, n); then, unless outputs (S = f(z), m x n) is NULL,
 * C := C * f'(z) from S (_activations.h) */
void fastprop_product_a_b_float(const fastprop_config* config, const fastprop_decision* decision,
                                fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                                const float* A, const float* B, float* C, const float* outputs,
                                fastprop_activation function);
void fastprop_product_a_b_double(const fastprop_config* config, const fastprop_decision* decision,
                                 fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                                 const double* A, const double* B, double* C,
                                 const double* outputs, fastprop_activation function);

/* C (m, n) := alpha * A (k, m).T @ B (k, n) + beta * C, beta 0 or 1, A's rows lda >= m
 * apart (A may be the first m columns of a wider matrix); and, unless column_sums is NULL
 * (which it must be where lda > m), column_sums (m) := alpha * A.sum(0) + beta * column_sums */
void fastprop_product_at_b_float(const fastprop_config* config, const fastprop_decision* decision,
                                 fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                                 float alpha, const float* A, ptrdiff_t lda, const float* B,
                                 float beta, float* C, float* column_sums);
void fastprop_product_at_b_double(const fastprop_config* config,
                                  const fastprop_decision* decision, fastprop_team* team,
                                  ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, double alpha,
                                  const double* A, ptrdiff_t lda, const double* B, double beta,
                                  double* C, double* column_sums);

#endif  /* FASTPROP_PRODUCTS_H */
