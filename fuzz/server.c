/* Fuzz target `server`: the ok-server's per-connection state machine (sc_conn_init,
 * sc_conn_on_recv, sc_conn_on_error, sc_conn_want_read, sc_conn_want_write, sc_conn_out,
 * sc_conn_on_sent) driven like the epoll loop drives it, by a crafted schedule of received
 * chunks, EOFs, errors and write capacities (backpressure). Pure: no syscalls, no heap.
 *
 * An independent model (state, bytes owed, chunks, bytes in/out) runs beside it. Asserted
 * after every step: the public fields equal the model's; every received chunk owes exactly one
 * "ok" and the concatenated output is "ok" repeated once per chunk (checked byte by byte as it
 * is offered, and by count after a final flush); bytes owed never exceed out_limit (a chunk is
 * read only when want_read says so); want_read is true exactly when OPEN with room for one
 * more reply (owed + 2 <= out_limit); want_write is true exactly when bytes are owed;
 * sc_conn_out offers nothing when nothing is owed and never more than is owed; no read is
 * accepted after EOF or close (-EPROTO, connection unchanged); DRAINING ends in CLOSED once
 * the last byte is written; on_sent clamps an oversized count. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sockcheck/conn.h"
#include "sockcheck/error.h"
#include "support/check.h"

/* For the checks run after every step (check_state, do_write, apply, probe_closed_recv):
 * they read the target's own connection and model through pointers, and UBSan's null and
 * alignment checks on each such read test the harness, not the library. The one pointer
 * the library hands over, sc_conn_out's, is checked for NULL explicitly (do_write); the
 * rest of UBSan and all of ASan stay on. */
#if defined(__clang__)
#define HARNESS_PTR_CHECKS_OFF __attribute__((no_sanitize("alignment", "null")))
#else
#define HARNESS_PTR_CHECKS_OFF
#endif

/* Longest write compared byte for byte against the reference run. */
#define RUN_LEN 8192

/* The reference output: "okok...", RUN_LEN + 1 bytes so any phase has RUN_LEN. */
static char g_run[RUN_LEN + SC_CONN_REPLY_LEN];

typedef enum op_kind {
  OP_RECV,    /* a chunk of n > 0 bytes arrives (read only when want_read) */
  OP_WRITE,   /* the socket takes up to n bytes (n == SIZE_MAX: all offered) */
  OP_WRITE_1, /* n writes of 1 byte each: replies split in halves */
  OP_EOF,     /* recv() returned 0 */
  OP_ERROR,   /* reset or I/O error */
  OP_PROBE    /* out-of-turn call: recv when not OPEN, or on_sent of more than owed */
} op_kind;

typedef struct conn_op {
  op_kind kind;
  size_t n;
} conn_op;

typedef struct conn_model {
  sc_conn_state state;
  size_t owed;
  uint64_t chunks;
  uint64_t bytes_in;
  uint64_t bytes_out;
  bool dropped; /* an error dropped owed replies */
} conn_model;

typedef struct conn_input {
  const uint8_t *data;
  size_t size;
  size_t pos;
} conn_input;

SC_NO_COVERAGE static size_t decode_limit(conn_input *in) {
  size_t limit = SC_CONN_REPLY_LEN;
  if (in->pos < in->size) {
    limit += in->data[in->pos++];
  }
  return limit;
}

/* Decodes the next operation; false at the end of the input. Every byte string decodes. */
SC_NO_COVERAGE static bool next_op(conn_input *in, conn_op *op) {
  if (in->pos >= in->size) {
    return false;
  }
  uint8_t o = in->data[in->pos++];
  size_t low = o & 0x1f;
  size_t param = 0;
  switch (o >> 5) {
    case 0:
      *op = (conn_op){OP_RECV, low + 1};
      break;
    case 1:
      param = 1;
      if (in->pos < in->size) {
        param = in->data[in->pos++];
      }
      *op = (conn_op){OP_RECV, param == 0 ? 256 : param};
      break;
    case 2:
      if (in->pos < in->size) {
        param = in->data[in->pos++];
      }
      *op = (conn_op){OP_RECV, (low + 1) * 4096 + param};
      break;
    case 3:
      *op = (conn_op){OP_WRITE, low};
      break;
    case 4:
      *op = (conn_op){OP_WRITE, low == 0x1f ? SIZE_MAX : (low + 1) * 64};
      break;
    case 5:
      *op = (conn_op){OP_EOF, 0};
      break;
    case 6:
      *op = low == 0 ? (conn_op){OP_ERROR, 0} : (conn_op){OP_PROBE, low};
      break;
    case 7:
      *op = (conn_op){OP_WRITE_1, (low & 3) + 1};
      break;
    default:
      return false;
  }
  return true;
}

