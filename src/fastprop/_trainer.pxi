# Whole networks: the forward pass and the Trainer of fit. Part of _kernels.pyx
# (included there): the checks of the per-layer arrays, and the C arrays of
# their data pointers that the network kernels of _steps.h take.


cdef class _LayerPointers:
    """C arrays of the data pointers of a network's per-layer arrays.

    Built from lists of C-contiguous arrays that were checked by the caller;
    holds references to them so the pointers stay valid.
    """
    cdef Py_ssize_t n_layers
    cdef ptrdiff_t* sizes
    cdef fastprop_activation* functions
    cdef void** weights
    cdef void** biases
    cdef void** activations
    cdef void** deltas
    cdef list keep_alive

    def __cinit__(self, sizes, weights, biases, activations, deltas, functions=None):
        cdef Py_ssize_t layer
        self.n_layers = len(weights)
        codes = _function_codes(functions, self.n_layers)
        # Our own lists: the caller replacing an entry of theirs must not free
        # an array we point into.
        self.keep_alive = [list(arrays) for arrays in (weights, biases, activations, deltas)
                           if arrays is not None]
        self.sizes = <ptrdiff_t*> malloc((self.n_layers + 1) * sizeof(ptrdiff_t))
        self.functions = <fastprop_activation*> malloc(self.n_layers * sizeof(fastprop_activation))
        self.weights = <void**> malloc(self.n_layers * sizeof(void*))
        self.biases = <void**> malloc(self.n_layers * sizeof(void*))
        self.activations = <void**> malloc(self.n_layers * sizeof(void*))
        self.deltas = <void**> malloc(self.n_layers * sizeof(void*))
        if (self.sizes == NULL or self.functions == NULL or self.weights == NULL
                or self.biases == NULL
                or self.activations == NULL or self.deltas == NULL):
            raise MemoryError()
        for layer in range(self.n_layers + 1):
            self.sizes[layer] = sizes[layer]
        for layer in range(self.n_layers):
            self.functions[layer] = <fastprop_activation> <int> codes[layer]
            self.weights[layer] = _data_pointer(weights[layer])
            self.biases[layer] = _data_pointer(biases[layer])
            self.activations[layer] = (_data_pointer(activations[layer])
                                       if activations is not None else NULL)
            self.deltas[layer] = _data_pointer(deltas[layer]) if deltas is not None else NULL

    def __dealloc__(self):
        free(self.sizes)
        free(self.functions)
        free(self.weights)
        free(self.biases)
        free(self.activations)
        free(self.deltas)


cdef class _ArrayPointers:
    """A C array of the data pointers of a list of checked arrays (or NULL for None), and
    references to the arrays so that the pointers stay valid."""
    cdef void** data
    cdef list keep_alive

    def __cinit__(self, arrays):
        self.keep_alive = None if arrays is None else list(arrays)
        self.data = NULL
        if arrays is None:
            return
        self.data = <void**> malloc(max(1, len(self.keep_alive)) * sizeof(void*))
        if self.data == NULL:
            raise MemoryError()
        cdef Py_ssize_t index
        for index in range(len(self.keep_alive)):
            self.data[index] = _data_pointer(self.keep_alive[index])

    def __dealloc__(self):
        free(self.data)


OPTIMIZER_KINDS = ("sgd", "adam")   # in the order of fastprop_optimizer_kind


def _check_network_buffers(sizes, dtype, weights, biases, rows, **buffer_lists):
    """Check sizes and every per-layer array: dtype, contiguity, alignment, writability, shape.

    Each keyword names a list with one (rows or more, n_out) buffer per layer.
    """
    if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
        raise ValueError(f"sizes must be a list or tuple of at least two widths, got {sizes!r}")
    for size in sizes:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"layer sizes must be >= 1, got {tuple(sizes)}")
    n_layers = len(sizes) - 1
    lists = dict(weights=weights, biases=biases, **buffer_lists)
    for name, arrays in lists.items():
        if not isinstance(arrays, (list, tuple)):
            raise TypeError(f"{name} must be a list with one array per layer, "
                            f"got {type(arrays).__name__}")
        if len(arrays) != n_layers:
            raise ValueError(f"{name} must have one entry per layer ({n_layers}), got {len(arrays)}")
    for layer in range(n_layers):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        _require_floating_c_array(f"weights[{layer}]", weights[layer], 2, dtype, writable=True)
        _require_floating_c_array(f"biases[{layer}]", biases[layer], 1, dtype, writable=True)
        _require_shape(f"weights[{layer}]", weights[layer], (n_out, n_in))
        _require_shape(f"biases[{layer}]", biases[layer], (n_out,))
        for name, buffers in buffer_lists.items():
            _require_floating_c_array(f"{name}[{layer}]", buffers[layer], 2, dtype, writable=True)
            if buffers[layer].shape[0] < rows or buffers[layer].shape[1] != n_out:
                raise ValueError(f"{name}[{layer}] must have at least {rows} rows and {n_out} "
                                 f"columns, got shape {buffers[layer].shape}")


