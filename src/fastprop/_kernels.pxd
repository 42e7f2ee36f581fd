# The C kernels' declarations, from their headers (each header says what its file does).
# Cython reads this file with _kernels.pyx; nothing else cimports it.
from libc.stddef cimport ptrdiff_t


cdef extern from "_config.h" nogil:
    enum: FASTPROP_MAX_THREADS
    ptrdiff_t FASTPROP_NEVER
    ctypedef enum fastprop_cpu_path:
        FASTPROP_CPU_BASELINE
        FASTPROP_CPU_AVX2
        FASTPROP_CPU_AVX512
    ctypedef enum fastprop_plan:
        FASTPROP_PLAN_FIXED
        FASTPROP_PLAN_MEASURED
        FASTPROP_PLAN_PORTABLE
    ctypedef struct fastprop_config:
        int threads
        int pin_threads
        fastprop_plan plan
        fastprop_cpu_path cpu
        ptrdiff_t vector_min_multiply_adds
        ptrdiff_t blas_min_multiply_adds_float32
        ptrdiff_t blas_min_multiply_adds_float64
        ptrdiff_t loops_blas_min_multiply_adds
        ptrdiff_t single_thread_blas_min_multiply_adds
        ptrdiff_t narrow_blas_min_multiply_adds
        ptrdiff_t parallel_min_multiply_adds
        ptrdiff_t parallel_min_batch_rows
    fastprop_config fastprop_default_config()
    fastprop_cpu_path fastprop_cpu_best_path()
    int fastprop_cpu_has_avx2_fma()
    int fastprop_cpu_has_avx512()
    int fastprop_vector_kernels_compiled()

cdef extern from "_routing.h" nogil:
    ctypedef enum fastprop_route:
        FASTPROP_ROUTE_LOOPS
        FASTPROP_ROUTE_VECTOR
        FASTPROP_ROUTE_BLAS
    ctypedef struct fastprop_decision:
        unsigned char route
        unsigned char shared
    enum:
        FASTPROP_PRODUCT_FORWARD
        FASTPROP_PRODUCT_HIDDEN_DELTA
        FASTPROP_PRODUCT_GRADIENT_STEP
        FASTPROP_PRODUCT_KINDS
    int fastprop_fills_vectors(ptrdiff_t length, int is_float)
    int fastprop_shares_out(const fastprop_config* config, ptrdiff_t batch_rows,
                            ptrdiff_t multiply_adds)
    fastprop_route fastprop_choose_route(const fastprop_config* config, ptrdiff_t multiply_adds,
                                         int fills_vectors, int is_float, int shared)
    int fastprop_network_uses_team(const fastprop_config* config, ptrdiff_t n_layers,
                                   const ptrdiff_t* sizes, ptrdiff_t batch_rows, int is_float,
                                   const fastprop_decision* plan)

cdef extern from "_team.h" nogil:
    int FASTPROP_TEAM_HAS_THREADS
    ctypedef struct fastprop_team:
        pass
    int fastprop_team_start(fastprop_team* team, int n_helpers, int pin_helpers)
    long fastprop_team_stop(fastprop_team* team)

cdef extern from "_blas.h" nogil:
    ctypedef void (*fastprop_sgemm_function)(char*, char*, int*, int*, int*, float*, float*, int*,
                                             float*, int*, float*, float*, int*) noexcept nogil
    ctypedef void (*fastprop_dgemm_function)(char*, char*, int*, int*, int*, double*, double*,
                                             int*, double*, int*, double*, double*,
                                             int*) noexcept nogil
    void fastprop_blas_install(fastprop_sgemm_function sgemm, fastprop_dgemm_function dgemm)

cdef extern from "_sigmoid.h" nogil:
    void fastprop_sigmoid_float(fastprop_cpu_path cpu, const float* z, float* out, ptrdiff_t size)
    void fastprop_sigmoid_double(fastprop_cpu_path cpu, const double* z, double* out,
                                 ptrdiff_t size)

cdef extern from "_activations.h" nogil:
    ctypedef enum fastprop_activation:
        FASTPROP_ACTIVATION_SIGMOID
        FASTPROP_ACTIVATION_TANH
        FASTPROP_ACTIVATION_RELU
        FASTPROP_ACTIVATION_IDENTITY
        FASTPROP_ACTIVATION_SOFTMAX
    void fastprop_activate_float(fastprop_cpu_path cpu, fastprop_activation function,
                                 const float* z, float* out, ptrdiff_t size)
    void fastprop_activate_double(fastprop_cpu_path cpu, fastprop_activation function,
                                  const double* z, double* out, ptrdiff_t size)
    void fastprop_softmax_rows_float(fastprop_cpu_path cpu, float* Z, ptrdiff_t rows,
                                     ptrdiff_t cols)
    void fastprop_softmax_rows_double(fastprop_cpu_path cpu, double* Z, ptrdiff_t rows,
                                      ptrdiff_t cols)

