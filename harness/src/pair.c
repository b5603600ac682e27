/* Connected AF_UNIX socket pairs (see sockcheck/pair.h). */
#include "sockcheck/pair.h"

#include <sys/socket.h>
#include <unistd.h>

#include "sockcheck/error.h"

int sc_pair_open(int type, int flags, int sv[2]) {
  if (sv == NULL) {
    return -EFAULT;
  }
  if ((flags & ~(SC_PAIR_NONBLOCK | SC_PAIR_INHERIT)) != 0) {
    return -EINVAL;
  }
  int full = type;
  if ((flags & SC_PAIR_INHERIT) == 0) {
    full |= SOCK_CLOEXEC;
  }
  if ((flags & SC_PAIR_NONBLOCK) != 0) {
    full |= SOCK_NONBLOCK;
  }
  /* A private array: sv stays untouched on failure. */
  int tmp[2] = {-1, -1};
  if (socketpair(AF_UNIX, full, 0, tmp) < 0) {
    return SC_ERR(errno);
  }
  sv[0] = tmp[0];
  sv[1] = tmp[1];
  return 0;
}

void sc_pair_close(int sv[2]) {
  if (sv == NULL) {
    return;
  }
  for (int i = 0; i < 2; i++) {
    if (sv[i] >= 0) {
      /* Linux releases the descriptor even when close reports EINTR: never retry. */
      (void)close(sv[i]);
      sv[i] = -1;
    }
  }
}