def _function_codes(functions, Py_ssize_t n_layers):
    """Each layer's fastprop_activation from functions (names of ACTIVATIONS, one per layer,
    the softmax only last; None: the sigmoid everywhere)."""
    if functions is None:
        return [FASTPROP_ACTIVATION_SIGMOID] * n_layers
    if not isinstance(functions, (list, tuple)) or len(functions) != n_layers:
        raise ValueError(f"functions must be a list of {n_layers} activation names, one per "
                         f"layer, got {functions!r}")
    codes = [_activation_code(name, f"functions[{layer}]") for layer, name in enumerate(functions)]
    if FASTPROP_ACTIVATION_SOFTMAX in codes[:n_layers - 1]:
        raise ValueError("only the last layer may be a softmax")
    return codes


def network_forward(sizes, weights, biases, X, activations, functions=None, bint output_z=False):
    """activations[l] := f_l(activations[l-1] @ weights[l].T + biases[l]) for every layer, from
    X, f_l = functions[l] (None: the sigmoid everywhere); output_z: the last layer's z instead."""
    dtype = _floating_dtype_of("X", X)
    _require_floating_c_array("X", X, 2, dtype)
    _require_nonempty("X", X)
    _check_network_buffers(sizes, dtype, weights, biases, X.shape[0], activations=activations)
    if X.shape[1] != sizes[0]:
        raise ValueError(f"X must have {sizes[0]} columns, got {X.shape[1]}")
    pointers = _LayerPointers(sizes, weights, biases, activations, None, functions)
    if dtype == np.float32:
        _network_forward_wrapper[float](pointers, X, output_z)
    else:
        _network_forward_wrapper[double](pointers, X, output_z)


cdef _network_forward_wrapper(_LayerPointers pointers, const floating[:, ::1] X, bint output_z):
    cdef fastprop_config config = CONFIG
    with nogil:
        if floating is float:
            fastprop_network_forward_float(&config, NULL, pointers.n_layers, pointers.sizes,
                                           pointers.functions, output_z, X.shape[0], &X[0, 0],
                                           <float**> pointers.weights,
                                           <float**> pointers.biases,
                                           <float**> pointers.activations)
        else:
            fastprop_network_forward_double(&config, NULL, pointers.n_layers, pointers.sizes,
                                            pointers.functions, output_z, X.shape[0], &X[0, 0],
                                            <double**> pointers.weights,
                                            <double**> pointers.biases,
                                            <double**> pointers.activations)


cdef void _fill_network_float(fastprop_network_float* network, _LayerPointers p):
    network.n_layers = p.n_layers
    network.sizes = p.sizes
    network.functions = p.functions
    network.weights = <float**> p.weights
    network.biases = <float**> p.biases
    network.activations = <float**> p.activations
    network.deltas = <float**> p.deltas


cdef void _fill_network_double(fastprop_network_double* network, _LayerPointers p):
    network.n_layers = p.n_layers
    network.sizes = p.sizes
    network.functions = p.functions
    network.weights = <double**> p.weights
    network.biases = <double**> p.biases
    network.activations = <double**> p.activations
    network.deltas = <double**> p.deltas


def _product_name(layer, kind):
    return f"the {PRODUCT_KINDS[kind]} product of layer {layer}"


def vector_kernels_fit(Py_ssize_t n_in, Py_ssize_t n_out, str kind, bint is_float32):
    """Whether the vector kernels can run the product of kind (one of PRODUCT_KINDS) of a
    layer of n_in inputs and n_out outputs: a forward product fills vectors across its
    inputs or its outputs, the others across the inputs (fastprop_fills_vectors, the rule
    set_plan checks)."""
    if kind not in PRODUCT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(PRODUCT_KINDS)}, got {kind!r}")
    cdef Py_ssize_t spread = max(n_in, n_out) if kind == "forward" else n_in
    return bool(fastprop_fills_vectors(spread, is_float32))


