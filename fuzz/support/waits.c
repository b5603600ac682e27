/* The model of msg.h's waits and deadlines (see waits.h). */
#include "support/waits.h"

#include <errno.h>

#include "sockcheck/error.h"
#include "support/check.h"

const int sc_wm_hard_errors[8] = {EPIPE, ECONNRESET, ENOBUFS,  EIO,
                                  EBADF, ENOTCONN,   EMSGSIZE, ENOMEM};
static const int wait_errors[2] = {ENOMEM, EINVAL};

SC_NO_COVERAGE sc_fake_step sc_wm_step(sc_fake_call call, uint8_t b, long long unit) {
  if (call == SC_FAKE_WAIT) {
    long long t = (long long)((b >> 3) & 7) * unit;
    switch (b & 7) {
      case 4:
        return (sc_fake_step){.act = SC_FAKE_TIMEOUT, .ms = t == 0 ? SC_FAKE_WHOLE_TIMEOUT : t};
      case 5:
        return SC_FAKE_SLOW(SC_FAKE_STEP_ERR(EINTR), t);
      case 6:
        return SC_FAKE_STEP_ERR(wait_errors[(b >> 3) & 1]);
      default:
        return SC_FAKE_STEP_READY(t);
    }
  }
  size_t low = b & 0x1f;
  long long t = (long long)(low & 7) * unit;
  switch (b >> 5) {
    case 0:
    case 1:
      return SC_FAKE_STEP_BYTES(low + (size_t)(b >> 5) * 32);
    case 2:
      return SC_FAKE_STEP_BYTES(low * 512);
    case 3:
      return SC_FAKE_SLOW(SC_FAKE_STEP_ERR(EINTR), t);
    case 4:
      return SC_FAKE_STEP_ERR((b & 1) ? EWOULDBLOCK : EAGAIN);
    case 5:
      return SC_FAKE_STEP_ERR(sc_wm_hard_errors[b & 7]);
    case 6:
      return call == SC_FAKE_RECVMSG && (b & 0x10) ? SC_FAKE_STEP_EOF : SC_FAKE_STEP_ALL;
    default:
      return SC_FAKE_SLOW(SC_FAKE_STEP_BYTES(1), t);
  }
}

SC_NO_COVERAGE bool sc_wm_script(void *cursor, sc_fake_call call, sc_fake_step *step) {
  sc_wm_cursor *c = cursor;
  if (c->pos >= c->len) {
    return false;
  }
  *step = sc_wm_step(call, c->sched[c->pos++], c->unit);
  return true;
}

int sc_wm_print_schedule(FILE *out, sc_fake_call io_call, const uint8_t *sched, size_t len,
                         long long unit) {
  const char *io = sc_wm_call_name(io_call);
  if (fprintf(out,
              "schedule (each byte answers one %s or wait, in order; the clock starts at %lld, "
              "unit %lld ms):\n",
              io, SC_FAKE_EPOCH, unit) < 0) {
    return -1;
  }
  for (size_t i = 0; i < len; i++) {
    char as_io[64];
    char as_wait[64];
    sc_fake_describe(sc_wm_step(io_call, sched[i], unit), io_call, as_io, sizeof(as_io));
    sc_fake_describe(sc_wm_step(SC_FAKE_WAIT, sched[i], unit), SC_FAKE_WAIT, as_wait,
                     sizeof(as_wait));
    if (fprintf(out, "  0x%02x %s: %s | wait: %s\n", sched[i], io, as_io, as_wait) < 0) {
      return -1;
    }
  }
  return fprintf(out, "then: every %s moves all, every wait is ready at once\n", io) < 0 ? -1 : 0;
}

SC_NO_COVERAGE const char *sc_wm_call_name(sc_fake_call call) {
  switch (call) {
    case SC_FAKE_SENDMSG:
      return "sendmsg";
    case SC_FAKE_RECVMSG:
      return "recvmsg";
    case SC_FAKE_WAIT:
      return "wait";
    default:
      return "?";
  }
}

SC_NO_COVERAGE void sc_wm_init(sc_wm *wm, const sc_fake *f, long long start, sc_wm_cursor *cursor,
                               sc_fake_call io_call, short events, int timeout_ms, ssize_t ret) {
  wm->f = f;
  wm->ret = ret;
  wm->why = "";
  wm->script = sc_wm_script;
  wm->script_arg = cursor;
  wm->io_call = io_call;
  wm->events = events;
  wm->timeout_ms = timeout_ms;
  wm->now = start;
  wm->deadline = timeout_ms > 0 ? start + timeout_ms : 0;
  wm->i = 0;
}

SC_NO_COVERAGE static sc_fake_step next(sc_wm *wm, sc_fake_call call) {
  sc_fake_step s = SC_FAKE_STEP_ALL;
  if (!wm->script(wm->script_arg, call, &s)) {
    s = SC_FAKE_STEP_ALL;
  }
  return s;
}

