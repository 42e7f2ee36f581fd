/* The team of threads (see _team.h for the design). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE  /* sched_getcpu, pthread_setaffinity_np */
#endif
#include "_team.h"

#if FASTPROP_TEAM_HAS_THREADS

#if defined(__linux__)
#include <sched.h>

/* Pin the helper of this index to a CPU of the process's set other than the one the
 * main thread ran on when the team started (see _team.h: why). */
static void fastprop_pin_helper(const struct fastprop_team_lines* team, int index)
{
    cpu_set_t allowed, chosen;
    if (team->main_cpu < 0 || sched_getaffinity(0, sizeof allowed, &allowed) != 0
            || CPU_COUNT(&allowed) < 2)
        return;
    int skip = index + 1, cpu = team->main_cpu;
    while (skip > 0) {
        cpu = (cpu + 1) % CPU_SETSIZE;
        if (CPU_ISSET(cpu, &allowed) && cpu != team->main_cpu)
            --skip;
    }
    CPU_ZERO(&chosen);
    CPU_SET(cpu, &chosen);
    pthread_setaffinity_np(pthread_self(), sizeof chosen, &chosen);
}

static int fastprop_current_cpu(void) { return sched_getcpu(); }
#else
static void fastprop_pin_helper(const struct fastprop_team_lines* team, int index)
{
    (void) team;
    (void) index;
}

static int fastprop_current_cpu(void) { return -1; }
#endif

#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FASTPROP_PAUSE() _mm_pause()
#else
#define FASTPROP_PAUSE() ((void) 0)
#endif

#include <stdlib.h>

#define FASTPROP_SPIN_NANOSECONDS 50000L

/* Share `share` of n_tasks tasks split over n_shares threads: [first, end) */
static long fastprop_run_share(fastprop_task_function function, void* arguments,
                               ptrdiff_t n_tasks, int share, int n_shares)
{
    const ptrdiff_t first = n_tasks * share / n_shares, end = n_tasks * (share + 1) / n_shares;
    for (ptrdiff_t task = first; task < end; ++task)
        function(arguments, task);
    return (long) (end - first);
}

static void* fastprop_helper_main(void* self)
{
    fastprop_helper* helper = (fastprop_helper*) self;
    struct fastprop_team_lines* lines = helper->lines;
    if (lines->pin_helpers)
        fastprop_pin_helper(lines, helper->index);
    long seen = 0;  /* the phase at fastprop_team_start: the helper may start late */
    for (;;) {
        long phase;
        struct timespec spin_start, now;
        clock_gettime(CLOCK_MONOTONIC, &spin_start);
        for (unsigned rounds = 1;
             (phase = atomic_load_explicit(&lines->phase, memory_order_acquire)) == seen;
             ++rounds) {
            FASTPROP_PAUSE();
            if (rounds % 64 == 0) {
                clock_gettime(CLOCK_MONOTONIC, &now);
                if ((now.tv_sec - spin_start.tv_sec) * 1000000000L
                        + (now.tv_nsec - spin_start.tv_nsec) > FASTPROP_SPIN_NANOSECONDS)
                    break;
            }
        }
        if (phase == seen) {
            pthread_mutex_lock(&lines->mutex);
            atomic_fetch_add(&lines->n_sleeping, 1);
            while ((phase = atomic_load(&lines->phase)) == seen)
                pthread_cond_wait(&lines->wake, &lines->mutex);
            atomic_fetch_sub(&lines->n_sleeping, 1);
            pthread_mutex_unlock(&lines->mutex);
        }
        seen = phase;
        if (atomic_load(&lines->stopping))
            return NULL;
        /* The phase's tasks, read before joining: once this helper has joined, the
         * main thread waits for it and so cannot start another phase. */
        const fastprop_task_function function = lines->function;
        void* const arguments = lines->arguments;
        const ptrdiff_t n_tasks = lines->n_tasks;
        /* Join the phase unless the main thread has closed it to us already. */
        long expected = atomic_load_explicit(&helper->state, memory_order_relaxed);
        if (expected < 2 * phase
                && atomic_compare_exchange_strong(&helper->state, &expected, 2 * phase)) {
            helper->tasks_done += fastprop_run_share(function, arguments, n_tasks,
                                                     helper->index + 1, lines->n_helpers + 1);
            atomic_store_explicit(&helper->state, 2 * phase + 1, memory_order_release);
        }
    }
}

