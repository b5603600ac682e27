/* Executors for everything around the calls under test: close, shutdown, socket
 * options, filling a send buffer, pipes and files, the descriptor limit and the
 * credentials the script runs with. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probe.h"

/* setsockopt(2) when a value is given (a raw syscall: it is under test), then what
 * getsockopt(2) reads back. Returns the setsockopt result (0 when none). */
static long do_sockopt(int fd, const step *st, jbuf *extra, int *err) {
  const sockopt_def *o = st->opt;
  long ret = 0;
  if (st->has_optval) {
    int v = (int)st->optval;
    struct linger lg = {1, (int)st->optval};
    struct timeval tv = {st->optval / 1000000, st->optval % 1000000};
    if (o->kind == OPT_TIMEO_USEC) {
      tv.tv_sec = 0;
      tv.tv_usec = st->optval;
    }
    const void *p = &v;
    socklen_t len = sizeof v;
    if (o->kind == OPT_LINGER) {
      p = &lg;
      len = sizeof lg;
    } else if (o->kind == OPT_TIMEO || o->kind == OPT_TIMEO_USEC) {
      p = &tv;
      len = sizeof tv;
    }
    ret = syscall(SYS_setsockopt, fd, o->level, o->optname, p, len);
    *err = errno;
  }
  if (o->kind == OPT_INT) {
    int v = 0;
    socklen_t vl = sizeof v;
    if (getsockopt(fd, o->level, o->optname, &v, &vl) == 0) {
      jb_int(extra, "value", v);
    }
  } else if (o->kind == OPT_TIMEO || o->kind == OPT_TIMEO_USEC) {
    struct timeval tv;
    socklen_t vl = sizeof tv;
    if (getsockopt(fd, o->level, o->optname, &tv, &vl) == 0) {
      jb_int(extra, "value_us", (long long)tv.tv_sec * 1000000 + tv.tv_usec);
    }
  } else if (o->kind == OPT_UCRED) {
    struct ucred cr;
    socklen_t vl = sizeof cr;
    ret = syscall(SYS_getsockopt, fd, o->level, o->optname, &cr, &vl);
    *err = errno;
    if (ret == 0) {
      jb_int(extra, "pid", cr.pid);
      jb_int(extra, "uid", cr.uid);
      jb_int(extra, "gid", cr.gid);
      jb_int(extra, "self_pid", getpid());
      jb_int(extra, "self_uid", getuid());
      jb_int(extra, "self_gid", getgid());
    }
  }
  return ret;
}

/* A reader: recv(2) until size bytes came (or EOF or an error when size is not
 * given), at most chunk bytes per call. Reports the bytes, the calls and their FNV-1a.
 * Returns the last call's result when it failed, else 0. */
static long do_drain(int fd, const step *st, jbuf *extra, int *err) {
  size_t chunk = st->chunk > 0 ? (size_t)st->chunk : 65536;
  unsigned char *buf = malloc(chunk);
  if (buf == NULL) {
    die_oom();
  }
  size_t total = 0;
  long calls = 0;
  long ret = 0;
  uint64_t h = FNV_INIT;
  while (st->size < 0 || total < (size_t)st->size) {
    size_t want = chunk;
    if (st->size >= 0 && (size_t)st->size - total < want) {
      want = (size_t)st->size - total;
    }
    ssize_t n = recv(fd, buf, want, 0);
    calls++;
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ret = n < 0 ? -1 : 0;
      *err = errno;
      break;
    }
    h = fnv_add(h, buf, (size_t)n);
    total += (size_t)n;
  }
  free(buf);
  jb_int(extra, "bytes", (long long)total);
  jb_int(extra, "count", calls);
  jb_fnv(extra, "fnv", h);
  return ret;
}

/* The steps that name no descriptor slot. */
static bool takes_no_slot(op_kind op) {
  return op == OP_PIPE || op == OP_OPEN || op == OP_MKFILE || op == OP_MKDIR || op == OP_RLIMIT ||
         op == OP_SETUID || op == OP_SIGNAL;
}

