/* sockcheck-pair [--fork]
 *
 * The socketpair demo (PAIR-1..4), ordered by the protocol (blocking reads and
 * EOF), never by sleeping. Output on stdout, exactly these lines.
 * Without --fork (PAIR-1..3):
 *   socketpair(AF_UNIX, SOCK_STREAM, 0): ok
 *   sv[0] -> sv[1]: 16 bytes "SOCKET PAIR TEST"
 *   sv[0] reads its own end: EAGAIN (nothing to read)
 *   sv[1] -> sv[0]: 16 bytes "SOCKET PAIR TEST"
 *   sv[1] reads its own end: EAGAIN (nothing to read)
 * (each "->" line is printed after the peer read the bytes; the EAGAIN lines
 * are checked while the bytes are still queued for the peer.)
 * With --fork (PAIR-4):
 *   socketpair(AF_UNIX, SOCK_STREAM, 0): ok
 *   child sent 6 bytes
 *   parent received 6 bytes: "hello"
 *   child exited with status 0
 * The child closes sv[0] and sends "hello" + NUL on sv[1]; the parent closes
 * sv[1] and reads until it has 6 bytes or EOF; a child that does not exit within
 * 10 s is killed. Exit 0 only if every step matched; otherwise a line
 * "sockcheck-pair: STEP: MESSAGE" on stderr and exit 1; bad usage: exit 2. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "sockcheck/error.h"
#include "sockcheck/msg.h"
#include "sockcheck/pair.h"

#define PROG "sockcheck-pair"
#define TEST_MSG "SOCKET PAIR TEST"
#define CHILD_MSG "hello"
#define CHILD_LEN (sizeof(CHILD_MSG)) /* with its NUL: 6 */
#define IO_TIMEOUT_MS 10000
#define CHILD_TIMEOUT_MS 10000

static int fail(const char *step, int err) {
  (void)fprintf(stderr, PROG ": %s: %s\n", step, sc_err_message(err));
  return 1;
}

static ssize_t send_bytes(int fd, const void *data, size_t len) {
  struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  return sc_send_all(sc_transport_kernel(), fd, &msg, 0, IO_TIMEOUT_MS, NULL);
}

static ssize_t recv_bytes(int fd, void *buf, size_t len) {
  struct iovec iov = {.iov_base = buf, .iov_len = len};
  return sc_recv_fill(sc_transport_kernel(), fd, &iov, 1, IO_TIMEOUT_MS, NULL);
}

/* Nonblocking read on fd itself: PAIR-3 says it has nothing (EAGAIN). */
static int expect_nothing(int fd) {
  char b;
  struct iovec iov = {.iov_base = &b, .iov_len = 1};
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n = sc_recv_msg(sc_transport_kernel(), fd, &msg, MSG_DONTWAIT);
  if (n == -EAGAIN) {
    return 0;
  }
  return n < 0 ? (int)n : -EPROTO;
}

/* Sends TEST_MSG from `from`, checks `from` cannot read it, reads it on `to`. */
static int one_way(int from, int to, int ifrom, int ito) {
  char step[64];
  char got[sizeof(TEST_MSG)];
  (void)snprintf(step, sizeof(step), "send on sv[%d]", ifrom);
  ssize_t n = send_bytes(from, TEST_MSG, strlen(TEST_MSG));
  if (n < 0) {
    return fail(step, (int)n);
  }
  (void)snprintf(step, sizeof(step), "nonblocking read on sv[%d]", ifrom);
  int rc = expect_nothing(from);
  if (rc < 0) {
    return fail(step, rc);
  }
  (void)snprintf(step, sizeof(step), "read on sv[%d]", ito);
  n = recv_bytes(to, got, strlen(TEST_MSG));
  if (n < 0) {
    return fail(step, (int)n);
  }
  if ((size_t)n != strlen(TEST_MSG) || memcmp(got, TEST_MSG, strlen(TEST_MSG)) != 0) {
    return fail(step, -EPROTO);
  }
  (void)printf("sv[%d] -> sv[%d]: %zd bytes \"", ifrom, ito, n);
  if (sc_cli_escape(stdout, got, (size_t)n) != 0) {
    return fail("print", -EIO);
  }
  (void)printf("\"\nsv[%d] reads its own end: EAGAIN (nothing to read)\n", ifrom);
  return fflush(stdout) == 0 ? 0 : fail("print", -EIO);
}

static int run_plain(void) {
  int sv[2] = {-1, -1};
  int rc = sc_pair_open(SOCK_STREAM, 0, sv);
  if (rc < 0) {
    return fail("socketpair", rc);
  }
  (void)printf("socketpair(AF_UNIX, SOCK_STREAM, 0): ok\n");
  rc = one_way(sv[0], sv[1], 0, 1);
  if (rc == 0) {
    rc = one_way(sv[1], sv[0], 1, 0);
  }
  sc_pair_close(sv);
  return rc;
}

