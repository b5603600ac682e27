/* Fuzz target `addr`: sc_addr_parse_port, sc_addr_parse, sc_addr_format, sc_addr_port and
 * sc_addr_from_sockaddr on arbitrary text. Pure: no syscalls, no heap.
 *
 * Properties asserted:
 *  - sc_addr_parse_port agrees with an independent strtoul-based reference with strict rules
 *    (digits only, no sign or space, no leading zero beyond "0", at most 65535);
 *  - sc_addr_parse returns 0 or -EINVAL, and leaves *out untouched on failure;
 *  - for the "PORT", "A.B.C.D:PORT", "localhost:PORT" and "[V6]:PORT" forms it accepts exactly
 *    what a reference built on inet_pton accepts, with the same family, address, port, length;
 *  - "unix:PATH" and "@NAME" results fit sun_path, hold the text's bytes, and printable names
 *    that fit are accepted ("@" alone is the autobind length);
 *  - every accepted address round-trips: format succeeds, parse(format(a)) == a byte for byte,
 *    and format of that is the same text; format returns -ENOSPC for every cap <= the length
 *    and never writes at or past cap.
 *
 * Input: the text is the bytes before the first NUL (at most TEXT_MAX of them). The byte after
 * that NUL, if any, is an extra capacity tried with sc_addr_format. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "sockcheck/addr.h"
#include "sockcheck/error.h"
#include "support/check.h"

#define TEXT_MAX 300
#define SUN_PATH_CAP sizeof(((struct sockaddr_un *)0)->sun_path)
#define SUN_PATH_OFF offsetof(struct sockaddr_un, sun_path)
/* Fill byte that marks "never written" in output buffers and untouched structs. */
#define POISON 0xA5

typedef struct addr_input {
  char text[TEXT_MAX + 1];
  size_t len;
  bool has_cap;
  size_t cap;
} addr_input;

typedef enum ref_verdict { REF_REJECT, REF_ACCEPT, REF_UNIX } ref_verdict;

static void decode_input(const uint8_t *data, size_t size, addr_input *in) {
  size_t n = 0;
  while (n < size && n < TEXT_MAX && data[n] != 0) {
    n++;
  }
  memcpy(in->text, data, n);
  in->text[n] = '\0';
  in->len = n;
  in->has_cap = n + 1 < size && data[n] == 0;
  in->cap = in->has_cap ? data[n + 1] : 0;
}

/* Reference port parser: strict character rules, then strtoul on the checked digits. */
static bool ref_port(const char *s, uint16_t *port) {
  size_t n = strlen(s);
  if (n == 0 || n > 5 || (s[0] == '0' && n > 1)) {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
  }
  char *end = NULL;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno != 0 || end != s + n || v > 65535) {
    return false;
  }
  *port = (uint16_t)v;
  return true;
}

static bool all_digits(const char *s) {
  if (*s == '\0') {
    return false;
  }
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9') {
      return false;
    }
  }
  return true;
}

