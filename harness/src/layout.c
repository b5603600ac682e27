/* Layout: decoder, normaliser, encoder and printer of msghdr operation sequences.
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
 * Random bytes mostly give short layouts (1-2 ops, 0-3 iovecs per list): most executions
 * stay cheap, while any length up to the maxima stays reachable. */
#include "sockcheck/layout.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "nocov.h"

static const int send_flag_bits[] = {MSG_DONTWAIT, MSG_NOSIGNAL, MSG_EOR, MSG_MORE};
static const int recv_flag_bits[] = {MSG_PEEK, MSG_TRUNC, MSG_WAITALL, MSG_DONTWAIT,
                                     MSG_CMSG_CLOEXEC};
static const char *const send_flag_names[] = {"DONTWAIT", "NOSIGNAL", "EOR", "MORE"};
static const char *const recv_flag_names[] = {"PEEK", "TRUNC", "WAITALL", "DONTWAIT",
                                              "CMSG_CLOEXEC"};
#define NBITS(a) (sizeof(a) / sizeof((a)[0]))

/* The iovec builders are mechanical loops over up to 1030 entries, and the byte reader
 * is bookkeeping: SC_NO_COVERAGE keeps them out of libFuzzer's comparison tracing,
 * which otherwise dominates the msghdr target's time. */

static uint8_t g_pattern[SC_LAYOUT_PATTERN_LEN];
static bool g_pattern_ready;
static const uint8_t g_big[SC_LAYOUT_BIG_LEN];

typedef struct reader {
  const uint8_t *p;
  size_t left;
} reader;

SC_NO_COVERAGE static uint8_t rd8(reader *r) {
  if (r->left == 0) {
    return 0;
  }
  r->left--;
  return *r->p++;
}

