/* The sigmoid on every CPU path, from the one source _sigmoid_template.c (see _sigmoid.h). */
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "_sigmoid.h"

/* Each path's exp of non-positive numbers (the template defines them; only the
 * dispatcher at the end calls them). */
void fastprop_exp_nonpositive_baseline_float(const float* x, float* out, ptrdiff_t size);
void fastprop_exp_nonpositive_baseline_double(const double* x, double* out, ptrdiff_t size);
void fastprop_exp_nonpositive_avx2_float(const float* x, float* out, ptrdiff_t size);
void fastprop_exp_nonpositive_avx2_double(const double* x, double* out, ptrdiff_t size);
void fastprop_exp_nonpositive_avx512_float(const float* x, float* out, ptrdiff_t size);
void fastprop_exp_nonpositive_avx512_double(const double* x, double* out, ptrdiff_t size);

#define FASTPROP_CAT_(a, b) a##_##b
#define FASTPROP_CAT(a, b) FASTPROP_CAT_(a, b)
#define FASTPROP_CAT3_(a, b, c) a##_##b##_##c
#define FASTPROP_CAT3(a, b, c) FASTPROP_CAT3_(a, b, c)

/* exp(x), x <= 0, in float: Cephes' expf */
#define EXP_FLOAT_LOWEST (-104.0f)                /* exp(x) rounds to 0 in float below it */
#define LOG2E_FLOAT 1.44269504088896341f
#define ROUNDING_SHIFT_FLOAT 12582912.0f          /* 1.5 * 2**23 */
#define FLOAT_ROUNDING_SHIFT_BITS 0x4B400000      /* its bits */
#define LN2_HIGH_FLOAT 0.693359375f               /* ln 2 = LN2_HIGH - LN2_LOW, in two parts */
#define LN2_LOW_FLOAT 2.12194440e-4f
#define EXP_FLOAT_P0 1.9875691500e-4f
#define EXP_FLOAT_P1 1.3981999507e-3f
#define EXP_FLOAT_P2 8.3334519073e-3f
#define EXP_FLOAT_P3 4.1665795894e-2f
#define EXP_FLOAT_P4 1.6666665459e-1f
#define EXP_FLOAT_P5 5.0000001201e-1f
#define TWO_TO_MINUS_64 5.42101086242752217e-20f

/* exp(x), x <= 0, in double: Cephes' exp (a Pade form) */
#define EXP_DOUBLE_LOWEST (-746.0)                /* exp(x) rounds to 0 in double below it */
#define LOG2E_DOUBLE 1.4426950408889634
#define ROUNDING_SHIFT_DOUBLE 6755399441055744.0  /* 1.5 * 2**52 */
#define DOUBLE_ROUNDING_SHIFT_BITS 0x4338000000000000LL
#define LN2_HIGH_DOUBLE 6.93145751953125e-1       /* ln 2 = LN2_HIGH + LN2_LOW, in two parts */
#define LN2_LOW_DOUBLE 1.42860682030941723212e-6
#define EXP_DOUBLE_P0 1.26177193074810590878e-4
#define EXP_DOUBLE_P1 3.02994407707441961300e-2
#define EXP_DOUBLE_P2 9.99999999999999999910e-1
#define EXP_DOUBLE_Q0 3.00198505138664455042e-6
#define EXP_DOUBLE_Q1 2.52448340349684104192e-3
#define EXP_DOUBLE_Q2 2.27265548208155028766e-1
#define EXP_DOUBLE_Q3 2.00000000000000000009e0
#define TWO_TO_MINUS_512 7.458340731200206743e-155

/* tanh(z) for |z| < TANH_SMALL_LIMIT: Cephes' tanhf polynomial and tanh rational form */
#define TANH_SMALL_LIMIT 0.625
#define TANH_FLOAT_P0 (-5.70498872745e-3f)
#define TANH_FLOAT_P1 2.06390887954e-2f
#define TANH_FLOAT_P2 (-5.37397155531e-2f)
#define TANH_FLOAT_P3 1.33314422036e-1f
#define TANH_FLOAT_P4 (-3.33332819422e-1f)
#define TANH_DOUBLE_P0 (-9.64399179425052238628e-1)
#define TANH_DOUBLE_P1 (-9.92877231001918586564e1)
#define TANH_DOUBLE_P2 (-1.61468768441708447952e3)
#define TANH_DOUBLE_Q0 1.12811678491632931402e2   /* Q(s) = ((s + Q0) s + Q1) s + Q2 */
#define TANH_DOUBLE_Q1 2.23548839060100448583e3
#define TANH_DOUBLE_Q2 4.84406305325125486048e3

/* mask ? a : b for GCC vectors, a mask being all ones or zero in each lane */
#define BIT_SELECT(bits, mask, a, b) ((__typeof__(a)) (((bits) (mask) & (bits) (a)) | (~(bits) (mask) & (bits) (b))))

/* baseline: 16-byte vectors (SSE2 on x86-64, whatever the target has elsewhere) */
#define PATH baseline
#define VECTOR_BYTES 16
#define PATH_TARGET
#if defined(__GNUC__) && defined(__x86_64__)
#define MAX_FLOAT(a, b) ((__typeof__(a)) _mm_max_ps(a, b))
#define MAX_DOUBLE(a, b) ((__typeof__(a)) _mm_max_pd(a, b))
#else
#define MAX_FLOAT(a, b) SELECT_FLOAT((a) > (b), a, b)
#define MAX_DOUBLE(a, b) SELECT_DOUBLE((a) > (b), a, b)
#endif
#define SELECT_FLOAT(mask, a, b) BIT_SELECT(float_bits_baseline, mask, a, b)
#define SELECT_DOUBLE(mask, a, b) BIT_SELECT(double_bits_baseline, mask, a, b)
#include "_sigmoid_template.c"
#undef PATH
#undef VECTOR_BYTES
#undef PATH_TARGET
#undef MAX_FLOAT
#undef MAX_DOUBLE
#undef SELECT_FLOAT
#undef SELECT_DOUBLE