HARNESS_PTR_CHECKS_OFF SC_NO_COVERAGE static void check_state(const sc_conn *c, const conn_model *m,
                                                              size_t step) {
  SC_FUZZ_CHECK(c->state == m->state, "step %zu: state %d, model %d", step, (int)c->state,
                (int)m->state);
  SC_FUZZ_CHECK(c->out_pending == m->owed, "step %zu: %zu bytes owed, model %zu (chunks %llu)",
                step, c->out_pending, m->owed, (unsigned long long)m->chunks);
  SC_FUZZ_CHECK(
      c->chunks_in == m->chunks && c->bytes_in == m->bytes_in && c->bytes_out == m->bytes_out,
      "step %zu: counters chunks %llu in %llu out %llu, model %llu %llu %llu", step,
      (unsigned long long)c->chunks_in, (unsigned long long)c->bytes_in,
      (unsigned long long)c->bytes_out, (unsigned long long)m->chunks,
      (unsigned long long)m->bytes_in, (unsigned long long)m->bytes_out);
  /* chunks are read only when want_read said there was room for their reply */
  SC_FUZZ_CHECK(m->owed <= c->out_limit, "step %zu: %zu bytes owed exceed out_limit %zu", step,
                m->owed, c->out_limit);
  bool wr = sc_conn_want_read(c);
  bool room = m->state == SC_CONN_OPEN && m->owed + SC_CONN_REPLY_LEN <= c->out_limit;
  SC_FUZZ_CHECK(wr == room, "step %zu: want_read %d in state %d with %zu owed (limit %zu)", step,
                (int)wr, (int)m->state, m->owed, c->out_limit);
  bool ww = sc_conn_want_write(c);
  SC_FUZZ_CHECK(ww == (m->owed > 0), "step %zu: want_write %d with %zu owed", step, (int)ww,
                m->owed);
}

HARNESS_PTR_CHECKS_OFF SC_NO_COVERAGE static void model_sent(conn_model *m, size_t n) {
  size_t w = n < m->owed ? n : m->owed;
  m->owed -= w;
  m->bytes_out += w;
  if (m->state == SC_CONN_DRAINING && m->owed == 0) {
    m->state = SC_CONN_CLOSED;
  }
}

/* One write of at most cap bytes, as the loop does on POLLOUT. */
HARNESS_PTR_CHECKS_OFF SC_NO_COVERAGE static void do_write(sc_conn *c, conn_model *m, size_t cap,
                                                           size_t step) {
  const char *p = NULL;
  size_t n = sc_conn_out(c, &p);
  if (m->owed == 0) {
    SC_FUZZ_CHECK(n == 0, "step %zu: sc_conn_out offers %zu bytes with nothing owed", step, n);
    return;
  }
  SC_FUZZ_CHECK(n > 0 && n <= m->owed && p != NULL,
                "step %zu: sc_conn_out offers %zu bytes with %zu owed", step, n, m->owed);
  size_t w = n < cap ? n : cap;
  /* The bytes written must continue the "okok..." run; checking the last offered byte too
   * makes ASan see an offer longer than its storage. */
  size_t k = w < RUN_LEN ? w : RUN_LEN;
  SC_FUZZ_CHECK(memcmp(p, g_run + m->bytes_out % SC_CONN_REPLY_LEN, k) == 0,
                "step %zu: the %zu bytes written at output offset %llu break the \"ok\" run", step,
                k, (unsigned long long)m->bytes_out);
  SC_FUZZ_CHECK(p[n - 1] == SC_CONN_REPLY[(m->bytes_out + n - 1) % SC_CONN_REPLY_LEN],
                "step %zu: last offered byte breaks the \"ok\" run", step);
  sc_conn_on_sent(c, w);
  model_sent(m, w);
}

/* Calls that must be refused when not OPEN: the connection must not change. */
HARNESS_PTR_CHECKS_OFF SC_NO_COVERAGE static void probe_closed_recv(sc_conn *c, size_t n,
                                                                    size_t step) {
  sc_conn before = *c;
  int rc = sc_conn_on_recv(c, n);
  SC_FUZZ_CHECK(rc == -EPROTO, "step %zu: on_recv(%zu) in state %d returned %s, not EPROTO", step,
                n, (int)before.state, sc_err_name(rc));
  SC_FUZZ_CHECK(memcmp(&before, c, sizeof(before)) == 0,
                "step %zu: refused on_recv changed the connection", step);
}

