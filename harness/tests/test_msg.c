/* Unit tests for msg.c over the scripted fake transport: sc_send_all / sc_recv_msg /
 * sc_recv_fill through sctest/fake_transport.h (short transfers of k bytes, -EINTR,
 * -EAGAIN, errors, 0, waits, a fake clock), so every partial-I/O path and every
 * deadline is replayed without a kernel or a sleep. test_msg_kernel.c runs the same
 * calls on real socketpairs.
 * Behaviour IDs: SEND-2 (gather order), SEND-4 (control), SEND-E, RECV-2, RECV-4,
 * X-CTRUNC, X-PEERCLOSE, X-ZSEND. */
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
#include "sctest/fake_transport.h"

#define IOV(p, n) ((struct iovec){.iov_base = (void *)(p), .iov_len = (n)})

/* ---- the fake transport (sctest/fake_transport.h) ---- */

#define OUT_CAP 8192
#define MAX_STEPS 64
static unsigned char g_out[OUT_CAP];

/* The fake with io steps scripted and its sendmsg output in g_out. */
static void fake_setup(sc_fake *f, const sc_fake_step *io, size_t n) {
  sc_fake_init(f);
  sc_fake_script_io(f, io, n);
  f->out = g_out;
  f->out_cap = OUT_CAP;
}

static int io_calls(const sc_fake *f) {
  return (int)(sc_fake_count(f, SC_FAKE_SENDMSG) + sc_fake_count(f, SC_FAKE_RECVMSG));
}

/* The last recorded call of a kind (the test fails if there is none). */
static const sc_fake_rec *last_rec(const sc_fake *f, sc_fake_call call) {
  for (size_t i = f->ncalls; i > 0; i--) {
    if (f->recs[i - 1].call == call) {
      return &f->recs[i - 1];
    }
  }
  fail_msg("no call of kind %d recorded", (int)call);
  return NULL;
}

/* sendmsg calls that succeeded carrying control data; the index among sendmsg calls of the
 * first (-1 if none). */
static int control_calls(const sc_fake *f, int *first) {
  int n = 0;
  int idx = 0;
  *first = -1;
  for (size_t i = 0; i < f->ncalls; i++) {
    const sc_fake_rec *r = &f->recs[i];
    if (r->call != SC_FAKE_SENDMSG) {
      continue;
    }
    if (r->control != NULL && r->ret >= 0) {
      *first = *first < 0 ? idx : *first;
      n++;
    }
    idx++;
  }
  return n;
}

/* sendmsg calls with a msg_name, and with MSG_NOSIGNAL. */
static void name_nosignal_calls(const sc_fake *f, int *name, int *nosignal) {
  *name = 0;
  *nosignal = 0;
  for (size_t i = 0; i < f->ncalls; i++) {
    if (f->recs[i].call == SC_FAKE_SENDMSG) {
      *name += f->recs[i].name != NULL;
      *nosignal += (f->recs[i].flags & MSG_NOSIGNAL) != 0;
    }
  }
}

/* A 5-entry gather list with zero-length and NULL entries: "abc" "" "defgh" "ij". */
static const char *const CONCAT = "abcdefghij";
static void make_msg(struct msghdr *m, struct iovec *v) {
  v[0] = IOV("abc", 3);
  v[1] = IOV(NULL, 0);
  v[2] = IOV("defgh", 5);
  v[3] = IOV("xyz", 0);
  v[4] = IOV("ij", 2);
  memset(m, 0, sizeof(*m));
  m->msg_iov = v;
  m->msg_iovlen = 5;
}

/* ---- sc_send_all over the fake ---- */

/* SEND-2: output == concatenation of the iovecs, each byte once, whatever the
 * short-write schedule. */
static void send_all_short_writes_gather_order(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(1), SC_FAKE_STEP_BYTES(3), SC_FAKE_STEP_BYTES(2),
                            SC_FAKE_STEP_BYTES(1), SC_FAKE_STEP_BYTES(100)};
  sc_fake f;
  fake_setup(&f, s, 5);
  size_t sent = 99;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, &sent), 10);
  assert_int_equal(sent, 10);
  assert_int_equal(f.out_len, 10);
  assert_memory_equal(f.out, CONCAT, 10);
  assert_int_equal(io_calls(&f), 5);
}

