/* Fuzz target `sendall`: sc_send_all (and through it sc_iov_total and sc_iov_advance) over
 * the shared fake transport (sctest/fake_transport.h) whose answers are read from the
 * input: short writes of k bytes, -EINTR, -EAGAIN followed by wait results (ready, timed
 * out, -EINTR, error), hard errors, each taking time on the fake clock. The iovec layout
 * (count, lengths, zero lengths, NULL bases, a total above SSIZE_MAX, more than SC_IOV_MAX
 * entries), msg_name, msg_control, flags and timeout come from the input too. No syscalls.
 *
 * Input: byte 0: bits 0-1 timeout (-1, 0, 5, 1000 ms), bit 2 msg_name, bit 3 msg_control,
 * bits 4-6: 6 = total > SSIZE_MAX, 7 = more than SC_IOV_MAX iovecs, bit 7 MSG_DONTWAIT;
 * byte 1: iovec count (& 63); one length byte per iovec (< 0xf0: the byte, else
 * (b - 0xef) * 256); then the schedule (support/waits.h), one byte per sendmsg or wait; its
 * time unit is a quarter of the timeout (at least 1 ms).
 *
 * Properties asserted: the calls made are exactly the ones msg.h's rules call for, in order
 * (support/waits.h compares kind, start time on the fake clock, and each wait's events and
 * time left): so no call after a failed or timed-out wait, none at or after the deadline,
 * none after an error; and
 *  - every sendmsg offers exactly the bytes that remain, in at most SC_IOV_MAX iovecs with
 *    no NULL base on a non-empty one, carries msg_name and flags | MSG_NOSIGNAL, and carries
 *    msg_control until a call has succeeded, never after;
 *  - the bytes the transport took are the concatenation of the iovecs' prefix, each once
 *    and in order; the return value is the documented one: the total, or exactly the errno
 *    the rules give (-EAGAIN with timeout 0, -ETIMEDOUT, -EIO for zero progress, the
 *    transport's or its wait's error; -EMSGSIZE / -EINVAL without any call for too many
 *    iovecs / a total above SSIZE_MAX); *sent is the bytes taken;
 *  - the caller's msghdr and iovec array are unchanged (memcmp; the constant array of the
 *    "more than SC_IOV_MAX" layout is compared with a pristine copy built once). */
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
#include "sctest/fake_transport.h"
#include "support/check.h"
#include "support/waits.h"

#define MAX_IOVS 63
#define TOO_MANY_IOVS (SC_IOV_MAX + 4)
#define MAX_LEN 4096
/* Room for MAX_IOVS iovecs of MAX_LEN bytes with a one-byte gap after each. */
#define SRC_SIZE ((size_t)MAX_IOVS * (MAX_LEN + 1) + 64)
#define FAKE_FD 42
#define CONTROL_LEN 32

enum special { SPECIAL_NONE, SPECIAL_HUGE, SPECIAL_TOO_MANY };

