/* Ctrl-C inside a long training step. While fit's compiled loop runs without the GIL,
 * Python's own SIGINT handler only notes the signal, for the main thread to raise
 * KeyboardInterrupt when the loop returns: a step of seconds would keep the user waiting
 * for its end. For such steps (_steps.h, fastprop_interruption) the loop watches SIGINT
 * itself: fastprop_interrupt_watch puts a handler in front of the one in place (Python's)
 * that raises a flag and then calls it, so Python still raises KeyboardInterrupt when the
 * loop returns; the loop looks at the flag between pieces of its products, abandons the
 * step and puts back what the step had changed.
 *
 * watch and unwatch are called by the thread that holds Python's handler (the main
 * thread), with the GIL, around a run of the loop; fastprop_interrupt_requested by any
 * thread at any time. Where there is no POSIX sigaction, nothing is watched. */
#ifndef FASTPROP_INTERRUPT_H
#define FASTPROP_INTERRUPT_H

/* Start watching SIGINT; 1 if watching (call fastprop_interrupt_unwatch after), 0 if not:
 * already watching, or SIGINT's disposition is the default or ignored (no Python handler
 * to hand the signal on to), or no sigaction. The flag starts lowered. */
int fastprop_interrupt_watch(void);

/* Put back the handler watch replaced. */
void fastprop_interrupt_unwatch(void);

/* 1 once SIGINT arrived while watching, until the next watch. */
int fastprop_interrupt_requested(void);

#endif  /* FASTPROP_INTERRUPT_H */
