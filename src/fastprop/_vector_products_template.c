/* One CPU path's product kernels for one dtype. Not compiled on its own:
 * _vector_products_avx2.c and _vector_products_avx512.c include it once per
 * dtype, having defined
 *   TYPE, VEC, LANES       the scalar type, the path's vector type, lanes per vector
 *   MASK                   the type of a lane mask (a vector on AVX2, a mask register on AVX-512)
 *   NAME(x)                x with the path and dtype appended: NAME(fastprop_block) is
 *                          fastprop_block_avx2_float
 *   KERNEL, KERNEL_INLINE, KERNEL_NO_FMA_INLINE
 *                          the path's function attributes (a real function starting on a
 *                          cache line; always inlined; always inlined, no FMA needed)
 *   VEC_SET0, VEC_LOAD, VEC_LOAD_MASKED, VEC_STORE, VEC_STORE_ALIGNED, VEC_STORE_MASKED,
 *   VEC_BROADCAST, VEC_FMADD, VEC_MUL
 *                          the intrinsics of that vector type (unaligned unless named so;
 *                          VEC_LOAD_MASKED(address, mask), VEC_STORE_MASKED(address, mask, v))
 *   VEC_MASK, VEC_TRANSPOSE
 *                          its lane mask for a count (any count: <= 0 none, >= LANES all)
 *                          and its LANES x LANES transpose
 *   VEC_KEEP_WHERE_POSITIVE(s, value)
 *                          value in the lanes where s > 0, +0 elsewhere (relu's f')
 *   VEC_RELU(value)        +0 in the lanes where value < 0, value elsewhere (NaN and -0
 *                          too): relu, as _activations_template.c's
 *   ACTIVATE_ARRAY, ACTIVATE_PANEL
 *                          the path's activation function of an array and of a panel
 *                          (_activations.h)
 *   BLOCK_ROWS             rows of C per micro-kernel block (4, or 8 with 32 vector registers)
 *   DOT_PRODUCTS           1: the path has its own dot-product kernel for narrow forward
 *                          outputs (then also VEC_SUM, its horizontal sum); 0: narrow outputs
 *                          go to NARROW_DENSE_ACTIVATE, another path's entry point
 * and the dtype-independent constants and enums (_vector_products_kernels.h); it
 * undefines none of them. Nothing here depends on LANES but the blocking: each
 * output's sequence of operations is the same on every path (see the .c files).
 */

/* ------------------------------------------------------------------------ */
/* The micro-kernel: a block of 1 to BLOCK_ROWS rows x 2 vectors of C is    */
/* kept in registers (AVX2: 4 rows, 8 of its 16; AVX-512: 8 rows, 16 of 32)  */
/* for a whole sum over p; each p loads two vectors of row p of B and        */
/* broadcasts 1 to BLOCK_ROWS entries of A (A(i, p) = A[i * row_stride +     */
/* p * inner_stride], so A or its transpose is read in place). The sums      */
/* start from zero, from a bias row, or from C itself (START_*), and end as  */
/* C := alpha * sum + beta * C (beta 0 or 1), that times f' from S = f(z),  */
/* the layer's outputs (rows ldc apart too), C := sum, or C := relu(sum)     */
/* (FINISH_*). The last columns use masked loads and stores (MASK_*).        */
/* Always inlined, with rows, masking, start and finish constant at every    */
/* call, so each call compiles to straight-line code for its case.           */
/* ------------------------------------------------------------------------ */

