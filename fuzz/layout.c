/* Fuzz target `layout`.
 * Drives: sc_layout_decode, sc_layout_encode, sc_layout_print, sc_layout_equal,
 *         sc_layout_send_iov, sc_layout_recv_iov (library module layout.c).
 * Asserts: every byte string decodes; decode(encode(decode(x))) equals decode(x)
 *          and re-encodes to the same bytes; encodings fit SC_LAYOUT_ENCODED_MAX;
 *          the decoded layout respects its caps (iovec counts, totals, ends);
 *          the printer never fails or crashes. Deterministic, no syscalls but
 *          writes to /dev/null. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "sockcheck/layout.h"
#include "support/check.h"
#include "support/hooks.h"

static FILE *g_null;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  g_null = fopen("/dev/null", "we");
  SC_FUZZ_CHECK(g_null != NULL, "cannot open /dev/null");
  return 0;
}

SC_NO_COVERAGE static void check_caps(const sc_layout *l) {
  size_t sent = 0;
  bool closed[2] = {false, false};
  SC_FUZZ_CHECK(l->kind < SC_LAYOUT_KIND_COUNT && l->nops <= SC_LAYOUT_MAX_OPS, "header range");
  for (unsigned i = 0; i < l->nops; i++) {
    const sc_layout_op *op = &l->op[i];
    SC_FUZZ_CHECK(!closed[op->end], "op %u uses closed end %u", i, op->end);
    SC_FUZZ_CHECK(op->iov.count <= SC_LAYOUT_MAX_IOV, "op %u iov count %u", i, op->iov.count);
    if (op->type == SC_OP_SEND) {
      size_t total = sc_layout_iov_total(op) - (op->big ? SC_LAYOUT_BIG_LEN : 0);
      sent += total;
      SC_FUZZ_CHECK(op->ctl != SC_CTL_RIGHTS || total <= SC_LAYOUT_MAX_RIGHTS_SEND,
                    "op %u rights send of %zu bytes", i, total);
      SC_FUZZ_CHECK(!op->big || l->kind != SC_LAYOUT_STREAM, "big send on a stream");
    }
    if (op->type == SC_OP_RECV) {
      SC_FUZZ_CHECK(sc_layout_iov_total(op) <= SC_LAYOUT_MAX_TOTAL, "op %u recv room", i);
    }
    if (op->type == SC_OP_CLOSE) {
      closed[op->end] = true;
    }
  }
  SC_FUZZ_CHECK(sent <= SC_LAYOUT_MAX_TOTAL, "sends total %zu", sent);
}

/* The target's own checks stay out of coverage tracing: only the library's branches (the
 * decoder's and the normaliser's decisions) steer the fuzzer, and each edge hit per input
 * costs libFuzzer bookkeeping. */
SC_NO_COVERAGE static void check_one(const uint8_t *data, size_t size) {
  static sc_layout a;
  static sc_layout b;
  static uint8_t enc1[SC_LAYOUT_ENCODED_MAX];
  static uint8_t enc2[SC_LAYOUT_ENCODED_MAX];
  static struct iovec iov[SC_LAYOUT_MAX_IOV + 1];
  static uint8_t rbuf[SC_LAYOUT_MAX_TOTAL];
  SC_FUZZ_CHECK(g_null != NULL, "LLVMFuzzerInitialize did not run");
  sc_layout_decode(data, size, &a);
  check_caps(&a);
  int n1 = sc_layout_encode(&a, enc1, sizeof enc1);
  SC_FUZZ_CHECK(n1 > 0, "encode failed: %d", n1);
  SC_FUZZ_CHECK(sc_layout_encode(&a, enc1, (size_t)n1 - 1) == -ENOSPC, "short buffer accepted");
  sc_layout_decode(enc1, (size_t)n1, &b);
  SC_FUZZ_CHECK(sc_layout_equal(&a, &b), "decode(encode(x)) != x");
  int n2 = sc_layout_encode(&b, enc2, sizeof enc2);
  SC_FUZZ_CHECK(n2 == n1 && memcmp(enc1, enc2, (size_t)n1) == 0, "encoding not stable");
  SC_FUZZ_CHECK(sc_layout_print(&a, g_null) == 0, "print failed");
  for (unsigned i = 0; i < a.nops; i++) {
    const sc_layout_op *op = &a.op[i];
    if (op->type == SC_OP_SEND) {
      size_t n = sc_layout_send_iov(op, iov, SC_LAYOUT_MAX_IOV + 1);
      SC_FUZZ_CHECK(n == sc_layout_iov_count(op), "send iov count %zu", n);
    } else if (op->type == SC_OP_RECV) {
      size_t n = sc_layout_recv_iov(op, rbuf, sizeof rbuf, iov, SC_LAYOUT_MAX_IOV + 1);
      SC_FUZZ_CHECK(n == sc_layout_iov_count(op), "recv iov count %zu", n);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_one(data, size);
  return 0;
}

int sc_fuzz_decode(const uint8_t *data, size_t size, FILE *out) {
  sc_layout l;
  sc_layout_decode(data, size, &l);
  return sc_layout_print(&l, out) == 0 ? 0 : -1;
}
