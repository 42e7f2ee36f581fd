/* Elementwise passes (see _elementwise.h), from one template per dtype. */
#include <stdint.h>
#include <string.h>

#include "_elementwise.h"
#include "_sigmoid.h"

#define REAL float
#define TYPED(name) name##_float
#define REAL_BITS uint32_t
#define REAL_EXPONENT_BITS 0x7F800000u
#include "_elementwise_template.c"
#undef REAL
#undef TYPED
#undef REAL_BITS
#undef REAL_EXPONENT_BITS

#define REAL double
#define TYPED(name) name##_double
#define REAL_BITS uint64_t
#define REAL_EXPONENT_BITS 0x7FF0000000000000ULL
#include "_elementwise_template.c"
#undef REAL
#undef TYPED
#undef REAL_BITS
#undef REAL_EXPONENT_BITS
