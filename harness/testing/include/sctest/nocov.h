/* Private to the library: SC_NO_COVERAGE keeps a function out of libFuzzer's coverage
 * and comparison tracing (fuzz builds). Only for mechanical loops and copies whose
 * branches say nothing about behaviour: decisions stay instrumented, they steer the
 * fuzzers. noinline: inlined into an instrumented caller, the body would be instrumented
 * after all. (Fuzz targets have the same macro in fuzz/support/check.h.) */
#ifndef SCTEST_NOCOV_H
#define SCTEST_NOCOV_H

#if defined(__clang__)
#define SC_NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))
#else
#define SC_NO_COVERAGE
#endif

#endif
