/* Standalone replay main, linked with every fuzz target as replay_<target>, so any
 * build (gcc too) can run corpus and crash inputs without libFuzzer.
 *
 *   replay_<t> [-v] [--decode] [--timeout SECONDS] PATH...
 *
 * PATH is a file or a directory (walked recursively, entries sorted, README* and
 * .gitkeep skipped). Each input goes through LLVMFuzzerTestOneInput (after
 * LLVMFuzzerInitialize once, if the target has it) in an exactly sized heap
 * buffer, so ASan sees over-reads. Per input: a SIGALRM timeout (exit 3, names
 * the input) and a /proc/self/fd count check (exit 1 "fd leak"). A target that
 * aborts makes the process exit non-zero; with -v each input's name is written to
 * stderr before it runs. --decode prints each input with sc_fuzz_decode instead.
 * Exit: 0 ok, 1 failure (leak, read error), 2 usage or missing path, 3 timeout. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sctest/fds.h"
#include "support/check.h"
#include "support/hooks.h"

#pragma weak LLVMFuzzerInitialize
#pragma weak sc_fuzz_held_fds

#define DEFAULT_TIMEOUT_S 30u
#define MAX_DEPTH 16

typedef struct input_list {
  char **paths;
  size_t len;
  size_t cap;
} input_list;

/* The input being run, for the SIGALRM handler (written before alarm() is armed). */
static const char *volatile g_current = "(none)";

static void usage(FILE *out, const char *argv0) {
  fprintf(out,
          "usage: %s [-v] [--decode] [--timeout SECONDS] PATH...\n"
          "  runs each input file (directories recursively, sorted) through the fuzz target\n"
          "  -v            name each input before it runs and report it after\n"
          "  --decode      print each input as the target decodes it instead of running it\n"
          "  --timeout S   per-input time limit in seconds, 1..86400 (default %u); exit 3\n",
          argv0, DEFAULT_TIMEOUT_S);
}

static void write_str(const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(STDERR_FILENO, s, n);
    if (w <= 0) {
      return;
    }
    s += w;
    n -= (size_t)w;
  }
}

static void on_alarm(int sig) {
  (void)sig;
  write_str("replay: timeout: ");
  write_str(g_current);
  write_str("\n");
  _exit(3);
}

static bool skipped_name(const char *name) {
  return strncmp(name, "README", 6) == 0 || strcmp(name, ".gitkeep") == 0 ||
         strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

static int list_push(input_list *l, const char *path) {
  if (l->len == l->cap) {
    size_t ncap = l->cap ? l->cap * 2 : 64;
    char **np = realloc(l->paths, ncap * sizeof *np);
    if (np == NULL) {
      return -ENOMEM;
    }
    l->paths = np;
    l->cap = ncap;
  }
  char *copy = strdup(path);
  if (copy == NULL) {
    return -ENOMEM;
  }
  l->paths[l->len++] = copy;
  return 0;
}

static void list_free(input_list *l) {
  for (size_t i = 0; i < l->len; i++) {
    free(l->paths[i]);
  }
  free(l->paths);
  l->paths = NULL;
  l->len = l->cap = 0;
}

/* Adds path (a file, or a directory walked in sorted order) to l. Returns 0 or -errno. */
static int collect(input_list *l, const char *path, int depth) {
  struct stat st;
  if (stat(path, &st) != 0) {
    int err = errno;
    fprintf(stderr, "replay: %s: %s\n", path, strerror(err));
    return -err;
  }
  if (!S_ISDIR(st.st_mode)) {
    return list_push(l, path);
  }
  if (depth >= MAX_DEPTH) {
    fprintf(stderr, "replay: %s: directories nested too deep\n", path);
    return -ELOOP;
  }
  struct dirent **ents = NULL;
  int n = scandir(path, &ents, NULL, alphasort);
  if (n < 0) {
    int err = errno;
    fprintf(stderr, "replay: %s: %s\n", path, strerror(err));
    return -err;
  }
  int rc = 0;
  for (int i = 0; i < n; i++) {
    if (rc == 0 && !skipped_name(ents[i]->d_name)) {
      char child[PATH_MAX];
      int len = snprintf(child, sizeof child, "%s/%s", path, ents[i]->d_name);
      if (len < 0 || (size_t)len >= sizeof child) {
        fprintf(stderr, "replay: %s/%s: path too long\n", path, ents[i]->d_name);
        rc = -ENAMETOOLONG;
      } else {
        rc = collect(l, child, depth + 1);
      }
    }
    free(ents[i]);
  }
  free(ents);
  return rc;
}

/* Reads a whole file into an exactly sized heap buffer (1 byte for an empty file). */
static int read_file(const char *path, uint8_t **data, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return -errno;
  }
  int rc = 0;
  uint8_t *buf = NULL;
  if (fseek(f, 0, SEEK_END) != 0) {
    rc = -errno;
    goto out;
  }
  long len = ftell(f);
  if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
    rc = -EIO;
    goto out;
  }
  buf = malloc(len > 0 ? (size_t)len : 1);
  if (buf == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  if (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len) {
    rc = -EIO;
    free(buf);
    buf = NULL;
    goto out;
  }
  *data = buf;
  *size = (size_t)len;
out:
  fclose(f);
  return rc;
}

