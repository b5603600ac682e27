/* Unit tests of the epoll ok-server (sockcheck/server.h), run in a thread on
 * 127.0.0.1:0 with a pipe as its stop descriptor: SRV-2 (many clients at once,
 * their addresses logged), SRV-3 (one "ok" per message), SRV-4 (clean end on
 * EOF, reset, stop), the connection cap, a client that never reads, and
 * descriptor exhaustion (EMFILE), and a log reader that never reads (or goes
 * away) not stalling service; over the fake kernel (sctest/fakekernel.h): accept's
 * transient errors retried and the others returned, short, refused and interrupted log
 * writes, and owed replies flushed at EOF through short writes; over a transport with faults on
 * demand: a client epoll refuses, a peer with no address, a log that keeps refusing; signals
 * landing in epoll_wait and in the stop's log drain (the server thread observed in the call
 * through /proc/self/task/TID/syscall), the log's reader leaving during that drain, and the
 * setup failures (no memory, no descriptor, a log that is the listener). Every wait is bounded
 * by a socket timeout, a poll timeout or a timed join; nothing sleeps. */
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

#define IO_TIMEOUT_S 5
#define JOIN_TIMEOUT_S 10

typedef struct harness {
  sc_server_config cfg;
  sc_server_stats stats;
  int rc;
  int stop[2];
  uint16_t port;
  pthread_t thread;
  char *log_buf;
  size_t log_len;
  bool memfd_log; /* cfg.log_fd is configure()'s memfd (read into log_buf at stop) */
  pid_t tid;      /* the server thread's (set by it; read with __atomic_load_n) */
} harness;

static void *server_thread(void *arg) {
  harness *h = arg;
  __atomic_store_n(&h->tid, gettid(), __ATOMIC_RELEASE);
  h->rc = sc_server_run(&h->cfg, &h->stats);
  return NULL;
}

static int listen_local(uint16_t *port) {
  sc_addr a;
  assert_int_equal(sc_addr_parse("127.0.0.1:0", &a), 0);
  int fd = sc_addr_bind_socket(&a, SOCK_STREAM, SOCK_NONBLOCK, 256);
  assert_true(fd >= 0);
  sc_addr local;
  assert_int_equal(sc_addr_local(fd, &local), 0);
  int p = sc_addr_port(&local);
  assert_true(p > 0 && p <= 65535);
  *port = (uint16_t)p;
  return fd;
}

static void configure(harness *h, size_t max_conns, size_t out_limit, size_t recv_buf) {
  memset(h, 0, sizeof(*h));
  h->cfg.listen_fd = listen_local(&h->port);
  assert_int_equal(pipe2(h->stop, O_CLOEXEC), 0);
  h->cfg.stop_fd = h->stop[0];
  h->cfg.max_conns = max_conns;
  h->cfg.out_limit = out_limit;
  h->cfg.recv_buf = recv_buf;
  /* A memfd is a regular file: the server writes its log lines directly. */
  h->cfg.log_fd = memfd_create("server-log", MFD_CLOEXEC);
  assert_true(h->cfg.log_fd >= 0);
  h->memfd_log = true;
}

/* The whole memfd log as a string (h->log_buf, h->log_len). */
static void read_log(harness *h) {
  off_t end = lseek(h->cfg.log_fd, 0, SEEK_END);
  assert_true(end >= 0);
  h->log_len = (size_t)end;
  h->log_buf = malloc(h->log_len + 1);
  assert_non_null(h->log_buf);
  assert_int_equal(pread(h->cfg.log_fd, h->log_buf, h->log_len, 0), (ssize_t)h->log_len);
  h->log_buf[h->log_len] = '\0';
}

static void start(harness *h) {
  assert_int_equal(pthread_create(&h->thread, NULL, server_thread, h), 0);
}

static void request_stop(harness *h) {
  assert_int_equal(write(h->stop[1], "x", 1), 1);
}

