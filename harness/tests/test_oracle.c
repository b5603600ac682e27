/* Unit tests for oracle.c: each test states a row of BEHAVIOURS.md (the Linux
 * result column) and checks the oracle predicts exactly that. Expected values
 * come from BEHAVIOURS.md, never from the oracle's code. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "sctest/kfacts.h"
#include "sctest/layout.h"
#include "sctest/oracle.h"

static sc_oracle g_m;

static sc_layout_op op_send(unsigned end, unsigned len) {
  sc_layout_op op;
  memset(&op, 0, sizeof op);
  op.type = SC_OP_SEND;
  op.end = (uint8_t)end;
  op.iov.count = 1;
  op.iov.nseg = 1;
  op.iov.seg[0].len = (uint16_t)len;
  return op;
}

static sc_layout_op op_recv(unsigned end, unsigned room, int flags) {
  sc_layout_op op = op_send(end, room);
  op.type = SC_OP_RECV;
  op.flags = flags;
  return op;
}

static sc_layout_op op_simple(unsigned type, unsigned end, unsigned how) {
  sc_layout_op op;
  memset(&op, 0, sizeof op);
  op.type = (uint8_t)type;
  op.end = (uint8_t)end;
  op.how = (uint8_t)how;
  return op;
}

/* Predicts, then commits the predicted outcome (success if allowed, else the
 * first error), as a kernel following the documented semantics would. */
static sc_oracle_expect step(const sc_layout_op *op) {
  sc_oracle_expect ex;
  sc_oracle_predict(&g_m, op, &ex);
  ssize_t ret = ex.ok ? ex.ret : -(ssize_t)ex.errs[0];
  sc_oracle_commit(&g_m, op, &ex, ret, 0);
  return ex;
}

static void assert_err(const sc_oracle_expect *ex, int err) {
  assert_false(ex->ok);
  assert_int_equal(ex->nerr, 1);
  assert_int_equal(ex->errs[0], err);
}

static void assert_ok(const sc_oracle_expect *ex, ssize_t ret, int msg_flags) {
  assert_true(ex->ok);
  assert_int_equal(ex->nerr, 0);
  assert_int_equal(ex->ret, ret);
  assert_int_equal(ex->msg_flags, msg_flags);
}

/* X-IOVMAX / SEND-E: 1024 iovecs accepted, 1025 -> EMSGSIZE. */
static void iov_max(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_STREAM, false);
  sc_layout_op op = op_send(0, 1);
  op.iov.count = 1024;
  sc_oracle_expect ex = step(&op);
  assert_ok(&ex, 1024, 0);
  op.iov.count = 1025;
  ex = step(&op);
  assert_err(&ex, EMSGSIZE);
}

/* SEND-E: NULL base with nonzero length -> EFAULT; a datagram is then not sent. */
static void null_base_efault(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_DGRAM, true);
  sc_layout_op op = op_send(0, 4);
  op.iov.seg[0].null_base = 1;
  sc_oracle_expect ex = step(&op);
  assert_err(&ex, EFAULT);
  sc_layout_op r = op_recv(1, 64, 0);
  ex = step(&r);
  assert_err(&ex, EAGAIN);
  /* NULL base with length 0 is fine */
  op.iov.seg[0].len = 0;
  ex = step(&op);
  assert_ok(&ex, 0, 0);
}

/* X-ZSEND: stream ret 0 and nothing to read (EAGAIN); dgram ret 0 and one empty message. */
static void zero_length_sends(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_STREAM, true);
  sc_layout_op s = op_send(0, 0);
  sc_layout_op r = op_recv(1, 64, 0);
  sc_oracle_expect ex = step(&s);
  assert_ok(&ex, 0, 0);
  ex = step(&r);
  assert_err(&ex, EAGAIN);
  sc_oracle_init(&g_m, SC_LAYOUT_DGRAM, true);
  ex = step(&s);
  assert_ok(&ex, 0, 0);
  ex = step(&r);
  assert_ok(&ex, 0, 0); /* RECV-5: a zero-length datagram is a message */
  ex = step(&r);
  assert_err(&ex, EAGAIN);
}

