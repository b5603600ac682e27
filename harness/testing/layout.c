/* Layout: decoder, normaliser and encoder of msghdr operation sequences (the printer is
 * layout_print.c).
 * Byte format (every field read modulo its range, missing bytes read as 0):
 *   kind, nonblock, nops (u8 < 0xc0: 0 if 0, 1 if odd, 2 if even; else (u8 - 0xc0) % 9: 0..8),
 *   then per op: type, end, and by type
 *   SEND:     iov, name, ctl, nfds, flags, big, seed
 *   RECV:     iov, ctl_len, flags
 *   SHUTDOWN: how
 *   iov = count (u8 < 0xc0: 0..3 by the low 2 bits; u8 0xc0..0xfe: (u8 - 0xc0) % 33,
 *         0..32; 0xff then u16 LE: % 1031, 0..1030), nseg,
 *         nseg x (len u16 LE, null_base)
 *   flag bits: SEND 0 DONTWAIT 1 NOSIGNAL 2 EOR 3 MORE;
 *              RECV 0 PEEK 1 TRUNC 2 WAITALL 3 DONTWAIT 4 CMSG_CLOEXEC
 *   then, optionally, the partial-transfer trailer: EXT_MAGIC, sndbuf, and per op peer,
 *   chunk, pause. Any other byte there (0 when the input ends) means no trailer: every
 *   encoding made before the trailer existed decodes as it did (the committed corpora were
 *   checked to hold no EXT_MAGIC in that place).
 * Random bytes mostly give short layouts (1-2 ops, 0-3 iovecs per list): most executions
 * stay cheap, while any length up to the maxima stays reachable. */
#include "sctest/layout.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#include "layout_private.h"
#include "sctest/nocov.h"

/* The iovec builders are mechanical loops over up to 1030 entries: SC_NO_COVERAGE keeps
 * them out of libFuzzer's coverage, so they cost fuzz_msghdr no edge bookkeeping per entry.
 * (This file is built without comparison tracing in fuzz builds: see harness/CMakeLists.txt.) */

static uint8_t g_pattern[SC_LAYOUT_PATTERN_LEN];
static bool g_pattern_ready;
static const uint8_t g_big[SC_LAYOUT_BIG_LEN];

/* The decoder reads a zero-padded copy of its input (missing bytes read as 0): a read is one
 * load, with no end test, so it is inlined into the instrumented decoder without adding a
 * branch of its own (an end test would be a branch per byte, saying nothing about the layout;
 * out of line, a read is a call per byte). For the same reason the read is kept free of
 * UBSan's pointer-overflow check (a branch per byte too): the decoder reads at most
 * DECODE_MAX_READ bytes, all within the copy, and ASan still checks each load. */
#define DECODE_MAX_READ \
  (3 + SC_LAYOUT_MAX_OPS * (2 + 3 + 1 + 3 * SC_LAYOUT_MAX_SEGS + 6) + 2 + 3 * SC_LAYOUT_MAX_OPS)
#define DECODE_COPY SC_LAYOUT_ENCODED_MAX
_Static_assert(DECODE_MAX_READ <= DECODE_COPY, "the decoder's copy holds every byte it reads");

#if defined(__clang__)
#define RD_NO_OVERFLOW_CHECK __attribute__((no_sanitize("pointer-overflow")))
#else
#define RD_NO_OVERFLOW_CHECK
#endif

typedef struct reader {
  const uint8_t *p;
} reader;

static inline __attribute__((always_inline)) RD_NO_OVERFLOW_CHECK uint8_t rd8(reader *r) {
  return *r->p++;
}

static inline __attribute__((always_inline)) uint16_t rd16(reader *r) {
  uint16_t lo = rd8(r);
  uint16_t hi = rd8(r);
  return (uint16_t)(lo | (hi << 8));
}

SC_NO_COVERAGE static int bits_to_flags(unsigned bits, const int *map, size_t n) {
  int flags = 0;
  for (size_t i = 0; i < n; i++) {
    if (bits & (1u << i)) {
      flags |= map[i];
    }
  }
  return flags;
}

