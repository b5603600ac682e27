/* sockcheck-probe: runs a script of documented socket calls, with the arguments
 * given (deliberately invalid ones included), and prints one JSON line per call.
 * Each script runs in a forked child (fresh descriptors, rlimits and credentials;
 * a bounded run time), so --batch runs thousands of scripts, one per stdin line,
 * from one process; scripts that leave no trace share a child (batch.c). The
 * grammar is in grammar.c's usage text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

static int usage_error(void) {
  fprintf(stderr, "sockcheck-probe: %s\n%s", g_err, usage_text);
  return 2;
}

int main(int argc, char **argv) {
  int timeout_s = 5;
  int i = 1;
  bool batch = false;
  int group_max = 16;
  while (i < argc) {
    if (strcmp(argv[i], "--timeout") == 0) {
      long t = 0;
      if (i + 1 >= argc || !parse_long(argv[i + 1], &t) || t < 1 || t > 3600) {
        bad("--timeout needs 1..3600 seconds", i + 1 < argc ? argv[i + 1] : "");
        return usage_error();
      }
      timeout_s = (int)t;
      i += 2;
    } else if (strcmp(argv[i], "--group") == 0) {
      long g = 0;
      if (i + 1 >= argc || !parse_long(argv[i + 1], &g) || g < 1 || g > 64) {
        bad("--group needs 1..64 scripts", i + 1 < argc ? argv[i + 1] : "");
        return usage_error();
      }
      group_max = (int)g;
      i += 2;
    } else if (strcmp(argv[i], "--batch") == 0) {
      batch = true;
      i++;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage_text, stdout);
      return 0;
    } else {
      break;
    }
  }
  if (batch) {
    if (i != argc) {
      bad("--batch takes no steps on the command line", argv[i]);
      return usage_error();
    }
    return run_batch(timeout_s, group_max);
  }
  if (i == argc) {
    bad("no steps given", "");
    return usage_error();
  }
  static script sc;
  if (parse_script(&sc, argv + i, argc - i) != 0) {
    free_script(&sc);
    return usage_error();
  }
  jbuf j = {0};
  int rc = run_child(&sc, timeout_s, &j);
  free_script(&sc);
  free(j.p);
  return rc;
}
