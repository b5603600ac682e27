/* The script grammar: a script is steps joined by "--"; each step is a verb, its
 * positional words and key=value options (see usage_text). Parsing never runs a call;
 * a bad word is a usage error with the reason in g_err. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "sockcheck/addr.h"

#include "probe.h"

const char usage_text[] =
    "usage: sockcheck-probe [--timeout S] STEP [-- STEP]...\n"
    "       sockcheck-probe [--timeout S] [--group N] --batch   (one script per stdin line;\n"
    "         exit status: 2 if a line is no script, else 1 if a script failed or timed out,\n"
    "         else 0; up to N scripts that leave no trace share a child, default 16)\n"
    "steps (SLOT = descriptor slot number in creation order, or raw:N for fd N):\n"
    "  pair DOMAIN TYPE [PROTO] [nonblock] [cloexec] [sv=null]   raw socketpair(2)\n"
    "  libpair TYPE [nonblock]            sc_pair_open (setup)\n"
    "  socket DOMAIN TYPE [PROTO] [nonblock] [cloexec]\n"
    "  send SLOT [iov=L,NxL,..] [null=I,..] [flags=F|G] [msg=null] [data=HEX] [seed=N]\n"
    "       [to=ADDR|null|slot:N|bad] [tolen=N] [rights=N|bad] [cmsglen=N] "
    "[creds=self|PID:UID:GID]\n"
    "  recv SLOT [iov=..] [null=..] [flags=..] [msg=null] [name=SIZE|bad] [control=SIZE|fds:N]\n"
    "       [hexcap=N] [preflags=N]\n"
    "    both: [via=msg|plain|to|rw] (sendmsg|send|sendto|write, recvmsg|recv|recvfrom|read;\n"
    "       plain, to and rw take at most one iovec) [mem=noaccess] (PROT_NONE buffers)\n"
    "       [iovp=null] [control=bad] [namelen=N] (msg_namelen as given, any int)\n"
    "  bind SLOT ADDR|null|family|slot:N [len=N] [family=N]   (ADDR: PORT, A.B.C.D:P, [V6]:P,\n"
    "       unix:PATH, @NAME, @; $T is a per-script temporary directory)\n"
    "  listen SLOT [BACKLOG] | connect SLOT ADDR|slot:N | accept SLOT\n"
    "  close SLOT | shutdown SLOT rd|wr|rdwr | fill SLOT [size=N]\n"
    "  sockopt SLOT NAME[=N]  NAME: sndbuf rcvbuf passcred linger rcvtimeo sndtimeo (N in us)\n"
    "       rcvtimeo_usec sndtimeo_usec (N as tv_usec) peercred v6only reuseaddr\n"
    "  fcntl SLOT nonblock|block | signal usr1|usr2 restart|norestart (a counting handler)\n"
    "  bg STEP...  consecutive bg steps run in order in a peer thread, each once the main\n"
    "       thread is seen blocked in a socket call ([wait=none]: at once); join waits for it\n"
    "  kill usr1|usr2 (bg: signals the main thread, waits until handled)\n"
    "  drain SLOT [size=N] [chunk=N]  reads until N bytes (or EOF), N at most per call\n"
    "  name SLOT  getsockname(2)   (bind/connect/send to=: [portof=SLOT] takes its port)\n"
    "  recv: [control=null] (msg_control NULL, msg_controllen > 0)\n"
    "  pipe | open PATH | mkfile PATH | mkdir PATH | rlimit nofile N|low | setuid UID\n"
    "  forksend SLOT CLOSE_SLOT [data=HEX] [seed=N] [len=N]\n"
    "flags: MSG_* names or numbers joined by '|'\n";

const name_val msg_flag_names[] = {
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
const size_t n_msg_flag_names = sizeof msg_flag_names / sizeof msg_flag_names[0];

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

char g_err[256];

int bad(const char *what, const char *arg) {
  snprintf(g_err, sizeof g_err, "%s: '%s'", what, arg);
  return -1;
}

bool parse_long(const char *s, long *out) {
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
    if (!lookup(msg_flag_names, n_msg_flag_names, t, &f)) {
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
bool subst_tmp(const char *in, const char *dir, char *out, size_t cap) {
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
  if (KEY("via")) {
    static const char *const vias[] = {"msg", "plain", "to", "rw"};
    for (int k = 0; k < 4; k++) {
      if (strcmp(v, vias[k]) == 0) {
        st->via = (via_kind)k;
        return 1;
      }
    }
    return -1;
  }
  if (KEY("mem")) {
    st->noaccess = strcmp(v, "noaccess") == 0;
    return st->noaccess ? 1 : -1;
  }
  if (KEY("iovp")) {
    st->iovp_null = strcmp(v, "null") == 0;
    return st->iovp_null ? 1 : -1;
  }
  if (KEY("namelen")) {
    st->has_namelen = true;
    return parse_long(v, &st->namelen) && st->namelen >= INT_MIN && st->namelen <= INT_MAX ? 1 : -1;
  }
  if (KEY("wait")) {
    st->wait_none = strcmp(v, "none") == 0;
    return st->wait_none || strcmp(v, "blocked") == 0 ? 1 : -1;
  }
  if (KEY("chunk")) {
    return parse_long(v, &st->chunk) && st->chunk > 0 && st->chunk <= (1L << 24) ? 1 : -1;
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
  if (KEY("to") && strcmp(v, "bad") == 0) {
    st->name_bad = true;
    return 1;
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
  if (KEY("name") && strcmp(v, "bad") == 0) {
    st->name_bad = true;
    return 1;
  }
  if (KEY("control") && strcmp(v, "null") == 0) {
    st->control_null = true;
    return 1;
  }
  if (KEY("portof")) {
    return parse_long(v, &st->addr.portof) && st->addr.portof >= 0 && st->addr.portof < MAX_SLOTS
               ? 1
               : -1;
  }
  if (KEY("control") && strcmp(v, "bad") == 0) {
    st->control_bad = true;
    return 1;
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
    {"setuid", OP_SETUID},   {"forksend", OP_FORKSEND}, {"fcntl", OP_FCNTL},
    {"signal", OP_SIGNAL},   {"kill", OP_KILL},         {"drain", OP_DRAIN},
    {"join", OP_JOIN},       {"name", OP_NAME},
};

static const sockopt_def sockopts[] = {
    {"sndbuf", SOL_SOCKET, SO_SNDBUF, OPT_INT},
    {"rcvbuf", SOL_SOCKET, SO_RCVBUF, OPT_INT},
    {"passcred", SOL_SOCKET, SO_PASSCRED, OPT_INT},
    {"linger", SOL_SOCKET, SO_LINGER, OPT_LINGER},
    {"rcvtimeo", SOL_SOCKET, SO_RCVTIMEO, OPT_TIMEO},
    {"sndtimeo", SOL_SOCKET, SO_SNDTIMEO, OPT_TIMEO},
    {"rcvtimeo_usec", SOL_SOCKET, SO_RCVTIMEO, OPT_TIMEO_USEC},
    {"sndtimeo_usec", SOL_SOCKET, SO_SNDTIMEO, OPT_TIMEO_USEC},
    {"peercred", SOL_SOCKET, SO_PEERCRED, OPT_UCRED},
    {"v6only", IPPROTO_IPV6, IPV6_V6ONLY, OPT_INT},
    {"reuseaddr", SOL_SOCKET, SO_REUSEADDR, OPT_INT},
};

static const name_val signal_names[] = {{"usr1", SIGUSR1}, {"usr2", SIGUSR2}};

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
  st->addr.portof = -1;
  st->size = -1;
  if (argc == 0) {
    return bad("empty step", "--");
  }
  if (strcmp(argv[0], "bg") == 0) {
    int r = parse_step(st, argv + 1, argc - 1);
    st->bg = true;
    return r;
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
      st->opt = NULL;
      for (size_t k = 0; k < sizeof sockopts / sizeof sockopts[0]; k++) {
        if (strcmp(name, sockopts[k].name) == 0) {
          st->opt = &sockopts[k];
        }
      }
      if (st->opt == NULL) {
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
    case OP_FCNTL:
      if (parse_slot_arg(st, argv, argc, &i, &st->fd) != 0) {
        return -1;
      }
      if (i >= argc || (strcmp(argv[i], "nonblock") != 0 && strcmp(argv[i], "block") != 0)) {
        return bad("fcntl needs nonblock|block", i < argc ? argv[i] : "");
      }
      st->value = strcmp(argv[i], "nonblock") == 0;
      i++;
      break;
    case OP_SIGNAL:
    case OP_KILL:
      if (i >= argc ||
          !lookup(signal_names, sizeof signal_names / sizeof signal_names[0], argv[i],
                  &st->value) ||
          st->value != (st->value == SIGUSR1 ? SIGUSR1 : SIGUSR2)) {
        return bad("needs a signal usr1|usr2", i < argc ? argv[i] : st->verb);
      }
      i++;
      if (st->op == OP_SIGNAL) {
        if (i >= argc || (strcmp(argv[i], "restart") != 0 && strcmp(argv[i], "norestart") != 0)) {
          return bad("signal needs restart|norestart", i < argc ? argv[i] : "");
        }
        st->how = strcmp(argv[i], "restart") == 0;
        i++;
      }
      break;
    case OP_NAME:
    case OP_DRAIN:
      if (parse_slot_arg(st, argv, argc, &i, &st->fd) != 0) {
        return -1;
      }
      break;
    case OP_PIPE:
    case OP_JOIN:
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
  if (st->via != VIA_MSG && st->niov > 1) {
    return bad("via=plain|to|rw take at most one iovec", st->verb);
  }
  return 0;
}

/* The steps a peer thread may run: they make no slots, so the slot table needs no lock
 * (a received descriptor excepted: add_slot takes one). */
