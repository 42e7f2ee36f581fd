/* The backpropagation steps (see _steps.h), from one template per dtype. */
#include "_steps.h"

#include "_activations.h"
#include "_elementwise.h"
#include "_losses.h"
#include "_products.h"
#include "_sigmoid.h"

#include <time.h>

/* Seconds on a monotonic clock (for fastprop_time_product) */
static double fastprop_seconds(void)
{
    struct timespec now;
#if defined(CLOCK_MONOTONIC)
    clock_gettime(CLOCK_MONOTONIC, &now);
#else
    timespec_get(&now, TIME_UTC);
#endif
    return (double) now.tv_sec + 1e-9 * (double) now.tv_nsec;
}

#define REAL float
#define TYPED(name) name##_float
#define IS_FLOAT 1
#include "_small_steps_template.c"
#include "_steps_template.c"
#undef REAL
#undef TYPED
#undef IS_FLOAT

#define REAL double
#define TYPED(name) name##_double
#define IS_FLOAT 0
#include "_small_steps_template.c"
#include "_steps_template.c"
#undef REAL
#undef TYPED
#undef IS_FLOAT
