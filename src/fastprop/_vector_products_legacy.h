/* Register-blocked AVX2/FMA matrix products for small and medium matrices.
 *
 * Why these exist: for products of up to a few hundred thousand multiply-adds
 * (batch 32 x width 64 x width 64, say), OpenBLAS spends a large share of each
 * call packing its operands into panels and deciding on threads, and then runs
 * them on one core. These kernels read the row-major operands where they lie,
 * keep a block of the result in registers for the whole sum, and write it once.
 * _kernels.pyx sends a product here when the CPU has AVX2 and FMA and the
 * product is in the size range measured to be faster than both its plain loops
 * and BLAS (benchmarks/product_crossover.py).
 *
 * Build and dispatch: only these functions are compiled for AVX2+FMA (the
 * target attribute); the rest of the extension stays baseline x86-64, and
 * _kernels.pyx calls in here only after fastprop_cpu_has_avx2_fma() said yes at
 * import (gcc's CPU model checks that the OS saves the YMM registers too). On
 * other compilers and architectures FASTPROP_VECTOR_PRODUCTS is 0 and the
 * functions are empty stubs that are never called.
 *
 * Contract, like the rest of _kernels: no checks, no allocation, no Python;
 * every matrix is row-major and C-contiguous, except the strided left operand
 * of fastprop_products_*, whose two strides the caller gives. Sizes are >= 1.
 *
 * Numerics: each output is one sum over the inner index, in order of that
 * index for the broadcast kernels (the same order as the textbook and the plain
 * loops, but with fused multiply-adds), and in eight (float) or four (double)
 * interleaved partial sums for the dot-product kernels; the results agree with
 * the loops and BLAS to rounding.
 */
#ifndef FASTPROP_VECTOR_PRODUCTS_H
#define FASTPROP_VECTOR_PRODUCTS_H

#include <stddef.h>

#include "_team.h"

#if defined(__GNUC__) && defined(__x86_64__)

#define FASTPROP_VECTOR_PRODUCTS 1
#include <immintrin.h>

#define FASTPROP_AVX2 __attribute__((target("avx2,fma")))
#define FASTPROP_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) static inline

static int fastprop_cpu_has_avx2_fma(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* Lanes [0, count) set: masked loads read only those (the others read as 0 and
 * cannot fault), masked stores write only those. */
#define FASTPROP_AVX2_NO_FMA_INLINE __attribute__((target("avx2"), always_inline)) static inline

FASTPROP_AVX2_NO_FMA_INLINE __m256i fastprop_mask_float(ptrdiff_t count)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int) count),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

FASTPROP_AVX2_NO_FMA_INLINE __m256i fastprop_mask_double(ptrdiff_t count)
{
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long) count),
                              _mm256_setr_epi64x(0, 1, 2, 3));
}

/* ------------------------------------------------------------------------ */
/* out := sigmoid(z), 8 floats or 4 doubles at a time: the same operations,  */
/* in the same order, as _sigmoid and _exp_nonpositive_* in _kernels.pyx, so */
/* the results are bit for bit those of the scalar code. That is why these   */
/* are compiled for AVX2 without FMA: with FMA available the compiler would  */
/* fuse a multiply and an add, rounding once where the scalar code rounds    */
/* twice. (See _kernels.pyx for the algorithm and its accuracy.)             */
/* ------------------------------------------------------------------------ */

#define FASTPROP_SIGMOID_CHAINS 4

/* v[c] := sigmoid(v[c]) for c < count (a constant once inlined). Each    */
/* statement runs over all count vectors before the next: one vector's      */
/* sigmoid is a chain of about 40 dependent operations, longer than the     */
/* out-of-order window (a 256-bit operation is two micro-ops on Zen 1), and */
/* GCC keeps the source's order on x86, so the chains of several vectors    */
/* only overlap if they are interleaved here.                               */
#define FASTPROP_EACH for (int c = 0; c < count; ++c)

FASTPROP_AVX2_NO_FMA_INLINE void fastprop_sigmoid_float_vectors(__m256* v, const int count)
{
#define F(value) _mm256_set1_ps((float) (value))
    __m256 x[FASTPROP_SIGMOID_CHAINS], shifted[FASTPROP_SIGMOID_CHAINS], n[FASTPROP_SIGMOID_CHAINS];
    __m256 r[FASTPROP_SIGMOID_CHAINS], p[FASTPROP_SIGMOID_CHAINS];
    __m256i bits[FASTPROP_SIGMOID_CHAINS];
    /* exp(x) of x = -|z|, as _exp_nonpositive_float */
    FASTPROP_EACH x[c] = _mm256_or_ps(v[c], F(-0.0));
    FASTPROP_EACH x[c] = _mm256_max_ps(F(-104.0), x[c]);    /* (-104 > x) ? -104 : x; NaN stays */
    FASTPROP_EACH shifted[c] = _mm256_add_ps(_mm256_mul_ps(x[c], F(1.44269504088896341)),
                                             F(12582912.0));
    FASTPROP_EACH n[c] = _mm256_sub_ps(shifted[c], F(12582912.0));
    FASTPROP_EACH r[c] = _mm256_sub_ps(x[c], _mm256_mul_ps(n[c], F(0.693359375)));
    FASTPROP_EACH r[c] = _mm256_add_ps(r[c], _mm256_mul_ps(n[c], F(2.12194440e-4)));
    FASTPROP_EACH p[c] = _mm256_add_ps(_mm256_mul_ps(F(1.9875691500e-4), r[c]), F(1.3981999507e-3));
    FASTPROP_EACH p[c] = _mm256_add_ps(_mm256_mul_ps(p[c], r[c]), F(8.3334519073e-3));
    FASTPROP_EACH p[c] = _mm256_add_ps(_mm256_mul_ps(p[c], r[c]), F(4.1665795894e-2));
    FASTPROP_EACH p[c] = _mm256_add_ps(_mm256_mul_ps(p[c], r[c]), F(1.6666665459e-1));
    FASTPROP_EACH p[c] = _mm256_add_ps(_mm256_mul_ps(p[c], r[c]), F(5.0000001201e-1));
    FASTPROP_EACH p[c] = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(p[c], _mm256_mul_ps(r[c], r[c])),
                                                     r[c]), F(1));
    /* 2**(n + 64): exponent field n + 191, n = bits(shifted) - 0x4B400000 */
    FASTPROP_EACH bits[c] = _mm256_slli_epi32(_mm256_sub_epi32(_mm256_castps_si256(shifted[c]),
                                                               _mm256_set1_epi32(0x4B400000 - 191)), 23);
    /* e = (p * 2**(n + 64)) * 2**-64, then s = 1 / (1 + e); z >= 0 ? s : e * s (NaN: e * s) */
    FASTPROP_EACH p[c] = _mm256_mul_ps(_mm256_mul_ps(p[c], _mm256_castsi256_ps(bits[c])),
                                       F(5.42101086242752217e-20));
    FASTPROP_EACH r[c] = _mm256_div_ps(F(1), _mm256_add_ps(F(1), p[c]));
    FASTPROP_EACH v[c] = _mm256_blendv_ps(_mm256_mul_ps(p[c], r[c]), r[c],
                                          _mm256_cmp_ps(v[c], _mm256_setzero_ps(), _CMP_GE_OQ));
