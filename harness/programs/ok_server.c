/* sockcheck-ok-server PORT [--bind ADDR] [--max-conns N] [--sndbuf BYTES]
 *
 * The TCP ok-server (SRV-1..4): binds ADDR:PORT (default all IPv4 addresses,
 * 0.0.0.0; PORT 0 = ephemeral; ADDR may also be a whole address such as
 * 127.0.0.1:0 or unix:PATH, see sc_cli_bind_addr), then replies "ok" to every chunk received from
 * any number of clients at once. Output on stdout, one flushed line each:
 *   listening on HOST:PORT              (once, after listen(): readiness signal)
 *   client IP:PORT connected
 *   client IP:PORT closed (eof|reset|error: MESSAGE|server stopping)
 *   client IP:PORT rejected (connection cap)
 * The log lines never stall service: a stdout nobody reads costs dropped lines,
 * reported as "N log lines dropped" once the reader reads (see server.h).
 * SIGINT/SIGTERM: clean stop, exit 0. Exit 1: runtime failure (e.g.
 * "sockcheck-ok-server: bind 0.0.0.0:PORT: address already in use"). Exit 2: bad
 * usage (one-line reason and the usage on stderr). --help: usage on stdout, 0. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockcheck/addr.h"
#include "cli.h"
#include "sockcheck/error.h"
#include "sockcheck/server.h"

#define PROG "sockcheck-ok-server"
#define BACKLOG 512
#define OUT_LIMIT 4096
#define RECV_BUF 1024

static void usage(FILE *out) {
  (void)fprintf(out, "usage: " PROG
                     " PORT [--bind ADDR] [--max-conns N] [--sndbuf BYTES]\n"
                     "  PORT            TCP port 0..65535 (0 = any free port)\n"
                     "  --bind ADDR     local host or whole address, e.g. 127.0.0.1, ::1,\n"
                     "                  127.0.0.1:0 (default 0.0.0.0: all IPv4 addresses)\n"
                     "  --max-conns N   serve at most N clients at once (default 0: no cap)\n"
                     "  --sndbuf BYTES  each client socket's SO_SNDBUF (default: the kernel's)\n");
}

/* Descriptors 0..2 that are closed are opened on /dev/null, so no socket or
 * signalfd of ours becomes "stdout" (the log descriptor). Returns 0 or -errno. */
static int std_fds_open(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) {
      continue;
    }
    if (errno != EBADF) {
      return SC_ERR(errno);
    }
    int got = open("/dev/null", O_RDWR); /* lowest free descriptor: fd itself */
    if (got < 0) {
      return SC_ERR(errno);
    }
    if (got != fd) {
      (void)close(got);
      return -EBADF;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"bind", required_argument, NULL, 'b'},
                                       {"max-conns", required_argument, NULL, 'm'},
                                       {"sndbuf", required_argument, NULL, 's'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *bind_host = "0.0.0.0";
  uint64_t max_conns = 0;
  uint64_t sndbuf = 0;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, ":h", opts, NULL);
    if (c == -1) {
      break;
    }
    switch (c) {
      case 'b':
        bind_host = optarg;
        break;
      case 'm':
        if (sc_cli_parse_uint(optarg, SIZE_MAX, &max_conns) != 0) {
          return sc_cli_bad_usage(PROG, usage, "bad --max-conns", optarg);
        }
        break;
      case 's':
        if (sc_cli_parse_uint(optarg, INT_MAX / 2, &sndbuf) != 0 || sndbuf == 0) {
          return sc_cli_bad_usage(PROG, usage, "bad --sndbuf", optarg);
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
  if (optind >= argc) {
    return sc_cli_bad_usage(PROG, usage, "missing PORT", NULL);
  }
  if (optind + 1 < argc) {
    return sc_cli_bad_usage(PROG, usage, "unexpected argument", argv[optind + 1]);
  }
  const char *port_text = argv[optind];
  uint16_t port = 0;
  if (sc_addr_parse_port(port_text, &port) != 0) {
    return sc_cli_bad_usage(PROG, usage, "bad PORT (0..65535)", port_text);
  }
  char text[SC_ADDR_TEXT_MAX];
  sc_addr addr;
  if (sc_cli_bind_addr(bind_host, port_text, &addr, text, sizeof(text)) != 0) {
    return sc_cli_bad_usage(PROG, usage, "bad --bind address", bind_host);
  }

  int rc = std_fds_open();
  if (rc < 0) {
    (void)fprintf(stderr, PROG ": /dev/null: %s\n", sc_err_message(rc));
    return 1;
  }
  int stop_fd = sc_cli_stop_fd();
  if (stop_fd < 0) {
    (void)fprintf(stderr, PROG ": signalfd: %s\n", sc_err_message(stop_fd));
    return 1;
  }
  int lfd = sc_addr_bind_socket(&addr, SOCK_STREAM, SOCK_NONBLOCK, BACKLOG);
  if (lfd < 0) {
    (void)fprintf(stderr, PROG ": bind %s: %s\n", text, sc_err_message(lfd));
    (void)close(stop_fd);
    return 1;
  }
  /* Accepted sockets inherit the listener's SO_SNDBUF. */
  int size = (int)sndbuf;
  if (sndbuf > 0 && setsockopt(lfd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) != 0) {
    rc = SC_ERR(errno);
    (void)fprintf(stderr, PROG ": setsockopt SO_SNDBUF: %s\n", sc_err_message(rc));
    (void)close(lfd);
    (void)close(stop_fd);
    return 1;
  }
  sc_addr local;
  rc = sc_addr_local(lfd, &local);
  if (rc == 0) {
    rc = sc_addr_format(&local, text, sizeof(text));
  }
  if (rc < 0) {
    (void)fprintf(stderr, PROG ": getsockname: %s\n", sc_err_message(rc));
    (void)close(lfd);
    (void)close(stop_fd);
    return 1;
  }
  (void)printf("listening on %s\n", text);
  if (fflush(stdout) != 0) {
    /* Nobody can learn the port: a runtime failure. */
    (void)fprintf(stderr, PROG ": stdout: %s\n", sc_err_message(errno));
    (void)close(lfd);
    (void)close(stop_fd);
    return 1;
  }

  sc_server_config cfg = {
      .listen_fd = lfd,
      .stop_fd = stop_fd,
      .max_conns = (size_t)max_conns,
      .out_limit = OUT_LIMIT,
      .recv_buf = RECV_BUF,
      .log_fd = STDOUT_FILENO,
  };
  sc_server_stats stats;
  rc = sc_server_run(&cfg, &stats);
  (void)close(lfd);
  (void)close(stop_fd);
  if (rc < 0) {
    (void)fprintf(stderr, PROG ": server: %s\n", sc_err_message(rc));
    return 1;
  }
  return 0;
}
