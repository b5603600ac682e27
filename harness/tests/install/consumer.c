/* An outside project using an installed libsockcheck: every public header, built with
 * -std=c11 -Wall -Wextra -Werror and no _GNU_SOURCE (install_test.sh), through pkg-config
 * and through find_package. */
#include <sockcheck/addr.h>
#include <sockcheck/cmsg.h>
#include <sockcheck/conn.h>
#include <sockcheck/error.h>
#include <sockcheck/iov.h>
#include <sockcheck/msg.h>
#include <sockcheck/pair.h>
#include <sockcheck/server.h>
#include <sockcheck/transport.h>
#include <stdio.h>
#include <sys/socket.h>

int main(void) {
  int sv[2];
  int rc = sc_pair_open(SOCK_STREAM, 0, sv);
  if (rc < 0) {
    fprintf(stderr, "sc_pair_open: %s\n", sc_err_message(rc));
    return 1;
  }
  char text[] = "hello";
  struct iovec iov = {.iov_base = text, .iov_len = sizeof(text)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  ssize_t sent = sc_send_all(sc_transport_kernel(), sv[0], &msg, 0, 1000, NULL);
  char back[sizeof(text)];
  struct iovec in = {.iov_base = back, .iov_len = sizeof(back)};
  ssize_t got = sc_recv_fill(sc_transport_kernel(), sv[1], &in, 1, 1000, NULL);
  sc_pair_close(sv);
  if (sent != (ssize_t)sizeof(text) || got != (ssize_t)sizeof(text)) {
    fprintf(stderr, "consumer: sent %zd, received %zd\n", sent, got);
    return 1;
  }
  printf("consumer ok: %s\n", sc_err_name(-EAGAIN));
  return 0;
}
