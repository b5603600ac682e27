/* Baseline for fuzz_msghdr's speed that makes the same calls: a libFuzzer target built
 * with the same flags that decodes each input into the same layout (sc_layout_decode)
 * and makes that layout's sendmsg/recvmsg/close/shutdown calls on the same kinds of
 * reused pairs, with the same iovec lists, names and control data, but through no
 * library path and with no oracle and no checks. The difference to fuzz_msghdr is
 * the price of checking: sc_send_all/sc_recv_msg, the oracle, the comparisons, the
 * descriptor checks and the queue verification.
 * Partial transfers as in the target: layouts with small buffers set SO_SNDBUF on both ends
 * of their own pairs every input and run the same peer thread (sctest/peer.h) as readers
 * during sends and writers during MSG_WAITALL receives and fills (a fill is recvmsg until
 * full, poll() on EAGAIN), deciding where a peer serves from the calls' own results.
 * Differences from the target, all of which make this loop cheaper or equal: sockets are
 * non-blocking except in small-buffer layouts that ask for blocking (no SO_RCVTIMEO, no
 * MSG_DONTWAIT decision), a send is one call except where a reader makes room (then
 * resumed as sc_send_all does), received descriptors are closed without fstat. At the
 * end of every input the ends that still hold data by the calls' own results are drained
 * (recvmsg until EAGAIN; every open end of a pair that saw a close or shutdown), and a
 * clean pair gets the target's one poll() of its two ends.
 * With SC_FUZZ_STATS=1 it prints the same "sockcheck-stats:" line as fuzz_msghdr. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "sctest/layout.h"
#include "sctest/peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct bare_pair {
  int sv[2];
  struct sockaddr_in addr[2]; /* UDP: each end's address */
} bare_pair;

static bare_pair g_pairs[SC_LAYOUT_KIND_COUNT];
static bare_pair g_small[2]; /* stream pairs with small buffers, [nonblock] */
static int g_files[SC_LAYOUT_MAX_FDS];
static struct iovec g_iov[SC_LAYOUT_MAX_IOV + 1];
static uint8_t g_rbuf[SC_LAYOUT_MAX_TOTAL];
static uint8_t g_peer_buf[SC_LAYOUT_MAX_TOTAL + SC_LAYOUT_PEER_ROOM_MAX];
static uint8_t g_writer_src[SC_LAYOUT_PEER_ROOM_MAX];
static union {
  struct cmsghdr h;
  uint8_t b[512];
} g_ctl, g_rctl;
static union {
  struct sockaddr_storage ss;
  uint8_t b[256];
} g_name;
static struct { unsigned long long inputs, sendmsg, recvmsg, other; } g_stats;

static void die(const char *what) {
  fprintf(stderr, "replay_msghdr: %s: %s\n", what, strerror(errno));
  abort();
}

static void print_stats(void) {
  fprintf(stderr, "sockcheck-stats: inputs %llu sendmsg %llu recvmsg %llu other-syscalls %llu\n",
          g_stats.inputs, g_stats.sendmsg, g_stats.recvmsg, g_stats.other);
}

static void setup(void) {
  for (unsigned i = 0; i < SC_LAYOUT_MAX_FDS; i++) {
    g_files[i] = memfd_create("sockcheck-bare", MFD_CLOEXEC);
    if (g_files[i] < 0) {
      die("memfd_create");
    }
  }
  for (unsigned k = 0; k < SC_LAYOUT_KIND_COUNT; k++) {
    g_pairs[k].sv[0] = g_pairs[k].sv[1] = -1;
  }
  for (unsigned b = 0; b < 2; b++) {
    g_small[b].sv[0] = g_small[b].sv[1] = -1;
  }
  const char *stats = getenv("SC_FUZZ_STATS");
  if (stats != NULL && strcmp(stats, "1") == 0 && atexit(print_stats) != 0) {
    die("atexit");
  }
}

static void open_udp(bare_pair *p) {
  for (unsigned e = 0; e < 2; e++) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    p->sv[e] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->sv[e] < 0 || bind(p->sv[e], (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(p->sv[e], (struct sockaddr *)&p->addr[e], &len) != 0) {
      die("udp socket");
    }
  }
  for (unsigned e = 0; e < 2; e++) {
    if (connect(p->sv[e], (struct sockaddr *)&p->addr[e ^ 1u], sizeof p->addr[0]) != 0) {
      die("udp connect");
    }
  }
  /* like fuzz_msghdr: drop what reached an end before it was connected */
  for (unsigned e = 0; e < 2; e++) {
    while (recv(p->sv[e], NULL, 0, MSG_DONTWAIT | MSG_TRUNC) >= 0) {
    }
  }
}

