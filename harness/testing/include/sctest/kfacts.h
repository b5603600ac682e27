/* Kernel calibration: the facts where kernels may differ within what the spec allows
 * (docs/behaviours.md, docs/kernel-facts.md), each measured once on the running kernel by a
 * probe of that one behaviour. The oracle, the fuzz targets and the conformance suite (through
 * sockcheck-kfacts) follow the measured answer; an answer outside the spec's set is itself a
 * finding. SC_KFACTS="name=answer,..." forces answers (tests use it to check that every rule
 * follows its fact). */
#ifndef SCTEST_KFACTS_H
#define SCTEST_KFACTS_H

#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sc_kfact_id {
  SC_KF_DGRAM_PEERCLOSE,        /* X-PEERCLOSE: AF_UNIX dgram sends after the peer closed */
  SC_KF_SEQPACKET_RESET_ORDER,  /* X-PEERCLOSE: pending reset vs the size check */
  SC_KF_SEQPACKET_EMPTY_RESET,  /* X-PEERCLOSE: one unread empty record at close */
  SC_KF_SEQPACKET_SIGPIPE,      /* X-PEERCLOSE: seqpacket EPIPE raises SIGPIPE */
  SC_KF_CLOEXEC_ECHO,           /* RECV-4: MSG_CMSG_CLOEXEC echoed in msg_flags */
  SC_KF_STREAM_PEEK_FDS,        /* SEND-4: a full stream MSG_PEEK walks on to descriptors */
  SC_KF_UNBOUND_NAMELEN,        /* ORIG-6: msg_namelen from an unbound AF_UNIX sender */
  SC_KF_TIMEO_TICK,             /* TMO-3: SO_RCVTIMEO kept in microseconds or in ticks */
  SC_KF_SEQPACKET_UNCONN_RECV,  /* CONN-2: receive on an unconnected seqpacket socket */
  SC_KF_UNIX_SHUTDOWN_UNCONN,   /* CONN-5: shutdown of an unconnected AF_UNIX stream socket */
  SC_KF_DGRAM_SHUTRD_RECV,      /* CONN-5: empty datagram receive after SHUT_RD */
  SC_KF_CRED_ORDER,             /* CRED-5: SCM_CREDENTIALS and SCM_RIGHTS order */
  SC_KF_DGRAM_CONNECT_PEERCRED, /* CRED-6: SO_PEERCRED of a connect()ed dgram socket */
  SC_KF_COUNT
} sc_kfact_id;

/* Answers, per fact: index into the fact's allowed set (sc_kfact_answer_name). */
enum {
  SC_KF_PEERCLOSE_REFUSED_ONCE = 0, /* ECONNREFUSED once, then ENOTCONN (own queue purged) */
  SC_KF_PEERCLOSE_REFUSED_ALWAYS = 1,
  SC_KF_RESET_FIRST = 0, /* the pending ECONNRESET before any other check */
  SC_KF_RESET_AFTER_CHECKS = 1,
  SC_KF_EMPTY_RESET_ANY = 0, /* any unread record makes the close a reset */
  SC_KF_EMPTY_RESET_NEEDS_TWO = 1,
  SC_KF_SIGPIPE_RAISED = 0,
  SC_KF_SIGPIPE_NONE = 1,
  SC_KF_ECHO_CLEARED = 0,
  SC_KF_ECHO_ECHOED = 1,
  SC_KF_PEEK_STOPS = 0,
  SC_KF_PEEK_WALKS = 1,
  SC_KF_NAMELEN_FAMILY = 0, /* sizeof(sa_family_t) */
  SC_KF_NAMELEN_ZERO = 1,
  SC_KF_TICK_EXACT = 0,
  SC_KF_TICK_JIFFIES = 1,
  SC_KF_ERR_EINVAL = 0,
  SC_KF_ERR_ENOTCONN = 1,
  SC_KF_SHUTDOWN_ENOTCONN = 0,
  SC_KF_SHUTDOWN_OK = 1,
  SC_KF_SHUTRD_EOF = 0,
  SC_KF_SHUTRD_EAGAIN = 1,
  SC_KF_CRED_AS_SENT = 0,
  SC_KF_CRED_FIRST = 1,
  SC_KF_PEERCRED_RECORDED = 0,
  SC_KF_PEERCRED_NONE = 1,
};

/* A measured answer outside the fact's allowed set. */
#define SC_KF_OUT (-1)

typedef struct sc_kfacts {
  int answer[SC_KF_COUNT];        /* allowed-set index, or SC_KF_OUT */
  bool forced[SC_KF_COUNT];       /* set by SC_KFACTS, not measured */
  long value[SC_KF_COUNT];        /* TIMEO_TICK: the tick in microseconds; else 0 */
  char observed[SC_KF_COUNT][80]; /* what the probe saw, in words */
  char kernel[64];                /* uname release */
  /* The largest AF_UNIX datagram or record a socket with the default send buffer sends:
   * SO_SNDBUF - 32 (net.core.wmem_default; 212960 with Linux's default). A measured size,
   * any value within the spec; "dgram-max=N" in SC_KFACTS forces it. */
  long dgram_max;
} sc_kfacts;

/* Measures every fact on the running kernel into kf (a few socket calls each, every
 * descriptor closed again). Never fails: a fact that cannot be measured is SC_KF_OUT with
 * the reason in observed. */
void sc_kfacts_measure(sc_kfacts *kf);

/* Applies "name=answer[,name=answer...]" to kf (answer: a name of the fact's set, or "out";
 * for dgram-max a size in bytes).
 * Returns 0, or -EINVAL with nothing applied when a name or answer is unknown. */
int sc_kfacts_force(sc_kfacts *kf, const char *spec);

/* The process's facts: measured on first call, then SC_KFACTS applied (an invalid
 * SC_KFACTS is reported on stderr and aborts: a forced test must not run unforced).
 * Call it once before fuzzing or counting descriptors: the first call opens sockets. */
const sc_kfacts *sc_kfacts_get(void);

/* The answer of fact id, the spec's first answer when it was measured out of the set
 * (the finding is reported by sc_kfacts_in_spec's callers; the rule still checks the spec). */
int sc_kfact(const sc_kfacts *kf, sc_kfact_id id);

/* True when every fact is inside its allowed set. */
bool sc_kfacts_in_spec(const sc_kfacts *kf);

/* Names: "dgram-peerclose"; its behaviour ID "X-PEERCLOSE"; an answer's name ("out" for
 * SC_KF_OUT, NULL past the set of two). */
const char *sc_kfact_name(sc_kfact_id id);
const char *sc_kfact_behaviour(sc_kfact_id id);
const char *sc_kfact_answer_name(sc_kfact_id id, int answer);

/* One line: "kernel 6.18.44: dgram-peerclose=refused-once ... (forced: name)"; findings
 * (answers out of the set) are named with what was observed. */
void sc_kfacts_print(const sc_kfacts *kf, FILE *out);

/* The facts as one JSON object (kernel, line: sc_kfacts_print's, in_spec, dgram_max,
 * facts{name: {id, answer, allowed, observed, forced, value}}). */
void sc_kfacts_json(const sc_kfacts *kf, FILE *out);

#ifdef __cplusplus
}
#endif

#endif
