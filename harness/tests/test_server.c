/* Unit tests of the epoll ok-server (sockcheck/server.h) on the real kernel, run in a thread
 * on 127.0.0.1:0 (server_harness.h): SRV-2 (many clients at once, their addresses logged),
 * SRV-3 (one "ok" per message), SRV-4 (clean end on EOF, reset, stop), the connection cap, a
 * client that never reads, descriptor exhaustion (EMFILE), a log reader that never reads (or
 * goes away) not stalling service, descriptor 0 as the log or the stop descriptor. The same
 * server over a transport with faults on demand: test_server_faults.c; over the fake kernel:
 * test_server_fk.c. Every wait is bounded by a socket timeout, a poll timeout or a timed join;
 * nothing sleeps. */
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

#include "server_harness.h"

static void test_bad_config(void **state) {
  (void)state;
  sc_server_config cfg = {.listen_fd = -1, .stop_fd = -1, .log_fd = -1};
  assert_int_equal(sc_server_run(&cfg, NULL), -EINVAL);
  assert_int_equal(sc_server_run(NULL, NULL), -EINVAL);
  /* A log descriptor that cannot be written is a configuration error. */
  uint16_t port = 0;
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  cfg.listen_fd = listen_local(&port);
  cfg.log_fd = p[0];
  assert_int_equal(sc_server_run(&cfg, NULL), -EBADF);
  cfg.log_fd = 1000000;
  assert_int_equal(sc_server_run(&cfg, NULL), -EBADF);
  assert_int_equal(close(cfg.listen_fd), 0);
  assert_int_equal(close(p[0]), 0);
  assert_int_equal(close(p[1]), 0);
}

static void test_many_clients(void **state) {
  (void)state;
  int fds_before = (int)sc_test_count_fds(NULL);
  harness h;
  configure(&h, 0, 0, 0);
  start(&h);
  enum { N = 64, ROUNDS = 3 };
  int c[N];
  for (int i = 0; i < N; i++) {
    c[i] = connect_client(h.port);
  }
  static const char bin[] = {'a', '\0', 'b', '\n', '\0'};
  for (int r = 0; r < ROUNDS; r++) {
    for (int i = 0; i < N; i++) {
      if (i % 2 == 0) {
        round_trip(c[i], "hello", 5);
      } else {
        round_trip(c[i], bin, sizeof(bin));
      }
    }
  }
  /* SRV-2: the log names each client by its own address. */
  struct sockaddr_in me;
  socklen_t len = sizeof(me);
  assert_int_equal(getsockname(c[0], (struct sockaddr *)&me, &len), 0);
  char want[64];
  (void)snprintf(want, sizeof(want), "client 127.0.0.1:%u connected\n", ntohs(me.sin_port));
  for (int i = 0; i < N; i++) {
    assert_int_equal(shutdown(c[i], SHUT_WR), 0);
    assert_closed_by_server(c[i]); /* SRV-4: EOF ends the session */
    assert_int_equal(close(c[i]), 0);
  }
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(h.stats.accepted, N);
  assert_int_equal(h.stats.rejected, 0);
  assert_int_equal(h.stats.messages, N * ROUNDS);
  assert_int_equal(h.stats.closed, N);
  assert_non_null(strstr(h.log_buf, want));
  assert_non_null(strstr(h.log_buf, "closed (eof, 3 messages)\n"));
  finish(&h);
  assert_int_equal((int)sc_test_count_fds(NULL), fds_before);
}

