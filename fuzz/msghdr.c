/* Fuzz target `msghdr`.
 * Drives: sc_send_all, sc_recv_msg (over sc_transport_kernel()), sc_cmsg_add_rights,
 *         sc_cmsg_add_creds, sc_cmsg_iter_init/next, sc_cmsg_rights, sc_cmsg_close_fds,
 *         sc_pair_open, sc_addr_parse/bind_socket/local; the layout decoder and the
 *         oracle model (sockcheck/layout.h, sockcheck/oracle.h).
 * Each input decodes to a layout: a pair kind (AF_UNIX stream/dgram/seqpacket, UDP
 * on loopback), blocking or not, and up to 8 sends/receives/closes/shutdowns. Every
 * op runs on a real pair and in the oracle in lock step. Asserts:
 *   - return value / errno is one the oracle allows (errno sets where Linux allows a set,
 *     e.g. a prefix sent before EFAULT on a stream);
 *   - received bytes equal the gathered bytes the model queued (scatter == gather);
 *   - msg_flags (MSG_TRUNC, MSG_CTRUNC) and msg_controllen as predicted; msg_flags is
 *     set afresh and iov_len never written back (X-FLAGS);
 *   - received descriptors are the ones sent (fstat dev/ino, in order), close-on-exec
 *     exactly when MSG_CMSG_CLOEXEC was given (X-CLOEXEC), and all get closed;
 *   - UDP receives name the sender (RECV-3); AF_UNIX receives name no one: socketpair
 *     ends are unnamed, so msg_namelen comes back 0 (6.18) or, as unix(7) says of unnamed
 *     sockets, sizeof(sa_family_t) with AF_UNIX, whichever the calibrated kernel fact
 *     unbound-namelen says, and the name buffer past it is untouched (X-UNNAMED);
 *   - the receive buffer past the returned count is untouched (poisoned before the call);
 *   - the layout's iovec builders (sc_layout_send_iov/recv_iov) give every iovec the
 *     layout counts;
 *   - partial transfers (stream layouts with small send buffers, sctest/layout.h): a send
 *     with a reader (a peer thread reading the other end in the layout's chunks, with its
 *     pauses) returns every byte, and the reader got exactly the bytes the model queued,
 *     once, in order, with their descriptors; a receive with a writer (MSG_WAITALL on a
 *     blocking socket, or sc_recv_fill) waits for the bytes the writer sends and returns
 *     the whole room;
 *   - at the end of every input, what is left in the queues is what the model says, byte
 *     for byte and message by message (descriptors counted): every open end is drained
 *     (a pair that saw a close or shutdown too, before it is closed); a clean pair is then
 *     checked empty with one poll() of its two ends; every 1000 inputs the process's
 *     descriptor count is unchanged.
 * Each input leaves its pair empty or closes it, so an input's outcome does not depend on
 * the inputs before it: a crash file reproduces alone. Pairs are cached per kind, blocking
 * mode and buffer size class (set afresh by each input) and reused while no close or
 * shutdown happened, so the target runs near bare syscall speed. Deterministic: receives on
 * blocking sockets get MSG_DONTWAIT where they could block (oracle decides).
 * A fresh UDP pair first drops what reached its ends before they were connected (strays from
 * other processes, see discard_strays); SC_FUZZ_STRAYS=1 sends every new end one, to test that.
 * With SC_FUZZ_STATS=1 in the environment, the counts of inputs and of sendmsg, recvmsg
 * and other syscalls per input are printed at exit (bench/bench_fuzz.sh uses them), with
 * the shares of inputs in which sc_send_all made two or more transport calls and in which
 * a library call waited. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "sockcheck/addr.h"
#include "sockcheck/cmsg.h"
#include "sockcheck/error.h"
#include "sctest/layout.h"
#include "sockcheck/msg.h"
#include "sctest/oracle.h"
#include "sockcheck/pair.h"
#include "sockcheck/transport.h"
#include "sctest/fds.h"
#include "sctest/peer.h"
#include "support/check.h"
#include "support/hooks.h"

#define HELD_FILES SC_LAYOUT_MAX_FDS
#define FD_CHECK_EVERY 1000u
/* Reads of one end's drain: its messages (or a stream's sends, read in pieces split at
 * descriptors), a pending reset or ICMP error, and the read that finds it empty. */
#define DRAIN_MAX (4 * SC_ORACLE_MAX_CHUNKS + 8)
/* verify_empty's poll() is retried on EINTR at most this many times. */
#define POLL_EINTR_TRIES 100u
/* Waits of the library's calls in layouts with small buffers, and the receive and send
 * timeouts of their blocking pairs: the peer makes progress within its pauses, so this only
 * bounds a wrong prediction; it is long because a loaded machine (a signal storm, other
 * fuzzers) can keep the peer thread off a CPU for a second. */
#define PEER_WAIT_MS SC_PEER_LIMIT_MS
#define POISON 0xa5u

typedef struct cached_pair {
  int sv[2];
  bool open;
  sc_addr addr[2]; /* UDP: each end's address */
} cached_pair;