cdef extern from "_losses.h" nogil:
    ctypedef enum fastprop_loss:
        FASTPROP_LOSS_SQUARED
        FASTPROP_LOSS_BCE
        FASTPROP_LOSS_CROSS_ENTROPY
    double fastprop_output_delta_float(fastprop_cpu_path cpu, fastprop_loss loss,
                                       fastprop_activation output, ptrdiff_t rows, ptrdiff_t cols,
                                       float* A, const float* Y, const long long* labels,
                                       float* delta)
    double fastprop_output_delta_double(fastprop_cpu_path cpu, fastprop_loss loss,
                                        fastprop_activation output, ptrdiff_t rows,
                                        ptrdiff_t cols, double* A, const double* Y,
                                        const long long* labels, double* delta)

cdef extern from "_optimizers.h" nogil:
    ctypedef enum fastprop_optimizer_kind:
        FASTPROP_OPTIMIZER_SGD
        FASTPROP_OPTIMIZER_ADAM
    ctypedef struct fastprop_optimizer:
        fastprop_optimizer_kind kind
        double momentum
        int nesterov
        double weight_decay
        double sample_l2
        double beta1, beta2, eps
        long long step
        double lr
        double weight_l2
        double decay_factor, step_size, bias_correction2_sqrt

cdef extern from "_elementwise.h" nogil:
    void fastprop_sgd_update_float(ptrdiff_t size, float lr, const float* grad, float* param)
    void fastprop_sgd_update_double(ptrdiff_t size, double lr, const double* grad, double* param)
    int fastprop_all_finite_float(const float* values, ptrdiff_t size)
    int fastprop_all_finite_double(const double* values, ptrdiff_t size)

cdef extern from "_products.h" nogil:
    void fastprop_dense_forward_float(const fastprop_config* config,
                                      const fastprop_decision* decision, fastprop_team* team,
                                      ptrdiff_t rows, ptrdiff_t n_in, ptrdiff_t n_out,
                                      const float* A_in, const float* W, const float* b,
                                      float* A_out, fastprop_activation function)
    void fastprop_dense_forward_double(const fastprop_config* config,
                                       const fastprop_decision* decision, fastprop_team* team,
                                       ptrdiff_t rows, ptrdiff_t n_in, ptrdiff_t n_out,
                                       const double* A_in, const double* W, const double* b,
                                       double* A_out, fastprop_activation function)

cdef extern from "_interrupt.h" nogil:
    int fastprop_interrupt_watch()
    void fastprop_interrupt_unwatch()
    int fastprop_interrupt_requested()

