/* Fuzz target `sendall`: sc_send_all (and through it sc_iov_total and sc_iov_advance) over
 * a FAKE sc_transport whose behaviour is read from the input: short writes of k bytes,
 * -EINTR, -EAGAIN followed by wait results (ready, timeout, -EINTR, error), hard errors.
 * The iovec layout (count, lengths, zero lengths, NULL bases, a total above SSIZE_MAX, more
 * than SC_IOV_MAX entries), msg_name, msg_control, flags and timeout come from the input too.
 * No syscalls, no heap.
 *
 * Properties asserted:
 *  - on success the bytes the transport accepted are exactly the concatenation of the
 *    iovecs, each byte once and in order, and the return value is their total;
 *  - on failure *sent equals the bytes the transport accepted, the output is that prefix, and
 *    the error is the one the transport last reported (-EAGAIN with timeout 0, -ETIMEDOUT
 *    after a wait timed out); -EINTR is never returned; -EMSGSIZE / -EINVAL for too many
 *    iovecs / a total above SSIZE_MAX without any call;
 *  - every call carries msg_name, flags | MSG_NOSIGNAL, at most SC_IOV_MAX iovecs and no more
 *    bytes than remain; msg_control goes with every call until one sends bytes, never after;
 *  - wait is called only after -EAGAIN (or a wait's -EINTR), for POLLOUT with timeout_ms,
 *    never when timeout_ms is 0;
 *  - the caller's msghdr and iovec array are unchanged (memcmp; the constant array of the
 *    "more than SC_IOV_MAX" layout is compared with a pristine copy built once).
 *
 * The bytes are checked as each call takes them, against a snapshot of the caller's iovecs
 * (read at the offered addresses under ASan, as the kernel would read them), so the output
 * is never copied. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "sockcheck/error.h"
#include "sockcheck/iov.h"
#include "sockcheck/msg.h"
#include "sockcheck/transport.h"
#include "support/check.h"

#define MAX_IOVS 63
#define TOO_MANY_IOVS (SC_IOV_MAX + 4)
#define MAX_LEN 4096
/* Room for MAX_IOVS iovecs of MAX_LEN bytes with a one-byte gap after each. */
#define SRC_SIZE ((size_t)MAX_IOVS * (MAX_LEN + 1) + 64)
#define FAKE_FD 42
#define CONTROL_LEN 32

/* For the checks run on every transport call (check_call, take, fake_sendmsg, sched_next):
 * they read the target's own state through pointers, and UBSan's null and alignment checks
 * on each such read test the harness, not the library (~40 checks per call). The two
 * pointers the library hands over, the msghdr and its iovec array, are checked for NULL and
 * alignment explicitly instead (check_call); the rest of UBSan and all of ASan stay on, so
 * every offered iovec and byte is still read under ASan. */
#if defined(__clang__)
#define HARNESS_PTR_CHECKS_OFF __attribute__((no_sanitize("alignment", "null")))
#else
#define HARNESS_PTR_CHECKS_OFF
#endif

enum special { SPECIAL_NONE, SPECIAL_HUGE, SPECIAL_TOO_MANY };

enum last_kind {
  LAST_NONE,
  LAST_SEND_OK,
  LAST_SEND_ZERO, /* a call that accepted 0 of > 0 bytes */
  LAST_SEND_EINTR,
  LAST_SEND_EAGAIN,
  LAST_SEND_ERR,
  LAST_WAIT_READY,
  LAST_WAIT_TIMEOUT,
  LAST_WAIT_EINTR,
  LAST_WAIT_ERR
};

typedef struct sendall_case {
  int timeout_ms;
  int flags;
  bool with_name;
  bool with_control;
  int special;
  size_t niov;
  struct iovec *iov; /* static storage */
  size_t total;
  const uint8_t *sched; /* the rest of the input */
  size_t sched_len;
} sendall_case;

typedef struct fake_state {
  const sendall_case *sc;
  const struct msghdr *orig;
  const struct iovec *ref; /* snapshot of the caller's iovecs, taken before the call */
  size_t ref_i;            /* where the next accepted byte must come from: ref[ref_i] */
  size_t ref_off;          /* ... at this offset */
  size_t pos;              /* next schedule byte */
  size_t accepted;         /* bytes the fake transport took */
  size_t calls;
  enum last_kind last;
  int last_err;
  bool sent_bytes; /* a call has returned > 0 */
  bool zero_call;  /* a call has returned 0: control may then be dropped */
} fake_state;

