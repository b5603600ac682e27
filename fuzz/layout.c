/* Fuzz target `layout`.
 * Drives: sc_layout_decode, sc_layout_encode, sc_layout_encoded_len, sc_layout_format,
 *         sc_layout_equal (library module layout.c).
 * Asserts: every byte string decodes; decode(encode(decode(x))) equals decode(x)
 *          and re-encodes to the same bytes; encodings fit SC_LAYOUT_ENCODED_MAX, and
 *          their length is sc_layout_encoded_len; one byte less of room is -ENOSPC;
 *          the decoded layout respects its caps (iovec counts, totals, ends);
 *          formatting (the printer's text, without stdio) never fails or crashes, fits
 *          SC_LAYOUT_TEXT_MAX and has one line per op plus the header line.
 *          The iovec builders (sc_layout_send_iov, sc_layout_recv_iov) are checked by
 *          fuzz_msghdr, which builds both lists of every op against the real kernel and
 *          checks their counts; sc_layout_print's FILE path (the same formatter) by the
 *          unit tests. Deterministic, no syscalls.
 * Every input is checked in full: a fingerprint cache of the layouts already checked
 * (sctest/seen.h) measured no campaign gain here. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sctest/layout.h"
#include "support/check.h"
#include "support/hooks.h"

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
      SC_FUZZ_CHECK(op->ctl != SC_CTL_RIGHTS || total <= SC_LAYOUT_MAX_RIGHTS_SEND || op->peer != 0,
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

/* Newlines in text[0..n), a word at a time: in each byte of x = w ^ "\n\n..", the high bit of
 * ((x & 0x7f..) + 0x7f..) | x is clear exactly where x is 0 (no carry crosses bytes). */
SC_NO_COVERAGE static size_t count_lines(const char *text, size_t n) {
  const uint64_t ones = 0x0101010101010101u;
  const uint64_t low7 = 0x7f7f7f7f7f7f7f7fu;
  size_t lines = 0;
  size_t i = 0;
  for (; i + sizeof(uint64_t) <= n; i += sizeof(uint64_t)) {
    uint64_t w;
    memcpy(&w, text + i, sizeof w);
    uint64_t x = w ^ (ones * '\n');
    uint64_t y = ((x & low7) + low7) | x;
    lines += (size_t)__builtin_popcountll(~y & (ones << 7));
  }
  for (; i < n; i++) {
    lines += text[i] == '\n';
  }
  return lines;
}

/* The target's own checks stay out of coverage tracing: only the library's branches (the
 * decoder's and the normaliser's decisions) steer the fuzzer, and each edge hit per input
 * costs libFuzzer bookkeeping. */
SC_NO_COVERAGE static void check_one(const uint8_t *data, size_t size) {
  static sc_layout a;
  static sc_layout b;
  static uint8_t enc1[SC_LAYOUT_ENCODED_MAX];
  static uint8_t enc2[SC_LAYOUT_ENCODED_MAX];
  static char text[SC_LAYOUT_TEXT_MAX];
  sc_layout_decode(data, size, &a);
  check_caps(&a);
  int n1 = sc_layout_encode(&a, enc1, sizeof enc1);
  SC_FUZZ_CHECK(n1 > 0 && (size_t)n1 == sc_layout_encoded_len(&a), "encode: %d, length %zu", n1,
                sc_layout_encoded_len(&a));
  SC_FUZZ_CHECK(sc_layout_encode(&a, enc1, (size_t)n1 - 1) == -ENOSPC, "short buffer accepted");
  sc_layout_decode(enc1, (size_t)n1, &b);
  SC_FUZZ_CHECK(sc_layout_equal(&a, &b), "decode(encode(x)) != x");
  int n2 = sc_layout_encode(&b, enc2, sizeof enc2);
  SC_FUZZ_CHECK(n2 == n1 && memcmp(enc1, enc2, (size_t)n1) == 0, "encoding not stable");
  int t = sc_layout_format(&a, text, sizeof text);
  SC_FUZZ_CHECK(t > 0 && text[t - 1] == '\n' && text[t] == '\0', "format failed: %d", t);
  SC_FUZZ_CHECK(count_lines(text, (size_t)t) == (size_t)a.nops + 1, "%u ops formatted as:\n%s",
                a.nops, text);
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
