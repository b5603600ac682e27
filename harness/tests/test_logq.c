/* Unit tests of the server's bounded log queue (src/logq.h) over a fake transport whose
 * write and sendmsg results come from a schedule: short writes keep every byte, in
 * order; EAGAIN writes nothing and loses nothing; EINTR is retried (boundedly); a
 * failure gives the descriptor up, counting what was queued; a full queue drops lines,
 * counts them, and says so once there is room; a pipe is written at most PIPE_BUF bytes
 * at a time; a socket is sent with MSG_DONTWAIT | MSG_NOSIGNAL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "logq.h"

#define LOG_FD 7
#define MAX_STEPS 64

typedef struct fake {
  long results[MAX_STEPS]; /* per call: > 0 cap on bytes taken, 0 all, < 0 -errno */
  size_t nresults;
  size_t calls;
  size_t write_calls;
  size_t send_calls;
  int last_flags;
  size_t last_len;
  char out[8192];
  size_t out_len;
} fake;

static ssize_t take(fake *f, int fd, const char *p, size_t len) {
  assert_int_equal(fd, LOG_FD);
  f->last_len = len;
  long r = f->calls < f->nresults ? f->results[f->calls] : 0;
  f->calls++;
  if (r < 0) {
    return r;
  }
  size_t n = r > 0 && (size_t)r < len ? (size_t)r : len;
  assert_true(f->out_len + n <= sizeof(f->out));
  memcpy(f->out + f->out_len, p, n);
  f->out_len += n;
  return (ssize_t)n;
}

static ssize_t fake_write(const sc_transport *t, int fd, const void *buf, size_t len) {
  fake *f = t->ctx;
  f->write_calls++;
  return take(f, fd, buf, len);
}

static ssize_t fake_sendmsg(const sc_transport *t, int fd, const struct msghdr *m, int flags) {
  fake *f = t->ctx;
  f->send_calls++;
  f->last_flags = flags;
  assert_int_equal(m->msg_iovlen, 1);
  return take(f, fd, m->msg_iov[0].iov_base, m->msg_iov[0].iov_len);
}

static void setup(fake *f, sc_transport *t, sc__logq *q, sc__logq_mode mode, size_t cap,
                  const long *results, size_t n) {
  memset(f, 0, sizeof(*f));
  assert_true(n <= MAX_STEPS);
  memcpy(f->results, results, n * sizeof(*results));
  f->nresults = n;
  *t = (sc_transport){.sendmsg = fake_sendmsg, .write = fake_write, .ctx = f};
  assert_int_equal(sc__logq_init(q, t, LOG_FD, mode, cap), 0);
}

static void push(sc__logq *q, const char *line) {
  sc__logq_push(q, line, strlen(line));
}

/* Writes until the queue is empty or a write makes no progress. */
static void drain(sc__logq *q) {
  for (int i = 0; i < 100 && q->len > 0; i++) {
    if (sc__logq_write(q) <= 0) {
      return;
    }
  }
}

static void test_short_writes_keep_every_byte(void **state) {
  (void)state;
  static const long r[] = {1, 2, 3, 5, 1};
  fake f;
  sc_transport t;
  sc__logq q;
  setup(&f, &t, &q, SC__LOGQ_DIRECT, 256, r, 5);
  push(&q, "client a connected\n");
  push(&q, "client b connected\n");
  assert_int_equal(sc__logq_write(&q), 1);
  assert_int_equal(sc__logq_write(&q), 2);
  drain(&q);
  assert_int_equal(q.len, 0);
  assert_int_equal(f.out_len, 38);
  assert_memory_equal(f.out, "client a connected\nclient b connected\n", 38);
  assert_int_equal(q.dropped, 0);
  sc__logq_free(&q);
}

