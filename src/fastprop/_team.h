/* A team of threads for the small products of a training step.
 *
 * Why: a training step of a small network (batch 32, widths 64) is a chain of
 * products of a few microseconds each. OpenBLAS runs products this small on one
 * core, and a thread pool that is woken per product (OpenMP, say) costs about as
 * much as it saves. Here the thread calling Trainer.run (the main thread) keeps
 * its helpers awake for the whole chunk of training: each product is one phase,
 * split into tasks (column panels of its output) that the main thread and the
 * helpers claim from a shared counter.
 *
 * Nobody waits for a thread that is not working: the main thread claims tasks
 * too, and when it runs out it closes the phase to every helper that has not
 * joined it yet, so it only ever waits for tasks a helper has actually started.
 * A helper the OS has not scheduled (another process on the other core) costs
 * nothing but its share of the speed-up. Which thread computes a task changes
 * nothing in the result: every output element is computed by the same code in
 * the same order, so results are bit for bit those of one thread.
 *
 * Idle helpers spin for FASTPROP_SPIN_NANOSECONDS (50 microseconds), then
 * sleep on a condition variable until the next phase or the end of the chunk,
 * so they do not compete with BLAS's own threads while the main thread is in a
 * large product.
 *
 * Threads are POSIX threads; where there are none, or in a build made with
 * FASTPROP_BUILD_WITHOUT_THREADS=1 (setup.py), or when pthread_create fails,
 * fastprop_team_start reports 0 helpers and every phase runs on the calling
 * thread. All of this runs without the GIL and allocates nothing but the
 * threads themselves.
 */
#ifndef FASTPROP_TEAM_H
#define FASTPROP_TEAM_H

#include <stddef.h>

#include "_config.h"

/* The helpers of a team of FASTPROP_MAX_THREADS threads. */
#define FASTPROP_MAX_HELPERS (FASTPROP_MAX_THREADS - 1)

typedef void (*fastprop_task_function)(void* arguments, ptrdiff_t task);

#if (defined(__unix__) || defined(__APPLE__)) && !defined(FASTPROP_WITHOUT_THREADS)

#define FASTPROP_TEAM_HAS_THREADS 1

#include <pthread.h>
#include <stdatomic.h>

typedef struct fastprop_team fastprop_team;

typedef struct {
    fastprop_team* team;
    int index;
    pthread_t thread;
    _Atomic long joined;       /* last phase this helper joined, or the main thread closed to it */
    _Atomic long finished;     /* last phase this helper finished its tasks of */
    long tasks_done;           /* written by the helper, read after it is joined */
} fastprop_helper;

struct fastprop_team {
    int n_helpers;
    int pin_helpers;           /* each helper on a CPU of its own (fastprop_team_start) */
    int main_cpu;              /* the CPU the main thread ran on at the start, or -1 */
    _Atomic long phase;        /* number of the current phase; published by the main thread */
    _Atomic int stopping;
    _Atomic ptrdiff_t next_task;
    /* The current phase: written by the main thread before it publishes the
     * phase number, read by helpers only after they joined the phase. */
    fastprop_task_function function;
    void* arguments;
    ptrdiff_t n_tasks;
    _Atomic int n_sleeping;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    fastprop_helper helpers[FASTPROP_MAX_HELPERS];
};

#else  /* no threads: a team of one */

#define FASTPROP_TEAM_HAS_THREADS 0

typedef struct fastprop_team { int n_helpers; } fastprop_team;

#endif

/* Start up to n_helpers helper threads; returns how many started (0: run alone).
 *
 * pin_helpers (Linux): each helper is pinned to its own CPU of the process's set,
 * none to the one the main thread ran on at the start (the main thread is not
 * pinned: the scheduler moves it off a helper's CPU). Why: a helper sleeps
 * between chunks and wakes on the main thread's signal, and the scheduler tends to
 * wake it on the main thread's CPU; measured on a 2-core KVM guest, a team woken
 * a few times then shared one core for whole fits, as slow as one thread
 * (784-1024-1024-10, every product in the vector kernels: 10 ms per step against
 * 5.5 ms, at random from one team to the next; pinned: 5.4-6.7 ms every time). */
int fastprop_team_start(fastprop_team* team, int n_helpers, int pin_helpers);

/* function(arguments, task) for every task in [0, n_tasks), shared with the helpers;
 * team NULL: all on the calling thread. */
void fastprop_team_run(fastprop_team* team, fastprop_task_function function, void* arguments,
                       ptrdiff_t n_tasks);

/* Stop and join the helpers; returns how many tasks they did (for diagnostics). */
long fastprop_team_stop(fastprop_team* team);

#endif  /* FASTPROP_TEAM_H */
