/*
 * Internal: a growable byte buffer, always NUL-terminated.
 */
#ifndef FLOCK_COMMON_BUF_H
#define FLOCK_COMMON_BUF_H

#include <stddef.h>

typedef struct {
	char *ptr;    /* NULL until the first append */
	size_t len;   /* bytes used, excluding the NUL */
	size_t cap;
	int oom;      /* set once an allocation failed; later appends no-op */
} flock__buf;

#define FLOCK__BUF_INIT {NULL, 0, 0, 0}

/* Append bytes; 0 or -1 on allocation failure (sticky in oom). */
int flock__buf_put(flock__buf *b, const void *data, size_t len);
int flock__buf_puts(flock__buf *b, const char *s);
/* Make room for `more` bytes past len (and the NUL) without writing, for
 * a caller that fills ptr + len itself; 0 or -1 (sticky in oom). */
int flock__buf_reserve(flock__buf *b, size_t more);
/* printf-style append; 0 or -1. */
int flock__buf_printf(flock__buf *b, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Take ownership of the string (caller frees); the buffer is reset. */
char *flock__buf_detach(flock__buf *b);
void flock__buf_clear(flock__buf *b);
void flock__buf_free(flock__buf *b);

#endif
