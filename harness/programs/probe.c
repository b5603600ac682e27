/* sockcheck-probe: runs a script of documented socket calls, with the
 * arguments given (deliberately invalid ones included), and prints one JSON
 * line per call. The call under test is always a RAW syscall (syscall(2), so
 * neither libc nor the sanitizers' interceptors touch its arguments); setup,
 * names, address parsing and control-message parsing use libsockcheck.
 *
 * Each script runs in a forked child (fresh descriptors, rlimits and
 * credentials; a bounded run time), so `--batch` can run thousands of
 * scripts, one per stdin line, from one process. See usage() for the grammar.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sockcheck/addr.h"
#include "sockcheck/cmsg.h"
#include "sockcheck/error.h"
#include "sockcheck/pair.h"

#define MAX_STEPS 64
#define MAX_SLOTS 1024
#define MAX_IOV 4096
#define ALLOC_CAP ((size_t)64 << 20) /* bytes of real iovec memory per call */
#define HEXCAP_DEFAULT 64
#define HEXCAP_MAX 65536
#define FILL_MAX_BYTES ((size_t)64 << 20)
#define FILL_MAX_CALLS 1000000
#define CTRL_MAX 65536

static const char usage_text[] =
    "usage: sockcheck-probe [--timeout S] STEP [-- STEP]...\n"
    "       sockcheck-probe [--timeout S] --batch   (one script per stdin line; exit status:\n"
    "         2 if a line is no script, else 1 if a script failed or timed out, else 0)\n"
    "steps (SLOT = descriptor slot number in creation order, or raw:N for fd N):\n"
    "  pair DOMAIN TYPE [PROTO] [nonblock] [cloexec] [sv=null]   raw socketpair(2)\n"
    "  libpair TYPE [nonblock]            sc_pair_open (setup)\n"
    "  socket DOMAIN TYPE [PROTO] [nonblock] [cloexec]\n"
    "  send SLOT [iov=L,NxL,..] [null=I,..] [flags=F|G] [msg=null] [data=HEX] [seed=N]\n"
    "       [to=ADDR|null|slot:N] [tolen=N] [rights=N|bad] [cmsglen=N] [creds=self|PID:UID:GID]\n"
    "  recv SLOT [iov=..] [null=..] [flags=..] [msg=null] [name=SIZE] [control=SIZE|fds:N]\n"
    "       [hexcap=N] [preflags=N]\n"
    "  bind SLOT ADDR|null|family|slot:N [len=N] [family=N]   (ADDR: PORT, A.B.C.D:P, [V6]:P,\n"
    "       unix:PATH, @NAME, @; $T is a per-script temporary directory)\n"
    "  listen SLOT [BACKLOG] | connect SLOT ADDR|slot:N | accept SLOT\n"
    "  close SLOT | shutdown SLOT rd|wr|rdwr | fill SLOT [size=N]\n"
    "  sockopt SLOT sndbuf|rcvbuf|passcred|linger=N\n"
    "  pipe | open PATH | mkfile PATH | mkdir PATH | rlimit nofile N|low | setuid UID\n"
    "  forksend SLOT CLOSE_SLOT [data=HEX] [seed=N] [len=N]\n"
    "flags: MSG_* names or numbers joined by '|'\n";

/* ---------------------------------------------------------------- JSON */

typedef struct jbuf {
  char *p;
  size_t len;
  size_t cap;
  bool first;
} jbuf;

static long g_script = -1; /* batch line number, -1 in single mode */
static volatile sig_atomic_t g_sigpipe;

__attribute__((noreturn)) static void die_oom(void) {
  static const char m[] = "sockcheck-probe: out of memory\n";
  ssize_t w = write(2, m, sizeof m - 1);
  (void)w;
  _exit(3);
}

static void jb_put(jbuf *j, const char *s, size_t n) {
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

static void jb_puts(jbuf *j, const char *s) {
  jb_put(j, s, strlen(s));
}

static void jb_key(jbuf *j, const char *key) {
  if (!j->first) {
    jb_put(j, ",", 1);
  }
  j->first = false;
  jb_put(j, "\"", 1);
  jb_puts(j, key);
  jb_put(j, "\":", 2);
}

static void jb_strval(jbuf *j, const char *s) {
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

static void jb_begin(jbuf *j, int step, const char *call) {
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
}

static void jb_int(jbuf *j, const char *key, long long v) {
  char num[32];
  snprintf(num, sizeof num, "%lld", v);
  jb_key(j, key);
  jb_puts(j, num);
}

static void jb_bool(jbuf *j, const char *key, bool v) {
  jb_key(j, key);
  jb_puts(j, v ? "true" : "false");
}

static void jb_str(jbuf *j, const char *key, const char *v) {
  jb_key(j, key);
  jb_strval(j, v);
}

static void jb_hex(jbuf *j, const char *key, const unsigned char *p, size_t n) {
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
static void jb_emit(jbuf *j) {
  jb_put(j, "}\n", 2);
  size_t off = 0;
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
}

/* ret/errno/errno_name of a raw call (ret -1 + saved errno). */
static void jb_result(jbuf *j, long long ret, int err) {
  jb_int(j, "ret", ret);
  jb_int(j, "errno", ret < 0 ? err : 0);
  jb_str(j, "errno_name", ret < 0 ? sc_err_name(err) : "");
}

/* ------------------------------------------------------------- parsing */

typedef struct name_val {
  const char *name;
  long val;
} name_val;

static const name_val msg_flag_names[] = {
    {"MSG_OOB", MSG_OOB},
    {"MSG_PEEK", MSG_PEEK},
    {"MSG_DONTROUTE", MSG_DONTROUTE},
    {"MSG_CTRUNC", MSG_CTRUNC},
    {"MSG_TRUNC", MSG_TRUNC},
    {"MSG_DONTWAIT", MSG_DONTWAIT},
    {"MSG_EOR", MSG_EOR},
    {"MSG_WAITALL", MSG_WAITALL},
    {"MSG_CONFIRM", MSG_CONFIRM},
    {"MSG_ERRQUEUE", MSG_ERRQUEUE},
    {"MSG_NOSIGNAL", MSG_NOSIGNAL},
    {"MSG_MORE", MSG_MORE},
    {"MSG_CMSG_CLOEXEC", MSG_CMSG_CLOEXEC},
};

static const name_val domain_names[] = {
    {"unix", AF_UNIX},   {"local", AF_UNIX},    {"inet", AF_INET},
    {"inet6", AF_INET6}, {"unspec", AF_UNSPEC},
};

static const name_val type_names[] = {
    {"stream", SOCK_STREAM},
    {"dgram", SOCK_DGRAM},
    {"seqpacket", SOCK_SEQPACKET},
    {"raw", SOCK_RAW},
};

typedef enum op_kind {
  OP_PAIR,
  OP_LIBPAIR,
  OP_SOCKET,
  OP_SEND,
  OP_RECV,
  OP_BIND,
  OP_LISTEN,
  OP_CONNECT,
  OP_ACCEPT,
  OP_CLOSE,
  OP_SHUTDOWN,
  OP_FILL,
  OP_SOCKOPT,
  OP_PIPE,
  OP_OPEN,
  OP_MKFILE,
  OP_MKDIR,
  OP_RLIMIT,
  OP_SETUID,
  OP_FORKSEND,
} op_kind;

typedef struct fdref {
  bool raw;
  long val;
} fdref;

typedef enum addr_kind { AK_NONE = 0, AK_TEXT, AK_NULL, AK_FAMILY, AK_SLOT } addr_kind;

typedef struct addr_spec {
  addr_kind kind;
  const char *text; /* AK_TEXT: may contain $T */
  long slot;        /* AK_SLOT */
  long len;         /* -1: the natural length */
  long family;      /* -1: as parsed */
} addr_spec;

typedef struct step {
  op_kind op;
  const char *verb;
  fdref fd;
  fdref fd2;
  long domain, type, proto;
  bool nonblock, cloexec, sv_null, msg_null;
  int niov;
  size_t *iov_len;
  unsigned char *iov_null;
  long flags;
  addr_spec addr;
  long name_cap;
  long rights; /* 0 none, -1 bad fd */
  long cmsg_len;
  bool creds, creds_self;
  long cred_pid, cred_uid, cred_gid;
  long control;
  long hexcap;
  long preflags;
  unsigned char *data;
  size_t data_len;
  long seed;
  long how;
  int optname;
  long optval;
  bool has_optval;
  const char *path;
  long value;
  bool value_low;
  long size;
} step;

typedef struct script {
  int nsteps;
  step steps[MAX_STEPS];
} script;

static char g_err[256];

static int bad(const char *what, const char *arg) {
  snprintf(g_err, sizeof g_err, "%s: '%s'", what, arg);
  return -1;
}

static bool parse_long(const char *s, long *out) {
  if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) {
    return false;
  }
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 0);
  if (errno != 0 || *end != '\0') {
    return false;
  }
  *out = v;
  return true;
}

/* Decimal only ("NxL" uses the x). */
static bool parse_size(const char *s, size_t *out) {
  if (s == NULL || !isdigit((unsigned char)*s)) {
    return false;
  }
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > SIZE_MAX) {
    return false;
  }
  *out = (size_t)v;
  return true;
}

