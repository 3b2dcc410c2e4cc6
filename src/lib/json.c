/*
 * Request bodies: properties validation and small jansson helpers.
 */
#include "json.h"

#include <curl/curl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int flock__empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

int flock__json_oom(const json_error_t *err)
{
	return err->text[0] == '\0' ||
	       json_error_code(err) == json_error_out_of_memory;
}

int flock__json_set_new(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL || json_object_set_new(obj, key, value) != 0)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	return 0;
}

/*
 * RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
 * jansson checks the same but does not export it, and its json_string()
 * answers NULL alike for bad UTF-8 and for no memory.
 */
static int utf8_valid(const unsigned char *s)
{
	unsigned int c, min;
	int n, i;

	while ((c = *s++) != 0) {
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, min = 0x80, c &= 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, min = 0x800, c &= 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, min = 0x10000, c &= 0x07;
		else
			return 0;
		for (i = 0; i < n; i++, s++) {
			if ((*s & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (*s & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
	}
	return 1;
}

int flock__json_string(json_t **out, const char *what, const char *s)
{
	if (!utf8_valid((const unsigned char *)s))
		return flock__error_set(FLOCK_EINVAL, "%s is not valid UTF-8",
		                        what);
	*out = json_string_nocheck(s);
	return *out ? 0 : flock__error_set(FLOCK_ENOMEM, "out of memory");
}

int flock__json_set_str(json_t *obj, const char *key, const char *value)
{
	json_t *v = NULL;
	int rc;

	if (value == NULL)
		return 0;
	if ((rc = flock__json_string(&v, key, value)) != 0)
		return rc;
	return flock__json_set_new(obj, key, v);
}

static const char *kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	default:
		return "not a string, number, boolean or null";
	}
}

/* Parse and check a JSON object text whose values are all scalars. */
static int props_from_text(json_t **out, const char *what, const char *text)
{
	json_error_t jerr;
	json_t *obj, *v;
	const char *key;

	obj = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL && flock__json_oom(&jerr))
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	if (obj == NULL)
		return flock__error_set(FLOCK_EINVAL,
		                        "%s is not valid JSON: %s", what,
		                        jerr.text);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return flock__error_set(FLOCK_EINVAL,
		                        "%s must be a JSON object", what);
	}
	json_object_foreach(obj, key, v)
	{
		if (json_is_object(v) || json_is_array(v)) {
			int rc = flock__error_set(FLOCK_EINVAL,
			                          "%s must be flat: the value "
			                          "of \"%.100s\" is %s",
			                          what, key, kind(v));
			json_decref(obj);
			return rc;
		}
	}
	*out = obj;
	return 0;
}

static int number_value(json_t **out, const char *what, double d)
{
	/* JSON has no NaN or infinity. */
	if (!isfinite(d))
		return flock__error_set(FLOCK_EINVAL, "%s is not finite", what);
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		*out = json_integer((json_int_t)d);
	else
		*out = json_real(d);
	return *out ? 0 : flock__error_set(FLOCK_ENOMEM, "out of memory");
}

static int prop_value(json_t **out, const char *what, const flock_property *p)
{
	switch (p->type) {
	case FLOCK_PROP_STRING:
		if (p->string_value == NULL)
			return flock__error_set(FLOCK_EINVAL,
			                        "%s is a NULL string", what);
		return flock__json_string(out, what, p->string_value);
	case FLOCK_PROP_NUMBER:
		return number_value(out, what, p->number_value);
	case FLOCK_PROP_BOOL:
		*out = json_boolean(p->bool_value);
		return 0;
	case FLOCK_PROP_NULL:
		*out = json_null();
		return 0;
	default:
		return flock__error_set(FLOCK_EINVAL,
		                        "%s has an unknown type %d", what,
		                        (int)p->type);
	}
}

static int add_pair(json_t *obj, const char *what, size_t i,
                    const flock_property *p)
{
	char name[160];
	json_t *v = NULL;
	int rc;

	if (p->key == NULL)
		return flock__error_set(FLOCK_EINVAL, "%s[%zu]: key is NULL",
		                        what, i);
	snprintf(name, sizeof(name), "%s: key of [%zu]", what, i);
	if ((rc = flock__json_string(&v, name, p->key)) != 0)
		return rc;
	json_decref(v);
	if (json_object_get(obj, p->key))
		return flock__error_set(FLOCK_EINVAL,
		                        "%s: duplicate key \"%.100s\"", what,
		                        p->key);
	snprintf(name, sizeof(name), "%s: \"%.100s\"", what, p->key);
	if ((rc = prop_value(&v, name, p)) != 0)
		return rc;
	return flock__json_set_new(obj, p->key, v);
}