/* SEND-2, exhaustive: every constant short-write size k from 1 to total. */
static void send_all_every_write_size(void **state) {
  (void)state;
  for (size_t k = 1; k <= 11; k++) {
    struct iovec v[5];
    struct msghdr m;
    make_msg(&m, v);
    sc_fake_step s[MAX_STEPS];
    for (size_t i = 0; i < MAX_STEPS; i++) {
      s[i] = SC_FAKE_STEP_BYTES(k);
    }
    sc_fake f;
    fake_setup(&f, s, MAX_STEPS);
    assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, NULL), 10);
    assert_int_equal(f.out_len, 10);
    assert_memory_equal(f.out, CONCAT, 10);
    assert_int_equal(io_calls(&f), (int)((10 + k - 1) / k));
  }
}

/* The caller's msghdr and iovec array are never written (memcmp against copies). */
static void send_all_leaves_caller_untouched(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof(ctl));
  m.msg_control = ctl;
  m.msg_controllen = sizeof(ctl);
  m.msg_flags = 0x5a5a;
  struct iovec vcopy[5];
  struct msghdr mcopy;
  memcpy(vcopy, v, sizeof(v));
  memcpy(&mcopy, &m, sizeof(m));
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(4), SC_FAKE_STEP_ERR(EINTR),
                            SC_FAKE_STEP_ERR(EAGAIN), SC_FAKE_STEP_BYTES(1), SC_FAKE_STEP_BYTES(2)};
  sc_fake f;
  fake_setup(&f, s, 5);
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, NULL), 10);
  assert_memory_equal(v, vcopy, sizeof(v));
  assert_memory_equal(&m, &mcopy, sizeof(m));
}

/* SEND-4: control goes with the first successful call only; a call that failed
 * with EINTR/EAGAIN did not send it, so the retry carries it again. */
static void send_all_control_once(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof(ctl));
  m.msg_control = ctl;
  m.msg_controllen = sizeof(ctl);
  const sc_fake_step s[] = {SC_FAKE_STEP_ERR(EINTR), SC_FAKE_STEP_ERR(EAGAIN),
                            SC_FAKE_STEP_BYTES(2),   SC_FAKE_STEP_BYTES(2),
                            SC_FAKE_STEP_BYTES(2),   SC_FAKE_STEP_BYTES(9)};
  sc_fake f;
  fake_setup(&f, s, 6);
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, 100, NULL), 10);
  int first = 0;
  assert_int_equal(control_calls(&f, &first), 1);
  assert_int_equal(first, 2);
  assert_memory_equal(f.out, CONCAT, 10);
}

/* msg_name goes with every call; MSG_NOSIGNAL is added to every call and the
 * caller's flags are kept. */
static void send_all_name_every_call_and_nosignal(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  struct sockaddr_storage name;
  memset(&name, 0, sizeof(name));
  m.msg_name = &name;
  m.msg_namelen = sizeof(name);
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(3), SC_FAKE_STEP_BYTES(3), SC_FAKE_STEP_BYTES(4)};
  sc_fake f;
  fake_setup(&f, s, 3);
  assert_int_equal(sc_send_all(&f.t, 3, &m, MSG_DONTROUTE, -1, NULL), 10);
  int named = 0;
  int nosignal = 0;
  name_nosignal_calls(&f, &named, &nosignal);
  assert_int_equal(named, 3);
  assert_int_equal(nosignal, 3);
  assert_true(last_rec(&f, SC_FAKE_SENDMSG)->flags & MSG_DONTROUTE);
}

static void send_all_retries_eintr(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step s[] = {SC_FAKE_STEP_ERR(EINTR), SC_FAKE_STEP_ERR(EINTR), SC_FAKE_STEP_BYTES(5),
                            SC_FAKE_STEP_ERR(EINTR), SC_FAKE_STEP_BYTES(5)};
  sc_fake f;
  fake_setup(&f, s, 5);
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, 0, NULL), 10);
  assert_memory_equal(f.out, CONCAT, 10);
  assert_int_equal(sc_fake_count(&f, SC_FAKE_WAIT), 0); /* EINTR never waits */
}

/* EAGAIN waits for POLLOUT with the caller's timeout, then retries. */
static void send_all_eagain_waits_pollout(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(4), SC_FAKE_STEP_ERR(EAGAIN),
                            SC_FAKE_STEP_ERR(EWOULDBLOCK), SC_FAKE_STEP_BYTES(6)};
  sc_fake f;
  fake_setup(&f, s, 4);
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, 250, NULL), 10);
  assert_int_equal(sc_fake_count(&f, SC_FAKE_WAIT), 2);
  assert_int_equal(last_rec(&f, SC_FAKE_WAIT)->events, POLLOUT);
  assert_int_equal(last_rec(&f, SC_FAKE_WAIT)->timeout_ms, 250);
  assert_memory_equal(f.out, CONCAT, 10);
}

