/* Runs the built programs from $SC_BIN_DIR: usage and exit codes (SRV-1),
 * the ok-server's readiness line, client report and "ok" (SRV-2, SRV-3), clean
 * stop on SIGTERM, the UDP client/server pair (CLI-1, SEND-3, RECV-3) and the
 * socketpair demo (PAIR-1..4). Every wait is bounded (poll with a deadline, a
 * pidfd for exits); nothing sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 10000
#define CAP (256 * 1024)

extern char **environ;

typedef struct proc {
  pid_t pid;
  int out;
  int err;
  char obuf[CAP + 1];
  size_t olen;
  size_t oread; /* bytes of obuf already returned as lines */
  char ebuf[CAP + 1];
  size_t elen;
} proc;

static const char *bin_dir(void) {
  const char *d = getenv("SC_BIN_DIR");
  if (d == NULL) {
    fail_msg("SC_BIN_DIR is not set (run through ctest)");
  }
  return d;
}

static long long now_ms(void) {
  struct timespec ts;
  assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts $SC_BIN_DIR/sockcheck-NAME with args (NULL-terminated); its stdin reads `input`
 * (a memfd holding the text), or is this process's stdin when input is NULL. */
static proc *spawn_in(const char *name, const char *const *args, const char *input) {
  proc *p = calloc(1, sizeof(*p));
  assert_non_null(p);
  char path[4096];
  int n = snprintf(path, sizeof(path), "%s/sockcheck-%s", bin_dir(), name);
  assert_true(n > 0 && (size_t)n < sizeof(path));
  const char *argv[16];
  size_t argc = 0;
  argv[argc++] = path;
  for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
    assert_true(argc < 15);
    argv[argc++] = args[i];
  }
  argv[argc] = NULL;
  int o[2];
  int e[2];
  assert_int_equal(pipe2(o, O_CLOEXEC), 0);
  assert_int_equal(pipe2(e, O_CLOEXEC), 0);
  int in = -1;
  if (input != NULL) {
    size_t len = strlen(input);
    in = memfd_create("sockcheck-test-stdin", MFD_CLOEXEC);
    assert_true(in >= 0);
    assert_int_equal(write(in, input, len), (ssize_t)len);
    assert_int_equal(lseek(in, 0, SEEK_SET), 0);
  }
  posix_spawn_file_actions_t fa;
  assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
  assert_int_equal(posix_spawn_file_actions_adddup2(&fa, o[1], 1), 0);
  assert_int_equal(posix_spawn_file_actions_adddup2(&fa, e[1], 2), 0);
  if (in >= 0) {
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, in, 0), 0);
  }
  int rc = posix_spawn(&p->pid, path, &fa, NULL, (char *const *)argv, environ);
  assert_int_equal(posix_spawn_file_actions_destroy(&fa), 0);
  if (in >= 0) {
    assert_int_equal(close(in), 0);
  }
  if (rc != 0) {
    fail_msg("cannot start %s: %s", path, strerror(rc));
  }
  assert_int_equal(close(o[1]), 0);
  assert_int_equal(close(e[1]), 0);
  p->out = o[0];
  p->err = e[0];
  return p;
}

static proc *spawn(const char *name, const char *const *args) {
  return spawn_in(name, args, NULL);
}

/* Reads whatever is available from both pipes, waiting at most until deadline.
 * Returns false once both pipes are at EOF. */
static bool pump(proc *p, long long deadline) {
  struct pollfd fds[2] = {{.fd = p->out, .events = POLLIN}, {.fd = p->err, .events = POLLIN}};
  long long left = deadline - now_ms();
  if (left < 0) {
    left = 0;
  }
  int r = poll(fds, 2, (int)left);
  assert_true(r >= 0 || errno == EINTR);
  for (int i = 0; i < 2 && r > 0; i++) {
    if (fds[i].revents == 0 || fds[i].fd < 0) {
      continue;
    }
    char *buf = i == 0 ? p->obuf : p->ebuf;
    size_t *len = i == 0 ? &p->olen : &p->elen;
    ssize_t n = read(fds[i].fd, buf + *len, CAP - *len);
    assert_true(n >= 0);
    *len += (size_t)n;
    buf[*len] = '\0';
    if (n == 0 || *len == CAP) {
      assert_int_equal(close(fds[i].fd), 0);
      if (i == 0) {
        p->out = -1;
      } else {
        p->err = -1;
      }
    }
  }
  return p->out >= 0 || p->err >= 0;
}

