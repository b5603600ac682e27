/* sockcheck-udp-server [--port N] [--bind ADDR] [--count N]
 *
 * The UDP receiver (RECV-3): binds ADDR:N (default 0.0.0.0:12345; port 0 =
 * ephemeral) and prints every datagram with its sender, safely for any bytes.
 * Output on stdout, one flushed line each:
 *   listening on HOST:PORT                 (once, after bind: readiness signal)
 *   from IP:PORT len=N data=ESCAPED        (one per datagram, N = its real length)
 *   from IP:PORT len=N data=ESCAPED (truncated to M bytes)   (never for UDP: buffer 65536)
 * ESCAPED is the datagram's exact bytes with \\ \n \r \t and \xHH (two hex digits)
 * for every byte outside 0x20..0x7e. --count N: exit 0 after N datagrams
 * (default 0: run until SIGINT/SIGTERM, then exit 0). Exit 1: runtime failure;
 * exit 2: bad usage. */
#include <getopt.h>
#include <poll.h>
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

#define PROG "sockcheck-udp-server"
#define BUF_SIZE 65536

static void usage(FILE *out) {
  (void)fprintf(out, "usage: " PROG
                     " [--port N] [--bind ADDR] [--count N]\n"
                     "  --port N    UDP port 0..65535 (default 12345; 0 = any free port)\n"
                     "  --bind ADDR local host or whole address, e.g. 127.0.0.1, ::1,\n"
                     "              127.0.0.1:0 (default 0.0.0.0: all IPv4 addresses)\n"
                     "  --count N   exit after N datagrams (default 0: until SIGINT/SIGTERM)\n");
}

/* Receives and prints one datagram. Returns 1 if one was printed, 0 if none was
 * waiting, or -errno (*call names the failed call: "recvmsg" or "stdout"). */
static int print_one(int fd, unsigned char *buf, const char **call) {
  *call = "recvmsg";
  struct sockaddr_storage from;
  struct iovec iov = {.iov_base = buf, .iov_len = BUF_SIZE};
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_name = &from;
  msg.msg_namelen = sizeof(from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  /* MSG_TRUNC: the result is the datagram's real length even if it was cut. */
  ssize_t n = sc_recv_msg(sc_transport_kernel(), fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
  if (n == -EAGAIN) {
    return 0;
  }
  if (n < 0) {
    return (int)n;
  }
  char who[SC_ADDR_TEXT_MAX];
  sc_addr a;
  if (sc_addr_from_sockaddr(&a, (const struct sockaddr *)&from, msg.msg_namelen) != 0 ||
      sc_addr_format(&a, who, sizeof(who)) < 0) {
    (void)snprintf(who, sizeof(who), "?");
  }
  size_t shown = (size_t)n < BUF_SIZE ? (size_t)n : BUF_SIZE;
  *call = "stdout";
  errno = 0;
  (void)printf("from %s len=%zd data=", who, n);
  if (sc_cli_escape(stdout, buf, shown) != 0) {
    return errno != 0 ? SC_ERR(errno) : -EIO;
  }
  if ((msg.msg_flags & MSG_TRUNC) != 0) {
    (void)printf(" (truncated to %zu bytes)", shown);
  }
  (void)printf("\n");
  if (fflush(stdout) != 0) {
    return errno != 0 ? SC_ERR(errno) : -EIO;
  }
  return 1;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                       {"bind", required_argument, NULL, 'b'},
                                       {"count", required_argument, NULL, 'c'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *bind_host = "0.0.0.0";
  const char *port_text = "12345";
  uint64_t count = 0;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, ":h", opts, NULL);
    if (c == -1) {
      break;
    }
    switch (c) {
      case 'p':
        port_text = optarg;
        break;
      case 'b':
        bind_host = optarg;
        break;
      case 'c':
        if (sc_cli_parse_uint(optarg, UINT64_MAX, &count) != 0) {
          return sc_cli_bad_usage(PROG, usage, "bad --count", optarg);
        }
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
  if (optind < argc) {
    return sc_cli_bad_usage(PROG, usage, "unexpected argument", argv[optind]);
  }
  uint16_t port = 0;
  if (sc_addr_parse_port(port_text, &port) != 0) {
    return sc_cli_bad_usage(PROG, usage, "bad --port (0..65535)", port_text);
  }
  char text[SC_ADDR_TEXT_MAX];
  sc_addr addr;
  if (sc_cli_bind_addr(bind_host, port_text, &addr, text, sizeof(text)) != 0) {
    return sc_cli_bad_usage(PROG, usage, "bad --bind address", bind_host);
  }

  int rc = 1;
  int fd = -1;
  unsigned char *buf = NULL;
  int stop_fd = sc_cli_stop_fd();
  if (stop_fd < 0) {
    (void)fprintf(stderr, PROG ": signalfd: %s\n", sc_err_message(stop_fd));
    return 1;
  }
  fd = sc_addr_bind_socket(&addr, SOCK_DGRAM, 0, 0);
  if (fd < 0) {
    (void)fprintf(stderr, PROG ": bind %s: %s\n", text, sc_err_message(fd));
    goto out;
  }
  sc_addr local;
  int err = sc_addr_local(fd, &local);
  if (err == 0) {
    err = sc_addr_format(&local, text, sizeof(text));
  }
  if (err < 0) {
    (void)fprintf(stderr, PROG ": getsockname: %s\n", sc_err_message(err));
    goto out;
  }
  buf = malloc(BUF_SIZE);
  if (buf == NULL) {
    (void)fprintf(stderr, PROG ": out of memory\n");
    goto out;
  }
  (void)printf("listening on %s\n", text);
  if (fflush(stdout) != 0) {
    (void)fprintf(stderr, PROG ": stdout: %s\n", sc_err_message(errno));
    goto out;
  }

  uint64_t seen = 0;
  while (count == 0 || seen < count) {
    struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      (void)fprintf(stderr, PROG ": poll: %s\n", sc_err_message(errno));
      goto out;
    }
    if (pfd[1].revents != 0) {
      rc = 0;
      goto out;
    }
    if (pfd[0].revents == 0) {
      continue;
    }
    const char *call = NULL;
    err = print_one(fd, buf, &call);
    if (err < 0) {
      (void)fprintf(stderr, PROG ": %s: %s\n", call, sc_err_message(err));
      goto out;
    }
    seen += (uint64_t)err;
  }
  rc = 0;
out:
  free(buf);
  if (fd >= 0) {
    (void)close(fd);
  }
  (void)close(stop_fd);
  return rc;
}
