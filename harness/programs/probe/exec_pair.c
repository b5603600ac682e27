/* Executors that make sockets: socketpair(2), sc_pair_open, socket(2), and the
 * seed's fork example (a child sends on its end). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sockcheck/pair.h"

#include "probe.h"

void do_pair(run *r, const step *st, jbuf *j, int stepno) {
  int sv[2] = {-1, -1};
  long type = st->type | (st->nonblock ? SOCK_NONBLOCK : 0) | (st->cloexec ? SOCK_CLOEXEC : 0);
  long ret = syscall(SYS_socketpair, st->domain, type, st->proto, st->sv_null ? NULL : sv);
  int err = errno;
  jb_begin(j, stepno, "socketpair");
  jb_result(j, ret, err);
  if (ret == 0 && !st->sv_null) {
    int s0 = add_slot(r, sv[0]);
    int s1 = add_slot(r, sv[1]);
    bool nb0, ce0, nb1, ce1;
    fd_flags(sv[0], &nb0, &ce0);
    fd_flags(sv[1], &nb1, &ce1);
    jb_key(j, "fds");
    char txt[64];
    snprintf(txt, sizeof txt, "[%d,%d]", s0, s1);
    jb_puts(j, txt);
    jb_key(j, "nonblock");
    snprintf(txt, sizeof txt, "[%s,%s]", nb0 ? "true" : "false", nb1 ? "true" : "false");
    jb_puts(j, txt);
    jb_key(j, "cloexec");
    snprintf(txt, sizeof txt, "[%s,%s]", ce0 ? "true" : "false", ce1 ? "true" : "false");
    jb_puts(j, txt);
  }
  jb_emit(j);
}

void do_libpair(run *r, const step *st, jbuf *j, int stepno) {
  int sv[2] = {-1, -1};
  int ret = sc_pair_open((int)st->type, st->nonblock ? SC_PAIR_NONBLOCK : 0, sv);
  jb_begin(j, stepno, "sc_pair_open");
  jb_result(j, ret < 0 ? -1 : ret, -ret);
  if (ret == 0) {
    int s0 = add_slot(r, sv[0]);
    int s1 = add_slot(r, sv[1]);
    char txt[32];
    snprintf(txt, sizeof txt, "[%d,%d]", s0, s1);
    jb_key(j, "fds");
    jb_puts(j, txt);
  }
  jb_emit(j);
}

void do_socket(run *r, const step *st, jbuf *j, int stepno) {
  long type = st->type | (st->nonblock ? SOCK_NONBLOCK : 0) | (st->cloexec ? SOCK_CLOEXEC : 0);
  long ret = syscall(SYS_socket, st->domain, type, st->proto);
  int err = errno;
  jb_begin(j, stepno, "socket");
  jb_result(j, ret, err);
  if (ret >= 0) {
    jb_int(j, "slot", add_slot(r, (int)ret));
  }
  jb_emit(j);
}

/* The seed's fork example, by the protocol: the child closes the end it does not
 * use, sends, prints its line and exits; the parent waits, then closes the
 * child's end. */
void do_forksend(run *r, const step *st, jbuf *j, int stepno) {
  int fd = -1;
  int other = -1;
  if (!resolve(r, st->fd, &fd) || !resolve(r, st->fd2, &other)) {
    script_error(j, stepno, "fork", "no such slot");
    return;
  }
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    jb_begin(j, stepno, "fork");
    jb_result(j, -1, err);
    jb_emit(j);
    return;
  }
  if (pid == 0) {
    close(other);
    size_t n = st->size >= 0 ? (size_t)st->size : (st->data != NULL ? st->data_len : 6);
    unsigned char *buf = malloc(n + 1);
    if (buf == NULL) {
      _exit(3);
    }
    for (size_t k = 0; k < n; k++) {
      buf[k] = st->data != NULL && st->data_len > 0 ? st->data[k % st->data_len]
               : st->size < 0                       ? (unsigned char)"hello"[k]
                                                    : (unsigned char)(((size_t)st->seed + k) % 251);
    }
    long ret = syscall(SYS_sendto, fd, buf, n, MSG_NOSIGNAL, NULL, 0);
    int err = errno;
    jb_begin(j, stepno, "child.send");
    jb_result(j, ret, err);
    jb_int(j, "bytes", ret > 0 ? ret : 0);
    jb_emit(j);
    free(buf);
    _exit(ret == (long)n ? 0 : 1);
  }
  int status = 0;
  pid_t w;
  do {
    w = waitpid(pid, &status, 0);
  } while (w < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  jb_begin(j, stepno, "fork");
  jb_result(j, w < 0 ? -1 : 0, err);
  jb_int(j, "child_exit", w >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  jb_emit(j);
}
