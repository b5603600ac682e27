#include "sctest/seen.h"

#include <stdlib.h>
#include <string.h>

#include "sctest/nocov.h"

/* Two independent multiply-xorshift hashes of p[0..n), one 8-byte word per step. */
SC_NO_COVERAGE static void fingerprint(const unsigned char *p, size_t n, uint64_t *h1,
                                       uint64_t *h2) {
  uint64_t a = 0x9e3779b97f4a7c15u ^ n;
  uint64_t b = 0xc2b2ae3d27d4eb4fu ^ (n * 0x165667b19e3779f9u);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, sizeof w);
    a = (a ^ w) * 0xff51afd7ed558ccdu;
    a ^= a >> 32;
    b = (b + w) * 0xc4ceb9fe1a85ec53u;
    b ^= b >> 29;
  }
  for (; i < n; i++) {
    a = (a ^ p[i]) * 0x100000001b3u;
    b = (b + p[i] + 1) * 0x9fb21c651e98df25u;
  }
  a ^= a >> 29;
  b ^= b >> 31;
  *h1 = a;
  *h2 = b;
}

SC_NO_COVERAGE bool sc_fuzz_seen_enabled(void) {
  static int enabled = -1;
  if (enabled < 0) {
    const char *v = getenv("SC_FUZZ_SEEN");
    enabled = v != NULL && strcmp(v, "1") == 0;
  }
  return enabled == 1;
}

SC_NO_COVERAGE bool sc_fuzz_seen_before(sc_fuzz_seen *set, const void *p, size_t n) {
  if (!sc_fuzz_seen_enabled()) {
    return false;
  }
  uint64_t h1;
  uint64_t h2;
  fingerprint(p, n, &h1, &h2);
  sc_fuzz_seen_slot *slot = &set->slot[h1 % SC_FUZZ_SEEN_SLOTS];
  if (slot->len == n + 1 && slot->h1 == h1 && slot->h2 == h2) {
    return true;
  }
  slot->h1 = h1;
  slot->h2 = h2;
  slot->len = n + 1;
  return false;
}