cdef extern from "_steps.h" nogil:
    ctypedef struct fastprop_interruption:
        ptrdiff_t piece_multiply_adds
        ptrdiff_t min_batch_rows
        ptrdiff_t min_weight_rows
        int watching
        ptrdiff_t n_arrays
        void** live
        void** saved
        const size_t* bytes
        int interrupted
        ptrdiff_t epoch, position
    ctypedef struct fastprop_network_float:
        ptrdiff_t n_layers
        const ptrdiff_t* sizes
        const fastprop_activation* functions
        float** weights
        float** biases
        float** activations
        float** deltas
    ctypedef struct fastprop_network_double:
        ptrdiff_t n_layers
        const ptrdiff_t* sizes
        const fastprop_activation* functions
        double** weights
        double** biases
        double** activations
        double** deltas
    ctypedef struct fastprop_training_set_float:
        const float* X
        const float* Y
        const long long* labels
        ptrdiff_t n_samples, batch_size
        fastprop_loss loss
        int mean_loss
        float* batch_X
        float* batch_Y
        long long* batch_labels
    ctypedef struct fastprop_training_set_double:
        const double* X
        const double* Y
        const long long* labels
        ptrdiff_t n_samples, batch_size
        fastprop_loss loss
        int mean_loss
        double* batch_X
        double* batch_Y
        long long* batch_labels
    ctypedef struct fastprop_optimizer_state_float:
        fastprop_optimizer settings
        float** first_weights
        float** first_biases
        float** second_weights
        float** second_biases
        float* weight_gradient
        ptrdiff_t gradient_capacity
        float* bias_gradient
        long long* steps
    ctypedef struct fastprop_optimizer_state_double:
        fastprop_optimizer settings
        double** first_weights
        double** first_biases
        double** second_weights
        double** second_biases
        double* weight_gradient
        ptrdiff_t gradient_capacity
        double* bias_gradient
        long long* steps
    ctypedef struct fastprop_split_float:
        ptrdiff_t parts
        ptrdiff_t part_size
        float* partials
    ctypedef struct fastprop_split_double:
        ptrdiff_t parts
        ptrdiff_t part_size
        double* partials
    void fastprop_hidden_delta_float(const fastprop_config* config, fastprop_team* team,
                                     ptrdiff_t rows, ptrdiff_t n_next, ptrdiff_t n_this,
                                     const float* delta_next, const float* W_next, const float* A,
                                     fastprop_activation function, float* delta)
    void fastprop_hidden_delta_double(const fastprop_config* config, fastprop_team* team,
                                      ptrdiff_t rows, ptrdiff_t n_next, ptrdiff_t n_this,
                                      const double* delta_next, const double* W_next,
                                      const double* A, fastprop_activation function,
                                      double* delta)
    void fastprop_weight_gradient_float(const fastprop_config* config, ptrdiff_t rows,
                                        ptrdiff_t n_in, ptrdiff_t n_out, const float* delta,
                                        const float* A_prev, float* grad_W, float* grad_b)
    void fastprop_weight_gradient_double(const fastprop_config* config, ptrdiff_t rows,
                                         ptrdiff_t n_in, ptrdiff_t n_out, const double* delta,
                                         const double* A_prev, double* grad_W, double* grad_b)
    void fastprop_gradient_step_float(const fastprop_config* config, fastprop_team* team,
                                      ptrdiff_t rows, ptrdiff_t n_in, ptrdiff_t n_out, float lr,
                                      const float* delta, const float* A_prev, float* W, float* b)
    void fastprop_gradient_step_double(const fastprop_config* config, fastprop_team* team,
                                       ptrdiff_t rows, ptrdiff_t n_in, ptrdiff_t n_out, double lr,
                                       const double* delta, const double* A_prev, double* W,
                                       double* b)
    void fastprop_network_forward_float(const fastprop_config* config, fastprop_team* team,
                                        ptrdiff_t n_layers, const ptrdiff_t* sizes,
                                        const fastprop_activation* functions, int output_z,
                                        ptrdiff_t rows, const float* X, float** weights,
                                        float** biases, float** activations)
    void fastprop_network_forward_double(const fastprop_config* config, fastprop_team* team,
                                         ptrdiff_t n_layers, const ptrdiff_t* sizes,
                                         const fastprop_activation* functions, int output_z,
                                         ptrdiff_t rows, const double* X, double** weights,
                                         double** biases, double** activations)
    ptrdiff_t fastprop_train_epochs_float(const fastprop_config* config,
                                     const fastprop_decision* plan, fastprop_team* team,
                                     const fastprop_network_float* network,
                                     const fastprop_training_set_float* data,
                                     fastprop_optimizer_state_float* optimizer,
                                     const fastprop_split_float* split,
                                     const long long* orders, ptrdiff_t n_epochs, ptrdiff_t start,
                                     ptrdiff_t stop, float lr, double* epoch_losses,
                                     int small_steps_allowed,
                                     fastprop_interruption* interruption)
    ptrdiff_t fastprop_train_epochs_double(const fastprop_config* config,
                                      const fastprop_decision* plan, fastprop_team* team,
                                      const fastprop_network_double* network,
                                      const fastprop_training_set_double* data,
                                      fastprop_optimizer_state_double* optimizer,
                                      const fastprop_split_double* split,
                                      const long long* orders, ptrdiff_t n_epochs,
                                      ptrdiff_t start, ptrdiff_t stop, double lr,
                                      double* epoch_losses, int small_steps_allowed,
                                      fastprop_interruption* interruption)
    enum: FASTPROP_TIMING_ROUNDS
    enum: FASTPROP_SMALL_STEP_MAX_WIDTH
    double fastprop_time_product_float(const fastprop_config* config, fastprop_decision decision,
                                       fastprop_team* team, const fastprop_network_float* network,
                                       const float* X, ptrdiff_t rows, ptrdiff_t layer, int kind,
                                       float lr, double budget_seconds)
    double fastprop_time_product_double(const fastprop_config* config, fastprop_decision decision,
                                        fastprop_team* team,
                                        const fastprop_network_double* network, const double* X,
                                        ptrdiff_t rows, ptrdiff_t layer, int kind, double lr,
                                        double budget_seconds)
