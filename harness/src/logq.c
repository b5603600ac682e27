/* The server's bounded log queue (see logq.h). */
#include "logq.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A write interrupted this many times in a row is tried again at the next ready event. */
#define EINTR_RETRIES 8

int sc__logq_init(sc__logq *q, const sc_transport *tr, int fd, sc__logq_mode mode, size_t cap) {
  memset(q, 0, sizeof(*q));
  q->tr = tr;
  q->fd = fd;
  if (fd < 0 || mode == SC__LOGQ_OFF) {
    return 0;
  }
  q->buf = malloc(cap);
  if (q->buf == NULL) {
    return -ENOMEM;
  }
  q->cap = cap;
  q->mode = mode;
  return 0;
}

/* Appends text[0..n) if it fits; returns false (nothing appended) if not. */
static bool append(sc__logq *q, const char *text, size_t n) {
  if (n > q->cap - q->len) {
    return false;
  }
  if (n > q->cap - q->head - q->len) {
    memmove(q->buf, q->buf + q->head, q->len);
    q->head = 0;
  }
  memcpy(q->buf + q->head + q->len, text, n);
  q->len += n;
  return true;
}

/* Queues "N log lines dropped" if lines were dropped and it fits now. */
static void notice(sc__logq *q) {
  if (q->lost == 0) {
    return;
  }
  char text[64];
  int n = snprintf(text, sizeof(text), "%llu log lines dropped\n", q->lost);
  if (n > 0 && (size_t)n < sizeof(text) && append(q, text, (size_t)n)) {
    q->lost = 0;
  }
}

void sc__logq_push(sc__logq *q, const char *text, size_t n) {
  if (q->mode == SC__LOGQ_OFF) {
    if (q->fd >= 0) {
      q->dropped++;
    }
    return;
  }
  notice(q);
  if (q->lost > 0 || !append(q, text, n)) {
    q->lost++;
    q->dropped++;
  }
}

void sc__logq_disable(sc__logq *q) {
  for (size_t i = 0; i < q->len; i++) {
    q->dropped += q->buf[q->head + i] == '\n';
  }
  q->mode = SC__LOGQ_OFF;
  q->head = 0;
  q->len = 0;
  q->lost = 0;
}

static ssize_t write_once(sc__logq *q, const char *p, size_t n) {
  if (q->mode == SC__LOGQ_SOCKET) {
    struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    return q->tr->sendmsg(q->tr, q->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  return q->tr->write(q->tr, q->fd, p, n);
}

ssize_t sc__logq_write(sc__logq *q) {
  notice(q);
  if (q->mode == SC__LOGQ_OFF || q->len == 0) {
    return 0;
  }
  const char *p = q->buf + q->head;
  size_t n = q->mode == SC__LOGQ_POLLED && q->len > PIPE_BUF ? PIPE_BUF : q->len;
  ssize_t w = write_once(q, p, n);
  for (int i = 0; w == -EINTR && i < EINTR_RETRIES; i++) {
    w = write_once(q, p, n);
  }
  if (w == -EAGAIN || w == -EINTR) {
    return 0;
  }
  if (w < 0) {
    sc__logq_disable(q);
    return w;
  }
  size_t done = (size_t)w < q->len ? (size_t)w : q->len;
  q->head += done;
  q->len -= done;
  if (q->len == 0) {
    q->head = 0;
  }
  notice(q);
  return (ssize_t)done;
}

void sc__logq_free(sc__logq *q) {
  sc__logq_disable(q);
  free(q->buf);
  q->buf = NULL;
}
