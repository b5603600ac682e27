/* Addresses: parsing and printing the textual forms the programs accept, and
 * binding helpers. Never resolves names over the network. */
#ifndef SOCKCHECK_ADDR_H
#define SOCKCHECK_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest text sc_addr_format can produce, with its NUL. */
#define SC_ADDR_TEXT_MAX 256

/* A socket address of any family, with its length. */
typedef struct sc_addr {
  struct sockaddr_storage ss;
  socklen_t len;
} sc_addr;

/* Parses a decimal port 0..65535: digits only, no sign, no spaces, no leading
 * zeros beyond "0". Returns 0 or -EINVAL. */
int sc_addr_parse_port(const char *text, uint16_t *port);

/* Parses one of:
 *   "PORT"            -> 0.0.0.0:PORT (all IPv4 addresses)
 *   "A.B.C.D:PORT"    -> IPv4 literal; "localhost:PORT" -> 127.0.0.1
 *   "[V6]:PORT"       -> IPv6 literal
 *   "unix:PATH"       -> filesystem UNIX socket (path fits sun_path with its NUL)
 *   "@NAME"           -> abstract UNIX socket (printable NAME; "@" alone autobinds)
 * Returns 0 with *out filled, or -EINVAL for anything else (out untouched). */
int sc_addr_parse(const char *text, sc_addr *out);

/* Formats a to text that sc_addr_parse turns back into the same address.
 * Returns the length written (without NUL), -ENOSPC if cap is too small,
 * -EAFNOSUPPORT for a family it does not print. */
int sc_addr_format(const sc_addr *a, char *buf, size_t cap);

/* Copies a kernel-filled sockaddr (from accept, recvfrom, getsockname) into
 * *out. Returns 0, or -EINVAL if len is larger than sockaddr_storage. */
int sc_addr_from_sockaddr(sc_addr *out, const struct sockaddr *sa, socklen_t len);

/* Returns the port of an IPv4/IPv6 address, or -EAFNOSUPPORT. */
int sc_addr_port(const sc_addr *a);

/* Creates a socket of a's family and `type` (SOCK_CLOEXEC always; flags may add
 * SOCK_NONBLOCK), sets SO_REUSEADDR for SOCK_STREAM, binds it to a, and for
 * SOCK_STREAM listens with `backlog`. Returns the fd (>= 0) or -errno of the
 * failing call; no descriptor is left open on failure. */
int sc_addr_bind_socket(const sc_addr *a, int type, int flags, int backlog);

/* Fills *out with the address fd is bound to (getsockname). Returns 0 or -errno. */
int sc_addr_local(int fd, sc_addr *out);

#ifdef __cplusplus
}
#endif
#endif
