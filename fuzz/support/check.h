/* Shared by every fuzz target: how a semantic mismatch is reported, and the
 * hooks each target provides besides LLVMFuzzerTestOneInput. */
#ifndef SOCKCHECK_FUZZ_CHECK_H
#define SOCKCHECK_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Reports a finding ("sockcheck: MISMATCH at file:line: message") on stderr and
 * aborts, so libFuzzer saves the input and replay exits non-zero. */
void sc_fuzz_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#include "sctest/nocov.h" /* SC_NO_COVERAGE, for a target's own checks and bookkeeping */

#define SC_FUZZ_CHECK(cond, ...)                     \
  do {                                               \
    if (!(cond)) {                                   \
      sc_fuzz_fail(__FILE__, __LINE__, __VA_ARGS__); \
    }                                                \
  } while (0)

/* The calibrated kernel facts (sctest/kfacts.h) for a target whose checks follow them:
 * measured here, in LLVMFuzzerInitialize (before descriptors are counted). A fact outside the
 * spec's set is reported on stderr as a FINDING; the rules then check the spec's answer, so
 * every input that meets that behaviour fails too. */
const struct sc_kfacts *sc_fuzz_kfacts(void);

/* Every target defines this: prints the input as the target decodes it, in
 * readable text (used by `./sockcheck decode` and `repro`). Returns 0, or -1 if
 * writing failed. Must accept any byte string, like the target itself. */
int sc_fuzz_decode(const uint8_t *data, size_t size, FILE *out);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
