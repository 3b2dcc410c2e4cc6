/*
 * Internal: the webhook envelope scanner (envelope.c).
 *
 * One pass over the body, allocating nothing, that both validates it as
 * JSON, by jansson's rules (so that what it accepts jansson parses later,
 * when an accessor first needs the `data` tree), and finds the envelope's
 * members: `id`, `name`, `timestamp`, `environment` and the raw bytes of
 * `data`. Duplicate member names are refused anywhere in the body, compared
 * after decoding escapes ("\u0064ata" is "data").
 */
#ifndef FLOCK_LIB_ENVELOPE_H
#define FLOCK_LIB_ENVELOPE_H

#include <stddef.h>

/* A JSON string's raw content, between the quotes. */
typedef struct {
	const char *p; /* NULL: absent */
	size_t len;
	int escaped; /* contains a backslash escape: decode before use */
} flock__jstr;

typedef struct {
	flock__jstr id;
	flock__jstr name;
	flock__jstr environment; /* p NULL when absent or null */
	long long timestamp_ms;
	/* timestamp_ms in decimal, as the body writes it ("-0" reads "0") */
	const char *timestamp_text;
	size_t timestamp_len;
	const char *data; /* the "data" object's bytes, braces included */
	size_t data_len;
	/*
	 * Set when an object had more members, or objects nested deeper,
	 * than the scanner's fixed tables track, or a member name was too
	 * long to decode on the stack: duplicate names in those parts are not
	 * ruled out yet. flock__envelope_check_dups() does it with jansson.
	 */
	int dups_unchecked;
} flock__envelope;

/* Nesting jansson accepts (its JSON_PARSER_MAX_DEPTH). */
#define FLOCK__JSON_MAX_DEPTH 2048

/*
 * Scan and check the envelope. 0, or FLOCK_EPAYLOAD with the error detail
 * set (which check failed, and at which byte).
 */
int flock__envelope_scan(flock__envelope *env, const char *body, size_t len);

/*
 * The duplicate-name check the scan could not finish (dups_unchecked):
 * jansson parses the body with JSON_REJECT_DUPLICATES. 0, FLOCK_EPAYLOAD
 * or FLOCK_ENOMEM. Allocates: call it only once the body is authenticated.
 */
int flock__envelope_check_dups(const char *body, size_t len);

/*
 * Decode a scanned string's content (escapes resolved, UTF-8) into out,
 * which must hold s->len + 1 bytes: decoding never lengthens. Returns the
 * decoded length; out is NUL-terminated.
 */
size_t flock__jstr_decode(char *out, const flock__jstr *s);

/* 1 if the scanned string decodes to exactly the NUL-terminated `text`. */
int flock__jstr_equals(const flock__jstr *s, const char *text);

#endif
