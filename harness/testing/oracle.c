/* The oracle: predicts each layout op's outcome on a model of the pair. Every
 * rule comment names the behaviour ID it enforces (count them per ID with grep). Check
 * orders were measured on Linux 6.18 with probes (kernel = reference); where kernels may
 * differ within the spec (KFACT in a rule comment) the rule follows the calibrated fact:
 *   stream:    cmsg (EBADF/EINVAL) > name (EISCONN) > SEND_SHUTDOWN (EPIPE) > EFAULT
 *   dgram:     cmsg > name (EINVAL) > size (EMSGSIZE) > own SHUT_WR (EPIPE) > EFAULT
 *              > peer closed (ECONNREFUSED once, then ENOTCONN: KFACT dgram-peerclose)
 *              > peer SHUT_RD (EPIPE)
 *   seqpacket: pending ECONNRESET (or after size: KFACT seqpacket-reset-order) > cmsg
 *              > size > SEND_SHUTDOWN (EPIPE) > EFAULT
 *   udp:       length > 65535 > name (EINVAL) > cmsg (EINVAL; SCM_RIGHTS ignored)
 *              > payload > 65507 (EMSGSIZE) > own SHUT_WR
 *              (EPIPE) > EFAULT; ECONNREFUSED may come at any call once the peer closed. */
#include "sctest/oracle.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "sockcheck/error.h"
#include "sockcheck/iov.h"
#include "sctest/nocov.h"

SC_NO_COVERAGE void sc_oracle_init(sc_oracle *m, unsigned kind, bool nonblock) {
  m->kf = sc_kfacts_get();
  m->kind = (uint8_t)(kind % SC_LAYOUT_KIND_COUNT);
  m->nonblock = nonblock ? 1 : 0;
  for (unsigned e = 0; e < 2; e++) {
    m->closed[e] = false;
    m->rd_shut[e] = false;
    m->wr_shut[e] = false;
    m->reset[e] = false;
    m->peer_gone[e] = 0;
    m->icmp[e] = false;
    m->q[e].used = 0;
    m->q[e].head = 0;
    m->q[e].count = 0;
  }
}

static void expect_clear(sc_oracle_expect *ex, int flags) {
  memset(ex, 0, sizeof *ex);
  ex->flags = flags;
  ex->rule = "?";
}

/* fail, succeed and the queue accessors are bookkeeping: out of coverage, the decisions that
 * call them are instrumented. */
SC_NO_COVERAGE static void fail(sc_oracle_expect *ex, int err, const char *rule) {
  if (ex->nerr < SC_ORACLE_MAX_ERRS) {
    ex->errs[ex->nerr++] = err;
  }
  if (!ex->ok && ex->nerr == 1) {
    ex->rule = rule;
  }
}

SC_NO_COVERAGE static void succeed(sc_oracle_expect *ex, ssize_t ret, const char *rule) {
  ex->ok = true;
  ex->ret = ret;
  if (ex->nerr == 0) {
    ex->rule = rule;
  }
}

static bool kfact_is(const sc_oracle *m, sc_kfact_id id, int answer) {
  return sc_kfact(m->kf, id) == answer;
}

static bool is_unix(const sc_oracle *m) {
  return m->kind != SC_LAYOUT_UDP;
}

static bool is_connected_kind(const sc_oracle *m) {
  return m->kind == SC_LAYOUT_STREAM || m->kind == SC_LAYOUT_SEQPACKET;
}

/* Offset of the first byte that cannot be read (NULL base, nonzero length), or
 * SIZE_MAX when the whole gather list is readable. */
static size_t fault_offset(const sc_layout_op *op) {
  /* iovec i has shape i % nseg, so the first faulting iovec is the first faulting
   * shape k (if k < count), preceded by shapes 0..k-1 once each */
  size_t off = 0;
  unsigned nseg = op->iov.nseg < 1 ? 1 : op->iov.nseg;
  for (unsigned k = 0; k < nseg && k < op->iov.count; k++) {
    const sc_layout_seg *s = &op->iov.seg[k];
    if (s->null_base && s->len > 0) {
      return off;
    }
    off += s->len;
  }
  return SIZE_MAX;
}

