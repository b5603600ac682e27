/* Unit tests for layout.c: round trips of hand-built layouts, decoding of edge
 * byte strings (empty, all 0x00, all 0xff, truncated), normalisation (caps, ends
 * after a close), the iovec builders, the encoder's length, and the printer and formatter (the
 * exact text, output longer than the printer's buffer, a stream that cannot be written, a
 * short buffer). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cmocka.h>

#include "sctest/layout.h"

static sc_layout make(unsigned kind, unsigned nonblock) {
  sc_layout l;
  memset(&l, 0, sizeof l);
  l.kind = (uint8_t)kind;
  l.nonblock = (uint8_t)nonblock;
  return l;
}

static sc_layout_op *add(sc_layout *l, unsigned type, unsigned end) {
  sc_layout_op *op = &l->op[l->nops++];
  memset(op, 0, sizeof *op);
  op->type = (uint8_t)type;
  op->end = (uint8_t)end;
  if (type == SC_OP_SEND || type == SC_OP_RECV) {
    op->iov.nseg = 1;
  }
  return op;
}

static void assert_round_trip(const sc_layout *l) {
  uint8_t buf[SC_LAYOUT_ENCODED_MAX];
  sc_layout back;
  int n = sc_layout_encode(l, buf, sizeof buf);
  assert_true(n > 0);
  sc_layout_decode(buf, (size_t)n, &back);
  assert_true(sc_layout_equal(l, &back));
}

static void round_trip_every_op_type(void **state) {
  (void)state;
  sc_layout l = make(SC_LAYOUT_SEQPACKET, 1);
  sc_layout_op *op = add(&l, SC_OP_SEND, 1);
  op->iov.count = 3;
  op->iov.nseg = 3;
  op->iov.seg[0].len = 5;
  op->iov.seg[1].len = 7;
  op->iov.seg[1].null_base = 1;
  op->iov.seg[2].len = 0;
  op->name = SC_NAME_OVERSIZE;
  op->ctl = SC_CTL_RIGHTS;
  op->nfds = 3;
  op->flags = MSG_DONTWAIT | MSG_EOR;
  op->big = 1;
  op->seed = 200;
  op = add(&l, SC_OP_RECV, 0);
  op->iov.count = 2;
  op->iov.seg[0].len = 4096;
  op->ctl_len = 24;
  op->flags = MSG_PEEK | MSG_TRUNC | MSG_CMSG_CLOEXEC;
  op = add(&l, SC_OP_SHUTDOWN, 0);
  op->how = SHUT_RDWR;
  add(&l, SC_OP_CLOSE, 1);
  sc_layout norm = l;
  sc_layout_normalize(&norm);
  assert_true(sc_layout_equal(&norm, &l));
  assert_round_trip(&l);
}

static void round_trip_udp_max_iovecs(void **state) {
  (void)state;
  sc_layout l = make(SC_LAYOUT_UDP, 0);
  sc_layout_op *op = add(&l, SC_OP_SEND, 0);
  op->iov.count = SC_LAYOUT_MAX_IOV;
  op->iov.nseg = SC_LAYOUT_MAX_SEGS;
  for (unsigned i = 0; i < SC_LAYOUT_MAX_SEGS; i++) {
    op->iov.seg[i].len = (uint16_t)i;
  }
  sc_layout_normalize(&l);
  assert_int_equal(l.op[0].iov.count, SC_LAYOUT_MAX_IOV);
  assert_int_equal(sc_layout_iov_count(&l.op[0]), SC_LAYOUT_MAX_IOV);
  assert_round_trip(&l);
}

static void decode_empty_and_null(void **state) {
  (void)state;
  sc_layout l;
  sc_layout_decode(NULL, 0, &l);
  assert_int_equal(l.kind, SC_LAYOUT_STREAM);
  assert_int_equal(l.nonblock, 0);
  assert_int_equal(l.nops, 0);
  sc_layout_decode((const uint8_t *)"", 0, &l);
  assert_int_equal(l.nops, 0);
}

static void decode_edge_bytes(void **state) {
  (void)state;
  uint8_t buf[600];
  uint8_t enc[SC_LAYOUT_ENCODED_MAX];
  sc_layout l;
  sc_layout back;
  for (int fill = 0; fill < 3; fill++) {
    memset(buf, fill == 0 ? 0x00 : (fill == 1 ? 0xff : 0x5a), sizeof buf);
    for (size_t len = 0; len <= sizeof buf; len += 7) {
      sc_layout_decode(buf, len, &l);
      assert_true(l.nops <= SC_LAYOUT_MAX_OPS);
      assert_true(l.kind < SC_LAYOUT_KIND_COUNT);
      int n = sc_layout_encode(&l, enc, sizeof enc);
      assert_true(n > 0);
      sc_layout_decode(enc, (size_t)n, &back);
      assert_true(sc_layout_equal(&l, &back));
    }
  }
}

static void decode_reads_fields(void **state) {
  (void)state;
  /* udp, nonblocking, 1 op: SEND end 1, 1025 iovecs (0xff + u16), 1 shape of 3 bytes,
   * name, ctl, nfds, flags DONTWAIT|NOSIGNAL, big 0, seed 9 */
  const uint8_t in[] = {3, 1, 1, 0, 1, 0xff, 0x01, 0x04, 0, 3, 0, 0, 0, 0, 0, 0x03, 0, 9};
  sc_layout l;
  sc_layout_decode(in, sizeof in, &l);
  assert_int_equal(l.kind, SC_LAYOUT_UDP);
  assert_int_equal(l.nonblock, 1);
  assert_int_equal(l.nops, 1);
  assert_int_equal(l.op[0].type, SC_OP_SEND);
  assert_int_equal(l.op[0].end, 1);
  assert_int_equal(l.op[0].iov.count, 1025);
  assert_int_equal(l.op[0].iov.seg[0].len, 3);
  assert_int_equal(l.op[0].flags, MSG_DONTWAIT | MSG_NOSIGNAL);
  assert_int_equal(l.op[0].seed, 9);
  /* a count byte 0xc0..0xfe is a short count: (0xe5 - 0xc0) % 33 = 4 */
  const uint8_t small[] = {0, 0, 1, 1, 0, 0xe5, 0, 8, 0};
  sc_layout_decode(small, sizeof small, &l);
  assert_int_equal(l.op[0].type, SC_OP_RECV);
  assert_int_equal(l.op[0].iov.count, 4);
  assert_int_equal(l.op[0].iov.seg[0].len, 8);
  /* a count byte below 0xc0 is a tiny count (its low 2 bits); an even op-count byte below
   * 0xc0 means 2 ops, from 0xc0 on (byte - 0xc0) % 9 ops */
  const uint8_t tiny[] = {0, 0, 0x24, 1, 0, 0x27, 0, 8, 0};
  sc_layout_decode(tiny, sizeof tiny, &l);
  assert_int_equal(l.nops, 2);
  assert_int_equal(l.op[0].iov.count, 3);
  const uint8_t wide[] = {0, 0, 0xc8};
  sc_layout_decode(wide, sizeof wide, &l);
  assert_int_equal(l.nops, 8);
}