static const int hard_errors[8] = {EPIPE, ECONNRESET, ENOBUFS,  EIO,
                                   EBADF, ENOTCONN,   EMSGSIZE, ENOMEM};
static const int wait_errors[2] = {ENOMEM, EINVAL};
static const int timeouts[4] = {-1, 0, 5, 1000};

static uint8_t g_src[SRC_SIZE];
static struct iovec g_iov[MAX_IOVS + 1];
/* The "more than SC_IOV_MAX" layout is the same for every input: built once, with a
 * pristine copy to compare against, instead of rebuilding and copying ~16 KiB per input. */
static struct iovec g_iov_many[TOO_MANY_IOVS];
static struct iovec g_iov_many_ref[TOO_MANY_IOVS];
static bool g_src_ready;

SC_NO_COVERAGE static void fill_source(void) {
  if (g_src_ready) {
    return;
  }
  /* Not periodic at any small shift: a byte sent twice or skipped shows. */
  uint32_t x = 0x9e3779b9u;
  for (size_t i = 0; i < SRC_SIZE; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    g_src[i] = (uint8_t)x;
  }
  for (size_t i = 0; i < TOO_MANY_IOVS; i++) {
    g_iov_many[i].iov_base = g_src + i;
    g_iov_many[i].iov_len = 1;
  }
  memcpy(g_iov_many_ref, g_iov_many, sizeof(g_iov_many_ref));
  g_src_ready = true;
}

static size_t iov_len_from(uint8_t b) {
  return b < 0xf0 ? b : (size_t)(b - 0xef) * 256;
}

SC_NO_COVERAGE static void decode_case(const uint8_t *data, size_t size, sendall_case *sc) {
  size_t pos = 0;
  uint8_t h = pos < size ? data[pos++] : 0;
  uint8_t cnt = pos < size ? data[pos++] : 0;
  memset(sc, 0, sizeof(*sc));
  sc->timeout_ms = timeouts[h & 3];
  sc->with_name = (h & 4) != 0;
  sc->with_control = (h & 8) != 0;
  sc->flags = (h & 0x80) ? MSG_DONTWAIT : 0;
  switch ((h >> 4) & 7) {
    case 6:
      sc->special = SPECIAL_HUGE;
      break;
    case 7:
      sc->special = SPECIAL_TOO_MANY;
      break;
    default:
      sc->special = SPECIAL_NONE;
      break;
  }
  sc->iov = g_iov;
  if (sc->special == SPECIAL_TOO_MANY) {
    fill_source(); /* builds g_iov_many (sc_fuzz_decode comes here too) */
    sc->iov = g_iov_many;
    sc->niov = SC_IOV_MAX + 1 + (cnt & 3);
    sc->total = sc->niov;
  } else {
    sc->niov = cnt & MAX_IOVS;
    size_t off = 0;
    for (size_t i = 0; i < sc->niov; i++) {
      size_t len = pos < size ? iov_len_from(data[pos++]) : 0;
      /* Zero-length entries at odd indexes get a NULL base, as callers may pass. */
      g_iov[i].iov_base = (len == 0 && (i & 1)) ? NULL : g_src + off;
      g_iov[i].iov_len = len;
      off += len + 1;
      sc->total += len;
    }
    if (sc->special == SPECIAL_HUGE) {
      if (sc->niov < 2) {
        sc->niov = 2;
        g_iov[1].iov_len = 0;
      }
      if (g_iov[1].iov_len == 0) {
        g_iov[1].iov_base = g_src; /* one more byte than SSIZE_MAX */
        g_iov[1].iov_len = 1;
      }
      g_iov[0].iov_base = g_src;
      g_iov[0].iov_len = (size_t)SSIZE_MAX;
      sc->total = 0; /* not representable: the call must refuse it */
    }
  }
  sc->sched = data + pos;
  sc->sched_len = size - pos;
}

/* Inlined (always) into the fake transport's functions, so out of coverage tracing with
 * them; a call per schedule byte cost more than the read. */
