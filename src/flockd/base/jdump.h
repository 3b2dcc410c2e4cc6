/*
 * flockd: a fast compact JSON serialiser for jansson values.
 *
 * Same bytes as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) (keys in
 * insertion order, which is jansson's order), at a fraction of the cost:
 * no loop detection through a hash table of pointers, no callback per
 * fragment. The engine's writer dumps several objects per write (outbox
 * bodies, stored responses), so this is on its critical path. Values must
 * not contain themselves (jansson's constructors never make such values).
 */
#ifndef FLOCKD_JDUMP_H
#define FLOCKD_JDUMP_H

#include <stddef.h>

#include <jansson.h>

/* A malloc'd NUL-terminated string (free() it), or NULL (out of memory,
 * NULL value or a nesting deeper than 256). *len gets its length if
 * len is not NULL. */
char *fd_jdump(const json_t *v, size_t *len);

#endif