/* timeout 0: -EAGAIN at once, *sent holds what went before. */
static void send_all_eagain_timeout_zero(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(4), SC_FAKE_STEP_ERR(EAGAIN), SC_FAKE_STEP_BYTES(6)};
  sc_fake f;
  fake_setup(&f, s, 3);
  size_t sent = 0;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, 0, &sent), -EAGAIN);
  assert_int_equal(sent, 4);
  assert_int_equal(sc_fake_count(&f, SC_FAKE_WAIT), 0);
}

/* A wait that expires: -ETIMEDOUT, *sent correct. */
static void send_all_wait_timeout(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(7), SC_FAKE_STEP_ERR(EAGAIN)};
  sc_fake f;
  fake_setup(&f, s, 2);
  const sc_fake_step timed_out[] = {SC_FAKE_STEP_TIMEOUT};
  sc_fake_script_waits(&f, timed_out, 1);
  size_t sent = 0;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, 10, &sent), -ETIMEDOUT);
  assert_int_equal(sent, 7);
  assert_memory_equal(f.out, CONCAT, 7);
}

/* A wait interrupted by a signal is retried; a failed wait is returned. */
static void send_all_wait_eintr_and_error(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step s[] = {SC_FAKE_STEP_ERR(EAGAIN), SC_FAKE_STEP_BYTES(10)};
  sc_fake f;
  fake_setup(&f, s, 2);
  const sc_fake_step eintr_ready[] = {SC_FAKE_STEP_ERR(EINTR), SC_FAKE_STEP_READY(0)};
  sc_fake_script_waits(&f, eintr_ready, 2);
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, NULL), 10);
  assert_int_equal(sc_fake_count(&f, SC_FAKE_WAIT), 2);

  fake_setup(&f, s, 2);
  const sc_fake_step ebadf[] = {SC_FAKE_STEP_ERR(EBADF)};
  sc_fake_script_waits(&f, ebadf, 1);
  size_t sent = 9;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, &sent), -EBADF);
  assert_int_equal(sent, 0);
}

/* An error after a partial write: the error is returned, *sent counts the
 * bytes already gone (SEND-E EPIPE after some bytes). */
static void send_all_error_after_partial(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(3), SC_FAKE_STEP_BYTES(2), SC_FAKE_STEP_ERR(EPIPE)};
  sc_fake f;
  fake_setup(&f, s, 3);
  size_t sent = 0;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, &sent), -EPIPE);
  assert_int_equal(sent, 5);
  assert_int_equal(io_calls(&f), 3);
}

/* sendmsg returning 0 for a nonzero remainder never loops forever. */
static void send_all_zero_progress_terminates(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(2), SC_FAKE_STEP_BYTES(0), SC_FAKE_STEP_BYTES(0),
                            SC_FAKE_STEP_BYTES(0)};
  sc_fake f;
  fake_setup(&f, s, 4);
  size_t sent = 0;
  ssize_t r = sc_send_all(&f.t, 3, &m, 0, -1, &sent);
  assert_true(r < 0);
  assert_int_equal(sent, 2);
  assert_true(io_calls(&f) <= 4);
}

/* The same with one byte left: a zero return is no progress whatever the remainder, so the
 * call fails at once instead of asking again. */
static void send_all_zero_progress_on_last_byte(void **state) {
  (void)state;
  struct iovec v = IOV("abc", 3);
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(2), SC_FAKE_STEP_BYTES(0)};
  sc_fake f;
  fake_setup(&f, s, 2);
  size_t sent = 0;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, &sent), -EIO);
  assert_int_equal(sent, 2);
  assert_int_equal(io_calls(&f), 2);
}

/* A transport that claims more than it was offered is an error, not an overrun. */
static void send_all_overclaim_is_error(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(8), SC_FAKE_STEP_CLAIM(3)};
  sc_fake f;
  fake_setup(&f, s, 2);
  size_t sent = 0;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, &sent), -EIO);
  assert_int_equal(sent, 8);
}

/* X-IOVMAX / SEND-E: more than SC_IOV_MAX iovecs -> -EMSGSIZE without a call;
 * exactly SC_IOV_MAX is sent. */