HARNESS_PTR_CHECKS_OFF static inline __attribute__((always_inline)) bool sched_next(fake_state *st,
                                                                                    uint8_t *b) {
  if (st->pos >= st->sc->sched_len) {
    return false;
  }
  *b = st->sc->sched[st->pos++];
  return true;
}

/* Checks the msghdr of one call and returns the bytes it offers. */
HARNESS_PTR_CHECKS_OFF SC_NO_COVERAGE static size_t check_call(const fake_state *st, int fd,
                                                               const struct msghdr *m, int flags) {
  const struct msghdr *o = st->orig;
  const sendall_case *sc = st->sc;
  SC_FUZZ_CHECK(sc->special == SPECIAL_NONE, "sendmsg called for a layout it must refuse (%s)",
                sc->special == SPECIAL_HUGE ? "total > SSIZE_MAX" : "more than SC_IOV_MAX");
  SC_FUZZ_CHECK(st->calls <= 2 * sc->sched_len + 4,
                "call %zu: sc_send_all keeps calling after the schedule ended", st->calls);
  SC_FUZZ_CHECK(st->last != LAST_SEND_EAGAIN, "call %zu: sendmsg again after EAGAIN, no wait",
                st->calls);
  SC_FUZZ_CHECK(fd == FAKE_FD && m != NULL && (uintptr_t)m % _Alignof(struct msghdr) == 0,
                "call %zu: fd %d, msg %p", st->calls, fd, (const void *)m);
  SC_FUZZ_CHECK((flags & (sc->flags | MSG_NOSIGNAL)) == (sc->flags | MSG_NOSIGNAL),
                "call %zu: flags 0x%x lack 0x%x | MSG_NOSIGNAL", st->calls, (unsigned)flags,
                (unsigned)sc->flags);
  SC_FUZZ_CHECK(m->msg_name == o->msg_name && m->msg_namelen == o->msg_namelen,
                "call %zu: msg_name not passed through", st->calls);
  bool has_control = m->msg_control != NULL && m->msg_controllen > 0;
  if (st->sent_bytes) {
    SC_FUZZ_CHECK(!has_control, "call %zu: control sent again after bytes went out", st->calls);
  } else if (!st->zero_call && o->msg_control != NULL) {
    SC_FUZZ_CHECK(m->msg_control == o->msg_control && m->msg_controllen == o->msg_controllen,
                  "call %zu: control missing before any byte was sent", st->calls);
  }
  SC_FUZZ_CHECK(m->msg_iovlen <= SC_IOV_MAX &&
                    (m->msg_iovlen == 0 ||
                     (m->msg_iov != NULL && (uintptr_t)m->msg_iov % _Alignof(struct iovec) == 0)),
                "call %zu: %zu iovecs at %p", st->calls, (size_t)m->msg_iovlen,
                (const void *)m->msg_iov);
  size_t offered = 0;
  const size_t left = sc->total - st->accepted;
  for (size_t i = 0; i < m->msg_iovlen; i++) {
    const struct iovec v = m->msg_iov[i]; /* read whole: ASan checks it */
    SC_FUZZ_CHECK(v.iov_len == 0 || v.iov_base != NULL,
                  "call %zu: iovec %zu has a NULL base and length %zu", st->calls, i, v.iov_len);
    SC_FUZZ_CHECK(v.iov_len <= left - offered,
                  "call %zu: offers more than the %zu bytes that remain", st->calls, left);
    offered += v.iov_len;
  }
  SC_FUZZ_CHECK(offered > 0 || sc->total == st->accepted,
                "call %zu: offers nothing while %zu bytes remain", st->calls,
                sc->total - st->accepted);
  return offered;
}

/* True if the n bytes at a and b are equal. Up to SHORT_CMP bytes are compared inline, a
 * word at a time (each load checked by ASan); longer runs by memcmp (ASan checks both
 * ranges whole), whose fixed cost is higher. Always inlined into take, so out of coverage
 * tracing with it. */
