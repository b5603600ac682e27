/* The ok-server's per-connection state machine (see sockcheck/conn.h).
 *
 * Owed output is a byte count: the replies are all "ok", so the next byte is
 * 'o' when an even number of bytes is owed and 'k' when an odd number is (a
 * short write may have sent half a reply). sc_conn_out points into one static
 * run of "okok...", starting at the right phase.
 *
 * Planted bug (SC_PLANT_BUG_CONN_REPLY, proof-of-bite builds only): a chunk of
 * exactly SC_CONN_PLANTED_LEN (171) bytes is counted but gets no reply.
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

#if defined(SC_PLANT_BUG_CONN_REPLY)
#define SC_CONN_PLANTED_LEN 171
#endif

/* Each function copies *c into a local once and writes it back once. Under UBSan every
 * member access through the pointer carries its own null and alignment check, and in fuzz
 * builds each alignment check is a traced comparison with a constant that can never steer
 * the fuzzer (a quarter of the server target's time). Clang emits no such check for a
 * whole-struct copy; ASan still checks every byte read and written, and a NULL conn still
 * faults. The decisions (state, owed bytes against the limit, the clamp) are unchanged and
 * still traced. */

void sc_conn_init(sc_conn *c, size_t out_limit) {
  *c = (sc_conn){
      .state = SC_CONN_OPEN,
      .out_limit = out_limit < SC_CONN_REPLY_LEN ? SC_CONN_REPLY_LEN : out_limit,
  };
}

int sc_conn_on_recv(sc_conn *c, size_t n) {
  sc_conn s = *c;
  if (s.state != SC_CONN_OPEN) {
    return -EPROTO;
  }
  if (n == 0) {
    s.state = s.out_pending > 0 ? SC_CONN_DRAINING : SC_CONN_CLOSED;
  } else {
    s.chunks_in++;
    s.bytes_in += n;
#if defined(SC_PLANT_BUG_CONN_REPLY)
    if (n != SC_CONN_PLANTED_LEN) {
      s.out_pending += SC_CONN_REPLY_LEN;
    }
#else
    s.out_pending += SC_CONN_REPLY_LEN;
#endif
  }
  *c = s;
  return 0;
}

void sc_conn_on_error(sc_conn *c) {
  sc_conn s = *c;
  s.state = SC_CONN_CLOSED;
  s.out_pending = 0;
  *c = s;
}

bool sc_conn_want_read(const sc_conn *c) {
  const sc_conn s = *c;
  return s.state == SC_CONN_OPEN && s.out_pending <= s.out_limit - SC_CONN_REPLY_LEN;
}

/* Bytes are owed and the connection can still send them: on a local copy (see above). */
static bool owes(const sc_conn *s) {
  return s->state != SC_CONN_CLOSED && s->out_pending > 0;
}

bool sc_conn_want_write(const sc_conn *c) {
  const sc_conn s = *c;
  return owes(&s);
}

size_t sc_conn_out(const sc_conn *c, const char **out) {
  const sc_conn s = *c;
  /* An odd count owed means half a reply went out: resume at its 'k'. */
  size_t start = s.out_pending % 2;
  *out = ok_run + start;
  if (!owes(&s)) {
    return 0;
  }
  size_t avail = OK_RUN_LEN - start;
  return s.out_pending < avail ? s.out_pending : avail;
}

void sc_conn_on_sent(sc_conn *c, size_t n) {
  sc_conn s = *c;
  if (n > s.out_pending) {
    n = s.out_pending;
  }
  s.out_pending -= n;
  s.bytes_out += n;
  if (s.state == SC_CONN_DRAINING && s.out_pending == 0) {
    s.state = SC_CONN_CLOSED;
  }
  *c = s;
}
