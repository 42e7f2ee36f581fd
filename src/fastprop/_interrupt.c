/* Watching SIGINT during the compiled loop (see _interrupt.h for the design). */
#if defined(__unix__) || defined(__APPLE__)
#define _GNU_SOURCE  /* sigaction, SA_ONSTACK */
#endif

#include "_interrupt.h"

/* Raised by the handler on whatever thread the signal lands, read by the loop's thread:
 * an atomic, not a volatile, so that the two threads do not race. */
static int requested;

#if defined(__unix__) || defined(__APPLE__)
#include <signal.h>
#include <string.h>

static struct sigaction replaced;
static int watching;

static void on_interrupt(int number, siginfo_t* info, void* context)
{
    __atomic_store_n(&requested, 1, __ATOMIC_RELAXED);
    if (replaced.sa_flags & SA_SIGINFO) {
        if (replaced.sa_sigaction != NULL)
            replaced.sa_sigaction(number, info, context);
    } else if (replaced.sa_handler != SIG_DFL && replaced.sa_handler != SIG_IGN) {
        replaced.sa_handler(number);
    }
}

int fastprop_interrupt_watch(void)
{
    struct sigaction current, mine;
    if (watching || sigaction(SIGINT, NULL, &current) != 0)
        return 0;
    if (!(current.sa_flags & SA_SIGINFO)
        && (current.sa_handler == SIG_DFL || current.sa_handler == SIG_IGN))
        return 0;
    memset(&mine, 0, sizeof mine);
    mine.sa_sigaction = on_interrupt;
    mine.sa_flags = SA_SIGINFO | (current.sa_flags & (SA_ONSTACK | SA_RESTART));
    sigemptyset(&mine.sa_mask);
    replaced = current;
    __atomic_store_n(&requested, 0, __ATOMIC_RELAXED);
    if (sigaction(SIGINT, &mine, NULL) != 0)
        return 0;
    watching = 1;
    return 1;
}

void fastprop_interrupt_unwatch(void)
{
    if (watching) {
        sigaction(SIGINT, &replaced, NULL);
        watching = 0;
    }
}

#else

int fastprop_interrupt_watch(void) { return 0; }
void fastprop_interrupt_unwatch(void) {}

#endif

int fastprop_interrupt_requested(void)
{
    return __atomic_load_n(&requested, __ATOMIC_RELAXED);
}