/* The child's whole life: one send on its end, then _exit. */
static void child_main(int fd) {
  ssize_t n = send_bytes(fd, CHILD_MSG, CHILD_LEN);
  if (n != (ssize_t)CHILD_LEN) {
    (void)fprintf(stderr, PROG ": child send: %s\n", sc_err_message(n < 0 ? (int)n : -EPROTO));
    _exit(1);
  }
  (void)printf("child sent %zd bytes\n", n);
  _exit(fflush(stdout) == 0 ? 0 : 1);
}

/* Waits for pid up to CHILD_TIMEOUT_MS (SIGCHLD via a signalfd, so no polling
 * loop with sleeps); kills it after that. Returns its wait status or -errno. */
static int wait_child(pid_t pid, int sfd) {
  struct timespec start;
  (void)clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int status = 0;
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      return status;
    }
    if (w < 0 && errno != EINTR) {
      return SC_ERR(errno);
    }
    struct timespec now;
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    long long left = CHILD_TIMEOUT_MS - ((long long)(now.tv_sec - start.tv_sec) * 1000 +
                                         (now.tv_nsec - start.tv_nsec) / 1000000);
    if (left <= 0) {
      (void)kill(pid, SIGKILL);
      (void)waitpid(pid, &status, 0);
      return -ETIMEDOUT;
    }
    struct pollfd p = {.fd = sfd, .events = POLLIN};
    if (poll(&p, 1, (int)left) > 0) {
      /* Consume the notification; waitpid above is what decides. */
      struct signalfd_siginfo si;
      ssize_t got = read(sfd, &si, sizeof(si));
      if (got < 0 && errno != EAGAIN && errno != EINTR) {
        return SC_ERR(errno);
      }
    }
  }
}

static int run_fork(void) {
  /* SIGCHLD is blocked before fork and read from a signalfd by the parent. */
  sigset_t set;
  (void)sigemptyset(&set);
  (void)sigaddset(&set, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
    return fail("sigprocmask", SC_ERR(errno));
  }
  int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) {
    return fail("signalfd", SC_ERR(errno));
  }
  int sv[2] = {-1, -1};
  int rc = sc_pair_open(SOCK_STREAM, 0, sv);
  if (rc < 0) {
    (void)close(sfd);
    return fail("socketpair", rc);
  }
  (void)printf("socketpair(AF_UNIX, SOCK_STREAM, 0): ok\n");
  (void)fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    rc = SC_ERR(errno);
    sc_pair_close(sv);
    (void)close(sfd);
    return fail("fork", rc);
  }
  if (pid == 0) {
    (void)close(sfd);
    (void)close(sv[0]);
    child_main(sv[1]);
  }
  (void)close(sv[1]);
  sv[1] = -1;
  char got[CHILD_LEN];
  ssize_t n = recv_bytes(sv[0], got, sizeof(got));
  sc_pair_close(sv);
  int status = wait_child(pid, sfd);
  (void)close(sfd);
  if (n < 0) {
    return fail("parent read", (int)n);
  }
  if ((size_t)n != CHILD_LEN || memcmp(got, CHILD_MSG, CHILD_LEN) != 0) {
    return fail("parent read", -EPROTO);
  }
  (void)printf("parent received %zd bytes: \"", n);
  /* The NUL is part of the 6 bytes; the text shown is up to it. */
  (void)sc_cli_escape(stdout, got, strlen(CHILD_MSG));
  (void)printf("\"\n");
  if (status < 0) {
    return fail("waitpid", status);
  }
  if (!WIFEXITED(status)) {
    (void)fprintf(stderr, PROG ": child killed by signal %d\n", WTERMSIG(status));
    return 1;
  }
  (void)printf("child exited with status %d\n", WEXITSTATUS(status));
  return fflush(stdout) == 0 && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--help") == 0) {
    (void)printf("usage: " PROG " [--fork]\n");
    return 0;
  }
  if (argc == 1) {
    return run_plain();
  }
  if (argc == 2 && strcmp(argv[1], "--fork") == 0) {
    return run_fork();
  }
  /* Name the argument that is wrong: the one after a valid option, if any. */
  const char *bad = argv[1];
  if (argc > 2 && (strcmp(argv[1], "--fork") == 0 || strcmp(argv[1], "--help") == 0)) {
    bad = argv[2];
  }
  (void)fprintf(stderr, PROG ": unexpected argument: %s\nusage: " PROG " [--fork]\n", bad);
  return 2;
}