#undef F
}

FASTPROP_AVX2_NO_FMA_INLINE void fastprop_sigmoid_double_vectors(__m256d* v, const int count)
{
#define D(value) _mm256_set1_pd(value)
    __m256d x[FASTPROP_SIGMOID_CHAINS], shifted[FASTPROP_SIGMOID_CHAINS], n[FASTPROP_SIGMOID_CHAINS];
    __m256d r[FASTPROP_SIGMOID_CHAINS], rr[FASTPROP_SIGMOID_CHAINS], p[FASTPROP_SIGMOID_CHAINS];
    __m256d q[FASTPROP_SIGMOID_CHAINS];
    __m256i bits[FASTPROP_SIGMOID_CHAINS];
    /* exp(x) of x = -|z|, as _exp_nonpositive_double */
    FASTPROP_EACH x[c] = _mm256_or_pd(v[c], D(-0.0));
    FASTPROP_EACH x[c] = _mm256_max_pd(D(-746.0), x[c]);    /* (-746 > x) ? -746 : x; NaN stays */
    FASTPROP_EACH shifted[c] = _mm256_add_pd(_mm256_mul_pd(x[c], D(1.4426950408889634)),
                                             D(6755399441055744.0));
    FASTPROP_EACH n[c] = _mm256_sub_pd(shifted[c], D(6755399441055744.0));
    FASTPROP_EACH r[c] = _mm256_sub_pd(x[c], _mm256_mul_pd(n[c], D(6.93145751953125e-1)));
    FASTPROP_EACH r[c] = _mm256_sub_pd(r[c], _mm256_mul_pd(n[c], D(1.42860682030941723212e-6)));
    FASTPROP_EACH rr[c] = _mm256_mul_pd(r[c], r[c]);
    FASTPROP_EACH p[c] = _mm256_add_pd(_mm256_mul_pd(D(1.26177193074810590878e-4), rr[c]),
                                       D(3.02994407707441961300e-2));
    FASTPROP_EACH p[c] = _mm256_mul_pd(r[c], _mm256_add_pd(_mm256_mul_pd(p[c], rr[c]),
                                                           D(9.99999999999999999910e-1)));
    FASTPROP_EACH q[c] = _mm256_add_pd(_mm256_mul_pd(D(3.00198505138664455042e-6), rr[c]),
                                       D(2.52448340349684104192e-3));
    FASTPROP_EACH q[c] = _mm256_add_pd(_mm256_mul_pd(q[c], rr[c]), D(2.27265548208155028766e-1));
    FASTPROP_EACH q[c] = _mm256_add_pd(_mm256_mul_pd(q[c], rr[c]), D(2.00000000000000000009e0));
    FASTPROP_EACH p[c] = _mm256_add_pd(D(1), _mm256_div_pd(_mm256_mul_pd(D(2), p[c]),
                                                           _mm256_sub_pd(q[c], p[c])));
    /* 2**(n + 512): exponent field n + 1535, n = bits(shifted) - 0x4338000000000000 */
    FASTPROP_EACH bits[c] = _mm256_slli_epi64(
        _mm256_sub_epi64(_mm256_castpd_si256(shifted[c]),
                         _mm256_set1_epi64x(0x4338000000000000LL - 1535)), 52);
    /* e = (value * 2**(n + 512)) * 2**-512, then s = 1 / (1 + e); z >= 0 ? s : e * s (NaN: e * s) */
    FASTPROP_EACH p[c] = _mm256_mul_pd(_mm256_mul_pd(p[c], _mm256_castsi256_pd(bits[c])),
                                       D(7.458340731200206743e-155));
    FASTPROP_EACH r[c] = _mm256_div_pd(D(1), _mm256_add_pd(D(1), p[c]));
    FASTPROP_EACH v[c] = _mm256_blendv_pd(_mm256_mul_pd(p[c], r[c]), r[c],
                                          _mm256_cmp_pd(v[c], _mm256_setzero_pd(), _CMP_GE_OQ));
#undef D
}

#undef FASTPROP_EACH

/* out := sigmoid(z), elementwise; out may be z. Each vector's sigmoid is one
 * long chain of dependent operations (about 90 cycles on Zen 1), so the main
 * loop runs FASTPROP_SIGMOID_CHAINS vectors side by side for the out-of-order
 * core to overlap; each element's operations are unchanged. */