/* X-ZLEN: zero-length receive on a datagram pair (7-byte message queued). */
static void zero_length_receive_table(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_DGRAM, true);
  sc_layout_op s = op_send(0, 7);
  step(&s);
  sc_layout_op r = op_recv(1, 0, MSG_PEEK); /* MSG_PEEK: ret 0, not consumed */
  sc_oracle_expect ex = step(&r);
  assert_ok(&ex, 0, MSG_TRUNC);
  r.flags = MSG_PEEK | MSG_TRUNC; /* real length, not consumed */
  ex = step(&r);
  assert_ok(&ex, 7, MSG_TRUNC);
  r.flags = MSG_TRUNC; /* real length, consumed */
  ex = step(&r);
  assert_ok(&ex, 7, MSG_TRUNC);
  assert_int_equal(sc_oracle_queued_msgs(&g_m, 1), 0);
  step(&s);
  r.flags = 0; /* flags 0: ret 0, consumed, MSG_TRUNC */
  ex = step(&r);
  assert_ok(&ex, 0, MSG_TRUNC);
  assert_int_equal(sc_oracle_queued_msgs(&g_m, 1), 0);
}

/* RECV-4: datagram larger than the buffer: buffer's size + MSG_TRUNC; MSG_TRUNC flag:
 * the real length. */
static void recv_trunc(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_UDP, true);
  sc_layout_op s = op_send(0, 100);
  step(&s);
  step(&s);
  sc_layout_op r = op_recv(1, 10, 0);
  sc_oracle_expect ex = step(&r);
  assert_ok(&ex, 10, MSG_TRUNC);
  assert_int_equal(ex.nbytes, 10);
  r.flags = MSG_TRUNC;
  ex = step(&r);
  assert_ok(&ex, 100, MSG_TRUNC);
  assert_int_equal(ex.nbytes, 10);
}

/* X-SEQTRUNC and PAIR-5: a seqpacket short read returns the buffer size with
 * MSG_TRUNC and drops the rest of the record; the next read gets the next record. */
static void seqpacket_truncation(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_SEQPACKET, false);
  sc_layout_op a = op_send(0, 50);
  sc_layout_op b = op_send(0, 5);
  step(&a);
  step(&b);
  sc_layout_op r = op_recv(1, 20, 0);
  sc_oracle_expect ex = step(&r);
  assert_ok(&ex, 20, MSG_TRUNC);
  r.iov.seg[0].len = 64;
  ex = step(&r);
  assert_ok(&ex, 5, 0);
}

/* PAIR-5 on a stream is not promised: a stream read merges sends. */
static void stream_merges_sends(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_STREAM, false);
  sc_layout_op s = op_send(0, 3);
  step(&s);
  step(&s);
  sc_layout_op r = op_recv(1, 64, 0);
  sc_oracle_expect ex = step(&r);
  assert_ok(&ex, 6, 0);
}

/* X-CTRUNC: fds sent, receiver gives no control room: data arrives, no fds
 * installed, MSG_CTRUNC. */
static void ctrunc(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_DGRAM, false);
  sc_layout_op s = op_send(0, 4);
  s.ctl = SC_CTL_RIGHTS;
  s.nfds = 2;
  step(&s);
  sc_layout_op r = op_recv(1, 64, 0);
  sc_oracle_expect ex = step(&r);
  assert_ok(&ex, 4, MSG_CTRUNC);
  assert_int_equal(ex.nfds, 2);
  assert_int_equal(ex.nfds_installed, 0);
  /* enough room: both installed, no MSG_CTRUNC */
  step(&s);
  r.ctl_len = 64;
  ex = step(&r);
  assert_ok(&ex, 4, 0);
  assert_int_equal(ex.nfds_installed, 2);
}

/* X-CMSG-E: SCM_RIGHTS with a bad fd -> EBADF; cmsg_len smaller than a header -> EINVAL. */
static void cmsg_errors(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_SEQPACKET, false);
  sc_layout_op s = op_send(0, 4);
  s.ctl = SC_CTL_BAD_FD;
  sc_oracle_expect ex = step(&s);
  assert_err(&ex, EBADF);
  s.ctl = SC_CTL_LEN_SMALL;
  ex = step(&s);
  assert_err(&ex, EINVAL);
}

/* X-PEERCLOSE: send after the peer closed: stream, seqpacket EPIPE; dgram ECONNREFUSED. */
static void peer_close(void **state) {
  (void)state;
  const unsigned kinds[] = {SC_LAYOUT_STREAM, SC_LAYOUT_SEQPACKET, SC_LAYOUT_DGRAM};
  const int errs[] = {EPIPE, EPIPE, ECONNREFUSED};
  for (unsigned k = 0; k < 3; k++) {
    sc_oracle_init(&g_m, kinds[k], false);
    sc_layout_op c = op_simple(SC_OP_CLOSE, 1, 0);
    sc_oracle_expect ex = step(&c);
    assert_ok(&ex, 0, 0);
    sc_layout_op s = op_send(0, 5);
    ex = step(&s);
    assert_err(&ex, errs[k]);
  }
}

