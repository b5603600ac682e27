/* A fake kernel for the server's epoll loop (sc_server_run), behind its transport seam,
 * driven by a script: clients connect, send chunks, pause reading, read, half-close,
 * reset; sends are cut short or fail with EAGAIN/EINTR; accept and the log writes fail.
 * Shared by the `serverloop` fuzz target and the server's unit tests.
 *
 * Readiness is real, results are scripted: each client is an AF_UNIX socketpair whose
 * loop end the loop registers with epoll; the fake keeps one byte queued on it exactly
 * while the client has something for the loop to read (a chunk, EOF, a reset, a scripted
 * recv error), and its sends are always "writable". The listening descriptor is an
 * eventfd kept readable, and every accept call is one tick of the script: it applies the
 * next operation (a CONNECT is returned as the new client, an ACCEPT_ERR as the error;
 * anything else is applied, then -EAGAIN). When the script is done every client that has
 * not reset sends EOF and reads everything; once the loop has closed every client the
 * stop descriptor is signalled. The loop runs in the calling thread; a run is bounded
 * (SC_FK_DRAIN_TICKS after the script) and deterministic, and leaves no descriptor. */
#ifndef SCTEST_FAKEKERNEL_H
#define SCTEST_FAKEKERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sockcheck/server.h"

#define SC_FK_MAX_CLIENTS 8
/* Ticks the loop gets, after the script, to close every client. */
#define SC_FK_DRAIN_TICKS 100000

typedef enum sc_fk_kind {
  SC_FK_CONNECT,    /* a client connects (ignored when SC_FK_MAX_CLIENTS have) */
  SC_FK_DATA,       /* client sends n > 0 bytes */
  SC_FK_EOF,        /* client shuts down its sending side (after what it sent) */
  SC_FK_RESET,      /* client resets: its recv and send fail, owed replies are lost */
  SC_FK_READ,       /* client reads n more reply bytes (its window grows by n) */
  SC_FK_READ_ALL,   /* client reads everything from now on */
  SC_FK_PAUSE,      /* client stops reading replies (window 0) */
  SC_FK_RECV_ERR,   /* client's next recv fails with -err (EINTR, EAGAIN) */
  SC_FK_SEND_ERR,   /* client's next send fails with -err (EINTR, EAGAIN) */
  SC_FK_SEND_SHORT, /* client's next send takes at most n > 0 bytes */
  SC_FK_ACCEPT_ERR, /* the next accept fails with -err */
  SC_FK_LOG_SHORT,  /* the next log write takes at most n > 0 bytes */
  SC_FK_LOG_ERR,    /* the next log write fails with -err (EAGAIN, EINTR, EPIPE...) */
  SC_FK_TICK        /* nothing happens: the loop runs once more */
} sc_fk_kind;

typedef struct sc_fk_op {
  sc_fk_kind kind;
  unsigned client; /* client ops: the client connected client % (clients so far)-th;
                      ignored before the first CONNECT */
  size_t n;
  int err; /* a positive errno */
} sc_fk_op;

typedef struct sc_fk_config {
  size_t out_limit; /* >= 2 */
  size_t recv_buf;  /* >= 1 */
  size_t max_conns; /* 0: no cap */
  size_t log_buf;   /* 0: no log */
} sc_fk_config;

typedef struct sc_fk_client {
  int a;             /* the loop's end */
  int b;             /* the fake's end (readiness and the close check) */
  bool cap_rejected; /* connected while max_conns clients were open */
  bool closed;       /* the loop closed its end */
  bool token;        /* a byte is queued on a: the loop sees EPOLLIN */
  bool eof;          /* sent EOF */
  bool eof_read;     /* the loop read the EOF */
  bool reset;        /* reset before the loop closed it */
  uint64_t queued;   /* bytes sent, not yet read by the loop */
  uint64_t sent;     /* bytes sent in all */
  uint64_t messages; /* the loop's recv calls that returned n > 0 */
  uint64_t replies;  /* reply bytes the loop wrote */
  uint64_t window;   /* reply bytes the client will read now (UINT64_MAX: all) */
  uint64_t max_owed; /* the most reply bytes owed after a read */
  int recv_err;      /* scripted result of the next recv (0: none) */
  int send_err;      /* scripted result of the next send */
  size_t send_cap;   /* scripted cap of the next send (0: none) */
} sc_fk_client;

typedef struct sc_fk_result {
  int rc;                /* sc_server_run's */
  int fatal_err;         /* the first non-transient accept error returned (0: none) */
  sc_server_stats stats; /* sc_server_run's */
  size_t nclients;
  sc_fk_client clients[SC_FK_MAX_CLIENTS];
  unsigned long long ticks;   /* accept calls */
  unsigned long long accepts; /* accept calls that returned a client */
  char *log;                  /* the log bytes written (malloc'd; sc_fk_result_free) */
  size_t log_len;
  char failure[256]; /* the first violation seen during the run, "" if none */
} sc_fk_result;

/* Runs sc_server_run over the fake kernel and the script. Returns 0 (the run's outcome in
 * *res, failure[] set if the loop misbehaved during it), or -errno if the fake could not
 * be set up (then nothing is left open). */
int sc_fk_run(const sc_fk_config *cfg, const sc_fk_op *ops, size_t nops, sc_fk_result *res);

/* The end-of-run promises: no violation during the run; sc_server_run's return (0, or the
 * fatal accept error); every client descriptor closed; every client's reply bytes an
 * unbroken "okok..." run of exactly 2 x its messages (at most that after a reset or a
 * fatal stop); owed replies never above out_limit; stats agreeing with the clients; the
 * log made of well-formed lines, each client's "closed (eof, N messages)" naming its own
 * count, with every expected line written or counted dropped. Returns true, or false with
 * the first broken promise in why. */
bool sc_fk_check(const sc_fk_config *cfg, const sc_fk_result *res, char *why, size_t cap);

void sc_fk_result_free(sc_fk_result *res);

#endif
