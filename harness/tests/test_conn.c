/* Unit tests of the per-connection state machine (sockcheck/conn.h): SRV-3
 * (exactly one "ok" per received chunk) and SRV-4 (clean end on EOF or error),
 * with bounded memory (backpressure). No sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sockcheck/conn.h"
#include "sockcheck/error.h"

/* Drains everything owed, at most `step` bytes per write, appending to out. */
static size_t drain(sc_conn *c, size_t step, char *out, size_t cap) {
  size_t total = 0;
  for (int guard = 0; guard < 100000 && sc_conn_want_write(c); guard++) {
    const char *p = NULL;
    size_t n = sc_conn_out(c, &p);
    assert_true(n > 0);
    assert_non_null(p);
    if (n > step) {
      n = step;
    }
    assert_true(total + n <= cap);
    memcpy(out + total, p, n);
    total += n;
    sc_conn_on_sent(c, n);
  }
  return total;
}

static void assert_oks(const char *buf, size_t len, size_t replies) {
  assert_int_equal(len, replies * SC_CONN_REPLY_LEN);
  for (size_t i = 0; i < replies; i++) {
    assert_memory_equal(buf + i * SC_CONN_REPLY_LEN, SC_CONN_REPLY, SC_CONN_REPLY_LEN);
  }
}

static void test_init(void **state) {
  (void)state;
  sc_conn c;
  sc_conn_init(&c, 64);
  assert_int_equal(c.state, SC_CONN_OPEN);
  assert_true(sc_conn_want_read(&c));
  assert_false(sc_conn_want_write(&c));
  const char *p = NULL;
  assert_int_equal(sc_conn_out(&c, &p), 0);
  /* A limit below one reply is raised to one reply, so reading is possible. */
  sc_conn_init(&c, 0);
  assert_true(sc_conn_want_read(&c));
}

static void test_one_ok_per_chunk(void **state) {
  (void)state;
  sc_conn c;
  sc_conn_init(&c, 1 << 20);
  static const size_t sizes[] = {1, 2, 1024, 77, 171, 65536, 3};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    assert_int_equal(sc_conn_on_recv(&c, sizes[i]), 0);
    char out[16];
    size_t n = drain(&c, SIZE_MAX, out, sizeof(out));
    assert_oks(out, n, 1);
  }
  assert_int_equal(c.chunks_in, 7);
  assert_int_equal(c.bytes_out, 14);
  assert_int_equal(c.bytes_in, 1 + 2 + 1024 + 77 + 171 + 65536 + 3);
}

static void test_many_chunks_then_drain(void **state) {
  (void)state;
  sc_conn c;
  sc_conn_init(&c, 1 << 20);
  enum { N = 5000 };
  for (int i = 0; i < N; i++) {
    assert_true(sc_conn_want_read(&c));
    assert_int_equal(sc_conn_on_recv(&c, (size_t)(i % 300) + 1), 0);
  }
  static char out[2 * N];
  size_t n = drain(&c, SIZE_MAX, out, sizeof(out));
  assert_oks(out, n, N);
}

/* Short writes of every size 1..7: the run of replies stays "okok..." even when
 * a write ends in the middle of a reply (the next byte owed is then 'k'). */
static void test_odd_partial_writes(void **state) {
  (void)state;
  for (size_t step = 1; step <= 7; step++) {
    sc_conn c;
    sc_conn_init(&c, 1 << 16);
    for (int i = 0; i < 9; i++) {
      assert_int_equal(sc_conn_on_recv(&c, 10), 0);
    }
    char out[64];
    size_t n = drain(&c, step, out, sizeof(out));
    assert_oks(out, n, 9);
  }
  sc_conn c;
  sc_conn_init(&c, 64);
  assert_int_equal(sc_conn_on_recv(&c, 5), 0);
  const char *p = NULL;
  sc_conn_on_sent(&c, 1);
  assert_int_equal(sc_conn_out(&c, &p), 1);
  assert_int_equal(p[0], 'k');
  /* A new reply owed after half of one: "k" then "ok". */
  assert_int_equal(sc_conn_on_recv(&c, 5), 0);
  assert_int_equal(sc_conn_out(&c, &p), 3);
  assert_memory_equal(p, "kok", 3);
}

