/* Fuzz target `cmsg`: ancillary data. Drives sc_cmsg_iter_init, sc_cmsg_next, sc_cmsg_rights,
 * sc_cmsg_creds on crafted control buffers, sc_cmsg_add_rights / sc_cmsg_add_creds on crafted
 * message lists, and (for a small share of inputs) sc_send_all + sc_recv_msg +
 * sc_cmsg_close_fds on a cached AF_UNIX datagram pair, passing two memfds.
 *
 * Properties asserted:
 *  - parsing (control copied into an exact-end window, so ASan sees any over-read; see
 *    window_open):
 *    sc_cmsg_next agrees step by step with an independent reference walk (same results, levels,
 *    types, payload pointers and lengths); every item lies inside the buffer; a cmsg_len below
 *    a header or past the end is -EINVAL and the cursor then stays at the end; a missing final
 *    padding is accepted; sc_cmsg_rights / sc_cmsg_creds return what the reference predicts
 *    (count and descriptors, -EINVAL, -ENOSPC) and never write past max;
 *  - building: add_rights / add_creds return 0, -EINVAL (0 or > SC_CMSG_MAX_FDS descriptors)
 *    or -ENOSPC exactly as predicted, advance *used by CMSG_SPACE, leave *used and the free
 *    space untouched on failure; parsing the result gives back the same messages, in order;
 *  - kernel round trip: the built control, sent with 1 byte, arrives without MSG_CTRUNC; the
 *    received descriptors refer to the same files, in order (fstat dev/ino of the first and
 *    last FSTAT_EACH_END, to keep the round trip cheap); the credentials are ours; every
 *    received descriptor is closed: up to CLOSE_EACH_MAX of them by sc_cmsg_close_fds, which
 *    must close exactly that many, more by one close_range per ascending run (close() where a
 *    run is a single descriptor or close_range is ENOSYS), each call succeeding (see
 *    close_received). Every distinct built control goes through the kernel once per process: a
 *    control already round-tripped (same length and 128-bit fingerprint, see sctest/seen.h) is
 *    not sent again, in campaigns only (SC_FUZZ_SEEN=1, set by `sockcheck fuzz`, where it
 *    measured a gain; replay, repro and the bite test check every input in full). In kernel
 *    mode the control's bytes are everything the round trip depends on (the descriptors are two
 * memfds opened once, the credentials our own, the queue is empty before each send), so its result
 * for those bytes is already known.
 *
 * Input: byte 0: bits 0-1 mode (0 raw, 1 crafted, 2-3 build), bits 2-7 a parameter p
 * (parse modes: the max passed to sc_cmsg_rights; mode 3 with p >= 60: kernel round trip).
 * Raw: the rest is the control buffer. Crafted: byte 1 & 31 bytes are cut from the end, then
 * records [k][l][l payload bytes]: k & 3 picks level/type, (k >> 2) & 7 the cmsg_len variant.
 * Build: 2 bytes of capacity, then records: k odd = credentials [pid][uid][gid], k even =
 * rights, nfds = (k & 2) ? 250 + ((k >> 2) & 7) : next byte, then one byte per descriptor. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <sanitizer/asan_interface.h>

#include "sockcheck/cmsg.h"
#include "sockcheck/error.h"
#include "sockcheck/msg.h"
#include "sockcheck/pair.h"
#include "sockcheck/transport.h"
#include "sctest/kfacts.h"
#include "support/check.h"
#include "support/hooks.h"
#include "sctest/seen.h"

#define HDR ((size_t)CMSG_LEN(0))
#define CRAFT_CAP 65536
#define MAX_RIGHTS_ARG 64
#define BUILD_CAP_MAX 8192
#define MAX_RECORDS 64
#define MAX_RECORD_FDS (SC_CMSG_MAX_FDS + 8)
#define FD_POISON (-77)
#define SPACE_POISON 0xee
#define KERNEL_PARAM_MIN 60
#define RECV_CONTROL \
  (CMSG_SPACE(SC_CMSG_MAX_FDS * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred)) + 64)

/* The kernel round trip fstats at most this many received descriptors at each end. */
#define FSTAT_EACH_END 8

enum mode { MODE_RAW = 0, MODE_CRAFTED = 1, MODE_BUILD = 2 };

typedef struct cmsg_case {
  int mode;
  unsigned param;
  bool kernel;
  const uint8_t *rest;
  size_t rest_len;
} cmsg_case;

/* One message the build mode asked for. */
typedef struct build_rec {
  bool creds;
  size_t nfds;
  size_t fd_off; /* into g_fds */
  struct ucred cred;
  int expect;  /* predicted return of the add call */
  bool either; /* both -EINVAL and -ENOSPC apply: either is right */
} build_rec;