/* Joins (bounded) and closes the harness's descriptors. */
static void join(harness *h) {
  struct timespec deadline;
  assert_int_equal(clock_gettime(CLOCK_REALTIME, &deadline), 0);
  deadline.tv_sec += JOIN_TIMEOUT_S;
  assert_int_equal(pthread_timedjoin_np(h->thread, NULL, &deadline), 0);
  if (h->memfd_log) {
    read_log(h);
    assert_int_equal(close(h->cfg.log_fd), 0);
  }
  h->cfg.log_fd = -1;
  assert_int_equal(close(h->cfg.listen_fd), 0);
  assert_int_equal(close(h->stop[0]), 0);
  assert_int_equal(close(h->stop[1]), 0);
}

/* Signals stop, joins (bounded), and closes the harness's descriptors. */
static void stop(harness *h) {
  request_stop(h);
  join(h);
}

static void finish(harness *h) {
  free(h->log_buf);
}

static int connect_client(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct timeval tv = {.tv_sec = IO_TIMEOUT_S, .tv_usec = 0};
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  return fd;
}

/* Reads exactly len bytes (bounded by SO_RCVTIMEO). Returns the count read
 * before EOF, or -errno. */
static ssize_t read_exact(int fd, char *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = recv(fd, buf + got, len - got, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return SC_ERR(errno);
    }
    if (n == 0) {
      break;
    }
    got += (size_t)n;
  }
  return (ssize_t)got;
}

/* One message, one "ok" (SRV-3). */
static void round_trip(int fd, const char *msg, size_t len) {
  assert_int_equal(send(fd, msg, len, MSG_NOSIGNAL), (ssize_t)len);
  char ok[2];
  assert_int_equal(read_exact(fd, ok, 2), 2);
  assert_memory_equal(ok, "ok", 2);
}

/* The server closed this client: EOF or a reset, within the timeout. */
static void assert_closed_by_server(int fd) {
  char b[16];
  ssize_t n = read_exact(fd, b, sizeof(b));
  assert_true(n == 0 || n == -ECONNRESET);
}

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

/* Connects a client that sends without reading its replies until the server holds it
 * by backpressure (no room to send for 200 ms; 64 MiB at most). Returns the client (left
 * non-blocking) and the bytes it sent in *total. */
