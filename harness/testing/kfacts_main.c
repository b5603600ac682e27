/* sockcheck-kfacts: measures the kernel facts (sctest/kfacts.h) and prints them, one line
 * or JSON. Exit 0 when every fact is inside the spec's set, 1 when one is not (a finding),
 * 2 on usage. */
#include <stdio.h>
#include <string.h>

#include "sctest/kfacts.h"

int main(int argc, char **argv) {
  if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0)) {
    fprintf(stderr, "usage: sockcheck-kfacts [--json]\n");
    return 2;
  }
  const sc_kfacts *kf = sc_kfacts_get();
  if (argc == 2) {
    sc_kfacts_json(kf, stdout);
  } else {
    sc_kfacts_print(kf, stdout);
  }
  if (fflush(stdout) != 0) {
    perror("sockcheck-kfacts: stdout");
    return 1;
  }
  return sc_kfacts_in_spec(kf) ? 0 : 1;
}
