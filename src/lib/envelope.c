/*
 * The webhook envelope scanner: one pass over the body, nothing allocated.
 *
 * It is a JSON validator first. What it accepts must be exactly what
 * jansson accepts, because jansson parses the `data` bytes later, when an
 * accessor first asks for a member, and fuzz/fuzz_webhook.c holds the two
 * to agreement. So it follows jansson 2.14's rules, not only RFC 8259's:
 * strict UTF-8 (no overlong forms, no surrogates), no \u0000, surrogate
 * escapes in pairs, integers within long long, reals that do not overflow
 * a double, and at most JSON_PARSER_MAX_DEPTH nested values.
 *
 * On the way it records the root object's members the envelope needs and
 * refuses repeated member names in every object: each open object has a
 * 64-bit Bloom filter of its names' hashes, and only a name whose bit is
 * already set is compared with the earlier names of that object. Objects
 * with more names than KEY_SLOTS holds, or nested deeper than OBJ_FRAMES,
 * are left to flock__envelope_check_dups() (jansson), which the caller
 * runs after the MAC has authenticated the body.
 */
#include "envelope.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "error.h"
#include "json.h"

#define MAX_DEPTH JSON_PARSER_MAX_DEPTH
#define KEY_SLOTS 128 /* names of the open objects, for duplicates */
#define OBJ_FRAMES 64 /* open objects whose names are tracked */
#define KEY_DECODE_MAX 256 /* an escaped name longer than this: unchecked */

typedef struct {
	uint32_t hash;
	int escaped;
	const unsigned char *p; /* raw content, in the body */
	size_t len;
} key_rec;

typedef struct {
	uint64_t bloom;
	size_t first; /* its first name in keys[] */
} obj_frame;

/* The root members the envelope reads. */
enum field { F_OTHER, F_ID, F_NAME, F_TIMESTAMP, F_ENVIRONMENT, F_DATA, F_N };

/* What one root member's value was. */
typedef struct {
	int kind; /* 0 absent, '"', '{', '[', 't' (true/false), 'n', '0' */
	size_t start, len;
	int escaped;     /* strings */
	int is_int;      /* numbers: no fraction or exponent */
	long long value; /* integers */
} field_value;

typedef enum { S_VALUE, S_AFTER, S_KEY, S_DONE, S_ERROR } state;

typedef struct {
	const unsigned char *p;
	size_t len;
	size_t pos;
	int depth;   /* containers open */
	int objects; /* of which objects */
	uint64_t is_obj[(MAX_DEPTH + 63) / 64];
	obj_frame frames[OBJ_FRAMES];
	key_rec keys[KEY_SLOTS];
	size_t nkeys;
	int dups_unchecked;
	enum field field; /* the root member whose value is being read */
	unsigned seen;    /* root members met, one bit per field */
	field_value fields[F_N];
	/* the last scalar */
	int kind;
	int escaped;
	int is_int;
	long long value;
	const char *why; /* the first error */
	size_t err_pos;
} scanner;

static state fail(scanner *s, const char *why)
{
	if (s->why == NULL) {
		s->why = why;
		s->err_pos = s->pos;
	}
	return S_ERROR;
}

/* ---- Whitespace, literals ---------------------------------------------- */

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static void skip_ws(scanner *s)
{
	while (s->pos < s->len && is_ws(s->p[s->pos]))
		s->pos++;
}

static state literal(scanner *s, const char *word, size_t n, int kind)
{
	if (s->len - s->pos < n || memcmp(s->p + s->pos, word, n) != 0)
		return fail(s, "invalid literal");
	s->pos += n;
	s->kind = kind;
	return S_AFTER;
}

/* ---- Strings ------------------------------------------------------------ */