SC_NO_COVERAGE static uint8_t flags_to_bits(int flags, const int *map, size_t n) {
  unsigned bits = 0;
  for (size_t i = 0; i < n; i++) {
    if (flags & map[i]) {
      bits |= 1u << i;
    }
  }
  return (uint8_t)bits;
}

/* The decoder and the normaliser work on a local sc_layout, with these helpers inlined, and copy
 * it out once: every field access through a caller's pointer carries a UBSan alignment check
 * (a branch each, saying nothing about the layout). On a local the compiler knows the
 * alignment, so the checks fold
 * away, while the decisions (op types, count classes, caps, closed ends) stay instrumented. */
#define ALIGNED_LOCAL static inline __attribute__((always_inline))

/* The byte that starts the partial-transfer trailer. */
#define EXT_MAGIC 0xe5u

/* Op counts: a byte below NOPS_WIDE gives 1 (odd) or 2 (even, 0 for a zero byte: an empty input is
 * an empty layout), the common case; from NOPS_WIDE on, 0..SC_LAYOUT_MAX_OPS. */
#define NOPS_WIDE 0xc0u

static uint8_t read_nops(reader *r) {
  unsigned a = rd8(r);
  if (a < NOPS_WIDE) {
    return (uint8_t)(a == 0 ? 0u : 2u - (a & 1u)); /* 0: none (empty input), odd: 1, even: 2 */
  }
  return (uint8_t)((a - NOPS_WIDE) % (SC_LAYOUT_MAX_OPS + 1));
}

/* Iovec counts: a byte below COUNT_MID gives 0..COUNT_TINY_MAX (the common case),
 * COUNT_MID..COUNT_WIDE-1 give 0..COUNT_SMALL_MAX, and COUNT_WIDE is followed by a
 * u16 for any count up to SC_LAYOUT_MAX_IOV: random bytes mostly give very short
 * lists (fast), sometimes longer ones, rarely up to past SC_IOV_MAX. */
#define COUNT_MID 0xc0u
#define COUNT_WIDE 0xffu
#define COUNT_TINY_MAX 3u
#define COUNT_SMALL_MAX 32u

static uint16_t read_count(reader *r) {
  unsigned a = rd8(r);
  if (a < COUNT_MID) {
    return (uint16_t)(a & COUNT_TINY_MAX);
  }
  if (a < COUNT_WIDE) {
    return (uint16_t)((a - COUNT_MID) % (COUNT_SMALL_MAX + 1));
  }
  return (uint16_t)(rd16(r) % (SC_LAYOUT_MAX_IOV + 1));
}

ALIGNED_LOCAL void read_iov(reader *r, sc_layout_iov *iov) {
  iov->count = read_count(r);
  iov->nseg = (uint8_t)(rd8(r) % SC_LAYOUT_MAX_SEGS + 1);
  for (unsigned i = 0; i < iov->nseg; i++) {
    iov->seg[i].len = (uint16_t)(rd16(r) % (SC_LAYOUT_MAX_SEG_LEN + 1));
    iov->seg[i].null_base = rd8(r) & 1;
  }
}

SC_NO_COVERAGE static size_t list_total(const sc_layout_iov *iov) {
  size_t total = 0;
  unsigned nseg = seg_count(iov);
  /* entries i, i + nseg, i + 2 nseg ... share shape i: count / nseg of them, one more for the
   * first count % nseg shapes (one division per list, not per shape) */
  size_t q = iov->count / nseg;
  size_t r = iov->count % nseg;
  for (unsigned i = 0; i < nseg && i < iov->count; i++) {
    size_t reps = q + (i < r ? 1u : 0u);
    total += reps * iov->seg[i].len;
  }
  return total;
}

