/* A fuzz target's memory of what it already checked: a set of byte strings, kept as
 * 128-bit fingerprints in a fixed table. For targets whose expensive checks are a pure
 * function of some bytes (a decoded layout, a built control buffer): each distinct value
 * is checked once per process, repeats are skipped (only with SC_FUZZ_SEEN=1, see below). */
#ifndef SCTEST_SEEN_H
#define SCTEST_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Direct-mapped on the first hash. 65536 slots (1.5 MiB): with 8192, fuzz_cmsg re-sent about
 * a third of its controls after they had been evicted. */
#define SC_FUZZ_SEEN_SLOTS 65536

typedef struct sc_fuzz_seen_slot {
  uint64_t h1;
  uint64_t h2;
  size_t len; /* the remembered length + 1; 0: empty slot */
} sc_fuzz_seen_slot;

/* Zero-initialised (a static) is empty. No allocation ever: memory stays flat for a whole
 * campaign (per-slot heap copies grew fuzz_cmsg's RSS through ASan's quarantine). */
typedef struct sc_fuzz_seen {
  sc_fuzz_seen_slot slot[SC_FUZZ_SEEN_SLOTS];
} sc_fuzz_seen;

/* The set is in use only when the environment has SC_FUZZ_SEEN=1 (read once): campaigns
 * that measured a gain set it (the `sockcheck fuzz` driver). Without it, sc_fuzz_seen_before
 * always answers false, so every input is checked in full and behaves the same whatever came
 * before: replay, repro and the bite test never set it. */
bool sc_fuzz_seen_enabled(void);

/* True if p[0..n) is in the set (same length and both 64-bit hashes: two different strings
 * among the ~10^8 of a campaign share a fingerprint with probability below 2^-70). Otherwise
 * adds it, evicting whatever held its slot, and returns false: a false answer only costs a
 * repeated check, a true one is as good as a byte comparison. */
bool sc_fuzz_seen_before(sc_fuzz_seen *set, const void *p, size_t n);

#endif