#define FASTPROP_DEFINE_SIGMOID_ARRAY(TYPE, LANES, VEC, LOAD, STORE, MASK, MASKLOAD, MASKSTORE)  \
__attribute__((target("avx2"))) static void fastprop_sigmoid_##TYPE(const TYPE* z, TYPE* out,   \
                                                                   ptrdiff_t size)              \
{                                                                                                \
    ptrdiff_t i = 0;                                                                             \
    VEC v[FASTPROP_SIGMOID_CHAINS];                                                              \
    for (; i + FASTPROP_SIGMOID_CHAINS * LANES <= size; i += FASTPROP_SIGMOID_CHAINS * LANES) {  \
        for (int chain = 0; chain < FASTPROP_SIGMOID_CHAINS; ++chain)                            \
            v[chain] = LOAD(z + i + chain * LANES);                                              \
        fastprop_sigmoid_##TYPE##_vectors(v, FASTPROP_SIGMOID_CHAINS);                           \
        for (int chain = 0; chain < FASTPROP_SIGMOID_CHAINS; ++chain)                            \
            STORE(out + i + chain * LANES, v[chain]);                                            \
    }                                                                                            \
    for (; i + LANES <= size; i += LANES) {                                                      \
        v[0] = LOAD(z + i);                                                                      \
        fastprop_sigmoid_##TYPE##_vectors(v, 1);                                                 \
        STORE(out + i, v[0]);                                                                    \
    }                                                                                            \
    if (i < size) {                                                                              \
        const __m256i mask = MASK(size - i);                                                     \
        v[0] = MASKLOAD(z + i, mask);                                                            \
        fastprop_sigmoid_##TYPE##_vectors(v, 1);                                                 \
        MASKSTORE(out + i, mask, v[0]);                                                          \
    }                                                                                            \
}

FASTPROP_DEFINE_SIGMOID_ARRAY(float, 8, __m256, _mm256_loadu_ps, _mm256_storeu_ps,
                              fastprop_mask_float, _mm256_maskload_ps, _mm256_maskstore_ps)
FASTPROP_DEFINE_SIGMOID_ARRAY(double, 4, __m256d, _mm256_loadu_pd, _mm256_storeu_pd,
                              fastprop_mask_double, _mm256_maskload_pd, _mm256_maskstore_pd)

/* sigmoid of a column panel of C (rows x width, row stride ldc) in place: */
/* full panels (2 vectors wide) two rows at a time, so that 4 vectors' chains */
/* overlap as in the main loop of fastprop_sigmoid_TYPE. */
#define FASTPROP_DEFINE_SIGMOID_PANEL(TYPE, LANES, VEC, LOAD, STORE)                             \
__attribute__((target("avx2"))) static void fastprop_sigmoid_panel_##TYPE(                       \
    TYPE* C, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t width)                                     \
{                                                                                                \
    ptrdiff_t i = 0;                                                                             \
    if (width == 2 * LANES) {                                                                    \
        VEC v[FASTPROP_SIGMOID_CHAINS];                                                          \
        for (; i + 2 <= rows; i += 2) {                                                          \
            TYPE* row_0 = C + i * ldc;                                                           \
            TYPE* row_1 = row_0 + ldc;                                                           \
            v[0] = LOAD(row_0); v[1] = LOAD(row_0 + LANES);                                      \
            v[2] = LOAD(row_1); v[3] = LOAD(row_1 + LANES);                                      \
            fastprop_sigmoid_##TYPE##_vectors(v, 4);                                             \
            STORE(row_0, v[0]); STORE(row_0 + LANES, v[1]);                                      \
            STORE(row_1, v[2]); STORE(row_1 + LANES, v[3]);                                      \
        }                                                                                        \
    }                                                                                            \
    for (; i < rows; ++i)                                                                        \
        fastprop_sigmoid_##TYPE(C + i * ldc, C + i * ldc, width);                                \
}

FASTPROP_DEFINE_SIGMOID_PANEL(float, 8, __m256, _mm256_loadu_ps, _mm256_storeu_ps)
FASTPROP_DEFINE_SIGMOID_PANEL(double, 4, __m256d, _mm256_loadu_pd, _mm256_storeu_pd)

/* ------------------------------------------------------------------------ */
/* The micro-kernel: a block of 1 to 4 rows x 2 vectors of C is kept in 8   */
/* registers for a whole sum over p; each p loads two vectors of row p of B  */
/* and broadcasts 1 to 4 entries of A (A(i, p) = A[i * row_stride +          */
/* p * inner_stride], so A or its transpose is read in place). The sums      */
/* start from zero, from a bias row, or from C itself (START_*), and end as  */
/* C := alpha * sum + beta * C (beta 0 or 1) or C := sum (FINISH_*). The     */
/* last columns use masked loads and stores (MASK_*).                        */
/* ------------------------------------------------------------------------ */

enum { FASTPROP_START_ZERO, FASTPROP_START_BIAS, FASTPROP_START_C };
enum { FASTPROP_FINISH_SCALED, FASTPROP_FINISH_SUM };
enum { FASTPROP_MASK_NONE, FASTPROP_MASK_C, FASTPROP_MASK_B_AND_C };

