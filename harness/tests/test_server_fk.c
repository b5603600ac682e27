/* Unit tests of the ok-server's loop (sockcheck/server.h) over the fake kernel
 * (sctest/fakekernel.h): accept's transient errors retried and the others returned, short,
 * refused and interrupted log writes, reading paused at the output limit, and owed replies
 * flushed at EOF through short writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sockcheck/addr.h"
#include "sockcheck/error.h"
#include "sockcheck/server.h"
#include "sctest/fakekernel.h"
#include "sctest/fds.h"
#include "sctest/interrupt.h"

/* ------------------------------------------------ over the fake kernel (sctest/fakekernel.h) */

static const sc_fk_config fk_cfg = {.out_limit = 6, .recv_buf = 64, .log_buf = 65536};

/* Runs a script; the fake kernel's end-of-run promises must hold. */
static void fk_run(const sc_fk_config *cfg, const sc_fk_op *ops, size_t n, sc_fk_result *r) {
  int fds_before = (int)sc_test_count_fds(NULL);
  assert_int_equal(sc_fk_run(cfg, ops, n, r), 0);
  char why[512];
  if (!sc_fk_check(cfg, r, why, sizeof(why))) {
    fail_msg("%s", why);
  }
  assert_int_equal((int)sc_test_count_fds(NULL), fds_before);
}

static void assert_log(const sc_fk_result *r, const char *want) {
  assert_int_equal(r->log_len, strlen(want));
  assert_memory_equal(r->log, want, r->log_len);
}

#define OP(k, ...) ((sc_fk_op){.kind = SC_FK_##k, __VA_ARGS__})
#define NOPS(a) (sizeof(a) / sizeof((a)[0]))

/* accept(2)'s retry list: each error is retried, the client behind it is served. */
static void test_accept_transient_errors_retried(void **state) {
  (void)state;
  static const int errs[] = {ENETDOWN,   EPROTO,      ENOPROTOOPT,  EHOSTDOWN, ENONET, EHOSTUNREACH,
                             EOPNOTSUPP, ENETUNREACH, ECONNABORTED, EINTR,     EPERM};
  for (size_t i = 0; i < NOPS(errs); i++) {
    sc_fk_op ops[] = {OP(ACCEPT_ERR, .err = errs[i]), OP(CONNECT), OP(DATA, .n = 3),
                      OP(ACCEPT_ERR, .err = errs[i]), OP(EOF)};
    sc_fk_result r;
    fk_run(&fk_cfg, ops, NOPS(ops), &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.stats.accepted, 1);
    assert_int_equal(r.clients[0].replies, 2);
    sc_fk_result_free(&r);
  }
}

/* A listener that keeps failing transiently is retried boundedly, never fatal. */
static void test_accept_transient_burst(void **state) {
  (void)state;
  enum { BURST = 300 };
  sc_fk_op ops[BURST + 3];
  for (size_t i = 0; i < BURST; i++) {
    ops[i] = OP(ACCEPT_ERR, .err = ECONNABORTED);
  }
  ops[BURST] = OP(CONNECT);
  ops[BURST + 1] = OP(DATA, .n = 1);
  ops[BURST + 2] = OP(EOF);
  sc_fk_result r;
  fk_run(&fk_cfg, ops, NOPS(ops), &r);
  assert_int_equal(r.rc, 0);
  assert_int_equal(r.stats.accepted, 1);
  sc_fk_result_free(&r);
}

/* Any other accept error ends the loop with it; its clients are closed. */
static void test_accept_fatal_error_returned(void **state) {
  (void)state;
  static const int errs[] = {EINVAL, EBADF, ENOTSOCK};
  for (size_t i = 0; i < NOPS(errs); i++) {
    sc_fk_op ops[] = {OP(CONNECT), OP(DATA, .n = 1), OP(TICK), OP(ACCEPT_ERR, .err = errs[i]),
                      OP(CONNECT)};
    sc_fk_result r;
    fk_run(&fk_cfg, ops, NOPS(ops), &r);
    assert_int_equal(r.rc, -errs[i]);
    assert_int_equal(r.nclients, 1); /* the CONNECT after it never happened */
    assert_int_equal(r.stats.closed, 1);
    assert_log(&r,
               "client 10.0.0.1:1 connected\n"
               "client 10.0.0.1:1 closed (server stopping)\n");
    sc_fk_result_free(&r);
  }
}

