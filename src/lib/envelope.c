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

/* The root members the envelope reads (index 0: any other member). */
enum field { F_OTHER, F_ID, F_NAME, F_TIMESTAMP, F_ENVIRONMENT, F_DATA, F_N };

static const flock__jname envelope_names[F_N - 1] = {{"id", 2},
                                                     {"name", 4},
                                                     {"timestamp", 9},
                                                     {"environment", 11},
                                                     {"data", 4}};

/* What one root member's value was. */
typedef struct {
	int kind; /* 0 absent, '"', '{', '[', 't' (true/false), 'n', '0' */
	size_t start, len;
	int escaped;     /* strings */
	int is_int;      /* numbers: no fraction or exponent */
	long long value; /* integers */
} field_value;

#define FIELDS_MAX (FLOCK__SCAN_NAMES_MAX + 1)

typedef struct {
	const unsigned char *p;
	size_t len;
	int objects; /* objects open */
	uint64_t is_obj[(MAX_DEPTH + 63) / 64];
	obj_frame frames[OBJ_FRAMES];
	key_rec keys[KEY_SLOTS];
	size_t nkeys;
	int dups_unchecked;
	const flock__jname *names; /* the root members to record */
	size_t nnames;
	int field;     /* the root member being read: 1 + its index, or 0 */
	unsigned seen; /* root members met, one bit per field */
	field_value fields[FIELDS_MAX];
	/* the last value's kind, and for a scalar what it was */
	int kind;
	int escaped;
	int is_int;
	long long value;
	const char *why; /* the first error */
	size_t err_pos;
} scanner;

