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

/* Keeps a function out of libFuzzer's coverage and comparison tracing: for a target's
 * own checks, copies and bookkeeping, so that only the library's (and the model's)
 * branches steer the fuzzer, and so that mechanical loops stay fast. noinline: inlined
 * into an instrumented caller, the body would be instrumented after all. */
#if defined(__clang__)
#define SC_NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))
#else
#define SC_NO_COVERAGE /* gcc builds only replay_*: no coverage instrumentation */
#endif

#define SC_FUZZ_CHECK(cond, ...)                     \
  do {                                               \
    if (!(cond)) {                                   \
      sc_fuzz_fail(__FILE__, __LINE__, __VA_ARGS__); \
    }                                                \
  } while (0)

struct stat;

/* Counts this process's open descriptors (from /proc/self/fd, not counting the one used to
 * read it) for which mine(fd, its fstat) is true, or all of them when mine is NULL.
 * Returns -1 if /proc/self/fd cannot be read. */
long sc_fuzz_count_fds(bool (*mine)(int fd, const struct stat *st));

/* Every target defines this: prints the input as the target decodes it, in
 * readable text (used by `./sockcheck decode` and `repro`). Returns 0, or -1 if
 * writing failed. Must accept any byte string, like the target itself. */
int sc_fuzz_decode(const uint8_t *data, size_t size, FILE *out);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