/* Clamps each shape of a list and zeroes the unused ones: a mechanical loop. */
SC_NO_COVERAGE static void clamp_segs(sc_layout_iov *iov, bool allow_null) {
  for (unsigned i = 0; i < SC_LAYOUT_MAX_SEGS; i++) {
    sc_layout_seg *s = &iov->seg[i];
    if (i >= iov->nseg || (iov->count == 0)) {
      s->len = 0;
      s->null_base = 0;
      continue;
    }
    if (s->len > SC_LAYOUT_MAX_SEG_LEN) {
      s->len = SC_LAYOUT_MAX_SEG_LEN;
    }
    s->null_base = allow_null ? (s->null_base & 1) : 0;
  }
}

/* Shrinks a list in place to the canonical form: ranges clamped, unused shapes
 * zeroed, lengths halved until the total fits cap. */
ALIGNED_LOCAL void normalize_iov(sc_layout_iov *iov, bool allow_null, size_t cap) {
  if (iov->count > SC_LAYOUT_MAX_IOV) {
    iov->count = SC_LAYOUT_MAX_IOV;
  }
  iov->nseg = (uint8_t)seg_count(iov);
  if (iov->count < iov->nseg) {
    iov->nseg = (uint8_t)(iov->count > 0 ? iov->count : 1);
  }
  clamp_segs(iov, allow_null);
  while (list_total(iov) > cap) {
    for (unsigned i = 0; i < iov->nseg; i++) {
      iov->seg[i].len >>= 1;
    }
  }
}

/* Zero an op's scalar fields, or its iovec list (mechanical). */
SC_NO_COVERAGE static void zero_scalars(sc_layout_op *op) {
  op->name = 0;
  op->ctl = 0;
  op->nfds = 0;
  op->big = 0;
  op->seed = 0;
  op->ctl_len = 0;
  op->how = 0;
  op->flags = 0;
}

SC_NO_COVERAGE static void zero_peer(sc_layout_op *op) {
  op->peer = 0;
  op->chunk = 0;
  op->pause = 0;
}

SC_NO_COVERAGE static void zero_iov(sc_layout_iov *iov) {
  iov->count = 0;
  iov->nseg = 0;
  for (unsigned i = 0; i < SC_LAYOUT_MAX_SEGS; i++) {
    iov->seg[i].len = 0;
    iov->seg[i].null_base = 0;
  }
}

/* An op's peer fields in range: SEND readers, RECV writers (a fill always has its writer),
 * nothing for other types or without small buffers. */
ALIGNED_LOCAL void normalize_peer(sc_layout_op *op, uint8_t type, bool pressure) {
  uint8_t peer = 0;
  if (pressure && type == SC_OP_SEND) {
    peer = op->peer & SC_PEER_READER;
  } else if (pressure && type == SC_OP_RECV) {
    peer = op->peer & (SC_PEER_WRITER | SC_PEER_FILL);
    peer = peer != 0 ? (uint8_t)(peer | SC_PEER_WRITER) : 0;
  }
  if (peer == 0) {
    zero_peer(op);
    return;
  }
  op->peer = peer;
  op->chunk = op->chunk % SC_LAYOUT_PEER_CHUNK_CLASSES;
  op->pause = op->pause % (SC_LAYOUT_PEER_PAUSE_MAX + 1);
}

