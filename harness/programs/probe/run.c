/* One script's run state: descriptor slots (numbered in creation order), addresses
 * built from a step's spec, and the loop that runs the steps in order. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#include "sockcheck/addr.h"

#include "probe.h"

static pthread_mutex_t g_slot_lock = PTHREAD_MUTEX_INITIALIZER; /* main and peer threads */

int add_slot(run *r, int fd) {
  pthread_mutex_lock(&g_slot_lock);
  int slot = -1;
  if (r->nslots < MAX_SLOTS) {
    r->fd[r->nslots] = fd;
    slot = r->nslots++;
  }
  pthread_mutex_unlock(&g_slot_lock);
  if (slot < 0) {
    close(fd);
  }
  return slot;
}

/* Resolves a slot reference; a closed slot keeps its old number (EBADF tests). */
bool resolve(const run *r, fdref ref, int *fd) {
  if (ref.raw) {
    *fd = (int)ref.val;
    return true;
  }
  if (ref.val >= r->nslots) {
    return false;
  }
  *fd = r->fd[ref.val];
  return true;
}

void fd_flags(int fd, bool *nonblock, bool *cloexec) {
  int fl = fcntl(fd, F_GETFL);
  int fdfl = fcntl(fd, F_GETFD);
  *nonblock = fl >= 0 && (fl & O_NONBLOCK) != 0;
  *cloexec = fdfl >= 0 && (fdfl & FD_CLOEXEC) != 0;
}

/* Fills ss and len from an addr_spec. Returns 0 or -1 (message in g_err). */
int build_addr(const run *r, const addr_spec *spec, int fd_family, struct sockaddr_storage *ss,
               socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  *len = 0;
  switch (spec->kind) {
    case AK_TEXT: {
      char text[PATH_MAX];
      sc_addr a;
      if (!subst_tmp(spec->text, r->tmpdir, text, sizeof text) || sc_addr_parse(text, &a) != 0) {
        return bad("address does not parse", spec->text);
      }
      memcpy(ss, &a.ss, sizeof *ss);
      *len = a.len;
      break;
    }
    case AK_FAMILY:
      ss->ss_family = (sa_family_t)fd_family;
      *len = sizeof(sa_family_t);
      break;
    case AK_SLOT: {
      fdref ref = {false, spec->slot};
      int other = -1;
      socklen_t l = sizeof *ss;
      if (!resolve(r, ref, &other) || getsockname(other, (struct sockaddr *)ss, &l) != 0) {
        return bad("cannot read the address of slot", "slot");
      }
      *len = l;
      break;
    }
    case AK_NULL:
    case AK_NONE:
    default:
      break;
  }
  if (spec->family >= 0) {
    ss->ss_family = (sa_family_t)spec->family;
  }
  if (spec->portof >= 0) {
    fdref ref = {false, spec->portof};
    int other = -1;
    struct sockaddr_storage o;
    socklen_t l = sizeof o;
    if (!resolve(r, ref, &other) || getsockname(other, (struct sockaddr *)&o, &l) != 0) {
      return bad("cannot read the address of slot", "portof");
    }
    in_port_t port = o.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)(void *)&o)->sin6_port
                                             : ((struct sockaddr_in *)(void *)&o)->sin_port;
    if (ss->ss_family == AF_INET6) {
      ((struct sockaddr_in6 *)(void *)ss)->sin6_port = port;
    } else {
      ((struct sockaddr_in *)(void *)ss)->sin_port = port;
    }
  }
  if (spec->len >= 0) {
    *len = (socklen_t)spec->len;
  }
  return 0;
}

int sock_family(int fd) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &l) != 0) {
    return AF_UNSPEC;
  }
  return ss.ss_family;
}

/* A step that cannot run as written (a slot that does not exist...): report it
 * and end the script with exit status 2, like bad usage. */
__attribute__((noreturn)) void script_error(jbuf *j, int stepno, const char *verb,
                                            const char *why) {
  jb_begin(j, stepno, verb);
  jb_str(j, "error", why);
  jb_emit(j);
  _exit(2);
}

/* The line of a step with no output of its own: call, result, then the keys
 * gathered in extra (freed here). */
void emit_simple(jbuf *j, int stepno, const char *call, long ret, int err, jbuf *extra) {
  jb_begin(j, stepno, call);
  jb_result(j, ret, err);
  if (extra->len > 0) {
    jb_put(j, extra->p, extra->len);
  }
  j->first = false;
  free(extra->p);
  jb_emit(j);
}

/* Runs one step in the calling thread (the main one or the peer). */
void run_step(run *r, const step *st, jbuf *j, int k) {
  switch (st->op) {
    case OP_PAIR:
      do_pair(r, st, j, k);
      break;
    case OP_LIBPAIR:
      do_libpair(r, st, j, k);
      break;
    case OP_SOCKET:
      do_socket(r, st, j, k);
      break;
    case OP_SEND:
      do_send(r, st, j, k);
      break;
    case OP_RECV:
      do_recv(r, st, j, k);
      break;
    case OP_BIND:
      do_bind_connect(r, st, j, k, true);
      break;
    case OP_CONNECT:
      do_bind_connect(r, st, j, k, false);
      break;
    case OP_FORKSEND:
      do_forksend(r, st, j, k);
      break;
    case OP_LISTEN:
    case OP_ACCEPT:
      do_listen_accept(r, st, j, k);
      break;
    case OP_JOIN:
      peer_join(r, j, k);
      break;
    case OP_NAME:
      do_name(r, st, j, k);
      break;
    default:
      do_ctl(r, st, j, k);
      break;
  }
}

/* Runs the steps in order; a run of consecutive bg steps goes to the peer thread
 * (one at a time: a new run first joins the previous one), joined at the end. */
void run_script(const script *sc, const char *dir) {
  static run r;
  memset(&r, 0, sizeof r);
  jbuf j = {0};
  snprintf(r.tmpdir, sizeof r.tmpdir, "%s", dir);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigpipe;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGPIPE, &sa, NULL);
  for (int k = 0; k < sc->nsteps; k++) {
    if (sc->steps[k].bg) {
      int last = k;
      while (last < sc->nsteps && sc->steps[last].bg) {
        last++;
      }
      peer_join(&r, NULL, k);
      peer_start(&r, sc, k, last);
      k = last - 1;
      continue;
    }
    run_step(&r, &sc->steps[k], &j, k);
  }
  peer_join(&r, NULL, sc->nsteps);
  free(j.p);
}