#define SHORT_CMP 128
static inline __attribute__((always_inline)) bool same_bytes(const uint8_t *a, const uint8_t *b,
                                                             size_t n) {
  if (n > SHORT_CMP) {
    return memcmp(a, b, n) == 0;
  }
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    uint64_t y;
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    if (x != y) {
      return false;
    }
  }
  for (; i < n; i++) {
    if (a[i] != b[i]) {
      return false;
    }
  }
  return true;
}

/* Takes the first k offered bytes, as the kernel would send them: each must be the next
 * byte of the concatenation of the caller's iovecs (the snapshot st->ref), read where the
 * call offers it. So the output is the concatenation's prefix, each byte once, in order. */
HARNESS_PTR_CHECKS_OFF SC_NO_COVERAGE static void take(fake_state *st, const struct msghdr *m,
                                                       size_t k) {
  const sendall_case *sc = st->sc;
  size_t done = 0;
  for (size_t i = 0; i < m->msg_iovlen && done < k; i++) {
    const struct iovec v = m->msg_iov[i];
    const uint8_t *p = v.iov_base;
    size_t len = v.iov_len < k - done ? v.iov_len : k - done;
    while (len > 0) {
      while (st->ref_i < sc->niov && st->ref_off == st->ref[st->ref_i].iov_len) {
        st->ref_i++;
        st->ref_off = 0;
      }
      SC_FUZZ_CHECK(st->ref_i < sc->niov, "call %zu: output runs past the iovecs' %zu bytes",
                    st->calls, sc->total);
      const struct iovec r = st->ref[st->ref_i];
      size_t piece = r.iov_len - st->ref_off < len ? r.iov_len - st->ref_off : len;
      SC_FUZZ_CHECK(same_bytes(p, (const uint8_t *)r.iov_base + st->ref_off, piece),
                    "call %zu: the bytes sent at output offset %zu are not the iovecs' "
                    "concatenation (iov[%zu] + %zu)",
                    st->calls, st->accepted + done, st->ref_i, st->ref_off);
      p += piece;
      len -= piece;
      done += piece;
      st->ref_off += piece;
    }
  }
  st->accepted += k;
}

HARNESS_PTR_CHECKS_OFF SC_NO_COVERAGE static ssize_t fake_sendmsg(const sc_transport *t, int fd,
                                                                  const struct msghdr *m,
                                                                  int flags) {
  fake_state *st = t->ctx;
  st->calls++;
  size_t offered = check_call(st, fd, m, flags);
  uint8_t b = 0;
  size_t k = offered;
  if (sched_next(st, &b)) {
    size_t low = b & 0x1f;
    switch (b >> 5) {
      case 0:
      case 1:
        k = low + (size_t)(b >> 5) * 32;
        break;
      case 2:
        k = low * 512;
        break;
      case 3:
        st->last = LAST_SEND_EINTR;
        return -EINTR;
      case 4:
        st->last = LAST_SEND_EAGAIN;
        return (b & 1) ? -EWOULDBLOCK : -EAGAIN;
      case 5:
        st->last = LAST_SEND_ERR;
        st->last_err = hard_errors[b & 7];
        return -st->last_err;
      case 6:
        k = offered;
        break;
      case 7:
        k = 1;
        break;
      default:
        break;
    }
  }
  if (k > offered) {
    k = offered;
  }
  take(st, m, k);
  if (k > 0) {
    st->sent_bytes = true;
    st->last = LAST_SEND_OK;
  } else {
    st->zero_call = true;
    st->last = offered > 0 ? LAST_SEND_ZERO : LAST_SEND_OK;
  }
  return (ssize_t)k;
}

static ssize_t fake_recvmsg(const sc_transport *t, int fd, struct msghdr *m, int flags) {
  (void)t;
  (void)fd;
  (void)m;
  (void)flags;
  SC_FUZZ_CHECK(false, "sc_send_all called recvmsg");
  return -EIO;
}