KERNEL_INLINE void NAME(fastprop_block)(
    int rows, int halves, int masking, int start, int finish, MASK mask0, MASK mask1, ptrdiff_t k,
    const TYPE* A, ptrdiff_t row_stride, ptrdiff_t inner_stride, const TYPE* B, ptrdiff_t ldb,
    const TYPE* bias, TYPE alpha, TYPE beta, TYPE* C, ptrdiff_t ldc, const TYPE* S)
{
    const int mask_b = masking == FASTPROP_MASK_B_AND_C, mask_c = masking != FASTPROP_MASK_NONE;
    VEC acc[BLOCK_ROWS][2];
    for (int r = 0; r < rows; ++r)
        for (int half = 0; half < halves; ++half) {
            const MASK mask = half ? mask1 : mask0;
            if (start == FASTPROP_START_ZERO)
                acc[r][half] = VEC_SET0();
            else if (start == FASTPROP_START_BIAS)
                acc[r][half] = mask_c ? VEC_LOAD_MASKED(bias + half * LANES, mask)
                                      : VEC_LOAD(bias + half * LANES);
            else
                acc[r][half] = mask_c ? VEC_LOAD_MASKED(C + r * ldc + half * LANES, mask)
                                      : VEC_LOAD(C + r * ldc + half * LANES);
        }
    for (ptrdiff_t p = 0; p < k; ++p) {
        const TYPE* b_row = B + p * ldb;
        const VEC b0 = mask_b ? VEC_LOAD_MASKED(b_row, mask0) : VEC_LOAD(b_row);
        VEC b1 = b0;
        if (halves == 2)
            b1 = mask_b ? VEC_LOAD_MASKED(b_row + LANES, mask1) : VEC_LOAD(b_row + LANES);
        const TYPE* a_column = A + p * inner_stride;
        for (int r = 0; r < rows; ++r) {
            const VEC a = VEC_BROADCAST(a_column + r * row_stride);
            acc[r][0] = VEC_FMADD(a, b0, acc[r][0]);
            if (halves == 2)
                acc[r][1] = VEC_FMADD(a, b1, acc[r][1]);
        }
    }
    const VEC scale = VEC_BROADCAST(&alpha);
    const TYPE unit = 1;
    const VEC one = VEC_BROADCAST(&unit);
    for (int r = 0; r < rows; ++r)
        for (int half = 0; half < halves; ++half) {
            TYPE* out = C + r * ldc + half * LANES;
            const MASK mask = half ? mask1 : mask0;
            VEC value = acc[r][half];
            if (finish == FASTPROP_FINISH_RELU)
                value = VEC_RELU(value);
            else if (finish != FASTPROP_FINISH_SUM) {
                if (beta != 0)
                    value = VEC_FMADD(scale, value, mask_c ? VEC_LOAD_MASKED(out, mask) : VEC_LOAD(out));
                else
                    value = VEC_MUL(scale, value);
            }
            if (FASTPROP_FINISH_IS_DERIVATIVE(finish)) {
                /* value * f', as fastprop_multiply_derivative, while in a register */
                const TYPE* s_row = S + r * ldc + half * LANES;
                const VEC s = mask_c ? VEC_LOAD_MASKED(s_row, mask) : VEC_LOAD(s_row);
                if (finish == FASTPROP_FINISH_SIGMOID_DERIVATIVE)
                    value = VEC_MUL(value, VEC_MUL(s, VEC_SUB(one, s)));
                else if (finish == FASTPROP_FINISH_TANH_DERIVATIVE)
                    value = VEC_MUL(value, VEC_SUB(one, VEC_MUL(s, s)));
                else
                    value = VEC_KEEP_WHERE_POSITIVE(s, value);
            }
            if (mask_c) VEC_STORE_MASKED(out, mask, value); else VEC_STORE(out, value);
        }
}

/* fastprop_row_blocks (below) with the number of vectors per row, halves (1 or 2),
 * a constant too. */
KERNEL_INLINE void NAME(fastprop_row_blocks_of)(
    int halves, int partial_masking, int start, int finish, ptrdiff_t width, ptrdiff_t m,
    ptrdiff_t k, const TYPE* A, ptrdiff_t row_stride, ptrdiff_t inner_stride, const TYPE* B,
    ptrdiff_t ldb, const TYPE* bias, TYPE alpha, TYPE beta, TYPE* C, ptrdiff_t ldc,
    const TYPE* S)
{
    const int partial = width < halves * LANES;
    const MASK mask0 = VEC_MASK(width), mask1 = VEC_MASK(width - LANES);
    for (ptrdiff_t i0 = 0; i0 < m;) {
        const TYPE* a = A + i0 * row_stride;
        TYPE* c = C + i0 * ldc;
        const TYPE* s = FASTPROP_FINISH_IS_DERIVATIVE(finish) ? S + i0 * ldc : S;
        const ptrdiff_t left = m - i0;
        const int rows = left >= BLOCK_ROWS ? BLOCK_ROWS : left >= 4 ? 4 : (int) left;
        if (rows == BLOCK_ROWS && !partial)
            NAME(fastprop_block)(BLOCK_ROWS, halves, FASTPROP_MASK_NONE, start, finish, mask0,
                                 mask1, k, a, row_stride, inner_stride, B, ldb, bias, alpha,
                                 beta, c, ldc, s);
        else if (rows == BLOCK_ROWS)
            NAME(fastprop_block)(BLOCK_ROWS, halves, partial_masking, start, finish, mask0,
                                 mask1, k, a, row_stride, inner_stride, B, ldb, bias, alpha,
                                 beta, c, ldc, s);
#if BLOCK_ROWS > 4
        else if (rows == 4)
            NAME(fastprop_block)(4, halves, partial_masking, start, finish, mask0, mask1, k, a,
                                 row_stride, inner_stride, B, ldb, bias, alpha, beta, c, ldc, s);
#endif
        else if (rows == 3)
            NAME(fastprop_block)(3, halves, partial_masking, start, finish, mask0, mask1, k, a,
                                 row_stride, inner_stride, B, ldb, bias, alpha, beta, c, ldc, s);
        else if (rows == 2)
            NAME(fastprop_block)(2, halves, partial_masking, start, finish, mask0, mask1, k, a,
                                 row_stride, inner_stride, B, ldb, bias, alpha, beta, c, ldc, s);
        else
            NAME(fastprop_block)(1, halves, partial_masking, start, finish, mask0, mask1, k, a,
                                 row_stride, inner_stride, B, ldb, bias, alpha, beta, c, ldc, s);
        i0 += rows;
    }
}

