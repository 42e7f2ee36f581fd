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

/* e[c] := exp(x[c]) for c < count, x[c] <= 0 already clamped to >= EXP_FLOAT_LOWEST (or NaN,
 * which stays NaN): Cephes' expf (see _sigmoid.h). */
PATH_TARGET __attribute__((always_inline)) static inline void
PATH_NAME(exp_float_vectors)(const PATH_NAME(floats)* x, PATH_NAME(floats)* e, const int count)
{
    typedef PATH_NAME(floats) floats;
    typedef PATH_NAME(float_bits) bits;
    floats shifted[CHAINS], n[CHAINS], r[CHAINS], p[CHAINS];
    bits scale[CHAINS];
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
}

/* The same in double: Cephes' exp. */
PATH_TARGET __attribute__((always_inline)) static inline void
PATH_NAME(exp_double_vectors)(const PATH_NAME(doubles)* x, PATH_NAME(doubles)* e, const int count)
{
    typedef PATH_NAME(doubles) doubles;
    typedef PATH_NAME(double_bits) bits;
    doubles shifted[CHAINS], n[CHAINS], r[CHAINS], rr[CHAINS], p[CHAINS], q[CHAINS];
    bits scale[CHAINS];
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
}

/* v[c] := sigmoid(v[c]) for c < count (a constant where it is inlined) */
PATH_TARGET __attribute__((always_inline)) static inline void
PATH_NAME(sigmoid_float_vectors)(PATH_NAME(floats)* v, const int count)
{
    typedef PATH_NAME(floats) floats;
    typedef PATH_NAME(float_bits) bits;
    floats x[CHAINS], e[CHAINS], s[CHAINS];
    for (int c = 0; c < count; ++c) {   /* x := max(EXP_FLOAT_LOWEST, -|z|); NaN stays NaN */
        x[c] = (floats) ((bits) v[c] | INT32_MIN);
        x[c] = MAX_FLOAT((floats) {} + EXP_FLOAT_LOWEST, x[c]);
    }
    PATH_NAME(exp_float_vectors)(x, e, count);
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
    doubles x[CHAINS], e[CHAINS], s[CHAINS];
    for (int c = 0; c < count; ++c) {   /* x := max(EXP_DOUBLE_LOWEST, -|z|); NaN stays NaN */
        x[c] = (doubles) ((bits) v[c] | INT64_MIN);
        x[c] = MAX_DOUBLE((doubles) {} + EXP_DOUBLE_LOWEST, x[c]);
    }
    PATH_NAME(exp_double_vectors)(x, e, count);
    for (int c = 0; c < count; ++c) s[c] = 1.0 / (1.0 + e[c]);
    for (int c = 0; c < count; ++c) {   /* z >= 0 ? s : e * s (NaN: e * s) */
        v[c] = SELECT_DOUBLE(v[c] >= 0.0, s[c], e[c] * s[c]);
    }
}

/* v[c] := exp(min(v[c], 0)) for c < count (NaN stays NaN) */
PATH_TARGET __attribute__((always_inline)) static inline void
PATH_NAME(exp_nonpositive_float_vectors)(PATH_NAME(floats)* v, const int count)
{
    typedef PATH_NAME(floats) floats;
    floats x[CHAINS];
    for (int c = 0; c < count; ++c)     /* x := max(EXP_FLOAT_LOWEST, min(v, 0)); NaN stays NaN */
        x[c] = MAX_FLOAT((floats) {} + EXP_FLOAT_LOWEST, SELECT_FLOAT(v[c] > 0.0f, (floats) {}, v[c]));
    PATH_NAME(exp_float_vectors)(x, v, count);
}

PATH_TARGET __attribute__((always_inline)) static inline void
PATH_NAME(exp_nonpositive_double_vectors)(PATH_NAME(doubles)* v, const int count)
{
    typedef PATH_NAME(doubles) doubles;
    doubles x[CHAINS];
    for (int c = 0; c < count; ++c)
        x[c] = MAX_DOUBLE((doubles) {} + EXP_DOUBLE_LOWEST, SELECT_DOUBLE(v[c] > 0.0, (doubles) {}, v[c]));
    PATH_NAME(exp_double_vectors)(x, v, count);
}

