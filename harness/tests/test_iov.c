/* Unit tests for iov.c: totals with overflow checks, the advance after a short
 * transfer (zero-length entries, exact boundaries, n == total), gather, scatter.
 * Expected values come from sendmsg(2)'s documented limits (SEND-E) and from
 * the plain concatenation of the iovecs (SEND-2, RECV-2). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cmocka.h>

#include "sockcheck/error.h"
#include "sockcheck/iov.h"

#define IOV(p, n) ((struct iovec){.iov_base = (void *)(p), .iov_len = (n)})

/* ---- sc_iov_total ---- */

static void total_empty_is_zero(void **state) {
  (void)state;
  size_t t = 99;
  assert_int_equal(sc_iov_total(NULL, 0, &t), 0);
  assert_int_equal(t, 0);
}

static void total_sums_lengths(void **state) {
  (void)state;
  char a[3], b[5];
  struct iovec v[] = {IOV(a, 3), IOV(NULL, 0), IOV(b, 5), IOV(a, 1)};
  size_t t = 0;
  assert_int_equal(sc_iov_total(v, 4, &t), 0);
  assert_int_equal(t, 9);
}

/* SEND-E: total length > SSIZE_MAX -> EINVAL; exactly SSIZE_MAX is allowed. */
static void total_ssize_max_boundary(void **state) {
  (void)state;
  struct iovec v[] = {IOV(NULL, (size_t)SSIZE_MAX - 1), IOV(NULL, 1)};
  size_t t = 0;
  assert_int_equal(sc_iov_total(v, 2, &t), 0);
  assert_int_equal(t, (size_t)SSIZE_MAX);
  v[1].iov_len = 2;
  t = 7;
  assert_int_equal(sc_iov_total(v, 2, &t), -EINVAL);
  assert_int_equal(t, 7); /* untouched on failure */
}

/* The sum must not wrap around SIZE_MAX into a small, "valid" number. */
static void total_wraparound_rejected(void **state) {
  (void)state;
  struct iovec v[] = {IOV(NULL, SIZE_MAX), IOV(NULL, 2)};
  size_t t = 0;
  assert_int_equal(sc_iov_total(v, 2, &t), -EINVAL);
  struct iovec w[] = {IOV(NULL, SIZE_MAX / 2 + 1), IOV(NULL, SIZE_MAX / 2 + 1)};
  assert_int_equal(sc_iov_total(w, 2, &t), -EINVAL);
  struct iovec one[] = {IOV(NULL, (size_t)SSIZE_MAX + 1)};
  assert_int_equal(sc_iov_total(one, 1, &t), -EINVAL);
}

static void total_bad_arguments(void **state) {
  (void)state;
  size_t t = 0;
  struct iovec v[] = {IOV(NULL, 1)};
  assert_int_equal(sc_iov_total(v, -1, &t), -EINVAL);
  assert_int_equal(sc_iov_total(NULL, 1, &t), -EFAULT);
  assert_int_equal(sc_iov_total(v, 1, NULL), -EINVAL);
}

/* Never dereferences iov_base: NULL and wild bases are only counted. */
static void total_never_reads_bases(void **state) {
  (void)state;
  struct iovec v[] = {IOV(NULL, 10), IOV((void *)(uintptr_t)0x10, 20)};
  size_t t = 0;
  assert_int_equal(sc_iov_total(v, 2, &t), 0);
  assert_int_equal(t, 30);
}

/* ---- sc_iov_advance ---- */

static void advance_zero_leaves_nonempty_front(void **state) {
  (void)state;
  char a[4];
  struct iovec v[] = {IOV(a, 4)};
  struct iovec *p = v;
  int c = 1;
  assert_int_equal(sc_iov_advance(&p, &c, 0), 0);
  assert_ptr_equal(p, v);
  assert_int_equal(c, 1);
  assert_ptr_equal(v[0].iov_base, a);
  assert_int_equal(v[0].iov_len, 4);
}

/* Zero-length entries are skipped as whole entries, even at the front with n 0. */
static void advance_skips_leading_zero_length(void **state) {
  (void)state;
  char a[4];
  struct iovec v[] = {IOV(NULL, 0), IOV(a, 0), IOV(a, 4)};
  struct iovec *p = v;
  int c = 3;
  assert_int_equal(sc_iov_advance(&p, &c, 0), 0);
  assert_ptr_equal(p, &v[2]);
  assert_int_equal(c, 1);
}

