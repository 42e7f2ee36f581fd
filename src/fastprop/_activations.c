/* The activation functions, their derivatives and the softmax (see _activations.h),
 * from one template per dtype. */
#include <stddef.h>
#include <string.h>

#include "_activations.h"
#include "_sigmoid.h"

#define REAL float
#define TYPED(name) name##_float
#include "_activations_template.c"
#undef REAL
#undef TYPED

#define REAL double
#define TYPED(name) name##_double
#include "_activations_template.c"
#undef REAL
#undef TYPED
