/* Fuzz target `serverloop`: the ok-server's epoll loop (sc_server_run: accept, read,
 * flush, close, the log) over the fake kernel of sctest/fakekernel.h, behind the server's
 * transport seam, with a script the input decodes: clients connecting, sending chunks,
 * pausing and resuming their reading, half-closing (EOF), resetting; sends accepting
 * fewer bytes than offered, EAGAIN and EINTR on sends and receives; accept errors
 * (transient and fatal); short, refused, interrupted and failing log writes.
 *
 * Asserted (sc_fk_check) for every client: its reply bytes are an unbroken "okok..." run
 * of exactly 2 x its messages (the loop's receives of n > 0 bytes) when it closes after
 * EOF, and at most that after a reset or a fatal stop; the loop never reads after EOF,
 * never owes more than out_limit reply bytes (reading pauses), closes every descriptor it
 * accepted, returns 0 or the fatal accept error; its stats agree with the clients; its log
 * is well-formed and names each client's message count at EOF, with every line written or
 * counted dropped. The same input always gives the same run (fresh descriptors per input,
 * the loop in this thread, no clock). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sctest/fakekernel.h"
#include "sockcheck/error.h"
#include "support/check.h"

#define MAX_OPS 512

static const int k_transient[] = {EINTR,        ECONNABORTED, EPROTO,     EPERM,
                                  ENETDOWN,     ENOPROTOOPT,  EHOSTDOWN,  ENONET,
                                  EHOSTUNREACH, EOPNOTSUPP,   ENETUNREACH};
static const int k_fatal[] = {EINVAL, EBADF, ENOTSOCK, EFAULT};
static const int k_log_err[] = {EAGAIN, EINTR, EPIPE};

typedef struct input {
  const uint8_t *data;
  size_t size;
  size_t pos;
} input;

static uint8_t next_byte(input *in) {
  return in->pos < in->size ? in->data[in->pos++] : 0;
}

/* Decodes the configuration and the script; every byte string decodes. */
static size_t decode(const uint8_t *data, size_t size, sc_fk_config *cfg, sc_fk_op *ops) {
  static const size_t log_bufs[] = {0, 64, 256, 65536};
  input in = {data, size, 0};
  uint8_t b0 = next_byte(&in);
  uint8_t b1 = next_byte(&in);
  uint8_t b2 = next_byte(&in);
  *cfg = (sc_fk_config){
      .out_limit = 2 + (b0 & 31u),
      .recv_buf = 1 + (b1 & 63u),
      .max_conns = b2 & 3u,
      .log_buf = log_bufs[(b2 >> 2) & 3u],
  };
  size_t n = 0;
  while (in.pos < in.size && n < MAX_OPS) {
    uint8_t o = next_byte(&in);
    bool v = (o & 8u) != 0;
    sc_fk_op op = {.kind = SC_FK_TICK, .client = o & 7u};
    switch (o >> 4) {
      case 0:
        op.kind = SC_FK_CONNECT;
        break;
      case 1:
        op.kind = SC_FK_DATA;
        op.n = 1 + (size_t)next_byte(&in);
        break;
      case 2:
        op.kind = v ? SC_FK_RESET : SC_FK_EOF;
        break;
      case 3:
        op.kind = v ? SC_FK_READ_ALL : SC_FK_READ;
        op.n = v ? 0 : 1 + (size_t)next_byte(&in);
        break;
      case 4:
        op.kind = v ? SC_FK_TICK : SC_FK_PAUSE;
        break;
      case 5:
        op.kind = SC_FK_RECV_ERR;
        op.err = v ? EAGAIN : EINTR;
        break;
      case 6:
        op.kind = SC_FK_SEND_ERR;
        op.err = v ? EAGAIN : EINTR;
        break;
      case 7:
        op.kind = SC_FK_SEND_SHORT;
        op.n = 1 + (size_t)next_byte(&in);
        break;
      case 8: {
        uint8_t p = next_byte(&in);
        op.kind = SC_FK_ACCEPT_ERR;
        op.err = v ? k_fatal[p % 4] : k_transient[p % 11];
        break;
      }
      case 9: {
        uint8_t p = next_byte(&in);
        op.kind = v ? SC_FK_LOG_ERR : SC_FK_LOG_SHORT;
        op.n = 1 + (size_t)p;
        op.err = k_log_err[p % 3];
        break;
      }
      case 10:
        op.kind = SC_FK_DATA;
        op.n = v ? 2 : 1;
        break;
      case 11:
        op.kind = SC_FK_READ;
        op.n = v ? 2 : 1;
        break;
      default:
        break;
    }
    ops[n++] = op;
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static sc_fk_op ops[MAX_OPS];
  sc_fk_config cfg;
  size_t n = decode(data, size, &cfg, ops);
  sc_fk_result r;
  int rc = sc_fk_run(&cfg, ops, n, &r);
  SC_FUZZ_CHECK(rc == 0, "the fake kernel could not be set up: %s", strerror(-rc));
  char why[512];
  bool ok = sc_fk_check(&cfg, &r, why, sizeof(why));
  sc_fk_result_free(&r);
  SC_FUZZ_CHECK(ok, "%s", why);
  return 0;
}

int sc_fuzz_decode(const uint8_t *data, size_t size, FILE *out) {
  static sc_fk_op ops[MAX_OPS];
  sc_fk_config cfg;
  size_t n = decode(data, size, &cfg, ops);
  if (fprintf(out, "out_limit %zu, recv_buf %zu, max_conns %zu, log_buf %zu\n", cfg.out_limit,
              cfg.recv_buf, cfg.max_conns, cfg.log_buf) < 0) {
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    const sc_fk_op *op = &ops[i];
    int w;
    switch (op->kind) {
      case SC_FK_CONNECT:
        w = fprintf(out, "%4zu connect\n", i + 1);
        break;
      case SC_FK_DATA:
        w = fprintf(out, "%4zu client %u sends %zu bytes\n", i + 1, op->client, op->n);
        break;
      case SC_FK_EOF:
        w = fprintf(out, "%4zu client %u sends EOF\n", i + 1, op->client);
        break;
      case SC_FK_RESET:
        w = fprintf(out, "%4zu client %u resets\n", i + 1, op->client);
        break;
      case SC_FK_READ:
        w = fprintf(out, "%4zu client %u reads %zu reply bytes\n", i + 1, op->client, op->n);
        break;
      case SC_FK_READ_ALL:
        w = fprintf(out, "%4zu client %u reads everything\n", i + 1, op->client);
        break;
      case SC_FK_PAUSE:
        w = fprintf(out, "%4zu client %u pauses reading\n", i + 1, op->client);
        break;
      case SC_FK_RECV_ERR:
        w = fprintf(out, "%4zu client %u: next recv %s\n", i + 1, op->client,
                    sc_err_name(-op->err));
        break;
      case SC_FK_SEND_ERR:
        w = fprintf(out, "%4zu client %u: next send %s\n", i + 1, op->client,
                    sc_err_name(-op->err));
        break;
      case SC_FK_SEND_SHORT:
        w = fprintf(out, "%4zu client %u: next send takes at most %zu bytes\n", i + 1, op->client,
                    op->n);
        break;
      case SC_FK_ACCEPT_ERR:
        w = fprintf(out, "%4zu next accept fails: %s\n", i + 1, sc_err_name(-op->err));
        break;
      case SC_FK_LOG_SHORT:
        w = fprintf(out, "%4zu next log write takes at most %zu bytes\n", i + 1, op->n);
        break;
      case SC_FK_LOG_ERR:
        w = fprintf(out, "%4zu next log write fails: %s\n", i + 1, sc_err_name(-op->err));
        break;
      default:
        w = fprintf(out, "%4zu tick\n", i + 1);
        break;
    }
    if (w < 0) {
      return -1;
    }
  }
  return fprintf(out, "then: every client that has not reset sends EOF and reads everything\n") < 0
             ? -1
             : 0;
}