#define FASTPROP_BLOCK(TYPE, VEC, LANES, SET0, LOAD, MASKLOAD, BROADCAST, FMADD, MUL, STORE,    \
                       MASKSTORE)                                                                \
    const int mask_b = masking == FASTPROP_MASK_B_AND_C, mask_c = masking != FASTPROP_MASK_NONE; \
    VEC acc[4][2];                                                                               \
    for (int r = 0; r < rows; ++r)                                                               \
        for (int half = 0; half < 2; ++half) {                                                   \
            const __m256i mask = half ? mask1 : mask0;                                           \
            if (start == FASTPROP_START_ZERO)                                                    \
                acc[r][half] = SET0();                                                           \
            else if (start == FASTPROP_START_BIAS)                                               \
                acc[r][half] = mask_c ? MASKLOAD(bias + half * LANES, mask)                      \
                                      : LOAD(bias + half * LANES);                               \
            else                                                                                 \
                acc[r][half] = mask_c ? MASKLOAD(C + r * ldc + half * LANES, mask)               \
                                      : LOAD(C + r * ldc + half * LANES);                        \
        }                                                                                        \
    for (ptrdiff_t p = 0; p < k; ++p) {                                                          \
        const TYPE* b_row = B + p * ldb;                                                         \
        const VEC b0 = mask_b ? MASKLOAD(b_row, mask0) : LOAD(b_row);                            \
        const VEC b1 = mask_b ? MASKLOAD(b_row + LANES, mask1) : LOAD(b_row + LANES);            \
        const TYPE* a_column = A + p * inner_stride;                                             \
        for (int r = 0; r < rows; ++r) {                                                         \
            const VEC a = BROADCAST(a_column + r * row_stride);                                  \
            acc[r][0] = FMADD(a, b0, acc[r][0]);                                                 \
            acc[r][1] = FMADD(a, b1, acc[r][1]);                                                 \
        }                                                                                        \
    }                                                                                            \
    const VEC scale = BROADCAST(&alpha);                                                         \
    for (int r = 0; r < rows; ++r)                                                               \
        for (int half = 0; half < 2; ++half) {                                                   \
            TYPE* out = C + r * ldc + half * LANES;                                              \
            const __m256i mask = half ? mask1 : mask0;                                           \
            VEC value = acc[r][half];                                                            \
            if (finish == FASTPROP_FINISH_SCALED) {                                              \
                if (beta != 0)                                                                   \
                    value = FMADD(scale, value, mask_c ? MASKLOAD(out, mask) : LOAD(out));       \
                else                                                                             \
                    value = MUL(scale, value);                                                   \
            }                                                                                    \
            if (mask_c) MASKSTORE(out, mask, value); else STORE(out, value);                     \
        }

#define FASTPROP_BLOCK_PARAMETERS(TYPE)                                                          \
    int rows, int masking, int start, int finish, __m256i mask0, __m256i mask1, ptrdiff_t k,     \
    const TYPE* A, ptrdiff_t row_stride, ptrdiff_t inner_stride, const TYPE* B, ptrdiff_t ldb,   \
    const TYPE* bias, TYPE alpha, TYPE beta, TYPE* C, ptrdiff_t ldc

FASTPROP_AVX2_INLINE void fastprop_block_float(FASTPROP_BLOCK_PARAMETERS(float))
{
    FASTPROP_BLOCK(float, __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_maskload_ps,
                   _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_mul_ps, _mm256_storeu_ps,
                   _mm256_maskstore_ps)
}

FASTPROP_AVX2_INLINE void fastprop_block_double(FASTPROP_BLOCK_PARAMETERS(double))
{
    FASTPROP_BLOCK(double, __m256d, 4, _mm256_setzero_pd, _mm256_loadu_pd, _mm256_maskload_pd,
                   _mm256_broadcast_sd, _mm256_fmadd_pd, _mm256_mul_pd, _mm256_storeu_pd,
                   _mm256_maskstore_pd)
}

/* All the row blocks of one column panel of C, 4 rows at a time. Inlined into
 * each caller with constant masking, start and finish, so that every call
 * below compiles to straight-line code for its case. */
#define FASTPROP_DEFINE_ROW_BLOCKS(TYPE)                                                         \
FASTPROP_AVX2_INLINE void fastprop_row_blocks_##TYPE(                                            \
    int partial_masking, int start, int finish, ptrdiff_t width, ptrdiff_t lanes,               \
    ptrdiff_t m, ptrdiff_t k, const TYPE* A, ptrdiff_t row_stride, ptrdiff_t inner_stride,       \
    const TYPE* B, ptrdiff_t ldb, const TYPE* bias, TYPE alpha, TYPE beta, TYPE* C, ptrdiff_t ldc) \
{                                                                                                \
    const int partial = width < 2 * lanes;                                                       \
    const __m256i mask0 = fastprop_mask_##TYPE(width), mask1 = fastprop_mask_##TYPE(width - lanes); \
    for (ptrdiff_t i0 = 0; i0 < m; i0 += 4) {                                                    \
        const TYPE* a = A + i0 * row_stride;                                                     \
        TYPE* c = C + i0 * ldc;                                                                  \
        const ptrdiff_t rows = m - i0;                                                           \
        if (rows >= 4 && !partial)                                                               \
            fastprop_block_##TYPE(4, FASTPROP_MASK_NONE, start, finish, mask0, mask1, k, a,      \
                                  row_stride, inner_stride, B, ldb, bias, alpha, beta, c, ldc);  \
        else if (rows >= 4)                                                                      \
            fastprop_block_##TYPE(4, partial_masking, start, finish, mask0, mask1, k, a,         \
                                  row_stride, inner_stride, B, ldb, bias, alpha, beta, c, ldc);  \
        else if (rows == 3)                                                                      \
            fastprop_block_##TYPE(3, partial_masking, start, finish, mask0, mask1, k, a,         \
                                  row_stride, inner_stride, B, ldb, bias, alpha, beta, c, ldc);  \
        else if (rows == 2)                                                                      \
            fastprop_block_##TYPE(2, partial_masking, start, finish, mask0, mask1, k, a,         \
                                  row_stride, inner_stride, B, ldb, bias, alpha, beta, c, ldc);  \
        else                                                                                     \
            fastprop_block_##TYPE(1, partial_masking, start, finish, mask0, mask1, k, a,         \
                                  row_stride, inner_stride, B, ldb, bias, alpha, beta, c, ldc);  \
    }                                                                                            \
}

FASTPROP_DEFINE_ROW_BLOCKS(float)
FASTPROP_DEFINE_ROW_BLOCKS(double)