static bare_pair *get_small_pair(const sc_layout *l) {
  bare_pair *p = &g_small[l->nonblock & 1u];
  int size = sc_layout_sndbuf(l);
  if (p->sv[0] < 0) {
    if (socketpair(AF_UNIX, SOCK_STREAM | (l->nonblock ? SOCK_NONBLOCK : 0) | SOCK_CLOEXEC, 0,
                   p->sv) != 0) {
      die("socketpair");
    }
    /* the target's timeouts for its blocking small-buffer pairs */
    struct timeval tv = {.tv_sec = SC_PEER_LIMIT_MS / 1000, .tv_usec = 0};
    for (unsigned e = 0; e < 2 && !l->nonblock; e++) {
      if (setsockopt(p->sv[e], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
          setsockopt(p->sv[e], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        die("SO_RCVTIMEO");
      }
    }
  }
  for (unsigned e = 0; e < 2; e++) {
    g_stats.other++;
    if (setsockopt(p->sv[e], SOL_SOCKET, SO_SNDBUF, &size, sizeof size) != 0) {
      die("SO_SNDBUF");
    }
  }
  return p;
}

static bare_pair *get_pair(unsigned kind) {
  static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
  bare_pair *p = &g_pairs[kind];
  if (p->sv[0] >= 0) {
    return p;
  }
  if (kind == SC_LAYOUT_UDP) {
    open_udp(p);
  } else if (socketpair(AF_UNIX, types[kind] | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p->sv) != 0) {
    die("socketpair");
  }
  return p;
}

static void close_pair(bare_pair *p) {
  for (unsigned e = 0; e < 2; e++) {
    if (p->sv[e] >= 0) {
      (void)close(p->sv[e]);
      p->sv[e] = -1;
    }
  }
}

static size_t build_control(const sc_layout_op *op) {
  unsigned nfds = op->ctl == SC_CTL_RIGHTS ? op->nfds : 1u;
  size_t len = CMSG_SPACE(nfds * sizeof(int));
  memset(g_ctl.b, 0, len);
  g_ctl.h.cmsg_level = SOL_SOCKET;
  switch (op->ctl) {
    case SC_CTL_NONE:
      return 0;
    case SC_CTL_CREDS: {
      struct ucred c = {.pid = getpid(), .uid = getuid(), .gid = getgid()};
      len = CMSG_SPACE(sizeof c);
      g_ctl.h.cmsg_type = SCM_CREDENTIALS;
      g_ctl.h.cmsg_len = CMSG_LEN(sizeof c);
      memcpy(CMSG_DATA(&g_ctl.h), &c, sizeof c);
      return len;
    }
    case SC_CTL_BAD_FD: {
      int bad = -1;
      g_ctl.h.cmsg_type = SCM_RIGHTS;
      g_ctl.h.cmsg_len = CMSG_LEN(sizeof bad);
      memcpy(CMSG_DATA(&g_ctl.h), &bad, sizeof bad);
      return len;
    }
    case SC_CTL_RIGHTS:
    case SC_CTL_LEN_SMALL:
    case SC_CTL_LEN_PAST_END:
    default:
      g_ctl.h.cmsg_type = SCM_RIGHTS;
      g_ctl.h.cmsg_len = op->ctl == SC_CTL_LEN_SMALL      ? 8
                         : op->ctl == SC_CTL_LEN_PAST_END ? len + 64
                                                          : CMSG_LEN(nfds * sizeof(int));
      memcpy(CMSG_DATA(&g_ctl.h), g_files, nfds * sizeof(int));
      return len;
  }
}

/* A send with a reader: resumed over short writes with poll() on EAGAIN, as sc_send_all
 * does, the control going with the first call only. */
static ssize_t send_rest(int fd, struct msghdr *m, ssize_t first, int flags) {
  struct iovec *orig = m->msg_iov;
  size_t n = m->msg_iovlen;
  size_t total = 0;
  for (size_t k = 0; k < n; k++) {
    total += orig[k].iov_len;
  }
  size_t done = first > 0 ? (size_t)first : 0;
  ssize_t r = first;
  for (unsigned tries = 0; tries < 100000 && done < total && (r >= 0 || errno == EAGAIN); tries++) {
    if (r < 0) {
      struct pollfd pf = {.fd = fd, .events = POLLOUT};
      g_stats.other++;
      (void)poll(&pf, 1, SC_PEER_LIMIT_MS);
    }
    size_t k = 0;
    size_t skip = done;
    while (skip >= orig[k].iov_len) { /* k < n: done < total */
      skip -= orig[k].iov_len;
      k++;
    }
    struct iovec keep = orig[k];
    orig[k].iov_base = (uint8_t *)orig[k].iov_base + skip;
    orig[k].iov_len -= skip;
    m->msg_iov = orig + k;
    m->msg_iovlen = n - k;
    m->msg_control = NULL;
    m->msg_controllen = 0;
    g_stats.sendmsg++;
    r = sendmsg(fd, m, flags);
    orig[k] = keep;
    done += r > 0 ? (size_t)r : 0;
  }
  return r < 0 && done == 0 ? r : (ssize_t)done;
}

/* One sendmsg (more with a reader); returns its result. */
static ssize_t do_send(const sc_layout *l, const sc_layout_op *op, const bare_pair *p,
                       bool reader) {
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = g_iov;
  m.msg_iovlen = sc_layout_send_iov(op, g_iov, SC_LAYOUT_MAX_IOV + 1);
  memset(g_name.b, 0, sizeof g_name.b);
  socklen_t valid = sizeof(sa_family_t);
  if (l->kind == SC_LAYOUT_UDP) {
    memcpy(&g_name.ss, &p->addr[op->end ^ 1u], sizeof p->addr[0]);
    valid = sizeof p->addr[0];
  } else {
    g_name.ss.ss_family = AF_UNIX;
  }
  if (op->name != SC_NAME_NONE) {
    m.msg_name = op->name == SC_NAME_NULL_LEN ? NULL : &g_name;
    m.msg_namelen = op->name == SC_NAME_VALID      ? valid
                    : op->name == SC_NAME_SHORT    ? 1
                    : op->name == SC_NAME_OVERSIZE ? 200
                                                   : 16;
  }
  m.msg_controllen = build_control(op);
  m.msg_control = m.msg_controllen > 0 ? g_ctl.b : NULL;
  g_stats.sendmsg++;
  int flags = op->flags | MSG_NOSIGNAL | (l->sndbuf != 0 ? 0 : MSG_DONTWAIT);
  ssize_t r = sendmsg(p->sv[op->end], &m, flags);
  return reader ? send_rest(p->sv[op->end], &m, r, flags) : r;
}

/* One recvmsg; closes any descriptors it brought. Returns its result. */
static ssize_t recv_close(int fd, struct msghdr *m, int flags) {
  g_stats.recvmsg++;
  ssize_t r = recvmsg(fd, m, flags);
  if (r < 0 || m->msg_controllen == 0) {
    return r;
  }
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t k = 0; k < n; k++) {
        int fd2;
        memcpy(&fd2, CMSG_DATA(c) + k * sizeof(int), sizeof fd2);
        (void)close(fd2);
      }
    }
  }
  return r;
}