cdef class Trainer:
    """Minibatch gradient descent on one network's arrays and one training set.

    Everything is checked once, here; ``run`` then only checks its own
    arguments, so a training loop that returns to Python often (a callback
    after every epoch) pays microseconds per call. The trainer keeps references
    to every array it was given, so the pointers it holds stay valid. Each
    ``run`` reads the configuration once, when it starts. Helper threads
    started by ``run`` stay (asleep between runs) until ``stop_threads``, so
    that a fit's chunks do not each create and join threads.
    """
    cdef _LayerPointers pointers
    cdef list keep_alive
    cdef void* X_data
    cdef void* Y_data
    cdef void* labels_data
    cdef void* batch_X_data
    cdef void* batch_Y_data
    cdef void* batch_labels_data
    cdef readonly str loss
    cdef fastprop_loss loss_code
    cdef readonly Py_ssize_t n_samples, batch_size
    cdef readonly bint mean_loss, shuffled
    cdef bint is_float32
    cdef fastprop_team team
    cdef bint team_started
    cdef int team_threads
    cdef int team_pinned
    cdef fastprop_decision* plan        # FASTPROP_PRODUCT_KINDS per layer, or NULL
    cdef bint plan_uses_vector
    # Steps run as one function (a network of a few units per layer, every product in the
    # plain loops on one thread: _small_steps_template.c), over this trainer's runs.
    cdef readonly Py_ssize_t small_steps
    # False: every step as the general step (for tests that compare the two).
    cdef public bint small_steps_allowed
    # The optimizer of set_optimizer (has_optimizer), its arrays' pointers and step counter.
    cdef bint has_optimizer
    cdef fastprop_optimizer optimizer_settings
    cdef list optimizer_pointers
    cdef list optimizer_gradients
    cdef object optimizer_steps
    # set_interruption: the arrays a step changes, their copies and sizes in bytes, and the
    # largest piece of a product (0: steps are not abandoned).
    cdef _ArrayPointers interruption_live
    cdef _ArrayPointers interruption_saved
    cdef size_t* interruption_bytes
    cdef Py_ssize_t interruption_arrays
    cdef readonly Py_ssize_t piece_multiply_adds
    cdef Py_ssize_t piece_min_batch_rows
    cdef Py_ssize_t piece_min_weight_rows
    # set_split: the parts of a data-parallel step (0: none) and their partial gradients.
    cdef readonly Py_ssize_t split_parts
    cdef object split_partials
    cdef Py_ssize_t split_part_size

    def __cinit__(self, sizes, weights, biases, X, Y, Py_ssize_t batch_size, bint mean_loss,
                  activations, deltas, batch_X=None, batch_Y=None, *, functions=None,
                  loss="squared", labels=None, batch_labels=None):
        dtype = _floating_dtype_of("X", X)
        _require_floating_c_array("X", X, 2, dtype)
        self.loss_code = _loss_code(loss)
        self.loss = loss
        n_layers = len(sizes) - 1 if isinstance(sizes, (list, tuple)) else 0
        codes = _function_codes(functions, n_layers)
        output = ACTIVATIONS[codes[n_layers - 1]] if n_layers else None
        if n_layers and output not in _LOSS_OUTPUTS[loss]:
            raise ValueError(f"loss {loss!r} takes output "
                             f"{' or '.join(map(repr, _LOSS_OUTPUTS[loss]))}, got {output!r}")
        if labels is None:
            _require_floating_c_array("Y", Y, 2, dtype)
        elif loss != "cross_entropy" or Y is not None:
            raise ValueError("labels replace Y (None) only with loss 'cross_entropy'")
        _require_nonempty("X", X)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.n_samples = X.shape[0]
        self.batch_size = batch_size
        batch_rows = min(batch_size, self.n_samples)
        _check_network_buffers(sizes, dtype, weights, biases, batch_rows,
                               activations=activations, deltas=deltas)
        n_in, n_out = sizes[0], sizes[len(sizes) - 1]
        if X.shape[1] != n_in:
            raise ValueError(f"X must have {n_in} columns, got {X.shape[1]}")
        if labels is None:
            _require_shape("Y", Y, (self.n_samples, n_out))
        else:
            _require_labels("labels", labels, self.n_samples, n_out)
        self.shuffled = batch_X is not None or batch_Y is not None or batch_labels is not None
        if self.shuffled:
            _require_floating_c_array("batch_X", batch_X, 2, dtype, writable=True)
            if batch_X.shape[0] < batch_rows or batch_X.shape[1] != n_in:
                raise ValueError(f"batch_X must have at least {batch_rows} rows and {n_in} columns")
            self.batch_X_data = _data_pointer(batch_X)
            if labels is None:
                _require_floating_c_array("batch_Y", batch_Y, 2, dtype, writable=True)
                if batch_Y.shape[0] < batch_rows or batch_Y.shape[1] != n_out:
                    raise ValueError(f"batch_Y must have at least {batch_rows} rows and {n_out} "
                                     "columns")
                self.batch_Y_data = _data_pointer(batch_Y)
            else:
                _require_floating_c_array("batch_labels", batch_labels, 1, np.int64,
                                          writable=True)
                if batch_labels.shape[0] < batch_rows:
                    raise ValueError(f"batch_labels must have at least {batch_rows} entries")
                self.batch_labels_data = _data_pointer(batch_labels)
        self.pointers = _LayerPointers(sizes, weights, biases, activations, deltas, functions)
        self.keep_alive = [X, Y, labels, batch_X, batch_Y, batch_labels]
        self.X_data = _data_pointer(X)
        self.Y_data = _data_pointer(Y) if labels is None else NULL
        self.labels_data = _data_pointer(labels) if labels is not None else NULL
        self.mean_loss = mean_loss
        self.is_float32 = dtype == np.float32
        self.small_steps_allowed = True

    def set_interruption(self, arrays, Py_ssize_t piece_multiply_adds=0,
                         Py_ssize_t min_batch_rows=16, Py_ssize_t min_weight_rows=16):
        """Let Ctrl-C abandon a step of the runs (_interrupt.h; _steps.h, fastprop_interruption):
        arrays are every array a step changes (the weights and biases given to the trainer,
        and the optimizer's state arrays and step counter given to set_optimizer), copied
        before each step (copies allocated here, once) and put back from the copies when a
        step is abandoned; products of more than piece_multiply_adds run in pieces, each of
        at least min_batch_rows rows of the batch (forward products and hidden deltas) or
        min_weight_rows rows of the weights (gradient steps), multiples of 16. None (or
        piece_multiply_adds 0): steps are never abandoned. Watched only in runs called from
        the main thread, where Python's SIGINT handler runs."""
        self.piece_multiply_adds = 0
        self.interruption_live = self.interruption_saved = None
        self.interruption_arrays = 0
        free(self.interruption_bytes)
        self.interruption_bytes = NULL
        if arrays is None or piece_multiply_adds == 0:
            return
        if self.split_parts:
            raise ValueError("a trainer whose steps are split (set_split) does not run them "
                             "in pieces")
        if piece_multiply_adds < 1:
            raise ValueError(f"piece_multiply_adds must be >= 1, got {piece_multiply_adds}")
        for name, value in (("min_batch_rows", min_batch_rows),
                            ("min_weight_rows", min_weight_rows)):
            if value < 16 or value % 16:
                raise ValueError(f"{name} must be a positive multiple of 16, got {value}")
        arrays = list(arrays)
        for index, array in enumerate(arrays):
            if not (isinstance(array, np.ndarray) and array.flags.c_contiguous
                    and array.flags.writeable and array.flags.aligned):
                raise TypeError(f"arrays[{index}] must be a writable aligned C-contiguous array")
        saved = [np.empty_like(array) for array in arrays]
        self.interruption_bytes = <size_t*> malloc(max(1, len(arrays)) * sizeof(size_t))
        if self.interruption_bytes == NULL:
            raise MemoryError()
        cdef Py_ssize_t i
        for i in range(len(arrays)):
            self.interruption_bytes[i] = arrays[i].nbytes
        self.interruption_live = _ArrayPointers(arrays)
        self.interruption_saved = _ArrayPointers(saved)
        self.interruption_arrays = len(arrays)
        self.piece_multiply_adds = piece_multiply_adds
        self.piece_min_batch_rows = min_batch_rows
        self.piece_min_weight_rows = min_weight_rows

    def set_split(self, Py_ssize_t parts, partials=None):
        """Data-parallel steps under the plan of set_plan (_steps.h, fastprop_split): each
        batch cut into parts parts (2 to FASTPROP_MAX_THREADS), each taken through the whole
        step by one thread, their gradients summed in order; or parts 0 for none. partials:
        a C-contiguous array of the network's dtype, shape (parts, weights + biases), which
        the steps overwrite (None: allocated here). Not with set_interruption's pieces
        (ValueError)."""
        if parts == 0:
            self.split_parts = 0
            self.split_partials = None
            return
        if not 2 <= parts <= FASTPROP_MAX_THREADS:
            raise ValueError(f"parts must be 0 or from 2 to {FASTPROP_MAX_THREADS}, got {parts}")
        if self.piece_multiply_adds != 0:
            raise ValueError("a trainer whose steps run in pieces (set_interruption) does not "
                             "split them")
        if self.plan == NULL:
            raise ValueError("set_split needs a plan (set_plan first)")
        cdef Py_ssize_t index
        for index in range(self.pointers.n_layers * FASTPROP_PRODUCT_KINDS):
            # Each part's products run on its own thread: not shared, and not BLAS's (whose
            # own threads the parts' calls would fight over).
            # (Layer 0's hidden delta, which does not exist, is not looked at.)
            if index != FASTPROP_PRODUCT_HIDDEN_DELTA and (
                    self.plan[index].shared or self.plan[index].route == FASTPROP_ROUTE_BLAS):
                raise ValueError("a split plan's products run on one thread each, outside "
                                 "BLAS: every decision must be ('loops', False) or "
                                 "('vector', False)")
        cdef Py_ssize_t n_layers = self.pointers.n_layers, layer
        cdef Py_ssize_t part_size = 0
        for layer in range(n_layers):
            part_size += (self.pointers.sizes[layer] + 1) * self.pointers.sizes[layer + 1]
        if partials is None:
            partials = np.empty((parts, part_size), np.float32 if self.is_float32 else np.float64)
        _require_floating_c_array("partials", partials, 2,
                                  np.float32 if self.is_float32 else np.float64, writable=True)
        _require_shape("partials", partials, (parts, part_size))
        self.split_parts = parts
        self.split_partials = partials
        self.split_part_size = part_size

    def set_optimizer(self, settings, gradients=None, first=None, second=None, steps=None):
        """The optimizer whose update follows each layer's gradient in the runs (None: plain
        gradient descent, fused into the gradient product). settings: {"kind": one of
        OPTIMIZER_KINDS, "momentum", "nesterov", "weight_decay", "beta1", "beta2", "eps",
        "sample_l2" (scikit-learn's alpha: alpha / rows * W added to the weights' gradients;
        0 if absent)};
        gradients: the fused pass's two 1-D buffers, [weight_gradient, bias_gradient]: a
        block of rows of a layer's weight gradient (at least the widest layer input; the
        larger, the fewer blocks: gradient_buffer_size) and a layer's bias gradient (at
        least the widest layer); first and second: the state arrays, a list of one array per
        layer each (shaped as the weights, then as the biases; first: SGD's momentum buffers
        or Adam's m, None for SGD without momentum; second: Adam's v, None for SGD); steps: a
        1-element int64 array counting the steps taken, which each step increases."""
        if settings is None:
            self.has_optimizer = False
            self.optimizer_pointers = None
            self.optimizer_gradients = None
            self.optimizer_steps = None
            return
        kind = settings["kind"]
        if kind not in OPTIMIZER_KINDS:
            raise ValueError(f"kind must be one of {', '.join(OPTIMIZER_KINDS)}, got {kind!r}")
        momentum = float(settings.get("momentum", 0.0))
        if kind == "adam" and (first is None or second is None):
            raise ValueError("adam needs first and second state arrays")
        if kind == "sgd" and second is not None:
            raise ValueError("sgd keeps no second state")
        if kind == "sgd" and (first is None) != (momentum == 0):
            raise ValueError("sgd keeps a first state (its momentum buffers) exactly when "
                             "momentum is not 0")
        dtype = np.float32 if self.is_float32 else np.float64
        cdef Py_ssize_t n_layers = self.pointers.n_layers
        sizes = [self.pointers.sizes[i] for i in range(n_layers + 1)]
        if not isinstance(gradients, (list, tuple)) or len(gradients) != 2:
            raise ValueError("gradients must be a list of 2 arrays: a weight gradient block's "
                             "and a layer's bias gradient's")
        for name, array, least in (("gradients[0]", gradients[0], max(sizes[:-1])),
                                   ("gradients[1]", gradients[1], max(sizes[1:]))):
            _require_floating_c_array(name, array, 1, dtype, writable=True)
            if array.shape[0] < least:
                raise ValueError(f"{name} must have at least {least} elements, got "
                                 f"{array.shape[0]}")
        for name, arrays in (("first", first), ("second", second)):
            if arrays is None:
                continue
            if not isinstance(arrays, (list, tuple)) or len(arrays) != 2 * n_layers:
                raise ValueError(f"{name} must be a list of {2 * n_layers} arrays: the weights' "
                                 "then the biases' of every layer")
            for layer in range(n_layers):
                n_in, n_out = self.pointers.sizes[layer], self.pointers.sizes[layer + 1]
                _require_floating_c_array(f"{name}[{layer}]", arrays[layer], 2, dtype,
                                          writable=True)
                _require_shape(f"{name}[{layer}]", arrays[layer], (n_out, n_in))
                _require_floating_c_array(f"{name}[{n_layers + layer}]", arrays[n_layers + layer],
                                          1, dtype, writable=True)
                _require_shape(f"{name}[{n_layers + layer}]", arrays[n_layers + layer], (n_out,))
        _require_floating_c_array("steps", steps, 1, np.int64, writable=True)
        _require_shape("steps", steps, (1,))
        for name in ("momentum", "weight_decay", "sample_l2", "beta1", "beta2", "eps"):
            value = float(settings.get(name, 0.0))
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")
        self.optimizer_settings.kind = <fastprop_optimizer_kind> <int> OPTIMIZER_KINDS.index(kind)
        self.optimizer_settings.momentum = momentum
        self.optimizer_settings.nesterov = bool(settings.get("nesterov", False))
        self.optimizer_settings.weight_decay = float(settings.get("weight_decay", 0.0))
        self.optimizer_settings.beta1 = float(settings.get("beta1", 0.0))
        self.optimizer_settings.beta2 = float(settings.get("beta2", 0.0))
        self.optimizer_settings.eps = float(settings.get("eps", 0.0))
        self.optimizer_settings.sample_l2 = float(settings.get("sample_l2", 0.0))
        split = lambda arrays, part: (None if arrays is None else
                                      list(arrays[:n_layers]) if part == 0 else
                                      list(arrays[n_layers:]))
        self.optimizer_pointers = [_ArrayPointers(split(arrays, part))
                                   for arrays in (first, second) for part in (0, 1)]
        self.optimizer_gradients = list(gradients)
        self.optimizer_steps = steps
        self.has_optimizer = True

    def set_plan(self, decisions):
        """The measured plan the runs use while the configuration's plan is "measured":
        one (route, shared) pair per product of a step, for each layer in the order of
        PRODUCT_KINDS (the hidden delta of layer 0, which does not exist, included), the
        route one of ROUTES; or None for no plan (route by the thresholds). Either way,
        the steps are no longer split (set_split follows set_plan)."""
        self.split_parts = 0
        self.split_partials = None
        if decisions is None:
            free(self.plan)
            self.plan = NULL
            self.plan_uses_vector = False
            return
        cdef Py_ssize_t n_layers = self.pointers.n_layers
        cdef Py_ssize_t count = n_layers * FASTPROP_PRODUCT_KINDS
        decisions = list(decisions)
        if len(decisions) != count:
            raise ValueError(f"a plan needs {count} decisions ({len(PRODUCT_KINDS)} per layer), "
                             f"got {len(decisions)}")
        checked = [self._check_decision(index // FASTPROP_PRODUCT_KINDS,
                                        index % FASTPROP_PRODUCT_KINDS, decision)
                   for index, decision in enumerate(decisions)]
        cdef fastprop_decision* plan = <fastprop_decision*> malloc(
            count * sizeof(fastprop_decision))
        if plan == NULL:
            raise MemoryError()
        cdef Py_ssize_t index
        for index in range(count):
            plan[index].route = checked[index][0]
            plan[index].shared = checked[index][1]
        free(self.plan)
        self.plan = plan
        self.plan_uses_vector = any(route == FASTPROP_ROUTE_VECTOR for route, _ in checked)

    def _check_decision(self, Py_ssize_t layer, int kind, decision):
        """(route, shared) as the C struct holds them; ValueError where a kernel could
        not run it safely (the vector kernels on a product too narrow for them)."""
        if not (isinstance(decision, (tuple, list)) and len(decision) == 2
                and decision[0] in ROUTES and isinstance(decision[1], bool)):
            raise ValueError(f"{_product_name(layer, kind)}: a decision is a (route, shared) "
                             f"pair, route one of {', '.join(ROUTES)} and shared a bool, "
                             f"got {decision!r}")
        route, shared = ROUTES.index(decision[0]), decision[1]
        n_in, n_out = self.pointers.sizes[layer], self.pointers.sizes[layer + 1]
        if route == FASTPROP_ROUTE_VECTOR and not vector_kernels_fit(n_in, n_out,
                                                                     PRODUCT_KINDS[kind],
                                                                     self.is_float32):
            raise ValueError(f"{_product_name(layer, kind)}: the vector kernels need at least "
                             f"one vector's width across, {n_in} x {n_out} has not")
        if route == FASTPROP_ROUTE_LOOPS and shared:
            raise ValueError(f"{_product_name(layer, kind)}: the plain loops are not shared "
                             f"out over threads")
        return route, int(shared)

    def time_product(self, Py_ssize_t layer, str kind, decision, double lr,
                     double budget_seconds):
        """Seconds per call of one product of a step on the first batch of X, run as
        decision (route, shared) says: kind one of PRODUCT_KINDS, on this trainer's
        own arrays, which it overwrites (weights too: time on a trainer of copies)."""
        if not 0 <= layer < self.pointers.n_layers:
            raise ValueError(f"layer must be from 0 to {self.pointers.n_layers - 1}, got {layer}")
        if kind not in PRODUCT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(PRODUCT_KINDS)}, got {kind!r}")
        cdef int kind_index = PRODUCT_KINDS.index(kind)
        if kind_index == FASTPROP_PRODUCT_HIDDEN_DELTA and layer == 0:
            raise ValueError("layer 0 has no hidden delta")
        if not budget_seconds >= 0:
            raise ValueError(f"budget_seconds must be >= 0, got {budget_seconds}")
        cdef fastprop_decision chosen
        route, shared = self._check_decision(layer, kind_index, decision)
        cdef fastprop_config config = CONFIG
        if route == FASTPROP_ROUTE_VECTOR and config.cpu < FASTPROP_CPU_AVX2:
            raise ValueError(f"the vector route needs the avx2 or avx512 cpu path, "
                             f"not {CPU_PATHS[<int> config.cpu]!r}")
        chosen.route = route
        chosen.shared = shared
        cdef fastprop_team* team = self._ready_team(&config, True) if shared else NULL
        cdef Py_ssize_t rows = min(self.batch_size, self.n_samples)
        cdef double seconds
        cdef _LayerPointers p = self.pointers
        cdef fastprop_network_float network_float
        cdef fastprop_network_double network_double
        if self.is_float32:
            _fill_network_float(&network_float, p)
            with nogil:
                seconds = fastprop_time_product_float(&config, chosen, team, &network_float,
                                                      <const float*> self.X_data, rows, layer,
                                                      kind_index, <float> lr, budget_seconds)
        else:
            _fill_network_double(&network_double, p)
            with nogil:
                seconds = fastprop_time_product_double(&config, chosen, team, &network_double,
                                                       <const double*> self.X_data, rows, layer,
                                                       kind_index, lr, budget_seconds)
        return seconds

    def run(self, orders, Py_ssize_t start, Py_ssize_t stop, double lr, epoch_losses):
        """For each epoch e (one per entry of epoch_losses), one step per batch of
        positions start..stop of that epoch's order (orders[e], a permutation of
        the samples, required when shuffled; in order when orders is None);
        epoch_losses[e] += the batches' summed losses (_losses.h) before each step.
        Products are routed by the plan given to set_plan while the configuration's
        plan is "measured", otherwise by the configuration.
        """
        if not (isinstance(epoch_losses, np.ndarray)
                and cnp.PyArray_TYPE(<cnp.ndarray> epoch_losses) == cnp.NPY_DOUBLE
                and cnp.PyArray_NDIM(<cnp.ndarray> epoch_losses) == 1
                and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray> epoch_losses)
                and cnp.PyArray_ISALIGNED(<cnp.ndarray> epoch_losses)
                and cnp.PyArray_ISWRITEABLE(<cnp.ndarray> epoch_losses)):
            raise TypeError("epoch_losses must be a writable aligned C-contiguous 1-D float64 array")
        cdef Py_ssize_t n_epochs = cnp.PyArray_DIM(<cnp.ndarray> epoch_losses, 0)
        if not 0 <= start <= stop <= self.n_samples:
            raise ValueError(f"need 0 <= start <= stop <= {self.n_samples}, "
                             f"got start={start}, stop={stop}")
        cdef const long long* order_data = NULL
        if self.shuffled:
            _require_floating_c_array("orders", orders, 2, np.int64)
            _require_shape("orders", orders, (n_epochs, self.n_samples))
            if orders.size and (orders.min() < 0 or orders.max() >= self.n_samples):
                raise ValueError(f"orders must hold sample indices in [0, {self.n_samples})")
            order_data = <const long long*> _data_pointer(orders)
        elif orders is not None:
            raise ValueError("orders must be None: this trainer was built without batch buffers")
        if n_epochs == 0 or start == stop:
            return
        cdef fastprop_config config = CONFIG
        # A plan made for a path with vector kernels is not used on one without (the
        # configuration changed after set_plan): the thresholds route instead.
        cdef const fastprop_decision* plan = (
            self.plan if config.plan == FASTPROP_PLAN_MEASURED
            and not (self.plan_uses_vector and config.cpu < FASTPROP_CPU_AVX2) else NULL)
        cdef double* losses = <double*> _data_pointer(epoch_losses)
        cdef fastprop_team* team = self._ready_team(&config, plan != NULL and self.split_parts > 0,
                                                    plan)
        if self.piece_multiply_adds == 0:
            self._run(&config, plan, order_data, n_epochs, start, stop, lr, losses, team, NULL)
            return
        # Steps that Ctrl-C may abandon: products in pieces always (the same bits whether
        # watched or not), SIGINT watched while the loop runs in the main thread, where
        # Python's handler runs. An abandoned step is undone; Python's handler then runs
        # here (KeyboardInterrupt, normally), and if it returns, the run goes on with the
        # step it abandoned.
        main_thread = threading.current_thread() is threading.main_thread()
        cdef fastprop_interruption interruption
        interruption.piece_multiply_adds = self.piece_multiply_adds
        interruption.min_batch_rows = self.piece_min_batch_rows
        interruption.min_weight_rows = self.piece_min_weight_rows
        interruption.n_arrays = self.interruption_arrays
        interruption.live = self.interruption_live.data
        interruption.saved = self.interruption_saved.data
        interruption.bytes = self.interruption_bytes
        cdef Py_ssize_t done = 0, resume = start, epochs_now
        while done < n_epochs:
            # The rest of an epoch left at resume, alone; else the remaining epochs.
            epochs_now = 1 if resume != start else n_epochs - done
            interruption.interrupted = 0
            watching = fastprop_interrupt_watch() if main_thread else 0
            interruption.watching = watching
            try:
                self._run(&config, plan,
                          order_data + done * self.n_samples if order_data != NULL else NULL,
                          epochs_now, resume, stop, lr, losses + done, team, &interruption)
            finally:
                if watching:
                    fastprop_interrupt_unwatch()
            if not interruption.interrupted:
                done += epochs_now
                resume = start
                continue
            done += interruption.epoch
            resume = interruption.position
            PyErr_CheckSignals()

    def stop_threads(self):
        """Stop the helper threads this trainer started (a later run starts them again)."""
        cdef long helper_tasks
        if not self.team_started:
            return
        with nogil:
            helper_tasks = fastprop_team_stop(&self.team)
        self.team_started = False
        global HELPER_TASKS
        HELPER_TASKS += helper_tasks

    def __dealloc__(self):
        global HELPER_TASKS
        free(self.plan)
        free(self.interruption_bytes)
        if self.team_started:
            # The helpers never take the GIL, so joining them here cannot deadlock.
            HELPER_TASKS += fastprop_team_stop(&self.team)
            self.team_started = False

    cdef fastprop_team* _ready_team(self, const fastprop_config* config, bint needed,
                                    const fastprop_decision* plan=NULL):
        """The team for this run's products (started now if need be), or NULL for none:
        needed, or needed by the plan (NULL: by the configuration's routes)."""
        cdef int started
        cdef Py_ssize_t batch_rows = min(self.batch_size, self.n_samples)
        if self.team_started and (self.team_threads != config.threads
                                  or self.team_pinned != config.pin_threads):
            self.stop_threads()          # the threads' settings changed since the team started
        if (not self.team_started and config.threads > 1
                and (needed or fastprop_network_uses_team(config, self.pointers.n_layers,
                                                          self.pointers.sizes, batch_rows,
                                                          self.is_float32, plan))):
            with nogil:
                started = fastprop_team_start(&self.team, config.threads - 1,
                                              config.pin_threads)
            self.team_started = started > 0
            self.team_threads = config.threads
            self.team_pinned = config.pin_threads
        return &self.team if self.team_started else NULL

    cdef void _run(self, const fastprop_config* config, const fastprop_decision* plan,
                   const long long* order_data, Py_ssize_t n_epochs, Py_ssize_t start,
                   Py_ssize_t stop, double lr, double* losses, fastprop_team* team,
                   fastprop_interruption* interruption):
        cdef _LayerPointers p = self.pointers
        cdef fastprop_network_float network_float
        cdef fastprop_network_double network_double
        cdef fastprop_training_set_float data_float
        cdef fastprop_training_set_double data_double
        cdef Py_ssize_t small_steps
        cdef fastprop_optimizer_state_float optimizer_float
        cdef fastprop_optimizer_state_double optimizer_double
        cdef fastprop_optimizer_state_float* optimizer_float_pointer = NULL
        cdef fastprop_optimizer_state_double* optimizer_double_pointer = NULL
        cdef _ArrayPointers fw, fb, sw, sb
        cdef long long* steps = NULL
        cdef fastprop_split_float split_float
        cdef fastprop_split_double split_double
        cdef fastprop_split_float* split_float_pointer = NULL
        cdef fastprop_split_double* split_double_pointer = NULL
        if plan != NULL and self.split_parts > 0:
            split_float.parts = split_double.parts = self.split_parts
            split_float.part_size = split_double.part_size = self.split_part_size
            split_float.partials = <float*> _data_pointer(self.split_partials)
            split_double.partials = <double*> _data_pointer(self.split_partials)
            split_float_pointer = &split_float
            split_double_pointer = &split_double
        if self.has_optimizer:
            fw, fb, sw, sb = self.optimizer_pointers
            weight_gradient, bias_gradient = self.optimizer_gradients
            steps = <long long*> _data_pointer(self.optimizer_steps)
            optimizer_float.settings = self.optimizer_settings
            optimizer_float.weight_gradient = <float*> _data_pointer(weight_gradient)
            optimizer_float.gradient_capacity = weight_gradient.shape[0]
            optimizer_float.bias_gradient = <float*> _data_pointer(bias_gradient)
            optimizer_float.first_weights = <float**> fw.data
            optimizer_float.first_biases = <float**> fb.data
            optimizer_float.second_weights = <float**> sw.data
            optimizer_float.second_biases = <float**> sb.data
            optimizer_float.steps = steps
            optimizer_double.settings = self.optimizer_settings
            optimizer_double.weight_gradient = <double*> _data_pointer(weight_gradient)
            optimizer_double.gradient_capacity = weight_gradient.shape[0]
            optimizer_double.bias_gradient = <double*> _data_pointer(bias_gradient)
            optimizer_double.first_weights = <double**> fw.data
            optimizer_double.first_biases = <double**> fb.data
            optimizer_double.second_weights = <double**> sw.data
            optimizer_double.second_biases = <double**> sb.data
            optimizer_double.steps = steps
            optimizer_float_pointer = &optimizer_float
            optimizer_double_pointer = &optimizer_double
        if self.is_float32:
            _fill_network_float(&network_float, p)
            data_float.X = <const float*> self.X_data
            data_float.Y = <const float*> self.Y_data
            data_float.labels = <const long long*> self.labels_data
            data_float.n_samples = self.n_samples
            data_float.batch_size = self.batch_size
            data_float.loss = self.loss_code
            data_float.mean_loss = self.mean_loss
            data_float.batch_X = <float*> self.batch_X_data
            data_float.batch_Y = <float*> self.batch_Y_data
            data_float.batch_labels = <long long*> self.batch_labels_data
            with nogil:
                small_steps = fastprop_train_epochs_float(config, plan, team, &network_float,
                                                          &data_float, optimizer_float_pointer,
                                                          split_float_pointer,
                                                          order_data, n_epochs,
                                                          start, stop, <float> lr, losses,
                                                          self.small_steps_allowed, interruption)
        else:
            _fill_network_double(&network_double, p)
            data_double.X = <const double*> self.X_data
            data_double.Y = <const double*> self.Y_data
            data_double.labels = <const long long*> self.labels_data
            data_double.n_samples = self.n_samples
            data_double.batch_size = self.batch_size
            data_double.loss = self.loss_code
            data_double.mean_loss = self.mean_loss
            data_double.batch_X = <double*> self.batch_X_data
            data_double.batch_Y = <double*> self.batch_Y_data
            data_double.batch_labels = <long long*> self.batch_labels_data
            with nogil:
                small_steps = fastprop_train_epochs_double(config, plan, team, &network_double,
                                                           &data_double, optimizer_double_pointer,
                                                           split_double_pointer,
                                                           order_data, n_epochs,
                                                           start, stop, lr, losses,
                                                           self.small_steps_allowed,
                                                           interruption)
        self.small_steps += small_steps