/* A message filling the whole recv buffer is still one message, one "ok". */
static void test_full_buffer_message(void **state) {
  (void)state;
  harness h;
  configure(&h, 0, 0, 64);
  start(&h);
  int c = connect_client(h.port);
  char msg[64];
  memset(msg, 'z', sizeof(msg));
  for (int i = 0; i < 10; i++) {
    round_trip(c, msg, sizeof(msg));
  }
  assert_int_equal(close(c), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(h.stats.messages, 10);
  finish(&h);
}

/* SRV-4: replies owed when the client half-closes are still delivered. */
static void test_eof_flushes_replies(void **state) {
  (void)state;
  harness h;
  configure(&h, 0, 0, 0);
  start(&h);
  int c = connect_client(h.port);
  assert_int_equal(send(c, "bye", 3, MSG_NOSIGNAL), 3);
  assert_int_equal(shutdown(c, SHUT_WR), 0);
  char buf[4];
  assert_int_equal(read_exact(c, buf, sizeof(buf)), 2);
  assert_memory_equal(buf, "ok", 2);
  assert_int_equal(close(c), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  finish(&h);
}

static void reset_close(int fd) {
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
  assert_int_equal(close(fd), 0);
}

/* A reset client (SO_LINGER 0) only ends its own session. */
static void test_reset(void **state) {
  (void)state;
  harness h;
  configure(&h, 0, 0, 0);
  start(&h);
  int other = connect_client(h.port);
  round_trip(other, "x", 1);
  for (int i = 0; i < 20; i++) {
    int c = connect_client(h.port);
    if (i % 2 == 0) {
      round_trip(c, "hi", 2);
    }
    /* Unread data at close also makes the kernel send a reset. */
    assert_int_equal(send(c, "mid-message", 11, MSG_NOSIGNAL), 11);
    reset_close(c);
    round_trip(other, "still there", 11);
  }
  assert_int_equal(close(other), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  /* A reset client not yet accepted when stop arrives stays in the backlog, so
   * only the ones that got a reply are sure to be counted. */
  assert_true(h.stats.accepted >= 11 && h.stats.accepted <= 21);
  assert_int_equal(h.stats.closed, h.stats.accepted);
  finish(&h);
}

/* A client that resets (nothing owed to it) is logged as "closed (reset)", not as an
 * error. The reset reaches the server before the other client's next message, so it is
 * handled in that wakeup at the latest, before the stop is read. */
static void test_reset_logged(void **state) {
  (void)state;
  harness h;
  configure(&h, 0, 0, 0);
  start(&h);
  int other = connect_client(h.port);
  int c = connect_client(h.port);
  round_trip(c, "hi", 2);
  sc_addr local;
  assert_int_equal(sc_addr_local(c, &local), 0);
  char want[96];
  (void)snprintf(want, sizeof(want), "client 127.0.0.1:%d closed (reset)\n", sc_addr_port(&local));
  reset_close(c);
  round_trip(other, "after", 5);
  assert_int_equal(close(other), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_non_null(strstr(h.log_buf, want));
  assert_null(strstr(h.log_buf, "closed (error"));
  finish(&h);
}

/* Over the cap, clients are accepted and closed at once; when a slot frees up,
 * a new client is served again. */
static void test_cap(void **state) {
  (void)state;
  harness h;
  configure(&h, 2, 0, 0);
  start(&h);
  int a = connect_client(h.port);
  int b = connect_client(h.port);
  round_trip(a, "a", 1);
  round_trip(b, "b", 1);
  for (int i = 0; i < 3; i++) {
    int x = connect_client(h.port);
    assert_closed_by_server(x);
    assert_int_equal(close(x), 0);
  }
  round_trip(a, "a", 1);
  /* Free a slot; the server may see the close after the next connect, so try
   * a bounded number of times until a client is served. */
  assert_int_equal(shutdown(a, SHUT_WR), 0);
  assert_closed_by_server(a);
  assert_int_equal(close(a), 0);
  bool served = false;
  for (int tries = 0; tries < 50 && !served; tries++) {
    int x = connect_client(h.port);
    char ok[2];
    if (send(x, "c", 1, MSG_NOSIGNAL) == 1 && read_exact(x, ok, 2) == 2) {
      assert_memory_equal(ok, "ok", 2);
      served = true;
    }
    assert_int_equal(close(x), 0);
  }
  assert_true(served);
  assert_int_equal(close(b), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_true(h.stats.rejected >= 3);
  assert_non_null(strstr(h.log_buf, "rejected (connection cap)"));
  finish(&h);
}

/* A client that sends without ever reading its replies is held by
 * backpressure (the server stops reading it) and never blocks another. */
static void test_non_reader_does_not_block(void **state) {
  (void)state;
  harness h;
  configure(&h, 0, 64, 1); /* 1-byte reads: every byte owes a reply */
  start(&h);
  size_t total = 0;
  int hog = connect_hog(&h, &total);
  int other = connect_client(h.port);
  for (int i = 0; i < 20; i++) {
    round_trip(other, "ping", 4);
  }
  assert_int_equal(close(other), 0);
  reset_close(hog);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(h.stats.closed, 2);
  finish(&h);
}

/* Stop with clients connected: every client is closed, rc 0, no fd leaks. */
static void test_clean_stop(void **state) {
  (void)state;
  int fds_before = (int)sc_test_count_fds(NULL);
  harness h;
  configure(&h, 0, 0, 0);
  start(&h);
  enum { N = 10 };
  int c[N];
  for (int i = 0; i < N; i++) {
    c[i] = connect_client(h.port);
    round_trip(c[i], "m", 1);
  }
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(h.stats.closed, N);
  for (int i = 0; i < N; i++) {
    assert_closed_by_server(c[i]);
    assert_int_equal(close(c[i]), 0);
  }
  finish(&h);
  assert_int_equal((int)sc_test_count_fds(NULL), fds_before);
}

/* The server in a child with a tiny descriptor limit: clients beyond it are
 * accepted and closed (no busy loop, no hang), and the server recovers. */
static void test_emfile(void **state) {
  (void)state;
  uint16_t port = 0;
  int lfd = listen_local(&port);
  int stopp[2];
  assert_int_equal(pipe2(stopp, O_CLOEXEC), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    (void)close(stopp[1]);
    /* Room for epoll, the spare descriptor and two clients. */
    if (!limit_fds(4)) {
      _exit(3);
    }
    sc_server_config cfg = {.listen_fd = lfd, .stop_fd = stopp[0], .log_fd = -1};
    sc_server_stats st;
    int rc = sc_server_run(&cfg, &st);
    _exit(rc == 0 && st.rejected >= 3 && st.accepted >= 3 ? 0 : 1);
  }
  assert_int_equal(close(stopp[0]), 0);
  int a = connect_client(port);
  int b = connect_client(port);
  round_trip(a, "a", 1);
  round_trip(b, "b", 1);
  for (int i = 0; i < 4; i++) {
    int x = connect_client(port);
    assert_closed_by_server(x);
    assert_int_equal(close(x), 0);
  }
  round_trip(a, "a", 1);
  assert_int_equal(shutdown(a, SHUT_WR), 0);
  assert_closed_by_server(a);
  assert_int_equal(close(a), 0);
  bool served = false;
  for (int tries = 0; tries < 50 && !served; tries++) {
    int x = connect_client(port);
    char ok[2];
    if (send(x, "c", 1, MSG_NOSIGNAL) == 1 && read_exact(x, ok, 2) == 2) {
      served = true;
    }
    assert_int_equal(close(x), 0);
  }
  assert_true(served);
  assert_int_equal(close(b), 0);
  assert_int_equal(write(stopp[1], "x", 1), 1);
  assert_int_equal(wait_child(pid), 0);
  assert_int_equal(close(stopp[1]), 0);
  assert_int_equal(close(lfd), 0);
}

/* Every line is an event line or a notice; returns the lines delivered and
 * adds up the notices' counts into *noticed. */
static unsigned long long check_log_lines(char *log, unsigned long long *noticed) {
  unsigned long long lines = 0;
  *noticed = 0;
  char *save = NULL;
  for (char *line = strtok_r(log, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    unsigned long long n = 0;
    char tail[32];
    if (sscanf(line, "%llu log lines dropped%31s", &n, tail) == 1) {
      assert_true(n > 0);
      *noticed += n;
      continue;
    }
    if (strncmp(line, "client 127.0.0.1:", 17) != 0 ||
        (strstr(line, " connected") == NULL && strstr(line, " closed (eof, ") == NULL)) {
      fail_msg("unexpected log line \"%s\"", line);
    }
    lines++;
  }
  return lines;
}

/* The log's reader (a pipe or a socket with a 4 KiB window) reads nothing
 * while clients come and go and exchange messages: the server keeps answering
 * (each round trip bounded by IO_TIMEOUT_S); lines beyond the log buffer are
 * dropped and counted; once the reader reads, it gets the queued lines, a
 * "N log lines dropped" notice and new lines again; no line is lost uncounted.
 * The old blocking fprintf stalled the whole loop once the pipe was full. */
static void never_read_log(bool socket_log, int conns, int msgs) {
  harness h;
  configure(&h, 0, 0, 0);
  assert_int_equal(close(h.cfg.log_fd), 0);
  h.memfd_log = false;
  int lp[2];
  if (socket_log) {
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, lp), 0);
    int sz = 4096;
    assert_int_equal(setsockopt(lp[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
  } else {
    assert_int_equal(pipe2(lp, O_CLOEXEC), 0);
    assert_true(fcntl(lp[1], F_SETPIPE_SZ, 4096) >= 4096);
  }
  h.cfg.log_fd = lp[1];
  h.cfg.log_buf = 1024;
  start(&h);
  for (int i = 0; i < conns; i++) {
    int c = connect_client(h.port);
    for (int m = 0; m < msgs; m++) {
      round_trip(c, "ping", 4);
    }
    assert_int_equal(shutdown(c, SHUT_WR), 0);
    assert_closed_by_server(c);
    assert_int_equal(close(c), 0);
  }
  /* The reader wakes up. */
  char *log = NULL;
  size_t len = 0;
  read_until(lp[0], &log, &len, " log lines dropped\n");
  int c = connect_client(h.port);
  round_trip(c, "late", 4);
  struct sockaddr_in me;
  socklen_t alen = sizeof(me);
  assert_int_equal(getsockname(c, (struct sockaddr *)&me, &alen), 0);
  char want[64];
  (void)snprintf(want, sizeof(want), "client 127.0.0.1:%u connected\n", ntohs(me.sin_port));
  read_until(lp[0], &log, &len, want);
  assert_int_equal(shutdown(c, SHUT_WR), 0);
  assert_closed_by_server(c);
  assert_int_equal(close(c), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(close(lp[1]), 0);
  while (read_some(lp[0], &log, &len, IO_TIMEOUT_S * 1000) > 0) {
  }
  assert_int_equal(close(lp[0]), 0);
  assert_int_equal(h.stats.accepted, (unsigned long long)conns + 1);
  assert_int_equal(h.stats.messages, (unsigned long long)conns * (unsigned long long)msgs + 1);
  unsigned long long noticed = 0;
  unsigned long long delivered = check_log_lines(log, &noticed);
  assert_true(h.stats.log_dropped > 0);
  assert_int_equal(noticed, h.stats.log_dropped);
  assert_int_equal(delivered + noticed, 2 * ((unsigned long long)conns + 1));
  free(log);
  finish(&h);
}

static void test_log_pipe_never_read(void **state) {
  (void)state;
  never_read_log(false, 500, 40); /* 20000 messages */
}

static void test_log_socket_never_read(void **state) {
  (void)state;
  never_read_log(true, 200, 10);
}

/* server.h: 0 is a descriptor like any other. A server whose log is descriptor 0 (a
 * daemon's stdin reopened for it) still logs: only -1 means no log. */
static void test_log_on_descriptor_zero(void **state) {
  (void)state;
  int saved = dup(STDIN_FILENO);
  assert_true(saved >= 0);
  int lp[2];
  assert_int_equal(pipe2(lp, O_CLOEXEC), 0);
  assert_int_equal(dup2(lp[1], STDIN_FILENO), STDIN_FILENO);
  assert_int_equal(close(lp[1]), 0);
  harness h;
  configure(&h, 0, 0, 0);
  assert_int_equal(close(h.cfg.log_fd), 0); /* configure()'s memfd: not used here */
  h.memfd_log = false;
  h.cfg.log_fd = STDIN_FILENO;
  start(&h);
  int c = connect_client(h.port);
  round_trip(c, "zero", 4);
  char *log = NULL;
  size_t len = 0;
  read_until(lp[0], &log, &len, " connected\n");
  assert_int_equal(close(c), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
  assert_int_equal(close(saved), 0);
  assert_int_equal(close(lp[0]), 0);
  assert_non_null(strstr(log, "client 127.0.0.1:"));
  free(log);
  finish(&h);
}

/* server.h: the stop descriptor may be 0 like any other (a daemon's stdin): the server
 * stops when it is readable. */
static void test_stop_on_descriptor_zero(void **state) {
  (void)state;
  int saved = dup(STDIN_FILENO);
  assert_true(saved >= 0);
  harness h;
  configure(&h, 0, 0, 0);
  assert_int_equal(dup2(h.stop[0], STDIN_FILENO), STDIN_FILENO);
  assert_int_equal(close(h.stop[0]), 0);
  h.stop[0] = STDIN_FILENO;
  h.cfg.stop_fd = STDIN_FILENO;
  start(&h);
  int c = connect_client(h.port);
  round_trip(c, "zero", 4);
  assert_int_equal(close(c), 0);
  stop(&h); /* bounded: the join fails the test if the stop is never seen */
  assert_int_equal(h.rc, 0);
  assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
  assert_int_equal(close(saved), 0);
  finish(&h);
}

/* The log pipe's reader is gone: the log is given up (its lines counted as
 * dropped), the server keeps serving and does not spin on EPOLLERR. */
static void test_log_reader_gone(void **state) {
  (void)state;
  struct sigaction ign;
  struct sigaction old;
  memset(&ign, 0, sizeof(ign));
  ign.sa_handler = SIG_IGN;
  assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
  harness h;
  configure(&h, 0, 0, 0);
  assert_int_equal(close(h.cfg.log_fd), 0);
  h.memfd_log = false;
  int lp[2];
  assert_int_equal(pipe2(lp, O_CLOEXEC), 0);
  assert_int_equal(close(lp[0]), 0);
  h.cfg.log_fd = lp[1];
  start(&h);
  enum { N = 50 };
  for (int i = 0; i < N; i++) {
    int c = connect_client(h.port);
    round_trip(c, "x", 1);
    assert_int_equal(shutdown(c, SHUT_WR), 0);
    assert_closed_by_server(c);
    assert_int_equal(close(c), 0);
  }
  /* Idle now: over a 200 ms window the server thread uses (almost) no CPU. */
  clockid_t cid;
  assert_int_equal(pthread_getcpuclockid(h.thread, &cid), 0);
  struct timespec t0;
  struct timespec t1;
  assert_int_equal(clock_gettime(cid, &t0), 0);
  assert_int_equal(poll(NULL, 0, 200), 0);
  assert_int_equal(clock_gettime(cid, &t1), 0);
  long long used_ms =
      (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  assert_true(used_ms < 50);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(h.stats.log_dropped, 2 * N);
  assert_int_equal(close(lp[1]), 0);
  finish(&h);
  assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_config),
      cmocka_unit_test(test_many_clients),
      cmocka_unit_test(test_full_buffer_message),
      cmocka_unit_test(test_eof_flushes_replies),
      cmocka_unit_test(test_reset),
      cmocka_unit_test(test_reset_logged),
      cmocka_unit_test(test_cap),
      cmocka_unit_test(test_non_reader_does_not_block),
      cmocka_unit_test(test_clean_stop),
      cmocka_unit_test(test_emfile),
      cmocka_unit_test(test_log_pipe_never_read),
      cmocka_unit_test(test_log_socket_never_read),
      cmocka_unit_test(test_log_reader_gone),
      cmocka_unit_test(test_log_on_descriptor_zero),
      cmocka_unit_test(test_stop_on_descriptor_zero),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
