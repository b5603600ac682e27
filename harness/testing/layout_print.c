/* Layout: the printer (sc_layout_print, sc_layout_format and the name functions), one
 * line per op, written into one buffer without stdio. The decoder and encoder are
 * layout.c. */
#include "sctest/layout.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "layout_private.h"
#include "sctest/nocov.h"

/* The names, with their lengths: the printer takes them from these tables, where strlen would
 * be a call (a sanitizer interceptor) per name. */
typedef struct tb_name {
  const char *s;
  uint8_t n;
} tb_name;
#define TB_NAME(lit) \
  { lit, sizeof(lit) - 1 }

static const tb_name tb_kind_names[] = {TB_NAME("stream"), TB_NAME("dgram"), TB_NAME("seqpacket"),
                                        TB_NAME("udp")};
static const tb_name tb_op_names[] = {TB_NAME("SEND"), TB_NAME("RECV"), TB_NAME("CLOSE"),
                                      TB_NAME("SHUTDOWN")};
static const tb_name tb_name_mode_names[] = {TB_NAME("none"), TB_NAME("valid"), TB_NAME("short"),
                                             TB_NAME("oversize"), TB_NAME("null-with-len")};
static const tb_name tb_ctl_names[] = {TB_NAME("none"),         TB_NAME("rights"),
                                       TB_NAME("creds"),        TB_NAME("len-too-small"),
                                       TB_NAME("len-past-end"), TB_NAME("bad-fd")};
static const tb_name tb_send_flag_names[] = {TB_NAME("DONTWAIT"), TB_NAME("NOSIGNAL"),
                                             TB_NAME("EOR"), TB_NAME("MORE")};
static const tb_name tb_recv_flag_names[] = {TB_NAME("PEEK"), TB_NAME("TRUNC"), TB_NAME("WAITALL"),
                                             TB_NAME("DONTWAIT"), TB_NAME("CMSG_CLOEXEC")};
static const tb_name tb_unknown = TB_NAME("?");
static const tb_name tb_peer_names[] = {TB_NAME("none"), TB_NAME("writer"), TB_NAME("?"),
                                        TB_NAME("fill")};
static const tb_name tb_shut_rd = TB_NAME("SHUT_RD");
static const tb_name tb_shut_wr = TB_NAME("SHUT_WR");
static const tb_name tb_shut_rdwr = TB_NAME("SHUT_RDWR");

const char *sc_layout_kind_name(unsigned kind) {
  return kind < NBITS(tb_kind_names) ? tb_kind_names[kind].s : tb_unknown.s;
}

const char *sc_layout_op_name(unsigned type) {
  return type < NBITS(tb_op_names) ? tb_op_names[type].s : tb_unknown.s;
}

const char *sc_layout_name_mode_name(unsigned name) {
  return name < NBITS(tb_name_mode_names) ? tb_name_mode_names[name].s : tb_unknown.s;
}

const char *sc_layout_ctl_name(unsigned ctl) {
  return ctl < NBITS(tb_ctl_names) ? tb_ctl_names[ctl].s : tb_unknown.s;
}

/* The printer formats into a buffer and hands it to stdio with one fwrite per PRINT_BUF bytes
 * (one per layout in practice), instead of one fprintf per field: the text is byte-for-byte
 * what "%u", "%zu", "%s" and "%-8s" give, at a fraction of the cost (the layout fuzz target
 * formats every input, and the sanitizers' printf interceptors dominated it).
 * sc_layout_format uses the same code on the caller's buffer, with no stdio at all. The
 * helpers are mechanical: every branch in them follows a field's value, which the decoder's
 * own (instrumented) branches already distinguish, so they stay out of coverage tracing. */
#define PRINT_BUF 1024

typedef struct textbuf {
  FILE *out; /* NULL: sc_layout_format, the text must fit b[0..cap) */
  char *b;
  size_t cap;
  size_t len;
  bool overflow; /* sc_layout_format: some text did not fit */
} textbuf;

/* Always inlined into the SC_NO_COVERAGE printers: neither instrumented nor a call per field.
 * TB_NO_MEMCPY keeps clang from turning tb_putn's few-byte copies into memcpy calls (under ASan,
 * each a checked __asan_memcpy call, slower than the bytes themselves). */
#define TB_INLINE static inline __attribute__((always_inline))
/* Unaligned, aliasing-safe words for tb_putn's copies. */
typedef uint64_t tb_u64 __attribute__((aligned(1), may_alias));
typedef uint32_t tb_u32 __attribute__((aligned(1), may_alias));
#if defined(__clang__)
#define TB_NO_MEMCPY __attribute__((no_builtin("memcpy")))
#else
#define TB_NO_MEMCPY
#endif

