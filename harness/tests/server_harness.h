/* The server harness shared by the ok-server's unit tests (test_server, test_server_faults):
 * the server in a thread on 127.0.0.1:0 with a pipe as its stop descriptor, its log in a
 * memfd, and bounded client helpers. Every wait is bounded. */
#ifndef SC_TESTS_SERVER_HARNESS_H
#define SC_TESTS_SERVER_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

#include "sockcheck/server.h"

#define IO_TIMEOUT_S 5
#define JOIN_TIMEOUT_S 10

typedef struct harness {
  sc_server_config cfg;
  sc_server_stats stats;
  int rc;
  int stop[2];
  uint16_t port;
  pthread_t thread;
  char *log_buf;
  size_t log_len;
  bool memfd_log; /* cfg.log_fd is configure()'s memfd (read into log_buf at stop) */
  pid_t tid;      /* the server thread's (set by it; read with __atomic_load_n) */
} harness;

/* A listening TCP socket on 127.0.0.1, port 0: its descriptor, the port in *port. */
int listen_local(uint16_t *port);

/* Fills h: a listener, a stop pipe, a memfd log and the given limits (the server not started). */
void configure(harness *h, size_t max_conns, size_t out_limit, size_t recv_buf);

/* The whole memfd log as a string (h->log_buf, h->log_len). */
void read_log(harness *h);

/* Runs the server loop in a thread. */
void start(harness *h);

/* Writes to the stop pipe (the loop ends at its next wakeup). */
void request_stop(harness *h);

/* Joins (bounded) and closes the harness's descriptors. */
void join(harness *h);

/* Signals stop, joins (bounded), and closes the harness's descriptors. */
void stop(harness *h);

/* Frees the log read at stop (h->log_buf). */
void finish(harness *h);

/* A client connected to 127.0.0.1:port with IO_TIMEOUT_S socket timeouts. */
int connect_client(uint16_t port);

/* Reads exactly len bytes (bounded by SO_RCVTIMEO). Returns the count read
 * before EOF, or -errno. */
ssize_t read_exact(int fd, char *buf, size_t len);

/* One message, one "ok" (SRV-3). */
void round_trip(int fd, const char *msg, size_t len);

/* The server closed this client: EOF or a reset, within the timeout. */
void assert_closed_by_server(int fd);

/* Connects a client that sends without reading its replies until the server holds it
 * by backpressure (no room to send for 200 ms; 64 MiB at most). Returns the client (left
 * non-blocking) and the bytes it sent in *total. */
int connect_hog(const harness *h, size_t *total);

/* In a forked child: fills the holes below the highest descriptor, then sets
 * RLIMIT_NOFILE so that exactly `room` more can be opened. False if it could not. */
bool limit_fds(int room);

/* Waits for a forked child (bounded, through its pidfd) and returns its exit status,
 * or fails the test (killing it) if it does not end in time or does not exit. */
int wait_child(pid_t pid);

/* Appends what fd holds to *acc (NUL-terminated), waiting at most wait_ms for
 * the first byte. Returns the bytes read; 0 on timeout; -1 at EOF. */
ssize_t read_some(int fd, char **acc, size_t *len, int wait_ms);

/* Reads fd until text appears in *acc (bounded: IO_TIMEOUT_S without data). */
void read_until(int fd, char **acc, size_t *len, const char *text);

#endif
