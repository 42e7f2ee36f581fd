"""The measured plan: where each product of a fit runs, chosen by timing it here.

Which route is fastest for a product (fastprop's plain loops, its vector kernels,
or BLAS; on one thread or shared out over fit's threads) depends on the machine:
its instruction sets and caches, its BLAS, how a hypervisor schedules a second
thread. So, like FFTW's planner and cuDNN's benchmark mode, fastprop measures:

1. For each product of a training step (per layer: the forward product, the
   hidden delta, the gradient step) at the fit's batch size, dtype, CPU path and
   thread count, every route that can run it is timed on a copy of the network
   and the first rows of the training set (``Trainer.time_product``: a couple of
   hundred microseconds each, in interleaved rounds so that a moment of noise
   hits every route alike; a route whose first call takes several times the best
   one's is not timed further). The loops are tried up to
   ``LOOPS_MAX_MULTIPLY_ADDS``: beyond, they cannot win and one call would cost
   more than the whole plan.
2. Whole steps then decide between the fastest route of each product on one
   thread, the fastest with the team, every product in BLAS and every product in
   the vector kernels on the team (hedges against a product timed in a noisy
   moment, or alone where a fit runs it among others), the fixed plan's routes and,
   for a network of a few units per layer, every product in the plain loops (its
   step then runs as one function, which no product's timing shows), interleaved,
   each timing a few milliseconds long (a longer step is timed once per plan):
   threads interact (BLAS's own threads spinning after a call, a helper the
   hypervisor has not scheduled) in ways one product alone does not show. With
   threads, the candidates include the data-parallel step (``Plan.parts``;
   ``Trainer.set_split``): the batch cut into one part per thread, each part
   through the whole step on its thread with the fastest routes on one thread
   without BLAS, the parts' gradients summed in order. Products shared one by one
   move their operands between the cores' caches at every product; a part's rows
   stay in one core's (64-64-10 float64 on 200 rows, AMD Zen 4: every product
   shared 79-98 us a step, one thread 93-115, two parts 64-74). The
   team must win by ``TEAM_MARGIN`` (``LONG_STEP_TEAM_MARGIN`` for steps timed on one
   whole batch); so the default does not lose to one thread,
   nor to forcing one route, by more than the noise of that timing. A step of the
   team without BLAS timed far over the sum of its products' timings
   (``NOISY_STEP_RATIO``) was hit by noise, and is timed again. The plan keeps every
   step timing (``Plan.timed``, listed by ``show_config``).

BLAS's threads (and those of other libraries in the process) spin for a while after
each call, on the cores the team's helpers run on, which then run at half speed. So the
planner calls no BLAS until it has timed every route that calls none (1, for every
product) and the steps of the plans made of those routes that share products out (2),
the workspace being filled by a step without BLAS; then come the BLAS routes and the
other plans. A step that mixes BLAS products with shared ones pays for the spinning in
its timing as in a fit.

A plan is a list of (route, shared) decisions and its parts (0: the step is not
split), stored with the times that chose it in the plan cache (``_plan_cache``)
under an entry key naming the network's widths, dtype, batch size, CPU path and
thread count; a later fit of the same shape reads it back and runs the same
routes, so it gives the same bits. Bits depend on the routes and parts only,
never on how many threads run them. Planning takes a few tens of milliseconds
for small networks and about 0.2 s for 784-1024-1024-10 (each of its products'
routes timed twice, a step of each plan once); ``tune`` does it
ahead of time, ``show_config`` lists the plans in use.
"""
from __future__ import annotations

import dataclasses
import datetime
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import DTypeLike, NDArray

from . import _kernels, _plan_cache

# (route, shared): where one product runs (a route of _kernels.ROUTES) and whether it is
# shared out over fit's threads; a plan is one decision per product, layer after layer.
Decision: TypeAlias = tuple[str, bool]
# A plan's entry in the plan cache (JSON), and the cache's entries by key.
Entry: TypeAlias = dict[str, Any]
_FloatArray: TypeAlias = NDArray[np.floating[Any]]

