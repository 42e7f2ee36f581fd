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
static void fastprop_pin_helper(const fastprop_team* team, int index)
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
static void fastprop_pin_helper(const fastprop_team* team, int index)
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

#define FASTPROP_SPIN_NANOSECONDS 50000L

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
    if (team->pin_helpers)
        fastprop_pin_helper(team, helper->index);
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

int fastprop_team_start(fastprop_team* team, int n_helpers, int pin_helpers)
{
    team->n_helpers = 0;
    team->pin_helpers = pin_helpers;
    team->main_cpu = pin_helpers ? fastprop_current_cpu() : -1;
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

void fastprop_team_run(fastprop_team* team, fastprop_task_function function,
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

long fastprop_team_stop(fastprop_team* team)
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