/* All the row blocks of one column panel of C (width <= 2 LANES columns),
 * BLOCK_ROWS rows at a time, the last rows in a block of 4 (if BLOCK_ROWS is
 * more) and one of 1 to 3; a panel of one vector's width or less computes one
 * vector per row, not two. Inlined into each caller with constant
 * partial_masking, start and finish, so that every call below is straight-line
 * code. How the rows are blocked changes no output's operations. S (rows ldc apart,
 * like C's) is read only by the FINISH_*_DERIVATIVE cases; NULL otherwise. */
KERNEL_INLINE void NAME(fastprop_row_blocks)(
    int partial_masking, int start, int finish, ptrdiff_t width, ptrdiff_t m, ptrdiff_t k,
    const TYPE* A, ptrdiff_t row_stride, ptrdiff_t inner_stride, const TYPE* B, ptrdiff_t ldb,
    const TYPE* bias, TYPE alpha, TYPE beta, TYPE* C, ptrdiff_t ldc, const TYPE* S)
{
    if (width > LANES)
        NAME(fastprop_row_blocks_of)(2, partial_masking, start, finish, width, m, k, A,
                                     row_stride, inner_stride, B, ldb, bias, alpha, beta, C, ldc,
                                     S);
    else
        NAME(fastprop_row_blocks_of)(1, partial_masking, start, finish, width, m, k, A,
                                     row_stride, inner_stride, B, ldb, bias, alpha, beta, C, ldc,
                                     S);
}

/* A column panel of B copied contiguous: panel[p * 2 LANES + j] := B[p * ldb + j] for j <     */
/* width (zero past it) and p < depth. Read in place, the panel's rows lie ldb apart; when     */
/* ldb is a multiple of 1 KiB or so (widths 256, 512, 1024 in float32), its cache lines fall   */
/* into a few L1 and L2 sets and evict each other between the blocks of rows that reuse them. */
KERNEL_INLINE void NAME(fastprop_pack_rows)(const TYPE* B, ptrdiff_t ldb, ptrdiff_t width,
                                                  ptrdiff_t depth, TYPE* panel)
{
    if (width == 2 * LANES) {
        for (ptrdiff_t p = 0; p < depth; ++p) {
            VEC_STORE_ALIGNED(panel + p * 2 * LANES, VEC_LOAD(B + p * ldb));
            VEC_STORE_ALIGNED(panel + p * 2 * LANES + LANES, VEC_LOAD(B + p * ldb + LANES));
        }
        return;
    }
    const MASK mask0 = VEC_MASK(width), mask1 = VEC_MASK(width - LANES);
    for (ptrdiff_t p = 0; p < depth; ++p) {
        VEC_STORE_ALIGNED(panel + p * 2 * LANES, VEC_LOAD_MASKED(B + p * ldb, mask0));
        VEC_STORE_ALIGNED(panel + p * 2 * LANES + LANES, VEC_LOAD_MASKED(B + p * ldb + LANES, mask1));
    }
}

/* ------------------------------------------------------------------------ */
/* C (m, n) := alpha * (A @ B) + beta * C, beta 0 or 1, for the backward     */
/* products: A @ B (strides k, 1) and A.T @ B (strides 1, m). B (k, n).      */
/* One task is one column panel of C, all rows: the panel's k x 2-vector     */
/* strip of B is copied contiguous onto the stack (up to PACK_DEPTH deep at  */
/* a time) and then read from L1 for every block of rows. Each output is one */
/* sum over p, in order, as in the plain loops, however it is chunked.       */
/* ------------------------------------------------------------------------ */