static void send_all_iov_max(void **state) {
  (void)state;
  static struct iovec v[SC_IOV_MAX + 1];
  static char bytes[SC_IOV_MAX + 1];
  for (size_t i = 0; i <= SC_IOV_MAX; i++) {
    bytes[i] = (char)('a' + i % 26);
    v[i] = IOV(&bytes[i], 1);
  }
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_iov = v;
  m.msg_iovlen = SC_IOV_MAX + 1;
  sc_fake f;
  fake_setup(&f, NULL, 0);
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, NULL), -EMSGSIZE);
  assert_int_equal(io_calls(&f), 0);
  m.msg_iovlen = SC_IOV_MAX;
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(1000), SC_FAKE_STEP_BYTES(7),
                            SC_FAKE_STEP_BYTES(17)};
  fake_setup(&f, s, 3);
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, NULL), SC_IOV_MAX);
  assert_memory_equal(f.out, bytes, SC_IOV_MAX);
}

/* SEND-E: a total above SSIZE_MAX -> -EINVAL before any call. */
static void send_all_total_too_large(void **state) {
  (void)state;
  struct iovec v[] = {IOV(NULL, (size_t)SSIZE_MAX), IOV(NULL, 1)};
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_iov = v;
  m.msg_iovlen = 2;
  sc_fake f;
  fake_setup(&f, NULL, 0);
  size_t sent = 5;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, &sent), -EINVAL);
  assert_int_equal(sent, 0);
  assert_int_equal(io_calls(&f), 0);
}

static void send_all_bad_arguments(void **state) {
  (void)state;
  sc_fake f;
  fake_setup(&f, NULL, 0);
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  assert_int_equal(sc_send_all(&f.t, 3, NULL, 0, -1, NULL), -EFAULT);
  assert_int_equal(sc_send_all(NULL, 3, &m, 0, -1, NULL), -EINVAL);
  m.msg_iovlen = 2; /* NULL msg_iov with entries: EFAULT as the kernel says */
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, NULL), -EFAULT);
  assert_int_equal(io_calls(&f), 0);
}

/* X-ZSEND: an empty message is one call (an empty datagram is a message). */
static void send_all_empty_message_one_call(void **state) {
  (void)state;
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  sc_fake f;
  fake_setup(&f, NULL, 0);
  size_t sent = 3;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, &sent), 0);
  assert_int_equal(sent, 0);
  assert_int_equal(io_calls(&f), 1);
}

/* X-ZSEND, SEND-4: an empty message (or control alone) interrupted by EINTR or
 * EAGAIN is retried until one call succeeds: it must not report success unsent.
 * Found by fuzz_sendall (corpus/regressions/sendall/empty_message_*). */
static void send_all_empty_message_retried_after_eintr_eagain(void **state) {
  (void)state;
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof(ctl));
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_control = ctl;
  m.msg_controllen = sizeof(ctl);
  sc_fake f;
  const sc_fake_step steps[] = {SC_FAKE_STEP_ERR(EINTR), SC_FAKE_STEP_ERR(EAGAIN),
                                SC_FAKE_STEP_BYTES(0)};
  fake_setup(&f, steps, 3);
  size_t sent = 3;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, &sent), 0);
  assert_int_equal(sent, 0);
  assert_int_equal(io_calls(&f), 3);
  int first = 0;
  assert_int_equal(control_calls(&f, &first), 1);
}

/* ---- deadlines: timeout_ms bounds the whole call on the transport's clock ---- */

/* Asserts that no call but the first started at or after the deadline, and returns the
 * number of calls. */
static size_t assert_none_after(const sc_fake *f, long long deadline) {
  for (size_t i = 1; i < f->ncalls; i++) {
    if (f->recs[i].at_ms >= deadline) {
      fail_msg("call %zu started at %lld, deadline %lld", i, f->recs[i].at_ms, deadline);
    }
  }
  return f->ncalls;
}

/* EINTR and waits, each well under the 100 ms timeout, together reach it: the call ends with
 * -ETIMEDOUT, every wait was given only the time left, and nothing is called at or after
 * the deadline. (The old per-wait timeout gave each wait 100 ms again and succeeded.) */
