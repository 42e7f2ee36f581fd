/* The optimizers' updates (see _optimizers.h): one template, compiled per CPU path and
 * dtype, and the team's share-out. */
#include <math.h>
#include <stddef.h>

#include "_optimizers.h"
#include "_vector_products.h"   /* FASTPROP_VECTOR_PRODUCTS: whether the paths exist */

#define FASTPROP_CAT3_(a, b, c) a##_##b##_##c
#define FASTPROP_CAT3(a, b, c) FASTPROP_CAT3_(a, b, c)

#define PATH_TARGET
#define REAL float
#define SQRT sqrtf
#define TYPED(name) FASTPROP_CAT3(name, baseline, float)
#include "_optimizers_template.c"
#undef REAL
#undef SQRT
#undef TYPED
#define REAL double
#define SQRT sqrt
#define TYPED(name) FASTPROP_CAT3(name, baseline, double)
#include "_optimizers_template.c"
#undef REAL
#undef SQRT
#undef TYPED
#undef PATH_TARGET

#if FASTPROP_VECTOR_PRODUCTS
#define PATH_TARGET __attribute__((target("avx2")))
#define REAL float
#define SQRT sqrtf
#define TYPED(name) FASTPROP_CAT3(name, avx2, float)
#include "_optimizers_template.c"
#undef REAL
#undef SQRT
#undef TYPED
#define REAL double
#define SQRT sqrt
#define TYPED(name) FASTPROP_CAT3(name, avx2, double)
#include "_optimizers_template.c"
#undef REAL
#undef SQRT
#undef TYPED
#undef PATH_TARGET

#define PATH_TARGET __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
#define REAL float
#define SQRT sqrtf
#define TYPED(name) FASTPROP_CAT3(name, avx512, float)
#include "_optimizers_template.c"
#undef REAL
#undef SQRT
#undef TYPED
#define REAL double
#define SQRT sqrt
#define TYPED(name) FASTPROP_CAT3(name, avx512, double)
#include "_optimizers_template.c"
#undef REAL
#undef SQRT
#undef TYPED
#undef PATH_TARGET
#endif

void fastprop_optimizer_begin_step(fastprop_optimizer* optimizer, long long step, double lr,
                                   ptrdiff_t rows)
{
    optimizer->step = step;
    optimizer->lr = lr;
    optimizer->weight_l2 = optimizer->sample_l2 / (double) rows;
    optimizer->decay_factor = 1.0 - lr * optimizer->weight_decay;
    if (optimizer->kind == FASTPROP_OPTIMIZER_ADAM) {
        optimizer->step_size = -(lr / (1.0 - pow(optimizer->beta1, (double) step)));
        optimizer->bias_correction2_sqrt = sqrt(1.0 - pow(optimizer->beta2, (double) step));
    }
}

/* Elements per task when an update is shared out over a team. */
#define FASTPROP_OPTIMIZER_ELEMENTS_PER_TASK 4096

#define FASTPROP_DEFINE_UPDATE(type)                                                            \
    static void update_on_path_##type(fastprop_cpu_path cpu, const fastprop_optimizer* optimizer, \
                                      int weights, ptrdiff_t size, type* param,                 \
                                      const type* grad, type* first, type* second)              \
    {                                                                                           \
        FASTPROP_DISPATCH_##type(cpu, optimizer, weights, size, param, grad, first, second);    \
    }                                                                                           \
    typedef struct {                                                                            \
        fastprop_cpu_path cpu;                                                                  \
        const fastprop_optimizer* optimizer;                                                    \
        int weights;                                                                            \
        ptrdiff_t size;                                                                         \
        type* param;                                                                            \
        const type* grad;                                                                       \
        type* first;                                                                            \
        type* second;                                                                           \
    } update_work_##type;                                                                       \
    static void update_task_##type(void* arguments, ptrdiff_t task)                             \
    {                                                                                           \
        const update_work_##type* work = arguments;                                             \
        const ptrdiff_t begin = task * FASTPROP_OPTIMIZER_ELEMENTS_PER_TASK;                    \
        const ptrdiff_t count = work->size - begin < FASTPROP_OPTIMIZER_ELEMENTS_PER_TASK       \
                                ? work->size - begin : FASTPROP_OPTIMIZER_ELEMENTS_PER_TASK;    \
        update_on_path_##type(work->cpu, work->optimizer, work->weights, count,                 \
                              work->param + begin,                                              \
                              work->grad + begin,                                               \
                              work->first == NULL ? NULL : work->first + begin,                 \
                              work->second == NULL ? NULL : work->second + begin);              \
    }                                                                                           \
    void fastprop_optimizer_update_##type(const fastprop_config* config, fastprop_team* team,   \
                                          const fastprop_optimizer* optimizer, int weights,     \
                                          ptrdiff_t size, type* param, const type* grad,        \
                                          type* first, type* second)                            \
    {                                                                                           \
        const ptrdiff_t tasks = (size + FASTPROP_OPTIMIZER_ELEMENTS_PER_TASK - 1)               \
                                / FASTPROP_OPTIMIZER_ELEMENTS_PER_TASK;                         \
        if (team == NULL || tasks < 2) {                                                        \
            update_on_path_##type(config->cpu, optimizer, weights, size, param, grad, first,    \
                                  second);                                                      \
            return;                                                                             \
        }                                                                                       \
        update_work_##type work = {config->cpu, optimizer, weights, size, param, grad, first,   \
                                   second};                                                     \
        fastprop_team_run(team, update_task_##type, &work, tasks);                              \
    }

#if FASTPROP_VECTOR_PRODUCTS
#define FASTPROP_DISPATCH_float(cpu, ...)                                                       \
    ((cpu) >= FASTPROP_CPU_AVX512 ? update_avx512_float(__VA_ARGS__)                            \
     : (cpu) >= FASTPROP_CPU_AVX2 ? update_avx2_float(__VA_ARGS__) : update_baseline_float(__VA_ARGS__))
#define FASTPROP_DISPATCH_double(cpu, ...)                                                      \
    ((cpu) >= FASTPROP_CPU_AVX512 ? update_avx512_double(__VA_ARGS__)                           \
     : (cpu) >= FASTPROP_CPU_AVX2 ? update_avx2_double(__VA_ARGS__) : update_baseline_double(__VA_ARGS__))
#else
#define FASTPROP_DISPATCH_float(cpu, ...) update_baseline_float(__VA_ARGS__)
#define FASTPROP_DISPATCH_double(cpu, ...) update_baseline_double(__VA_ARGS__)
#endif

FASTPROP_DEFINE_UPDATE(float)
FASTPROP_DEFINE_UPDATE(double)
