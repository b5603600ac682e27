/* The fake kernel for the server loop (see sctest/fakekernel.h). */
#include "sctest/fakekernel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockcheck/conn.h"
#include "sockcheck/transport.h"

/* The most log bytes kept (a run writes far fewer). */
#define LOG_KEEP (1u << 20)

typedef struct world {
  const sc_fk_config *cfg;
  const sc_fk_op *ops;
  size_t nops;
  size_t pos;
  sc_fk_result *res;
  int listen_fd; /* eventfd, always readable: every loop iteration ticks */
  int stop_fd;   /* eventfd, signalled when the run is over */
  int log_fd;    /* /dev/null: epoll cannot watch it, so the loop writes it directly */
  bool draining;
  bool stopped;
  unsigned long long drain_ticks;
  size_t log_cap; /* scripted cap of the next log write (0: none) */
  int log_err;    /* scripted result of the next log write */
  size_t log_room;
} world;

static void fail(world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(world *w, const char *fmt, ...) {
  if (w->res->failure[0] != '\0') {
    return; /* the first violation is the one reported */
  }
  int n = snprintf(w->res->failure, sizeof(w->res->failure), "tick %llu: ", w->res->ticks);
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(w->res->failure + n, sizeof(w->res->failure) - (size_t)n, fmt, ap);
  va_end(ap);
}

static sc_fk_client *find(world *w, int fd, const char *call) {
  for (size_t i = 0; i < w->res->nclients; i++) {
    sc_fk_client *c = &w->res->clients[i];
    if (!c->closed && c->a == fd) {
      return c;
    }
  }
  fail(w, "%s on descriptor %d, which is no open client", call, fd);
  return NULL;
}

static size_t index_of(const world *w, const sc_fk_client *c) {
  return (size_t)(c - w->res->clients);
}

/* One byte queued on the loop's end exactly while the client has something to read. */
static void sync_token(world *w, sc_fk_client *c) {
  bool want =
      !c->closed && (c->reset || c->recv_err != 0 || c->queued > 0 || (c->eof && !c->eof_read));
  if (want == c->token) {
    return;
  }
  char b = 't';
  ssize_t n =
      want ? send(c->b, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL) : recv(c->a, &b, 1, MSG_DONTWAIT);
  if (n != 1) {
    fail(w, "client %zu: readiness byte not %s (%s)", index_of(w, c), want ? "queued" : "taken",
         strerror(errno));
    return;
  }
  c->token = want;
}

/* Notes the clients whose loop end is closed: their own end reports POLLHUP. */
static void refresh_closed(world *w) {
  struct pollfd p[SC_FK_MAX_CLIENTS];
  size_t n = w->res->nclients;
  for (size_t i = 0; i < n; i++) {
    p[i] = (struct pollfd){.fd = w->res->clients[i].closed ? -1 : w->res->clients[i].b};
  }
  if (n == 0 || poll(p, (nfds_t)n, 0) < 0) {
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if ((p[i].revents & POLLHUP) != 0) {
      w->res->clients[i].closed = true;
      w->res->clients[i].token = false;
    }
  }
}

static bool all_closed(const world *w) {
  for (size_t i = 0; i < w->res->nclients; i++) {
    if (!w->res->clients[i].closed) {
      return false;
    }
  }
  return true;
}

static void signal_stop(world *w) {
  uint64_t one = 1;
  if (!w->stopped && write(w->stop_fd, &one, sizeof(one)) == (ssize_t)sizeof(one)) {
    w->stopped = true;
  }
}

/* accept(2)'s retry list: the loop must try again. Written from the man page apart from
 * server.c's accept_transient (plus EAGAIN): the model must not share the code it judges. */
static bool transient(int err) {
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
    case EAGAIN:
      return true;
    default:
      return false;
  }
}

