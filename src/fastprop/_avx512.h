/* Private to the AVX-512 products (_vector_products_avx512.c), and only where
 * FASTPROP_VECTOR_PRODUCTS is 1: the attributes that compile one function for
 * AVX-512 (F, DQ, BW, VL, and FMA) while the rest of the extension stays
 * baseline x86-64 (aligned(64) as in _avx2.h: the kernels' speed then depends
 * on their own code only), the lane masks of the masked loads and stores (mask
 * registers), and the transposes of 16 x 16 floats and 8 x 8 doubles.
 */
#ifndef FASTPROP_AVX512_H
#define FASTPROP_AVX512_H

#include <stddef.h>
#include <immintrin.h>

#include "_avx2.h"

#define FASTPROP_AVX512_TARGET "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"
#define FASTPROP_AVX512 __attribute__((target(FASTPROP_AVX512_TARGET), aligned(64)))
#define FASTPROP_AVX512_INLINE \
    __attribute__((target(FASTPROP_AVX512_TARGET), always_inline)) static inline

/* Lanes [0, count) set, for any count (<= 0: none; >= the lanes: all). Masked
 * loads read only those lanes (the others read as 0 and cannot fault), masked
 * stores write only those. */
FASTPROP_AVX512_INLINE __mmask16 fastprop_mask16(ptrdiff_t count)
{
    return (__mmask16) (count <= 0 ? 0 : count >= 16 ? 0xFFFF : (1u << count) - 1);
}

FASTPROP_AVX512_INLINE __mmask8 fastprop_mask8(ptrdiff_t count)
{
    return (__mmask8) (count <= 0 ? 0 : count >= 8 ? 0xFF : (1u << count) - 1);
}

/* target[i * target_stride + j] := source[j * source_stride + i], i, j < 16 (or 8):
 * as four 8 x 8 (or 4 x 4) transposes in registers, the off-diagonal blocks swapped. */
FASTPROP_AVX512_INLINE void fastprop_transpose16_float(const float* source, ptrdiff_t source_stride,
                                                        float* target, ptrdiff_t target_stride)
{
    for (int i = 0; i < 16; i += 8)
        for (int j = 0; j < 16; j += 8)
            fastprop_transpose_float(source + j * source_stride + i, source_stride,
                                     target + i * target_stride + j, target_stride);
}

FASTPROP_AVX512_INLINE void fastprop_transpose8_double(const double* source,
                                                        ptrdiff_t source_stride, double* target,
                                                        ptrdiff_t target_stride)
{
    for (int i = 0; i < 8; i += 4)
        for (int j = 0; j < 8; j += 4)
            fastprop_transpose_double(source + j * source_stride + i, source_stride,
                                      target + i * target_stride + j, target_stride);
}

#endif  /* FASTPROP_AVX512_H */