ALIGNED_LOCAL void normalize_layout(sc_layout *l) {
  bool closed[2] = {false, false};
  size_t budget = SC_LAYOUT_MAX_TOTAL;
  size_t unread[2] = {0, 0}; /* small buffers: bytes sent to each end since its last reader */
  l->kind %= SC_LAYOUT_KIND_COUNT;
  l->nonblock &= 1;
  l->sndbuf = l->kind == SC_LAYOUT_STREAM ? l->sndbuf % SC_LAYOUT_SNDBUF_CLASSES : 0;
  bool pressure = l->sndbuf != 0;
  if (l->nops > SC_LAYOUT_MAX_OPS) {
    l->nops = SC_LAYOUT_MAX_OPS;
  }
  for (unsigned i = 0; i < l->nops; i++) {
    sc_layout_op *op = &l->op[i];
    uint8_t type = op->type % SC_OP_TYPE_COUNT;
    uint8_t end = op->end & 1;
    if (closed[0] && closed[1]) {
      l->nops = (uint8_t)i;
      break;
    }
    if (closed[end]) {
      end ^= 1;
    }
    normalize_peer(op, type, pressure);
    /* In place (no struct copies: each is a sanitizer memcpy call): the fields the type uses
     * are brought into range, the others zeroed. */
    switch (type) {
      case SC_OP_SEND: {
        uint8_t ctl = op->ctl % SC_CTL_COUNT;
        uint8_t name = op->name % SC_NAME_COUNT;
        uint8_t nfds = 0;
        if (ctl == SC_CTL_RIGHTS) {
          nfds = op->nfds < 1 ? 1 : (op->nfds > SC_LAYOUT_MAX_FDS ? SC_LAYOUT_MAX_FDS : op->nfds);
        }
        int flags = op->flags & SC_LAYOUT_SEND_FLAGS;
        if (l->kind == SC_LAYOUT_UDP) {
          flags &= ~MSG_MORE; /* UDP corking is not modelled */
        }
        uint8_t big = (l->kind != SC_LAYOUT_STREAM) ? (op->big & 1) : 0;
        uint8_t seed = op->seed;
        zero_scalars(op);
        op->name = name;
        op->ctl = ctl;
        op->nfds = nfds;
        op->flags = flags;
        op->big = big;
        op->seed = seed;
        size_t cap = budget;
        bool reader = (op->peer & SC_PEER_READER) != 0;
        /* a stream send attaches its descriptors to its first skb: with a reader, no cap */
        if (ctl == SC_CTL_RIGHTS && cap > SC_LAYOUT_MAX_RIGHTS_SEND && !reader) {
          cap = SC_LAYOUT_MAX_RIGHTS_SEND;
        }
        if (pressure && !reader && cap > SC_LAYOUT_UNREAD_MAX - unread[end ^ 1u]) {
          cap = SC_LAYOUT_UNREAD_MAX - unread[end ^ 1u]; /* no reader: must fit the buffer */
        }
        normalize_iov(&op->iov, true, cap);
        budget -= list_total(&op->iov);
        unread[end ^ 1u] = reader ? 0 : unread[end ^ 1u] + list_total(&op->iov);
        break;
      }
      case SC_OP_RECV: {
        uint8_t ctl_len = op->ctl_len > SC_LAYOUT_MAX_CTL ? SC_LAYOUT_MAX_CTL : op->ctl_len;
        int flags = op->flags & SC_LAYOUT_RECV_FLAGS;
        zero_scalars(op);
        op->ctl_len = ctl_len;
        op->flags = flags;
        normalize_iov(&op->iov, false,
                      op->peer != 0 ? SC_LAYOUT_PEER_ROOM_MAX : SC_LAYOUT_MAX_TOTAL);
        break;
      }
      case SC_OP_SHUTDOWN: {
        uint8_t how = op->how % 3;
        zero_scalars(op);
        zero_iov(&op->iov);
        op->how = how;
        break;
      }
      case SC_OP_CLOSE:
        zero_scalars(op);
        zero_iov(&op->iov);
        closed[end] = true;
        break;
      default:
        zero_scalars(op);
        zero_iov(&op->iov);
        break;
    }
    op->type = type;
    op->end = end;
  }
  memset(&l->op[l->nops], 0, (SC_LAYOUT_MAX_OPS - l->nops) * sizeof l->op[0]);
}

void sc_layout_normalize(sc_layout *l) {
  sc_layout tmp; /* see ALIGNED_LOCAL */
  sc_layout *tp = &tmp;
  memcpy(tp, l, sizeof tmp);
  normalize_layout(tp);
  memcpy(l, tp, sizeof tmp);
}

/* in[0..DECODE_COPY) = the first bytes of data, then zeros. */
SC_NO_COVERAGE static void decode_copy(uint8_t *in, const uint8_t *data, size_t size) {
  size_t n = data == NULL ? 0 : (size < DECODE_COPY ? size : DECODE_COPY);
  if (n > 0) {
    memcpy(in, data, n);
  }
  memset(in + n, 0, DECODE_COPY - n);
}