static int new_client(world *w, struct sockaddr *addr, socklen_t *len) {
  sc_fk_result *r = w->res;
  if (r->nclients == SC_FK_MAX_CLIENTS) {
    return -EAGAIN;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
    fail(w, "socketpair: %s", strerror(errno));
    return -EAGAIN;
  }
  size_t open_clients = 0;
  for (size_t i = 0; i < r->nclients; i++) {
    open_clients += !r->clients[i].closed && !r->clients[i].cap_rejected;
  }
  sc_fk_client *c = &r->clients[r->nclients];
  *c = (sc_fk_client){.a = sv[0], .b = sv[1], .window = UINT64_MAX};
  c->cap_rejected = w->cfg->max_conns != 0 && open_clients >= w->cfg->max_conns;
  if (addr != NULL && len != NULL) {
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)(1 + r->nclients))};
    sin.sin_addr.s_addr = htonl(0x0a000001u + (uint32_t)r->nclients); /* 10.0.0.(i+1) */
    memcpy(addr, &sin, *len < sizeof(sin) ? *len : sizeof(sin));
    *len = sizeof(sin);
  }
  r->nclients++;
  r->accepts++;
  return sv[0];
}

static void apply(world *w, const sc_fk_op *op) {
  switch (op->kind) {
    case SC_FK_LOG_SHORT:
      w->log_cap = op->n;
      return;
    case SC_FK_LOG_ERR:
      w->log_err = op->err;
      return;
    case SC_FK_TICK:
    case SC_FK_CONNECT:
    case SC_FK_ACCEPT_ERR:
      return;
    default:
      break;
  }
  if (w->res->nclients == 0) {
    return;
  }
  sc_fk_client *c = &w->res->clients[op->client % w->res->nclients];
  if (c->closed) {
    return;
  }
  switch (op->kind) {
    case SC_FK_DATA:
      if (!c->eof && !c->reset && op->n > 0) {
        c->queued += op->n;
        c->sent += op->n;
      }
      break;
    case SC_FK_EOF:
      c->eof = true;
      break;
    case SC_FK_RESET:
      c->reset = true;
      break;
    case SC_FK_READ:
      if (c->window != UINT64_MAX) {
        c->window = op->n >= UINT64_MAX - c->window ? UINT64_MAX - 1 : c->window + op->n;
      }
      break;
    case SC_FK_READ_ALL:
      c->window = UINT64_MAX;
      break;
    case SC_FK_PAUSE:
      c->window = 0;
      break;
    case SC_FK_RECV_ERR:
      c->recv_err = op->err;
      break;
    case SC_FK_SEND_ERR:
      c->send_err = op->err;
      break;
    case SC_FK_SEND_SHORT:
      c->send_cap = op->n;
      break;
    default:
      break;
  }
  sync_token(w, c);
}

/* The script is done: clients that have not reset send EOF and read everything. */
static void start_drain(world *w) {
  w->draining = true;
  w->log_cap = 0;
  w->log_err = 0;
  for (size_t i = 0; i < w->res->nclients; i++) {
    sc_fk_client *c = &w->res->clients[i];
    c->window = UINT64_MAX;
    c->recv_err = 0;
    c->send_err = 0;
    c->send_cap = 0;
    c->eof = true;
    sync_token(w, c);
  }
}

static int fk_accept(const sc_transport *t, int fd, struct sockaddr *addr, socklen_t *len,
                     int flags) {
  world *w = t->ctx;
  (void)flags;
  sc_fk_result *r = w->res;
  r->ticks++;
  if (fd != w->listen_fd) {
    fail(w, "accept on descriptor %d, not the listener", fd);
    return -EBADF;
  }
  refresh_closed(w);
  if (w->pos < w->nops) {
    const sc_fk_op *op = &w->ops[w->pos++];
    if (op->kind == SC_FK_CONNECT) {
      return new_client(w, addr, len);
    }
    if (op->kind == SC_FK_ACCEPT_ERR && op->err > 0) {
      if (!transient(op->err) && r->fatal_err == 0) {
        r->fatal_err = op->err;
      }
      return -op->err;
    }
    apply(w, op);
    return -EAGAIN;
  }
  if (!w->draining) {
    start_drain(w);
  }
  if (all_closed(w)) {
    signal_stop(w);
  } else if (++w->drain_ticks > SC_FK_DRAIN_TICKS) {
    fail(w, "%llu loop iterations after the script, clients are still open", w->drain_ticks);
    signal_stop(w);
  }
  return -EAGAIN;
}

static size_t iov_total(const struct msghdr *m) {
  size_t n = 0;
  for (size_t i = 0; i < (size_t)m->msg_iovlen; i++) {
    n += m->msg_iov[i].iov_len;
  }
  return n;
}