SC_NO_COVERAGE static void tb_flush(textbuf *t) {
  if (t->len > 0 && t->out != NULL) {
    (void)fwrite(t->b, 1, t->len, t->out); /* a short write shows in ferror(out) */
    t->len = 0;
  }
}

/* The printers write through a cursor, a local copy of the textbuf's buffer, room and length
 * whose address never escapes (the helpers are inlined, the slow path gets the length by
 * value): it stays in registers. Through the textbuf pointer, every byte stored into the text
 * (a char store may alias anything) would force the fields to be reloaded, each with UBSan's
 * checks. The length goes back to the textbuf (tb_sync) around calls to other printers. */
typedef struct tb_cur {
  char *b;
  size_t cap;
  size_t len;
  textbuf *t;
} tb_cur;

#define TB_OPEN(tp) \
  { .b = (tp)->b, .cap = (tp)->cap, .len = (tp)->len, .t = (tp) }
#define TB_SYNC(cur) ((cur).t->len = (cur).len)
#define TB_RELOAD(cur) ((cur).len = (cur).t->len)

/* tb_putn's slow path, when s[0..n) does not fit the room left after len: out of line.
 * Returns the new length. */
SC_NO_COVERAGE static size_t tb_spill(textbuf *t, size_t len, const char *s, size_t n) {
  if (t->out == NULL) {
    t->overflow = true;
    return len;
  }
  t->len = len;
  tb_flush(t);
  if (n > t->cap) {
    (void)fwrite(s, 1, n, t->out);
    return 0;
  }
  memcpy(t->b, s, n);
  return n;
}

TB_INLINE void tb_putn(tb_cur *c, const char *s, size_t n) {
  if (n > c->cap - c->len) {
    c->len = tb_spill(c->t, c->len, s, n);
    return;
  }
  char *d = c->b + c->len;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) { /* a literal's length is known here: a few wide moves */
    *(tb_u64 *)(d + i) = *(const tb_u64 *)(s + i);
  }
  if (n - i >= 4) {
    *(tb_u32 *)(d + i) = *(const tb_u32 *)(s + i);
    i += 4;
  }
  for (; i < n; i++) {
    d[i] = s[i];
  }
  c->len += n;
}

TB_INLINE void tb_puts(tb_cur *c, const char *s) {
  tb_putn(c, s, strlen(s)); /* for literals: strlen folds to a constant */
}

/* names[v], or "?" (as the sc_layout_*_name functions give). */
TB_INLINE tb_name tb_pick(const tb_name *names, size_t count, unsigned v) {
  return v < count ? names[v] : tb_unknown;
}

TB_INLINE void tb_put_name(tb_cur *c, tb_name name) {
  tb_putn(c, name.s, name.n);
}

/* "%-width s": s, then spaces up to width characters. */
TB_INLINE void tb_put_name_pad(tb_cur *c, tb_name name, size_t width) {
  size_t n = name.n;
  tb_putn(c, name.s, n);
  for (; n < width; n++) {
    tb_putn(c, " ", 1);
  }
}