def train_epochs(sizes, weights, biases, X, Y, orders, Py_ssize_t start, Py_ssize_t stop,
                 Py_ssize_t batch_size, double lr, bint mean_loss, activations, deltas,
                 batch_X, batch_Y, epoch_losses):
    """Minibatch gradient descent in place on weights and biases: ``Trainer(...).run(...)``.

    For each epoch e (one per entry of epoch_losses), take positions start..stop of
    that epoch's sample order (orders[e], or 0, 1, 2, ... when orders is None) in
    batches of batch_size, and make one step per batch. epoch_losses[e] is
    increased by the batches' 1/2 * sums of squared errors measured before each
    step. With mean_loss, each step's gradient is divided by its batch's size.
    """
    if orders is None:
        batch_X = batch_Y = None
    trainer = Trainer(sizes, weights, biases, X, Y, batch_size, mean_loss, activations, deltas,
                      batch_X, batch_Y)
    try:
        trainer.run(orders, start, stop, lr, epoch_losses)
    finally:
        trainer.stop_threads()


def threshold_decisions(sizes, Py_ssize_t batch_rows, bint is_float32):
    """The decisions of a training step that the thresholds of the configuration in use
    make (the fixed plan's routes), in the order Trainer.set_plan takes."""
    cdef fastprop_config config = CONFIG
    config.plan = FASTPROP_PLAN_FIXED
    cdef Py_ssize_t layer, n_in, n_out, multiply_adds, spread
    cdef int kind
    cdef bint shared
    decisions = []
    for layer in range(len(sizes) - 1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        multiply_adds = batch_rows * n_in * n_out
        for kind in range(FASTPROP_PRODUCT_KINDS):
            spread = max(n_in, n_out) if kind == FASTPROP_PRODUCT_FORWARD else n_in
            # The weight gradient's sum runs over the batch; every product of a step
            # shares out by the step's rows.
            # As the fixed plan runs them: shared only where a team can exist.
            shared = (config.threads > 1 and FASTPROP_TEAM_HAS_THREADS
                      and fastprop_shares_out(&config, batch_rows, multiply_adds))
            route = fastprop_choose_route(&config, multiply_adds,
                                          fastprop_fills_vectors(spread, is_float32),
                                          is_float32, shared)
            decisions.append((ROUTES[<int> route], bool(shared and route != FASTPROP_ROUTE_LOOPS)))
    return decisions
