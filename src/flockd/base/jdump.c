/*
 * flockd: compact JSON serialiser (see jdump.h).
 */
#include "base/jdump.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/*
 * The output is a flock__buf. The hot paths test the room left inline and
 * write into it directly (flock__buf_put would re-check and NUL-terminate
 * on every fragment); fd_jdump terminates the text once, at the end.
 */
static inline int room(flock__buf *b, size_t n)
{
	return b->cap - b->len >= n + 1 ? 0 : flock__buf_reserve(b, n);
}

static inline void put(flock__buf *b, const char *s, size_t n)
{
	if (room(b, n) < 0)
		return;
	memcpy(b->ptr + b->len, s, n);
	b->len += n;
}

/* 1 for the bytes a JSON string must escape: controls, '"' and '\\'. */
static const unsigned char must_escape[256] = {
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00-0x0f */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10-0x1f */
        ['"'] = 1,
        ['\\'] = 1};

#if defined(__SSE2__)
/* Bit k set where byte k of the 16 at p must be escaped. */
static inline unsigned hits16(const unsigned char *p)
{
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	/* v <= 0x1f (unsigned) exactly where min(v, 0x1f) == v. */
	__m128i hit = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v),
	                           _mm_or_si128(_mm_cmpeq_epi8(v, quote),
	                                        _mm_cmpeq_epi8(v, bslash)));

	return (unsigned)_mm_movemask_epi8(hit);
}
#endif

/* Length of the prefix of s that needs no escaping, 16 bytes at a time
 * with SSE2 (every x86-64 has it): a tail of a string of 16 bytes or more
 * is read as the string's last 16 bytes; shorter strings (most keys and
 * ids) go byte by byte through a table. Without SSE2, eight bytes at a
 * time in a word, the rest through the table. */
static size_t plain_run(const unsigned char *s, size_t n)
{
	size_t i = 0;
#if defined(__SSE2__)
	unsigned mask;

	for (; i + 16 <= n; i += 16)
		if ((mask = hits16(s + i)) != 0)
			return i + (size_t)__builtin_ctz(mask);
	if (i < n && n >= 16) {
		/* Bytes i..n-1 are bits 16-(n-i)..15 of the last 16. */
		mask = hits16(s + n - 16) >> (16 - (n - i));
		return mask ? i + (size_t)__builtin_ctz(mask) : n;
	}
#else
	/* Eight bytes at a time in a word; a possible hit is decided by the
	 * byte loop below. */
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;

	while (i + 8 <= n) {
		uint64_t v, q, bs;

		memcpy(&v, s + i, 8);
		q = v ^ (ones * '"');
		bs = v ^ (ones * '\\');
		if (((v - ones * 0x20) & ~v & highs) |
		    ((q - ones) & ~q & highs) | ((bs - ones) & ~bs & highs))
			break;
		i += 8;
	}
#endif
	while (i < n && !must_escape[s[i]])
		i++;
	return i;
}

/* The escape of ch (a byte plain_run stopped at) at o: 2 or 6 bytes. */
static size_t escape(char *o, unsigned char ch)
{
	static const char hex[] = "0123456789ABCDEF";

	o[0] = '\\';
	switch (ch) {
	case '"':
	case '\\':
		o[1] = (char)ch;
		return 2;
	case '\b':
		o[1] = 'b';
		return 2;
	case '\f':
		o[1] = 'f';
		return 2;
	case '\n':
		o[1] = 'n';
		return 2;
	case '\r':
		o[1] = 'r';
		return 2;
	case '\t':
		o[1] = 't';
		return 2;
	}
	memcpy(o + 1, "u00", 3);
	o[4] = hex[ch >> 4];
	o[5] = hex[ch & 15];
	return 6;
}

static void put_string(flock__buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run;

	/* Worst case 6 bytes per input byte, plus the quotes. */
	if (room(b, 6 * n + 2) < 0)
		return;
	b->ptr[b->len++] = '"';
	while (i < n) {
		run = plain_run(u + i, n - i);
		memcpy(b->ptr + b->len, s + i, run);
		b->len += run;
		i += run;
		if (i == n)
			break;
		b->len += escape(b->ptr + b->len, u[i++]);
	}
	b->ptr[b->len++] = '"';
}