static void send_all_deadline_spans_eintr_and_waits(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step io[] = {SC_FAKE_STEP_BYTES(2), SC_FAKE_SLOW(SC_FAKE_STEP_ERR(EINTR), 30),
                             SC_FAKE_STEP_ERR(EAGAIN), SC_FAKE_SLOW(SC_FAKE_STEP_ERR(EINTR), 20),
                             SC_FAKE_STEP_ERR(EAGAIN)};
  const sc_fake_step waits[] = {SC_FAKE_STEP_READY(40), SC_FAKE_STEP_READY(10)};
  sc_fake f;
  fake_setup(&f, io, 5);
  sc_fake_script_waits(&f, waits, 2);
  size_t sent = 0;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, 100, &sent), -ETIMEDOUT);
  assert_int_equal(sent, 2);
  assert_memory_equal(f.out, CONCAT, 2);
  assert_int_equal(assert_none_after(&f, SC_FAKE_EPOCH + 100), 7);
  assert_int_equal(f.recs[3].timeout_ms, 70);
  assert_int_equal(f.recs[6].timeout_ms, 10);
}

/* The same schedule for sc_recv_fill: -ETIMEDOUT with the two bytes received counted. */
static void recv_fill_deadline_spans_eintr_and_waits(void **state) {
  (void)state;
  const unsigned char *src = (const unsigned char *)"0123456789";
  const sc_fake_step io[] = {SC_FAKE_STEP_BYTES(2), SC_FAKE_SLOW(SC_FAKE_STEP_ERR(EINTR), 30),
                             SC_FAKE_STEP_ERR(EAGAIN), SC_FAKE_SLOW(SC_FAKE_STEP_ERR(EINTR), 20),
                             SC_FAKE_STEP_ERR(EAGAIN)};
  const sc_fake_step waits[] = {SC_FAKE_STEP_READY(40), SC_FAKE_STEP_READY(10)};
  sc_fake f;
  fake_setup(&f, io, 5);
  sc_fake_script_waits(&f, waits, 2);
  f.in = src;
  f.in_len = 10;
  char buf[10];
  memset(buf, '#', sizeof(buf));
  struct iovec v = IOV(buf, sizeof(buf));
  size_t got = 0;
  assert_int_equal(sc_recv_fill(&f.t, 3, &v, 1, 100, &got), -ETIMEDOUT);
  assert_int_equal(got, 2);
  assert_memory_equal(buf, "01########", 10);
  assert_int_equal(assert_none_after(&f, SC_FAKE_EPOCH + 100), 7);
  assert_int_equal(f.recs[3].timeout_ms, 70);
  assert_int_equal(f.recs[6].timeout_ms, 10);
}

/* Time lost to EINTR alone (no wait at all) ends the call; so does a slow short write, and
 * an interrupted wait is resumed with the time left. */
static void deadline_eintr_slow_calls_and_interrupted_waits(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step storm[] = {SC_FAKE_SLOW(SC_FAKE_STEP_ERR(EINTR), 20),
                                SC_FAKE_SLOW(SC_FAKE_STEP_ERR(EINTR), 20),
                                SC_FAKE_SLOW(SC_FAKE_STEP_ERR(EINTR), 20)};
  sc_fake f;
  fake_setup(&f, storm, 3);
  size_t sent = 9;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, 50, &sent), -ETIMEDOUT);
  assert_int_equal(sent, 0);
  assert_int_equal(assert_none_after(&f, SC_FAKE_EPOCH + 50), 3);

  const sc_fake_step slow[] = {SC_FAKE_SLOW(SC_FAKE_STEP_BYTES(4), 50)};
  fake_setup(&f, slow, 1);
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, 50, &sent), -ETIMEDOUT);
  assert_int_equal(sent, 4);
  assert_int_equal(f.ncalls, 1);

  const sc_fake_step again[] = {SC_FAKE_STEP_ERR(EAGAIN)};
  const sc_fake_step waits[] = {SC_FAKE_SLOW(SC_FAKE_STEP_ERR(EINTR), 15),
                                SC_FAKE_SLOW(SC_FAKE_STEP_ERR(EINTR), 15), SC_FAKE_STEP_TIMEOUT};
  fake_setup(&f, again, 1);
  sc_fake_script_waits(&f, waits, 3);
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, 40, &sent), -ETIMEDOUT);
  assert_int_equal(f.ncalls, 4);
  assert_int_equal(f.recs[1].timeout_ms, 40);
  assert_int_equal(f.recs[2].timeout_ms, 25);
  assert_int_equal(f.recs[3].timeout_ms, 10);
  assert_int_equal(f.now, SC_FAKE_EPOCH + 40);
}

/* A wait interrupted (EINTR) just as the deadline passes is not resumed: the call ends
 * with -ETIMEDOUT, with nothing called after it. */
