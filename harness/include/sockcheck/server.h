/* The event-driven (epoll) ok-server: accepts many clients at once, drives one
 * sc_conn per client, and stops cleanly when its stop descriptor is readable.
 *
 * The log never stalls service: lines go into a bounded buffer that is written
 * only when the log descriptor is ready (a pipe, FIFO, tty or socket is watched
 * by the event loop; at most PIPE_BUF bytes per ready event, so a blocking pipe
 * never blocks; a socket is written with MSG_DONTWAIT). A regular file (or any
 * descriptor epoll cannot watch, such as /dev/null) is written directly. The
 * descriptor's flags are never changed (it may be shared, e.g. an inherited
 * stdout). When the buffer is full, lines are counted and dropped, and
 * "N log lines dropped" is logged once there is room. A log descriptor that
 * fails (EPIPE, EPOLLERR...) is given up; its lines count as dropped. Callers
 * should ignore SIGPIPE (sc_cli_stop_fd does): a pipe reader that leaves
 * between the readiness check and the write would otherwise raise it.
 *
 * The log lines: "client ADDR connected", "client ADDR closed (eof, N messages)"
 * (N: the messages it was sent replies for), "client ADDR closed (reset)",
 * "client ADDR closed (error: MESSAGE)", "client ADDR closed (server stopping)",
 * "client ADDR rejected (connection cap)", "N log lines dropped". */
#ifndef SOCKCHECK_SERVER_H
#define SOCKCHECK_SERVER_H

#include <stddef.h>

#include "sockcheck/addr.h"
#include "sockcheck/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_server_config {
  int listen_fd;    /* listening, non-blocking TCP socket (owned by the caller) */
  int stop_fd;      /* readable => stop (signalfd or pipe); -1 for none */
  size_t max_conns; /* connection cap: further clients are accepted and closed */
  size_t out_limit; /* per-connection owed-reply bound (see sc_conn_init) */
  size_t recv_buf;  /* bytes per recv() call */
  int log_fd;       /* one line per event ("client 127.0.0.1:5555 connected"), or -1 for
                       none (0 is a descriptor: set -1 explicitly); not owned */
  size_t log_buf;   /* bytes of log held for a slow reader; 0 = default (64 KiB) */
  /* Every client recvmsg/sendmsg, every accept and every log write goes through it;
   * NULL = the kernel (sc_transport_kernel). Not owned. */
  const sc_transport *transport;
} sc_server_config;

typedef struct sc_server_stats {
  unsigned long long accepted;
  unsigned long long rejected; /* over the connection cap */
  unsigned long long messages;
  unsigned long long closed;
  unsigned long long log_dropped; /* log lines not written (full buffer, failed descriptor) */
} sc_server_stats;

/* Runs the loop until stop_fd is readable. Returns 0 on a clean stop (every
 * client descriptor closed; the log flushed, waiting at most 1 s for a log
 * reader) or -errno of a fatal epoll/accept failure (-EBADF: log_fd is not
 * open for writing). accept() failures that accept(2) says to retry (EINTR,
 * ECONNABORTED, EPROTO, EPERM, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET,
 * EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH) are retried, a bounded number of times
 * per wakeup; descriptor exhaustion pauses accepting; any other is fatal.
 * Every reply owed to a client that sent EOF is written before its descriptor
 * is closed (unless it resets or the server stops); a client's owed replies
 * never exceed out_limit (reading pauses).
 * Per-client failures (reset, EPIPE) only close that client. stats may be NULL
 * (stats->log_dropped is set at the end). */
int sc_server_run(const sc_server_config *cfg, sc_server_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
