/* sockcheck error convention.
 *
 * Every public function returns a negative errno value (-EINVAL, -EAGAIN, ...)
 * on failure and a value >= 0 (a count, or 0) on success, as libuv does.
 * errno itself is never part of the contract. EINTR is retried inside the
 * library and never returned; EAGAIN is returned as -EAGAIN.
 */
#ifndef SOCKCHECK_ERROR_H
#define SOCKCHECK_ERROR_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Turns the result of a raw syscall (-1 + errno) into the library's convention. */
#define SC_ERR(x) (-(x))

/* Returns the symbolic name of an errno value, positive or negative ("EAGAIN"),
 * or "E?" for an unknown one. Never returns NULL; the string is static. */
const char *sc_err_name(int err);

/* Returns a human message for an errno value, positive or negative. Never NULL;
 * static storage, thread-safe (does not use strerror's buffer). */
const char *sc_err_message(int err);

/* Returns the errno number for a symbolic name ("EAGAIN" -> 11), or 0 if unknown. */
int sc_err_from_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif
