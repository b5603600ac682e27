/* Descriptor accounting shared by unit tests, fuzz targets and benches: the one reader of
 * /proc/self/fd, so every leak check counts the same way. */
#ifndef SCTEST_FDS_H
#define SCTEST_FDS_H

#include <stdbool.h>

struct stat;

/* Counts this process's open descriptors (not counting the one used to read
 * /proc/self/fd) for which mine(fd, its fstat) is true, or all of them when mine is NULL.
 * Returns -1 if /proc/self/fd cannot be read. */
long sc_test_count_fds(bool (*mine)(int fd, const struct stat *st));

/* The highest open descriptor, or -1 if /proc/self/fd cannot be read (or none is open). */
int sc_test_highest_fd(void);

#endif
