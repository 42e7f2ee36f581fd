/* The backpropagation steps, and whole networks: the forward pass and epochs
 * of minibatch gradient descent. Each layer's activation function (_activations.h;
 * the sigmoid everywhere is the textbook's network), the loss of _losses.h (1/2 *
 * sum of squared errors by default, or its mean over the batch), plain gradient
 * descent.
 *
 * The caller allocates everything and passes it in (a network's per-layer
 * arrays, the workspace of activations and deltas, the batch buffers); these
 * functions write only into the outputs they are given, allocate nothing and
 * check nothing. Samples are rows, weights (n_out, n_in), all row-major. */
#ifndef FASTPROP_STEPS_H
#define FASTPROP_STEPS_H

#include <stddef.h>

#include "_activations.h"
#include "_config.h"
#include "_losses.h"
#include "_optimizers.h"
#include "_routing.h"
#include "_team.h"

/* A network's arrays: n_layers layers of sizes[l] inputs and sizes[l + 1]
 * outputs, and functions[l] after each (the softmax only after the last);
 * activations and deltas (rows of a batch x sizes[l + 1]) are the workspace. */
typedef struct {
    ptrdiff_t n_layers;
    const ptrdiff_t* sizes;
    const fastprop_activation* functions;
    float* const* weights;
    float* const* biases;
    float* const* activations;
    float* const* deltas;
} fastprop_network_float;

typedef struct {
    ptrdiff_t n_layers;
    const ptrdiff_t* sizes;
    const fastprop_activation* functions;
    double* const* weights;
    double* const* biases;
    double* const* activations;
    double* const* deltas;
} fastprop_network_double;

/* A training set (n_samples rows of X, and of Y or, for the cross-entropy, class
 * labels: one of the two is NULL), read in place; batch_X and batch_Y or
 * batch_labels (batch_size rows) receive the rows of a shuffled batch. mean_loss:
 * the loss is the mean over a batch's rows, not their sum (every step's size is
 * then lr / rows). */
typedef struct {
    const float* X;
    const float* Y;
    const long long* labels;
    ptrdiff_t n_samples, batch_size;
    fastprop_loss loss;
    int mean_loss;
    float* batch_X;
    float* batch_Y;
    long long* batch_labels;
} fastprop_training_set_float;

typedef struct {
    const double* X;
    const double* Y;
    const long long* labels;
    ptrdiff_t n_samples, batch_size;
    fastprop_loss loss;
    int mean_loss;
    double* batch_X;
    double* batch_Y;
    long long* batch_labels;
} fastprop_training_set_double;

/* An optimizer other than plain SGD (_optimizers.h) and its state for one network: the
 * state arrays the update keeps, per layer (first: SGD's momentum buffer or Adam's m, NULL
 * where unused; second: Adam's v), and the workspace of the fused gradient pass: one
 * buffer of gradient_capacity elements (at least the widest layer input) for a block of
 * rows of a layer's weight gradient, and one for a layer's bias gradient (the widest
 * layer). *steps counts the steps taken with it; each step adds one. */
#define FASTPROP_STATE_STRUCT(type)                                                        \
    typedef struct {                                                                       \
        fastprop_optimizer settings;                                                       \
        type* const* first_weights;                                                        \
        type* const* first_biases;                                                         \
        type* const* second_weights;                                                       \
        type* const* second_biases;                                                        \
        type* weight_gradient;                                                             \
        ptrdiff_t gradient_capacity;                                                       \
        type* bias_gradient;                                                               \
        long long* steps;                                                                  \
    } fastprop_optimizer_state_##type;
FASTPROP_STATE_STRUCT(float)
FASTPROP_STATE_STRUCT(double)
#undef FASTPROP_STATE_STRUCT

/* Steps that may be abandoned (_interrupt.h: Ctrl-C inside a long step). Products of more
 * than piece_multiply_adds run in pieces (rows of the batch for the forward products and
 * hidden deltas, rows of the weights for the gradient steps; pieces of whole strips of 16
 * rows, and of at least min_batch_rows and min_weight_rows: each piece reads the whole of
 * the product's other operand again), whether watching or not, so that the bits do not
 * depend on it: the pieces do not
 * change fastprop's own products' bits (each element is summed in the same order), but
 * BLAS's may differ from the whole product's. When watching (the run's thread watches
 * SIGINT), the n_arrays arrays the step changes (live[i], bytes[i] each: the parameters,
 * the optimizer's state and step count) are copied to saved[i] before each step, and
 * between pieces the loop looks at fastprop_interrupt_requested; a step abandoned is undone
 * from the copies, and the loop returns with interrupted set and epoch and position naming
 * the step not taken. */