static int g_files[HELD_FILES];
static struct stat g_file_st[HELD_FILES];
static struct ucred g_cred;
/* [kind][nonblock][small send buffers] (small buffers: streams only) */
static cached_pair g_cache[SC_LAYOUT_KIND_COUNT][2][2];
static sc_oracle g_model;
static sc_layout g_layout;
static struct iovec g_iov[SC_LAYOUT_MAX_IOV + 1];
static uint8_t g_rbuf[SC_LAYOUT_MAX_TOTAL];
static uint8_t g_poison[SC_LAYOUT_MAX_TOTAL];
/* The peer thread's bytes: what a reader read, what a writer writes. */
static uint8_t g_peer_buf[SC_LAYOUT_MAX_TOTAL + SC_LAYOUT_PEER_ROOM_MAX];
static uint8_t g_writer_src[SC_LAYOUT_PEER_ROOM_MAX + 256];
static size_t g_writer_len; /* the bytes the current writer must write */
static union {
  struct cmsghdr h;
  uint8_t b[512];
} g_ctl_send, g_ctl_recv;
static union {
  struct sockaddr_storage ss;
  uint8_t b[256];
} g_name, g_rname;
/* SC_FUZZ_STRAYS=1: udp_open sends each new end a stray datagram from a third socket while
 * it is still unconnected (the race described at discard_strays, made certain: the
 * interference test runs the target so). */
static bool g_inject_strays;
static int g_stray_fd = -1;

static long g_base_fds = -1;
static unsigned long g_runs;
static bool g_ready;

/* Syscall counts for SC_FUZZ_STATS: the kernel transport, counted. */
static struct {
  unsigned long long sendmsg, recvmsg, other, strays_sent, strays_dropped;
  unsigned long long multi_call_inputs, waited_inputs; /* sc_send_all >= 2 calls; a wait */
} g_stats;
/* The current input: sendmsg calls of the current sc_send_all, and whether it had one
 * of two or more calls and whether a call waited. */
static struct {
  unsigned send_calls;
  bool multi_call;
  bool waited;
} g_input;

SC_NO_COVERAGE static ssize_t count_sendmsg(const sc_transport *t, int fd, const struct msghdr *m,
                                            int flags) {
  (void)t;
  g_stats.sendmsg++;
  g_input.send_calls++;
  return sc_transport_kernel()->sendmsg(sc_transport_kernel(), fd, m, flags);
}

SC_NO_COVERAGE static ssize_t count_recvmsg(const sc_transport *t, int fd, struct msghdr *m,
                                            int flags) {
  (void)t;
  g_stats.recvmsg++;
  return sc_transport_kernel()->recvmsg(sc_transport_kernel(), fd, m, flags);
}

SC_NO_COVERAGE static int count_wait(const sc_transport *t, int fd, short events, int timeout_ms) {
  (void)t;
  g_stats.other++;
  g_input.waited = true;
  return sc_transport_kernel()->wait(sc_transport_kernel(), fd, events, timeout_ms);
}

static const sc_transport g_counted = {
    .sendmsg = count_sendmsg, .recvmsg = count_recvmsg, .wait = count_wait, .ctx = NULL};

SC_NO_COVERAGE static void print_stats(void) {
  double n = g_runs > 0 ? (double)g_runs : 1.0;
  fprintf(stderr,
          "sockcheck-stats: inputs %lu sendmsg %llu recvmsg %llu other-syscalls %llu "
          "strays-sent %llu strays-dropped %llu send-all-multi-call %llu (%.1f%%) "
          "waited %llu (%.1f%%)\n",
          g_runs, g_stats.sendmsg, g_stats.recvmsg, g_stats.other, g_stats.strays_sent,
          g_stats.strays_dropped, g_stats.multi_call_inputs, 100.0 * g_stats.multi_call_inputs / n,
          g_stats.waited_inputs, 100.0 * g_stats.waited_inputs / n);
}

/* Descriptors held between inputs that is_mine() recognises (the peer's eventfd is not one). */
static size_t held(void) {
  size_t n = HELD_FILES + (g_stray_fd >= 0 ? 1u : 0u);
  for (unsigned k = 0; k < SC_LAYOUT_KIND_COUNT; k++) {
    for (unsigned b = 0; b < 2; b++) {
      for (unsigned s = 0; s < 2; s++) {
        n += g_cache[k][b][s].open ? 2u : 0u;
      }
    }
  }
  return n;
}

size_t sc_fuzz_held_fds(void) {
  return g_ready ? held() + sc_peer_held_fds() : 0; /* the peer's eventfd too */
}

/* Descriptors this target is responsible for: sockets, and anything referring to
 * one of the held files (received copies). libFuzzer's own descriptors (it opens
 * some after LLVMFuzzerInitialize) are not counted. */
SC_NO_COVERAGE static bool is_mine(int fd, const struct stat *st) {
  (void)fd;
  bool mine = S_ISSOCK(st->st_mode);
  for (unsigned i = 0; i < HELD_FILES && g_ready && !mine; i++) {
    mine = st->st_dev == g_file_st[i].st_dev && st->st_ino == g_file_st[i].st_ino;
  }
  return mine;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  int p[2];
  /* memfds: inodes of their own, so a leaked received copy is recognisable */
  g_files[0] = memfd_create("sockcheck-fuzz-a", MFD_CLOEXEC);
  g_files[1] = memfd_create("sockcheck-fuzz-b", MFD_CLOEXEC);
  SC_FUZZ_CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2: %s", sc_err_message(errno));
  g_files[2] = p[0];
  g_files[3] = p[1];
  for (unsigned i = 0; i < HELD_FILES; i++) {
    SC_FUZZ_CHECK(g_files[i] >= 0 && fstat(g_files[i], &g_file_st[i]) == 0, "held file %u", i);
  }
  g_cred.pid = getpid();
  g_cred.uid = getuid();
  g_cred.gid = getgid();
  for (unsigned k = 0; k < SC_LAYOUT_KIND_COUNT; k++) {
    for (unsigned b = 0; b < 2; b++) {
      for (unsigned s = 0; s < 2; s++) {
        g_cache[k][b][s].sv[0] = g_cache[k][b][s].sv[1] = -1;
        g_cache[k][b][s].open = false;
      }
    }
  }
  memset(g_poison, POISON, sizeof g_poison);
  for (size_t i = 0; i < sizeof g_writer_src; i++) {
    g_writer_src[i] = (uint8_t)((i * 29u) ^ (i >> 5) ^ 0xc3u);
  }
  (void)sc_fuzz_kfacts(); /* calibrates now, before the descriptors are counted */
  g_ready = true;
  g_base_fds =
      sc_test_count_fds(is_mine) - (long)held(); /* sockets and files from before: normally 0 */
  const char *stats = getenv("SC_FUZZ_STATS");
  if (stats != NULL && strcmp(stats, "1") == 0) {
    SC_FUZZ_CHECK(atexit(print_stats) == 0, "atexit");
  }
  const char *strays = getenv("SC_FUZZ_STRAYS");
  g_inject_strays = strays != NULL && strcmp(strays, "1") == 0;
  return 0;
}

