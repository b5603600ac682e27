/* Whole-message send and receive over a transport (see sockcheck/msg.h).
 * Every syscall goes through the sc_transport: never sendmsg/recvmsg/poll here. */
#include "sockcheck/msg.h"

#include <poll.h>
#include <string.h>
#include <sys/uio.h>

#include "sockcheck/error.h"
#include "sockcheck/iov.h"

/* Waits for `events` after an EAGAIN: 0 to retry the call, or -errno
 * (-EAGAIN when timeout_ms is 0, -ETIMEDOUT when the wait expired). */
static int wait_ready(const sc_transport *t, int fd, short events, int timeout_ms) {
  if (timeout_ms == 0) {
    return -EAGAIN;
  }
  for (;;) {
    int r = t->wait(t, fd, events, timeout_ms);
    if (r == -EINTR) {
      continue;
    }
    if (r < 0) {
      return r;
    }
    return r == 0 ? -ETIMEDOUT : 0;
  }
}

/* What to do with one transport result: 1 to retry the call (EINTR, or EAGAIN
 * and then ready), 0 to use it (n >= 0), or the -errno to fail with. */
static int retry_or_fail(const sc_transport *t, int fd, ssize_t n, short events, int timeout_ms) {
  if (n >= 0) {
    return 0;
  }
  if (n == -EINTR) {
    return 1;
  }
  if (n == -EAGAIN || n == -EWOULDBLOCK) {
    int r = wait_ready(t, fd, events, timeout_ms);
    return r < 0 ? r : 1;
  }
  return (int)n;
}

/* Checks an iovec list and copies it into the caller's private array. */
static int copy_iov(const struct iovec *iov, size_t cnt, struct iovec *copy, size_t *total) {
  if (cnt > SC_IOV_MAX) {
    return -EMSGSIZE;
  }
  int r = sc_iov_total(iov, (int)cnt, total);
  if (r < 0) {
    return r;
  }
  if (cnt > 0) {
    memcpy(copy, iov, cnt * sizeof(*copy));
  }
  return 0;
}

ssize_t sc_send_all(const sc_transport *t, int fd, const struct msghdr *msg, int flags,
                    int timeout_ms, size_t *sent) {
  size_t done = 0;
  ssize_t ret = 0;
  struct iovec copy[SC_IOV_MAX];
  size_t total = 0;
  if (sent != NULL) {
    *sent = 0;
  }
  if (t == NULL || t->sendmsg == NULL || t->wait == NULL) {
    return -EINVAL;
  }
  if (msg == NULL) {
    return -EFAULT;
  }
  if (msg->msg_iovlen > SC_IOV_MAX) {
    return -EMSGSIZE;
  }
  int r = sc_iov_total(msg->msg_iov, (int)msg->msg_iovlen, &total);
  if (r < 0) {
    return r;
  }
  /* The caller's array serves until the first short write; the remainder is then
   * copied and advanced in `copy`, so the caller's array is never written. */
  struct iovec *cur = msg->msg_iov;
  int cnt = (int)msg->msg_iovlen;
  int control_sent = 0;
  int copied = 0;
  /* At least one call, even for 0 bytes: an empty datagram is a message, and
   * control data may travel alone. */
  for (;;) {
    struct msghdr m = *msg;
    m.msg_iov = cur;
    m.msg_iovlen = (size_t)cnt;
    m.msg_flags = 0;
    if (control_sent) {
      m.msg_control = NULL;
      m.msg_controllen = 0;
    }
    ssize_t n = t->sendmsg(t, fd, &m, flags | MSG_NOSIGNAL);
    r = retry_or_fail(t, fd, n, POLLOUT, timeout_ms);
    if (r > 0) {
      continue;
    }
    if (r < 0) {
      ret = r;
      goto out;
    }
    control_sent = 1;
    if ((size_t)n > total - done) {
      ret = -EIO; /* a transport claiming more than it was given */
      goto out;
    }
    if (n == 0 && total - done > 0) {
      ret = -EIO; /* no progress on a nonzero remainder: retrying would spin forever */
      goto out;
    }
    done += (size_t)n;
    if (done >= total) {
      break; /* a loop test here, not in a do-while: `continue` after EINTR must retry */
    }
    if (!copied) {
      memcpy(copy, cur, (size_t)cnt * sizeof(*copy)); /* cnt > 0: bytes remain */
      cur = copy;
      copied = 1;
    }
    if (sc_iov_advance(&cur, &cnt, (size_t)n) < 0) {
      ret = -EIO;
      goto out;
    }
  }
  ret = (ssize_t)done;
out:
  if (sent != NULL) {
    *sent = done;
  }
  return ret;
}

ssize_t sc_recv_msg(const sc_transport *t, int fd, struct msghdr *msg, int flags) {
  if (t == NULL || t->recvmsg == NULL) {
    return -EINVAL;
  }
  if (msg == NULL) {
    return -EFAULT;
  }
  for (;;) {
    ssize_t n = t->recvmsg(t, fd, msg, flags);
    if (n == -EINTR) {
      continue;
    }
    return n;
  }
}

ssize_t sc_recv_fill(const sc_transport *t, int fd, const struct iovec *iov, int cnt,
                     int timeout_ms, size_t *got) {
  size_t done = 0;
  ssize_t ret = 0;
  struct iovec copy[SC_IOV_MAX];
  size_t total = 0;
  if (got != NULL) {
    *got = 0;
  }
  if (t == NULL || t->recvmsg == NULL || t->wait == NULL || cnt < 0) {
    return -EINVAL;
  }
  int r = copy_iov(iov, (size_t)cnt, copy, &total);
  if (r < 0) {
    return r;
  }
  struct iovec *cur = copy;
  int left = cnt;
  while (done < total) {
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = cur;
    m.msg_iovlen = (size_t)left;
    ssize_t n = t->recvmsg(t, fd, &m, 0);
    r = retry_or_fail(t, fd, n, POLLIN, timeout_ms);
    if (r > 0) {
      continue;
    }
    if (r < 0) {
      ret = r;
      goto out;
    }
    if (n == 0) {
      break; /* end of stream */
    }
    if ((size_t)n > total - done || sc_iov_advance(&cur, &left, (size_t)n) < 0) {
      ret = -EIO; /* a transport claiming more than the buffers hold */
      goto out;
    }
    done += (size_t)n;
  }
  ret = (ssize_t)done;
out:
  if (got != NULL) {
    *got = done;
  }
  return ret;
}