static void normalize_moves_ops_off_closed_ends(void **state) {
  (void)state;
  sc_layout l = make(SC_LAYOUT_STREAM, 0);
  add(&l, SC_OP_CLOSE, 0);
  add(&l, SC_OP_RECV, 0);
  add(&l, SC_OP_CLOSE, 0); /* moves to end 1: both closed now */
  add(&l, SC_OP_SEND, 1);  /* dropped */
  sc_layout_normalize(&l);
  assert_int_equal(l.nops, 3);
  assert_int_equal(l.op[1].end, 1);
  assert_int_equal(l.op[2].end, 1);
}

static void normalize_caps_send_totals(void **state) {
  (void)state;
  sc_layout l = make(SC_LAYOUT_DGRAM, 0);
  for (unsigned i = 0; i < SC_LAYOUT_MAX_OPS; i++) {
    sc_layout_op *op = add(&l, SC_OP_SEND, 0);
    op->iov.count = 1000;
    op->iov.seg[0].len = 4096;
    op->big = 1;
  }
  sc_layout_normalize(&l);
  size_t total = 0;
  for (unsigned i = 0; i < l.nops; i++) {
    assert_int_equal(l.op[i].big, 1);
    total += sc_layout_iov_total(&l.op[i]) - SC_LAYOUT_BIG_LEN;
  }
  assert_true(total <= SC_LAYOUT_MAX_TOTAL);
  assert_round_trip(&l);
}

