/* The schedule and the model of msg.h's waits and deadlines, shared by the `sendall` and
 * `recvfill` targets.
 *
 * The schedule: one input byte per transport call, in order; unit is the case's time unit.
 *   as a sendmsg/recvmsg: b >> 5: 0, 1: move (b & 31) + 32 * (b >> 5) bytes; 2: move
 *     (b & 31) * 512 bytes; 3: EINTR after (b & 7) units; 4: EAGAIN; 5: a hard error
 *     (sc_wm_hard_errors[b & 7]); 6: move all (a recvmsg with bit 4 set: end of stream);
 *     7: move 1 byte after (b & 7) units (a slow call).
 *   as a wait: k = (b >> 3) & 7; b & 7: 4: timed out after its whole timeout (k = 0) or after
 *     k units (an early report); 5: EINTR after k units; 6: an error (ENOMEM, EINVAL by bit
 *     3); else ready after k units (never longer than the wait's timeout).
 * Past the schedule every call moves all / is ready at once.
 *
 * The model:
 * from the same script the fake transport answers with, it predicts each call the library
 * must make (kind, start time on the fake clock, the time left given to each wait) and
 * compares it with the fake's record of the calls actually made, failing (SC_FUZZ_CHECK)
 * at the first difference. The rules (sockcheck/msg.h): EINTR is retried; EAGAIN returns
 * -EAGAIN with timeout 0, else waits, each wait given the time left before the deadline
 * (-1 without one), an interrupted wait resumed, a wait that timed out -ETIMEDOUT, a failed
 * wait its error; with a deadline, no call or wait starts once it is reached (-ETIMEDOUT).
 */
#ifndef SOCKCHECK_FUZZ_WAITS_H
#define SOCKCHECK_FUZZ_WAITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "sctest/fake_transport.h"

extern const int sc_wm_hard_errors[8];

/* A cursor over a schedule; sc_wm_script reads it (as the fake's script, and the model's). */
typedef struct sc_wm_cursor {
  const uint8_t *sched;
  size_t len, pos;
  long long unit; /* ms */
} sc_wm_cursor;

/* The answer of schedule byte b to a call. */
sc_fake_step sc_wm_step(sc_fake_call call, uint8_t b, long long unit);

/* A segment length from one input byte, as sendall and recvfill read them: 0..239 as
 * they are, then 256, 512, ... 4096. */
size_t sc_wm_len_from(uint8_t b);

/* An sc_fake_script_fn over an sc_wm_cursor. */
bool sc_wm_script(void *cursor, sc_fake_call call, sc_fake_step *step);

/* Prints each schedule byte with its meaning as an io call and as a wait, then what follows
 * the schedule. Returns 0, or -1 if writing failed. */
int sc_wm_print_schedule(FILE *out, sc_fake_call io_call, const uint8_t *sched, size_t len,
                         long long unit);

typedef struct sc_wm {
  const sc_fake *f;         /* the calls actually made */
  sc_fake_script_fn script; /* the fake's script, read again with the model's own cursor */
  void *script_arg;         /* that cursor, at the script's start */
  sc_fake_call io_call;     /* SC_FAKE_SENDMSG or SC_FAKE_RECVMSG */
  short events;             /* POLLOUT or POLLIN */
  int timeout_ms;
  long long deadline; /* timeout_ms > 0 */
  long long now;      /* the model's clock */
  size_t i;           /* the next record to compare */
  ssize_t ret;        /* what the library returned (for the messages) */
  const char *why;    /* why sc_wm_after_error ended the call */
} sc_wm;

/* Starts the model at clock `start` (the fake's clock before the library call), reading the
 * schedule with its own cursor (a copy of the fake's, taken before the call). */
void sc_wm_init(sc_wm *wm, const sc_fake *f, long long start, sc_wm_cursor *cursor,
                sc_fake_call io_call, short events, int timeout_ms, ssize_t ret);

/* The next call must be io_call, now: returns its record and the step that answered it
 * (the model's clock advanced by its time). */
const sc_fake_rec *sc_wm_io(sc_wm *wm, sc_fake_step *step);

/* After the io call failed with -err: 0 if the library must retry it (EINTR, or EAGAIN and a
 * ready wait, the waits compared on the way), or the -errno it must return (wm->why says
 * why). */
int sc_wm_after_error(sc_wm *wm, int err);

/* Before any call but the first: -ETIMEDOUT once the deadline is reached, else 0. */
int sc_wm_check(const sc_wm *wm);

/* The library must have stopped here: no call past the ones compared. why says why the call
 * ends (for the message). */
void sc_wm_end(const sc_wm *wm, const char *why);

const char *sc_wm_call_name(sc_fake_call call);

#endif
