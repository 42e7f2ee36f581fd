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

/* One column panel (2 vectors wide) of C, all rows, 4 at a time. Each call
 * below has constant rows, masking, start and finish, so the compiler builds
 * a straight-line block for each; the last 1 to 3 rows get their own. */
#define FASTPROP_PANEL(BLOCK)                                                                    \
    for (ptrdiff_t i0 = 0; i0 < m; i0 += 4) {                                                    \
        const ptrdiff_t left = m - i0;                                                           \
        const TYPE_* a = A + i0 * row_stride;                                                    \
        TYPE_* c = C + i0 * ldc;                                                                 \
        const int rows = left >= 4 ? 4 : (int) left;                                             \
        if (rows == 4 && !partial)                                                               \
            BLOCK(4, MASK_FULL_, START_, FINISH_, mask0, mask1, k, a, row_stride, inner_stride,  \
                  B, ldb, bias, alpha, beta, c, ldc);                                            \
        else if (rows == 4)                                                                      \
            BLOCK(4, MASK_PART_, START_, FINISH_, mask0, mask1, k, a, row_stride, inner_stride,  \
                  B, ldb, bias, alpha, beta, c, ldc);                                            \
        else if (rows == 3)                                                                      \
            BLOCK(3, MASK_PART_, START_, FINISH_, mask0, mask1, k, a, row_stride, inner_stride,  \
                  B, ldb, bias, alpha, beta, c, ldc);                                            \
        else if (rows == 2)                                                                      \
            BLOCK(2, MASK_PART_, START_, FINISH_, mask0, mask1, k, a, row_stride, inner_stride,  \
                  B, ldb, bias, alpha, beta, c, ldc);                                            \
        else                                                                                     \
            BLOCK(1, MASK_PART_, START_, FINISH_, mask0, mask1, k, a, row_stride, inner_stride,  \
                  B, ldb, bias, alpha, beta, c, ldc);                                            \
    }

/* ------------------------------------------------------------------------ */
/* C (m, n) := alpha * (A @ B) + beta * C, beta 0 or 1, for the backward     */
/* products: A @ B (strides k, 1) and A.T @ B (strides 1, m). B (k, n).      */
/* Panels of C are taken left to right; a panel's k x 2-vector strip of B is */
/* read from memory once and from L1 for every further block of rows. Each  */
/* output is one sum over p, in order, as in the plain loops.                */
/* ------------------------------------------------------------------------ */

#define FASTPROP_PRODUCTS(TYPE, LANES, MASK, BLOCK)                                              \
    const ptrdiff_t ldb = n, ldc = n;                                                            \
    const TYPE* bias = 0;                                                                        \
    for (ptrdiff_t j0 = 0; j0 < n; j0 += 2 * LANES) {                                            \
        const ptrdiff_t width = n - j0 < 2 * LANES ? n - j0 : 2 * LANES;                         \
        const int partial = width < 2 * LANES;                                                   \
        const __m256i mask0 = MASK(width), mask1 = MASK(width - LANES);                          \
        const TYPE* B_panel = B + j0;                                                            \
        TYPE* C_panel = C + j0;                                                                  \
        {                                                                                        \
            const TYPE* B = B_panel;                                                             \
            TYPE* C = C_panel;                                                                   \
            FASTPROP_PANEL(BLOCK)                                                                \
        }                                                                                        \
    }

#define MASK_FULL_ FASTPROP_MASK_NONE
#define MASK_PART_ FASTPROP_MASK_B_AND_C
#define START_ FASTPROP_START_ZERO
#define FINISH_ FASTPROP_FINISH_SCALED

/* C (m, n) := alpha * (A @ B) + beta * C; A(i, p) = A[i * row_stride + p * inner_stride] */
FASTPROP_AVX2 static void fastprop_products_float(
    ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A, ptrdiff_t row_stride,
    ptrdiff_t inner_stride, const float* B, float alpha, float beta, float* C)
{
#define TYPE_ float
    FASTPROP_PRODUCTS(float, 8, fastprop_mask_float, fastprop_block_float)
#undef TYPE_
}