/* RECV-5: a closed stream peer gives 0 (after the data it sent). */
static void stream_eof(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_STREAM, false);
  sc_layout_op s = op_send(0, 5);
  step(&s);
  sc_layout_op c = op_simple(SC_OP_CLOSE, 0, 0);
  step(&c);
  sc_layout_op r = op_recv(1, 64, 0);
  sc_oracle_expect ex = step(&r);
  assert_ok(&ex, 5, 0);
  ex = step(&r);
  assert_ok(&ex, 0, 0);
}

/* X-SHUT: after shutdown(SHUT_WR) own sends -> EPIPE; queued data is still
 * delivered; the peer reads EOF (0). */
static void shut_wr(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_STREAM, true);
  sc_layout_op s = op_send(0, 5);
  step(&s);
  sc_layout_op sh = op_simple(SC_OP_SHUTDOWN, 0, SHUT_WR);
  sc_oracle_expect ex = step(&sh);
  assert_ok(&ex, 0, 0);
  ex = step(&s);
  assert_err(&ex, EPIPE);
  sc_layout_op r = op_recv(1, 64, 0);
  ex = step(&r);
  assert_ok(&ex, 5, 0);
  ex = step(&r);
  assert_ok(&ex, 0, 0);
}

/* X-WAITALL and RECV-E: MSG_WAITALL|MSG_DONTWAIT on an empty queue -> EAGAIN;
 * PAIR-3: the writer's own end reads nothing. */
static void empty_queue(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_STREAM, false);
  sc_layout_op r = op_recv(1, 64, MSG_WAITALL | MSG_DONTWAIT);
  sc_oracle_expect ex = step(&r);
  assert_err(&ex, EAGAIN);
  sc_layout_op s = op_send(0, 5);
  step(&s);
  r = op_recv(0, 64, 0);
  ex = step(&r);
  assert_err(&ex, EAGAIN);
  /* blocking socket: the call is made with MSG_DONTWAIT so the target never hangs */
  assert_true(ex.flags & MSG_DONTWAIT);
}

/* X-DGRAMBIG: a datagram larger than SO_SNDBUF -> EMSGSIZE (dgram and UDP). */
static void dgram_big(void **state) {
  (void)state;
  const unsigned kinds[] = {SC_LAYOUT_DGRAM, SC_LAYOUT_SEQPACKET, SC_LAYOUT_UDP};
  for (unsigned k = 0; k < 3; k++) {
    sc_oracle_init(&g_m, kinds[k], false);
    sc_layout_op s = op_send(0, 1);
    s.big = 1;
    sc_oracle_expect ex = step(&s);
    assert_err(&ex, EMSGSIZE);
  }
}

/* SEND-3: msg_name on a connected AF_UNIX stream -> EISCONN (Linux); UDP with
 * the peer's address sends. */
static void msg_name(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_STREAM, false);
  sc_layout_op s = op_send(0, 15);
  s.name = SC_NAME_VALID;
  sc_oracle_expect ex = step(&s);
  assert_err(&ex, EISCONN);
  sc_oracle_init(&g_m, SC_LAYOUT_UDP, false);
  ex = step(&s);
  assert_ok(&ex, 15, 0);
}

/* X-FLAGS: msg_flags is set afresh: 0 after a truncated read when nothing to report. */
static void flags_afresh(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_SEQPACKET, true);
  sc_layout_op s = op_send(0, 5);
  step(&s);
  step(&s);
  sc_layout_op r = op_recv(1, 2, 0);
  sc_oracle_expect ex = step(&r);
  assert_ok(&ex, 2, MSG_TRUNC);
  r.iov.seg[0].len = 64;
  ex = step(&r);
  assert_ok(&ex, 5, 0);
}

/* Partial transfers: a reader serves a stream send while the other end is open, and then
 * holds every queued byte; a writer serves MSG_WAITALL on a blocking stream (or a fill)
 * with the bytes missing, not where descriptors are queued or the peer cannot send; a
 * served fill returns the whole room across sends. */
