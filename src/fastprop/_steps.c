/* The backpropagation steps (see _steps.h), from one template per dtype. */
#include "_steps.h"

#include "_activations.h"
#include "_elementwise.h"
#include "_interrupt.h"
#include "_losses.h"
#include "_products.h"
#include "_sigmoid.h"

#include <string.h>
#include <time.h>

/* The rows of one piece of a product of per_row multiply-adds a row (_steps.h,
 * fastprop_interruption): all of them without interruption, else as many whole strips of
 * 16 rows as piece_multiply_adds holds, and at least the least rows of a piece of the
 * weights' rows (of_weights) or of the batch's (_steps.h). */
static inline ptrdiff_t fastprop_piece_rows(const fastprop_interruption* interruption,
                                            ptrdiff_t rows, ptrdiff_t per_row, int of_weights)
{
    if (interruption == NULL)
        return rows;
    const ptrdiff_t least = of_weights ? interruption->min_weight_rows
                                       : interruption->min_batch_rows;
    ptrdiff_t piece = interruption->piece_multiply_adds / (per_row > 0 ? per_row : 1);
    piece -= piece % 16;
    return piece < least ? least : piece;
}

/* Whether the step in progress is to be abandoned. */
static inline int fastprop_abandon(const fastprop_interruption* interruption)
{
    return interruption != NULL && interruption->watching && fastprop_interrupt_requested();
}

/* The arrays a step changes, copied before it (to = saved) or back after it (to = live). */
static void fastprop_copy_step_state(const fastprop_interruption* interruption, int to_saved)
{
    for (ptrdiff_t i = 0; i < interruption->n_arrays; ++i) {
        if (to_saved)
            memcpy(interruption->saved[i], interruption->live[i], interruption->bytes[i]);
        else
            memcpy(interruption->live[i], interruption->saved[i], interruption->bytes[i]);
    }
}

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