SC_NO_COVERAGE static void report(int i, const sc_oracle_expect *ex) {
  fprintf(stderr, "sockcheck: msghdr layout:\n");
  (void)sc_layout_print(&g_layout, stderr);
  if (i >= 0 && ex != NULL) {
    fprintf(stderr, "sockcheck: at op [%d], oracle expected: ", i);
    sc_oracle_print_expect(ex, stderr);
  }
}

#define EXPECT(cond, i, ex, ...)                     \
  do {                                               \
    if (!(cond)) {                                   \
      report(i, ex);                                 \
      sc_fuzz_fail(__FILE__, __LINE__, __VA_ARGS__); \
    }                                                \
  } while (0)

/* Sends a zero-length datagram to `to` from the stray socket (opened on first use). */
SC_NO_COVERAGE static int send_stray(const sc_addr *to) {
  if (g_stray_fd < 0) {
    g_stray_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (g_stray_fd < 0) {
      return SC_ERR(errno);
    }
  }
  if (sendto(g_stray_fd, "", 0, 0, (const struct sockaddr *)&to->ss, to->len) != 0) {
    return SC_ERR(errno);
  }
  g_stats.strays_sent++;
  return 0;
}

/* A bound UDP socket takes datagrams from anyone until it is connected: one sent by another
 * process (a second fuzzer, any UDP user on the machine) to the ephemeral port just bound,
 * in the instant between bind() and connect(), would sit in the queue where the model says
 * nothing is. Once connected, the kernel delivers it only what its peer sends, so what is
 * queued right after connect() is all stray: it is read and dropped. (Found in a campaign
 * while another fuzz_msghdr ran: "recv returned 0" on a fresh pair, a stray empty datagram.) */
#define STRAYS_MAX 4096u
SC_NO_COVERAGE static int discard_strays(int fd) {
  for (unsigned k = 0; k < STRAYS_MAX; k++) {
    ssize_t n = recv(fd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : SC_ERR(errno);
    }
    g_stats.strays_dropped++;
  }
  return -EAGAIN; /* still more: something floods the port */
}

static int udp_open(bool nonblock, cached_pair *cp) {
  static sc_addr any; /* 127.0.0.1:0, parsed once */
  static bool parsed;
  int r = parsed ? 0 : sc_addr_parse("127.0.0.1:0", &any);
  if (r < 0) {
    return r;
  }
  parsed = true;
  for (unsigned e = 0; e < 2; e++) {
    cp->sv[e] = sc_addr_bind_socket(&any, SOCK_DGRAM, nonblock ? SOCK_NONBLOCK : 0, 0);
    if (cp->sv[e] < 0) {
      return cp->sv[e];
    }
    r = sc_addr_local(cp->sv[e], &cp->addr[e]);
    if (r < 0) {
      return r;
    }
    if (g_inject_strays && (r = send_stray(&cp->addr[e])) < 0) {
      return r;
    }
  }
  for (unsigned e = 0; e < 2; e++) {
    const sc_addr *to = &cp->addr[e ^ 1u];
    if (connect(cp->sv[e], (const struct sockaddr *)&to->ss, to->len) != 0) {
      return SC_ERR(errno);
    }
  }
  for (unsigned e = 0; e < 2; e++) {
    if ((r = discard_strays(cp->sv[e])) < 0) {
      return r;
    }
  }
  return 0;
}

