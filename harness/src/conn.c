/* The ok-server's per-connection state machine (see sockcheck/conn.h).
 *
 * Owed output is a byte count: the replies are all "ok", so the next byte is
 * 'o' when an even number of bytes is owed and 'k' when an odd number is (a
 * short write may have sent half a reply). sc_conn_out points into one static
 * run of "okok...", starting at the right phase.
 */
#include "sockcheck/conn.h"

#include <errno.h>

#include "sockcheck/error.h"

#define OK8 "okokokok"
#define OK64 OK8 OK8 OK8 OK8 OK8 OK8 OK8 OK8
#define OK512 OK64 OK64 OK64 OK64 OK64 OK64 OK64 OK64
#define OK4096 OK512 OK512 OK512 OK512 OK512 OK512 OK512 OK512

/* 4096 bytes of "okok...": the most one sc_conn_out call offers. */
static const char ok_run[] = OK4096;
#define OK_RUN_LEN (sizeof(ok_run) - 1)

void sc_conn_init(sc_conn *c, size_t out_limit) {
  *c = (sc_conn){
      .state = SC_CONN_OPEN,
      .out_limit = out_limit < SC_CONN_REPLY_LEN ? SC_CONN_REPLY_LEN : out_limit,
  };
}

int sc_conn_on_recv(sc_conn *c, size_t n) {
  if (c->state != SC_CONN_OPEN) {
    return -EPROTO;
  }
  if (n == 0) {
    c->state = c->out_pending > 0 ? SC_CONN_DRAINING : SC_CONN_CLOSED;
  } else {
    c->chunks_in++;
    c->bytes_in += n;
    c->out_pending += SC_CONN_REPLY_LEN;
  }
  return 0;
}

void sc_conn_on_error(sc_conn *c) {
  c->state = SC_CONN_CLOSED;
  c->out_pending = 0;
}

bool sc_conn_want_read(const sc_conn *c) {
  return c->state == SC_CONN_OPEN && c->out_pending <= c->out_limit - SC_CONN_REPLY_LEN;
}

bool sc_conn_want_write(const sc_conn *c) {
  return c->state != SC_CONN_CLOSED && c->out_pending > 0;
}

size_t sc_conn_out(const sc_conn *c, const char **out) {
  /* An odd count owed means half a reply went out: resume at its 'k'. */
  size_t start = c->out_pending % 2;
  *out = ok_run + start;
  if (!sc_conn_want_write(c)) {
    return 0;
  }
  size_t avail = OK_RUN_LEN - start;
  return c->out_pending < avail ? c->out_pending : avail;
}

void sc_conn_on_sent(sc_conn *c, size_t n) {
  if (n > c->out_pending) {
    n = c->out_pending;
  }
  c->out_pending -= n;
  c->bytes_out += n;
  if (c->state == SC_CONN_DRAINING && c->out_pending == 0) {
    c->state = SC_CONN_CLOSED;
  }
}
