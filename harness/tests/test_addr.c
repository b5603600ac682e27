/* Unit tests for addr.c: every accepted textual form with its exact bytes, many
 * rejects (out untouched), the format/parse round trip (byte-identical
 * sc_addr), and binding (BIND-1, BIND-E1, BIND-E2, BIND-E5, X-UNBIND,
 * X-AUTOBIND). Binding uses port 0 and private temporary directories only. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sockcheck/addr.h"
#include "sockcheck/error.h"
#include "sctest/fds.h"

#define PATH_OFF offsetof(struct sockaddr_un, sun_path)

static const struct sockaddr_in *in4(const sc_addr *a) {
  return (const struct sockaddr_in *)&a->ss;
}
static const struct sockaddr_in6 *in6(const sc_addr *a) {
  return (const struct sockaddr_in6 *)&a->ss;
}
static const struct sockaddr_un *un(const sc_addr *a) {
  return (const struct sockaddr_un *)&a->ss;
}

/* Parses text (which must succeed) and checks the format round trip: the
 * printed text re-parses to a byte-identical sc_addr. */
static sc_addr parse_ok(const char *text) {
  sc_addr a;
  memset(&a, 0x5c, sizeof(a));
  int r = sc_addr_parse(text, &a);
  if (r != 0) {
    fail_msg("sc_addr_parse(\"%s\") = %d (%s), want 0", text, r, sc_err_name(r));
  }
  char buf[SC_ADDR_TEXT_MAX];
  int n = sc_addr_format(&a, buf, sizeof(buf));
  if (n < 0) {
    fail_msg("sc_addr_format(parse(\"%s\")) = %d", text, n);
  }
  assert_int_equal((size_t)n, strlen(buf));
  sc_addr b;
  memset(&b, 0xa3, sizeof(b));
  r = sc_addr_parse(buf, &b);
  if (r != 0) {
    fail_msg("re-parse of \"%s\" (from \"%s\") = %d", buf, text, r);
  }
  assert_int_equal(a.len, b.len);
  assert_memory_equal(&a.ss, &b.ss, sizeof(a.ss));
  return a;
}

static void expect_reject(const char *text) {
  sc_addr a;
  memset(&a, 0x77, sizeof(a));
  sc_addr copy = a;
  int r = sc_addr_parse(text, &a);
  if (r != -EINVAL) {
    fail_msg("sc_addr_parse(\"%s\") = %d, want -EINVAL", text, r);
  }
  assert_memory_equal(&a, &copy, sizeof(a)); /* out untouched */
}

/* ---- sc_addr_parse_port ---- */

static void port_accepts(void **state) {
  (void)state;
  const struct {
    const char *t;
    uint16_t v;
  } ok[] = {{"0", 0}, {"1", 1}, {"80", 80}, {"1024", 1024}, {"65535", 65535}, {"9999", 9999}};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    uint16_t p = 1234;
    assert_int_equal(sc_addr_parse_port(ok[i].t, &p), 0);
    assert_int_equal(p, ok[i].v);
  }
}

static void port_rejects(void **state) {
  (void)state;
  const char *bad[] = {"",    "65536", "-1",         "+1",     " 80",
                       "80 ", "080",   "00",         "1a",     "0x10",
                       "1e3", "99999", "4294967376", "123456", "18446744073709551696",
                       "8\n", "８０"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint16_t p = 4321;
    int r = sc_addr_parse_port(bad[i], &p);
    if (r != -EINVAL) {
      fail_msg("sc_addr_parse_port(\"%s\") = %d, want -EINVAL", bad[i], r);
    }
    assert_int_equal(p, 4321);
  }
  uint16_t p;
  assert_int_equal(sc_addr_parse_port(NULL, &p), -EINVAL);
  assert_int_equal(sc_addr_parse_port("1", NULL), -EINVAL);
}

/* ---- accepted forms ---- */

