/* The epoll loop of the ok-server (see sockcheck/server.h): a thin shell over
 * the sc_conn state machine. Level-triggered; a client is watched for EPOLLIN
 * only while sc_conn_want_read and for EPOLLOUT only while sc_conn_want_write,
 * so a client that never reads its replies costs a bounded amount of memory and
 * never blocks the others. max_conns 0 means no cap; out_limit and recv_buf 0
 * take the defaults below.
 *
 * Descriptor exhaustion (EMFILE/ENFILE) on accept: a spare descriptor is given
 * up to accept and close the waiting client; if that is impossible the listening
 * socket is paused until a client closes or PAUSE_MS passes (no busy loop).
 *
 * The log (see server.h) is a bounded byte queue drained only when the log
 * descriptor is ready: a slow or absent reader costs dropped lines (counted and
 * reported), never a stalled loop. */
#include "sockcheck/server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sockcheck/conn.h"
#include "sockcheck/error.h"
#include "sockcheck/transport.h"

#include "logq.h"

#define DEFAULT_OUT_LIMIT 4096
#define DEFAULT_RECV_BUF 1024
#define MAX_EVENTS 64
#define PAUSE_MS 100
/* Reads per wakeup for one client, so one fast sender cannot starve the rest. */
#define READS_PER_EVENT 16
#define DEFAULT_LOG_BUF 65536
#define LOG_LINE_MAX 512
/* At a stop, how long the remaining log may wait for its reader. */
#define LOG_DRAIN_MS 1000
/* Transient accept() failures retried per wakeup before waiting for the next. */
#define ACCEPT_RETRIES 64

typedef struct client {
  int fd;
  uint32_t events; /* the interest currently registered */
  sc_conn conn;
  struct client *prev;
  struct client *next;
  char name[SC_ADDR_TEXT_MAX];
} client;

typedef struct loop {
  const sc_server_config *cfg;
  sc_server_stats *stats;
  const sc_transport *tr;
  int epfd;
  int spare_fd; /* given up on EMFILE to accept-and-close, then reopened */
  bool paused;  /* listening socket removed from the interest set */
  client *head;
  size_t nclients;
  unsigned char *buf;
  size_t buf_len;
  struct timespec pause_end; /* while paused: when to try accepting again */
  sc__logq log;
  bool log_watched;    /* the log descriptor is in the epoll set */
  uint32_t log_events; /* its interest: EPOLLOUT exactly while bytes are queued */
} loop;

/* Tokens for the three non-client descriptors (their addresses are the ids). */
static char listen_token;
static char stop_token;
static char log_token;

static int set_interest(loop *l, int fd, void *ptr, uint32_t events, int op) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.events = events;
  ev.data.ptr = ptr;
  if (epoll_ctl(l->epfd, op, fd, &ev) != 0) {
    return SC_ERR(errno);
  }
  return 0;
}

/* ---------------------------------------------------------------- log */

/* Gives the log descriptor up (a failed write or a gone reader). */
static void log_disable(loop *l) {
  sc__logq_disable(&l->log);
  if (l->log_watched) {
    (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->log.fd, NULL);
    l->log_watched = false;
  }
}

/* Registers interest in EPOLLOUT exactly while bytes are queued. */
static void log_watch(loop *l) {
  if (l->log.mode == SC__LOGQ_OFF) {
    log_disable(l);
    return;
  }
  uint32_t want = l->log.len > 0 ? EPOLLOUT : 0;
  if (!l->log_watched || want == l->log_events) {
    return;
  }
  if (set_interest(l, l->log.fd, &log_token, want, EPOLL_CTL_MOD) != 0) {
    log_disable(l);
    return;
  }
  l->log_events = want;
}

/* After queueing: a direct descriptor is written now, a watched one when ready. */
static void log_kick(loop *l) {
  sc__logq *q = &l->log;
  if (q->mode == SC__LOGQ_DIRECT) {
    while (q->len > 0 && sc__logq_write(q) > 0) {
    }
  } else {
    log_watch(l);
  }
}

/* The log descriptor is ready (or failed): one bounded write. */
static void log_ready(loop *l, uint32_t events) {
  if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
    /* The reader is gone: writing would only fail (or raise SIGPIPE). */
    log_disable(l);
    return;
  }
  if ((events & EPOLLOUT) != 0) {
    (void)sc__logq_write(&l->log);
  }
  log_watch(l);
}

