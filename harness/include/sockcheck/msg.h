/* Whole-message send and receive over a transport: gather lists sent despite
 * short writes, EINTR and EAGAIN; scatter receives with truncation reported.
 * Every send adds MSG_NOSIGNAL: SIGPIPE never kills the process, a closed peer
 * is reported as -EPIPE. */
#ifndef SOCKCHECK_MSG_H
#define SOCKCHECK_MSG_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "sockcheck/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sends every byte of msg's iovecs exactly once and in order, advancing over
 * short writes on a private copy (the caller's msghdr and iovec array are never
 * written). msg_name goes with every call, msg_control with the first call only.
 * EINTR is retried; on EAGAIN it waits for POLLOUT up to timeout_ms per wait
 * (< 0: no limit; 0: return -EAGAIN at once). Returns the total sent, or -errno
 * (-EMSGSIZE for more than SC_IOV_MAX iovecs, -EINVAL if the total exceeds
 * SSIZE_MAX, -ETIMEDOUT if a wait expired); *sent (if not NULL) always holds the
 * bytes sent before the failure. */
ssize_t sc_send_all(const sc_transport *t, int fd, const struct msghdr *msg, int flags,
                    int timeout_ms, size_t *sent);

/* One recvmsg(2) with EINTR retried. Returns the byte count (with MSG_TRUNC in
 * flags, the real datagram length), 0 at end of stream or for an empty
 * datagram, or -errno. msg_flags, msg_namelen and msg_controllen are set by the
 * kernel as usual; received descriptors belong to the caller. */
ssize_t sc_recv_msg(const sc_transport *t, int fd, struct msghdr *msg, int flags);

/* Fills the scatter list iov[0..cnt) completely from a stream, waiting for
 * POLLIN up to timeout_ms per wait on EAGAIN. Returns the bytes received: the
 * full total, or less only at end of stream; -errno on failure (bytes already
 * received are then in the buffers, counted in *got if not NULL). */
ssize_t sc_recv_fill(const sc_transport *t, int fd, const struct iovec *iov, int cnt,
                     int timeout_ms, size_t *got);

#ifdef __cplusplus
}
#endif
#endif