static void test_eagain_loses_nothing(void **state) {
  (void)state;
  static const long r[] = {-EAGAIN, 4, -EAGAIN, 0};
  fake f;
  sc_transport t;
  sc__logq q;
  setup(&f, &t, &q, SC__LOGQ_POLLED, 256, r, 4);
  push(&q, "line one\n");
  assert_int_equal(sc__logq_write(&q), 0); /* not now */
  assert_int_equal(q.len, 9);
  assert_int_equal(sc__logq_write(&q), 4);
  assert_int_equal(sc__logq_write(&q), 0);
  assert_int_equal(q.mode, SC__LOGQ_POLLED);
  assert_int_equal(sc__logq_write(&q), 5);
  assert_memory_equal(f.out, "line one\n", 9);
  assert_int_equal(q.dropped, 0);
  sc__logq_free(&q);
}

static void test_eintr_is_retried(void **state) {
  (void)state;
  static const long r[] = {-EINTR, -EINTR, 3, -EINTR, 0};
  fake f;
  sc_transport t;
  sc__logq q;
  setup(&f, &t, &q, SC__LOGQ_DIRECT, 256, r, 5);
  push(&q, "abcdef\n");
  assert_int_equal(sc__logq_write(&q), 3); /* two EINTRs retried within the call */
  assert_int_equal(sc__logq_write(&q), 4);
  assert_int_equal(f.calls, 5);
  assert_memory_equal(f.out, "abcdef\n", 7);
  sc__logq_free(&q);
}

static void test_endless_eintr_is_bounded(void **state) {
  (void)state;
  long r[MAX_STEPS];
  for (size_t i = 0; i < MAX_STEPS; i++) {
    r[i] = -EINTR;
  }
  fake f;
  sc_transport t;
  sc__logq q;
  setup(&f, &t, &q, SC__LOGQ_DIRECT, 256, r, MAX_STEPS);
  push(&q, "x\n");
  assert_int_equal(sc__logq_write(&q), 0); /* tried again later, not spun on */
  assert_true(f.calls > 1 && f.calls < MAX_STEPS);
  assert_int_equal(q.mode, SC__LOGQ_DIRECT);
  assert_int_equal(q.len, 2);
  sc__logq_free(&q);
  assert_int_equal(q.dropped, 1); /* freed with a line still queued */
}

static void test_failure_gives_up_and_counts(void **state) {
  (void)state;
  static const long r[] = {3, -EPIPE};
  fake f;
  sc_transport t;
  sc__logq q;
  setup(&f, &t, &q, SC__LOGQ_SOCKET, 256, r, 2);
  push(&q, "one\n");
  push(&q, "two\n");
  push(&q, "three\n");
  assert_int_equal(sc__logq_write(&q), 3);
  assert_int_equal(sc__logq_write(&q), -EPIPE);
  assert_int_equal(q.mode, SC__LOGQ_OFF);
  assert_int_equal(q.dropped, 3); /* the torn first line and the two queued */
  push(&q, "four\n");
  assert_int_equal(q.dropped, 4);
  assert_int_equal(sc__logq_write(&q), 0);
  assert_int_equal(f.calls, 2);
  sc__logq_free(&q);
}

static void test_full_queue_drops_then_notices(void **state) {
  (void)state;
  static const long r[] = {0, 0, 0};
  fake f;
  sc_transport t;
  sc__logq q;
  setup(&f, &t, &q, SC__LOGQ_DIRECT, 32, r, 3);
  push(&q, "0123456789abcdef\n"); /* 17 bytes */
  push(&q, "0123456789ABCDEF\n"); /* does not fit: dropped */
  push(&q, "short\n");            /* fits, but a drop is pending: dropped too */
  assert_int_equal(q.dropped, 2);
  assert_int_equal(q.lost, 2);
  assert_int_equal(sc__logq_write(&q), 17);
  /* After the write, the notice was queued: it comes before any new line. */
  push(&q, "next\n");
  drain(&q);
  static const char want[] = "0123456789abcdef\n2 log lines dropped\nnext\n";
  assert_int_equal(f.out_len, sizeof(want) - 1);
  assert_memory_equal(f.out, want, sizeof(want) - 1);
  assert_int_equal(q.dropped, 2);
  sc__logq_free(&q);
}

