/* The backpropagation steps (see _steps.h), from one template per dtype. */
#include "_steps.h"

#include "_elementwise.h"
#include "_products.h"

#define REAL float
#define TYPED(name) name##_float
#include "_steps_template.c"
#undef REAL
#undef TYPED

#define REAL double
#define TYPED(name) name##_double
#include "_steps_template.c"
#undef REAL
#undef TYPED