PRODUCT_KINDS = _kernels.PRODUCT_KINDS
PRODUCT_BUDGET_SECONDS = 2e-4
PRODUCT_ROUNDS = 2
LONG_CALL_SECONDS = 1e-3
# BLAS sharing only the elementwise pass after a hidden delta or gradient step is tried
# when the product's sum is shorter than this (beyond, the pass is under 1% of the work).
SHARED_PASS_MAX_INNER = 256
LOOPS_MAX_MULTIPLY_ADDS = 1 << 20
# A route whose first call takes this many times the best time so far is not timed further.
HOPELESS_RATIO = 2.5
# The loops are kept when within this factor of the fastest route.
LOOPS_TIE_RATIO = 1.03
STEP_REPEATS = 3
# Each timing of steps runs for at least this long (epochs over the same batches).
STEP_TIMING_SECONDS = 2e-3
# The team is chosen only when its steps take less than this fraction of the best without:
# a fit streams new batches through both cores' caches, which a timing over a few batches
# shows only in part (32-64-64-1 float32 batch 32: the team's plan timed 4% faster than the
# best alone, 11.0 against 11.5 us a step, and its fits took 23.5 ms against 22.8 on one
# thread; Intel Xeon, AVX-512). Where the team pays, it wins by far more (784-256-10 batch
# 128: 432 us against 566).
TEAM_MARGIN = 0.9
# ... and for steps longer than STEP_TIMING_SECONDS, timed on one whole batch each, by this
# one: the timing then streams a real batch as a fit does, and the team's synchronisation
# is a small part of a step (784-1024-1024-10 float32 batch 128, AMD Zen 4 with AVX-512:
# every product in the team's vector kernels timed at 6.2-6.4 ms a step against 6.9-7.1 in
# BLAS on one thread in four plannings, 0.89-0.91, so that the margin of 0.9 chose BLAS in
# three; fits of 21 steps took 135 ms against 153).
LONG_STEP_TEAM_MARGIN = 0.97
# A step of a plan that shares products out and calls no BLAS, timed at more than this
# many times the sum of its products' timings, is timed again (noise, not the plan: such
# steps take 0.6-1.1x that sum here).
NOISY_STEP_RATIO = 1.3
# Before timing the steps of a plan that shares products out and calls no BLAS, wait up to
# this long for the process's other threads to stop running (see _wait_for_idle_threads).
IDLE_WAIT_SECONDS = 0.3
# Steps are timed on up to this many batches of the training set (fewer when it has
# fewer, or when they would take more than twice STEP_TIMING_SECONDS).
STEP_BATCHES = 8
PLANNING_LEARNING_RATE = 1e-6
# The data-parallel step is a candidate for steps of at least this many rows per part, up
# to SPLIT_MAX_STEP_MULTIPLY_ADDS multiply-adds (far below the steps that run in pieces,
# _workspace.INTERRUPTIBLE_STEP_MULTIPLY_ADDS, which it cannot), and where the parts'
# partial gradients (a copy of the weights and biases per part) take at most
# SPLIT_MAX_PARTIAL_BYTES.
SPLIT_MIN_PART_ROWS = 8
SPLIT_MAX_STEP_MULTIPLY_ADDS = 1 << 28
SPLIT_MAX_PARTIAL_BYTES = 64 << 20

# The plans read or measured by this process: {cache file: {entry key: entry}}.
_plans_by_file: dict[Path, dict[str, Entry]] = {}
# The entry keys used by this process, in order of first use, for show_config.
_used: list[str] = []
# {(cache file, entry key): (entry, Plan, decisions)} of the entries that checked.
_checked: dict[tuple[Path, str], tuple[Entry, "Plan", list[Decision]]] = {}
# A candidate of the planner: its decisions and its parts (0: the step is not split).
Candidate: TypeAlias = tuple[list[Decision], int]


@dataclasses.dataclass(frozen=True)
class Plan:
    """The routes of a fit's products on this machine, as measured.

    ``layers[l]`` maps each product of layer ``l`` ("forward", "hidden_delta" except
    for layer 0, "gradient_step") to ``(route, shared)``: route "loops", "vector" or
    "blas", shared whether it is split over fit's threads. ``seconds_per_step`` is the
    measured time of one training step, ``planning_seconds`` how long measuring took,
    ``measured`` when (UTC), ``cache_file`` where it is stored, ``timed`` the plans whose
    steps were timed, fastest first, as (routes in short, see ``_code``; seconds per step).
    ``parts`` is 0, or the number of parts each batch is cut into: a data-parallel step,
    each part through the whole step on a thread of its own (its products then all on one
    thread, outside BLAS), the parts' gradients summed in order; the bits depend on it,
    not on the threads. Plans are made by :func:`fastprop.tune` and by fits, not by hand.

    Parameters
    ----------
    key : str
        What the plan was measured for: dtype, widths, batch size, CPU path, threads.
    layers : tuple of dict
        Per layer, ``{product: (route, shared)}``.
    seconds_per_step : float
        The measured time of one training step.
    planning_seconds : float
        How long measuring took.
    measured : str
        When, in UTC (ISO 8601).
    cache_file : str
        The plan cache file it is stored in.
    timed : tuple of (str, float), default ()
        The plans whose steps were timed, fastest first.
    parts : int, default 0
        The parts a batch is cut into (0: the step is not split).

    Examples
    --------
    >>> import fastprop
    >>> plan = fastprop.tune([3, 2], batch_size=8)
    >>> [sorted(layer) for layer in plan.layers]
    [['forward', 'gradient_step']]
    >>> plan.seconds_per_step > 0
    True
    """
    key: str
    layers: tuple[dict[str, Decision], ...]
    seconds_per_step: float
    planning_seconds: float
    measured: str
    cache_file: str
    timed: tuple[tuple[str, float], ...] = ()
    parts: int = 0

    def decisions(self) -> list[Decision]:
        """The flat list of (route, shared) pairs that Trainer.set_plan takes.

        Returns
        -------
        list of (str, bool)
            One ``(route, shared)`` pair per product, layer after layer, in the order of
            ``("forward", "hidden_delta", "gradient_step")`` (layer 0's hidden delta,
            which does not exist, as ``("loops", False)``).

        Examples
        --------
        >>> import fastprop
        >>> decisions = fastprop.tune([3, 2], batch_size=8).decisions()
        >>> len(decisions), decisions[1]
        (3, ('loops', False))
        """
        flat: list[Decision] = []
        for layer in self.layers:
            for kind in PRODUCT_KINDS:
                route, shared = layer.get(kind, ("loops", False))
                flat.append((route, shared))
        return flat

    def __str__(self) -> str:
        layers = "; ".join(
            ", ".join(f"{kind} {route}{' shared' if shared else ''}"
                      for kind, (route, shared) in layer.items())
            for layer in self.layers)
        split = f"in {self.parts} parts, each on a thread: " if self.parts else ""
        return (f"{self.key}: {split}{layers} ({self.seconds_per_step * 1e6:.1f} us per step; "
                f"planned in {self.planning_seconds * 1e3:.0f} ms)")