static void predict_send(const sc_oracle *m, const sc_layout_op *op, sc_oracle_expect *ex) {
  unsigned e = op->end;
  unsigned p = e ^ 1u;
  size_t n = sc_layout_iov_count(op);
  size_t total = sc_layout_iov_total(op);
  size_t fault = fault_offset(op);
  bool bad_cmsg_len = op->ctl == SC_CTL_LEN_SMALL || op->ctl == SC_CTL_LEN_PAST_END;
  bool named =
      op->name == SC_NAME_VALID || op->name == SC_NAME_SHORT || op->name == SC_NAME_OVERSIZE;

  if (n > SC_IOV_MAX) {
    fail(ex, EMSGSIZE, "X-IOVMAX"); /* RULE SEND-E: more than 1024 iovecs -> EMSGSIZE */
    return;                         /* RULE X-IOVMAX: 1024 accepted, 1025 refused */
  }
  if (m->kind == SC_LAYOUT_UDP) {
    if (m->icmp[e]) {
      /* RULE X-PEERCLOSE: UDP peer gone, the ICMP error may surface at any call */
      fail(ex, ECONNREFUSED, "X-PEERCLOSE");
    }
    if (total > 0xffff) {
      fail(ex, EMSGSIZE, "X-DGRAMBIG"); /* RULE X-DGRAMBIG: UDP length over 65535, checked first */
      return;
    }
    if (op->name == SC_NAME_SHORT) {
      fail(ex, EINVAL, "SEND-3"); /* RULE SEND-3: msg_namelen shorter than sockaddr_in */
      return;
    }
    if (bad_cmsg_len) {
      fail(ex, EINVAL, "X-CMSG-E"); /* RULE X-CMSG-E: malformed cmsg_len -> EINVAL (UDP too) */
      return;
    }
    if (total > SC_ORACLE_UDP_MAX) {
      /* RULE X-DGRAMBIG: UDP payload over 65507 (measured: after the cmsg checks) */
      fail(ex, EMSGSIZE, "X-DGRAMBIG");
      return;
    }
    if (m->wr_shut[e]) {
      fail(ex, EPIPE, "X-SHUT"); /* RULE X-SHUT: send after own SHUT_WR -> EPIPE */
      return;
    }
    if (fault != SIZE_MAX) {
      fail(ex, EFAULT, "SEND-E"); /* RULE SEND-E: NULL base, nonzero length -> EFAULT */
      return;
    }
    /* RULE SEND-1: returns the byte count; SEND-4: SCM_RIGHTS/CREDENTIALS ignored by UDP */
    /* RULE SEND-5: MSG_DONTWAIT, MSG_EOR, MSG_NOSIGNAL accepted (MSG_MORE not modelled on UDP) */
    succeed(ex, (ssize_t)total, "SEND-1");
    return;
  }

  bool reset_first = kfact_is(m, SC_KF_SEQPACKET_RESET_ORDER, SC_KF_RESET_FIRST);
  if (m->kind == SC_LAYOUT_SEQPACKET && m->reset[e] && reset_first) {
    /* RULE X-PEERCLOSE: seqpacket peer closed with unread data: the pending ECONNRESET
     * is reported once, before any other check (KFACT seqpacket-reset-order=reset-first) */
    fail(ex, ECONNRESET, "X-PEERCLOSE");
    return;
  }
  /* AF_UNIX: scm_send runs first. */
  if (bad_cmsg_len) {
    fail(ex, EINVAL, "X-CMSG-E"); /* RULE X-CMSG-E: cmsg_len too small or past the end */
    return;
  }
  if (op->ctl == SC_CTL_BAD_FD) {
    fail(ex, EBADF, "X-CMSG-E"); /* RULE X-CMSG-E: SCM_RIGHTS with a bad fd -> EBADF */
    return;
  }
  switch (m->kind) {
    case SC_LAYOUT_STREAM:
      if (named) {
        fail(ex, EISCONN, "SEND-3"); /* RULE SEND-3: msg_name on a connected stream -> EISCONN */
        return;
      }
      if (m->wr_shut[e]) {
        /* RULE X-PEERCLOSE: stream peer closed (or shut down reading) -> EPIPE, even for 0 bytes */
        /* RULE X-SHUT: own SHUT_WR -> EPIPE */
        fail(ex, EPIPE, m->closed[p] ? "X-PEERCLOSE" : "X-SHUT");
        return;
      }
      if (fault != SIZE_MAX) {
        /* RULE SEND-E: EFAULT part-way through a stream gather list: a prefix may be sent */
        fail(ex, EFAULT, "SEND-E");
        ex->sent_max = fault;
        return;
      }
      /* RULE SEND-2: the gathered bytes are sent in order */
      /* RULE SEND-5: MSG_DONTWAIT|MSG_EOR|MSG_MORE accepted on AF_UNIX (measured); sends are
       * capped below the buffer space, so MSG_DONTWAIT never yields EAGAIN here */
      /* RULE X-ZSEND: stream zero-length send returns 0, nothing queued */
      succeed(ex, (ssize_t)total, total == 0 ? "X-ZSEND" : "SEND-2");
      return;
    case SC_LAYOUT_DGRAM:
      if (named) {
        fail(ex, EINVAL, "SEND-3"); /* RULE SEND-3: msg_name naming no bound socket -> EINVAL */
        return;
      }
      if (total > (size_t)m->kf->dgram_max) {
        fail(
            ex, EMSGSIZE,
            "X-DGRAMBIG"); /* RULE X-DGRAMBIG: datagram over SO_SNDBUF-32 (calibrated: dgram-max) */
        return;
      }
      if (m->wr_shut[e]) {
        fail(ex, EPIPE, "X-SHUT"); /* RULE X-SHUT: dgram send after own SHUT_WR -> EPIPE */
        return;
      }
      if (fault != SIZE_MAX) {
        fail(ex, EFAULT, "SEND-E"); /* RULE SEND-E: EFAULT, the datagram is not sent */
        return;
      }
      if (m->peer_gone[e] == 1) {
        fail(ex, ECONNREFUSED, "X-PEERCLOSE"); /* RULE X-PEERCLOSE: dgram peer closed */
        return;
      }
      if (m->peer_gone[e] == 2) {
        /* RULE X-PEERCLOSE: after the first ECONNREFUSED the pair is disconnected: ENOTCONN */
        fail(ex, ENOTCONN, "X-PEERCLOSE");
        return;
      }
      if (m->rd_shut[p]) {
        fail(ex, EPIPE, "X-SHUT"); /* RULE X-SHUT: dgram peer did SHUT_RD -> EPIPE */
        return;
      }
      /* RULE X-ZSEND: a zero-length datagram is sent and queued as a message */
      succeed(ex, (ssize_t)total, total == 0 ? "X-ZSEND" : "SEND-1");
      return;
    case SC_LAYOUT_SEQPACKET:
      /* RULE SEND-3: msg_name (any length) is ignored on a connected seqpacket socket
       * (measured) */
      if (total > (size_t)m->kf->dgram_max) {
        fail(ex, EMSGSIZE, "X-DGRAMBIG"); /* RULE X-DGRAMBIG: seqpacket record over SO_SNDBUF-32 */
        return;
      }
      if (m->reset[e]) {
        /* RULE X-PEERCLOSE: the pending ECONNRESET after the cmsg and size checks
         * (KFACT seqpacket-reset-order=after-checks) */
        fail(ex, ECONNRESET, "X-PEERCLOSE");
        return;
      }
      if (m->wr_shut[e]) {
        /* RULE X-PEERCLOSE: seqpacket peer closed -> EPIPE */
        /* RULE X-SHUT: seqpacket own SHUT_WR or peer SHUT_RD -> EPIPE */
        fail(ex, EPIPE, m->closed[p] ? "X-PEERCLOSE" : "X-SHUT");
        return;
      }
      if (fault != SIZE_MAX) {
        fail(ex, EFAULT, "SEND-E"); /* RULE SEND-E: seqpacket EFAULT, record not sent */
        return;
      }
      succeed(ex, (ssize_t)total, total == 0 ? "X-ZSEND" : "SEND-1");
      return;
    default:
      return;
  }
}