static bool lookup(const name_val *tab, size_t n, const char *s, long *out) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(tab[i].name, s) == 0) {
      *out = tab[i].val;
      return true;
    }
  }
  return parse_long(s, out);
}

static bool parse_flags(const char *s, long *out) {
  char buf[512];
  if (strlen(s) >= sizeof buf) {
    return false;
  }
  strcpy(buf, s);
  long v = 0;
  char *save = NULL;
  for (char *t = strtok_r(buf, "|", &save); t != NULL; t = strtok_r(NULL, "|", &save)) {
    long f = 0;
    if (!lookup(msg_flag_names, sizeof msg_flag_names / sizeof msg_flag_names[0], t, &f)) {
      return false;
    }
    v |= f;
  }
  *out = v;
  return true;
}

static bool parse_fdref(const char *s, fdref *out) {
  if (strncmp(s, "raw:", 4) == 0) {
    out->raw = true;
    return parse_long(s + 4, &out->val);
  }
  out->raw = false;
  return parse_long(s, &out->val) && out->val >= 0 && out->val < MAX_SLOTS;
}

/* iov=5,0,1025x1: lengths, "NxL" repeats L N times. */
static bool parse_iov(const char *s, step *st) {
  size_t lens_cap = 16;
  size_t *lens = malloc(lens_cap * sizeof *lens);
  if (lens == NULL) {
    die_oom();
  }
  int n = 0;
  char buf[4096];
  bool ok = strlen(s) < sizeof buf;
  if (ok) {
    strcpy(buf, s);
  }
  char *save = NULL;
  for (char *t = ok ? strtok_r(buf, ",", &save) : NULL; ok && t != NULL;
       t = strtok_r(NULL, ",", &save)) {
    size_t count = 1;
    size_t len = 0;
    char *x = strchr(t, 'x');
    if (x != NULL) {
      *x = '\0';
      ok = parse_size(t, &count) && parse_size(x + 1, &len);
    } else {
      ok = parse_size(t, &len);
    }
    if (ok && (count > MAX_IOV || (size_t)n + count > MAX_IOV)) {
      ok = false;
    }
    while (ok && count-- > 0) {
      if ((size_t)n == lens_cap) {
        lens_cap *= 2;
        size_t *nl = realloc(lens, lens_cap * sizeof *lens);
        if (nl == NULL) {
          die_oom();
        }
        lens = nl;
      }
      lens[n++] = len;
    }
  }
  if (!ok) {
    free(lens);
    return false;
  }
  st->niov = n;
  st->iov_len = lens;
  st->iov_null = calloc((size_t)n + 1, 1);
  if (st->iov_null == NULL) {
    die_oom();
  }
  return true;
}

static bool parse_nulls(const char *s, step *st) {
  char buf[1024];
  if (strlen(s) >= sizeof buf) {
    return false;
  }
  strcpy(buf, s);
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
    long i = 0;
    if (!parse_long(t, &i) || i < 0 || i >= st->niov) {
      return false;
    }
    st->iov_null[i] = 1;
  }
  return true;
}

static bool parse_hex(const char *s, step *st) {
  size_t n = strlen(s);
  if (n % 2 != 0) {
    return false;
  }
  st->data = malloc(n / 2 + 1);
  if (st->data == NULL) {
    die_oom();
  }
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v = 0;
    for (int k = 0; k < 2; k++) {
      char c = s[2 * i + (size_t)k];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= (unsigned)(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= (unsigned)(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= (unsigned)(c - 'A' + 10);
      } else {
        return false;
      }
    }
    st->data[i] = (unsigned char)v;
  }
  st->data_len = n / 2;
  return true;
}

/* Replaces every "$T" of in by dir into out. */
static bool subst_tmp(const char *in, const char *dir, char *out, size_t cap) {
  size_t o = 0;
  for (const char *p = in; *p != '\0'; p++) {
    if (p[0] == '$' && p[1] == 'T') {
      size_t dl = strlen(dir);
      if (o + dl >= cap) {
        return false;
      }
      memcpy(out + o, dir, dl);
      o += dl;
      p++;
    } else {
      if (o + 1 >= cap) {
        return false;
      }
      out[o++] = *p;
    }
  }
  out[o] = '\0';
  return true;
}

static bool parse_addr_arg(const char *s, addr_spec *a) {
  if (strcmp(s, "null") == 0) {
    a->kind = AK_NULL;
    return true;
  }
  if (strcmp(s, "family") == 0) {
    a->kind = AK_FAMILY;
    return true;
  }
  if (strncmp(s, "slot:", 5) == 0) {
    a->kind = AK_SLOT;
    return parse_long(s + 5, &a->slot) && a->slot >= 0 && a->slot < MAX_SLOTS;
  }
  char text[PATH_MAX];
  sc_addr probe_addr;
  if (!subst_tmp(s, "/tmp/sockcheck-probe.XXXXXX", text, sizeof text) ||
      sc_addr_parse(text, &probe_addr) != 0) {
    return false;
  }
  a->kind = AK_TEXT;
  a->text = s;
  return true;
}

