/* Baseline for fuzz_msghdr's speed that makes the same calls: a libFuzzer target built
 * with the same flags that decodes each input into the same layout (sc_layout_decode)
 * and makes that layout's sendmsg/recvmsg/close/shutdown calls on the same kinds of
 * reused pairs, with the same iovec lists, names and control data, but through no
 * library path and with no oracle and no checks. The difference to fuzz_msghdr is
 * the price of checking: sc_send_all/sc_recv_msg, the oracle, the comparisons, the
 * descriptor checks and the queue verification.
 * Differences from the target, all of which make this loop cheaper or equal: every
 * socket is non-blocking (no SO_RCVTIMEO, no MSG_DONTWAIT decision), a send is one call
 * (no retry of a short write), received descriptors are closed without fstat. At the end
 * the ends that still hold data by the calls' own results are drained (recvmsg until
 * EAGAIN), as fuzz_msghdr drains the ends its model says hold data.
 * With SC_FUZZ_STATS=1 it prints the same "sockcheck-stats:" line as fuzz_msghdr. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sctest/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct bare_pair {
  int sv[2];
  struct sockaddr_in addr[2]; /* UDP: each end's address */
} bare_pair;

static bare_pair g_pairs[SC_LAYOUT_KIND_COUNT];
static int g_files[SC_LAYOUT_MAX_FDS];
static struct iovec g_iov[SC_LAYOUT_MAX_IOV + 1];
static uint8_t g_rbuf[SC_LAYOUT_MAX_TOTAL];
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

/* One sendmsg; returns its result. */
static ssize_t do_send(const sc_layout *l, const sc_layout_op *op, const bare_pair *p) {
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
  return sendmsg(p->sv[op->end], &m, op->flags | MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* One recvmsg; closes any descriptors it brought. Returns its result. */
static ssize_t recv_close(int fd, struct msghdr *m, int flags) {
  g_stats.recvmsg++;
  ssize_t r = recvmsg(fd, m, flags | MSG_DONTWAIT);
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

/* One recvmsg; returns its result. */
static ssize_t do_recv(const sc_layout_op *op, const bare_pair *p) {
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = g_iov;
  m.msg_iovlen = sc_layout_recv_iov(op, g_rbuf, sizeof g_rbuf, g_iov, SC_LAYOUT_MAX_IOV + 1);
  m.msg_control = op->ctl_len > 0 ? g_rctl.b : NULL;
  m.msg_controllen = op->ctl_len;
  return recv_close(p->sv[op->end], &m, op->flags);
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
    if (recv_close(fd, &m, 0) < 0) {
      return;
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static sc_layout l;
  static bool ready;
  if (!ready) {
    setup();
    ready = true;
  }
  g_stats.inputs++;
  sc_layout_decode(data, size, &l);
  bare_pair *p = get_pair(l.kind);
  /* What each end can still read, from the calls' own results (no model): messages on the
   * datagram kinds, bytes on a stream. The drain at the end then makes the same calls as
   * fuzz_msghdr's (recvmsg until EAGAIN, only where something is left). */
  size_t left[2] = {0, 0};
  bool stream = l.kind == SC_LAYOUT_STREAM;
  bool dirty = false;
  for (unsigned i = 0; i < l.nops; i++) {
    const sc_layout_op *op = &l.op[i];
    switch (op->type) {
      case SC_OP_SEND: {
        ssize_t r = do_send(&l, op, p);
        left[op->end ^ 1u] += r < 0 ? 0 : (stream ? (size_t)r : 1u);
        break;
      }
      case SC_OP_RECV: {
        ssize_t r = do_recv(op, p);
        size_t *q = &left[op->end];
        if (r >= 0 && (op->flags & MSG_PEEK) == 0 && *q > 0) {
          size_t took = stream ? (size_t)r : 1u;
          *q -= took < *q ? took : *q;
        }
        break;
      }
      case SC_OP_CLOSE:
        g_stats.other++;
        (void)close(p->sv[op->end]);
        p->sv[op->end] = -1;
        dirty = true;
        break;
      case SC_OP_SHUTDOWN:
        g_stats.other++;
        (void)shutdown(p->sv[op->end], op->how);
        dirty = true;
        break;
      default:
        break;
    }
  }
  if (dirty) {
    close_pair(p);
    return 0;
  }
  for (unsigned e = 0; e < 2; e++) {
    if (left[e] > 0) {
      drain(p->sv[e]);
    }
  }
  return 0;
}
