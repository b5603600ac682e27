/* Kernel calibration (sctest/kfacts.h): one small probe per fact, on fresh sockets. Each
 * probe returns the answer's index or SC_KF_OUT and says in words what it saw. */
#include "sctest/kfacts.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "sockcheck/error.h"

typedef struct fact_def {
  const char *name;
  const char *behaviour;
  const char *answers[2];
  int (*measure)(sc_kfacts *kf, sc_kfact_id id);
} fact_def;

/* -errno of the last call when r < 0, else r (for the words in observed). */
static long res(long r) {
  return r < 0 ? SC_ERR(errno) : r;
}

static const char *res_name(long r) {
  return r < 0 ? sc_err_name((int)r) : "ok";
}

static void close_all(int *fds, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    if (fds[i] >= 0) {
      close(fds[i]);
      fds[i] = -1;
    }
  }
}

static int pair(int type, int sv[2]) {
  sv[0] = sv[1] = -1;
  return socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv);
}

#define OBSERVED(kf, id, ...) snprintf((kf)->observed[id], sizeof(kf)->observed[id], __VA_ARGS__)

static int unmeasured(sc_kfacts *kf, sc_kfact_id id, const char *call) {
  OBSERVED(kf, id, "not measured: %s failed: %s", call, sc_err_name(errno));
  return SC_KF_OUT;
}

