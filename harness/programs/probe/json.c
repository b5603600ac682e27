/* The probe's output: one JSON object per call, one line each, written with one
 * write(2) loop so that no stdio buffer survives a fork or interleaves. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sockcheck/addr.h"
#include "sockcheck/error.h"

#include "probe.h"

long g_script = -1;
static pthread_mutex_t g_out_lock = PTHREAD_MUTEX_INITIALIZER; /* the peer thread writes too */
static _Thread_local const char *g_note;

void jb_note(const char *keys) {
  g_note = keys;
}

__attribute__((noreturn)) void die_oom(void) {
  static const char m[] = "sockcheck-probe: out of memory\n";
  ssize_t w = write(2, m, sizeof m - 1);
  (void)w;
  _exit(3);
}

void jb_put(jbuf *j, const char *s, size_t n) {
  if (j->len + n + 1 > j->cap) {
    size_t cap = j->cap ? j->cap : 1024;
    while (cap < j->len + n + 1) {
      cap *= 2;
    }
    char *np = realloc(j->p, cap);
    if (np == NULL) {
      die_oom();
    }
    j->p = np;
    j->cap = cap;
  }
  memcpy(j->p + j->len, s, n);
  j->len += n;
  j->p[j->len] = '\0';
}

void jb_puts(jbuf *j, const char *s) {
  jb_put(j, s, strlen(s));
}

void jb_key(jbuf *j, const char *key) {
  if (!j->first) {
    jb_put(j, ",", 1);
  }
  j->first = false;
  jb_put(j, "\"", 1);
  jb_puts(j, key);
  jb_put(j, "\":", 2);
}

void jb_strval(jbuf *j, const char *s) {
  jb_put(j, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
    char esc[8];
    if (*c == '"' || *c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*c;
      jb_put(j, esc, 2);
    } else if (*c < 0x20 || *c >= 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04x", *c);
      jb_put(j, esc, 6);
    } else {
      jb_put(j, (const char *)c, 1);
    }
  }
  jb_put(j, "\"", 1);
}

void jb_begin(jbuf *j, int step, const char *call) {
  j->len = 0;
  j->first = true;
  jb_put(j, "{", 1);
  char num[32];
  if (g_script >= 0) {
    jb_key(j, "script");
    snprintf(num, sizeof num, "%ld", g_script);
    jb_puts(j, num);
  }
  jb_key(j, "step");
  snprintf(num, sizeof num, "%d", step);
  jb_puts(j, num);
  jb_key(j, "call");
  jb_strval(j, call);
  if (g_note != NULL) {
    jb_put(j, ",", 1);
    jb_puts(j, g_note);
  }
}

void jb_int(jbuf *j, const char *key, long long v) {
  char num[32];
  snprintf(num, sizeof num, "%lld", v);
  jb_key(j, key);
  jb_puts(j, num);
}

void jb_bool(jbuf *j, const char *key, bool v) {
  jb_key(j, key);
  jb_puts(j, v ? "true" : "false");
}

void jb_str(jbuf *j, const char *key, const char *v) {
  jb_key(j, key);
  jb_strval(j, v);
}

void jb_hex(jbuf *j, const char *key, const unsigned char *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  jb_key(j, key);
  jb_put(j, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    char two[2] = {digits[p[i] >> 4], digits[p[i] & 15]};
    jb_put(j, two, 2);
  }
  jb_put(j, "\"", 1);
}

/* Writes the line with one write(2) loop: no stdio buffers survive a fork. */
void jb_emit(jbuf *j) {
  jb_put(j, "}\n", 2);
  size_t off = 0;
  pthread_mutex_lock(&g_out_lock);
  while (off < j->len) {
    ssize_t w = write(1, j->p + off, j->len - off);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      _exit(3);
    }
    off += (size_t)w;
  }
  pthread_mutex_unlock(&g_out_lock);
}

/* ret/errno/errno_name of a raw call (ret -1 + saved errno). */
void jb_result(jbuf *j, long long ret, int err) {
  jb_int(j, "ret", ret);
  jb_int(j, "errno", ret < 0 ? err : 0);
  jb_str(j, "errno_name", ret < 0 ? sc_err_name(err) : "");
}

void jb_flag_names(jbuf *j, const char *key, long flags) {
  jb_key(j, key);
  jb_put(j, "[", 1);
  bool first = true;
  for (size_t k = 0; k < n_msg_flag_names; k++) {
    if ((flags & msg_flag_names[k].val) != 0) {
      if (!first) {
        jb_put(j, ",", 1);
      }
      first = false;
      jb_strval(j, msg_flag_names[k].name);
    }
  }
  jb_put(j, "]", 1);
}

uint64_t fnv_add(uint64_t h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

void jb_fnv(jbuf *j, const char *key, uint64_t h) {
  char num[24];
  snprintf(num, sizeof num, "%016" PRIx64, h);
  jb_str(j, key, num);
}

void jb_local_name(jbuf *j, const char *key, const struct sockaddr_storage *ss, socklen_t len) {
  sc_addr a;
  char text[SC_ADDR_TEXT_MAX];
  if (sc_addr_from_sockaddr(&a, (const struct sockaddr *)ss, len) == 0 &&
      sc_addr_format(&a, text, sizeof text) >= 0) {
    jb_str(j, key, text);
  } else {
    jb_str(j, key, "?");
  }
}
