/* Fuzz target `recvfill`: sc_recv_fill (and through it sc_iov_total and sc_iov_advance) over
 * the shared fake transport (sctest/fake_transport.h) whose answers are read from the
 * input: short reads of k bytes, end of stream, -EINTR, -EAGAIN followed by wait results
 * (ready, timed out, -EINTR, error), hard errors, each taking time on the fake clock. The
 * scatter list (count, lengths, zero lengths, NULL bases), the stream's length and the
 * timeout come from the input too. No syscalls.
 *
 * Input: byte 0: bits 0-1 timeout (-1, 0, 5, 1000 ms), bits 2-3 the stream's length: the
 * total room, 3/4 of it, half of it, or 16 bytes more (left unread); byte 1: segment count
 * (& 15); one length byte per segment (< 0xf0: the byte, else (b - 0xef) * 256); then the
 * schedule (support/waits.h), one byte per recvmsg or wait; its time unit is a quarter of the
 * timeout (at least 1 ms).
 *
 * Properties asserted: the calls made are exactly the ones msg.h's rules call for, in order
 * (support/waits.h compares kind, start time on the fake clock, and each wait's events and
 * time left): so no call after a failed or timed-out wait, after the end of the stream, or
 * at or after the deadline; and
 *  - every recvmsg (flags 0) offers exactly the room that remains, in the caller's order,
 *    with no NULL base on a non-empty segment;
 *  - the return value is the documented one: the total, fewer bytes only at end of stream,
 *    or exactly the errno the rules give (-EAGAIN with timeout 0, -ETIMEDOUT, the
 *    transport's or its wait's error); *got is the bytes delivered on every outcome;
 *  - the segments hold the stream's first *got bytes, in order, each segment its own part
 *    of it; every byte past them, and the gaps between segments, keep their canary (nothing
 *    written past what was received);
 *  - the caller's iovec array is unchanged. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "sockcheck/error.h"
#include "sockcheck/iov.h"
#include "sockcheck/msg.h"
#include "sctest/fake_transport.h"
#include "support/check.h"
#include "support/waits.h"

#define MAX_SEGS 15
#define MAX_LEN 4096
#define GAP 8 /* canary bytes after each segment */
#define BUF_SIZE ((size_t)MAX_SEGS * (MAX_LEN + GAP))
#define STREAM_SIZE ((size_t)MAX_SEGS * MAX_LEN + 16)
#define FAKE_FD 43
#define CANARY 0xa5

typedef struct recvfill_case {
  int timeout_ms;
  long long unit; /* ms: a quarter of the timeout, at least 1 */
  int cnt;
  struct iovec iov[MAX_SEGS];
  size_t total;      /* room in the segments */
  size_t stream_len; /* bytes the peer sends before end of stream */
  const uint8_t *sched;
  size_t sched_len;
} recvfill_case;

static const int timeouts[4] = {-1, 0, 5, 1000};
static uint8_t g_buf[BUF_SIZE];
static uint8_t g_stream[STREAM_SIZE];

SC_NO_COVERAGE static void fill_stream(void) {
  static bool ready;
  if (ready) {
    return;
  }
  /* Not periodic at any small shift: a byte delivered twice or skipped shows. */
  uint32_t x = 0x2545f491u;
  for (size_t i = 0; i < STREAM_SIZE; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    g_stream[i] = (uint8_t)(x == CANARY ? x + 1 : x);
  }
  ready = true;
}

SC_NO_COVERAGE static void decode_case(const uint8_t *data, size_t size, recvfill_case *rc) {
  size_t pos = 0;
  uint8_t h = pos < size ? data[pos++] : 0;
  uint8_t cnt = pos < size ? data[pos++] : 0;
  memset(rc, 0, sizeof(*rc));
  rc->timeout_ms = timeouts[h & 3];
  rc->unit = rc->timeout_ms >= 8 ? rc->timeout_ms / 4 : 1;
  rc->cnt = cnt & MAX_SEGS;
  size_t off = 0;
  for (int i = 0; i < rc->cnt; i++) {
    size_t len = pos < size ? sc_wm_len_from(data[pos++]) : 0;
    /* Zero-length segments at odd indexes get a NULL base, as callers may pass. */
    rc->iov[i].iov_base = (len == 0 && (i & 1)) ? NULL : g_buf + off;
    rc->iov[i].iov_len = len;
    off += len + GAP;
    rc->total += len;
  }
  switch ((h >> 2) & 3) {
    case 1:
      rc->stream_len = rc->total / 4 * 3;
      break;
    case 2:
      rc->stream_len = rc->total / 2;
      break;
    case 3:
      rc->stream_len = rc->total + 16;
      break;
    default:
      rc->stream_len = rc->total;
      break;
  }
  rc->sched = data + pos;
  rc->sched_len = size - pos;
}

static const char *result_name(ssize_t r) {
  return r < 0 ? sc_err_name((int)r) : "a count";
}

/* The segments hold the stream's first got bytes in order; the room not filled and the gap
 * after each segment are still canary. */
