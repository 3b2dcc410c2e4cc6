/*
 * Test support shared by every test program: cmocka, plus small helpers.
 */
#ifndef FLOCK_TEST_SUPPORT_H
#define FLOCK_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Read a whole file into a malloc'd NUL-terminated string, or NULL. */
char *flock_test_read_file(const char *path, size_t *len);

#endif