/* A fill: recvmsg until the buffers are full, poll() on EAGAIN. */
static ssize_t do_fill(int fd, size_t room) {
  size_t done = 0;
  struct iovec one;
  struct msghdr m;
  memset(&m, 0, sizeof m);
  for (unsigned tries = 0; tries < 100000 && done < room; tries++) {
    one.iov_base = g_rbuf + done; /* the recv lists are consecutive in g_rbuf */
    one.iov_len = room - done;
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    g_stats.recvmsg++;
    ssize_t r = recvmsg(fd, &m, 0);
    if (r < 0 && errno == EAGAIN) {
      struct pollfd pf = {.fd = fd, .events = POLLIN};
      g_stats.other++;
      (void)poll(&pf, 1, SC_PEER_LIMIT_MS);
      continue;
    }
    if (r <= 0) {
      break;
    }
    done += (size_t)r;
  }
  return (ssize_t)done;
}

/* One recvmsg (a fill with its writer: several; a MSG_WAITALL one with its writer waits);
 * returns its result. */
static ssize_t do_recv(const sc_layout_op *op, const bare_pair *p, bool served) {
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = g_iov;
  m.msg_iovlen = sc_layout_recv_iov(op, g_rbuf, sizeof g_rbuf, g_iov, SC_LAYOUT_MAX_IOV + 1);
  memset(g_rbuf, 0xa5, sc_layout_iov_total(op)); /* as the target poisons it */
  if (served && (op->peer & SC_PEER_FILL)) {
    return do_fill(p->sv[op->end], sc_layout_iov_total(op));
  }
  m.msg_control = op->ctl_len > 0 ? g_rctl.b : NULL;
  m.msg_controllen = op->ctl_len;
  /* served with room: the writer's bytes are due, it waits for them; else it would block */
  bool waits = served && sc_layout_iov_total(op) > 0;
  return recv_close(p->sv[op->end], &m, op->flags | (waits ? 0 : MSG_DONTWAIT));
}

static void verify_empty(const bare_pair *p) {
  struct pollfd pf[2] = {{.fd = p->sv[0], .events = POLLIN}, {.fd = p->sv[1], .events = POLLIN}};
  g_stats.other++;
  if (poll(pf, 2, 0) < 0) {
    die("poll");
  }
}

