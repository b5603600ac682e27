#include "support/check.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

void sc_fuzz_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "sockcheck: MISMATCH at %s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  abort();
}

long sc_fuzz_count_fds(bool (*mine)(int fd, const struct stat *st)) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) {
    return -1;
  }
  long n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd == dirfd(d)) {
      continue;
    }
    struct stat st;
    if (mine == NULL) {
      n++;
    } else if (fstat(fd, &st) == 0 && mine(fd, &st)) {
      n++;
    }
  }
  closedir(d);
  return n;
}