/* Descriptor installation for nfds carried, with a control buffer of room bytes
 * (scm_detach_fds: as many as fit, MSG_CTRUNC if any is left out). */
static void install_fds(sc_oracle_expect *ex, unsigned nfds, size_t room) {
  ex->nfds = (uint8_t)nfds;
  if (nfds == 0) {
    return;
  }
  size_t fit = room >= sizeof(struct cmsghdr) ? (room - sizeof(struct cmsghdr)) / sizeof(int) : 0;
  size_t inst = fit < nfds ? fit : nfds;
  ex->nfds_installed = (uint8_t)inst;
  if (inst < nfds) {
    ex->msg_flags |= MSG_CTRUNC; /* RULE X-CTRUNC: fds sent, too little control room */
  }
  if (inst > 0) {
    size_t cm = CMSG_SPACE(inst * sizeof(int));
    ex->controllen = cm < room ? cm : room;
  }
}

static const sc_oracle_chunk *head_chunk(const sc_oracle_queue *q, unsigned i) {
  return &q->chunk[(q->head + i) % SC_ORACLE_MAX_CHUNKS];
}

/* Reading one message of a datagram kind. */
static void read_message(const sc_oracle *m, unsigned e, const sc_layout_op *op, size_t room,
                         sc_oracle_expect *ex) {
  const sc_oracle_queue *q = &m->q[e];
  const sc_oracle_chunk *c = head_chunk(q, 0);
  size_t got = c->len < room ? c->len : room;
  ex->bytes = q->data + c->off;
  ex->nbytes = got;
  if (c->len > room) {
    /* RULE RECV-4: a datagram larger than the buffer sets MSG_TRUNC in msg_flags */
    /* RULE X-SEQTRUNC: a seqpacket short read truncates the record */
    ex->msg_flags |= MSG_TRUNC;
  }
  /* RULE RECV-4: with the MSG_TRUNC flag the real length is returned */
  /* RULE X-ZLEN: zero-length buffer: 0 (or the real length with MSG_TRUNC) */
  ssize_t ret = (op->flags & MSG_TRUNC) ? (ssize_t)c->len : (ssize_t)got;
  install_fds(ex, c->nfds, op->ctl_len);
  /* RULE PAIR-5: one recv returns one message; RULE RECV-5: empty datagrams too */
  /* RULE RECV-1: the byte count of the message (or of the buffer, truncated) */
  const char *rule = c->len == 0 ? "RECV-5" : (c->len > room ? "RECV-4" : "PAIR-5");
  if (m->kind == SC_LAYOUT_SEQPACKET && c->len > room) {
    rule = "X-SEQTRUNC";
  }
  if (room == 0) {
    rule = "X-ZLEN";
  }
  if (ex->msg_flags & MSG_CTRUNC) {
    rule = "X-CTRUNC";
  }
  succeed(ex, ret, rule);
}

