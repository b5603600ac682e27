/* The one description of a msghdr operation sequence on one socket pair: the
 * kind of pair, blocking or not, and up to SC_LAYOUT_MAX_OPS sends, receives,
 * closes and shutdowns. Fuzzer bytes decode into it (every byte string decodes,
 * nothing is rejected), it encodes back to bytes, and it prints as text.
 * Fixed-size: no allocation anywhere in this module. */
#ifndef SOCKCHECK_LAYOUT_H
#define SOCKCHECK_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SC_LAYOUT_MAX_OPS 8
#define SC_LAYOUT_MAX_SEGS 8            /* distinct iovec shapes per list, repeated cyclically */
#define SC_LAYOUT_MAX_IOV 1030          /* iovecs per list: past SC_IOV_MAX (1024) on purpose */
#define SC_LAYOUT_MAX_SEG_LEN 4096      /* bytes per iovec */
#define SC_LAYOUT_MAX_TOTAL 65536       /* all sends of one layout together, and one receive */
#define SC_LAYOUT_MAX_RIGHTS_SEND 16384 /* a send carrying descriptors (one kernel skb) */
#define SC_LAYOUT_MAX_FDS 4             /* descriptors in one SCM_RIGHTS message */
#define SC_LAYOUT_MAX_CTL 96            /* receive control buffer bytes */
#define SC_LAYOUT_BIG_LEN (1u << 20)    /* the extra iovec of a "big" send (X-DGRAMBIG) */
#define SC_LAYOUT_PATTERN_LEN (SC_LAYOUT_MAX_SEG_LEN + 256)
/* Partial transfers (stream layouts only): small send buffers and a peer thread. */
#define SC_LAYOUT_SNDBUF_CLASSES 4    /* sndbuf 0: default buffers; 1..3: see sc_layout_sndbuf */
#define SC_LAYOUT_UNREAD_MAX 1024     /* bytes a small-buffer send may queue with no reader */
#define SC_LAYOUT_PEER_CHUNK_UNIT 256 /* peer bytes per call: (chunk + 1) units */
#define SC_LAYOUT_PEER_CHUNK_CLASSES 64
#define SC_LAYOUT_PEER_PAUSE_MAX 10   /* peer pause before each of its first calls, x 100 us */
#define SC_LAYOUT_PEER_PAUSED_CALLS 2 /* the peer's calls that are preceded by its pause */
#define SC_LAYOUT_PEER_ROOM_MAX 16384 /* a receive served by a writer: room at most this */
/* Longest encoding of one layout, in bytes (the ops, then the partial-transfer trailer). */
#define SC_LAYOUT_ENCODED_MAX \
  (3 + SC_LAYOUT_MAX_OPS * (14 + 3 * SC_LAYOUT_MAX_SEGS) + 2 + 3 * SC_LAYOUT_MAX_OPS)

typedef enum sc_layout_kind {
  SC_LAYOUT_STREAM = 0, /* AF_UNIX SOCK_STREAM pair */
  SC_LAYOUT_DGRAM,      /* AF_UNIX SOCK_DGRAM pair */
  SC_LAYOUT_SEQPACKET,  /* AF_UNIX SOCK_SEQPACKET pair */
  SC_LAYOUT_UDP,        /* two UDP sockets on 127.0.0.1 connected to each other */
  SC_LAYOUT_KIND_COUNT
} sc_layout_kind;

typedef enum sc_layout_op_type {
  SC_OP_SEND = 0,
  SC_OP_RECV,
  SC_OP_CLOSE,
  SC_OP_SHUTDOWN,
  SC_OP_TYPE_COUNT
} sc_layout_op_type;

typedef enum sc_layout_name {
  SC_NAME_NONE = 0, /* msg_name NULL, namelen 0 */
  SC_NAME_VALID,    /* UDP: the peer's address; AF_UNIX: sun_family only (namelen 2) */
  SC_NAME_SHORT,    /* the same address with namelen 1 */
  SC_NAME_OVERSIZE, /* the same address with namelen 200 (past sockaddr_storage) */
  SC_NAME_NULL_LEN, /* msg_name NULL with namelen 16 */
  SC_NAME_COUNT
} sc_layout_name;

