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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_byte),
	        cmocka_unit_test(test_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