/* Common key=value options; returns 1 if taken, 0 if not a known key, -1 on a bad value. */
static int parse_kv(step *st, const char *tok) {
  const char *eq = strchr(tok, '=');
  if (eq == NULL) {
    return 0;
  }
  size_t kl = (size_t)(eq - tok);
  const char *v = eq + 1;
#define KEY(k) (kl == strlen(k) && strncmp(tok, k, kl) == 0)
  if (KEY("iov")) {
    /* A repeated key replaces the earlier value; nothing may dangle if it is bad. */
    free(st->iov_len);
    free(st->iov_null);
    st->iov_len = NULL;
    st->iov_null = NULL;
    st->niov = 0;
    return parse_iov(v, st) ? 1 : -1;
  }
  if (KEY("null")) {
    return parse_nulls(v, st) ? 1 : -1;
  }
  if (KEY("flags")) {
    return parse_flags(v, &st->flags) ? 1 : -1;
  }
  if (KEY("msg")) {
    st->msg_null = strcmp(v, "null") == 0;
    return st->msg_null ? 1 : -1;
  }
  if (KEY("sv")) {
    st->sv_null = strcmp(v, "null") == 0;
    return st->sv_null ? 1 : -1;
  }
  if (KEY("data")) {
    free(st->data);
    st->data = NULL;
    st->data_len = 0;
    return parse_hex(v, st) ? 1 : -1;
  }
  if (KEY("seed")) {
    return parse_long(v, &st->seed) ? 1 : -1;
  }
  if (KEY("to")) {
    return parse_addr_arg(v, &st->addr) ? 1 : -1;
  }
  if (KEY("tolen") || KEY("len")) {
    if (st->op == OP_FORKSEND || st->op == OP_FILL) {
      return parse_long(v, &st->size) && st->size >= 0 ? 1 : -1;
    }
    return parse_long(v, &st->addr.len) && st->addr.len >= 0 ? 1 : -1;
  }
  if (KEY("size")) {
    return parse_long(v, &st->size) && st->size > 0 ? 1 : -1;
  }
  if (KEY("family")) {
    return lookup(domain_names, sizeof domain_names / sizeof domain_names[0], v, &st->addr.family)
               ? 1
               : -1;
  }
  if (KEY("rights")) {
    if (strcmp(v, "bad") == 0) {
      st->rights = -1;
      return 1;
    }
    return parse_long(v, &st->rights) && st->rights > 0 && st->rights <= SC_CMSG_MAX_FDS + 10 ? 1
                                                                                              : -1;
  }
  if (KEY("cmsglen")) {
    return parse_long(v, &st->cmsg_len) && st->cmsg_len >= 0 ? 1 : -1;
  }
  if (KEY("creds")) {
    st->creds = true;
    if (strcmp(v, "self") == 0) {
      st->creds_self = true;
      return 1;
    }
    char buf[96];
    if (strlen(v) >= sizeof buf) {
      return -1;
    }
    strcpy(buf, v);
    char *c1 = strchr(buf, ':');
    char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
    if (c2 == NULL) {
      return -1;
    }
    *c1 = '\0';
    *c2 = '\0';
    return parse_long(buf, &st->cred_pid) && parse_long(c1 + 1, &st->cred_uid) &&
                   parse_long(c2 + 1, &st->cred_gid)
               ? 1
               : -1;
  }
  if (KEY("name")) {
    return parse_long(v, &st->name_cap) && st->name_cap >= 0 &&
                   st->name_cap <= (long)sizeof(struct sockaddr_storage)
               ? 1
               : -1;
  }
  if (KEY("control")) {
    if (strncmp(v, "fds:", 4) == 0) {
      long n = 0;
      if (!parse_long(v + 4, &n) || n < 0 || n > SC_CMSG_MAX_FDS + 10) {
        return -1;
      }
      st->control = (long)CMSG_SPACE((size_t)n * sizeof(int));
      return 1;
    }
    return parse_long(v, &st->control) && st->control >= 0 && st->control <= CTRL_MAX ? 1 : -1;
  }
  if (KEY("hexcap")) {
    return parse_long(v, &st->hexcap) && st->hexcap >= 0 && st->hexcap <= HEXCAP_MAX ? 1 : -1;
  }
  if (KEY("preflags")) {
    return parse_long(v, &st->preflags) ? 1 : -1;
  }
#undef KEY
  return 0;
}

static int parse_domain_type(step *st, char **argv, int argc, int *i) {
  if (*i + 1 >= argc) {
    return bad("needs DOMAIN TYPE", st->verb);
  }
  if (!lookup(domain_names, sizeof domain_names / sizeof domain_names[0], argv[*i], &st->domain)) {
    return bad("bad domain", argv[*i]);
  }
  if (!lookup(type_names, sizeof type_names / sizeof type_names[0], argv[*i + 1], &st->type)) {
    return bad("bad type", argv[*i + 1]);
  }
  *i += 2;
  if (*i < argc && (isdigit((unsigned char)argv[*i][0]) || argv[*i][0] == '-')) {
    if (!parse_long(argv[*i], &st->proto)) {
      return bad("bad protocol", argv[*i]);
    }
    (*i)++;
  }
  return 0;
}

static int parse_slot_arg(step *st, char **argv, int argc, int *i, fdref *out) {
  if (*i >= argc || !parse_fdref(argv[*i], out)) {
    return bad("needs a SLOT (N or raw:N)", *i < argc ? argv[*i] : st->verb);
  }
  (*i)++;
  return 0;
}

static const name_val verbs[] = {
    {"pair", OP_PAIR},       {"libpair", OP_LIBPAIR},   {"socket", OP_SOCKET},
    {"send", OP_SEND},       {"recv", OP_RECV},         {"bind", OP_BIND},
    {"listen", OP_LISTEN},   {"connect", OP_CONNECT},   {"accept", OP_ACCEPT},
    {"close", OP_CLOSE},     {"shutdown", OP_SHUTDOWN}, {"fill", OP_FILL},
    {"sockopt", OP_SOCKOPT}, {"pipe", OP_PIPE},         {"open", OP_OPEN},
    {"mkfile", OP_MKFILE},   {"mkdir", OP_MKDIR},       {"rlimit", OP_RLIMIT},
    {"setuid", OP_SETUID},   {"forksend", OP_FORKSEND},
};