static void normalize_stream_drops_big_and_udp_drops_more(void **state) {
  (void)state;
  sc_layout l = make(SC_LAYOUT_STREAM, 0);
  sc_layout_op *op = add(&l, SC_OP_SEND, 0);
  op->big = 1;
  sc_layout_normalize(&l);
  assert_int_equal(l.op[0].big, 0);
  l = make(SC_LAYOUT_UDP, 0);
  op = add(&l, SC_OP_SEND, 0);
  op->flags = MSG_MORE | MSG_EOR;
  sc_layout_normalize(&l);
  assert_int_equal(l.op[0].flags, MSG_EOR);
}

static void normalize_rights_send_cap(void **state) {
  (void)state;
  sc_layout l = make(SC_LAYOUT_STREAM, 0);
  sc_layout_op *op = add(&l, SC_OP_SEND, 0);
  op->iov.count = 100;
  op->iov.seg[0].len = 4000;
  op->ctl = SC_CTL_RIGHTS;
  op->nfds = 9; /* clamped to SC_LAYOUT_MAX_FDS */
  sc_layout_normalize(&l);
  assert_true(sc_layout_iov_total(&l.op[0]) <= SC_LAYOUT_MAX_RIGHTS_SEND);
  assert_int_equal(l.op[0].nfds, SC_LAYOUT_MAX_FDS);
}

static void encode_reports_short_buffer(void **state) {
  (void)state;
  sc_layout l = make(SC_LAYOUT_DGRAM, 0);
  add(&l, SC_OP_CLOSE, 0);
  uint8_t buf[8];
  assert_int_equal(sc_layout_encode(&l, buf, sizeof buf), 5); /* 3 header + type + end */
  assert_int_equal(sc_layout_encode(&l, buf, 5), 5);
  assert_int_equal(sc_layout_encode(&l, buf, 4), -ENOSPC);
  assert_int_equal(sc_layout_encode(&l, buf, 3), -ENOSPC);
  assert_int_equal(sc_layout_encode(&l, NULL, sizeof buf), -ENOSPC);
}

/* sc_layout_encoded_len is what encode writes, for every op type and count class; a buffer one
 * byte short is -ENOSPC and left untouched. */
static void encoded_len_matches_encode(void **state) {
  (void)state;
  static const uint16_t counts[] = {0, 3, 4, 32, 33, SC_LAYOUT_MAX_IOV};
  for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
    sc_layout l = make(SC_LAYOUT_SEQPACKET, 1);
    sc_layout_op *op = add(&l, SC_OP_SEND, 0);
    op->iov.count = counts[c];
    op->iov.nseg = counts[c] > 0 ? 3 : 1;
    op = add(&l, SC_OP_RECV, 1);
    op->iov.count = counts[c];
    op->iov.nseg = 1;
    op = add(&l, SC_OP_SHUTDOWN, 0);
    op->how = SHUT_WR;
    add(&l, SC_OP_CLOSE, 1);
    sc_layout_normalize(&l);
    uint8_t buf[SC_LAYOUT_ENCODED_MAX];
    int n = sc_layout_encode(&l, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal((size_t)n, sc_layout_encoded_len(&l));
    memset(buf, 0xaa, sizeof buf);
    assert_int_equal(sc_layout_encode(&l, buf, (size_t)n - 1), -ENOSPC);
    for (size_t i = 0; i < sizeof buf; i++) {
      assert_int_equal(buf[i], 0xaa);
    }
  }
  sc_layout empty = make(SC_LAYOUT_STREAM, 0);
  assert_int_equal(sc_layout_encoded_len(&empty), 3);
}

