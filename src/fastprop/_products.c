/* The routed products (see _products.h), from one template per dtype. */
#include "_products.h"

#include "_blas.h"
#include "_elementwise.h"
#include "_routing.h"
#include "_sigmoid.h"
#include "_vector_products.h"

#define REAL float
#define TYPED(name) name##_float
#define IS_FLOAT 1
#include "_products_template.c"
#undef REAL
#undef TYPED
#undef IS_FLOAT

#define REAL double
#define TYPED(name) name##_double
#define IS_FLOAT 0
#include "_products_template.c"
#undef REAL
#undef TYPED
#undef IS_FLOAT
