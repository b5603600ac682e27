/* The one table of error names and messages (see sockcheck/error.h). */
#include "sockcheck/error.h"

#include <stddef.h>
#include <string.h>

typedef struct {
  int num;
  const char *name;
  const char *message;
} err_entry;

#define E(x, msg) \
  { x, #x, msg }
static const err_entry table[] = {
    E(EPERM, "operation not permitted"),
    E(ENOENT, "no such file or directory"),
    E(EINTR, "interrupted system call"),
    E(EIO, "input/output error"),
    E(EBADF, "bad file descriptor"),
    E(EAGAIN, "resource temporarily unavailable"),
    E(ENOMEM, "cannot allocate memory"),
    E(EACCES, "permission denied"),
    E(EFAULT, "bad address"),
    E(EEXIST, "file exists"),
    E(ENOTDIR, "not a directory"),
    E(EISDIR, "is a directory"),
    E(EINVAL, "invalid argument"),
    E(ENFILE, "too many open files in system"),
    E(EMFILE, "too many open files"),
    E(ENOSPC, "no space left (buffer too small)"),
    E(EPIPE, "broken pipe"),
    E(ERANGE, "result out of range"),
    E(ENAMETOOLONG, "file name too long"),
    E(ENOSYS, "function not implemented"),
    E(ENOBUFS, "no buffer space available"),
    E(EPROTO, "protocol error"),
    E(ENOTSOCK, "socket operation on non-socket"),
    E(EDESTADDRREQ, "destination address required"),
    E(EMSGSIZE, "message too long"),
    E(EPROTOTYPE, "protocol wrong type for socket"),
    E(ENOPROTOOPT, "protocol not available"),
    E(EPROTONOSUPPORT, "protocol not supported"),
    E(ESOCKTNOSUPPORT, "socket type not supported"),
    E(EOPNOTSUPP, "operation not supported"),
    E(EPFNOSUPPORT, "protocol family not supported"),
    E(EAFNOSUPPORT, "address family not supported by protocol"),
    E(EADDRINUSE, "address already in use"),
    E(EADDRNOTAVAIL, "cannot assign requested address"),
    E(ENETDOWN, "network is down"),
    E(ENETUNREACH, "network is unreachable"),
    E(ECONNABORTED, "software caused connection abort"),
    E(ECONNRESET, "connection reset by peer"),
    E(EISCONN, "transport endpoint is already connected"),
    E(ENOTCONN, "transport endpoint is not connected"),
    E(ESHUTDOWN, "cannot send after transport endpoint shutdown"),
    E(ETIMEDOUT, "connection timed out"),
    E(ECONNREFUSED, "connection refused"),
    E(EHOSTUNREACH, "no route to host"),
    E(EALREADY, "operation already in progress"),
    E(EINPROGRESS, "operation now in progress"),
    E(ELOOP, "too many levels of symbolic links"),
    E(EROFS, "read-only file system"),
    E(EOVERFLOW, "value too large for defined data type"),
};
#undef E

static const err_entry *find(int err) {
  /* In long: -INT_MIN does not fit in an int. */
  long num = err < 0 ? -(long)err : err;
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    if (table[i].num == num) {
      return &table[i];
    }
  }
  return NULL;
}

const char *sc_err_name(int err) {
  const err_entry *e = find(err);
  if (err == 0) {
    return "OK";
  }
  return e != NULL ? e->name : "E?";
}

const char *sc_err_message(int err) {
  const err_entry *e = find(err);
  if (err == 0) {
    return "success";
  }
  return e != NULL ? e->message : "unknown error";
}

int sc_err_from_name(const char *name) {
  if (name == NULL) {
    return 0;
  }
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    if (strcmp(table[i].name, name) == 0) {
      return table[i].num;
    }
  }
  return 0;
}