SC_NO_COVERAGE static void check_buffers(const recvfill_case *rc, size_t got) {
  size_t s = 0; /* stream offset of the current segment */
  for (int i = 0; i < rc->cnt; i++) {
    const struct iovec v = rc->iov[i];
    if (v.iov_base == NULL) {
      continue;
    }
    const uint8_t *p = v.iov_base;
    size_t filled = got > s ? (got - s < v.iov_len ? got - s : v.iov_len) : 0;
    SC_FUZZ_CHECK(filled == 0 || memcmp(p, g_stream + s, filled) == 0,
                  "segment %d does not hold stream bytes %zu..%zu", i, s, s + filled);
    for (size_t j = filled; j < v.iov_len + GAP; j++) {
      SC_FUZZ_CHECK(p[j] == CANARY,
                    "segment %d: byte %zu written (%zu of its %zu bytes received; %s)", i, j,
                    filled, v.iov_len, j < v.iov_len ? "past what was received" : "in the gap");
    }
    s += v.iov_len;
  }
}

/* Replays the schedule by msg.h's rules and compares every call, the result, *got and the
 * buffers with what sc_recv_fill did. */
SC_NO_COVERAGE static void check_recv_fill(const recvfill_case *rc, const sc_fake *f, ssize_t ret,
                                           size_t got) {
  sc_wm_cursor c = {.sched = rc->sched, .len = rc->sched_len, .pos = 0, .unit = rc->unit};
  sc_wm wm;
  sc_wm_init(&wm, f, SC_FAKE_EPOCH, &c, SC_FAKE_RECVMSG, POLLIN, rc->timeout_ms, ret);
  ssize_t want = 0;
  const char *why = "a total of 0: nothing to receive";
  size_t done = 0;
  while (done < rc->total) {
    sc_fake_step s;
    const sc_fake_rec *r = sc_wm_io(&wm, &s);
    size_t i = wm.i - 1;
    SC_FUZZ_CHECK(r->fd == FAKE_FD && r->flags == 0, "call %zu: fd %d, flags 0x%x", i, r->fd,
                  (unsigned)r->flags);
    SC_FUZZ_CHECK(r->offered == rc->total - done && !r->null_base && r->iovlen <= (size_t)rc->cnt,
                  "call %zu: offers %zu bytes in %zu segments%s, %zu remain", i, r->offered,
                  r->iovlen, r->null_base ? " (a non-empty one with a NULL base)" : "",
                  rc->total - done);
    if (s.act == SC_FAKE_ERR) {
      int e = sc_wm_after_error(&wm, (int)s.n);
      if (e < 0) {
        want = e;
        why = "an error, a timeout or EAGAIN with timeout 0";
        break;
      }
    } else {
      size_t room = rc->total - done;
      size_t k = s.act == SC_FAKE_BYTES && s.n < room ? s.n : room;
      if (s.act == SC_FAKE_EOF) {
        k = 0;
      }
      if (k > rc->stream_len - done) {
        k = rc->stream_len - done;
      }
      if (k == 0) {
        want = (ssize_t)done;
        why = "end of stream";
        break;
      }
      done += k;
      if (done == rc->total) {
        want = (ssize_t)done;
        why = "every segment filled";
        break;
      }
    }
    if (sc_wm_check(&wm) < 0) {
      want = -ETIMEDOUT;
      why = "the deadline was reached";
      break;
    }
  }
  if (rc->total == 0 || done == rc->total) {
    want = (ssize_t)done;
  }
  sc_wm_end(&wm, why);
  SC_FUZZ_CHECK(f->misfits == 0, "the script gave %zu misfit answers", f->misfits);
  SC_FUZZ_CHECK(ret == want, "returned %zd (%s), the rules say %zd (%s): %s", ret, result_name(ret),
                want, result_name(want), why);
  SC_FUZZ_CHECK(got == done && f->in_pos == done,
                "*got is %zu, the transport delivered %zu, the rules say %zu", got, f->in_pos,
                done);
  check_buffers(rc, done);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static sc_fake fake;
  recvfill_case rc;
  fill_stream();
  decode_case(data, size, &rc);
  size_t used = rc.total + (size_t)rc.cnt * GAP;
  memset(g_buf, CANARY, used);
  struct iovec iov_copy[MAX_SEGS];
  memcpy(iov_copy, rc.iov, sizeof(iov_copy));

  sc_wm_cursor c = {.sched = rc.sched, .len = rc.sched_len, .pos = 0, .unit = rc.unit};
  sc_fake_init(&fake);
  fake.script = sc_wm_script;
  fake.script_arg = &c;
  fake.in = g_stream;
  fake.in_len = rc.stream_len;
  fake.max_calls = rc.sched_len + 8; /* the rules never need more: a spinning library stops */
  size_t got = (size_t)-1;
  ssize_t ret = sc_recv_fill(&fake.t, FAKE_FD, rc.iov, rc.cnt, rc.timeout_ms, &got);

  SC_FUZZ_CHECK(memcmp(iov_copy, rc.iov, sizeof(iov_copy)) == 0,
                "the caller's iovec array was changed");
  check_recv_fill(&rc, &fake, ret, got);
  return 0;
}

int sc_fuzz_decode(const uint8_t *data, size_t size, FILE *out) {
  recvfill_case rc;
  decode_case(data, size, &rc);
  if (fprintf(out, "timeout_ms %d, %d segments, room %zu, the stream sends %zu bytes then ends\n",
              rc.timeout_ms, rc.cnt, rc.total, rc.stream_len) < 0) {
    return -1;
  }
  for (int i = 0; i < rc.cnt; i++) {
    if (fprintf(out, "  iov[%d] len %zu%s\n", i, rc.iov[i].iov_len,
                rc.iov[i].iov_base == NULL ? " base NULL" : "") < 0) {
      return -1;
    }
  }
  return sc_wm_print_schedule(out, SC_FAKE_RECVMSG, rc.sched, rc.sched_len, rc.unit);
}
