/* Signals landing in a blocking call, deterministically, for the tests of EINTR paths on
 * the real kernel: wait until a thread is in the system call (/proc/self/task/TID/syscall:
 * a thread in a call is asleep in it or about to be, so a signal sent then interrupts
 * it), then send SIGUSR1, whose handler only counts, and wait until the handler has run
 * (the call has returned EINTR by then: poll, ppoll and epoll_wait are never restarted,
 * signal(7)). Every wait is bounded by limit_ms. */
#ifndef SCTEST_INTERRUPT_H
#define SCTEST_INTERRUPT_H

#include <pthread.h>
#include <signal.h>
#include <sys/types.h>

/* Installs the counting SIGUSR1 handler (no SA_RESTART); the previous action in *old. */
int sc_test_catch_sigusr1(struct sigaction *old);

/* Waits until thread tid of this process is in system call a or b. Returns 0, -ESRCH if
 * the thread is gone, -ETIMEDOUT after limit_ms. */
int sc_test_wait_in_syscall(pid_t tid, long a, long b, int limit_ms);

/* Sends SIGUSR1 to th and waits until the handler has run. Returns 0, -ETIMEDOUT after
 * limit_ms, or pthread_kill's -errno. */
int sc_test_interrupt(pthread_t th, int limit_ms);

#endif