static bool peer_may_run(op_kind op) {
  return op == OP_SEND || op == OP_RECV || op == OP_CLOSE || op == OP_SHUTDOWN || op == OP_KILL ||
         op == OP_DRAIN || op == OP_SOCKOPT || op == OP_FILL;
}

void free_script(script *sc) {
  for (int k = 0; k < sc->nsteps; k++) {
    free(sc->steps[k].iov_len);
    free(sc->steps[k].iov_null);
    free(sc->steps[k].data);
  }
  sc->nsteps = 0;
}

/* Splits argv at "--" into steps. Returns 0 or -1 (g_err says why). */
int parse_script(script *sc, char **argv, int argc) {
  sc->nsteps = 0;
  int start = 0;
  for (int i = 0; i <= argc; i++) {
    if (i < argc && strcmp(argv[i], "--") != 0) {
      continue;
    }
    if (sc->nsteps == MAX_STEPS) {
      return bad("too many steps", "--");
    }
    step *st = &sc->steps[sc->nsteps];
    int r = parse_step(st, argv + start, i - start);
    sc->nsteps++;
    if (r != 0) {
      return -1;
    }
    if (st->bg && !peer_may_run(st->op)) {
      return bad("not a step for the peer thread", st->verb);
    }
    if (st->op == OP_KILL && !st->bg) {
      return bad("kill runs in the peer thread only (bg kill ...)", st->verb);
    }
    start = i + 1;
  }
  return 0;
}
