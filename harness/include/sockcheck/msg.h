/* Whole-message send and receive over a transport: gather lists sent despite
 * short writes, EINTR and EAGAIN, within a deadline; scatter receives with
 * truncation reported.
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

/* Waits and deadlines, for sc_send_all and sc_recv_fill alike. timeout_ms < 0:
 * no deadline, each wait is unbounded (-1). timeout_ms == 0: never wait, the
 * first EAGAIN returns -EAGAIN (EINTR and short transfers are still retried).
 * timeout_ms > 0: a deadline for the whole call, timeout_ms after it starts on
 * t->now_ms; every wait is given the time left, and the time lost to EINTR,
 * waits and slow calls all counts. The first transport call is always made; no
 * later call or wait starts once the deadline is reached: the call returns
 * -ETIMEDOUT instead, as it does when a wait reports a timeout (0). A wait that
 * fails returns its error at once. Nothing is ever called after such a failure. */

/* Sends every byte of msg's iovecs exactly once and in order, advancing over
 * short writes on a private copy (the caller's msghdr and iovec array are never
 * written); every call offers all the bytes that remain. msg_name goes with
 * every call; msg_control with every call until one succeeds (a call that
 * fails with EINTR or EAGAIN sent nothing), never after. At least one sendmsg
 * is made, even for 0 bytes (an empty datagram). EINTR is retried, EAGAIN
 * waits for POLLOUT (see above). Returns the total sent, or -errno: -EMSGSIZE
 * for more than SC_IOV_MAX iovecs and -EINVAL if the total exceeds SSIZE_MAX
 * (both before any call), -EAGAIN / -ETIMEDOUT as above, -EIO if the transport
 * reports 0 bytes sent for a nonzero remainder or more than it was offered,
 * otherwise the error the transport or its wait returned. *sent (if not NULL)
 * always holds the bytes the transport accepted: the return value on success,
 * the prefix sent before the failure otherwise. */
ssize_t sc_send_all(const sc_transport *t, int fd, const struct msghdr *msg, int flags,
                    int timeout_ms, size_t *sent);

/* One recvmsg(2) with EINTR retried. Returns the byte count (with MSG_TRUNC in
 * flags, the real datagram length), 0 at end of stream or for an empty
 * datagram, or -errno. msg_flags, msg_namelen and msg_controllen are set by the
 * kernel as usual; received descriptors belong to the caller. */
ssize_t sc_recv_msg(const sc_transport *t, int fd, struct msghdr *msg, int flags);

/* Fills the scatter list iov[0..cnt) completely and in order from a stream,
 * with recvmsg(2) and flags 0 on an advanced private copy of the list (the
 * caller's array is never written; no call for a total of 0). EINTR is retried,
 * EAGAIN waits for POLLIN (see above). Returns the bytes received: the full
 * total, or fewer only at end of stream (recvmsg returned 0). On failure
 * returns -errno: -EINVAL for cnt < 0, -EMSGSIZE for more than SC_IOV_MAX
 * entries, -EAGAIN / -ETIMEDOUT as above, -EIO if the transport reports more
 * bytes than the buffers had room for, otherwise the transport's or its wait's
 * error. *got (if not NULL) always holds the bytes received, which are in the
 * buffers, in order; nothing past them is written. */
ssize_t sc_recv_fill(const sc_transport *t, int fd, const struct iovec *iov, int cnt,
                     int timeout_ms, size_t *got);

#ifdef __cplusplus
}
#endif
#endif