/* Sets SO_SNDBUF on both ends (small buffers: every input sets its own size). */
SC_NO_COVERAGE static void set_sndbuf(cached_pair *cp, int size) {
  for (unsigned e = 0; e < 2; e++) {
    g_stats.other++;
    SC_FUZZ_CHECK(setsockopt(cp->sv[e], SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == 0,
                  "SO_SNDBUF %d: %s", size, sc_err_message(errno));
  }
}

SC_NO_COVERAGE static cached_pair *get_pair(unsigned kind, bool nonblock, int sndbuf) {
  cached_pair *cp = &g_cache[kind][nonblock][sndbuf != 0];
  if (cp->open) {
    if (sndbuf != 0) {
      set_sndbuf(cp, sndbuf);
    }
    return cp;
  }
  static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
  int r;
  cp->sv[0] = cp->sv[1] = -1;
  if (kind == SC_LAYOUT_UDP) {
    r = udp_open(nonblock, cp);
  } else {
    r = sc_pair_open(types[kind], nonblock ? SC_PAIR_NONBLOCK : 0, cp->sv);
  }
  if (r < 0) {
    sc_pair_close(cp->sv);
    SC_FUZZ_CHECK(false, "cannot open a %s pair: %s", sc_layout_kind_name(kind), sc_err_name(r));
  }
  if (!nonblock) {
    /* A wrong prediction must not hang a blocking receive: it then fails with EAGAIN
     * after 1 s (small buffers: PEER_WAIT_MS, the receive may wait for its writer) and is
     * reported as a mismatch. Sends need no timeout where layouts cap what they queue
     * below every buffer limit (sc_layout_decode); with small buffers a send may wait for
     * its reader, and a reader that stopped makes it fail after PEER_WAIT_MS. */
    struct timeval tv = {.tv_sec = sndbuf != 0 ? PEER_WAIT_MS / 1000 : 1, .tv_usec = 0};
    struct timeval stv = {.tv_sec = PEER_WAIT_MS / 1000, .tv_usec = 0};
    for (unsigned e = 0; e < 2; e++) {
      SC_FUZZ_CHECK(setsockopt(cp->sv[e], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
                        (sndbuf == 0 ||
                         setsockopt(cp->sv[e], SOL_SOCKET, SO_SNDTIMEO, &stv, sizeof stv) == 0),
                    "SO_RCVTIMEO/SO_SNDTIMEO: %s", sc_err_message(errno));
    }
  }
  if (sndbuf != 0) {
    set_sndbuf(cp, sndbuf);
  }
  cp->open = true;
  return cp;
}

SC_NO_COVERAGE static void build_name(const sc_layout_op *op, const cached_pair *cp,
                                      struct msghdr *msg) {
  socklen_t valid_len;
  memset(g_name.b, 0, sizeof g_name.b);
  if (g_layout.kind == SC_LAYOUT_UDP) {
    const sc_addr *to = &cp->addr[op->end ^ 1u];
    memcpy(&g_name.ss, &to->ss, to->len);
    valid_len = to->len;
  } else {
    g_name.ss.ss_family = AF_UNIX;
    valid_len = sizeof(sa_family_t);
  }
  switch (op->name) {
    case SC_NAME_VALID:
      msg->msg_name = &g_name;
      msg->msg_namelen = valid_len;
      break;
    case SC_NAME_SHORT:
      msg->msg_name = &g_name;
      msg->msg_namelen = 1;
      break;
    case SC_NAME_OVERSIZE:
      msg->msg_name = &g_name;
      msg->msg_namelen = 200;
      break;
    case SC_NAME_NULL_LEN:
      msg->msg_name = NULL;
      msg->msg_namelen = 16;
      break;
    case SC_NAME_NONE:
    default:
      break;
  }
}

SC_NO_COVERAGE static void set_cmsg_len(size_t len) {
  struct cmsghdr h;
  memcpy(&h, g_ctl_send.b, sizeof h);
  h.cmsg_len = len;
  memcpy(g_ctl_send.b, &h, sizeof h);
}

SC_NO_COVERAGE static size_t build_control(const sc_layout_op *op) {
  size_t used = 0;
  int r = 0;
  int bad = -1;
  switch (op->ctl) {
    case SC_CTL_RIGHTS:
      r = sc_cmsg_add_rights(g_ctl_send.b, sizeof g_ctl_send.b, &used, g_files, op->nfds);
      break;
    case SC_CTL_CREDS:
      r = sc_cmsg_add_creds(g_ctl_send.b, sizeof g_ctl_send.b, &used, &g_cred);
      break;
    case SC_CTL_LEN_SMALL:
      r = sc_cmsg_add_rights(g_ctl_send.b, sizeof g_ctl_send.b, &used, g_files, 1);
      set_cmsg_len(8);
      break;
    case SC_CTL_LEN_PAST_END:
      r = sc_cmsg_add_rights(g_ctl_send.b, sizeof g_ctl_send.b, &used, g_files, 1);
      set_cmsg_len(used + 64);
      break;
    case SC_CTL_BAD_FD:
      r = sc_cmsg_add_rights(g_ctl_send.b, sizeof g_ctl_send.b, &used, &bad, 1);
      break;
    case SC_CTL_NONE:
    default:
      break;
  }
  SC_FUZZ_CHECK(r == 0, "building control data %s: %s", sc_layout_ctl_name(op->ctl),
                sc_err_name(r));
  return used;
}

SC_NO_COVERAGE static void run_send(int i, const sc_layout_op *op, const cached_pair *cp,
                                    const sc_oracle_expect *ex, ssize_t *ret, size_t *sent) {
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = g_iov;
  msg.msg_iovlen = sc_layout_send_iov(op, g_iov, SC_LAYOUT_MAX_IOV + 1);
  EXPECT(msg.msg_iovlen == sc_layout_iov_count(op), i, ex, "sc_layout_send_iov built %zu iovecs",
         (size_t)msg.msg_iovlen);
  build_name(op, cp, &msg);
  size_t used = build_control(op);
  msg.msg_control = used > 0 ? g_ctl_send.b : NULL;
  msg.msg_controllen = used;
  *sent = 0;
  /* with small buffers a send may wait for room (its reader makes it) */
  int timeout = g_layout.sndbuf != 0 ? PEER_WAIT_MS : 0;
  g_input.send_calls = 0;
  *ret = sc_send_all(&g_counted, cp->sv[op->end], &msg, op->flags, timeout, sent);
  g_input.multi_call = g_input.multi_call || g_input.send_calls >= 2;
  EXPECT(sc_oracle_allows(ex, *ret, *sent), i, ex, "send returned %zd (%s), %zu bytes sent", *ret,
         *ret < 0 ? sc_err_name((int)*ret) : "ok", *sent);
}

/* Index of the first iovec whose iov_len differs from the layout, or n. A plain
 * loop over up to 1030 entries: kept out of libFuzzer's comparison tracing. */
SC_NO_COVERAGE static size_t iov_lens_changed(const sc_layout_op *op, size_t n) {
  unsigned nseg = op->iov.nseg < 1 ? 1 : op->iov.nseg;
  for (size_t k = 0, s = 0; k < n; k++, s = (s + 1 == nseg) ? 0 : s + 1) {
    if (g_iov[k].iov_len != op->iov.seg[s].len) {
      return k;
    }
  }
  return n;
}

/* Checks and closes the descriptors of a received control buffer; returns their count. */
SC_NO_COVERAGE static unsigned take_fds(int i, const sc_oracle_expect *ex, const struct msghdr *msg,
                                        bool cloexec) {
  sc_cmsg_iter it;
  sc_cmsg_item item;
  unsigned n = 0;
  int r;
  sc_cmsg_iter_init(&it, msg->msg_control, msg->msg_controllen);
  while ((r = sc_cmsg_next(&it, &item)) == 1) {
    int fds[SC_CMSG_MAX_FDS];
    int cnt = sc_cmsg_rights(&item, fds, SC_CMSG_MAX_FDS);
    EXPECT(cnt >= 0, i, ex, "unexpected control message level %d type %d", item.level, item.type);
    for (int k = 0; k < cnt; k++, n++) {
      struct stat st;
      int fl = fcntl(fds[k], F_GETFD);
      bool same = n < HELD_FILES && fstat(fds[k], &st) == 0 && st.st_dev == g_file_st[n].st_dev &&
                  st.st_ino == g_file_st[n].st_ino;
      bool cloexec_ok = fl >= 0 && ((fl & FD_CLOEXEC) != 0) == cloexec;
      SC_FUZZ_CHECK(close(fds[k]) == 0, "closing received fd %d", fds[k]);
      EXPECT(same, i, ex, "received fd #%u is not the file that was sent", n);
      /* X-CLOEXEC: close-on-exec exactly when MSG_CMSG_CLOEXEC was given */
      EXPECT(cloexec_ok, i, ex, "received fd #%u FD_CLOEXEC=%d, MSG_CMSG_CLOEXEC=%d", n,
             fl >= 0 && (fl & FD_CLOEXEC), cloexec);
    }
  }
  EXPECT(r == 0, i, ex, "kernel wrote a malformed control buffer");
  return n;
}

/* X-UNNAMED: what a receive on a socketpair end wrote into its msg_name. */
SC_NO_COVERAGE static bool unnamed_ok(const struct msghdr *msg) {
  socklen_t len = msg->msg_namelen;
  if (sc_kfact(g_model.kf, SC_KF_UNBOUND_NAMELEN) == SC_KF_NAMELEN_ZERO) {
    if (len != 0) {
      return false;
    }
  } else if (len != sizeof(sa_family_t) || g_rname.ss.ss_family != AF_UNIX) {
    return false;
  }
  return memcmp(g_rname.b + len, g_poison, sizeof g_rname.b - len) == 0;
}

/* Room of a receive's buffers, poisoned before the call. */
SC_NO_COVERAGE static size_t recv_room(size_t n) {
  size_t room = 0;
  for (size_t k = 0; k < n; k++) {
    room += g_iov[k].iov_len;
  }
  return room;
}

SC_NO_COVERAGE static void run_recv(int i, const sc_layout_op *op, const cached_pair *cp,
                                    const sc_oracle_expect *ex, ssize_t *ret) {
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  size_t n = sc_layout_recv_iov(op, g_rbuf, sizeof g_rbuf, g_iov, SC_LAYOUT_MAX_IOV + 1);
  EXPECT(n == sc_layout_iov_count(op), i, ex, "sc_layout_recv_iov built %zu iovecs", n);
  size_t room = recv_room(n);
  memset(g_rbuf, POISON, room);
  bool fill = (op->peer & SC_PEER_FILL) && sc_oracle_peer_serves(&g_model, op);
  if (fill) {
    size_t got = 0;
    *ret = sc_recv_fill(&g_counted, cp->sv[op->end], g_iov, (int)n, PEER_WAIT_MS, &got);
    EXPECT(sc_oracle_allows(ex, *ret, 0) && got == ex->nbytes, i, ex,
           "sc_recv_fill returned %zd (%s), %zu bytes received", *ret,
           *ret < 0 ? sc_err_name((int)*ret) : "ok", got);
    EXPECT(memcmp(g_rbuf, ex->bytes, ex->nbytes) == 0, i, ex,
           "sc_recv_fill: received bytes differ from the bytes sent");
    return;
  }
  msg.msg_iov = g_iov;
  msg.msg_iovlen = n;
  msg.msg_control = op->ctl_len > 0 ? g_ctl_recv.b : NULL;
  msg.msg_controllen = op->ctl_len;
  memset(g_rname.b, POISON, sizeof g_rname.b);
  msg.msg_name = &g_rname;
  msg.msg_namelen = sizeof g_rname.b;
  msg.msg_flags = ~0; /* X-FLAGS: must be overwritten */
  /* A MSG_WAITALL receive waiting for its writer returns short when a signal is caught
   * (recv(2)): libFuzzer's SIGALRM timer waits meanwhile (the peer thread takes no signals,
   * so it stays pending until the receive is done). */
  bool waits = op->peer != 0 && sc_oracle_peer_serves(&g_model, op);
  sigset_t alrm;
  sigset_t old;
  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  if (waits) {
    pthread_sigmask(SIG_BLOCK, &alrm, &old);
  }
  *ret = sc_recv_msg(&g_counted, cp->sv[op->end], &msg, ex->flags);
  if (waits) {
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  unsigned got_fds = 0;
  if (*ret >= 0) {
    got_fds = take_fds(i, ex, &msg, ex->cloexec);
  }
  EXPECT(sc_oracle_allows(ex, *ret, 0), i, ex, "recv returned %zd (%s) msg_flags=%#x", *ret,
         *ret < 0 ? sc_err_name((int)*ret) : "ok", (unsigned)msg.msg_flags);
  size_t bad = iov_lens_changed(op, n);
  EXPECT(bad == n, i, ex, "X-FLAGS: iov_len of iovec %zu written back", bad);
  size_t written = *ret < 0 ? 0 : ((size_t)*ret < room ? (size_t)*ret : room);
  EXPECT(memcmp(g_rbuf + written, g_poison, room - written) == 0, i, ex,
         "the receive wrote past the %zu bytes it returned", written);
  if (*ret < 0) {
    return;
  }
  EXPECT(msg.msg_flags == ex->msg_flags, i, ex, "msg_flags %#x", (unsigned)msg.msg_flags);
  EXPECT(ex->nbytes == 0 || memcmp(g_rbuf, ex->bytes, ex->nbytes) == 0, i, ex,
         "received bytes differ from the bytes sent");
  EXPECT(got_fds == ex->nfds_installed, i, ex, "%u descriptors installed", got_fds);
  EXPECT(msg.msg_controllen == ex->controllen, i, ex, "msg_controllen %zu",
         (size_t)msg.msg_controllen);
  if (g_layout.kind == SC_LAYOUT_UDP) {
    const sc_addr *from = &cp->addr[op->end ^ 1u];
    EXPECT(msg.msg_namelen == from->len && memcmp(&g_rname.ss, &from->ss, from->len) == 0, i, ex,
           "RECV-3: msg_name is not the sender (namelen %u)", (unsigned)msg.msg_namelen);
  } else {
    EXPECT(unnamed_ok(&msg), i, ex, "X-UNNAMED: msg_name of an unnamed sender: namelen %u",
           (unsigned)msg.msg_namelen);
  }
}

/* The peer thread of op (the model says it serves it): a reader of the other end during a
 * send, a writer into it during a receive (the missing bytes, queued in the model first). */
SC_NO_COVERAGE static void peer_start(int i, const sc_layout_op *op, const cached_pair *cp) {
  int fd = cp->sv[op->end ^ 1u];
  size_t chunk = sc_layout_peer_chunk(op);
  unsigned pause_us = op->pause * 100u;
  int r;
  if (op->type == SC_OP_SEND) {
    r = sc_peer_start_read(fd, g_peer_buf, sizeof g_peer_buf, chunk, pause_us,
                           SC_LAYOUT_PEER_PAUSED_CALLS);
  } else {
    size_t missing = sc_oracle_peer_missing(&g_model, op);
    const uint8_t *src = g_writer_src + ((unsigned)i * 37u) % 256u;
    sc_oracle_peer_write(&g_model, op->end, src, missing);
    g_writer_len = missing;
    r = sc_peer_start_write(fd, src, missing, chunk, pause_us, SC_LAYOUT_PEER_PAUSED_CALLS);
  }
  SC_FUZZ_CHECK(r == 0, "peer thread: %s", sc_err_name(r));
}

/* Stops op's peer and checks it: a reader read exactly what the model queued at its end (the
 * send's bytes after the earlier ones), descriptors included, and leaves that end empty; a
 * writer wrote all it had. Called after the op's commit. */
SC_NO_COVERAGE static void peer_finish(int i, const sc_layout_op *op) {
  sc_peer_result res;
  if (op->type == SC_OP_RECV) {
    sc_peer_finish_write(&res);
    EXPECT(res.err == 0 && res.done == g_writer_len, i, NULL,
           "writer thread: %zu of %zu bytes written (%s)", res.done, g_writer_len,
           res.err != 0 ? sc_err_message(res.err) : "no error");
    return;
  }
  unsigned p = op->end ^ 1u;
  size_t len = 0;
  unsigned nfds = 0;
  const uint8_t *bytes = sc_oracle_stream_bytes(&g_model, p, &len, &nfds);
  sc_peer_finish_read(len, &res);
  EXPECT(res.err == 0 && res.done == len, i, NULL,
         "reader thread: %zu bytes of the %zu the model queued (%s%s)", res.done, len,
         res.err != 0 ? sc_err_message(res.err) : "no error", res.eof ? ", end of stream" : "");
  EXPECT(memcmp(g_peer_buf, bytes, len) == 0, i, NULL,
         "reader thread: the bytes read differ from the bytes sent");
  EXPECT(res.nfds == nfds, i, NULL, "reader thread: %u descriptors received, the model %u",
         res.nfds, nfds);
  sc_oracle_take_all(&g_model, p);
}

/* One read of a drain: everything end e may hold, with room for its descriptors. */
SC_NO_COVERAGE static ssize_t drain_read(unsigned e, int fd, struct msghdr *msg, struct iovec *iov,
                                         unsigned *nfds) {
  iov->iov_base = g_rbuf;
  iov->iov_len = sizeof g_rbuf;
  memset(msg, 0, sizeof *msg);
  msg->msg_iov = iov;
  msg->msg_iovlen = 1;
  msg->msg_control = g_ctl_recv.b;
  msg->msg_controllen = sizeof g_ctl_recv.b;
  ssize_t r = sc_recv_msg(&g_counted, fd, msg, MSG_DONTWAIT);
  if (r >= 0) {
    int closed = sc_cmsg_close_fds(msg->msg_control, msg->msg_controllen);
    EXPECT(closed >= 0, -1, NULL, "drain of end %u: malformed control", e);
    *nfds += (unsigned)closed;
  }
  return r;
}

/* A drain read that failed: allowed where the model has that error pending (once). */
SC_NO_COVERAGE static bool drain_error_allowed(unsigned e, ssize_t r) {
  if (r == -ECONNRESET && g_model.reset[e]) {
    g_model.reset[e] = false; /* reported once */
    return true;
  }
  return r == -ECONNREFUSED && g_model.icmp[e]; /* UDP: may come at any call */
}

/* Empties end e (open) and checks what it held against the model, byte for byte: a stream's
 * bytes in order, a datagram kind's messages one by one (length, bytes); the descriptors
 * attached, counted. The read that ends it finds the end empty (EAGAIN), or at end of stream
 * where the model has it shut for reading. */
SC_NO_COVERAGE static void drain_end(cached_pair *cp, unsigned e) {
  int fd = cp->sv[e];
  bool stream = g_layout.kind == SC_LAYOUT_STREAM;
  size_t len = 0;
  unsigned want_fds = 0;
  const uint8_t *bytes = stream ? sc_oracle_stream_bytes(&g_model, e, &len, &want_fds) : NULL;
  size_t off = 0;
  unsigned msgs = 0;
  unsigned got_fds = 0;
  unsigned k;
  ssize_t r = 0;
  for (k = 0; k < DRAIN_MAX; k++) {
    struct msghdr msg;
    struct iovec iov;
    r = drain_read(e, fd, &msg, &iov, &got_fds);
    if (r == -EAGAIN || (r == 0 && stream)) {
      break;
    }
    if (r < 0) {
      EXPECT(drain_error_allowed(e, r), -1, NULL, "drain of end %u: %s", e, sc_err_name((int)r));
      continue;
    }
    EXPECT((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0, -1, NULL,
           "drain of end %u: msg_flags %#x", e, (unsigned)msg.msg_flags);
    if (stream) {
      EXPECT((size_t)r <= len - off && memcmp(g_rbuf, bytes + off, (size_t)r) == 0, -1, NULL,
             "drain of end %u: bytes %zu..%zu differ from the %zu the model holds", e, off,
             off + (size_t)r, len);
      off += (size_t)r;
      continue;
    }
    const uint8_t *mb = NULL;
    size_t mlen = 0;
    unsigned mfds = 0;
    if (!sc_oracle_message(&g_model, e, msgs, &mb, &mlen, &mfds) && r == 0 &&
        g_layout.kind == SC_LAYOUT_SEQPACKET && g_model.rd_shut[e]) {
      break; /* end of stream after the last record */
    }
    EXPECT(msgs < sc_oracle_queued_msgs(&g_model, e), -1, NULL,
           "drain of end %u: message %u of %zd bytes, the model holds %zu messages", e, msgs, r,
           sc_oracle_queued_msgs(&g_model, e));
    EXPECT((size_t)r == mlen && memcmp(g_rbuf, mb, mlen) == 0, -1, NULL,
           "drain of end %u: message %u (%zd bytes) differs from the model's (%zu bytes)", e, msgs,
           r, mlen);
    want_fds += mfds;
    msgs++;
  }
  EXPECT(k < DRAIN_MAX, -1, NULL, "drain of end %u does not end", e);
  EXPECT(r != 0 || g_model.rd_shut[e], -1, NULL, "drain of end %u: end of stream, not shut", e);
  if (stream) {
    EXPECT(off == len, -1, NULL, "end %u had %zu bytes left, the model %zu", e, off, len);
  } else {
    EXPECT(msgs == sc_oracle_queued_msgs(&g_model, e), -1, NULL,
           "end %u had %u messages left, the model %zu", e, msgs,
           sc_oracle_queued_msgs(&g_model, e));
  }
  EXPECT(got_fds == want_fds, -1, NULL, "end %u held %u descriptors, the model %u", e, got_fds,
         want_fds);
}

/* Checks with one poll() that neither end of a clean pair has anything to read or a
 * pending error. */
SC_NO_COVERAGE static void verify_empty(const cached_pair *cp) {
  struct pollfd p[2];
  for (unsigned e = 0; e < 2; e++) {
    p[e].fd = cp->sv[e];
    p[e].events = POLLIN;
    p[e].revents = 0;
  }
  /* A signal (libFuzzer's SIGALRM timer, for one) makes even a zero-timeout poll() fail with
   * EINTR when it arrives during the call: that says nothing about the queues, so it is asked
   * again, a bounded number of times. */
  int r;
  unsigned tries = 0;
  do {
    g_stats.other++;
    r = poll(p, 2, 0);
  } while (r < 0 && errno == EINTR && ++tries < POLL_EINTR_TRIES);
  EXPECT(r >= 0, -1, NULL, "poll: %s (%u tries)", sc_err_message(errno), tries + 1);
  for (unsigned e = 0; e < 2; e++) {
    EXPECT(p[e].revents == 0, -1, NULL,
           "end %u is readable (revents %#x) where the model has nothing queued", e,
           (unsigned)p[e].revents);
  }
}

/* The end-of-input check: every open end holding data by the model is drained and compared
 * (every open end of a pair that saw a close or shutdown, which is then closed); a clean pair
 * is then checked empty, so the next input finds it as new. */
SC_NO_COVERAGE static void finish_pair(cached_pair *cp, bool dirty) {
  for (unsigned e = 0; e < 2; e++) {
    if (cp->sv[e] >= 0 && (dirty || sc_oracle_queued_msgs(&g_model, e) > 0)) {
      drain_end(cp, e);
    }
  }
  if (dirty) {
    sc_pair_close(cp->sv);
    cp->open = false;
  } else {
    verify_empty(cp);
  }
}

SC_NO_COVERAGE static void check_fd_count(void) {
  long now = sc_test_count_fds(is_mine);
  SC_FUZZ_CHECK(now >= 0, "cannot count /proc/self/fd");
  SC_FUZZ_CHECK(now - (long)held() == g_base_fds, "fd leak: %ld descriptors, expected %ld",
                now - (long)held(), g_base_fds);
}

/* One input: the target's glue, out of coverage (its branches follow the decoded op types,
 * which the decoder's and the oracle's instrumented decisions already tell apart). */
SC_NO_COVERAGE static void run_input(const uint8_t *data, size_t size) {
  sc_layout_decode(data, size, &g_layout);
  cached_pair *cp = get_pair(g_layout.kind, g_layout.nonblock != 0, sc_layout_sndbuf(&g_layout));
  sc_oracle_init(&g_model, g_layout.kind, g_layout.nonblock != 0);
  memset(&g_input, 0, sizeof g_input);
  bool dirty = false;
  for (int i = 0; i < (int)g_layout.nops; i++) {
    const sc_layout_op *op = &g_layout.op[i];
    sc_oracle_expect ex;
    ssize_t ret = 0;
    size_t sent = 0;
    bool peer = sc_oracle_peer_serves(&g_model, op);
    if (peer) {
      peer_start(i, op, cp); /* a writer's bytes are in the model before the prediction */
    }
    sc_oracle_predict(&g_model, op, &ex);
    switch (op->type) {
      case SC_OP_SEND:
        run_send(i, op, cp, &ex, &ret, &sent);
        break;
      case SC_OP_RECV:
        run_recv(i, op, cp, &ex, &ret);
        break;
      case SC_OP_CLOSE:
        g_stats.other++;
        ret = close(cp->sv[op->end]) == 0 ? 0 : SC_ERR(errno);
        cp->sv[op->end] = -1;
        dirty = true;
        EXPECT(sc_oracle_allows(&ex, ret, 0), i, &ex, "close: %s", sc_err_name((int)ret));
        break;
      case SC_OP_SHUTDOWN:
        g_stats.other++;
        ret = shutdown(cp->sv[op->end], op->how) == 0 ? 0 : SC_ERR(errno);
        dirty = true;
        EXPECT(sc_oracle_allows(&ex, ret, 0), i, &ex, "shutdown: %s", sc_err_name((int)ret));
        break;
      default:
        break;
    }
    sc_oracle_commit(&g_model, op, &ex, ret, sent);
    if (peer) {
      peer_finish(i, op);
    }
  }
  finish_pair(cp, dirty);
  g_stats.multi_call_inputs += g_input.multi_call;
  g_stats.waited_inputs += g_input.waited;
  if (++g_runs % FD_CHECK_EVERY == 0) {
    check_fd_count();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_ready) {
    (void)LLVMFuzzerInitialize(NULL, NULL);
  }
  run_input(data, size);
  return 0;
}

int sc_fuzz_decode(const uint8_t *data, size_t size, FILE *out) {
  static sc_oracle model;
  sc_layout l;
  sc_layout_decode(data, size, &l);
  if (sc_layout_print(&l, out) != 0) {
    return -1;
  }
  /* The oracle's expectations, following the first allowed outcome of each op. */
  sc_oracle_init(&model, l.kind, l.nonblock != 0);
  fprintf(out, "# oracle following ");
  sc_kfacts_print(model.kf, out);
  for (unsigned i = 0; i < l.nops; i++) {
    const sc_layout_op *op = &l.op[i];
    sc_oracle_expect ex;
    bool peer = sc_oracle_peer_serves(&model, op);
    if (peer && op->type == SC_OP_RECV) {
      size_t missing = sc_oracle_peer_missing(&model, op);
      sc_oracle_peer_write(&model, op->end, g_writer_src, missing);
      fprintf(out, "  peer   [%u]: a writer sends %zu bytes into end %u\n", i, missing, op->end);
    }
    sc_oracle_predict(&model, op, &ex);
    fprintf(out, "  expect [%u]: ", i);
    sc_oracle_print_expect(&ex, out);
    ssize_t ret = ex.ok ? ex.ret : (ex.nerr > 0 ? SC_ERR(ex.errs[0]) : 0);
    sc_oracle_commit(&model, op, &ex, ret, 0);
    if (peer && op->type == SC_OP_SEND) {
      fprintf(out, "  peer   [%u]: a reader takes the %zu bytes queued at end %u\n", i,
              sc_oracle_queued_bytes(&model, op->end ^ 1u), op->end ^ 1u);
      sc_oracle_take_all(&model, op->end ^ 1u);
    }
  }
  return ferror(out) ? -1 : 0;
}
