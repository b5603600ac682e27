/* The server's bounded log queue (internal: not installed). Lines go into a
 * fixed buffer and are written through the transport only when the owner says
 * the descriptor is ready, so a slow or absent reader costs dropped lines
 * (counted, and reported by a "N log lines dropped" line once there is room),
 * never a stalled caller. The owner (server.c) decides readiness (epoll). */
#ifndef SOCKCHECK_SRC_LOGQ_H
#define SOCKCHECK_SRC_LOGQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sockcheck/transport.h"

typedef enum sc__logq_mode {
  SC__LOGQ_OFF = 0, /* no log, or the descriptor failed */
  SC__LOGQ_DIRECT,  /* epoll cannot watch it (regular file, /dev/null): written at once */
  SC__LOGQ_POLLED,  /* pipe, FIFO, tty: at most PIPE_BUF bytes per write */
  SC__LOGQ_SOCKET   /* sent with MSG_DONTWAIT | MSG_NOSIGNAL */
} sc__logq_mode;

typedef struct sc__logq {
  const sc_transport *tr;
  int fd; /* not owned; -1: no log */
  sc__logq_mode mode;
  char *buf; /* queued bytes: buf[head .. head + len) */
  size_t cap;
  size_t head;
  size_t len;
  unsigned long long lost;    /* lines dropped since the last notice */
  unsigned long long dropped; /* lines never written, in all */
} sc__logq;

/* Sets up a queue of cap bytes for fd (mode: how fd is written). fd < 0 or mode
 * OFF: no log, nothing allocated. Returns 0 or -ENOMEM. */
int sc__logq_init(sc__logq *q, const sc_transport *tr, int fd, sc__logq_mode mode, size_t cap);

/* Queues one line (text[0..n), ending in '\n'), or counts it dropped if it does
 * not fit, if earlier lines were dropped and their notice does not fit yet, or if
 * the log is OFF (with a descriptor). Never writes. */
void sc__logq_push(sc__logq *q, const char *text, size_t n);

/* One write of queued bytes (EINTR retried a bounded number of times). Returns
 * the bytes written, 0 when nothing could be written now (EAGAIN, nothing
 * queued, OFF), or -errno of a failure: the queue is then OFF (see disable). */
ssize_t sc__logq_write(sc__logq *q);

/* Gives the descriptor up: queued lines count as dropped; further lines too. */
void sc__logq_disable(sc__logq *q);

/* Disables (counting what is queued) and frees the buffer. */
void sc__logq_free(sc__logq *q);

#endif
