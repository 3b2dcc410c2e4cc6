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
 * The scanner for other JSON bodies (API responses): a root member name
 * to record, and what its value was. The value's kind is 0 (absent), '"'
 * (a string; p and len take in the quotes), '{', '[', 't' (true or false:
 * look at p[0]), 'n' (null) or '0' (a number).
 */
typedef struct {
	const char *name;
	size_t len;
} flock__jname;

typedef struct {
	int kind;
	const char *p; /* the value's bytes in the body, NULL when absent */
	size_t len;
	int escaped;     /* strings: contains a backslash escape */
	int is_int;      /* numbers: no fraction or exponent */
	long long value; /* integers */
} flock__jvalue;

/* At most this many names, each shorter than 40 bytes. */
#define FLOCK__SCAN_NAMES_MAX 16

/*
 * One pass over body[0..len): 0 if it is a JSON object that jansson
 * accepts and no object in it repeats a member name (as far as the
 * scanner's tables track them, always for the root's members in names),
 * with out[i] the root member names[i]; -1 otherwise (not JSON, not an
 * object, a repeated name, len 0, more than FLOCK__SCAN_NAMES_MAX names),
 * with no error set: the caller falls back to jansson, which says why.
 */
int flock__json_scan(flock__jvalue *out, const char *body, size_t len,
                     const flock__jname *names, size_t nnames);

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
