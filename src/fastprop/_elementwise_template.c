/* Elementwise passes for one dtype: included by _elementwise.c with REAL
 * (float or double) and TYPED(name) (name with the dtype's suffix) defined. */

void TYPED(fastprop_add_bias_activate)(fastprop_cpu_path cpu, fastprop_activation function,
                                       REAL* Z, const REAL* b, ptrdiff_t rows, ptrdiff_t cols)
{
    for (ptrdiff_t r = 0; r < rows; ++r) {
        REAL* row = Z + r * cols;
        for (ptrdiff_t j = 0; j < cols; ++j)
            row[j] = row[j] + b[j];
        TYPED(fastprop_activate)(cpu, function, row, row, cols);
    }
}

/* out[first:first + width] := alpha * D[:, first:first + width].sum(0) + beta * out[...]
 * Each column is summed over the rows in order, as in the textbook, but a block
 * of columns at a time and row by row, so that the reads are contiguous and the
 * loop vectorises (column by column it would stride a whole row per read). A
 * few columns (an output layer of a unit or two) go column by column: the same
 * sums without the vectorised loop's set-up. */
static void TYPED(column_block_sums)(ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t first,
                                     ptrdiff_t width, REAL alpha, const REAL* D, REAL beta,
                                     REAL* out)
{
    REAL totals[FASTPROP_COLUMN_BLOCK];
    if (width < 4) {
        for (ptrdiff_t j = first; j < first + width; ++j) {
            REAL total = 0;
            for (ptrdiff_t r = 0; r < rows; ++r)
                total = total + D[r * cols + j];
            out[j] = beta == 0 ? alpha * total : out[j] + alpha * total;
        }
        return;
    }
    for (ptrdiff_t j = 0; j < width; ++j)
        totals[j] = 0;
    for (ptrdiff_t r = 0; r < rows; ++r) {
        const REAL* row = D + r * cols + first;
        for (ptrdiff_t j = 0; j < width; ++j)
            totals[j] = totals[j] + row[j];
    }
    for (ptrdiff_t j = 0; j < width; ++j) {
        if (beta == 0)
            out[first + j] = alpha * totals[j];
        else
            out[first + j] = out[first + j] + alpha * totals[j];
    }
}

void TYPED(fastprop_column_sums)(ptrdiff_t rows, ptrdiff_t cols, REAL alpha, const REAL* D,
                                 REAL beta, REAL* out)
{
    for (ptrdiff_t first = 0; first < cols; first += FASTPROP_COLUMN_BLOCK) {
        const ptrdiff_t width = cols - first < FASTPROP_COLUMN_BLOCK ? cols - first
                                                                      : FASTPROP_COLUMN_BLOCK;
        TYPED(column_block_sums)(rows, cols, first, width, alpha, D, beta, out);
    }
}

void TYPED(fastprop_sgd_update)(ptrdiff_t size, REAL lr, const REAL* grad, REAL* param)
{
    for (ptrdiff_t i = 0; i < size; ++i)
        param[i] = param[i] - lr * grad[i];
}

void TYPED(fastprop_gather_rows)(const REAL* source, ptrdiff_t width, const long long* row_indices,
                                 ptrdiff_t n_rows, REAL* destination)
{
    for (ptrdiff_t i = 0; i < n_rows; ++i)
        memcpy(destination + i * width, source + row_indices[i] * width,
               (size_t) width * sizeof(REAL));
}

/* ------------------------------------------------------------------------ */
/* The same passes shared out over a team: blocks of rows (of columns, for   */
/* the sums) are the tasks of one phase. Every element is computed by the    */
/* same code as alone, so the result is the same bits.                       */
/* ------------------------------------------------------------------------ */

typedef struct {
    fastprop_cpu_path cpu;
    fastprop_activation function;   /* bias and activation, derivative */
    REAL* target;           /* rows x cols in place; for the column sums, out (cols) */
    const REAL* source;     /* the bias (cols), the sigmoid outputs or the deltas (rows x cols) */
    ptrdiff_t rows, cols, rows_per_task;
    REAL alpha, beta;       /* column sums only */
} TYPED(elementwise_work);

static void TYPED(bias_activation_task)(void* arguments, ptrdiff_t task)
{
    const TYPED(elementwise_work)* work = arguments;
    const ptrdiff_t first = task * work->rows_per_task;
    const ptrdiff_t rows = work->rows - first < work->rows_per_task ? work->rows - first
                                                                     : work->rows_per_task;
    TYPED(fastprop_add_bias_activate)(work->cpu, work->function, work->target + first * work->cols,
                                      work->source, rows, work->cols);
}