static void iov_builders(void **state) {
  (void)state;
  sc_layout l = make(SC_LAYOUT_DGRAM, 0);
  sc_layout_op *op = add(&l, SC_OP_SEND, 0);
  op->iov.count = 5;
  op->iov.nseg = 2;
  op->iov.seg[0].len = 3;
  op->iov.seg[1].len = 4;
  op->iov.seg[1].null_base = 1;
  op->big = 1;
  struct iovec v[8];
  assert_int_equal(sc_layout_send_iov(op, v, 8), 6);
  assert_non_null(v[0].iov_base);
  assert_null(v[1].iov_base);
  assert_int_equal(v[1].iov_len, 4);
  assert_int_equal(v[4].iov_len, 3);
  assert_int_equal(v[5].iov_len, SC_LAYOUT_BIG_LEN);
  assert_int_equal(sc_layout_iov_total(op), 3 * 3 + 2 * 4 + SC_LAYOUT_BIG_LEN);
  op = add(&l, SC_OP_RECV, 1);
  op->iov.count = 3;
  op->iov.seg[0].len = 10;
  uint8_t buf[25];
  assert_int_equal(sc_layout_recv_iov(op, buf, sizeof buf, v, 8), 2); /* third does not fit */
  assert_ptr_equal(v[1].iov_base, buf + 10);
}

/* A hand-built op that was never normalised, with nseg past SC_LAYOUT_MAX_SEGS: every reader
 * takes it as SC_LAYOUT_MAX_SEGS shapes and reads nothing past seg[] (the op is alone on the
 * heap, so ASan reports any read beyond it). */
static void unnormalised_nseg_reads_stay_in_seg(void **state) {
  (void)state;
  sc_layout_op *op = calloc(1, sizeof *op);
  assert_non_null(op);
  op->type = SC_OP_SEND;
  op->iov.count = 20;
  op->iov.nseg = 255;
  for (unsigned i = 0; i < SC_LAYOUT_MAX_SEGS; i++) {
    op->iov.seg[i].len = (uint16_t)(i + 1);
  }
  /* 20 iovecs over shapes 1..8: two full cycles (2 x 36) plus 1+2+3+4 */
  assert_int_equal(sc_layout_iov_total(op), 2 * 36 + 10);
  struct iovec v[32];
  assert_int_equal(sc_layout_send_iov(op, v, 32), 20);
  assert_int_equal(v[8].iov_len, 1);
  assert_int_equal(v[19].iov_len, 4);
  uint8_t buf[256];
  op->type = SC_OP_RECV;
  assert_int_equal(sc_layout_recv_iov(op, buf, sizeof buf, v, 32), 20);
  assert_int_equal(v[16].iov_len, 1);
  assert_ptr_equal(v[16].iov_base, buf + 2 * 36);
  free(op);
}

static void printer_writes_text(void **state) {
  (void)state;
  char out[4096];
  FILE *f = fmemopen(out, sizeof out, "w");
  assert_non_null(f);
  sc_layout l = make(SC_LAYOUT_UDP, 1);
  sc_layout_op *op = add(&l, SC_OP_SEND, 1);
  op->iov.count = 2;
  op->iov.seg[0].len = 5;
  op->ctl = SC_CTL_CREDS;
  op = add(&l, SC_OP_SHUTDOWN, 0);
  op->how = SHUT_WR;
  assert_int_equal(sc_layout_print(&l, f), 0);
  assert_int_equal(fclose(f), 0);
  assert_non_null(strstr(out, "udp nonblocking, 2 ops"));
  assert_non_null(strstr(out, "SEND"));
  assert_non_null(strstr(out, "ctl=creds"));
  assert_non_null(strstr(out, "SHUT_WR"));
  assert_string_equal(sc_layout_kind_name(99), "?");
}

