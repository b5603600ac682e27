/* The receive executor: a raw recvmsg(2), then what came back: count, msg_flags,
 * the bytes (hex and FNV-1a), the sender's name and the ancillary data (descriptors
 * matched against the ones sent, close-on-exec, credentials). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probe.h"

static const char *const recv_names[] = {"recvmsg", "recv", "recvfrom", "read"};

/* The entry point the step names, with the msghdr's parts as its arguments;
 * recvfrom's address length comes back in m->msg_namelen. */
static long call_recv(int fd, const step *st, struct msghdr *m) {
  void *buf = m->msg_iov != NULL && m->msg_iovlen > 0 ? m->msg_iov[0].iov_base : NULL;
  size_t len = m->msg_iov != NULL && m->msg_iovlen > 0 ? m->msg_iov[0].iov_len : 0;
  switch (st->via) {
    case VIA_PLAIN:
      return syscall(SYS_recvfrom, fd, buf, len, st->flags, NULL, NULL);
    case VIA_TO: {
      socklen_t nl = m->msg_namelen;
      long ret = syscall(SYS_recvfrom, fd, buf, len, st->flags, m->msg_name,
                         m->msg_name != NULL ? &nl : NULL);
      m->msg_namelen = nl;
      return ret;
    }
    case VIA_RW:
      return syscall(SYS_read, fd, buf, len);
    case VIA_MSG:
    default:
      return syscall(SYS_recvmsg, fd, st->msg_null ? NULL : m, st->flags);
  }
}

