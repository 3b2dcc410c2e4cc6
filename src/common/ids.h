/*
 * Internal: clocks, ISO 8601 timestamps and time-sortable ids.
 */
#ifndef FLOCK_COMMON_IDS_H
#define FLOCK_COMMON_IDS_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch (wall clock). */
int64_t flock__now_ms(void);

/* Milliseconds from a monotonic clock, for timeouts and latencies. */
int64_t flock__mono_ms(void);

/* "2026-11-26T16:38:00.000Z": exactly 24 chars plus NUL. */
#define FLOCK__ISO8601_LEN 25
void flock__iso8601(char out[FLOCK__ISO8601_LEN], int64_t ms);

/*
 * Parse a timestamp written by flock__iso8601 (also accepts no
 * milliseconds). 0 and *ms set, or -1.
 */
int flock__parse_iso8601(int64_t *ms, const char *s);

/*
 * A new id: prefix (e.g. "cus_"), then 10 Crockford base32 characters of
 * the time in ms and 16 of randomness, so ids sort by creation time.
 */
#define FLOCK__ID_MAX 40
int flock__id_new(char out[FLOCK__ID_MAX], const char *prefix);

/* A random Idempotency-Key-style token: 32 lowercase hex chars + NUL. */
int flock__token_hex(char out[33]);

#endif