/* Column panels of C: 2 vectors wide, so 16 floats or 8 doubles. */
#define FASTPROP_LANES_float 8
#define FASTPROP_LANES_double 4
#define FASTPROP_PANELS(n, lanes) (((n) + 2 * (lanes) - 1) / (2 * (lanes)))

/* A column panel of B copied contiguous: panel[p * 2 LANES + j] := B[p * ldb + j] for j <     */
/* width (zero past it) and p < depth. Read in place, the panel's rows lie ldb apart; when     */
/* ldb is a multiple of 1 KiB or so (widths 256, 512, 1024 in float32), its cache lines fall   */
/* into a few L1 and L2 sets and evict each other between the blocks of rows that reuse them. */
#define FASTPROP_DEFINE_PACK_ROWS(TYPE, LANES, LOAD, STORE, MASKLOAD, MASK)                      \
FASTPROP_AVX2_INLINE void fastprop_pack_rows_##TYPE(const TYPE* B, ptrdiff_t ldb, ptrdiff_t width, \
                                                   ptrdiff_t depth, TYPE* panel)                 \
{                                                                                                \
    if (width == 2 * LANES) {                                                                    \
        for (ptrdiff_t p = 0; p < depth; ++p) {                                                  \
            STORE(panel + p * 2 * LANES, LOAD(B + p * ldb));                                     \
            STORE(panel + p * 2 * LANES + LANES, LOAD(B + p * ldb + LANES));                     \
        }                                                                                        \
        return;                                                                                  \
    }                                                                                            \
    const __m256i mask0 = MASK(width), mask1 = MASK(width - LANES);                              \
    for (ptrdiff_t p = 0; p < depth; ++p) {                                                      \
        STORE(panel + p * 2 * LANES, MASKLOAD(B + p * ldb, mask0));                              \
        STORE(panel + p * 2 * LANES + LANES, MASKLOAD(B + p * ldb + LANES, mask1));              \
    }                                                                                            \
}

FASTPROP_DEFINE_PACK_ROWS(float, 8, _mm256_loadu_ps, _mm256_store_ps, _mm256_maskload_ps,
                          fastprop_mask_float)
FASTPROP_DEFINE_PACK_ROWS(double, 4, _mm256_loadu_pd, _mm256_store_pd, _mm256_maskload_pd,
                          fastprop_mask_double)

/* Deepest B panel packed on the stack by the backward products (64 KiB); deeper sums read B  */
/* in place. */
#define FASTPROP_PACK_DEPTH 1024

/* ------------------------------------------------------------------------ */
/* C (m, n) := alpha * (A @ B) + beta * C, beta 0 or 1, for the backward     */
/* products: A @ B (strides k, 1) and A.T @ B (strides 1, m). B (k, n).      */
/* One task is one column panel of C, all rows: the panel's k x 2-vector     */
/* strip of B is copied contiguous onto the stack (up to PACK_DEPTH deep)    */
/* and then read from L1 for every block of rows. Each output is one sum     */
/* over p, in order, as in the plain loops.                                  */
/* ------------------------------------------------------------------------ */

#define FASTPROP_STRIP_ROWS 16
#define FASTPROP_STRIP_DEPTH 512

#define FASTPROP_DEFINE_PRODUCTS(TYPE)                                                           \
typedef struct {                                                                                 \
    ptrdiff_t m, n, k, row_stride, inner_stride;                                                 \
    const TYPE* A;                                                                               \
    const TYPE* B;                                                                               \
    TYPE alpha, beta;                                                                            \
    TYPE* C;                                                                                     \
    const TYPE* sigmoid_outputs;  /* or NULL: then C := C * S * (1 - S) at the end */            \
    TYPE* column_sums;            /* or NULL: then column_sums := alpha * (sums of A's           \
                                     columns of the transpose) + beta * column_sums */           \
} fastprop_products_##TYPE##_arguments;                                                          \
                                                                                                 \
FASTPROP_AVX2 static void fastprop_products_##TYPE##_task(void* arguments, ptrdiff_t panel)      \
{                                                                                                \
    const fastprop_products_##TYPE##_arguments* x = (const fastprop_products_##TYPE##_arguments*) arguments; \
    const ptrdiff_t lanes = FASTPROP_LANES_##TYPE, j0 = panel * 2 * lanes;                       \
    const ptrdiff_t width = x->n - j0 < 2 * lanes ? x->n - j0 : 2 * lanes;                       \
    if (x->k <= FASTPROP_PACK_DEPTH) {                                                           \
        TYPE panel[FASTPROP_PACK_DEPTH * 2 * FASTPROP_LANES_##TYPE] __attribute__((aligned(32))); \
        fastprop_pack_rows_##TYPE(x->B + j0, x->n, width, x->k, panel);                          \
        fastprop_row_blocks_##TYPE(FASTPROP_MASK_C, FASTPROP_START_ZERO, FASTPROP_FINISH_SCALED, \
                                   width, lanes, x->m, x->k, x->A, x->row_stride,                \
                                   x->inner_stride, panel, 2 * lanes, NULL, x->alpha, x->beta,   \
                                   x->C + j0, x->n);                                             \
    } else                                                                                       \
        fastprop_row_blocks_##TYPE(FASTPROP_MASK_B_AND_C, FASTPROP_START_ZERO,                   \
                                   FASTPROP_FINISH_SCALED, width, lanes, x->m, x->k, x->A,       \
                                   x->row_stride, x->inner_stride, x->B + j0, x->n, NULL,        \
                                   x->alpha, x->beta, x->C + j0, x->n);                          \
    if (x->sigmoid_outputs != NULL)                                                              \
        /* sigma' from the layer's outputs, as _multiply_sigmoid_derivative, on the panel */     \
        for (ptrdiff_t i = 0; i < x->m; ++i) {                                                   \
            TYPE* c = x->C + i * x->n + j0;                                                      \
            const TYPE* a = x->sigmoid_outputs + i * x->n + j0;                                  \
            for (ptrdiff_t j = 0; j < width; ++j)                                                \
                c[j] = c[j] * (a[j] * ((TYPE) 1 - a[j]));                                        \
        }                                                                                        \
}                                                                                                \
                                                                                                 \
