/* Helpers shared by the command-line programs (see sockcheck/cli.h). */
#include "cli.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/signalfd.h>

#include "sockcheck/error.h"

int sc_cli_parse_uint(const char *text, uint64_t max, uint64_t *out) {
  if (text == NULL || text[0] == '\0') {
    return -EINVAL;
  }
  if (text[0] == '0' && text[1] != '\0') {
    return -EINVAL;
  }
  uint64_t v = 0;
  for (const char *p = text; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') {
      return -EINVAL;
    }
    uint64_t d = (uint64_t)(*p - '0');
    if (d > max || v > (max - d) / 10) {
      return -EINVAL;
    }
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

int sc_cli_escape(FILE *out, const void *data, size_t len) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    unsigned char b = p[i];
    char esc[4];
    size_t n = 0;
    switch (b) {
      case '\\':
        esc[n++] = '\\';
        esc[n++] = '\\';
        break;
      case '\n':
        esc[n++] = '\\';
        esc[n++] = 'n';
        break;
      case '\r':
        esc[n++] = '\\';
        esc[n++] = 'r';
        break;
      case '\t':
        esc[n++] = '\\';
        esc[n++] = 't';
        break;
      default:
        if (b >= 0x20 && b <= 0x7e) {
          esc[n++] = (char)b;
        } else {
          esc[n++] = '\\';
          esc[n++] = 'x';
          esc[n++] = hex[b >> 4];
          esc[n++] = hex[b & 0xf];
        }
        break;
    }
    if (fwrite(esc, 1, n, out) != n) {
      return -EIO;
    }
  }
  return 0;
}

int sc_cli_hostport(char *buf, size_t cap, const char *host, const char *port) {
  bool v6 = strchr(host, ':') != NULL && host[0] != '[';
  int n = snprintf(buf, cap, v6 ? "[%s]:%s" : "%s:%s", host, port);
  if (n < 0 || (size_t)n >= cap) {
    return -ENOSPC;
  }
  return n;
}

static int set_port(sc_addr *a, uint16_t port) {
  switch (a->ss.ss_family) {
    case AF_INET:
      ((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
      return 0;
    case AF_INET6:
      ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
      return 0;
    case AF_UNIX:
      return 0; /* no port: the path is the address */
    default:
      return -EINVAL;
  }
}

int sc_cli_bind_addr(const char *bind, const char *port_text, sc_addr *out, char *text,
                     size_t cap) {
  uint16_t port = 0;
  if (sc_addr_parse_port(port_text, &port) != 0) {
    return -EINVAL;
  }
  sc_addr a;
  /* A local (AF_UNIX) name is always a whole address: "@NAME" + ":PORT" would parse as
   * the abstract name "NAME:PORT". */
  bool local = bind[0] == '@' || strncmp(bind, "unix:", 5) == 0;
  if (local || sc_cli_hostport(text, cap, bind, port_text) < 0 || sc_addr_parse(text, &a) != 0) {
    /* Not a bare host: a whole address, whose port may only agree with PORT. */
    if (sc_addr_parse(bind, &a) != 0) {
      return -EINVAL;
    }
    int own = sc_addr_port(&a);
    if (own > 0 && own != port) {
      return -EINVAL;
    }
    if (set_port(&a, port) != 0) {
      return -EINVAL;
    }
  }
  if (sc_addr_format(&a, text, cap) < 0) {
    return -EINVAL;
  }
  *out = a;
  return 0;
}

int sc_cli_stop_fd(void) {
  struct sigaction ign;
  memset(&ign, 0, sizeof(ign));
  ign.sa_handler = SIG_IGN;
  if (sigemptyset(&ign.sa_mask) != 0 || sigaction(SIGPIPE, &ign, NULL) != 0) {
    return SC_ERR(errno);
  }
  sigset_t set;
  if (sigemptyset(&set) != 0 || sigaddset(&set, SIGINT) != 0 || sigaddset(&set, SIGTERM) != 0) {
    return SC_ERR(errno);
  }
  int rc = sigprocmask(SIG_BLOCK, &set, NULL);
  if (rc != 0) {
    return SC_ERR(errno);
  }
  int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    return SC_ERR(errno);
  }
  return fd;
}

int sc_cli_bad_usage(const char *prog, void (*usage)(FILE *out), const char *why, const char *arg) {
  (void)fprintf(stderr, "%s: %s%s%s\n", prog, why, arg != NULL ? ": " : "", arg != NULL ? arg : "");
  usage(stderr);
  return 2;
}
