/* The sigmoid, tanh and exp of non-positive numbers, from one source for every CPU path.
 *
 * sigmoid(z) = 1 / (1 + exp(-z)), computed as s = 1 / (1 + e), e = exp(-|z|),
 * and e * s for z < 0: exp is only ever taken of -|z| <= 0, so it cannot
 * overflow, the result is in [0, 1] for every finite z, and for z < 0 the form
 * e / (1 + e) keeps full relative precision where 1 - 1/(1 + exp(-z)) would
 * cancel. NaN gives NaN.
 *
 * exp(x) for x <= 0: Cody-Waite range reduction x = n ln2 + r, |r| <= ln2 / 2,
 * then Cephes' approximations of exp(r): a Pade form for double, a degree-7
 * polynomial for float, each within an ulp or two. Adding 1.5 * 2**52
 * (1.5 * 2**23 for float) rounds x / ln2 to the integer n and leaves n in the
 * low bits of the sum; 2**n is then applied as (p * 2**(n + 512)) * 2**-512
 * (2**(n + 64) and 2**-64 for float): the first product is exact, as the
 * factor is a normal number for every n here, so the one rounding is that of
 * p * 2**n itself, results that are subnormal come out right and those below
 * the smallest subnormal are 0. x is clamped where exp(x) is already 0.
 *
 * tanh(z): Cephes' tanh (double) and tanhf (float): for |z| < 0.625 an odd
 * rational form (double) or polynomial (float) in z, z + z**3 R(z**2); else
 * (1 - e) / (1 + e) with e = exp(-2|z|) <= 0.29, by the exp above, given z's sign.
 * exp(x) for x <= 0 as an array function too, for the softmax (x = z - max z).
 *
 * The algorithm is written once, in _sigmoid_template.c, on GCC vector types,
 * and compiled for each path at that path's vector width (baseline: 16 bytes,
 * SSE2 on x86-64; avx2: 32 bytes; avx512: 64 bytes). Every lane does the same IEEE operations in
 * the same order, and the build never fuses a multiply and an add
 * (-ffp-contract=off), so every path gives the same bits.
 *
 * No checks, no allocation; out may be z.
 */
#ifndef FASTPROP_SIGMOID_H
#define FASTPROP_SIGMOID_H

#include <stddef.h>

#include "_config.h"

/* out := sigmoid(z), elementwise, on the given path (one the CPU has). */
void fastprop_sigmoid_float(fastprop_cpu_path cpu, const float* z, float* out, ptrdiff_t size);
void fastprop_sigmoid_double(fastprop_cpu_path cpu, const double* z, double* out,
                             ptrdiff_t size);

/* Each path's own, for the kernels of that path. */
void fastprop_sigmoid_baseline_float(const float* z, float* out, ptrdiff_t size);
void fastprop_sigmoid_baseline_double(const double* z, double* out, ptrdiff_t size);
void fastprop_sigmoid_avx2_float(const float* z, float* out, ptrdiff_t size);
void fastprop_sigmoid_avx2_double(const double* z, double* out, ptrdiff_t size);
void fastprop_sigmoid_avx512_float(const float* z, float* out, ptrdiff_t size);
void fastprop_sigmoid_avx512_double(const double* z, double* out, ptrdiff_t size);

/* C[i, j] := sigmoid(C[i, j]) for i < rows, j < width (row stride ldc), in place. */
void fastprop_sigmoid_panel_avx2_float(float* C, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t width);
void fastprop_sigmoid_panel_avx2_double(double* C, ptrdiff_t ldc, ptrdiff_t rows,
                                        ptrdiff_t width);
void fastprop_sigmoid_panel_avx512_float(float* C, ptrdiff_t ldc, ptrdiff_t rows,
                                         ptrdiff_t width);
void fastprop_sigmoid_panel_avx512_double(double* C, ptrdiff_t ldc, ptrdiff_t rows,
                                          ptrdiff_t width);

/* out := tanh(z), and the same per path and panel, as for the sigmoid. */
void fastprop_tanh_float(fastprop_cpu_path cpu, const float* z, float* out, ptrdiff_t size);
void fastprop_tanh_double(fastprop_cpu_path cpu, const double* z, double* out, ptrdiff_t size);
void fastprop_tanh_baseline_float(const float* z, float* out, ptrdiff_t size);
void fastprop_tanh_baseline_double(const double* z, double* out, ptrdiff_t size);
void fastprop_tanh_avx2_float(const float* z, float* out, ptrdiff_t size);
void fastprop_tanh_avx2_double(const double* z, double* out, ptrdiff_t size);
void fastprop_tanh_avx512_float(const float* z, float* out, ptrdiff_t size);
void fastprop_tanh_avx512_double(const double* z, double* out, ptrdiff_t size);
void fastprop_tanh_panel_avx2_float(float* C, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t width);
void fastprop_tanh_panel_avx2_double(double* C, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t width);
void fastprop_tanh_panel_avx512_float(float* C, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t width);
void fastprop_tanh_panel_avx512_double(double* C, ptrdiff_t ldc, ptrdiff_t rows,
                                       ptrdiff_t width);

/* out := exp(x) for x <= 0 (x > 0 is taken as 0; NaN stays NaN), on the given path. */
void fastprop_exp_nonpositive_float(fastprop_cpu_path cpu, const float* x, float* out,
                                    ptrdiff_t size);
void fastprop_exp_nonpositive_double(fastprop_cpu_path cpu, const double* x, double* out,
                                     ptrdiff_t size);

#endif  /* FASTPROP_SIGMOID_H */