static void log_line(loop *l, const char *name, const char *what, const char *detail) {
  if (l->log.fd < 0) {
    return;
  }
  char text[LOG_LINE_MAX];
  int n;
  if (detail != NULL) {
    n = snprintf(text, sizeof(text), "client %s %s%s)\n", name, what, detail); /* what opens '(' */
  } else {
    n = snprintf(text, sizeof(text), "client %s %s\n", name, what);
  }
  if (n < 0) {
    return;
  }
  if ((size_t)n >= sizeof(text)) {
    n = (int)sizeof(text) - 1;
    text[n - 1] = '\n';
  }
  sc__logq_push(&l->log, text, (size_t)n);
  log_kick(l);
}

/* Sets up the log queue. Returns 0 or -errno (-EBADF: not open for writing). */
static int log_open(loop *l) {
  int fd = l->cfg->log_fd;
  if (fd < 0) {
    return sc__logq_init(&l->log, l->tr, -1, SC__LOGQ_OFF, 0);
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) {
    return SC_ERR(errno);
  }
  if ((fl & O_ACCMODE) == O_RDONLY) {
    return -EBADF;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return SC_ERR(errno);
  }
  sc__logq_mode mode = S_ISSOCK(st.st_mode) ? SC__LOGQ_SOCKET : SC__LOGQ_POLLED;
  int rc = set_interest(l, fd, &log_token, 0, EPOLL_CTL_ADD);
  if (rc == -EPERM) {
    mode = SC__LOGQ_DIRECT;
  } else if (rc != 0) {
    return rc;
  } else {
    l->log_watched = true;
  }
  return sc__logq_init(&l->log, l->tr, fd, mode,
                       l->cfg->log_buf == 0 ? DEFAULT_LOG_BUF : l->cfg->log_buf);
}

static long long ms_until(const struct timespec *end) {
  struct timespec now;
  (void)clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)(end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
}

static void deadline_in(struct timespec *end, long ms) {
  (void)clock_gettime(CLOCK_MONOTONIC, end);
  end->tv_sec += ms / 1000;
  end->tv_nsec += (ms % 1000) * 1000000L;
  if (end->tv_nsec >= 1000000000L) {
    end->tv_sec++;
    end->tv_nsec -= 1000000000L;
  }
}

/* At a stop: writes what is queued, waiting for the reader at most
 * LOG_DRAIN_MS in all; what is still queued then counts as dropped. */
static void log_close(loop *l) {
  sc__logq *q = &l->log;
  struct timespec end;
  deadline_in(&end, LOG_DRAIN_MS);
  while (q->mode != SC__LOGQ_OFF && q->len > 0) {
    if (q->mode != SC__LOGQ_DIRECT) {
      long long left = ms_until(&end);
      if (left <= 0) {
        break;
      }
      struct pollfd p = {.fd = q->fd, .events = POLLOUT};
      int r = poll(&p, 1, (int)left);
      if (r < 0 && errno == EINTR) {
        continue;
      }
      if (r <= 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
        break;
      }
    }
    if (sc__logq_write(q) <= 0 && q->mode == SC__LOGQ_DIRECT) {
      break;
    }
  }
  log_disable(l); /* counts what could not be written (dropped lines are counted already) */
  sc__logq_free(q);
  if (l->stats != NULL) {
    l->stats->log_dropped = q->dropped;
  }
}

static void peer_name(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t cap) {
  sc_addr a;
  if (sc_addr_from_sockaddr(&a, (const struct sockaddr *)ss, len) != 0 ||
      sc_addr_format(&a, out, cap) < 0) {
    (void)snprintf(out, cap, "?");
  }
}

static void close_client(loop *l, client *c, const char *why, const char *detail) {
  log_line(l, c->name, why, detail);
  /* close() also drops the fd from the epoll set. */
  (void)close(c->fd);
  if (c->prev != NULL) {
    c->prev->next = c->next;
  } else {
    l->head = c->next;
  }
  if (c->next != NULL) {
    c->next->prev = c->prev;
  }
  l->nclients--;
  if (l->stats != NULL) {
    l->stats->closed++;
  }
  free(c);
}

static void resume_listening(loop *l) {
  if (!l->paused) {
    return;
  }
  if (set_interest(l, l->cfg->listen_fd, &listen_token, EPOLLIN, EPOLL_CTL_MOD) == 0) {
    l->paused = false;
  }
}

