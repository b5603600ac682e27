/* sockcheck-probe's internal interface: the parsed script (step, script), the
 * per-script run state (run: descriptor slots, temporary directory), the JSON
 * line writer (jbuf) and the executors, one family of calls per file:
 *   grammar.c    script grammar: words -> step structs (usage text included)
 *   json.c       one JSON object per line, written with one write(2) loop
 *   buffers.c    iovec arrays of a step: real memory, NULL bases, PROT_NONE memory
 *   run.c        descriptor slots, addresses, one script's steps in order
 *   exec_pair.c  socketpair, sc_pair_open, socket, the seed's fork example
 *   exec_send.c  sendmsg/send/sendto/write and the ancillary data they carry
 *   exec_recv.c  recvmsg/recv/recvfrom/read and what they report
 *   exec_addr.c  bind, connect, listen, accept
 *   exec_ctl.c   close, shutdown, socket options, fcntl, fill, drain, files, limits,
 *                credentials
 *   peer.c       the concurrent peer thread (bg steps) and the counting signal handler

 *   batch.c      forked children, bounded; --batch over stdin, several scripts to a child
 *   main.c       options
 * The call under test is always a raw syscall(2), so neither libc nor the
 * sanitizers' interceptors touch its arguments. */
#ifndef SOCKCHECK_PROBE_H
#define SOCKCHECK_PROBE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "sockcheck/cmsg.h"

#define MAX_STEPS 512
#define MAX_SLOTS 1024
#define MAX_IOV 4096
#define ALLOC_CAP ((size_t)64 << 20) /* bytes of real iovec memory per call */
#define HEXCAP_DEFAULT 64
#define HEXCAP_MAX 65536
#define FILL_MAX_BYTES ((size_t)64 << 20)
#define FILL_MAX_CALLS 1000000
#define CTRL_MAX 65536
#define FNV_INIT 0xcbf29ce484222325ULL

/* ---------------------------------------------------------------- json.c */

typedef struct jbuf {
  char *p;
  size_t len;
  size_t cap;
  bool first;
} jbuf;

extern long g_script; /* batch line number, -1 in single mode */

__attribute__((noreturn)) void die_oom(void);
void jb_put(jbuf *j, const char *s, size_t n);
void jb_puts(jbuf *j, const char *s);
void jb_key(jbuf *j, const char *key);
void jb_strval(jbuf *j, const char *s);
void jb_begin(jbuf *j, int step, const char *call);
void jb_int(jbuf *j, const char *key, long long v);
void jb_bool(jbuf *j, const char *key, bool v);
void jb_str(jbuf *j, const char *key, const char *v);
void jb_hex(jbuf *j, const char *key, const unsigned char *p, size_t n);
void jb_emit(jbuf *j);
void jb_result(jbuf *j, long long ret, int err);
void jb_flag_names(jbuf *j, const char *key, long flags);
uint64_t fnv_add(uint64_t h, const unsigned char *p, size_t n);
void jb_fnv(jbuf *j, const char *key, uint64_t h);
void jb_note(const char *keys); /* keys jb_begin adds in this thread, or NULL */
void jb_local_name(jbuf *j, const char *key, const struct sockaddr_storage *ss, socklen_t len);

/* ------------------------------------------------------------- grammar.c */

typedef struct name_val {
  const char *name;
  long val;
} name_val;

extern const name_val msg_flag_names[];
extern const size_t n_msg_flag_names;
extern const char usage_text[];
extern char g_err[256];

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
  OP_FCNTL,
  OP_SIGNAL,
  OP_KILL,
  OP_DRAIN,
  OP_JOIN,
  OP_NAME,
} op_kind;

/* Which entry point a send or receive step uses. */
typedef enum via_kind { VIA_MSG = 0, VIA_PLAIN, VIA_TO, VIA_RW } via_kind;

typedef enum opt_kind { OPT_INT, OPT_LINGER, OPT_TIMEO, OPT_TIMEO_USEC, OPT_UCRED } opt_kind;