void do_recv(run *r, const step *st, jbuf *j, int stepno) {
  int fd = -1;
  if (!resolve(r, st->fd, &fd)) {
    script_error(j, stepno, "recvmsg", "no such slot");
    return;
  }
  iov_set s;
  iov_build(st, &s, false);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  static _Thread_local unsigned char ctl[CTRL_MAX];
  memset(ctl, 0, sizeof ctl);
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = st->iovp_null ? NULL : s.iov;
  m.msg_iovlen = (size_t)st->niov;
  if (st->name_cap >= 0) {
    m.msg_name = &ss;
    m.msg_namelen = (socklen_t)st->name_cap;
  }
  if (st->name_bad) {
    m.msg_name = noaccess_mem();
    m.msg_namelen = sizeof ss;
  }
  if (st->has_namelen) {
    m.msg_namelen = (socklen_t)(int)st->namelen;
  }
  if (st->control >= 0) {
    m.msg_control = st->control > 0 ? ctl : NULL;
    m.msg_controllen = (size_t)st->control;
  }
  if (st->control_null) {
    m.msg_control = NULL;
    m.msg_controllen = CMSG_SPACE(SC_CMSG_MAX_FDS * sizeof(int));
  }
  if (st->control_bad) {
    m.msg_control = noaccess_mem();
    m.msg_controllen = CMSG_SPACE(SC_CMSG_MAX_FDS * sizeof(int));
  }
  m.msg_flags = (int)st->preflags;
  long long t0 = monotonic_us();
  long ret = call_recv(fd, st, &m);
  int err = errno;
  long long t1 = monotonic_us();
  if (st->via != VIA_MSG) {
    m.msg_flags = 0;
  }
  jb_begin(j, stepno, recv_names[st->via]);
  jb_result(j, ret, err);
  jb_int(j, "bytes", ret > 0 ? ret : 0);
  jb_int(j, "elapsed_us", t1 - t0);
  jb_int(j, "msg_flags", m.msg_flags);
  jb_flag_names(j, "msg_flags_names", m.msg_flags);
  jb_bool(j, "iov_unchanged", iov_unchanged(st, &s));
  if (ret >= 0) {
    /* The received bytes, in iovec order (with MSG_TRUNC ret may exceed the room). */
    size_t want = (size_t)ret;
    size_t cap = (size_t)st->hexcap;
    unsigned char *hex = malloc(cap + 1);
    if (hex == NULL) {
      die_oom();
    }
    size_t got = 0;
    size_t shown = 0;
    uint64_t h = FNV_INIT;
    for (int i = 0; i < st->niov && got < want; i++) {
      if (!iov_is_real(&s, i)) {
        continue;
      }
      size_t n = s.iov[i].iov_len < want - got ? s.iov[i].iov_len : want - got;
      const unsigned char *b = s.iov[i].iov_base;
      h = fnv_add(h, b, n);
      for (size_t k = 0; k < n && shown < cap; k++) {
        hex[shown++] = b[k];
      }
      got += n;
    }
    jb_int(j, "len", (long long)got);
    jb_hex(j, "data", hex, shown);
    jb_fnv(j, "fnv", h);
    free(hex);
    if (st->name_cap >= 0) {
      jb_int(j, "namelen", m.msg_namelen);
      jb_local_name(j, "name", &ss, m.msg_namelen);
    }
  }
  if (st->control >= 0) {
    jb_int(j, "controllen", (long long)m.msg_controllen);
  }
  if (ret >= 0 && st->control > 0) {
    sc_cmsg_iter it;
    sc_cmsg_item item;
    sc_cmsg_iter_init(&it, ctl, m.msg_controllen);
    jb_key(j, "cmsgs");
    jb_put(j, "[", 1);
    int nfd_total = 0;
    int nmatch = 0;
    int ncloexec = 0;
    bool first = true;
    char txt[128];
    int rc;
    int fdslots[SC_CMSG_MAX_FDS + 16];
    int nslots = 0;
    struct ucred cr;
    bool have_creds = false;
    while ((rc = sc_cmsg_next(&it, &item)) == 1) {
      snprintf(txt, sizeof txt, "%s{\"level\":%d,\"type\":%d,\"len\":%zu}", first ? "" : ",",
               item.level, item.type, item.len);
      jb_puts(j, txt);
      first = false;
      int fds[SC_CMSG_MAX_FDS + 16];
      int n = sc_cmsg_rights(&item, fds, sizeof fds / sizeof fds[0]);
      for (int k = 0; k < n; k++) {
        struct stat sb;
        size_t idx = (size_t)nfd_total;
        if (idx < r->nsent && fstat(fds[k], &sb) == 0 && sb.st_dev == r->sent_dev[idx] &&
            sb.st_ino == r->sent_ino[idx]) {
          nmatch++;
        }
        int fl = fcntl(fds[k], F_GETFD);
        if (fl >= 0 && (fl & FD_CLOEXEC) != 0) {
          ncloexec++;
        }
        nfd_total++;
        int slot = add_slot(r, fds[k]);
        if (slot >= 0 && nslots < (int)(sizeof fdslots / sizeof fdslots[0])) {
          fdslots[nslots++] = slot;
        }
      }
      if (sc_cmsg_creds(&item, &cr) == 0) {
        have_creds = true;
      }
    }
    jb_put(j, "]", 1);
    jb_bool(j, "cmsg_malformed", rc < 0);
    jb_int(j, "fds", nfd_total);
    jb_bool(j, "fd_match", nfd_total > 0 && (size_t)nmatch == r->nsent && nmatch == nfd_total);
    jb_int(j, "fd_matching", nmatch);
    jb_int(j, "cloexec", ncloexec);
    jb_key(j, "fd_slots");
    jb_put(j, "[", 1);
    for (int k = 0; k < nslots; k++) {
      snprintf(txt, sizeof txt, "%s%d", k ? "," : "", fdslots[k]);
      jb_puts(j, txt);
    }
    jb_put(j, "]", 1);
    if (have_creds) {
      jb_int(j, "cred_pid", cr.pid);
      jb_int(j, "cred_uid", cr.uid);
      jb_int(j, "cred_gid", cr.gid);
    }
  }
  jb_emit(j);
  iov_free(st, &s);
}