/* Parses one step argv[0..argc) into *st. Returns 0 or -1 (g_err says why). */
static int parse_step(step *st, char **argv, int argc) {
  memset(st, 0, sizeof *st);
  st->name_cap = -1;
  st->control = -1;
  st->cmsg_len = -1;
  st->hexcap = HEXCAP_DEFAULT;
  st->preflags = MSG_TRUNC | MSG_CTRUNC | MSG_OOB | MSG_ERRQUEUE | MSG_EOR;
  st->addr.len = -1;
  st->addr.family = -1;
  st->size = -1;
  if (argc == 0) {
    return bad("empty step", "--");
  }
  st->verb = argv[0];
  bool found = false;
  for (size_t k = 0; k < sizeof verbs / sizeof verbs[0]; k++) {
    if (strcmp(verbs[k].name, argv[0]) == 0) {
      st->op = (op_kind)verbs[k].val;
      found = true;
    }
  }
  if (!found) {
    return bad("unknown step", argv[0]);
  }
  int i = 1;
  switch (st->op) {
    case OP_PAIR:
    case OP_SOCKET:
      if (parse_domain_type(st, argv, argc, &i) != 0) {
        return -1;
      }
      break;
    case OP_LIBPAIR:
      if (i >= argc ||
          !lookup(type_names, sizeof type_names / sizeof type_names[0], argv[i], &st->type)) {
        return bad("libpair needs a TYPE", i < argc ? argv[i] : "");
      }
      i++;
      break;
    case OP_SEND:
    case OP_RECV:
    case OP_LISTEN:
    case OP_ACCEPT:
    case OP_CLOSE:
    case OP_FILL:
      if (parse_slot_arg(st, argv, argc, &i, &st->fd) != 0) {
        return -1;
      }
      if (st->op == OP_LISTEN) {
        st->value = 16;
        if (i < argc && !parse_long(argv[i++], &st->value)) {
          return bad("bad backlog", argv[i - 1]);
        }
      }
      break;
    case OP_BIND:
    case OP_CONNECT:
      if (parse_slot_arg(st, argv, argc, &i, &st->fd) != 0) {
        return -1;
      }
      if (i >= argc || !parse_addr_arg(argv[i], &st->addr)) {
        return bad("bad address", i < argc ? argv[i] : "(none)");
      }
      i++;
      break;
    case OP_SHUTDOWN:
      if (parse_slot_arg(st, argv, argc, &i, &st->fd) != 0) {
        return -1;
      }
      if (i >= argc) {
        return bad("shutdown needs rd|wr|rdwr", "");
      }
      if (strcmp(argv[i], "rd") == 0) {
        st->how = SHUT_RD;
      } else if (strcmp(argv[i], "wr") == 0) {
        st->how = SHUT_WR;
      } else if (strcmp(argv[i], "rdwr") == 0) {
        st->how = SHUT_RDWR;
      } else if (!parse_long(argv[i], &st->how)) {
        return bad("bad shutdown mode", argv[i]);
      }
      i++;
      break;
    case OP_SOCKOPT: {
      if (parse_slot_arg(st, argv, argc, &i, &st->fd) != 0) {
        return -1;
      }
      if (i >= argc) {
        return bad("sockopt needs NAME[=VALUE]", "");
      }
      char name[32];
      const char *eq = strchr(argv[i], '=');
      size_t nl = eq != NULL ? (size_t)(eq - argv[i]) : strlen(argv[i]);
      if (nl >= sizeof name) {
        return bad("bad socket option", argv[i]);
      }
      memcpy(name, argv[i], nl);
      name[nl] = '\0';
      if (strcmp(name, "sndbuf") == 0) {
        st->optname = SO_SNDBUF;
      } else if (strcmp(name, "rcvbuf") == 0) {
        st->optname = SO_RCVBUF;
      } else if (strcmp(name, "passcred") == 0) {
        st->optname = SO_PASSCRED;
      } else if (strcmp(name, "linger") == 0) {
        st->optname = SO_LINGER;
      } else {
        return bad("unknown socket option", argv[i]);
      }
      if (eq != NULL) {
        st->has_optval = true;
        if (!parse_long(eq + 1, &st->optval)) {
          return bad("bad option value", argv[i]);
        }
      }
      i++;
      break;
    }
    case OP_OPEN:
    case OP_MKFILE:
    case OP_MKDIR:
      if (i >= argc) {
        return bad("needs a PATH", st->verb);
      }
      st->path = argv[i++];
      break;
    case OP_RLIMIT:
      if (i + 1 >= argc || strcmp(argv[i], "nofile") != 0) {
        return bad("rlimit needs 'nofile N|low'", i < argc ? argv[i] : "");
      }
      if (strcmp(argv[i + 1], "low") == 0) {
        st->value_low = true;
      } else if (!parse_long(argv[i + 1], &st->value) || st->value < 0) {
        return bad("bad limit", argv[i + 1]);
      }
      i += 2;
      break;
    case OP_SETUID:
      if (i >= argc || !parse_long(argv[i], &st->value) || st->value < 0) {
        return bad("setuid needs a UID", i < argc ? argv[i] : "");
      }
      i++;
      break;
    case OP_FORKSEND:
      if (parse_slot_arg(st, argv, argc, &i, &st->fd) != 0 ||
          parse_slot_arg(st, argv, argc, &i, &st->fd2) != 0) {
        return -1;
      }
      break;
    case OP_PIPE:
      break;
    default:
      return bad("unhandled step", argv[0]);
  }
  for (; i < argc; i++) {
    if ((st->op == OP_PAIR || st->op == OP_SOCKET || st->op == OP_LIBPAIR) &&
        strcmp(argv[i], "nonblock") == 0) {
      st->nonblock = true;
      continue;
    }
    if ((st->op == OP_PAIR || st->op == OP_SOCKET) && strcmp(argv[i], "cloexec") == 0) {
      st->cloexec = true;
      continue;
    }
    if ((st->op == OP_PAIR || st->op == OP_SOCKET) && strchr(argv[i], '=') == NULL) {
      if (!parse_long(argv[i], &st->proto)) {
        return bad("bad protocol", argv[i]);
      }
      continue;
    }
    int r = parse_kv(st, argv[i]);
    if (r == 0) {
      return bad("unknown argument", argv[i]);
    }
    if (r < 0) {
      return bad("bad value", argv[i]);
    }
  }
  return 0;
}

static void free_script(script *sc) {
  for (int k = 0; k < sc->nsteps; k++) {
    free(sc->steps[k].iov_len);
    free(sc->steps[k].iov_null);
    free(sc->steps[k].data);
  }
  sc->nsteps = 0;
}

/* Splits argv at "--" into steps. Returns 0 or -1 (g_err says why). */
static int parse_script(script *sc, char **argv, int argc) {
  sc->nsteps = 0;
  int start = 0;
  for (int i = 0; i <= argc; i++) {
    if (i < argc && strcmp(argv[i], "--") != 0) {
      continue;
    }
    if (sc->nsteps == MAX_STEPS) {
      return bad("too many steps", "--");
    }
    int r = parse_step(&sc->steps[sc->nsteps], argv + start, i - start);
    sc->nsteps++;
    if (r != 0) {
      return -1;
    }
    start = i + 1;
  }
  return 0;
}

/* ------------------------------------------------------------ running */

typedef struct run {
  int fd[MAX_SLOTS];
  int nslots;
  char tmpdir[64];
  size_t nsent;
  dev_t sent_dev[SC_CMSG_MAX_FDS + 16];
  ino_t sent_ino[SC_CMSG_MAX_FDS + 16];
} run;

static int add_slot(run *r, int fd) {
  if (r->nslots >= MAX_SLOTS) {
    close(fd);
    return -1;
  }
  r->fd[r->nslots] = fd;
  return r->nslots++;
}

/* Resolves a slot reference; a closed slot keeps its old number (EBADF tests). */
static bool resolve(const run *r, fdref ref, int *fd) {
  if (ref.raw) {
    *fd = (int)ref.val;
    return true;
  }
  if (ref.val >= r->nslots) {
    return false;
  }
  *fd = r->fd[ref.val];
  return true;
}

static void fd_flags(int fd, bool *nonblock, bool *cloexec) {
  int fl = fcntl(fd, F_GETFL);
  int fdfl = fcntl(fd, F_GETFD);
  *nonblock = fl >= 0 && (fl & O_NONBLOCK) != 0;
  *cloexec = fdfl >= 0 && (fdfl & FD_CLOEXEC) != 0;
}

