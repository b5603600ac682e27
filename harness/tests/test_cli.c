/* Unit tests for the programs' shared helpers (harness/cli): strict numbers, escaping of
 * arbitrary bytes, host:port text, the --bind address of the server programs, usage errors
 * and the stop descriptor. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"

/* Runs sc_cli_escape into memory and returns the text (static buffer). */
static const char *escaped(const void *data, size_t len) {
  static char text[256];
  FILE *f = fmemopen(text, sizeof(text), "w");
  assert_non_null(f);
  assert_int_equal(sc_cli_escape(f, data, len), 0);
  assert_int_equal(fclose(f), 0);
  return text;
}

static void parse_uint_is_strict(void **state) {
  (void)state;
  uint64_t v = 7;
  assert_int_equal(sc_cli_parse_uint("0", 10, &v), 0);
  assert_int_equal(v, 0);
  assert_int_equal(sc_cli_parse_uint("65535", 65535, &v), 0);
  assert_int_equal(v, 65535);
  v = 7;
  const char *bad[] = {"",   "-1",   "+1",    " 1",  "1 ",
                       "01", "0x10", "65536", "1e3", "18446744073709551616"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(sc_cli_parse_uint(bad[i], 65535, &v), -EINVAL);
    assert_int_equal(v, 7); /* untouched on failure */
  }
  assert_int_equal(sc_cli_parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
  assert_true(v == UINT64_MAX);
}

static void escape_every_byte(void **state) {
  (void)state;
  assert_string_equal(escaped("a\\b\n\r\t", 6), "a\\\\b\\n\\r\\t");
  const unsigned char bin[] = {0x00, 0x1f, 0x7f, 0x80, 0xff, 'z'};
  assert_string_equal(escaped(bin, sizeof(bin)), "\\x00\\x1f\\x7f\\x80\\xffz");
  /* Reads exactly len bytes: a NUL does not stop it, and nothing past len is read. */
  assert_string_equal(escaped("ab\0cd", 5), "ab\\x00cd");
  assert_string_equal(escaped("abcdef", 2), "ab");
}

static void hostport_brackets_v6(void **state) {
  (void)state;
  char buf[64];
  assert_int_equal(sc_cli_hostport(buf, sizeof(buf), "127.0.0.1", "80"), 12);
  assert_string_equal(buf, "127.0.0.1:80");
  assert_true(sc_cli_hostport(buf, sizeof(buf), "::1", "80") > 0);
  assert_string_equal(buf, "[::1]:80");
  assert_true(sc_cli_hostport(buf, sizeof(buf), "[::1]", "80") > 0);
  assert_string_equal(buf, "[::1]:80");
  assert_int_equal(sc_cli_hostport(buf, 8, "127.0.0.1", "80"), -ENOSPC);
}

static void bind_addr_hosts_and_whole_addresses(void **state) {
  (void)state;
  sc_addr a;
  char text[SC_ADDR_TEXT_MAX];
  assert_int_equal(sc_cli_bind_addr("127.0.0.1", "8080", &a, text, sizeof(text)), 0);
  assert_int_equal(a.ss.ss_family, AF_INET);
  assert_int_equal(sc_addr_port(&a), 8080);
  assert_int_equal(sc_cli_bind_addr("::1", "0", &a, text, sizeof(text)), 0);
  assert_int_equal(a.ss.ss_family, AF_INET6);
  /* A whole address: its port must be 0 (PORT is used) or equal PORT. */
  assert_int_equal(sc_cli_bind_addr("127.0.0.1:0", "9", &a, text, sizeof(text)), 0);
  assert_int_equal(sc_addr_port(&a), 9);
  assert_int_equal(sc_cli_bind_addr("127.0.0.1:9", "9", &a, text, sizeof(text)), 0);
  assert_int_equal(sc_cli_bind_addr("127.0.0.1:8", "9", &a, text, sizeof(text)), -EINVAL);
  assert_int_equal(sc_cli_bind_addr("127.0.0.1", "65536", &a, text, sizeof(text)), -EINVAL);
  assert_int_equal(sc_cli_bind_addr("no such host!", "1", &a, text, sizeof(text)), -EINVAL);
}

/* "@NAME" is the abstract name NAME, whatever the port: not "NAME:PORT" (a review found the
 * server binding the abstract name "NAME:PORT"). */
static void bind_addr_abstract_name_ignores_port(void **state) {
  (void)state;
  sc_addr a;
  char text[SC_ADDR_TEXT_MAX];
  assert_int_equal(sc_cli_bind_addr("@sc-test-name", "4242", &a, text, sizeof(text)), 0);
  assert_int_equal(a.ss.ss_family, AF_UNIX);
  const struct sockaddr_un *un = (const struct sockaddr_un *)&a.ss;
  const char want[] = "sc-test-name";
  assert_int_equal(a.len, offsetof(struct sockaddr_un, sun_path) + 1 + sizeof(want) - 1);
  assert_int_equal(un->sun_path[0], '\0');
  assert_memory_equal(un->sun_path + 1, want, sizeof(want) - 1);
  assert_null(strchr(text, '4'));
  /* unix:PATH likewise names PATH, not "PATH:PORT". */
  assert_int_equal(sc_cli_bind_addr("unix:/tmp/sc-test.sock", "4242", &a, text, sizeof(text)), 0);
  assert_int_equal(a.ss.ss_family, AF_UNIX);
  assert_string_equal(((const struct sockaddr_un *)&a.ss)->sun_path, "/tmp/sc-test.sock");
}

static void usage_line(FILE *out) {
  (void)fputs("usage: prog PORT\n", out);
}

static void bad_usage_prints_one_reason_and_returns_2(void **state) {
  (void)state;
  char buf[256] = {0};
  FILE *f = fmemopen(buf, sizeof(buf), "w");
  assert_non_null(f);
  /* sc_cli_bad_usage writes to stderr: point stderr at the memory stream for the call. */
  FILE *old = stderr;
  stderr = f;
  int rc = sc_cli_bad_usage("prog", usage_line, "bad port", "x");
  stderr = old;
  assert_int_equal(fclose(f), 0);
  assert_int_equal(rc, 2);
  assert_string_equal(buf, "prog: bad port: x\nusage: prog PORT\n");
}

static void stop_fd_reads_sigterm(void **state) {
  (void)state;
  int fd = sc_cli_stop_fd();
  assert_true(fd >= 0);
  /* SIGPIPE is ignored, SIGTERM is blocked and shows up on the descriptor. */
  struct sigaction sa;
  assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
  assert_true(sa.sa_handler == SIG_IGN);
  unsigned char info[128]; /* sizeof(struct signalfd_siginfo) */
  assert_int_equal(read(fd, info, sizeof(info)) < 0 ? errno : 0, EAGAIN);
  assert_int_equal(raise(SIGTERM), 0);
  assert_int_equal(read(fd, info, sizeof(info)), sizeof(info));
  assert_int_equal(close(fd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse_uint_is_strict),
      cmocka_unit_test(escape_every_byte),
      cmocka_unit_test(hostport_brackets_v6),
      cmocka_unit_test(bind_addr_hosts_and_whole_addresses),
      cmocka_unit_test(bind_addr_abstract_name_ignores_port),
      cmocka_unit_test(bad_usage_prints_one_reason_and_returns_2),
      cmocka_unit_test(stop_fd_reads_sigterm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