void sc_layout_decode(const uint8_t *data, size_t size, sc_layout *out) {
  uint8_t in[DECODE_COPY];
  decode_copy(in, data, size);
  reader r = {.p = in};
  sc_layout l; /* see ALIGNED_LOCAL */
  sc_layout *lp = &l;
  memset(lp, 0, sizeof l);
  lp->kind = rd8(&r) % SC_LAYOUT_KIND_COUNT;
  lp->nonblock = rd8(&r) & 1;
  lp->nops = read_nops(&r);
  for (unsigned i = 0; i < lp->nops; i++) {
    sc_layout_op *op = &lp->op[i];
    op->type = rd8(&r) % SC_OP_TYPE_COUNT;
    op->end = rd8(&r) & 1;
    switch (op->type) {
      case SC_OP_SEND:
        read_iov(&r, &op->iov);
        op->name = rd8(&r) % SC_NAME_COUNT;
        op->ctl = rd8(&r) % SC_CTL_COUNT;
        op->nfds = (uint8_t)(rd8(&r) % SC_LAYOUT_MAX_FDS + 1);
        op->flags = bits_to_flags(rd8(&r), send_flag_bits, NBITS(send_flag_bits));
        op->big = rd8(&r) & 1;
        op->seed = rd8(&r);
        break;
      case SC_OP_RECV:
        read_iov(&r, &op->iov);
        op->ctl_len = (uint8_t)(rd8(&r) % (SC_LAYOUT_MAX_CTL + 1));
        op->flags = bits_to_flags(rd8(&r), recv_flag_bits, NBITS(recv_flag_bits));
        break;
      case SC_OP_SHUTDOWN:
        op->how = rd8(&r) % 3;
        break;
      case SC_OP_CLOSE:
        break;
      default:
        break;
    }
  }
  if (rd8(&r) == EXT_MAGIC) {
    lp->sndbuf = rd8(&r) % SC_LAYOUT_SNDBUF_CLASSES;
    for (unsigned i = 0; i < lp->nops; i++) {
      lp->op[i].peer = rd8(&r);
      lp->op[i].chunk = rd8(&r);
      lp->op[i].pause = rd8(&r);
    }
  }
  normalize_layout(lp);
  memcpy(out, lp, sizeof l);
}

/* The encoder knows its length before it writes (sc_layout_encoded_len): a buffer below it is
 * -ENOSPC at once, untouched, and the writer needs no end test. The writer's helpers are only
 * called from SC_NO_COVERAGE functions: always inlined there, they are neither instrumented
 * nor a call per byte. */
typedef struct writer {
  uint8_t *p;
  size_t len;
} writer;

static inline __attribute__((always_inline)) void wr8(writer *w, unsigned v) {
  w->p[w->len++] = (uint8_t)v;
}

static inline __attribute__((always_inline)) void wr16(writer *w, unsigned v) {
  wr8(w, v & 0xff);
  wr8(w, (v >> 8) & 0xff);
}

static inline __attribute__((always_inline)) void write_iov(writer *w, const sc_layout_iov *iov) {
  unsigned nseg = seg_count(iov);
  if (iov->count <= COUNT_TINY_MAX) {
    wr8(w, iov->count);
  } else if (iov->count <= COUNT_SMALL_MAX) {
    wr8(w, COUNT_MID + iov->count);
  } else {
    wr8(w, COUNT_WIDE);
    wr16(w, iov->count);
  }
  wr8(w, nseg - 1);
  for (unsigned i = 0; i < nseg; i++) {
    wr16(w, iov->seg[i].len);
    wr8(w, iov->seg[i].null_base);
  }
}

/* Bytes write_iov writes for iov. */
static inline __attribute__((always_inline)) size_t iov_encoded_len(const sc_layout_iov *iov) {
  size_t nseg = seg_count(iov);
  return (iov->count <= COUNT_SMALL_MAX ? 1u : 3u) + 1u + 3u * nseg;
}