static void test_sent_clamped(void **state) {
  (void)state;
  sc_conn c;
  sc_conn_init(&c, 64);
  assert_int_equal(sc_conn_on_recv(&c, 1), 0);
  sc_conn_on_sent(&c, 1000);
  assert_int_equal(c.out_pending, 0);
  assert_int_equal(c.bytes_out, 2);
  assert_false(sc_conn_want_write(&c));
}

/* Backpressure: a peer that never reads can make the server owe at most
 * out_limit bytes; reading pauses until replies are written. */
static void test_backpressure_bound(void **state) {
  (void)state;
  sc_conn c;
  sc_conn_init(&c, 10);
  int reads = 0;
  while (sc_conn_want_read(&c) && reads < 1000) {
    assert_int_equal(sc_conn_on_recv(&c, 100), 0);
    reads++;
  }
  assert_int_equal(reads, 5);
  assert_int_equal(c.out_pending, 10);
  assert_true(c.out_pending <= c.out_limit);
  assert_true(sc_conn_want_write(&c));
  sc_conn_on_sent(&c, 1);
  assert_false(sc_conn_want_read(&c)); /* 9 owed: one more reply would exceed 10 */
  sc_conn_on_sent(&c, 1);
  assert_true(sc_conn_want_read(&c));
  /* An odd limit: owed never exceeds it either. */
  sc_conn_init(&c, 5);
  reads = 0;
  while (sc_conn_want_read(&c) && reads < 1000) {
    assert_int_equal(sc_conn_on_recv(&c, 1), 0);
    reads++;
  }
  assert_int_equal(reads, 2);
  assert_true(c.out_pending <= 5);
}

static void test_eof_drains_then_closes(void **state) {
  (void)state;
  sc_conn c;
  sc_conn_init(&c, 64);
  assert_int_equal(sc_conn_on_recv(&c, 3), 0);
  assert_int_equal(sc_conn_on_recv(&c, 3), 0);
  assert_int_equal(sc_conn_on_recv(&c, 0), 0);
  assert_int_equal(c.state, SC_CONN_DRAINING);
  assert_false(sc_conn_want_read(&c));
  assert_true(sc_conn_want_write(&c));
  sc_conn_on_sent(&c, 3);
  assert_int_equal(c.state, SC_CONN_DRAINING);
  char out[8];
  size_t n = drain(&c, SIZE_MAX, out + 3, sizeof(out) - 3);
  assert_int_equal(n, 1);
  assert_int_equal(out[3], 'k');
  assert_int_equal(c.state, SC_CONN_CLOSED);
  assert_int_equal(c.bytes_out, 4);
}

static void test_eof_with_nothing_owed(void **state) {
  (void)state;
  sc_conn c;
  sc_conn_init(&c, 64);
  assert_int_equal(sc_conn_on_recv(&c, 0), 0);
  assert_int_equal(c.state, SC_CONN_CLOSED);
  assert_false(sc_conn_want_read(&c));
  assert_false(sc_conn_want_write(&c));
}

static void test_error_closes_and_drops(void **state) {
  (void)state;
  sc_conn c;
  sc_conn_init(&c, 64);
  assert_int_equal(sc_conn_on_recv(&c, 3), 0);
  sc_conn_on_error(&c);
  assert_int_equal(c.state, SC_CONN_CLOSED);
  assert_false(sc_conn_want_write(&c));
  assert_false(sc_conn_want_read(&c));
  const char *p = NULL;
  assert_int_equal(sc_conn_out(&c, &p), 0);
  /* Error while draining closes too. */
  sc_conn_init(&c, 64);
  assert_int_equal(sc_conn_on_recv(&c, 3), 0);
  assert_int_equal(sc_conn_on_recv(&c, 0), 0);
  sc_conn_on_error(&c);
  assert_int_equal(c.state, SC_CONN_CLOSED);
  assert_int_equal(c.out_pending, 0);
}