static void TYPED(derivative_task)(void* arguments, ptrdiff_t task)
{
    const TYPED(elementwise_work)* work = arguments;
    const ptrdiff_t first = task * work->rows_per_task;
    const ptrdiff_t rows = work->rows - first < work->rows_per_task ? work->rows - first
                                                                     : work->rows_per_task;
    const ptrdiff_t offset = first * work->cols;
    TYPED(fastprop_multiply_derivative)(work->function, work->target + offset,
                                        work->source + offset, rows * work->cols);
}

static void TYPED(column_sums_task)(void* arguments, ptrdiff_t task)
{
    const TYPED(elementwise_work)* work = arguments;
    const ptrdiff_t first = task * FASTPROP_COLUMN_BLOCK;
    const ptrdiff_t width = work->cols - first < FASTPROP_COLUMN_BLOCK ? work->cols - first
                                                                        : FASTPROP_COLUMN_BLOCK;
    TYPED(column_block_sums)(work->rows, work->cols, first, width, work->alpha, work->source,
                             work->beta, work->target);
}

/* task over blocks of rows of about FASTPROP_ELEMENTS_PER_TASK elements each */
static void TYPED(run_over_rows)(fastprop_team* team, fastprop_task_function task,
                                 fastprop_cpu_path cpu, fastprop_activation function,
                                 REAL* target, const REAL* source, ptrdiff_t rows, ptrdiff_t cols)
{
    TYPED(elementwise_work) work = {cpu, function, target, source, rows, cols, 1, 0, 0};
    if (cols > 0 && FASTPROP_ELEMENTS_PER_TASK / cols > 1)
        work.rows_per_task = FASTPROP_ELEMENTS_PER_TASK / cols;
    fastprop_team_run(team, task, &work, (rows + work.rows_per_task - 1) / work.rows_per_task);
}

void TYPED(fastprop_shared_add_bias_activate)(fastprop_team* team, fastprop_cpu_path cpu,
                                              fastprop_activation function, REAL* Z,
                                              const REAL* b, ptrdiff_t rows, ptrdiff_t cols)
{
    if (team == NULL)
        TYPED(fastprop_add_bias_activate)(cpu, function, Z, b, rows, cols);
    else
        TYPED(run_over_rows)(team, TYPED(bias_activation_task), cpu, function, Z, b, rows, cols);
}

void TYPED(fastprop_shared_multiply_derivative)(fastprop_team* team, fastprop_activation function,
                                                REAL* D, const REAL* A, ptrdiff_t rows,
                                                ptrdiff_t cols)
{
    if (team == NULL)
        TYPED(fastprop_multiply_derivative)(function, D, A, rows * cols);
    else
        TYPED(run_over_rows)(team, TYPED(derivative_task), FASTPROP_CPU_BASELINE, function, D, A,
                             rows, cols);
}

void TYPED(fastprop_shared_column_sums)(fastprop_team* team, ptrdiff_t rows, ptrdiff_t cols,
                                        REAL alpha, const REAL* D, REAL beta, REAL* out)
{
    TYPED(elementwise_work) work = {FASTPROP_CPU_BASELINE, FASTPROP_ACTIVATION_IDENTITY, out, D,
                                    rows, cols, 0, alpha, beta};
    if (team == NULL)
        TYPED(fastprop_column_sums)(rows, cols, alpha, D, beta, out);
    else
        fastprop_team_run(team, TYPED(column_sums_task), &work,
                          (cols + FASTPROP_COLUMN_BLOCK - 1) / FASTPROP_COLUMN_BLOCK);
}

/* A value is NaN or infinite exactly when its exponent bits are all ones.
 * Testing the bits block by block, with an OR over the block and no early exit
 * inside it, lets the compiler vectorise the test (an early exit per element
 * would not). */
int TYPED(fastprop_all_finite)(const REAL* values, ptrdiff_t size)
{
    for (ptrdiff_t first = 0; first < size; first += FASTPROP_FINITE_CHECK_BLOCK) {
        const ptrdiff_t end = size - first < FASTPROP_FINITE_CHECK_BLOCK
                              ? size : first + FASTPROP_FINITE_CHECK_BLOCK;
        unsigned found = 0;
        for (ptrdiff_t i = first; i < end; ++i) {
            REAL_BITS bits;
            memcpy(&bits, &values[i], sizeof bits);
            found |= (bits & REAL_EXPONENT_BITS) == REAL_EXPONENT_BITS;
        }
        if (found)
            return 0;
    }
    return 1;
}
