/* Ancillary data (see sockcheck/cmsg.h). The parser treats every byte of a
 * control buffer as hostile: headers are copied out with memcpy (buffers may be
 * unaligned), every cmsg_len is checked against the bytes that remain, and
 * stepping uses CMSG_ALIGN on our own offset, never glibc's CMSG_NXTHDR. */
#include "sockcheck/cmsg.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "sockcheck/error.h"

/* Bytes from the start of a header to its payload. */
#define HDR_LEN ((size_t)CMSG_LEN(0))

/* Appends one message of `payload_len` bytes; see sc_cmsg_add_rights. */
static int add_one(void *buf, size_t cap, size_t *used, int level, int type, const void *payload,
                   size_t payload_len) {
  if (used == NULL || (buf == NULL && cap > 0)) {
    return -EINVAL;
  }
  if (*used != CMSG_ALIGN(*used)) {
    return -EINVAL; /* a header must start on an aligned offset */
  }
  size_t space = CMSG_SPACE(payload_len);
  if (*used > cap || cap - *used < space) {
    return -ENOSPC;
  }
  unsigned char *p = (unsigned char *)buf + *used;
  struct cmsghdr h;
  memset(&h, 0, sizeof(h));
  h.cmsg_len = CMSG_LEN(payload_len);
  h.cmsg_level = level;
  h.cmsg_type = type;
  memset(p, 0, space); /* padding bytes are defined, never stale */
  memcpy(p, &h, sizeof(h));
  memcpy(p + HDR_LEN, payload, payload_len);
  *used += space;
  return 0;
}

int sc_cmsg_add_rights(void *buf, size_t cap, size_t *used, const int *fds, size_t nfds) {
  if (fds == NULL || nfds == 0 || nfds > SC_CMSG_MAX_FDS) {
    return -EINVAL;
  }
  return add_one(buf, cap, used, SOL_SOCKET, SCM_RIGHTS, fds, nfds * sizeof(int));
}

int sc_cmsg_add_creds(void *buf, size_t cap, size_t *used, const struct ucred *cred) {
  if (cred == NULL) {
    return -EINVAL;
  }
  return add_one(buf, cap, used, SOL_SOCKET, SCM_CREDENTIALS, cred, sizeof(*cred));
}

void sc_cmsg_iter_init(sc_cmsg_iter *it, const void *control, size_t len) {
  if (it == NULL) {
    return;
  }
  it->buf = (const unsigned char *)control;
  it->len = control == NULL ? 0 : len; /* NULL with len > 0: treated as empty */
  it->off = 0;
}

int sc_cmsg_next(sc_cmsg_iter *it, sc_cmsg_item *item) {
  if (it == NULL || item == NULL) {
    return -EINVAL;
  }
  if (it->off >= it->len || it->len - it->off < sizeof(struct cmsghdr)) {
    it->off = it->len;
    return 0;
  }
  size_t left = it->len - it->off;
  struct cmsghdr h;
  memcpy(&h, it->buf + it->off, sizeof(h)); /* the buffer may be unaligned */
  size_t clen = (size_t)h.cmsg_len;
  if (clen < HDR_LEN || clen > left) {
    it->off = it->len;
    return -EINVAL;
  }
  item->level = h.cmsg_level;
  item->type = h.cmsg_type;
  item->data = it->buf + it->off + HDR_LEN;
  item->len = clen - HDR_LEN;
  /* The last message's padding may be missing: stop at the end, never past. */
  size_t step = CMSG_ALIGN(clen);
  if (step < clen || step >= left) {
    it->off = it->len;
  } else {
    it->off += step;
  }
  return 1;
}

int sc_cmsg_rights(const sc_cmsg_item *item, int *fds, size_t max) {
  if (item == NULL) {
    return -EINVAL;
  }
  if (item->level != SOL_SOCKET || item->type != SCM_RIGHTS || item->len % sizeof(int) != 0) {
    return -EINVAL;
  }
  size_t n = item->len / sizeof(int);
  if (n > max) {
    return -ENOSPC;
  }
  if (n > 0) {
    if (fds == NULL || item->data == NULL) {
      return -EINVAL;
    }
    memcpy(fds, item->data, n * sizeof(int));
  }
  return (int)n;
}

int sc_cmsg_creds(const sc_cmsg_item *item, struct ucred *out) {
  if (item == NULL || out == NULL) {
    return -EINVAL;
  }
  if (item->level != SOL_SOCKET || item->type != SCM_CREDENTIALS ||
      item->len != sizeof(struct ucred) || item->data == NULL) {
    return -EINVAL;
  }
  memcpy(out, item->data, sizeof(*out));
  return 0;
}

int sc_cmsg_close_fds(const void *control, size_t len) {
  sc_cmsg_iter it;
  sc_cmsg_item item;
  int closed = 0;
  int r;
  sc_cmsg_iter_init(&it, control, len);
  while ((r = sc_cmsg_next(&it, &item)) == 1) {
    if (item.level != SOL_SOCKET || item.type != SCM_RIGHTS) {
      continue;
    }
    /* Whole ints only: a ragged tail cannot name a descriptor. */
    for (size_t i = 0; i + sizeof(int) <= item.len; i += sizeof(int)) {
      int fd;
      memcpy(&fd, item.data + i, sizeof(fd));
      /* Linux frees the descriptor even when close reports EINTR: never retry. */
      if (fd >= 0 && close(fd) == 0) {
        closed++;
      }
    }
  }
  return r < 0 ? r : closed;
}