static void advance_partial_first_entry(void **state) {
  (void)state;
  char a[10], b[5];
  struct iovec v[] = {IOV(a, 10), IOV(b, 5)};
  struct iovec *p = v;
  int c = 2;
  assert_int_equal(sc_iov_advance(&p, &c, 3), 0);
  assert_ptr_equal(p, v);
  assert_int_equal(c, 2);
  assert_ptr_equal(p[0].iov_base, a + 3);
  assert_int_equal(p[0].iov_len, 7);
  assert_ptr_equal(p[1].iov_base, b);
  assert_int_equal(p[1].iov_len, 5);
}

/* Exact boundary: consuming exactly the first entry lands on the second, untrimmed. */
static void advance_exact_entry_boundary(void **state) {
  (void)state;
  char a[10], b[5];
  struct iovec v[] = {IOV(a, 10), IOV(b, 5)};
  struct iovec *p = v;
  int c = 2;
  assert_int_equal(sc_iov_advance(&p, &c, 10), 0);
  assert_ptr_equal(p, &v[1]);
  assert_int_equal(c, 1);
  assert_ptr_equal(p[0].iov_base, b);
  assert_int_equal(p[0].iov_len, 5);
}

static void advance_across_entries_and_zero_lengths(void **state) {
  (void)state;
  char a[2], b[3], d[4];
  struct iovec v[] = {IOV(a, 2), IOV(NULL, 0), IOV(b, 3), IOV(b, 0), IOV(d, 4)};
  struct iovec *p = v;
  int c = 5;
  assert_int_equal(sc_iov_advance(&p, &c, 6), 0); /* 2 + 3 + 1 of d */
  assert_ptr_equal(p, &v[4]);
  assert_int_equal(c, 1);
  assert_ptr_equal(p[0].iov_base, d + 1);
  assert_int_equal(p[0].iov_len, 3);
}

/* n == total: everything consumed, trailing zero-length entries included. */
static void advance_n_equals_total(void **state) {
  (void)state;
  char a[2], b[3];
  struct iovec v[] = {IOV(a, 2), IOV(b, 3), IOV(NULL, 0), IOV(a, 0)};
  struct iovec *p = v;
  int c = 4;
  assert_int_equal(sc_iov_advance(&p, &c, 5), 0);
  assert_int_equal(c, 0);
  assert_ptr_equal(p, &v[4]);
}

/* n > remaining: -EINVAL and nothing changes (pointer, count, entries). */
static void advance_past_end_changes_nothing(void **state) {
  (void)state;
  char a[2], b[3];
  struct iovec v[] = {IOV(a, 2), IOV(b, 3)};
  struct iovec copy[2];
  memcpy(copy, v, sizeof(v));
  struct iovec *p = v;
  int c = 2;
  assert_int_equal(sc_iov_advance(&p, &c, 6), -EINVAL);
  assert_ptr_equal(p, v);
  assert_int_equal(c, 2);
  assert_memory_equal(v, copy, sizeof(v));
  assert_int_equal(sc_iov_advance(&p, &c, SIZE_MAX), -EINVAL);
  assert_memory_equal(v, copy, sizeof(v));
}

static void advance_empty_array(void **state) {
  (void)state;
  struct iovec *p = NULL;
  int c = 0;
  assert_int_equal(sc_iov_advance(&p, &c, 0), 0);
  assert_int_equal(c, 0);
  assert_int_equal(sc_iov_advance(&p, &c, 1), -EINVAL);
}

static void advance_bad_arguments(void **state) {
  (void)state;
  struct iovec v[] = {IOV(NULL, 1)};
  struct iovec *p = v;
  struct iovec *nullp = NULL;
  int c = 1;
  int neg = -1;
  int one = 1;
  assert_int_equal(sc_iov_advance(NULL, &c, 0), -EINVAL);
  assert_int_equal(sc_iov_advance(&p, NULL, 0), -EINVAL);
  assert_int_equal(sc_iov_advance(&p, &neg, 0), -EINVAL);
  assert_int_equal(sc_iov_advance(&nullp, &one, 0), -EFAULT);
}