/* C (m, n) := alpha * (A @ B) + beta * C; A(i, p) = A[i * row_stride + p * inner_stride] */
FASTPROP_AVX2 static void fastprop_products_double(
    ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A, ptrdiff_t row_stride,
    ptrdiff_t inner_stride, const double* B, double alpha, double beta, double* C)
{
#define TYPE_ double
    FASTPROP_PRODUCTS(double, 4, fastprop_mask_double, fastprop_block_double)
#undef TYPE_
}

#undef MASK_FULL_
#undef MASK_PART_
#undef START_
#undef FINISH_

/* ------------------------------------------------------------------------ */
/* C (m, n) := A (m, k) @ W (n, k).T + bias (n), the forward product. W's    */
/* rows are the wrong way round for the micro-kernel, so a strip of 2        */
/* vectors' worth of W's rows is first transposed into a k x 2-vector panel  */
/* on the stack (zero-padded past n, at most PANEL_DEPTH deep at a time),    */
/* which every block of rows of A then reads: the copy costs 1/m of the      */
/* multiply-adds. Each output starts from its bias and adds the products in  */
/* order of p, as in the plain loops.                                        */
/* ------------------------------------------------------------------------ */

#define FASTPROP_PANEL_DEPTH 256

#define FASTPROP_AFFINE(TYPE, LANES, MASK, BLOCK)                                                \
    TYPE panel[FASTPROP_PANEL_DEPTH * 2 * LANES] __attribute__((aligned(32)));                   \
    const ptrdiff_t row_stride = k, inner_stride = 1, ldb = 2 * LANES, ldc = n;                  \
    const TYPE alpha = 1, beta = 0;                                                              \
    for (ptrdiff_t j0 = 0; j0 < n; j0 += 2 * LANES) {                                            \
        const ptrdiff_t width = n - j0 < 2 * LANES ? n - j0 : 2 * LANES;                         \
        const int partial = width < 2 * LANES;                                                   \
        const __m256i mask0 = MASK(width), mask1 = MASK(width - LANES);                          \
        for (ptrdiff_t p0 = 0; p0 < k; p0 += FASTPROP_PANEL_DEPTH) {                             \
            const ptrdiff_t depth = k - p0 < FASTPROP_PANEL_DEPTH ? k - p0 : FASTPROP_PANEL_DEPTH; \
            for (ptrdiff_t p = 0; p < depth; ++p)                                                \
                for (ptrdiff_t j = 0; j < 2 * LANES; ++j)                                        \
                    panel[p * 2 * LANES + j] = j < width ? W[(j0 + j) * k + p0 + p] : 0;         \
            const TYPE* A_block = A + p0;                                                        \
            const TYPE* bias_panel = bias + j0;                                                  \
            TYPE* C_panel = C + j0;                                                              \
            const TYPE* B = panel;                                                               \
            const ptrdiff_t k_outer = k;                                                         \
            {                                                                                    \
                const TYPE* A = A_block;                                                         \
                const TYPE* bias = bias_panel;                                                   \
                TYPE* C = C_panel;                                                               \
                const ptrdiff_t k = depth;                                                       \
                (void) k_outer;                                                                  \
                if (p0 == 0) {                                                                   \
                    AFFINE_PANEL_(BLOCK, FASTPROP_START_BIAS)                                    \
                } else {                                                                         \
                    AFFINE_PANEL_(BLOCK, FASTPROP_START_C)                                       \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    }

#define MASK_FULL_ FASTPROP_MASK_NONE
#define MASK_PART_ FASTPROP_MASK_C
#define FINISH_ FASTPROP_FINISH_SUM
#define AFFINE_PANEL_(BLOCK, START) { enum { START_ = START }; FASTPROP_PANEL(BLOCK) }

/* C (m, n) := A (m, k) @ W (n, k).T + bias (n) */
FASTPROP_AVX2 static void fastprop_affine_float(
    ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A, const float* W,
    const float* bias, float* C)
{
#define TYPE_ float
    FASTPROP_AFFINE(float, 8, fastprop_mask_float, fastprop_block_float)
#undef TYPE_
}

/* C (m, n) := A (m, k) @ W (n, k).T + bias (n) */
FASTPROP_AVX2 static void fastprop_affine_double(
    ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A, const double* W,
    const double* bias, double* C)
{
#define TYPE_ double
    FASTPROP_AFFINE(double, 4, fastprop_mask_double, fastprop_block_double)
#undef TYPE_
}

#undef MASK_FULL_
#undef MASK_PART_
#undef FINISH_
#undef AFFINE_PANEL_

/* ------------------------------------------------------------------------ */
/* out := sigmoid(z), 8 floats or 4 doubles at a time: the same operations,  */
/* in the same order, as _sigmoid and _exp_nonpositive_* in _kernels.pyx, so */
/* the results are bit for bit those of the scalar code. That is why these   */
/* are compiled for AVX2 without FMA: with FMA available the compiler would  */
/* fuse a multiply and an add, rounding once where the scalar code rounds    */
/* twice. (See _kernels.pyx for the algorithm and its accuracy.)             */
/* ------------------------------------------------------------------------ */

FASTPROP_AVX2_NO_FMA_INLINE __m256 fastprop_exp_nonpositive_float8(__m256 x)
{
#define F(value) _mm256_set1_ps((float) (value))
    x = _mm256_max_ps(F(-104.0), x);                      /* (-104 > x) ? -104 : x; NaN stays */
    const __m256 shifted = _mm256_add_ps(_mm256_mul_ps(x, F(1.44269504088896341)), F(12582912.0));
    const __m256 n = _mm256_sub_ps(shifted, F(12582912.0));
    __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(n, F(0.693359375)));
    r = _mm256_add_ps(r, _mm256_mul_ps(n, F(2.12194440e-4)));
    __m256 p = _mm256_add_ps(_mm256_mul_ps(F(1.9875691500e-4), r), F(1.3981999507e-3));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), F(8.3334519073e-3));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), F(4.1665795894e-2));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), F(1.6666665459e-1));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), F(5.0000001201e-1));
    p = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(p, _mm256_mul_ps(r, r)), r), F(1));
