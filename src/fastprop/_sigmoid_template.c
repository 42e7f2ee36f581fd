/* The sigmoid's one source (see _sigmoid.h), included by _sigmoid.c once per
 * CPU path with these defined:
 *   PATH             the path's name (baseline, avx2, avx512), which suffixes every name here
 *   VECTOR_BYTES     the path's vector width in bytes
 *   PATH_TARGET      the function attribute that compiles for the path (or nothing)
 *   MAX_FLOAT(a, b), SELECT_FLOAT(mask, a, b) and the same for DOUBLE: max(a, b)
 *                    (b where either is NaN) and mask ? a : b, lane by lane, in
 *                    the path's own instructions (one each where it has them)
 * Lanes are GCC vector types: arithmetic, comparisons (all-ones or zero lanes)
 * and bit casts are lane by lane, and lane i of the result depends on lane i
 * of the argument alone, whatever the width.
 */

#define PATH_NAME(name) FASTPROP_CAT(name, PATH)

typedef float PATH_NAME(floats) __attribute__((vector_size(VECTOR_BYTES)));
typedef int32_t PATH_NAME(float_bits) __attribute__((vector_size(VECTOR_BYTES)));
typedef double PATH_NAME(doubles) __attribute__((vector_size(VECTOR_BYTES)));
typedef int64_t PATH_NAME(double_bits) __attribute__((vector_size(VECTOR_BYTES)));
/* The same, to load and store at any element-aligned address (one unaligned vector move) */
typedef float PATH_NAME(floats_in_memory)
    __attribute__((vector_size(VECTOR_BYTES), aligned(sizeof(float)), may_alias));
typedef double PATH_NAME(doubles_in_memory)
    __attribute__((vector_size(VECTOR_BYTES), aligned(sizeof(double)), may_alias));

/* Vectors whose sigmoids run side by side: one vector's sigmoid is a chain of
 * about 40 dependent operations, and the out-of-order core only overlaps the
 * chains of several vectors if each statement runs over all of them in turn. */
#define CHAINS 4

/* v[c] := sigmoid(v[c]) for c < count (a constant where it is inlined) */
PATH_TARGET __attribute__((always_inline)) static inline void
PATH_NAME(sigmoid_float_vectors)(PATH_NAME(floats)* v, const int count)
{
    typedef PATH_NAME(floats) floats;
    typedef PATH_NAME(float_bits) bits;
    floats x[CHAINS], shifted[CHAINS], n[CHAINS], r[CHAINS], p[CHAINS], e[CHAINS], s[CHAINS];
    bits scale[CHAINS];
    for (int c = 0; c < count; ++c) {   /* x := max(EXP_FLOAT_LOWEST, -|z|); NaN stays NaN */
        x[c] = (floats) ((bits) v[c] | INT32_MIN);
        x[c] = MAX_FLOAT((floats) {} + EXP_FLOAT_LOWEST, x[c]);
    }
    for (int c = 0; c < count; ++c) shifted[c] = x[c] * LOG2E_FLOAT + ROUNDING_SHIFT_FLOAT;
    for (int c = 0; c < count; ++c) n[c] = shifted[c] - ROUNDING_SHIFT_FLOAT;
    for (int c = 0; c < count; ++c) r[c] = x[c] - n[c] * LN2_HIGH_FLOAT;
    for (int c = 0; c < count; ++c) r[c] = r[c] + n[c] * LN2_LOW_FLOAT;
    for (int c = 0; c < count; ++c) p[c] = EXP_FLOAT_P0 * r[c] + EXP_FLOAT_P1;
    for (int c = 0; c < count; ++c) p[c] = p[c] * r[c] + EXP_FLOAT_P2;
    for (int c = 0; c < count; ++c) p[c] = p[c] * r[c] + EXP_FLOAT_P3;
    for (int c = 0; c < count; ++c) p[c] = p[c] * r[c] + EXP_FLOAT_P4;
    for (int c = 0; c < count; ++c) p[c] = p[c] * r[c] + EXP_FLOAT_P5;
    for (int c = 0; c < count; ++c) p[c] = p[c] * (r[c] * r[c]) + r[c] + 1.0f;
    /* n is bits(shifted) - bits(ROUNDING_SHIFT_FLOAT); 2**(n + 64) has exponent field n + 191 */
    for (int c = 0; c < count; ++c)
        scale[c] = ((bits) shifted[c] - (FLOAT_ROUNDING_SHIFT_BITS - 191)) << 23;
    for (int c = 0; c < count; ++c) e[c] = (p[c] * (floats) scale[c]) * TWO_TO_MINUS_64;
    for (int c = 0; c < count; ++c) s[c] = 1.0f / (1.0f + e[c]);
    for (int c = 0; c < count; ++c) {   /* z >= 0 ? s : e * s (NaN: e * s) */
        v[c] = SELECT_FLOAT(v[c] >= 0.0f, s[c], e[c] * s[c]);
    }
}

