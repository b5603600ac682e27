/* Unit tests for error.c: the one table of errno names and messages
 * (STYLE: one error convention, -errno on failure). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sockcheck/error.h"

/* The errors the library and the conformance suite name (BEHAVIOURS.md). */
static const int used[] = {EPERM,         ENOENT,     EINTR,      EBADF,        EAGAIN,
                           EFAULT,        EINVAL,     EMFILE,     ENOSPC,       EPIPE,
                           ENOTSOCK,      EMSGSIZE,   EOPNOTSUPP, EAFNOSUPPORT, EADDRINUSE,
                           EADDRNOTAVAIL, ECONNRESET, ETIMEDOUT,  ECONNREFUSED, EPROTONOSUPPORT,
                           ENOTDIR,       EACCES,     EIO,        EPROTO,       ENOTCONN};

static void names_of_known_errors(void **state) {
  (void)state;
  assert_string_equal(sc_err_name(EAGAIN), "EAGAIN");
  assert_string_equal(sc_err_name(-EAGAIN), "EAGAIN");
  assert_string_equal(sc_err_name(EPIPE), "EPIPE");
  assert_string_equal(sc_err_name(-EMSGSIZE), "EMSGSIZE");
  assert_string_equal(sc_err_name(EAFNOSUPPORT), "EAFNOSUPPORT");
}

static void zero_and_unknown(void **state) {
  (void)state;
  assert_string_equal(sc_err_name(0), "OK");
  assert_string_equal(sc_err_message(0), "success");
  assert_string_equal(sc_err_name(9999), "E?");
  assert_string_equal(sc_err_name(-9999), "E?");
  assert_string_equal(sc_err_message(9999), "unknown error");
  assert_non_null(sc_err_name(INT32_MIN + 1));
  assert_non_null(sc_err_message(INT32_MIN + 1));
  /* -INT_MIN does not fit in an int: negating it is undefined (UBSan aborts here). */
  assert_string_equal(sc_err_name(INT_MIN), "E?");
  assert_string_equal(sc_err_message(INT_MIN), "unknown error");
}

/* Every error the project relies on has a name that maps back to its number,
 * and a non-empty message, for both signs. */
static void round_trip_used_errors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
    const char *name = sc_err_name(used[i]);
    if (strcmp(name, "E?") == 0) {
      fail_msg("errno %d has no name", used[i]);
    }
    assert_int_equal(sc_err_from_name(name), used[i]);
    assert_string_equal(sc_err_name(-used[i]), name);
    const char *msg = sc_err_message(-used[i]);
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
    assert_string_not_equal(msg, "unknown error");
  }
}

static void from_name_unknown(void **state) {
  (void)state;
  assert_int_equal(sc_err_from_name(NULL), 0);
  assert_int_equal(sc_err_from_name(""), 0);
  assert_int_equal(sc_err_from_name("ENOPE"), 0);
  assert_int_equal(sc_err_from_name("eagain"), 0); /* names are exact */
  assert_int_equal(sc_err_from_name("EAGAIN "), 0);
  assert_int_equal(sc_err_from_name("EINVAL"), EINVAL);
}

static void messages_are_thread_safe_statics(void **state) {
  (void)state;
  const char *a = sc_err_message(EINVAL);
  const char *b = sc_err_message(EPIPE);
  assert_ptr_not_equal(a, b);
  assert_ptr_equal(a, sc_err_message(-EINVAL)); /* static storage, not a buffer */
  assert_string_equal(a, "invalid argument");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(names_of_known_errors),
      cmocka_unit_test(zero_and_unknown),
      cmocka_unit_test(round_trip_used_errors),
      cmocka_unit_test(from_name_unknown),
      cmocka_unit_test(messages_are_thread_safe_statics),
  };
  return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
