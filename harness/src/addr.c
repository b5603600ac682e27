/* Addresses (see sockcheck/addr.h): strict parsing of the textual forms, a
 * printer whose output parses back to the same bytes, and binding helpers.
 * Never resolves names: "localhost" is the only name, and it is 127.0.0.1. */
#include "sockcheck/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "sockcheck/error.h"

#define UNIX_PATH_OFF offsetof(struct sockaddr_un, sun_path)
#define UNIX_PATH_CAP sizeof(((struct sockaddr_un *)0)->sun_path)
/* Longest host text inside "[...]" or before ":PORT" (INET6_ADDRSTRLEN with NUL). */
#define HOST_MAX 64

static int is_printable(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c > 0x7e) {
      return 0;
    }
  }
  return 1;
}

int sc_addr_parse_port(const char *text, uint16_t *port) {
  if (text == NULL || port == NULL || text[0] == '\0') {
    return -EINVAL;
  }
  if (text[0] == '0' && text[1] != '\0') {
    return -EINVAL; /* leading zeros beyond "0" */
  }
  unsigned long v = 0;
  for (size_t i = 0; text[i] != '\0'; i++) {
    if (text[i] < '0' || text[i] > '9' || i >= 5) {
      return -EINVAL;
    }
    v = v * 10 + (unsigned long)(text[i] - '0');
  }
  if (v > 65535) {
    return -EINVAL;
  }
  *port = (uint16_t)v;
  return 0;
}

static int parse_unix(const char *path, int abstract, sc_addr *a) {
  size_t n = strlen(path);
  struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
  un->sun_family = AF_UNIX;
  if (!is_printable(path, n)) {
    return -EINVAL;
  }
  if (abstract) {
    /* "@" alone: family only, which makes bind() autobind an abstract name. */
    if (n > UNIX_PATH_CAP - 1) {
      return -EINVAL;
    }
    if (n > 0) {
      un->sun_path[0] = '\0';
      memcpy(un->sun_path + 1, path, n);
      a->len = (socklen_t)(UNIX_PATH_OFF + 1 + n);
    } else {
      a->len = (socklen_t)UNIX_PATH_OFF;
    }
    return 0;
  }
  /* A filesystem path: non-empty and fits sun_path with its NUL. */
  if (n == 0 || n > UNIX_PATH_CAP - 1) {
    return -EINVAL;
  }
  memcpy(un->sun_path, path, n + 1);
  a->len = (socklen_t)(UNIX_PATH_OFF + n + 1);
  return 0;
}