typedef struct sendall_case {
  int timeout_ms;
  long long unit; /* ms: a quarter of the timeout, at least 1 */
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

static const int timeouts[4] = {-1, 0, 5, 1000};

static uint8_t g_src[SRC_SIZE];
static uint8_t g_out[(size_t)MAX_IOVS * MAX_LEN]; /* what the fake transport took */
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

SC_NO_COVERAGE static void decode_case(const uint8_t *data, size_t size, sendall_case *sc) {
  size_t pos = 0;
  uint8_t h = pos < size ? data[pos++] : 0;
  uint8_t cnt = pos < size ? data[pos++] : 0;
  memset(sc, 0, sizeof(*sc));
  sc->timeout_ms = timeouts[h & 3];
  sc->unit = sc->timeout_ms >= 8 ? sc->timeout_ms / 4 : 1;
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
      size_t len = pos < size ? sc_wm_len_from(data[pos++]) : 0;
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

static const char *result_name(ssize_t r) {
  return r < 0 ? sc_err_name((int)r) : "a count";
}

/* One sendmsg as the rules want it, done bytes already taken. */
SC_NO_COVERAGE static void check_call(const sendall_case *sc, const struct msghdr *o,
                                      const sc_fake_rec *r, size_t i, size_t done,
                                      bool control_due) {
  SC_FUZZ_CHECK(r->fd == FAKE_FD, "call %zu: fd %d", i, r->fd);
  SC_FUZZ_CHECK((r->flags & (sc->flags | MSG_NOSIGNAL)) == (sc->flags | MSG_NOSIGNAL),
                "call %zu: flags 0x%x lack 0x%x | MSG_NOSIGNAL", i, (unsigned)r->flags,
                (unsigned)sc->flags);
  SC_FUZZ_CHECK(r->name == o->msg_name && r->namelen == o->msg_namelen,
                "call %zu: msg_name not passed through", i);
  bool has_control = r->control != NULL && r->controllen > 0;
  if (control_due) {
    SC_FUZZ_CHECK(r->control == o->msg_control && r->controllen == o->msg_controllen,
                  "call %zu: control missing before any call succeeded", i);
  } else {
    SC_FUZZ_CHECK(!has_control,
                  "call %zu: control sent again after a call succeeded (%zu bytes "
                  "sent)",
                  i, done);
  }
  SC_FUZZ_CHECK(r->iovlen <= SC_IOV_MAX && !r->null_base, "call %zu: %zu iovecs%s", i, r->iovlen,
                r->null_base ? ", a non-empty one with a NULL base" : "");
  SC_FUZZ_CHECK(r->offered == sc->total - done, "call %zu: offers %zu bytes, %zu remain", i,
                r->offered, sc->total - done);
}

/* The bytes the fake took: the first n bytes of the concatenation of ref[0..niov). */
SC_NO_COVERAGE static void check_bytes(const sendall_case *sc, const struct iovec *ref,
                                       const uint8_t *out, size_t n) {
  size_t off = 0;
  for (size_t i = 0; i < sc->niov && off < n; i++) {
    size_t len = ref[i].iov_len < n - off ? ref[i].iov_len : n - off;
    SC_FUZZ_CHECK(len == 0 || memcmp(out + off, ref[i].iov_base, len) == 0,
                  "the bytes sent at output offset %zu are not iov[%zu]'s", off, i);
    off += len;
  }
  SC_FUZZ_CHECK(off == n, "%zu bytes sent, the iovecs hold %zu", n, off);
}

/* Replays the schedule by msg.h's rules and compares every call, the result, *sent and the
 * bytes with what sc_send_all did. */
SC_NO_COVERAGE static void check_send_all(const sendall_case *sc, const struct msghdr *msg,
                                          const struct iovec *ref, const sc_fake *f, ssize_t ret,
                                          size_t sent) {
  sc_wm_cursor c = {.sched = sc->sched, .len = sc->sched_len, .pos = 0, .unit = sc->unit};
  sc_wm wm;
  sc_wm_init(&wm, f, SC_FAKE_EPOCH, &c, SC_FAKE_SENDMSG, POLLOUT, sc->timeout_ms, ret);
  ssize_t want = 0;
  const char *why = "";
  size_t done = 0;
  bool control_due = msg->msg_control != NULL;
  if (sc->special == SPECIAL_TOO_MANY) {
    want = -EMSGSIZE;
    why = "more than SC_IOV_MAX iovecs";
  } else if (sc->special == SPECIAL_HUGE) {
    want = -EINVAL;
    why = "a total above SSIZE_MAX";
  } else {
    for (;;) {
      sc_fake_step s;
      const sc_fake_rec *r = sc_wm_io(&wm, &s);
      check_call(sc, msg, r, wm.i - 1, done, control_due);
      if (s.act == SC_FAKE_ERR) {
        int e = sc_wm_after_error(&wm, (int)s.n);
        if (e < 0) {
          want = e;
          why = wm.why;
          break;
        }
      } else {
        size_t left = sc->total - done;
        size_t k = s.act == SC_FAKE_BYTES && s.n < left ? s.n : left;
        if (k == 0 && left > 0) {
          want = -EIO;
          why = "0 bytes taken of a nonzero remainder";
          break;
        }
        done += k;
        control_due = false;
        if (done == sc->total) {
          want = (ssize_t)done;
          why = "every byte sent";
          break;
        }
      }
      if (sc_wm_check(&wm) < 0) {
        want = -ETIMEDOUT;
        why = "the deadline was reached";
        break;
      }
    }
  }
  sc_wm_end(&wm, why);
  SC_FUZZ_CHECK(f->misfits == 0, "the script gave %zu misfit answers", f->misfits);
  SC_FUZZ_CHECK(ret == want, "returned %zd (%s), the rules say %zd (%s): %s", ret, result_name(ret),
                want, result_name(want), why);
  SC_FUZZ_CHECK(sent == done && f->out_len == done,
                "*sent is %zu, the transport took %zu, the rules say %zu", sent, f->out_len, done);
  check_bytes(sc, ref, g_out, done);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct sockaddr_un name = {.sun_family = AF_UNIX, .sun_path = "sendall"};
  static unsigned char control[CONTROL_LEN] = {1, 2, 3};
  static sc_fake fake;
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
  struct msghdr msg_copy;
  memcpy(&msg_copy, &msg, sizeof(msg));
  static struct iovec iov_copy[MAX_IOVS + 1];
  const struct iovec *iov_ref = g_iov_many_ref;
  if (sc.special != SPECIAL_TOO_MANY) {
    memcpy(iov_copy, sc.iov, sc.niov * sizeof(struct iovec));
    iov_ref = iov_copy;
  }

  sc_wm_cursor c = {.sched = sc.sched, .len = sc.sched_len, .pos = 0, .unit = sc.unit};
  sc_fake_init(&fake);
  fake.script = sc_wm_script;
  fake.script_arg = &c;
  fake.out = g_out;
  fake.out_cap = sizeof(g_out);
  fake.max_calls = sc.sched_len + 8; /* the rules never need more: a spinning library stops */
  size_t sent = (size_t)-1;
  ssize_t ret = sc_send_all(&fake.t, FAKE_FD, &msg, sc.flags, sc.timeout_ms, &sent);

  SC_FUZZ_CHECK(memcmp(&msg, &msg_copy, sizeof(msg)) == 0, "the caller's msghdr was changed");
  SC_FUZZ_CHECK(memcmp(iov_ref, sc.iov, sc.niov * sizeof(struct iovec)) == 0,
                "the caller's iovec array was changed");
  check_send_all(&sc, &msg, iov_ref, &fake, ret, sent);
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
  return sc_wm_print_schedule(out, SC_FAKE_SENDMSG, sc.sched, sc.sched_len, sc.unit);
}
