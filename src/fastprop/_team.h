/* A team of threads for the small products of a training step.
 *
 * Why: a training step of a small network (batch 32, widths 64) is a chain of
 * products of a few microseconds each. OpenBLAS runs products this small on one
 * core, and a thread pool that is woken per product (OpenMP, say) costs about as
 * much as it saves. Here the thread calling Trainer.run (the main thread) keeps
 * its helpers awake for the whole chunk of training: each product is one phase,
 * split into tasks (column panels of its output, say).
 *
 * Each phase's tasks are split into one contiguous share per thread, the same
 * share for the same thread every time (share 0 the main thread's, share i + 1
 * helper i's), so that a product's operands stay in the caches of the core that
 * used them in the previous step instead of moving between cores with each task.
 * Claiming tasks one by one from a shared counter (as fastprop did before) sent
 * them to whichever thread came first, and their data with them, and passed the
 * counter's cache line between the cores for every task: on a 2-core KVM guest
 * (AMD EPYC), every product of 784-1024-1024-10 in the vector kernels on two
 * threads took 6.9-7.3 ms per step that way, 6.5-6.75 ms with fixed shares
 * (784-256-10: 584-590 against 565-569 us). A phase costs the main thread one
 * cache line written (the phase and its tasks, which the helpers read) and one
 * read per helper (its state).
 *
 * Nobody waits for a thread that is not working: when the main thread has done
 * its share, it closes the phase to every helper that has not joined it yet and
 * does that helper's share itself, so it only ever waits for shares a helper has
 * actually started. A helper the OS has not scheduled (another process on the
 * other core) costs nothing but its share of the speed-up. Which thread computes
 * a task changes nothing in the result: every output element is computed by the
 * same code in the same order, so results are bit for bit those of one thread.
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
 * threads themselves and, once per team, the cache lines they share.
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

#define FASTPROP_CACHE_LINE 64

struct fastprop_team_lines;

typedef struct {
    /* The helper's progress, on a line of its own: 2 * phase when it joined that
     * phase, 2 * phase + 1 when it finished its share (or the main thread closed
     * the phase to it and did the share itself). */
    _Alignas(FASTPROP_CACHE_LINE) _Atomic long state;
    struct fastprop_team_lines* lines;
    int index;
    pthread_t thread;
    long tasks_done;           /* written by the helper, read after it is joined */
} fastprop_helper;

/* What the threads share, each part on cache lines of its own: allocated (aligned)
 * by fastprop_team_start, as the team itself may live anywhere (in a Python object). */
struct fastprop_team_lines {
    /* The current phase, on a line that only the main thread writes: the helpers
     * spin on it, and read the rest of it once they see a new phase. */
    _Alignas(FASTPROP_CACHE_LINE) _Atomic long phase;   /* published last, with release */
    fastprop_task_function function;
    void* arguments;
    ptrdiff_t n_tasks;
    /* What is set at the start, and the sleeping helpers' wake-up. */
    _Alignas(FASTPROP_CACHE_LINE) int n_helpers;
    int pin_helpers;           /* each helper on a CPU of its own (fastprop_team_start) */
    int main_cpu;              /* the CPU the main thread ran on at the start, or -1 */
    _Atomic int stopping;
    _Atomic int n_sleeping;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    fastprop_helper helpers[FASTPROP_MAX_HELPERS];
};

typedef struct fastprop_team {
    int n_helpers;                       /* 0: every phase runs on the calling thread */
    struct fastprop_team_lines* lines;   /* NULL without helpers */
} fastprop_team;

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