static void jb_flag_names(jbuf *j, const char *key, long flags) {
  jb_key(j, key);
  jb_put(j, "[", 1);
  bool first = true;
  for (size_t k = 0; k < sizeof msg_flag_names / sizeof msg_flag_names[0]; k++) {
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

static uint64_t fnv_add(uint64_t h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

static void jb_fnv(jbuf *j, const char *key, uint64_t h) {
  char num[24];
  snprintf(num, sizeof num, "%016" PRIx64, h);
  jb_str(j, key, num);
}

/* Builds the iovec array of a step: real buffers up to ALLOC_CAP bytes in all,
 * then "virtual" ones pointing at a 1-byte buffer (the kernel rejects their
 * totals before touching them). NULL bases where asked. */
typedef struct iov_set {
  struct iovec *iov;
  struct iovec *copy;
  bool virt;
  size_t total_real;
} iov_set;

static unsigned char g_tiny[16];

static void iov_build(const step *st, iov_set *s, bool fill) {
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

static bool iov_unchanged(const step *st, const iov_set *s) {
  return memcmp(s->copy, s->iov, (size_t)st->niov * sizeof *s->iov) == 0;
}

static void iov_free(const step *st, iov_set *s) {
  for (int i = 0; i < st->niov; i++) {
    if (s->copy[i].iov_base != NULL && s->copy[i].iov_base != g_tiny) {
      free(s->copy[i].iov_base);
    }
  }
  free(s->iov);
  free(s->copy);
}

static void jb_local_name(jbuf *j, const char *key, const struct sockaddr_storage *ss,
                          socklen_t len) {
  sc_addr a;
  char text[SC_ADDR_TEXT_MAX];
  if (sc_addr_from_sockaddr(&a, (const struct sockaddr *)ss, len) == 0 &&
      sc_addr_format(&a, text, sizeof text) >= 0) {
    jb_str(j, key, text);
  } else {
    jb_str(j, key, "?");
  }
}

/* Fills ss and len from an addr_spec. Returns 0 or -1 (message in g_err). */
static int build_addr(const run *r, const addr_spec *spec, int fd_family,
                      struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  *len = 0;
  switch (spec->kind) {
    case AK_TEXT: {
      char text[PATH_MAX];
      sc_addr a;
      if (!subst_tmp(spec->text, r->tmpdir, text, sizeof text) || sc_addr_parse(text, &a) != 0) {
        return bad("address does not parse", spec->text);
      }
      memcpy(ss, &a.ss, sizeof *ss);
      *len = a.len;
      break;
    }
    case AK_FAMILY:
      ss->ss_family = (sa_family_t)fd_family;
      *len = sizeof(sa_family_t);
      break;
    case AK_SLOT: {
      fdref ref = {false, spec->slot};
      int other = -1;
      socklen_t l = sizeof *ss;
      if (!resolve(r, ref, &other) || getsockname(other, (struct sockaddr *)ss, &l) != 0) {
        return bad("cannot read the address of slot", "slot");
      }
      *len = l;
      break;
    }
    case AK_NULL:
    case AK_NONE:
    default:
      break;
  }
  if (spec->family >= 0) {
    ss->ss_family = (sa_family_t)spec->family;
  }
  if (spec->len >= 0) {
    *len = (socklen_t)spec->len;
  }
  return 0;
}

static int sock_family(int fd) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &l) != 0) {
    return AF_UNSPEC;
  }
  return ss.ss_family;
}

static void record_sent(run *r, const int *fds, size_t n) {
  r->nsent = 0;
  for (size_t i = 0; i < n && i < sizeof r->sent_dev / sizeof r->sent_dev[0]; i++) {
    struct stat sb;
    if (fstat(fds[i], &sb) == 0) {
      r->sent_dev[r->nsent] = sb.st_dev;
      r->sent_ino[r->nsent] = sb.st_ino;
      r->nsent++;
    }
  }
}

/* A step that cannot run as written (a slot that does not exist...): report it
 * and end the script with exit status 2, like bad usage. */
__attribute__((noreturn)) static void script_error(jbuf *j, int stepno, const char *verb,
                                                   const char *why) {
  jb_begin(j, stepno, verb);
  jb_str(j, "error", why);
  jb_emit(j);
  _exit(2);
}

static void do_pair(run *r, const step *st, jbuf *j, int stepno) {
  int sv[2] = {-1, -1};
  long type = st->type | (st->nonblock ? SOCK_NONBLOCK : 0) | (st->cloexec ? SOCK_CLOEXEC : 0);
  long ret = syscall(SYS_socketpair, st->domain, type, st->proto, st->sv_null ? NULL : sv);
  int err = errno;
  jb_begin(j, stepno, "socketpair");
  jb_result(j, ret, err);
  if (ret == 0 && !st->sv_null) {
    int s0 = add_slot(r, sv[0]);
    int s1 = add_slot(r, sv[1]);
    bool nb0, ce0, nb1, ce1;
    fd_flags(sv[0], &nb0, &ce0);
    fd_flags(sv[1], &nb1, &ce1);
    jb_key(j, "fds");
    char txt[64];
    snprintf(txt, sizeof txt, "[%d,%d]", s0, s1);
    jb_puts(j, txt);
    jb_key(j, "nonblock");
    snprintf(txt, sizeof txt, "[%s,%s]", nb0 ? "true" : "false", nb1 ? "true" : "false");
    jb_puts(j, txt);
    jb_key(j, "cloexec");
    snprintf(txt, sizeof txt, "[%s,%s]", ce0 ? "true" : "false", ce1 ? "true" : "false");
    jb_puts(j, txt);
  }
  jb_emit(j);
}

static void do_libpair(run *r, const step *st, jbuf *j, int stepno) {
  int sv[2] = {-1, -1};
  int ret = sc_pair_open((int)st->type, st->nonblock ? SC_PAIR_NONBLOCK : 0, sv);
  jb_begin(j, stepno, "sc_pair_open");
  jb_result(j, ret < 0 ? -1 : ret, -ret);
  if (ret == 0) {
    int s0 = add_slot(r, sv[0]);
    int s1 = add_slot(r, sv[1]);
    char txt[32];
    snprintf(txt, sizeof txt, "[%d,%d]", s0, s1);
    jb_key(j, "fds");
    jb_puts(j, txt);
  }
  jb_emit(j);
}

static void do_socket(run *r, const step *st, jbuf *j, int stepno) {
  long type = st->type | (st->nonblock ? SOCK_NONBLOCK : 0) | (st->cloexec ? SOCK_CLOEXEC : 0);
  long ret = syscall(SYS_socket, st->domain, type, st->proto);
  int err = errno;
  jb_begin(j, stepno, "socket");
  jb_result(j, ret, err);
  if (ret >= 0) {
    jb_int(j, "slot", add_slot(r, (int)ret));
  }
  jb_emit(j);
}

/* Builds the control buffer of a send step. Returns its length (0: none). */
static size_t build_send_control(run *r, const step *st, unsigned char *ctl, size_t cap,
                                 int *tmpfds, size_t *ntmp) {
  size_t used = 0;
  *ntmp = 0;
  if (st->rights != 0) {
    int fds[SC_CMSG_MAX_FDS + 16];
    size_t n = 0;
    if (st->rights < 0) {
      fds[0] = -1;
      n = 1;
    } else {
      while (n < (size_t)st->rights) {
        int sv[2] = {-1, -1};
        if (sc_pair_open(SOCK_DGRAM, 0, sv) != 0) {
          break;
        }
        fds[n++] = sv[0];
        tmpfds[(*ntmp)++] = sv[0];
        if (n < (size_t)st->rights) {
          fds[n++] = sv[1];
          tmpfds[(*ntmp)++] = sv[1];
        } else {
          close(sv[1]);
        }
      }
      record_sent(r, fds, n);
    }
    /* Built by hand (not sc_cmsg_add_rights) so counts beyond SCM_MAX_FD reach the kernel. */
    size_t need = CMSG_SPACE(n * sizeof(int));
    if (need <= cap) {
      struct cmsghdr *c = (struct cmsghdr *)(void *)ctl;
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(n * sizeof(int));
      memcpy(CMSG_DATA(c), fds, n * sizeof(int));
      used = need;
    }
  }
  if (st->creds) {
    struct ucred cr;
    if (st->creds_self) {
      cr.pid = getpid();
      cr.uid = getuid();
      cr.gid = getgid();
    } else {
      cr.pid = (pid_t)st->cred_pid;
      cr.uid = (uid_t)st->cred_uid;
      cr.gid = (gid_t)st->cred_gid;
    }
    if (sc_cmsg_add_creds(ctl, cap, &used, &cr) != 0) {
      return used;
    }
  }
  if (st->cmsg_len >= 0 && used >= sizeof(struct cmsghdr)) {
    ((struct cmsghdr *)(void *)ctl)->cmsg_len = (size_t)st->cmsg_len;
  }
  return used;
}

static void on_sigpipe(int sig) {
  (void)sig;
  g_sigpipe++;
}

static void do_send(run *r, const step *st, jbuf *j, int stepno) {
  int fd = -1;
  if (!resolve(r, st->fd, &fd)) {
    script_error(j, stepno, "sendmsg", "no such slot");
    return;
  }
  iov_set s;
  iov_build(st, &s, true);
  struct sockaddr_storage ss;
  socklen_t sl = 0;
  struct msghdr m;
  memset(&m, 0, sizeof m);
  if (st->addr.kind != AK_NONE) {
    if (build_addr(r, &st->addr, sock_family(fd), &ss, &sl) != 0) {
      iov_free(st, &s);
      script_error(j, stepno, "sendmsg", g_err);
      return;
    }
    m.msg_name = st->addr.kind == AK_NULL ? NULL : &ss;
    m.msg_namelen = sl;
  }
  m.msg_iov = s.iov;
  m.msg_iovlen = (size_t)st->niov;
  static unsigned char ctl[CMSG_SPACE((SC_CMSG_MAX_FDS + 16) * sizeof(int)) + 256];
  int tmpfds[SC_CMSG_MAX_FDS + 16];
  size_t ntmp = 0;
  size_t cl = build_send_control(r, st, ctl, sizeof ctl, tmpfds, &ntmp);
  if (cl > 0) {
    m.msg_control = ctl;
    m.msg_controllen = cl;
  }
  uint64_t h = FNV_INIT;
  for (int i = 0; i < st->niov; i++) {
    if (s.iov[i].iov_base != NULL && s.iov[i].iov_base != g_tiny) {
      h = fnv_add(h, s.iov[i].iov_base, s.iov[i].iov_len);
    }
  }
  g_sigpipe = 0;
  long ret = syscall(SYS_sendmsg, fd, st->msg_null ? NULL : &m, st->flags);
  int err = errno;
  int pipes = (int)g_sigpipe;
  for (size_t k = 0; k < ntmp; k++) {
    close(tmpfds[k]);
  }
  jb_begin(j, stepno, "sendmsg");
  jb_result(j, ret, err);
  jb_int(j, "bytes", ret > 0 ? ret : 0);
  jb_int(j, "iovlen", st->niov);
  jb_int(j, "total", (long long)s.total_real);
  jb_fnv(j, "fnv", h);
  jb_bool(j, "iov_unchanged", iov_unchanged(st, &s));
  jb_int(j, "sigpipe", pipes);
  jb_int(j, "controllen", (long long)cl);
  if (st->rights > 0) {
    jb_int(j, "sent_fds", (long long)r->nsent);
  }
  jb_emit(j);
  iov_free(st, &s);
}

static void do_recv(run *r, const step *st, jbuf *j, int stepno) {
  int fd = -1;
  if (!resolve(r, st->fd, &fd)) {
    script_error(j, stepno, "recvmsg", "no such slot");
    return;
  }
  iov_set s;
  iov_build(st, &s, false);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  static unsigned char ctl[CTRL_MAX];
  memset(ctl, 0, sizeof ctl);
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = s.iov;
  m.msg_iovlen = (size_t)st->niov;
  if (st->name_cap >= 0) {
    m.msg_name = &ss;
    m.msg_namelen = (socklen_t)st->name_cap;
  }
  if (st->control >= 0) {
    m.msg_control = st->control > 0 ? ctl : NULL;
    m.msg_controllen = (size_t)st->control;
  }
  m.msg_flags = (int)st->preflags;
  long ret = syscall(SYS_recvmsg, fd, st->msg_null ? NULL : &m, st->flags);
  int err = errno;
  jb_begin(j, stepno, "recvmsg");
  jb_result(j, ret, err);
  jb_int(j, "bytes", ret > 0 ? ret : 0);
  jb_int(j, "msg_flags", m.msg_flags);
  jb_flag_names(j, "msg_flags_names", m.msg_flags);
  jb_bool(j, "iov_unchanged", iov_unchanged(st, &s));
  if (ret >= 0) {
    /* The received bytes, in iovec order (with MSG_TRUNC ret may exceed the room). */
    size_t want = (size_t)ret;
    size_t cap = (size_t)st->hexcap;
    unsigned char *hex = malloc(cap + 1);
    if (hex == NULL) {
      die_oom();
    }
    size_t got = 0;
    size_t shown = 0;
    uint64_t h = FNV_INIT;
    for (int i = 0; i < st->niov && got < want; i++) {
      if (s.iov[i].iov_base == NULL || s.iov[i].iov_base == g_tiny) {
        continue;
      }
      size_t n = s.iov[i].iov_len < want - got ? s.iov[i].iov_len : want - got;
      const unsigned char *b = s.iov[i].iov_base;
      h = fnv_add(h, b, n);
      for (size_t k = 0; k < n && shown < cap; k++) {
        hex[shown++] = b[k];
      }
      got += n;
    }
    jb_int(j, "len", (long long)got);
    jb_hex(j, "data", hex, shown);
    jb_fnv(j, "fnv", h);
    free(hex);
    if (st->name_cap >= 0) {
      jb_int(j, "namelen", m.msg_namelen);
      jb_local_name(j, "name", &ss, m.msg_namelen);
    }
  }
  if (st->control >= 0) {
    jb_int(j, "controllen", (long long)m.msg_controllen);
  }
  if (ret >= 0 && st->control > 0) {
    sc_cmsg_iter it;
    sc_cmsg_item item;
    sc_cmsg_iter_init(&it, ctl, m.msg_controllen);
    jb_key(j, "cmsgs");
    jb_put(j, "[", 1);
    int nfd_total = 0;
    int nmatch = 0;
    int ncloexec = 0;
    bool first = true;
    char txt[128];
    int rc;
    int fdslots[SC_CMSG_MAX_FDS + 16];
    int nslots = 0;
    struct ucred cr;
    bool have_creds = false;
    while ((rc = sc_cmsg_next(&it, &item)) == 1) {
      snprintf(txt, sizeof txt, "%s{\"level\":%d,\"type\":%d,\"len\":%zu}", first ? "" : ",",
               item.level, item.type, item.len);
      jb_puts(j, txt);
      first = false;
      int fds[SC_CMSG_MAX_FDS + 16];
      int n = sc_cmsg_rights(&item, fds, sizeof fds / sizeof fds[0]);
      for (int k = 0; k < n; k++) {
        struct stat sb;
        size_t idx = (size_t)nfd_total;
        if (idx < r->nsent && fstat(fds[k], &sb) == 0 && sb.st_dev == r->sent_dev[idx] &&
            sb.st_ino == r->sent_ino[idx]) {
          nmatch++;
        }
        int fl = fcntl(fds[k], F_GETFD);
        if (fl >= 0 && (fl & FD_CLOEXEC) != 0) {
          ncloexec++;
        }
        nfd_total++;
        int slot = add_slot(r, fds[k]);
        if (slot >= 0 && nslots < (int)(sizeof fdslots / sizeof fdslots[0])) {
          fdslots[nslots++] = slot;
        }
      }
      if (sc_cmsg_creds(&item, &cr) == 0) {
        have_creds = true;
      }
    }
    jb_put(j, "]", 1);
    jb_bool(j, "cmsg_malformed", rc < 0);
    jb_int(j, "fds", nfd_total);
    jb_bool(j, "fd_match", nfd_total > 0 && (size_t)nmatch == r->nsent && nmatch == nfd_total);
    jb_int(j, "fd_matching", nmatch);
    jb_int(j, "cloexec", ncloexec);
    jb_key(j, "fd_slots");
    jb_put(j, "[", 1);
    for (int k = 0; k < nslots; k++) {
      snprintf(txt, sizeof txt, "%s%d", k ? "," : "", fdslots[k]);
      jb_puts(j, txt);
    }
    jb_put(j, "]", 1);
    if (have_creds) {
      jb_int(j, "cred_pid", cr.pid);
      jb_int(j, "cred_uid", cr.uid);
      jb_int(j, "cred_gid", cr.gid);
    }
  }
  jb_emit(j);
  iov_free(st, &s);
}

/* True when the address is an autobound abstract name: NUL + 5 hex digits. */
static bool is_autobind(const struct sockaddr_storage *ss, socklen_t len) {
  const struct sockaddr_un *un = (const struct sockaddr_un *)(const void *)ss;
  if (ss->ss_family != AF_UNIX || len != offsetof(struct sockaddr_un, sun_path) + 6 ||
      un->sun_path[0] != '\0') {
    return false;
  }
  for (int k = 1; k <= 5; k++) {
    if (!isxdigit((unsigned char)un->sun_path[k])) {
      return false;
    }
  }
  return true;
}

static const char *node_type(const char *path) {
  struct stat sb;
  if (lstat(path, &sb) != 0) {
    return "none";
  }
  if (S_ISSOCK(sb.st_mode)) {
    return "sock";
  }
  if (S_ISDIR(sb.st_mode)) {
    return "dir";
  }
  return S_ISREG(sb.st_mode) ? "file" : "other";
}

static void do_bind_connect(run *r, const step *st, jbuf *j, int stepno, bool is_bind) {
  const char *call = is_bind ? "bind" : "connect";
  int fd = -1;
  if (!resolve(r, st->fd, &fd)) {
    script_error(j, stepno, call, "no such slot");
    return;
  }
  struct sockaddr_storage ss;
  socklen_t sl = 0;
  int fam = sock_family(fd);
  if (build_addr(r, &st->addr, fam, &ss, &sl) != 0) {
    script_error(j, stepno, call, g_err);
    return;
  }
  const struct sockaddr *sa = st->addr.kind == AK_NULL ? NULL : (const struct sockaddr *)&ss;
  if (st->addr.kind == AK_NULL && st->addr.len < 0) {
    sl = sizeof(struct sockaddr_in);
  }
  long ret = syscall(is_bind ? SYS_bind : SYS_connect, fd, sa, sl);
  int err = errno;
  jb_begin(j, stepno, call);
  jb_result(j, ret, err);
  jb_int(j, "addrlen", sl);
  struct sockaddr_storage local;
  socklen_t ll = sizeof local;
  memset(&local, 0, sizeof local);
  if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0) {
    jb_local_name(j, "local", &local, ll);
    jb_int(j, "local_len", ll);
    jb_bool(j, "autobind", is_autobind(&local, ll));
    if (local.ss_family == AF_INET || local.ss_family == AF_INET6) {
      sc_addr a;
      if (sc_addr_from_sockaddr(&a, (const struct sockaddr *)&local, ll) == 0) {
        jb_int(j, "port", sc_addr_port(&a));
      }
    }
  }
  if (st->addr.kind == AK_TEXT && ss.ss_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)(const void *)&ss;
    if (un->sun_path[0] != '\0') {
      char path[sizeof un->sun_path + 1];
      memcpy(path, un->sun_path, sizeof un->sun_path);
      path[sizeof un->sun_path] = '\0';
      jb_str(j, "node", node_type(path));
    }
  }
  jb_emit(j);
}

