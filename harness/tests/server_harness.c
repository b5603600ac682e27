/* The server harness shared by the ok-server's unit tests (server_harness.h). */
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

static void *server_thread(void *arg) {
  harness *h = arg;
  __atomic_store_n(&h->tid, gettid(), __ATOMIC_RELEASE);
  h->rc = sc_server_run(&h->cfg, &h->stats);
  return NULL;
}

int listen_local(uint16_t *port) {
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

void configure(harness *h, size_t max_conns, size_t out_limit, size_t recv_buf) {
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
void read_log(harness *h) {
  off_t end = lseek(h->cfg.log_fd, 0, SEEK_END);
  assert_true(end >= 0);
  h->log_len = (size_t)end;
  h->log_buf = malloc(h->log_len + 1);
  assert_non_null(h->log_buf);
  assert_int_equal(pread(h->cfg.log_fd, h->log_buf, h->log_len, 0), (ssize_t)h->log_len);
  h->log_buf[h->log_len] = '\0';
}

void start(harness *h) {
  assert_int_equal(pthread_create(&h->thread, NULL, server_thread, h), 0);
}

void request_stop(harness *h) {
  assert_int_equal(write(h->stop[1], "x", 1), 1);
}

/* Joins (bounded) and closes the harness's descriptors. */
void join(harness *h) {
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
void stop(harness *h) {
  request_stop(h);
  join(h);
}

void finish(harness *h) {
  free(h->log_buf);
}

int connect_client(uint16_t port) {
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
ssize_t read_exact(int fd, char *buf, size_t len) {
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
void round_trip(int fd, const char *msg, size_t len) {
  assert_int_equal(send(fd, msg, len, MSG_NOSIGNAL), (ssize_t)len);
  char ok[2];
  assert_int_equal(read_exact(fd, ok, 2), 2);
  assert_memory_equal(ok, "ok", 2);
}

/* The server closed this client: EOF or a reset, within the timeout. */
void assert_closed_by_server(int fd) {
  char b[16];
  ssize_t n = read_exact(fd, b, sizeof(b));
  assert_true(n == 0 || n == -ECONNRESET);
}

/* Connects a client that sends without reading its replies until the server holds it
 * by backpressure (no room to send for 200 ms; 64 MiB at most). Returns the client (left
 * non-blocking) and the bytes it sent in *total. */
int connect_hog(const harness *h, size_t *total) {
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

/* In a forked child: fills the holes below the highest descriptor, then sets
 * RLIMIT_NOFILE so that exactly `room` more can be opened. False if it could not. */
bool limit_fds(int room) {
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
int wait_child(pid_t pid) {
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

/* Appends what fd holds to *acc (NUL-terminated), waiting at most wait_ms for
 * the first byte. Returns the bytes read; 0 on timeout; -1 at EOF. */
ssize_t read_some(int fd, char **acc, size_t *len, int wait_ms) {
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
void read_until(int fd, char **acc, size_t *len, const char *text) {
  while (*acc == NULL || strstr(*acc, text) == NULL) {
    ssize_t n = read_some(fd, acc, len, IO_TIMEOUT_S * 1000);
    if (n <= 0) {
      fail_msg("log never showed \"%s\" (%s)", text, n == 0 ? "timeout" : "EOF");
    }
  }
}