/* "%u" / "%zu". */
TB_INLINE void tb_putu(tb_cur *c, size_t v) {
  char d[24];
  size_t i = sizeof d;
  do {
    d[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  tb_putn(c, d + i, sizeof d - i);
}

TB_NO_MEMCPY SC_NO_COVERAGE static void print_flags(textbuf *t, int flags, const int *map,
                                                    const tb_name *names, size_t n) {
  tb_cur c = TB_OPEN(t);
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    if (flags & map[i]) {
      if (any) {
        tb_putn(&c, "|", 1);
      }
      tb_put_name(&c, names[i]);
      any = true;
    }
  }
  if (!any) {
    tb_putn(&c, "0", 1);
  }
  TB_SYNC(c);
}

TB_NO_MEMCPY SC_NO_COVERAGE static void print_iov(textbuf *t, const sc_layout_iov *iov) {
  tb_cur c = TB_OPEN(t);
  tb_puts(&c, "iov=");
  tb_putu(&c, iov->count);
  tb_puts(&c, "x{");
  for (unsigned i = 0, nseg = seg_count(iov); i < nseg; i++) {
    if (i > 0) {
      tb_putn(&c, ",", 1);
    }
    if (iov->seg[i].null_base) {
      tb_puts(&c, "NULL:");
    }
    tb_putu(&c, iov->seg[i].len);
  }
  tb_putn(&c, "}", 1);
  TB_SYNC(c);
}

TB_NO_MEMCPY SC_NO_COVERAGE static void print_op(textbuf *t, unsigned i, const sc_layout_op *op) {
  tb_cur c = TB_OPEN(t);
  tb_puts(&c, "  [");
  tb_putu(&c, i);
  tb_puts(&c, "] ");
  tb_put_name_pad(&c, tb_pick(tb_op_names, NBITS(tb_op_names), op->type), 8);
  tb_puts(&c, " end=");
  tb_putu(&c, op->end);
  switch (op->type) {
    case SC_OP_SEND:
      tb_putn(&c, " ", 1);
      TB_SYNC(c);
      print_iov(t, &op->iov);
      TB_RELOAD(c);
      tb_puts(&c, op->big ? "+big total=" : " total=");
      tb_putu(&c, sc_layout_iov_total(op));
      tb_puts(&c, " name=");
      tb_put_name(&c, tb_pick(tb_name_mode_names, NBITS(tb_name_mode_names), op->name));
      tb_puts(&c, " ctl=");
      tb_put_name(&c, tb_pick(tb_ctl_names, NBITS(tb_ctl_names), op->ctl));
      if (op->ctl == SC_CTL_RIGHTS) {
        tb_putn(&c, "(", 1);
        tb_putu(&c, op->nfds);
        tb_puts(&c, " fds)");
      }
      tb_puts(&c, " flags=");
      TB_SYNC(c);
      print_flags(t, op->flags, send_flag_bits, tb_send_flag_names, NBITS(send_flag_bits));
      TB_RELOAD(c);
      tb_puts(&c, " seed=");
      tb_putu(&c, op->seed);
      if (op->peer != 0) {
        tb_puts(&c, " peer=reader");
      }
      break;
    case SC_OP_RECV:
      tb_putn(&c, " ", 1);
      TB_SYNC(c);
      print_iov(t, &op->iov);
      TB_RELOAD(c);
      tb_puts(&c, " room=");
      tb_putu(&c, sc_layout_iov_total(op));
      tb_puts(&c, " ctl_len=");
      tb_putu(&c, op->ctl_len);
      tb_puts(&c, " flags=");
      TB_SYNC(c);
      print_flags(t, op->flags, recv_flag_bits, tb_recv_flag_names, NBITS(recv_flag_bits));
      TB_RELOAD(c);
      if (op->peer != 0) {
        tb_puts(&c, " peer=");
        tb_put_name(&c, tb_pick(tb_peer_names, NBITS(tb_peer_names), op->peer));
      }
      break;
    case SC_OP_SHUTDOWN:
      tb_puts(&c, " how=");
      tb_put_name(
          &c, op->how == SHUT_RD ? tb_shut_rd : (op->how == SHUT_WR ? tb_shut_wr : tb_shut_rdwr));
      break;
    case SC_OP_CLOSE:
      break;
    default:
      break;
  }
  if (op->peer != 0) {
    tb_puts(&c, " chunk=");
    tb_putu(&c, sc_layout_peer_chunk(op));
    tb_puts(&c, " pause=");
    tb_putu(&c, op->pause * 100u);
    tb_puts(&c, "us");
  }
  tb_putn(&c, "\n", 1);
  TB_SYNC(c);
}

TB_NO_MEMCPY SC_NO_COVERAGE static void format_layout(textbuf *t, const sc_layout *l) {
  tb_cur c = TB_OPEN(t);
  tb_puts(&c, "layout: ");
  tb_put_name(&c, tb_pick(tb_kind_names, NBITS(tb_kind_names), l->kind));
  tb_puts(&c, l->nonblock ? " nonblocking, " : " blocking, ");
  tb_putu(&c, l->nops);
  tb_puts(&c, l->nops == 1 ? " op" : " ops");
  if (l->sndbuf != 0) {
    tb_puts(&c, ", SO_SNDBUF ");
    tb_putu(&c, (size_t)sc_layout_sndbuf(l));
  }
  tb_putn(&c, "\n", 1);
  for (unsigned i = 0; i < l->nops && i < SC_LAYOUT_MAX_OPS; i++) {
    TB_SYNC(c);
    print_op(t, i, &l->op[i]);
    TB_RELOAD(c);
  }
  TB_SYNC(c);
}

SC_NO_COVERAGE int sc_layout_print(const sc_layout *l, FILE *out) {
  char b[PRINT_BUF];
  textbuf t = {.out = out, .b = b, .cap = sizeof b, .len = 0, .overflow = false};
  format_layout(&t, l);
  tb_flush(&t);
  return ferror(out) ? -EIO : 0;
}

SC_NO_COVERAGE int sc_layout_format(const sc_layout *l, char *buf, size_t cap) {
  if (buf == NULL || cap == 0) {
    return -ENOSPC;
  }
  textbuf t = {.out = NULL, .b = buf, .cap = cap - 1, .len = 0, .overflow = false};
  format_layout(&t, l);
  if (t.overflow || t.len > (size_t)INT_MAX) {
    buf[0] = '\0';
    return -ENOSPC;
  }
  buf[t.len] = '\0';
  return (int)t.len;
}