#undef F
    const __m256i zero = _mm256_setzero_si256();
    __m256i bits = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000));
    __m256i n_1 = _mm256_sub_epi32(zero, _mm256_srli_epi32(_mm256_sub_epi32(zero, bits), 1));
    bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(bits, n_1), _mm256_set1_epi32(127)), 23);
    n_1 = _mm256_slli_epi32(_mm256_add_epi32(n_1, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(n_1)), _mm256_castsi256_ps(bits));
}

FASTPROP_AVX2_NO_FMA_INLINE __m256d fastprop_exp_nonpositive_double4(__m256d x)
{
#define D(value) _mm256_set1_pd(value)
    x = _mm256_max_pd(D(-746.0), x);                      /* (-746 > x) ? -746 : x; NaN stays */
    const __m256d shifted = _mm256_add_pd(_mm256_mul_pd(x, D(1.4426950408889634)),
                                          D(6755399441055744.0));
    const __m256d n = _mm256_sub_pd(shifted, D(6755399441055744.0));
    __m256d r = _mm256_sub_pd(x, _mm256_mul_pd(n, D(6.93145751953125e-1)));
    r = _mm256_sub_pd(r, _mm256_mul_pd(n, D(1.42860682030941723212e-6)));
    const __m256d rr = _mm256_mul_pd(r, r);
    __m256d p = _mm256_add_pd(_mm256_mul_pd(D(1.26177193074810590878e-4), rr),
                              D(3.02994407707441961300e-2));
    p = _mm256_mul_pd(r, _mm256_add_pd(_mm256_mul_pd(p, rr), D(9.99999999999999999910e-1)));
    __m256d q = _mm256_add_pd(_mm256_mul_pd(D(3.00198505138664455042e-6), rr),
                              D(2.52448340349684104192e-3));
    q = _mm256_add_pd(_mm256_mul_pd(q, rr), D(2.27265548208155028766e-1));
    q = _mm256_add_pd(_mm256_mul_pd(q, rr), D(2.00000000000000000009e0));
    const __m256d value = _mm256_add_pd(D(1), _mm256_div_pd(_mm256_mul_pd(D(2), p),
                                                            _mm256_sub_pd(q, p)));
#undef D
    const __m256i zero = _mm256_setzero_si256();
    __m256i bits = _mm256_sub_epi64(_mm256_castpd_si256(shifted),
                                    _mm256_set1_epi64x(0x4338000000000000LL));
    __m256i n_1 = _mm256_sub_epi64(zero, _mm256_srli_epi64(_mm256_sub_epi64(zero, bits), 1));
    bits = _mm256_slli_epi64(_mm256_add_epi64(_mm256_sub_epi64(bits, n_1),
                                              _mm256_set1_epi64x(1023)), 52);
    n_1 = _mm256_slli_epi64(_mm256_add_epi64(n_1, _mm256_set1_epi64x(1023)), 52);
    return _mm256_mul_pd(_mm256_mul_pd(value, _mm256_castsi256_pd(n_1)), _mm256_castsi256_pd(bits));
}