/* "PORT" -> 0.0.0.0:PORT (SRV-2: all IPv4 addresses). */
static void parse_port_only(void **state) {
  (void)state;
  sc_addr a = parse_ok("8080");
  assert_int_equal(a.ss.ss_family, AF_INET);
  assert_int_equal(a.len, sizeof(struct sockaddr_in));
  assert_int_equal(ntohs(in4(&a)->sin_port), 8080);
  assert_int_equal(in4(&a)->sin_addr.s_addr, htonl(INADDR_ANY));
  a = parse_ok("0");
  assert_int_equal(sc_addr_port(&a), 0);
  a = parse_ok("65535");
  assert_int_equal(sc_addr_port(&a), 65535);
}

static void parse_ipv4_forms(void **state) {
  (void)state;
  sc_addr a = parse_ok("1.2.3.4:80");
  assert_int_equal(a.ss.ss_family, AF_INET);
  assert_int_equal(in4(&a)->sin_addr.s_addr, htonl(0x01020304));
  assert_int_equal(sc_addr_port(&a), 80);
  a = parse_ok("localhost:8080");
  assert_int_equal(in4(&a)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  assert_int_equal(sc_addr_port(&a), 8080);
  a = parse_ok("127.0.0.1:0");
  assert_int_equal(in4(&a)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  a = parse_ok("255.255.255.255:65535");
  assert_int_equal(in4(&a)->sin_addr.s_addr, htonl(0xffffffffu));
  a = parse_ok("0.0.0.0:1");
  assert_int_equal(in4(&a)->sin_addr.s_addr, 0);
}

/* "localhost:P" and "127.0.0.1:P" are the same bytes; "P" and "0.0.0.0:P" too. */
static void parse_equivalent_forms_same_bytes(void **state) {
  (void)state;
  sc_addr a = parse_ok("localhost:99");
  sc_addr b = parse_ok("127.0.0.1:99");
  assert_int_equal(a.len, b.len);
  assert_memory_equal(&a.ss, &b.ss, sizeof(a.ss));
  a = parse_ok("99");
  b = parse_ok("0.0.0.0:99");
  assert_memory_equal(&a, &b, sizeof(a));
}

static void parse_ipv6_forms(void **state) {
  (void)state;
  sc_addr a = parse_ok("[::1]:80");
  assert_int_equal(a.ss.ss_family, AF_INET6);
  assert_int_equal(a.len, sizeof(struct sockaddr_in6));
  assert_memory_equal(&in6(&a)->sin6_addr, &in6addr_loopback, sizeof(struct in6_addr));
  assert_int_equal(sc_addr_port(&a), 80);
  assert_int_equal(in6(&a)->sin6_flowinfo, 0);
  assert_int_equal(in6(&a)->sin6_scope_id, 0);
  a = parse_ok("[::]:0");
  assert_memory_equal(&in6(&a)->sin6_addr, &in6addr_any, sizeof(struct in6_addr));
  a = parse_ok("[2001:db8::1]:443");
  assert_int_equal(in6(&a)->sin6_addr.s6_addr[0], 0x20);
  assert_int_equal(in6(&a)->sin6_addr.s6_addr[15], 1);
  a = parse_ok("[::ffff:1.2.3.4]:9");
  assert_int_equal(in6(&a)->sin6_addr.s6_addr[12], 1);
  assert_int_equal(in6(&a)->sin6_addr.s6_addr[15], 4);
  parse_ok("[fe80::1:2:3:4]:65535");
  parse_ok("[1:2:3:4:5:6:7:8]:1");
}

static void parse_unix_path_forms(void **state) {
  (void)state;
  sc_addr a = parse_ok("unix:/tmp/x.sock");
  assert_int_equal(a.ss.ss_family, AF_UNIX);
  assert_string_equal(un(&a)->sun_path, "/tmp/x.sock");
  assert_int_equal(a.len, PATH_OFF + strlen("/tmp/x.sock") + 1);
  a = parse_ok("unix:relative");
  assert_string_equal(un(&a)->sun_path, "relative");
  a = parse_ok("unix:with space and : colon @at");
  assert_int_equal(a.ss.ss_family, AF_UNIX);
  assert_int_equal(sc_addr_port(&a), -EAFNOSUPPORT);
}

/* The longest path that fits sun_path with its NUL (107 bytes on Linux). */
static void parse_unix_longest_path(void **state) {
  (void)state;
  const size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
  char text[8 + 200];
  memcpy(text, "unix:", 5);
  memset(text + 5, 'p', max);
  text[5 + max] = '\0';
  sc_addr a = parse_ok(text);
  assert_int_equal(a.len, sizeof(struct sockaddr_un));
  assert_int_equal(un(&a)->sun_path[max], '\0');
  text[5 + max] = 'p';
  text[5 + max + 1] = '\0';
  expect_reject(text); /* one more byte: no room for the NUL */
}

/* "@NAME": sun_path[0] = 0, len = offsetof(sun_path) + 1 + strlen(NAME). */
static void parse_abstract_forms(void **state) {
  (void)state;
  sc_addr a = parse_ok("@name");
  assert_int_equal(a.ss.ss_family, AF_UNIX);
  assert_int_equal(un(&a)->sun_path[0], '\0');
  assert_memory_equal(un(&a)->sun_path + 1, "name", 4);
  assert_int_equal(a.len, PATH_OFF + 1 + 4);
  a = parse_ok("@with space~!");
  assert_int_equal(a.len, PATH_OFF + 1 + 12);
  a = parse_ok("@@");
  assert_int_equal(un(&a)->sun_path[1], '@');
}

/* "@" alone: family only (X-AUTOBIND on bind). */
static void parse_abstract_autobind(void **state) {
  (void)state;
  sc_addr a = parse_ok("@");
  assert_int_equal(a.ss.ss_family, AF_UNIX);
  assert_int_equal(a.len, PATH_OFF);
  char buf[8];
  assert_int_equal(sc_addr_format(&a, buf, sizeof(buf)), 1);
  assert_string_equal(buf, "@");
}

static void parse_abstract_longest(void **state) {
  (void)state;
  const size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
  char text[4 + 200];
  text[0] = '@';
  memset(text + 1, 'n', max);
  text[1 + max] = '\0';
  sc_addr a = parse_ok(text);
  assert_int_equal(a.len, sizeof(struct sockaddr_un));
  text[1 + max] = 'n';
  text[2 + max] = '\0';
  expect_reject(text);
}

/* Two parses of the same text are byte-identical (the storage is zeroed first). */
static void parse_zeroes_storage(void **state) {
  (void)state;
  sc_addr a;
  memset(&a, 0xff, sizeof(a));
  assert_int_equal(sc_addr_parse("1.2.3.4:5", &a), 0);
  const unsigned char *p = (const unsigned char *)&a.ss;
  for (size_t i = a.len; i < sizeof(a.ss); i++) {
    assert_int_equal(p[i], 0);
  }
  assert_int_equal(in4(&a)->sin_zero[0], 0);
}

/* ---- rejects ---- */

static void parse_rejects_ports(void **state) {
  (void)state;
  const char *bad[] = {"65536",    "-1",           "+80",           "080",
                       " 80",      "80 ",          "1.2.3.4:65536", "1.2.3.4:-1",
                       "1.2.3.4:", "1.2.3.4:0x10", "1.2.3.4:080",   "[::1]:65536",
                       "[::1]:",   "[::1]:-1",     "localhost:",    "localhost:1 "};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    expect_reject(bad[i]);
  }
}

static void parse_rejects_hosts(void **state) {
  (void)state;
  const char *bad[] = {"",
                       "1:2:3",
                       "1.2.3:80",
                       "1.2:80",
                       "1:80",
                       "1.2.3.4",
                       "1.2.3.4.5:80",
                       "256.1.1.1:80",
                       "1.2.3.-4:80",
                       " 1.2.3.4:80",
                       "1.2.3.4 :80",
                       "0x7f.0.0.1:80",
                       "localhost",
                       "LOCALHOST:80",
                       "example.com:80",
                       "host:80",
                       ":80",
                       "::1:80",
                       "1.2.3.4:80:80",
                       "[::1]",
                       "[::1]80",
                       "[::1:80",
                       "::1]:80",
                       "[]:80",
                       "[1.2.3.4]:80",
                       "[::1%lo]:80",
                       "[:::1]:80",
                       "[::1]:80x",
                       "[[::1]]:80",
                       "[localhost]:80",
                       "1.2.3.4:80\n"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    expect_reject(bad[i]);
  }
}

static void parse_rejects_unix(void **state) {
  (void)state;
  char longp[5 + 200 + 1];
  memcpy(longp, "unix:", 5);
  memset(longp + 5, 'a', 200);
  longp[205] = '\0';
  char longa[1 + 200 + 1];
  longa[0] = '@';
  memset(longa + 1, 'a', 200);
  longa[201] = '\0';
  const char *bad[] = {"unix:",       longp,          longa,
                       "@\x01",       "@a\x7f",       "@caf\xc3\xa9",
                       "@tab\there",  "unix:/tmp/\n", "unix:/tmp/\x1b[0m",
                       "UNIX:/tmp/x", "unix/tmp/x"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    expect_reject(bad[i]);
  }
}

static void parse_null_arguments(void **state) {
  (void)state;
  sc_addr a;
  assert_int_equal(sc_addr_parse(NULL, &a), -EINVAL);
  assert_int_equal(sc_addr_parse("80", NULL), -EINVAL);
}

/* ---- format ---- */

static void format_exact_text(void **state) {
  (void)state;
  const struct {
    const char *in;
    const char *out;
  } cases[] = {
      {"80", "0.0.0.0:80"},
      {"localhost:1", "127.0.0.1:1"},
      {"[::1]:80", "[::1]:80"},
      {"[2001:0db8:0::1]:5", "[2001:db8::1]:5"},
      {"unix:/a/b", "unix:/a/b"},
      {"@abc", "@abc"},
      {"@", "@"},
      {"[::ffff:1.2.3.4]:9", "[::ffff:1.2.3.4]:9"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    sc_addr a = parse_ok(cases[i].in);
    char buf[SC_ADDR_TEXT_MAX];
    int n = sc_addr_format(&a, buf, sizeof(buf));
    assert_int_equal(n, strlen(cases[i].out));
    assert_string_equal(buf, cases[i].out);
  }
}

/* -ENOSPC exactly when the text and its NUL do not fit. */
static void format_nospace_boundary(void **state) {
  (void)state;
  sc_addr a = parse_ok("1.2.3.4:5"); /* "1.2.3.4:5" is 9 bytes */
  char buf[16];
  memset(buf, 'Z', sizeof(buf));
  assert_int_equal(sc_addr_format(&a, buf, 9), -ENOSPC);
  assert_int_equal(buf[0], 'Z');
  assert_int_equal(sc_addr_format(&a, buf, 10), 9);
  assert_string_equal(buf, "1.2.3.4:5");
  assert_int_equal(sc_addr_format(&a, NULL, 0), -ENOSPC);
  assert_int_equal(sc_addr_format(&a, buf, 0), -ENOSPC);
}

static void format_unsupported_and_malformed(void **state) {
  (void)state;
  sc_addr a;
  memset(&a, 0, sizeof(a));
  char buf[SC_ADDR_TEXT_MAX];
  a.ss.ss_family = AF_UNSPEC;
  a.len = sizeof(a.ss);
  assert_int_equal(sc_addr_format(&a, buf, sizeof(buf)), -EAFNOSUPPORT);
  a.ss.ss_family = AF_NETLINK;
  assert_int_equal(sc_addr_format(&a, buf, sizeof(buf)), -EAFNOSUPPORT);
  assert_int_equal(sc_addr_port(&a), -EAFNOSUPPORT);
  /* An abstract name the parser could not read back (non-printable) is refused. */
  a.ss.ss_family = AF_UNIX;
  ((struct sockaddr_un *)&a.ss)->sun_path[1] = '\n';
  a.len = (socklen_t)(PATH_OFF + 2);
  assert_int_equal(sc_addr_format(&a, buf, sizeof(buf)), -EINVAL);
  /* A length too short for the family is refused, not read past. */
  a.ss.ss_family = AF_INET;
  a.len = 4;
  assert_int_equal(sc_addr_format(&a, buf, sizeof(buf)), -EINVAL);
  assert_int_equal(sc_addr_format(NULL, buf, sizeof(buf)), -EINVAL);
}

/* Malformed AF_UNIX and AF_INET6 lengths are refused, not read past or printed
 * as something the parser would give back differently. */
static void format_malformed_lengths(void **state) {
  (void)state;
  sc_addr a;
  char buf[SC_ADDR_TEXT_MAX];
  memset(&a, 0, sizeof(a));
  a.ss.ss_family = AF_UNIX;
  a.len = PATH_OFF - 1; /* shorter than the family field */
  assert_int_equal(sc_addr_format(&a, buf, sizeof(buf)), -EINVAL);
  memcpy(((struct sockaddr_un *)&a.ss)->sun_path, "/x", 2);
  a.len = (socklen_t)sizeof(struct sockaddr_un) + 1; /* past sun_path */
  assert_int_equal(sc_addr_format(&a, buf, sizeof(buf)), -EINVAL);
  /* A filesystem path with a control byte: "unix:/a\nb" would not parse back. */
  memcpy(((struct sockaddr_un *)&a.ss)->sun_path, "/a\nb", 5);
  a.len = (socklen_t)(PATH_OFF + 5);
  assert_int_equal(sc_addr_format(&a, buf, sizeof(buf)), -EINVAL);
  memset(&a, 0, sizeof(a));
  a.ss.ss_family = AF_INET6;
  a.len = (socklen_t)sizeof(struct sockaddr_in6) - 1;
  assert_int_equal(sc_addr_format(&a, buf, sizeof(buf)), -EINVAL);
  a.len = (socklen_t)sizeof(struct sockaddr_in6);
  assert_int_equal(sc_addr_format(&a, buf, sizeof(buf)), (int)strlen("[::]:0"));
  assert_string_equal(buf, "[::]:0");
  assert_int_equal(sc_addr_port(NULL), -EINVAL);
}

/* ---- from_sockaddr / local ---- */

static void from_sockaddr_copies_and_zeroes(void **state) {
  (void)state;
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons(4242);
  sin.sin_addr.s_addr = htonl(0x0a000001);
  sc_addr a;
  memset(&a, 0xee, sizeof(a));
  assert_int_equal(sc_addr_from_sockaddr(&a, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_int_equal(a.len, sizeof(sin));
  assert_int_equal(sc_addr_port(&a), 4242);
  const unsigned char *p = (const unsigned char *)&a.ss;
  for (size_t i = sizeof(sin); i < sizeof(a.ss); i++) {
    assert_int_equal(p[i], 0);
  }
  char buf[SC_ADDR_TEXT_MAX];
  assert_int_equal(sc_addr_format(&a, buf, sizeof(buf)), strlen("10.0.0.1:4242"));
  assert_string_equal(buf, "10.0.0.1:4242");
  struct sockaddr_storage big;
  memset(&big, 0, sizeof(big));
  assert_int_equal(sc_addr_from_sockaddr(&a, (struct sockaddr *)&big, (socklen_t)sizeof(big) + 1),
                   -EINVAL);
  assert_int_equal(sc_addr_from_sockaddr(NULL, (struct sockaddr *)&big, 4), -EINVAL);
  assert_int_equal(sc_addr_from_sockaddr(&a, NULL, 4), -EINVAL);
  assert_int_equal(sc_addr_from_sockaddr(&a, NULL, 1), -EINVAL); /* any byte from NULL */
}

/* ---- binding ---- */

static int sockopt(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof(v);
  assert_int_equal(getsockopt(fd, level, name, &v, &len), 0);
  return v;
}

/* BIND-1, SRV-2: a listening TCP socket on an ephemeral port, SO_REUSEADDR,
 * close-on-exec; sc_addr_local reports the port the kernel picked. */
static void bind_tcp_listener(void **state) {
  (void)state;
  sc_addr a = parse_ok("127.0.0.1:0");
  int fd = sc_addr_bind_socket(&a, SOCK_STREAM, 0, 16);
  assert_true(fd >= 0);
  assert_int_equal(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
  assert_int_equal(sockopt(fd, SOL_SOCKET, SO_REUSEADDR), 1);
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  sc_addr local;
  assert_int_equal(sc_addr_local(fd, &local), 0);
  assert_int_equal(local.ss.ss_family, AF_INET);
  assert_true(sc_addr_port(&local) > 0);
  char buf[SC_ADDR_TEXT_MAX];
  assert_true(sc_addr_format(&local, buf, sizeof(buf)) > 0);
  assert_int_equal(strncmp(buf, "127.0.0.1:", 10), 0);
  /* BIND-E1: the same port again, while listening -> EADDRINUSE, no fd left. */
  int before = (int)sc_test_count_fds(NULL);
  assert_int_equal(sc_addr_bind_socket(&local, SOCK_STREAM, 0, 16), -EADDRINUSE);
  assert_int_equal((int)sc_test_count_fds(NULL), before);
  close(fd);
}

static void bind_nonblock_dgram(void **state) {
  (void)state;
  sc_addr a = parse_ok("127.0.0.1:0");
  int fd = sc_addr_bind_socket(&a, SOCK_DGRAM, SOCK_NONBLOCK, 0);
  assert_true(fd >= 0);
  assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  assert_int_equal(sockopt(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
  sc_addr local;
  assert_int_equal(sc_addr_local(fd, &local), 0);
  assert_true(sc_addr_port(&local) > 0);
  close(fd);
}

static void bind_ipv6_loopback(void **state) {
  (void)state;
  sc_addr a = parse_ok("[::1]:0");
  int fd = sc_addr_bind_socket(&a, SOCK_STREAM, 0, 4);
  /* The project's machines have IPv6 loopback (the conformance suite uses it
   * too): its absence is a failure, never a skip. */
  assert_true(fd >= 0);
  sc_addr local;
  assert_int_equal(sc_addr_local(fd, &local), 0);
  assert_int_equal(local.ss.ss_family, AF_INET6);
  assert_true(sc_addr_port(&local) > 0);
  close(fd);
}

/* BIND-E2: an address that is not local -> EADDRNOTAVAIL; no fd left open. */
static void bind_not_local(void **state) {
  (void)state;
  sc_addr a = parse_ok("192.0.2.1:0");
  int before = (int)sc_test_count_fds(NULL);
  assert_int_equal(sc_addr_bind_socket(&a, SOCK_STREAM, 0, 4), -EADDRNOTAVAIL);
  assert_int_equal((int)sc_test_count_fds(NULL), before);
}

/* In a forked child: listen(2) fails with EADDRINUSE from now on (a seccomp filter; the
 * bind before it cannot be made to succeed while a listen fails otherwise without a
 * race). False if the filter could not be installed. */
static bool refuse_listen(void) {
#if defined(__x86_64__)
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_listen, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EADDRINUSE),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = (unsigned short)(sizeof(f) / sizeof(f[0])), .filter = f};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
#else
  return false;
#endif
}

/* A listen that fails after the bind succeeded: its -errno is returned and the socket
 * closed (addr.h: no descriptor is left open on failure). */
static void bind_listen_failure(void **state) {
  (void)state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    sc_addr a = parse_ok("127.0.0.1:0");
    if (!refuse_listen()) {
      _exit(3);
    }
    long before = sc_test_count_fds(NULL);
    int r = sc_addr_bind_socket(&a, SOCK_STREAM, 0, 4);
    if (r != -EADDRINUSE) {
      _exit(1);
    }
    _exit(sc_test_count_fds(NULL) == before ? 0 : 2);
  }
  int status = -1;
  assert_int_equal(waitpid(pid, &status, 0), pid); /* the child makes no blocking call */
  assert_true(WIFEXITED(status));
  if (WEXITSTATUS(status) == 3) {
    skip(); /* no seccomp filter on this machine */
  }
  assert_int_equal(WEXITSTATUS(status), 0);
}

static void bind_bad_arguments(void **state) {
  (void)state;
  sc_addr a = parse_ok("127.0.0.1:0");
  assert_int_equal(sc_addr_bind_socket(NULL, SOCK_STREAM, 0, 4), -EINVAL);
  assert_int_equal(sc_addr_bind_socket(&a, SOCK_STREAM, 0x40000000, 4), -EINVAL);
  assert_int_equal(sc_addr_bind_socket(&a, 999, 0, 4), -EINVAL);
  assert_int_equal(sc_addr_local(-1, &a), -EBADF);
  assert_int_equal(sc_addr_local(0, NULL), -EINVAL);
}

/* X-AUTOBIND: "@" on a UNIX socket autobinds an abstract name of NUL + 5 hex
 * digits, which formats and parses back to the same bytes. */
static void bind_unix_autobind(void **state) {
  (void)state;
  sc_addr a = parse_ok("@");
  int fd = sc_addr_bind_socket(&a, SOCK_DGRAM, 0, 0);
  assert_true(fd >= 0);
  sc_addr local;
  assert_int_equal(sc_addr_local(fd, &local), 0);
  assert_int_equal(local.ss.ss_family, AF_UNIX);
  assert_int_equal(local.len, PATH_OFF + 1 + 5);
  assert_int_equal(un(&local)->sun_path[0], '\0');
  char buf[SC_ADDR_TEXT_MAX];
  assert_int_equal(sc_addr_format(&local, buf, sizeof(buf)), 6);
  assert_int_equal(buf[0], '@');
  sc_addr back;
  assert_int_equal(sc_addr_parse(buf, &back), 0);
  assert_int_equal(back.len, local.len);
  assert_memory_equal(&back.ss, &local.ss, local.len);
  close(fd);
}

/* X-UNBIND: a path socket; the same path again -> EADDRINUSE; a missing
 * directory -> ENOENT (BIND-E5); a path under a regular file -> ENOTDIR. */
static void bind_unix_paths(void **state) {
  (void)state;
  char dir[] = "/tmp/sc-test-addr-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char text[SC_ADDR_TEXT_MAX];
  snprintf(text, sizeof(text), "unix:%s/s", dir);
  sc_addr a = parse_ok(text);
  int fd = sc_addr_bind_socket(&a, SOCK_STREAM, 0, 8);
  assert_true(fd >= 0);
  assert_int_equal(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
  sc_addr local;
  assert_int_equal(sc_addr_local(fd, &local), 0);
  char out[SC_ADDR_TEXT_MAX];
  assert_true(sc_addr_format(&local, out, sizeof(out)) > 0);
  assert_string_equal(out, text);
  int before = (int)sc_test_count_fds(NULL);
  assert_int_equal(sc_addr_bind_socket(&a, SOCK_STREAM, 0, 8), -EADDRINUSE);
  assert_int_equal((int)sc_test_count_fds(NULL), before);
  snprintf(text, sizeof(text), "unix:%s/missing/s", dir);
  a = parse_ok(text);
  assert_int_equal(sc_addr_bind_socket(&a, SOCK_DGRAM, 0, 0), -ENOENT);
  char file[SC_ADDR_TEXT_MAX];
  snprintf(file, sizeof(file), "%s/f", dir);
  int ffd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  assert_true(ffd >= 0);
  close(ffd);
  snprintf(text, sizeof(text), "unix:%s/f/s", dir);
  a = parse_ok(text);
  assert_int_equal(sc_addr_bind_socket(&a, SOCK_DGRAM, 0, 0), -ENOTDIR);
  assert_int_equal((int)sc_test_count_fds(NULL), before);
  close(fd);
  snprintf(file, sizeof(file), "%s/s", dir);
  assert_int_equal(unlink(file), 0);
  snprintf(file, sizeof(file), "%s/f", dir);
  assert_int_equal(unlink(file), 0);
  assert_int_equal(rmdir(dir), 0);
}

/* An abstract name binds, and the same name again (same type: Linux keys the
 * abstract namespace by socket type too) is in use. */
static void bind_unix_abstract_name(void **state) {
  (void)state;
  char text[64];
  snprintf(text, sizeof(text), "@sockcheck-test-%ld", (long)getpid());
  sc_addr a = parse_ok(text);
  int fd = sc_addr_bind_socket(&a, SOCK_SEQPACKET, 0, 0);
  assert_true(fd >= 0);
  sc_addr local;
  assert_int_equal(sc_addr_local(fd, &local), 0);
  assert_int_equal(local.len, a.len);
  assert_memory_equal(&local.ss, &a.ss, a.len);
  assert_int_equal(sc_addr_bind_socket(&a, SOCK_SEQPACKET, 0, 0), -EADDRINUSE);
  close(fd);
}

/* What the kernel reports for names the parser never makes: an unbound UNIX
 * socket's name (family only) prints as "@"; a path socket bound to a name that
 * fills sun_path (no room for a NUL) is reported with len sizeof(sockaddr_un) + 1
 * and refused, as "unix:" cannot carry it back (the parser takes at most 107
 * bytes); a path with a control byte in it is refused too. */
static void local_unix_names_the_parser_never_makes(void **state) {
  (void)state;
  char buf[SC_ADDR_TEXT_MAX];
  sc_addr local;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  assert_int_equal(sc_addr_local(fd, &local), 0);
  assert_int_equal(local.len, PATH_OFF);
  assert_int_equal(sc_addr_format(&local, buf, sizeof(buf)), 1);
  assert_string_equal(buf, "@");
  assert_int_equal(close(fd), 0);

  char dir[] = "/tmp/sc-test-addr-XXXXXX";
  assert_non_null(mkdtemp(dir));
  struct sockaddr_un full;
  memset(&full, 0, sizeof(full));
  full.sun_family = AF_UNIX;
  size_t dl = strlen(dir);
  memcpy(full.sun_path, dir, dl);
  full.sun_path[dl] = '/';
  memset(full.sun_path + dl + 1, 'p', sizeof(full.sun_path) - dl - 1);
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&full, sizeof(full)), 0);
  assert_int_equal(sc_addr_local(fd, &local), 0);
  assert_int_equal(local.len, sizeof(struct sockaddr_un) + 1);
  assert_int_equal(sc_addr_format(&local, buf, sizeof(buf)), -EINVAL);
  assert_int_equal(close(fd), 0);
  char path[sizeof(full.sun_path) + 1];
  memcpy(path, full.sun_path, sizeof(full.sun_path));
  path[sizeof(full.sun_path)] = '\0';
  assert_int_equal(unlink(path), 0);

  struct sockaddr_un ctl;
  memset(&ctl, 0, sizeof(ctl));
  ctl.sun_family = AF_UNIX;
  (void)snprintf(ctl.sun_path, sizeof(ctl.sun_path), "%s/a\tb", dir);
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&ctl, sizeof(ctl)), 0);
  assert_int_equal(sc_addr_local(fd, &local), 0);
  assert_int_equal(sc_addr_format(&local, buf, sizeof(buf)), -EINVAL);
  assert_int_equal(close(fd), 0);
  assert_int_equal(unlink(ctl.sun_path), 0);
  assert_int_equal(rmdir(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(port_accepts),
      cmocka_unit_test(port_rejects),
      cmocka_unit_test(parse_port_only),
      cmocka_unit_test(parse_ipv4_forms),
      cmocka_unit_test(parse_equivalent_forms_same_bytes),
      cmocka_unit_test(parse_ipv6_forms),
      cmocka_unit_test(parse_unix_path_forms),
      cmocka_unit_test(parse_unix_longest_path),
      cmocka_unit_test(parse_abstract_forms),
      cmocka_unit_test(parse_abstract_autobind),
      cmocka_unit_test(parse_abstract_longest),
      cmocka_unit_test(parse_zeroes_storage),
      cmocka_unit_test(parse_rejects_ports),
      cmocka_unit_test(parse_rejects_hosts),
      cmocka_unit_test(parse_rejects_unix),
      cmocka_unit_test(parse_null_arguments),
      cmocka_unit_test(format_exact_text),
      cmocka_unit_test(format_nospace_boundary),
      cmocka_unit_test(format_unsupported_and_malformed),
      cmocka_unit_test(format_malformed_lengths),
      cmocka_unit_test(from_sockaddr_copies_and_zeroes),
      cmocka_unit_test(bind_listen_failure),
      cmocka_unit_test(bind_tcp_listener),
      cmocka_unit_test(bind_nonblock_dgram),
      cmocka_unit_test(bind_ipv6_loopback),
      cmocka_unit_test(bind_not_local),
      cmocka_unit_test(bind_bad_arguments),
      cmocka_unit_test(bind_unix_autobind),
      cmocka_unit_test(bind_unix_paths),
      cmocka_unit_test(bind_unix_abstract_name),
      cmocka_unit_test(local_unix_names_the_parser_never_makes),
  };
  return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
