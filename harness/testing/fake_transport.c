/* The scripted fake transport (see sctest/fake_transport.h). Kept out of coverage: its
 * branches follow the script, which the fuzz targets' own decoding already shows. */
#include "sctest/fake_transport.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "sctest/nocov.h"
#include "sockcheck/error.h"

SC_NO_COVERAGE static sc_fake_step next_step(sc_fake *f, sc_fake_call call) {
  sc_fake_step s = SC_FAKE_STEP_ALL;
  if (f->script != NULL) {
    if (!f->script(f->script_arg, call, &s)) {
      s = SC_FAKE_STEP_ALL;
    }
  } else if (call == SC_FAKE_WAIT) {
    if (f->wait_pos < f->nwaits) {
      s = f->waits[f->wait_pos++];
    }
  } else if (f->io_pos < f->nio) {
    s = f->io[f->io_pos++];
  }
  return s;
}

/* Starts a record for a call; NULL once recs[] is full (the call is still counted). */
SC_NO_COVERAGE static sc_fake_rec *begin(sc_fake *f, sc_fake_call call, int fd) {
  sc_fake_rec *r = NULL;
  if (f->ncalls < SC_FAKE_MAX_RECS) {
    r = &f->recs[f->ncalls];
    *r = (sc_fake_rec){.call = call};
    r->fd = fd;
    r->at_ms = f->now;
  }
  f->ncalls++;
  return r;
}

static bool refused(const sc_fake *f) {
  return f->max_calls != 0 && f->ncalls > f->max_calls;
}

/* Records the iovecs a call offers; returns their total, *null_base set if a non-empty
 * one has a NULL base. */
SC_NO_COVERAGE static size_t offered(sc_fake_rec *r, const struct msghdr *m, bool *null_base_out) {
  size_t sum = 0;
  bool null_base = false;
  for (size_t i = 0; i < m->msg_iovlen; i++) {
    sum += m->msg_iov[i].iov_len;
    null_base |= m->msg_iov[i].iov_len > 0 && m->msg_iov[i].iov_base == NULL;
  }
  if (r != NULL) {
    r->iovlen = m->msg_iovlen;
    r->offered = sum;
    r->null_base = null_base;
  }
  *null_base_out = null_base;
  return sum;
}

static void advance_clock(sc_fake *f, long long ms) {
  if (ms > 0) {
    f->now += ms;
  }
}

static ssize_t finish(sc_fake_rec *r, ssize_t ret) {
  if (r != NULL) {
    r->ret = ret;
  }
  return ret;
}

SC_NO_COVERAGE static ssize_t fake_sendmsg(const sc_transport *t, int fd, const struct msghdr *m,
                                           int flags) {
  sc_fake *f = t->ctx;
  sc_fake_rec *r = begin(f, SC_FAKE_SENDMSG, fd);
  if (refused(f)) {
    return finish(r, -ECANCELED);
  }
  bool null_base = false;
  size_t avail = offered(r, m, &null_base);
  if (r != NULL) {
    r->flags = flags;
    r->name = m->msg_name;
    r->namelen = m->msg_namelen;
    r->control = m->msg_control;
    r->controllen = m->msg_controllen;
  }
  sc_fake_step s = next_step(f, SC_FAKE_SENDMSG);
  advance_clock(f, s.ms);
  size_t k = avail;
  switch (s.act) {
    case SC_FAKE_ALL:
      break;
    case SC_FAKE_BYTES:
      k = s.n < avail ? s.n : avail;
      break;
    case SC_FAKE_ERR:
      return finish(r, -(ssize_t)s.n);
    case SC_FAKE_CLAIM:
      return finish(r, (ssize_t)s.n);
    case SC_FAKE_EOF:
    case SC_FAKE_READY:
    case SC_FAKE_TIMEOUT:
    default:
      f->misfits++;
      return finish(r, -EPROTO);
  }
  if (null_base) {
    return finish(r, -EFAULT); /* as the kernel would */
  }
  /* Take the first k bytes where they are offered, as the kernel reads them. */
  size_t left = k;
  for (size_t i = 0; i < m->msg_iovlen && left > 0; i++) {
    size_t len = m->msg_iov[i].iov_len < left ? m->msg_iov[i].iov_len : left;
    if (len > 0 && f->out_len < f->out_cap) {
      size_t room = f->out_cap - f->out_len;
      memcpy(f->out + f->out_len, m->msg_iov[i].iov_base, len < room ? len : room);
    }
    f->out_len += len;
    left -= len;
  }
  return finish(r, (ssize_t)k);
}

SC_NO_COVERAGE static ssize_t fake_recvmsg(const sc_transport *t, int fd, struct msghdr *m,
                                           int flags) {
  sc_fake *f = t->ctx;
  sc_fake_rec *r = begin(f, SC_FAKE_RECVMSG, fd);
  if (refused(f)) {
    return finish(r, -ECANCELED);
  }
  bool null_base = false;
  size_t room = offered(r, m, &null_base);
  if (r != NULL) {
    r->flags = flags;
  }
  sc_fake_step s = next_step(f, SC_FAKE_RECVMSG);
  advance_clock(f, s.ms);
  size_t k = room;
  switch (s.act) {
    case SC_FAKE_ALL:
      break;
    case SC_FAKE_BYTES:
      k = s.n < room ? s.n : room;
      break;
    case SC_FAKE_EOF:
      return finish(r, 0);
    case SC_FAKE_ERR:
      return finish(r, -(ssize_t)s.n);
    case SC_FAKE_CLAIM:
      return finish(r, (ssize_t)s.n);
    case SC_FAKE_READY:
    case SC_FAKE_TIMEOUT:
    default:
      f->misfits++;
      return finish(r, -EPROTO);
  }
  if (k > f->in_len - f->in_pos) {
    k = f->in_len - f->in_pos;
  }
  if (null_base) {
    return finish(r, -EFAULT);
  }
  /* Deliver k bytes into the offered buffers in order; nothing past them is written. */
  size_t done = 0;
  for (size_t i = 0; i < m->msg_iovlen && done < k; i++) {
    size_t len = m->msg_iov[i].iov_len < k - done ? m->msg_iov[i].iov_len : k - done;
    if (len > 0) {
      memcpy(m->msg_iov[i].iov_base, f->in + f->in_pos + done, len);
    }
    done += len;
  }
  f->in_pos += k;
  m->msg_flags = 0;
  return finish(r, (ssize_t)k);
}