def entry_key(sizes: Sequence[int], dtype: DTypeLike, batch_rows: int, config: Mapping[str, Any],
              optimizer: str | None = None) -> str:
    """The name of a plan in the cache: what it was measured for (config: as
    _kernels.read_config gives it, the CPU path resolved; optimizer: the kind of the
    optimizer whose update the steps include, None for plain gradient descent)."""
    widths = "-".join(map(str, sizes))
    name = "float32" if dtype == np.float32 else "float64"
    return (f"{name} {widths} batch {batch_rows} cpu {config['cpu']} threads {config['threads']}"
            + (f" {optimizer}" if optimizer else ""))


def plan_for(trainer: _kernels.Trainer, sizes: Sequence[int], dtype: DTypeLike,
             weights: Sequence[_FloatArray], biases: Sequence[_FloatArray], samples: _FloatArray,
             targets: _FloatArray | None, batch_rows: int, mean_loss: bool,
             functions: Sequence[str] | None = None, loss: str = "squared",
             labels: NDArray[np.int64] | None = None,
             optimizer: Mapping[str, Any] | None = None) -> Plan:
    """The plan of a fit under the configuration in use: read from the cache, or measured
    now (on copies) and stored. A plan is keyed by the network's widths, not its functions
    or loss: every route computes the same function, and what decides between routes is
    the products; but by the optimizer (its settings, as Trainer.set_optimizer takes
    them), whose update after every layer's gradient changes what the team and BLAS's
    threads do between products (64-128-10 with Adam: a plan timed at 13 us a step
    without the update took 21 us with it, the one-thread plan 19)."""
    config = _kernels.path_and_threads()
    key = entry_key(sizes, dtype, batch_rows, config, optimizer["kind"] if optimizer else None)
    path = _plan_cache.cache_file()
    plans = _plans_in(path)
    splittable = trainer.piece_multiply_adds == 0
    plan = _checked_plan(trainer, plans.get(key), key, path)
    if plan is None:
        plan = measure(sizes, dtype, weights, biases, samples, targets, batch_rows, mean_loss,
                       functions, loss, labels, optimizer, splittable)
        plans[key] = _entry_of(plan)
        _plan_cache.write_plans(path, _plan_cache.machine_key(), {key: plans[key]})
        _apply(trainer, plan.decisions(), plan.parts)
    if key not in _used:
        _used.append(key)
    return plan


