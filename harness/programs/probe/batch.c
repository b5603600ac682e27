/* Runs each script in a forked child (own process group, bounded by alarm, its
 * temporary directory removed afterwards); --batch reads one script per line and
 * runs consecutive scripts that leave no trace in the process (may_share) several
 * to a child, one after another, each with its own alarm and directory and the
 * child's descriptors reset after it: a fork per script costs more than most scripts. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sockcheck/error.h"

#include "probe.h"

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

/* Removes the script's temporary directory and whatever the script made in it. */
static void cleanup_tmp(const char *dir) {
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* In batch mode, the "end" line of a script that could not be started. */
static void end_error(jbuf *j, const char *call, int err) {
  if (g_script < 0) {
    return;
  }
  jb_begin(j, -1, "end");
  jb_str(j, "status", "error");
  jb_str(j, "error", call);
  jb_str(j, "errno_name", sc_err_name(err));
  jb_emit(j);
}

/* In batch mode, the "end" line of script g_script from its child's wait status. */
static void end_status(jbuf *j, int status) {
  jb_begin(j, -1, "end");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    jb_str(j, "status", "ok");
  } else if (WIFSIGNALED(status)) {
    jb_str(j, "status", WTERMSIG(status) == SIGALRM ? "timeout" : "signal");
    jb_int(j, "signal", WTERMSIG(status));
  } else {
    jb_str(j, "status", "exit");
    jb_int(j, "code", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  jb_emit(j);
}

/* Waits for child pid without reaping it (the zombie keeps its pid and group id
 * reserved), kills what is left of its group (a forksend child blocked in a send
 * would otherwise outlive the time limit and hold our stdout open), then reaps it.
 * Returns 0 with its wait status, or -1. */
static int reap_group(pid_t pid, int *status) {
  siginfo_t info;
  while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) != 0) {
    if (errno != EINTR) {
      break;
    }
  }
  (void)kill(-pid, SIGKILL);
  *status = 0;
  while (waitpid(pid, status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return 0;
}

/* The status run_child and run_batch return for a child's wait status. */
static int child_rc(int status) {
  if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
    return 2;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/* Runs one script in a child bounded by timeout_s. Returns 0 if it ran every
 * step, 2 if a step could not run, 1 if it died or timed out. */
int run_child(const script *sc, int timeout_s, jbuf *j) {
  char dir[64];
  snprintf(dir, sizeof dir, "/tmp/sockcheck-probe.XXXXXX");
  if (mkdtemp(dir) == NULL) {
    int err = errno;
    fprintf(stderr, "sockcheck-probe: cannot create a temporary directory: %s\n",
            sc_err_message(err));
    end_error(j, "mkdtemp", err);
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    fprintf(stderr, "sockcheck-probe: fork: %s\n", sc_err_message(err));
    end_error(j, "fork", err);
    cleanup_tmp(dir);
    return 1;
  }
  if (pid == 0) {
    /* Its own process group, so whatever it forks ends with it (see reap_group). */
    (void)setpgid(0, 0);
    alarm((unsigned)timeout_s);
    run_script(sc, dir);
    _exit(0);
  }
  (void)setpgid(pid, pid);
  int status = 0;
  int reaped = reap_group(pid, &status);
  cleanup_tmp(dir);
  if (reaped != 0) {
    return 1;
  }
  if (g_script >= 0) {
    end_status(j, status);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
    fprintf(stderr, "sockcheck-probe: a step could not run (see its \"error\")\n%s", usage_text);
  } else if (child_rc(status) != 0) {
    fprintf(stderr, "sockcheck-probe: script %s\n",
            WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "timed out" : "failed");
  }
  return child_rc(status);
}

/* ------------------------------------------------ several scripts to a child */

#define KEEP_FDS 1024 /* descriptors the batch may hold open (more: no sharing) */

/* The descriptors open in the batch process, so a shared child can close whatever a
 * script opened. Returns false if /proc/self/fd is unreadable or a descriptor is
 * beyond KEEP_FDS. */
static bool snapshot_fds(bool keep[KEEP_FDS], int *maxfd) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) {
    return false;
  }
  bool ok = true;
  *maxfd = -1;
  memset(keep, 0, KEEP_FDS * sizeof keep[0]);
  const struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char *end = NULL;
    long fd = strtol(e->d_name, &end, 10);
    if (e->d_name[0] == '.' || *end != '\0' || fd == dirfd(d)) {
      continue;
    }
    if (fd < 0 || fd >= KEEP_FDS) {
      ok = false;
      continue;
    }
    keep[fd] = true;
    *maxfd = fd > *maxfd ? (int)fd : *maxfd;
  }
  closedir(d);
  return ok;
}

