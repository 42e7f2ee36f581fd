/* Default configuration and CPU feature detection (see _config.h). */
#include "_config.h"

/* The thresholds route by product size as measured with benchmarks/product_crossover.py;
 * benchmarks/PRODUCT_CROSSOVER.md holds the last run and the machine it ran on. They are
 * the "fixed" plan, and what the "measured" plan falls back on for calls it has not
 * measured. */
fastprop_config fastprop_default_config(void)
{
    fastprop_config config;
    config.threads = 1;
    config.pin_threads = 1;
    config.plan = FASTPROP_PLAN_FIXED;
    config.cpu = FASTPROP_CPU_BASELINE;
    config.vector_min_multiply_adds = 256;
    config.blas_min_multiply_adds_float32 = (ptrdiff_t) 1 << 26;
    config.blas_min_multiply_adds_float64 = (ptrdiff_t) 1 << 24;
    config.loops_blas_min_multiply_adds = 1024;
    config.single_thread_blas_min_multiply_adds = (ptrdiff_t) 1 << 19;
    config.narrow_blas_min_multiply_adds = 8192;
    config.parallel_min_multiply_adds = 32768;
    config.parallel_min_batch_rows = 16;
    return config;
}

#if defined(__GNUC__) && defined(__x86_64__)

/* gcc's CPU model also checks that the OS saves the YMM (and ZMM) registers. */
int fastprop_cpu_has_avx2_fma(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int fastprop_cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return fastprop_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f")
           && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")
           && __builtin_cpu_supports("avx512vl");
}

#else  /* not x86-64, or a compiler without gcc's CPU model: no vector kernels */

int fastprop_cpu_has_avx2_fma(void) { return 0; }
int fastprop_cpu_has_avx512(void) { return 0; }

#endif

#if defined(__GNUC__) && defined(__x86_64__) && !defined(FASTPROP_WITHOUT_VECTOR_KERNELS)
int fastprop_vector_kernels_compiled(void) { return 1; }
#else
int fastprop_vector_kernels_compiled(void) { return 0; }
#endif

fastprop_cpu_path fastprop_cpu_best_path(void)
{
    if (!fastprop_vector_kernels_compiled())
        return FASTPROP_CPU_BASELINE;
    if (fastprop_cpu_has_avx512())
        return FASTPROP_CPU_AVX512;
    if (fastprop_cpu_has_avx2_fma())
        return FASTPROP_CPU_AVX2;
    return FASTPROP_CPU_BASELINE;
}