SC_NO_COVERAGE static int fake_wait(const sc_transport *t, int fd, short events, int timeout_ms) {
  sc_fake *f = t->ctx;
  sc_fake_rec *r = begin(f, SC_FAKE_WAIT, fd);
  if (refused(f)) {
    return (int)finish(r, -ECANCELED);
  }
  if (r != NULL) {
    r->events = events;
    r->timeout_ms = timeout_ms;
  }
  sc_fake_step s = next_step(f, SC_FAKE_WAIT);
  long long ms = s.ms;
  if (ms == SC_FAKE_WHOLE_TIMEOUT) {
    ms = timeout_ms > 0 ? timeout_ms : 0;
  }
  if (timeout_ms >= 0 && ms > timeout_ms) {
    ms = timeout_ms;
  }
  advance_clock(f, ms);
  switch (s.act) {
    case SC_FAKE_ALL:
    case SC_FAKE_READY:
      return (int)finish(r, 1);
    case SC_FAKE_TIMEOUT:
      return (int)finish(r, timeout_ms < 0 ? 1 : 0);
    case SC_FAKE_ERR:
      return (int)finish(r, -(ssize_t)s.n);
    case SC_FAKE_BYTES:
    case SC_FAKE_EOF:
    case SC_FAKE_CLAIM:
    default:
      f->misfits++;
      return (int)finish(r, -EPROTO);
  }
}

SC_NO_COVERAGE static long long fake_now_ms(const sc_transport *t) {
  sc_fake *f = t->ctx;
  f->clock_reads++;
  return f->now;
}

void sc_fake_init(sc_fake *f) {
  f->t = (sc_transport){
      .sendmsg = fake_sendmsg,
      .recvmsg = fake_recvmsg,
      .wait = fake_wait,
      .now_ms = fake_now_ms,
      .ctx = f,
  };
  f->io = NULL;
  f->nio = 0;
  f->io_pos = 0;
  f->waits = NULL;
  f->nwaits = 0;
  f->wait_pos = 0;
  f->script = NULL;
  f->script_arg = NULL;
  f->now = SC_FAKE_EPOCH;
  f->clock_reads = 0;
  f->out = NULL;
  f->out_cap = 0;
  f->out_len = 0;
  f->in = NULL;
  f->in_len = 0;
  f->in_pos = 0;
  f->ncalls = 0;
  f->max_calls = 0;
  f->misfits = 0;
}

void sc_fake_script_io(sc_fake *f, const sc_fake_step *steps, size_t n) {
  f->io = steps;
  f->nio = n;
  f->io_pos = 0;
}

void sc_fake_script_waits(sc_fake *f, const sc_fake_step *steps, size_t n) {
  f->waits = steps;
  f->nwaits = n;
  f->wait_pos = 0;
}

size_t sc_fake_count(const sc_fake *f, sc_fake_call call) {
  size_t n = 0;
  size_t stored = f->ncalls < SC_FAKE_MAX_RECS ? f->ncalls : SC_FAKE_MAX_RECS;
  for (size_t i = 0; i < stored; i++) {
    n += f->recs[i].call == call;
  }
  return n;
}

void sc_fake_describe(sc_fake_step step, sc_fake_call call, char *buf, size_t cap) {
  const char *io = call == SC_FAKE_SENDMSG ? "take" : "deliver";
  char ms[40] = "";
  if (step.ms == SC_FAKE_WHOLE_TIMEOUT) {
    snprintf(ms, sizeof(ms), " after its whole timeout");
  } else if (step.ms > 0 || call == SC_FAKE_WAIT) {
    snprintf(ms, sizeof(ms), " after %lld ms", step.ms);
  }
  switch (step.act) {
    case SC_FAKE_ALL:
      snprintf(buf, cap, "%s%s", call == SC_FAKE_WAIT ? "ready" : io,
               call == SC_FAKE_WAIT ? ms : " all");
      break;
    case SC_FAKE_BYTES:
      snprintf(buf, cap, "%s %zu bytes%s", io, step.n, ms);
      break;
    case SC_FAKE_EOF:
      snprintf(buf, cap, "end of stream%s", ms);
      break;
    case SC_FAKE_ERR:
      snprintf(buf, cap, "%s%s", sc_err_name((int)step.n), ms);
      break;
    case SC_FAKE_CLAIM:
      snprintf(buf, cap, "claim %zu bytes%s", step.n, ms);
      break;
    case SC_FAKE_READY:
      snprintf(buf, cap, "ready%s", ms);
      break;
    case SC_FAKE_TIMEOUT:
      snprintf(buf, cap, "timed out%s", ms);
      break;
    default:
      snprintf(buf, cap, "?");
      break;
  }
}