int fastprop_team_start(fastprop_team* team, int n_helpers, int pin_helpers)
{
    team->n_helpers = 0;
    team->lines = NULL;
    if (n_helpers > FASTPROP_MAX_HELPERS)
        n_helpers = FASTPROP_MAX_HELPERS;
    if (n_helpers <= 0)
        return 0;
    struct fastprop_team_lines* lines;
    if (posix_memalign((void**) &lines, FASTPROP_CACHE_LINE, sizeof *lines) != 0)
        return 0;
    lines->n_helpers = 0;
    lines->pin_helpers = pin_helpers;
    lines->main_cpu = pin_helpers ? fastprop_current_cpu() : -1;
    atomic_init(&lines->phase, 0);
    atomic_init(&lines->stopping, 0);
    atomic_init(&lines->n_sleeping, 0);
    lines->function = NULL;
    lines->arguments = NULL;
    lines->n_tasks = 0;
    if (pthread_mutex_init(&lines->mutex, NULL) != 0) {
        free(lines);
        return 0;
    }
    if (pthread_cond_init(&lines->wake, NULL) != 0) {
        pthread_mutex_destroy(&lines->mutex);
        free(lines);
        return 0;
    }
    /* n_helpers is final before any helper starts: a helper's share depends on it. */
    for (int i = 0; i < n_helpers; ++i) {
        fastprop_helper* helper = &lines->helpers[i];
        helper->lines = lines;
        helper->index = i;
        atomic_init(&helper->state, 1);   /* finished phase 0 */
        helper->tasks_done = 0;
    }
    lines->n_helpers = n_helpers;
    int started = 0;
    for (; started < n_helpers; ++started)
        if (pthread_create(&lines->helpers[started].thread, NULL, fastprop_helper_main,
                           &lines->helpers[started]) != 0)
            break;
    if (started < n_helpers) {
        /* Those that started expect n_helpers shares: stop them, and run alone. */
        atomic_store(&lines->stopping, 1);
        pthread_mutex_lock(&lines->mutex);
        atomic_fetch_add(&lines->phase, 1);
        pthread_cond_broadcast(&lines->wake);
        pthread_mutex_unlock(&lines->mutex);
        for (int i = 0; i < started; ++i)
            pthread_join(lines->helpers[i].thread, NULL);
        pthread_cond_destroy(&lines->wake);
        pthread_mutex_destroy(&lines->mutex);
        free(lines);
        return 0;
    }
    team->lines = lines;
    team->n_helpers = n_helpers;
    return n_helpers;
}

void fastprop_team_run(fastprop_team* team, fastprop_task_function function,
                       void* arguments, ptrdiff_t n_tasks)
{
    if (team == NULL || team->n_helpers == 0 || n_tasks < 2) {
        for (ptrdiff_t task = 0; task < n_tasks; ++task)
            function(arguments, task);
        return;
    }
    struct fastprop_team_lines* lines = team->lines;
    const int n_shares = lines->n_helpers + 1;
    lines->function = function;
    lines->arguments = arguments;
    lines->n_tasks = n_tasks;
    const long phase = atomic_load_explicit(&lines->phase, memory_order_relaxed) + 1;
    atomic_store_explicit(&lines->phase, phase, memory_order_release);
    if (atomic_load(&lines->n_sleeping) > 0) {
        pthread_mutex_lock(&lines->mutex);
        pthread_cond_broadcast(&lines->wake);
        pthread_mutex_unlock(&lines->mutex);
    }
    fastprop_run_share(function, arguments, n_tasks, 0, n_shares);
    /* Close the phase to helpers that have not joined it, and do their shares;
     * wait for those that did to finish theirs. */
    for (int i = 0; i < lines->n_helpers; ++i) {
        fastprop_helper* helper = &lines->helpers[i];
        long expected = atomic_load_explicit(&helper->state, memory_order_acquire);
        if (expected < 2 * phase
                && atomic_compare_exchange_strong(&helper->state, &expected, 2 * phase + 1)) {
            fastprop_run_share(function, arguments, n_tasks, i + 1, n_shares);
            continue;
        }
        while (atomic_load_explicit(&helper->state, memory_order_acquire) < 2 * phase + 1)
            FASTPROP_PAUSE();
    }
}

long fastprop_team_stop(fastprop_team* team)
{
    long tasks_done = 0;
    if (team->n_helpers == 0)
        return 0;
    struct fastprop_team_lines* lines = team->lines;
    atomic_store(&lines->stopping, 1);
    pthread_mutex_lock(&lines->mutex);
    atomic_fetch_add(&lines->phase, 1);
    pthread_cond_broadcast(&lines->wake);
    pthread_mutex_unlock(&lines->mutex);
    for (int i = 0; i < lines->n_helpers; ++i) {
        pthread_join(lines->helpers[i].thread, NULL);
        tasks_done += lines->helpers[i].tasks_done;
    }
    pthread_cond_destroy(&lines->wake);
    pthread_mutex_destroy(&lines->mutex);
    free(lines);
    team->lines = NULL;
    team->n_helpers = 0;
    return tasks_done;
}

#else  /* no threads: a team of one */

int fastprop_team_start(fastprop_team* team, int n_helpers, int pin_helpers)
{
    (void) n_helpers;
    (void) pin_helpers;
    team->n_helpers = 0;
    return 0;
}

void fastprop_team_run(fastprop_team* team, fastprop_task_function function,
                              void* arguments, ptrdiff_t n_tasks)
{
    (void) team;
    for (ptrdiff_t task = 0; task < n_tasks; ++task)
        function(arguments, task);
}

long fastprop_team_stop(fastprop_team* team)
{
    team->n_helpers = 0;
    return 0;
}

#endif