static void peer_thread_rules(void **state) {
  (void)state;
  sc_oracle_init(&g_m, SC_LAYOUT_STREAM, false);
  sc_layout_op s = op_send(0, 100);
  s.peer = SC_PEER_READER;
  assert_true(sc_oracle_peer_serves(&g_m, &s));
  step(&s);
  step(&s);
  size_t len = 0;
  unsigned nfds = 9;
  const uint8_t *b = sc_oracle_stream_bytes(&g_m, 1, &len, &nfds);
  assert_int_equal(len, 200);
  assert_int_equal(nfds, 0);
  assert_non_null(b);
  sc_oracle_take_all(&g_m, 1);
  assert_int_equal(sc_oracle_queued_bytes(&g_m, 1), 0);

  sc_layout_op w = op_recv(1, 300, MSG_WAITALL);
  w.peer = SC_PEER_WRITER;
  step(&s); /* 100 queued at end 1 */
  assert_true(sc_oracle_peer_serves(&g_m, &w));
  assert_int_equal(sc_oracle_peer_missing(&g_m, &w), 200);
  static const uint8_t more[200];
  sc_oracle_peer_write(&g_m, 1, more, sizeof more);
  sc_oracle_expect ex = step(&w);
  assert_ok(&ex, 300, 0);
  assert_int_equal(ex.flags, MSG_WAITALL); /* waits: no MSG_DONTWAIT added */
  assert_int_equal(sc_oracle_queued_bytes(&g_m, 1), 0);

  sc_layout_op p = w;
  p.flags = MSG_WAITALL | MSG_PEEK;
  assert_false(sc_oracle_peer_serves(&g_m, &p));
  sc_layout_op f = op_recv(1, 50, 0);
  f.peer = SC_PEER_WRITER | SC_PEER_FILL;
  step(&s);
  step(&s);
  assert_true(sc_oracle_peer_serves(&g_m, &f));
  assert_int_equal(sc_oracle_peer_missing(&g_m, &f), 0);
  f.iov.seg[0].len = 150; /* across the two sends */
  ex = step(&f);
  assert_ok(&ex, 150, 0);
  assert_int_equal(sc_oracle_queued_bytes(&g_m, 1), 50);

  sc_layout_op r = s; /* descriptors queued at end 1: no writer there */
  r.ctl = SC_CTL_RIGHTS;
  r.nfds = 2;
  r.peer = 0;
  step(&r);
  assert_false(sc_oracle_peer_serves(&g_m, &f));
  b = sc_oracle_stream_bytes(&g_m, 1, &len, &nfds);
  assert_int_equal(len, 150);
  assert_int_equal(nfds, 2);
  sc_layout_op sh = op_simple(SC_OP_SHUTDOWN, 0, SHUT_WR);
  step(&sh);
  sc_oracle_take_all(&g_m, 1);
  assert_false(sc_oracle_peer_serves(&g_m, &f)); /* the peer cannot send any more */

  sc_oracle_init(&g_m, SC_LAYOUT_STREAM, true); /* nonblocking: MSG_WAITALL has no writer */
  assert_false(sc_oracle_peer_serves(&g_m, &w));
  assert_true(sc_oracle_peer_serves(&g_m, &f));
  sc_oracle_init(&g_m, SC_LAYOUT_DGRAM, false);
  assert_false(sc_oracle_peer_serves(&g_m, &s));
}

/* Kernel calibration (sctest/kfacts.h): the rules that depend on a kernel fact predict each
 * answer's behaviour when the model is given facts with that answer (docs/kernel-facts.md). */
static sc_kfacts g_kf;

static void init_with(unsigned kind, sc_kfact_id id, int answer) {
  g_kf = *sc_kfacts_get();
  g_kf.answer[id] = answer;
  sc_oracle_init(&g_m, kind, true);
  g_m.kf = &g_kf;
}

