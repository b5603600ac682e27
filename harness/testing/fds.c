#include "sctest/fds.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Calls visit(fd, arg) for every open descriptor but the directory's own. */
static int each_fd(void (*visit)(int fd, void *arg), void *arg) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) {
    return -1;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') {
      continue;
    }
    int fd = atoi(e->d_name);
    if (fd != dirfd(d)) {
      visit(fd, arg);
    }
  }
  closedir(d);
  return 0;
}

typedef struct counting {
  bool (*mine)(int fd, const struct stat *st);
  long n;
} counting;

static void count_one(int fd, void *arg) {
  counting *c = arg;
  struct stat st;
  if (c->mine == NULL || (fstat(fd, &st) == 0 && c->mine(fd, &st))) {
    c->n++;
  }
}

long sc_test_count_fds(bool (*mine)(int fd, const struct stat *st)) {
  counting c = {mine, 0};
  return each_fd(count_one, &c) == 0 ? c.n : -1;
}

static void track_highest(int fd, void *arg) {
  int *hi = arg;
  if (fd > *hi) {
    *hi = fd;
  }
}

int sc_test_highest_fd(void) {
  int hi = -1;
  return each_fd(track_highest, &hi) == 0 ? hi : -1;
}