PATH_TARGET __attribute__((always_inline)) static inline void
PATH_NAME(sigmoid_double_vectors)(PATH_NAME(doubles)* v, const int count)
{
    typedef PATH_NAME(doubles) doubles;
    typedef PATH_NAME(double_bits) bits;
    doubles x[CHAINS], shifted[CHAINS], n[CHAINS], r[CHAINS], rr[CHAINS], p[CHAINS], q[CHAINS];
    doubles e[CHAINS], s[CHAINS];
    bits scale[CHAINS];
    for (int c = 0; c < count; ++c) {   /* x := max(EXP_DOUBLE_LOWEST, -|z|); NaN stays NaN */
        x[c] = (doubles) ((bits) v[c] | INT64_MIN);
        x[c] = MAX_DOUBLE((doubles) {} + EXP_DOUBLE_LOWEST, x[c]);
    }
    for (int c = 0; c < count; ++c) shifted[c] = x[c] * LOG2E_DOUBLE + ROUNDING_SHIFT_DOUBLE;
    for (int c = 0; c < count; ++c) n[c] = shifted[c] - ROUNDING_SHIFT_DOUBLE;
    for (int c = 0; c < count; ++c) r[c] = x[c] - n[c] * LN2_HIGH_DOUBLE;
    for (int c = 0; c < count; ++c) r[c] = r[c] - n[c] * LN2_LOW_DOUBLE;
    for (int c = 0; c < count; ++c) rr[c] = r[c] * r[c];
    for (int c = 0; c < count; ++c) p[c] = EXP_DOUBLE_P0 * rr[c] + EXP_DOUBLE_P1;
    for (int c = 0; c < count; ++c) p[c] = r[c] * (p[c] * rr[c] + EXP_DOUBLE_P2);
    for (int c = 0; c < count; ++c) q[c] = EXP_DOUBLE_Q0 * rr[c] + EXP_DOUBLE_Q1;
    for (int c = 0; c < count; ++c) q[c] = q[c] * rr[c] + EXP_DOUBLE_Q2;
    for (int c = 0; c < count; ++c) q[c] = q[c] * rr[c] + EXP_DOUBLE_Q3;
    for (int c = 0; c < count; ++c) p[c] = 1.0 + 2.0 * p[c] / (q[c] - p[c]);
    /* n is bits(shifted) - bits(ROUNDING_SHIFT_DOUBLE); 2**(n + 512) has exponent field n + 1535 */
    for (int c = 0; c < count; ++c)
        scale[c] = ((bits) shifted[c] - (DOUBLE_ROUNDING_SHIFT_BITS - 1535)) << 52;
    for (int c = 0; c < count; ++c) e[c] = (p[c] * (doubles) scale[c]) * TWO_TO_MINUS_512;
    for (int c = 0; c < count; ++c) s[c] = 1.0 / (1.0 + e[c]);
    for (int c = 0; c < count; ++c) {   /* z >= 0 ? s : e * s (NaN: e * s) */
        v[c] = SELECT_DOUBLE(v[c] >= 0.0, s[c], e[c] * s[c]);
    }
}

/* The array and panel functions, the same for both dtypes but for their names and types. */
#define REAL float
#define REALS PATH_NAME(floats)
#define REALS_IN_MEMORY PATH_NAME(floats_in_memory)
#define TYPED(name) FASTPROP_CAT3(name, PATH, float)
#define SIGMOID_VECTORS PATH_NAME(sigmoid_float_vectors)
#include "_sigmoid_arrays.c"
#undef REAL
#undef REALS
#undef REALS_IN_MEMORY
#undef TYPED
#undef SIGMOID_VECTORS

#define REAL double
#define REALS PATH_NAME(doubles)
#define REALS_IN_MEMORY PATH_NAME(doubles_in_memory)
#define TYPED(name) FASTPROP_CAT3(name, PATH, double)
#define SIGMOID_VECTORS PATH_NAME(sigmoid_double_vectors)
#include "_sigmoid_arrays.c"
#undef REAL
#undef REALS
#undef REALS_IN_MEMORY
#undef TYPED
#undef SIGMOID_VECTORS

#undef CHAINS
#undef PATH_NAME