static void follows_kernel_facts(void **state) {
  (void)state;
  sc_layout_op close1 = op_simple(SC_OP_CLOSE, 1, 0);
  sc_layout_op s1 = op_send(0, 1);
  sc_oracle_expect ex;
  /* X-PEERCLOSE, dgram-peerclose: ECONNREFUSED, then ENOTCONN or ECONNREFUSED again */
  for (int a = 0; a < 2; a++) {
    init_with(SC_LAYOUT_DGRAM, SC_KF_DGRAM_PEERCLOSE, a);
    step(&close1);
    ex = step(&s1);
    assert_err(&ex, ECONNREFUSED);
    ex = step(&s1);
    assert_err(&ex, a == SC_KF_PEERCLOSE_REFUSED_ONCE ? ENOTCONN : ECONNREFUSED);
  }
  /* X-PEERCLOSE, seqpacket-reset-order: an oversized record with a reset pending */
  sc_layout_op big = op_send(0, 60000);
  big.iov.count = 4; /* 240000 > dgram-max (212960 with Linux's default buffers) */
  for (int a = 0; a < 2; a++) {
    init_with(SC_LAYOUT_SEQPACKET, SC_KF_SEQPACKET_RESET_ORDER, a);
    step(&s1);
    step(&close1);
    ex = step(&big);
    assert_err(&ex, a == SC_KF_RESET_FIRST ? ECONNRESET : EMSGSIZE);
  }
  /* X-PEERCLOSE, seqpacket-empty-reset: the peer closed with one empty record unread */
  sc_layout_op empty = op_send(0, 0);
  sc_layout_op r0 = op_recv(0, 8, 0);
  for (int a = 0; a < 2; a++) {
    init_with(SC_LAYOUT_SEQPACKET, SC_KF_SEQPACKET_EMPTY_RESET, a);
    step(&empty);
    step(&close1);
    ex = step(&r0);
    if (a == SC_KF_EMPTY_RESET_ANY) {
      assert_err(&ex, ECONNRESET);
    } else {
      assert_ok(&ex, 0, 0); /* end of file */
    }
  }
  /* RECV-4 / X-FLAGS, cloexec-echo: MSG_CMSG_CLOEXEC back in msg_flags or not */
  sc_layout_op r1 = op_recv(1, 8, MSG_CMSG_CLOEXEC);
  for (int a = 0; a < 2; a++) {
    init_with(SC_LAYOUT_STREAM, SC_KF_CLOEXEC_ECHO, a);
    step(&s1);
    ex = step(&r1);
    assert_ok(&ex, 1, a == SC_KF_ECHO_ECHOED ? MSG_CMSG_CLOEXEC : 0);
  }
  /* X-DGRAMBIG, dgram-max: the calibrated size limit, whatever the machine's default */
  for (unsigned k = SC_LAYOUT_DGRAM; k <= SC_LAYOUT_SEQPACKET; k++) {
    init_with(k, SC_KF_DGRAM_PEERCLOSE, sc_kfact(sc_kfacts_get(), SC_KF_DGRAM_PEERCLOSE));
    g_kf.dgram_max = 1000;
    sc_layout_op at = op_send(0, 1000);
    sc_layout_op over = op_send(0, 1001);
    ex = step(&at);
    assert_ok(&ex, 1000, 0);
    ex = step(&over);
    assert_err(&ex, EMSGSIZE);
  }
  /* SEND-4, stream-peek-fds: a 1-byte MSG_PEEK before a send that carries a descriptor */
  sc_layout_op with_fd = op_send(0, 1);
  with_fd.ctl = SC_CTL_RIGHTS;
  with_fd.nfds = 1;
  sc_layout_op peek = op_recv(1, 1, MSG_PEEK);
  peek.ctl_len = 64;
  for (int a = 0; a < 2; a++) {
    init_with(SC_LAYOUT_STREAM, SC_KF_STREAM_PEEK_FDS, a);
    step(&s1);
    step(&with_fd);
    ex = step(&peek);
    assert_true(ex.ok);
    assert_int_equal(ex.ret, 1);
    assert_int_equal(ex.nfds_installed, a == SC_KF_PEEK_WALKS ? 1 : 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(iov_max),
      cmocka_unit_test(null_base_efault),
      cmocka_unit_test(zero_length_sends),
      cmocka_unit_test(zero_length_receive_table),
      cmocka_unit_test(recv_trunc),
      cmocka_unit_test(seqpacket_truncation),
      cmocka_unit_test(stream_merges_sends),
      cmocka_unit_test(ctrunc),
      cmocka_unit_test(cmsg_errors),
      cmocka_unit_test(peer_close),
      cmocka_unit_test(stream_eof),
      cmocka_unit_test(shut_wr),
      cmocka_unit_test(empty_queue),
      cmocka_unit_test(dgram_big),
      cmocka_unit_test(msg_name),
      cmocka_unit_test(flags_afresh),
      cmocka_unit_test(peer_thread_rules),
      cmocka_unit_test(follows_kernel_facts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