/* v[c] := tanh(v[c]) for c < count: Cephes' tanhf. For |z| < 0.625 an odd polynomial,
 * z + z**3 * P(z**2); otherwise (1 - e) / (1 + e) with e = exp(-2|z|) <= 0.29 (no
 * cancellation, no overflow), given z's sign. Both are computed and one is kept. */
PATH_TARGET __attribute__((always_inline)) static inline void
PATH_NAME(tanh_float_vectors)(PATH_NAME(floats)* v, const int count)
{
    typedef PATH_NAME(floats) floats;
    typedef PATH_NAME(float_bits) bits;
    floats x[CHAINS], e[CHAINS], large[CHAINS], z2[CHAINS], small[CHAINS];
    for (int c = 0; c < count; ++c) {   /* x := max(EXP_FLOAT_LOWEST, -2|z|); NaN stays NaN */
        x[c] = (floats) ((bits) v[c] | INT32_MIN);
        x[c] = MAX_FLOAT((floats) {} + EXP_FLOAT_LOWEST, x[c] * 2.0f);
    }
    PATH_NAME(exp_float_vectors)(x, e, count);
    for (int c = 0; c < count; ++c) large[c] = (1.0f - e[c]) / (1.0f + e[c]);
    for (int c = 0; c < count; ++c)     /* z's sign */
        large[c] = (floats) ((bits) large[c] | ((bits) v[c] & INT32_MIN));
    for (int c = 0; c < count; ++c) z2[c] = v[c] * v[c];
    for (int c = 0; c < count; ++c) small[c] = TANH_FLOAT_P0 * z2[c] + TANH_FLOAT_P1;
    for (int c = 0; c < count; ++c) small[c] = small[c] * z2[c] + TANH_FLOAT_P2;
    for (int c = 0; c < count; ++c) small[c] = small[c] * z2[c] + TANH_FLOAT_P3;
    for (int c = 0; c < count; ++c) small[c] = small[c] * z2[c] + TANH_FLOAT_P4;
    for (int c = 0; c < count; ++c) small[c] = small[c] * z2[c] * v[c] + v[c];
    for (int c = 0; c < count; ++c) {   /* |z| < 0.625 (x > -1.25) ? small : large (NaN: large) */
        v[c] = SELECT_FLOAT(x[c] > (float) (-2.0 * TANH_SMALL_LIMIT), small[c], large[c]);
    }
}

/* The same in double: Cephes' tanh, a rational form z + z**3 * P(z**2) / Q(z**2) below 0.625. */
PATH_TARGET __attribute__((always_inline)) static inline void
PATH_NAME(tanh_double_vectors)(PATH_NAME(doubles)* v, const int count)
{
    typedef PATH_NAME(doubles) doubles;
    typedef PATH_NAME(double_bits) bits;
    doubles x[CHAINS], e[CHAINS], large[CHAINS], z2[CHAINS], p[CHAINS], q[CHAINS], small[CHAINS];
    for (int c = 0; c < count; ++c) {   /* x := max(EXP_DOUBLE_LOWEST, -2|z|); NaN stays NaN */
        x[c] = (doubles) ((bits) v[c] | INT64_MIN);
        x[c] = MAX_DOUBLE((doubles) {} + EXP_DOUBLE_LOWEST, x[c] * 2.0);
    }
    PATH_NAME(exp_double_vectors)(x, e, count);
    for (int c = 0; c < count; ++c) large[c] = (1.0 - e[c]) / (1.0 + e[c]);
    for (int c = 0; c < count; ++c)     /* z's sign */
        large[c] = (doubles) ((bits) large[c] | ((bits) v[c] & INT64_MIN));
    for (int c = 0; c < count; ++c) z2[c] = v[c] * v[c];
    for (int c = 0; c < count; ++c) p[c] = TANH_DOUBLE_P0 * z2[c] + TANH_DOUBLE_P1;
    for (int c = 0; c < count; ++c) p[c] = p[c] * z2[c] + TANH_DOUBLE_P2;
    for (int c = 0; c < count; ++c) q[c] = z2[c] + TANH_DOUBLE_Q0;
    for (int c = 0; c < count; ++c) q[c] = q[c] * z2[c] + TANH_DOUBLE_Q1;
    for (int c = 0; c < count; ++c) q[c] = q[c] * z2[c] + TANH_DOUBLE_Q2;
    for (int c = 0; c < count; ++c) small[c] = v[c] + v[c] * z2[c] * (p[c] / q[c]);
    for (int c = 0; c < count; ++c) {   /* |z| < 0.625 (x > -1.25) ? small : large (NaN: large) */
        v[c] = SELECT_DOUBLE(x[c] > -2.0 * TANH_SMALL_LIMIT, small[c], large[c]);
    }
}