typedef struct {
    ptrdiff_t piece_multiply_adds;
    ptrdiff_t min_batch_rows, min_weight_rows;
    int watching;
    ptrdiff_t n_arrays;
    void* const* live;
    void* const* saved;
    const size_t* bytes;
    int interrupted;          /* outputs */
    ptrdiff_t epoch, position;
} fastprop_interruption;

/* A data-parallel step (a measured plan's "split"): the batch's rows cut into parts
 * (part p: rows [p * rows / parts, (p + 1) * rows / parts)), each part gathered (when
 * shuffled) and taken through the forward pass, the loss's delta and the hidden deltas and
 * its own partial weight and bias gradients (the sums over its rows) by one thread, with the plan's routes on that thread;
 * then the parts' gradients summed in order (part 0 + part 1 + ...) and applied, the
 * weights' rows cut into the same number of blocks. Each thread's rows stay in its core's
 * caches for the whole step, and only the gradients and the weights cross between cores:
 * a 64-64-10 step on 200 rows shared product by product moved its activations between
 * the cores after every product and gained nothing over one thread. The bits depend on
 * parts (the gradients' sums are cut where the parts are), never on the thread count:
 * every task is the same code on the same rows whichever thread runs it. partials: parts
 * blocks of part_size elements (every layer's weights, then every layer's biases, in
 * layer order), written whole each step. Steps of fewer rows than parts take min(parts,
 * rows) parts. Not combined with pieces (fastprop_interruption): never both. */
#define FASTPROP_SPLIT_STRUCT(type)                                                        \
    typedef struct {                                                                       \
        ptrdiff_t parts;                                                                   \
        ptrdiff_t part_size;                                                               \
        type* partials;                                                                    \
    } fastprop_split_##type;
FASTPROP_SPLIT_STRUCT(float)
FASTPROP_SPLIT_STRUCT(double)
#undef FASTPROP_SPLIT_STRUCT

/* delta := (delta_next @ W_next) * f'(z), from A = f(z) */
void fastprop_hidden_delta_float(const fastprop_config* config, fastprop_team* team,
                                 ptrdiff_t rows, ptrdiff_t n_next, ptrdiff_t n_this,
                                 const float* delta_next, const float* W_next, const float* A,
                                 fastprop_activation function, float* delta);
void fastprop_hidden_delta_double(const fastprop_config* config, fastprop_team* team,
                                  ptrdiff_t rows, ptrdiff_t n_next, ptrdiff_t n_this,
                                  const double* delta_next, const double* W_next, const double* A,
                                  fastprop_activation function, double* delta);

/* grad_W := delta.T @ A_prev; grad_b := delta.sum(0) */
void fastprop_weight_gradient_float(const fastprop_config* config, ptrdiff_t rows, ptrdiff_t n_in,
                                    ptrdiff_t n_out, const float* delta, const float* A_prev,
                                    float* grad_W, float* grad_b);
void fastprop_weight_gradient_double(const fastprop_config* config, ptrdiff_t rows,
                                     ptrdiff_t n_in, ptrdiff_t n_out, const double* delta,
                                     const double* A_prev, double* grad_W, double* grad_b);

/* W := W - lr * delta.T @ A_prev; b := b - lr * delta.sum(0) */
void fastprop_gradient_step_float(const fastprop_config* config, fastprop_team* team,
                                  ptrdiff_t rows, ptrdiff_t n_in, ptrdiff_t n_out, float lr,
                                  const float* delta, const float* A_prev, float* W, float* b);
void fastprop_gradient_step_double(const fastprop_config* config, fastprop_team* team,
                                   ptrdiff_t rows, ptrdiff_t n_in, ptrdiff_t n_out, double lr,
                                   const double* delta, const double* A_prev, double* W,
                                   double* b);

