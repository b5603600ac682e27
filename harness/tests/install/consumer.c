/* An outside project using an installed libsockcheck: proves the headers, the
 * library and the pkg-config / CMake package files are installed and usable. */
#include <sockcheck/error.h>
#include <sockcheck/pair.h>
#include <stdio.h>
#include <sys/socket.h>

int main(void) {
  int sv[2];
  int rc = sc_pair_open(SOCK_STREAM, 0, sv);
  if (rc < 0) {
    fprintf(stderr, "sc_pair_open: %s\n", sc_err_message(rc));
    return 1;
  }
  sc_pair_close(sv);
  printf("consumer ok: %s\n", sc_err_name(-EAGAIN));
  return 0;
}
