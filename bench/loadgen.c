/* bench_loadgen: the lockstep load generator of `./sockcheck bench server` (bench_server.py),
 * one program for every server it compares, so the client side costs them all the same.
 *
 *   bench_loadgen --port P --conns N --seconds S --request STR --reply STR
 *   bench_loadgen --port P --idle N --request STR --reply STR
 *
 * Load: N TCP connections to 127.0.0.1:P, each sending the request and waiting for the
 * whole reply (checked byte for byte) before sending it again, all in one epoll loop, for S
 * seconds. Prints one line: requests=R seconds=T rps=X p50_us=A p99_us=B (latency from the
 * send to the reply's last byte).
 * Idle: opens N connections, makes one round trip on each (so the server holds every one),
 * prints "ready N", then waits for its stdin to close and exits, closing them. The soft
 * RLIMIT_NOFILE is raised to what N needs (the hard limit too when allowed).
 * STR takes \r, \n and \\ escapes. Exit: 0 done, 1 failure (connect, a wrong reply, the
 * server closed), 2 usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG 256
#define MAX_CONNS 1000000L
#define MAX_SECONDS 3600L
#define IO_TIMEOUT_S 10

typedef struct conn {
  int fd;
  size_t got;      /* bytes of the reply received so far */
  uint64_t t_sent; /* when the request went out (ns) */
} conn;

typedef struct msg {
  char bytes[MAX_MSG];
  size_t len;
} msg;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int usage(const char *why) {
  fprintf(stderr,
          "bench_loadgen: %s\n"
          "usage: bench_loadgen --port P (--conns N --seconds S | --idle N) --request STR --reply "
          "STR\n",
          why);
  return 2;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
    return -1;
  }
  *out = v;
  return 0;
}

/* Copies s into m with \r, \n and \\ decoded; -1 if it is empty or too long. */
static int parse_msg(const char *s, msg *m) {
  m->len = 0;
  for (; *s != '\0'; s++) {
    char c = *s;
    if (c == '\\') {
      s++;
      if (*s == 'r') {
        c = '\r';
      } else if (*s == 'n') {
        c = '\n';
      } else if (*s == '\\') {
        c = '\\';
      } else {
        return -1;
      }
    }
    if (m->len == sizeof(m->bytes)) {
      return -1;
    }
    m->bytes[m->len++] = c;
  }
  return m->len > 0 ? 0 : -1;
}

static int raise_nofile(long want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return -1;
  }
  if ((rlim_t)want > rl.rlim_max) {
    struct rlimit hard = {(rlim_t)want, (rlim_t)want};
    if (setrlimit(RLIMIT_NOFILE, &hard) == 0) {
      return 0;
    }
  }
  if ((rlim_t)want > rl.rlim_cur) {
    rl.rlim_cur = (rlim_t)want < rl.rlim_max ? (rlim_t)want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      return -1;
    }
  }
  return (rlim_t)want <= rl.rlim_cur ? 0 : -1;
}

