/* The configuration every kernel reads: one struct, passed down by pointer.
 *
 * _kernels.pyx holds the process's configuration (fastprop.get_config /
 * set_config / config_context change it, with the GIL held) and hands each
 * kernel call a copy taken before the GIL is released, so a call runs from
 * start to end under one configuration, and no C code here keeps state of its
 * own. The limits shared with Python (FASTPROP_MAX_THREADS, FASTPROP_NEVER)
 * are defined here only; _kernels.pyx reads them from this header.
 */
#ifndef FASTPROP_CONFIG_H
#define FASTPROP_CONFIG_H

#include <stddef.h>

/* The most threads fit's compiled loop uses (the calling thread and its helpers). */
#define FASTPROP_MAX_THREADS 8

/* A threshold no product reaches: m * n * k of any product that fits in memory is smaller. */
#define FASTPROP_NEVER ((ptrdiff_t) 1 << 62)

/* The instruction sets a kernel may use, in increasing order: a path may use
 * everything below it. AVX2 includes FMA. The avx512 path runs the AVX-512
 * product kernels and sigmoid (_vector_products_avx512.c, _sigmoid.c), and the
 * AVX2 dot-product kernel for narrow forward outputs; its results have the
 * same bits as the avx2 path's. */
typedef enum {
    FASTPROP_CPU_BASELINE = 0,   /* the build's baseline (x86-64: SSE2) */
    FASTPROP_CPU_AVX2 = 1,       /* AVX2 + FMA */
    FASTPROP_CPU_AVX512 = 2      /* AVX-512 F, DQ, BW, VL */
} fastprop_cpu_path;

/* How fit routes its products (see _routing.h and fastprop/_planning.py):
 * FIXED      by the thresholds below;
 * MEASURED   by the plan fastprop measured for the network on this machine (a
 *            fastprop_decision per product, passed to the steps); calls without
 *            one (forward passes, single steps) route by the thresholds;
 * PORTABLE   in fastprop's plain loops only, compiled without contraction
 *            (-ffp-contract=off): the same operations, so the same bits, on every
 *            machine, CPU path and thread count. */
typedef enum {
    FASTPROP_PLAN_FIXED = 0,
    FASTPROP_PLAN_MEASURED = 1,
    FASTPROP_PLAN_PORTABLE = 2
} fastprop_plan;

typedef struct {
    int threads;                               /* 1 to FASTPROP_MAX_THREADS */
    int pin_threads;                           /* 1: each helper thread on a CPU of its own (_team.h) */
    fastprop_plan plan;
    fastprop_cpu_path cpu;                     /* resolved: never more than the CPU has */
    /* Where products run, by their number of multiply-adds m * n * k (see _routing.h). */
    ptrdiff_t vector_min_multiply_adds;        /* loops below, vector kernels from here */
    ptrdiff_t blas_min_multiply_adds_float32;  /* vector kernels below, BLAS from here */
    ptrdiff_t blas_min_multiply_adds_float64;
    ptrdiff_t loops_blas_min_multiply_adds;    /* without vector kernels: loops below, BLAS from here */
    ptrdiff_t single_thread_blas_min_multiply_adds;  /* BLAS from here for a product on one thread */
    ptrdiff_t narrow_blas_min_multiply_adds;   /* BLAS from here for a product too narrow for vectors */
    /* Which products fit shares out over its helper threads. */
    ptrdiff_t parallel_min_multiply_adds;
    ptrdiff_t parallel_min_batch_rows;
} fastprop_config;

/* The fixed defaults (threads 1: the caller sets the thread count; cpu baseline: the caller
 * resolves it). They do not depend on the path: each path reads the thresholds it has. */
fastprop_config fastprop_default_config(void);

/* The best path this CPU and build can run. */
fastprop_cpu_path fastprop_cpu_best_path(void);

/* Whether the CPU (and the OS, which must save the vector registers) has each feature,
 * whatever this build compiled. */
int fastprop_cpu_has_avx2_fma(void);
int fastprop_cpu_has_avx512(void);

/* Whether this build compiled the vector kernels (0 when built without them). */
int fastprop_vector_kernels_compiled(void);

#endif  /* FASTPROP_CONFIG_H */
