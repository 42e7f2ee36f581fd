/* The optimizers' updates: SGD with momentum, Nesterov momentum and L2 weight decay
 * (torch.optim.SGD, dampening 0), and Adam with decoupled weight decay and bias
 * correction (torch.optim.AdamW), applied elementwise to a parameter array from its
 * gradient, in the order of operations of PyTorch's single-tensor implementations:
 *
 * First, for the weights only, the L2 penalty of scikit-learn's MLP (alpha):
 *          g := g + l2 * p, l2 = alpha / (the step's rows)     (if alpha)
 * then
 *   SGD    g := g + weight_decay * p                       (if weight_decay)
 *          buf := g on the first step, else momentum * buf + g   (if momentum)
 *          g := g + momentum * buf (nesterov), or buf      (if momentum)
 *          p := p + (-lr) * g
 *   AdamW  p := p * (1 - lr * weight_decay)                (if weight_decay)
 *          m := m + (1 - beta1) * (g - m)                  (torch's lerp, weight < 0.5;
 *                                                          else g - (g - m) * beta1)
 *          v := v * beta2 + ((1 - beta2) * g) * g
 *          p := p + ((-lr / (1 - beta1**t)) * m) / (sqrt(v) * (1 / sqrt(1 - beta2**t)) + eps)
 *
 * t counts the steps from 1. The scalars (1 - lr * weight_decay, the bias corrections) are
 * computed in double once per step, as Python computes them for PyTorch, then rounded to
 * the parameters' dtype. One difference from PyTorch's order: sqrt(v) is multiplied by the
 * reciprocal of sqrt(1 - beta2**t) where PyTorch divides by it (at most an ulp apart): the
 * update's time is its square roots and divisions (64-128-10: 5 us of a 22 us step), and
 * this saves one division of two. Plain SGD (no momentum, no weight decay) is not here: fit fuses
 * it into the gradient product (_products.h), W := W - lr * delta.T @ A.
 *
 * Every element is computed by the same operations on every CPU path (the loop is
 * compiled per path for its vector width, -ffp-contract=off: no multiply and add fused;
 * sqrt and division are exact IEEE operations) and whichever thread of a team runs it:
 * the same bits everywhere. No checks, no allocation.
 */
#ifndef FASTPROP_OPTIMIZERS_H
#define FASTPROP_OPTIMIZERS_H

#include <stddef.h>

#include "_config.h"
#include "_team.h"

typedef enum {
    FASTPROP_OPTIMIZER_SGD = 0,
    FASTPROP_OPTIMIZER_ADAM = 1
} fastprop_optimizer_kind;

/* An optimizer's settings, and the scalars of its current step (fastprop_optimizer_begin_step). */
typedef struct {
    fastprop_optimizer_kind kind;
    double momentum;        /* SGD: 0 for none */
    int nesterov;           /* SGD */
    double weight_decay;    /* SGD: L2, added to the gradient; Adam: decoupled */
    double sample_l2;       /* alpha: alpha / rows * W added to the weights' gradients */
    double beta1, beta2, eps;                     /* Adam */
    long long step;         /* the step being taken, from 1 */
    double lr;              /* this step's learning rate */
    double weight_l2;       /* this step's sample_l2 / rows */
    /* This step's scalars: 1 - lr * weight_decay, -lr / (1 - beta1**t), sqrt(1 - beta2**t) */
    double decay_factor, step_size, bias_correction2_sqrt;
} fastprop_optimizer;

/* Start step number step (from 1) on a batch of rows with learning rate lr: set the step's
 * scalars. */
void fastprop_optimizer_begin_step(fastprop_optimizer* optimizer, long long step, double lr,
                                   ptrdiff_t rows);

/* param := its update from grad (size elements), with first (SGD's momentum buffer or
 * Adam's m; NULL for SGD without momentum) and second (Adam's v) updated in place; shared
 * out over team (NULL: this thread). weights: param holds weights (the L2 term applies)
 * rather than biases. */
void fastprop_optimizer_update_float(const fastprop_config* config, fastprop_team* team,
                                     const fastprop_optimizer* optimizer, int weights,
                                     ptrdiff_t size, float* param, const float* grad,
                                     float* first, float* second);
void fastprop_optimizer_update_double(const fastprop_config* config, fastprop_team* team,
                                      const fastprop_optimizer* optimizer, int weights,
                                      ptrdiff_t size, double* param, const double* grad,
                                      double* first, double* second);

#endif  /* FASTPROP_OPTIMIZERS_H */