/* Returns the next stdout line (without '\n', in a static buffer), failing the
 * test if none arrives within TIMEOUT_MS. */
static const char *next_line(proc *p) {
  static char line[CAP + 1];
  long long deadline = now_ms() + TIMEOUT_MS;
  for (;;) {
    char *start = p->obuf + p->oread;
    char *nl = memchr(start, '\n', p->olen - p->oread);
    if (nl != NULL) {
      size_t n = (size_t)(nl - start);
      memcpy(line, start, n);
      line[n] = '\0';
      p->oread += n + 1;
      return line;
    }
    if (p->out < 0 || now_ms() >= deadline) {
      fail_msg("no line on stdout (got so far: \"%s\", stderr: \"%s\")", start, p->ebuf);
    }
    (void)pump(p, deadline);
  }
}

/* Collects all output and waits for exit (bounded; killed after TIMEOUT_MS).
 * Returns the exit status (0..255) and frees nothing: call done() after. */
static int wait_exit(proc *p) {
  long long deadline = now_ms() + TIMEOUT_MS;
  while (now_ms() < deadline && pump(p, deadline)) {
  }
  int pfd = pidfd_open(p->pid, 0);
  assert_true(pfd >= 0);
  struct pollfd w = {.fd = pfd, .events = POLLIN};
  long long left = deadline - now_ms();
  int r = poll(&w, 1, left > 0 ? (int)left : 0);
  assert_int_equal(close(pfd), 0);
  int status = 0;
  if (r != 1) {
    (void)kill(p->pid, SIGKILL);
    (void)waitpid(p->pid, &status, 0);
    fail_msg("program did not exit in time (stdout: \"%s\")", p->obuf);
  }
  assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
  if (!WIFEXITED(status)) {
    fail_msg("program killed by signal %d (stderr: \"%s\")", WTERMSIG(status), p->ebuf);
  }
  return WEXITSTATUS(status);
}

static void done(proc *p) {
  if (p->out >= 0) {
    (void)close(p->out);
  }
  if (p->err >= 0) {
    (void)close(p->err);
  }
  free(p);
}

/* Runs a short-lived program to the end, its stdin reading input (NULL: ours); returns its exit
 * code. */
static int run_in(const char *name, const char *const *args, const char *input, proc **out) {
  proc *p = spawn_in(name, args, input);
  int code = wait_exit(p);
  *out = p;
  return code;
}

static int run(const char *name, const char *const *args, proc **out) {
  proc *p = spawn(name, args);
  int code = wait_exit(p);
  *out = p;
  return code;
}

static void expect_usage_error(const char *name, const char *const *args) {
  proc *p = NULL;
  int code = run(name, args, &p);
  if (code != 2) {
    fail_msg("%s %s: exit %d, want 2 (stderr: \"%s\")", name, args[0] ? args[0] : "", code,
             p->ebuf);
  }
  assert_non_null(strstr(p->ebuf, "usage:"));
  assert_int_equal(p->olen, 0);
  done(p);
}