typedef struct build_case {
  size_t cap;
  size_t poison_end; /* the free-space checks look below this: the poisoned prefix of the buffer */
  size_t nrec;
  build_rec rec[MAX_RECORDS];
} build_case;

static unsigned char g_craft[CRAFT_CAP] __attribute__((aligned(8)));
static int g_fds[MAX_RECORDS * MAX_RECORD_FDS];

/* The kernel round trip's cached pair: [0] sends, [1] receives with SO_PASSCRED. */
static int g_pair[2] = {-1, -1};
/* The two files the round trip's SCM_RIGHTS carry: memfds, not sockets (an AF_UNIX socket in
 * flight costs the kernel's garbage-collector bookkeeping on every send and receive, which
 * says nothing about the builder). Distinct inodes, so the order of the received ones shows. */
static int g_file[2] = {-1, -1};
static struct stat g_file_st[2];
static struct ucred g_self;
static const sc_kfacts *g_kf; /* calibrated with g_self, before the first kernel case */

size_t sc_fuzz_held_fds(void) {
  return (g_pair[0] >= 0 ? 2 : 0) + (g_file[0] >= 0 ? 2 : 0);
}

SC_NO_COVERAGE static void decode_case(const uint8_t *data, size_t size, cmsg_case *c) {
  uint8_t b = size > 0 ? data[0] : 0;
  c->mode = (b & 3) >= MODE_BUILD ? MODE_BUILD : (b & 3);
  c->param = b >> 2;
  c->kernel = (b & 3) == 3 && c->param >= KERNEL_PARAM_MIN;
  c->rest = size > 0 ? data + 1 : data;
  c->rest_len = size > 0 ? size - 1 : 0;
}

/* The checks compare a few ints per item with plain loops: memcmp and memcpy would each be a
 * sanitizer interceptor call with two region checks, per item, and a raw control holds up to a
 * hundred items. CK_NO_MEM keeps clang from turning the loops (or a few stores) back into such
 * calls. CK_NO_SAN: see fill_fds. */
#if defined(__clang__)
#define CK_NO_MEM __attribute__((no_builtin("memset"), no_builtin("memcmp"), no_builtin("bcmp")))
#define CK_NO_SAN __attribute__((no_sanitize("address", "pointer-overflow")))
#else
#define CK_NO_MEM
#define CK_NO_SAN
#endif

/* Turns crafted records into a control buffer in g_craft; returns its length. */
CK_NO_MEM SC_NO_COVERAGE static size_t craft(const uint8_t *p, size_t n) {
  size_t pos = 0;
  size_t len = 0;
  size_t trunc = n > 0 ? (p[pos++] & 0x1f) : 0;
  while (pos < n) {
    uint8_t k = p[pos++];
    size_t l = pos < n ? p[pos++] : 0;
    struct cmsghdr h; /* cmsg_len, cmsg_level, cmsg_type: every field is set below */
    h.cmsg_level = SOL_SOCKET;
    switch (k & 3) {
      case 0:
        h.cmsg_type = SCM_RIGHTS;
        break;
      case 1:
        h.cmsg_type = SCM_CREDENTIALS;
        break;
      case 2:
        h.cmsg_type = k >> 5;
        break;
      case 3:
      default:
        h.cmsg_level = k >> 5;
        h.cmsg_type = SCM_RIGHTS;
        break;
    }
    switch ((k >> 2) & 7) {
      case 4:
        h.cmsg_len = l;
        break;
      case 5:
        h.cmsg_len = CMSG_LEN(l) + 256;
        break;
      case 6:
        h.cmsg_len = CMSG_LEN(l) + 1 + (k >> 5);
        break;
      case 7:
        h.cmsg_len = SIZE_MAX - l;
        break;
      default:
        h.cmsg_len = CMSG_LEN(l);
        break;
    }
    size_t space = CMSG_SPACE(l);
    if (space > CRAFT_CAP - len) {
      break;
    }
    /* len is a multiple of CMSG_ALIGN and g_craft is aligned: the header is stored in place,
     * the padding zeroed by one word (before the payload lands), and only a payload the input
     * cuts short needs a memset: one sanitizer call per record instead of three. */
    struct cmsghdr *at = (struct cmsghdr *)(void *)(g_craft + len);
    *at = h;
    if (l > 0) {
      *(uint64_t *)(void *)(g_craft + len + space - sizeof(uint64_t)) = 0;
    }
    size_t avail = l < n - pos ? l : n - pos;
    if (avail > 0) {
      memcpy(g_craft + len + HDR, p + pos, avail);
    }
    if (avail < l) {
      memset(g_craft + len + HDR + avail, 0, l - avail);
    }
    pos += avail;
    len += space;
  }
  return len > trunc ? len - trunc : 0;
}

