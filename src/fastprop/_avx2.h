/* Private to the AVX2 products (_vector_products_avx2.c and its template), and
 * only where FASTPROP_VECTOR_PRODUCTS is 1: the attributes that compile one
 * function for AVX2 (with or without FMA) while the rest of the extension stays
 * baseline x86-64, and the lane masks of the masked loads and stores.
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

#endif  /* FASTPROP_AVX2_H */