static int hex4(const unsigned char *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		unsigned c = p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

/*
 * At a backslash: the length of a valid escape (2, 6 or 12 bytes), or 0.
 * jansson refuses \u0000 (without JSON_ALLOW_NUL) and unpaired surrogates.
 */
static size_t escape_len(scanner *s, const unsigned char *p, size_t avail)
{
	unsigned u, lo;

	if (avail < 2)
		return 0;
	switch (p[1]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
	case 't':
		return 2;
	case 'u':
		break;
	default:
		fail(s, "invalid escape in a string");
		return 0;
	}
	if (avail < 6 || hex4(p + 2, &u) != 0) {
		fail(s, "invalid \\u escape in a string");
		return 0;
	}
	if (u == 0) {
		fail(s, "\\u0000 in a string");
		return 0;
	}
	if (u >= 0xdc00 && u <= 0xdfff) {
		fail(s, "unpaired surrogate escape in a string");
		return 0;
	}
	if (u < 0xd800 || u > 0xdbff)
		return 6;
	if (avail < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) != 0 ||
	    lo < 0xdc00 || lo > 0xdfff) {
		fail(s, "unpaired surrogate escape in a string");
		return 0;
	}
	return 12;
}

/* The length of one valid UTF-8 sequence (RFC 3629) at p, or 0. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
	unsigned c = p[0], cp, min;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * Bytes that end the fast path inside a string: the quote, a backslash,
 * control characters and everything from 0x80 (UTF-8, checked apart).
 */
static int string_special(unsigned char c)
{
	return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

/* The first special byte at or after pos (or len). */
static size_t string_run(const unsigned char *p, size_t pos, size_t len)
{
#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);

	while (len - pos >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + pos));
		__m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, quote),
		                         _mm_cmpeq_epi8(v, bslash));
		/* v <= 0x1f (unsigned), and the sign bit marks >= 0x80 */
		m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
		m = _mm_or_si128(m, v);
		{
			unsigned bits = (unsigned)_mm_movemask_epi8(m);
			if (bits != 0)
				return pos + (size_t)__builtin_ctz(bits);
		}
		pos += 16;
	}
#endif
	while (pos < len && !string_special(p[pos]))
		pos++;
	return pos;
}

/* After the opening quote; on success pos is after the closing one. */
static int scan_string(scanner *s, int *escaped)
{
	const unsigned char *p = s->p;
	size_t pos = s->pos, len = s->len, n;

	*escaped = 0;
	for (;;) {
		pos = string_run(p, pos, len);
		if (pos >= len) {
			s->pos = pos;
			return fail(s, "unterminated string"), -1;
		}
		if (p[pos] == '"') {
			s->pos = pos + 1;
			return 0;
		}
		s->pos = pos;
		if (p[pos] == '\\') {
			if ((n = escape_len(s, p + pos, len - pos)) == 0)
				return fail(s, "invalid escape in a string"), -1;
			*escaped = 1;
		} else if (p[pos] < 0x20) {
			return fail(s, "control character in a string"), -1;
		} else if ((n = utf8_len(p + pos, len - pos)) == 0) {
			return fail(s, "invalid UTF-8 in a string"), -1;
		}
		pos += n;
	}
}

/* ---- Numbers ------------------------------------------------------------ */

/* Digits from pos; returns how many. */
static size_t digits(scanner *s)
{
	size_t start = s->pos;

	while (s->pos < s->len && s->p[s->pos] >= '0' && s->p[s->pos] <= '9')
		s->pos++;
	return s->pos - start;
}

/*
 * An integer token (no fraction or exponent) as jansson reads it: strtoll
 * range, else "too big integer". digits: the token without its sign.
 */
static int int_value(scanner *s, const unsigned char *d, size_t n, int neg)
{
	unsigned long long v = 0, limit = neg ? (unsigned long long)LLONG_MAX + 1
	                                      : (unsigned long long)LLONG_MAX;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned dig = d[i] - '0';

		if (v > (limit - dig) / 10)
			return fail(s, "integer out of range"), -1;
		v = v * 10 + dig;
	}
	s->value = neg ? (v == 0 ? 0 : -(long long)(v - 1) - 1) : (long long)v;
	return 0;
}

/*
 * Whether a real rounds to infinity (jansson: "real number overflow").
 * m[0..nm) is the mantissa as written (digits, maybe one '.'), `point` the
 * number of digits before the point, exp the exponent. Decided by the
 * decimal exponent of the first significant digit; only exponent 308 is
 * close enough to DBL_MAX to need strtod, on a copy that keeps more
 * significant digits than the overflow threshold (2^1024 - 2^970, 309
 * digits) has, plus a sticky digit for the rest, and no decimal point (so
 * the locale cannot matter).
 */