/* Record the first error; returns 0, the "no position" of the helpers. */
static size_t fail_at(scanner *s, size_t pos, const char *why)
{
	if (s->why == NULL) {
		s->why = why;
		s->err_pos = pos;
	}
	return 0;
}

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Past any whitespace; the test before the loop keeps compact JSON fast. */
static inline size_t skip_ws(const unsigned char *p, size_t pos, size_t len)
{
	while (pos < len && p[pos] <= ' ' && is_ws(p[pos]))
		pos++;
	return pos;
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
static size_t escape_len(scanner *s, size_t pos)
{
	const unsigned char *p = s->p + pos;
	size_t avail = s->len - pos;
	unsigned u, lo;

	if (avail < 2)
		return fail_at(s, pos, "unterminated string");
	switch (p[1]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
	case 't':
		return 2;
	case 'u':
		break;
	default:
		return fail_at(s, pos, "invalid escape in a string");
	}
	if (avail < 6 || hex4(p + 2, &u) != 0)
		return fail_at(s, pos, "invalid \\u escape in a string");
	if (u == 0)
		return fail_at(s, pos, "\\u0000 in a string");
	if (u >= 0xdc00 && u <= 0xdfff)
		return fail_at(s, pos, "unpaired surrogate escape in a string");
	if (u < 0xd800 || u > 0xdbff)
		return 6;
	if (avail < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) != 0 ||
	    lo < 0xdc00 || lo > 0xdfff)
		return fail_at(s, pos, "unpaired surrogate escape in a string");
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
static inline __attribute__((always_inline)) size_t
string_run(const unsigned char *p, size_t pos, size_t len)
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

/*
 * The rest of a string from its first special byte at pos: the position
 * after the closing quote, or 0. Escapes, control characters and UTF-8
 * sequences are checked one by one, plain runs skipped by string_run().
 */
static size_t string_rest(scanner *s, size_t pos, int *escaped)
{
	const unsigned char *p = s->p;
	size_t len = s->len, n;

	for (;;) {
		if (pos >= len)
			return fail_at(s, pos, "unterminated string");
		if (p[pos] == '"')
			return pos + 1;
		if (p[pos] == '\\') {
			if ((n = escape_len(s, pos)) == 0)
				return 0;
			*escaped = 1;
		} else if (p[pos] < 0x20) {
			return fail_at(s, pos, "control character in a string");
		} else if ((n = utf8_len(p + pos, len - pos)) == 0) {
			return fail_at(s, pos, "invalid UTF-8 in a string");
		}
		pos = string_run(p, pos + n, len);
	}
}

/*
 * From after the opening quote: the position after the closing one, or 0.
 * Inlined: most strings are plain and end at the first special byte.
 */
static inline __attribute__((always_inline)) size_t
scan_string(scanner *s, size_t pos, int *escaped)
{
	pos = string_run(s->p, pos, s->len);
	if (pos < s->len && s->p[pos] == '"')
		return pos + 1;
	return string_rest(s, pos, escaped);
}

/* ---- Numbers ------------------------------------------------------------ */

static size_t digits(const unsigned char *p, size_t pos, size_t len)
{
	while (pos < len && p[pos] >= '0' && p[pos] <= '9')
		pos++;
	return pos;
}

/*
 * An integer token (no fraction or exponent) as jansson reads it: within
 * strtoll's range, else "too big integer". d[0..n): the digits.
 */
static int int_value(long long *out, const unsigned char *d, size_t n, int neg)
{
	unsigned long long v = 0, limit = neg ? (unsigned long long)LLONG_MAX + 1
	                                      : (unsigned long long)LLONG_MAX;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned dig = d[i] - '0';

		if (v > (limit - dig) / 10)
			return -1;
		v = v * 10 + dig;
	}
	*out = neg ? (v == 0 ? 0 : -(long long)(v - 1) - 1) : (long long)v;
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

/* From a '-' or a digit: the position after the number, or 0. */
static size_t scan_number(scanner *s, size_t start)
{
	const unsigned char *p = s->p;
	size_t len = s->len, pos = start, int_start, int_end, mant_end, e;
	int neg = p[pos] == '-', eneg = 0;
	long long exp = 0;

	if (neg)
		pos++;
	int_start = pos;
	pos = int_end = mant_end = digits(p, pos, len);
	if (pos == int_start)
		return fail_at(s, start, "invalid number");
	if (pos - int_start > 1 && p[int_start] == '0')
		return fail_at(s, start, "invalid number (leading zero)");
	s->kind = '0';
	s->is_int = 1;
	if (pos < len && p[pos] == '.') {
		mant_end = digits(p, pos + 1, len);
		if (mant_end == pos + 1)
			return fail_at(s, start, "invalid number");
		pos = mant_end;
		s->is_int = 0;
	}
	if (pos < len && (p[pos] | 0x20) == 'e') {
		pos++;
		if (pos < len && (p[pos] == '+' || p[pos] == '-'))
			eneg = p[pos++] == '-';
		e = digits(p, pos, len);
		if (e == pos)
			return fail_at(s, start, "invalid number");
		exp = exponent(p + pos, e - pos, eneg);
		pos = e;
		s->is_int = 0;
	}
	if (s->is_int) {
		if (int_value(&s->value, p + int_start, int_end - int_start,
		              neg) != 0)
			return fail_at(s, start, "integer out of range");
	} else if (real_overflows(p + int_start, mant_end - int_start,
	                          int_end - int_start, exp)) {
		return fail_at(s, start, "real number overflow");
	}
	return pos;
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

/* Up to 8 bytes as an integer; n < 8. Reads only k[0..n). */
static uint64_t load_short(const unsigned char *k, size_t n)
{
	uint32_t lo = 0, hi = 0;

	if (n >= 4) {
		memcpy(&lo, k, 4);
		memcpy(&hi, k + n - 4, 4);
	} else if (n > 0) {
		lo = (uint32_t)k[0] | (uint32_t)k[n / 2] << 8 |
		     (uint32_t)k[n - 1] << 16;
	}
	return (uint64_t)hi << 32 | lo;
}

/*
 * A cheap hash of a name's decoded bytes: its length and last 8 bytes
 * (names of one object share prefixes, "referredBy", "referredById",
 * "referredByReferralId", more often than endings). A collision costs only
 * an exact comparison.
 */
static inline __attribute__((always_inline)) uint32_t
name_hash(const unsigned char *k, size_t n)
{
	uint64_t a;

	if (n >= 8)
		memcpy(&a, k + n - 8, 8);
	else
		a = load_short(k, n);
	return (uint32_t)(((a ^ n) * 0x9e3779b97f4a7c15ULL) >> 32);
}

static int same_name(const key_rec *r, const unsigned char *k, size_t n)
{
	char buf[KEY_DECODE_MAX];

	if (!r->escaped)
		return r->len == n && memcmp(r->p, k, n) == 0;
	return decode(buf, r->p, r->len) == n && memcmp(buf, k, n) == 0;
}

/* 1 + the index of the root member named k[0..n) in s->names, or 0. */
static int root_field(const scanner *s, const unsigned char *k, size_t n)
{
	size_t i;

	for (i = 0; i < s->nnames; i++) {
		if (s->names[i].len == n && s->names[i].name[0] == (char)k[0] &&
		    memcmp(s->names[i].name, k, n) == 0)
			return (int)i + 1;
	}
	return 0;
}

/* A repeated name: report it at its opening quote. */
static int duplicate(scanner *s, const unsigned char *raw)
{
	fail_at(s, (size_t)(raw - s->p) - 1, "duplicate member name");
	return -1;
}

/*
 * Add a name (k[0..n) decoded; raw[0..raw_len) as in the body) to the
 * innermost object's frame f, refusing a repeat. 0 or -1.
 */
static inline __attribute__((always_inline)) int
track_name(scanner *s, obj_frame *f, const unsigned char *k, size_t n,
           const unsigned char *raw, size_t raw_len, int escaped)
{
	uint32_t h = name_hash(k, n);
	uint64_t bit = 1ULL << (h >> 26);
	key_rec *r;
	size_t i;

	if (f->bloom & bit) {
		for (i = f->first; i < s->nkeys; i++) {
			if (s->keys[i].hash == h && same_name(&s->keys[i], k, n))
				return duplicate(s, raw);
		}
	}
	f->bloom |= bit;
	if (s->nkeys == KEY_SLOTS) {
		s->dups_unchecked = 1;
		return 0;
	}
	r = &s->keys[s->nkeys++];
	r->hash = h;
	r->escaped = escaped;
	r->p = raw;
	r->len = raw_len;
	return 0;
}

/*
 * A name of the root object, or one with escapes: decode it first, and
 * note which root member it is. f NULL: an untracked object.
 */
static int check_name_slow(scanner *s, obj_frame *f, int root,
                           const unsigned char *raw, size_t raw_len,
                           int escaped)
{
	char buf[KEY_DECODE_MAX];
	const unsigned char *k = raw;
	size_t n = raw_len;

	if (escaped) {
		if (raw_len >= KEY_DECODE_MAX) {
			/* longer than any root member's name, even escaped */
			s->dups_unchecked = 1;
			if (root)
				s->field = 0;
			return 0;
		}
		n = decode(buf, raw, raw_len);
		k = (const unsigned char *)buf;
	}
	if (root) {
		s->field = root_field(s, k, n);
		if (s->field != 0) {
			/* a repeat is caught here; no other name equals it */
			if (s->seen & (1u << s->field))
				return duplicate(s, raw);
			s->seen |= 1u << s->field;
			return 0;
		}
	}
	return f != NULL ? track_name(s, f, k, n, raw, raw_len, escaped) : 0;
}

/* A new name in the innermost object (its frame f). 0 or -1. */
static inline __attribute__((always_inline)) int check_name(scanner *s, obj_frame *f, int root,
                             const unsigned char *raw, size_t raw_len,
                             int escaped)
{
	if (escaped || root)
		return check_name_slow(s, f, root, raw, raw_len, escaped);
	return f != NULL ? track_name(s, f, raw, raw_len, raw, raw_len, 0) : 0;
}

/* ---- Containers --------------------------------------------------------- */

static int is_object_at(const scanner *s, int depth)
{
	int d = depth - 1;

	return (int)((s->is_obj[d / 64] >> (d % 64)) & 1);
}

/* The frame of the innermost object, or NULL when it is untracked. */
static obj_frame *frame_of(scanner *s)
{
	return s->objects >= 1 && s->objects <= OBJ_FRAMES
	               ? &s->frames[s->objects - 1]
	               : NULL;
}

/* A container opens at depth + 1. */
static void open_container(scanner *s, int depth, int object)
{
	uint64_t bit = 1ULL << (depth % 64);

	if (!object) {
		s->is_obj[depth / 64] &= ~bit;
		return;
	}
	s->is_obj[depth / 64] |= bit;
	if (++s->objects <= OBJ_FRAMES) {
		s->frames[s->objects - 1].bloom = 0;
		s->frames[s->objects - 1].first = s->nkeys;
	} else {
		s->dups_unchecked = 1;
	}
}

/* Close the container at depth; returns whether its parent is an object. */
static int close_container(scanner *s, int depth)
{
	if (is_object_at(s, depth)) {
		if (s->objects <= OBJ_FRAMES)
			s->nkeys = s->frames[s->objects - 1].first;
		s->objects--;
		s->kind = '{';
	} else {
		s->kind = '[';
	}
	return depth > 1 && is_object_at(s, depth - 1);
}

/* A root member's value just ended at pos: keep what the envelope needs. */
static void root_value(scanner *s, size_t pos)
{
	field_value *f = &s->fields[s->field];

	f->kind = s->kind;
	f->len = pos - f->start;
	f->escaped = s->escaped;
	f->is_int = s->is_int;
	f->value = s->value;
}

static size_t literal(scanner *s, size_t pos, const char *word, size_t n,
                      int kind)
{
	if (s->len - pos < n || memcmp(s->p + pos, word, n) != 0)
		return fail_at(s, pos, "invalid literal");
	s->kind = kind;
	return pos + n;
}

/*
 * The byte at pos after any whitespace, pos moved to it; 0 at the end.
 * A macro, not a function taking &pos: pos must stay in a register.
 */
#define PEEK()                                                                 \
	(pos < len && p[pos] > ' '                                             \
	         ? p[pos]                                                      \
	         : ((pos = skip_ws(p, pos, len)) < len ? p[pos] : 0))

/* Past the byte `ch`, whitespace before it allowed; else FAIL(why). */
#define EXPECT(ch, why)                                                        \
	do {                                                                   \
		if (pos >= len || p[pos] != (ch)) {                            \
			if (PEEK() != (ch))                                    \
				FAIL(pos, why);                                \
		}                                                              \
		pos++;                                                         \
	} while (0)

/* ---- The grammar -------------------------------------------------------- */

#define FAIL(at, why)                                                          \
	do {                                                                   \
		fail_at(s, at, why);                                           \
		return -1;                                                     \
	} while (0)

/*
 * The whole grammar in one loop, position, bounds and depth in registers:
 * most of a webhook is short strings and punctuation, and a call per
 * token through a state struct cost three times the bytes themselves.
 * `in_obj` says whether the innermost container is an object, `frame` is
 * the innermost object's name table; the container stack itself
 * (s->is_obj, s->frames) is touched only on { [ ] }. A NUL byte reads as
 * 0, the end: it is refused wherever it stands. 0 or -1.
 */
static int run(scanner *s)
{
	const unsigned char *p = s->p;
	const size_t len = s->len;
	size_t pos = 0, start;
	int in_obj = 1, escaped, depth = 0;
	obj_frame *frame;
	unsigned char c;

	if (PEEK() != '{')
		FAIL(pos, "not a JSON object");
	open_container(s, depth++, 1);
	frame = frame_of(s);
	pos++;
	if (PEEK() == '}') {
		in_obj = close_container(s, depth--);
		pos++;
		goto after;
	}
key:
	EXPECT('"', "expected a member name");
	start = pos;
	escaped = 0;
	if ((pos = scan_string(s, pos, &escaped)) == 0 ||
	    check_name(s, frame, depth == 1, p + start, pos - 1 - start,
	               escaped) != 0)
		return -1;
	EXPECT(':', "expected ':'");
value:
	c = PEEK();
	if (depth >= MAX_DEPTH)
		FAIL(pos, "nested too deeply");
	if (depth == 1)
		s->fields[s->field].start = pos;
	switch (c) {
	case '"':
		escaped = 0;
		if ((pos = scan_string(s, pos + 1, &escaped)) == 0)
			return -1;
		s->kind = '"';
		s->escaped = escaped;
		goto after;
	case '{':
	case '[':
		in_obj = c == '{';
		open_container(s, depth++, in_obj);
		if (in_obj)
			frame = frame_of(s);
		pos++;
		if (PEEK() == (in_obj ? '}' : ']')) {
			in_obj = close_container(s, depth--);
			frame = frame_of(s);
			pos++;
			goto after;
		}
		if (in_obj)
			goto key;
		goto value;
	case 't':
		pos = literal(s, pos, "true", 4, 't');
		break;
	case 'f':
		pos = literal(s, pos, "false", 5, 't');
		break;
	case 'n':
		pos = literal(s, pos, "null", 4, 'n');
		break;
	case '-': case '0': case '1': case '2': case '3': case '4': case '5':
	case '6': case '7': case '8': case '9':
		pos = scan_number(s, pos);
		break;
	case 0:
		FAIL(pos, "unexpected end of the payload");
	default:
		FAIL(pos, "unexpected character");
	}
	if (pos == 0)
		return -1;
after:
	if (depth == 0) {
		if (PEEK() != 0 || pos != len)
			FAIL(pos, "data after the JSON object");
		return 0;
	}
	if (depth == 1)
		root_value(s, pos);
	c = PEEK();
	if (c == ',') {
		pos++;
		if (in_obj)
			goto key;
		goto value;
	}
	if (c != (in_obj ? '}' : ']'))
		FAIL(pos, c == 0 ? "unexpected end of the payload"
		         : in_obj ? "expected ',' or '}'" : "expected ',' or ']'");
	in_obj = close_container(s, depth--);
	frame = frame_of(s);
	pos++;
	goto after;
}

#undef FAIL
#undef PEEK
#undef EXPECT

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
	/* a non-negative integer token: its text is the canonical decimal,
	 * bar "-0" */
	env->timestamp_text = (const char *)s->p + ts->start;
	env->timestamp_len = ts->len;
	if (env->timestamp_text[0] == '-') {
		env->timestamp_text = "0";
		env->timestamp_len = 1;
	}
	env->data = (const char *)s->p + data->start;
	env->data_len = data->len;
	env->dups_unchecked = s->dups_unchecked;
	return 0;
}

/* Not the name tables: only the entries in use are ever read. */
static void scanner_init(scanner *s, const char *body, size_t len,
                         const flock__jname *names, size_t nnames)
{
	s->p = (const unsigned char *)body;
	s->len = len;
	s->objects = 0;
	memset(s->is_obj, 0, sizeof(s->is_obj));
	s->nkeys = 0;
	s->dups_unchecked = 0;
	s->names = names;
	s->nnames = nnames;
	s->field = 0;
	s->seen = 0;
	memset(s->fields, 0, (nnames + 1) * sizeof(s->fields[0]));
	s->kind = 0;
	s->escaped = 0;
	s->is_int = 0;
	s->value = 0;
	s->why = NULL;
	s->err_pos = 0;
}

int flock__envelope_scan(flock__envelope *env, const char *body, size_t len)
{
	scanner s;

	memset(env, 0, sizeof(*env));
	if (len == 0)
		return flock__error_set(FLOCK_EPAYLOAD, "payload is empty");
	scanner_init(&s, body, len, envelope_names, F_N - 1);
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

int flock__json_scan(flock__jvalue *out, const char *body, size_t len,
                     const flock__jname *names, size_t nnames)
{
	scanner s;
	size_t i;

	if (len == 0 || nnames > FLOCK__SCAN_NAMES_MAX)
		return -1;
	scanner_init(&s, body, len, names, nnames);
	if (run(&s) != 0)
		return -1;
	for (i = 0; i < nnames; i++) {
		const field_value *f = &s.fields[i + 1];

		out[i].kind = f->kind;
		out[i].p = f->kind ? body + f->start : NULL;
		out[i].len = f->kind ? f->len : 0;
		out[i].escaped = f->escaped;
		out[i].is_int = f->is_int;
		out[i].value = f->value;
	}
	return 0;
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
