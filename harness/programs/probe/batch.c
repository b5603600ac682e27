/* Runs each script in its own forked child (own process group, bounded by alarm,
 * its temporary directory removed afterwards); --batch reads one script per line. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Runs one script in a child bounded by timeout_s. Returns 0 if it ran every
 * step, 1 if it died or timed out. */
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
    /* Its own process group, so whatever it forks ends with it (see below). */
    (void)setpgid(0, 0);
    alarm((unsigned)timeout_s);
    run_script(sc, dir);
    _exit(0);
  }
  (void)setpgid(pid, pid);
  /* Wait without reaping (the zombie keeps its pid and group id reserved), kill
   * what is left of its group (a forksend child blocked in a send would
   * otherwise outlive the time limit and hold our stdout open), then reap. */
  siginfo_t info;
  while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) != 0) {
    if (errno != EINTR) {
      break;
    }
  }
  (void)kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      cleanup_tmp(dir);
      return 1;
    }
  }
  cleanup_tmp(dir);
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (g_script >= 0) {
    jb_begin(j, -1, "end");
    if (ok) {
      jb_str(j, "status", "ok");
    } else if (WIFSIGNALED(status)) {
      jb_str(j, "status", WTERMSIG(status) == SIGALRM ? "timeout" : "signal");
      jb_int(j, "signal", WTERMSIG(status));
    } else {
      jb_str(j, "status", "exit");
      jb_int(j, "code", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    jb_emit(j);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
    fprintf(stderr, "sockcheck-probe: a step could not run (see its \"error\")\n%s", usage_text);
  } else if (!ok) {
    fprintf(stderr, "sockcheck-probe: script %s\n",
            WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "timed out" : "failed");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
    return 2;
  }
  return ok ? 0 : 1;
}

/* One script per stdin line, each in its own child. Returns the worst status among them:
 * 2 if some line could not run as a script (empty, bad step), else 1 if some script failed
 * or timed out, else 0. */
int run_batch(int timeout_s) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int rc = 0;
  jbuf j = {0};
  static script sc;
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    g_script++;
    char *argv[4096];
    int argc = 0;
    char *save = NULL;
    bool too_many = false;
    for (char *t = strtok_r(line, " \t\r\n", &save); t != NULL;
         t = strtok_r(NULL, " \t\r\n", &save)) {
      if (argc == (int)(sizeof argv / sizeof argv[0])) {
        too_many = true;
        break;
      }
      argv[argc++] = t;
    }
    if (argc == 0) {
      jb_begin(&j, -1, "end");
      jb_str(&j, "status", "usage");
      jb_str(&j, "error", "empty script");
      jb_emit(&j);
      rc = 2; /* the worst status: a script that cannot run */
      continue;
    }
    if (too_many || parse_script(&sc, argv, argc) != 0) {
      if (too_many) {
        bad("too many words", "line");
      }
      fprintf(stderr, "sockcheck-probe: line %ld: %s\n", g_script + 1, g_err);
      jb_begin(&j, -1, "end");
      jb_str(&j, "status", "usage");
      jb_str(&j, "error", g_err);
      jb_emit(&j);
      free_script(&sc);
      rc = 2;
      continue;
    }
    int crc = run_child(&sc, timeout_s, &j);
    if (crc > rc) {
      rc = crc;
    }
    free_script(&sc);
  }
  free(line);
  free(j.p);
  if (ferror(stdin)) {
    fprintf(stderr, "sockcheck-probe: reading stdin failed\n");
    return 1;
  }
  return rc;
}