SC_NO_COVERAGE static uint16_t rd16(reader *r) {
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

static void read_iov(reader *r, sc_layout_iov *iov) {
  iov->count = read_count(r);
  iov->nseg = (uint8_t)(rd8(r) % SC_LAYOUT_MAX_SEGS + 1);
  for (unsigned i = 0; i < iov->nseg; i++) {
    iov->seg[i].len = (uint16_t)(rd16(r) % (SC_LAYOUT_MAX_SEG_LEN + 1));
    iov->seg[i].null_base = rd8(r) & 1;
  }
}

void sc_layout_decode(const uint8_t *data, size_t size, sc_layout *out) {
  reader r = {.p = data, .left = data != NULL ? size : 0};
  memset(out, 0, sizeof *out);
  out->kind = rd8(&r) % SC_LAYOUT_KIND_COUNT;
  out->nonblock = rd8(&r) & 1;
  out->nops = read_nops(&r);
  for (unsigned i = 0; i < out->nops; i++) {
    sc_layout_op *op = &out->op[i];
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
  sc_layout_normalize(out);
}

SC_NO_COVERAGE static size_t list_total(const sc_layout_iov *iov) {
  if (iov->nseg == 0) {
    return 0;
  }
  size_t total = 0;
  for (unsigned i = 0; i < iov->nseg && i < iov->count; i++) {
    /* entries i, i + nseg, i + 2 nseg ... share shape i */
    size_t reps = (iov->count - i + iov->nseg - 1) / iov->nseg;
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
static void normalize_iov(sc_layout_iov *iov, bool allow_null, size_t cap) {
  if (iov->count > SC_LAYOUT_MAX_IOV) {
    iov->count = SC_LAYOUT_MAX_IOV;
  }
  if (iov->nseg < 1) {
    iov->nseg = 1;
  }
  if (iov->nseg > SC_LAYOUT_MAX_SEGS) {
    iov->nseg = SC_LAYOUT_MAX_SEGS;
  }
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

void sc_layout_normalize(sc_layout *l) {
  bool closed[2] = {false, false};
  size_t budget = SC_LAYOUT_MAX_TOTAL;
  l->kind %= SC_LAYOUT_KIND_COUNT;
  l->nonblock &= 1;
  if (l->nops > SC_LAYOUT_MAX_OPS) {
    l->nops = SC_LAYOUT_MAX_OPS;
  }
  for (unsigned i = 0; i < l->nops; i++) {
    sc_layout_op *op = &l->op[i];
    sc_layout_op n;
    memset(&n, 0, sizeof n);
    n.type = op->type % SC_OP_TYPE_COUNT;
    n.end = op->end & 1;
    if (closed[0] && closed[1]) {
      l->nops = (uint8_t)i;
      break;
    }
    if (closed[n.end]) {
      n.end ^= 1;
    }
    switch (n.type) {
      case SC_OP_SEND: {
        n.iov = op->iov;
        n.name = op->name % SC_NAME_COUNT;
        n.ctl = op->ctl % SC_CTL_COUNT;
        if (n.ctl == SC_CTL_RIGHTS) {
          n.nfds = op->nfds < 1 ? 1 : (op->nfds > SC_LAYOUT_MAX_FDS ? SC_LAYOUT_MAX_FDS : op->nfds);
        }
        n.flags = op->flags & SC_LAYOUT_SEND_FLAGS;
        if (l->kind == SC_LAYOUT_UDP) {
          n.flags &= ~MSG_MORE; /* UDP corking is not modelled */
        }
        n.big = (l->kind != SC_LAYOUT_STREAM) ? (op->big & 1) : 0;
        n.seed = op->seed;
        size_t cap = budget;
        if (n.ctl == SC_CTL_RIGHTS && cap > SC_LAYOUT_MAX_RIGHTS_SEND) {
          cap = SC_LAYOUT_MAX_RIGHTS_SEND;
        }
        normalize_iov(&n.iov, true, cap);
        budget -= list_total(&n.iov);
        break;
      }
      case SC_OP_RECV:
        n.iov = op->iov;
        n.ctl_len = op->ctl_len > SC_LAYOUT_MAX_CTL ? SC_LAYOUT_MAX_CTL : op->ctl_len;
        n.flags = op->flags & SC_LAYOUT_RECV_FLAGS;
        normalize_iov(&n.iov, false, SC_LAYOUT_MAX_TOTAL);
        break;
      case SC_OP_SHUTDOWN:
        n.how = op->how % 3;
        break;
      case SC_OP_CLOSE:
        closed[n.end] = true;
        break;
      default:
        break;
    }
    *op = n;
  }
  memset(&l->op[l->nops], 0, (SC_LAYOUT_MAX_OPS - l->nops) * sizeof l->op[0]);
}

/* The writer's helpers are only called from SC_NO_COVERAGE functions: always inlined there,
 * they are neither instrumented nor a call per byte. */
typedef struct writer {
  uint8_t *p;
  size_t cap;
  size_t len;
} writer;

static inline __attribute__((always_inline)) void wr8(writer *w, unsigned v) {
  if (w->len < w->cap) {
    w->p[w->len] = (uint8_t)v;
  }
  w->len++;
}

static inline __attribute__((always_inline)) void wr16(writer *w, unsigned v) {
  wr8(w, v & 0xff);
  wr8(w, (v >> 8) & 0xff);
}

SC_NO_COVERAGE static void write_iov(writer *w, const sc_layout_iov *iov) {
  unsigned nseg = iov->nseg < 1 ? 1 : iov->nseg;
  if (iov->count <= COUNT_TINY_MAX) {
    wr8(w, iov->count);
  } else if (iov->count <= COUNT_SMALL_MAX) {
    wr8(w, COUNT_MID + iov->count);
  } else {
    wr8(w, COUNT_WIDE);
    wr16(w, iov->count);
  }
  wr8(w, nseg - 1);
  for (unsigned i = 0; i < nseg && i < SC_LAYOUT_MAX_SEGS; i++) {
    wr16(w, iov->seg[i].len);
    wr8(w, iov->seg[i].null_base);
  }
}

SC_NO_COVERAGE int sc_layout_encode(const sc_layout *l, uint8_t *buf, size_t cap) {
  writer w = {.p = buf, .cap = buf != NULL ? cap : 0, .len = 0};
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
  if (w.len > w.cap) {
    return -ENOSPC;
  }
  return (int)w.len;
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
  if (a->kind != b->kind || a->nonblock != b->nonblock || a->nops != b->nops) {
    return false;
  }
  for (unsigned i = 0; i < a->nops && i < SC_LAYOUT_MAX_OPS; i++) {
    const sc_layout_op *x = &a->op[i];
    const sc_layout_op *y = &b->op[i];
    if (x->type != y->type || x->end != y->end || !iov_equal(&x->iov, &y->iov) ||
        x->name != y->name || x->ctl != y->ctl || x->nfds != y->nfds || x->big != y->big ||
        x->seed != y->seed || x->ctl_len != y->ctl_len || x->how != y->how ||
        x->flags != y->flags) {
      return false;
    }
  }
  return true;
}

size_t sc_layout_iov_count(const sc_layout_op *op) {
  return (size_t)op->iov.count + (op->type == SC_OP_SEND && op->big ? 1u : 0u);
}

size_t sc_layout_iov_total(const sc_layout_op *op) {
  return list_total(&op->iov) + (op->type == SC_OP_SEND && op->big ? SC_LAYOUT_BIG_LEN : 0u);
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
  unsigned nseg = op->iov.nseg < 1 ? 1 : op->iov.nseg;
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
  unsigned nseg = op->iov.nseg < 1 ? 1 : op->iov.nseg;
  for (size_t i = 0; i < op->iov.count && n < cap; i++, n++) {
    size_t len = op->iov.seg[i % nseg].len;
    if (len > buf_len - off) {
      break;
    }
    iov[n].iov_base = (uint8_t *)buf + off;
    iov[n].iov_len = len;
    off += len;
  }
  return n;
}

const char *sc_layout_kind_name(unsigned kind) {
  static const char *const names[] = {"stream", "dgram", "seqpacket", "udp"};
  return kind < SC_LAYOUT_KIND_COUNT ? names[kind] : "?";
}

const char *sc_layout_op_name(unsigned type) {
  static const char *const names[] = {"SEND", "RECV", "CLOSE", "SHUTDOWN"};
  return type < SC_OP_TYPE_COUNT ? names[type] : "?";
}

const char *sc_layout_name_mode_name(unsigned name) {
  static const char *const names[] = {"none", "valid", "short", "oversize", "null-with-len"};
  return name < SC_NAME_COUNT ? names[name] : "?";
}

const char *sc_layout_ctl_name(unsigned ctl) {
  static const char *const names[] = {"none",          "rights",       "creds",
                                      "len-too-small", "len-past-end", "bad-fd"};
  return ctl < SC_CTL_COUNT ? names[ctl] : "?";
}

SC_NO_COVERAGE static void print_flags(FILE *out, int flags, const int *map,
                                       const char *const *names, size_t n) {
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    if (flags & map[i]) {
      fprintf(out, "%s%s", any ? "|" : "", names[i]);
      any = true;
    }
  }
  if (!any) {
    fputs("0", out);
  }
}

SC_NO_COVERAGE static void print_iov(FILE *out, const sc_layout_iov *iov) {
  fprintf(out, "iov=%ux{", iov->count);
  for (unsigned i = 0; i < iov->nseg && i < SC_LAYOUT_MAX_SEGS; i++) {
    fprintf(out, "%s%s%u", i ? "," : "", iov->seg[i].null_base ? "NULL:" : "", iov->seg[i].len);
  }
  fputs("}", out);
}

int sc_layout_print(const sc_layout *l, FILE *out) {
  fprintf(out, "layout: %s %s, %u op%s\n", sc_layout_kind_name(l->kind),
          l->nonblock ? "nonblocking" : "blocking", l->nops, l->nops == 1 ? "" : "s");
  for (unsigned i = 0; i < l->nops && i < SC_LAYOUT_MAX_OPS; i++) {
    const sc_layout_op *op = &l->op[i];
    fprintf(out, "  [%u] %-8s end=%u", i, sc_layout_op_name(op->type), op->end);
    switch (op->type) {
      case SC_OP_SEND:
        fputs(" ", out);
        print_iov(out, &op->iov);
        fprintf(out, "%s total=%zu name=%s ctl=%s", op->big ? "+big" : "", sc_layout_iov_total(op),
                sc_layout_name_mode_name(op->name), sc_layout_ctl_name(op->ctl));
        if (op->ctl == SC_CTL_RIGHTS) {
          fprintf(out, "(%u fds)", op->nfds);
        }
        fputs(" flags=", out);
        print_flags(out, op->flags, send_flag_bits, send_flag_names, NBITS(send_flag_bits));
        fprintf(out, " seed=%u", op->seed);
        break;
      case SC_OP_RECV:
        fputs(" ", out);
        print_iov(out, &op->iov);
        fprintf(out, " room=%zu ctl_len=%u flags=", sc_layout_iov_total(op), op->ctl_len);
        print_flags(out, op->flags, recv_flag_bits, recv_flag_names, NBITS(recv_flag_bits));
        break;
      case SC_OP_SHUTDOWN:
        fprintf(out, " how=%s",
                op->how == SHUT_RD ? "SHUT_RD" : (op->how == SHUT_WR ? "SHUT_WR" : "SHUT_RDWR"));
        break;
      case SC_OP_CLOSE:
        break;
      default:
        break;
    }
    fputs("\n", out);
  }
  return ferror(out) ? -EIO : 0;
}
