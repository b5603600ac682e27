/* Connected AF_UNIX socket pairs. */
#ifndef SOCKCHECK_PAIR_H
#define SOCKCHECK_PAIR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Flags for sc_pair_open. By default both ends are close-on-exec and blocking. */
#define SC_PAIR_NONBLOCK 0x1 /* both ends O_NONBLOCK */
#define SC_PAIR_INHERIT 0x2  /* do not set close-on-exec (for passing to exec'd children) */

/* Creates a connected AF_UNIX pair of `type` (SOCK_STREAM, SOCK_DGRAM or
 * SOCK_SEQPACKET) into sv[0], sv[1]. Returns 0, or -errno from socketpair(2)
 * (-EMFILE, -EINVAL for an unknown type or flag...) with sv untouched. */
int sc_pair_open(int type, int flags, int sv[2]);

/* Closes both ends that are >= 0 and sets them to -1. Never fails. */
void sc_pair_close(int sv[2]);

#ifdef __cplusplus
}
#endif
#endif