/* The reference walk: one step from *off. Same results as sc_cmsg_next promises. */
SC_NO_COVERAGE static int ref_next(const unsigned char *buf, size_t len, size_t *off,
                                   sc_cmsg_item *item) {
  if (len - *off < sizeof(struct cmsghdr)) {
    *off = len;
    return 0;
  }
  struct cmsghdr h;
  memcpy(&h, buf + *off, sizeof(h));
  size_t left = len - *off;
  if (h.cmsg_len < HDR || h.cmsg_len > left) {
    *off = len;
    return -EINVAL;
  }
  item->level = h.cmsg_level;
  item->type = h.cmsg_type;
  item->data = buf + *off + HDR;
  item->len = h.cmsg_len - HDR;
  size_t step = CMSG_ALIGN(h.cmsg_len); /* h.cmsg_len <= len: no overflow */
  *off = step >= left ? len : *off + step;
  return 1;
}

#define RIGHTS_OUT (MAX_RIGHTS_ARG + 4)

/* The fds array passed to sc_cmsg_rights ends at the same place for every max: fds is
 * g_rights_out + MAX_RIGHTS_ARG - max, so fds[max..max + RIGHTS_TAIL) are always the last
 * RIGHTS_TAIL slots, which hold FD_POISON and must still hold it after the call, and past
 * them lies the array's ASan redzone (a global's, like a heap block's). fds[0..max) may hold
 * anything from earlier calls: only fds[0..got) is compared, and it was just written. So each
 * call costs a check of RIGHTS_TAIL ints, not a refill and sweep of the whole array. */
#define RIGHTS_TAIL (RIGHTS_OUT - MAX_RIGHTS_ARG)

static int g_rights_out[RIGHTS_OUT];
static bool g_rights_out_ready;

CK_NO_MEM SC_NO_COVERAGE static void check_rights(const sc_cmsg_item *item, size_t max) {
  const int *tail = g_rights_out + MAX_RIGHTS_ARG;
  if (!g_rights_out_ready) {
    for (size_t i = 0; i < RIGHTS_OUT; i++) {
      g_rights_out[i] = FD_POISON;
    }
    g_rights_out_ready = true;
  }
  SC_FUZZ_CHECK(max <= MAX_RIGHTS_ARG, "max %zu", max);
  int *fds = g_rights_out + (MAX_RIGHTS_ARG - max);
  int want = -EINVAL;
  if (item->level == SOL_SOCKET && item->type == SCM_RIGHTS && item->len % sizeof(int) == 0) {
    want = item->len / sizeof(int) > max ? -ENOSPC : (int)(item->len / sizeof(int));
  }
  int got = sc_cmsg_rights(item, fds, max);
  SC_FUZZ_CHECK(got == want, "sc_cmsg_rights(level %d type %d len %zu, max %zu) = %d, want %d",
                item->level, item->type, item->len, max, got, want);
  unsigned diff = 0;
  for (size_t i = 0; i < RIGHTS_TAIL; i++) {
    diff |= (unsigned)(tail[i] ^ FD_POISON);
  }
  if (diff != 0) {
    for (size_t i = 0; i < RIGHTS_TAIL; i++) {
      SC_FUZZ_CHECK(tail[i] == FD_POISON, "sc_cmsg_rights wrote fds[%zu] past max %zu", max + i,
                    max);
    }
  }
  /* One pass; the inner loop only names the first wrong slot of a finding. */
  for (int i = 0; i < got; i++) {
    int fd;
    memcpy(&fd, item->data + (size_t)i * sizeof(int), sizeof(fd));
    diff |= (unsigned)(fds[i] ^ fd);
  }
  if (diff != 0) {
    for (int i = 0; i < got; i++) {
      int fd;
      memcpy(&fd, item->data + (size_t)i * sizeof(int), sizeof(fd));
      SC_FUZZ_CHECK(fds[i] == fd, "sc_cmsg_rights: fds[%d] = %d, payload holds %d", i, fds[i], fd);
    }
  }
}

CK_NO_MEM SC_NO_COVERAGE static void check_creds(const sc_cmsg_item *item) {
  struct ucred got;
  got.pid = 0;
  got.uid = 0;
  got.gid = 0;
  bool ok = item->level == SOL_SOCKET && item->type == SCM_CREDENTIALS &&
            item->len == sizeof(struct ucred);
  int rc = sc_cmsg_creds(item, &got);
  SC_FUZZ_CHECK(rc == (ok ? 0 : -EINVAL), "sc_cmsg_creds(level %d type %d len %zu) = %d",
                item->level, item->type, item->len, rc);
  if (ok) {
    struct ucred want;
    memcpy(&want, item->data, sizeof(want));
    SC_FUZZ_CHECK(got.pid == want.pid && got.uid == want.uid && got.gid == want.gid,
                  "sc_cmsg_creds does not copy the payload");
  }
}

