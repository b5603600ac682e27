/* Optional hooks a fuzz target may define for the replay main (fuzz/replay_main.c).
 * Both are weak: a target that defines neither still replays. */
#ifndef SOCKCHECK_FUZZ_HOOKS_H
#define SOCKCHECK_FUZZ_HOOKS_H

#include <stddef.h>

/* libFuzzer's optional initialiser; replay calls it once before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Number of descriptors the target keeps open on purpose between inputs (e.g. a
 * cache of socket pairs). Replay subtracts it before its per-input fd-leak check. */
size_t sc_fuzz_held_fds(void);

#endif