static int m_dgram_peerclose(sc_kfacts *kf, sc_kfact_id id) {
  int sv[2];
  if (pair(SOCK_DGRAM, sv) != 0) {
    return unmeasured(kf, id, "socketpair");
  }
  close(sv[1]);
  sv[1] = -1;
  long r1 = res(send(sv[0], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
  long r2 = res(send(sv[0], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
  close_all(sv, 2);
  OBSERVED(kf, id, "sends after the peer's close: %s, then %s", res_name(r1), res_name(r2));
  if (r1 != SC_ERR(ECONNREFUSED)) {
    return SC_KF_OUT;
  }
  if (r2 == SC_ERR(ENOTCONN)) {
    return SC_KF_PEERCLOSE_REFUSED_ONCE;
  }
  return r2 == SC_ERR(ECONNREFUSED) ? SC_KF_PEERCLOSE_REFUSED_ALWAYS : SC_KF_OUT;
}

static int m_seqpacket_reset_order(sc_kfacts *kf, sc_kfact_id id) {
  int sv[2];
  int sndbuf = 0;
  socklen_t len = sizeof sndbuf;
  if (pair(SOCK_SEQPACKET, sv) != 0) {
    return unmeasured(kf, id, "socketpair");
  }
  if (getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0 || sndbuf <= 0) {
    close_all(sv, 2);
    return unmeasured(kf, id, "getsockopt SO_SNDBUF");
  }
  char *big = calloc((size_t)sndbuf, 1);
  if (big == NULL) {
    close_all(sv, 2);
    return unmeasured(kf, id, "calloc");
  }
  long r0 = res(send(sv[0], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
  close(sv[1]); /* with the record unread: a reset is pending at sv[0] */
  sv[1] = -1;
  long r = res(send(sv[0], big, (size_t)sndbuf, MSG_DONTWAIT | MSG_NOSIGNAL));
  free(big);
  close_all(sv, 2);
  OBSERVED(kf, id, "oversized record with a reset pending: %s", res_name(r));
  if (r0 != 1) {
    return SC_KF_OUT;
  }
  if (r == SC_ERR(ECONNRESET)) {
    return SC_KF_RESET_FIRST;
  }
  return r == SC_ERR(EMSGSIZE) ? SC_KF_RESET_AFTER_CHECKS : SC_KF_OUT;
}

/* The receive at sv[0] after the peer closed with `records` empty records unread. */
static long empty_records_close(unsigned records) {
  int sv[2];
  char c;
  if (pair(SOCK_SEQPACKET, sv) != 0) {
    return SC_ERR(errno);
  }
  for (unsigned i = 0; i < records; i++) {
    if (send(sv[0], "", 0, MSG_DONTWAIT | MSG_NOSIGNAL) != 0) {
      long r = SC_ERR(errno);
      close_all(sv, 2);
      return r;
    }
  }
  close(sv[1]);
  sv[1] = -1;
  long r = res(recv(sv[0], &c, 1, MSG_DONTWAIT));
  close_all(sv, 2);
  return r;
}

static int m_seqpacket_empty_reset(sc_kfacts *kf, sc_kfact_id id) {
  long one = empty_records_close(1);
  long two = empty_records_close(2);
  OBSERVED(kf, id, "receive after a close with one empty record unread: %s, with two: %s",
           res_name(one), res_name(two));
  if (two != SC_ERR(ECONNRESET)) {
    return SC_KF_OUT;
  }
  if (one == SC_ERR(ECONNRESET)) {
    return SC_KF_EMPTY_RESET_ANY;
  }
  return one == 0 ? SC_KF_EMPTY_RESET_NEEDS_TWO : SC_KF_OUT;
}

/* Takes a pending SIGPIPE of this thread or process, if any: true when there was one. */
static bool take_sigpipe(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  struct timespec zero = {0, 0};
  return sigtimedwait(&set, NULL, &zero) == SIGPIPE;
}

static int m_seqpacket_sigpipe(sc_kfacts *kf, sc_kfact_id id) {
  int sv[2];
  sigset_t block;
  sigset_t old;
  if (pair(SOCK_SEQPACKET, sv) != 0) {
    return unmeasured(kf, id, "socketpair");
  }
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  bool before = take_sigpipe();
  close(sv[1]);
  sv[1] = -1;
  long r = res(send(sv[0], "x", 1, MSG_DONTWAIT));
  bool raised = take_sigpipe();
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close_all(sv, 2);
  OBSERVED(kf, id, "send after the peer's close: %s, %s%s", res_name(r),
           raised ? "SIGPIPE" : "no SIGPIPE", before ? " (one was pending before)" : "");
  if (r != SC_ERR(EPIPE)) {
    return SC_KF_OUT;
  }
  return raised ? SC_KF_SIGPIPE_RAISED : SC_KF_SIGPIPE_NONE;
}

static int m_cloexec_echo(sc_kfacts *kf, sc_kfact_id id) {
  int sv[2];
  char c;
  if (pair(SOCK_STREAM, sv) != 0) {
    return unmeasured(kf, id, "socketpair");
  }
  struct iovec iov = {.iov_base = &c, .iov_len = 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  long s = res(send(sv[0], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
  long r = res(recvmsg(sv[1], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
  close_all(sv, 2);
  OBSERVED(kf, id, "recvmsg(MSG_CMSG_CLOEXEC): %s, msg_flags %#x", res_name(r),
           (unsigned)msg.msg_flags);
  if (s != 1 || r != 1) {
    return SC_KF_OUT;
  }
  return (msg.msg_flags & MSG_CMSG_CLOEXEC) ? SC_KF_ECHO_ECHOED : SC_KF_ECHO_CLEARED;
}

/* A control buffer for one descriptor. */
typedef union fd_control {
  char buf[CMSG_SPACE(sizeof(int))];
  struct cmsghdr align;
} fd_control;

static long send_fd(int fd, const char *byte, int passed) {
  fd_control ctl;
  memset(&ctl, 0, sizeof ctl);
  struct iovec iov = {.iov_base = (void *)byte, .iov_len = 1};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &passed, sizeof passed);
  return res(sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL));
}

/* Receives into a 1-byte buffer with room for one descriptor: the descriptors installed
 * (closed again) via *nfds. */
static long recv_fds(int fd, int flags, unsigned *nfds) {
  fd_control ctl;
  char c;
  struct iovec iov = {.iov_base = &c, .iov_len = 1};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  long r = res(recvmsg(fd, &msg, flags | MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
  *nfds = 0;
  for (struct cmsghdr *cm = r >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm != NULL;
       cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
      size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; i++) {
        int got;
        memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof got);
        close(got);
        (*nfds)++;
      }
    }
  }
  return r;
}

static int m_stream_peek_fds(sc_kfacts *kf, sc_kfact_id id) {
  int sv[2];
  if (pair(SOCK_STREAM, sv) != 0) {
    return unmeasured(kf, id, "socketpair");
  }
  unsigned peeked = 0;
  unsigned taken = 0;
  unsigned more = 0;
  long s1 = res(send(sv[0], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
  long s2 = send_fd(sv[0], "y", sv[0]);
  long r = recv_fds(sv[1], MSG_PEEK, &peeked);
  long d1 = recv_fds(sv[1], 0, &taken); /* "x" */
  long d2 = recv_fds(sv[1], 0, &more);  /* "y" and its descriptor */
  close_all(sv, 2);
  OBSERVED(kf, id, "1-byte MSG_PEEK before a send with a descriptor: %s, %u descriptor(s)",
           res_name(r), peeked);
  if (s1 != 1 || s2 != 1 || r != 1 || d1 != 1 || d2 != 1 || peeked > 1) {
    return SC_KF_OUT;
  }
  return peeked == 1 ? SC_KF_PEEK_WALKS : SC_KF_PEEK_STOPS;
}

static int m_unbound_namelen(sc_kfacts *kf, sc_kfact_id id) {
  int sv[2];
  char c;
  struct sockaddr_un from;
  if (pair(SOCK_DGRAM, sv) != 0) {
    return unmeasured(kf, id, "socketpair");
  }
  memset(&from, 0, sizeof from);
  struct iovec iov = {.iov_base = &c, .iov_len = 1};
  struct msghdr msg = {
      .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
  long s = res(send(sv[0], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
  long r = res(recvmsg(sv[1], &msg, MSG_DONTWAIT));
  close_all(sv, 2);
  OBSERVED(kf, id, "recvmsg from an unbound sender: %s, msg_namelen %u", res_name(r),
           (unsigned)msg.msg_namelen);
  if (s != 1 || r != 1) {
    return SC_KF_OUT;
  }
  if (msg.msg_namelen == 0) {
    return SC_KF_NAMELEN_ZERO;
  }
  return msg.msg_namelen == sizeof(sa_family_t) ? SC_KF_NAMELEN_FAMILY : SC_KF_OUT;
}

static int m_timeo_tick(sc_kfacts *kf, sc_kfact_id id) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return unmeasured(kf, id, "socket");
  }
  struct timeval tv = {.tv_sec = 0, .tv_usec = 1};
  struct timeval back = {0, 0};
  socklen_t len = sizeof back;
  long r = res(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  long g = res(getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &back, &len));
  close(fd);
  OBSERVED(kf, id, "SO_RCVTIMEO 1 us reads back as %ld s %ld us (%s, %s)", (long)back.tv_sec,
           (long)back.tv_usec, res_name(r), res_name(g));
  if (r != 0 || g != 0 || back.tv_sec != 0 || back.tv_usec < 1 || back.tv_usec > 100000) {
    return SC_KF_OUT;
  }
  kf->value[id] = (long)back.tv_usec;
  return back.tv_usec == 1 ? SC_KF_TICK_EXACT : SC_KF_TICK_JIFFIES;
}

static int m_seqpacket_unconn_recv(sc_kfacts *kf, sc_kfact_id id) {
  char c;
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return unmeasured(kf, id, "socket");
  }
  long r = res(recv(fd, &c, 1, MSG_DONTWAIT));
  close(fd);
  OBSERVED(kf, id, "recv on an unconnected seqpacket socket: %s", res_name(r));
  if (r == SC_ERR(EINVAL)) {
    return SC_KF_ERR_EINVAL;
  }
  return r == SC_ERR(ENOTCONN) ? SC_KF_ERR_ENOTCONN : SC_KF_OUT;
}

static int m_unix_shutdown_unconn(sc_kfacts *kf, sc_kfact_id id) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return unmeasured(kf, id, "socket");
  }
  long r = res(shutdown(fd, SHUT_RDWR));
  close(fd);
  OBSERVED(kf, id, "shutdown of an unconnected AF_UNIX stream socket: %s", res_name(r));
  if (r == 0) {
    return SC_KF_SHUTDOWN_OK;
  }
  return r == SC_ERR(ENOTCONN) ? SC_KF_SHUTDOWN_ENOTCONN : SC_KF_OUT;
}

static int m_dgram_shutrd_recv(sc_kfacts *kf, sc_kfact_id id) {
  int sv[2];
  char c;
  if (pair(SOCK_DGRAM, sv) != 0) {
    return unmeasured(kf, id, "socketpair");
  }
  long s = res(shutdown(sv[0], SHUT_RD));
  long r = res(recv(sv[0], &c, 1, MSG_DONTWAIT));
  close_all(sv, 2);
  OBSERVED(kf, id, "empty dgram receive after SHUT_RD: %s", res_name(r));
  if (s != 0) {
    return SC_KF_OUT;
  }
  if (r == 0) {
    return SC_KF_SHUTRD_EOF;
  }
  return r == SC_ERR(EAGAIN) ? SC_KF_SHUTRD_EAGAIN : SC_KF_OUT;
}

/* Sends one byte with SCM_RIGHTS and SCM_CREDENTIALS, in that order when rights_first, and
 * returns the type of the first control message received (0 when none, -errno on error). */
static long cred_first_type(bool rights_first) {
  int sv[2];
  int on = 1;
  union {
    char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred)) + 64];
    struct cmsghdr align;
  } ctl;
  if (pair(SOCK_DGRAM, sv) != 0) {
    return SC_ERR(errno);
  }
  if (setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
    long r = SC_ERR(errno);
    close_all(sv, 2);
    return r;
  }
  struct ucred cred = {.pid = getpid(), .uid = getuid(), .gid = getgid()};
  int passed = sv[0];
  memset(&ctl, 0, sizeof ctl);
  char c = 'x';
  struct iovec iov = {.iov_base = &c, .iov_len = 1};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = ctl.buf,
                       .msg_controllen = CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof cred)};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  for (unsigned k = 0; k < 2; k++) {
    bool rights = (k == 0) == rights_first;
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = rights ? SCM_RIGHTS : SCM_CREDENTIALS;
    cm->cmsg_len = rights ? CMSG_LEN(sizeof passed) : CMSG_LEN(sizeof cred);
    memcpy(CMSG_DATA(cm), rights ? (const void *)&passed : (const void *)&cred,
           rights ? sizeof passed : sizeof cred);
    cm = CMSG_NXTHDR(&msg, cm);
  }
  long s = res(sendmsg(sv[0], &msg, MSG_DONTWAIT | MSG_NOSIGNAL));
  memset(&ctl, 0, sizeof ctl);
  struct msghdr in = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  long r = s == 1 ? res(recvmsg(sv[1], &in, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) : s;
  long first = r < 0 ? r : 0;
  for (struct cmsghdr *h = r >= 0 ? CMSG_FIRSTHDR(&in) : NULL; h != NULL; h = CMSG_NXTHDR(&in, h)) {
    if (first == 0) {
      first = h->cmsg_type;
    }
    if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
      int got;
      memcpy(&got, CMSG_DATA(h), sizeof got);
      close(got);
    }
  }
  close_all(sv, 2);
  return first;
}

static const char *cmsg_type_name(long t) {
  if (t == SCM_RIGHTS) {
    return "SCM_RIGHTS";
  }
  if (t == SCM_CREDENTIALS) {
    return "SCM_CREDENTIALS";
  }
  return t < 0 ? sc_err_name((int)t) : "none";
}

static int m_cred_order(sc_kfacts *kf, sc_kfact_id id) {
  long a = cred_first_type(true);
  long b = cred_first_type(false);
  OBSERVED(kf, id, "first control message received: %s (rights sent first), %s (credentials first)",
           cmsg_type_name(a), cmsg_type_name(b));
  if (a == SCM_RIGHTS && b == SCM_CREDENTIALS) {
    return SC_KF_CRED_AS_SENT;
  }
  return a == SCM_CREDENTIALS && b == SCM_CREDENTIALS ? SC_KF_CRED_FIRST : SC_KF_OUT;
}

static int m_dgram_connect_peercred(sc_kfacts *kf, sc_kfact_id id) {
  int fds[2] = {socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0),
                socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  struct sockaddr_un name = {.sun_family = AF_UNIX};
  socklen_t namelen = sizeof(sa_family_t);
  struct ucred cred = {.pid = -1, .uid = 0, .gid = 0};
  socklen_t credlen = sizeof cred;
  if (fds[0] < 0 || fds[1] < 0 || bind(fds[0], (struct sockaddr *)&name, namelen) != 0) {
    int err = errno;
    close_all(fds, 2);
    errno = err;
    return unmeasured(kf, id, "socket or autobind");
  }
  namelen = sizeof name;
  long r = res(getsockname(fds[0], (struct sockaddr *)&name, &namelen));
  long c = r == 0 ? res(connect(fds[1], (struct sockaddr *)&name, namelen)) : r;
  long g = c == 0 ? res(getsockopt(fds[1], SOL_SOCKET, SO_PEERCRED, &cred, &credlen)) : c;
  close_all(fds, 2);
  OBSERVED(kf, id, "SO_PEERCRED after connect(): %s, pid %ld", res_name(g), (long)cred.pid);
  if (g != 0) {
    return SC_KF_OUT;
  }
  if (cred.pid == getpid()) {
    return SC_KF_PEERCRED_RECORDED;
  }
  return cred.pid == 0 ? SC_KF_PEERCRED_NONE : SC_KF_OUT;
}

static const fact_def k_facts[SC_KF_COUNT] = {
    [SC_KF_DGRAM_PEERCLOSE] = {"dgram-peerclose",
                               "X-PEERCLOSE",
                               {"refused-once", "refused-always"},
                               m_dgram_peerclose},
    [SC_KF_SEQPACKET_RESET_ORDER] = {"seqpacket-reset-order",
                                     "X-PEERCLOSE",
                                     {"reset-first", "after-checks"},
                                     m_seqpacket_reset_order},
    [SC_KF_SEQPACKET_EMPTY_RESET] = {"seqpacket-empty-reset",
                                     "X-PEERCLOSE",
                                     {"any", "needs-two"},
                                     m_seqpacket_empty_reset},
    [SC_KF_SEQPACKET_SIGPIPE] = {"seqpacket-sigpipe",
                                 "X-PEERCLOSE",
                                 {"raised", "none"},
                                 m_seqpacket_sigpipe},
    [SC_KF_CLOEXEC_ECHO] = {"cloexec-echo", "RECV-4", {"cleared", "echoed"}, m_cloexec_echo},
    [SC_KF_STREAM_PEEK_FDS] = {"stream-peek-fds", "SEND-4", {"stops", "walks"}, m_stream_peek_fds},
    [SC_KF_UNBOUND_NAMELEN] = {"unbound-namelen", "ORIG-6", {"family", "zero"}, m_unbound_namelen},
    [SC_KF_TIMEO_TICK] = {"timeo-tick", "TMO-3", {"exact", "jiffies"}, m_timeo_tick},
    [SC_KF_SEQPACKET_UNCONN_RECV] = {"seqpacket-unconn-recv",
                                     "CONN-2",
                                     {"EINVAL", "ENOTCONN"},
                                     m_seqpacket_unconn_recv},
    [SC_KF_UNIX_SHUTDOWN_UNCONN] = {"unix-shutdown-unconn",
                                    "CONN-5",
                                    {"ENOTCONN", "ok"},
                                    m_unix_shutdown_unconn},
    [SC_KF_DGRAM_SHUTRD_RECV] = {"dgram-shutrd-recv",
                                 "CONN-5",
                                 {"eof", "EAGAIN"},
                                 m_dgram_shutrd_recv},
    [SC_KF_CRED_ORDER] = {"cred-order", "CRED-5", {"as-sent", "creds-first"}, m_cred_order},
    [SC_KF_DGRAM_CONNECT_PEERCRED] = {"dgram-connect-peercred",
                                      "CRED-6",
                                      {"recorded", "none"},
                                      m_dgram_connect_peercred},
};

/* The tick assumed when a test forces "jiffies" on a kernel that keeps microseconds:
 * HZ=250, the common default. */
#define FORCED_TICK_US 4000

/* SO_SNDBUF - 32 of a fresh AF_UNIX datagram socket (unix_dgram_sendmsg's limit), or the
 * Linux default's when it cannot be read. */
static long measure_dgram_max(void) {
  int sv[2];
  int sndbuf = 0;
  socklen_t len = sizeof sndbuf;
  long max = 212992 - 32;
  if (pair(SOCK_DGRAM, sv) == 0) {
    if (getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 && sndbuf > 32) {
      max = sndbuf - 32;
    }
    close_all(sv, 2);
  }
  return max;
}

void sc_kfacts_measure(sc_kfacts *kf) {
  memset(kf, 0, sizeof *kf);
  struct utsname u;
  snprintf(kf->kernel, sizeof kf->kernel, "%s", uname(&u) == 0 ? u.release : "unknown");
  kf->dgram_max = measure_dgram_max();
  for (unsigned i = 0; i < SC_KF_COUNT; i++) {
    kf->answer[i] = k_facts[i].measure(kf, (sc_kfact_id)i);
  }
}

static int find_fact(const char *name, size_t len) {
  for (unsigned i = 0; i < SC_KF_COUNT; i++) {
    if (strlen(k_facts[i].name) == len && strncmp(k_facts[i].name, name, len) == 0) {
      return (int)i;
    }
  }
  return -1;
}

/* The answer named answer[0..len) of fact i: an index, SC_KF_OUT for "out", or -2. */
static int find_answer(unsigned i, const char *answer, size_t len) {
  if (len == 3 && strncmp(answer, "out", 3) == 0) {
    return SC_KF_OUT;
  }
  for (int a = 0; a < 2; a++) {
    if (strlen(k_facts[i].answers[a]) == len && strncmp(k_facts[i].answers[a], answer, len) == 0) {
      return a;
    }
  }
  return -2;
}

int sc_kfacts_force(sc_kfacts *kf, const char *spec) {
  sc_kfacts next = *kf;
  const char *p = spec;
  while (*p != '\0') {
    const char *end = strchr(p, ',');
    size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', len);
    if (eq == NULL) {
      return SC_ERR(EINVAL);
    }
    if ((size_t)(eq - p) == strlen("dgram-max") && strncmp(p, "dgram-max", 9) == 0) {
      char num[24];
      size_t n = len - (size_t)(eq + 1 - p);
      char *stop = NULL;
      if (n == 0 || n >= sizeof num) {
        return SC_ERR(EINVAL);
      }
      memcpy(num, eq + 1, n);
      num[n] = '\0';
      long v = strtol(num, &stop, 10);
      if (*stop != '\0' || v <= 0) {
        return SC_ERR(EINVAL);
      }
      next.dgram_max = v;
      p = end != NULL ? end + 1 : p + len;
      continue;
    }
    int i = find_fact(p, (size_t)(eq - p));
    int a = i < 0 ? -2 : find_answer((unsigned)i, eq + 1, len - (size_t)(eq + 1 - p));
    if (a == -2) {
      return SC_ERR(EINVAL);
    }
    if (i == SC_KF_TIMEO_TICK && a != next.answer[i]) {
      next.value[i] = a == SC_KF_TICK_EXACT ? 1 : FORCED_TICK_US;
    }
    next.answer[i] = a;
    next.forced[i] = true;
    snprintf(next.observed[i], sizeof next.observed[i], "forced by SC_KFACTS");
    p = end != NULL ? end + 1 : p + len;
  }
  *kf = next;
  return 0;
}

static sc_kfacts g_facts;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void load(void) {
  sc_kfacts_measure(&g_facts);
  const char *spec = getenv("SC_KFACTS");
  if (spec != NULL && sc_kfacts_force(&g_facts, spec) != 0) {
    fprintf(stderr, "sockcheck: SC_KFACTS: cannot parse '%s' (name=answer,...)\n", spec);
    abort();
  }
}

const sc_kfacts *sc_kfacts_get(void) {
  pthread_once(&g_once, load);
  return &g_facts;
}

int sc_kfact(const sc_kfacts *kf, sc_kfact_id id) {
  int a = kf->answer[id];
  return a == SC_KF_OUT ? 0 : a;
}

bool sc_kfacts_in_spec(const sc_kfacts *kf) {
  for (unsigned i = 0; i < SC_KF_COUNT; i++) {
    if (kf->answer[i] == SC_KF_OUT) {
      return false;
    }
  }
  return true;
}

const char *sc_kfact_name(sc_kfact_id id) {
  return k_facts[id].name;
}

const char *sc_kfact_behaviour(sc_kfact_id id) {
  return k_facts[id].behaviour;
}

const char *sc_kfact_answer_name(sc_kfact_id id, int answer) {
  if (answer == SC_KF_OUT) {
    return "out";
  }
  return answer >= 0 && answer < 2 ? k_facts[id].answers[answer] : NULL;
}

void sc_kfacts_print(const sc_kfacts *kf, FILE *out) {
  fprintf(out, "kernel %s: dgram-max=%ld", kf->kernel, kf->dgram_max);
  for (unsigned i = 0; i < SC_KF_COUNT; i++) {
    fprintf(out, " %s=%s", k_facts[i].name, sc_kfact_answer_name((sc_kfact_id)i, kf->answer[i]));
    if (i == SC_KF_TIMEO_TICK && kf->answer[i] == SC_KF_TICK_JIFFIES) {
      fprintf(out, "(%ldus)", kf->value[i]);
    }
    if (kf->forced[i]) {
      fprintf(out, "(forced)");
    }
  }
  for (unsigned i = 0; i < SC_KF_COUNT; i++) {
    if (kf->answer[i] == SC_KF_OUT) {
      fprintf(out, "; FINDING %s [%s] outside the spec's set {%s, %s}: %s", k_facts[i].name,
              k_facts[i].behaviour, k_facts[i].answers[0], k_facts[i].answers[1], kf->observed[i]);
    }
  }
  fputc('\n', out);
}

static void json_string(const char *s, FILE *out) {
  fputc('"', out);
  for (; *s != '\0'; s++) {
    if (*s == '"' || *s == '\\') {
      fputc('\\', out);
    }
    fputc((unsigned char)*s < 0x20 ? ' ' : *s, out);
  }
  fputc('"', out);
}

void sc_kfacts_json(const sc_kfacts *kf, FILE *out) {
  char *line = NULL;
  size_t line_len = 0;
  FILE *mem = open_memstream(&line, &line_len);
  if (mem != NULL) {
    sc_kfacts_print(kf, mem);
    fclose(mem);
  }
  fprintf(out, "{\"kernel\": ");
  json_string(kf->kernel, out);
  fprintf(out, ", \"line\": ");
  json_string(line != NULL ? line : "", out);
  free(line);
  fprintf(out, ", \"in_spec\": %s, \"dgram_max\": %ld, \"facts\": {",
          sc_kfacts_in_spec(kf) ? "true" : "false", kf->dgram_max);
  for (unsigned i = 0; i < SC_KF_COUNT; i++) {
    const fact_def *f = &k_facts[i];
    fprintf(out, "%s\"%s\": {\"id\": \"%s\", \"answer\": \"%s\", \"allowed\": [\"%s\", \"%s\"], ",
            i == 0 ? "" : ", ", f->name, f->behaviour,
            sc_kfact_answer_name((sc_kfact_id)i, kf->answer[i]), f->answers[0], f->answers[1]);
    fprintf(out, "\"forced\": %s, \"value\": %ld, \"observed\": ", kf->forced[i] ? "true" : "false",
            kf->value[i]);
    json_string(kf->observed[i], out);
    fputc('}', out);
  }
  fprintf(out, "}}\n");
}
