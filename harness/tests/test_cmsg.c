/* Unit tests for cmsg.c: the builder (layout equal to what CMSG_* macros
 * describe, -ENOSPC leaves the buffer untouched) and the parser fed malformed
 * control buffers (short cmsg_len, cmsg_len past the end, truncated header,
 * zero-length buffer, odd payload for rights). Parsed buffers are heap copies of
 * exactly the given length, so ASan flags any read past the end.
 * Behaviour IDs: SEND-4, X-CMSG-E, X-CTRUNC. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "sockcheck/cmsg.h"
#include "sockcheck/error.h"

/* A malloc'd copy of exactly len bytes (never NULL, even for len 0). */
static unsigned char *exact(const void *src, size_t len) {
  unsigned char *p = malloc(len == 0 ? 1 : len);
  assert_non_null(p);
  if (len > 0) {
    memcpy(p, src, len);
  }
  return p;
}

/* Writes a raw header (any cmsg_len) at buf + off, alignment-safe. */
static void put_hdr(unsigned char *buf, size_t off, size_t clen, int level, int type) {
  struct cmsghdr h;
  memset(&h, 0, sizeof(h));
  h.cmsg_len = clen;
  h.cmsg_level = level;
  h.cmsg_type = type;
  memcpy(buf + off, &h, sizeof(h));
}

/* ---- builder ---- */