/* Walks buf[0..len) with the library and the reference side by side. */
CK_NO_MEM SC_NO_COVERAGE static void check_parse(const unsigned char *buf, size_t len, size_t max) {
  sc_cmsg_iter it;
  sc_cmsg_iter_init(&it, buf, len);
  size_t off = 0;
  size_t steps = len / CMSG_ALIGN(HDR) + 2;
  for (size_t s = 0; s < steps; s++) {
    sc_cmsg_item want;
    sc_cmsg_item got;
    got.level = 0;
    got.type = 0;
    got.data = NULL;
    got.len = 0;
    size_t at = off;
    int r = ref_next(buf, len, &off, &want);
    int g = sc_cmsg_next(&it, &got);
    SC_FUZZ_CHECK(g == r, "sc_cmsg_next at offset %zu of %zu returned %d, reference %d", at, len, g,
                  r);
    if (r != 1) {
      g = sc_cmsg_next(&it, &got);
      SC_FUZZ_CHECK(g == 0, "sc_cmsg_next after the end/-EINVAL returned %d, not 0", g);
      return;
    }
    SC_FUZZ_CHECK(got.data >= buf + at + HDR && got.len <= len && got.data <= buf + len - got.len,
                  "item at offset %zu: payload [%p, +%zu) outside the buffer [%p, +%zu)", at,
                  (const void *)got.data, got.len, (const void *)buf, len);
    SC_FUZZ_CHECK(got.level == want.level && got.type == want.type && got.data == want.data &&
                      got.len == want.len,
                  "item at offset %zu: level %d type %d len %zu, reference %d %d %zu", at,
                  got.level, got.type, got.len, want.level, want.type, want.len);
    check_rights(&got, max);
    check_creds(&got);
  }
  SC_FUZZ_CHECK(false, "reference walk did not end after %zu steps", steps);
}

/* Exact-end windows for the buffers the library reads or writes. An exactly sized heap block
 * per input did the same job, but the sanitizer allocator (fill, quarantine, stack capture)
 * and libFuzzer's malloc hooks made it a large share of each input. The window is one static
 * buffer kept poisoned for ASan, except [p, p + len) while it is in use, so an access one byte
 * past the end (or anywhere else in the window, or in the guard before it) is an ASan report,
 * as past a heap block; the rest of the window is a far wider redzone than a heap block's.
 * Without ASan (gcc replay builds) the poisoning is a no-op, as was the heap redzone. Longer
 * buffers (only a replayed file could need one) still get an exact heap block. */
#define WINDOW_GUARD 64
#define WINDOW_CAP CRAFT_CAP

static unsigned char g_window[WINDOW_GUARD + WINDOW_CAP + WINDOW_GUARD] __attribute__((aligned(8)));
static bool g_window_poisoned;

SC_NO_COVERAGE static unsigned char *window_open(size_t len) {
  if (len > WINDOW_CAP) {
    unsigned char *heap = malloc(len);
    SC_FUZZ_CHECK(heap != NULL, "out of memory");
    return heap;
  }
  if (!g_window_poisoned) {
    ASAN_POISON_MEMORY_REGION(g_window, sizeof g_window);
    g_window_poisoned = true;
  }
  unsigned char *p = g_window + WINDOW_GUARD;
  ASAN_UNPOISON_MEMORY_REGION(p, len);
  return p;
}

SC_NO_COVERAGE static void window_close(unsigned char *p, size_t len) {
  if (len > WINDOW_CAP) {
    free(p);
    return;
  }
  ASAN_POISON_MEMORY_REGION(p, len);
}

SC_NO_COVERAGE static void parse_bytes(const uint8_t *bytes, size_t len, size_t max) {
  unsigned char *buf = window_open(len);
  if (len > 0) {
    memcpy(buf, bytes, len);
  }
  check_parse(buf, len, max);
  window_close(buf, len);
}

/* Only called from decode_build (out of coverage tracing): inlined there, not a call per byte. */
static inline __attribute__((always_inline)) uint8_t take(const cmsg_case *c, size_t *pos,
                                                          uint8_t dflt) {
  return *pos < c->rest_len ? c->rest[(*pos)++] : dflt;
}

/* dst[i] for i < n from src[i] (i < have) or from i: one of the two files in kernel mode, else
 * the byte as a signed descriptor. Up to 257 per record and 64 records per input: the loops
 * are kept free of per-int ASan checks (dst is inside g_fds and src inside the input by
 * construction: MAX_RECORDS records of at most MAX_RECORD_FDS, have <= the bytes left), so
 * they vectorise. */