static void fail_client(loop *l, client *c, int err) {
  sc_conn_on_error(&c->conn);
  if (err == -ECONNRESET) {
    close_client(l, c, "closed (reset)", NULL);
  } else {
    close_client(l, c, "closed (error: ", sc_err_message(err));
  }
}

/* Writes owed replies until none are owed or the socket is full.
 * Returns 0, or -errno of a send failure. */
static int flush(loop *l, client *c) {
  while (sc_conn_want_write(&c->conn)) {
    const char *p = NULL;
    size_t n = sc_conn_out(&c->conn, &p);
    struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    ssize_t w = l->tr->sendmsg(l->tr, c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w == -EINTR) {
      continue;
    }
    if (w == -EAGAIN) {
      return 0;
    }
    if (w < 0) {
      return (int)w;
    }
    sc_conn_on_sent(&c->conn, (size_t)w);
  }
  return 0;
}

/* One bounded round of I/O for a client; closes it when it is done. */
static void serve(loop *l, client *c) {
  int reads = 0;
  for (;;) {
    int rc = flush(l, c);
    if (rc < 0) {
      fail_client(l, c, rc);
      return;
    }
    if (!sc_conn_want_read(&c->conn) || reads == READS_PER_EVENT) {
      break;
    }
    struct iovec iov = {.iov_base = l->buf, .iov_len = l->buf_len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = l->tr->recvmsg(l->tr, c->fd, &msg, MSG_DONTWAIT);
    if (n == -EINTR) {
      continue;
    }
    if (n == -EAGAIN) {
      break;
    }
    if (n < 0) {
      fail_client(l, c, (int)n);
      return;
    }
    reads++;
    /* Only called while OPEN (want_read), so -EPROTO cannot happen. */
    (void)sc_conn_on_recv(&c->conn, (size_t)n);
    if (n > 0 && l->stats != NULL) {
      l->stats->messages++;
    }
  }
  if (c->conn.state == SC_CONN_CLOSED) {
    char detail[48];
    (void)snprintf(detail, sizeof(detail), "%llu messages", (unsigned long long)c->conn.chunks_in);
    close_client(l, c, "closed (eof, ", detail);
    return;
  }
  uint32_t want =
      (sc_conn_want_read(&c->conn) ? EPOLLIN : 0) | (sc_conn_want_write(&c->conn) ? EPOLLOUT : 0);
  if (want != c->events) {
    int rc = set_interest(l, c->fd, c, want, EPOLL_CTL_MOD);
    if (rc < 0) {
      fail_client(l, c, rc);
      return;
    }
    c->events = want;
  }
}

static void add_client(loop *l, int fd, const struct sockaddr_storage *ss, socklen_t len) {
  client *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    (void)close(fd);
    if (l->stats != NULL) {
      l->stats->rejected++;
    }
    return;
  }
  c->fd = fd;
  c->events = EPOLLIN;
  sc_conn_init(&c->conn, l->cfg->out_limit == 0 ? DEFAULT_OUT_LIMIT : l->cfg->out_limit);
  peer_name(ss, len, c->name, sizeof(c->name));
  if (set_interest(l, fd, c, EPOLLIN, EPOLL_CTL_ADD) != 0) {
    (void)close(fd);
    free(c);
    if (l->stats != NULL) {
      l->stats->rejected++;
    }
    return;
  }
  c->next = l->head;
  if (l->head != NULL) {
    l->head->prev = c;
  }
  l->head = c;
  l->nclients++;
  if (l->stats != NULL) {
    l->stats->accepted++;
  }
  log_line(l, c->name, "connected", NULL);
}

/* Descriptors ran out: accept-and-close one client with the spare descriptor,
 * or pause the listening socket. Returns true if accepting may continue. */
static bool out_of_fds(loop *l) {
  if (l->spare_fd >= 0) {
    (void)close(l->spare_fd);
    l->spare_fd = -1;
    int fd = l->tr->accept(l->tr, l->cfg->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      (void)close(fd);
      if (l->stats != NULL) {
        l->stats->rejected++;
      }
    }
    l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && l->spare_fd >= 0) {
      return true;
    }
  }
  if (set_interest(l, l->cfg->listen_fd, &listen_token, 0, EPOLL_CTL_MOD) == 0) {
    l->paused = true;
    deadline_in(&l->pause_end, PAUSE_MS);
  }
  return false;
}

/* accept(2)'s "treat as EAGAIN and retry" errors: the pending connection (or
 * the network under it) failed, the listening socket did not. */
