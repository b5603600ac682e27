/* Seed generator for corpus/msghdr and corpus/layout: builds each seed as a layout
 * by hand, normalises it, encodes it with sc_layout_encode and checks that it
 * decodes back to the same layout. Run through fuzz/tools/make_seeds.sh:
 *   make_seeds MSGHDR_DIR LAYOUT_DIR
 * Seeds are named after the behaviour ID they exercise (BEHAVIOURS.md). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sctest/layout.h"

static const char *g_dir;
static int g_count;

static sc_layout L(unsigned kind, unsigned nonblock) {
  sc_layout l;
  memset(&l, 0, sizeof l);
  l.kind = (uint8_t)kind;
  l.nonblock = (uint8_t)nonblock;
  return l;
}

static sc_layout_op *add(sc_layout *l, unsigned type, unsigned end) {
  if (l->nops >= SC_LAYOUT_MAX_OPS) {
    fprintf(stderr, "make_seeds: too many ops\n");
    exit(1);
  }
  sc_layout_op *op = &l->op[l->nops++];
  memset(op, 0, sizeof *op);
  op->type = (uint8_t)type;
  op->end = (uint8_t)end;
  op->iov.nseg = (type == SC_OP_SEND || type == SC_OP_RECV) ? 1 : 0;
  return op;
}

/* iovec list of count entries cycling over the given lengths (negative = NULL base) */
static void iov(sc_layout_op *op, unsigned count, unsigned nseg, ...) {
  va_list ap;
  va_start(ap, nseg);
  op->iov.count = (uint16_t)count;
  op->iov.nseg = (uint8_t)nseg;
  for (unsigned i = 0; i < nseg; i++) {
    int v = va_arg(ap, int);
    op->iov.seg[i].len = (uint16_t)(v < 0 ? -v : v);
    op->iov.seg[i].null_base = v < 0;
  }
  va_end(ap);
}

static sc_layout_op *send_(sc_layout *l, unsigned end, unsigned len) {
  sc_layout_op *op = add(l, SC_OP_SEND, end);
  iov(op, 1, 1, (int)len);
  op->seed = (uint8_t)(l->nops * 17);
  return op;
}

static sc_layout_op *recv_(sc_layout *l, unsigned end, unsigned room, int flags) {
  sc_layout_op *op = add(l, SC_OP_RECV, end);
  iov(op, 1, 1, (int)room);
  op->flags = flags;
  return op;
}

