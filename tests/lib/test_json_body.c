/*
 * Request bodies: flock__json_body() writes flat string objects itself,
 * and must write exactly what json_dumps(JSON_COMPACT) would, for every
 * byte a string can hold; anything else it leaves to json_dumps.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <flock.h>

#include "json.h"

static void same_as_jansson(json_t *obj)
{
	char *want = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY), *got;
	size_t len = 0;

	assert_non_null(want);
	assert_int_equal(flock__json_body(&got, &len, obj), 0);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
	free(want);
	json_decref(obj);
}

static void test_every_byte(void **state)
{
	char s[2] = {0, 0};
	int c;

	(void)state;
	for (c = 1; c < 128; c++) {
		json_t *o = json_object();

		s[0] = (char)c;
		json_object_set_new(o, s, json_string(s));
		json_object_set_new(o, "k", json_string("a\"b\\c/d"));
		same_as_jansson(o);
	}
}

static void test_shapes(void **state)
{
	json_t *o;

	(void)state;
	same_as_jansson(json_object());
	o = json_object();
	json_object_set_new(o, "checkpointName", json_string("purchase_completed"));
	json_object_set_new(o, "externalUserId", json_string("user_\xc3\xa9\xf0\x9f\x98\x80"));
	json_object_set_new(o, "environment", json_string(""));
	same_as_jansson(o);
	/* not all strings: json_dumps writes it */
	o = json_object();
	json_object_set_new(o, "a", json_string("x"));
	json_object_set_new(o, "props", json_pack("{s:i,s:b,s:n,s:f}", "n", 3,
	                                          "b", 1, "z", "r", 2.5));
	json_object_set_new(o, "list", json_pack("[s,s]", "self", "x"));
	same_as_jansson(o);
	same_as_jansson(json_pack("[s]", "x"));
}

/*
 * Long strings, copied 8 bytes at a time up to the first byte to escape:
 * every ASCII byte, and a UTF-8 sequence, at every position of a 1- to
 * 24-byte string.
 */
static void test_every_position(void **state)
{
	char s[25];
	size_t len, at;
	int c;

	(void)state;
	for (len = 1; len <= 24; len++) {
		for (at = 0; at < len; at++) {
			for (c = 1; c <= 128; c++) {
				json_t *o = json_object();

				memset(s, 'a', len);
				s[len] = '\0';
				s[at] = (char)c;
				if (c == 128) { /* U+00E9 */
					s[at] = at + 1 < len ? '\xc3' : 'z';
					if (at + 1 < len)
						s[at + 1] = '\xa9';
				}
				json_object_set_new(o, "k", json_string(s));
				assert_non_null(json_object_get(o, "k"));
				same_as_jansson(o);
			}
		}
	}
}

/* flock__json_flat_body() writes what flock__json_body() writes. */
static void flat_as_jansson(const char *const *names, const char *const *values,
                            size_t n)
{
	flock__buf b = FLOCK__BUF_INIT;
	json_t *o = json_object();
	char *want;
	size_t i;

	for (i = 0; i < n; i++) {
		if (values[i])
			json_object_set_new(o, names[i],
			                    json_string(values[i]));
	}
	want = json_dumps(o, JSON_COMPACT);
	assert_int_equal(flock__json_flat_body(&b, names, values, n), 0);
	assert_string_equal(b.ptr, want);
	assert_int_equal(b.len, strlen(want));
	free(want);
	flock__buf_free(&b);
	json_decref(o);
}

static void test_flat_body(void **state)
{
	static const char *const names[] = {"checkpointName", "externalUserId",
	                                    "environment", "a\"b"};
	const char *values[] = {"purchase_completed",
	                        "user_\xc3\xa9\xf0\x9f\x98\x80 and a long tail",
	                        NULL, "x\\y\n\x01"};
	flock__buf b = FLOCK__BUF_INIT;

	(void)state;
	flat_as_jansson(names, values, 4);
	flat_as_jansson(names, values, 1);
	flat_as_jansson(names, values, 0);
	values[0] = NULL;
	flat_as_jansson(names, values, 4);
	/* not UTF-8: refused, naming the member, as json_set_str does */
	values[1] = "abcdefgh\xff";
	assert_int_equal(flock__json_flat_body(&b, names, values, 2),
	                 FLOCK_EINVAL);
	assert_string_equal(flock_error_last()->message,
	                    "externalUserId is not valid UTF-8");
	flock__buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_byte),
	        cmocka_unit_test(test_shapes),
	        cmocka_unit_test(test_every_position),
	        cmocka_unit_test(test_flat_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