def measure(sizes: Sequence[int], dtype: DTypeLike, weights: Sequence[_FloatArray],
            biases: Sequence[_FloatArray], samples: _FloatArray, targets: _FloatArray | None,
            batch_rows: int, mean_loss: bool, functions: Sequence[str] | None = None,
            loss: str = "squared", labels: NDArray[np.int64] | None = None,
            optimizer: Mapping[str, Any] | None = None, splittable: bool = True) -> Plan:
    """Measure the plan of a fit (see the module's docstring); the arrays are not changed.
    functions, loss and labels as _kernels.Trainer takes them (the fit's); optimizer: the
    settings of the optimizer whose update the fit's steps include (None: plain gradient
    descent), which the timed steps include too, on a state of zeros; splittable: whether
    the fit's trainer can take a split step (not one whose steps run in pieces)."""
    started = time.perf_counter()
    config = _kernels.read_config()
    rows = min(samples.shape[0], STEP_BATCHES * batch_rows)
    scratch = _kernels.Trainer(
        list(sizes), [w.copy() for w in weights], [b.copy() for b in biases], samples[:rows],
        None if labels is not None or targets is None else targets[:rows], batch_rows, mean_loss,
        [np.empty((batch_rows, width), dtype=dtype) for width in sizes[1:]],
        [np.empty((batch_rows, width), dtype=dtype) for width in sizes[1:]],
        functions=functions, loss=loss, labels=None if labels is None else labels[:rows])
    if optimizer is not None:
        _give_optimizer(scratch, sizes, dtype, optimizer)
    try:
        fixed = _kernels.threshold_decisions(list(sizes), batch_rows,
                                             np.dtype(dtype) == np.float32)
        # Layer 0 has no hidden delta: its decision is the loops' in every plan, so that
        # the same routes are never timed twice as two plans.
        fixed[PRODUCT_KINDS.index("hidden_delta")] = ("loops", False)
        n_products = (len(sizes) - 1) * len(PRODUCT_KINDS)
        # One step fills the workspace with the values training sees: without BLAS where
        # there are vector kernels (see below), on one thread.
        if config["cpu"] != "baseline":
            scratch.set_plan(_all_vector(sizes, dtype, dict(config, threads=1),
                                         [("loops", False)] * n_products))
        scratch.run(None, 0, min(rows, batch_rows), PLANNING_LEARNING_RATE, np.zeros(1))
        # Other libraries' threads that ran just before (a BLAS's, an OpenMP pool's) spin
        # for a while after their work, and timings taken meanwhile are of a busier
        # machine than the fit's: 64-128-10's steps timed at 27 us right after PyTorch's
        # and JAX's fits in one process, 17 in a quiet one.
        _wait_for_idle_threads(IDLE_WAIT_SECONDS)
        products = [(index // len(PRODUCT_KINDS), PRODUCT_KINDS[index % len(PRODUCT_KINDS)])
                    for index in range(n_products)]
        exists = [not (kind == "hidden_delta" and layer == 0) for layer, kind in products]
        # First the routes that call no BLAS, and then the steps of the plans made of them
        # that share products out, before any BLAS call: BLAS's threads spin for a while
        # after each call (see _time_steps), and a team timed while they do runs at half
        # speed (784-256-10's 784 -> 256 forward on the team: 265 us timed after the
        # vector route alone, 485 right after BLAS).
        product_times = [
            _time_candidates(scratch, sizes, dtype, batch_rows, layer, kind, config, blas=False)
            if real else {} for (layer, kind), real in zip(products, exists)]
        plans: list[Candidate] = []
        seconds: list[float] = []
        if all(times for times, real in zip(product_times, exists) if real):
            no_blas = _best_plans(product_times)
            alone: list[Candidate] = [
                (plan, 0) for plan in (_all_vector(sizes, dtype, config, no_blas[0]),
                                       no_blas[1], fixed)
                if any(shared for _, shared in plan)
                and not any(route == "blas" for route, _ in plan)]
            parts = _split_parts(sizes, dtype, batch_rows, config) if splittable else 0
            if parts:
                # Each part's products on its own thread, outside BLAS: the fastest such
                # routes (layer 0's hidden delta, which does not exist, in the loops).
                alone.append((no_blas[0], parts))
            for candidate in alone:
                if candidate not in plans:
                    plans.append(candidate)
            if plans:
                estimates = [_step_estimate(plan, product_times) / max(1, parts)
                             for plan, parts in plans]
                seconds = _time_steps(scratch, rows, plans, estimates)
                # A timing hit by a moment of noise must not decide (a long step is timed
                # once): 784-1024-1024-10's steps all on the team took 12.7 ms in one
                # planning against 6.4 by its products' timings (6.6-6.7 in the others;
                # BLAS's 7.0 won). Noise only slows: a step timed well over its estimate
                # is timed again (still before any BLAS call) and keeps its best time.
                noisy = [index for index in range(len(plans))
                         if seconds[index] > NOISY_STEP_RATIO * estimates[index]]
                if noisy:
                    retimed = _time_steps(scratch, rows, [plans[index] for index in noisy],
                                          [estimates[index] for index in noisy])
                    for index, retimed_seconds in zip(noisy, retimed):
                        seconds[index] = min(seconds[index], retimed_seconds)
        # Then BLAS, for every product.
        for (layer, kind), real, times in zip(products, exists, product_times):
            if real:
                times.update(_time_candidates(scratch, sizes, dtype, batch_rows, layer, kind,
                                              config, blas=True, timed=times))
        single, with_team = _best_plans(product_times)
        # Whole steps decide between the products' best on one thread, with the team,
        # every product in BLAS (a hedge against a product timed in a noisy moment), the
        # fixed plan's routes (so that measuring never loses to not measuring), every
        # product that fills vectors in the vector kernels, shared out when there are
        # threads (the same hedge on the other side) and, for a network narrow enough,
        # every product in the loops: its step then runs as one function
        # (_kernels.SMALL_STEP_MAX_WIDTH), which no product's timing shows.
        all_blas = [("blas", False) if real else ("loops", False) for real in exists]
        candidates = [single, with_team, all_blas, _all_vector(sizes, dtype, config, single),
                      fixed]
        if max(sizes) <= _kernels.SMALL_STEP_MAX_WIDTH:
            candidates.append([("loops", False)] * n_products)
        later: list[Candidate] = []
        for plan in candidates:
            if (plan, 0) not in plans and (plan, 0) not in later:
                later.append((plan, 0))
        estimates = [_step_estimate(plan, product_times) for plan, _ in later]
        plans += later
        seconds += _time_steps(scratch, rows, later, estimates)
        # A plan that shares products out (or splits the step) must win clearly: sharing
        # costs more in a long fit than in a short timing when the other core is busy.
        uses_team = [bool(parts) or any(shared for _, shared in plan) for plan, parts in plans]
        best = min(range(len(plans)), key=seconds.__getitem__)
        best_alone = min((index for index in range(len(plans)) if not uses_team[index]),
                         key=seconds.__getitem__)
        margin = (TEAM_MARGIN if seconds[best_alone] <= STEP_TIMING_SECONDS
                  else LONG_STEP_TEAM_MARGIN)
        if uses_team[best] and seconds[best] > margin * seconds[best_alone]:
            best = best_alone
        chosen, chosen_parts = plans[best]
        timed = tuple(sorted(((_code(plan, parts), step_seconds) for (plan, parts), step_seconds
                              in zip(plans, seconds)), key=lambda item: item[1]))
        best_seconds = seconds[best]
    finally:
        scratch.stop_threads()
    layers: list[dict[str, Decision]] = []
    for layer in range(len(sizes) - 1):
        decisions = chosen[layer * len(PRODUCT_KINDS):(layer + 1) * len(PRODUCT_KINDS)]
        layers.append({kind: (route, shared) for kind, (route, shared)
                       in zip(PRODUCT_KINDS, decisions)
                       if not (kind == "hidden_delta" and layer == 0)})
    measured = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return Plan(entry_key(sizes, dtype, batch_rows, config, optimizer["kind"] if optimizer else None),
                tuple(layers), best_seconds,
                time.perf_counter() - started, measured, str(_plan_cache.cache_file()), timed,
                chosen_parts)


def _split_parts(sizes: Sequence[int], dtype: DTypeLike, batch_rows: int,
                 config: Mapping[str, Any]) -> int:
    """The parts of the data-parallel step the planner tries (one per thread), or 0 where
    it does not: one thread, too few rows a part, a step too large (see
    SPLIT_MAX_STEP_MULTIPLY_ADDS) or partial gradients too large."""
    parts = int(config["threads"])
    if parts < 2 or not _kernels.cpu_capabilities()["threads_compiled"]:
        return 0
    parameters = sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    step_multiply_adds = batch_rows * sum(n_in * n_out for n_in, n_out
                                          in zip(sizes[:-1], sizes[1:]))
    if (batch_rows < parts * SPLIT_MIN_PART_ROWS
            or step_multiply_adds > SPLIT_MAX_STEP_MULTIPLY_ADDS
            or parts * parameters * np.dtype(dtype).itemsize > SPLIT_MAX_PARTIAL_BYTES):
        return 0
    return parts


def _apply(trainer: _kernels.Trainer, decisions: Sequence[Decision], parts: int) -> None:
    """A plan's decisions and parts on trainer (its partial gradients allocated there)."""
    trainer.set_plan(decisions)
    if parts:
        trainer.set_split(parts)


def _give_optimizer(scratch: _kernels.Trainer, sizes: Sequence[int], dtype: DTypeLike,
                    settings: Mapping[str, Any]) -> None:
    """The optimizer of settings on the scratch trainer, with fit's gradient buffers and a
    state of zeros of the network's shapes."""
    from .optimizers import gradient_buffers
    shapes: list[tuple[int, ...]] = (
        [(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        + [(n_out,) for n_out in sizes[1:]])

    def arrays() -> list[_FloatArray]:
        return [np.zeros(shape, dtype) for shape in shapes]
    adam = settings["kind"] == "adam"
    first = arrays() if adam or settings.get("momentum", 0) else None
    scratch.set_optimizer(settings, gradient_buffers(sizes, dtype), first,
                          arrays() if adam else None, np.zeros(1, dtype=np.int64))


def _code(decisions: Sequence[Decision], parts: int = 0) -> str:
    """A plan's routes in short: per product (forward, hidden delta, gradient step; layers
    separated by '/'), l loops, v vector kernels, b BLAS, + shared out; 'l v+ / ...'; a
    split step's prefixed by its parts, 'split 2: v v / v v v'."""
    layers = []
    for start in range(0, len(decisions), len(PRODUCT_KINDS)):
        codes = [route[0] + ("+" if shared else "") for (route, shared), kind
                 in zip(decisions[start:start + len(PRODUCT_KINDS)], PRODUCT_KINDS)
                 if not (kind == "hidden_delta" and start == 0)]
        layers.append(" ".join(codes))
    return (f"split {parts}: " if parts else "") + " / ".join(layers)


def _best_plans(product_times: Sequence[Mapping[Decision, float]]
                ) -> tuple[list[Decision], list[Decision]]:
    """(the fastest decision of each product on one thread, the fastest with the team or
    not): the loops for a product that does not exist (layer 0's hidden delta)."""
    single: list[Decision] = []
    with_team: list[Decision] = []
    for times in product_times:
        alone = {decision: seconds for decision, seconds in times.items() if not decision[1]}
        single.append(_fastest(alone) if alone else ("loops", False))
        with_team.append(_fastest(times) if times else ("loops", False))
    return single, with_team


def _all_vector(sizes: Sequence[int], dtype: DTypeLike, config: Mapping[str, Any],
                others: Sequence[Decision]) -> list[Decision]:
    """Every product that fills vectors in the vector kernels, shared out when there are
    threads; the others as in the plan others."""
    plan = list(others)
    if config["cpu"] == "baseline":
        return plan
    is_float32 = np.dtype(dtype) == np.float32
    for layer in range(len(sizes) - 1):
        for index, kind in enumerate(PRODUCT_KINDS):
            if (not (kind == "hidden_delta" and layer == 0)
                    and _kernels.vector_kernels_fit(sizes[layer], sizes[layer + 1], kind,
                                                    is_float32)):
                plan[layer * len(PRODUCT_KINDS) + index] = ("vector", config["threads"] > 1)
    return plan


def _fastest(times: Mapping[Decision, float]) -> Decision:
    """The fastest decision, except that the plain loops win a near tie: they have no
    call overhead for a timing to miss, and the same bits on every machine."""
    best = min(times, key=times.__getitem__)
    loops = ("loops", False)
    if loops in times and times[loops] <= LOOPS_TIE_RATIO * times[best]:
        return loops
    return best


def _time_candidates(scratch: _kernels.Trainer, sizes: Sequence[int], dtype: DTypeLike,
                     batch_rows: int, layer: int, kind: str, config: Mapping[str, Any],
                     blas: bool | None = None, timed: Mapping[Decision, float] | None = None
                     ) -> dict[Decision, float]:
    """{(route, shared): seconds per call} of one product, over the routes that can run it
    (blas True: only BLAS's, False: only the others, None: all), timed in interleaved
    rounds so that a moment of noise hits every route alike; timed: the product's times
    so far, against which a route may be hopeless (not returned again)."""
    n_in, n_out = sizes[layer], sizes[layer + 1]
    multiply_adds = batch_rows * n_in * n_out
    candidates: list[Decision] = [("blas", False)]
    if (config["cpu"] != "baseline"
            and _kernels.vector_kernels_fit(n_in, n_out, kind, np.dtype(dtype) == np.float32)):
        candidates.append(("vector", False))
    if multiply_adds <= LOOPS_MAX_MULTIPLY_ADDS:
        candidates.append(("loops", False))
    if config["threads"] > 1:
        if ("vector", False) in candidates:
            candidates.append(("vector", True))
        # BLAS "shared" shares only the pass after the product: the sigmoid of a forward
        # step is worth it; the cheap passes of the others, only after a short sum.
        inner = {"forward": n_in, "hidden_delta": n_out, "gradient_step": batch_rows}[kind]
        if kind == "forward" or inner < SHARED_PASS_MAX_INNER:
            candidates.append(("blas", True))
    if blas is not None:
        candidates = [decision for decision in candidates if (decision[0] == "blas") == blas]
    best_so_far = min(timed.values()) if timed else float("inf")
    times: dict[Decision, float] = {}
    per_round: dict[Decision, float] = {}
    for decision in candidates:
        first = scratch.time_product(layer, kind, decision, PLANNING_LEARNING_RATE, 0.0)
        if first > HOPELESS_RATIO * min([best_so_far, *times.values()]):
            continue                      # hopeless: not timed further
        times[decision] = first
        # A call longer than a round's budget is timed alone (its first call warmed up).
        per_round[decision] = (0.0 if first > PRODUCT_BUDGET_SECONDS / PRODUCT_ROUNDS
                               else PRODUCT_BUDGET_SECONDS / PRODUCT_ROUNDS)
    if not times:
        return times
    # Calls of a millisecond or more vary little: one round.
    rounds = 1 if min(times.values()) > LONG_CALL_SECONDS else PRODUCT_ROUNDS
    for _ in range(rounds):
        for decision in times:
            seconds = scratch.time_product(layer, kind, decision, PLANNING_LEARNING_RATE,
                                           per_round[decision])
            times[decision] = min(times[decision], seconds)
    return times


def _step_estimate(plan: Sequence[Decision], product_times: Sequence[Mapping[Decision, float]]
                   ) -> float:
    """A step's seconds by the sum of its products' timed calls (a route not timed further,
    as hopeless, counted at HOPELESS_RATIO times the product's best)."""
    total = 0.0
    for decision, times in zip(plan, product_times):
        if times:
            route, shared = decision
            total += times.get((route, shared), HOPELESS_RATIO * min(times.values()))
    return total


def _time_steps(scratch: _kernels.Trainer, rows: int, plans: Sequence[Candidate],
                estimates: Sequence[float]) -> list[float]:
    """Seconds per step of each plan: the best of STEP_REPEATS interleaved runs over rows,
    each repeated (in epochs) to last about STEP_TIMING_SECONDS by the plan's estimate
    (estimates[i], _step_estimate); steps longer than that (by the least estimate) are
    timed on one batch, and once per plan."""
    batch_rows = scratch.batch_size
    repeats = STEP_REPEATS
    step_estimate = min(estimates)
    if step_estimate > STEP_TIMING_SECONDS:
        rows, repeats = min(rows, batch_rows), 1
    else:
        # As many different batches as fit in the timing: a fit streams its inputs
        # through the caches, which a timing on one batch, in cache, would not show.
        batches = max(1, int(2 * STEP_TIMING_SECONDS / max(step_estimate, 1e-9)))
        rows = min(rows, batches * batch_rows)
    steps = -(-rows // batch_rows)
    epochs = [max(1, min(1000, int(STEP_TIMING_SECONDS / max(estimate * steps, 1e-7))))
              for estimate in estimates]
    losses = np.zeros(max(epochs))
    best = [float("inf")] * len(plans)
    # A BLAS's threads spin for a while after each call (OpenBLAS here: 0.1-0.2 s), and a
    # helper of the team on the same core then runs at half speed: 784-1024-1024-10's steps
    # all in the team's vector kernels took 11-16 ms right after a BLAS call, 7.9 ms 0.2 s
    # later, 6.9 in a fit that calls no BLAS. So the plans that call no BLAS but share
    # products out are timed first in each round, the first round once BLAS's threads
    # have stopped (each plan's best time is kept: one clean round is enough). measure
    # times them before it calls BLAS itself: the wait is for calls made before planning.
    uses_team = [bool(parts) or any(shared for _, shared in decisions)
                 for decisions, parts in plans]
    alone = [index for index, (decisions, _) in enumerate(plans)
             if uses_team[index] and not any(route == "blas" for route, _ in decisions)]
    order = alone + [index for index in range(len(plans)) if index not in alone]
    for round_ in range(repeats):
        if alone and round_ == 0:
            _wait_for_idle_threads(IDLE_WAIT_SECONDS)
        for index in order:
            decisions, parts = plans[index]
            _apply(scratch, decisions, parts)
            if not uses_team[index]:
                # A fit whose plan shares nothing out starts no helpers; timed with the
                # helpers of the plans before it still waiting for work, the steps ran as
                # slowly as with two teams on two cores (64-128-10 float32 on batches of
                # 32 with Adam: 35 us a step against 18 on one thread, so the team's plan
                # won at 24.5 and the fit took 61 ms against 46; Intel Xeon, AVX-512).
                scratch.stop_threads()
            elif step_estimate <= STEP_TIMING_SECONDS:
                # One step first, untimed: a helper that slept while other plans ran (its
                # core idle, which under a hypervisor may mean descheduled) takes a while
                # to wake, which a short timing would count and a long fit does not.
                scratch.run(None, 0, batch_rows, PLANNING_LEARNING_RATE, losses[:1])
            start = time.perf_counter()
            scratch.run(None, 0, rows, PLANNING_LEARNING_RATE, losses[:epochs[index]])
            best[index] = min(best[index],
                              (time.perf_counter() - start) / (steps * epochs[index]))
    scratch.set_plan(None)
    return best


def _wait_for_idle_threads(timeout: float) -> None:
    """Wait, up to timeout seconds, until no thread of this process but the calling one is
    running (Linux: /proc/self/task/*/stat; elsewhere, return at once)."""
    tasks = "/proc/self/task"
    if not os.path.isdir(tasks):
        return
    me = str(threading.get_native_id())
    deadline = time.perf_counter() + timeout
    while True:
        running = False
        for task in os.listdir(tasks):
            if task == me:
                continue
            try:
                with open(f"{tasks}/{task}/stat", encoding="ascii", errors="replace") as stat:
                    fields = stat.read()
            except OSError:
                continue                  # the thread has ended
            if fields[fields.rindex(")") + 2:].startswith("R"):
                running = True
                break
        if not running or time.perf_counter() > deadline:
            return
        time.sleep(0.002)


def tune(sizes: Sequence[int], batch_size: int, dtype: DTypeLike = np.float64) -> Plan:
    """Measure and store the plan of fits of a network of these widths at this batch size.

    The plan is measured under the configuration in use (CPU path, threads). A fit
    measures its plan on first use anyway; ``tune`` does it ahead of time (say, before
    timing a fit), and always measures anew, replacing a stored plan.

    Parameters
    ----------
    sizes : list or tuple of int
        Layer widths, input first, each >= 1 (at least two).
    batch_size : int
        The rows of a training step (``Network.fit``'s ``batch_size``), >= 1.
    dtype : numpy.float64 (default) or numpy.float32
        The network's dtype.

    Returns
    -------
    Plan
        The measured plan, also stored in the plan cache (``show_config`` names the file).

    Raises
    ------
    ValueError
        If ``sizes`` is not a list or tuple of at least two widths, or a width or
        ``batch_size`` is below 1.
    TypeError
        If a width or ``batch_size`` is not an integer, or ``dtype`` is neither float32
        nor float64.

    Examples
    --------
    >>> import fastprop
    >>> plan = fastprop.tune([2, 3, 1], batch_size=4)
    >>> plan.key  # doctest: +ELLIPSIS
    'float64 2-3-1 batch 4 cpu ... threads ...'
    >>> sorted(plan.layers[1])
    ['forward', 'gradient_step', 'hidden_delta']
    """
    from ._validation import check_count

    if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
        raise ValueError(f"sizes must be a list or tuple of at least two widths, got {sizes!r}")
    widths = [check_count(width, "sizes", 1) for width in sizes]
    batch_size = check_count(batch_size, "batch_size", 1)
    float_dtype = np.dtype(dtype)
    if float_dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {float_dtype}")
    generator = np.random.default_rng(0)
    weights = [generator.normal(0, 1 / np.sqrt(n_in), (n_out, n_in)).astype(float_dtype)
               for n_in, n_out in zip(widths[:-1], widths[1:])]
    biases = [np.zeros(n_out, dtype=float_dtype) for n_out in widths[1:]]
    rows = STEP_BATCHES * batch_size
    samples = generator.random((rows, widths[0])).astype(float_dtype)
    targets = generator.random((rows, widths[-1])).astype(float_dtype)
    plan = measure(widths, float_dtype, weights, biases, samples, targets, batch_size, True)
    path = _plan_cache.cache_file()
    _plans_in(path)[plan.key] = _entry_of(plan)
    _plan_cache.write_plans(path, _plan_cache.machine_key(), {plan.key: _entry_of(plan)})
    return plan


def plans_in_use() -> list[Plan]:
    """The plans this process has used, in order of first use."""
    plans = _plans_in(_plan_cache.cache_file())
    return [_plan_of(key, plans[key], str(_plan_cache.cache_file()))
            for key in _used if key in plans]


def forget_loaded_plans() -> None:
    """Drop what this process read from plan files (a test's clean start)."""
    _plans_by_file.clear()
    _used.clear()
    _checked.clear()


def _plans_in(path: Path) -> dict[str, Entry]:
    """This process's copy of the entries of the plan file at path (read on first use)."""
    if path not in _plans_by_file:
        _plans_by_file[path] = dict(_plan_cache.read_plans(path, _plan_cache.machine_key()))
    return _plans_by_file[path]


def _entry_of(plan: Plan) -> Entry:
    return {"layers": [{kind: [route, shared] for kind, (route, shared) in layer.items()}
                       for layer in plan.layers],
            "seconds_per_step": plan.seconds_per_step, "planning_seconds": plan.planning_seconds,
            "measured": plan.measured,
            "timed_plans": [[code, seconds] for code, seconds in plan.timed],
            "parts": plan.parts}


def _plan_of(key: str, entry: Mapping[str, Any], path: str) -> Plan:
    layers = tuple({kind: (decision[0], decision[1]) for kind, decision in layer.items()}
                   for layer in entry["layers"])
    timed = tuple((str(code), float(seconds)) for code, seconds in entry.get("timed_plans", ()))
    parts = entry.get("parts", 0)
    if isinstance(parts, bool) or not isinstance(parts, int):
        raise TypeError(f"parts must be an integer, got {parts!r}")
    return Plan(key, layers, float(entry["seconds_per_step"]), float(entry["planning_seconds"]),
                str(entry["measured"]), path, timed, parts)


def _checked_plan(trainer: _kernels.Trainer, entry: Entry | None, key: str, path: Path
                  ) -> Plan | None:
    """The stored entry as a Plan, set on trainer; None (after a warning if it was there
    but does not check) when it must be measured."""
    if entry is None:
        return None
    checked = _checked.get((path, key))
    if checked is not None and checked[0] is entry:
        _apply(trainer, checked[2], checked[1].parts)
        return checked[1]
    try:
        plan = _plan_of(key, entry, str(path))
        n_layers = len(key.split(" ")[1].split("-")) - 1
        if len(plan.layers) != n_layers:
            raise ValueError(f"it has {len(plan.layers)} layers, the network {n_layers}")
        for layer, products in enumerate(plan.layers):
            expected = [kind for kind in PRODUCT_KINDS
                        if not (kind == "hidden_delta" and layer == 0)]
            if sorted(products) != sorted(expected):
                raise ValueError(f"layer {layer} has products {sorted(products)}, "
                                 f"not {sorted(expected)}")
        decisions = plan.decisions()
        _apply(trainer, decisions, plan.parts)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        _plan_cache._warn(f"the stored plan {key!r} in {path} does not check ({error}); "
                          f"measuring it again")
        return None
    _checked[(path, key)] = (entry, plan, decisions)
    return plan