static bool printable(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

static void set_in4(sc_addr *a, uint32_t addr_be, uint16_t port) {
  struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
  memset(a, 0, sizeof(*a));
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  in->sin_addr.s_addr = addr_be;
  a->len = (socklen_t)sizeof(*in);
}

/* Copies s[0..n) into a NUL-terminated host buffer; false if it does not fit. */
static bool host_copy(char *dst, size_t cap, const char *s, size_t n) {
  if (n >= cap) {
    return false;
  }
  memcpy(dst, s, n);
  dst[n] = '\0';
  return true;
}

/* The reference parser for the INET forms; the UNIX forms are checked by check_unix. */
static ref_verdict ref_parse(const char *text, sc_addr *exp) {
  uint16_t port = 0;
  char host[128];
  if (strncmp(text, "unix:", 5) == 0 || text[0] == '@') {
    return REF_UNIX;
  }
  if (all_digits(text)) {
    if (!ref_port(text, &port)) {
      return REF_REJECT;
    }
    set_in4(exp, htonl(INADDR_ANY), port);
    return REF_ACCEPT;
  }
  if (text[0] == '[') {
    const char *close = strchr(text, ']');
    if (close == NULL || close[1] != ':' || !ref_port(close + 2, &port) ||
        !host_copy(host, sizeof(host), text + 1, (size_t)(close - text - 1))) {
      return REF_REJECT;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&exp->ss;
    memset(exp, 0, sizeof(*exp));
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1) {
      return REF_REJECT;
    }
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    exp->len = (socklen_t)sizeof(*in6);
    return REF_ACCEPT;
  }
  const char *colon = strchr(text, ':');
  if (colon == NULL || !ref_port(colon + 1, &port) ||
      !host_copy(host, sizeof(host), text, (size_t)(colon - text))) {
    return REF_REJECT;
  }
  struct in_addr a4;
  if (strcmp(host, "localhost") == 0) {
    a4.s_addr = htonl(INADDR_LOOPBACK);
  } else if (inet_pton(AF_INET, host, &a4) != 1) {
    return REF_REJECT;
  }
  set_in4(exp, a4.s_addr, port);
  return REF_ACCEPT;
}

static void check_port(const addr_input *in) {
  uint16_t want = 0;
  uint16_t got = 0;
  bool ok = ref_port(in->text, &want);
  int rc = sc_addr_parse_port(in->text, &got);
  SC_FUZZ_CHECK(rc == 0 || rc == -EINVAL, "sc_addr_parse_port(\"%s\") returned %d", in->text, rc);
  SC_FUZZ_CHECK((rc == 0) == ok, "sc_addr_parse_port(\"%s\") returned %s, reference %s", in->text,
                sc_err_name(rc), ok ? "accepts" : "rejects");
  SC_FUZZ_CHECK(!ok || got == want, "sc_addr_parse_port(\"%s\") gave %u, reference %u", in->text,
                (unsigned)got, (unsigned)want);
}

/* Compares the INET fields that define an address (padding is not part of the contract). */
static void check_inet_equal(const char *text, const sc_addr *got, const sc_addr *exp) {
  SC_FUZZ_CHECK(got->ss.ss_family == exp->ss.ss_family && got->len == exp->len,
                "sc_addr_parse(\"%s\"): family %d len %u, reference family %d len %u", text,
                got->ss.ss_family, (unsigned)got->len, exp->ss.ss_family, (unsigned)exp->len);
  if (exp->ss.ss_family == AF_INET) {
    const struct sockaddr_in *g = (const struct sockaddr_in *)&got->ss;
    const struct sockaddr_in *e = (const struct sockaddr_in *)&exp->ss;
    SC_FUZZ_CHECK(g->sin_port == e->sin_port && g->sin_addr.s_addr == e->sin_addr.s_addr,
                  "sc_addr_parse(\"%s\"): IPv4 address or port differs from the reference", text);
  } else {
    const struct sockaddr_in6 *g = (const struct sockaddr_in6 *)&got->ss;
    const struct sockaddr_in6 *e = (const struct sockaddr_in6 *)&exp->ss;
    SC_FUZZ_CHECK(g->sin6_port == e->sin6_port &&
                      memcmp(&g->sin6_addr, &e->sin6_addr, sizeof(e->sin6_addr)) == 0 &&
                      g->sin6_flowinfo == 0 && g->sin6_scope_id == 0,
                  "sc_addr_parse(\"%s\"): IPv6 address, port, flowinfo or scope differs", text);
  }
  int want = exp->ss.ss_family == AF_INET
                 ? ntohs(((const struct sockaddr_in *)&exp->ss)->sin_port)
                 : ntohs(((const struct sockaddr_in6 *)&exp->ss)->sin6_port);
  int port = sc_addr_port(got);
  SC_FUZZ_CHECK(port == want, "sc_addr_port after \"%s\" returned %d, not %d", text, port, want);
}

/* "unix:PATH" and "@NAME": what was accepted must be the text's bytes and fit. */
static void check_unix(const char *text, int rc, const sc_addr *a) {
  bool abstract = text[0] == '@';
  const char *name = abstract ? text + 1 : text + 5;
  size_t n = strlen(name);
  bool fits = abstract ? n <= SUN_PATH_CAP - 1 : (n >= 1 && n <= SUN_PATH_CAP - 1);
  if (rc != 0) {
    SC_FUZZ_CHECK(!(fits && printable(name, n)),
                  "sc_addr_parse(\"%s\") rejected a printable name that fits sun_path", text);
    return;
  }
  const struct sockaddr_un *un = (const struct sockaddr_un *)&a->ss;
  SC_FUZZ_CHECK(fits, "sc_addr_parse(\"%s\") accepted a name of %zu bytes", text, n);
  SC_FUZZ_CHECK(a->ss.ss_family == AF_UNIX, "sc_addr_parse(\"%s\") gave family %d", text,
                a->ss.ss_family);
  SC_FUZZ_CHECK(sc_addr_port(a) == -EAFNOSUPPORT, "sc_addr_port of \"%s\" is not -EAFNOSUPPORT",
                text);
  if (abstract && n == 0) {
    SC_FUZZ_CHECK(a->len == SUN_PATH_OFF, "\"@\" gave length %u, autobind needs %zu",
                  (unsigned)a->len, SUN_PATH_OFF);
  } else if (abstract) {
    SC_FUZZ_CHECK(a->len == SUN_PATH_OFF + 1 + n && un->sun_path[0] == '\0' &&
                      memcmp(un->sun_path + 1, name, n) == 0,
                  "sc_addr_parse(\"%s\"): abstract name or length (%u) wrong", text,
                  (unsigned)a->len);
  } else {
    SC_FUZZ_CHECK(a->len >= SUN_PATH_OFF + n && a->len <= sizeof(struct sockaddr_un) &&
                      memcmp(un->sun_path, name, n) == 0 && un->sun_path[n] == '\0',
                  "sc_addr_parse(\"%s\"): path or length (%u) wrong", text, (unsigned)a->len);
  }
}

/* Formats with capacity cap into a poisoned buffer; checks -ENOSPC and the bytes past cap. */
static void check_format_cap(const char *text, const sc_addr *a, const char *full, int flen,
                             size_t cap) {
  char buf[SC_ADDR_TEXT_MAX + 8];
  if (cap > SC_ADDR_TEXT_MAX) {
    cap = SC_ADDR_TEXT_MAX;
  }
  memset(buf, POISON, sizeof(buf));
  int rc = sc_addr_format(a, buf, cap);
  if (cap <= (size_t)flen) {
    SC_FUZZ_CHECK(rc == -ENOSPC, "sc_addr_format(\"%s\") with cap %zu <= %d returned %d", text, cap,
                  flen, rc);
  } else {
    SC_FUZZ_CHECK(rc == flen && memcmp(buf, full, (size_t)flen + 1) == 0,
                  "sc_addr_format(\"%s\") with cap %zu returned %d, not the %d-byte text", text,
                  cap, rc, flen);
  }
  for (size_t i = cap; i < sizeof(buf); i++) {
    SC_FUZZ_CHECK((unsigned char)buf[i] == POISON,
                  "sc_addr_format(\"%s\") with cap %zu wrote byte %zu", text, cap, i);
  }
}

static void check_round_trip(const addr_input *in, const sc_addr *a) {
  char t1[SC_ADDR_TEXT_MAX];
  char t2[SC_ADDR_TEXT_MAX];
  int n1 = sc_addr_format(a, t1, sizeof(t1));
  SC_FUZZ_CHECK(n1 > 0 && (size_t)n1 == strnlen(t1, sizeof(t1)),
                "sc_addr_format of accepted \"%s\" returned %s (%d)", in->text, sc_err_name(n1),
                n1);
  sc_addr b;
  memset(&b, POISON, sizeof(b));
  int rc = sc_addr_parse(t1, &b);
  SC_FUZZ_CHECK(rc == 0, "\"%s\" formats as \"%s\", which sc_addr_parse rejects (%s)", in->text, t1,
                sc_err_name(rc));
  SC_FUZZ_CHECK(b.len == a->len && memcmp(&b.ss, &a->ss, a->len) == 0,
                "\"%s\" -> \"%s\" parses to a different address (len %u vs %u)", in->text, t1,
                (unsigned)b.len, (unsigned)a->len);
  int n2 = sc_addr_format(&b, t2, sizeof(t2));
  SC_FUZZ_CHECK(n2 == n1 && memcmp(t1, t2, (size_t)n1 + 1) == 0,
                "format(parse(\"%s\")) = \"%s\" is not stable", t1, n2 >= 0 ? t2 : "(error)");
  check_format_cap(in->text, a, t1, n1, (size_t)n1);
  check_format_cap(in->text, a, t1, n1, (size_t)n1 + 1);
  if (in->has_cap) {
    check_format_cap(in->text, a, t1, n1, in->cap);
  }
  sc_addr c;
  rc = sc_addr_from_sockaddr(&c, (const struct sockaddr *)&a->ss, a->len);
  SC_FUZZ_CHECK(rc == 0 && c.len == a->len && memcmp(&c.ss, &a->ss, a->len) == 0,
                "sc_addr_from_sockaddr does not copy the address of \"%s\"", in->text);
  rc = sc_addr_from_sockaddr(&c, (const struct sockaddr *)&a->ss,
                             (socklen_t)sizeof(a->ss) + 1 + (socklen_t)in->cap);
  SC_FUZZ_CHECK(rc == -EINVAL, "sc_addr_from_sockaddr with len > storage returned %d", rc);
}

static void check_parse(const addr_input *in) {
  sc_addr exp;
  sc_addr got;
  sc_addr untouched;
  memset(&exp, 0, sizeof(exp));
  memset(&got, POISON, sizeof(got));
  memset(&untouched, POISON, sizeof(untouched));
  ref_verdict v = ref_parse(in->text, &exp);
  int rc = sc_addr_parse(in->text, &got);
  SC_FUZZ_CHECK(rc == 0 || rc == -EINVAL, "sc_addr_parse(\"%s\") returned %d", in->text, rc);
  if (rc != 0) {
    SC_FUZZ_CHECK(memcmp(&got, &untouched, sizeof(got)) == 0,
                  "sc_addr_parse(\"%s\") failed but wrote *out", in->text);
  }
  switch (v) {
    case REF_UNIX:
      check_unix(in->text, rc, &got);
      break;
    case REF_ACCEPT:
      SC_FUZZ_CHECK(rc == 0, "sc_addr_parse(\"%s\") rejected a valid address", in->text);
      check_inet_equal(in->text, &got, &exp);
      break;
    case REF_REJECT:
      SC_FUZZ_CHECK(rc != 0, "sc_addr_parse(\"%s\") accepted text the reference rejects", in->text);
      break;
    default:
      SC_FUZZ_CHECK(false, "unknown reference verdict %d", (int)v);
      break;
  }
  if (rc == 0) {
    check_round_trip(in, &got);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  addr_input in;
  decode_input(data, size, &in);
  check_port(&in);
  check_parse(&in);
  return 0;
}

int sc_fuzz_decode(const uint8_t *data, size_t size, FILE *out) {
  addr_input in;
  decode_input(data, size, &in);
  if (fprintf(out, "text (%zu bytes): \"", in.len) < 0) {
    return -1;
  }
  for (size_t i = 0; i < in.len; i++) {
    unsigned char c = (unsigned char)in.text[i];
    int w = (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') ? fprintf(out, "%c", c)
                                                              : fprintf(out, "\\x%02x", c);
    if (w < 0) {
      return -1;
    }
  }
  uint16_t port = 0;
  sc_addr exp;
  memset(&exp, 0, sizeof(exp));
  const char *verdict = "rejects";
  switch (ref_parse(in.text, &exp)) {
    case REF_ACCEPT:
      verdict = "accepts";
      break;
    case REF_UNIX:
      verdict = "leaves to the UNIX checks";
      break;
    case REF_REJECT:
    default:
      break;
  }
  if (fprintf(out, "\"\nreference port parser: %s\nreference address parser: %s\n",
              ref_port(in.text, &port) ? "accepts" : "rejects", verdict) < 0) {
    return -1;
  }
  if (in.has_cap && fprintf(out, "extra format capacity: %zu\n", in.cap) < 0) {
    return -1;
  }
  return 0;
}