/* Reading a stream: across sends, stopping after the first chunk with fds. */
static void read_stream(const sc_oracle *m, unsigned e, const sc_layout_op *op, size_t room,
                        sc_oracle_expect *ex, bool *drained) {
  const sc_oracle_queue *q = &m->q[e];
  size_t copied = 0;
  unsigned fds = 0;
  *drained = false;
  ex->bytes = q->data + head_chunk(q, 0)->off + head_chunk(q, 0)->taken;
  for (unsigned i = 0; i < q->count; i++) {
    const sc_oracle_chunk *c = head_chunk(q, i);
    size_t avail = c->len - c->taken;
    size_t take = avail < room - copied ? avail : room - copied;
    copied += take;
    if (c->nfds > 0) {
      fds = c->nfds; /* RULE SEND-4: descriptors arrive with the bytes of their send */
      break;
    }
    if ((op->flags & MSG_PEEK) && kfact_is(m, SC_KF_STREAM_PEEK_FDS, SC_KF_PEEK_WALKS)) {
      /* RULE SEND-4: a stream MSG_PEEK keeps walking the queue after its buffer is full
       * (0-byte chunks) and dups the descriptors of the first send that carries some,
       * wherever it is (KFACT stream-peek-fds=walks, measured on 6.18) */
      continue;
    }
    if (take < avail || copied == room) {
      break;
    }
    if (i + 1 == q->count) {
      *drained = true;
    }
  }
  ex->nbytes = copied;
  install_fds(ex, fds, op->ctl_len);
  /* RULE RECV-2: the bytes fill the iovecs in order; RULE PAIR-2: byte-exact */
  succeed(ex, (ssize_t)copied, "RECV-2");
}