/* SEND-4: the builder's bytes are what glibc's macros describe. */
static void add_rights_layout(void **state) {
  (void)state;
  union {
    unsigned char b[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(u.b, 0xee, sizeof(u.b));
  const int fds[3] = {5, 6, 7};
  size_t used = 0;
  assert_int_equal(sc_cmsg_add_rights(u.b, sizeof(u.b), &used, fds, 3), 0);
  assert_int_equal(used, CMSG_SPACE(3 * sizeof(int)));
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_control = u.b;
  m.msg_controllen = used;
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  assert_non_null(c);
  assert_int_equal(c->cmsg_len, CMSG_LEN(3 * sizeof(int)));
  assert_int_equal(c->cmsg_level, SOL_SOCKET);
  assert_int_equal(c->cmsg_type, SCM_RIGHTS);
  assert_memory_equal(CMSG_DATA(c), fds, sizeof(fds));
  /* Padding is zeroed, never left stale. */
  for (size_t i = CMSG_LEN(3 * sizeof(int)); i < used; i++) {
    assert_int_equal(u.b[i], 0);
  }
}

static void add_rights_bad_counts(void **state) {
  (void)state;
  static unsigned char buf[CMSG_SPACE((SC_CMSG_MAX_FDS + 1) * sizeof(int))];
  static int fds[SC_CMSG_MAX_FDS + 1];
  size_t used = 0;
  assert_int_equal(sc_cmsg_add_rights(buf, sizeof(buf), &used, fds, 0), -EINVAL);
  assert_int_equal(sc_cmsg_add_rights(buf, sizeof(buf), &used, fds, SC_CMSG_MAX_FDS + 1), -EINVAL);
  assert_int_equal(sc_cmsg_add_rights(buf, sizeof(buf), &used, NULL, 1), -EINVAL);
  assert_int_equal(used, 0);
  assert_int_equal(sc_cmsg_add_rights(buf, sizeof(buf), &used, fds, SC_CMSG_MAX_FDS), 0);
  assert_int_equal(used, CMSG_SPACE(SC_CMSG_MAX_FDS * sizeof(int)));
}

/* -ENOSPC when it does not fit, buffer and *used untouched; exact fit works. */
static void add_rights_nospace_untouched(void **state) {
  (void)state;
  unsigned char buf[64];
  memset(buf, 0xab, sizeof(buf));
  unsigned char copy[64];
  memcpy(copy, buf, sizeof(buf));
  const int fd = 3;
  size_t used = 0;
  size_t need = CMSG_SPACE(sizeof(int));
  assert_int_equal(sc_cmsg_add_rights(buf, need - 1, &used, &fd, 1), -ENOSPC);
  assert_int_equal(used, 0);
  assert_memory_equal(buf, copy, sizeof(buf));
  assert_int_equal(sc_cmsg_add_rights(buf, need, &used, &fd, 1), 0);
  assert_int_equal(used, need);
  assert_int_equal(sc_cmsg_add_rights(buf, need, &used, &fd, 1), -ENOSPC);
  assert_int_equal(used, need);
  assert_memory_equal(buf + need, copy + need, sizeof(buf) - need);
  size_t over = sizeof(buf) + 8; /* *used beyond cap */
  assert_int_equal(sc_cmsg_add_rights(buf, sizeof(buf), &over, &fd, 1), -ENOSPC);
}

static void add_bad_arguments(void **state) {
  (void)state;
  unsigned char buf[64];
  const int fd = 3;
  size_t used = 1; /* not aligned for a header */
  assert_int_equal(sc_cmsg_add_rights(buf, sizeof(buf), &used, &fd, 1), -EINVAL);
  assert_int_equal(sc_cmsg_add_rights(buf, sizeof(buf), NULL, &fd, 1), -EINVAL);
  used = 0;
  assert_int_equal(sc_cmsg_add_rights(NULL, 64, &used, &fd, 1), -EINVAL);
  assert_int_equal(sc_cmsg_add_rights(NULL, 0, &used, &fd, 1), -ENOSPC);
  assert_int_equal(sc_cmsg_add_creds(buf, sizeof(buf), &used, NULL), -EINVAL);
}

/* Two messages (rights then credentials) parse back in order. */
static void add_two_then_parse(void **state) {
  (void)state;
  union {
    unsigned char b[CMSG_SPACE(2 * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } u;
  const int fds[2] = {11, 12};
  const struct ucred cred = {.pid = 1234, .uid = 56, .gid = 78};
  size_t used = 0;
  assert_int_equal(sc_cmsg_add_rights(u.b, sizeof(u.b), &used, fds, 2), 0);
  assert_int_equal(sc_cmsg_add_creds(u.b, sizeof(u.b), &used, &cred), 0);
  assert_int_equal(used, sizeof(u.b));
  unsigned char *p = exact(u.b, used);
  sc_cmsg_iter it;
  sc_cmsg_item item;
  sc_cmsg_iter_init(&it, p, used);
  assert_int_equal(sc_cmsg_next(&it, &item), 1);
  int got[4];
  assert_int_equal(sc_cmsg_rights(&item, got, 4), 2);
  assert_memory_equal(got, fds, sizeof(fds));
  struct ucred c2;
  assert_int_equal(sc_cmsg_creds(&item, &c2), -EINVAL); /* wrong type */
  assert_int_equal(sc_cmsg_next(&it, &item), 1);
  assert_int_equal(item.level, SOL_SOCKET);
  assert_int_equal(item.type, SCM_CREDENTIALS);
  assert_int_equal(item.len, sizeof(struct ucred));
  assert_int_equal(sc_cmsg_creds(&item, &c2), 0);
  assert_int_equal(c2.pid, 1234);
  assert_int_equal(c2.uid, 56);
  assert_int_equal(c2.gid, 78);
  assert_int_equal(sc_cmsg_rights(&item, got, 4), -EINVAL); /* wrong type */
  assert_int_equal(sc_cmsg_next(&it, &item), 0);
  assert_int_equal(sc_cmsg_next(&it, &item), 0); /* end is sticky */
  free(p);
}

/* ---- parser: malformed buffers ---- */

static void parse_null_and_empty(void **state) {
  (void)state;
  sc_cmsg_iter it;
  sc_cmsg_item item;
  sc_cmsg_iter_init(&it, NULL, 0);
  assert_int_equal(sc_cmsg_next(&it, &item), 0);
  unsigned char *p = exact("", 0);
  sc_cmsg_iter_init(&it, p, 0); /* zero-length buffer */
  assert_int_equal(sc_cmsg_next(&it, &item), 0);
  free(p);
  sc_cmsg_iter_init(&it, NULL, 100); /* NULL with a length: treated as empty */
  assert_int_equal(sc_cmsg_next(&it, &item), 0);
  assert_int_equal(sc_cmsg_next(NULL, &item), -EINVAL);
  assert_int_equal(sc_cmsg_next(&it, NULL), -EINVAL);
}

/* Fewer bytes than a header: the end, whatever those bytes say. */
static void parse_truncated_header(void **state) {
  (void)state;
  unsigned char raw[sizeof(struct cmsghdr)];
  put_hdr(raw, 0, CMSG_LEN(4), SOL_SOCKET, SCM_RIGHTS);
  for (size_t len = 1; len < sizeof(struct cmsghdr); len++) {
    unsigned char *p = exact(raw, len);
    sc_cmsg_iter it;
    sc_cmsg_item item;
    sc_cmsg_iter_init(&it, p, len);
    assert_int_equal(sc_cmsg_next(&it, &item), 0);
    free(p);
  }
}

/* cmsg_len smaller than a header (0 included: no endless loop) -> -EINVAL, and
 * the cursor then stays at the end. */
static void parse_short_cmsg_len(void **state) {
  (void)state;
  unsigned char raw[CMSG_SPACE(8)];
  memset(raw, 0, sizeof(raw));
  const size_t bad[] = {0, 1, sizeof(struct cmsghdr) - 1};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    put_hdr(raw, 0, bad[i], SOL_SOCKET, SCM_RIGHTS);
    unsigned char *p = exact(raw, sizeof(raw));
    sc_cmsg_iter it;
    sc_cmsg_item item;
    sc_cmsg_iter_init(&it, p, sizeof(raw));
    assert_int_equal(sc_cmsg_next(&it, &item), -EINVAL);
    assert_int_equal(sc_cmsg_next(&it, &item), 0);
    free(p);
  }
}

/* cmsg_len reaching past the buffer -> -EINVAL (by one byte, by a lot, SIZE_MAX). */
static void parse_cmsg_len_past_end(void **state) {
  (void)state;
  const size_t len = CMSG_LEN(4);
  unsigned char raw[CMSG_SPACE(4)];
  memset(raw, 0, sizeof(raw));
  const size_t bad[] = {len + 1, len + 100, SIZE_MAX, SIZE_MAX - 3};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    put_hdr(raw, 0, bad[i], SOL_SOCKET, SCM_RIGHTS);
    unsigned char *p = exact(raw, len);
    sc_cmsg_iter it;
    sc_cmsg_item item;
    sc_cmsg_iter_init(&it, p, len);
    assert_int_equal(sc_cmsg_next(&it, &item), -EINVAL);
    assert_int_equal(sc_cmsg_next(&it, &item), 0);
    free(p);
  }
}

/* A bad second header after a good first one: the first is returned, then -EINVAL. */
static void parse_bad_second_header(void **state) {
  (void)state;
  unsigned char raw[CMSG_SPACE(4) + CMSG_SPACE(4)];
  memset(raw, 0, sizeof(raw));
  put_hdr(raw, 0, CMSG_LEN(4), SOL_SOCKET, SCM_RIGHTS);
  put_hdr(raw, CMSG_SPACE(4), CMSG_SPACE(4) + 1, SOL_SOCKET, SCM_RIGHTS);
  unsigned char *p = exact(raw, sizeof(raw));
  sc_cmsg_iter it;
  sc_cmsg_item item;
  sc_cmsg_iter_init(&it, p, sizeof(raw));
  assert_int_equal(sc_cmsg_next(&it, &item), 1);
  assert_int_equal(item.len, 4);
  assert_int_equal(sc_cmsg_next(&it, &item), -EINVAL);
  assert_int_equal(sc_cmsg_next(&it, &item), 0);
  free(p);
}

/* The last message's padding may be missing (buffer ends at cmsg_len): the item
 * is returned and the cursor stops at the end instead of stepping past it. */
static void parse_last_without_padding(void **state) {
  (void)state;
  unsigned char raw[CMSG_SPACE(1)];
  memset(raw, 0, sizeof(raw));
  put_hdr(raw, 0, CMSG_LEN(1), 7, 9);
  raw[CMSG_LEN(0)] = 0x42;
  unsigned char *p = exact(raw, CMSG_LEN(1));
  sc_cmsg_iter it;
  sc_cmsg_item item;
  sc_cmsg_iter_init(&it, p, CMSG_LEN(1));
  assert_int_equal(sc_cmsg_next(&it, &item), 1);
  assert_int_equal(item.level, 7);
  assert_int_equal(item.type, 9);
  assert_int_equal(item.len, 1);
  assert_int_equal(item.data[0], 0x42);
  assert_int_equal(it.off, it.len); /* at the end, not past it (the padding is missing) */
  assert_int_equal(sc_cmsg_next(&it, &item), 0);
  free(p);
}

/* A header with an empty payload (cmsg_len == CMSG_LEN(0)) is a valid item. */
static void parse_empty_payload(void **state) {
  (void)state;
  unsigned char raw[CMSG_LEN(0) * 2];
  put_hdr(raw, 0, CMSG_LEN(0), SOL_SOCKET, SCM_RIGHTS);
  put_hdr(raw, CMSG_LEN(0), CMSG_LEN(0), 1, 2);
  unsigned char *p = exact(raw, sizeof(raw));
  sc_cmsg_iter it;
  sc_cmsg_item item;
  sc_cmsg_iter_init(&it, p, sizeof(raw));
  assert_int_equal(sc_cmsg_next(&it, &item), 1);
  assert_int_equal(item.len, 0);
  int fds[1];
  assert_int_equal(sc_cmsg_rights(&item, fds, 1), 0);
  assert_int_equal(sc_cmsg_next(&it, &item), 1);
  assert_int_equal(item.type, 2);
  assert_int_equal(sc_cmsg_next(&it, &item), 0);
  free(p);
}

/* Trailing bytes shorter than a header after a good message: the end. */
static void parse_trailing_garbage(void **state) {
  (void)state;
  unsigned char raw[CMSG_SPACE(4) + 8];
  memset(raw, 0xff, sizeof(raw));
  put_hdr(raw, 0, CMSG_LEN(4), SOL_SOCKET, SCM_RIGHTS);
  unsigned char *p = exact(raw, sizeof(raw));
  sc_cmsg_iter it;
  sc_cmsg_item item;
  sc_cmsg_iter_init(&it, p, sizeof(raw));
  assert_int_equal(sc_cmsg_next(&it, &item), 1);
  assert_int_equal(sc_cmsg_next(&it, &item), 0);
  free(p);
}

/* An unaligned buffer (as a fuzzer hands out) parses without misaligned reads
 * (UBSan's alignment check runs here). */
static void parse_unaligned_buffer(void **state) {
  (void)state;
  unsigned char raw[CMSG_SPACE(8) + 1];
  memset(raw, 0, sizeof(raw));
  put_hdr(raw, 1, CMSG_LEN(8), SOL_SOCKET, SCM_RIGHTS);
  const int fds[2] = {21, 22};
  memcpy(raw + 1 + CMSG_LEN(0), fds, sizeof(fds));
  sc_cmsg_iter it;
  sc_cmsg_item item;
  sc_cmsg_iter_init(&it, raw + 1, sizeof(raw) - 1);
  assert_int_equal(sc_cmsg_next(&it, &item), 1);
  int got[2];
  assert_int_equal(sc_cmsg_rights(&item, got, 2), 2);
  assert_memory_equal(got, fds, sizeof(fds));
}

/* Rights payload not a whole number of ints -> -EINVAL; too many -> -ENOSPC. */
static void rights_odd_payload_and_limits(void **state) {
  (void)state;
  unsigned char raw[CMSG_SPACE(12)];
  memset(raw, 0, sizeof(raw));
  int fds[3];
  sc_cmsg_item item = {.level = SOL_SOCKET, .type = SCM_RIGHTS, .data = raw, .len = 5};
  assert_int_equal(sc_cmsg_rights(&item, fds, 3), -EINVAL);
  item.len = 3;
  assert_int_equal(sc_cmsg_rights(&item, fds, 3), -EINVAL);
  item.len = 12;
  assert_int_equal(sc_cmsg_rights(&item, fds, 2), -ENOSPC);
  assert_int_equal(sc_cmsg_rights(&item, fds, 3), 3);
  assert_int_equal(sc_cmsg_rights(&item, NULL, 3), -EINVAL);
  item.level = 6;
  assert_int_equal(sc_cmsg_rights(&item, fds, 3), -EINVAL);
  assert_int_equal(sc_cmsg_rights(NULL, fds, 3), -EINVAL);
}

static void creds_wrong_size(void **state) {
  (void)state;
  unsigned char raw[sizeof(struct ucred) + 4];
  memset(raw, 0, sizeof(raw));
  struct ucred c;
  sc_cmsg_item item = {.level = SOL_SOCKET, .type = SCM_CREDENTIALS, .data = raw};
  item.len = sizeof(struct ucred) - 1;
  assert_int_equal(sc_cmsg_creds(&item, &c), -EINVAL);
  item.len = sizeof(struct ucred) + 4;
  assert_int_equal(sc_cmsg_creds(&item, &c), -EINVAL);
  item.len = sizeof(struct ucred);
  assert_int_equal(sc_cmsg_creds(&item, &c), 0);
  assert_int_equal(sc_cmsg_creds(&item, NULL), -EINVAL);
  assert_int_equal(sc_cmsg_creds(NULL, &c), -EINVAL);
}

/* ---- sc_cmsg_close_fds ---- */

static int open_devnull(void) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  return fd;
}

static void close_fds_closes_rights_only(void **state) {
  (void)state;
  int a[2] = {open_devnull(), open_devnull()};
  int b = open_devnull();
  const struct ucred cred = {.pid = 1, .uid = 2, .gid = 3};
  union {
    unsigned char b[CMSG_SPACE(8) + CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(4)];
    struct cmsghdr align;
  } u;
  size_t used = 0;
  assert_int_equal(sc_cmsg_add_rights(u.b, sizeof(u.b), &used, a, 2), 0);
  assert_int_equal(sc_cmsg_add_creds(u.b, sizeof(u.b), &used, &cred), 0);
  assert_int_equal(sc_cmsg_add_rights(u.b, sizeof(u.b), &used, &b, 1), 0);
  assert_int_equal(sc_cmsg_close_fds(u.b, used), 3);
  assert_int_equal(fcntl(a[0], F_GETFD), -1);
  assert_int_equal(fcntl(a[1], F_GETFD), -1);
  assert_int_equal(fcntl(b, F_GETFD), -1);
  assert_int_equal(sc_cmsg_close_fds(NULL, 0), 0);
}

/* Descriptor 0 is a descriptor like any other: a passed fd 0 is closed and counted. */
static void close_fds_closes_descriptor_zero(void **state) {
  (void)state;
  int saved = fcntl(0, F_DUPFD_CLOEXEC, 3); /* -1 if stdin was closed: left closed */
  int null = open_devnull();
  assert_int_equal(dup2(null, 0), 0);
  assert_int_equal(close(null), 0);
  const int zero = 0;
  union {
    unsigned char b[CMSG_SPACE(4)];
    struct cmsghdr align;
  } u;
  size_t used = 0;
  assert_int_equal(sc_cmsg_add_rights(u.b, sizeof(u.b), &used, &zero, 1), 0);
  int closed = sc_cmsg_close_fds(u.b, used);
  int still_open = fcntl(0, F_GETFD) != -1;
  if (saved >= 0) {
    assert_int_equal(dup2(saved, 0), 0);
    assert_int_equal(close(saved), 0);
  } else if (still_open) {
    (void)close(0);
  }
  assert_int_equal(closed, 1);
  assert_false(still_open);
}

/* A malformed header after a good message: fds before it are still closed. */
static void close_fds_malformed_after_good(void **state) {
  (void)state;
  int fd = open_devnull();
  union {
    unsigned char b[CMSG_SPACE(4) + CMSG_SPACE(4)];
    struct cmsghdr align;
  } u;
  size_t used = 0;
  assert_int_equal(sc_cmsg_add_rights(u.b, sizeof(u.b), &used, &fd, 1), 0);
  put_hdr(u.b, used, 3, SOL_SOCKET, SCM_RIGHTS); /* cmsg_len below a header */
  unsigned char *p = exact(u.b, sizeof(u.b));
  assert_int_equal(sc_cmsg_close_fds(p, sizeof(u.b)), -EINVAL);
  assert_int_equal(fcntl(fd, F_GETFD), -1);
  free(p);
}

static uint32_t rng_next(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

/* Hostile buffers: random headers with plausible and absurd cmsg_len values;
 * the parser stays inside the exact-size heap copy and always terminates. */
static void parse_random_buffers_stay_in_bounds(void **state) {
  (void)state;
  uint32_t seed = 0xC0FFEEu;
  for (int round = 0; round < 3000; round++) {
    size_t len = rng_next(&seed) % 160;
    unsigned char raw[160];
    for (size_t i = 0; i < sizeof(raw); i++) {
      raw[i] = (unsigned char)rng_next(&seed);
    }
    for (size_t off = 0; off + sizeof(struct cmsghdr) <= len; off += CMSG_ALIGN(1)) {
      if (rng_next(&seed) % 3 == 0) {
        put_hdr(raw, off, rng_next(&seed) % (len + 8), SOL_SOCKET, SCM_RIGHTS);
      }
    }
    unsigned char *p = exact(raw, len);
    sc_cmsg_iter it;
    sc_cmsg_item item;
    sc_cmsg_iter_init(&it, p, len);
    int r;
    size_t steps = 0;
    unsigned sum = 0;
    while ((r = sc_cmsg_next(&it, &item)) == 1) {
      assert_true(item.data >= p && item.data + item.len <= p + len);
      for (size_t i = 0; i < item.len; i++) {
        sum += item.data[i]; /* ASan: every payload byte is inside the copy */
      }
      steps++;
      assert_true(steps <= len / sizeof(struct cmsghdr));
    }
    assert_true(r == 0 || r == -EINVAL);
    (void)sum;
    free(p);
  }
}

/* The cursor and the item: *item is written only for a message (1); at the end (0) and on a
 * malformed header (-EINVAL) it is left as it was, and NULL arguments are -EINVAL. */
static void next_writes_item_only_for_a_message(void **state) {
  (void)state;
  unsigned char raw[CMSG_SPACE(4) + sizeof(struct cmsghdr)];
  memset(raw, 0, sizeof(raw));
  put_hdr(raw, 0, CMSG_LEN(4), SOL_SOCKET, SCM_RIGHTS);
  put_hdr(raw, CMSG_SPACE(4), 3, SOL_SOCKET, SCM_RIGHTS); /* cmsg_len below a header */
  unsigned char *p = exact(raw, sizeof(raw));
  sc_cmsg_iter it;
  sc_cmsg_item item;
  sc_cmsg_item poison;
  memset(&poison, 0xA5, sizeof(poison));
  assert_int_equal(sc_cmsg_next(NULL, &item), -EINVAL);
  sc_cmsg_iter_init(&it, p, sizeof(raw));
  assert_int_equal(sc_cmsg_next(&it, NULL), -EINVAL);
  assert_int_equal(it.off, 0);
  item = poison;
  assert_int_equal(sc_cmsg_next(&it, &item), 1);
  assert_ptr_equal(item.data, p + CMSG_LEN(0));
  assert_int_equal(item.len, 4);
  assert_int_equal(it.off, CMSG_SPACE(4));
  item = poison;
  assert_int_equal(sc_cmsg_next(&it, &item), -EINVAL);
  assert_memory_equal(&item, &poison, sizeof(item));
  assert_int_equal(it.off, sizeof(raw));
  assert_int_equal(sc_cmsg_next(&it, &item), 0);
  assert_memory_equal(&item, &poison, sizeof(item));
  free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(add_rights_layout),
      cmocka_unit_test(add_rights_bad_counts),
      cmocka_unit_test(add_rights_nospace_untouched),
      cmocka_unit_test(add_bad_arguments),
      cmocka_unit_test(add_two_then_parse),
      cmocka_unit_test(parse_null_and_empty),
      cmocka_unit_test(parse_truncated_header),
      cmocka_unit_test(parse_short_cmsg_len),
      cmocka_unit_test(parse_cmsg_len_past_end),
      cmocka_unit_test(parse_bad_second_header),
      cmocka_unit_test(parse_last_without_padding),
      cmocka_unit_test(parse_empty_payload),
      cmocka_unit_test(parse_trailing_garbage),
      cmocka_unit_test(parse_unaligned_buffer),
      cmocka_unit_test(rights_odd_payload_and_limits),
      cmocka_unit_test(creds_wrong_size),
      cmocka_unit_test(close_fds_closes_rights_only),
      cmocka_unit_test(close_fds_closes_descriptor_zero),
      cmocka_unit_test(close_fds_malformed_after_good),
      cmocka_unit_test(parse_random_buffers_stay_in_bounds),
      cmocka_unit_test(next_writes_item_only_for_a_message),
  };
  return cmocka_run_group_tests_name("cmsg", tests, NULL, NULL);
}
