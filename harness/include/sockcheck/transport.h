/* The syscall seam. All of the library's socket I/O goes through one
 * sc_transport, so tests and the `sendall` and `recvfill` fuzz targets can replay
 * any schedule of short transfers, EINTR, EAGAIN and waits, on a clock of their
 * own, without a kernel (curl's debug socket
 * filter does the same).
 */
#ifndef SOCKCHECK_TRANSPORT_H
#define SOCKCHECK_TRANSPORT_H

#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_transport sc_transport;

/* Each operation returns >= 0 on success or -errno on failure, including -EINTR
 * (the caller retries). errno is not part of the contract. Build transports with
 * designated initializers: members are added over time; sc_send_all and the
 * sc_recv_* calls use sendmsg, recvmsg, wait and now_ms, the server all but now_ms. */
struct sc_transport {
  ssize_t (*sendmsg)(const sc_transport *t, int fd, const struct msghdr *msg, int flags);
  ssize_t (*recvmsg)(const sc_transport *t, int fd, struct msghdr *msg, int flags);
  /* Waits until fd is ready for `events` (POLLIN/POLLOUT): 1 ready, 0 timed out,
   * -errno on failure. timeout_ms < 0 waits without limit. */
  int (*wait)(const sc_transport *t, int fd, short events, int timeout_ms);
  /* accept4(2) on a listening socket: the new descriptor (>= 0) or -errno. addr
   * and len may be NULL; flags are accept4's (SOCK_NONBLOCK, SOCK_CLOEXEC). */
  int (*accept)(const sc_transport *t, int fd, struct sockaddr *addr, socklen_t *len, int flags);
  /* write(2): bytes written (possibly fewer than len) or -errno. */
  ssize_t (*write)(const sc_transport *t, int fd, const void *buf, size_t len);
  /* The monotonic clock in milliseconds (never decreasing; only differences
   * matter), read for the deadlines of sc_send_all and sc_recv_fill. May be NULL:
   * the library then reads CLOCK_MONOTONIC itself. */
  long long (*now_ms)(const sc_transport *t);
  void *ctx; /* owned by whoever built the transport */
};

/* The real kernel: sendmsg(2), recvmsg(2), poll(2), accept4(2), write(2) and
 * clock_gettime(2) with CLOCK_MONOTONIC. Static, never NULL. */
const sc_transport *sc_transport_kernel(void);

#ifdef __cplusplus
}
#endif
#endif