typedef enum sc_layout_ctl {
  SC_CTL_NONE = 0,     /* no control data */
  SC_CTL_RIGHTS,       /* SCM_RIGHTS with nfds descriptors */
  SC_CTL_CREDS,        /* SCM_CREDENTIALS with our own pid, uid, gid */
  SC_CTL_LEN_SMALL,    /* SCM_RIGHTS header whose cmsg_len (8) is below a header's size */
  SC_CTL_LEN_PAST_END, /* SCM_RIGHTS header whose cmsg_len reaches past msg_controllen */
  SC_CTL_BAD_FD,       /* SCM_RIGHTS carrying descriptor -1 */
  SC_CTL_COUNT
} sc_layout_ctl;

/* Send flags a layout may use (MSG_NOSIGNAL is always added by sc_send_all). */
#define SC_LAYOUT_SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_EOR | MSG_MORE)
/* Receive flags a layout may use. */
#define SC_LAYOUT_RECV_FLAGS (MSG_PEEK | MSG_TRUNC | MSG_WAITALL | MSG_DONTWAIT | MSG_CMSG_CLOEXEC)

/* One iovec shape: length, and (sends only) a NULL base instead of data. */
typedef struct sc_layout_seg {
  uint16_t len;
  uint8_t null_base;
} sc_layout_seg;

/* An iovec list: `count` iovecs, iovec i shaped like seg[i % nseg]. */
typedef struct sc_layout_iov {
  uint16_t count; /* 0..SC_LAYOUT_MAX_IOV */
  uint8_t nseg;   /* 1..SC_LAYOUT_MAX_SEGS */
  sc_layout_seg seg[SC_LAYOUT_MAX_SEGS];
} sc_layout_iov;

/* One operation; fields that do not apply to its type are zero. */
typedef struct sc_layout_op {
  uint8_t type;      /* sc_layout_op_type */
  uint8_t end;       /* 0 or 1: the pair end that makes the call */
  sc_layout_iov iov; /* SEND: gather list; RECV: scatter list (never NULL bases) */
  uint8_t name;      /* SEND: sc_layout_name */
  uint8_t ctl;       /* SEND: sc_layout_ctl */
  uint8_t nfds;      /* SEND with SC_CTL_RIGHTS: 1..SC_LAYOUT_MAX_FDS */
  uint8_t big;       /* SEND, not on streams: one more iovec of SC_LAYOUT_BIG_LEN bytes */
  uint8_t seed;      /* SEND: data pattern */
  uint8_t ctl_len;   /* RECV: control buffer bytes, 0..SC_LAYOUT_MAX_CTL */
  uint8_t how;       /* SHUTDOWN: SHUT_RD, SHUT_WR or SHUT_RDWR */
  /* Partial transfers (layouts with sndbuf > 0 only; 0 elsewhere): */
  uint8_t peer;  /* SEND: SC_PEER_READER; RECV: SC_PEER_WRITER, with SC_PEER_FILL or not */
  uint8_t chunk; /* peer: bytes per call, (chunk + 1) * SC_LAYOUT_PEER_CHUNK_UNIT */
  uint8_t pause; /* peer: pause before each of its first calls, x 100 us */
  int flags;     /* SEND: subset of SC_LAYOUT_SEND_FLAGS; RECV: of SC_LAYOUT_RECV_FLAGS */
} sc_layout_op;

/* Peer thread roles (sc_layout_op.peer bits). */
#define SC_PEER_READER 1u /* SEND: a thread reads the other end, all it holds, during the call */
#define SC_PEER_WRITER 1u /* RECV: a thread writes the missing bytes into the other end */
#define SC_PEER_FILL 2u   /* RECV: the receive is sc_recv_fill (with SC_PEER_WRITER) */