#if defined(__GNUC__) && defined(__x86_64__) && !defined(FASTPROP_WITHOUT_VECTOR_KERNELS)

/* avx2: 32-byte vectors; AVX2 without FMA, so no multiply and add could be fused */
#define PATH avx2
#define VECTOR_BYTES 32
#define PATH_TARGET __attribute__((target("avx2")))
#define MAX_FLOAT(a, b) ((__typeof__(a)) _mm256_max_ps(a, b))
#define MAX_DOUBLE(a, b) ((__typeof__(a)) _mm256_max_pd(a, b))
#define SELECT_FLOAT(mask, a, b) ((__typeof__(a)) _mm256_blendv_ps(b, a, (__m256) (mask)))
#define SELECT_DOUBLE(mask, a, b) ((__typeof__(a)) _mm256_blendv_pd(b, a, (__m256d) (mask)))
#include "_sigmoid_template.c"
#undef PATH
#undef VECTOR_BYTES
#undef PATH_TARGET
#undef MAX_FLOAT
#undef MAX_DOUBLE
#undef SELECT_FLOAT
#undef SELECT_DOUBLE

/* avx512: 64-byte vectors; -ffp-contract=off keeps every multiply and add apart here too */
#define PATH avx512
#define VECTOR_BYTES 64
#define PATH_TARGET __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
#define MAX_FLOAT(a, b) ((__typeof__(a)) _mm512_max_ps(a, b))
#define MAX_DOUBLE(a, b) ((__typeof__(a)) _mm512_max_pd(a, b))
#define SELECT_FLOAT(mask, a, b) \
    ((__typeof__(a)) _mm512_mask_blend_ps(_mm512_movepi32_mask((__m512i) (mask)), b, a))
#define SELECT_DOUBLE(mask, a, b) \
    ((__typeof__(a)) _mm512_mask_blend_pd(_mm512_movepi64_mask((__m512i) (mask)), b, a))
#include "_sigmoid_template.c"
#undef PATH
#undef VECTOR_BYTES
#undef PATH_TARGET
#undef MAX_FLOAT
#undef MAX_DOUBLE
#undef SELECT_FLOAT
#undef SELECT_DOUBLE

#else  /* never called: the avx2 and avx512 paths do not exist in this build */

/* A path's array function (and panel function, for the sigmoid and tanh) as the baseline's. */
#define FASTPROP_BASELINE_STANDS_IN(name, path, type)                                           \
    void fastprop_##name##_##path##_##type(const type* z, type* out, ptrdiff_t size)            \
    {                                                                                           \
        fastprop_##name##_baseline_##type(z, out, size);                                        \
    }
#define FASTPROP_BASELINE_PANEL_STANDS_IN(name, path, type)                                     \
    void fastprop_##name##_panel_##path##_##type(type* C, ptrdiff_t ldc, ptrdiff_t rows,       \
                                                 ptrdiff_t width)                               \
    {                                                                                           \
        for (ptrdiff_t i = 0; i < rows; ++i)                                                    \
            fastprop_##name##_baseline_##type(C + i * ldc, C + i * ldc, width);                 \
    }
#define FASTPROP_STAND_INS(path, type)                                                          \
    FASTPROP_BASELINE_STANDS_IN(sigmoid, path, type)                                            \
    FASTPROP_BASELINE_STANDS_IN(tanh, path, type)                                               \
    FASTPROP_BASELINE_STANDS_IN(exp_nonpositive, path, type)                                    \
    FASTPROP_BASELINE_PANEL_STANDS_IN(sigmoid, path, type)                                      \
    FASTPROP_BASELINE_PANEL_STANDS_IN(tanh, path, type)
FASTPROP_STAND_INS(avx2, float)
FASTPROP_STAND_INS(avx2, double)
FASTPROP_STAND_INS(avx512, float)
FASTPROP_STAND_INS(avx512, double)

#endif

/* Arrays shorter than this run at 32 bytes on the avx512 path: for a few vectors,
 * the 64-byte code's masked tail and set-up cost more than its width saves (a
 * 2-2-1 network's fit, 8 sigmoids a step: 1.95 ms at 64 bytes against 1.62 at 32,
 * on the Xeon of benchmarks/RESULTS.md). The bits are the same either way. */
#define FASTPROP_SIGMOID_AVX512_MIN_SIZE 64

/* The function on the path cpu (or the one below it, for short arrays on avx512). */
#define FASTPROP_DISPATCH(name, type)                                                           \
    void fastprop_##name##_##type(fastprop_cpu_path cpu, const type* z, type* out,              \
                                  ptrdiff_t size)                                               \
    {                                                                                           \
        if (cpu >= FASTPROP_CPU_AVX512 && size >= FASTPROP_SIGMOID_AVX512_MIN_SIZE)             \
            fastprop_##name##_avx512_##type(z, out, size);                                      \
        else if (cpu >= FASTPROP_CPU_AVX2)                                                      \
            fastprop_##name##_avx2_##type(z, out, size);                                        \
        else                                                                                    \
            fastprop_##name##_baseline_##type(z, out, size);                                    \
    }
FASTPROP_DISPATCH(sigmoid, float)
FASTPROP_DISPATCH(sigmoid, double)
FASTPROP_DISPATCH(tanh, float)
FASTPROP_DISPATCH(tanh, double)
FASTPROP_DISPATCH(exp_nonpositive, float)
FASTPROP_DISPATCH(exp_nonpositive, double)
