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
 * Idle helpers spin for FASTPROP_SPIN_NANOSECONDS (50 microseconds), then sleep on a condition variable until the next phase or
 * the end of the chunk, so they do not compete with BLAS's own threads while
 * the main thread is in a large product.
 *
 * Threads are POSIX threads; where there are none (or pthread_create fails),
 * fastprop_team_start reports 0 helpers and every phase runs on the calling
 * thread. All of this runs without the GIL and allocates nothing but the
 * threads themselves.
 */
#ifndef FASTPROP_TEAM_H
#define FASTPROP_TEAM_H

#include <stddef.h>

#define FASTPROP_MAX_HELPERS 7
#define FASTPROP_SPIN_NANOSECONDS 50000L

typedef void (*fastprop_task_function)(void* arguments, ptrdiff_t task);

#if defined(__unix__) || defined(__APPLE__)

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FASTPROP_PAUSE() _mm_pause()
#else
#define FASTPROP_PAUSE() ((void) 0)
#endif

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

static long fastprop_claim_tasks(fastprop_team* team, fastprop_task_function function,
                                 void* arguments, ptrdiff_t n_tasks)
{
    ptrdiff_t task;
    long done = 0;
    while ((task = atomic_fetch_add(&team->next_task, 1)) < n_tasks) {
        function(arguments, task);
        ++done;
    }
    return done;
}

static void* fastprop_helper_main(void* self)
{
    fastprop_helper* helper = (fastprop_helper*) self;
    fastprop_team* team = helper->team;
    long seen = 0;  /* the phase at fastprop_team_start: the helper may start late */
    for (;;) {
        long phase;
        struct timespec spin_start, now;
        clock_gettime(CLOCK_MONOTONIC, &spin_start);
        for (unsigned rounds = 1; (phase = atomic_load(&team->phase)) == seen; ++rounds) {
            FASTPROP_PAUSE();
            if (rounds % 64 == 0) {
                clock_gettime(CLOCK_MONOTONIC, &now);
                if ((now.tv_sec - spin_start.tv_sec) * 1000000000L
                        + (now.tv_nsec - spin_start.tv_nsec) > FASTPROP_SPIN_NANOSECONDS)
                    break;
            }
        }
        if (phase == seen) {
            pthread_mutex_lock(&team->mutex);
            atomic_fetch_add(&team->n_sleeping, 1);
            while ((phase = atomic_load(&team->phase)) == seen)
                pthread_cond_wait(&team->wake, &team->mutex);
            atomic_fetch_sub(&team->n_sleeping, 1);
            pthread_mutex_unlock(&team->mutex);
        }
        seen = phase;
        if (atomic_load(&team->stopping))
            return NULL;
        /* Join the phase unless the main thread has closed it to us already. */
        long expected = atomic_load(&helper->joined);
        if (expected < phase && atomic_compare_exchange_strong(&helper->joined, &expected, phase)) {
            helper->tasks_done += fastprop_claim_tasks(team, team->function, team->arguments,
                                                       team->n_tasks);
            atomic_store(&helper->finished, phase);
        }
    }
}

/* Start up to n_helpers helper threads; returns how many started (0: run alone). */
static int fastprop_team_start(fastprop_team* team, int n_helpers)
{
    team->n_helpers = 0;
    atomic_init(&team->phase, 0);
    atomic_init(&team->stopping, 0);
    atomic_init(&team->next_task, 0);
    atomic_init(&team->n_sleeping, 0);
    team->function = NULL;
    team->arguments = NULL;
    team->n_tasks = 0;
    if (n_helpers > FASTPROP_MAX_HELPERS)
        n_helpers = FASTPROP_MAX_HELPERS;
    if (n_helpers <= 0)
        return 0;
    if (pthread_mutex_init(&team->mutex, NULL) != 0)
        return 0;
    if (pthread_cond_init(&team->wake, NULL) != 0) {
        pthread_mutex_destroy(&team->mutex);
        return 0;
    }
    for (int i = 0; i < n_helpers; ++i) {
        fastprop_helper* helper = &team->helpers[i];
        helper->team = team;
        helper->index = i;
        atomic_init(&helper->joined, 0);
        atomic_init(&helper->finished, 0);
        helper->tasks_done = 0;
        if (pthread_create(&helper->thread, NULL, fastprop_helper_main, helper) != 0)
            break;
        team->n_helpers = i + 1;
    }
    if (team->n_helpers == 0) {
        pthread_cond_destroy(&team->wake);
        pthread_mutex_destroy(&team->mutex);
    }
    return team->n_helpers;
}

static void fastprop_publish_phase(fastprop_team* team)
{
    atomic_fetch_add(&team->phase, 1);
    if (atomic_load(&team->n_sleeping) > 0) {
        pthread_mutex_lock(&team->mutex);
        pthread_cond_broadcast(&team->wake);
        pthread_mutex_unlock(&team->mutex);
    }
}

/* function(arguments, task) for every task in [0, n_tasks), shared with the helpers. */
static void fastprop_team_run(fastprop_team* team, fastprop_task_function function,
                              void* arguments, ptrdiff_t n_tasks)
{
    if (team == NULL || team->n_helpers == 0 || n_tasks < 2) {
        for (ptrdiff_t task = 0; task < n_tasks; ++task)
            function(arguments, task);
        return;
    }
    team->function = function;
    team->arguments = arguments;
    team->n_tasks = n_tasks;
    atomic_store(&team->next_task, 0);
    const long phase = atomic_load(&team->phase) + 1;
    fastprop_publish_phase(team);
    fastprop_claim_tasks(team, function, arguments, n_tasks);
    /* Every task is claimed. Close the phase to helpers that have not joined
     * it; wait for those that did to finish the tasks they took. */
    for (int i = 0; i < team->n_helpers; ++i) {
        fastprop_helper* helper = &team->helpers[i];
        long expected = phase - 1;
        if (atomic_load(&helper->joined) < phase
                && atomic_compare_exchange_strong(&helper->joined, &expected, phase))
            continue;
        while (atomic_load(&helper->finished) < phase)
            FASTPROP_PAUSE();
    }
}

/* Stop and join the helpers; returns how many tasks they did (for diagnostics). */
static long fastprop_team_stop(fastprop_team* team)
{
    long tasks_done = 0;
    if (team->n_helpers == 0)
        return 0;
    atomic_store(&team->stopping, 1);
    pthread_mutex_lock(&team->mutex);
    atomic_fetch_add(&team->phase, 1);
    pthread_cond_broadcast(&team->wake);
    pthread_mutex_unlock(&team->mutex);
    for (int i = 0; i < team->n_helpers; ++i) {
        pthread_join(team->helpers[i].thread, NULL);
        tasks_done += team->helpers[i].tasks_done;
    }
    pthread_cond_destroy(&team->wake);
    pthread_mutex_destroy(&team->mutex);
    team->n_helpers = 0;
    return tasks_done;
}

#else  /* no POSIX threads: a team of one */

typedef struct fastprop_team { int n_helpers; } fastprop_team;

static int fastprop_team_start(fastprop_team* team, int n_helpers)
{
    (void) n_helpers;
    team->n_helpers = 0;
    return 0;
}

static void fastprop_team_run(fastprop_team* team, fastprop_task_function function,
                              void* arguments, ptrdiff_t n_tasks)
{
    (void) team;
    for (ptrdiff_t task = 0; task < n_tasks; ++task)
        function(arguments, task);
}

static long fastprop_team_stop(fastprop_team* team)
{
    team->n_helpers = 0;
    return 0;
}

#endif

#endif  /* FASTPROP_TEAM_H */
