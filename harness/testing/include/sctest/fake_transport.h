/* The scripted fake transport shared by the unit tests (test_msg.c) and the `sendall` and
 * `recvfill` fuzz targets: each sendmsg, recvmsg and wait gets the next step of a script
 * (short transfers of n bytes, end of stream, any -errno such as EINTR or EAGAIN, a wait
 * ready or timed out or failed, a transport that claims bytes it did not move), each step
 * advancing a fake clock by the time it takes; the library reads that clock through
 * now_ms. Every call is recorded, so the checks run after the library call returns.
 * No syscalls, no heap. */
#ifndef SCTEST_FAKE_TRANSPORT_H
#define SCTEST_FAKE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "sockcheck/transport.h"

typedef enum sc_fake_call { SC_FAKE_SENDMSG, SC_FAKE_RECVMSG, SC_FAKE_WAIT } sc_fake_call;

typedef enum sc_fake_act {
  SC_FAKE_ALL,     /* sendmsg: take every byte offered; recvmsg: deliver as much of the
                      source as the buffers hold (0 once it is used up); wait: ready */
  SC_FAKE_BYTES,   /* sendmsg/recvmsg: up to n bytes (recvmsg: 0 once the source is used up) */
  SC_FAKE_EOF,     /* recvmsg: 0, end of stream */
  SC_FAKE_ERR,     /* any call: -n (EINTR, EAGAIN, EPIPE, ...) */
  SC_FAKE_CLAIM,   /* sendmsg/recvmsg: return n, move no byte (a lying transport) */
  SC_FAKE_READY,   /* wait: 1 */
  SC_FAKE_TIMEOUT, /* wait: 0 (1 for a wait without limit, which cannot time out) */
} sc_fake_act;

/* ms for a wait: all of the timeout it was given (a wait without limit: 0 ms). */
#define SC_FAKE_WHOLE_TIMEOUT (-1LL)

typedef struct sc_fake_step {
  sc_fake_act act;
  size_t n;     /* SC_FAKE_BYTES, SC_FAKE_CLAIM: the count; SC_FAKE_ERR: the errno */
  long long ms; /* the clock advances by this much during the call (>= 0, or
                   SC_FAKE_WHOLE_TIMEOUT); a wait never takes longer than its timeout */
} sc_fake_step;

#define SC_FAKE_STEP_ALL ((sc_fake_step){.act = SC_FAKE_ALL})
#define SC_FAKE_STEP_BYTES(k) ((sc_fake_step){.act = SC_FAKE_BYTES, .n = (k)})
#define SC_FAKE_STEP_EOF ((sc_fake_step){.act = SC_FAKE_EOF})
#define SC_FAKE_STEP_ERR(e) ((sc_fake_step){.act = SC_FAKE_ERR, .n = (size_t)(e)})
#define SC_FAKE_STEP_CLAIM(k) ((sc_fake_step){.act = SC_FAKE_CLAIM, .n = (k)})
#define SC_FAKE_STEP_READY(t_ms) ((sc_fake_step){.act = SC_FAKE_READY, .ms = (t_ms)})
#define SC_FAKE_STEP_TIMEOUT ((sc_fake_step){.act = SC_FAKE_TIMEOUT, .ms = SC_FAKE_WHOLE_TIMEOUT})
/* Any step, taking t_ms of the fake clock (an EINTR after a signal handler ran, a slow call). */
#define SC_FAKE_SLOW(step, t_ms) ((sc_fake_step){.act = (step).act, .n = (step).n, .ms = (t_ms)})

/* One call as the fake saw it. */
typedef struct sc_fake_rec {
  sc_fake_call call;
  int fd;
  int flags;        /* sendmsg/recvmsg */
  short events;     /* wait */
  int timeout_ms;   /* wait */
  long long at_ms;  /* the fake clock when the call began */
  size_t iovlen;    /* sendmsg/recvmsg: msg_iovlen */
  size_t offered;   /* sendmsg: bytes offered; recvmsg: room offered */
  bool null_base;   /* a non-empty iovec with a NULL base was offered */
  const void *name; /* sendmsg: msg_name, msg_namelen */
  socklen_t namelen;
  const void *control; /* sendmsg: msg_control, msg_controllen */
  size_t controllen;
  ssize_t ret; /* what the fake returned */
} sc_fake_rec;

#define SC_FAKE_MAX_RECS 1024
/* Where the fake clock starts: far from 0, so a timeout taken for a deadline shows. */
#define SC_FAKE_EPOCH 1000000LL

typedef struct sc_fake sc_fake;

/* The next step for a call, from the script's own cursor in arg: true with *step set, false
 * once the script has ended. */
typedef bool (*sc_fake_script_fn)(void *arg, sc_fake_call call, sc_fake_step *step);

struct sc_fake {
  sc_transport t; /* give &f->t to the library; t.ctx is f */
  /* The script: io[] answers sendmsg and recvmsg in order, waits[] answers waits;
   * past either end a call gets SC_FAKE_ALL in 0 ms. With `script` set, it is asked
   * instead, once per call (the fuzz targets decode an input byte per call). */
  const sc_fake_step *io;
  size_t nio, io_pos;
  const sc_fake_step *waits;
  size_t nwaits, wait_pos;
  sc_fake_script_fn script;
  void *script_arg;
  long long now;             /* the fake clock (SC_FAKE_EPOCH at init) */
  unsigned long clock_reads; /* now_ms calls */
  /* sendmsg: the bytes taken are copied to out (up to out_cap) and all counted in out_len. */
  unsigned char *out;
  size_t out_cap, out_len;
  /* recvmsg: the stream delivered, from in[in_pos]. */
  const unsigned char *in;
  size_t in_len, in_pos;
  /* Every call, in order: the first SC_FAKE_MAX_RECS in recs[], all counted in ncalls.
   * Calls past max_calls (if nonzero) are refused with -ECANCELED (a library that never
   * stops is then caught by its caller's checks, not left spinning). */
  sc_fake_rec recs[SC_FAKE_MAX_RECS];
  size_t ncalls, max_calls;
  size_t misfits; /* steps that did not fit the call they answered (a script error) */
};

/* Sets f up with an empty script, no output buffer, no source, the clock at SC_FAKE_EPOCH
 * and no call recorded. recs[] is not cleared (only ncalls). */
void sc_fake_init(sc_fake *f);

/* The scripts: steps (not copied; must outlive the calls) for sendmsg/recvmsg and for
 * waits. */
void sc_fake_script_io(sc_fake *f, const sc_fake_step *steps, size_t n);
void sc_fake_script_waits(sc_fake *f, const sc_fake_step *steps, size_t n);

/* Writes what step does as the answer to a call of that kind ("take 3 bytes", "EINTR after
 * 5 ms", "ready after 0 ms", ...) into buf, always NUL-terminated. */
void sc_fake_describe(sc_fake_step step, sc_fake_call call, char *buf, size_t cap);

/* Calls of one kind recorded so far. */
size_t sc_fake_count(const sc_fake *f, sc_fake_call call);

#endif