static void deadline_interrupted_wait_at_the_deadline(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step again[] = {SC_FAKE_STEP_ERR(EAGAIN)};
  const sc_fake_step waits[] = {SC_FAKE_SLOW(SC_FAKE_STEP_ERR(EINTR), 40)};
  sc_fake f;
  fake_setup(&f, again, 1);
  sc_fake_script_waits(&f, waits, 1);
  size_t sent = 9;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, 40, &sent), -ETIMEDOUT);
  assert_int_equal(sent, 0);
  assert_int_equal(f.ncalls, 2);
  assert_int_equal(f.recs[1].timeout_ms, 40);
}

/* A wait that reports a timeout ends the call even if the clock says time is left, and a
 * failed wait's error is returned: nothing is called after either. */
static void deadline_timed_out_or_failed_wait_ends_the_call(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step io[] = {SC_FAKE_STEP_BYTES(3), SC_FAKE_STEP_ERR(EAGAIN)};
  const sc_fake_step early[] = {{.act = SC_FAKE_TIMEOUT, .ms = 5}};
  sc_fake f;
  fake_setup(&f, io, 2);
  sc_fake_script_waits(&f, early, 1);
  size_t sent = 0;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, 1000, &sent), -ETIMEDOUT);
  assert_int_equal(sent, 3);
  assert_int_equal(f.ncalls, 3);
  assert_int_equal(f.recs[2].call, SC_FAKE_WAIT);

  const sc_fake_step failed[] = {SC_FAKE_STEP_ERR(ENOMEM)};
  fake_setup(&f, io, 2);
  sc_fake_script_waits(&f, failed, 1);
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, &sent), -ENOMEM);
  assert_int_equal(sent, 3);
  assert_int_equal(f.ncalls, 3);
}

/* timeout_ms == 1 is a deadline like any other: a call that finishes before the clock
 * moves succeeds, and a wait is given the 1 ms. */
static void deadline_of_one_ms(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step io[] = {SC_FAKE_STEP_BYTES(2), SC_FAKE_STEP_ERR(EAGAIN)};
  const sc_fake_step waits[] = {SC_FAKE_STEP_READY(0)};
  sc_fake f;
  fake_setup(&f, io, 2);
  sc_fake_script_waits(&f, waits, 1);
  size_t sent = 0;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, 1, &sent), 10);
  assert_int_equal(sent, 10);
  assert_memory_equal(f.out, CONCAT, 10);
  assert_int_equal(last_rec(&f, SC_FAKE_WAIT)->timeout_ms, 1);

  const unsigned char *src = (const unsigned char *)"0123456789";
  fake_setup(&f, io, 2);
  sc_fake_script_waits(&f, waits, 1);
  f.in = src;
  f.in_len = 10;
  char buf[10];
  struct iovec b = IOV(buf, sizeof(buf));
  size_t got = 0;
  assert_int_equal(sc_recv_fill(&f.t, 3, &b, 1, 1, &got), 10);
  assert_memory_equal(buf, src, 10);
  assert_int_equal(last_rec(&f, SC_FAKE_WAIT)->timeout_ms, 1);
}

/* timeout_ms < 0: no deadline, the clock is never read and every wait is unbounded. */
static void deadline_none_without_timeout(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step io[] = {SC_FAKE_SLOW(SC_FAKE_STEP_ERR(EINTR), 100000),
                             SC_FAKE_STEP_ERR(EAGAIN), SC_FAKE_STEP_ERR(EAGAIN)};
  const sc_fake_step waits[] = {SC_FAKE_STEP_READY(500000), SC_FAKE_STEP_READY(0)};
  sc_fake f;
  fake_setup(&f, io, 3);
  sc_fake_script_waits(&f, waits, 2);
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, -1, NULL), 10);
  assert_int_equal(f.clock_reads, 0);
  assert_int_equal(last_rec(&f, SC_FAKE_WAIT)->timeout_ms, -1);
  assert_memory_equal(f.out, CONCAT, 10);
}

/* A transport without now_ms: the library keeps the deadline on CLOCK_MONOTONIC itself. */
static void deadline_monotonic_clock_when_now_ms_is_null(void **state) {
  (void)state;
  struct iovec v[5];
  struct msghdr m;
  make_msg(&m, v);
  const sc_fake_step io[] = {SC_FAKE_STEP_BYTES(1), SC_FAKE_STEP_ERR(EAGAIN)};
  sc_fake f;
  fake_setup(&f, io, 2);
  f.t.now_ms = NULL;
  assert_int_equal(sc_send_all(&f.t, 3, &m, 0, 60000, NULL), 10);
  int given = last_rec(&f, SC_FAKE_WAIT)->timeout_ms;
  assert_true(given > 0 && given <= 60000);
  assert_int_equal(f.clock_reads, 0);
}