/* Closes every descriptor not in keep (the batch's own), as the end of a process
 * would. */
static void close_script_fds(const bool keep[KEEP_FDS], int maxfd) {
  for (int fd = 0; fd < maxfd; fd++) {
    if (!keep[fd]) {
      (void)close(fd);
    }
  }
  if (syscall(SYS_close_range, (unsigned)maxfd + 1, ~0U, 0) != 0) {
    _exit(4); /* a descriptor might outlive its script: fail this one, not the next */
  }
}

/* A script that may share a child with the scripts after it: it changes nothing in
 * the process that outlives it but the descriptors it opens (closed after it) and
 * its own directory (its peer thread is joined when it ends). No signal handlers,
 * credentials, limits, forked children or raw descriptor numbers (which could name
 * the batch's own). */
static bool may_share(const script *sc) {
  for (int k = 0; k < sc->nsteps; k++) {
    const step *st = &sc->steps[k];
    if (st->fd.raw || st->fd2.raw) {
      return false;
    }
    switch (st->op) {
      case OP_SETUID:
      case OP_RLIMIT:
      case OP_FORKSEND:
      case OP_SIGNAL:
      case OP_KILL:
        return false;
      default:
        break;
    }
  }
  return true;
}

#define GROUP_MAX 64

/* Scripts read and parsed, waiting for a child: each keeps its own line (the parsed
 * steps point into it). */
typedef struct group {
  int n;
  long no[GROUP_MAX];
  char *line[GROUP_MAX];
  size_t cap[GROUP_MAX];
  script *sc[GROUP_MAX];
  char dir[GROUP_MAX][64];
} group;

/* Runs g's scripts first..n-1 in one child, in order, each bounded by timeout_s;
 * a shared counter says how many finished. Returns the index of the first script
 * that did not finish (n if all did) and its child's wait status in *status, or
 * false in *forked when there was no child to wait for (its end line is written). */
static int run_shared(const group *g, int first, int n, int timeout_s, const bool keep[KEEP_FDS],
                      int maxfd, jbuf *j, int *status, bool *forked) {
  static volatile int *done;
  if (done == NULL) {
    void *p = mmap(NULL, sizeof *done, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      die_oom();
    }
    done = p;
  }
  *done = 0;
  *status = 0;
  *forked = false;
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    fprintf(stderr, "sockcheck-probe: fork: %s\n", sc_err_message(err));
    g_script = g->no[first];
    end_error(j, "fork", err);
    return first;
  }
  if (pid == 0) {
    (void)setpgid(0, 0);
    for (int i = first; i < n; i++) {
      g_script = g->no[i];
      alarm((unsigned)timeout_s);
      run_script(g->sc[i], g->dir[i]);
      alarm(0);
      close_script_fds(keep, maxfd);
      end_status(j, 0);
      (*done)++;
    }
    _exit(0);
  }
  (void)setpgid(pid, pid);
  int reaped = reap_group(pid, status);
  int err = errno;
  int stop = first + *done;
  if (reaped != 0 && stop < n) {
    g_script = g->no[stop];
    end_error(j, "waitpid", err);
    return stop;
  }
  *forked = reaped == 0;
  return stop;
}

/* Runs the group's scripts, several to a child; a script that ends its child
 * (timeout, crash, a step that cannot run) gets its end line from that child's
 * wait status, and the scripts after it go on in a new child. Returns the worst
 * status, as run_batch does. */