static void test_pipe_writes_at_most_pipe_buf(void **state) {
  (void)state;
  static const long r[] = {0, 0, 0};
  fake f;
  sc_transport t;
  sc__logq q;
  setup(&f, &t, &q, SC__LOGQ_POLLED, 2 * PIPE_BUF, r, 3);
  char line[128];
  memset(line, 'x', sizeof(line) - 1);
  line[sizeof(line) - 2] = '\n';
  line[sizeof(line) - 1] = '\0';
  size_t lines = (PIPE_BUF + PIPE_BUF / 2) / strlen(line);
  for (size_t i = 0; i < lines; i++) {
    push(&q, line);
  }
  size_t total = lines * strlen(line);
  assert_true(total > PIPE_BUF);
  assert_int_equal(sc__logq_write(&q), PIPE_BUF);
  assert_int_equal(f.last_len, PIPE_BUF);
  assert_int_equal(sc__logq_write(&q), (ssize_t)(total - PIPE_BUF));
  assert_int_equal(f.write_calls, 2);
  assert_int_equal(f.send_calls, 0);
  sc__logq_free(&q);
}

static void test_socket_is_sent_without_blocking_or_sigpipe(void **state) {
  (void)state;
  static const long r[] = {0};
  fake f;
  sc_transport t;
  sc__logq q;
  setup(&f, &t, &q, SC__LOGQ_SOCKET, 64, r, 1);
  push(&q, "hello\n");
  assert_int_equal(sc__logq_write(&q), 6);
  assert_int_equal(f.send_calls, 1);
  assert_int_equal(f.write_calls, 0);
  assert_int_equal(f.last_flags, MSG_DONTWAIT | MSG_NOSIGNAL);
  sc__logq_free(&q);
}

static void test_no_descriptor_is_off(void **state) {
  (void)state;
  sc__logq q;
  sc_transport t = {.ctx = NULL};
  assert_int_equal(sc__logq_init(&q, &t, -1, SC__LOGQ_POLLED, 64), 0);
  assert_int_equal(q.mode, SC__LOGQ_OFF);
  push(&q, "nobody reads this\n");
  assert_int_equal(q.dropped, 0); /* no log asked for: nothing counts as dropped */
  assert_int_equal(sc__logq_write(&q), 0);
  sc__logq_free(&q);
}

/* A line that fits the queue's free room only once the unwritten bytes move back to the
 * start of the buffer is queued whole, after them, in order. */
static void test_wrapped_room_is_reused(void **state) {
  (void)state;
  static const long r[] = {6, 0};
  fake f;
  sc_transport t;
  sc__logq q;
  setup(&f, &t, &q, SC__LOGQ_DIRECT, 16, r, 2);
  push(&q, "aaaaaaaaa\n");
  assert_int_equal(sc__logq_write(&q), 6); /* 4 bytes left, at offset 6 */
  push(&q, "bbbbbbbbb\n");                 /* 10 more: fits 16 only from offset 0 */
  assert_int_equal(q.len, 14);
  assert_int_equal(q.dropped, 0);
  drain(&q);
  assert_int_equal(f.out_len, 20);
  assert_memory_equal(f.out, "aaaaaaaaa\nbbbbbbbbb\n", 20);
  sc__logq_free(&q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_short_writes_keep_every_byte),
      cmocka_unit_test(test_eagain_loses_nothing),
      cmocka_unit_test(test_eintr_is_retried),
      cmocka_unit_test(test_wrapped_room_is_reused),
      cmocka_unit_test(test_endless_eintr_is_bounded),
      cmocka_unit_test(test_failure_gives_up_and_counts),
      cmocka_unit_test(test_full_queue_drops_then_notices),
      cmocka_unit_test(test_pipe_writes_at_most_pipe_buf),
      cmocka_unit_test(test_socket_is_sent_without_blocking_or_sigpipe),
      cmocka_unit_test(test_no_descriptor_is_off),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
