/* Unit tests for msg.c on real socketpairs (test_msg.c drives the same calls over the
 * scripted fake transport): partial writes against a reader thread, datagram
 * truncation, empty messages, SCM_RIGHTS round trips and MSG_CTRUNC, EPIPE without
 * SIGPIPE, sc_recv_fill's paths.
 * Behaviour IDs: SEND-2, SEND-4, RECV-2, RECV-4, X-CTRUNC, X-PEERCLOSE, X-ZSEND. */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "sockcheck/cmsg.h"
#include "sockcheck/error.h"
#include "sockcheck/iov.h"
#include "sockcheck/msg.h"
#include "sockcheck/pair.h"

#define IOV(p, n) ((struct iovec){.iov_base = (void *)(p), .iov_len = (n)})

/* ---- real kernel ---- */

typedef struct reader_arg {
  int fd;
  unsigned char *buf;
  size_t len;
  ssize_t ret;
} reader_arg;

static void *reader_main(void *p) {
  reader_arg *r = p;
  struct iovec v = IOV(r->buf, r->len);
  r->ret = sc_recv_fill(sc_transport_kernel(), r->fd, &v, 1, 10000, NULL);
  return NULL;
}

/* SEND-2 on a real stream: a small SO_SNDBUF and a nonblocking sender force
 * many short writes and EAGAIN waits; a reader thread checks every byte. */
static void kernel_stream_partial_writes(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_STREAM, SC_PAIR_NONBLOCK, sv), 0);
  int small = 4096;
  assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
  int fl = fcntl(sv[1], F_GETFL);
  assert_true(fl >= 0);
  assert_int_equal(fcntl(sv[1], F_SETFL, fl & ~O_NONBLOCK), 0);
  enum { N = 64, CHUNK = 4099, TOTAL = N * CHUNK };
  unsigned char *src = malloc(TOTAL);
  unsigned char *dst = malloc(TOTAL);
  assert_non_null(src);
  assert_non_null(dst);
  for (size_t i = 0; i < TOTAL; i++) {
    src[i] = (unsigned char)(i * 7 + i / 251);
  }
  struct iovec v[2 * N];
  for (size_t i = 0; i < N; i++) {
    v[2 * i] = IOV(src + i * CHUNK, CHUNK);
    v[2 * i + 1] = IOV(NULL, 0);
  }
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_iov = v;
  m.msg_iovlen = 2 * N;
  reader_arg r = {.fd = sv[1], .buf = dst, .len = TOTAL, .ret = -1};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
  size_t sent = 0;
  ssize_t n = sc_send_all(sc_transport_kernel(), sv[0], &m, 0, 10000, &sent);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_int_equal(n, TOTAL);
  assert_int_equal(sent, TOTAL);
  assert_int_equal(r.ret, TOTAL);
  assert_memory_equal(src, dst, TOTAL);
  free(src);
  free(dst);
  sc_pair_close(sv);
}

/* RECV-4: a datagram larger than the buffer returns the buffer's size with
 * MSG_TRUNC in msg_flags; with the MSG_TRUNC flag it returns the real length. */
static void kernel_dgram_msg_trunc(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_DGRAM, 0, sv), 0);
  char big[100];
  memset(big, 'q', sizeof(big));
  struct iovec sv_iov = IOV(big, sizeof(big));
  struct msghdr sm;
  memset(&sm, 0, sizeof(sm));
  sm.msg_iov = &sv_iov;
  sm.msg_iovlen = 1;
  const sc_transport *k = sc_transport_kernel();
  assert_int_equal(sc_send_all(k, sv[0], &sm, 0, 1000, NULL), 100);
  assert_int_equal(sc_send_all(k, sv[0], &sm, 0, 1000, NULL), 100);
  char small[10];
  struct iovec rv = IOV(small, sizeof(small));
  struct msghdr rm;
  memset(&rm, 0, sizeof(rm));
  rm.msg_iov = &rv;
  rm.msg_iovlen = 1;
  assert_int_equal(sc_recv_msg(k, sv[1], &rm, 0), 10);
  assert_true(rm.msg_flags & MSG_TRUNC);
  memset(&rm, 0, sizeof(rm));
  rm.msg_iov = &rv;
  rm.msg_iovlen = 1;
  assert_int_equal(sc_recv_msg(k, sv[1], &rm, MSG_TRUNC), 100);
  assert_true(rm.msg_flags & MSG_TRUNC);
  assert_memory_equal(small, big, 10);
  sc_pair_close(sv);
}

