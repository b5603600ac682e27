/* iovec arithmetic (see sockcheck/iov.h): totals, advance, gather, scatter.
 * Pure functions: no syscalls, iov_base is only dereferenced by gather/scatter. */
#include "sockcheck/iov.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "sockcheck/error.h"

int sc_iov_total(const struct iovec *iov, int cnt, size_t *total) {
  if (cnt < 0 || total == NULL) {
    return -EINVAL;
  }
  if (iov == NULL && cnt > 0) {
    return -EFAULT;
  }
  size_t sum = 0;
  for (int i = 0; i < cnt; i++) {
    if (__builtin_add_overflow(sum, iov[i].iov_len, &sum) || sum > (size_t)SSIZE_MAX) {
      return -EINVAL;
    }
  }
  *total = sum;
  return 0;
}

int sc_iov_advance(struct iovec **iov, int *cnt, size_t n) {
  if (iov == NULL || cnt == NULL) {
    return -EINVAL;
  }
  /* Works on copies: *iov and *cnt change only on success. */
  struct iovec *cur = *iov;
  int c = *cnt;
  if (c < 0) {
    return -EINVAL;
  }
  if (cur == NULL && c > 0) {
    return -EFAULT;
  }
  /* First pass only checks that n bytes remain, so a failure changes nothing. */
  size_t left = n;
  for (int i = 0; i < c && left > 0; i++) {
    left -= left < cur[i].iov_len ? left : cur[i].iov_len;
  }
  if (left > 0) {
    return -EINVAL;
  }
  /* Skip every entry that is wholly consumed, zero-length ones included (also
   * when n is exactly the total: the result is then an empty array). */
  while (c > 0) {
    if (n < cur->iov_len) {
      break;
    }
    n -= cur->iov_len;
    cur++;
    c--;
  }
  if (n > 0) {
    /* c > 0 here: the first pass proved n fits. Integer arithmetic on the base
     * keeps a NULL base (fake transports) free of pointer-overflow UB. */
    cur->iov_base = (void *)((uintptr_t)cur->iov_base + n);
    cur->iov_len -= n;
  }
  *iov = cur;
  *cnt = c;
  return 0;
}

size_t sc_iov_gather(const struct iovec *iov, int cnt, void *dst, size_t cap) {
  size_t done = 0;
  if (iov == NULL || dst == NULL) {
    return 0;
  }
  for (int i = 0; i < cnt && done < cap; i++) {
    size_t len = iov[i].iov_len;
    if (len == 0) {
      continue;
    }
    if (iov[i].iov_base == NULL) {
      break; /* the kernel would fault here (EFAULT): stop, never read NULL */
    }
    if (len > cap - done) {
      len = cap - done;
    }
    memcpy((unsigned char *)dst + done, iov[i].iov_base, len);
    done += len;
  }
  return done;
}

size_t sc_iov_scatter(const struct iovec *iov, int cnt, const void *src, size_t len) {
  size_t done = 0;
  if (iov == NULL || src == NULL) {
    return 0;
  }
  for (int i = 0; i < cnt && done < len; i++) {
    size_t room = iov[i].iov_len;
    if (room == 0) {
      continue;
    }
    if (iov[i].iov_base == NULL) {
      break; /* as the kernel would fault: never write through NULL */
    }
    if (room > len - done) {
      room = len - done;
    }
    memcpy(iov[i].iov_base, (const unsigned char *)src + done, room);
    done += room;
  }
  return done;
}