/* A blocking loopback connection with TCP_NODELAY and IO_TIMEOUT_S send/receive timeouts. */
static int dial(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  struct timeval tv = {IO_TIMEOUT_S, 0};
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int send_msg(int fd, const msg *m) {
  ssize_t n;
  do {
    n = send(fd, m->bytes, m->len, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == (ssize_t)m->len ? 0 : -1;
}

/* Takes what is readable on c (nonblocking or with a timeout) and checks it against the
 * reply: 1 when the whole reply is in, 0 when more is to come, -1 on a wrong byte, EOF,
 * an error, or (blocking) a timeout. */
static int take_reply(conn *c, const msg *reply) {
  char buf[MAX_MSG];
  ssize_t n;
  do {
    n = recv(c->fd, buf, reply->len - c->got, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    return 0;
  }
  if (n <= 0 || memcmp(buf, reply->bytes + c->got, (size_t)n) != 0) {
    return -1;
  }
  c->got += (size_t)n;
  if (c->got < reply->len) {
    return 0;
  }
  c->got = 0;
  return 1;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a;
  uint64_t y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static int idle(int port, long n, const msg *req, const msg *reply) {
  if (raise_nofile(n + 64) != 0) {
    fprintf(stderr, "bench_loadgen: cannot raise RLIMIT_NOFILE to %ld\n", n + 64);
    return 1;
  }
  for (long i = 0; i < n; i++) {
    conn c = {dial(port), 0, 0};
    int r = 0;
    if (c.fd < 0 || send_msg(c.fd, req) != 0) {
      fprintf(stderr, "bench_loadgen: connection %ld: %s\n", i, strerror(errno));
      return 1;
    }
    /* each recv takes a byte at least, or times out and takes none */
    for (size_t k = 0; k <= reply->len && r == 0; k++) {
      r = take_reply(&c, reply);
    }
    if (r != 1) {
      fprintf(stderr, "bench_loadgen: connection %ld: no reply\n", i);
      return 1;
    }
    /* left open on purpose: the server holds it until this process exits */
  }
  printf("ready %ld\n", n);
  fflush(stdout);
  char buf[64];
  while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
  }
  return 0;
}

static int load(int port, long nconns, long seconds, const msg *req, const msg *reply) {
  if (raise_nofile(nconns + 64) != 0) {
    fprintf(stderr, "bench_loadgen: cannot raise RLIMIT_NOFILE to %ld\n", nconns + 64);
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  conn *conns = calloc((size_t)nconns, sizeof(*conns));
  size_t cap = 1u << 16, nlat = 0;
  uint64_t *lat = malloc(cap * sizeof(*lat));
  if (ep < 0 || conns == NULL || lat == NULL) {
    fprintf(stderr, "bench_loadgen: out of resources\n");
    return 1;
  }
  for (long i = 0; i < nconns; i++) {
    conns[i].fd = dial(port);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
    if (conns[i].fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0) {
      fprintf(stderr, "bench_loadgen: connect: %s\n", strerror(errno));
      return 1;
    }
  }
  uint64_t t0 = now_ns();
  uint64_t end = t0 + (uint64_t)seconds * 1000000000u;
  for (long i = 0; i < nconns; i++) {
    conns[i].t_sent = now_ns();
    if (send_msg(conns[i].fd, req) != 0) {
      fprintf(stderr, "bench_loadgen: send: %s\n", strerror(errno));
      return 1;
    }
  }
  uint64_t t = t0;
  struct epoll_event evs[256];
  while (t < end) {
    int n = epoll_wait(ep, evs, 256, 100);
    if (n < 0 && errno != EINTR) {
      fprintf(stderr, "bench_loadgen: epoll_wait: %s\n", strerror(errno));
      return 1;
    }
    for (int i = 0; i < n; i++) {
      conn *c = evs[i].data.ptr;
      int r = take_reply(c, reply);
      if (r < 0) {
        fprintf(stderr, "bench_loadgen: a wrong reply, or the server closed a connection\n");
        return 1;
      }
      if (r == 0) {
        continue;
      }
      t = now_ns();
      if (nlat == cap) {
        uint64_t *more = realloc(lat, 2 * cap * sizeof(*lat));
        if (more == NULL) {
          fprintf(stderr, "bench_loadgen: out of memory\n");
          return 1;
        }
        lat = more;
        cap *= 2;
      }
      lat[nlat++] = t - c->t_sent;
      if (t < end) {
        c->t_sent = t;
        if (send_msg(c->fd, req) != 0) {
          fprintf(stderr, "bench_loadgen: send: %s\n", strerror(errno));
          return 1;
        }
      }
    }
    t = now_ns();
  }
  double secs = (double)(t - t0) / 1e9;
  qsort(lat, nlat, sizeof(*lat), cmp_u64);
  double p50 = nlat > 0 ? (double)lat[nlat / 2] / 1e3 : 0.0;
  double p99 = nlat > 0 ? (double)lat[(nlat * 99) / 100] / 1e3 : 0.0;
  printf("requests=%zu seconds=%.3f rps=%.0f p50_us=%.1f p99_us=%.1f\n", nlat, secs,
         (double)nlat / secs, p50, p99);
  for (long i = 0; i < nconns; i++) {
    close(conns[i].fd);
  }
  free(conns);
  free(lat);
  close(ep);
  return 0;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                       {"conns", required_argument, NULL, 'c'},
                                       {"seconds", required_argument, NULL, 's'},
                                       {"idle", required_argument, NULL, 'i'},
                                       {"request", required_argument, NULL, 'q'},
                                       {"reply", required_argument, NULL, 'r'},
                                       {NULL, 0, NULL, 0}};
  long port = 0, nconns = 0, seconds = 0, nidle = 0;
  msg req = {{0}, 0}, reply = {{0}, 0};
  int o;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
      case 'p':
        if (parse_long(optarg, 1, 65535, &port) != 0) {
          return usage("bad --port");
        }
        break;
      case 'c':
        if (parse_long(optarg, 1, MAX_CONNS, &nconns) != 0) {
          return usage("bad --conns");
        }
        break;
      case 's':
        if (parse_long(optarg, 1, MAX_SECONDS, &seconds) != 0) {
          return usage("bad --seconds");
        }
        break;
      case 'i':
        if (parse_long(optarg, 1, MAX_CONNS, &nidle) != 0) {
          return usage("bad --idle");
        }
        break;
      case 'q':
        if (parse_msg(optarg, &req) != 0) {
          return usage("bad --request");
        }
        break;
      case 'r':
        if (parse_msg(optarg, &reply) != 0) {
          return usage("bad --reply");
        }
        break;
      default:
        return usage("unknown option");
    }
  }
  if (optind != argc || port == 0 || req.len == 0 || reply.len == 0) {
    return usage("--port, --request and --reply are required, and nothing else");
  }
  if (nidle > 0) {
    return nconns == 0 && seconds == 0 ? idle((int)port, nidle, &req, &reply)
                                       : usage("--idle takes no --conns");
  }
  if (nconns == 0 || seconds == 0) {
    return usage("--conns and --seconds are required");
  }
  return load((int)port, nconns, seconds, &req, &reply);
}