/* ---- sc_recv_msg / sc_recv_fill over the fake ---- */

static void recv_msg_retries_eintr(void **state) {
  (void)state;
  const unsigned char src[] = "hello";
  const sc_fake_step s[] = {SC_FAKE_STEP_ERR(EINTR), SC_FAKE_STEP_ERR(EINTR),
                            SC_FAKE_STEP_BYTES(5)};
  sc_fake f;
  fake_setup(&f, s, 3);
  f.in = src;
  f.in_len = 5;
  char buf[8];
  struct iovec v = IOV(buf, sizeof(buf));
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  assert_int_equal(sc_recv_msg(&f.t, 3, &m, 0), 5);
  assert_memory_equal(buf, "hello", 5);
  assert_int_equal(io_calls(&f), 3);
}

static void recv_msg_passes_errors(void **state) {
  (void)state;
  const sc_fake_step s[] = {SC_FAKE_STEP_ERR(EAGAIN), SC_FAKE_STEP_ERR(ECONNRESET)};
  sc_fake f;
  fake_setup(&f, s, 2);
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  assert_int_equal(sc_recv_msg(&f.t, 3, &m, 0), -EAGAIN);
  assert_int_equal(sc_recv_msg(&f.t, 3, &m, 0), -ECONNRESET);
  assert_int_equal(sc_recv_msg(&f.t, 3, NULL, 0), -EFAULT);
  assert_int_equal(sc_recv_msg(NULL, 3, &m, 0), -EINVAL);
}

/* RECV-2: short reads fill the scatter list in order until it is full. */
static void recv_fill_short_reads(void **state) {
  (void)state;
  const unsigned char *src = (const unsigned char *)"0123456789";
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(1), SC_FAKE_STEP_ERR(EINTR),
                            SC_FAKE_STEP_BYTES(4), SC_FAKE_STEP_ERR(EAGAIN),
                            SC_FAKE_STEP_BYTES(2), SC_FAKE_STEP_BYTES(9)};
  sc_fake f;
  fake_setup(&f, s, 6);
  f.in = src;
  f.in_len = 10;
  char a[3], b[7];
  const struct iovec v[] = {IOV(a, 3), IOV(NULL, 0), IOV(b, 7)};
  struct iovec vcopy[3];
  memcpy(vcopy, v, sizeof(v));
  size_t got = 0;
  assert_int_equal(sc_recv_fill(&f.t, 3, v, 3, 500, &got), 10);
  assert_int_equal(got, 10);
  assert_memory_equal(a, "012", 3);
  assert_memory_equal(b, "3456789", 7);
  assert_memory_equal(v, vcopy, sizeof(v));
  assert_int_equal(last_rec(&f, SC_FAKE_WAIT)->events, POLLIN);
  assert_int_equal(last_rec(&f, SC_FAKE_WAIT)->timeout_ms, 500);
}

/* End of stream early: returns the bytes received, less than the total. */
static void recv_fill_eof_early(void **state) {
  (void)state;
  const unsigned char *src = (const unsigned char *)"abcd";
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(3), SC_FAKE_STEP_BYTES(1), SC_FAKE_STEP_BYTES(5)};
  sc_fake f;
  fake_setup(&f, s, 3);
  f.in = src;
  f.in_len = 4;
  char buf[10];
  struct iovec v = IOV(buf, sizeof(buf));
  size_t got = 0;
  assert_int_equal(sc_recv_fill(&f.t, 3, &v, 1, -1, &got), 4);
  assert_int_equal(got, 4);
  assert_memory_equal(buf, "abcd", 4);
}