typedef struct {
    ptrdiff_t m, n, k, row_stride, inner_stride;
    const TYPE* A;
    const TYPE* B;
    TYPE alpha, beta;
    TYPE* C;
    const TYPE* outputs;          /* S = f(z), or NULL; if not, C := C * f' from S at the end */
    fastprop_activation function; /* f */
    TYPE* column_sums;            /* or NULL: then column_sums := alpha * (sums of A's
                                     columns of the transpose) + beta * column_sums */
    ptrdiff_t column_groups;      /* strips: each strip's column panels in this many tasks */
} NAME(fastprop_products_arguments);

KERNEL static void NAME(fastprop_products_panel_task)(void* arguments, ptrdiff_t panel)
{
    const NAME(fastprop_products_arguments)* x = (const NAME(fastprop_products_arguments)*) arguments;
    const ptrdiff_t j0 = panel * 2 * LANES;
    const ptrdiff_t width = x->n - j0 < 2 * LANES ? x->n - j0 : 2 * LANES;
    /* The last pass over the panel ends each output as C := (alpha * sum + beta * C), times
     * f' from the layer's outputs if there are any (as fastprop_multiply_derivative),
     * while the outputs are still in registers: a pass of its own over a panel whose rows
     * lie n apart (4 KiB for n = 1024 floats) would meet them again only after they had
     * left L1, and L2 too, as they fall into a few sets. */
    const TYPE* S = x->outputs == NULL ? NULL : x->outputs + j0;
    const int finish = S == NULL ? FASTPROP_FINISH_SCALED
                       : x->function == FASTPROP_ACTIVATION_SIGMOID ? FASTPROP_FINISH_SIGMOID_DERIVATIVE
                       : x->function == FASTPROP_ACTIVATION_TANH ? FASTPROP_FINISH_TANH_DERIVATIVE
                       : FASTPROP_FINISH_RELU_DERIVATIVE;
#define FASTPROP_LAST_PASS_AS(finish_case, masking, start, depth, a, B, ldb, beta)               \
    NAME(fastprop_row_blocks)(masking, start, finish_case, width, x->m, depth, a,              \
                              x->row_stride, x->inner_stride, B, ldb, NULL, x->alpha, beta,    \
                              x->C + j0, x->n, S)
#define FASTPROP_LAST_PASS(masking, start, depth, a, B, ldb, beta)                               \
    do {                                                                                       \
        if (finish == FASTPROP_FINISH_SCALED)                                                  \
            FASTPROP_LAST_PASS_AS(FASTPROP_FINISH_SCALED, masking, start, depth, a, B, ldb,    \
                                  beta);                                                       \
        else if (finish == FASTPROP_FINISH_SIGMOID_DERIVATIVE)                                 \
            FASTPROP_LAST_PASS_AS(FASTPROP_FINISH_SIGMOID_DERIVATIVE, masking, start, depth,   \
                                  a, B, ldb, beta);                                            \
        else if (finish == FASTPROP_FINISH_TANH_DERIVATIVE)                                    \
            FASTPROP_LAST_PASS_AS(FASTPROP_FINISH_TANH_DERIVATIVE, masking, start, depth, a,   \
                                  B, ldb, beta);                                               \
        else                                                                                   \
            FASTPROP_LAST_PASS_AS(FASTPROP_FINISH_RELU_DERIVATIVE, masking, start, depth, a,   \
                                  B, ldb, beta);                                               \
    } while (0)
    if (x->k <= FASTPROP_PACK_DEPTH) {
        TYPE packed[FASTPROP_PACK_DEPTH * 2 * LANES] __attribute__((aligned(sizeof(VEC))));
        NAME(fastprop_pack_rows)(x->B + j0, x->n, width, x->k, packed);
        FASTPROP_LAST_PASS(FASTPROP_MASK_C, FASTPROP_START_ZERO, x->k, x->A, packed, 2 * LANES,
                           x->beta);
    } else if (x->beta == 0) {
        /* Deeper: the strip packed in equal chunks of at most PACK_DEPTH, the partial sums
         * kept in C between them (stored and reloaded exactly), scaled after the last. */
        TYPE packed[FASTPROP_PACK_DEPTH * 2 * LANES] __attribute__((aligned(sizeof(VEC))));
        const ptrdiff_t chunks = (x->k + FASTPROP_PACK_DEPTH - 1) / FASTPROP_PACK_DEPTH;
        const ptrdiff_t chunk_depth = (x->k + chunks - 1) / chunks;
        for (ptrdiff_t p0 = 0; p0 < x->k; p0 += chunk_depth) {
            const ptrdiff_t depth = x->k - p0 < chunk_depth ? x->k - p0 : chunk_depth;
            const TYPE* a = x->A + p0 * x->inner_stride;
            NAME(fastprop_pack_rows)(x->B + p0 * x->n + j0, x->n, width, depth, packed);
            if (p0 == 0)
                NAME(fastprop_row_blocks)(FASTPROP_MASK_C, FASTPROP_START_ZERO,
                                          FASTPROP_FINISH_SUM, width, x->m, depth, a,
                                          x->row_stride, x->inner_stride, packed, 2 * LANES,
                                          NULL, 1, 0, x->C + j0, x->n, NULL);
            else if (p0 + depth < x->k)
                NAME(fastprop_row_blocks)(FASTPROP_MASK_C, FASTPROP_START_C, FASTPROP_FINISH_SUM,
                                          width, x->m, depth, a, x->row_stride,
                                          x->inner_stride, packed, 2 * LANES, NULL, 1, 0,
                                          x->C + j0, x->n, NULL);
            else
                FASTPROP_LAST_PASS(FASTPROP_MASK_C, FASTPROP_START_C, depth, a, packed,
                                   2 * LANES, 0);
        }
    } else
        /* Deeper, adding to C (the fused gradient step on more than STRIP_DEPTH rows): B
         * read in place, as C holds the weights until the end of the sum. */
        FASTPROP_LAST_PASS(FASTPROP_MASK_B_AND_C, FASTPROP_START_ZERO, x->k, x->A, x->B + j0,
                           x->n, x->beta);
#undef FASTPROP_LAST_PASS
#undef FASTPROP_LAST_PASS_AS
}

