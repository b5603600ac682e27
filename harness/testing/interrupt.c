/* Signals landing in a blocking call (see sctest/interrupt.h). */
#include "sctest/interrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_sigusr1(int sig) {
  (void)sig;
  handled = handled + 1;
}

int sc_test_catch_sigusr1(struct sigaction *old) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_sigusr1;
  (void)sigemptyset(&sa.sa_mask);
  return sigaction(SIGUSR1, &sa, old) == 0 ? 0 : -errno;
}

/* The system call tid is in: 0 with *nr set, 1 if it is running, -ESRCH if gone. */
static int current_syscall(pid_t tid, long *nr) {
  char path[64];
  (void)snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -ESRCH;
  }
  char buf[256];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  (void)close(fd);
  if (n <= 0) {
    return -ESRCH;
  }
  buf[n] = '\0';
  char *end = NULL;
  *nr = strtol(buf, &end, 10);
  return end == buf ? 1 : 0; /* "running" */
}

int sc_test_wait_in_syscall(pid_t tid, long a, long b, int limit_ms) {
  for (int ms = 0; ms <= limit_ms; ms++) {
    long nr = -1;
    int r = current_syscall(tid, &nr);
    if (r < 0) {
      return r;
    }
    if (r == 0 && (nr == a || nr == b)) {
      return 0;
    }
    (void)poll(NULL, 0, 1);
  }
  return -ETIMEDOUT;
}

int sc_test_interrupt(pthread_t th, int limit_ms) {
  sig_atomic_t before = handled;
  int e = pthread_kill(th, SIGUSR1);
  if (e != 0) {
    return -e;
  }
  for (int ms = 0; ms <= limit_ms && handled == before; ms++) {
    (void)poll(NULL, 0, 1); /* EINTR if the handler runs on this thread's time: fine */
  }
  return handled != before ? 0 : -ETIMEDOUT;
}
