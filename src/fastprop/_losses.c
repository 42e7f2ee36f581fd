/* The output delta and loss of each loss (see _losses.h), from one template per dtype. */
#include <math.h>
#include <stddef.h>

#include "_activations.h"
#include "_losses.h"
#include "_sigmoid.h"

#define REAL float
#define TYPED(name) name##_float
#include "_losses_template.c"
#undef REAL
#undef TYPED

#define REAL double
#define TYPED(name) name##_double
#include "_losses_template.c"
#undef REAL
#undef TYPED
