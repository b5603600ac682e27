/* The iovec arrays of a send or receive step: real memory up to ALLOC_CAP bytes in
 * all, NULL bases where asked, and "virtual" iovecs beyond the budget. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "probe.h"

/* Address space the process may neither read nor write: "virtual" iovecs (beyond
 * the memory budget) and mem=noaccess iovecs point into it, so the kernel's first
 * access faults (EFAULT) and can never touch the probe's own memory. The kernel
 * copies from an iovec's base forward, so the fault comes at its first byte. */
#define NOACCESS_SIZE ((size_t)1 << 20)
static unsigned char *g_noaccess;

static unsigned char *noaccess_base(void) {
  if (g_noaccess == NULL) {
    void *p =
        mmap(NULL, NOACCESS_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      die_oom();
    }
    g_noaccess = p;
  }
  return g_noaccess;
}

void *noaccess_mem(void) {
  return noaccess_base();
}

long long monotonic_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool is_noaccess(const void *p) {
  return g_noaccess != NULL && (const unsigned char *)p >= g_noaccess &&
         (const unsigned char *)p < g_noaccess + NOACCESS_SIZE;
}

/* Builds the iovec array of a step: real buffers up to ALLOC_CAP bytes in all,
 * then "virtual" ones with their full lengths in PROT_NONE memory (the kernel
 * rejects their totals, or faults on them, without writing anywhere). NULL bases
 * where asked; every base in PROT_NONE memory with mem=noaccess. */

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
    } else if (st->noaccess) {
      s->iov[i].iov_base = noaccess_base();
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
      s->iov[i].iov_base = noaccess_base();
      s->virt = true;
    }
    off += len;
  }
  memcpy(s->copy, s->iov, (n + 1) * sizeof *s->iov);
}

/* True when iovec i has real memory behind it (not NULL, not virtual). */
bool iov_is_real(const iov_set *s, int i) {
  return s->copy[i].iov_base != NULL && !is_noaccess(s->copy[i].iov_base);
}

bool iov_unchanged(const step *st, const iov_set *s) {
  return memcmp(s->copy, s->iov, (size_t)st->niov * sizeof *s->iov) == 0;
}

void iov_free(const step *st, iov_set *s) {
  for (int i = 0; i < st->niov; i++) {
    if (iov_is_real(s, i)) {
      free(s->copy[i].iov_base);
    }
  }
  free(s->iov);
  free(s->copy);
}