CK_NO_SAN SC_NO_COVERAGE static void fill_fds(int *dst, size_t n, const uint8_t *src, size_t have,
                                              bool kernel) {
  if (kernel) {
    const int f0 = g_file[0];
    const int f1 = g_file[1];
    for (size_t i = 0; i < n; i++) {
      uint8_t v = i < have ? src[i] : (uint8_t)i;
      dst[i] = (v & 1) ? f1 : f0;
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      uint8_t v = i < have ? src[i] : (uint8_t)i;
      dst[i] = (int)(int8_t)v;
    }
  }
}

/* Decodes the build records; kernel mode uses only descriptors and credentials that
 * sendmsg accepts (the two memfds, our own pid/uid/gid). */
CK_NO_MEM SC_NO_COVERAGE static void decode_build(const cmsg_case *c, build_case *b, bool all_fds) {
  size_t pos = 0;
  size_t fd_used = 0;
  size_t cap = take(c, &pos, 0);
  cap |= (size_t)take(c, &pos, 0x10) << 8;
  b->cap = cap % (BUILD_CAP_MAX + 1);
  b->poison_end = 0;
  b->nrec = 0;
  size_t used = 0;
  while (pos < c->rest_len && b->nrec < MAX_RECORDS) {
    build_rec *r = &b->rec[b->nrec++];
    uint8_t k = take(c, &pos, 0);
    r->creds = false;
    r->nfds = 0;
    r->fd_off = 0;
    r->cred.pid = 0;
    r->cred.uid = 0;
    r->cred.gid = 0;
    r->expect = 0;
    r->either = false;
    size_t payload;
    if (k & 1) {
      r->creds = true;
      r->cred.pid = c->kernel ? g_self.pid : (pid_t)take(c, &pos, 1);
      r->cred.uid = c->kernel ? g_self.uid : (uid_t)take(c, &pos, 0);
      r->cred.gid = c->kernel ? g_self.gid : (gid_t)take(c, &pos, 0);
      payload = sizeof(struct ucred);
    } else {
      r->nfds = (k & 2) ? 250 + ((size_t)(k >> 2) & 7) : take(c, &pos, 1);
      r->fd_off = fd_used;
      payload = r->nfds * sizeof(int);
      /* One byte per descriptor while bytes last (take's default, i, after). The descriptors
       * of a record whose add must fail are only printed, never read: the library rejects it
       * on its count and size alone, and checks and round trip look at added ones only. */
      size_t have = c->rest_len - pos < r->nfds ? c->rest_len - pos : r->nfds;
      bool fails = r->nfds == 0 || r->nfds > SC_CMSG_MAX_FDS || b->cap - used < CMSG_SPACE(payload);
      if (all_fds || !fails) {
        fill_fds(g_fds + fd_used, r->nfds, c->rest + pos, have, c->kernel);
      }
      pos += have;
      fd_used += r->nfds;
    }
    bool bad = !r->creds && (r->nfds == 0 || r->nfds > SC_CMSG_MAX_FDS);
    bool full = b->cap - used < CMSG_SPACE(payload);
    r->expect = bad ? -EINVAL : full ? -ENOSPC : 0;
    r->either = bad && full;
    /* check_build looks at [used, min(cap, used + CMSG_SPACE)) after a failed add. */
    size_t end = full ? b->cap : used + CMSG_SPACE(payload);
    b->poison_end = end > b->poison_end ? end : b->poison_end;
    if (r->expect == 0) {
      used += CMSG_SPACE(payload);
    }
  }
}

SC_NO_COVERAGE static void open_pair(void) {
  if (g_pair[0] >= 0) {
    return;
  }
  int sv[2];
  int one = 1;
  int rc = sc_pair_open(SOCK_DGRAM, SC_PAIR_NONBLOCK, sv);
  SC_FUZZ_CHECK(rc == 0, "sc_pair_open(SOCK_DGRAM): %s", sc_err_name(rc));
  SC_FUZZ_CHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) == 0,
                "setting up the cached pair failed: %s", sc_err_name(-errno));
  int f0 = memfd_create("sockcheck-cmsg-0", MFD_CLOEXEC);
  int f1 = memfd_create("sockcheck-cmsg-1", MFD_CLOEXEC);
  SC_FUZZ_CHECK(
      f0 >= 0 && f1 >= 0 && fstat(f0, &g_file_st[0]) == 0 && fstat(f1, &g_file_st[1]) == 0,
      "creating the files to pass failed: %s", sc_err_name(-errno));
  g_pair[0] = sv[0];
  g_pair[1] = sv[1];
  g_file[0] = f0;
  g_file[1] = f1;
}