/* Prints l into a string (fmemopen) and returns the printer's result. */
static int print_to(const sc_layout *l, char *out, size_t cap) {
  memset(out, 0, cap);
  FILE *f = fmemopen(out, cap - 1, "w");
  assert_non_null(f);
  int rc = sc_layout_print(l, f);
  assert_int_equal(fclose(f), 0);
  return rc;
}

static sc_layout_op *add_wide_send(sc_layout *l) {
  static const uint16_t lens[SC_LAYOUT_MAX_SEGS] = {4096, 1, 22, 333, 4444, 0, 65535, 7};
  sc_layout_op *op = add(l, SC_OP_SEND, 1);
  op->iov.count = SC_LAYOUT_MAX_IOV;
  op->iov.nseg = SC_LAYOUT_MAX_SEGS;
  for (unsigned i = 0; i < SC_LAYOUT_MAX_SEGS; i++) {
    op->iov.seg[i].len = lens[i];
    op->iov.seg[i].null_base = (i % 2 == 0);
  }
  op->big = 1;
  op->name = SC_NAME_NULL_LEN;
  op->ctl = SC_CTL_RIGHTS;
  op->nfds = 4;
  op->flags = MSG_DONTWAIT | MSG_NOSIGNAL | MSG_EOR | MSG_MORE;
  op->seed = 255;
  return op;
}

/* 1030 iovecs over 8 shapes: shapes 0-5 repeat 129 times, 6-7 128 times; plus the big iovec. */
#define WIDE_SEND_TOTAL "10585536"
#define WIDE_SEND_TEXT                                                              \
  "SEND     end=1 iov=1030x{NULL:4096,1,NULL:22,333,NULL:4444,0,NULL:65535,7}+big " \
  "total=" WIDE_SEND_TOTAL                                                          \
  " name=null-with-len ctl=rights(4 fds) flags=DONTWAIT|NOSIGNAL|EOR|MORE seed=255\n"

/* The printer's exact text: "%-8s" names, every field, every flag, out-of-range values. */
static void printer_exact_text(void **state) {
  (void)state;
  char out[4096];
  sc_layout l = make(SC_LAYOUT_UDP, 1);
  add_wide_send(&l);
  sc_layout_op *op = add(&l, SC_OP_RECV, 0);
  op->iov.count = 2;
  op->iov.seg[0].len = 8;
  op->ctl_len = SC_LAYOUT_MAX_CTL;
  op->flags = SC_LAYOUT_RECV_FLAGS;
  op = add(&l, SC_OP_SHUTDOWN, 1);
  op->how = SHUT_RDWR;
  add(&l, SC_OP_CLOSE, 0);
  add(&l, 9, 1); /* no such type: printed as "?" */
  add(&l, SC_OP_RECV, 1);
  assert_int_equal(print_to(&l, out, sizeof out), 0);
  assert_string_equal(out,
                      "layout: udp nonblocking, 6 ops\n"
                      "  [0] " WIDE_SEND_TEXT
                      "  [1] RECV     end=0 iov=2x{8} room=16 ctl_len=96 "
                      "flags=PEEK|TRUNC|WAITALL|DONTWAIT|CMSG_CLOEXEC\n"
                      "  [2] SHUTDOWN end=1 how=SHUT_RDWR\n"
                      "  [3] CLOSE    end=0\n"
                      "  [4] ?        end=1\n"
                      "  [5] RECV     end=1 iov=0x{0} room=0 ctl_len=0 flags=0\n");
  l = make(7, 0);
  assert_int_equal(print_to(&l, out, sizeof out), 0);
  assert_string_equal(out, "layout: ? blocking, 0 ops\n");
  l.nops = 1;
  l.op[0].type = SC_OP_CLOSE;
  assert_int_equal(print_to(&l, out, sizeof out), 0);
  assert_string_equal(out, "layout: ? blocking, 1 op\n  [0] CLOSE    end=0\n");
}