static void predict_recv_core(const sc_oracle *m, const sc_layout_op *op, sc_oracle_expect *ex) {
  unsigned e = op->end;
  const sc_oracle_queue *q = &m->q[e];
  size_t room = sc_layout_iov_total(op);
  if (sc_layout_iov_count(op) > SC_IOV_MAX) {
    fail(ex, EMSGSIZE, "RECV-E"); /* RULE RECV-E: more than 1024 iovecs -> EMSGSIZE */
    return;
  }
  switch (m->kind) {
    case SC_LAYOUT_STREAM:
      if (q->count > 0) {
        bool drained = false;
        read_stream(m, e, op, room, ex, &drained);
        if (drained && (op->flags & MSG_WAITALL) && ex->ret < (ssize_t)room && m->reset[e]) {
          ex->rule = "X-PEERCLOSE"; /* the WAITALL read met the pending reset and cleared it */
        }
        return;
      }
      if (m->reset[e]) {
        /* RULE X-PEERCLOSE: stream peer closed with unread data: ECONNRESET once, after data */
        fail(ex, ECONNRESET, "X-PEERCLOSE");
        return;
      }
      if (m->rd_shut[e]) {
        /* RULE RECV-5: a closed stream peer gives 0; RULE X-SHUT: EOF after SHUT_WR */
        succeed(ex, 0, m->closed[e ^ 1u] ? "RECV-5" : "X-SHUT");
        return;
      }
      /* RULE RECV-E: nothing queued with MSG_DONTWAIT -> EAGAIN */
      /* RULE PAIR-3: what an end wrote is not readable at that end */
      fail(ex, EAGAIN, (op->flags & MSG_WAITALL) ? "X-WAITALL" : "RECV-E");
      return;
    case SC_LAYOUT_SEQPACKET:
      if (m->reset[e]) {
        /* RULE X-PEERCLOSE: seqpacket reports ECONNRESET before queued records */
        fail(ex, ECONNRESET, "X-PEERCLOSE");
        return;
      }
      if (q->count > 0) {
        read_message(m, e, op, room, ex);
        return;
      }
      if (m->rd_shut[e]) {
        succeed(ex, 0, m->closed[e ^ 1u] ? "RECV-5" : "X-SHUT"); /* RULE X-SHUT: seqpacket EOF */
        return;
      }
      fail(ex, EAGAIN, (op->flags & MSG_WAITALL) ? "X-WAITALL" : "RECV-E"); /* RULE RECV-E */
      return;
    case SC_LAYOUT_DGRAM:
    case SC_LAYOUT_UDP:
      if (m->kind == SC_LAYOUT_UDP && m->icmp[e]) {
        fail(ex, ECONNREFUSED, "X-PEERCLOSE"); /* RULE X-PEERCLOSE: UDP ICMP error on recv */
      }
      if (q->count > 0) {
        read_message(m, e, op, room, ex);
        return;
      }
      /* RULE RECV-E: empty datagram queue -> EAGAIN (no EOF on datagram sockets) */
      fail(ex, EAGAIN, (op->flags & MSG_WAITALL) ? "X-WAITALL" : "RECV-E");
      return;
    default:
      return;
  }
}

/* A served sc_recv_fill: the whole room, across sends (the writer sent what was missing). */
static void predict_fill(const sc_oracle *m, const sc_layout_op *op, sc_oracle_expect *ex) {
  size_t len = 0;
  unsigned nfds = 0;
  ex->flags = 0;
  ex->bytes = sc_oracle_stream_bytes(m, op->end, &len, &nfds);
  ex->nbytes = sc_layout_iov_total(op);
  /* RULE X-WAITALL: sc_recv_fill fills every byte of its buffers from a stream, waiting */
  succeed(ex, (ssize_t)ex->nbytes, "X-WAITALL");
}

static void predict_recv(const sc_oracle *m, const sc_layout_op *op, sc_oracle_expect *ex) {
  if ((op->peer & SC_PEER_FILL) && sc_oracle_peer_serves(m, op)) {
    predict_fill(m, op, ex);
    return;
  }
  predict_recv_core(m, op, ex);
  /* RULE X-CLOEXEC: installed descriptors are close-on-exec exactly when
   * MSG_CMSG_CLOEXEC is given (the target checks F_GETFD on each) */
  ex->cloexec = (op->flags & MSG_CMSG_CLOEXEC) != 0;
  if (ex->ok && kfact_is(m, SC_KF_CLOEXEC_ECHO, SC_KF_ECHO_ECHOED)) {
    /* RULE X-FLAGS: msg_flags is set afresh; recvmsg(2) echoes MSG_CMSG_CLOEXEC into it
     * (KFACT cloexec-echo=echoed: the kernel starts msg_flags from flags & MSG_CMSG_CLOEXEC) */
    ex->msg_flags |= op->flags & MSG_CMSG_CLOEXEC;
  }
  if (m->nonblock || (op->flags & MSG_DONTWAIT)) {
    /* RULE X-NONBLOCK: SOCK_NONBLOCK applies to both ends: EAGAIN without MSG_DONTWAIT */
    return;
  }
  /* A blocking call that could block is made with MSG_DONTWAIT: the outcome is
   * the same, and the target never hangs. */
  bool would_block = false;
  for (unsigned i = 0; i < ex->nerr; i++) {
    would_block = would_block || ex->errs[i] == EAGAIN;
  }
  if (m->kind == SC_LAYOUT_STREAM && (op->flags & MSG_WAITALL) && ex->ok &&
      ex->ret < (ssize_t)sc_layout_iov_total(op)) {
    would_block = true; /* RULE X-WAITALL: a short WAITALL read would wait for more */
  }
  if (would_block) {
    ex->flags |= MSG_DONTWAIT;
  }
}

void sc_oracle_predict(const sc_oracle *m, const sc_layout_op *op, sc_oracle_expect *ex) {
  expect_clear(ex, op->flags);
  switch (op->type) {
    case SC_OP_SEND:
      predict_send(m, op, ex);
      break;
    case SC_OP_RECV:
      predict_recv(m, op, ex);
      break;
    case SC_OP_CLOSE:
      succeed(ex, 0, "PAIR-4"); /* RULE PAIR-4: each side closes the end it does not use */
      break;
    case SC_OP_SHUTDOWN:
      succeed(ex, 0, "X-SHUT"); /* RULE X-SHUT: shutdown of a connected (or orphaned) end -> 0 */
      break;
    default:
      break;
  }
}