/* Ops encoded (at most SC_LAYOUT_MAX_OPS). */
static inline __attribute__((always_inline)) unsigned ops_encoded(const sc_layout *l) {
  return l->nops < SC_LAYOUT_MAX_OPS ? l->nops : SC_LAYOUT_MAX_OPS;
}

SC_NO_COVERAGE size_t sc_layout_encoded_len(const sc_layout *l) {
  size_t len = 3 + (l->sndbuf != 0 ? 2u + 3u * ops_encoded(l) : 0u);
  for (unsigned i = 0; i < l->nops && i < SC_LAYOUT_MAX_OPS; i++) {
    const sc_layout_op *op = &l->op[i];
    len += 2;
    switch (op->type) {
      case SC_OP_SEND:
        len += iov_encoded_len(&op->iov) + 6;
        break;
      case SC_OP_RECV:
        len += iov_encoded_len(&op->iov) + 2;
        break;
      case SC_OP_SHUTDOWN:
        len += 1;
        break;
      case SC_OP_CLOSE:
        break;
      default:
        break;
    }
  }
  return len;
}

SC_NO_COVERAGE int sc_layout_encode(const sc_layout *l, uint8_t *buf, size_t cap) {
  size_t need = sc_layout_encoded_len(l);
  if (buf == NULL || cap < need) {
    return -ENOSPC;
  }
  writer w = {.p = buf, .len = 0};
  wr8(&w, l->kind);
  wr8(&w, l->nonblock);
  wr8(&w, l->nops <= 2 ? l->nops : NOPS_WIDE + l->nops);
  for (unsigned i = 0; i < l->nops && i < SC_LAYOUT_MAX_OPS; i++) {
    const sc_layout_op *op = &l->op[i];
    wr8(&w, op->type);
    wr8(&w, op->end);
    switch (op->type) {
      case SC_OP_SEND:
        write_iov(&w, &op->iov);
        wr8(&w, op->name);
        wr8(&w, op->ctl);
        wr8(&w, op->nfds > 0 ? op->nfds - 1u : 0u);
        wr8(&w, flags_to_bits(op->flags, send_flag_bits, NBITS(send_flag_bits)));
        wr8(&w, op->big);
        wr8(&w, op->seed);
        break;
      case SC_OP_RECV:
        write_iov(&w, &op->iov);
        wr8(&w, op->ctl_len);
        wr8(&w, flags_to_bits(op->flags, recv_flag_bits, NBITS(recv_flag_bits)));
        break;
      case SC_OP_SHUTDOWN:
        wr8(&w, op->how);
        break;
      case SC_OP_CLOSE:
        break;
      default:
        break;
    }
  }
  if (l->sndbuf != 0) {
    wr8(&w, EXT_MAGIC);
    wr8(&w, l->sndbuf);
    for (unsigned i = 0; i < ops_encoded(l); i++) {
      wr8(&w, l->op[i].peer);
      wr8(&w, l->op[i].chunk);
      wr8(&w, l->op[i].pause);
    }
  }
  return (int)w.len; /* == need */
}

SC_NO_COVERAGE static bool iov_equal(const sc_layout_iov *a, const sc_layout_iov *b) {
  if (a->count != b->count || a->nseg != b->nseg) {
    return false;
  }
  for (unsigned i = 0; i < a->nseg && i < SC_LAYOUT_MAX_SEGS; i++) {
    if (a->seg[i].len != b->seg[i].len || a->seg[i].null_base != b->seg[i].null_base) {
      return false;
    }
  }
  return true;
}

