/* Unit tests for pair.c against the kernel: PAIR-1..5, PAIR-E3 (EMFILE),
 * PAIR-E6 (invalid type), X-NONBLOCK, close-on-exec by default. Every child
 * process is waited for; nothing sleeps for ordering. */
#include <fcntl.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sockcheck/error.h"
#include "sockcheck/pair.h"

static void assert_open(int fd) {
  assert_true(fcntl(fd, F_GETFD) >= 0);
}
static void assert_closed(int fd) {
  assert_int_equal(fcntl(fd, F_GETFD), -1);
}

/* PAIR-1, PAIR-2: a stream pair is connected and full duplex, byte-exact. */
static void stream_pair_full_duplex(void **state) {
  (void)state;
  int sv[2] = {-1, -1};
  assert_int_equal(sc_pair_open(SOCK_STREAM, 0, sv), 0);
  assert_true(sv[0] >= 0 && sv[1] >= 0 && sv[0] != sv[1]);
  char buf[8];
  assert_int_equal(write(sv[0], "ping", 4), 4);
  assert_int_equal(read(sv[1], buf, sizeof(buf)), 4);
  assert_memory_equal(buf, "ping", 4);
  assert_int_equal(write(sv[1], "pong!", 5), 5);
  assert_int_equal(read(sv[0], buf, sizeof(buf)), 5);
  assert_memory_equal(buf, "pong!", 5);
  sc_pair_close(sv);
}

/* PAIR-3: what sv[0] wrote is not readable on sv[0] itself (EAGAIN). */
static void own_end_reads_nothing(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_STREAM, 0, sv), 0);
  assert_int_equal(write(sv[0], "x", 1), 1);
  char c;
  assert_int_equal(recv(sv[0], &c, 1, MSG_DONTWAIT), -1);
  assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
  assert_int_equal(recv(sv[1], &c, 1, MSG_DONTWAIT), 1);
  sc_pair_close(sv);
}

/* Both ends are close-on-exec and blocking by default. */
static void default_cloexec_blocking(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_STREAM, 0, sv), 0);
  for (int i = 0; i < 2; i++) {
    assert_true(fcntl(sv[i], F_GETFD) & FD_CLOEXEC);
    assert_int_equal(fcntl(sv[i], F_GETFL) & O_NONBLOCK, 0);
  }
  sc_pair_close(sv);
}

/* X-NONBLOCK: SC_PAIR_NONBLOCK applies to both ends. */
static void nonblock_both_ends(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_DGRAM, SC_PAIR_NONBLOCK, sv), 0);
  for (int i = 0; i < 2; i++) {
    assert_true(fcntl(sv[i], F_GETFL) & O_NONBLOCK);
    char c;
    assert_int_equal(read(sv[i], &c, 1), -1);
    assert_int_equal(errno, EAGAIN);
  }
  sc_pair_close(sv);
}

/* SC_PAIR_INHERIT: neither end is close-on-exec. */
static void inherit_clears_cloexec(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_SEQPACKET, SC_PAIR_INHERIT | SC_PAIR_NONBLOCK, sv), 0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(fcntl(sv[i], F_GETFD) & FD_CLOEXEC, 0);
    assert_true(fcntl(sv[i], F_GETFL) & O_NONBLOCK);
  }
  sc_pair_close(sv);
}

