/* Unit tests of the kernel transport (sockcheck/transport.h) on real socketpairs: wait's
 * three outcomes (ready 1, timed out 0, interrupted -EINTR, never mistaken for one
 * another), and sc_recv_fill over it retrying a wait a signal interrupted. The signal is
 * sent only once the waiting thread is seen in poll (sctest/interrupt.h); every wait is
 * bounded. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "sockcheck/error.h"
#include "sockcheck/msg.h"
#include "sockcheck/pair.h"
#include "sockcheck/transport.h"
#include "sctest/interrupt.h"

#define LIMIT_MS 5000

static void kernel_wait_ready_or_timed_out(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_STREAM, SC_PAIR_NONBLOCK, sv), 0);
  const sc_transport *k = sc_transport_kernel();
  assert_int_equal(k->wait(k, sv[1], POLLIN, 0), 0);
  assert_int_equal(k->wait(k, sv[1], POLLIN, 10), 0);
  assert_int_equal(k->wait(k, sv[1], POLLOUT, 0), 1);
  assert_int_equal(write(sv[0], "x", 1), 1);
  assert_int_equal(k->wait(k, sv[1], POLLIN, -1), 1);
  sc_pair_close(sv);
}

/* What the interrupter does once the waiter is in poll and the signal has landed. */
typedef struct interrupter {
  pthread_t waiter;
  pid_t waiter_tid;
  int feed_fd; /* >= 0: once the waiter waits again, 4 bytes are written here */
  int err;     /* 0, or the -errno of the step that failed */
} interrupter;

static void *interrupter_main(void *p) {
  interrupter *in = p;
  in->err = sc_test_wait_in_syscall(in->waiter_tid, SYS_poll, SYS_ppoll, LIMIT_MS);
  if (in->err == 0) {
    in->err = sc_test_interrupt(in->waiter, LIMIT_MS);
  }
  if (in->err == 0 && in->feed_fd >= 0) {
    in->err = sc_test_wait_in_syscall(in->waiter_tid, SYS_poll, SYS_ppoll, LIMIT_MS);
    if (in->err == 0 && write(in->feed_fd, "late", 4) != 4) {
      in->err = SC_ERR(errno);
    }
  }
  return NULL;
}

static void start_interrupter(interrupter *in, pthread_t *th, int feed_fd) {
  in->waiter = pthread_self();
  in->waiter_tid = gettid();
  in->feed_fd = feed_fd;
  in->err = 0;
  assert_int_equal(pthread_create(th, NULL, interrupter_main, in), 0);
}

/* A signal during the wait: -EINTR, not "ready" and not "timed out" (the caller
 * decides to retry). */
static void kernel_wait_interrupted(void **state) {
  (void)state;
  struct sigaction old;
  assert_int_equal(sc_test_catch_sigusr1(&old), 0);
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_STREAM, SC_PAIR_NONBLOCK, sv), 0);
  const sc_transport *k = sc_transport_kernel();
  interrupter in;
  pthread_t th;
  start_interrupter(&in, &th, -1);
  int r = k->wait(k, sv[1], POLLIN, LIMIT_MS);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_int_equal(r, -EINTR);
  assert_int_equal(in.err, 0);
  sc_pair_close(sv);
  assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
}

/* sc_recv_fill on the kernel transport: a signal during its wait is retried with the
 * time left, and the bytes written afterwards are received. */
static void recv_fill_retries_interrupted_wait(void **state) {
  (void)state;
  struct sigaction old;
  assert_int_equal(sc_test_catch_sigusr1(&old), 0);
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_STREAM, SC_PAIR_NONBLOCK, sv), 0);
  interrupter in;
  pthread_t th;
  start_interrupter(&in, &th, sv[0]);
  char buf[4];
  struct iovec v = {.iov_base = buf, .iov_len = sizeof(buf)};
  size_t got = 99;
  ssize_t r = sc_recv_fill(sc_transport_kernel(), sv[1], &v, 1, LIMIT_MS, &got);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_int_equal(r, 4);
  assert_int_equal(in.err, 0);
  assert_int_equal(got, 4);
  assert_memory_equal(buf, "late", 4);
  sc_pair_close(sv);
  assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(kernel_wait_ready_or_timed_out),
      cmocka_unit_test(kernel_wait_interrupted),
      cmocka_unit_test(recv_fill_retries_interrupted_wait),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
