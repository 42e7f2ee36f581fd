/* Private to the vector products (_vector_products_avx2.c, and
 * _vector_products_avx512.c, which reuses the transposes), and only where
 * FASTPROP_VECTOR_PRODUCTS is 1: the attributes that compile one function for
 * AVX2 (with or without FMA) while the rest of the extension stays baseline
 * x86-64, the lane masks of the masked loads and stores, and the in-register
 * transposes of 8 x 8 floats and 4 x 4 doubles.
 */
#ifndef FASTPROP_AVX2_H
#define FASTPROP_AVX2_H

#include <stddef.h>
#include <immintrin.h>

/* The kernels that are real functions start on a cache line (aligned(64)), and
 * setup.py aligns loops to 32 bytes: the code is the same either way, but where
 * its hot loops fall relative to the instruction fetch blocks moves their speed
 * by a few per cent; so it depends on the kernel's own code only, not on
 * whatever precedes it in the file. */
#define FASTPROP_AVX2 __attribute__((target("avx2,fma"), aligned(64)))
#define FASTPROP_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) static inline
#define FASTPROP_AVX2_NO_FMA __attribute__((target("avx2"), aligned(64)))
#define FASTPROP_AVX2_NO_FMA_INLINE __attribute__((target("avx2"), always_inline)) static inline

/* Lanes [0, count) set: masked loads read only those (the others read as 0 and
 * cannot fault), masked stores write only those. */
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

#endif  /* FASTPROP_AVX2_H */