/* One strip of FASTPROP_STRIP_ROWS rows of C, all columns, for A read through its
 * transpose (A.T @ B: row_stride 1, inner_stride m). Read in place, the strip's entries
 * for one p are contiguous but successive p are m apart; when m * sizeof(TYPE) is a
 * multiple of a few hundred bytes (m = 256 floats, say), those k cache lines fall into a
 * handful of L1 sets and evict each other on every panel. So the strip is first copied
 * into a contiguous k x STRIP_ROWS block on the stack (k at most FASTPROP_STRIP_DEPTH),
 * which every column panel then reads from L1. Same sums, same order. */
KERNEL static void NAME(fastprop_products_strip_task)(void* arguments, ptrdiff_t task)
{
    const NAME(fastprop_products_arguments)* x = (const NAME(fastprop_products_arguments)*) arguments;
    /* Task strip * column_groups + group: that strip's group-th share of column panels
     * (the first group also sums the strip's columns). */
    const ptrdiff_t strip = task / x->column_groups, group = task % x->column_groups;
    const ptrdiff_t panels = FASTPROP_PANELS(x->n, LANES);
    const ptrdiff_t group_panels = (panels + x->column_groups - 1) / x->column_groups;
    const ptrdiff_t j_begin = group * group_panels * 2 * LANES;
    const ptrdiff_t j_end = (group + 1) * group_panels * 2 * LANES < x->n
                            ? (group + 1) * group_panels * 2 * LANES : x->n;
    if (j_begin >= x->n)
        return;
    const ptrdiff_t i0 = strip * FASTPROP_STRIP_ROWS;
    const ptrdiff_t rows = x->m - i0 < FASTPROP_STRIP_ROWS ? x->m - i0 : FASTPROP_STRIP_ROWS;
    TYPE packed[FASTPROP_STRIP_DEPTH * FASTPROP_STRIP_ROWS] __attribute__((aligned(sizeof(VEC))));
    /* Row p of the strip is STRIP_ROWS contiguous entries of A (a few vectors), zero past
     * the strip's last row (masked loads, which touch no memory past it). */
    _Static_assert(FASTPROP_STRIP_ROWS % LANES == 0, "a strip's row is whole vectors");
    const TYPE* a_strip = x->A + i0;
    if (rows == FASTPROP_STRIP_ROWS) {
        for (ptrdiff_t p = 0; p < x->k; ++p)
            for (int v = 0; v < FASTPROP_STRIP_ROWS / LANES; ++v)
                VEC_STORE_ALIGNED(packed + p * FASTPROP_STRIP_ROWS + v * LANES,
                                  VEC_LOAD(a_strip + p * x->inner_stride + v * LANES));
    } else {
        MASK masks[FASTPROP_STRIP_ROWS / LANES];
        for (int v = 0; v < FASTPROP_STRIP_ROWS / LANES; ++v)
            masks[v] = VEC_MASK(rows - v * LANES);
        for (ptrdiff_t p = 0; p < x->k; ++p)
            for (int v = 0; v < FASTPROP_STRIP_ROWS / LANES; ++v)
                VEC_STORE_ALIGNED(packed + p * FASTPROP_STRIP_ROWS + v * LANES,
                                  VEC_LOAD_MASKED(a_strip + p * x->inner_stride + v * LANES,
                                                  masks[v]));
    }
    if (x->column_sums != NULL && group == 0) {
        /* The strip's column sums (a bias gradient), as _column_sums_accumulate: each
         * summed over p in order, then scaled and added. */
        TYPE totals[FASTPROP_STRIP_ROWS] = {0};
        for (ptrdiff_t p = 0; p < x->k; ++p)
            for (ptrdiff_t r = 0; r < FASTPROP_STRIP_ROWS; ++r)
                totals[r] = totals[r] + packed[p * FASTPROP_STRIP_ROWS + r];
        for (ptrdiff_t r = 0; r < rows; ++r)
            x->column_sums[i0 + r] = x->beta == 0 ? x->alpha * totals[r]
                                                  : x->column_sums[i0 + r] + x->alpha * totals[r];
    }
    for (ptrdiff_t j0 = j_begin; j0 < j_end; j0 += 2 * LANES) {
        const ptrdiff_t width = x->n - j0 < 2 * LANES ? x->n - j0 : 2 * LANES;
        NAME(fastprop_row_blocks)(FASTPROP_MASK_B_AND_C, FASTPROP_START_ZERO,
                                  FASTPROP_FINISH_SCALED, width, rows, x->k, packed, 1,
                                  FASTPROP_STRIP_ROWS, x->B + j0, x->n, NULL, x->alpha,
                                  x->beta, x->C + i0 * x->n + j0, x->n, NULL);
    }
}