/* Log writes taking 1 to 5 bytes: every line arrives whole, in order, none dropped. */
static void test_log_short_writes(void **state) {
  (void)state;
  sc_fk_op ops[] = {OP(LOG_SHORT, .n = 3), OP(CONNECT),
                    OP(LOG_SHORT, .n = 1), OP(DATA, .n = 2),
                    OP(LOG_SHORT, .n = 5), OP(CONNECT),
                    OP(EOF, .client = 0),  OP(TICK),
                    OP(LOG_SHORT, .n = 2), OP(DATA, .client = 1, .n = 1)};
  sc_fk_result r;
  fk_run(&fk_cfg, ops, NOPS(ops), &r);
  assert_int_equal(r.stats.log_dropped, 0);
  assert_log(&r,
             "client 10.0.0.1:1 connected\n"
             "client 10.0.0.2:2 connected\n"
             "client 10.0.0.1:1 closed (eof, 1 messages)\n"
             "client 10.0.0.2:2 closed (eof, 1 messages)\n");
  sc_fk_result_free(&r);
}

/* Log writes refused (EAGAIN) or interrupted (EINTR): lines wait, none is lost. */
static void test_log_eagain_eintr(void **state) {
  (void)state;
  sc_fk_op ops[] = {OP(LOG_ERR, .err = EAGAIN),
                    OP(CONNECT),
                    OP(LOG_ERR, .err = EINTR),
                    OP(CONNECT),
                    OP(DATA, .n = 1),
                    OP(LOG_ERR, .err = EAGAIN),
                    OP(EOF),
                    OP(TICK)};
  sc_fk_result r;
  fk_run(&fk_cfg, ops, NOPS(ops), &r);
  assert_int_equal(r.stats.log_dropped, 0);
  assert_log(&r,
             "client 10.0.0.1:1 connected\n"
             "client 10.0.0.2:2 connected\n"
             "client 10.0.0.1:1 closed (eof, 1 messages)\n"
             "client 10.0.0.2:2 closed (eof, 0 messages)\n");
  sc_fk_result_free(&r);
}

/* A client that never reads while it sends: the loop stops reading it once out_limit
 * reply bytes are owed (sc_fk_check holds every read to that bound), then serves it all. */
static void test_reading_pauses_at_out_limit(void **state) {
  (void)state;
  sc_fk_op ops[12] = {OP(CONNECT), OP(PAUSE)};
  for (size_t i = 2; i < 10; i++) {
    ops[i] = OP(DATA, .n = 1);
  }
  ops[10] = OP(TICK);
  ops[11] = OP(TICK);
  sc_fk_result r;
  fk_run(&fk_cfg, ops, NOPS(ops), &r);
  assert_int_equal(r.clients[0].max_owed, fk_cfg.out_limit);
  assert_int_equal(r.clients[0].replies, 2 * r.clients[0].messages);
  sc_fk_result_free(&r);
}

/* A client that stops reading, sends three messages and EOF, then reads one byte at a
 * time: every owed "ok" reaches it through one-byte writes before its descriptor is
 * closed (the server neither counts offered bytes as written nor closes at EOF). */
static void test_eof_flushes_through_short_writes(void **state) {
  (void)state;
  sc_fk_op ops[] = {OP(CONNECT),
                    OP(PAUSE),
                    OP(DATA, .n = 1),
                    OP(TICK),
                    OP(DATA, .n = 1),
                    OP(TICK),
                    OP(DATA, .n = 1),
                    OP(TICK),
                    OP(EOF),
                    OP(TICK),
                    OP(READ, .n = 1),
                    OP(TICK),
                    OP(SEND_SHORT, .n = 1),
                    OP(READ, .n = 4),
                    OP(TICK),
                    OP(SEND_ERR, .err = EINTR),
                    OP(READ, .n = 1),
                    OP(TICK)};
  sc_fk_result r;
  fk_run(&fk_cfg, ops, NOPS(ops), &r);
  assert_int_equal(r.rc, 0);
  assert_int_equal(r.clients[0].messages, 3);
  assert_int_equal(r.clients[0].replies, 6);
  assert_true(r.clients[0].eof_read);
  sc_fk_result_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accept_transient_errors_retried),
      cmocka_unit_test(test_accept_transient_burst),
      cmocka_unit_test(test_accept_fatal_error_returned),
      cmocka_unit_test(test_log_short_writes),
      cmocka_unit_test(test_log_eagain_eintr),
      cmocka_unit_test(test_reading_pauses_at_out_limit),
      cmocka_unit_test(test_eof_flushes_through_short_writes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
