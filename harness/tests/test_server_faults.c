/* Unit tests of the ok-server (sockcheck/server.h) over a transport with the faults the
 * kernel gives only by chance, on demand: a client epoll refuses, accept out of buffers, a
 * peer with no address, a log that keeps refusing or takes short writes; signals landing in
 * epoll_wait and in the stop's log drain (the server thread observed in the call through
 * /proc/self/task/TID/syscall), the log's reader leaving during that drain, backpressure's
 * end seen in the epoll set's registrations, and the setup failures (no memory, no
 * descriptor, a log that is the listener). Every wait is bounded; nothing sleeps for order. */
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

/* ASan ends the process on an allocation it cannot make; test_setup_failures needs
 * malloc's NULL, as the server gets it without ASan. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "allocator_may_return_null=1";
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backpressure_ends_with_input_interest),
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