typedef struct sc_layout {
  uint8_t kind;     /* sc_layout_kind */
  uint8_t nonblock; /* 1: both ends O_NONBLOCK */
  uint8_t sndbuf;   /* stream only: 0 default; else SO_SNDBUF sc_layout_sndbuf() on both ends */
  uint8_t nops;     /* 0..SC_LAYOUT_MAX_OPS */
  sc_layout_op op[SC_LAYOUT_MAX_OPS];
} sc_layout;

/* Decodes any byte string into a valid, normalised layout (never fails; missing
 * bytes read as 0). Normalised: ops on a closed end move to the other end, ops
 * after both ends are closed are dropped, send totals are capped (halving the
 * iovec lengths) so that no send can block, MSG_MORE is dropped on UDP. With small
 * send buffers (sndbuf > 0), a send without a reader is capped so that what it and
 * the earlier unread ones queue stays within SC_LAYOUT_UNREAD_MAX bytes; a send with a
 * reader may exceed the free room (the reader makes room), descriptors or not; a receive with a
 * writer has at most SC_LAYOUT_PEER_ROOM_MAX bytes of room. */
void sc_layout_decode(const uint8_t *data, size_t size, sc_layout *out);

/* Encodes l so that sc_layout_decode gives back an equal layout (l must be
 * normalised, as decode produces). Returns the bytes written, or -ENOSPC if cap
 * is below what is needed (SC_LAYOUT_ENCODED_MAX always suffices; buf then untouched). */
int sc_layout_encode(const sc_layout *l, uint8_t *buf, size_t cap);

/* The number of bytes sc_layout_encode writes for l (what cap must be at least). */
size_t sc_layout_encoded_len(const sc_layout *l);

/* Brings a hand-built layout to the form decode produces (ranges, caps, ends). */
void sc_layout_normalize(sc_layout *l);

/* Prints l as readable text, one line per op. Returns 0, or -EIO if writing failed. */
int sc_layout_print(const sc_layout *l, FILE *out);

/* Room sc_layout_format needs for any normalised layout, the final NUL included. */
#define SC_LAYOUT_TEXT_MAX (96 + SC_LAYOUT_MAX_OPS * 320)

/* Writes the text sc_layout_print prints, byte for byte, into buf[0..cap) with a final NUL,
 * without stdio. Returns its length (the NUL not counted), or -ENOSPC if the text and the NUL
 * do not fit (buf then holds an empty string if cap > 0). */
int sc_layout_format(const sc_layout *l, char *buf, size_t cap);

/* True when a and b describe the same operations (compares fields, not padding). */
bool sc_layout_equal(const sc_layout *a, const sc_layout *b);

/* The iovec count of an op's list, with the big iovec of a send included. */
size_t sc_layout_iov_count(const sc_layout_op *op);

/* Sum of the list's lengths (the big iovec included). */
size_t sc_layout_iov_total(const sc_layout_op *op);

/* Builds a send's gather list into iov[0..cap): bases point into a static,
 * read-only pattern chosen by op->seed and the shape (NULL where the shape says
 * so); iovec i equals iovec i % nseg. Returns the count written (at most cap). */
size_t sc_layout_send_iov(const sc_layout_op *op, struct iovec *iov, size_t cap);

/* Builds a receive's scatter list into iov[0..cap) over buf[0..buf_len),
 * consecutively. Returns the count written (stops early if buf is too small). */
size_t sc_layout_recv_iov(const sc_layout_op *op, void *buf, size_t buf_len, struct iovec *iov,
                          size_t cap);

/* The SO_SNDBUF value a layout asks for (0: leave the default). */
int sc_layout_sndbuf(const sc_layout *l);

/* Bytes per call of an op's peer thread. */
size_t sc_layout_peer_chunk(const sc_layout_op *op);

/* Names for printing: "stream", "SEND", "valid", "rights" ... ("?" if out of range). */
const char *sc_layout_kind_name(unsigned kind);
const char *sc_layout_op_name(unsigned type);
const char *sc_layout_name_mode_name(unsigned name);
const char *sc_layout_ctl_name(unsigned ctl);

#ifdef __cplusplus
}
#endif
#endif
