/* Executors for names and connections: bind(2), connect(2), listen(2), accept4(2),
 * with the local name the socket ends up with. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "sockcheck/addr.h"

#include "probe.h"

/* True when the address is an autobound abstract name: NUL + 5 hex digits. */
static bool is_autobind(const struct sockaddr_storage *ss, socklen_t len) {
  const struct sockaddr_un *un = (const struct sockaddr_un *)(const void *)ss;
  if (ss->ss_family != AF_UNIX || len != offsetof(struct sockaddr_un, sun_path) + 6 ||
      un->sun_path[0] != '\0') {
    return false;
  }
  for (int k = 1; k <= 5; k++) {
    if (!isxdigit((unsigned char)un->sun_path[k])) {
      return false;
    }
  }
  return true;
}

static const char *node_type(const char *path) {
  struct stat sb;
  if (lstat(path, &sb) != 0) {
    return "none";
  }
  if (S_ISSOCK(sb.st_mode)) {
    return "sock";
  }
  if (S_ISDIR(sb.st_mode)) {
    return "dir";
  }
  return S_ISREG(sb.st_mode) ? "file" : "other";
}

void do_bind_connect(run *r, const step *st, jbuf *j, int stepno, bool is_bind) {
  const char *call = is_bind ? "bind" : "connect";
  int fd = -1;
  if (!resolve(r, st->fd, &fd)) {
    script_error(j, stepno, call, "no such slot");
    return;
  }
  struct sockaddr_storage ss;
  socklen_t sl = 0;
  int fam = sock_family(fd);
  if (build_addr(r, &st->addr, fam, &ss, &sl) != 0) {
    script_error(j, stepno, call, g_err);
    return;
  }
  const struct sockaddr *sa = st->addr.kind == AK_NULL ? NULL : (const struct sockaddr *)&ss;
  if (st->addr.kind == AK_NULL && st->addr.len < 0) {
    sl = sizeof(struct sockaddr_in);
  }
  long ret = syscall(is_bind ? SYS_bind : SYS_connect, fd, sa, sl);
  int err = errno;
  jb_begin(j, stepno, call);
  jb_result(j, ret, err);
  jb_int(j, "addrlen", sl);
  struct sockaddr_storage local;
  socklen_t ll = sizeof local;
  memset(&local, 0, sizeof local);
  if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0) {
    jb_local_name(j, "local", &local, ll);
    jb_int(j, "local_len", ll);
    jb_bool(j, "autobind", is_autobind(&local, ll));
    if (local.ss_family == AF_INET || local.ss_family == AF_INET6) {
      sc_addr a;
      if (sc_addr_from_sockaddr(&a, (const struct sockaddr *)&local, ll) == 0) {
        jb_int(j, "port", sc_addr_port(&a));
      }
    }
  }
  if (st->addr.kind == AK_TEXT && ss.ss_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)(const void *)&ss;
    if (un->sun_path[0] != '\0') {
      char path[sizeof un->sun_path + 1];
      memcpy(path, un->sun_path, sizeof un->sun_path);
      path[sizeof un->sun_path] = '\0';
      jb_str(j, "node", node_type(path));
    }
  }
  jb_emit(j);
}

/* getsockname(2) of a slot, raw. */
void do_name(run *r, const step *st, jbuf *j, int stepno) {
  int fd = -1;
  if (!resolve(r, st->fd, &fd)) {
    script_error(j, stepno, "getsockname", "no such slot");
  }
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len = sizeof ss;
  long ret = syscall(SYS_getsockname, fd, &ss, &len);
  int err = errno;
  jb_begin(j, stepno, "getsockname");
  jb_result(j, ret, err);
  if (ret == 0) {
    jb_int(j, "len", len);
    jb_int(j, "family", ss.ss_family);
    jb_local_name(j, "local", &ss, len);
    jb_bool(j, "autobind", is_autobind(&ss, len));
  }
  jb_emit(j);
}

/* listen(2) with the step's backlog; accept4(2) adds the new descriptor's slot. */
void do_listen_accept(run *r, const step *st, jbuf *j, int stepno) {
  int fd = -1;
  long ret = 0;
  int err = 0;
  const char *call = st->verb;
  if (!resolve(r, st->fd, &fd)) {
    script_error(j, stepno, call, "no such slot");
  }
  jbuf extra = {0};
  extra.first = false;
  switch (st->op) {
    case OP_LISTEN:
      ret = syscall(SYS_listen, fd, st->value);
      err = errno;
      break;
    case OP_ACCEPT:
      ret = syscall(SYS_accept4, fd, NULL, NULL, SOCK_CLOEXEC);
      err = errno;
      if (ret >= 0) {
        jb_int(&extra, "slot", add_slot(r, (int)ret));
      }
      break;
    default:
      ret = -1;
      err = EINVAL;
      break;
  }
  emit_simple(j, stepno, call, ret, err, &extra);
}