static int real_overflows(const unsigned char *m, size_t nm, size_t point,
                          long long exp)
{
	char buf[400];
	size_t i = 0, k = 0, before = 0, first;
	long long e10;
	int sticky = 0;

	while (i < nm && (m[i] == '0' || m[i] == '.'))
		before += m[i++] != '.';
	if (i == nm)
		return 0; /* zero */
	first = i;
	e10 = (long long)point - (long long)before - 1 + exp;
	if (e10 != 308)
		return e10 > 308;
	for (i = first; i < nm; i++) {
		if (m[i] == '.')
			continue;
		if (k < 340)
			buf[k++] = (char)m[i];
		else if (m[i] != '0')
			sticky = 1;
	}
	if (sticky)
		buf[k++] = '1';
	/* buf holds d1 d2 ... dk: the value is that integer * 10^(e10-k+1) */
	snprintf(buf + k, sizeof(buf) - k, "e%lld", e10 - (long long)k + 1);
	errno = 0;
	return strtod(buf, NULL) == HUGE_VAL && errno == ERANGE;
}

/* A signed exponent's digits, saturating far beyond any double's range. */
static long long exponent(const unsigned char *p, size_t n, int neg)
{
	long long v = 0;
	size_t i;

	for (i = 0; i < n && v < 1000000000000000LL; i++)
		v = v * 10 + (p[i] - '0');
	return neg ? -v : v;
}

static state scan_number(scanner *s)
{
	const unsigned char *p = s->p;
	size_t start = s->pos, int_start, nint, nexp, mant_end;
	int neg = p[s->pos] == '-', eneg = 0;
	long long exp = 0;

	if (neg)
		s->pos++;
	int_start = s->pos;
	nint = digits(s);
	if (nint == 0)
		return fail(s, "invalid number");
	if (nint > 1 && p[int_start] == '0')
		return fail(s, "invalid number (leading zero)");
	mant_end = s->pos;
	s->kind = '0';
	s->is_int = 1;
	if (s->pos < s->len && p[s->pos] == '.') {
		s->pos++;
		if (digits(s) == 0)
			return fail(s, "invalid number");
		mant_end = s->pos;
		s->is_int = 0;
	}
	if (s->pos < s->len && (p[s->pos] | 0x20) == 'e') {
		s->pos++;
		if (s->pos < s->len && (p[s->pos] == '+' || p[s->pos] == '-'))
			eneg = p[s->pos++] == '-';
		nexp = digits(s);
		if (nexp == 0)
			return fail(s, "invalid number");
		exp = exponent(p + s->pos - nexp, nexp, eneg);
		s->is_int = 0;
	}
	if (s->is_int)
		return int_value(s, p + int_start, nint, neg) ? S_ERROR : S_AFTER;
	if (real_overflows(p + int_start, mant_end - int_start, nint, exp)) {
		s->pos = start;
		return fail(s, "real number overflow");
	}
	return S_AFTER;
}

/* ---- Member names ------------------------------------------------------- */