static ssize_t fk_recvmsg(const sc_transport *t, int fd, struct msghdr *m, int flags) {
  world *w = t->ctx;
  (void)flags;
  sc_fk_client *c = find(w, fd, "recvmsg");
  if (c == NULL) {
    return -EBADF;
  }
  size_t i = index_of(w, c);
  ssize_t ret;
  if (c->eof_read) {
    fail(w, "client %zu: recvmsg after it read EOF", i);
    ret = 0;
  } else if (c->reset) {
    ret = -ECONNRESET;
  } else if (c->recv_err != 0) {
    ret = -c->recv_err;
    c->recv_err = 0;
  } else if (c->queued > 0) {
    size_t room = m->msg_iovlen > 0 ? m->msg_iov[0].iov_len : 0;
    size_t n = c->queued < room ? (size_t)c->queued : room;
    memset(m->msg_iov[0].iov_base, 'x', n);
    c->queued -= n;
    if (n > 0) {
      c->messages++;
    }
    uint64_t owed = c->messages * SC_CONN_REPLY_LEN - c->replies;
    c->max_owed = owed > c->max_owed ? owed : c->max_owed;
    if (owed > w->cfg->out_limit) {
      fail(w, "client %zu: %llu reply bytes owed after a read, out_limit %zu", i,
           (unsigned long long)owed, w->cfg->out_limit);
    }
    ret = (ssize_t)n;
  } else if (c->eof) {
    c->eof_read = true;
    ret = 0;
  } else {
    ret = -EAGAIN;
  }
  sync_token(w, c);
  return ret;
}

static ssize_t fk_sendmsg(const sc_transport *t, int fd, const struct msghdr *m, int flags) {
  world *w = t->ctx;
  sc_fk_client *c = find(w, fd, "sendmsg");
  if (c == NULL) {
    return -EBADF;
  }
  size_t i = index_of(w, c);
  if ((flags & MSG_NOSIGNAL) == 0) {
    fail(w, "client %zu: sendmsg without MSG_NOSIGNAL", i);
  }
  if (c->reset) {
    return -EPIPE;
  }
  if (c->send_err != 0) {
    int e = c->send_err;
    c->send_err = 0;
    return -e;
  }
  if (c->window == 0) {
    return -EAGAIN;
  }
  uint64_t n = iov_total(m);
  n = n < c->window ? n : c->window;
  if (c->send_cap != 0) {
    n = n < c->send_cap ? n : c->send_cap;
    c->send_cap = 0;
  }
  uint64_t k = 0;
  for (size_t v = 0; v < (size_t)m->msg_iovlen && k < n; v++) {
    const char *p = m->msg_iov[v].iov_base;
    for (size_t j = 0; j < m->msg_iov[v].iov_len && k < n; j++, k++) {
      char want = SC_CONN_REPLY[(c->replies + k) % SC_CONN_REPLY_LEN];
      if (p[j] != want) {
        fail(w, "client %zu: reply byte %llu is '%c', not '%c' (the \"okok\" run is broken)", i,
             (unsigned long long)(c->replies + k), p[j], want);
        break;
      }
    }
  }
  if (c->replies + n > c->messages * SC_CONN_REPLY_LEN) {
    fail(w, "client %zu: %llu reply bytes for %llu messages", i,
         (unsigned long long)(c->replies + n), (unsigned long long)c->messages);
  }
  c->replies += n;
  if (c->window != UINT64_MAX) {
    c->window -= n;
  }
  return (ssize_t)n;
}

static ssize_t fk_write(const sc_transport *t, int fd, const void *buf, size_t len) {
  world *w = t->ctx;
  if (fd != w->log_fd) {
    fail(w, "write on descriptor %d, not the log", fd);
    return -EBADF;
  }
  if (w->log_err != 0) {
    int e = w->log_err;
    w->log_err = 0;
    return -e;
  }
  size_t n = len;
  if (w->log_cap != 0) {
    n = n < w->log_cap ? n : w->log_cap;
    w->log_cap = 0;
  }
  sc_fk_result *r = w->res;
  if (n > LOG_KEEP - r->log_len) {
    fail(w, "more than %u log bytes", LOG_KEEP);
    return -ENOSPC;
  }
  if (r->log_len + n > w->log_room) {
    size_t room = (r->log_len + n) * 2;
    char *p = realloc(r->log, room);
    if (p == NULL) {
      return -ENOMEM;
    }
    r->log = p;
    w->log_room = room;
  }
  memcpy(r->log + r->log_len, buf, n);
  r->log_len += n;
  return (ssize_t)n;
}

