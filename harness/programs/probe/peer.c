/* The concurrent peer: consecutive "bg" steps run in order in one thread, each
 * once the main thread is seen blocked in a socket call (its /proc task files say
 * state S and a socket syscall), so a peer that sends, reads, closes or signals
 * "later" is ordered by observation, never by sleeping. Every wait is bounded;
 * the script's alarm bounds the rest. Also the counting signal handler. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#define OBSERVE_LIMIT_NS 3000000000LL /* how long the peer looks for a blocked call */
#define HANDLED_LIMIT_NS 3000000000LL /* how long kill waits for the handler to run */

static volatile sig_atomic_t g_handled;

static void on_signal(int sig) {
  (void)sig;
  g_handled++;
}

int peer_signal_install(int sig, bool restart) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const name_val socket_calls[] = {
    {"recvmsg", SYS_recvmsg}, {"sendmsg", SYS_sendmsg}, {"recvfrom", SYS_recvfrom},
    {"sendto", SYS_sendto},   {"read", SYS_read},       {"write", SYS_write},
    {"accept4", SYS_accept4}, {"connect", SYS_connect},
};

static bool read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n <= 0) {
    return false;
  }
  buf[n] = '\0';
  return true;
}

/* The socket call tid is asleep in, or NULL. A write to stdout/stderr (the probe's
 * own output) does not count. */
static const char *blocked_in(pid_t tid) {
  char path[64];
  char buf[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
  if (!read_small(path, buf, sizeof buf)) {
    return NULL;
  }
  const char *rp = strrchr(buf, ')');
  if (rp == NULL || rp[1] != ' ' || rp[2] != 'S') {
    return NULL;
  }
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
  if (!read_small(path, buf, sizeof buf)) {
    return NULL;
  }
  char *end = NULL;
  long nr = strtol(buf, &end, 10);
  if (end == buf) {
    return NULL; /* "running" */
  }
  unsigned long arg0 = strtoul(end, NULL, 16);
  for (size_t k = 0; k < sizeof socket_calls / sizeof socket_calls[0]; k++) {
    if (socket_calls[k].val == nr && arg0 > 2) {
      return socket_calls[k].name;
    }
  }
  return NULL;
}

typedef struct peer_job {
  run *r;
  const script *sc;
  int first, last;
  pid_t main_tid;
} peer_job;

static peer_job g_job;

/* bg kill: signals the main thread, then waits until the handler has run. */
static void do_kill(const step *st, jbuf *j, int stepno, pid_t main_tid) {
  sig_atomic_t before = g_handled;
  long ret = syscall(SYS_tgkill, getpid(), main_tid, (int)st->value);
  int err = errno;
  long long deadline = now_ns() + HANDLED_LIMIT_NS;
  while (ret == 0 && g_handled == before && now_ns() < deadline) {
    sched_yield();
  }
  jb_begin(j, stepno, "kill");
  jb_result(j, ret, err);
  jb_bool(j, "handled", g_handled != before);
  jb_emit(j);
}

static void *peer_main(void *arg) {
  const peer_job *job = arg;
  jbuf j = {0};
  for (int k = job->first; k < job->last; k++) {
    const step *st = &job->sc->steps[k];
    char note[96] = "\"peer\":true";
    if (!st->wait_none) {
      long long t0 = now_ns();
      const char *in = NULL;
      while ((in = blocked_in(job->main_tid)) == NULL && now_ns() - t0 < OBSERVE_LIMIT_NS) {
        struct timespec pause = {0, 100000}; /* a polling interval, not an ordering */
        nanosleep(&pause, NULL);
      }
      snprintf(note, sizeof note, "\"peer\":true,\"blocked_in\":\"%s\",\"observe_us\":%lld",
               in != NULL ? in : "", (now_ns() - t0) / 1000);
    }
    jb_note(note);
    if (st->op == OP_KILL) {
      do_kill(st, &j, k, job->main_tid);
    } else {
      run_step(job->r, st, &j, k);
    }
  }
  jb_note(NULL);
  free(j.p);
  return NULL;
}

void peer_start(run *r, const script *sc, int first, int last) {
  g_job.r = r;
  g_job.sc = sc;
  g_job.first = first;
  g_job.last = last;
  g_job.main_tid = (pid_t)syscall(SYS_gettid);
  int rc = pthread_create(&r->peer, NULL, peer_main, &g_job);
  if (rc != 0) {
    jbuf j = {0};
    script_error(&j, first, "bg", "cannot start the peer thread");
  }
  r->peer_running = true;
}

void peer_join(run *r, jbuf *j, int stepno) {
  long ret = 0;
  if (r->peer_running) {
    ret = pthread_join(r->peer, NULL) == 0 ? 0 : -1;
    r->peer_running = false;
  }
  if (j != NULL) {
    jb_begin(j, stepno, "join");
    jb_result(j, ret, 0);
    jb_emit(j);
  }
}