/* Decode the escape at p into out (1 to 4 bytes); *used: its length. */
static size_t decode_escape(const unsigned char *p, unsigned char out[4],
                            size_t *used)
{
	unsigned u = 0, lo = 0;

	*used = 2;
	switch (p[1]) {
	case 'b': out[0] = '\b'; return 1;
	case 'f': out[0] = '\f'; return 1;
	case 'n': out[0] = '\n'; return 1;
	case 'r': out[0] = '\r'; return 1;
	case 't': out[0] = '\t'; return 1;
	case 'u': break;
	default: out[0] = p[1]; return 1; /* " \ / */
	}
	(void)hex4(p + 2, &u);
	*used = 6;
	if (u >= 0xd800 && u <= 0xdbff) {
		(void)hex4(p + 8, &lo);
		u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
		*used = 12;
	}
	if (u < 0x80) {
		out[0] = (unsigned char)u;
		return 1;
	}
	if (u < 0x800) {
		out[0] = (unsigned char)(0xc0 | u >> 6);
		out[1] = (unsigned char)(0x80 | (u & 0x3f));
		return 2;
	}
	if (u < 0x10000) {
		out[0] = (unsigned char)(0xe0 | u >> 12);
		out[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (u & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | u >> 18);
	out[1] = (unsigned char)(0x80 | ((u >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (u & 0x3f));
	return 4;
}

static size_t decode(char *out, const unsigned char *p, size_t len)
{
	size_t i = 0, o = 0;

	while (i < len) {
		const unsigned char *bs = memchr(p + i, '\\', len - i);
		size_t run = bs != NULL ? (size_t)(bs - (p + i)) : len - i, used;

		memcpy(out + o, p + i, run);
		o += run;
		i += run;
		if (i < len) {
			o += decode_escape(p + i, (unsigned char *)out + o, &used);
			i += used;
		}
	}
	out[o] = '\0';
	return o;
}

/* A cheap hash of a name's decoded bytes: its length, first and last 8. */
static uint32_t name_hash(const unsigned char *k, size_t n)
{
	uint64_t a = 0, b = 0, h;
	size_t i;

	if (n >= 8) {
		memcpy(&a, k, 8);
		memcpy(&b, k + n - 8, 8);
	} else {
		for (i = 0; i < n; i++)
			a |= (uint64_t)k[i] << (8 * i);
	}
	h = (a * 0x9e3779b97f4a7c15ULL) ^ (b * 0xc2b2ae3d27d4eb4fULL) ^ n;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (uint32_t)h;
}

static int same_name(const key_rec *r, const unsigned char *k, size_t n)
{
	char buf[KEY_DECODE_MAX];

	if (!r->escaped)
		return r->len == n && memcmp(r->p, k, n) == 0;
	return decode(buf, r->p, r->len) == n && memcmp(buf, k, n) == 0;
}

static enum field root_field(const unsigned char *k, size_t n)
{
	switch (n) {
	case 2:
		return memcmp(k, "id", 2) == 0 ? F_ID : F_OTHER;
	case 4:
		if (memcmp(k, "name", 4) == 0)
			return F_NAME;
		return memcmp(k, "data", 4) == 0 ? F_DATA : F_OTHER;
	case 9:
		return memcmp(k, "timestamp", 9) == 0 ? F_TIMESTAMP : F_OTHER;
	case 11:
		return memcmp(k, "environment", 11) == 0 ? F_ENVIRONMENT
		                                        : F_OTHER;
	default:
		return F_OTHER;
	}
}

/* A new name in the innermost object: refuse a repeat, note root members. */
static state check_name(scanner *s, const unsigned char *raw, size_t raw_len,
                        int escaped)
{
	char buf[KEY_DECODE_MAX];
	const unsigned char *k = raw;
	size_t n = raw_len, i;
	obj_frame *f;
	uint64_t bit;
	uint32_t h;

	if (escaped) {
		if (raw_len >= KEY_DECODE_MAX) {
			/* longer than any root member's name, even escaped */
			s->dups_unchecked = 1;
			if (s->depth == 1)
				s->field = F_OTHER;
			return S_VALUE;
		}
		n = decode(buf, raw, raw_len);
		k = (const unsigned char *)buf;
	}
	if (s->depth == 1) {
		s->field = root_field(k, n);
		if (s->field != F_OTHER && (s->seen & (1u << s->field)))
			return fail(s, "duplicate member name");
		s->seen |= 1u << s->field;
	}
	if (s->objects > OBJ_FRAMES)
		return S_VALUE; /* untracked: dups_unchecked is set */
	f = &s->frames[s->objects - 1];
	h = name_hash(k, n);
	bit = 1ULL << (h >> 26);
	if (f->bloom & bit) {
		for (i = f->first; i < s->nkeys; i++) {
			if (s->keys[i].hash == h && same_name(&s->keys[i], k, n))
				return fail(s, "duplicate member name");
		}
	}
	f->bloom |= bit;
	if (s->nkeys == KEY_SLOTS) {
		s->dups_unchecked = 1;
		return S_VALUE;
	}
	s->keys[s->nkeys].hash = h;
	s->keys[s->nkeys].escaped = escaped;
	s->keys[s->nkeys].p = raw;
	s->keys[s->nkeys].len = raw_len;
	s->nkeys++;
	return S_VALUE;
}

/* ---- Containers --------------------------------------------------------- */

static int top_is_object(const scanner *s)
{
	int d = s->depth - 1;

	return (int)((s->is_obj[d / 64] >> (d % 64)) & 1);
}

/* At the closing bracket of the innermost container. */
static void close_container(scanner *s)
{
	if (top_is_object(s)) {
		if (s->objects <= OBJ_FRAMES)
			s->nkeys = s->frames[s->objects - 1].first;
		s->objects--;
		s->kind = '{';
	} else {
		s->kind = '[';
	}
	s->depth--;
	s->pos++;
}

static state open_container(scanner *s, int object)
{
	int d = s->depth++;
	uint64_t bit = 1ULL << (d % 64);

	if (object) {
		s->is_obj[d / 64] |= bit;
		if (++s->objects <= OBJ_FRAMES) {
			s->frames[s->objects - 1].bloom = 0;
			s->frames[s->objects - 1].first = s->nkeys;
		} else {
			s->dups_unchecked = 1;
		}
	} else {
		s->is_obj[d / 64] &= ~bit;
	}
	s->pos++;
	skip_ws(s);
	if (s->pos < s->len && s->p[s->pos] == (object ? '}' : ']')) {
		close_container(s);
		return S_AFTER;
	}
	return object ? S_KEY : S_VALUE;
}

/* ---- The grammar -------------------------------------------------------- */

static state value(scanner *s)
{
	int escaped;

	skip_ws(s);
	if (s->pos >= s->len)
		return fail(s, "unexpected end of the payload");
	if (s->depth >= MAX_DEPTH)
		return fail(s, "nested too deeply");
	if (s->depth == 1)
		s->fields[s->field].start = s->pos;
	switch (s->p[s->pos]) {
	case '"':
		s->pos++;
		if (scan_string(s, &escaped) != 0)
			return S_ERROR;
		s->kind = '"';
		s->escaped = escaped;
		return S_AFTER;
	case '{':
		return open_container(s, 1);
	case '[':
		return open_container(s, 0);
	case 't':
		return literal(s, "true", 4, 't');
	case 'f':
		return literal(s, "false", 5, 't');
	case 'n':
		return literal(s, "null", 4, 'n');
	case '-': case '0': case '1': case '2': case '3': case '4': case '5':
	case '6': case '7': case '8': case '9':
		return scan_number(s);
	default:
		return fail(s, "unexpected character");
	}
}

static state key(scanner *s)
{
	size_t start;
	int escaped;

	skip_ws(s);
	if (s->pos >= s->len || s->p[s->pos] != '"')
		return fail(s, "expected a member name");
	start = ++s->pos;
	if (scan_string(s, &escaped) != 0)
		return S_ERROR;
	if (check_name(s, s->p + start, s->pos - 1 - start, escaped) != S_VALUE)
		return S_ERROR;
	skip_ws(s);
	if (s->pos >= s->len || s->p[s->pos] != ':')
		return fail(s, "expected ':'");
	s->pos++;
	return S_VALUE;
}

/* A root member's value just ended: keep what the envelope needs. */
static void root_value(scanner *s)
{
	field_value *f = &s->fields[s->field];

	f->kind = s->kind;
	f->len = s->pos - f->start;
	f->escaped = s->escaped;
	f->is_int = s->is_int;
	f->value = s->value;
}

static state after(scanner *s)
{
	if (s->depth == 0) {
		skip_ws(s);
		return s->pos == s->len ? S_DONE
		                        : fail(s, "data after the JSON object");
	}
	if (s->depth == 1)
		root_value(s);
	skip_ws(s);
	if (s->pos >= s->len)
		return fail(s, "unexpected end of the payload");
	switch (s->p[s->pos]) {
	case ',':
		s->pos++;
		return top_is_object(s) ? S_KEY : S_VALUE;
	case '}':
		if (!top_is_object(s))
			return fail(s, "'}' closes an array");
		close_container(s);
		return S_AFTER;
	case ']':
		if (top_is_object(s))
			return fail(s, "']' closes an object");
		close_container(s);
		return S_AFTER;
	default:
		return fail(s, top_is_object(s) ? "expected ',' or '}'"
		                                : "expected ',' or ']'");
	}
}

static int run(scanner *s)
{
	state st;

	skip_ws(s);
	if (s->pos >= s->len || s->p[s->pos] != '{')
		return fail(s, "not a JSON object"), -1;
	st = open_container(s, 1);
	for (;;) {
		switch (st) {
		case S_VALUE:
			st = value(s);
			break;
		case S_AFTER:
			st = after(s);
			break;
		case S_KEY:
			st = key(s);
			break;
		case S_DONE:
			return 0;
		default:
			return -1;
		}
	}
}

/* ---- The envelope ------------------------------------------------------- */

static flock__jstr string_field(const scanner *s, const field_value *f)
{
	flock__jstr j = {NULL, 0, 0};

	if (f->kind == '"') {
		j.p = (const char *)s->p + f->start + 1;
		j.len = f->len - 2;
		j.escaped = f->escaped;
	}
	return j;
}

/* The members' types, in the order docs/webhooks.md lists the checks. */
static int check_fields(const scanner *s, flock__envelope *env)
{
	const field_value *id = &s->fields[F_ID], *name = &s->fields[F_NAME];
	const field_value *ts = &s->fields[F_TIMESTAMP];
	const field_value *e = &s->fields[F_ENVIRONMENT];
	const field_value *data = &s->fields[F_DATA];

	if (id->kind != '"' || id->len == 2)
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload has no \"id\" string");
	if (name->kind != '"' || name->len == 2)
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload has no \"name\" string");
	if (ts->kind == 0)
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload has no \"timestamp\"");
	if (ts->kind != '0' || !ts->is_int || ts->value < 0)
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload \"timestamp\" is not a "
		                        "non-negative integer (ms)");
	if (e->kind != 0 && e->kind != 'n' && e->kind != '"')
		return flock__error_set(
		        FLOCK_EPAYLOAD,
		        "payload \"environment\" is not a string");
	if (data->kind != '{')
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload has no \"data\" object");
	env->id = string_field(s, id);
	env->name = string_field(s, name);
	env->environment = string_field(s, e);
	env->timestamp_ms = ts->value;
	env->data = (const char *)s->p + data->start;
	env->data_len = data->len;
	env->dups_unchecked = s->dups_unchecked;
	return 0;
}