static int fk_wait(const sc_transport *t, int fd, short events, int timeout_ms) {
  (void)events;
  (void)timeout_ms;
  fail(t->ctx, "wait(%d) called: the loop waits only in epoll", fd);
  return -EINVAL;
}

static void close_fd(int *fd) {
  if (*fd >= 0) {
    (void)close(*fd);
    *fd = -1;
  }
}

int sc_fk_run(const sc_fk_config *cfg, const sc_fk_op *ops, size_t nops, sc_fk_result *res) {
  memset(res, 0, sizeof(*res));
  world w = {.cfg = cfg, .ops = ops, .nops = nops, .res = res, .log_fd = -1};
  w.listen_fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
  w.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (cfg->log_buf > 0) {
    w.log_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  }
  int rc = 0;
  if (w.listen_fd < 0 || w.stop_fd < 0 || (cfg->log_buf > 0 && w.log_fd < 0)) {
    rc = -errno;
    goto out;
  }
  const sc_transport fake = {
      .sendmsg = fk_sendmsg,
      .recvmsg = fk_recvmsg,
      .wait = fk_wait,
      .accept = fk_accept,
      .write = fk_write,
      .ctx = &w,
  };
  sc_server_config sc = {
      .listen_fd = w.listen_fd,
      .stop_fd = w.stop_fd,
      .max_conns = cfg->max_conns,
      .out_limit = cfg->out_limit,
      .recv_buf = cfg->recv_buf,
      .log_fd = w.log_fd,
      .log_buf = cfg->log_buf,
      .transport = &fake,
  };
  res->rc = sc_server_run(&sc, &res->stats);
  refresh_closed(&w);
out:
  for (size_t i = 0; i < res->nclients; i++) {
    sc_fk_client *c = &res->clients[i];
    if (!c->closed) {
      close_fd(&c->a); /* the loop leaked it: sc_fk_check reports it */
    }
    close_fd(&c->b);
  }
  close_fd(&w.listen_fd);
  close_fd(&w.stop_fd);
  close_fd(&w.log_fd);
  return rc;
}

void sc_fk_result_free(sc_fk_result *res) {
  free(res->log);
  res->log = NULL;
  res->log_len = 0;
}

#define WHY(...)                           \
  do {                                     \
    (void)snprintf(why, cap, __VA_ARGS__); \
    return false;                          \
  } while (0)

/* One complete log line (without its '\n'). Counts client lines in *client_lines and
 * what "N log lines dropped" notices say in *noticed. */
static bool check_line(const sc_fk_result *r, const char *line, size_t len, unsigned *seen,
                       unsigned long long *client_lines, char *why, size_t cap) {
  char text[128];
  if (len >= sizeof(text)) {
    WHY("log line too long: %.*s", (int)len, line);
  }
  memcpy(text, line, len);
  text[len] = '\0';
  unsigned long long dropped = 0;
  int used = 0;
  if (sscanf(text, "%llu log lines dropped%n", &dropped, &used) == 1 && (size_t)used == len) {
    if (dropped == 0 || dropped > r->stats.log_dropped) {
      WHY("log notice \"%s\" but %llu lines dropped in all", text, r->stats.log_dropped);
    }
    return true;
  }
  unsigned a = 0;
  unsigned port = 0;
  if (sscanf(text, "client 10.0.0.%u:%u %n", &a, &port, &used) != 2 || a == 0 || a > r->nclients ||
      port != a) {
    WHY("malformed log line \"%s\"", text);
  }
  const sc_fk_client *c = &r->clients[a - 1];
  const char *what = text + used;
  unsigned bit = 0;
  bool ok = false;
  unsigned long long n = 0;
  int tail = 0;
  if (strcmp(what, "connected") == 0) {
    bit = 1;
    ok = !c->cap_rejected;
  } else if (strcmp(what, "rejected (connection cap)") == 0) {
    bit = 2;
    ok = c->cap_rejected;
  } else if (sscanf(what, "closed (eof, %llu messages)%n", &n, &tail) == 1 && what[tail] == '\0') {
    bit = 4;
    ok = !c->cap_rejected && c->eof_read && n == c->messages;
  } else if (strcmp(what, "closed (reset)") == 0 || strncmp(what, "closed (error: ", 15) == 0) {
    bit = 4;
    ok = c->reset;
  } else if (strcmp(what, "closed (server stopping)") == 0) {
    bit = 4;
    ok = r->rc != 0;
  } else {
    WHY("malformed log line \"%s\"", text);
  }
  if (!ok) {
    WHY("log line \"%s\" does not fit client %u (%llu messages, eof read %d, reset %d)", text,
        a - 1, (unsigned long long)c->messages, (int)c->eof_read, (int)c->reset);
  }
  if ((seen[a - 1] & bit) != 0) {
    WHY("log line \"%s\" twice", text);
  }
  seen[a - 1] |= bit;
  (*client_lines)++;
  return true;
}