/* The record of the call the model expects next: it must exist, be of this kind and start
 * at the model's clock. */
SC_NO_COVERAGE static const sc_fake_rec *expect(sc_wm *wm, sc_fake_call call) {
  const sc_fake *f = wm->f;
  SC_FUZZ_CHECK(wm->i < f->ncalls,
                "call %zu: the library stopped (returning %zd, %s); a %s was due at %lld", wm->i,
                wm->ret, wm->ret < 0 ? sc_err_name((int)wm->ret) : "a count", sc_wm_call_name(call),
                wm->now);
  SC_FUZZ_CHECK(wm->i < SC_FAKE_MAX_RECS, "more than %d calls", SC_FAKE_MAX_RECS);
  const sc_fake_rec *r = &f->recs[wm->i];
  SC_FUZZ_CHECK(r->call == call, "call %zu: %s at %lld, the rules call for a %s", wm->i,
                sc_wm_call_name(r->call), r->at_ms, sc_wm_call_name(call));
  SC_FUZZ_CHECK(r->at_ms == wm->now, "call %zu (%s): at %lld, the model's clock says %lld", wm->i,
                sc_wm_call_name(call), r->at_ms, wm->now);
  SC_FUZZ_CHECK(wm->timeout_ms <= 0 || wm->i == 0 || r->at_ms < wm->deadline,
                "call %zu (%s) starts at %lld, at or after the deadline %lld", wm->i,
                sc_wm_call_name(call), r->at_ms, wm->deadline);
  wm->i++;
  return r;
}

SC_NO_COVERAGE const sc_fake_rec *sc_wm_io(sc_wm *wm, sc_fake_step *step) {
  const sc_fake_rec *r = expect(wm, wm->io_call);
  *step = next(wm, wm->io_call);
  if (step->ms > 0) {
    wm->now += step->ms;
  }
  return r;
}

SC_NO_COVERAGE int sc_wm_check(const sc_wm *wm) {
  return wm->timeout_ms > 0 && wm->now >= wm->deadline ? -ETIMEDOUT : 0;
}

SC_NO_COVERAGE int sc_wm_after_error(sc_wm *wm, int err) {
  if (err == EINTR) {
    return 0;
  }
  if (err != EAGAIN && err != EWOULDBLOCK) {
    wm->why = "the transport failed";
    return -err;
  }
  if (wm->timeout_ms == 0) {
    wm->why = "EAGAIN with timeout 0";
    return -EAGAIN;
  }
  for (;;) {
    int left = -1;
    if (wm->timeout_ms > 0) {
      if (wm->now >= wm->deadline) {
        wm->why = "the deadline was reached before a wait";
        return -ETIMEDOUT;
      }
      left = (int)(wm->deadline - wm->now);
    }
    const sc_fake_rec *r = expect(wm, SC_FAKE_WAIT);
    SC_FUZZ_CHECK(r->events == wm->events && r->timeout_ms == left,
                  "call %zu: wait(events 0x%x, timeout %d) at %lld, the rules say (0x%x, %d)",
                  wm->i - 1, (unsigned)r->events, r->timeout_ms, r->at_ms, (unsigned)wm->events,
                  left);
    sc_fake_step s = next(wm, SC_FAKE_WAIT);
    long long ms = s.ms == SC_FAKE_WHOLE_TIMEOUT ? (left > 0 ? left : 0) : s.ms;
    if (left >= 0 && ms > left) {
      ms = left;
    }
    wm->now += ms > 0 ? ms : 0;
    switch (s.act) {
      case SC_FAKE_ERR:
        if ((int)s.n == EINTR) {
          continue;
        }
        wm->why = "a wait failed";
        return -(int)s.n;
      case SC_FAKE_TIMEOUT:
        if (left >= 0) {
          wm->why = "a wait timed out";
          return -ETIMEDOUT;
        }
        return 0;
      case SC_FAKE_ALL:
      case SC_FAKE_READY:
        return 0;
      case SC_FAKE_BYTES:
      case SC_FAKE_EOF:
      case SC_FAKE_CLAIM:
      default:
        wm->why = "a wait failed";
        return -EPROTO; /* the fake's answer to a step that fits no wait */
    }
  }
}

SC_NO_COVERAGE void sc_wm_end(const sc_wm *wm, const char *why) {
  const sc_fake *f = wm->f;
  if (wm->i < f->ncalls && wm->i < SC_FAKE_MAX_RECS) {
    const sc_fake_rec *r = &f->recs[wm->i];
    SC_FUZZ_CHECK(false, "call %zu: %s at %lld after the call should have ended (%s)", wm->i,
                  sc_wm_call_name(r->call), r->at_ms, why);
  }
  SC_FUZZ_CHECK(wm->i == f->ncalls, "%zu calls after the call should have ended (%s)",
                f->ncalls - wm->i, why);
}

size_t sc_wm_len_from(uint8_t b) {
  return b < 0xf0 ? b : (size_t)(b - 0xef) * 256;
}