static void recv_fill_errors_report_got(void **state) {
  (void)state;
  const unsigned char *src = (const unsigned char *)"abcdef";
  const sc_fake_step s[] = {SC_FAKE_STEP_BYTES(2), SC_FAKE_STEP_ERR(ECONNRESET)};
  sc_fake f;
  fake_setup(&f, s, 2);
  f.in = src;
  f.in_len = 6;
  char buf[6];
  struct iovec v = IOV(buf, sizeof(buf));
  size_t got = 0;
  assert_int_equal(sc_recv_fill(&f.t, 3, &v, 1, -1, &got), -ECONNRESET);
  assert_int_equal(got, 2);

  const sc_fake_step s2[] = {SC_FAKE_STEP_BYTES(1), SC_FAKE_STEP_ERR(EAGAIN)};
  fake_setup(&f, s2, 2);
  f.in = src;
  f.in_len = 6;
  assert_int_equal(sc_recv_fill(&f.t, 3, &v, 1, 0, &got), -EAGAIN);
  assert_int_equal(got, 1);

  fake_setup(&f, s2, 2);
  f.in = src;
  f.in_len = 6;
  const sc_fake_step timed_out[] = {SC_FAKE_STEP_TIMEOUT};
  sc_fake_script_waits(&f, timed_out, 1);
  assert_int_equal(sc_recv_fill(&f.t, 3, &v, 1, 5, &got), -ETIMEDOUT);
  assert_int_equal(got, 1);

  const sc_fake_step s3[] = {SC_FAKE_STEP_BYTES(1), SC_FAKE_STEP_CLAIM(6)};
  fake_setup(&f, s3, 2);
  f.in = src;
  f.in_len = 6;
  assert_int_equal(sc_recv_fill(&f.t, 3, &v, 1, 5, &got), -EIO);
  assert_int_equal(got, 1);
}

static void recv_fill_bad_arguments(void **state) {
  (void)state;
  sc_fake f;
  fake_setup(&f, NULL, 0);
  struct iovec v = IOV(NULL, 1);
  assert_int_equal(sc_recv_fill(&f.t, 3, &v, -1, 0, NULL), -EINVAL);
  assert_int_equal(sc_recv_fill(&f.t, 3, NULL, 1, 0, NULL), -EFAULT);
  assert_int_equal(sc_recv_fill(&f.t, 3, &v, SC_IOV_MAX + 1, 0, NULL), -EMSGSIZE);
  assert_int_equal(sc_recv_fill(NULL, 3, &v, 1, 0, NULL), -EINVAL);
  assert_int_equal(sc_recv_fill(&f.t, 3, NULL, 0, 0, NULL), 0);
  assert_int_equal(io_calls(&f), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(send_all_short_writes_gather_order),
      cmocka_unit_test(send_all_every_write_size),
      cmocka_unit_test(send_all_leaves_caller_untouched),
      cmocka_unit_test(send_all_control_once),
      cmocka_unit_test(send_all_name_every_call_and_nosignal),
      cmocka_unit_test(send_all_retries_eintr),
      cmocka_unit_test(send_all_eagain_waits_pollout),
      cmocka_unit_test(send_all_eagain_timeout_zero),
      cmocka_unit_test(send_all_wait_timeout),
      cmocka_unit_test(send_all_wait_eintr_and_error),
      cmocka_unit_test(send_all_error_after_partial),
      cmocka_unit_test(send_all_zero_progress_terminates),
      cmocka_unit_test(send_all_zero_progress_on_last_byte),
      cmocka_unit_test(send_all_overclaim_is_error),
      cmocka_unit_test(send_all_iov_max),
      cmocka_unit_test(send_all_total_too_large),
      cmocka_unit_test(send_all_bad_arguments),
      cmocka_unit_test(send_all_empty_message_one_call),
      cmocka_unit_test(send_all_empty_message_retried_after_eintr_eagain),
      cmocka_unit_test(send_all_deadline_spans_eintr_and_waits),
      cmocka_unit_test(recv_fill_deadline_spans_eintr_and_waits),
      cmocka_unit_test(deadline_eintr_slow_calls_and_interrupted_waits),
      cmocka_unit_test(deadline_interrupted_wait_at_the_deadline),
      cmocka_unit_test(deadline_timed_out_or_failed_wait_ends_the_call),
      cmocka_unit_test(deadline_of_one_ms),
      cmocka_unit_test(deadline_none_without_timeout),
      cmocka_unit_test(deadline_monotonic_clock_when_now_ms_is_null),
      cmocka_unit_test(recv_msg_retries_eintr),
      cmocka_unit_test(recv_msg_passes_errors),
      cmocka_unit_test(recv_fill_short_reads),
      cmocka_unit_test(recv_fill_eof_early),
      cmocka_unit_test(recv_fill_errors_report_got),
      cmocka_unit_test(recv_fill_bad_arguments),
  };
  return cmocka_run_group_tests_name("msg", tests, NULL, NULL);
}