static bool check_log(const sc_fk_config *cfg, const sc_fk_result *r, unsigned long long accepted,
                      unsigned long long rejected, char *why, size_t cap) {
  if (cfg->log_buf == 0) {
    return true;
  }
  unsigned seen[SC_FK_MAX_CLIENTS] = {0};
  unsigned long long client_lines = 0;
  size_t start = 0;
  for (size_t i = 0; i < r->log_len; i++) {
    if (r->log[i] == '\n') {
      if (!check_line(r, r->log + start, i - start, seen, &client_lines, why, cap)) {
        return false;
      }
      start = i + 1;
    }
  }
  /* A torn last line only when the log descriptor failed (then it counts as dropped). */
  if (start < r->log_len && r->stats.log_dropped == 0) {
    WHY("the log ends in a torn line and no line counts as dropped");
  }
  unsigned long long expected = accepted * 2 + rejected;
  if (client_lines > expected || client_lines + r->stats.log_dropped < expected) {
    WHY("%llu client log lines written, %llu dropped, %llu expected", client_lines,
        r->stats.log_dropped, expected);
  }
  return true;
}

bool sc_fk_check(const sc_fk_config *cfg, const sc_fk_result *r, char *why, size_t cap) {
  if (r->failure[0] != '\0') {
    WHY("%s", r->failure);
  }
  int want_rc = r->fatal_err != 0 ? -r->fatal_err : 0;
  if (r->rc != want_rc) {
    WHY("sc_server_run returned %d, expected %d", r->rc, want_rc);
  }
  unsigned long long accepted = 0;
  unsigned long long rejected = 0;
  unsigned long long messages = 0;
  for (size_t i = 0; i < r->nclients; i++) {
    const sc_fk_client *c = &r->clients[i];
    unsigned long long owed_all = c->messages * SC_CONN_REPLY_LEN;
    if (!c->closed) {
      WHY("client %zu: the loop never closed its descriptor", i);
    }
    if (c->replies > owed_all) {
      WHY("client %zu: %llu reply bytes for %llu messages", i, (unsigned long long)c->replies,
          (unsigned long long)c->messages);
    }
    if (c->max_owed > cfg->out_limit) {
      WHY("client %zu: %llu reply bytes owed, out_limit %zu", i, (unsigned long long)c->max_owed,
          cfg->out_limit);
    }
    if (c->cap_rejected && c->messages > 0) {
      WHY("client %zu: over the connection cap, yet %llu messages read", i,
          (unsigned long long)c->messages);
    }
    if (r->rc == 0 && !c->reset && !c->cap_rejected) {
      if (!c->eof_read) {
        WHY("client %zu: closed before its EOF was read (%llu of %llu bytes read)", i,
            (unsigned long long)(c->sent - c->queued), (unsigned long long)c->sent);
      }
      if (c->replies != owed_all) {
        WHY("client %zu: %llu messages, %llu reply bytes at its close (not 2 x messages)", i,
            (unsigned long long)c->messages, (unsigned long long)c->replies);
      }
    }
    accepted += !c->cap_rejected;
    rejected += c->cap_rejected;
    messages += c->messages;
  }
  const sc_server_stats *s = &r->stats;
  if (s->accepted != accepted || s->rejected != rejected || s->messages != messages ||
      s->closed != accepted) {
    WHY("stats accepted %llu rejected %llu messages %llu closed %llu; clients say %llu %llu %llu "
        "%llu",
        s->accepted, s->rejected, s->messages, s->closed, accepted, rejected, messages, accepted);
  }
  return check_log(cfg, r, accepted, rejected, why, cap);
}
