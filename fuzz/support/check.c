#include "support/check.h"

#include <stdarg.h>
#include <stdlib.h>

#include "sctest/kfacts.h"

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

const sc_kfacts *sc_fuzz_kfacts(void) {
  const sc_kfacts *kf = sc_kfacts_get();
  if (!sc_kfacts_in_spec(kf)) {
    fprintf(stderr, "sockcheck: FINDING: a kernel fact is outside the spec: ");
    sc_kfacts_print(kf, stderr);
  }
  return kf;
}
