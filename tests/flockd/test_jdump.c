/*
 * flockd's compact JSON serialiser gives json_dumps' bytes, but for
 * reals, written as JSON.stringify writes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jdump.h"

static void same(json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t len = 0;
	char *got = fd_jdump(v, &len);

	assert_non_null(want);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(want);
	free(got);
	json_decref(v);
}

static void real_is(double d, const char *want)
{
	json_t *v = json_real(d);
	char *got = fd_jdump(v, NULL);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	json_decref(v);
}

static void test_scalars(void **state)
{
	(void)state;
	same(json_null());
	same(json_true());
	same(json_false());
	same(json_integer(0));
	same(json_integer(-9223372036854775807LL - 1));
	same(json_integer(9223372036854775807LL));
	/* Reals as JavaScript writes them (issue 15 item 10), not with
	 * json_dumps' 17 digits. */
	real_is(0.1, "0.1");
	real_is(9.99, "9.99");
	real_is(-1e300, "-1e+300");
	real_is(3.0, "3");
	same(json_string(""));
	same(json_string("plain"));
}

static void test_escapes(void **state)
{
	static const char nul[] = {'a', '\0', 'b'};

	(void)state;
	same(json_string("quote \" backslash \\ slash / tab \t nl \n cr \r"
	                 " bs \b ff \f bell \a esc \x1b del \x7f"));
	same(json_string("utf-8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
	                 "\xe2\x80\xa8"));
	same(json_stringn(nul, sizeof(nul)));
}

static void test_containers(void **state)
{
	json_t *o;

	(void)state;
	same(json_object());
	same(json_array());
	same(json_pack("{s:s, s:i, s:[i, s, n, {}], s:{s:{s:b}}, s:f}", "zeta",
	               "z", "alpha", 1, "list", 2, "x", "nested", "deep", "ok",
	               1, "real", 2.5));
	o = json_object();
	json_object_set_new(o, "k\"ey\n", json_string("v"));
	json_object_setn_new(o, "a\0b", 3, json_integer(7));
	json_object_set_new(o, "b", json_string("later"));
	json_object_set_new(o, "a", json_string("order of insertion"));
	json_object_del(o, "b");
	json_object_set_new(o, "b", json_string("re-added"));
	same(o);
}

static void test_long_string(void **state)
{
	char *s = malloc(100001);
	size_t i;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < 100000; i++)
		s[i] = (char)(i % 7 == 0 ? '"' : i % 11 == 0 ? '\x01' : 'a');
	s[100000] = '\0';
	same(json_string(s));
	free(s);
}

/* Every escaped byte at every offset of short strings of text and UTF-8:
 * the word-at-a-time scan must never skip one. */
static void test_escape_offsets(void **state)
{
	static const unsigned char special[] = {0x00, 0x01, 0x1f, '"',  '\\',
	                                        0x20, 0x7f, 0xc3, 0xa9, '/'};
	char buf[48];
	size_t len, pos, k, i;

	(void)state;
	for (len = 1; len <= 40; len++) {
		for (pos = 0; pos < len; pos++) {
			for (k = 0; k < sizeof(special); k++) {
				for (i = 0; i < len; i++)
					buf[i] = (char)('a' + i % 26);
				buf[pos] = (char)special[k];
				/* 0xc3 0xa9 is valid UTF-8 only together. */
				if (special[k] == 0xc3 || special[k] == 0xa9) {
					if (pos + 1 >= len)
						continue;
					buf[pos] = (char)0xc3;
					buf[pos + 1] = (char)0xa9;
				}
				same(json_stringn(buf, len));
			}
		}
	}
}

/* Depth of JSON text before it is parsed: brackets inside strings (and
 * escaped quotes) do not count; the deep top-level member is named. */
static void test_text_depth(void **state)
{
	static const char ok[] = "{\"a\":\"[[[[[[\\\"[[[[\",\"b\":[[1]]}";
	static const char deep[] = "{\"name\":\"x\",\"faqs\":[[[[1]]]]}";
	char field[32];

	(void)state;
	assert_int_equal(
	        fd_json_text_too_deep(ok, strlen(ok), 3, field, sizeof(field)),
	        0);
	assert_int_equal(fd_json_text_too_deep(deep, strlen(deep), 4, field,
	                                       sizeof(field)),
	                 1);
	assert_string_equal(field, "faqs");
	assert_int_equal(fd_json_text_too_deep(deep, strlen(deep), 5, field,
	                                       sizeof(field)),
	                 0);
	assert_int_equal(
	        fd_json_text_too_deep("[[[", 3, 2, field, sizeof(field)), 1);
	assert_string_equal(field, "");
}

/* Text written around a dump (a webhook envelope) is json_dumps' bytes
 * for the object with the same members in the same order. */
static void test_append(void **state)
{
	const char *name = "a\"b\\c\n\x01\xc3\xa9";
	json_t *data = json_pack("{s:i, s:[s, n]}", "n", 7, "l", "x", NULL);
	json_t *whole = json_pack("{s:s, s:O}", "name", name, "data", data);
	char *want = json_dumps(whole, JSON_COMPACT);
	flock__buf b = FLOCK__BUF_INIT;

	(void)state;
	assert_non_null(want);
	flock__buf_puts(&b, "{\"name\":");
	fd_jdump_str(&b, name, strlen(name));
	flock__buf_puts(&b, ",\"data\":");
	assert_int_equal(fd_jdump_append(&b, data), 0);
	flock__buf_puts(&b, "}");
	assert_false(b.oom);
	assert_string_equal(b.ptr, want);
	assert_int_equal(b.len, strlen(want));
	/* Nothing to write: -1, and the text so far stays. */
	assert_int_equal(fd_jdump_append(&b, NULL), -1);
	assert_int_equal(b.len, strlen(want));
	flock__buf_free(&b);
	free(want);
	json_decref(whole);
	json_decref(data);
}

/* Integers as printf's %lld writes them, the extremes included. */
static void test_integers(void **state)
{
	static const int64_t v[] = {
	        0,         1,         -1,           9, 10, -10, 1733230000000LL,
	        INT64_MAX, INT64_MIN, INT64_MIN + 1};
	char got[24], want[32];
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
		snprintf(want, sizeof(want), "%lld", (long long)v[k]);
		assert_int_equal(fd_jdump_int(got, v[k]), (int)strlen(want));
		assert_string_equal(got, want);
		same(json_integer((json_int_t)v[k]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_scalars),
	        cmocka_unit_test(test_escapes),
	        cmocka_unit_test(test_containers),
	        cmocka_unit_test(test_long_string),
	        cmocka_unit_test(test_escape_offsets),
	        cmocka_unit_test(test_text_depth),
	        cmocka_unit_test(test_append),
	        cmocka_unit_test(test_integers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