/* SRV-1: no port -> usage and a non-zero exit; other bad input -> exit 2. */
static void test_ok_server_usage(void **state) {
  (void)state;
  static const char *const none[] = {NULL};
  static const char *const abc[] = {"abc", NULL};
  static const char *const big[] = {"70000", NULL};
  static const char *const neg[] = {"-1", NULL};
  static const char *const unk[] = {"0", "--frobnicate", NULL};
  static const char *const bind_bad[] = {"0", "--bind", "not-an-address", NULL};
  static const char *const two[] = {"1", "2", NULL};
  static const char *const cap_bad[] = {"0", "--max-conns", "x", NULL};
  static const char *const miss[] = {"0", "--bind", NULL};
  static const char *const clash[] = {"0", "--bind", "127.0.0.1:5", NULL};
  const char *const *cases[] = {none, abc, big, neg, unk, bind_bad, two, cap_bad, miss, clash};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    expect_usage_error("ok-server", cases[i]);
  }
  static const char *const help[] = {"--help", NULL};
  proc *p = NULL;
  assert_int_equal(run("ok-server", help, &p), 0);
  assert_non_null(strstr(p->obuf, "usage: sockcheck-ok-server PORT"));
  done(p);
}

static uint16_t parse_listening(const char *line, const char *host) {
  char want[64];
  (void)snprintf(want, sizeof(want), "listening on %s:", host);
  if (strncmp(line, want, strlen(want)) != 0) {
    fail_msg("want \"%s...\", got \"%s\"", want, line);
  }
  long port = strtol(line + strlen(want), NULL, 10);
  assert_true(port > 0 && port < 65536);
  return (uint16_t)port;
}

static int tcp_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct timeval tv = {.tv_sec = TIMEOUT_MS / 1000, .tv_usec = 0};
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  return fd;
}

static uint16_t local_port(int fd) {
  struct sockaddr_in sin;
  socklen_t len = sizeof(sin);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
  return ntohs(sin.sin_port);
}

/* SRV-2, SRV-3, SRV-4 end to end; SIGTERM stops it with exit 0, stderr clean. */
static void test_ok_server_session(void **state) {
  (void)state;
  static const char *const args[] = {"0", NULL};
  proc *p = spawn("ok-server", args);
  uint16_t port = parse_listening(next_line(p), "0.0.0.0");
  int c = tcp_connect(port);
  uint16_t cport = local_port(c);
  char want[64];
  (void)snprintf(want, sizeof(want), "client 127.0.0.1:%u connected", cport);
  assert_string_equal(next_line(p), want);
  static const char msg[] = "hello\0world";
  for (int i = 0; i < 5; i++) {
    assert_int_equal(send(c, msg, sizeof(msg), MSG_NOSIGNAL), (ssize_t)sizeof(msg));
    char ok[2];
    assert_int_equal(recv(c, ok, 2, MSG_WAITALL), 2);
    assert_memory_equal(ok, "ok", 2);
  }
  assert_int_equal(close(c), 0);
  (void)snprintf(want, sizeof(want), "client 127.0.0.1:%u closed (eof, 5 messages)", cport);
  assert_string_equal(next_line(p), want);
  assert_int_equal(kill(p->pid, SIGTERM), 0);
  assert_int_equal(wait_exit(p), 0);
  assert_string_equal(p->ebuf, "");
  done(p);
}

/* The ok-server's stdout is a pipe (shrunk to 4 KiB) that nobody reads while
 * 500 clients come and go, 40 messages each (20000 round trips, each bounded by
 * the socket timeout): the server keeps answering. Then the reader reads: every
 * line arrives or is counted in a "N log lines dropped" notice, and SIGTERM
 * still ends the server with exit 0. (Before the fix, the blocking log write stalled
 * the whole server once the pipe was full: the first round trip after that
 * timed out.) */