/* One strip of FASTPROP_STRIP_ROWS rows of C, all columns, for A read through its       \
 * transpose (A.T @ B: row_stride 1, inner_stride m). Read in place, the strip's entries   \
 * for one p are contiguous but successive p are m apart; when m * sizeof(TYPE) is a       \
 * multiple of a few hundred bytes (m = 256 floats, say), those k cache lines fall into a  \
 * handful of L1 sets and evict each other on every panel. So the strip is first copied    \
 * into a contiguous k x STRIP_ROWS block on the stack (k at most FASTPROP_STRIP_DEPTH),   \
 * which every column panel then reads from L1. Same sums, same order. */                  \
FASTPROP_AVX2 static void fastprop_products_##TYPE##_strip_task(void* arguments, ptrdiff_t strip) \
{                                                                                                \
    const fastprop_products_##TYPE##_arguments* x = (const fastprop_products_##TYPE##_arguments*) arguments; \
    const ptrdiff_t lanes = FASTPROP_LANES_##TYPE, i0 = strip * FASTPROP_STRIP_ROWS;             \
    const ptrdiff_t rows = x->m - i0 < FASTPROP_STRIP_ROWS ? x->m - i0 : FASTPROP_STRIP_ROWS;    \
    TYPE packed[FASTPROP_STRIP_DEPTH * FASTPROP_STRIP_ROWS] __attribute__((aligned(32)));        \
    for (ptrdiff_t p = 0; p < x->k; ++p)                                                         \
        for (ptrdiff_t r = 0; r < FASTPROP_STRIP_ROWS; ++r)                                      \
            packed[p * FASTPROP_STRIP_ROWS + r] = r < rows ? x->A[p * x->inner_stride + i0 + r] : 0; \
    if (x->column_sums != NULL) {                                                                \
        /* The strip's column sums (a bias gradient), as _column_sums_accumulate: each    */     \
        /* summed over p in order, then scaled and added. */                                     \
        TYPE totals[FASTPROP_STRIP_ROWS] = {0};                                                  \
        for (ptrdiff_t p = 0; p < x->k; ++p)                                                     \
            for (ptrdiff_t r = 0; r < FASTPROP_STRIP_ROWS; ++r)                                  \
                totals[r] = totals[r] + packed[p * FASTPROP_STRIP_ROWS + r];                     \
        for (ptrdiff_t r = 0; r < rows; ++r)                                                     \
            x->column_sums[i0 + r] = x->beta == 0 ? x->alpha * totals[r]                         \
                                                  : x->column_sums[i0 + r] + x->alpha * totals[r]; \
    }                                                                                            \
    for (ptrdiff_t j0 = 0; j0 < x->n; j0 += 2 * lanes) {                                         \
        const ptrdiff_t width = x->n - j0 < 2 * lanes ? x->n - j0 : 2 * lanes;                   \
        fastprop_row_blocks_##TYPE(FASTPROP_MASK_B_AND_C, FASTPROP_START_ZERO,                   \
                                   FASTPROP_FINISH_SCALED, width, lanes, rows, x->k, packed, 1,   \
                                   FASTPROP_STRIP_ROWS, x->B + j0, x->n, NULL, x->alpha,          \
                                   x->beta, x->C + i0 * x->n + j0, x->n);                        \
    }                                                                                            \
}                                                                                                \
                                                                                                 \
/* C (m, n) := alpha * (A @ B) + beta * C; A(i, p) = A[i * row_stride + p * inner_stride];      \
 * shared out over the team (NULL: all on this thread) by column panels, or, for A.T @ B,       \
 * by strips of rows. With sigmoid_outputs (S, m x n), then C := C * S * (1 - S). With          \
 * column_sums, A.T @ B only, also column_sums (m) := alpha * A.T.sum(1) + beta * column_sums; \
 * returns whether it did (only in strips; otherwise the caller sums). */                       \