/* The check against a prediction: out of coverage, like the targets' own checks (which
 * outcome matched is what sc_oracle_predict's instrumented decisions already told apart). */
SC_NO_COVERAGE bool sc_oracle_allows(const sc_oracle_expect *ex, ssize_t ret, size_t sent) {
  if (ret >= 0) {
    return ex->ok && ret == ex->ret;
  }
  for (unsigned i = 0; i < ex->nerr; i++) {
    if (SC_ERR(ex->errs[i]) == ret) {
      return ex->errs[i] == EFAULT ? sent <= ex->sent_max : sent == 0;
    }
  }
  return false;
}

/* The first `cap` bytes a send's gather list holds, into dst, like sc_iov_gather over
 * the list sc_layout_send_iov builds (stops at a NULL base with a nonzero length). The
 * list is periodic (iovec i is iovec i % nseg, base included), so only the first nseg
 * iovecs are built and the copy cycles through them: no array of up to 1030 iovecs per
 * send. A send with the big iovec (never queued: always EMSGSIZE) takes the full path. */
SC_NO_COVERAGE static size_t gather(const sc_layout_op *op, struct iovec *scratch, uint8_t *dst,
                                    size_t cap) {
  if (op->big) {
    size_t n = sc_layout_send_iov(op, scratch, SC_LAYOUT_MAX_IOV + 1);
    return sc_iov_gather(scratch, (int)n, dst, cap);
  }
  size_t nseg = op->iov.nseg < 1 ? 1 : op->iov.nseg;
  size_t first = sc_layout_send_iov(op, scratch, nseg);
  size_t done = 0;
  for (size_t i = 0; i < op->iov.count && first > 0 && done < cap; i++) {
    const struct iovec *v = &scratch[i % first];
    size_t len = v->iov_len;
    if (len == 0) {
      continue;
    }
    if (v->iov_base == NULL) {
      break;
    }
    len = len < cap - done ? len : cap - done;
    memcpy(dst + done, v->iov_base, len);
    done += len;
  }
  return done;
}

static void enqueue(sc_oracle *m, unsigned e, const sc_layout_op *op, size_t len, unsigned nfds) {
  sc_oracle_queue *q = &m->q[e];
  if (q->count >= SC_ORACLE_MAX_CHUNKS || len > sizeof q->data - q->used) {
    return; /* cannot happen with normalised layouts (sends are capped) */
  }
  size_t got = gather(op, m->scratch, q->data + q->used, len);
  sc_oracle_chunk *c = &q->chunk[(q->head + q->count) % SC_ORACLE_MAX_CHUNKS];
  c->off = q->used;
  c->len = (uint32_t)got;
  c->taken = 0;
  c->nfds = (uint8_t)nfds;
  q->used += (uint32_t)got;
  q->count++;
}

static void pop(sc_oracle_queue *q) {
  q->head = (uint8_t)((q->head + 1) % SC_ORACLE_MAX_CHUNKS);
  q->count--;
  if (q->count == 0) {
    q->head = 0;
    q->used = 0;
  }
}

static void commit_send(sc_oracle *m, const sc_layout_op *op, ssize_t ret, size_t sent) {
  unsigned e = op->end;
  unsigned p = e ^ 1u;
  unsigned nfds = (is_unix(m) && op->ctl == SC_CTL_RIGHTS) ? op->nfds : 0;
  if (ret == SC_ERR(ECONNREFUSED) && m->kind == SC_LAYOUT_DGRAM &&
      kfact_is(m, SC_KF_DGRAM_PEERCLOSE, SC_KF_PEERCLOSE_REFUSED_ONCE)) {
    /* RULE X-PEERCLOSE: the ECONNREFUSED send disconnects the dgram socket and purges its
     * own receive queue (unix_dgram_disconnected): queued messages are lost, later sends
     * give ENOTCONN (KFACT dgram-peerclose=refused-once; refused-always keeps the peer) */
    m->peer_gone[e] = 2;
    m->q[e].count = 0;
    m->q[e].head = 0;
    m->q[e].used = 0;
  }
  if (ret == SC_ERR(ECONNRESET)) {
    m->reset[e] = false;
  }
  size_t len = ret >= 0 ? (size_t)ret : (ret == SC_ERR(EFAULT) ? sent : 0);
  if (ret < 0 && len == 0) {
    return;
  }
  if (m->closed[p]) {
    return; /* UDP to a closed port: dropped */
  }
  if (m->kind == SC_LAYOUT_STREAM && len == 0) {
    return; /* X-ZSEND: nothing queued; descriptors of an empty stream send are dropped */
  }
  enqueue(m, p, op, len, nfds);
}