static void do_simple(run *r, const step *st, jbuf *j, int stepno) {
  int fd = -1;
  long ret = 0;
  int err = 0;
  const char *call = st->verb;
  if (st->op != OP_PIPE && st->op != OP_OPEN && st->op != OP_MKFILE && st->op != OP_MKDIR &&
      st->op != OP_RLIMIT && st->op != OP_SETUID && !resolve(r, st->fd, &fd)) {
    script_error(j, stepno, call, "no such slot");
    return;
  }
  char path[PATH_MAX];
  if (st->path != NULL && !subst_tmp(st->path, r->tmpdir, path, sizeof path)) {
    script_error(j, stepno, call, "path too long");
    return;
  }
  jbuf extra = {0};
  extra.first = false;
  switch (st->op) {
    case OP_CLOSE:
      ret = syscall(SYS_close, fd);
      err = errno;
      break;
    case OP_SHUTDOWN:
      ret = syscall(SYS_shutdown, fd, st->how);
      err = errno;
      break;
    case OP_LISTEN:
      ret = syscall(SYS_listen, fd, st->value);
      err = errno;
      break;
    case OP_ACCEPT:
      ret = syscall(SYS_accept4, fd, NULL, NULL, SOCK_CLOEXEC);
      err = errno;
      if (ret >= 0) {
        jb_int(&extra, "slot", add_slot(r, (int)ret));
      }
      break;
    case OP_PIPE: {
      int p[2];
      ret = pipe2(p, O_CLOEXEC);
      err = errno;
      if (ret == 0) {
        int a = add_slot(r, p[0]);
        int b = add_slot(r, p[1]);
        char txt[32];
        snprintf(txt, sizeof txt, "[%d,%d]", a, b);
        jb_key(&extra, "fds");
        jb_puts(&extra, txt);
      }
      break;
    }
    case OP_OPEN:
      ret = open(path, O_RDWR | O_CLOEXEC);
      err = errno;
      if (ret >= 0) {
        jb_int(&extra, "slot", add_slot(r, (int)ret));
      }
      break;
    case OP_MKFILE:
      ret = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      err = errno;
      if (ret >= 0) {
        close((int)ret);
        ret = 0;
      }
      break;
    case OP_MKDIR:
      ret = mkdir(path, 0700);
      err = errno;
      break;
    case OP_RLIMIT: {
      struct rlimit rl;
      long lim = st->value;
      if (st->value_low) {
        /* The lowest free descriptor number: any new descriptor then exceeds the limit. */
        int probe_fd = dup(0);
        lim = probe_fd >= 0 ? probe_fd : 0;
        if (probe_fd >= 0) {
          close(probe_fd);
        }
      }
      ret = getrlimit(RLIMIT_NOFILE, &rl);
      if (ret == 0) {
        rl.rlim_cur = (rlim_t)lim;
        ret = setrlimit(RLIMIT_NOFILE, &rl);
      }
      err = errno;
      jb_int(&extra, "limit", lim);
      break;
    }
    case OP_SETUID: {
      gid_t g = (gid_t)st->value;
      ret = setgroups(1, &g);
      if (ret == 0) {
        ret = setgid(g);
      }
      if (ret == 0) {
        ret = setuid((uid_t)st->value);
      }
      err = errno;
      jb_int(&extra, "uid", (long long)getuid());
      jb_int(&extra, "euid", (long long)geteuid());
      break;
    }
    case OP_SOCKOPT: {
      ret = 0;
      if (st->has_optval) {
        if (st->optname == SO_LINGER) {
          struct linger lg = {1, (int)st->optval};
          ret = syscall(SYS_setsockopt, fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        } else {
          int v = (int)st->optval;
          ret = syscall(SYS_setsockopt, fd, SOL_SOCKET, st->optname, &v, sizeof v);
        }
        err = errno;
      }
      int v = 0;
      socklen_t vl = sizeof v;
      if (st->optname != SO_LINGER && getsockopt(fd, SOL_SOCKET, st->optname, &v, &vl) == 0) {
        jb_int(&extra, "value", v);
      }
      if (!st->has_optval) {
        ret = 0;
      }
      break;
    }
    case OP_FILL: {
      int type = 0;
      socklen_t tl = sizeof type;
      if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0) {
        type = SOCK_STREAM;
      }
      size_t chunk = st->size > 0 ? (size_t)st->size : (type == SOCK_STREAM ? 65536 : 1);
      unsigned char *buf = calloc(chunk, 1);
      if (buf == NULL) {
        die_oom();
      }
      size_t total = 0;
      long calls = 0;
      ret = 0;
      while (total < FILL_MAX_BYTES && calls < FILL_MAX_CALLS) {
        ssize_t w = send(fd, buf, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
        calls++;
        if (w < 0 && errno == EINTR) {
          continue;
        }
        if (w < 0) {
          ret = -1;
          err = errno;
          break;
        }
        total += (size_t)w;
      }
      free(buf);
      jb_int(&extra, "bytes", (long long)total);
      jb_int(&extra, "count", calls);
      break;
    }
    default:
      ret = -1;
      err = EINVAL;
      break;
  }
  jb_begin(j, stepno, call);
  jb_result(j, ret, err);
  if (extra.len > 0) {
    jb_put(j, extra.p, extra.len);
  }
  j->first = false;
  free(extra.p);
  jb_emit(j);
}

/* The seed's fork example, by the protocol: the child closes the end it does not
 * use, sends, prints its line and exits; the parent waits, then closes the
 * child's end. */
static void do_forksend(run *r, const step *st, jbuf *j, int stepno) {
  int fd = -1;
  int other = -1;
  if (!resolve(r, st->fd, &fd) || !resolve(r, st->fd2, &other)) {
    script_error(j, stepno, "fork", "no such slot");
    return;
  }
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    jb_begin(j, stepno, "fork");
    jb_result(j, -1, err);
    jb_emit(j);
    return;
  }
  if (pid == 0) {
    close(other);
    size_t n = st->size >= 0 ? (size_t)st->size : (st->data != NULL ? st->data_len : 6);
    unsigned char *buf = malloc(n + 1);
    if (buf == NULL) {
      _exit(3);
    }
    for (size_t k = 0; k < n; k++) {
      buf[k] = st->data != NULL && st->data_len > 0 ? st->data[k % st->data_len]
               : st->size < 0                       ? (unsigned char)"hello"[k]
                                                    : (unsigned char)(((size_t)st->seed + k) % 251);
    }
    long ret = syscall(SYS_sendto, fd, buf, n, MSG_NOSIGNAL, NULL, 0);
    int err = errno;
    jb_begin(j, stepno, "child.send");
    jb_result(j, ret, err);
    jb_int(j, "bytes", ret > 0 ? ret : 0);
    jb_emit(j);
    free(buf);
    _exit(ret == (long)n ? 0 : 1);
  }
  int status = 0;
  pid_t w;
  do {
    w = waitpid(pid, &status, 0);
  } while (w < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  jb_begin(j, stepno, "fork");
  jb_result(j, w < 0 ? -1 : 0, err);
  jb_int(j, "child_exit", w >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  jb_emit(j);
}

static void run_script(const script *sc, const char *dir) {
  static run r;
  memset(&r, 0, sizeof r);
  jbuf j = {0};
  snprintf(r.tmpdir, sizeof r.tmpdir, "%s", dir);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigpipe;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGPIPE, &sa, NULL);
  for (int k = 0; k < sc->nsteps; k++) {
    const step *st = &sc->steps[k];
    switch (st->op) {
      case OP_PAIR:
        do_pair(&r, st, &j, k);
        break;
      case OP_LIBPAIR:
        do_libpair(&r, st, &j, k);
        break;
      case OP_SOCKET:
        do_socket(&r, st, &j, k);
        break;
      case OP_SEND:
        do_send(&r, st, &j, k);
        break;
      case OP_RECV:
        do_recv(&r, st, &j, k);
        break;
      case OP_BIND:
        do_bind_connect(&r, st, &j, k, true);
        break;
      case OP_CONNECT:
        do_bind_connect(&r, st, &j, k, false);
        break;
      case OP_FORKSEND:
        do_forksend(&r, st, &j, k);
        break;
      default:
        do_simple(&r, st, &j, k);
        break;
    }
  }
  free(j.p);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

/* Removes the script's temporary directory and whatever the script made in it. */
static void cleanup_tmp(const char *dir) {
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* In batch mode, the "end" line of a script that could not be started. */
static void end_error(jbuf *j, const char *call, int err) {
  if (g_script < 0) {
    return;
  }
  jb_begin(j, -1, "end");
  jb_str(j, "status", "error");
  jb_str(j, "error", call);
  jb_str(j, "errno_name", sc_err_name(err));
  jb_emit(j);
}

/* Runs one script in a child bounded by timeout_s. Returns 0 if it ran every
 * step, 1 if it died or timed out. */
static int run_child(const script *sc, int timeout_s, jbuf *j) {
  char dir[64];
  snprintf(dir, sizeof dir, "/tmp/sockcheck-probe.XXXXXX");
  if (mkdtemp(dir) == NULL) {
    int err = errno;
    fprintf(stderr, "sockcheck-probe: cannot create a temporary directory: %s\n",
            sc_err_message(err));
    end_error(j, "mkdtemp", err);
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    fprintf(stderr, "sockcheck-probe: fork: %s\n", sc_err_message(err));
    end_error(j, "fork", err);
    cleanup_tmp(dir);
    return 1;
  }
  if (pid == 0) {
    /* Its own process group, so whatever it forks ends with it (see below). */
    (void)setpgid(0, 0);
    alarm((unsigned)timeout_s);
    run_script(sc, dir);
    _exit(0);
  }
  (void)setpgid(pid, pid);
  /* Wait without reaping (the zombie keeps its pid and group id reserved), kill
   * what is left of its group (a forksend child blocked in a send would
   * otherwise outlive the time limit and hold our stdout open), then reap. */
  siginfo_t info;
  while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) != 0) {
    if (errno != EINTR) {
      break;
    }
  }
  (void)kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      cleanup_tmp(dir);
      return 1;
    }
  }
  cleanup_tmp(dir);
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (g_script >= 0) {
    jb_begin(j, -1, "end");
    if (ok) {
      jb_str(j, "status", "ok");
    } else if (WIFSIGNALED(status)) {
      jb_str(j, "status", WTERMSIG(status) == SIGALRM ? "timeout" : "signal");
      jb_int(j, "signal", WTERMSIG(status));
    } else {
      jb_str(j, "status", "exit");
      jb_int(j, "code", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    jb_emit(j);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
    fprintf(stderr, "sockcheck-probe: a step could not run (see its \"error\")\n%s", usage_text);
  } else if (!ok) {
    fprintf(stderr, "sockcheck-probe: script %s\n",
            WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "timed out" : "failed");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
    return 2;
  }
  return ok ? 0 : 1;
}

static int usage_error(void) {
  fprintf(stderr, "sockcheck-probe: %s\n%s", g_err, usage_text);
  return 2;
}

/* One script per stdin line, each in its own child. Returns the worst status among them:
 * 2 if some line could not run as a script (empty, bad step), else 1 if some script failed
 * or timed out, else 0. */
static int run_batch(int timeout_s) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int rc = 0;
  jbuf j = {0};
  static script sc;
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    g_script++;
    char *argv[4096];
    int argc = 0;
    char *save = NULL;
    bool too_many = false;
    for (char *t = strtok_r(line, " \t\r\n", &save); t != NULL;
         t = strtok_r(NULL, " \t\r\n", &save)) {
      if (argc == (int)(sizeof argv / sizeof argv[0])) {
        too_many = true;
        break;
      }
      argv[argc++] = t;
    }
    if (argc == 0) {
      jb_begin(&j, -1, "end");
      jb_str(&j, "status", "usage");
      jb_str(&j, "error", "empty script");
      jb_emit(&j);
      rc = 2; /* the worst status: a script that cannot run */
      continue;
    }
    if (too_many || parse_script(&sc, argv, argc) != 0) {
      if (too_many) {
        bad("too many words", "line");
      }
      fprintf(stderr, "sockcheck-probe: line %ld: %s\n", g_script + 1, g_err);
      jb_begin(&j, -1, "end");
      jb_str(&j, "status", "usage");
      jb_str(&j, "error", g_err);
      jb_emit(&j);
      free_script(&sc);
      rc = 2;
      continue;
    }
    int crc = run_child(&sc, timeout_s, &j);
    if (crc > rc) {
      rc = crc;
    }
    free_script(&sc);
  }
  free(line);
  free(j.p);
  if (ferror(stdin)) {
    fprintf(stderr, "sockcheck-probe: reading stdin failed\n");
    return 1;
  }
  return rc;
}

int main(int argc, char **argv) {
  int timeout_s = 5;
  int i = 1;
  bool batch = false;
  while (i < argc) {
    if (strcmp(argv[i], "--timeout") == 0) {
      long t = 0;
      if (i + 1 >= argc || !parse_long(argv[i + 1], &t) || t < 1 || t > 3600) {
        bad("--timeout needs 1..3600 seconds", i + 1 < argc ? argv[i + 1] : "");
        return usage_error();
      }
      timeout_s = (int)t;
      i += 2;
    } else if (strcmp(argv[i], "--batch") == 0) {
      batch = true;
      i++;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage_text, stdout);
      return 0;
    } else {
      break;
    }
  }
  if (batch) {
    if (i != argc) {
      bad("--batch takes no steps on the command line", argv[i]);
      return usage_error();
    }
    return run_batch(timeout_s);
  }
  if (i == argc) {
    bad("no steps given", "");
    return usage_error();
  }
  static script sc;
  if (parse_script(&sc, argv + i, argc - i) != 0) {
    free_script(&sc);
    return usage_error();
  }
  jbuf j = {0};
  int rc = run_child(&sc, timeout_s, &j);
  free_script(&sc);
  free(j.p);
  return rc;
}