static bool accept_transient(int err) {
  switch (err) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      return true;
    default:
      return false;
  }
}

/* Accepts every pending client. Returns 0 or the -errno of a fatal failure.
 * Transient failures are retried, at most ACCEPT_RETRIES per wakeup (a
 * listener that keeps failing is tried again at the next event). */
static int accept_all(loop *l) {
  int transient = 0;
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = l->tr->accept(l->tr, l->cfg->listen_fd, (struct sockaddr *)&ss, &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = -fd;
      if (accept_transient(err)) {
        if (++transient >= ACCEPT_RETRIES) {
          return 0;
        }
        continue;
      }
      switch (err) {
        case EAGAIN:
          return 0;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
          if (!out_of_fds(l)) {
            return 0;
          }
          continue;
        default:
          return -err;
      }
    }
    if (l->cfg->max_conns != 0 && l->nclients >= l->cfg->max_conns) {
      char name[SC_ADDR_TEXT_MAX];
      peer_name(&ss, len, name, sizeof(name));
      (void)close(fd);
      if (l->stats != NULL) {
        l->stats->rejected++;
      }
      log_line(l, name, "rejected (connection cap)", NULL);
      continue;
    }
    add_client(l, fd, &ss, len);
  }
}

static void close_all(loop *l) {
  while (l->head != NULL) {
    sc_conn_on_error(&l->head->conn);
    close_client(l, l->head, "closed (server stopping)", NULL);
  }
}

int sc_server_run(const sc_server_config *cfg, sc_server_stats *stats) {
  if (cfg == NULL || cfg->listen_fd < 0) {
    return -EINVAL;
  }
  loop l;
  memset(&l, 0, sizeof(l));
  l.cfg = cfg;
  l.stats = stats;
  l.tr = cfg->transport != NULL ? cfg->transport : sc_transport_kernel();
  l.spare_fd = -1;
  l.log.fd = -1;
  l.buf_len = cfg->recv_buf == 0 ? DEFAULT_RECV_BUF : cfg->recv_buf;
  if (stats != NULL) {
    memset(stats, 0, sizeof(*stats));
  }
  int rc = 0;
  l.buf = malloc(l.buf_len);
  l.epfd = epoll_create1(EPOLL_CLOEXEC);
  if (l.buf == NULL || l.epfd < 0) {
    rc = l.buf == NULL ? -ENOMEM : SC_ERR(errno);
    goto out;
  }
  l.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  rc = set_interest(&l, cfg->listen_fd, &listen_token, EPOLLIN, EPOLL_CTL_ADD);
  if (rc == 0 && cfg->stop_fd >= 0) {
    rc = set_interest(&l, cfg->stop_fd, &stop_token, EPOLLIN, EPOLL_CTL_ADD);
  }
  if (rc == 0) {
    rc = log_open(&l);
  }
  if (rc != 0) {
    goto out;
  }
  for (;;) {
    struct epoll_event evs[MAX_EVENTS];
    long long wait_ms = -1;
    if (l.paused) {
      wait_ms = ms_until(&l.pause_end);
      wait_ms = wait_ms < 0 ? 0 : wait_ms;
    }
    int n = epoll_wait(l.epfd, evs, MAX_EVENTS, (int)wait_ms);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      rc = SC_ERR(errno);
      goto out;
    }
    /* Paused for PAUSE_MS: try accepting again, even while clients keep it busy. */
    if (l.paused && ms_until(&l.pause_end) <= 0) {
      resume_listening(&l);
    }
    bool stop = false;
    bool do_accept = false;
    for (int i = 0; i < n; i++) {
      void *p = evs[i].data.ptr;
      if (p == &stop_token) {
        stop = true;
      } else if (p == &listen_token) {
        do_accept = true;
      } else if (p == &log_token) {
        log_ready(&l, evs[i].events);
      } else {
        size_t before = l.nclients;
        serve(&l, p);
        if (l.nclients < before) {
          resume_listening(&l);
        }
      }
    }
    if (stop) {
      rc = 0;
      goto out;
    }
    /* Accept after serving: a client freed in this batch cannot alias a new one. */
    if (do_accept) {
      rc = accept_all(&l);
      if (rc < 0) {
        goto out;
      }
    }
  }
out:
  close_all(&l);
  log_close(&l);
  if (l.spare_fd >= 0) {
    (void)close(l.spare_fd);
  }
  if (l.epfd >= 0) {
    (void)close(l.epfd);
  }
  free(l.buf);
  return rc;
}