static void commit_recv(sc_oracle *m, const sc_layout_op *op, const sc_oracle_expect *ex,
                        ssize_t ret) {
  unsigned e = op->end;
  sc_oracle_queue *q = &m->q[e];
  if (ret == SC_ERR(ECONNRESET)) {
    m->reset[e] = false;
    return;
  }
  if (ret < 0 || q->count == 0 || (ex->flags & MSG_PEEK)) {
    return;
  }
  if (m->kind != SC_LAYOUT_STREAM) {
    pop(q);
    return;
  }
  size_t left = ex->nbytes;
  bool fds_seen = false;
  while (q->count > 0 && !fds_seen) {
    sc_oracle_chunk *c = &q->chunk[q->head];
    size_t avail = c->len - c->taken;
    size_t take = avail < left ? avail : left;
    c->taken += (uint32_t)take;
    left -= take;
    fds_seen = c->nfds > 0;
    c->nfds = 0; /* detached by this read, installed or not */
    if (c->taken < c->len) {
      break;
    }
    pop(q);
    if (left == 0) {
      break;
    }
  }
  if ((ex->flags & MSG_WAITALL) && !fds_seen && q->count == 0 &&
      ex->nbytes < sc_layout_iov_total(op)) {
    m->reset[e] = false; /* the WAITALL read ran into the empty queue: sock_error() cleared */
  }
}

void sc_oracle_commit(sc_oracle *m, const sc_layout_op *op, const sc_oracle_expect *ex, ssize_t ret,
                      size_t sent) {
  unsigned e = op->end;
  unsigned p = e ^ 1u;
  switch (op->type) {
    case SC_OP_SEND:
      commit_send(m, op, ret, sent);
      break;
    case SC_OP_RECV:
      if (m->kind == SC_LAYOUT_UDP && ret == SC_ERR(ECONNREFUSED)) {
        break;
      }
      commit_recv(m, op, ex, ret);
      break;
    case SC_OP_CLOSE:
      if (!m->closed[p]) {
        if (is_connected_kind(m)) {
          size_t records = kfact_is(m, SC_KF_SEQPACKET_EMPTY_RESET, SC_KF_EMPTY_RESET_ANY) ? 1 : 2;
          if (sc_oracle_queued_bytes(m, e) > 0 || sc_oracle_queued_msgs(m, e) >= records) {
            /* RULE X-PEERCLOSE: closed with unread data: the peer sees ECONNRESET once.
             * One unread zero-length seqpacket record alone does not count, two or more do
             * (KFACT seqpacket-empty-reset=needs-two, measured on 6.18). */
            m->reset[p] = true;
          }
          m->rd_shut[p] = true;
          m->wr_shut[p] = true;
        } else if (m->kind == SC_LAYOUT_DGRAM) {
          m->peer_gone[p] = 1;
        } else {
          m->icmp[p] = true;
        }
      }
      m->closed[e] = true;
      m->q[e].count = 0;
      m->q[e].head = 0;
      m->q[e].used = 0;
      break;
    case SC_OP_SHUTDOWN: {
      bool rd = op->how == SHUT_RD || op->how == SHUT_RDWR;
      bool wr = op->how == SHUT_WR || op->how == SHUT_RDWR;
      m->rd_shut[e] = m->rd_shut[e] || rd;
      m->wr_shut[e] = m->wr_shut[e] || wr;
      if (is_connected_kind(m) && !m->closed[p]) {
        /* stream/seqpacket: the peer's opposite direction is shut too */
        m->wr_shut[p] = m->wr_shut[p] || rd;
        m->rd_shut[p] = m->rd_shut[p] || wr;
      }
      break;
    }
    default:
      break;
  }
}

static bool holds_fds(const sc_oracle_queue *q) {
  for (unsigned i = 0; i < q->count; i++) {
    if (head_chunk(q, i)->nfds > 0) {
      return true;
    }
  }
  return false;
}

bool sc_oracle_peer_serves(const sc_oracle *m, const sc_layout_op *op) {
  unsigned e = op->end & 1u;
  unsigned p = e ^ 1u;
  if (op->peer == 0 || m->kind != SC_LAYOUT_STREAM) {
    return false;
  }
  if (op->type == SC_OP_SEND) {
    return !m->closed[p] && !m->reset[p];
  }
  if (op->type != SC_OP_RECV || m->closed[p] || m->wr_shut[p] || m->rd_shut[e] || m->reset[e] ||
      holds_fds(&m->q[e]) || sc_layout_iov_count(op) > SC_IOV_MAX) {
    return false;
  }
  if (op->peer & SC_PEER_FILL) {
    return true;
  }
  return (op->flags & MSG_WAITALL) && !(op->flags & (MSG_PEEK | MSG_DONTWAIT)) && !m->nonblock;
}