static int props_from_pairs(json_t **out, const char *what,
                            const flock_property *props, size_t count)
{
	json_t *obj = json_object();
	size_t i;
	int rc = 0;

	if (obj == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	for (i = 0; i < count && rc == 0; i++)
		rc = add_pair(obj, what, i, &props[i]);
	if (rc) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

int flock__props_build(json_t **out, const char *what, const char *json_text,
                       const flock_property *props, size_t count)
{
	*out = NULL;
	if (json_text && count > 0)
		return flock__error_set(FLOCK_EINVAL,
		                        "%s: give JSON text or "
		                        "pairs, not both",
		                        what);
	if (count > 0 && props == NULL)
		return flock__error_set(FLOCK_EINVAL,
		                        "%s: count is %zu but "
		                        "the array is NULL",
		                        what, count);
	if (json_text)
		return props_from_text(out, what, json_text);
	if (count > 0)
		return props_from_pairs(out, what, props, count);
	return 0;
}

int flock__query_add(flock__buf *path, const char *key, const char *value)
{
	char *esc;
	int rc;

	if (value == NULL)
		return 0;
	/* A NULL handle is allowed since libcurl 7.82. */
	esc = curl_easy_escape(NULL, value, (int)strlen(value));
	if (esc == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	rc = flock__buf_printf(
	        path, "%c%s=%s",
	        memchr(path->ptr ? path->ptr : "", '?', path->len) ? '&' : '?',
	        key, esc);
	curl_free(esc);
	return rc ? flock__error_set(FLOCK_ENOMEM, "out of memory") : 0;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether any byte of w is below 0x20, or is '"' or '\\' (SWAR tests). */
static int word_special(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), k = w ^ (ONES * '\\');

	return ((((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) |
	         ((k - ONES) & ~k)) &
	        HIGHS) != 0;
}

/*
 * The length of the leading run that needs no escape, 8 bytes at a time:
 * request values are mostly such runs, and a byte loop cost 9
 * instructions a byte. A word with a special byte is left to the caller.
 */
static size_t plain_run(const char *s, size_t len)
{
	size_t i = 0;
	uint64_t w;

	while (len - i >= 8) {
		memcpy(&w, s + i, 8);
		if (word_special(w))
			break;
		i += 8;
	}
	return i;
}

/*
 * A JSON string as jansson writes it (no flags): UTF-8 kept as is. Room
 * for the longest form (6 bytes a byte, "\u00XX") is made first, then the
 * bytes are written straight into it.
 */
static void put_string(flock__buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	char *o;

	if (len > ((size_t)-1 - 2) / 6) {
		b->oom = 1;
		return;
	}
	if (flock__buf_reserve(b, 6 * len + 2) != 0)
		return;
	o = b->ptr + b->len;
	*o++ = '"';
	i = plain_run(s, len);
	memcpy(o, s, i);
	o += i;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->ptr);
}

static int all_strings(const json_t *obj)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return 0;
	json_object_foreach((json_t *)obj, key, v)
	{
		if (!json_is_string(v))
			return 0;
	}
	return 1;
}

int flock__json_body(char **out, size_t *len, const json_t *body)
{
	flock__buf b = FLOCK__BUF_INIT;
	const char *key;
	json_t *v;
	int first = 1;

	if (!all_strings(body)) {
		*out = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
		*len = *out ? strlen(*out) : 0;
		return *out ? 0 : flock__error_set(FLOCK_ENOMEM, "out of memory");
	}
	flock__buf_put(&b, "{", 1);
	json_object_foreach((json_t *)body, key, v)
	{
		if (!first)
			flock__buf_put(&b, ",", 1);
		first = 0;
		put_string(&b, key, strlen(key));
		flock__buf_put(&b, ":", 1);
		put_string(&b, json_string_value(v), json_string_length(v));
	}
	flock__buf_put(&b, "}", 1);
	*len = b.len;
	*out = flock__buf_detach(&b);
	if (*out == NULL) {
		flock__buf_free(&b);
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	}
	return 0;
}

/* Whether s[0..len) has a byte from 0x80 (ASCII needs no UTF-8 check). */
static int has_high(const char *s, size_t len)
{
	size_t i = 0;
	uint64_t w;

	for (; len - i >= 8; i += 8) {
		memcpy(&w, s + i, 8);
		if (w & HIGHS)
			return 1;
	}
	for (; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	}
	return 0;
}

/* One byte, in place when there is room (flat_body reserved it). */
static void put_byte(flock__buf *b, char c)
{
	if (!b->oom && b->len + 1 < b->cap) {
		b->ptr[b->len++] = c;
		b->ptr[b->len] = '\0';
		return;
	}
	flock__buf_put(b, &c, 1);
}

int flock__json_flat_body(flock__buf *b, const char *const *names,
                          const char *const *values, size_t n)
{
	size_t i, room = 2, lens[2 * 8];
	int first = 1;

	for (i = 0; i < n; i++) {
		size_t nl = strlen(names[i]),
		       vl = values[i] ? strlen(values[i]) : 0;

		if (i < 8) {
			lens[2 * i] = nl;
			lens[2 * i + 1] = vl;
		}
		if (values[i] != NULL)
			room += 6 * (nl + vl) + 6;
	}
	flock__buf_reserve(b, room); /* the plain case: one allocation */
	put_byte(b, '{');
	for (i = 0; i < n; i++) {
		size_t nl, vl;

		if (values[i] == NULL)
			continue;
		nl = i < 8 ? lens[2 * i] : strlen(names[i]);
		vl = i < 8 ? lens[2 * i + 1] : strlen(values[i]);
		if (has_high(values[i], vl) &&
		    !utf8_valid((const unsigned char *)values[i]))
			return flock__error_set(FLOCK_EINVAL,
			                        "%s is not valid UTF-8",
			                        names[i]);
		if (!first)
			put_byte(b, ',');
		first = 0;
		put_string(b, names[i], nl);
		put_byte(b, ':');
		put_string(b, values[i], vl);
	}
	put_byte(b, '}');
	if (b->oom)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	return 0;
}
