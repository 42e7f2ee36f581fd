/* Register-blocked AVX-512 matrix products: the AVX2/FMA kernels of
 * _vector_products_avx2.c (read its opening comment: why they exist, what they
 * compute) at twice the width, for the avx512 CPU path.
 *
 * Build and dispatch: the same source, _vector_products_template.c, included
 * below once per dtype with 512-bit vectors (16 floats, 8 doubles), mask
 * registers for the last columns, and the target attribute of _avx512.h, so
 * that only these functions use AVX-512 and the extension stays baseline x86-64.
 * _vector_products.c calls in here only on the avx512 path, which the
 * configuration allows only where fastprop_cpu_has_avx512() said yes
 * (_config.c). Where FASTPROP_VECTOR_PRODUCTS is 0 this file compiles to nothing.
 *
 * Blocking: a column panel is 2 vectors wide (32 floats, 16 doubles), as on
 * AVX2; a block is 8 rows of it (16 accumulators of the 32 registers; AVX2 has
 * 4 rows, 8 of 16: on this Xeon, 8 rows took the A.T @ B products at 784 x 256
 * and 1024 x 1024 from about 100 and 75 to 120 GFLOP/s, one noisy run); the
 * backward products pack at most 64 KiB of B on the stack at a time, as on
 * AVX2, which is 512 deep here (1024 there); the forward step's W panels and
 * the A.T @ B strips have the same depths as on AVX2.
 *
 * Numerics, the same bits as the avx2 path: in the broadcast kernels (every
 * backward product; the forward step for outputs of one AVX2 vector or more),
 * each output is computed by the same sequence of operations as on AVX2: its
 * start (0, the bias or C), one fused multiply-add per inner index in order,
 * then alpha * sum + C or alpha * sum, and f' or the activation function (_activations.h,
 * the same bits on every path); more lanes per vector and different blocking
 * change which outputs are computed side by side, never an output's own
 * operations. Narrow forward outputs (fewer than 8 floats or 4 doubles) run
 * in the AVX2 dot-product kernel itself (DOT_PRODUCTS 0), whose eight or four
 * interleaved partial sums an AVX-512 version would have to copy exactly to
 * keep the bits. Which thread computes which task changes no bit.
 */
#include "_vector_products.h"

#if FASTPROP_VECTOR_PRODUCTS

#include "_avx512.h"
#include "_activations.h"
#include "_team.h"
#include "_vector_products_kernels.h"

#define KERNEL FASTPROP_AVX512
#define KERNEL_INLINE FASTPROP_AVX512_INLINE
#define KERNEL_NO_FMA_INLINE FASTPROP_AVX512_INLINE
#define BLOCK_ROWS 8
#define DOT_PRODUCTS 0
#define NAME(name) FASTPROP_NAME(name, avx512, TYPE)

#define TYPE float
#define VEC __m512
#define LANES 16
#define MASK __mmask16
#define VEC_SET0 _mm512_setzero_ps
#define VEC_LOAD _mm512_loadu_ps
#define VEC_LOAD_MASKED(address, mask) _mm512_maskz_loadu_ps(mask, address)
#define VEC_STORE _mm512_storeu_ps
#define VEC_STORE_ALIGNED _mm512_store_ps
#define VEC_STORE_MASKED _mm512_mask_storeu_ps
#define VEC_BROADCAST(address) _mm512_set1_ps(*(address))
#define VEC_FMADD _mm512_fmadd_ps
#define VEC_MUL _mm512_mul_ps
#define VEC_SUB _mm512_sub_ps
#define VEC_MASK fastprop_mask16
#define VEC_TRANSPOSE fastprop_transpose16_float
#define VEC_KEEP_WHERE_POSITIVE(s, value) _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(s, _mm512_setzero_ps(), _CMP_GT_OQ), value)
#define VEC_RELU(value) _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(value, _mm512_setzero_ps(), _CMP_NLT_UQ), value)
#define ACTIVATE_ARRAY(function, z, out, size) fastprop_activate_float(FASTPROP_CPU_AVX512, function, z, out, size)
#define ACTIVATE_PANEL(function, C, ldc, rows, width) \
    fastprop_activate_panel_float(FASTPROP_CPU_AVX512, function, C, ldc, rows, width)
#define NARROW_DENSE_ACTIVATE fastprop_dense_activate_avx2_float
#include "_vector_products_template.c"
#undef TYPE
#undef VEC
#undef LANES
#undef MASK
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
#undef VEC_TRANSPOSE
#undef VEC_KEEP_WHERE_POSITIVE
#undef VEC_RELU
#undef ACTIVATE_ARRAY
#undef ACTIVATE_PANEL
#undef NARROW_DENSE_ACTIVATE

#define TYPE double
#define VEC __m512d
#define LANES 8
#define MASK __mmask8
#define VEC_SET0 _mm512_setzero_pd
#define VEC_LOAD _mm512_loadu_pd
#define VEC_LOAD_MASKED(address, mask) _mm512_maskz_loadu_pd(mask, address)
#define VEC_STORE _mm512_storeu_pd
#define VEC_STORE_ALIGNED _mm512_store_pd
#define VEC_STORE_MASKED _mm512_mask_storeu_pd
#define VEC_BROADCAST(address) _mm512_set1_pd(*(address))
#define VEC_FMADD _mm512_fmadd_pd
#define VEC_MUL _mm512_mul_pd
#define VEC_SUB _mm512_sub_pd
#define VEC_MASK fastprop_mask8
#define VEC_TRANSPOSE fastprop_transpose8_double
#define VEC_KEEP_WHERE_POSITIVE(s, value) _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(s, _mm512_setzero_pd(), _CMP_GT_OQ), value)
#define VEC_RELU(value) _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(value, _mm512_setzero_pd(), _CMP_NLT_UQ), value)
#define ACTIVATE_ARRAY(function, z, out, size) fastprop_activate_double(FASTPROP_CPU_AVX512, function, z, out, size)
#define ACTIVATE_PANEL(function, C, ldc, rows, width) \
    fastprop_activate_panel_double(FASTPROP_CPU_AVX512, function, C, ldc, rows, width)
#define NARROW_DENSE_ACTIVATE fastprop_dense_activate_avx2_double
#include "_vector_products_template.c"

#endif  /* FASTPROP_VECTOR_PRODUCTS */
