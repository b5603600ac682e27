/* iovec arithmetic: totals with overflow checks and the advance after a short
 * transfer. Pure functions, no syscalls. */
#ifndef SOCKCHECK_IOV_H
#define SOCKCHECK_IOV_H

#include <stddef.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The kernel's limit on iovecs per call (UIO_MAXIOV on Linux). */
#define SC_IOV_MAX 1024

/* Stores the sum of iov[0..cnt).iov_len in *total. Returns 0, or -EINVAL if the
 * sum exceeds SSIZE_MAX (as sendmsg does) or cnt < 0, -EFAULT if iov is NULL
 * with cnt > 0. Never dereferences iov_base. */
int sc_iov_total(const struct iovec *iov, int cnt, size_t *total);

/* Consumes n bytes from the front of the array *iov of *cnt entries, in place:
 * skips whole entries (zero-length ones included) and trims the first partly
 * consumed one by moving its base and length. Returns 0, or -EINVAL if n is
 * larger than what remains (nothing is changed then). Only the array it is
 * given is modified: callers pass a private copy. */
int sc_iov_advance(struct iovec **iov, int *cnt, size_t n);

/* Copies up to cap bytes gathered from iov[0..cnt) into dst; returns the count
 * copied (0 if iov or dst is NULL). NULL bases are read only when their length is 0. */
size_t sc_iov_gather(const struct iovec *iov, int cnt, void *dst, size_t cap);

/* Scatters len bytes of src over iov[0..cnt) in order; returns the count placed
 * (less than len only when the iovecs are full; 0 if iov or src is NULL). */
size_t sc_iov_scatter(const struct iovec *iov, int cnt, const void *src, size_t len);

#ifdef __cplusplus
}
#endif
#endif