static long held_fds(void) {
  return sc_fuzz_held_fds != NULL ? (long)sc_fuzz_held_fds() : 0;
}

static int parse_timeout(const char *text, unsigned *out) {
  char *end = NULL;
  errno = 0;
  unsigned long v = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < 1 || v > 86400) {
    return -EINVAL;
  }
  *out = (unsigned)v;
  return 0;
}

int main(int argc, char **argv) {
  bool verbose = false;
  bool decode = false;
  unsigned timeout_s = DEFAULT_TIMEOUT_S;
  int first_path = argc;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      first_path = i + 1;
      break;
    }
    if (a[0] != '-' || a[1] == '\0') {
      first_path = i;
      break;
    }
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      verbose = true;
    } else if (strcmp(a, "--decode") == 0) {
      decode = true;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout, argv[0]);
      return 0;
    } else if (strcmp(a, "--timeout") == 0 || strncmp(a, "--timeout=", 10) == 0) {
      const char *val = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
      if (val == NULL || parse_timeout(val, &timeout_s) != 0) {
        fprintf(stderr, "replay: --timeout needs a number of seconds 1..86400\n");
        usage(stderr, argv[0]);
        return 2;
      }
    } else {
      fprintf(stderr, "replay: unknown option %s\n", a);
      usage(stderr, argv[0]);
      return 2;
    }
  }
  if (first_path >= argc) {
    usage(stderr, argv[0]);
    return 2;
  }

  input_list inputs = {0};
  for (int i = first_path; i < argc; i++) {
    int rc = collect(&inputs, argv[i], 0);
    if (rc != 0) {
      list_free(&inputs);
      return rc == -ENOMEM ? 1 : 2;
    }
  }
  int npaths = argc - first_path;

  if (!decode && LLVMFuzzerInitialize != NULL) {
    LLVMFuzzerInitialize(&argc, &argv);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGALRM, &sa, NULL) != 0) {
    perror("replay: sigaction");
    list_free(&inputs);
    return 1;
  }

  long base_fds = decode ? 0 : sc_test_count_fds(NULL) - held_fds();
  int status = 0;
  for (size_t i = 0; i < inputs.len && status == 0; i++) {
    const char *path = inputs.paths[i];
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = read_file(path, &data, &size);
    if (rc != 0) {
      fprintf(stderr, "replay: %s: cannot read: %s\n", path, strerror(-rc));
      status = 1;
      break;
    }
    g_current = path;
    if (decode) {
      printf("== %s (%zu bytes)\n", path, size);
      if (sc_fuzz_decode(data, size, stdout) != 0 || fflush(stdout) != 0) {
        fprintf(stderr, "replay: %s: decode failed\n", path);
        status = 1;
      }
    } else {
      if (verbose) {
        fprintf(stderr, "replay: running %s (%zu bytes)\n", path, size);
      }
      alarm(timeout_s);
      (void)LLVMFuzzerTestOneInput(data, size);
      alarm(0);
      long now = sc_test_count_fds(NULL) - held_fds();
      if (base_fds < 0 || now < 0) {
        fprintf(stderr, "replay: cannot count /proc/self/fd\n");
        status = 1;
      } else if (now != base_fds) {
        fprintf(stderr, "replay: fd leak: %s: %ld descriptors open, %ld before\n", path, now,
                base_fds);
        status = 1;
      } else if (verbose) {
        printf("ok %s\n", path);
      }
    }
    free(data);
  }
  g_current = "(none)";
  if (status == 0 && !decode) {
    printf("replayed %zu inputs from %d paths: ok\n", inputs.len, npaths);
  }
  list_free(&inputs);
  return status;
}