static void test_eproto_after_close(void **state) {
  (void)state;
  sc_conn c;
  sc_conn_init(&c, 64);
  assert_int_equal(sc_conn_on_recv(&c, 1), 0);
  assert_int_equal(sc_conn_on_recv(&c, 0), 0);
  sc_conn before = c;
  /* DRAINING: no more input accepted, state unchanged. */
  assert_int_equal(sc_conn_on_recv(&c, 1), -EPROTO);
  assert_int_equal(sc_conn_on_recv(&c, 0), -EPROTO);
  assert_memory_equal(&before, &c, sizeof(c));
  sc_conn_on_sent(&c, 2);
  assert_int_equal(c.state, SC_CONN_CLOSED);
  before = c;
  assert_int_equal(sc_conn_on_recv(&c, 5), -EPROTO);
  assert_memory_equal(&before, &c, sizeof(c));
  sc_conn_init(&c, 64);
  sc_conn_on_error(&c);
  assert_int_equal(sc_conn_on_recv(&c, 5), -EPROTO);
}

/* Each call changes only the fields it owns (conn.c copies the struct in and out): the
 * limit and the counters survive EOF, writes and an error, and a refused call leaves the
 * connection byte for byte as it was. */
static void assert_fields(const sc_conn *c, size_t limit, size_t chunks, size_t in, size_t out) {
  assert_int_equal(c->out_limit, limit);
  assert_int_equal(c->chunks_in, chunks);
  assert_int_equal(c->bytes_in, in);
  assert_int_equal(c->bytes_out, out);
}

static void test_fields_kept(void **state) {
  (void)state;
  sc_conn c;
  sc_conn_init(&c, 10);
  assert_fields(&c, 10, 0, 0, 0);
  assert_int_equal(sc_conn_on_recv(&c, 7), 0);
  assert_int_equal(sc_conn_on_recv(&c, 5), 0);
  sc_conn_on_sent(&c, 3);
  assert_int_equal(sc_conn_on_recv(&c, 0), 0);
  assert_int_equal(c.state, SC_CONN_DRAINING);
  assert_int_equal(c.out_pending, 1);
  assert_fields(&c, 10, 2, 12, 3);
  sc_conn before = c;
  assert_int_equal(sc_conn_on_recv(&c, 9), -EPROTO);
  assert_memory_equal(&before, &c, sizeof(c));
  sc_conn_on_error(&c);
  assert_int_equal(c.state, SC_CONN_CLOSED);
  assert_int_equal(c.out_pending, 0);
  assert_fields(&c, 10, 2, 12, 3);
}

/* A run longer than one sc_conn_out offer is written over several calls. */
static void test_large_backlog(void **state) {
  (void)state;
  sc_conn c;
  sc_conn_init(&c, 1 << 20);
  enum { N = 10000 };
  for (int i = 0; i < N; i++) {
    assert_int_equal(sc_conn_on_recv(&c, 1), 0);
  }
  sc_conn_on_sent(&c, 1);
  const char *p = NULL;
  size_t n = sc_conn_out(&c, &p);
  assert_true(n > 0 && n < 2 * N - 1);
  assert_int_equal(p[0], 'k');
  static char out[2 * N];
  out[0] = 'o';
  size_t got = drain(&c, SIZE_MAX, out + 1, sizeof(out) - 1);
  assert_oks(out, got + 1, N);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init),
      cmocka_unit_test(test_one_ok_per_chunk),
      cmocka_unit_test(test_many_chunks_then_drain),
      cmocka_unit_test(test_odd_partial_writes),
      cmocka_unit_test(test_sent_clamped),
      cmocka_unit_test(test_backpressure_bound),
      cmocka_unit_test(test_eof_drains_then_closes),
      cmocka_unit_test(test_eof_with_nothing_owed),
      cmocka_unit_test(test_error_closes_and_drops),
      cmocka_unit_test(test_eproto_after_close),
      cmocka_unit_test(test_fields_kept),
      cmocka_unit_test(test_large_backlog),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
