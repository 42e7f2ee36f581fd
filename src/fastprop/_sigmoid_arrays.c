/* Arrays and panels of one function (the sigmoid or tanh) on one path, for one
 * dtype: included by _sigmoid_template.c with REAL (float or double), REALS (its
 * vector type), REALS_IN_MEMORY (the same at any element-aligned address),
 * TYPED(name) (the path- and dtype-suffixed name), FUNCTION_VECTORS (the function
 * on vectors) and ARRAY_FUNCTION (the name to define; PANEL_FUNCTION, if defined, for panels) defined. */

/* out := f(z); CHAINS vectors at a time, then one, then the last
 * elements in a vector padded with zeros (whose lanes are not stored). */
PATH_TARGET void TYPED(ARRAY_FUNCTION)(const REAL* z, REAL* out, ptrdiff_t size)
{
    const ptrdiff_t lanes = sizeof(REALS) / sizeof(REAL);
    REALS v[CHAINS];
    ptrdiff_t i = 0;
    for (; i + CHAINS * lanes <= size; i += CHAINS * lanes) {
        for (int c = 0; c < CHAINS; ++c)
            v[c] = *(const REALS_IN_MEMORY*) (z + i + c * lanes);
        FUNCTION_VECTORS(v, CHAINS);
        for (int c = 0; c < CHAINS; ++c)
            *(REALS_IN_MEMORY*) (out + i + c * lanes) = v[c];
    }
    for (; i + lanes <= size; i += lanes) {
        v[0] = *(const REALS_IN_MEMORY*) (z + i);
        FUNCTION_VECTORS(v, 1);
        *(REALS_IN_MEMORY*) (out + i) = v[0];
    }
    if (i < size) {
        v[0] = (REALS) {};
        memcpy(v, z + i, (size_t) (size - i) * sizeof(REAL));
        FUNCTION_VECTORS(v, 1);
        memcpy(out + i, v, (size_t) (size - i) * sizeof(REAL));
    }
}

#ifdef PANEL_FUNCTION
/* C[i, j] := f(C[i, j]) for i < rows, j < width (row stride ldc). A
 * panel two vectors wide runs two rows at a time, so that CHAINS (4) vectors
 * run side by side as in the array function. */
PATH_TARGET void TYPED(PANEL_FUNCTION)(REAL* C, ptrdiff_t ldc, ptrdiff_t rows,
                                               ptrdiff_t width)
{
    const ptrdiff_t lanes = sizeof(REALS) / sizeof(REAL);
    if (width == ldc) {
        /* The panel is the whole of C, rows contiguous: one array, whose vectors run
         * side by side however narrow the rows (one row at a time, each row of a
         * few values would be one vector whose chain of operations runs alone). */
        TYPED(ARRAY_FUNCTION)(C, C, rows * width);
        return;
    }
    ptrdiff_t i = 0;
    if (width == 2 * lanes) {
        REALS v[4];
        for (; i + 2 <= rows; i += 2) {
            REAL* row_0 = C + i * ldc;
            REAL* row_1 = row_0 + ldc;
            REAL* starts[4] = {row_0, row_0 + lanes, row_1, row_1 + lanes};
            for (int c = 0; c < 4; ++c)
                v[c] = *(const REALS_IN_MEMORY*) starts[c];
            FUNCTION_VECTORS(v, 4);
            for (int c = 0; c < 4; ++c)
                *(REALS_IN_MEMORY*) starts[c] = v[c];
        }
    }
    for (; i < rows; ++i)
        TYPED(ARRAY_FUNCTION)(C + i * ldc, C + i * ldc, width);
}
#endif