/* The controls already round-tripped (support/seen.h). */
static sc_fuzz_seen g_seen;

/* Round trips that receive at most this many descriptors close them with sc_cmsg_close_fds. */
#define CLOSE_EACH_MAX 8

static bool g_no_close_range;

/* Closes the n received descriptors fds[0..n), in the order received. Up to CLOSE_EACH_MAX:
 * sc_cmsg_close_fds over the control, one close() each, which must close exactly n. More: the
 * kernel installs them on the lowest free numbers, so they come as a few ascending runs (split
 * only where a descriptor we hold sits in between): each run of two or more is closed with one
 * close_range (a run a, a+1, ..., b is exactly [a, b]), any other one with close(), and each
 * call must succeed. A kernel without close_range (ENOSYS): close() for every descriptor. */
SC_NO_COVERAGE static void close_received(const unsigned char *control, size_t len, const int *fds,
                                          size_t n) {
  if (n <= CLOSE_EACH_MAX) {
    int closed = sc_cmsg_close_fds(control, len);
    SC_FUZZ_CHECK(closed == (int)n, "received %zu descriptors, sc_cmsg_close_fds closed %d", n,
                  closed);
    return;
  }
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j + 1 < n && fds[j + 1] == fds[j] + 1) {
      j++;
    }
    if (j > i && !g_no_close_range) {
      if (close_range((unsigned)fds[i], (unsigned)fds[j], 0) == 0) {
        i = j + 1;
        continue;
      }
      SC_FUZZ_CHECK(errno == ENOSYS, "close_range(%d, %d): %s", fds[i], fds[j],
                    sc_err_name(-errno));
      g_no_close_range = true;
    }
    for (; i <= j; i++) {
      SC_FUZZ_CHECK(close(fds[i]) == 0, "close(received descriptor %d): %s", fds[i],
                    sc_err_name(-errno));
    }
  }
}