static int dump(flock__buf *b, const json_t *v, int depth);

static int dump_object(flock__buf *b, const json_t *v, int depth)
{
	void *it = json_object_iter((json_t *)v);
	int first = 1;

	put(b, "{", 1);
	for (; it; it = json_object_iter_next((json_t *)v, it)) {
		if (!first)
			put(b, ",", 1);
		first = 0;
		put_string(b, json_object_iter_key(it),
		           json_object_iter_key_len(it));
		put(b, ":", 1);
		if (dump(b, json_object_iter_value(it), depth + 1) < 0)
			return -1;
	}
	put(b, "}", 1);
	return 0;
}

static int dump_array(flock__buf *b, const json_t *v, int depth)
{
	size_t i, size = json_array_size(v);

	put(b, "[", 1);
	for (i = 0; i < size; i++) {
		if (i)
			put(b, ",", 1);
		if (dump(b, json_array_get(v, i), depth + 1) < 0)
			return -1;
	}
	put(b, "]", 1);
	return 0;
}

/*
 * A double as JavaScript's Number.prototype.toString writes it (what
 * JSON.stringify gives): the fewest significant digits that read back as
 * the same double (%.*e from 1 to 17 digits, the first that strtod
 * returns equal), placed as JavaScript places them: plain from 1e-6 up
 * to below 1e21, else with an exponent ("1e+21", "1.5e-7"). 9.99 is
 * "9.99", 100.0 is "100", 0.1 is "0.1". One departure: a whole number
 * of 2^63 or more is written with an exponent ("1e+19", JavaScript
 * "10000000000000000000"), since plain digits past 64 bits are an
 * integer jansson refuses. Returns the length, or -1 for a value JSON
 * cannot hold (NaN, infinities).
 */
int fd_jdump_double(char out[32], double d)
{
	char e[40], digits[20];
	int prec, k = 0, n, len = 0, i;
	const char *p;
	char *end;

	if (d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308)
		return -1;
	if (d == 0) {
		memcpy(out, "0", 2);
		return 1;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, d);
		if (strtod(e, NULL) == d)
			break;
	}
	/* e: [-]D[.DDD]e(+|-)XX */
	p = e;
	if (*p == '-') {
		out[len++] = '-';
		p++;
	}
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && k < (int)sizeof(digits) - 1)
			digits[k++] = *p;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	n = (int)strtol(p + 1, &end, 10) + 1; /* value = 0.DIGITS x 10^n */
	/* An integer past 64 bits in plain digits is what jansson (and so
	 * flockd, reading what it stored) refuses: those take the exponent
	 * form, where JavaScript writes digits up to 1e21. */
	if (k <= n && n <= 21 &&
	    (d < 9223372036854775808.0 && d > -9223372036854775808.0)) {
		memcpy(out + len, digits, (size_t)k);
		len += k;
		for (i = k; i < n; i++)
			out[len++] = '0';
	} else if (0 < n && n < k && n <= 21) {
		memcpy(out + len, digits, (size_t)n);
		len += n;
		out[len++] = '.';
		memcpy(out + len, digits + n, (size_t)(k - n));
		len += k - n;
	} else if (-6 < n && n <= 0) {
		out[len++] = '0';
		out[len++] = '.';
		for (i = 0; i < -n; i++)
			out[len++] = '0';
		memcpy(out + len, digits, (size_t)k);
		len += k;
	} else {
		out[len++] = digits[0];
		if (k > 1) {
			out[len++] = '.';
			memcpy(out + len, digits + 1, (size_t)(k - 1));
			len += k - 1;
		}
		len += snprintf(out + len, 32 - (size_t)len, "e%c%d",
		                n - 1 < 0 ? '-' : '+',
		                n - 1 < 0 ? 1 - n : n - 1);
	}
	out[len] = '\0';
	return len;
}