static void drain(int fd) {
  for (unsigned k = 0; k < 64; k++) {
    struct iovec iov = {.iov_base = g_rbuf, .iov_len = sizeof g_rbuf};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = g_rctl.b;
    m.msg_controllen = sizeof g_rctl.b;
    if (recv_close(fd, &m, MSG_DONTWAIT) <= 0) {
      return;
    }
  }
}

/* Where the target's model would serve op with its peer, from the calls' own results. */
static bool serves(const sc_layout *l, const sc_layout_op *op, const bare_pair *p, bool dirty,
                   const bool *fds_at) {
  if (op->peer == 0 || p->sv[op->end ^ 1u] < 0) {
    return false;
  }
  if (op->type == SC_OP_SEND) {
    return true;
  }
  return !dirty && !fds_at[op->end] && sc_layout_iov_count(op) <= 1024 &&
         ((op->peer & SC_PEER_FILL) ||
          ((op->flags & MSG_WAITALL) && !(op->flags & (MSG_PEEK | MSG_DONTWAIT)) && !l->nonblock));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static sc_layout l;
  static bool ready;
  if (!ready) {
    setup();
    for (size_t i = 0; i < sizeof g_writer_src; i++) {
      g_writer_src[i] = (uint8_t)(i * 29u);
    }
    ready = true;
  }
  g_stats.inputs++;
  sc_layout_decode(data, size, &l);
  bare_pair *p = l.sndbuf != 0 ? get_small_pair(&l) : get_pair(l.kind);
  /* What each end can still read, from the calls' own results (no model): messages on the
   * datagram kinds, bytes on a stream. The drain at the end then makes the same calls as
   * fuzz_msghdr's (recvmsg until EAGAIN where something is left). */
  size_t left[2] = {0, 0};
  bool fds_at[2] = {false, false};
  bool stream = l.kind == SC_LAYOUT_STREAM;
  bool dirty = false;
  for (unsigned i = 0; i < l.nops; i++) {
    const sc_layout_op *op = &l.op[i];
    bool peer = serves(&l, op, p, dirty, fds_at);
    unsigned e = op->end;
    sc_peer_result res;
    switch (op->type) {
      case SC_OP_SEND: {
        if (peer && sc_peer_start_read(p->sv[e ^ 1u], g_peer_buf, sizeof g_peer_buf,
                                       sc_layout_peer_chunk(op), op->pause * 100u,
                                       SC_LAYOUT_PEER_PAUSED_CALLS) != 0) {
          die("peer thread");
        }
        ssize_t r = do_send(&l, op, p, peer);
        left[e ^ 1u] += r < 0 ? 0 : (stream ? (size_t)r : 1u);
        fds_at[e ^ 1u] = fds_at[e ^ 1u] || (op->ctl == SC_CTL_RIGHTS && r > 0);
        if (peer) {
          sc_peer_finish_read(left[e ^ 1u], &res);
          left[e ^ 1u] = 0;
          fds_at[e ^ 1u] = false;
        }
        break;
      }
      case SC_OP_RECV: {
        size_t room = sc_layout_iov_total(op);
        size_t missing = peer && room > left[e] ? room - left[e] : 0;
        if (peer &&
            sc_peer_start_write(p->sv[e ^ 1u], g_writer_src, missing, sc_layout_peer_chunk(op),
                                op->pause * 100u, SC_LAYOUT_PEER_PAUSED_CALLS) != 0) {
          die("peer thread");
        }
        left[e] += missing;
        ssize_t r = do_recv(op, p, peer);
        if (peer) {
          sc_peer_finish_write(&res);
        }
        size_t *q = &left[e];
        bool fill = peer && (op->peer & SC_PEER_FILL); /* a fill takes no flags */
        if (r >= 0 && ((op->flags & MSG_PEEK) == 0 || fill) && *q > 0) {
          size_t took = stream ? (size_t)r : 1u;
          *q -= took < *q ? took : *q;
        }
        break;
      }
      case SC_OP_CLOSE:
        g_stats.other++;
        (void)close(p->sv[e]);
        p->sv[e] = -1;
        dirty = true;
        break;
      case SC_OP_SHUTDOWN:
        g_stats.other++;
        (void)shutdown(p->sv[e], op->how);
        dirty = true;
        break;
      default:
        break;
    }
  }
  for (unsigned e = 0; e < 2; e++) {
    if (p->sv[e] >= 0 && (dirty || left[e] > 0)) {
      drain(p->sv[e]);
    }
  }
  if (dirty) {
    close_pair(p);
  } else {
    verify_empty(p);
  }
  return 0;
}
