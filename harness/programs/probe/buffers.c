/* The iovec arrays of a send or receive step: real memory up to ALLOC_CAP bytes in
 * all, NULL bases where asked, and "virtual" iovecs beyond the budget. */
#include <stdlib.h>
#include <string.h>

#include "probe.h"

/* Builds the iovec array of a step: real buffers up to ALLOC_CAP bytes in all,
 * then "virtual" ones pointing at a 1-byte buffer (the kernel rejects their
 * totals before touching them). NULL bases where asked. */
static unsigned char g_tiny[16];

void iov_build(const step *st, iov_set *s, bool fill) {
  size_t n = (size_t)st->niov;
  s->iov = calloc(n + 1, sizeof *s->iov);
  s->copy = calloc(n + 1, sizeof *s->copy);
  if (s->iov == NULL || s->copy == NULL) {
    die_oom();
  }
  s->virt = false;
  s->total_real = 0;
  size_t budget = ALLOC_CAP;
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = st->iov_len[i];
    s->iov[i].iov_len = len;
    if (st->iov_null[i]) {
      s->iov[i].iov_base = NULL;
    } else if (len <= budget) {
      unsigned char *b = malloc(len + 1);
      if (b == NULL) {
        die_oom();
      }
      if (fill) {
        for (size_t k = 0; k < len; k++) {
          size_t pos = off + k;
          b[k] = st->data != NULL && st->data_len > 0
                     ? st->data[pos % st->data_len]
                     : (unsigned char)(((size_t)st->seed + pos) % 251);
        }
      } else {
        memset(b, 0xee, len);
      }
      s->iov[i].iov_base = b;
      budget -= len;
      s->total_real += len;
    } else {
      s->iov[i].iov_base = g_tiny;
      s->virt = true;
    }
    off += len;
  }
  memcpy(s->copy, s->iov, (n + 1) * sizeof *s->iov);
}

/* True when iovec i has real memory behind it (not NULL, not virtual). */
bool iov_is_real(const iov_set *s, int i) {
  return s->copy[i].iov_base != NULL && s->copy[i].iov_base != g_tiny;
}

bool iov_unchanged(const step *st, const iov_set *s) {
  return memcmp(s->copy, s->iov, (size_t)st->niov * sizeof *s->iov) == 0;
}

void iov_free(const step *st, iov_set *s) {
  for (int i = 0; i < st->niov; i++) {
    if (s->copy[i].iov_base != NULL && s->copy[i].iov_base != g_tiny) {
      free(s->copy[i].iov_base);
    }
  }
  free(s->iov);
  free(s->copy);
}
