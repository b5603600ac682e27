/* The ok-server's per-connection logic as a pure state machine: bytes in,
 * bytes out, no sockets. A "message" is one received chunk (one successful
 * recv() returning n > 0 bytes), as in the seed's server: each gets exactly one
 * "ok" reply. The output is always a run of "ok"s, so it is held as a count,
 * not a buffer: memory per connection is constant whatever the client does. */
#ifndef SOCKCHECK_CONN_H
#define SOCKCHECK_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SC_CONN_REPLY "ok"
#define SC_CONN_REPLY_LEN 2

typedef enum sc_conn_state {
  SC_CONN_OPEN = 0, /* reading and replying */
  SC_CONN_DRAINING, /* peer sent EOF: flush owed replies, then close */
  SC_CONN_CLOSED    /* done: the caller closes the socket */
} sc_conn_state;

typedef struct sc_conn {
  sc_conn_state state;
  size_t out_limit;   /* max reply bytes owed before reading pauses */
  size_t out_pending; /* reply bytes owed, not yet written */
  uint64_t chunks_in; /* messages received */
  uint64_t bytes_in;
  uint64_t bytes_out;
} sc_conn;

/* Starts a connection in SC_CONN_OPEN; out_limit (>= SC_CONN_REPLY_LEN) bounds
 * the replies owed before sc_conn_want_read turns false (backpressure). */
void sc_conn_init(sc_conn *c, size_t out_limit);

/* Records one received chunk of n > 0 bytes: owes one more reply. n == 0 is
 * end of stream: OPEN becomes DRAINING (or CLOSED if nothing is owed). Returns
 * 0, or -EPROTO if called when not OPEN (the state is then unchanged). */
int sc_conn_on_recv(sc_conn *c, size_t n);

/* The peer reset or an I/O error happened: the connection is CLOSED at once,
 * owed replies are dropped. */
void sc_conn_on_error(sc_conn *c);

/* True when the caller should read: OPEN and room for one more reply. */
bool sc_conn_want_read(const sc_conn *c);

/* True when replies are owed (the caller should wait for POLLOUT). */
bool sc_conn_want_write(const sc_conn *c);

/* Points *out at the next owed reply bytes (static storage) and returns how
 * many may be written from there in one call (> 0 only if replies are owed). */
size_t sc_conn_out(const sc_conn *c, const char **out);

/* Records that n of the bytes offered by sc_conn_out were written. n larger
 * than owed is clamped. A DRAINING connection with nothing owed becomes CLOSED. */
void sc_conn_on_sent(sc_conn *c, size_t n);

#ifdef __cplusplus
}
#endif
#endif