/* Text longer than the printer's own buffer comes out whole and in order; a stream that
 * cannot be written gives -EIO. */
static void printer_long_text_and_errors(void **state) {
  (void)state;
  char out[4096];
  char want[4096];
  sc_layout l = make(SC_LAYOUT_DGRAM, 0);
  size_t n =
      (size_t)snprintf(want, sizeof want, "layout: dgram blocking, %d ops\n", SC_LAYOUT_MAX_OPS);
  for (unsigned i = 0; i < SC_LAYOUT_MAX_OPS; i++) {
    add_wide_send(&l);
    n += (size_t)snprintf(want + n, sizeof want - n, "  [%u] %s", i, WIDE_SEND_TEXT);
  }
  assert_true(n > 1024 && n < sizeof want); /* layout.c prints through a 1024-byte buffer */
  assert_int_equal(print_to(&l, out, sizeof out), 0);
  assert_string_equal(out, want);
  FILE *ro = fopen("/dev/null", "r");
  assert_non_null(ro);
  assert_int_equal(sc_layout_print(&l, ro), -EIO);
  assert_int_equal(fclose(ro), 0);
}

/* sc_layout_format writes the printer's text, byte for byte, with a final NUL; the longest
 * layout fits SC_LAYOUT_TEXT_MAX; a buffer without room for the text and the NUL is -ENOSPC
 * and holds an empty string. */
static void format_is_the_printed_text(void **state) {
  (void)state;
  char out[4096];
  char text[SC_LAYOUT_TEXT_MAX];
  sc_layout l = make(SC_LAYOUT_DGRAM, 0);
  for (unsigned i = 0; i < SC_LAYOUT_MAX_OPS; i++) {
    add_wide_send(&l);
  }
  assert_int_equal(print_to(&l, out, sizeof out), 0);
  int n = sc_layout_format(&l, text, sizeof text);
  assert_int_equal(n, (int)strlen(out));
  assert_string_equal(text, out);
  assert_int_equal(sc_layout_format(&l, text, (size_t)n + 1), n);
  assert_string_equal(text, out);
  assert_int_equal(sc_layout_format(&l, text, (size_t)n), -ENOSPC);
  assert_string_equal(text, "");
  assert_int_equal(sc_layout_format(&l, text, 1), -ENOSPC);
  assert_int_equal(sc_layout_format(&l, text, 0), -ENOSPC);
  assert_int_equal(sc_layout_format(&l, NULL, sizeof text), -ENOSPC);
  l = make(7, 1);
  add(&l, 9, 1);
  assert_int_equal(sc_layout_format(&l, text, sizeof text), 49);
  assert_string_equal(text, "layout: ? nonblocking, 1 op\n  [0] ?        end=1\n");
}

/* Partial transfers: the trailer round-trips, is absent without small buffers (old encodings
 * stay byte for byte), is ignored on other kinds, and the normaliser caps what a send without
 * a reader may queue. */
