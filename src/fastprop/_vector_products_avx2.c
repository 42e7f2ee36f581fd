/* Register-blocked AVX2/FMA matrix products for small and medium matrices.
 *
 * Why these exist: for products of up to a few hundred thousand multiply-adds
 * (batch 32 x width 64 x width 64, say), OpenBLAS spends a large share of each
 * call packing its operands into panels and deciding on threads, and then runs
 * them on one core. These kernels read the row-major operands where they lie,
 * keep a block of the result in registers for the whole sum, and write it once.
 * _routing.c sends a product here on the avx2 and avx512 paths when it is in
 * the size range measured to be faster than both the plain loops and BLAS
 * (benchmarks/product_crossover.py).
 *
 * Build and dispatch: only the functions marked FASTPROP_AVX2 (a target
 * attribute, _avx2.h) are compiled for AVX2+FMA; the rest of the extension,
 * including the entry points below that share the work out over the team,
 * stays baseline x86-64, and _products.c calls in here only on the avx2 and
 * avx512 CPU paths, which the configuration allows only where
 * fastprop_cpu_has_avx2_fma() said yes (_config.c). Where the compiler is not GCC-compatible
 * on x86-64, or the build defines FASTPROP_WITHOUT_VECTOR_KERNELS, this file
 * compiles to stubs (FASTPROP_VECTOR_PRODUCTS is 0) that are never called.
 *
 * Layout: _vector_products_avx2_template.c holds each kernel once, written over
 * TYPE, VEC and the VEC_* intrinsics; it is included below once per dtype.
 *
 * Contract, like every C kernel of fastprop: no checks, no allocation, no Python;
 * every matrix is row-major and C-contiguous, except the strided left operand
 * of fastprop_products_*, whose two strides the caller gives. Sizes are >= 1.
 *
 * Numerics: each output is one sum over the inner index, in order of that
 * index for the broadcast kernels (the same order as the textbook and the plain
 * loops, but with fused multiply-adds), and in eight (float) or four (double)
 * interleaved partial sums for the dot-product kernels; the results agree with
 * the loops and BLAS to rounding. Which thread computes which task changes no
 * bit. The sigmoid is _sigmoid.h's, with the same bits on every path.
 */
#include "_vector_products.h"
#include "_sigmoid.h"

#if FASTPROP_VECTOR_PRODUCTS

#include "_avx2.h"

#include "_team.h"

/* The micro-kernel's cases (see the template): how its sums start, how they end
 * and which loads and stores are masked. */
enum { FASTPROP_START_ZERO, FASTPROP_START_BIAS, FASTPROP_START_C };
enum { FASTPROP_FINISH_SCALED, FASTPROP_FINISH_SUM };
enum { FASTPROP_MASK_NONE, FASTPROP_MASK_C, FASTPROP_MASK_B_AND_C };

/* Column panels of C are 2 vectors wide: 16 floats or 8 doubles. */
#define FASTPROP_PANELS(n, lanes) (((n) + 2 * (lanes) - 1) / (2 * (lanes)))

/* Deepest B panel packed on the stack by the backward products (64 KiB); deeper
 * sums read B in place. */
#define FASTPROP_PACK_DEPTH 1024
/* Rows, and deepest sum, of the A.T @ B strips (32 KiB in float64 on the stack). */
#define FASTPROP_STRIP_ROWS 16
#define FASTPROP_STRIP_DEPTH 512
/* Deepest W panel transposed on the stack at a time by the forward step. */
#define FASTPROP_PANEL_DEPTH 256

/* target[i * target_stride + j] := source[j * source_stride + i], i, j < LANES, in registers. */
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

/* The sum of a vector's lanes, for the dot products of narrow forward products. */
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

/* NAME(x) is x_TYPE: the template's functions get one name per dtype. */
#define FASTPROP_NAME_(name, type) name##_##type
#define FASTPROP_NAME(name, type) FASTPROP_NAME_(name, type)
#define NAME(name) FASTPROP_NAME(name, TYPE)

#define TYPE float
#define VEC __m256
#define LANES 8
#define VEC_SET0 _mm256_setzero_ps
#define VEC_LOAD _mm256_loadu_ps
#define VEC_LOAD_MASKED _mm256_maskload_ps
#define VEC_STORE _mm256_storeu_ps
#define VEC_STORE_ALIGNED _mm256_store_ps
#define VEC_STORE_MASKED _mm256_maskstore_ps
#define VEC_BROADCAST _mm256_broadcast_ss
#define VEC_FMADD _mm256_fmadd_ps
#define VEC_MUL _mm256_mul_ps
#define VEC_MASK fastprop_mask_float
#define VEC_SUM fastprop_sum_float
#define VEC_TRANSPOSE fastprop_transpose_float
#include "_vector_products_avx2_template.c"
#undef TYPE
#undef VEC
#undef LANES
#undef VEC_SET0
#undef VEC_LOAD
#undef VEC_LOAD_MASKED
#undef VEC_STORE
#undef VEC_STORE_ALIGNED
#undef VEC_STORE_MASKED
#undef VEC_BROADCAST
#undef VEC_FMADD
#undef VEC_MUL
#undef VEC_MASK
#undef VEC_SUM
#undef VEC_TRANSPOSE

#define TYPE double
#define VEC __m256d
#define LANES 4
#define VEC_SET0 _mm256_setzero_pd
#define VEC_LOAD _mm256_loadu_pd
#define VEC_LOAD_MASKED _mm256_maskload_pd
#define VEC_STORE _mm256_storeu_pd
#define VEC_STORE_ALIGNED _mm256_store_pd
#define VEC_STORE_MASKED _mm256_maskstore_pd
#define VEC_BROADCAST _mm256_broadcast_sd
#define VEC_FMADD _mm256_fmadd_pd
#define VEC_MUL _mm256_mul_pd
#define VEC_MASK fastprop_mask_double
#define VEC_SUM fastprop_sum_double
#define VEC_TRANSPOSE fastprop_transpose_double
#include "_vector_products_avx2_template.c"
#undef TYPE
#undef VEC
#undef LANES
#undef VEC_SET0
#undef VEC_LOAD
#undef VEC_LOAD_MASKED
#undef VEC_STORE
#undef VEC_STORE_ALIGNED
#undef VEC_STORE_MASKED
#undef VEC_BROADCAST
#undef VEC_FMADD
#undef VEC_MUL
#undef VEC_MASK
#undef VEC_SUM
#undef VEC_TRANSPOSE

#else  /* no vector kernels: stubs, never called (fastprop_cpu_best_path says "baseline") */

int fastprop_products_float(struct fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                            const float* A, ptrdiff_t row_stride, ptrdiff_t inner_stride,
                            const float* B, float alpha, float beta, float* C,
                            const float* sigmoid_outputs, float* column_sums) { return 0; }
int fastprop_products_double(struct fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                             const double* A, ptrdiff_t row_stride, ptrdiff_t inner_stride,
                             const double* B, double alpha, double beta, double* C,
                             const double* sigmoid_outputs, double* column_sums) { return 0; }
void fastprop_dense_sigmoid_float(struct fastprop_team* team, ptrdiff_t m, ptrdiff_t n,
                                  ptrdiff_t k, const float* A, const float* W,
                                  const float* bias, float* C) {}
void fastprop_dense_sigmoid_double(struct fastprop_team* team, ptrdiff_t m, ptrdiff_t n,
                                   ptrdiff_t k, const double* A, const double* W,
                                   const double* bias, double* C) {}

#endif
