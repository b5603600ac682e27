/* The oracle: a model of one socket pair (queues with message boundaries per
 * direction, descriptors in flight, shutdown and close state) that predicts,
 * from documented and measured Linux semantics (BEHAVIOURS.md), what each
 * layout op returns. Where Linux allows several outcomes the prediction is a
 * set. Use: predict, perform the call, sc_oracle_allows, then commit the
 * observed outcome so the model follows the kernel. Where kernels differ within the spec, the
 * rules follow the calibrated facts (sctest/kfacts.h). No allocation; no syscalls after the
 * first sc_oracle_init (which calibrates). */
#ifndef SOCKCHECK_ORACLE_H
#define SOCKCHECK_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "sctest/kfacts.h"
#include "sctest/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SC_ORACLE_MAX_ERRS 4
#define SC_ORACLE_MAX_CHUNKS (SC_LAYOUT_MAX_OPS + 1)
/* Largest UDP/IPv4 payload: 65535 - 8 - 20. */
#define SC_ORACLE_UDP_MAX 65507u

/* One queued message (datagram kinds) or one send's bytes (stream). */
typedef struct sc_oracle_chunk {
  uint32_t off;   /* first byte in the queue's data */
  uint32_t len;   /* bytes */
  uint32_t taken; /* stream: bytes already read from the front */
  uint8_t nfds;   /* descriptors attached (still attached) */
} sc_oracle_chunk;

/* What can be read at one end. */
typedef struct sc_oracle_queue {
  uint8_t data[SC_LAYOUT_MAX_TOTAL + SC_LAYOUT_PEER_ROOM_MAX];
  uint32_t used;
  sc_oracle_chunk chunk[SC_ORACLE_MAX_CHUNKS];
  uint8_t head;
  uint8_t count;
} sc_oracle_queue;

typedef struct sc_oracle {
  const sc_kfacts *kf; /* the kernel's calibrated facts the kernel-dependent rules follow */
  uint8_t kind;        /* sc_layout_kind */
  uint8_t nonblock;    /* both ends O_NONBLOCK */
  bool closed[2];
  bool rd_shut[2];      /* RCV_SHUTDOWN (stream/seqpacket: includes what the peer's calls set) */
  bool wr_shut[2];      /* SEND_SHUTDOWN (likewise) */
  bool reset[2];        /* stream/seqpacket: ECONNRESET pending (peer closed with unread data) */
  uint8_t peer_gone[2]; /* dgram: 0 peer alive, 1 next send ECONNREFUSED, 2 then ENOTCONN */
  bool icmp[2];         /* UDP: peer closed, ECONNREFUSED may be reported by any call */
  sc_oracle_queue q[2]; /* q[e]: what end e can read */
  struct iovec scratch[SC_LAYOUT_MAX_IOV + 1];
} sc_oracle;

/* A prediction for one op. */
typedef struct sc_oracle_expect {
  bool ok; /* success is allowed, returning `ret` */
  ssize_t ret;
  int errs[SC_ORACLE_MAX_ERRS]; /* allowed failures, positive errno values */
  uint8_t nerr;
  size_t sent_max;      /* SEND failing with EFAULT on a stream: 0..sent_max bytes sent */
  int flags;            /* the flags to call with (RECV: MSG_DONTWAIT added on a
                           blocking socket where the call could block) */
  int msg_flags;        /* RECV success: msg_flags */
  const uint8_t *bytes; /* RECV success: bytes placed in the buffers */
  size_t nbytes;
  uint8_t nfds;           /* RECV success: descriptors the message carries */
  uint8_t nfds_installed; /* of which installed in the receiver */
  size_t controllen;      /* RECV success: msg_controllen */
  bool cloexec;           /* RECV: installed descriptors are close-on-exec */
  const char *rule;       /* behaviour ID of the deciding rule */
} sc_oracle_expect;

/* Starts a model of a fresh, empty, connected pair of `kind`, following the process's
 * calibrated kernel facts (sc_kfacts_get; a test may point m->kf at other facts). */
void sc_oracle_init(sc_oracle *m, unsigned kind, bool nonblock);

/* Predicts op's outcome from the model's state. The model is not changed. */
void sc_oracle_predict(const sc_oracle *m, const sc_layout_op *op, sc_oracle_expect *ex);

/* True when the observed outcome (ret: count or -errno; sent: bytes sent before a
 * failure, SEND only) is one ex allows. */
bool sc_oracle_allows(const sc_oracle_expect *ex, ssize_t ret, size_t sent);

/* Applies op with its observed, allowed outcome to the model. */
void sc_oracle_commit(sc_oracle *m, const sc_layout_op *op, const sc_oracle_expect *ex, ssize_t ret,
                      size_t sent);

/* Partial transfers (layouts with small send buffers, see sctest/layout.h). A SEND with a
 * reader or a RECV with a writer has its peer thread only where the model says the peer's
 * outcome is fixed: a reader where the other end is open (it then reads everything that end
 * holds, the send's bytes included, all of them, once, in order); a writer where the other
 * end can still send, the receiving end holds no descriptors and no pending reset or EOF,
 * and the receive is sc_recv_fill, or a blocking MSG_WAITALL receive without MSG_PEEK (it
 * then writes the bytes the receive still misses). Elsewhere the op runs without a peer
 * (a fill as an ordinary receive): true when op has its peer. */
bool sc_oracle_peer_serves(const sc_oracle *m, const sc_layout_op *op);

/* A served RECV with a writer: the bytes the writer must send (room minus what is queued),
 * queued in the model by sc_oracle_peer_write before predicting the receive. */
size_t sc_oracle_peer_missing(const sc_oracle *m, const sc_layout_op *op);

/* Queues at end e the bytes bytes[0..len) a writer thread sent from the other end. */
void sc_oracle_peer_write(sc_oracle *m, unsigned e, const uint8_t *bytes, size_t len);

/* Stream: the bytes end e holds, in order (*len of them, at most SC_LAYOUT_MAX_TOTAL +
 * SC_LAYOUT_PEER_ROOM_MAX), and the descriptors attached to them (*nfds). */
const uint8_t *sc_oracle_stream_bytes(const sc_oracle *m, unsigned e, size_t *len, unsigned *nfds);

/* Datagram kinds: message i (0 = next to read) at end e: its bytes, length and descriptors.
 * Returns false past the last one. */
bool sc_oracle_message(const sc_oracle *m, unsigned e, unsigned i, const uint8_t **bytes,
                       size_t *len, unsigned *nfds);

/* Empties end e's queue (a reader thread read all of it). */
void sc_oracle_take_all(sc_oracle *m, unsigned e);

/* Bytes and messages still queued for end e (for the drain check). */
size_t sc_oracle_queued_bytes(const sc_oracle *m, unsigned e);
size_t sc_oracle_queued_msgs(const sc_oracle *m, unsigned e);

/* Prints ex as one line ("ok 5 flags=0x20 | EAGAIN [RECV-E]"). */
void sc_oracle_print_expect(const sc_oracle_expect *ex, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
