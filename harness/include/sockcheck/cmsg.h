/* Ancillary data: building SCM_RIGHTS / SCM_CREDENTIALS control messages and
 * parsing received control buffers with bounds checks on every header (a peer,
 * or a fuzzer, controls every cmsg_len). */
#ifndef SOCKCHECK_CMSG_H
#define SOCKCHECK_CMSG_H

#include <stddef.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defined by <sys/socket.h> only with _GNU_SOURCE: declared here so this header stands
 * alone; callers that pass credentials include it with _GNU_SOURCE. */
struct ucred;

/* The kernel's limit on descriptors in one SCM_RIGHTS message (SCM_MAX_FD). */
#define SC_CMSG_MAX_FDS 253

/* Appends one SCM_RIGHTS message carrying fds[0..nfds) at buf + *used, within
 * cap bytes, and advances *used by CMSG_SPACE. Returns 0, -ENOSPC if it does not
 * fit (buf untouched), -EINVAL if nfds is 0 or above SC_CMSG_MAX_FDS. */
int sc_cmsg_add_rights(void *buf, size_t cap, size_t *used, const int *fds, size_t nfds);

/* Appends one SCM_CREDENTIALS message (pid, uid, gid) like sc_cmsg_add_rights. */
int sc_cmsg_add_creds(void *buf, size_t cap, size_t *used, const struct ucred *cred);

/* A cursor over a received control buffer. Never reads outside [buf, buf+len). */
typedef struct sc_cmsg_iter {
  const unsigned char *buf;
  size_t len;
  size_t off; /* the next header's offset: never past len */
} sc_cmsg_iter;

/* One control message: level, type, and its payload inside the buffer. */
typedef struct sc_cmsg_item {
  int level;
  int type;
  const unsigned char *data;
  size_t len; /* payload bytes: cmsg_len - CMSG_LEN(0) */
} sc_cmsg_item;

/* Starts a cursor at the first header of control[0..len). control may be NULL
 * only with len 0. */
void sc_cmsg_iter_init(sc_cmsg_iter *it, const void *control, size_t len);

/* Reads the next message into *item. Returns 1 (item filled), 0 (end: fewer
 * bytes left than a header), or -EINVAL (cmsg_len smaller than a header or
 * reaching past the buffer); after -EINVAL the cursor stays at the end. */
int sc_cmsg_next(sc_cmsg_iter *it, sc_cmsg_item *item);

/* Copies the descriptors of an SCM_RIGHTS item into fds[0..max). Returns their
 * count, -EINVAL if item is not SOL_SOCKET/SCM_RIGHTS or its payload is not a
 * whole number of ints, -ENOSPC if more than max. Does not close anything. */
int sc_cmsg_rights(const sc_cmsg_item *item, int *fds, size_t max);

/* Reads an SCM_CREDENTIALS item. Returns 0 or -EINVAL (wrong type or size). */
int sc_cmsg_creds(const sc_cmsg_item *item, struct ucred *out);

/* Closes every descriptor carried by SCM_RIGHTS messages in control[0..len),
 * so received fds never leak. Returns the number closed, or -EINVAL if a header
 * is malformed (descriptors before it are still closed). */
int sc_cmsg_close_fds(const void *control, size_t len);

#ifdef __cplusplus
}
#endif
#endif