static int parse_inet(const char *host, size_t host_len, uint16_t port, sc_addr *a) {
  char h[HOST_MAX];
  if (host_len == 0 || host_len >= sizeof(h)) {
    return -EINVAL;
  }
  memcpy(h, host, host_len);
  h[host_len] = '\0';
  struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  if (strcmp(h, "localhost") == 0) {
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else if (inet_pton(AF_INET, h, &in->sin_addr) != 1) {
    return -EINVAL; /* inet_pton takes only the full dotted quad, no "1.2.3" */
  }
  a->len = (socklen_t)sizeof(*in);
  return 0;
}

static int parse_inet6(const char *text, sc_addr *a) {
  /* text starts after '['. */
  const char *close = strchr(text, ']');
  if (close == NULL || close[1] != ':') {
    return -EINVAL;
  }
  size_t n = (size_t)(close - text);
  char h[HOST_MAX];
  if (n == 0 || n >= sizeof(h)) {
    return -EINVAL;
  }
  memcpy(h, text, n);
  h[n] = '\0';
  uint16_t port = 0;
  int r = sc_addr_parse_port(close + 2, &port);
  if (r < 0) {
    return r;
  }
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  if (inet_pton(AF_INET6, h, &in6->sin6_addr) != 1) {
    return -EINVAL;
  }
  a->len = (socklen_t)sizeof(*in6);
  return 0;
}

int sc_addr_parse(const char *text, sc_addr *out) {
  if (text == NULL || out == NULL || text[0] == '\0') {
    return -EINVAL;
  }
  /* Built in a zeroed local: out stays untouched on failure, and two parses of
   * the same text are byte-identical. */
  sc_addr a;
  memset(&a, 0, sizeof(a));
  int r;
  uint16_t port = 0;
  if (strncmp(text, "unix:", 5) == 0) {
    r = parse_unix(text + 5, 0, &a);
  } else if (text[0] == '@') {
    r = parse_unix(text + 1, 1, &a);
  } else if (text[0] == '[') {
    r = parse_inet6(text + 1, &a);
  } else if (sc_addr_parse_port(text, &port) == 0) {
    struct sockaddr_in *in = (struct sockaddr_in *)&a.ss;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr.s_addr = htonl(INADDR_ANY);
    a.len = (socklen_t)sizeof(*in);
    r = 0;
  } else {
    const char *colon = strrchr(text, ':');
    if (colon == NULL) {
      return -EINVAL;
    }
    r = sc_addr_parse_port(colon + 1, &port);
    if (r == 0) {
      r = parse_inet(text, (size_t)(colon - text), port, &a);
    }
  }
  if (r < 0) {
    return r;
  }
  *out = a;
  return 0;
}

/* Formats an AF_UNIX address; see sc_addr_format. */
static int format_unix(const sc_addr *a, char *tmp, size_t cap) {
  const struct sockaddr_un *un = (const struct sockaddr_un *)&a->ss;
  if (a->len < UNIX_PATH_OFF || a->len > sizeof(struct sockaddr_un)) {
    return -EINVAL;
  }
  size_t n = a->len - UNIX_PATH_OFF;
  if (n == 0) {
    return snprintf(tmp, cap, "@"); /* unnamed, or an autobind request */
  }
  if (un->sun_path[0] == '\0') {
    /* Abstract: every byte after the leading NUL is part of the name. */
    if (!is_printable(un->sun_path + 1, n - 1)) {
      return -EINVAL;
    }
    return snprintf(tmp, cap, "@%.*s", (int)(n - 1), un->sun_path + 1);
  }
  size_t plen = strnlen(un->sun_path, n);
  if (!is_printable(un->sun_path, plen)) {
    return -EINVAL;
  }
  return snprintf(tmp, cap, "unix:%.*s", (int)plen, un->sun_path);
}

int sc_addr_format(const sc_addr *a, char *buf, size_t cap) {
  char tmp[SC_ADDR_TEXT_MAX];
  char host[INET6_ADDRSTRLEN];
  int n;
  if (a == NULL) {
    return -EINVAL;
  }
  switch (a->ss.ss_family) {
    case AF_INET: {
      const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
      if (a->len < sizeof(*in) || inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)) == NULL) {
        return -EINVAL;
      }
      n = snprintf(tmp, sizeof(tmp), "%s:%u", host, (unsigned)ntohs(in->sin_port));
      break;
    }
    case AF_INET6: {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
      if (a->len < sizeof(*in6) ||
          inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host)) == NULL) {
        return -EINVAL;
      }
      n = snprintf(tmp, sizeof(tmp), "[%s]:%u", host, (unsigned)ntohs(in6->sin6_port));
      break;
    }
    case AF_UNIX:
      n = format_unix(a, tmp, sizeof(tmp));
      break;
    default:
      return -EAFNOSUPPORT;
  }
  if (n < 0) {
    return n;
  }
  if (buf == NULL || (size_t)n >= cap) {
    return -ENOSPC;
  }
  memcpy(buf, tmp, (size_t)n + 1);
  return n;
}

int sc_addr_from_sockaddr(sc_addr *out, const struct sockaddr *sa, socklen_t len) {
  if (out == NULL || (sa == NULL && len > 0) || len > sizeof(out->ss)) {
    return -EINVAL;
  }
  memset(&out->ss, 0, sizeof(out->ss));
  if (len > 0) {
    memcpy(&out->ss, sa, len);
  }
  out->len = len;
  return 0;
}

int sc_addr_port(const sc_addr *a) {
  if (a == NULL) {
    return -EINVAL;
  }
  switch (a->ss.ss_family) {
    case AF_INET:
      return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    case AF_INET6:
      return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    default:
      return -EAFNOSUPPORT;
  }
}

int sc_addr_bind_socket(const sc_addr *a, int type, int flags, int backlog) {
  int one = 1;
  int err;
  if (a == NULL || (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) {
    return -EINVAL;
  }
  int fd = socket(a->ss.ss_family, type | SOCK_CLOEXEC | flags, 0);
  if (fd < 0) {
    return SC_ERR(errno);
  }
  int base_type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (base_type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
    goto fail;
  }
  if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
    goto fail;
  }
  if (base_type == SOCK_STREAM && listen(fd, backlog) < 0) {
    goto fail;
  }
  return fd;
fail:
  err = errno; /* close may overwrite errno */
  (void)close(fd);
  return SC_ERR(err);
}

int sc_addr_local(int fd, sc_addr *out) {
  if (out == NULL) {
    return -EINVAL;
  }
  sc_addr a;
  memset(&a, 0, sizeof(a));
  a.len = (socklen_t)sizeof(a.ss);
  if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) < 0) {
    return SC_ERR(errno);
  }
  *out = a;
  return 0;
}
