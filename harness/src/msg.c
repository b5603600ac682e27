/* Whole-message send and receive over a transport (see sockcheck/msg.h).
 * Every syscall goes through the sc_transport, the clock included: never
 * sendmsg/recvmsg/poll/clock_gettime here. */
#include "sockcheck/msg.h"

#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/uio.h>

#include "sockcheck/error.h"
#include "sockcheck/iov.h"

/* A call's deadline (timeout_ms > 0 only): `at` on the transport's clock. */
typedef struct deadline {
  const sc_transport *t;
  int timeout_ms; /* as the caller gave it: < 0 none, 0 never wait */
  long long at;
} deadline;

static long long now_ms(const sc_transport *t) {
  const sc_transport *clock = t->now_ms != NULL ? t : sc_transport_kernel();
  return clock->now_ms(clock);
}

/* Starts the clock: the deadline is timeout_ms after the call's start. */
static void deadline_start(deadline *d, const sc_transport *t, int timeout_ms) {
  d->t = t;
  d->timeout_ms = timeout_ms;
  d->at = 0;
  if (timeout_ms > 0) {
    long long now = now_ms(t);
    d->at = now > LLONG_MAX - timeout_ms ? LLONG_MAX : now + timeout_ms;
  }
}

/* Before any transport call but the first: -ETIMEDOUT once the deadline is
 * reached, so time lost to EINTR, waits and slow calls all counts. */
static int deadline_check(const deadline *d) {
  if (d->timeout_ms > 0 && now_ms(d->t) >= d->at) {
    return -ETIMEDOUT;
  }
  return 0;
}

/* Waits for `events` after an EAGAIN, each wait given the time left: 0 to retry
 * the call, or -errno (-EAGAIN when timeout_ms is 0, -ETIMEDOUT when a wait
 * timed out or the deadline was reached, a failed wait's error). */
static int wait_ready(const deadline *d, int fd, short events) {
  if (d->timeout_ms == 0) {
    return -EAGAIN;
  }
  for (;;) {
    int left = -1;
    if (d->timeout_ms > 0) {
      long long now = now_ms(d->t);
      if (now >= d->at) {
        return -ETIMEDOUT;
      }
      /* At most timeout_ms, so it fits an int even if the clock misbehaved. */
      left = d->at - now < d->timeout_ms ? (int)(d->at - now) : d->timeout_ms;
    }
    int r = d->t->wait(d->t, fd, events, left);
    if (r == -EINTR) {
      continue;
    }
    if (r < 0) {
      return r;
    }
    return r == 0 ? -ETIMEDOUT : 0;
  }
}

/* After a transport call failed with n < 0: 0 to retry it (EINTR, or EAGAIN and
 * then ready), or the -errno to fail with. */
static int retry_or_fail(const deadline *d, int fd, ssize_t n, short events) {
  if (n == -EINTR) {
    return 0;
  }
  if (n == -EAGAIN || n == -EWOULDBLOCK) {
    return wait_ready(d, fd, events);
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
  deadline dl;
  deadline_start(&dl, t, timeout_ms);
  /* The caller's array serves until the first short write; the remainder is then
   * copied and advanced in `copy`, so the caller's array is never written. */
  struct iovec *cur = msg->msg_iov;
  int cnt = (int)msg->msg_iovlen;
  int copied = 0;
  struct msghdr m = *msg;
  m.msg_flags = 0;
  /* At least one call, even for 0 bytes: an empty datagram is a message, and
   * control data may travel alone. */
  for (;;) {
    ssize_t n = t->sendmsg(t, fd, &m, flags | MSG_NOSIGNAL);
    if (n < 0) {
      r = retry_or_fail(&dl, fd, n, POLLOUT);
      if (r < 0) {
        ret = r;
        goto out;
      }
    } else {
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
        break;
      }
      /* The control data went with this call: never again. */
      m.msg_control = NULL;
      m.msg_controllen = 0;
      if (!copied) {
        memcpy(copy, cur, (size_t)cnt * sizeof(*copy)); /* cnt > 0: bytes remain */
        cur = copy;
        copied = 1;
      }
      if (sc_iov_advance(&cur, &cnt, (size_t)n) < 0) {
        ret = -EIO;
        goto out;
      }
      m.msg_iov = cur;
      m.msg_iovlen = (size_t)cnt;
    }
    r = deadline_check(&dl);
    if (r < 0) {
      ret = r;
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
  deadline dl;
  deadline_start(&dl, t, timeout_ms);
  struct iovec *cur = copy;
  int left = cnt;
  while (done < total) {
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = cur;
    m.msg_iovlen = (size_t)left;
    ssize_t n = t->recvmsg(t, fd, &m, 0);
    if (n < 0) {
      r = retry_or_fail(&dl, fd, n, POLLIN);
      if (r < 0) {
        ret = r;
        goto out;
      }
    } else if (n == 0) {
      break; /* end of stream */
    } else {
      if ((size_t)n > total - done || sc_iov_advance(&cur, &left, (size_t)n) < 0) {
        ret = -EIO; /* a transport claiming more than the buffers hold */
        goto out;
      }
      done += (size_t)n;
      if (done >= total) {
        break;
      }
    }
    r = deadline_check(&dl);
    if (r < 0) {
      ret = r;
      goto out;
    }
  }
  ret = (ssize_t)done;
out:
  if (got != NULL) {
    *got = done;
  }
  return ret;
}