/* PAIR-5: datagram and seqpacket pairs keep message boundaries. */
static void message_boundaries_kept(void **state) {
  (void)state;
  const int types[] = {SOCK_DGRAM, SOCK_SEQPACKET};
  for (size_t t = 0; t < 2; t++) {
    int sv[2];
    assert_int_equal(sc_pair_open(types[t], 0, sv), 0);
    assert_int_equal(write(sv[0], "abc", 3), 3);
    assert_int_equal(write(sv[0], "de", 2), 2);
    char buf[16];
    assert_int_equal(read(sv[1], buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(read(sv[1], buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "de", 2);
    sc_pair_close(sv);
  }
}

/* PAIR-E6: an invalid type -> -EINVAL, sv untouched; unknown flags too. */
static void invalid_type_and_flags(void **state) {
  (void)state;
  int sv[2] = {-7, -8};
  assert_int_equal(sc_pair_open(999, 0, sv), -EINVAL);
  assert_int_equal(sv[0], -7);
  assert_int_equal(sv[1], -8);
  assert_int_equal(sc_pair_open(SOCK_STREAM, 0x100, sv), -EINVAL);
  assert_int_equal(sv[0], -7);
  assert_int_equal(sc_pair_open(SOCK_STREAM, 0, NULL), -EFAULT);
}

/* PAIR-E3: at the descriptor limit -> -EMFILE, sv untouched. Run in a child so
 * the lowered limit never affects the test runner. */
static void emfile_at_limit(void **state) {
  (void)state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* The lowest free descriptor is the limit: no new descriptor fits. */
    int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (probe < 0) {
      _exit(10);
    }
    close(probe);
    struct rlimit rl = {.rlim_cur = (rlim_t)probe, .rlim_max = (rlim_t)probe};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      _exit(11);
    }
    int sv[2] = {-5, -5};
    int r = sc_pair_open(SOCK_STREAM, 0, sv);
    _exit(r == -EMFILE && sv[0] == -5 && sv[1] == -5 ? 0 : 12);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* PAIR-4: across fork, the child writes "hello"+NUL (6 bytes) and the parent
 * reads 6; each side closes the end it does not use. Ordered by the protocol. */
static void works_across_fork(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_STREAM, 0, sv), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(sv[1]);
    ssize_t n = send(sv[0], "hello", 6, MSG_NOSIGNAL);
    close(sv[0]);
    _exit(n == 6 ? 0 : 1);
  }
  close(sv[0]);
  sv[0] = -1;
  char buf[16];
  size_t got = 0;
  for (int i = 0; i < 16 && got < 6; i++) {
    ssize_t n = read(sv[1], buf + got, sizeof(buf) - got);
    assert_true(n > 0);
    got += (size_t)n;
  }
  assert_int_equal(got, 6);
  assert_memory_equal(buf, "hello", 6);
  assert_int_equal(read(sv[1], buf, sizeof(buf)), 0); /* child closed: EOF */
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  sc_pair_close(sv);
}

/* sc_pair_close closes both ends, sets them to -1, and tolerates -1 ends. */
static void close_sets_minus_one(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(sc_pair_open(SOCK_STREAM, 0, sv), 0);
  int a = sv[0];
  int b = sv[1];
  assert_open(a);
  sc_pair_close(sv);
  assert_int_equal(sv[0], -1);
  assert_int_equal(sv[1], -1);
  assert_closed(a);
  assert_closed(b);
  sc_pair_close(sv); /* again: nothing to do */
  assert_int_equal(sc_pair_open(SOCK_DGRAM, 0, sv), 0);
  b = sv[1];
  close(sv[0]);
  sv[0] = -1;
  sc_pair_close(sv);
  assert_closed(b);
  sc_pair_close(NULL);
}

/* Descriptor 0 is a descriptor like any other: a pair opened with 0 free may get it, and
 * sc_pair_close closes it. */
static void close_descriptor_zero(void **state) {
  (void)state;
  int saved = dup(STDIN_FILENO);
  assert_true(saved >= 0);
  assert_int_equal(close(STDIN_FILENO), 0);
  int sv[2];
  int r = sc_pair_open(SOCK_STREAM, 0, sv);
  int zero_end = r == 0 ? sv[0] : -2;
  bool zero_open = false;
  if (r == 0) {
    sc_pair_close(sv);
    zero_open = fcntl(STDIN_FILENO, F_GETFD) >= 0;
  }
  assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
  assert_int_equal(close(saved), 0);
  assert_int_equal(r, 0);
  assert_int_equal(zero_end, STDIN_FILENO);
  assert_false(zero_open);
  assert_int_equal(sv[0], -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(close_descriptor_zero),   cmocka_unit_test(stream_pair_full_duplex),
      cmocka_unit_test(own_end_reads_nothing),   cmocka_unit_test(default_cloexec_blocking),
      cmocka_unit_test(nonblock_both_ends),      cmocka_unit_test(inherit_clears_cloexec),
      cmocka_unit_test(message_boundaries_kept), cmocka_unit_test(invalid_type_and_flags),
      cmocka_unit_test(emfile_at_limit),         cmocka_unit_test(works_across_fork),
      cmocka_unit_test(close_sets_minus_one),
  };
  return cmocka_run_group_tests_name("pair", tests, NULL, NULL);
}