void do_ctl(run *r, const step *st, jbuf *j, int stepno) {
  int fd = -1;
  long ret = 0;
  int err = 0;
  const char *call = st->verb;
  if (!takes_no_slot(st->op) && !resolve(r, st->fd, &fd)) {
    script_error(j, stepno, call, "no such slot");
  }
  char path[PATH_MAX];
  if (st->path != NULL && !subst_tmp(st->path, r->tmpdir, path, sizeof path)) {
    script_error(j, stepno, call, "path too long");
  }
  jbuf extra = {0};
  extra.first = false;
  switch (st->op) {
    case OP_CLOSE:
      ret = syscall(SYS_close, fd);
      err = errno;
      break;
    case OP_SHUTDOWN:
      ret = syscall(SYS_shutdown, fd, st->how);
      err = errno;
      break;
    case OP_PIPE: {
      int p[2];
      ret = pipe2(p, O_CLOEXEC);
      err = errno;
      if (ret == 0) {
        int a = add_slot(r, p[0]);
        int b = add_slot(r, p[1]);
        char txt[32];
        snprintf(txt, sizeof txt, "[%d,%d]", a, b);
        jb_key(&extra, "fds");
        jb_puts(&extra, txt);
      }
      break;
    }
    case OP_OPEN:
      ret = open(path, O_RDWR | O_CLOEXEC);
      err = errno;
      if (ret >= 0) {
        jb_int(&extra, "slot", add_slot(r, (int)ret));
      }
      break;
    case OP_MKFILE:
      ret = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      err = errno;
      if (ret >= 0) {
        close((int)ret);
        ret = 0;
      }
      break;
    case OP_MKDIR:
      ret = mkdir(path, 0700);
      err = errno;
      break;
    case OP_RLIMIT: {
      struct rlimit rl;
      long lim = st->value;
      if (st->value_low) {
        /* The lowest free descriptor number: any new descriptor then exceeds the limit. */
        int probe_fd = dup(0);
        lim = probe_fd >= 0 ? probe_fd : 0;
        if (probe_fd >= 0) {
          close(probe_fd);
        }
      }
      ret = getrlimit(RLIMIT_NOFILE, &rl);
      if (ret == 0) {
        rl.rlim_cur = (rlim_t)lim;
        ret = setrlimit(RLIMIT_NOFILE, &rl);
      }
      err = errno;
      jb_int(&extra, "limit", lim);
      break;
    }
    case OP_SETUID: {
      gid_t g = (gid_t)st->value;
      ret = setgroups(1, &g);
      if (ret == 0) {
        ret = setgid(g);
      }
      if (ret == 0) {
        ret = setuid((uid_t)st->value);
      }
      err = errno;
      jb_int(&extra, "uid", (long long)getuid());
      jb_int(&extra, "euid", (long long)geteuid());
      break;
    }
    case OP_SOCKOPT:
      ret = do_sockopt(fd, st, &extra, &err);
      break;
    case OP_FCNTL: {
      int fl = fcntl(fd, F_GETFL);
      ret = fl < 0 ? -1 : fcntl(fd, F_SETFL, st->value ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
      err = errno;
      break;
    }
    case OP_SIGNAL:
      ret = peer_signal_install((int)st->value, st->how != 0);
      err = errno;
      break;
    case OP_DRAIN:
      ret = do_drain(fd, st, &extra, &err);
      break;
    case OP_FILL: {
      int type = 0;
      socklen_t tl = sizeof type;
      if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0) {
        type = SOCK_STREAM;
      }
      size_t chunk = st->size > 0 ? (size_t)st->size : (type == SOCK_STREAM ? 65536 : 1);
      unsigned char *buf = calloc(chunk, 1);
      if (buf == NULL) {
        die_oom();
      }
      size_t total = 0;
      long calls = 0;
      ret = 0;
      while (total < FILL_MAX_BYTES && calls < FILL_MAX_CALLS) {
        ssize_t w = send(fd, buf, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
        calls++;
        if (w < 0 && errno == EINTR) {
          continue;
        }
        if (w < 0) {
          ret = -1;
          err = errno;
          break;
        }
        total += (size_t)w;
      }
      free(buf);
      jb_int(&extra, "bytes", (long long)total);
      jb_int(&extra, "count", calls);
      break;
    }
    default:
      ret = -1;
      err = EINVAL;
      break;
  }
  emit_simple(j, stepno, call, ret, err, &extra);
}