/* X-ZSEND: an empty message on a datagram pair is one empty datagram. */
static void kernel_dgram_empty_message(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_DGRAM, SC_PAIR_NONBLOCK, sv), 0);
  struct msghdr sm;
  memset(&sm, 0, sizeof(sm));
  const sc_transport *k = sc_transport_kernel();
  assert_int_equal(sc_send_all(k, sv[0], &sm, 0, 0, NULL), 0);
  char buf[4];
  struct iovec rv = IOV(buf, sizeof(buf));
  struct msghdr rm;
  memset(&rm, 0, sizeof(rm));
  rm.msg_iov = &rv;
  rm.msg_iovlen = 1;
  assert_int_equal(sc_recv_msg(k, sv[1], &rm, 0), 0);
  assert_int_equal(sc_recv_msg(k, sv[1], &rm, 0), -EAGAIN);
  sc_pair_close(sv);
}

/* Sends one byte with SCM_RIGHTS carrying fd over sv[0]. */
static void send_fd(int s, int fd) {
  char ctl[CMSG_SPACE(sizeof(int))];
  size_t used = 0;
  assert_int_equal(sc_cmsg_add_rights(ctl, sizeof(ctl), &used, &fd, 1), 0);
  struct iovec v = IOV("x", 1);
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = used;
  assert_int_equal(sc_send_all(sc_transport_kernel(), s, &m, 0, 1000, NULL), 1);
}

/* SEND-4: SCM_RIGHTS through the kernel; the received fd is the same open file
 * (same st_dev/st_ino), a different descriptor number. */
static void kernel_scm_rights_round_trip(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_STREAM, 0, sv), 0);
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  send_fd(sv[0], p[1]);
  char buf[4];
  struct iovec rv = IOV(buf, sizeof(buf));
  union {
    char b[CMSG_SPACE(4 * sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct msghdr rm;
  memset(&rm, 0, sizeof(rm));
  rm.msg_iov = &rv;
  rm.msg_iovlen = 1;
  rm.msg_control = ctl.b;
  rm.msg_controllen = sizeof(ctl.b);
  assert_int_equal(sc_recv_msg(sc_transport_kernel(), sv[1], &rm, MSG_CMSG_CLOEXEC), 1);
  assert_int_equal(rm.msg_flags & MSG_CTRUNC, 0);
  sc_cmsg_iter it;
  sc_cmsg_item item;
  sc_cmsg_iter_init(&it, rm.msg_control, rm.msg_controllen);
  assert_int_equal(sc_cmsg_next(&it, &item), 1);
  int fds[4];
  assert_int_equal(sc_cmsg_rights(&item, fds, 4), 1);
  assert_int_equal(sc_cmsg_next(&it, &item), 0);
  assert_int_not_equal(fds[0], p[1]);
  struct stat a, b;
  assert_int_equal(fstat(fds[0], &a), 0);
  assert_int_equal(fstat(p[1], &b), 0);
  assert_int_equal(a.st_dev, b.st_dev);
  assert_int_equal(a.st_ino, b.st_ino);
  /* The received end works: a byte written through it arrives in the pipe. */
  assert_int_equal(write(fds[0], "z", 1), 1);
  assert_int_equal(read(p[0], buf, 1), 1);
  assert_int_equal(buf[0], 'z');
  assert_int_equal(sc_cmsg_close_fds(rm.msg_control, rm.msg_controllen), 1);
  assert_int_equal(fcntl(fds[0], F_GETFD), -1);
  close(p[0]);
  close(p[1]);
  sc_pair_close(sv);
}

/* X-CTRUNC: fds sent, the receiver gives no control room (or too little): the
 * data arrives, MSG_CTRUNC is set, and no descriptor leaks. */
static void kernel_ctrunc(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_DGRAM, 0, sv), 0);
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  send_fd(sv[0], p[0]);
  send_fd(sv[0], p[0]);
  char buf[4];
  struct iovec rv = IOV(buf, sizeof(buf));
  struct msghdr rm;
  memset(&rm, 0, sizeof(rm));
  rm.msg_iov = &rv;
  rm.msg_iovlen = 1;
  assert_int_equal(sc_recv_msg(sc_transport_kernel(), sv[1], &rm, 0), 1);
  assert_int_equal(buf[0], 'x');
  assert_true(rm.msg_flags & MSG_CTRUNC);
  assert_int_equal(rm.msg_controllen, 0);
  /* Room for a header but not the fd. */
  union {
    char b[sizeof(struct cmsghdr)];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof(ctl));
  memset(&rm, 0, sizeof(rm));
  rm.msg_iov = &rv;
  rm.msg_iovlen = 1;
  rm.msg_control = ctl.b;
  rm.msg_controllen = sizeof(ctl.b);
  assert_int_equal(sc_recv_msg(sc_transport_kernel(), sv[1], &rm, 0), 1);
  assert_true(rm.msg_flags & MSG_CTRUNC);
  /* Whatever header the kernel wrote carries no whole descriptor. */
  assert_int_equal(sc_cmsg_close_fds(rm.msg_control, rm.msg_controllen), 0);
  close(p[0]);
  close(p[1]);
  sc_pair_close(sv);
}

