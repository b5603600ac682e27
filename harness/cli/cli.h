/* Helpers shared by the command-line programs (harness/programs/): strict
 * number parsing, safe printing of arbitrary bytes, "host:port" text, and the
 * signal descriptor that stops a program cleanly. */
#ifndef SOCKCHECK_CLI_H
#define SOCKCHECK_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sockcheck/addr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parses a decimal number 0..max: digits only (no sign, spaces or leading
 * zeros beyond "0"). Returns 0 with *out set, or -EINVAL (*out untouched). */
int sc_cli_parse_uint(const char *text, uint64_t max, uint64_t *out);

/* Writes data[0..len) to out with C-style escapes: \\ \n \r \t, and \xHH (always
 * two hex digits) for every other byte outside 0x20..0x7e. Reads exactly len
 * bytes (never stops at a NUL). Returns 0, or -EIO if writing failed. */
int sc_cli_escape(FILE *out, const void *data, size_t len);

/* Writes "host:port" into buf, adding brackets when host is an IPv6 literal
 * (contains ':' and is not already bracketed). Returns the length, or -ENOSPC. */
int sc_cli_hostport(char *buf, size_t cap, const char *host, const char *port);

/* The local address of a server program from its --bind value and its port:
 * bind is a host ("0.0.0.0", "::1", "[::1]", "localhost") or a whole address
 * sc_addr_parse accepts ("127.0.0.1:0", "unix:PATH"); a whole address's port must
 * be 0 (then port_text is used) or equal port_text. Writes the address as text
 * to text[0..cap) for messages. Returns 0, or -EINVAL. */
int sc_cli_bind_addr(const char *bind, const char *port_text, sc_addr *out, char *text, size_t cap);

/* Prints "PROG: why[: arg]" and then the program's usage (written by `usage`)
 * on stderr. Returns 2, the programs' exit code for a missing or bad argument. */
int sc_cli_bad_usage(const char *prog, void (*usage)(FILE *out), const char *why, const char *arg);

/* Ignores SIGPIPE, blocks SIGINT and SIGTERM and returns a non-blocking,
 * close-on-exec signalfd that becomes readable when one arrives, or -errno. */
int sc_cli_stop_fd(void);

#ifdef __cplusplus
}
#endif
#endif
