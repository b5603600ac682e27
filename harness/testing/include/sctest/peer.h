/* The peer thread of fuzz_msghdr and its bench: the other end of a stream pair, reading or
 * writing while the main thread's call runs, so that sends larger than the free buffer and
 * receives waiting for bytes still to come meet the real kernel with a deterministic outcome.
 * One worker thread, started on first use and fed one job at a time (never one thread per
 * job). Every wait is bounded (SC_PEER_LIMIT_MS). Not thread-safe: one caller thread. */
#ifndef SCTEST_PEER_H
#define SCTEST_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_PEER_LIMIT_MS 4000

typedef struct sc_peer_result {
  size_t done;   /* bytes read or written */
  unsigned nfds; /* reader: descriptors received (all closed again) */
  bool eof;      /* reader: saw end of stream */
  int err;       /* 0, or the positive errno of the peer's failing call; ETIMEDOUT: stuck */
} sc_peer_result;

/* Starts reading fd (a stream end) into buf[0..cap): up to chunk bytes per recvmsg, waiting
 * in poll() when nothing is there, with a pause of pause_us before each of its first
 * `paused` calls. It reads until sc_peer_finish_read gives the total. Returns 0 or -errno
 * (the thread or its eventfd could not be made). */
int sc_peer_start_read(int fd, uint8_t *buf, size_t cap, size_t chunk, unsigned pause_us,
                       unsigned paused);

/* Tells the reader that `total` bytes are due in all and waits for it to stop: when it has
 * them (or cap), at end of stream, on an error or after SC_PEER_LIMIT_MS. */
void sc_peer_finish_read(size_t total, sc_peer_result *res);

/* Starts writing src[0..len) into fd (a stream end), chunk bytes per send at most, waiting
 * for POLLOUT on EAGAIN, pausing like the reader. Returns 0 or -errno. */
int sc_peer_start_write(int fd, const uint8_t *src, size_t len, size_t chunk, unsigned pause_us,
                        unsigned paused);

/* Waits for the writer to stop (all written, an error, or SC_PEER_LIMIT_MS). */
void sc_peer_finish_write(sc_peer_result *res);

/* Descriptors the peer machinery holds open between jobs (its eventfd): 0 or 1. */
unsigned sc_peer_held_fds(void);

#endif
