/* The event-driven (epoll) ok-server: accepts many clients at once, drives one
 * sc_conn per client, and stops cleanly when its stop descriptor is readable. */
#ifndef SOCKCHECK_SERVER_H
#define SOCKCHECK_SERVER_H

#include <stddef.h>
#include <stdio.h>

#include "sockcheck/addr.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_server_config {
  int listen_fd;    /* listening, non-blocking TCP socket (owned by the caller) */
  int stop_fd;      /* readable => stop (signalfd or pipe); -1 for none */
  size_t max_conns; /* connection cap: further clients are accepted and closed */
  size_t out_limit; /* per-connection owed-reply bound (see sc_conn_init) */
  size_t recv_buf;  /* bytes per recv() call */
  FILE *log;        /* one line per event ("client 127.0.0.1:5555 connected"), or NULL */
} sc_server_config;

typedef struct sc_server_stats {
  unsigned long long accepted;
  unsigned long long rejected; /* over the connection cap */
  unsigned long long messages;
  unsigned long long closed;
} sc_server_stats;

/* Runs the loop until stop_fd is readable. Returns 0 on a clean stop (every
 * client descriptor closed) or -errno of a fatal epoll/accept failure.
 * Per-client failures (reset, EPIPE) only close that client. stats may be NULL. */
int sc_server_run(const sc_server_config *cfg, sc_server_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
