/* The send executor: a raw sendmsg(2) with the step's iovecs, destination and
 * ancillary data (descriptors, credentials, a forged cmsg_len). */
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sockcheck/pair.h"

#include "probe.h"

static volatile sig_atomic_t g_sigpipe;

static void record_sent(run *r, const int *fds, size_t n) {
  r->nsent = 0;
  for (size_t i = 0; i < n && i < sizeof r->sent_dev / sizeof r->sent_dev[0]; i++) {
    struct stat sb;
    if (fstat(fds[i], &sb) == 0) {
      r->sent_dev[r->nsent] = sb.st_dev;
      r->sent_ino[r->nsent] = sb.st_ino;
      r->nsent++;
    }
  }
}

/* Builds the control buffer of a send step. Returns its length (0: none). */
static size_t build_send_control(run *r, const step *st, unsigned char *ctl, size_t cap,
                                 int *tmpfds, size_t *ntmp) {
  size_t used = 0;
  *ntmp = 0;
  if (st->rights != 0) {
    int fds[SC_CMSG_MAX_FDS + 16];
    size_t n = 0;
    if (st->rights < 0) {
      fds[0] = -1;
      n = 1;
    } else {
      while (n < (size_t)st->rights) {
        int sv[2] = {-1, -1};
        if (sc_pair_open(SOCK_DGRAM, 0, sv) != 0) {
          break;
        }
        fds[n++] = sv[0];
        tmpfds[(*ntmp)++] = sv[0];
        if (n < (size_t)st->rights) {
          fds[n++] = sv[1];
          tmpfds[(*ntmp)++] = sv[1];
        } else {
          close(sv[1]);
        }
      }
      record_sent(r, fds, n);
    }
    /* Built by hand (not sc_cmsg_add_rights) so counts beyond SCM_MAX_FD reach the kernel. */
    size_t need = CMSG_SPACE(n * sizeof(int));
    if (need <= cap) {
      struct cmsghdr *c = (struct cmsghdr *)(void *)ctl;
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(n * sizeof(int));
      memcpy(CMSG_DATA(c), fds, n * sizeof(int));
      used = need;
    }
  }
  if (st->creds) {
    struct ucred cr;
    if (st->creds_self) {
      cr.pid = getpid();
      cr.uid = getuid();
      cr.gid = getgid();
    } else {
      cr.pid = (pid_t)st->cred_pid;
      cr.uid = (uid_t)st->cred_uid;
      cr.gid = (gid_t)st->cred_gid;
    }
    if (sc_cmsg_add_creds(ctl, cap, &used, &cr) != 0) {
      return used;
    }
  }
  if (st->cmsg_len >= 0 && used >= sizeof(struct cmsghdr)) {
    ((struct cmsghdr *)(void *)ctl)->cmsg_len = (size_t)st->cmsg_len;
  }
  return used;
}

void on_sigpipe(int sig) {
  (void)sig;
  g_sigpipe++;
}

static const char *const send_names[] = {"sendmsg", "send", "sendto", "write"};

/* The entry point the step names, with the msghdr's parts as its arguments. */
static long call_send(int fd, const step *st, const struct msghdr *m) {
  void *buf = m->msg_iov != NULL && m->msg_iovlen > 0 ? m->msg_iov[0].iov_base : NULL;
  size_t len = m->msg_iov != NULL && m->msg_iovlen > 0 ? m->msg_iov[0].iov_len : 0;
  switch (st->via) {
    case VIA_PLAIN:
      return syscall(SYS_sendto, fd, buf, len, st->flags, NULL, 0);
    case VIA_TO:
      return syscall(SYS_sendto, fd, buf, len, st->flags, m->msg_name, m->msg_namelen);
    case VIA_RW:
      return syscall(SYS_write, fd, buf, len);
    case VIA_MSG:
    default:
      return syscall(SYS_sendmsg, fd, st->msg_null ? NULL : m, st->flags);
  }
}

void do_send(run *r, const step *st, jbuf *j, int stepno) {
  int fd = -1;
  if (!resolve(r, st->fd, &fd)) {
    script_error(j, stepno, "sendmsg", "no such slot");
    return;
  }
  iov_set s;
  iov_build(st, &s, true);
  struct sockaddr_storage ss;
  socklen_t sl = 0;
  struct msghdr m;
  memset(&m, 0, sizeof m);
  if (st->addr.kind != AK_NONE) {
    if (build_addr(r, &st->addr, sock_family(fd), &ss, &sl) != 0) {
      iov_free(st, &s);
      script_error(j, stepno, "sendmsg", g_err);
      return;
    }
    m.msg_name = st->addr.kind == AK_NULL ? NULL : &ss;
    m.msg_namelen = sl;
  }
  if (st->name_bad) {
    m.msg_name = noaccess_mem();
    m.msg_namelen = sizeof(struct sockaddr_storage);
  }
  if (st->has_namelen) {
    m.msg_namelen = (socklen_t)(int)st->namelen;
  }
  m.msg_iov = st->iovp_null ? NULL : s.iov;
  m.msg_iovlen = (size_t)st->niov;
  static _Thread_local unsigned char ctl[CMSG_SPACE((SC_CMSG_MAX_FDS + 16) * sizeof(int)) + 256];
  int tmpfds[SC_CMSG_MAX_FDS + 16];
  size_t ntmp = 0;
  size_t cl = build_send_control(r, st, ctl, sizeof ctl, tmpfds, &ntmp);
  if (cl > 0) {
    m.msg_control = ctl;
    m.msg_controllen = cl;
  }
  if (st->control_bad) {
    m.msg_control = noaccess_mem();
    m.msg_controllen = CMSG_SPACE(sizeof(int));
  }
  uint64_t h = FNV_INIT;
  for (int i = 0; i < st->niov; i++) {
    if (iov_is_real(&s, i)) {
      h = fnv_add(h, s.iov[i].iov_base, s.iov[i].iov_len);
    }
  }
  g_sigpipe = 0;
  long long t0 = monotonic_us();
  long ret = call_send(fd, st, &m);
  int err = errno;
  long long t1 = monotonic_us();
  int pipes = (int)g_sigpipe;
  for (size_t k = 0; k < ntmp; k++) {
    close(tmpfds[k]);
  }
  jb_begin(j, stepno, send_names[st->via]);
  jb_result(j, ret, err);
  jb_int(j, "bytes", ret > 0 ? ret : 0);
  jb_int(j, "iovlen", st->niov);
  jb_int(j, "total", (long long)s.total_real);
  jb_fnv(j, "fnv", h);
  /* FNV-1a of the bytes the kernel took (a prefix of the gathered bytes). */
  uint64_t hs = FNV_INIT;
  size_t left = ret > 0 ? (size_t)ret : 0;
  for (int i = 0; i < st->niov && left > 0; i++) {
    if (iov_is_real(&s, i)) {
      size_t n = s.iov[i].iov_len < left ? s.iov[i].iov_len : left;
      hs = fnv_add(hs, s.iov[i].iov_base, n);
      left -= n;
    }
  }
  jb_fnv(j, "fnv_sent", hs);
  jb_bool(j, "iov_unchanged", iov_unchanged(st, &s));
  jb_int(j, "sigpipe", pipes);
  jb_int(j, "controllen", (long long)cl);
  jb_int(j, "elapsed_us", t1 - t0);
  if (st->rights > 0) {
    jb_int(j, "sent_fds", (long long)r->nsent);
  }
  jb_emit(j);
  iov_free(st, &s);
}