int flock__envelope_scan(flock__envelope *env, const char *body, size_t len)
{
	scanner s;

	memset(env, 0, sizeof(*env));
	if (len == 0)
		return flock__error_set(FLOCK_EPAYLOAD, "payload is empty");
	/* Only the members read below need zeroing, not the tables. */
	s.p = (const unsigned char *)body;
	s.len = len;
	s.pos = 0;
	s.depth = 0;
	s.objects = 0;
	s.nkeys = 0;
	s.dups_unchecked = 0;
	s.field = F_OTHER;
	s.seen = 0;
	memset(s.fields, 0, sizeof(s.fields));
	s.kind = 0;
	s.escaped = 0;
	s.is_int = 0;
	s.value = 0;
	s.why = NULL;
	s.err_pos = 0;
	if (run(&s) != 0) {
		if (s.err_pos < len && body[s.err_pos] == '\0')
			return flock__error_set(FLOCK_EPAYLOAD,
			                        "payload contains a NUL byte "
			                        "(byte %zu)",
			                        s.err_pos);
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload is not JSON: %s (byte %zu)",
		                        s.why, s.err_pos);
	}
	return check_fields(&s, env);
}

int flock__envelope_check_dups(const char *body, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);

	if (root != NULL) {
		json_decref(root);
		return 0;
	}
	if (flock__json_oom(&jerr))
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	return flock__error_set(FLOCK_EPAYLOAD,
	                        "payload is not JSON (line %d, column %d): %s",
	                        jerr.line, jerr.column, jerr.text);
}

size_t flock__jstr_decode(char *out, const flock__jstr *s)
{
	if (!s->escaped) {
		memcpy(out, s->p, s->len);
		out[s->len] = '\0';
		return s->len;
	}
	return decode(out, (const unsigned char *)s->p, s->len);
}

int flock__jstr_equals(const flock__jstr *s, const char *text)
{
	const unsigned char *p = (const unsigned char *)s->p;
	size_t n = strlen(text), i = 0, o = 0;

	if (!s->escaped)
		return s->len == n && memcmp(s->p, text, n) == 0;
	while (i < s->len) {
		unsigned char b[4];
		size_t used = 1, k = 1;

		if (p[i] == '\\')
			k = decode_escape(p + i, b, &used);
		else
			b[0] = p[i];
		if (o + k > n || memcmp(text + o, b, k) != 0)
			return 0;
		o += k;
		i += used;
	}
	return o == n;
}