SC_NO_COVERAGE static int fake_wait(const sc_transport *t, int fd, short events, int timeout_ms) {
  fake_state *st = t->ctx;
  const sendall_case *sc = st->sc;
  st->calls++;
  SC_FUZZ_CHECK(st->calls <= 2 * sc->sched_len + 4,
                "call %zu: sc_send_all keeps waiting after the schedule ended", st->calls);
  SC_FUZZ_CHECK(st->last == LAST_SEND_EAGAIN || st->last == LAST_WAIT_EINTR,
                "call %zu: wait without a preceding EAGAIN (last result kind %d)", st->calls,
                (int)st->last);
  SC_FUZZ_CHECK(sc->timeout_ms != 0, "call %zu: wait with timeout_ms 0 (must return -EAGAIN)",
                st->calls);
  SC_FUZZ_CHECK(fd == FAKE_FD && events == POLLOUT && timeout_ms == sc->timeout_ms,
                "call %zu: wait(fd %d, events 0x%x, timeout %d), want (%d, POLLOUT, %d)", st->calls,
                fd, (unsigned)events, timeout_ms, FAKE_FD, sc->timeout_ms);
  uint8_t b = 0;
  if (!sched_next(st, &b)) {
    st->last = LAST_WAIT_READY;
    return 1;
  }
  switch (b & 7) {
    case 4:
      if (sc->timeout_ms > 0) {
        st->last = LAST_WAIT_TIMEOUT;
        return 0;
      }
      st->last = LAST_WAIT_READY;
      return 1;
    case 5:
      st->last = LAST_WAIT_EINTR;
      return -EINTR;
    case 6:
      st->last = LAST_WAIT_ERR;
      st->last_err = wait_errors[(b >> 3) & 1];
      return -st->last_err;
    default:
      st->last = LAST_WAIT_READY;
      return 1;
  }
}

SC_NO_COVERAGE static void check_error(const fake_state *st, ssize_t ret) {
  const sendall_case *sc = st->sc;
  SC_FUZZ_CHECK(ret != -EINTR, "sc_send_all returned -EINTR");
  switch (st->last) {
    case LAST_SEND_ERR:
    case LAST_WAIT_ERR:
      SC_FUZZ_CHECK(ret == -st->last_err, "sc_send_all returned %s, the transport said %s",
                    sc_err_name((int)ret), sc_err_name(st->last_err));
      break;
    case LAST_SEND_EAGAIN:
      SC_FUZZ_CHECK(sc->timeout_ms == 0 && ret == -EAGAIN,
                    "sc_send_all returned %s after EAGAIN with timeout %d", sc_err_name((int)ret),
                    sc->timeout_ms);
      break;
    case LAST_WAIT_TIMEOUT:
      SC_FUZZ_CHECK(ret == -ETIMEDOUT, "sc_send_all returned %s after a wait timed out",
                    sc_err_name((int)ret));
      break;
    case LAST_SEND_ZERO:
      break; /* no progress on a non-empty remainder: any error but EINTR */
    case LAST_NONE:
    case LAST_SEND_OK:
    case LAST_SEND_EINTR:
    case LAST_WAIT_READY:
    case LAST_WAIT_EINTR:
    default:
      SC_FUZZ_CHECK(false, "sc_send_all gave up with %s after transport result kind %d",
                    sc_err_name((int)ret), (int)st->last);
      break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct sockaddr_un name = {.sun_family = AF_UNIX, .sun_path = "sendall"};
  static unsigned char control[CONTROL_LEN] = {1, 2, 3};
  sendall_case sc;
  fill_source();
  decode_case(data, size, &sc);
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = sc.iov;
  msg.msg_iovlen = sc.niov;
  if (sc.with_name) {
    msg.msg_name = &name;
    msg.msg_namelen = sizeof(name);
  }
  if (sc.with_control) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
  }
  size_t expect_len = sc.total;
  struct msghdr msg_copy;
  memcpy(&msg_copy, &msg, sizeof(msg));
  static struct iovec iov_copy[MAX_IOVS + 1];
  const struct iovec *iov_ref = g_iov_many_ref;
  if (sc.special != SPECIAL_TOO_MANY) {
    memcpy(iov_copy, sc.iov, sc.niov * sizeof(struct iovec));
    iov_ref = iov_copy;
  }

  fake_state st;
  memset(&st, 0, sizeof(st));
  st.sc = &sc;
  st.orig = &msg;
  st.ref = iov_ref;
  st.last = LAST_NONE;
  sc_transport fake = {
      .sendmsg = fake_sendmsg, .recvmsg = fake_recvmsg, .wait = fake_wait, .ctx = &st};
  size_t sent = (size_t)-1;
  ssize_t ret = sc_send_all(&fake, FAKE_FD, &msg, sc.flags, sc.timeout_ms, &sent);

  SC_FUZZ_CHECK(memcmp(&msg, &msg_copy, sizeof(msg)) == 0, "the caller's msghdr was changed");
  SC_FUZZ_CHECK(memcmp(iov_ref, sc.iov, sc.niov * sizeof(struct iovec)) == 0,
                "the caller's iovec array was changed");
  SC_FUZZ_CHECK(sent == st.accepted, "*sent is %zu, the transport accepted %zu", sent, st.accepted);
  if (sc.special == SPECIAL_TOO_MANY) {
    SC_FUZZ_CHECK(ret == -EMSGSIZE && st.calls == 0, "%zu iovecs: returned %s after %zu calls",
                  sc.niov, sc_err_name((int)ret), st.calls);
  } else if (sc.special == SPECIAL_HUGE) {
    SC_FUZZ_CHECK(ret == -EINVAL && st.calls == 0, "total > SSIZE_MAX: returned %s after %zu calls",
                  sc_err_name((int)ret), st.calls);
  } else if (ret >= 0) {
    SC_FUZZ_CHECK((size_t)ret == expect_len && st.accepted == expect_len,
                  "returned %zd, accepted %zu, the iovecs hold %zu", ret, st.accepted, expect_len);
    SC_FUZZ_CHECK(st.last == LAST_SEND_OK, "success right after transport result kind %d",
                  (int)st.last);
  } else {
    check_error(&st, ret);
  }
  return 0;
}