/* activations[l] := f_l(activations[l - 1] @ weights[l].T + biases[l]), activations[-1] = X;
 * where output_z, the last layer's z instead of its outputs (for a loss, _losses.h). */
void fastprop_network_forward_float(const fastprop_config* config, fastprop_team* team,
                                    ptrdiff_t n_layers, const ptrdiff_t* sizes,
                                    const fastprop_activation* functions, int output_z,
                                    ptrdiff_t rows, const float* X, float* const* weights,
                                    float* const* biases, float* const* activations);
void fastprop_network_forward_double(const fastprop_config* config, fastprop_team* team,
                                     ptrdiff_t n_layers, const ptrdiff_t* sizes,
                                     const fastprop_activation* functions, int output_z,
                                     ptrdiff_t rows, const double* X, double* const* weights,
                                     double* const* biases, double* const* activations);

/* A network none of whose layers is wider than this, every product of whose step runs
 * in the plain loops on one thread, takes the step as one function (_small_steps_template.c:
 * the same bits, without the per-product calls that cost more than its arithmetic). */
#define FASTPROP_SMALL_STEP_MAX_WIDTH 8

/* For each epoch, one step per batch of positions [start, stop) of that epoch's
 * order (orders + epoch * n_samples; NULL: the samples in order, read in place);
 * epoch_losses[e] += the batches' summed losses (_losses.h), before each step.
 * optimizer: NULL for plain gradient descent (fused into the gradient product),
 * or the optimizer whose update follows each layer's gradient (lr its learning rate).
 * plan: FASTPROP_PRODUCT_KINDS decisions per layer (_routing.h), or NULL to route
 * every product by the configuration. Steps run as one function where
 * FASTPROP_SMALL_STEP_MAX_WIDTH says, if small_steps_allowed (0: every step as the
 * general step, for tests that compare the two); returns how many did. interruption:
 * NULL, or how a step may be abandoned (above). split: NULL, or the parts of a
 * data-parallel step (above; used where interruption is NULL). */
ptrdiff_t fastprop_train_epochs_float(const fastprop_config* config,
                                      const fastprop_decision* plan, fastprop_team* team,
                                      const fastprop_network_float* network,
                                      const fastprop_training_set_float* data,
                                      fastprop_optimizer_state_float* optimizer,
                                      const fastprop_split_float* split,
                                      const long long* orders, ptrdiff_t n_epochs,
                                      ptrdiff_t start, ptrdiff_t stop, float lr,
                                      double* epoch_losses, int small_steps_allowed,
                                      fastprop_interruption* interruption);
ptrdiff_t fastprop_train_epochs_double(const fastprop_config* config,
                                       const fastprop_decision* plan, fastprop_team* team,
                                       const fastprop_network_double* network,
                                       const fastprop_training_set_double* data,
                                       fastprop_optimizer_state_double* optimizer,
                                       const fastprop_split_double* split,
                                       const long long* orders, ptrdiff_t n_epochs,
                                       ptrdiff_t start, ptrdiff_t stop, double lr,
                                       double* epoch_losses, int small_steps_allowed,
                                       fastprop_interruption* interruption);

/* How the measured plan is made (fastprop/_planning.py): seconds per call of
 * one product of a training step on the first rows of X (kind FASTPROP_PRODUCT_*
 * of layer, on the network's own arrays, which it overwrites: the caller passes
 * copies), run as decision says. The least, over FASTPROP_TIMING_ROUNDS rounds,
 * of a round's time per call; the calls of all rounds take about budget_seconds
 * (at least one per round, after one call that warms the caches); with a
 * budget of 0, the time of that first call alone. */
#define FASTPROP_TIMING_ROUNDS 3
double fastprop_time_product_float(const fastprop_config* config, fastprop_decision decision,
                                   fastprop_team* team, const fastprop_network_float* network,
                                   const float* X, ptrdiff_t rows, ptrdiff_t layer, int kind,
                                   float lr, double budget_seconds);
double fastprop_time_product_double(const fastprop_config* config, fastprop_decision decision,
                                    fastprop_team* team, const fastprop_network_double* network,
                                    const double* X, ptrdiff_t rows, ptrdiff_t layer, int kind,
                                    double lr, double budget_seconds);

#endif  /* FASTPROP_STEPS_H */