static void pressure_trailer(void **state) {
  (void)state;
  char out[4096];
  uint8_t buf[SC_LAYOUT_ENCODED_MAX];
  sc_layout l = make(SC_LAYOUT_STREAM, 1);
  l.sndbuf = 1;
  sc_layout_op *op = add(&l, SC_OP_SEND, 0);
  op->iov.count = 16;
  op->iov.seg[0].len = 4000;
  op->peer = SC_PEER_READER;
  op->chunk = 3;
  op->pause = 5;
  op = add(&l, SC_OP_SEND, 0);
  op->iov.count = 1;
  op->iov.seg[0].len = 4000; /* no reader: capped to SC_LAYOUT_UNREAD_MAX */
  op = add(&l, SC_OP_RECV, 1);
  op->iov.count = 1;
  op->iov.seg[0].len = 4096;
  op->peer = SC_PEER_FILL; /* a fill has its writer */
  sc_layout_normalize(&l);
  assert_int_equal(l.op[0].iov.seg[0].len, 4000);
  assert_int_equal(l.op[1].iov.seg[0].len, 1000);
  assert_int_equal(l.op[2].peer, SC_PEER_WRITER | SC_PEER_FILL);
  assert_int_equal(sc_layout_sndbuf(&l), 8192);
  assert_int_equal(sc_layout_peer_chunk(&l.op[0]), 1024);
  assert_round_trip(&l);
  int n = sc_layout_encode(&l, buf, sizeof buf);
  assert_int_equal(n, (int)sc_layout_encoded_len(&l));
  assert_int_equal(buf[n - 3 * 3 - 2], 0xe5);
  assert_int_equal(print_to(&l, out, sizeof out), 0);
  assert_string_equal(out,
                      "layout: stream nonblocking, 3 ops, SO_SNDBUF 8192\n"
                      "  [0] SEND     end=0 iov=16x{4000} total=64000 name=none ctl=none flags=0 "
                      "seed=0 peer=reader chunk=1024 pause=500us\n"
                      "  [1] SEND     end=0 iov=1x{1000} total=1000 name=none ctl=none flags=0 "
                      "seed=0\n"
                      "  [2] RECV     end=1 iov=1x{4096} room=4096 ctl_len=0 flags=0 peer=fill "
                      "chunk=256 pause=0us\n");
  /* without small buffers: no trailer, and the peer fields go */
  l.sndbuf = 0;
  sc_layout_normalize(&l);
  assert_int_equal(l.op[0].peer, 0);
  n = sc_layout_encode(&l, buf, sizeof buf);
  assert_int_equal(n, (int)sc_layout_encoded_len(&l));
  assert_int_not_equal(buf[n - 1], 0xe5);
  /* a trailer on another kind is read and normalised away */
  l = make(SC_LAYOUT_DGRAM, 0);
  op = add(&l, SC_OP_SEND, 0);
  op->iov.count = 1;
  op->iov.seg[0].len = 10;
  n = sc_layout_encode(&l, buf, sizeof buf);
  buf[n] = 0xe5;
  buf[n + 1] = 1;
  buf[n + 2] = SC_PEER_READER;
  sc_layout back;
  sc_layout_decode(buf, (size_t)n + 5, &back);
  assert_true(sc_layout_equal(&l, &back));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_every_op_type),
      cmocka_unit_test(round_trip_udp_max_iovecs),
      cmocka_unit_test(decode_empty_and_null),
      cmocka_unit_test(decode_edge_bytes),
      cmocka_unit_test(decode_reads_fields),
      cmocka_unit_test(normalize_moves_ops_off_closed_ends),
      cmocka_unit_test(normalize_caps_send_totals),
      cmocka_unit_test(normalize_stream_drops_big_and_udp_drops_more),
      cmocka_unit_test(normalize_rights_send_cap),
      cmocka_unit_test(encode_reports_short_buffer),
      cmocka_unit_test(encoded_len_matches_encode),
      cmocka_unit_test(iov_builders),
      cmocka_unit_test(unnormalised_nseg_reads_stay_in_seg),
      cmocka_unit_test(printer_writes_text),
      cmocka_unit_test(printer_exact_text),
      cmocka_unit_test(printer_long_text_and_errors),
      cmocka_unit_test(format_is_the_printed_text),
      cmocka_unit_test(pressure_trailer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