int fd_jdump_int(char out[24], int64_t i)
{
	/* The magnitude as unsigned: -INT64_MIN does not fit an int64_t. */
	uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
	char tmp[24];
	int n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (i < 0)
		out[len++] = '-';
	while (n)
		out[len++] = tmp[--n];
	out[len] = '\0';
	return len;
}

static int dump_real(flock__buf *b, const json_t *v)
{
	char num[32];
	int n = fd_jdump_double(num, json_real_value(v));

	if (n < 0)
		return -1;
	put(b, num, (size_t)n);
	return 0;
}

static int dump(flock__buf *b, const json_t *v, int depth)
{
	char num[64];
	int n;

	/* Deeper than anything flockd takes in (FD_JSON_MAX_DEPTH) plus
	 * the envelopes it wraps around it: only data stored by an older
	 * flockd. Written as null, so the answer still goes out whole. */
	if (depth > FD_JDUMP_MAX_DEPTH) {
		put(b, "null", 4);
		return 0;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return dump_object(b, v, depth);
	case JSON_ARRAY:
		return dump_array(b, v, depth);
	case JSON_STRING:
		put_string(b, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_INTEGER:
		n = fd_jdump_int(num, (int64_t)json_integer_value(v));
		put(b, num, (size_t)n);
		return 0;
	case JSON_REAL:
		return dump_real(b, v);
	case JSON_TRUE:
		put(b, "true", 4);
		return 0;
	case JSON_FALSE:
		put(b, "false", 5);
		return 0;
	case JSON_NULL:
		put(b, "null", 4);
		return 0;
	}
	return -1;
}

int fd_jdump_append(flock__buf *b, const json_t *v)
{
	if (!v || room(b, 255) < 0 || dump(b, v, 0) < 0 || b->oom)
		return -1;
	b->ptr[b->len] = '\0';
	return 0;
}

void fd_jdump_str(flock__buf *b, const char *s, size_t n)
{
	put_string(b, s, n);
	if (!b->oom)
		b->ptr[b->len] = '\0';
}

char *fd_jdump(const json_t *v, size_t *len)
{
	flock__buf b = FLOCK__BUF_INIT;

	if (fd_jdump_append(&b, v) < 0) {
		flock__buf_free(&b);
		return NULL;
	}
	if (len)
		*len = b.len;
	return flock__buf_detach(&b);
}

/* Deeper than max below v? (Stops looking at max + 1 levels.) */
static int over(const json_t *v, int depth, int max)
{
	const char *k;
	json_t *m;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (depth > max)
		return 1;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, m)
		{
			if (over(m, depth + 1, max))
				return 1;
		}
		return 0;
	}
	json_array_foreach(v, i, m)
	{
		if (over(m, depth + 1, max))
			return 1;
	}
	return 0;
}

int fd_json_text_too_deep(const char *p, size_t n, int max, char *field,
                          size_t len)
{
	size_t i, str_at = 0, key_at = 0, key_len = 0;
	int depth = 0, in_str = 0, esc = 0, want_key = 0;

	if (len)
		field[0] = '\0';
	for (i = 0; i < n; i++) {
		char c = p[i];

		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"') {
				in_str = 0;
				if (want_key) {
					key_at = str_at;
					key_len = i - str_at;
					want_key = 0;
				}
			}
			continue;
		}
		if (c == '"') {
			in_str = 1;
			str_at = i + 1;
		} else if (c == '{' || c == '[') {
			if (++depth > max) {
				if (len && key_len)
					snprintf(field, len, "%.*s", (int)key_len,
					         p + key_at);
				return 1;
			}
			want_key = depth == 1 && c == '{';
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == ',' && depth == 1) {
			want_key = 1;
		}
	}
	return 0;
}

int fd_json_too_deep(const json_t *v, int max, char *field, size_t len)
{
	const char *k;
	json_t *m;

	if (len)
		field[0] = '\0';
	if (!json_is_object(v))
		return over(v, 1, max);
	json_object_foreach((json_t *)v, k, m)
	{
		if (over(m, 2, max)) {
			if (len)
				snprintf(field, len, "%s", k);
			return 1;
		}
	}
	return 0;
}