static int connect_hog(const harness *h, size_t *total) {
  int small = 4096;
  /* Small buffers on both ends (the server's end inherits the listener's): the hog is
   * held after some kilobytes, not megabytes read one byte at a time. */
  assert_int_equal(setsockopt(h->cfg.listen_fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
  assert_int_equal(setsockopt(h->cfg.listen_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
  int hog = connect_client(h->port);
  assert_int_equal(setsockopt(hog, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
  assert_int_equal(setsockopt(hog, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
  assert_int_equal(fcntl(hog, F_SETFL, O_NONBLOCK), 0);
  static char chunk[65536];
  memset(chunk, 'h', sizeof(chunk));
  *total = 0;
  bool saturated = false;
  while (*total < ((size_t)64 << 20)) {
    ssize_t n = send(hog, chunk, sizeof(chunk), MSG_NOSIGNAL);
    if (n > 0) {
      *total += (size_t)n;
      continue;
    }
    assert_true(n < 0 && (errno == EAGAIN || errno == EINTR));
    struct pollfd p = {.fd = hog, .events = POLLOUT};
    int r = poll(&p, 1, 200);
    assert_true(r >= 0);
    if (r == 0) {
      saturated = true;
      break;
    }
  }
  assert_true(saturated);
  return hog;
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

/* In a forked child: fills the holes below the highest descriptor, then sets
 * RLIMIT_NOFILE so that exactly `room` more can be opened. False if it could not. */
static bool limit_fds(int room) {
  int hi = sc_test_highest_fd();
  for (int i = 0; i <= hi; i++) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return false;
    }
    if (fd > hi) {
      (void)close(fd);
      break;
    }
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return false;
  }
  rl.rlim_cur = (rlim_t)hi + 1 + (rlim_t)room;
  return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/* Waits for a forked child (bounded, through its pidfd) and returns its exit status,
 * or fails the test (killing it) if it does not end in time or does not exit. */
static int wait_child(pid_t pid) {
  int pfd = pidfd_open(pid, 0);
  assert_true(pfd >= 0);
  struct pollfd p = {.fd = pfd, .events = POLLIN};
  int r = poll(&p, 1, JOIN_TIMEOUT_S * 1000);
  assert_int_equal(close(pfd), 0);
  if (r != 1) {
    (void)kill(pid, SIGKILL);
    (void)waitpid(pid, NULL, 0);
    fail_msg("child did not end within %d s", JOIN_TIMEOUT_S);
  }
  int status = -1;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
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

/* Appends what fd holds to *acc (NUL-terminated), waiting at most wait_ms for
 * the first byte. Returns the bytes read; 0 on timeout; -1 at EOF. */
static ssize_t read_some(int fd, char **acc, size_t *len, int wait_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int r = poll(&p, 1, wait_ms);
  assert_true(r >= 0);
  if (r == 0) {
    return 0;
  }
  char chunk[8192];
  ssize_t n = read(fd, chunk, sizeof(chunk));
  assert_true(n >= 0);
  if (n == 0) {
    return -1;
  }
  char *grown = realloc(*acc, *len + (size_t)n + 1);
  assert_non_null(grown);
  memcpy(grown + *len, chunk, (size_t)n);
  *len += (size_t)n;
  grown[*len] = '\0';
  *acc = grown;
  return n;
}

/* Reads fd until text appears in *acc (bounded: IO_TIMEOUT_S without data). */
static void read_until(int fd, char **acc, size_t *len, const char *text) {
  while (*acc == NULL || strstr(*acc, text) == NULL) {
    ssize_t n = read_some(fd, acc, len, IO_TIMEOUT_S * 1000);
    if (n <= 0) {
      fail_msg("log never showed \"%s\" (%s)", text, n == 0 ? "timeout" : "EOF");
    }
  }
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

/* ------------------------------------------- faults the kernel gives only by chance */

/* A transport over the kernel's with the faults a test needs on demand (read by the
 * server thread, so the counters are atomic). */
typedef struct faults {
  sc_transport t;
  int unwatchable;  /* accepts left whose client is swapped for /dev/null (epoll refuses it) */
  bool anonymous;   /* accept reports no peer address (len 0) */
  int log_err;      /* log writes fail with -log_err (0: none) */
  int accept_fails; /* accepts left that fail with -accept_err, the client left pending */
  int accept_err;
  size_t log_cap;       /* log writes take at most this many bytes (0: no cap) */
  unsigned long writes; /* log writes attempted */
} faults;

/* Log writes answered before a planted endless retry is cut off with -EIO. */
#define MAX_LOG_WRITES 1000

static ssize_t faults_sendmsg(const sc_transport *t, int fd, const struct msghdr *m, int flags) {
  (void)t;
  return sc_transport_kernel()->sendmsg(sc_transport_kernel(), fd, m, flags);
}

static ssize_t faults_recvmsg(const sc_transport *t, int fd, struct msghdr *m, int flags) {
  (void)t;
  return sc_transport_kernel()->recvmsg(sc_transport_kernel(), fd, m, flags);
}

static int faults_wait(const sc_transport *t, int fd, short events, int timeout_ms) {
  (void)t;
  return sc_transport_kernel()->wait(sc_transport_kernel(), fd, events, timeout_ms);
}

static int faults_accept(const sc_transport *t, int fd, struct sockaddr *addr, socklen_t *len,
                         int flags) {
  faults *f = t->ctx;
  if (__atomic_load_n(&f->accept_fails, __ATOMIC_ACQUIRE) > 0) {
    __atomic_sub_fetch(&f->accept_fails, 1, __ATOMIC_ACQ_REL);
    return -f->accept_err;
  }
  int c = sc_transport_kernel()->accept(sc_transport_kernel(), fd, addr, len, flags);
  if (c < 0) {
    return c;
  }
  if (f->unwatchable > 0) {
    f->unwatchable--;
    (void)close(c); /* the client sees its connection closed */
    c = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return c >= 0 ? c : -errno;
  }
  if (f->anonymous && len != NULL) {
    *len = 0;
  }
  return c;
}

static ssize_t faults_write(const sc_transport *t, int fd, const void *buf, size_t len) {
  faults *f = t->ctx;
  unsigned long n = __atomic_add_fetch(&f->writes, 1, __ATOMIC_ACQ_REL);
  if (f->log_err != 0) {
    return n > MAX_LOG_WRITES ? -EIO : -f->log_err;
  }
  if (f->log_cap != 0 && len > f->log_cap) {
    len = f->log_cap;
  }
  return sc_transport_kernel()->write(sc_transport_kernel(), fd, buf, len);
}

static void faults_init(faults *f) {
  memset(f, 0, sizeof(*f));
  f->t = (sc_transport){.sendmsg = faults_sendmsg,
                        .recvmsg = faults_recvmsg,
                        .wait = faults_wait,
                        .accept = faults_accept,
                        .write = faults_write,
                        .ctx = f};
}

static unsigned long log_writes(faults *f) {
  return __atomic_load_n(&f->writes, __ATOMIC_ACQUIRE);
}

#define OBSERVE_LIMIT_MS 5000

/* Waits (bounded) until the server thread is in system call a or b. Called once it has
 * served a client, so its tid is set. */
static void wait_in_syscall(harness *h, long a, long b) {
  pid_t tid = __atomic_load_n(&h->tid, __ATOMIC_ACQUIRE);
  assert_true(tid > 0);
  int r = sc_test_wait_in_syscall(tid, a, b, OBSERVE_LIMIT_MS);
  if (r != 0) {
    fail_msg("the server thread never entered system call %ld or %ld (%s)", a, b, sc_err_name(r));
  }
}

/* Interrupts the server thread's system call with SIGUSR1: it has returned EINTR once
 * the handler has run. */
static void interrupt_server(harness *h) {
  assert_int_equal(sc_test_interrupt(h->thread, OBSERVE_LIMIT_MS), 0);
}

static int g_epfd;

static bool is_epoll(int fd, const struct stat *st) {
  (void)st;
  char path[64];
  char target[64];
  (void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, target, sizeof(target) - 1);
  if (n < 0) {
    return false;
  }
  target[n] = '\0';
  if (strcmp(target, "anon_inode:[eventpoll]") != 0) {
    return false;
  }
  g_epfd = fd;
  return true;
}

/* The interest the server's epoll set (the process's only one) holds, from
 * /proc/self/fdinfo: the listening socket's events in *listening (0 if it is not in the
 * set), and the count of client descriptors (all but the listening socket and the stop
 * pipe) with their events OR'ed in *clients. */
static int epoll_interest(const harness *h, uint32_t *listening, uint32_t *clients) {
  assert_int_equal(sc_test_count_fds(is_epoll), 1);
  char path[64];
  (void)snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", g_epfd);
  FILE *f = fopen(path, "re");
  assert_non_null(f);
  char line[256];
  int count = 0;
  *listening = 0;
  *clients = 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    int tfd = -1;
    unsigned ev = 0;
    if (sscanf(line, "tfd: %d events: %x", &tfd, &ev) != 2 || tfd == h->stop[0]) {
      continue;
    }
    if (tfd == h->cfg.listen_fd) {
      *listening = ev;
    } else {
      *clients |= ev;
      count++;
    }
  }
  assert_int_equal(fclose(f), 0);
  return count;
}

/* Once backpressure ends (the hog reads every reply owed), the client is watched for input
 * only: with EPOLLOUT left in its interest the level-triggered loop would wake for a
 * writable socket with nothing to write, again and again. Checked once the server is back
 * asleep in epoll_wait after writing the last reply. */
static void test_backpressure_ends_with_input_interest(void **state) {
  (void)state;
  harness h;
  configure(&h, 0, 64, 1);
  start(&h);
  size_t total = 0;
  int hog = connect_hog(&h, &total);
  assert_int_equal(fcntl(hog, F_SETFL, 0), 0); /* reads bounded by SO_RCVTIMEO */
  static char replies[65536];
  for (size_t left = 2 * total; left > 0;) {
    size_t want = left < sizeof(replies) ? left : sizeof(replies);
    assert_int_equal(read_exact(hog, replies, want), (ssize_t)want);
    for (size_t i = 0; i < want; i++) {
      assert_int_equal(replies[i], "ok"[(2 * total - left + i) % 2]);
    }
    left -= want;
  }
  wait_in_syscall(&h, SYS_epoll_wait, SYS_epoll_pwait);
  uint32_t listening = 0;
  uint32_t events = 0;
  assert_int_equal(epoll_interest(&h, &listening, &events), 1);
  assert_int_equal(events & (EPOLLIN | EPOLLOUT), EPOLLIN);
  round_trip(hog, "x", 1);
  assert_int_equal(close(hog), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(h.stats.messages, total + 1);
  finish(&h);
}

/* accept() out of buffers (ENOBUFS) with two clients waiting: the spare descriptor
 * accepts and closes the first, and accepting goes on in the same wakeup (nothing is
 * paused): once the server sleeps again the second client is registered and the listening
 * socket still watched. */
static void test_spare_accept_keeps_accepting(void **state) {
  (void)state;
  faults f;
  faults_init(&f);
  f.accept_err = ENOBUFS;
  f.accept_fails = 1;
  harness h;
  configure(&h, 0, 0, 0);
  h.cfg.transport = &f.t;
  int x1 = connect_client(h.port); /* both queued before the loop runs */
  int x2 = connect_client(h.port);
  start(&h);
  assert_closed_by_server(x1);
  wait_in_syscall(&h, SYS_epoll_wait, SYS_epoll_pwait);
  uint32_t listening = 0;
  uint32_t events = 0;
  assert_int_equal(epoll_interest(&h, &listening, &events), 1);
  assert_true((listening & EPOLLIN) != 0);
  round_trip(x2, "second", 6);
  assert_int_equal(close(x1), 0);
  assert_int_equal(close(x2), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(h.stats.rejected, 1);
  assert_int_equal(h.stats.accepted, 1);
  finish(&h);
}

/* A signal handled while the loop waits in epoll_wait (EINTR) neither stops nor
 * disturbs it: clients are served before and after, and the stop is clean. */
static void test_signal_does_not_stop_loop(void **state) {
  (void)state;
  struct sigaction old;
  assert_int_equal(sc_test_catch_sigusr1(&old), 0);
  harness h;
  configure(&h, 0, 0, 0);
  start(&h);
  int c = connect_client(h.port);
  round_trip(c, "before", 6);
  for (int i = 0; i < 3; i++) {
    wait_in_syscall(&h, SYS_epoll_wait, SYS_epoll_pwait);
    interrupt_server(&h);
    round_trip(c, "after", 5);
  }
  assert_int_equal(shutdown(c, SHUT_WR), 0);
  assert_closed_by_server(c);
  assert_int_equal(close(c), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(h.stats.messages, 4);
  assert_non_null(strstr(h.log_buf, "closed (eof, 4 messages)\n"));
  finish(&h);
  assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
}

/* A client the loop cannot watch (epoll_ctl refuses its descriptor, as it would at
 * max_user_watches) is closed and counted rejected, never leaked or served; the next
 * client is served as usual. */
static void test_unwatchable_client_rejected(void **state) {
  (void)state;
  int fds_before = (int)sc_test_count_fds(NULL);
  faults f;
  faults_init(&f);
  f.unwatchable = 1;
  harness h;
  configure(&h, 0, 0, 0);
  h.cfg.transport = &f.t;
  start(&h);
  int x = connect_client(h.port);
  assert_closed_by_server(x);
  assert_int_equal(close(x), 0);
  int c = connect_client(h.port);
  round_trip(c, "served", 6);
  assert_int_equal(close(c), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(h.stats.rejected, 1);
  assert_int_equal(h.stats.accepted, 1);
  assert_int_equal(h.stats.closed, 1);
  assert_int_equal(f.unwatchable, 0);
  finish(&h);
  assert_int_equal((int)sc_test_count_fds(NULL), fds_before); /* /dev/null closed too */
}

/* accept() out of buffers (ENOBUFS) while descriptor 0 is the lowest free one: the spare
 * descriptor is given up and the waiting client accepted on descriptor 0 and closed
 * (0 is a descriptor like any other), the spare reopened (on 0 now), the loop goes on
 * serving, and at the stop the spare is closed: nothing is left open. */
static void test_out_of_buffers_on_descriptor_zero(void **state) {
  (void)state;
  int saved = dup(STDIN_FILENO);
  assert_true(saved >= 0);
  int fds_before = (int)sc_test_count_fds(NULL);
  faults f;
  faults_init(&f);
  f.accept_err = ENOBUFS;
  harness h;
  configure(&h, 0, 0, 0);
  h.cfg.transport = &f.t;
  start(&h);
  int c = connect_client(h.port);
  round_trip(c, "before", 6);
  /* The socket first: once 0 is closed, the next descriptor this process opens takes it. */
  int x = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(x >= 0);
  struct timeval tv = {.tv_sec = IO_TIMEOUT_S, .tv_usec = 0};
  assert_int_equal(setsockopt(x, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(h.port)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  __atomic_store_n(&f.accept_fails, 1, __ATOMIC_RELEASE);
  assert_int_equal(close(STDIN_FILENO), 0);
  assert_int_equal(connect(x, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_closed_by_server(x);
  assert_int_equal(close(x), 0);
  round_trip(c, "after", 5);
  assert_int_equal(close(c), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(h.stats.rejected, 1);
  assert_int_equal(h.stats.accepted, 1);
  assert_int_equal(f.accept_fails, 0);
  bool zero_open = fcntl(STDIN_FILENO, F_GETFD) >= 0;
  assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
  assert_int_equal(close(saved), 0);
  assert_false(zero_open);
  finish(&h);
  assert_int_equal((int)sc_test_count_fds(NULL), fds_before - 1);
}

static long long monotonic_ms(void) {
  struct timespec t;
  assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t), 0);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Descriptor exhaustion that the spare descriptor cannot relieve (accept fails with EMFILE
 * again after it is given up) pauses accepting for a short time only (server.c: PAUSE_MS,
 * 100 ms): the waiting client is served well within 1 s. The client connects at .93 s of
 * the monotonic clock, so the pause's end falls in the next second (the timespec carry). */
static void test_pause_ends_across_a_second(void **state) {
  (void)state;
  faults f;
  faults_init(&f);
  f.accept_err = EMFILE;
  f.accept_fails = 2;
  harness h;
  configure(&h, 0, 0, 0);
  h.cfg.transport = &f.t;
  start(&h);
  struct timespec at;
  assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &at), 0);
  at.tv_sec += at.tv_nsec < 930000000L ? 0 : 1;
  at.tv_nsec = 930000000L;
  assert_int_equal(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL), 0);
  long long t0 = monotonic_ms();
  int c = connect_client(h.port);
  round_trip(c, "paused", 6);
  long long took = monotonic_ms() - t0;
  assert_int_equal(close(c), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(f.accept_fails, 0);
  assert_int_equal(h.stats.accepted, 1);
  if (took >= 1000) {
    fail_msg("a client waited %lld ms through a pause", took);
  }
  finish(&h);
}

/* A log written directly (a memfd: epoll cannot watch it) one byte per write: each line
 * is written whole, its newline included, when it is logged, not at the next line or the
 * stop. The "connected" line is logged before the client's first message is read, so it
 * is complete once the client has its reply. */
static void test_direct_log_short_writes_whole_lines(void **state) {
  (void)state;
  faults f;
  faults_init(&f);
  f.log_cap = 1;
  harness h;
  configure(&h, 0, 0, 0);
  h.cfg.transport = &f.t;
  start(&h);
  int c = connect_client(h.port);
  round_trip(c, "one", 3);
  sc_addr local;
  assert_int_equal(sc_addr_local(c, &local), 0);
  char want[96];
  int n = snprintf(want, sizeof(want), "client 127.0.0.1:%d connected\n", sc_addr_port(&local));
  char got[96];
  assert_int_equal(pread(h.cfg.log_fd, got, sizeof(got), 0), n);
  assert_memory_equal(got, want, (size_t)n);
  assert_int_equal(close(c), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(strncmp(h.log_buf, want, (size_t)n), 0);
  finish(&h);
}

/* A peer address that cannot be printed (none at all here) is logged as "?". */
static void test_anonymous_peer_logged(void **state) {
  (void)state;
  faults f;
  faults_init(&f);
  f.anonymous = true;
  harness h;
  configure(&h, 0, 0, 0);
  h.cfg.transport = &f.t;
  start(&h);
  int c = connect_client(h.port);
  round_trip(c, "who", 3);
  assert_int_equal(shutdown(c, SHUT_WR), 0);
  assert_closed_by_server(c);
  assert_int_equal(close(c), 0);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_string_equal(h.log_buf, "client ? connected\nclient ? closed (eof, 1 messages)\n");
  finish(&h);
}

/* The log pipe is full from the start (its reader reads nothing) and one client is
 * connected at the stop: the server stops in its log drain, waiting in poll for the
 * reader, with the client's two lines queued. The pipe's capacity is returned. */
static size_t stop_with_log_queued(harness *h, faults *f, int lp[2], int *client) {
  configure(h, 0, 0, 0);
  assert_int_equal(close(h->cfg.log_fd), 0);
  h->memfd_log = false;
  assert_int_equal(pipe2(lp, O_CLOEXEC), 0);
  int cap = fcntl(lp[1], F_SETPIPE_SZ, 4096);
  assert_true(cap >= 4096);
  char *filler = malloc((size_t)cap);
  assert_non_null(filler);
  memset(filler, '#', (size_t)cap);
  filler[cap - 1] = '\n';
  assert_int_equal(write(lp[1], filler, (size_t)cap), cap); /* fits: the pipe is empty */
  free(filler);
  h->cfg.log_fd = lp[1];
  h->cfg.transport = &f->t;
  start(h);
  *client = connect_client(h->port);
  round_trip(*client, "q", 1);
  request_stop(h);
  wait_in_syscall(h, SYS_poll, SYS_ppoll);
  return (size_t)cap;
}

/* A signal during the stop's log drain (poll returns EINTR) does not end the drain:
 * the loop waits again, and once the reader reads it gets every queued line. */
static void test_log_drain_survives_signal(void **state) {
  (void)state;
  struct sigaction old;
  assert_int_equal(sc_test_catch_sigusr1(&old), 0);
  faults f;
  faults_init(&f);
  harness h;
  int lp[2];
  int c = -1;
  size_t cap = stop_with_log_queued(&h, &f, lp, &c);
  interrupt_server(&h);
  wait_in_syscall(&h, SYS_poll, SYS_ppoll); /* waiting again, nothing dropped */
  char *log = NULL;
  size_t len = 0;
  read_until(lp[0], &log, &len, "closed (server stopping)\n");
  join(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(h.stats.log_dropped, 0);
  struct sockaddr_in me;
  socklen_t alen = sizeof(me);
  assert_int_equal(getsockname(c, (struct sockaddr *)&me, &alen), 0);
  char want[128];
  (void)snprintf(want, sizeof(want),
                 "client 127.0.0.1:%u connected\nclient 127.0.0.1:%u closed (server stopping)\n",
                 ntohs(me.sin_port), ntohs(me.sin_port));
  assert_true(len >= cap);
  assert_string_equal(log + cap, want);
  assert_closed_by_server(c);
  assert_int_equal(close(c), 0);
  assert_int_equal(close(lp[0]), 0);
  assert_int_equal(close(lp[1]), 0);
  free(log);
  finish(&h);
  assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
}

/* The log's reader leaves during the stop's log drain: the drain ends at once
 * without writing to the dead pipe (no EPIPE, no SIGPIPE), the queued lines
 * counted dropped. */
static void test_log_drain_reader_gone(void **state) {
  (void)state;
  struct sigaction ign;
  struct sigaction old;
  memset(&ign, 0, sizeof(ign));
  ign.sa_handler = SIG_IGN; /* a planted write to the dead pipe fails the test, not the run */
  assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
  faults f;
  faults_init(&f);
  harness h;
  int lp[2];
  int c = -1;
  (void)stop_with_log_queued(&h, &f, lp, &c);
  unsigned long writes = log_writes(&f);
  assert_int_equal(close(lp[0]), 0);
  join(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(h.stats.log_dropped, 2);
  assert_int_equal(log_writes(&f), writes);
  assert_int_equal(close(c), 0);
  assert_int_equal(close(lp[1]), 0);
  finish(&h);
  assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
}

/* A log written directly (a regular file here) that keeps refusing (EAGAIN): the
 * lines wait, the stop tries once more and gives up, counting them dropped; it
 * never spins on the refusal. */
static void test_log_direct_refusing_at_stop(void **state) {
  (void)state;
  faults f;
  faults_init(&f);
  f.log_err = EAGAIN;
  harness h;
  configure(&h, 0, 0, 0);
  h.cfg.transport = &f.t;
  start(&h);
  int c = connect_client(h.port);
  round_trip(c, "x", 1);
  stop(&h);
  assert_int_equal(h.rc, 0);
  assert_int_equal(h.stats.log_dropped, 2);
  assert_int_equal(h.log_len, 0);
  /* One try per line as it was queued, one at the stop. */
  assert_int_equal(log_writes(&f), 3);
  assert_int_equal(close(c), 0);
  finish(&h);
}

/* What the loop cannot set up is returned, nothing left open: a receive buffer or a log
 * buffer it cannot allocate (-ENOMEM), a log descriptor that is the listening socket
 * (epoll already watches it: -EEXIST), no descriptor left for epoll (-EMFILE). */
static void test_setup_failures(void **state) {
  (void)state;
  int fds_before = (int)sc_test_count_fds(NULL);
  harness h;
  configure(&h, 0, 0, 0);
  request_stop(&h); /* a loop that wrongly started stops at once (rc 0), never hangs */
  sc_server_config cfg = h.cfg;
  sc_server_stats st;
  cfg.recv_buf = SIZE_MAX;
  assert_int_equal(sc_server_run(&cfg, &st), -ENOMEM);
  cfg = h.cfg;
  cfg.log_buf = SIZE_MAX;
  assert_int_equal(sc_server_run(&cfg, &st), -ENOMEM);
  cfg = h.cfg;
  cfg.log_fd = cfg.listen_fd;
  assert_int_equal(sc_server_run(&cfg, &st), -EEXIST);
  assert_int_equal(st.accepted + st.closed + st.log_dropped, 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (!limit_fds(0)) {
      _exit(3);
    }
    _exit(sc_server_run(&h.cfg, &st) == -EMFILE ? 0 : 1);
  }
  assert_int_equal(wait_child(pid), 0);
  h.memfd_log = false;
  assert_int_equal(close(h.cfg.log_fd), 0);
  assert_int_equal(close(h.cfg.listen_fd), 0);
  assert_int_equal(close(h.stop[0]), 0);
  assert_int_equal(close(h.stop[1]), 0);
  assert_int_equal((int)sc_test_count_fds(NULL), fds_before);
}

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

/* ASan ends the process on an allocation it cannot make; test_setup_failures needs
 * malloc's NULL, as the server gets it without ASan. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "allocator_may_return_null=1";
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
      cmocka_unit_test(test_backpressure_ends_with_input_interest),
      cmocka_unit_test(test_clean_stop),
      cmocka_unit_test(test_emfile),
      cmocka_unit_test(test_log_pipe_never_read),
      cmocka_unit_test(test_log_socket_never_read),
      cmocka_unit_test(test_log_reader_gone),
      cmocka_unit_test(test_log_on_descriptor_zero),
      cmocka_unit_test(test_stop_on_descriptor_zero),
      cmocka_unit_test(test_signal_does_not_stop_loop),
      cmocka_unit_test(test_unwatchable_client_rejected),
      cmocka_unit_test(test_out_of_buffers_on_descriptor_zero),
      cmocka_unit_test(test_pause_ends_across_a_second),
      cmocka_unit_test(test_spare_accept_keeps_accepting),
      cmocka_unit_test(test_direct_log_short_writes_whole_lines),
      cmocka_unit_test(test_anonymous_peer_logged),
      cmocka_unit_test(test_log_drain_survives_signal),
      cmocka_unit_test(test_log_drain_reader_gone),
      cmocka_unit_test(test_log_direct_refusing_at_stop),
      cmocka_unit_test(test_setup_failures),
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