/* Sends the built control with one byte and checks what arrives. */
SC_NO_COVERAGE static void kernel_round_trip(const build_case *b, const unsigned char *control,
                                             size_t used) {
  static unsigned char rcontrol[RECV_CONTROL];
  unsigned char byte = 'x';
  struct iovec iov = {&byte, 1};
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = used > 0 ? (void *)control : NULL;
  m.msg_controllen = used;
  size_t nfds = 0;
  for (size_t i = 0; i < b->nrec; i++) {
    nfds += b->rec[i].expect == 0 ? b->rec[i].nfds : 0;
  }
  ssize_t s = sc_send_all(sc_transport_kernel(), g_pair[0], &m, 0, 0, NULL);
  if (nfds > SC_CMSG_MAX_FDS) {
    SC_FUZZ_CHECK(s == -EINVAL, "sendmsg of %zu descriptors returned %zd, kernel limit is %d", nfds,
                  s, SC_CMSG_MAX_FDS);
    return;
  }
  SC_FUZZ_CHECK(s == 1, "sendmsg of the built control (%zu bytes) returned %s", used,
                sc_err_name((int)s));
  unsigned char rbyte = 0;
  struct iovec riov = {&rbyte, 1};
  struct msghdr rm;
  memset(&rm, 0, sizeof(rm));
  rm.msg_iov = &riov;
  rm.msg_iovlen = 1;
  rm.msg_control = rcontrol;
  rm.msg_controllen = sizeof(rcontrol);
  ssize_t r = sc_recv_msg(sc_transport_kernel(), g_pair[1], &rm, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  SC_FUZZ_CHECK(r == 1 && rbyte == 'x' && (rm.msg_flags & MSG_CTRUNC) == 0,
                "recvmsg returned %zd, flags 0x%x", r, (unsigned)rm.msg_flags);
  sc_cmsg_iter it;
  sc_cmsg_item item;
  size_t got = 0;
  size_t rec = 0;
  size_t idx = 0;
  bool creds = false;
  size_t items = 0;
  int g;
  static int rfds[SC_CMSG_MAX_FDS];
  sc_cmsg_iter_init(&it, rcontrol, rm.msg_controllen);
  while ((g = sc_cmsg_next(&it, &item)) == 1) {
    if (item.level == SOL_SOCKET && item.type == SCM_CREDENTIALS) {
      /* CRED-5 where the kernel puts the credentials first (calibrated: cred-order) */
      SC_FUZZ_CHECK(items == 0 || sc_kfact(g_kf, SC_KF_CRED_ORDER) != SC_KF_CRED_FIRST,
                    "CRED-5: credentials arrived after %zu other control message(s) (kernel fact "
                    "cred-order=creds-first)",
                    items);
      items++;
      struct ucred cr;
      SC_FUZZ_CHECK(sc_cmsg_creds(&item, &cr) == 0 && cr.pid == g_self.pid &&
                        cr.uid == g_self.uid && cr.gid == g_self.gid,
                    "received credentials are not ours");
      creds = true;
      continue;
    }
    SC_FUZZ_CHECK(item.level == SOL_SOCKET && item.type == SCM_RIGHTS,
                  "unexpected control message level %d type %d", item.level, item.type);
    items++;
    for (size_t i = 0; i + sizeof(int) <= item.len; i += sizeof(int), got++) {
      int fd;
      struct stat st;
      memcpy(&fd, item.data + i, sizeof(fd));
      while (rec < b->nrec && (b->rec[rec].expect != 0 || idx >= b->rec[rec].nfds)) {
        rec++;
        idx = 0;
      }
      SC_FUZZ_CHECK(rec < b->nrec, "received more descriptors than the %zu sent", nfds);
      int sent_fd = g_fds[b->rec[rec].fd_off + idx++];
      const struct stat *want = &g_file_st[sent_fd == g_file[0] ? 0 : 1];
      if (got < FSTAT_EACH_END || got + FSTAT_EACH_END >= nfds) {
        SC_FUZZ_CHECK(fstat(fd, &st) == 0 && st.st_dev == want->st_dev && st.st_ino == want->st_ino,
                      "received descriptor %zu is not the file sent", got);
      }
      rfds[got] = fd; /* got < nfds <= SC_CMSG_MAX_FDS: checked above */
    }
  }
  SC_FUZZ_CHECK(g == 0 && creds, "received control: walk ended with %d, credentials %s", g,
                creds ? "present" : "missing (SO_PASSCRED is set)");
  SC_FUZZ_CHECK(got == nfds, "sent %zu descriptors, received %zu", nfds, got);
  close_received(rcontrol, rm.msg_controllen, rfds, nfds);
}

/* True when buf[from, to) still holds SPACE_POISON everywhere; a word per step. */
CK_NO_MEM SC_NO_COVERAGE static bool still_free(const unsigned char *buf, size_t from, size_t to) {
  const uint64_t pattern = 0x0101010101010101u * SPACE_POISON;
  uint64_t diff = 0;
  size_t j = from;
  for (; j + sizeof(uint64_t) <= to; j += sizeof(uint64_t)) {
    uint64_t w;
    memcpy(&w, buf + j, sizeof w);
    diff |= w ^ pattern;
  }
  for (; j < to; j++) {
    diff |= (uint64_t)(buf[j] ^ SPACE_POISON);
  }
  return diff == 0;
}

SC_NO_COVERAGE static void check_build(const cmsg_case *c) {
  build_case b;
  if (c->kernel) {
    open_pair();
    if (g_self.pid == 0) {
      g_kf = sc_fuzz_kfacts();
      g_self.pid = getpid();
      g_self.uid = getuid();
      g_self.gid = getgid();
    }
  }
  decode_build(c, &b, false);
  unsigned char *buf = window_open(b.cap);
  /* Bytes from poison_end on are never looked at (nor sent, nor parsed: used stays below). */
  memset(buf, SPACE_POISON, b.poison_end);
  size_t used = 0;
  for (size_t i = 0; i < b.nrec; i++) {
    const build_rec *r = &b.rec[i];
    size_t before = used;
    int rc = r->creds ? sc_cmsg_add_creds(buf, b.cap, &used, &r->cred)
                      : sc_cmsg_add_rights(buf, b.cap, &used, g_fds + r->fd_off, r->nfds);
    SC_FUZZ_CHECK(rc == r->expect || (r->either && rc == -ENOSPC),
                  "record %zu (%s, %zu fds, used %zu of %zu): returned %s, want %s", i,
                  r->creds ? "creds" : "rights", r->nfds, before, b.cap, sc_err_name(rc),
                  sc_err_name(r->expect));
    size_t payload = r->creds ? sizeof(struct ucred) : r->nfds * sizeof(int);
    SC_FUZZ_CHECK(used == (rc == 0 ? before + CMSG_SPACE(payload) : before),
                  "record %zu: *used went from %zu to %zu", i, before, used);
    if (rc != 0) {
      /* The bytes the message would have taken must still be free. */
      size_t end = b.cap - used < CMSG_SPACE(payload) ? b.cap : used + CMSG_SPACE(payload);
      SC_FUZZ_CHECK(end <= b.poison_end, "free-space check to %zu, poisoned to %zu", end,
                    b.poison_end);
      if (!still_free(buf, used, end)) {
        for (size_t j = used; j < end; j++) {
          SC_FUZZ_CHECK(buf[j] == SPACE_POISON, "record %zu failed but wrote byte %zu", i, j);
        }
      }
    }
  }
  /* Parse back: the same messages, in order, then the end. */
  sc_cmsg_iter it;
  sc_cmsg_item item;
  sc_cmsg_iter_init(&it, buf, used);
  for (size_t i = 0; i < b.nrec; i++) {
    const build_rec *r = &b.rec[i];
    if (r->expect != 0) {
      continue;
    }
    int g = sc_cmsg_next(&it, &item);
    SC_FUZZ_CHECK(g == 1, "parsing back record %zu: sc_cmsg_next returned %d", i, g);
    if (r->creds) {
      struct ucred cr;
      SC_FUZZ_CHECK(sc_cmsg_creds(&item, &cr) == 0 && memcmp(&cr, &r->cred, sizeof(cr)) == 0,
                    "record %zu: credentials do not parse back", i);
    } else {
      static int fds[MAX_RECORD_FDS];
      int n = sc_cmsg_rights(&item, fds, MAX_RECORD_FDS);
      SC_FUZZ_CHECK(n == (int)r->nfds && memcmp(fds, g_fds + r->fd_off, r->nfds * sizeof(int)) == 0,
                    "record %zu: %zu descriptors parse back as %d different ones", i, r->nfds, n);
    }
  }
  int g = sc_cmsg_next(&it, &item);
  SC_FUZZ_CHECK(g == 0, "parsing back: %d after the last record, not the end", g);
  if (c->kernel && !sc_fuzz_seen_before(&g_seen, buf, used)) {
    kernel_round_trip(&b, buf, used);
  }
  window_close(buf, b.cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cmsg_case c;
  decode_case(data, size, &c);
  switch (c.mode) {
    case MODE_RAW:
      parse_bytes(c.rest, c.rest_len, c.param);
      break;
    case MODE_CRAFTED:
      parse_bytes(g_craft, craft(c.rest, c.rest_len), c.param);
      break;
    case MODE_BUILD:
    default:
      check_build(&c);
      break;
  }
  return 0;
}

static int print_walk(const unsigned char *buf, size_t len, FILE *out) {
  size_t off = 0;
  if (fprintf(out, "control buffer: %zu bytes\n", len) < 0) {
    return -1;
  }
  for (;;) {
    sc_cmsg_item item;
    size_t at = off;
    int r = ref_next(buf, len, &off, &item);
    int w;
    if (r == 1) {
      w = fprintf(out, "  @%zu level %d type %d payload %zu bytes\n", at, item.level, item.type,
                  item.len);
    } else if (r == 0) {
      return fprintf(out, "  @%zu end (%zu bytes left)\n", at, len - at) < 0 ? -1 : 0;
    } else {
      struct cmsghdr h;
      memcpy(&h, buf + at, sizeof(h));
      return fprintf(out, "  @%zu malformed: cmsg_len %zu, %zu bytes left -> -EINVAL\n", at,
                     (size_t)h.cmsg_len, len - at) < 0
                 ? -1
                 : 0;
    }
    if (w < 0) {
      return -1;
    }
  }
}

int sc_fuzz_decode(const uint8_t *data, size_t size, FILE *out) {
  static const char *const names[] = {"raw", "crafted", "build"};
  cmsg_case c;
  decode_case(data, size, &c);
  if (fprintf(out, "mode %s, parameter %u%s\n", names[c.mode], c.param,
              c.kernel ? " (kernel round trip)" : "") < 0) {
    return -1;
  }
  if (c.mode == MODE_RAW) {
    return print_walk(c.rest, c.rest_len, out);
  }
  if (c.mode == MODE_CRAFTED) {
    return print_walk(g_craft, craft(c.rest, c.rest_len), out);
  }
  build_case b;
  decode_build(&c, &b, true);
  if (fprintf(out, "capacity %zu\n", b.cap) < 0) {
    return -1;
  }
  for (size_t i = 0; i < b.nrec; i++) {
    const build_rec *r = &b.rec[i];
    int w = r->creds ? fprintf(out, "  creds pid %d uid %u gid %u", (int)r->cred.pid,
                               (unsigned)r->cred.uid, (unsigned)r->cred.gid)
                     : fprintf(out, "  rights %zu fds", r->nfds);
    for (size_t j = 0; w >= 0 && !r->creds && j < r->nfds && j < 8; j++) {
      w = fprintf(out, "%s%d", j == 0 ? " [" : ", ", g_fds[r->fd_off + j]);
    }
    if (w >= 0 && !r->creds && r->nfds > 0) {
      w = fprintf(out, "%s]", r->nfds > 8 ? ", ..." : "");
    }
    if (w < 0 ||
        fprintf(out, " -> expect %s\n", r->expect == 0 ? "ok" : sc_err_name(r->expect)) < 0) {
      return -1;
    }
  }
  return 0;
}