static void test_ok_server_log_never_read(void **state) {
  (void)state;
  static const char *const args[] = {"0", "--bind", "127.0.0.1", NULL};
  proc *p = spawn("ok-server", args);
  uint16_t port = parse_listening(next_line(p), "127.0.0.1");
  assert_true(fcntl(p->out, F_SETPIPE_SZ, 4096) >= 4096);
  enum { CONNS = 500, MSGS = 40 };
  for (int i = 0; i < CONNS; i++) {
    int c = tcp_connect(port);
    struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
    assert_int_equal(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    for (int m = 0; m < MSGS; m++) {
      assert_int_equal(send(c, "ping", 4, MSG_NOSIGNAL), 4);
      char ok[2];
      ssize_t n = recv(c, ok, 2, MSG_WAITALL);
      if (n != 2) {
        fail_msg("client %d message %d: no reply (%s)", i, m, n < 0 ? strerror(errno) : "eof");
      }
      assert_memory_equal(ok, "ok", 2);
    }
    assert_int_equal(close(c), 0);
  }
  /* The reader reads: every connect and close is there, or counted in a
   * "N log lines dropped" notice (the server buffers 64 KiB of log). */
  long long deadline = now_ms() + TIMEOUT_MS;
  unsigned long long accounted = 0;
  while (accounted < 2 * CONNS) {
    if (now_ms() >= deadline || !pump(p, deadline)) {
      fail_msg("%llu of %d log lines accounted for (stdout ends \"%s\")", accounted, 2 * CONNS,
               p->olen > 200 ? p->obuf + p->olen - 200 : p->obuf);
    }
    accounted = 0;
    for (const char *l = p->obuf; *l != '\0';) {
      const char *nl = strchr(l, '\n');
      if (nl == NULL) {
        break;
      }
      unsigned long long n = 0;
      if (strncmp(l, "client 127.0.0.1:", 17) == 0) {
        accounted++;
      } else if (sscanf(l, "%llu log lines dropped", &n) == 1) {
        accounted += n;
      } else if (strncmp(l, "listening on ", 13) != 0) {
        fail_msg("unexpected line \"%.*s\"", (int)(nl - l), l);
      }
      l = nl + 1;
    }
  }
  assert_int_equal(accounted, 2 * CONNS);
  assert_int_equal(kill(p->pid, SIGTERM), 0);
  assert_int_equal(wait_exit(p), 0);
  assert_string_equal(p->ebuf, "");
  done(p);
}

/* --bind takes a host or a whole address (its port 0 or PORT itself). */
static void test_ok_server_bind_forms(void **state) {
  (void)state;
  static const char *const whole[] = {"0", "--bind", "127.0.0.1:0", NULL};
  static const char *const v6[] = {"0", "--bind", "::1", NULL};
  static const char *const local[] = {"0", "--bind", "localhost", "--max-conns", "4", NULL};
  const char *const *cases[] = {whole, v6, local};
  const char *hosts[] = {"127.0.0.1", "[::1]", "127.0.0.1"};
  for (size_t i = 0; i < 3; i++) {
    proc *p = spawn("ok-server", cases[i]);
    (void)parse_listening(next_line(p), hosts[i]);
    assert_int_equal(kill(p->pid, SIGINT), 0);
    assert_int_equal(wait_exit(p), 0);
    done(p);
  }
}

/* Port in use: a runtime failure, exit 1 with the call and reason. */
static void test_ok_server_port_in_use(void **state) {
  (void)state;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
  sin.sin_addr.s_addr = htonl(INADDR_ANY);
  assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_int_equal(listen(fd, 1), 0);
  char port[16];
  (void)snprintf(port, sizeof(port), "%u", local_port(fd));
  const char *const args[] = {port, NULL};
  proc *p = NULL;
  assert_int_equal(run("ok-server", args, &p), 1);
  char want[96];
  (void)snprintf(want, sizeof(want), "sockcheck-ok-server: bind 0.0.0.0:%s: address already in use",
                 port);
  assert_non_null(strstr(p->ebuf, want));
  done(p);
  assert_int_equal(close(fd), 0);
}

static void test_udp_usage(void **state) {
  (void)state;
  static const char *const bad_port[] = {"--port", "99999", NULL};
  static const char *const extra[] = {"stray", NULL};
  static const char *const bad_count[] = {"--count", "-3", NULL};
  expect_usage_error("udp-server", bad_port);
  expect_usage_error("udp-server", extra);
  expect_usage_error("udp-server", bad_count);
  static const char *const odd_hex[] = {"--hex", "abc", NULL};
  static const char *const bad_hex[] = {"--hex", "zz", NULL};
  static const char *const both[] = {"--hex", "00", "text", NULL};
  static const char *const bad_host[] = {"--host", "example..com", NULL};
  expect_usage_error("udp-client", bad_port);
  expect_usage_error("udp-client", odd_hex);
  expect_usage_error("udp-client", bad_hex);
  expect_usage_error("udp-client", both);
  expect_usage_error("udp-client", bad_host);
}

static void send_with_client(const char *const *args, const char *want_line) {
  proc *c = NULL;
  int code = run("udp-client", args, &c);
  if (code != 0) {
    fail_msg("udp-client exit %d (stderr: \"%s\")", code, c->ebuf);
  }
  char line[128];
  (void)snprintf(line, sizeof(line), "%s\n", want_line);
  assert_string_equal(c->obuf, line);
  done(c);
}

/* CLI-1, SEND-3, RECV-3: client -> server, bytes shown exactly and safely. */
static void test_udp_round_trip(void **state) {
  (void)state;
  static const char *const sargs[] = {"--port", "0", "--bind", "127.0.0.1", "--count", "4", NULL};
  proc *s = spawn("udp-server", sargs);
  uint16_t port = parse_listening(next_line(s), "127.0.0.1");
  char ptext[16];
  (void)snprintf(ptext, sizeof(ptext), "%u", port);
  char want[128];

  const char *const a1[] = {"--port", ptext, NULL};
  (void)snprintf(want, sizeof(want), "sent 11 bytes to 127.0.0.1:%u", port);
  send_with_client(a1, want);
  const char *line = next_line(s);
  assert_non_null(strstr(line, " len=11 data=hello world"));
  assert_true(strncmp(line, "from 127.0.0.1:", 15) == 0);

  const char *const a2[] = {"--port", ptext, "--sendmsg", NULL};
  (void)snprintf(want, sizeof(want), "sent 15 bytes to 127.0.0.1:%u", port);
  send_with_client(a2, want);
  assert_non_null(strstr(next_line(s), " len=15 data=Hello, sendmsg!"));

  const char *const a3[] = {"--port", ptext, "--hex", "00ff5c0a41", NULL};
  (void)snprintf(want, sizeof(want), "sent 5 bytes to 127.0.0.1:%u", port);
  send_with_client(a3, want);
  assert_non_null(strstr(next_line(s), " len=5 data=\\x00\\xff\\\\\\nA"));

  const char *const a4[] = {"--host", "localhost", "--port", ptext, "--hex", "", NULL};
  (void)snprintf(want, sizeof(want), "sent 0 bytes to 127.0.0.1:%u", port);
  send_with_client(a4, want);
  line = next_line(s);
  assert_non_null(strstr(line, " len=0 data="));
  assert_int_equal(line[strlen(line) - 1], '=');

  assert_int_equal(wait_exit(s), 0);
  assert_string_equal(s->ebuf, "");
  done(s);
}

/* The largest IPv4 UDP payload (65507 bytes) goes through whole; SIGTERM
 * stops the server cleanly. */
static void test_udp_max_datagram(void **state) {
  (void)state;
  static const char *const sargs[] = {"--port", "0", "--bind", "127.0.0.1", NULL};
  proc *s = spawn("udp-server", sargs);
  uint16_t port = parse_listening(next_line(s), "127.0.0.1");
  char ptext[16];
  (void)snprintf(ptext, sizeof(ptext), "%u", port);
  enum { MAX = 65507 };
  char *hex = malloc(2 * MAX + 1);
  assert_non_null(hex);
  for (size_t i = 0; i < MAX; i++) {
    hex[2 * i] = '4';
    hex[2 * i + 1] = '1'; /* 'A' */
  }
  hex[2 * MAX] = '\0';
  const char *const a[] = {"--port", ptext, "--sendmsg", "--hex", hex, NULL};
  char want[64];
  (void)snprintf(want, sizeof(want), "sent %d bytes to 127.0.0.1:%u", MAX, port);
  send_with_client(a, want);
  free(hex);
  const char *line = next_line(s);
  assert_non_null(strstr(line, " len=65507 data=AAAA"));
  assert_int_equal(strlen(strstr(line, "data=")), 5 + MAX);
  assert_int_equal(kill(s->pid, SIGTERM), 0);
  assert_int_equal(wait_exit(s), 0);
  done(s);
}

/* The UDP server's stdout reader goes away: the failed write is reported as
 * such ("stdout: ..."), not as a recvmsg failure, and the exit code is 1. */
static void test_udp_server_stdout_gone(void **state) {
  (void)state;
  static const char *const sargs[] = {"--port", "0", "--bind", "127.0.0.1", NULL};
  proc *s = spawn("udp-server", sargs);
  uint16_t port = parse_listening(next_line(s), "127.0.0.1");
  assert_int_equal(close(s->out), 0);
  s->out = -1;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(sendto(fd, "x", 1, 0, (struct sockaddr *)&sin, sizeof(sin)), 1);
  assert_int_equal(close(fd), 0);
  assert_int_equal(wait_exit(s), 1);
  if (strstr(s->ebuf, "sockcheck-udp-server: stdout: ") == NULL) {
    fail_msg("stderr \"%s\" does not name stdout", s->ebuf);
  }
  done(s);
}

/* Bad probe scripts are usage errors (exit 2), never a crash: a key given
 * twice whose second value is bad used to leave a freed pointer behind, freed
 * again at exit (double free). */
static void test_probe_repeated_key(void **state) {
  (void)state;
  static const char *const iov[] = {"pair", "unix",  "stream", "--", "send",
                                    "0",    "iov=5", "iov=x",  NULL};
  static const char *const data[] = {"pair", "unix",    "stream", "--", "send",
                                     "0",    "data=00", "data=0", NULL};
  expect_usage_error("probe", iov);
  expect_usage_error("probe", data);
}

/* A forksend child blocked in a send (its peer never reads) ends with the
 * script's time limit: the probe's output reaches EOF and it exits 1 (timed
 * out) within a bound, instead of the child holding stdout open forever. */
static void test_probe_forksend_time_limit(void **state) {
  (void)state;
  static const char *const args[] = {"--timeout", "1",    "pair", "unix",         "stream",
                                     "--",        "pair", "unix", "stream",       "--",
                                     "forksend",  "0",    "2",    "len=10000000", NULL};
  long long start = now_ms();
  proc *p = NULL;
  int code = run("probe", args, &p);
  long long took = now_ms() - start;
  assert_int_equal(code, 1);
  if (p->out >= 0 || took > 5000) {
    fail_msg("probe output still open after %lld ms", took);
  }
  assert_non_null(strstr(p->ebuf, "timed out"));
  done(p);
}

/* --batch exits with the worst status of its scripts: 2 (a script that cannot run, an empty
 * line among them) over 1 (a script that failed or timed out) over 0, in any order. An empty
 * line after a timed-out script used to leave the exit status at 1. */
static void test_probe_batch_exit_is_the_worst(void **state) {
  (void)state;
  static const char *const args[] = {"--timeout", "1", "--batch", NULL};
  static const struct {
    const char *input;
    int code;
  } cases[] = {
      {"pair unix stream -- recv 0 iov=4\n", 1},
      {"pair unix stream -- recv 0 iov=4\n\n", 2},
      {"\npair unix stream -- recv 0 iov=4\n", 2},
      {"pair unix stream -- recv 0 iov=4\npair unix nosuchkind\n", 2},
      {"pair unix stream\npair unix stream\n", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    proc *p = NULL;
    int code = run_in("probe", args, cases[i].input, &p);
    if (code != cases[i].code) {
      fail_msg("case %zu: exit %d, want %d (stdout: \"%s\")", i, code, cases[i].code, p->obuf);
    }
    done(p);
  }
}

/* The fd number a batch line reports for a script's step, or -1. */
static long step_ret(const char *out, int script, int step) {
  char key[96];
  snprintf(key, sizeof key, "{\"script\":%d,\"step\":%d,", script, step);
  const char *at = strstr(out, key);
  at = at != NULL ? strstr(at, "\"ret\":") : NULL;
  return at != NULL ? strtol(at + 6, NULL, 10) : -1;
}

/* Scripts that share a child each start as a fresh child would: the descriptors of
 * the scripts before them are gone (a socket gets the same number), and a script that
 * ends the child (here by its time limit) fails alone; the next runs in a new child. */
static void test_probe_batch_shared_child(void **state) {
  (void)state;
  static const char *const args[] = {"--timeout", "1", "--batch", NULL};
  static const char input[] =
      "pair unix stream -- socket inet dgram\n"
      "pair unix stream -- socket inet dgram\n"
      "pair unix stream -- recv 0 iov=4\n"
      "pair unix stream -- socket inet dgram\n";
  proc *p = NULL;
  assert_int_equal(run_in("probe", args, input, &p), 1);
  long first = step_ret(p->obuf, 0, 1);
  assert_true(first >= 3);
  for (int k = 1; k <= 3; k += 2) {
    if (step_ret(p->obuf, k, 1) != first) {
      fail_msg("script %d's socket is fd %ld, the first's %ld: %s", k, step_ret(p->obuf, k, 1),
               first, p->obuf);
    }
  }
  assert_non_null(
      strstr(p->obuf, "{\"script\":2,\"step\":-1,\"call\":\"end\",\"status\":\"timeout\""));
  assert_non_null(strstr(p->obuf, "{\"script\":3,\"step\":-1,\"call\":\"end\",\"status\":\"ok\"}"));
  done(p);
}

/* PAIR-1..3: the documented lines, in order. */
static void test_pair_demo(void **state) {
  (void)state;
  proc *p = NULL;
  assert_int_equal(run("pair", NULL, &p), 0);
  assert_string_equal(p->obuf,
                      "socketpair(AF_UNIX, SOCK_STREAM, 0): ok\n"
                      "sv[0] -> sv[1]: 16 bytes \"SOCKET PAIR TEST\"\n"
                      "sv[0] reads its own end: EAGAIN (nothing to read)\n"
                      "sv[1] -> sv[0]: 16 bytes \"SOCKET PAIR TEST\"\n"
                      "sv[1] reads its own end: EAGAIN (nothing to read)\n");
  done(p);
}

/* PAIR-4: across fork, 6 bytes "hello\0"; the child's exit is checked. */
static void test_pair_fork(void **state) {
  (void)state;
  static const char *const args[] = {"--fork", NULL};
  proc *p = NULL;
  assert_int_equal(run("pair", args, &p), 0);
  assert_string_equal(p->obuf,
                      "socketpair(AF_UNIX, SOCK_STREAM, 0): ok\n"
                      "child sent 6 bytes\n"
                      "parent received 6 bytes: \"hello\"\n"
                      "child exited with status 0\n");
  done(p);
  static const char *const bad[] = {"--bogus", NULL};
  expect_usage_error("pair", bad);
  /* The argument named is the wrong one, not the valid option before it. */
  static const char *const extra[] = {"--fork", "extra", NULL};
  p = NULL;
  assert_int_equal(run("pair", extra, &p), 2);
  assert_non_null(strstr(p->ebuf, "unexpected argument: extra\n"));
  done(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ok_server_usage),
      cmocka_unit_test(test_ok_server_session),
      cmocka_unit_test(test_ok_server_log_never_read),
      cmocka_unit_test(test_ok_server_port_in_use),
      cmocka_unit_test(test_ok_server_bind_forms),
      cmocka_unit_test(test_udp_usage),
      cmocka_unit_test(test_udp_round_trip),
      cmocka_unit_test(test_udp_max_datagram),
      cmocka_unit_test(test_udp_server_stdout_gone),
      cmocka_unit_test(test_probe_repeated_key),
      cmocka_unit_test(test_probe_forksend_time_limit),
      cmocka_unit_test(test_probe_batch_exit_is_the_worst),
      cmocka_unit_test(test_probe_batch_shared_child),
      cmocka_unit_test(test_pair_demo),
      cmocka_unit_test(test_pair_fork),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