/* Shared out over the team by column panels, or, for A.T @ B of at most STRIP_DEPTH, by
 * strips of rows (which also do the column sums; the column-panel tasks do not). */
int NAME(fastprop_products)(fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                            const TYPE* A, ptrdiff_t row_stride, ptrdiff_t inner_stride,
                            const TYPE* B, TYPE alpha, TYPE beta, TYPE* C,
                            const TYPE* outputs, fastprop_activation function,
                            TYPE* column_sums)
{
    const int strips = row_stride == 1 && inner_stride != 1 && k <= FASTPROP_STRIP_DEPTH
                       && outputs == NULL;
    const ptrdiff_t n_strips = (m + FASTPROP_STRIP_ROWS - 1) / FASTPROP_STRIP_ROWS;
    /* Fewer strips than threads (a gradient step into an output layer of 10 units is one
     * strip): each strip's column panels are shared out too. */
    const ptrdiff_t column_groups = strips ? fastprop_groups(team, n_strips,
                                                             FASTPROP_PANELS(n, LANES)) : 1;
    NAME(fastprop_products_arguments) arguments = {m, n, k, row_stride, inner_stride, A, B,
                                                   alpha, beta, C, outputs, function,
                                                   strips ? column_sums : NULL, column_groups};
    if (strips)
        fastprop_team_run(team, NAME(fastprop_products_strip_task), &arguments,
                          n_strips * column_groups);
    else
        fastprop_team_run(team, NAME(fastprop_products_panel_task), &arguments,
                          FASTPROP_PANELS(n, LANES));
    return strips && column_sums != NULL;
}

/* Panel packing for the forward product: panel[p * 2 LANES + j] := W[j * k + p]
 * for j < width (2 LANES of W's rows, zero past width) and p < depth. Whole
 * LANES x LANES squares are transposed in registers: in place when all LANES rows
 * exist, otherwise through a square on the stack holding the rows that do and zeros
 * (an output layer of 10 units: one such square per LANES deep, rather than 2 LANES
 * entries one by one); a group of no rows is zeros; the last p (depth not a multiple
 * of LANES) go one by one. */
