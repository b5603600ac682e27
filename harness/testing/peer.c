/* The peer thread (see sctest/peer.h). The reader cannot know in advance how many bytes
 * the main thread's send will hand over: it reads until told the total, and an eventfd in
 * its poll() set wakes it when that happens. */
#include "sctest/peer.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sockcheck/cmsg.h"

typedef struct peer_job {
  bool write;
  int fd;
  uint8_t *buf; /* reader: destination */
  const uint8_t *src;
  size_t len; /* reader: cap; writer: bytes to write */
  size_t chunk;
  unsigned pause_us;
  unsigned paused;
  atomic_size_t total; /* reader: the bytes due, valid once `final` */
  atomic_bool final;
  sc_peer_result res;
} peer_job;

static peer_job g_job;
static sem_t g_go;
static sem_t g_done;
static int g_evfd = -1;
static bool g_started;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_before(const peer_job *j, unsigned calls) {
  if (calls < j->paused && j->pause_us > 0) {
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)j->pause_us * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
}

static int remaining(long long deadline) {
  long long left = deadline - now_ms();
  return left > 0 ? (int)left : 0;
}

static bool reader_satisfied(peer_job *j) {
  return atomic_load_explicit(&j->final, memory_order_acquire) &&
         j->res.done >= atomic_load_explicit(&j->total, memory_order_relaxed);
}

static void run_read(peer_job *j) {
  long long deadline = now_ms() + SC_PEER_LIMIT_MS;
  unsigned calls = 0;
  union {
    struct cmsghdr h;
    uint8_t b[256];
  } ctl;
  while (!reader_satisfied(j) && j->res.done < j->len) {
    struct pollfd p[2] = {{.fd = g_evfd, .events = POLLIN}, {.fd = j->fd, .events = POLLIN}};
    int r = poll(p, j->res.eof ? 1 : 2, remaining(deadline));
    if (r < 0 && errno == EINTR && remaining(deadline) > 0) {
      continue;
    }
    if (r <= 0) {
      j->res.err = r == 0 ? ETIMEDOUT : errno;
      return;
    }
    if (p[0].revents & POLLIN) {
      uint64_t v;
      (void)read(g_evfd, &v, sizeof v); /* cleared: `final` is read at the loop's top */
    }
    if (j->res.eof || (p[1].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
      continue;
    }
    pause_before(j, calls++);
    size_t want = j->len - j->res.done;
    struct iovec iov = {.iov_base = j->buf + j->res.done,
                        .iov_len = want < j->chunk ? want : j->chunk};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl.b;
    m.msg_controllen = sizeof ctl.b;
    ssize_t n = recvmsg(j->fd, &m, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      continue;
    }
    if (n < 0) {
      j->res.err = errno;
      return;
    }
    int closed = sc_cmsg_close_fds(m.msg_control, m.msg_controllen);
    j->res.nfds += closed > 0 ? (unsigned)closed : 0u;
    if (n == 0) {
      j->res.eof = true; /* now waits for `final` only */
    }
    j->res.done += (size_t)n;
  }
}

static void run_write(peer_job *j) {
  long long deadline = now_ms() + SC_PEER_LIMIT_MS;
  unsigned calls = 0;
  while (j->res.done < j->len) {
    pause_before(j, calls++);
    size_t want = j->len - j->res.done;
    ssize_t n = send(j->fd, j->src + j->res.done, want < j->chunk ? want : j->chunk,
                     MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      j->res.done += (size_t)n;
      continue;
    }
    if (errno != EAGAIN && errno != EINTR) {
      j->res.err = errno;
      return;
    }
    struct pollfd p = {.fd = j->fd, .events = POLLOUT};
    if (remaining(deadline) == 0 || (poll(&p, 1, remaining(deadline)) == 0)) {
      j->res.err = ETIMEDOUT;
      return;
    }
  }
}

static void *worker(void *arg) {
  (void)arg;
  /* Signals are the caller's business (libFuzzer's timer, for one): none is delivered here. */
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  for (;;) {
    while (sem_wait(&g_go) != 0) {
    }
    if (g_job.write) {
      run_write(&g_job);
    } else {
      run_read(&g_job);
    }
    sem_post(&g_done);
  }
  return NULL;
}

static int ensure_started(void) {
  if (g_started) {
    return 0;
  }
  g_evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (g_evfd < 0) {
    return -errno;
  }
  if (sem_init(&g_go, 0, 0) != 0 || sem_init(&g_done, 0, 0) != 0) {
    return -errno;
  }
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int r = pthread_create(&t, &attr, worker, NULL);
  pthread_attr_destroy(&attr);
  if (r != 0) {
    return -r;
  }
  g_started = true;
  return 0;
}

static int start(bool write, int fd, uint8_t *buf, const uint8_t *src, size_t len, size_t chunk,
                 unsigned pause_us, unsigned paused) {
  int r = ensure_started();
  if (r < 0) {
    return r;
  }
  g_job.write = write;
  g_job.fd = fd;
  g_job.buf = buf;
  g_job.src = src;
  g_job.len = len;
  g_job.chunk = chunk > 0 ? chunk : 1;
  g_job.pause_us = pause_us;
  g_job.paused = paused;
  atomic_store_explicit(&g_job.total, 0, memory_order_relaxed);
  atomic_store_explicit(&g_job.final, false, memory_order_relaxed);
  memset(&g_job.res, 0, sizeof g_job.res);
  sem_post(&g_go); /* publishes the job to the worker */
  return 0;
}

/* Waits for the job to end; a worker that does not end within its own limit and a margin is
 * reported as stuck. */
static void finish(sc_peer_result *res) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += SC_PEER_LIMIT_MS / 1000 + 2;
  int r;
  while ((r = sem_timedwait(&g_done, &ts)) != 0 && errno == EINTR) {
  }
  if (r != 0) {
    memset(res, 0, sizeof *res);
    res->err = ETIMEDOUT;
    return; /* the worker stays busy: the caller reports and stops */
  }
  *res = g_job.res;
}

int sc_peer_start_read(int fd, uint8_t *buf, size_t cap, size_t chunk, unsigned pause_us,
                       unsigned paused) {
  return start(false, fd, buf, NULL, cap, chunk, pause_us, paused);
}

void sc_peer_finish_read(size_t total, sc_peer_result *res) {
  atomic_store_explicit(&g_job.total, total, memory_order_relaxed);
  atomic_store_explicit(&g_job.final, true, memory_order_release);
  uint64_t one = 1;
  (void)write(g_evfd, &one, sizeof one);
  finish(res);
}

int sc_peer_start_write(int fd, const uint8_t *src, size_t len, size_t chunk, unsigned pause_us,
                        unsigned paused) {
  return start(true, fd, NULL, src, len, chunk, pause_us, paused);
}

void sc_peer_finish_write(sc_peer_result *res) {
  finish(res);
}

unsigned sc_peer_held_fds(void) {
  return g_evfd >= 0 ? 1u : 0u;
}
