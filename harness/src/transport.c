/* The kernel transport: the only place the library calls sendmsg/recvmsg/poll and
 * reads the clock, and the only place the server calls accept4/write. */
#include "sockcheck/transport.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#include "sockcheck/error.h"

static ssize_t kernel_sendmsg(const sc_transport *t, int fd, const struct msghdr *msg, int flags) {
  (void)t;
  ssize_t n = sendmsg(fd, msg, flags);
  return n < 0 ? SC_ERR(errno) : n;
}

static ssize_t kernel_recvmsg(const sc_transport *t, int fd, struct msghdr *msg, int flags) {
  (void)t;
  ssize_t n = recvmsg(fd, msg, flags);
  return n < 0 ? SC_ERR(errno) : n;
}

static int kernel_wait(const sc_transport *t, int fd, short events, int timeout_ms) {
  (void)t;
  struct pollfd p = {.fd = fd, .events = events, .revents = 0};
  int n = poll(&p, 1, timeout_ms);
  if (n < 0) {
    return SC_ERR(errno);
  }
  return n > 0 ? 1 : 0;
}

static int kernel_accept(const sc_transport *t, int fd, struct sockaddr *addr, socklen_t *len,
                         int flags) {
  (void)t;
  int n = accept4(fd, addr, len, flags);
  return n < 0 ? SC_ERR(errno) : n;
}

static ssize_t kernel_write(const sc_transport *t, int fd, const void *buf, size_t len) {
  (void)t;
  ssize_t n = write(fd, buf, len);
  return n < 0 ? SC_ERR(errno) : n;
}

static long long kernel_now_ms(const sc_transport *t) {
  (void)t;
  struct timespec ts = {.tv_sec = 0, .tv_nsec = 0};
  /* CLOCK_MONOTONIC cannot fail with a valid pointer (clock_gettime(2)). */
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const sc_transport kernel = {
    .sendmsg = kernel_sendmsg,
    .recvmsg = kernel_recvmsg,
    .wait = kernel_wait,
    .accept = kernel_accept,
    .write = kernel_write,
    .now_ms = kernel_now_ms,
    .ctx = NULL,
};

const sc_transport *sc_transport_kernel(void) {
  return &kernel;
}
