/* Private to the layout's two files (layout.c, layout_print.c). */
#ifndef SCTEST_LAYOUT_PRIVATE_H
#define SCTEST_LAYOUT_PRIVATE_H

#include <sys/socket.h>

#include "sctest/layout.h"

/* The flag bits of the byte format, in bit order (the encoder, decoder and printer). */
static const int send_flag_bits[] = {MSG_DONTWAIT, MSG_NOSIGNAL, MSG_EOR, MSG_MORE};
static const int recv_flag_bits[] = {MSG_PEEK, MSG_TRUNC, MSG_WAITALL, MSG_DONTWAIT,
                                     MSG_CMSG_CLOEXEC};

#define NBITS(a) (sizeof(a) / sizeof((a)[0]))

/* The shapes a list cycles through: nseg, read as 1..SC_LAYOUT_MAX_SEGS. A normalised list
 * already is; a hand-built one that is not is read the same way by every function of the
 * layout (the builders, totals, encoder and printer), never past seg[]. */
static inline __attribute__((always_inline)) unsigned seg_count(const sc_layout_iov *iov) {
  return iov->nseg < 1 ? 1u : (iov->nseg > SC_LAYOUT_MAX_SEGS ? SC_LAYOUT_MAX_SEGS : iov->nseg);
}

#endif