int sc_fuzz_decode(const uint8_t *data, size_t size, FILE *out) {
  sendall_case sc;
  decode_case(data, size, &sc);
  if (fprintf(out, "timeout_ms %d, flags 0x%x%s%s, %zu iovecs, total %zu%s\n", sc.timeout_ms,
              (unsigned)sc.flags, sc.with_name ? ", msg_name" : "",
              sc.with_control ? ", control" : "", sc.niov, sc.total,
              sc.special == SPECIAL_HUGE       ? " (iov[0] is SSIZE_MAX long: total too big)"
              : sc.special == SPECIAL_TOO_MANY ? " (more than SC_IOV_MAX)"
                                               : "") < 0) {
    return -1;
  }
  for (size_t i = 0; i < sc.niov && i < MAX_IOVS + 1; i++) {
    if (fprintf(out, "  iov[%zu] len %zu%s\n", i, sc.iov[i].iov_len,
                sc.iov[i].iov_base == NULL ? " base NULL" : "") < 0) {
      return -1;
    }
  }
  if (fprintf(out, "schedule (each byte answers one sendmsg or wait call, in order):\n") < 0) {
    return -1;
  }
  for (size_t i = 0; i < sc.sched_len; i++) {
    uint8_t b = sc.sched[i];
    size_t low = b & 0x1f;
    int w = 0;
    switch (b >> 5) {
      case 0:
      case 1:
        w = fprintf(out, "  sendmsg: accept %zu bytes", low + (size_t)(b >> 5) * 32);
        break;
      case 2:
        w = fprintf(out, "  sendmsg: accept %zu bytes", low * 512);
        break;
      case 3:
        w = fprintf(out, "  sendmsg: EINTR");
        break;
      case 4:
        w = fprintf(out, "  sendmsg: EAGAIN");
        break;
      case 5:
        w = fprintf(out, "  sendmsg: %s", sc_err_name(hard_errors[b & 7]));
        break;
      case 6:
        w = fprintf(out, "  sendmsg: accept all");
        break;
      case 7:
      default:
        w = fprintf(out, "  sendmsg: accept 1 byte");
        break;
    }
    const char *as_wait = (b & 7) == 4   ? "timeout (ready if timeout_ms < 0)"
                          : (b & 7) == 5 ? "EINTR"
                          : (b & 7) == 6 ? sc_err_name(wait_errors[(b >> 3) & 1])
                                         : "ready";
    if (w < 0 || fprintf(out, " | as a wait: %s\n", as_wait) < 0) {
      return -1;
    }
  }
  return fprintf(out, "then: sendmsg accepts all, wait is ready\n") < 0 ? -1 : 0;
}