KERNEL_NO_FMA_INLINE void NAME(fastprop_pack_transposed)(const TYPE* W, ptrdiff_t k,
                                                               ptrdiff_t width, ptrdiff_t depth,
                                                               TYPE* panel)
{
    for (ptrdiff_t group = 0; group < 2 * LANES; group += LANES) {
        ptrdiff_t p = 0;
        const ptrdiff_t group_rows = width - group;
        if (group_rows >= LANES) {
            for (; p + LANES <= depth; p += LANES)
                VEC_TRANSPOSE(W + group * k + p, k, panel + p * 2 * LANES + group, 2 * LANES);
        } else if (group_rows > 0) {
            TYPE square[LANES * LANES] __attribute__((aligned(sizeof(VEC))));
            for (ptrdiff_t j = group_rows; j < LANES; ++j)
                VEC_STORE_ALIGNED(square + j * LANES, VEC_SET0());
            for (; p + LANES <= depth; p += LANES) {
                for (ptrdiff_t j = 0; j < group_rows; ++j)
                    VEC_STORE_ALIGNED(square + j * LANES, VEC_LOAD(W + (group + j) * k + p));
                VEC_TRANSPOSE(square, LANES, panel + p * 2 * LANES + group, 2 * LANES);
            }
        } else {
            for (; p < depth; ++p)
                VEC_STORE_ALIGNED(panel + p * 2 * LANES + group, VEC_SET0());
        }
        for (; p < depth; ++p)
            for (ptrdiff_t j = group; j < group + LANES; ++j)
                panel[p * 2 * LANES + j] = j < width ? W[j * k + p] : 0;
    }
}

#if DOT_PRODUCTS
/* x . y over k, in LANES interleaved partial sums, the last chunk masked. */
KERNEL_INLINE TYPE NAME(fastprop_dot)(const TYPE* x, const TYPE* y, ptrdiff_t k)
{
    const ptrdiff_t full = k - k % LANES;
    VEC s = VEC_SET0();
    for (ptrdiff_t p = 0; p < full; p += LANES)
        s = VEC_FMADD(VEC_LOAD(x + p), VEC_LOAD(y + p), s);
    if (full < k) {
        const MASK tail = VEC_MASK(k - full);
        s = VEC_FMADD(VEC_LOAD_MASKED(x + full, tail), VEC_LOAD_MASKED(y + full, tail), s);
    }
    return VEC_SUM(s);
}
#endif

/* ------------------------------------------------------------------------ */
/* C (m, n) := f(A (m, k) @ W (n, k).T + bias (n)), the forward step.       */
/* W's rows are the wrong way round for the micro-kernel, so for each column */
/* panel of C a strip of 2 vectors' worth of W's rows is first transposed    */
/* into a k x 2-vector panel on the stack (zero-padded past n, at most       */
/* PANEL_DEPTH deep at a time; deeper sums continue from the partial sums    */
/* stored in C), which every block of rows of A then reads. Each output      */
/* starts from its bias and adds the products in order of p, as in the plain */
/* loops; the function is applied to the panel while it is still in cache.  */
/* Narrow outputs (fewer than NARROW_WIDTH, one AVX2 vector, on every path: */
/* an output layer of a few units) would make a panel mostly padding, so     */
/* there each output is a dot product of two rows instead, in 8 (float) or 4 */
/* (double) interleaved partial sums: this path's own (DOT_PRODUCTS 1, with  */
/* LANES that many) or another path's (NARROW_DENSE_ACTIVATE).               */
/* ------------------------------------------------------------------------ */

typedef struct {
    ptrdiff_t m, n, k;
    const TYPE* A;
    const TYPE* W;
    const TYPE* bias;
    TYPE* C;
    ptrdiff_t row_groups, group_rows;   /* each panel's rows in row_groups tasks */
    fastprop_activation function;
} NAME(fastprop_dense_activate_arguments);