FASTPROP_AVX2_NO_FMA_INLINE __m256 fastprop_sigmoid_float8(__m256 z)
{
    const __m256 e = fastprop_exp_nonpositive_float8(_mm256_or_ps(z, _mm256_set1_ps(-0.0f)));
    const __m256 s = _mm256_div_ps(_mm256_set1_ps(1), _mm256_add_ps(_mm256_set1_ps(1), e));
    /* z >= 0 ? s : e * s (NaN: e * s, as in the scalar code) */
    return _mm256_blendv_ps(_mm256_mul_ps(e, s), s, _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GE_OQ));
}

FASTPROP_AVX2_NO_FMA_INLINE __m256d fastprop_sigmoid_double4(__m256d z)
{
    const __m256d e = fastprop_exp_nonpositive_double4(_mm256_or_pd(z, _mm256_set1_pd(-0.0)));
    const __m256d s = _mm256_div_pd(_mm256_set1_pd(1), _mm256_add_pd(_mm256_set1_pd(1), e));
    return _mm256_blendv_pd(_mm256_mul_pd(e, s), s, _mm256_cmp_pd(z, _mm256_setzero_pd(), _CMP_GE_OQ));
}

/* out := sigmoid(z), elementwise; out may be z */
__attribute__((target("avx2"))) static void fastprop_sigmoid_float(const float* z, float* out,
                                                                  ptrdiff_t size)
{
    ptrdiff_t i = 0;
    for (; i + 8 <= size; i += 8)
        _mm256_storeu_ps(out + i, fastprop_sigmoid_float8(_mm256_loadu_ps(z + i)));
    if (i < size) {
        const __m256i mask = fastprop_mask_float(size - i);
        _mm256_maskstore_ps(out + i, mask, fastprop_sigmoid_float8(_mm256_maskload_ps(z + i, mask)));
    }
}

/* out := sigmoid(z), elementwise; out may be z */
__attribute__((target("avx2"))) static void fastprop_sigmoid_double(const double* z, double* out,
                                                                   ptrdiff_t size)
{
    ptrdiff_t i = 0;
    for (; i + 4 <= size; i += 4)
        _mm256_storeu_pd(out + i, fastprop_sigmoid_double4(_mm256_loadu_pd(z + i)));
    if (i < size) {
        const __m256i mask = fastprop_mask_double(size - i);
        _mm256_maskstore_pd(out + i, mask, fastprop_sigmoid_double4(_mm256_maskload_pd(z + i, mask)));
    }
}

#else  /* no GCC-compatible x86-64 compiler: no vector kernels, never called */

#define FASTPROP_VECTOR_PRODUCTS 0

static int fastprop_cpu_has_avx2_fma(void) { return 0; }

static void fastprop_products_float(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A,
                                    ptrdiff_t row_stride, ptrdiff_t inner_stride,
                                    const float* B, float alpha, float beta, float* C) {}
static void fastprop_products_double(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A,
                                     ptrdiff_t row_stride, ptrdiff_t inner_stride,
                                     const double* B, double alpha, double beta, double* C) {}
static void fastprop_sigmoid_float(const float* z, float* out, ptrdiff_t size) {}
static void fastprop_sigmoid_double(const double* z, double* out, ptrdiff_t size) {}
static void fastprop_affine_float(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* A,
                                  const float* W, const float* bias, float* C) {}
static void fastprop_affine_double(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double* A,
                                   const double* W, const double* bias, double* C) {}

#endif

#endif  /* FASTPROP_VECTOR_PRODUCTS_H */
