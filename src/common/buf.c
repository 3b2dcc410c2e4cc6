#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(flock__buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (b->oom)
		return -1;
	if (need < b->len || need + 1 < need) {
		b->oom = 1;
		return -1;
	}
	if (need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need + 1) {
		if (cap > ((size_t)-1) / 2) {
			b->oom = 1;
			return -1;
		}
		cap *= 2;
	}
	p = realloc(b->ptr, cap);
	if (p == NULL) {
		b->oom = 1;
		return -1;
	}
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int flock__buf_put(flock__buf *b, const void *data, size_t len)
{
	if (grow(b, b->len + len))
		return -1;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int flock__buf_reserve(flock__buf *b, size_t more)
{
	if (b->len + more < b->len) {
		b->oom = 1;
		return -1;
	}
	return grow(b, b->len + more);
}

int flock__buf_puts(flock__buf *b, const char *s)
{
	return flock__buf_put(b, s, strlen(s));
}

int flock__buf_printf(flock__buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || grow(b, b->len + (size_t)n))
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *flock__buf_detach(flock__buf *b)
{
	char *p = b->oom ? NULL : b->ptr;
	if (b->oom)
		free(b->ptr);
	else if (p == NULL)
		p = calloc(1, 1);
	b->ptr = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
	return p;
}

void flock__buf_clear(flock__buf *b)
{
	b->len = 0;
	b->oom = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

void flock__buf_free(flock__buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}