SC_NO_COVERAGE bool sc_layout_equal(const sc_layout *a, const sc_layout *b) {
  if (a->kind != b->kind || a->nonblock != b->nonblock || a->nops != b->nops ||
      a->sndbuf != b->sndbuf) {
    return false;
  }
  for (unsigned i = 0; i < a->nops && i < SC_LAYOUT_MAX_OPS; i++) {
    const sc_layout_op *x = &a->op[i];
    const sc_layout_op *y = &b->op[i];
    if (x->type != y->type || x->end != y->end || !iov_equal(&x->iov, &y->iov) ||
        x->name != y->name || x->ctl != y->ctl || x->nfds != y->nfds || x->big != y->big ||
        x->seed != y->seed || x->ctl_len != y->ctl_len || x->how != y->how ||
        x->flags != y->flags || x->peer != y->peer || x->chunk != y->chunk ||
        x->pause != y->pause) {
      return false;
    }
  }
  return true;
}

SC_NO_COVERAGE size_t sc_layout_iov_count(const sc_layout_op *op) {
  return (size_t)op->iov.count + (op->type == SC_OP_SEND && op->big ? 1u : 0u);
}

SC_NO_COVERAGE size_t sc_layout_iov_total(const sc_layout_op *op) {
  return list_total(&op->iov) + (op->type == SC_OP_SEND && op->big ? SC_LAYOUT_BIG_LEN : 0u);
}

SC_NO_COVERAGE int sc_layout_sndbuf(const sc_layout *l) {
  return l->sndbuf == 0 ? 0 : 8192 << ((l->sndbuf - 1) % (SC_LAYOUT_SNDBUF_CLASSES - 1));
}

SC_NO_COVERAGE size_t sc_layout_peer_chunk(const sc_layout_op *op) {
  return ((size_t)op->chunk + 1u) * SC_LAYOUT_PEER_CHUNK_UNIT;
}

static void pattern_init(void) {
  if (g_pattern_ready) {
    return;
  }
  for (size_t i = 0; i < sizeof g_pattern; i++) {
    g_pattern[i] = (uint8_t)((i * 131u) ^ (i >> 7) ^ 0x5a);
  }
  g_pattern_ready = true;
}

/* Copies the first `have` entries over the rest of iov[0..n) by doubling: the list
 * is periodic, so this fills it in O(log n) memcpy calls. */
SC_NO_COVERAGE static void replicate(struct iovec *iov, size_t have, size_t n) {
  while (have < n) {
    size_t chunk = have < n - have ? have : n - have;
    memcpy(iov + have, iov, chunk * sizeof *iov);
    have += chunk;
  }
}

SC_NO_COVERAGE size_t sc_layout_send_iov(const sc_layout_op *op, struct iovec *iov, size_t cap) {
  pattern_init();
  unsigned nseg = seg_count(&op->iov);
  size_t n = op->iov.count < cap ? op->iov.count : cap;
  size_t first = nseg < n ? nseg : n;
  for (size_t i = 0; i < first; i++) {
    /* iovec i is shaped like seg[i % nseg], base included: the list is periodic */
    const sc_layout_seg *s = &op->iov.seg[i];
    size_t off = ((size_t)op->seed * 7u + i * 13u) % 256u;
    iov[i].iov_base = s->null_base ? NULL : (void *)(g_pattern + off);
    iov[i].iov_len = s->len;
  }
  replicate(iov, first, n);
  if (op->type == SC_OP_SEND && op->big && n < cap) {
    iov[n].iov_base = (void *)g_big;
    iov[n].iov_len = SC_LAYOUT_BIG_LEN;
    n++;
  }
  return n;
}

SC_NO_COVERAGE size_t sc_layout_recv_iov(const sc_layout_op *op, void *buf, size_t buf_len,
                                         struct iovec *iov, size_t cap) {
  size_t n = 0;
  size_t off = 0;
  unsigned nseg = seg_count(&op->iov);
  size_t count = op->iov.count < cap ? op->iov.count : cap;
  unsigned j = 0; /* n % nseg, without a division per entry */
  for (; n < count; n++) {
    size_t len = op->iov.seg[j].len;
    if (len > buf_len - off) {
      break;
    }
    iov[n].iov_base = (uint8_t *)buf + off;
    iov[n].iov_len = len;
    off += len;
    j = j + 1 == nseg ? 0 : j + 1;
  }
  return n;
}