/* X-PEERCLOSE / SEND-E: sending to a closed stream peer is -EPIPE, and the
 * process does not die of SIGPIPE (default disposition kept on purpose). */
static void kernel_epipe_no_sigpipe(void **state) {
  (void)state;
  assert_true(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_STREAM, 0, sv), 0);
  assert_int_equal(close(sv[1]), 0);
  sv[1] = -1;
  struct iovec v = IOV("data", 4);
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  size_t sent = 9;
  assert_int_equal(sc_send_all(sc_transport_kernel(), sv[0], &m, 0, 1000, &sent), -EPIPE);
  assert_int_equal(sent, 0);
  sc_pair_close(sv);
}

/* X-CMSG-E: SCM_RIGHTS naming a descriptor that is not open -> -EBADF. */
static void kernel_rights_bad_fd(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_STREAM, 0, sv), 0);
  int bad = 1 << 20;
  char ctl[CMSG_SPACE(sizeof(int))];
  size_t used = 0;
  assert_int_equal(sc_cmsg_add_rights(ctl, sizeof(ctl), &used, &bad, 1), 0);
  struct iovec v = IOV("x", 1);
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = used;
  assert_int_equal(sc_send_all(sc_transport_kernel(), sv[0], &m, 0, 1000, NULL), -EBADF);
  sc_pair_close(sv);
}

/* RECV-E / X-WAITALL: nothing queued, timeout 0 -> -EAGAIN; a short wait on an
 * empty queue -> -ETIMEDOUT; a closed peer mid-fill -> the partial count. */
static void kernel_recv_fill_paths(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_STREAM, SC_PAIR_NONBLOCK, sv), 0);
  const sc_transport *k = sc_transport_kernel();
  char buf[8];
  struct iovec v = IOV(buf, sizeof(buf));
  size_t got = 9;
  assert_int_equal(sc_recv_fill(k, sv[1], &v, 1, 0, &got), -EAGAIN);
  assert_int_equal(got, 0);
  assert_int_equal(sc_recv_fill(k, sv[1], &v, 1, 20, &got), -ETIMEDOUT);
  assert_int_equal(write(sv[0], "abc", 3), 3);
  assert_int_equal(close(sv[0]), 0);
  sv[0] = -1;
  assert_int_equal(sc_recv_fill(k, sv[1], &v, 1, 1000, &got), 3);
  assert_int_equal(got, 3);
  assert_memory_equal(buf, "abc", 3);
  sc_pair_close(sv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(kernel_stream_partial_writes),
      cmocka_unit_test(kernel_dgram_msg_trunc),
      cmocka_unit_test(kernel_dgram_empty_message),
      cmocka_unit_test(kernel_scm_rights_round_trip),
      cmocka_unit_test(kernel_ctrunc),
      cmocka_unit_test(kernel_epipe_no_sigpipe),
      cmocka_unit_test(kernel_rights_bad_fd),
      cmocka_unit_test(kernel_recv_fill_paths),
  };
  return cmocka_run_group_tests_name("msg_kernel", tests, NULL, NULL);
}
