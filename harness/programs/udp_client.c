/* sockcheck-udp-client [--host H] [--port N] [--sendmsg] [--hex HEX] [MESSAGE]
 *
 * Sends one UDP datagram to H:N (default 127.0.0.1:12345). Without --sendmsg it
 * uses sendto(2) and the default message "hello world" (CLI-1); with --sendmsg
 * it uses sendmsg(2) with msg_name naming the destination and the default
 * message "Hello, sendmsg!" (SEND-3). --hex HEX sends the bytes HEX spells
 * (even number of hex digits, may be empty, NULs allowed) instead of MESSAGE.
 * Output on stdout, one line:  sent N bytes to IP:PORT
 * Exit 1: the call failed ("sockcheck-udp-client: sendto 127.0.0.1:12345: MESSAGE"
 * on stderr). Exit 2: bad usage. */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockcheck/addr.h"
#include "cli.h"
#include "sockcheck/error.h"
#include "sockcheck/msg.h"

#define PROG "sockcheck-udp-client"
#define SEND_TIMEOUT_MS 10000

static void usage(FILE *out) {
  (void)fprintf(out,
                "usage: " PROG
                " [--host H] [--port N] [--sendmsg] [--hex HEX] [MESSAGE]\n"
                "  --host H    destination IPv4/IPv6 literal or localhost (default 127.0.0.1)\n"
                "  --port N    destination UDP port (default 12345)\n"
                "  --sendmsg   send with sendmsg(2) and msg_name (default message \"Hello, "
                "sendmsg!\")\n"
                "  --hex HEX   send these bytes (hex digits) instead of MESSAGE\n"
                "  MESSAGE     text to send (default \"hello world\" via sendto(2))\n");
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/* Decodes hex text into a new buffer (*out, freed by the caller; non-NULL even
 * when empty). Returns the byte count, -EINVAL for bad text, -ENOMEM. */
static ssize_t decode_hex(const char *text, unsigned char **out) {
  size_t len = strlen(text);
  if (len % 2 != 0) {
    return -EINVAL;
  }
  unsigned char *buf = malloc(len / 2 + 1);
  if (buf == NULL) {
    return -ENOMEM;
  }
  for (size_t i = 0; i < len / 2; i++) {
    int hi = hex_digit(text[2 * i]);
    int lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      free(buf);
      return -EINVAL;
    }
    buf[i] = (unsigned char)(hi << 4 | lo);
  }
  *out = buf;
  return (ssize_t)(len / 2);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"host", required_argument, NULL, 'H'}, {"port", required_argument, NULL, 'p'},
      {"sendmsg", no_argument, NULL, 's'},    {"hex", required_argument, NULL, 'x'},
      {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
  const char *host = "127.0.0.1";
  const char *port_text = "12345";
  const char *hex = NULL;
  bool use_sendmsg = false;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, ":h", opts, NULL);
    if (c == -1) {
      break;
    }
    switch (c) {
      case 'H':
        host = optarg;
        break;
      case 'p':
        port_text = optarg;
        break;
      case 's':
        use_sendmsg = true;
        break;
      case 'x':
        hex = optarg;
        break;
      case 'h':
        usage(stdout);
        return 0;
      case ':':
        return sc_cli_bad_usage(PROG, usage, "missing value for", argv[optind - 1]);
      default:
        return sc_cli_bad_usage(PROG, usage, "unknown option", argv[optind - 1]);
    }
  }
  if (argc - optind > 1) {
    return sc_cli_bad_usage(PROG, usage, "unexpected argument", argv[optind + 1]);
  }
  const char *message = optind < argc ? argv[optind] : NULL;
  if (message != NULL && hex != NULL) {
    return sc_cli_bad_usage(PROG, usage, "give either --hex or MESSAGE, not both", NULL);
  }
  uint16_t port = 0;
  if (sc_addr_parse_port(port_text, &port) != 0) {
    return sc_cli_bad_usage(PROG, usage, "bad --port (0..65535)", port_text);
  }
  char text[SC_ADDR_TEXT_MAX];
  sc_addr dest;
  if (sc_cli_hostport(text, sizeof(text), host, port_text) < 0 || sc_addr_parse(text, &dest) != 0) {
    return sc_cli_bad_usage(PROG, usage, "bad --host", host);
  }
  if (sc_addr_format(&dest, text, sizeof(text)) < 0) {
    return sc_cli_bad_usage(PROG, usage, "bad --host", host);
  }

  unsigned char *data = NULL;
  size_t len = 0;
  if (hex != NULL) {
    ssize_t n = decode_hex(hex, &data);
    if (n == -EINVAL) {
      return sc_cli_bad_usage(PROG, usage, "bad --hex (even number of hex digits)", hex);
    }
    if (n < 0) {
      (void)fprintf(stderr, PROG ": %s\n", sc_err_message((int)n));
      return 1;
    }
    len = (size_t)n;
  } else {
    if (message == NULL) {
      message = use_sendmsg ? "Hello, sendmsg!" : "hello world";
    }
    len = strlen(message);
  }
  const void *payload = data != NULL ? (const void *)data : (const void *)message;

  int rc = 1;
  int fd = socket(dest.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    (void)fprintf(stderr, PROG ": socket: %s\n", sc_err_message(errno));
    goto out;
  }
  ssize_t sent;
  if (use_sendmsg) {
    struct iovec iov = {.iov_base = (void *)payload, .iov_len = len};
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_name = &dest.ss;
    msg.msg_namelen = dest.len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    sent = sc_send_all(sc_transport_kernel(), fd, &msg, 0, SEND_TIMEOUT_MS, NULL);
  } else {
    do {
      sent = sendto(fd, payload, len, MSG_NOSIGNAL, (const struct sockaddr *)&dest.ss, dest.len);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
      sent = SC_ERR(errno);
    }
  }
  if (sent < 0) {
    (void)fprintf(stderr, PROG ": %s %s: %s\n", use_sendmsg ? "sendmsg" : "sendto", text,
                  sc_err_message((int)sent));
    goto out;
  }
  (void)printf("sent %zd bytes to %s\n", sent, text);
  rc = fflush(stdout) == 0 ? 0 : 1;
out:
  if (fd >= 0) {
    (void)close(fd);
  }
  free(data);
  return rc;
}