static void seed(const char *name, sc_layout l) {
  uint8_t buf[SC_LAYOUT_ENCODED_MAX];
  sc_layout back;
  sc_layout norm = l;
  sc_layout_normalize(&norm);
  if (!sc_layout_equal(&norm, &l)) {
    fprintf(stderr, "make_seeds: %s is not in normal form (check caps and ends)\n", name);
    exit(1);
  }
  int n = sc_layout_encode(&l, buf, sizeof buf);
  if (n < 0) {
    fprintf(stderr, "make_seeds: %s: encode failed\n", name);
    exit(1);
  }
  sc_layout_decode(buf, (size_t)n, &back);
  if (!sc_layout_equal(&back, &l)) {
    fprintf(stderr, "make_seeds: %s: decode(encode(x)) != x\n", name);
    exit(1);
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(buf, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0) {
    fprintf(stderr, "make_seeds: %s: %s\n", path, strerror(errno));
    exit(1);
  }
  g_count++;
}

static void msghdr_seeds(void) {
  sc_layout l;
  sc_layout_op *op;

  l = L(SC_LAYOUT_STREAM, 0);
  send_(&l, 0, 11);
  recv_(&l, 1, 64, 0);
  seed("SEND-1_stream_send_returns_count", l);

  l = L(SC_LAYOUT_STREAM, 0);
  op = add(&l, SC_OP_SEND, 0);
  iov(op, 3, 3, 5, 0, 7);
  recv_(&l, 1, 64, 0);
  seed("SEND-2_gather_three_iovecs", l);

  l = L(SC_LAYOUT_DGRAM, 1);
  op = add(&l, SC_OP_SEND, 1);
  iov(op, 64, 4, 1, 0, 3, 16);
  recv_(&l, 0, 4096, 0);
  seed("SEND-2_dgram_gather_64_iovecs", l);

  l = L(SC_LAYOUT_UDP, 0);
  op = send_(&l, 0, 15);
  op->name = SC_NAME_VALID;
  recv_(&l, 1, 256, 0);
  seed("SEND-3_udp_msg_name_valid", l);

  l = L(SC_LAYOUT_UDP, 1);
  op = send_(&l, 0, 15);
  op->name = SC_NAME_SHORT;
  op = send_(&l, 0, 15);
  op->name = SC_NAME_OVERSIZE;
  recv_(&l, 1, 256, 0);
  seed("SEND-3_udp_short_and_oversize_namelen", l);

  l = L(SC_LAYOUT_STREAM, 1);
  op = send_(&l, 0, 5);
  op->name = SC_NAME_VALID;
  op = send_(&l, 0, 5);
  op->name = SC_NAME_NULL_LEN;
  recv_(&l, 1, 64, 0);
  seed("SEND-3_stream_name_eisconn_null_name_ok", l);

  l = L(SC_LAYOUT_DGRAM, 0);
  op = send_(&l, 0, 5);
  op->name = SC_NAME_VALID;
  op = send_(&l, 0, 5);
  op->name = SC_NAME_SHORT;
  op = add(&l, SC_OP_SEND, 1);
  iov(op, 1, 1, 3);
  op->name = SC_NAME_OVERSIZE;
  seed("SEND-3_dgram_name_einval", l);

  l = L(SC_LAYOUT_SEQPACKET, 0);
  op = send_(&l, 0, 5);
  op->name = SC_NAME_VALID;
  recv_(&l, 1, 64, 0);
  seed("SEND-3_seqpacket_name_ignored", l);

  l = L(SC_LAYOUT_DGRAM, 0);
  op = send_(&l, 0, 8);
  op->ctl = SC_CTL_RIGHTS;
  op->nfds = 2;
  op = recv_(&l, 1, 64, 0);
  op->ctl_len = 64;
  seed("SEND-4_dgram_rights_two_fds", l);

  l = L(SC_LAYOUT_STREAM, 0);
  send_(&l, 0, 10);
  op = send_(&l, 0, 6);
  op->ctl = SC_CTL_RIGHTS;
  op->nfds = 4;
  send_(&l, 0, 9);
  op = recv_(&l, 1, 100, 0);
  op->ctl_len = 64;
  recv_(&l, 1, 100, 0);
  seed("SEND-4_stream_fds_stop_the_read", l);

  l = L(SC_LAYOUT_SEQPACKET, 0);
  op = send_(&l, 1, 7);
  op->ctl = SC_CTL_CREDS;
  recv_(&l, 0, 64, 0);
  seed("SEND-4_seqpacket_own_credentials", l);

  l = L(SC_LAYOUT_UDP, 0);
  op = send_(&l, 0, 7);
  op->ctl = SC_CTL_RIGHTS;
  op->nfds = 1;
  op = recv_(&l, 1, 64, 0);
  op->ctl_len = 64;
  seed("SEND-4_udp_rights_ignored", l);

  l = L(SC_LAYOUT_STREAM, 1);
  op = send_(&l, 0, 100);
  op->flags = MSG_DONTWAIT | MSG_EOR | MSG_MORE;
  op = send_(&l, 0, 50);
  op->flags = MSG_NOSIGNAL;
  recv_(&l, 1, 4096, 0);
  seed("SEND-5_stream_flags_dontwait_eor_more", l);

  l = L(SC_LAYOUT_DGRAM, 0);
  op = send_(&l, 0, 100);
  op->flags = MSG_DONTWAIT | MSG_EOR;
  recv_(&l, 1, 4096, MSG_DONTWAIT);
  seed("SEND-5_dgram_flags", l);

  l = L(SC_LAYOUT_STREAM, 0);
  op = add(&l, SC_OP_SEND, 0);
  iov(op, 1025, 1, 1);
  op = add(&l, SC_OP_SEND, 0);
  iov(op, 1024, 1, 1);
  recv_(&l, 1, 2048, 0);
  seed("SEND-E_X-IOVMAX_1025_refused_1024_accepted", l);

  l = L(SC_LAYOUT_STREAM, 1);
  op = add(&l, SC_OP_SEND, 0);
  iov(op, 3, 3, 20, -8, 5);
  recv_(&l, 1, 64, 0);
  seed("SEND-E_stream_null_base_efault", l);

  l = L(SC_LAYOUT_DGRAM, 0);
  op = add(&l, SC_OP_SEND, 0);
  iov(op, 2, 2, -0, 9);
  op = add(&l, SC_OP_SEND, 0);
  iov(op, 2, 2, 9, -3);
  recv_(&l, 1, 64, 0);
  recv_(&l, 1, 64, 0);
  seed("SEND-E_dgram_null_base_zero_ok_nonzero_efault", l);

  l = L(SC_LAYOUT_STREAM, 0);
  send_(&l, 0, 300);
  op = add(&l, SC_OP_RECV, 1);
  iov(op, 1, 1, 300);
  seed("RECV-1_stream_recv_returns_count", l);

  l = L(SC_LAYOUT_STREAM, 0);
  send_(&l, 1, 40);
  op = add(&l, SC_OP_RECV, 0);
  iov(op, 4, 4, 3, 0, 10, 100);
  seed("RECV-2_scatter_four_iovecs", l);

  l = L(SC_LAYOUT_UDP, 0);
  send_(&l, 1, 11);
  recv_(&l, 0, 256, 0);
  send_(&l, 0, 11);
  recv_(&l, 1, 256, 0);
  seed("RECV-3_udp_one_datagram_with_sender", l);

  l = L(SC_LAYOUT_DGRAM, 0);
  send_(&l, 0, 100);
  recv_(&l, 1, 10, 0);
  seed("RECV-4_dgram_trunc", l);

  l = L(SC_LAYOUT_UDP, 1);
  send_(&l, 0, 100);
  recv_(&l, 1, 10, MSG_TRUNC | MSG_PEEK);
  recv_(&l, 1, 10, MSG_TRUNC);
  seed("RECV-4_udp_msg_trunc_returns_real_length", l);

  l = L(SC_LAYOUT_SEQPACKET, 0);
  send_(&l, 0, 30);
  recv_(&l, 1, 64, MSG_PEEK);
  recv_(&l, 1, 64, 0);
  seed("RECV-4_seqpacket_peek_then_read", l);

  l = L(SC_LAYOUT_STREAM, 0);
  send_(&l, 0, 30);
  recv_(&l, 1, 64, MSG_WAITALL);
  seed("RECV-4_stream_waitall_short", l);

  l = L(SC_LAYOUT_DGRAM, 0);
  send_(&l, 0, 0);
  send_(&l, 0, 5);
  recv_(&l, 1, 64, 0);
  recv_(&l, 1, 64, 0);
  seed("RECV-5_zero_length_datagram_is_a_message", l);

  l = L(SC_LAYOUT_STREAM, 0);
  send_(&l, 0, 5);
  add(&l, SC_OP_CLOSE, 0);
  recv_(&l, 1, 64, 0);
  recv_(&l, 1, 64, 0);
  seed("RECV-5_stream_peer_closed_reads_0", l);

  l = L(SC_LAYOUT_DGRAM, 1);
  recv_(&l, 0, 64, MSG_DONTWAIT);
  recv_(&l, 1, 64, 0);
  seed("RECV-E_empty_dontwait_eagain", l);

  l = L(SC_LAYOUT_SEQPACKET, 0);
  send_(&l, 0, 5);
  op = add(&l, SC_OP_RECV, 1);
  iov(op, 1025, 1, 1);
  recv_(&l, 1, 64, 0);
  seed("RECV-E_recv_1025_iovecs_emsgsize", l);

  l = L(SC_LAYOUT_STREAM, 0);
  send_(&l, 0, 6);
  send_(&l, 1, 6);
  recv_(&l, 1, 64, 0);
  recv_(&l, 0, 64, 0);
  seed("PAIR-2_full_duplex", l);

  l = L(SC_LAYOUT_STREAM, 1);
  send_(&l, 0, 6);
  recv_(&l, 0, 64, 0);
  recv_(&l, 1, 64, 0);
  seed("PAIR-3_own_end_reads_nothing", l);

  l = L(SC_LAYOUT_DGRAM, 0);
  send_(&l, 0, 3);
  send_(&l, 0, 4);
  send_(&l, 0, 5);
  recv_(&l, 1, 64, 0);
  recv_(&l, 1, 64, 0);
  recv_(&l, 1, 64, 0);
  seed("PAIR-5_dgram_keeps_boundaries", l);

  l = L(SC_LAYOUT_SEQPACKET, 1);
  send_(&l, 1, 3);
  send_(&l, 1, 4);
  recv_(&l, 0, 64, 0);
  recv_(&l, 0, 64, 0);
  seed("PAIR-5_seqpacket_keeps_boundaries", l);

  l = L(SC_LAYOUT_DGRAM, 0);
  send_(&l, 0, 7);
  send_(&l, 0, 7);
  recv_(&l, 1, 0, MSG_PEEK);
  recv_(&l, 1, 0, MSG_PEEK | MSG_TRUNC);
  recv_(&l, 1, 0, MSG_TRUNC);
  recv_(&l, 1, 0, 0);
  seed("X-ZLEN_dgram_zero_buffer_table", l);

  l = L(SC_LAYOUT_STREAM, 0);
  send_(&l, 0, 0);
  recv_(&l, 1, 64, 0);
  seed("X-ZSEND_stream_zero_send_nothing_queued", l);

  l = L(SC_LAYOUT_SEQPACKET, 0);
  send_(&l, 0, 0);
  recv_(&l, 1, 64, 0);
  seed("X-ZSEND_seqpacket_empty_record", l);

  l = L(SC_LAYOUT_SEQPACKET, 0);
  send_(&l, 0, 50);
  send_(&l, 0, 5);
  recv_(&l, 1, 20, 0);
  recv_(&l, 1, 64, 0);
  seed("X-SEQTRUNC_short_read_drops_rest", l);

  l = L(SC_LAYOUT_DGRAM, 0);
  op = send_(&l, 0, 4);
  op->ctl = SC_CTL_RIGHTS;
  op->nfds = 3;
  recv_(&l, 1, 64, 0);
  op = send_(&l, 0, 4);
  op->ctl = SC_CTL_RIGHTS;
  op->nfds = 3;
  op = recv_(&l, 1, 64, 0);
  op->ctl_len = 24;
  seed("X-CTRUNC_no_room_and_partial_room", l);

  l = L(SC_LAYOUT_SEQPACKET, 0);
  op = send_(&l, 0, 4);
  op->ctl = SC_CTL_BAD_FD;
  op = send_(&l, 0, 4);
  op->ctl = SC_CTL_LEN_SMALL;
  op = send_(&l, 0, 4);
  op->ctl = SC_CTL_LEN_PAST_END;
  recv_(&l, 1, 64, 0);
  seed("X-CMSG-E_bad_fd_and_bad_cmsg_len", l);

  l = L(SC_LAYOUT_STREAM, 0);
  op = send_(&l, 0, 4);
  op->ctl = SC_CTL_RIGHTS;
  op->nfds = 1;
  op = recv_(&l, 1, 64, MSG_CMSG_CLOEXEC | MSG_PEEK);
  op->ctl_len = 32;
  op = recv_(&l, 1, 64, 0);
  op->ctl_len = 32;
  seed("X-CLOEXEC_cmsg_cloexec_then_plain", l);

  l = L(SC_LAYOUT_STREAM, 0);
  add(&l, SC_OP_CLOSE, 1);
  send_(&l, 0, 5);
  send_(&l, 0, 0);
  seed("X-PEERCLOSE_stream_epipe", l);

  l = L(SC_LAYOUT_DGRAM, 0);
  add(&l, SC_OP_CLOSE, 1);
  send_(&l, 0, 5);
  send_(&l, 0, 5);
  seed("X-PEERCLOSE_dgram_econnrefused_then_enotconn", l);

  l = L(SC_LAYOUT_SEQPACKET, 0);
  send_(&l, 0, 5);
  send_(&l, 1, 5);
  add(&l, SC_OP_CLOSE, 1);
  recv_(&l, 0, 64, 0);
  recv_(&l, 0, 64, 0);
  recv_(&l, 0, 64, 0);
  seed("X-PEERCLOSE_seqpacket_reset_then_data_then_eof", l);

  l = L(SC_LAYOUT_UDP, 1);
  add(&l, SC_OP_CLOSE, 1);
  send_(&l, 0, 5);
  send_(&l, 0, 5);
  recv_(&l, 0, 64, 0);
  seed("X-PEERCLOSE_udp_icmp_refused", l);

  l = L(SC_LAYOUT_STREAM, 0);
  send_(&l, 0, 5);
  op = add(&l, SC_OP_SHUTDOWN, 0);
  op->how = SHUT_WR;
  send_(&l, 0, 5);
  recv_(&l, 1, 64, 0);
  recv_(&l, 1, 64, 0);
  send_(&l, 1, 5);
  recv_(&l, 0, 64, 0);
  seed("X-SHUT_wr_epipe_data_then_eof", l);

  l = L(SC_LAYOUT_DGRAM, 0);
  op = add(&l, SC_OP_SHUTDOWN, 1);
  op->how = SHUT_RD;
  send_(&l, 0, 5);
  send_(&l, 1, 5);
  recv_(&l, 0, 64, 0);
  seed("X-SHUT_dgram_peer_shut_rd_epipe", l);

  l = L(SC_LAYOUT_STREAM, 0);
  recv_(&l, 1, 64, MSG_WAITALL | MSG_DONTWAIT);
  seed("X-WAITALL_dontwait_empty_eagain", l);

  l = L(SC_LAYOUT_DGRAM, 0);
  op = send_(&l, 0, 10);
  op->big = 1;
  recv_(&l, 1, 64, 0);
  seed("X-DGRAMBIG_dgram_emsgsize", l);

  l = L(SC_LAYOUT_UDP, 0);
  op = add(&l, SC_OP_SEND, 0);
  iov(op, 16, 1, 4094);
  op = send_(&l, 0, 1);
  op->big = 1;
  recv_(&l, 1, 64, 0);
  seed("X-DGRAMBIG_udp_emsgsize", l);

  l = L(SC_LAYOUT_SEQPACKET, 0);
  send_(&l, 0, 5);
  recv_(&l, 1, 2, 0);
  send_(&l, 0, 5);
  recv_(&l, 1, 64, 0);
  seed("X-FLAGS_msg_flags_set_afresh", l);
}

static void layout_seeds(void) {
  sc_layout l = L(SC_LAYOUT_STREAM, 0);
  seed("empty_layout", l);
  l = L(SC_LAYOUT_UDP, 1);
  sc_layout_op *op = add(&l, SC_OP_SEND, 1);
  iov(op, 1030, 8, 1, -2, 0, 3, 4, -0, 6, 7);
  op->name = SC_NAME_OVERSIZE;
  op->ctl = SC_CTL_CREDS;
  op->flags = MSG_DONTWAIT | MSG_NOSIGNAL | MSG_EOR;
  op->big = 1;
  op = add(&l, SC_OP_RECV, 0);
  iov(op, 7, 2, 4096, 0);
  op->ctl_len = SC_LAYOUT_MAX_CTL;
  op->flags = SC_LAYOUT_RECV_FLAGS;
  seed("all_fields_set", l);
  l = L(SC_LAYOUT_SEQPACKET, 0);
  add(&l, SC_OP_CLOSE, 0);
  op = add(&l, SC_OP_SHUTDOWN, 1);
  op->how = SHUT_RDWR;
  add(&l, SC_OP_CLOSE, 1);
  seed("both_ends_closed", l);
  l = L(SC_LAYOUT_DGRAM, 0);
  for (unsigned i = 0; i < SC_LAYOUT_MAX_OPS; i++) {
    op = add(&l, SC_OP_SEND, i & 1);
    iov(op, 1000, 1, 8);
  }
  seed("send_totals_capped", l);
}

/* Partial transfers: stream layouts with small send buffers and a peer thread. The gather
 * lists' lengths (3000, 4000, 1500, 2500, 777, 3333, 1234, 1800) divide no multiple (up to 8)
 * of the kernel's stream skb sizes (SO_SNDBUF / 2 - 64: 8128, 16320, 32704), so no seed's
 * short write ends exactly at an iovec boundary, and no seed sends descriptors with small
 * buffers: the bugs of fuzz/bite/SENDALL_BOUNDARY and SENDALL_CONTROL need a mutation. */
static void pressure_seeds(void) {
  static const unsigned lens[] = {3000, 4000, 1500, 2500, 777, 3333, 1234, 1800};
  char name[128];
  sc_layout l;
  sc_layout_op *op;
  unsigned n = 0;
  /* the largest class (64 KiB in the kernel) takes most sends in one call: used below only */
  static const uint8_t classes[] = {1, 2, 1, 2, 1};
  for (unsigned c = 0; c < sizeof classes; c++) {
    unsigned sb = classes[c];
    for (unsigned k = 0; k < sizeof lens / sizeof lens[0]; k++, n++) {
      /* nonblocking: short writes resumed by sc_send_all through its waits */
      unsigned len = lens[k];
      unsigned count = 62000u / len;
      l = L(SC_LAYOUT_STREAM, 1);
      l.sndbuf = (uint8_t)sb;
      op = add(&l, SC_OP_SEND, n & 1u);
      iov(op, count, 1, (int)len);
      op->seed = (uint8_t)(n * 7u);
      op->peer = SC_PEER_READER;
      op->chunk = (uint8_t)((n * 5u) % SC_LAYOUT_PEER_CHUNK_CLASSES);
      op->pause = (uint8_t)(n % (SC_LAYOUT_PEER_PAUSE_MAX + 1));
      send_(&l, n & 1u, 100);
      recv_(&l, (n & 1u) ^ 1u, 256, 0);
      snprintf(name, sizeof name, "X-PARTIAL_nonblock_sndbuf%d_send_%ux%u_reader_%u",
               sc_layout_sndbuf(&l), count, len, c);
      seed(name, l);
      /* the same with two shapes, a zero-length one between, and MSG_DONTWAIT on a blocking pair */
      l = L(SC_LAYOUT_STREAM, k & 1u);
      l.sndbuf = (uint8_t)sb;
      op = add(&l, SC_OP_SEND, 0);
      iov(op, 3 * (62000u / (len + lens[(k + 3) % 8])), 3, (int)len, 0, (int)lens[(k + 3) % 8]);
      op->flags = MSG_DONTWAIT;
      op->seed = (uint8_t)(n * 11u);
      op->peer = SC_PEER_READER;
      op->chunk = (uint8_t)((n * 3u + 1u) % SC_LAYOUT_PEER_CHUNK_CLASSES);
      op->pause = (uint8_t)((n + 3u) % (SC_LAYOUT_PEER_PAUSE_MAX + 1));
      sc_layout_normalize(&l);
      snprintf(name, sizeof name, "X-PARTIAL_dontwait_sndbuf%d_send_%u+0+%u_reader_%u",
               sc_layout_sndbuf(&l), l.op[0].iov.seg[0].len, l.op[0].iov.seg[2].len, c);
      seed(name, l);
      /* sc_recv_fill on a nonblocking pair: waits for the writer's bytes */
      l = L(SC_LAYOUT_STREAM, 1);
      l.sndbuf = (uint8_t)sb;
      send_(&l, 0, 200);
      op = recv_(&l, 1, 0, 0);
      iov(op, 4, 2, (int)(len < 4000 ? len : 3999), 555);
      op->peer = SC_PEER_WRITER | SC_PEER_FILL;
      op->chunk = (uint8_t)((n * 7u) % SC_LAYOUT_PEER_CHUNK_CLASSES);
      op->pause = (uint8_t)((n + 1u) % (SC_LAYOUT_PEER_PAUSE_MAX + 1));
      sc_layout_normalize(&l);
      snprintf(name, sizeof name, "X-WAITALL_fill_nonblock_sndbuf%d_room_%zu_writer_%u",
               sc_layout_sndbuf(&l), sc_layout_iov_total(&l.op[1]), c);
      seed(name, l);
    }
  }
  /* descriptors with small buffers, in sends that fit the room: one call each (a larger
   * gather list, one mutation away, is short and resumed) */
  for (unsigned k = 0; k < 8; k++) {
    l = L(SC_LAYOUT_STREAM, 1);
    l.sndbuf = 1;
    op = add(&l, SC_OP_SEND, k & 1u);
    iov(op, 20, k < 4 ? 1u : 2u, (int)(40 + k * 3), 0);
    op->ctl = SC_CTL_RIGHTS;
    op->nfds = (uint8_t)(1 + k % SC_LAYOUT_MAX_FDS);
    op->seed = (uint8_t)(k * 13u);
    op->peer = SC_PEER_READER;
    op->chunk = (uint8_t)(k * 7u);
    op->pause = (uint8_t)(k % 3u);
    send_(&l, k & 1u, 64);
    recv_(&l, (k & 1u) ^ 1u, 128, 0);
    sc_layout_normalize(&l);
    snprintf(name, sizeof name, "X-PARTIAL_rights_nonblock_sndbuf8192_send_%zu_reader_%u",
             sc_layout_iov_total(&l.op[0]), k);
    seed(name, l);
  }
  /* blocking: the send waits in the kernel for its reader; MSG_WAITALL for its writer */
  for (unsigned k = 0; k < 4; k++) {
    l = L(SC_LAYOUT_STREAM, 0);
    l.sndbuf = (uint8_t)(1 + k % 3);
    op = add(&l, SC_OP_SEND, 1);
    iov(op, 20, 1, (int)lens[k]);
    op->peer = SC_PEER_READER;
    op->chunk = (uint8_t)(k * 9u);
    op->pause = (uint8_t)(k * 2u);
    send_(&l, 0, 300);
    op = recv_(&l, 1, 0, MSG_WAITALL);
    iov(op, 3, 1, (int)lens[k + 4]);
    op->peer = SC_PEER_WRITER;
    op->chunk = (uint8_t)(k * 4u);
    op->pause = (uint8_t)(k * 3u);
    op = recv_(&l, 0, 0, 0);
    iov(op, 1, 1, 4096);
    op->peer = SC_PEER_WRITER | SC_PEER_FILL;
    op->chunk = (uint8_t)k;
    sc_layout_normalize(&l);
    snprintf(name, sizeof name, "X-WAITALL_blocking_sndbuf%d_reader_waitall_fill",
             sc_layout_sndbuf(&l));
    seed(name, l);
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MSGHDR_DIR LAYOUT_DIR\n", argv[0]);
    return 2;
  }
  g_dir = argv[1];
  msghdr_seeds();
  pressure_seeds();
  printf("make_seeds: %d seeds in %s\n", g_count, g_dir);
  g_count = 0;
  g_dir = argv[2];
  layout_seeds();
  printf("make_seeds: %d seeds in %s\n", g_count, g_dir);
  return 0;
}