/* Task panel * row_groups + group: that panel's rows group * group_rows onwards. */
KERNEL static void NAME(fastprop_dense_activate_panel_task)(void* arguments, ptrdiff_t task)
{
    const NAME(fastprop_dense_activate_arguments)* x =
        (const NAME(fastprop_dense_activate_arguments)*) arguments;
    const ptrdiff_t panel = task / x->row_groups, first_row = task % x->row_groups * x->group_rows;
    const ptrdiff_t m = x->m - first_row < x->group_rows ? x->m - first_row : x->group_rows;
    if (m <= 0)
        return;
    const ptrdiff_t n = x->n, k = x->k;
    const TYPE* A = x->A + first_row * k;
    TYPE* C = x->C + first_row * n;
    const ptrdiff_t j0 = panel * 2 * LANES, width = n - j0 < 2 * LANES ? n - j0 : 2 * LANES;
    TYPE strip[FASTPROP_PANEL_DEPTH * 2 * LANES] __attribute__((aligned(sizeof(VEC))));
    /* k in equal chunks (a multiple of 8 deep, at most PANEL_DEPTH): 784 as 4 x 196 -> 200, 200,
     * 200, 184 rather than 256, 256, 256, 16, whose last pass would be mostly overhead. */
    const ptrdiff_t chunks = (k + FASTPROP_PANEL_DEPTH - 1) / FASTPROP_PANEL_DEPTH;
    const ptrdiff_t chunk_depth = ((k + chunks - 1) / chunks + 7) / 8 * 8;
    /* relu is applied by the last chunk's stores, while the sums are in registers (a pass
     * of its own over the panel would be a call per row of a few vectors); the other
     * functions by a pass over the panel, in cache, after the last chunk. */
    const int relu = x->function == FASTPROP_ACTIVATION_RELU;
    /* One chunk's row blocks; start and finish constants, each case straight-line code. */
#define FASTPROP_CHUNK(start, finish)                                                         \
    NAME(fastprop_row_blocks)(FASTPROP_MASK_C, start, finish, width, m, depth, A + p0, k, 1,  \
                              strip, 2 * LANES, x->bias + j0, 1, 0, C + j0, n, NULL)
    for (ptrdiff_t p0 = 0; p0 < k; p0 += chunk_depth) {
        const ptrdiff_t depth = k - p0 < chunk_depth ? k - p0 : chunk_depth;
        const int relu_now = relu && p0 + depth >= k;
        NAME(fastprop_pack_transposed)(x->W + j0 * k + p0, k, width, depth, strip);
        if (p0 == 0 && relu_now)
            FASTPROP_CHUNK(FASTPROP_START_BIAS, FASTPROP_FINISH_RELU);
        else if (p0 == 0)
            FASTPROP_CHUNK(FASTPROP_START_BIAS, FASTPROP_FINISH_SUM);
        else if (relu_now)
            FASTPROP_CHUNK(FASTPROP_START_C, FASTPROP_FINISH_RELU);
        else
            FASTPROP_CHUNK(FASTPROP_START_C, FASTPROP_FINISH_SUM);
    }
#undef FASTPROP_CHUNK
    if (!relu)
        ACTIVATE_PANEL(x->function, C + j0, n, m, width);
}

#if DOT_PRODUCTS
/* A block of rows of narrow outputs: every output's dot product, then the function
 * over the block as one array (contiguous: C's rows are n long), so that its vectors run side by
 * side rather than one short row at a time. */
KERNEL static void NAME(fastprop_dense_activate_narrow_task)(void* arguments, ptrdiff_t task)
{
    const NAME(fastprop_dense_activate_arguments)* x =
        (const NAME(fastprop_dense_activate_arguments)*) arguments;
    const ptrdiff_t rows_per_task = FASTPROP_NARROW_ROWS_PER_TASK(x->n);
    const ptrdiff_t first = task * rows_per_task;
    const ptrdiff_t end = x->m - first < rows_per_task ? x->m : first + rows_per_task;
    for (ptrdiff_t row = first; row < end; ++row) {
        TYPE* c = x->C + row * x->n;
        for (ptrdiff_t j = 0; j < x->n; ++j)
            c[j] = x->bias[j] + NAME(fastprop_dot)(x->A + row * x->k, x->W + j * x->k, x->k);
    }
    ACTIVATE_ARRAY(x->function, x->C + first * x->n, x->C + first * x->n, (end - first) * x->n);
}
#endif

/* The column panels (or, for narrow outputs, the rows) are shared out over the team; with
 * fewer panels than threads (an output layer of 10 units is one panel), each panel's rows
 * too, in groups (fastprop_groups). */
void NAME(fastprop_dense_activate)(fastprop_team* team, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                                   const TYPE* A, const TYPE* W, const TYPE* bias, TYPE* C,
                                   fastprop_activation function)
{
    const ptrdiff_t panels = FASTPROP_PANELS(n, LANES);
    const ptrdiff_t row_groups = fastprop_groups(team, panels, m / BLOCK_ROWS);
    /* Whole blocks of rows per group; a last group may be short, or empty. */
    const ptrdiff_t group_rows = ((m + row_groups - 1) / row_groups + BLOCK_ROWS - 1)
                                 / BLOCK_ROWS * BLOCK_ROWS;
    NAME(fastprop_dense_activate_arguments) arguments = {m, n, k, A, W, bias, C, row_groups,
                                                         group_rows, function};
    if (n < FASTPROP_NARROW_WIDTH(TYPE))
#if DOT_PRODUCTS
        fastprop_team_run(team, NAME(fastprop_dense_activate_narrow_task), &arguments,
                          (m + FASTPROP_NARROW_ROWS_PER_TASK(n) - 1)
                              / FASTPROP_NARROW_ROWS_PER_TASK(n));
#else
        NARROW_DENSE_ACTIVATE(team, m, n, k, A, W, bias, C, function);
#endif
    else
        fastprop_team_run(team, NAME(fastprop_dense_activate_panel_task), &arguments,
                          panels * row_groups);
}