typedef struct sockopt_def {
  const char *name;
  int level;
  int optname;
  opt_kind kind;
} sockopt_def;

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
  long portof;      /* -1, or the slot whose local port replaces the port */
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
  const sockopt_def *opt;
  long optval;
  bool has_optval;
  const char *path;
  long value;
  bool value_low;
  long size;
  via_kind via;
  bool noaccess;     /* mem=noaccess: iovec bases in PROT_NONE memory */
  bool iovp_null;    /* msg_iov NULL, msg_iovlen as given */
  bool name_bad;     /* msg_name in PROT_NONE memory */
  bool control_bad;  /* msg_control in PROT_NONE memory */
  bool control_null; /* msg_control NULL with a nonzero msg_controllen */
  bool has_namelen;
  long namelen;   /* msg_namelen as an int, when has_namelen */
  bool bg;        /* runs in the peer thread */
  bool wait_none; /* bg: runs at once, not after the main thread is seen blocked */
  long chunk;     /* drain: bytes per call */
} step;

typedef struct script {
  int nsteps;
  step steps[MAX_STEPS];
} script;

int bad(const char *what, const char *arg);
bool parse_long(const char *s, long *out);
bool subst_tmp(const char *in, const char *dir, char *out, size_t cap);
int parse_script(script *sc, char **argv, int argc);
void free_script(script *sc);

/* ---------------------------------------------------------------- run.c */

typedef struct run {
  int fd[MAX_SLOTS];
  int nslots;
  char tmpdir[64];
  size_t nsent;
  dev_t sent_dev[SC_CMSG_MAX_FDS + 16];
  ino_t sent_ino[SC_CMSG_MAX_FDS + 16];
  pthread_t peer;
  bool peer_running;
} run;

int add_slot(run *r, int fd);
bool resolve(const run *r, fdref ref, int *fd);
void fd_flags(int fd, bool *nonblock, bool *cloexec);
int build_addr(const run *r, const addr_spec *spec, int fd_family, struct sockaddr_storage *ss,
               socklen_t *len);
int sock_family(int fd);
__attribute__((noreturn)) void script_error(jbuf *j, int stepno, const char *verb, const char *why);
void emit_simple(jbuf *j, int stepno, const char *call, long ret, int err, jbuf *extra);
void run_step(run *r, const step *st, jbuf *j, int stepno);
void run_script(const script *sc, const char *dir);

/* ------------------------------------------------------------- buffers.c */

typedef struct iov_set {
  struct iovec *iov;
  struct iovec *copy;
  bool virt;
  size_t total_real;
} iov_set;

void iov_build(const step *st, iov_set *s, bool fill);
void *noaccess_mem(void); /* PROT_NONE memory: any access by the kernel is EFAULT */
long long monotonic_us(void);
bool iov_is_real(const iov_set *s, int i);
bool iov_unchanged(const step *st, const iov_set *s);
void iov_free(const step *st, iov_set *s);

/* ------------------------------------------------------------- executors */

void do_pair(run *r, const step *st, jbuf *j, int stepno);
void do_libpair(run *r, const step *st, jbuf *j, int stepno);
void do_socket(run *r, const step *st, jbuf *j, int stepno);
void do_forksend(run *r, const step *st, jbuf *j, int stepno);
void do_send(run *r, const step *st, jbuf *j, int stepno);
void on_sigpipe(int sig);
void do_recv(run *r, const step *st, jbuf *j, int stepno);
void do_bind_connect(run *r, const step *st, jbuf *j, int stepno, bool is_bind);
void do_name(run *r, const step *st, jbuf *j, int stepno);
void do_listen_accept(run *r, const step *st, jbuf *j, int stepno);
void do_ctl(run *r, const step *st, jbuf *j, int stepno);

/* --------------------------------------------------------------- peer.c */

int peer_signal_install(int sig, bool restart);
void peer_start(run *r, const script *sc, int first, int last);
void peer_join(run *r, jbuf *j, int stepno); /* j NULL: no output line */

/* -------------------------------------------------------------- batch.c */

int run_child(const script *sc, int timeout_s, jbuf *j);
int run_batch(int timeout_s, int group_max);

#endif
