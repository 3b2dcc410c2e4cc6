/*
 * flockd: a fast compact JSON serialiser for jansson values.
 *
 * Same bytes as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) (keys in
 * insertion order, which is jansson's order) but for reals (written as
 * JavaScript writes them, below), at a fraction of the cost:
 * no loop detection through a hash table of pointers, no callback per
 * fragment. The engine's writer dumps several objects per write (outbox
 * bodies, stored responses), so this is on its critical path. Values must
 * not contain themselves (jansson's constructors never make such values).
 */
#ifndef FLOCKD_JDUMP_H
#define FLOCKD_JDUMP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/buf.h"

/*
 * How deep a JSON value flockd takes in may nest: objects and arrays
 * within each other, the request body itself being level 1. The parser
 * (jansson) accepts up to 2,048 levels; the server refuses a body deeper
 * than this with 400 invalid_field naming the member (http/router.c,
 * docs/security.md), so nothing it stores is deeper. fd_jdump writes up
 * to FD_JDUMP_MAX_DEPTH levels: what flockd took in, wrapped in the
 * envelopes it adds (lists, webhook and stream envelopes, stored
 * answers).
 */
#define FD_JSON_MAX_DEPTH 64
#define FD_JDUMP_MAX_DEPTH 256

/*
 * A malloc'd NUL-terminated string (free() it), or NULL (out of memory,
 * NULL value, a real that JSON cannot hold). *len gets its length if len
 * is not NULL. Reals are written as JavaScript writes them (shortest
 * round trip, fd_jdump_double). A value nested deeper than
 * FD_JDUMP_MAX_DEPTH (only data an older flockd stored) is written as
 * null rather than failing the whole answer.
 */
char *fd_jdump(const json_t *v, size_t *len);

/*
 * The same text appended to b (a flock__buf, common/buf.h), for a
 * caller that writes JSON around it: 0, or -1 with b->oom set or v not
 * writable (as fd_jdump's NULL). fd_jdump_str appends s, n bytes of
 * UTF-8, as a JSON string (quoted, escaped as fd_jdump escapes).
 */
int fd_jdump_append(flock__buf *b, const json_t *v);
void fd_jdump_str(flock__buf *b, const char *s, size_t n);

/* i in decimal into out, NUL-terminated, as printf's %lld writes it;
 * its length (at most 20). */
int fd_jdump_int(char out[24], int64_t i);

/* d as JSON.stringify writes it (shortest digits that read back as d)
 * into out; its length, or -1 (NaN, infinity). */
int fd_jdump_double(char out[32], double d);

/* 1 if v nests deeper than max levels (v itself is level 1), with the
 * top-level member holding the deep part into field (when v is an
 * object, else ""); else 0. */
int fd_json_too_deep(const json_t *v, int max, char *field, size_t len);

/* The same question asked of JSON text before it is parsed: 1 if its
 * arrays and objects nest deeper than max, with the top-level member
 * holding the deep part into field, else 0 (also for text that is not
 * JSON: the parser says what is wrong with it). jansson parses
 * recursively, so text nested thousands deep must never reach it on a
 * server thread's small stack. */
int fd_json_text_too_deep(const char *p, size_t n, int max, char *field,
                          size_t len);

/* The depth past which a request body is refused before it is parsed:
 * what fd_json_too_deep refuses (FD_JSON_MAX_DEPTH) with some room, so
 * that the exact limit is decided on the parsed body alone. */
#define FD_JSON_TEXT_MAX_DEPTH (FD_JSON_MAX_DEPTH + 8)

#endif
