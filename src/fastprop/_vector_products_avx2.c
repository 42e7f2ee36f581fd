/* Register-blocked AVX2/FMA matrix products for small and medium matrices.
 *
 * Why these exist: for products of up to a few hundred thousand multiply-adds
 * (batch 32 x width 64 x width 64, say), OpenBLAS spends a large share of each
 * call packing its operands into panels and deciding on threads, and then runs
 * them on one core. These kernels read the row-major operands where they lie,
 * keep a block of the result in registers for the whole sum, and write it once.
 * _routing.c sends a product to the vector kernels on the avx2 and avx512 paths
 * when it is in the size range measured to be faster than both the plain loops
 * and BLAS (benchmarks/product_crossover.py); on the avx2 path they are these.
 *
 * Build and dispatch: only the functions marked FASTPROP_AVX2 (a target
 * attribute, _avx2.h) are compiled for AVX2+FMA; the rest of the extension,
 * including the entry points below that share the work out over the team,
 * stays baseline x86-64. _vector_products.c calls in here on the avx2 path, and
 * for narrow forward outputs on the avx512 path too (both of which the
 * configuration allows only where fastprop_cpu_has_avx2_fma() said yes,
 * _config.c). Where the compiler is not GCC-compatible on x86-64, or the build
 * defines FASTPROP_WITHOUT_VECTOR_KERNELS, this file compiles to nothing
 * (FASTPROP_VECTOR_PRODUCTS is 0; _vector_products.c has the stubs).
 *
 * Layout: _vector_products_template.c holds each kernel once, written over
 * TYPE, VEC and the VEC_* intrinsics; it is included below once per dtype, and
 * by _vector_products_avx512.c at that path's width.
 *
 * Contract, like every C kernel of fastprop: no checks, no allocation, no Python;
 * every matrix is row-major and C-contiguous, except the strided left operand
 * of fastprop_products_*, whose two strides the caller gives. Sizes are >= 1.
 *
 * Numerics: each output is one sum over the inner index, in order of that
 * index for the broadcast kernels (the same order as the textbook and the plain
 * loops, but with fused multiply-adds), and in eight (float) or four (double)
 * interleaved partial sums for the dot-product kernels of narrow forward
 * outputs (the avx512 path uses these too, and its broadcast kernels do each
 * output's operations in the same order, so both paths give the same bits);
 * the results agree with the loops and BLAS to rounding. Which thread computes
 * which task changes no bit. The activation functions are _activations.h's, with the same bits on every path.
 */
#include "_vector_products.h"

#if FASTPROP_VECTOR_PRODUCTS

#include "_avx2.h"
#include "_activations.h"
#include "_team.h"
#include "_vector_products_kernels.h"

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

#define MASK __m256i
#define KERNEL FASTPROP_AVX2
#define KERNEL_INLINE FASTPROP_AVX2_INLINE
#define KERNEL_NO_FMA_INLINE FASTPROP_AVX2_NO_FMA_INLINE
#define BLOCK_ROWS 4
#define DOT_PRODUCTS 1
#define NAME(name) FASTPROP_NAME(name, avx2, TYPE)

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
#define VEC_SUB _mm256_sub_ps
#define VEC_MASK fastprop_mask_float
#define VEC_SUM fastprop_sum_float
#define VEC_TRANSPOSE fastprop_transpose_float
#define VEC_KEEP_WHERE_POSITIVE(s, value) _mm256_and_ps(_mm256_cmp_ps(s, _mm256_setzero_ps(), _CMP_GT_OQ), value)
#define VEC_RELU(value) _mm256_and_ps(_mm256_cmp_ps(value, _mm256_setzero_ps(), _CMP_NLT_UQ), value)
#define ACTIVATE_ARRAY(function, z, out, size) fastprop_activate_float(FASTPROP_CPU_AVX2, function, z, out, size)
#define ACTIVATE_PANEL(function, C, ldc, rows, width) \
    fastprop_activate_panel_float(FASTPROP_CPU_AVX2, function, C, ldc, rows, width)
#include "_vector_products_template.c"
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
#undef VEC_SUB
#undef VEC_MASK
#undef VEC_SUM
#undef VEC_TRANSPOSE
#undef VEC_KEEP_WHERE_POSITIVE
#undef VEC_RELU
#undef ACTIVATE_ARRAY
#undef ACTIVATE_PANEL

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
#define VEC_SUB _mm256_sub_pd
#define VEC_MASK fastprop_mask_double
#define VEC_SUM fastprop_sum_double
#define VEC_TRANSPOSE fastprop_transpose_double
#define VEC_KEEP_WHERE_POSITIVE(s, value) _mm256_and_pd(_mm256_cmp_pd(s, _mm256_setzero_pd(), _CMP_GT_OQ), value)
#define VEC_RELU(value) _mm256_and_pd(_mm256_cmp_pd(value, _mm256_setzero_pd(), _CMP_NLT_UQ), value)
#define ACTIVATE_ARRAY(function, z, out, size) fastprop_activate_double(FASTPROP_CPU_AVX2, function, z, out, size)
#define ACTIVATE_PANEL(function, C, ldc, rows, width) \
    fastprop_activate_panel_double(FASTPROP_CPU_AVX2, function, C, ldc, rows, width)
#include "_vector_products_template.c"

#endif  /* FASTPROP_VECTOR_PRODUCTS */
