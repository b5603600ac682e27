/* Coverage builds only (SC_COVERAGE, CMakeLists.txt): every executable links _exit() through
 * here (-Wl,--wrap=_exit), so a process that ends with _exit(), as forked children do
 * (sockcheck-probe's scripts, the unit tests' children), still writes its coverage profile.
 * Bounded: a second _exit (from a SIGALRM handler, say) exits at once, and the write has 5 s. */
#include <signal.h>
#include <unistd.h>

int __llvm_profile_write_file(void);
_Noreturn void __real__exit(int status);
_Noreturn void __wrap__exit(int status);

_Noreturn void __wrap__exit(int status) {
  static volatile sig_atomic_t writing = 0;
  if (writing == 0) {
    writing = 1;
    (void)alarm(5);
    (void)__llvm_profile_write_file();
  }
  __real__exit(status);
}