size_t sc_oracle_peer_missing(const sc_oracle *m, const sc_layout_op *op) {
  if (op->type != SC_OP_RECV || !sc_oracle_peer_serves(m, op)) {
    return 0;
  }
  size_t room = sc_layout_iov_total(op);
  size_t queued = sc_oracle_queued_bytes(m, op->end);
  return room > queued ? room - queued : 0;
}

SC_NO_COVERAGE void sc_oracle_peer_write(sc_oracle *m, unsigned e, const uint8_t *bytes,
                                         size_t len) {
  sc_oracle_queue *q = &m->q[e & 1u];
  if (len == 0 || q->count >= SC_ORACLE_MAX_CHUNKS || len > sizeof q->data - q->used) {
    return; /* cannot happen: a writer's receive has at most SC_LAYOUT_PEER_ROOM_MAX of room */
  }
  memcpy(q->data + q->used, bytes, len);
  sc_oracle_chunk *c = &q->chunk[(q->head + q->count) % SC_ORACLE_MAX_CHUNKS];
  c->off = q->used;
  c->len = (uint32_t)len;
  c->taken = 0;
  c->nfds = 0;
  q->used += (uint32_t)len;
  q->count++;
}

SC_NO_COVERAGE const uint8_t *sc_oracle_stream_bytes(const sc_oracle *m, unsigned e, size_t *len,
                                                     unsigned *nfds) {
  const sc_oracle_queue *q = &m->q[e & 1u];
  *len = sc_oracle_queued_bytes(m, e);
  *nfds = 0;
  for (unsigned i = 0; i < q->count; i++) {
    *nfds += head_chunk(q, i)->nfds;
  }
  /* a stream's chunks lie back to back in data, the first one partly taken */
  return q->count > 0 ? q->data + head_chunk(q, 0)->off + head_chunk(q, 0)->taken : q->data;
}

SC_NO_COVERAGE bool sc_oracle_message(const sc_oracle *m, unsigned e, unsigned i,
                                      const uint8_t **bytes, size_t *len, unsigned *nfds) {
  const sc_oracle_queue *q = &m->q[e & 1u];
  if (i >= q->count) {
    return false;
  }
  const sc_oracle_chunk *c = head_chunk(q, i);
  *bytes = q->data + c->off + c->taken;
  *len = c->len - c->taken;
  *nfds = c->nfds;
  return true;
}

SC_NO_COVERAGE void sc_oracle_take_all(sc_oracle *m, unsigned e) {
  sc_oracle_queue *q = &m->q[e & 1u];
  q->count = 0;
  q->head = 0;
  q->used = 0;
}

SC_NO_COVERAGE size_t sc_oracle_queued_bytes(const sc_oracle *m, unsigned e) {
  const sc_oracle_queue *q = &m->q[e & 1u];
  size_t n = 0;
  for (unsigned i = 0; i < q->count; i++) {
    const sc_oracle_chunk *c = head_chunk(q, i);
    n += c->len - c->taken;
  }
  return n;
}

SC_NO_COVERAGE size_t sc_oracle_queued_msgs(const sc_oracle *m, unsigned e) {
  return m->q[e & 1u].count;
}

void sc_oracle_print_expect(const sc_oracle_expect *ex, FILE *out) {
  bool any = false;
  if (ex->ok) {
    fprintf(out, "ok %zd", ex->ret);
    if (ex->nbytes > 0 || ex->msg_flags != 0 || ex->nfds > 0) {
      fprintf(out, " (%zu bytes, msg_flags=%#x, fds %u/%u, controllen %zu)", ex->nbytes,
              (unsigned)ex->msg_flags, ex->nfds_installed, ex->nfds, ex->controllen);
    }
    any = true;
  }
  for (unsigned i = 0; i < ex->nerr; i++) {
    fprintf(out, "%s%s", any ? " | " : "", sc_err_name(ex->errs[i]));
    if (ex->errs[i] == EFAULT && ex->sent_max > 0) {
      fprintf(out, " after 0..%zu bytes", ex->sent_max);
    }
    any = true;
  }
  fprintf(out, "%s [%s] call flags=%#x\n", any ? "" : "nothing", ex->rule, (unsigned)ex->flags);
}
