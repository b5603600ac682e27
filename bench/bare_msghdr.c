/* Baseline for the msghdr fuzz target's speed: a libFuzzer target built with the same
 * flags (ASan+UBSan, coverage) that ignores its input and does one fixed sendmsg + recvmsg
 * of 16 bytes in two iovecs on a reused AF_UNIX datagram pair. `bench/bench_fuzz.sh`
 * prints fuzz_msghdr's exec/s divided by this one's: the cost of the layout decoder, the
 * oracle and the checks over bare syscalls. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int g_sv[2] = {-1, -1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)data;
  (void)size;
  if (g_sv[0] < 0 && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, g_sv) != 0) {
    perror("bare_msghdr: socketpair");
    abort();
  }
  static char out[16] = "bare msghdr sent";
  char in[16];
  struct iovec siov[2] = {{out, 7}, {out + 7, 9}};
  struct iovec riov[2] = {{in, 10}, {in + 10, 6}};
  struct msghdr sm;
  struct msghdr rm;
  memset(&sm, 0, sizeof(sm));
  memset(&rm, 0, sizeof(rm));
  sm.msg_iov = siov;
  sm.msg_iovlen = 2;
  rm.msg_iov = riov;
  rm.msg_iovlen = 2;
  ssize_t s = sendmsg(g_sv[0], &sm, MSG_NOSIGNAL);
  ssize_t r = recvmsg(g_sv[1], &rm, MSG_DONTWAIT);
  if (s != 16 || r != 16 || memcmp(in, out, sizeof(in)) != 0) {
    fprintf(stderr, "bare_msghdr: sendmsg %zd, recvmsg %zd (%s)\n", s, r, strerror(errno));
    abort();
  }
  return 0;
}