HARNESS_PTR_CHECKS_OFF SC_NO_COVERAGE static void apply(sc_conn *c, conn_model *m,
                                                        const conn_op *op, size_t step) {
  switch (op->kind) {
    case OP_RECV:
      if (m->state != SC_CONN_OPEN) {
        probe_closed_recv(c, op->n, step);
      } else if (sc_conn_want_read(c)) {
        int rc = sc_conn_on_recv(c, op->n);
        SC_FUZZ_CHECK(rc == 0, "step %zu: on_recv(%zu) returned %s", step, op->n, sc_err_name(rc));
        m->chunks++;
        m->bytes_in += op->n;
        m->owed += SC_CONN_REPLY_LEN;
      }
      break;
    case OP_WRITE:
      do_write(c, m, op->n, step);
      break;
    case OP_WRITE_1:
      for (size_t i = 0; i < op->n; i++) {
        do_write(c, m, 1, step);
      }
      break;
    case OP_EOF:
      if (m->state != SC_CONN_OPEN) {
        probe_closed_recv(c, 0, step);
      } else {
        int rc = sc_conn_on_recv(c, 0);
        SC_FUZZ_CHECK(rc == 0, "step %zu: on_recv(0) returned %s", step, sc_err_name(rc));
        m->state = m->owed > 0 ? SC_CONN_DRAINING : SC_CONN_CLOSED;
      }
      break;
    case OP_ERROR:
      sc_conn_on_error(c);
      m->dropped = m->dropped || m->owed > 0;
      m->state = SC_CONN_CLOSED;
      m->owed = 0;
      break;
    case OP_PROBE:
      if (m->state != SC_CONN_OPEN) {
        probe_closed_recv(c, op->n, step);
      } else {
        sc_conn_on_sent(c, m->owed + op->n); /* more than owed: clamped */
        model_sent(m, m->owed + op->n);
      }
      break;
    default:
      SC_FUZZ_CHECK(false, "unknown op kind %d", (int)op->kind);
      break;
  }
  check_state(c, m, step);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  conn_input in = {data, size, 0};
  if (g_run[0] == '\0') {
    for (size_t i = 0; i < sizeof(g_run); i++) {
      g_run[i] = SC_CONN_REPLY[i % SC_CONN_REPLY_LEN];
    }
  }
  sc_conn c;
  conn_model m = {SC_CONN_OPEN, 0, 0, 0, 0, false};
  size_t limit = decode_limit(&in);
  sc_conn_init(&c, limit);
  SC_FUZZ_CHECK(c.out_limit == limit, "sc_conn_init(%zu) set out_limit %zu", limit, c.out_limit);
  check_state(&c, &m, 0);
  conn_op op;
  size_t step = 0;
  while (next_op(&in, &op)) {
    apply(&c, &m, &op, ++step);
  }
  /* Final flush and EOF: everything owed must come out, then the connection closes. */
  size_t rounds = m.owed + 2;
  while (m.owed > 0 && rounds-- > 0) {
    do_write(&c, &m, SIZE_MAX, ++step);
    check_state(&c, &m, step);
  }
  if (m.state == SC_CONN_OPEN) {
    op = (conn_op){OP_EOF, 0};
    apply(&c, &m, &op, ++step);
  }
  SC_FUZZ_CHECK(m.state == SC_CONN_CLOSED && m.owed == 0,
                "after the final flush and EOF: state %d, %zu owed", (int)m.state, m.owed);
  if (!m.dropped) {
    SC_FUZZ_CHECK(m.bytes_out == m.chunks * SC_CONN_REPLY_LEN,
                  "%llu chunks received, %llu reply bytes written: not one \"ok\" each",
                  (unsigned long long)m.chunks, (unsigned long long)m.bytes_out);
  }
  return 0;
}

int sc_fuzz_decode(const uint8_t *data, size_t size, FILE *out) {
  static const char *const names[] = {"recv", "write", "write-1-byte x", "eof", "error", "probe"};
  conn_input in = {data, size, 0};
  size_t limit = decode_limit(&in);
  if (fprintf(out, "out_limit %zu\n", limit) < 0) {
    return -1;
  }
  conn_op op;
  size_t step = 0;
  while (next_op(&in, &op)) {
    int w;
    if (op.kind == OP_WRITE && op.n == SIZE_MAX) {
      w = fprintf(out, "%4zu write all\n", ++step);
    } else if (op.kind == OP_EOF || op.kind == OP_ERROR) {
      w = fprintf(out, "%4zu %s\n", ++step, names[op.kind]);
    } else {
      w = fprintf(out, "%4zu %s %zu\n", ++step, names[op.kind], op.n);
    }
    if (w < 0) {
      return -1;
    }
  }
  return fprintf(out, "then: flush everything owed, EOF\n") < 0 ? -1 : 0;
}