static int fastprop_products_##TYPE(                                                             \
    fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const TYPE* A,                   \
    ptrdiff_t row_stride, ptrdiff_t inner_stride, const TYPE* B, TYPE alpha, TYPE beta, TYPE* C, \
    const TYPE* sigmoid_outputs, TYPE* column_sums)                                              \
{                                                                                                \
    const int strips = row_stride == 1 && inner_stride != 1 && k <= FASTPROP_STRIP_DEPTH         \
                       && sigmoid_outputs == NULL;                                               \
    fastprop_products_##TYPE##_arguments arguments = {m, n, k, row_stride, inner_stride, A, B,   \
                                                      alpha, beta, C, sigmoid_outputs,           \
                                                      strips ? column_sums : NULL};              \
    if (strips)                                                                                  \
        fastprop_team_run(team, fastprop_products_##TYPE##_strip_task, &arguments,               \
                          (m + FASTPROP_STRIP_ROWS - 1) / FASTPROP_STRIP_ROWS);                  \
    else                                                                                         \
        fastprop_team_run(team, fastprop_products_##TYPE##_task, &arguments,                     \
                          FASTPROP_PANELS(n, FASTPROP_LANES_##TYPE));                            \
    return strips && column_sums != NULL;                                                        \
}

FASTPROP_DEFINE_PRODUCTS(float)
FASTPROP_DEFINE_PRODUCTS(double)

/* Panel packing for the forward product: panel[p * 2 LANES + j] := W[j * k + p]
 * for j < width (2 LANES of W's rows, zero past width) and p < depth. Whole
 * LANES x LANES squares are transposed in registers; the rest goes one by one. */
FASTPROP_AVX2_NO_FMA_INLINE void fastprop_transpose_float(const float* source, ptrdiff_t source_stride,
                                                          float* target, ptrdiff_t target_stride)
{
    __m256 r0 = _mm256_loadu_ps(source), r1 = _mm256_loadu_ps(source + source_stride);
    __m256 r2 = _mm256_loadu_ps(source + 2 * source_stride), r3 = _mm256_loadu_ps(source + 3 * source_stride);
    __m256 r4 = _mm256_loadu_ps(source + 4 * source_stride), r5 = _mm256_loadu_ps(source + 5 * source_stride);
    __m256 r6 = _mm256_loadu_ps(source + 6 * source_stride), r7 = _mm256_loadu_ps(source + 7 * source_stride);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(target, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(target + target_stride, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(target + 2 * target_stride, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(target + 3 * target_stride, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(target + 4 * target_stride, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(target + 5 * target_stride, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(target + 6 * target_stride, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(target + 7 * target_stride, _mm256_permute2f128_ps(u3, u7, 0x31));
}

FASTPROP_AVX2_NO_FMA_INLINE void fastprop_transpose_double(const double* source, ptrdiff_t source_stride,
                                                           double* target, ptrdiff_t target_stride)
{
    __m256d r0 = _mm256_loadu_pd(source), r1 = _mm256_loadu_pd(source + source_stride);
    __m256d r2 = _mm256_loadu_pd(source + 2 * source_stride), r3 = _mm256_loadu_pd(source + 3 * source_stride);
    __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
    __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(target, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(target + target_stride, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(target + 2 * target_stride, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(target + 3 * target_stride, _mm256_permute2f128_pd(t1, t3, 0x31));
}

#define FASTPROP_PACK(TYPE, LANES, TRANSPOSE)                                                    \
    for (ptrdiff_t group = 0; group < 2 * LANES; group += LANES) {                               \
        ptrdiff_t p = 0;                                                                         \
        if (group + LANES <= width)                                                              \
            for (; p + LANES <= depth; p += LANES)                                               \
                TRANSPOSE(W + group * k + p, k, panel + p * 2 * LANES + group, 2 * LANES);       \
        for (; p < depth; ++p)                                                                   \
            for (ptrdiff_t j = group; j < group + LANES; ++j)                                    \
                panel[p * 2 * LANES + j] = j < width ? W[j * k + p] : 0;                         \
    }

FASTPROP_AVX2_NO_FMA_INLINE void fastprop_pack_float(const float* W, ptrdiff_t k, ptrdiff_t width,
                                                     ptrdiff_t depth, float* panel)
{
    FASTPROP_PACK(float, 8, fastprop_transpose_float)
}

FASTPROP_AVX2_NO_FMA_INLINE void fastprop_pack_double(const double* W, ptrdiff_t k, ptrdiff_t width,
                                                      ptrdiff_t depth, double* panel)
{
    FASTPROP_PACK(double, 4, fastprop_transpose_double)
}

/* Horizontal sums and dot products, for narrow forward products. */
FASTPROP_AVX2_INLINE float fastprop_sum_float(__m256 s)
{
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    t = _mm_hadd_ps(t, t);
    t = _mm_hadd_ps(t, t);
    return _mm_cvtss_f32(t);
}

FASTPROP_AVX2_INLINE double fastprop_sum_double(__m256d s)
{
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_hadd_pd(t, t));
}

/* x . y over k, in LANES interleaved partial sums, the last chunk masked. */
#define FASTPROP_DOT(VEC, LANES, SET0, LOAD, MASKLOAD, FMADD, MASK, SUM)                         \
    const ptrdiff_t full = k - k % LANES;                                                        \
    VEC s = SET0();                                                                              \
    for (ptrdiff_t p = 0; p < full; p += LANES)                                                  \
        s = FMADD(LOAD(x + p), LOAD(y + p), s);                                                  \
    if (full < k) {                                                                              \
        const __m256i tail = MASK(k - full);                                                     \
        s = FMADD(MASKLOAD(x + full, tail), MASKLOAD(y + full, tail), s);                        \
    }                                                                                            \
    return SUM(s);

FASTPROP_AVX2_INLINE float fastprop_dot_float(const float* x, const float* y, ptrdiff_t k)
{
    FASTPROP_DOT(__m256, 8, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_maskload_ps,
                 _mm256_fmadd_ps, fastprop_mask_float, fastprop_sum_float)
}

FASTPROP_AVX2_INLINE double fastprop_dot_double(const double* x, const double* y, ptrdiff_t k)
{
    FASTPROP_DOT(__m256d, 4, _mm256_setzero_pd, _mm256_loadu_pd, _mm256_maskload_pd,
                 _mm256_fmadd_pd, fastprop_mask_double, fastprop_sum_double)
}

/* ------------------------------------------------------------------------ */
/* C (m, n) := sigmoid(A (m, k) @ W (n, k).T + bias (n)), the forward step.  */
/* W's rows are the wrong way round for the micro-kernel, so for each column */
/* panel of C a strip of 2 vectors' worth of W's rows is first transposed    */
/* into a k x 2-vector panel on the stack (zero-padded past n, at most       */
/* PANEL_DEPTH deep at a time; deeper sums continue from the partial sums    */
/* stored in C), which every block of rows of A then reads. Each output      */
/* starts from its bias and adds the products in order of p, as in the plain */
/* loops; the sigmoid is applied to the panel while it is still in cache.    */
/* Narrow outputs (fewer than one vector: an output layer of a few units)    */
/* would make a panel mostly padding, so there each output is a dot product  */
/* of two rows instead, in LANES interleaved partial sums.                   */
/* ------------------------------------------------------------------------ */

#define FASTPROP_PANEL_DEPTH 256

#define FASTPROP_DEFINE_DENSE_SIGMOID(TYPE)                                                      \
typedef struct {                                                                                 \
    ptrdiff_t m, n, k;                                                                           \
    const TYPE* A;                                                                               \
    const TYPE* W;                                                                               \
    const TYPE* bias;                                                                            \
    TYPE* C;                                                                                     \
} fastprop_dense_sigmoid_##TYPE##_arguments;                                                     \
                                                                                                 \
FASTPROP_AVX2 static void fastprop_dense_sigmoid_##TYPE##_task(void* arguments, ptrdiff_t panel) \
{                                                                                                \
    const fastprop_dense_sigmoid_##TYPE##_arguments* x =                                         \
        (const fastprop_dense_sigmoid_##TYPE##_arguments*) arguments;                            \
    const ptrdiff_t lanes = FASTPROP_LANES_##TYPE, m = x->m, n = x->n, k = x->k;                 \
    const ptrdiff_t j0 = panel * 2 * lanes, width = n - j0 < 2 * lanes ? n - j0 : 2 * lanes;     \
    TYPE strip[FASTPROP_PANEL_DEPTH * 2 * FASTPROP_LANES_##TYPE] __attribute__((aligned(32)));   \
    /* k in equal chunks (a multiple of 8 deep, at most PANEL_DEPTH): 784 as 4 x 196 -> 200, 200, \
     * 200, 184 rather than 256, 256, 256, 16, whose last pass would be mostly overhead. */     \
    const ptrdiff_t chunks = (k + FASTPROP_PANEL_DEPTH - 1) / FASTPROP_PANEL_DEPTH;              \
    const ptrdiff_t chunk_depth = ((k + chunks - 1) / chunks + 7) / 8 * 8;                       \
    for (ptrdiff_t p0 = 0; p0 < k; p0 += chunk_depth) {                                          \
        const ptrdiff_t depth = k - p0 < chunk_depth ? k - p0 : chunk_depth;                     \
        fastprop_pack_##TYPE(x->W + j0 * k + p0, k, width, depth, strip);                        \
        if (p0 == 0)                                                                             \
            fastprop_row_blocks_##TYPE(FASTPROP_MASK_C, FASTPROP_START_BIAS, FASTPROP_FINISH_SUM, \
                                       width, lanes, m, depth, x->A, k, 1, strip, 2 * lanes,     \
                                       x->bias + j0, 1, 0, x->C + j0, n);                        \
        else                                                                                     \
            fastprop_row_blocks_##TYPE(FASTPROP_MASK_C, FASTPROP_START_C, FASTPROP_FINISH_SUM,   \
                                       width, lanes, m, depth, x->A + p0, k, 1, strip, 2 * lanes, \
                                       x->bias + j0, 1, 0, x->C + j0, n);                        \
    }                                                                                            \
    fastprop_sigmoid_panel_##TYPE(x->C + j0, n, m, width);                                      \
}                                                                                                \
                                                                                                 \
FASTPROP_AVX2 static void fastprop_narrow_dense_sigmoid_##TYPE##_task(void* arguments, ptrdiff_t row) \
{                                                                                                \
    const fastprop_dense_sigmoid_##TYPE##_arguments* x =                                         \
        (const fastprop_dense_sigmoid_##TYPE##_arguments*) arguments;                            \
    TYPE* c = x->C + row * x->n;                                                                 \
    for (ptrdiff_t j = 0; j < x->n; ++j)                                                         \
        c[j] = x->bias[j] + fastprop_dot_##TYPE(x->A + row * x->k, x->W + j * x->k, x->k);       \
    fastprop_sigmoid_##TYPE(c, c, x->n);                                                         \
}                                                                                                \
                                                                                                 \
/* C (m, n) := sigmoid(A (m, k) @ W (n, k).T + bias (n)); the column panels (or, for narrow     \
 * outputs, the rows) are shared out over the team (NULL: all on this thread). */                \
static void fastprop_dense_sigmoid_##TYPE(                                                       \
    fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const TYPE* A, const TYPE* W,    \
    const TYPE* bias, TYPE* C)                                                                   \
{                                                                                                \
    fastprop_dense_sigmoid_##TYPE##_arguments arguments = {m, n, k, A, W, bias, C};              \
    if (n < FASTPROP_LANES_##TYPE)                                                               \
        fastprop_team_run(team, fastprop_narrow_dense_sigmoid_##TYPE##_task, &arguments, m);     \
    else                                                                                         \
        fastprop_team_run(team, fastprop_dense_sigmoid_##TYPE##_task, &arguments,                \
                          FASTPROP_PANELS(n, FASTPROP_LANES_##TYPE));                            \
}

FASTPROP_DEFINE_DENSE_SIGMOID(float)
FASTPROP_DEFINE_DENSE_SIGMOID(double)

#else  /* no GCC-compatible x86-64 compiler: no vector kernels, never called */

#define FASTPROP_VECTOR_PRODUCTS 0

static int fastprop_cpu_has_avx2_fma(void) { return 0; }

#define FASTPROP_STUBS(TYPE)                                                                     \
static int fastprop_products_##TYPE(fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,  \
                                    const TYPE* A, ptrdiff_t row_stride, ptrdiff_t inner_stride, \
                                    const TYPE* B, TYPE alpha, TYPE beta, TYPE* C,               \
                                    const TYPE* sigmoid_outputs, TYPE* column_sums) { return 0; } \
static void fastprop_dense_sigmoid_##TYPE(fastprop_team* team, ptrdiff_t m, ptrdiff_t n,          \
                                          ptrdiff_t k, const TYPE* A, const TYPE* W,              \
                                          const TYPE* bias, TYPE* C) {}                           \
static void fastprop_sigmoid_##TYPE(const TYPE* z, TYPE* out, ptrdiff_t size) {}

FASTPROP_STUBS(float)
FASTPROP_STUBS(double)

#endif

#endif  /* FASTPROP_VECTOR_PRODUCTS_H */