/* The array and panel functions of each function and dtype, the same but for their names,
 * types and the function they apply. */
#define REAL float
#define REALS PATH_NAME(floats)
#define REALS_IN_MEMORY PATH_NAME(floats_in_memory)
#define TYPED(name) FASTPROP_CAT3(name, PATH, float)
#define FUNCTION_VECTORS PATH_NAME(sigmoid_float_vectors)
#define ARRAY_FUNCTION fastprop_sigmoid
#define PANEL_FUNCTION fastprop_sigmoid_panel
#include "_sigmoid_arrays.c"
#undef FUNCTION_VECTORS
#undef ARRAY_FUNCTION
#undef PANEL_FUNCTION
#define FUNCTION_VECTORS PATH_NAME(tanh_float_vectors)
#define ARRAY_FUNCTION fastprop_tanh
#define PANEL_FUNCTION fastprop_tanh_panel
#include "_sigmoid_arrays.c"
#undef FUNCTION_VECTORS
#undef ARRAY_FUNCTION
#undef PANEL_FUNCTION
#define FUNCTION_VECTORS PATH_NAME(exp_nonpositive_float_vectors)
#define ARRAY_FUNCTION fastprop_exp_nonpositive
#include "_sigmoid_arrays.c"
#undef FUNCTION_VECTORS
#undef ARRAY_FUNCTION
#undef REAL
#undef REALS
#undef REALS_IN_MEMORY
#undef TYPED

#define REAL double
#define REALS PATH_NAME(doubles)
#define REALS_IN_MEMORY PATH_NAME(doubles_in_memory)
#define TYPED(name) FASTPROP_CAT3(name, PATH, double)
#define FUNCTION_VECTORS PATH_NAME(sigmoid_double_vectors)
#define ARRAY_FUNCTION fastprop_sigmoid
#define PANEL_FUNCTION fastprop_sigmoid_panel
#include "_sigmoid_arrays.c"
#undef FUNCTION_VECTORS
#undef ARRAY_FUNCTION
#undef PANEL_FUNCTION
#define FUNCTION_VECTORS PATH_NAME(tanh_double_vectors)
#define ARRAY_FUNCTION fastprop_tanh
#define PANEL_FUNCTION fastprop_tanh_panel
#include "_sigmoid_arrays.c"
#undef FUNCTION_VECTORS
#undef ARRAY_FUNCTION
#undef PANEL_FUNCTION
#define FUNCTION_VECTORS PATH_NAME(exp_nonpositive_double_vectors)
#define ARRAY_FUNCTION fastprop_exp_nonpositive
#include "_sigmoid_arrays.c"
#undef FUNCTION_VECTORS
#undef ARRAY_FUNCTION
#undef REAL
#undef REALS
#undef REALS_IN_MEMORY
#undef TYPED

#undef CHAINS
#undef PATH_NAME