static int run_group(group *g, int timeout_s, const bool keep[KEEP_FDS], int maxfd, jbuf *j) {
  int rc = 0;
  int made = 0;
  for (; made < g->n; made++) {
    snprintf(g->dir[made], sizeof g->dir[made], "/tmp/sockcheck-probe.XXXXXX");
    if (mkdtemp(g->dir[made]) == NULL) {
      int err = errno;
      fprintf(stderr, "sockcheck-probe: cannot create a temporary directory: %s\n",
              sc_err_message(err));
      g_script = g->no[made];
      end_error(j, "mkdtemp", err);
      rc = 1;
      break;
    }
  }
  int i = 0;
  while (i < made) {
    int status = 0;
    bool forked = false;
    int stop = run_shared(g, i, made, timeout_s, keep, maxfd, j, &status, &forked);
    if (stop >= made) {
      break;
    }
    int crc = 1;
    if (forked) {
      g_script = g->no[stop];
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        status = 1 << 8; /* exited before its scripts ended: a failure, never "ok" */
      }
      end_status(j, status);
      crc = child_rc(status);
    }
    rc = crc > rc ? crc : rc;
    i = stop + 1;
  }
  for (int k = 0; k < made; k++) {
    cleanup_tmp(g->dir[k]);
  }
  for (int k = 0; k < g->n; k++) {
    free_script(g->sc[k]);
  }
  g->n = 0;
  return rc;
}

/* One script per stdin line. Scripts that may share a child run up to group_max to a
 * child; the others each in their own (group_max 1: every script in its own).
 * Returns the worst status among them: 2 if some line could not run as a script
 * (empty, bad step), else 1 if some script failed or timed out, else 0. */
int run_batch(int timeout_s, int group_max) {
  int rc = 0;
  jbuf j = {0};
  static group g;
  static bool keep[KEEP_FDS];
  int maxfd = -1;
  if (group_max > GROUP_MAX) {
    group_max = GROUP_MAX;
  }
  if (group_max > 1 && !snapshot_fds(keep, &maxfd)) {
    group_max = 1;
  }
  for (;;) {
    int k = g.n;
    if (g.sc[k] == NULL) {
      g.sc[k] = calloc(1, sizeof *g.sc[k]);
      if (g.sc[k] == NULL) {
        die_oom();
      }
    }
    ssize_t n = getline(&g.line[k], &g.cap[k], stdin);
    if (n < 0) {
      break;
    }
    g_script++;
    char *argv[4096];
    int argc = 0;
    char *save = NULL;
    bool too_many = false;
    for (char *t = strtok_r(g.line[k], " \t\r\n", &save); t != NULL;
         t = strtok_r(NULL, " \t\r\n", &save)) {
      if (argc == (int)(sizeof argv / sizeof argv[0])) {
        too_many = true;
        break;
      }
      argv[argc++] = t;
    }
    script *sc = g.sc[k];
    if (argc == 0) {
      jb_begin(&j, -1, "end");
      jb_str(&j, "status", "usage");
      jb_str(&j, "error", "empty script");
      jb_emit(&j);
      rc = 2; /* the worst status: a script that cannot run */
      continue;
    }
    if (too_many || parse_script(sc, argv, argc) != 0) {
      if (too_many) {
        bad("too many words", "line");
      }
      fprintf(stderr, "sockcheck-probe: line %ld: %s\n", g_script + 1, g_err);
      jb_begin(&j, -1, "end");
      jb_str(&j, "status", "usage");
      jb_str(&j, "error", g_err);
      jb_emit(&j);
      free_script(sc);
      rc = 2;
      continue;
    }
    if (group_max > 1 && may_share(sc)) {
      g.no[g.n++] = g_script;
      if (g.n == group_max) {
        long next = g_script;
        int grc = run_group(&g, timeout_s, keep, maxfd, &j);
        rc = grc > rc ? grc : rc;
        g_script = next;
      }
      continue;
    }
    int crc = run_child(sc, timeout_s, &j);
    free_script(sc);
    rc = crc > rc ? crc : rc;
  }
  if (g.n > 0) {
    int grc = run_group(&g, timeout_s, keep, maxfd, &j);
    rc = grc > rc ? grc : rc;
  }
  for (int k = 0; k < GROUP_MAX; k++) {
    free(g.line[k]);
    free(g.sc[k]);
  }
  free(j.p);
  if (ferror(stdin)) {
    fprintf(stderr, "sockcheck-probe: reading stdin failed\n");
    return 1;
  }
  return rc;
}