/* A NULL base with a length (as a fake transport may report) is trimmed
 * without undefined behaviour (UBSan runs these tests). */
static void advance_null_base_trim(void **state) {
  (void)state;
  struct iovec v[] = {IOV(NULL, 8)};
  struct iovec *p = v;
  int c = 1;
  assert_int_equal(sc_iov_advance(&p, &c, 3), 0);
  assert_int_equal((uintptr_t)p[0].iov_base, 3);
  assert_int_equal(p[0].iov_len, 5);
}

/* Only the array given is modified: entries before and after stay intact. */
static void advance_touches_only_its_array(void **state) {
  (void)state;
  char a[10];
  struct iovec v[] = {IOV(a, 1), IOV(a, 4), IOV(a + 4, 4), IOV(a, 9)};
  struct iovec *p = &v[1];
  int c = 2;
  assert_int_equal(sc_iov_advance(&p, &c, 6), 0);
  assert_ptr_equal(p, &v[2]);
  assert_int_equal(c, 1);
  assert_ptr_equal(v[0].iov_base, a);
  assert_int_equal(v[0].iov_len, 1);
  assert_ptr_equal(v[3].iov_base, a);
  assert_int_equal(v[3].iov_len, 9);
}

/* Deterministic pseudo-random generator (tests are reproducible). */
static uint32_t rng_next(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

/* SEND-2 property: after any sequence of advances (short writes), gathering
 * what is left gives exactly the unsent suffix of the concatenation: each byte
 * once, in order. Catches an off-by-one in the partial trim. */
static void advance_property_random_splits(void **state) {
  (void)state;
  uint32_t seed = 0x12345678u;
  unsigned char src[256];
  for (size_t i = 0; i < sizeof(src); i++) {
    src[i] = (unsigned char)i;
  }
  for (int round = 0; round < 2000; round++) {
    struct iovec v[12];
    int cnt = (int)(rng_next(&seed) % 12) + 1;
    size_t off = 0;
    for (int i = 0; i < cnt; i++) {
      size_t len = rng_next(&seed) % 4 == 0 ? 0 : rng_next(&seed) % 20;
      if (off + len > sizeof(src)) {
        len = 0;
      }
      v[i] = IOV(len == 0 && rng_next(&seed) % 2 ? NULL : src + off, len);
      off += len;
    }
    size_t total = 0;
    assert_int_equal(sc_iov_total(v, cnt, &total), 0);
    assert_int_equal(total, off);
    struct iovec *p = v;
    int c = cnt;
    size_t done = 0;
    while (done < total) {
      size_t k = rng_next(&seed) % (total - done + 1);
      assert_int_equal(sc_iov_advance(&p, &c, k), 0);
      done += k;
      unsigned char got[256];
      size_t n = sc_iov_gather(p, c, got, sizeof(got));
      assert_int_equal(n, total - done);
      if (n > 0) {
        assert_memory_equal(got, src + done, n);
      }
    }
    /* Nothing left: an advance by 0 drops any remaining zero-length entries. */
    assert_int_equal(sc_iov_advance(&p, &c, 0), 0);
    assert_int_equal(c, 0);
  }
}

/* ---- sc_iov_gather / sc_iov_scatter ---- */

static void gather_concatenates_in_order(void **state) {
  (void)state;
  struct iovec v[] = {IOV("ab", 2), IOV(NULL, 0), IOV("", 0), IOV("cde", 3), IOV("f", 1)};
  char out[16];
  assert_int_equal(sc_iov_gather(v, 5, out, sizeof(out)), 6);
  assert_memory_equal(out, "abcdef", 6);
}

static void gather_stops_at_cap(void **state) {
  (void)state;
  struct iovec v[] = {IOV("ab", 2), IOV("cde", 3)};
  char out[8] = "zzzzzzzz";
  assert_int_equal(sc_iov_gather(v, 2, out, 3), 3);
  assert_memory_equal(out, "abczzzzz", 8);
  assert_int_equal(sc_iov_gather(v, 2, out, 0), 0);
}

/* NULL bases are read only when their length is 0: a NULL base with a length
 * (EFAULT in the kernel) ends the gather instead of being dereferenced. */
static void gather_never_reads_null(void **state) {
  (void)state;
  struct iovec v[] = {IOV("ab", 2), IOV(NULL, 5), IOV("cd", 2)};
  char out[8];
  assert_int_equal(sc_iov_gather(v, 3, out, sizeof(out)), 2);
  assert_int_equal(sc_iov_gather(NULL, 3, out, sizeof(out)), 0); /* no array: nothing read */
  assert_int_equal(sc_iov_gather(v, 3, NULL, sizeof(out)), 0);
}

static void scatter_fills_in_order(void **state) {
  (void)state;
  char a[2], b[3], d[4];
  memset(d, 'z', sizeof(d));
  struct iovec v[] = {IOV(a, 2), IOV(NULL, 0), IOV(b, 3), IOV(d, 4)};
  assert_int_equal(sc_iov_scatter(v, 4, "0123456", 7), 7);
  assert_memory_equal(a, "01", 2);
  assert_memory_equal(b, "234", 3);
  assert_memory_equal(d, "56zz", 4);
}

/* Less than len only when the iovecs are full. */
static void scatter_stops_when_full(void **state) {
  (void)state;
  char a[2], b[1];
  struct iovec v[] = {IOV(a, 2), IOV(b, 1)};
  assert_int_equal(sc_iov_scatter(v, 2, "0123456", 7), 3);
  assert_memory_equal(a, "01", 2);
  assert_memory_equal(b, "2", 1);
  assert_int_equal(sc_iov_scatter(v, 2, "x", 0), 0);
}

static void scatter_never_writes_null(void **state) {
  (void)state;
  char a[2];
  struct iovec v[] = {IOV(a, 2), IOV(NULL, 4)};
  assert_int_equal(sc_iov_scatter(v, 2, "0123456", 7), 2);
  assert_int_equal(sc_iov_scatter(NULL, 2, "0123456", 7), 0); /* no array, no source: */
  assert_int_equal(sc_iov_scatter(v, 2, NULL, 7), 0);         /* nothing written */
  assert_memory_equal(a, "01", 2);
}

static void gather_scatter_round_trip(void **state) {
  (void)state;
  char a[3], b[1], d[6];
  struct iovec v[] = {IOV(a, 3), IOV(b, 1), IOV(d, 6)};
  const char *text = "helloworld";
  assert_int_equal(sc_iov_scatter(v, 3, text, 10), 10);
  char back[10];
  assert_int_equal(sc_iov_gather(v, 3, back, sizeof(back)), 10);
  assert_memory_equal(back, text, 10);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(total_empty_is_zero),
      cmocka_unit_test(total_sums_lengths),
      cmocka_unit_test(total_ssize_max_boundary),
      cmocka_unit_test(total_wraparound_rejected),
      cmocka_unit_test(total_bad_arguments),
      cmocka_unit_test(total_never_reads_bases),
      cmocka_unit_test(advance_zero_leaves_nonempty_front),
      cmocka_unit_test(advance_skips_leading_zero_length),
      cmocka_unit_test(advance_partial_first_entry),
      cmocka_unit_test(advance_exact_entry_boundary),
      cmocka_unit_test(advance_across_entries_and_zero_lengths),
      cmocka_unit_test(advance_n_equals_total),
      cmocka_unit_test(advance_past_end_changes_nothing),
      cmocka_unit_test(advance_empty_array),
      cmocka_unit_test(advance_bad_arguments),
      cmocka_unit_test(advance_null_base_trim),
      cmocka_unit_test(advance_touches_only_its_array),
      cmocka_unit_test(advance_property_random_splits),
      cmocka_unit_test(gather_concatenates_in_order),
      cmocka_unit_test(gather_stops_at_cap),
      cmocka_unit_test(gather_never_reads_null),
      cmocka_unit_test(scatter_fills_in_order),
      cmocka_unit_test(scatter_stops_when_full),
      cmocka_unit_test(scatter_never_writes_null),
      cmocka_unit_test(gather_scatter_round_trip),
  };
  return cmocka_run_group_tests_name("iov", tests, NULL, NULL);
}
