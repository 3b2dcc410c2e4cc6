/*
 * The envelope scanner (src/lib/envelope.c) against jansson, the parser
 * that reads `data` later: on every input here both must accept or both
 * refuse, byte for byte the edge cases of jansson 2.14's grammar
 * (numbers at the limits of long long and double, escapes, UTF-8,
 * nesting depth, duplicate names in all their spellings). The scanner's
 * findings (id, name, timestamp, environment, data span) must be what
 * jansson reads. fuzz/fuzz_envelope.c does the same on generated input.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <flock.h>

#include "envelope.h"

/* What jansson (plus the envelope's member checks) says of a body. */
static int jansson_accepts(const char *body, size_t len)
{
	json_t *root, *id, *name, *ts, *env, *data;
	int ok;

	if (memchr(body, '\0', len) != NULL)
		return 0; /* refused outright: see test_nul */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	id = json_object_get(root, "id");
	name = json_object_get(root, "name");
	ts = json_object_get(root, "timestamp");
	env = json_object_get(root, "environment");
	data = json_object_get(root, "data");
	ok = json_is_object(root) && json_is_string(id) &&
	     json_string_length(id) > 0 && json_is_string(name) &&
	     json_string_length(name) > 0 && json_is_integer(ts) &&
	     json_integer_value(ts) >= 0 &&
	     (env == NULL || json_is_null(env) || json_is_string(env)) &&
	     json_is_object(data);
	json_decref(root);
	return ok;
}

/* Scan, then finish the duplicate check as construct_event would. */
static int scanner_accepts(const char *body, size_t len, flock__envelope *env)
{
	int rc = flock__envelope_scan(env, body, len);

	if (rc == 0 && env->dups_unchecked)
		rc = flock__envelope_check_dups(body, len);
	if (rc != 0)
		assert_int_equal(rc, FLOCK_EPAYLOAD);
	return rc == 0;
}

static void check_findings(const char *body, size_t len,
                           const flock__envelope *env)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *span = json_loadb(env->data, env->data_len, 0, NULL);
	json_t *e = json_object_get(root, "environment");
	char *buf = malloc(len + 1);

	assert_non_null(buf);
	assert_true(json_equal(span, json_object_get(root, "data")));
	flock__jstr_decode(buf, &env->id);
	assert_string_equal(buf, json_string_value(json_object_get(root, "id")));
	assert_true(flock__jstr_equals(&env->id, buf));
	flock__jstr_decode(buf, &env->name);
	assert_string_equal(buf,
	                    json_string_value(json_object_get(root, "name")));
	assert_true(env->timestamp_ms ==
	            json_integer_value(json_object_get(root, "timestamp")));
	if (json_is_string(e)) {
		flock__jstr_decode(buf, &env->environment);
		assert_string_equal(buf, json_string_value(e));
	} else {
		assert_null(env->environment.p);
	}
	free(buf);
	json_decref(span);
	json_decref(root);
}

/* Both agree on body; returns the verdict. */
static int agree_len(const char *body, size_t len)
{
	flock__envelope env;
	int want = jansson_accepts(body, len);
	int got = scanner_accepts(body, len, &env);

	if (want != got)
		fail_msg("scanner %s, jansson %s: %.*s", got ? "accepts" : "refuses",
		         want ? "accepts" : "refuses", (int)(len > 300 ? 300 : len),
		         body);
	if (got)
		check_findings(body, len, &env);
	return got;
}

static int agree(const char *body)
{
	return agree_len(body, strlen(body));
}

/* An envelope whose data holds `inner` as the value of "v". */
static int agree_value(const char *inner)
{
	size_t n = strlen(inner) + 128;
	char *body = malloc(n);
	int r;

	assert_non_null(body);
	snprintf(body, n,
	         "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,\"data\":{\"v\":%s}}",
	         inner);
	r = agree(body);
	free(body);
	return r;
}

static void test_envelopes(void **state)
{
	(void)state;
	assert_true(agree("{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,"
	                  "\"data\":{}}"));
	assert_true(agree(" \t\r\n{ \"data\" : { } , \"timestamp\" : 0 ,"
	                  "\"name\":\"n\",\"id\":\"e\",\"environment\":null}\n"));
	assert_true(agree("{\"id\":\"\\u0065\",\"name\":\"\\n\",\"timestamp\":-0,"
	                  "\"environment\":\"t\\u00e9st\",\"data\":{},\"x\":[]}"));
	assert_false(agree("{\"id\":\"\",\"name\":\"n\",\"timestamp\":1,"
	                   "\"data\":{}}"));
	assert_false(agree("{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,"
	                   "\"data\":{},\"environment\":[]}"));
	assert_false(agree("{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1.0,"
	                   "\"data\":{}}"));
	assert_false(agree("{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1}"));
	assert_false(agree("[{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,"
	                   "\"data\":{}}]"));
	assert_false(agree("{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,"
	                   "\"data\":{}}{}"));
	assert_false(agree("{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,"
	                   "\"data\":{},}"));
	assert_false(agree(""));
	assert_false(agree("   "));
	assert_false(agree("{"));
	assert_false(agree("\xef\xbb\xbf{\"id\":\"e\",\"name\":\"n\","
	                   "\"timestamp\":1,\"data\":{}}"));
}

static void test_numbers(void **state)
{
	static const char *ok[] = {
	        "0", "-0", "1", "-1", "0.5", "-0.5e-3", "1E+2", "1e-400",
	        "9223372036854775807", "-9223372036854775808",
	        "1.7976931348623157e308", "17976931348623157e292",
	        "0.0000017976931348623157e314", "1e308", "-1e308",
	        "179769313486231580793728971405303415079934132710037826936173778"
	        "980444968292764750946649017977587207096330286416692887910946555"
	        "547851940402630657488671505820681908902000708383676273854845817"
	        "711531764475730270069855571366959622842914819860834936475292719"
	        "074168444365510704342711559699508093042880177904174497791.9",
	        "0e999999999999999999999", "1e-99999999999999999999",
	};
	static const char *bad[] = {
	        "01", "-", "+1", "1.", ".5", "1e", "1e+", "--1", "0x10", "1.5.5",
	        "9223372036854775808", "-9223372036854775809",
	        "99999999999999999999", "1e309", "-1e309", "1.8e308",
	        "1.7976931348623159e308", "1e999999999999999999999",
	        "179769313486231580793728971405303415079934132710037826936173778"
	        "980444968292764750946649017977587207096330286416692887910946555"
	        "547851940402630657488671505820681908902000708383676273854845817"
	        "711531764475730270069855571366959622842914819860834936475292719"
	        "074168444365510704342711559699508093042880177904174497792.0",
	        "NaN", "Infinity", "-Infinity", "1 2",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(agree_value(ok[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(agree_value(bad[i]));
}

static void test_strings(void **state)
{
	static const char *ok[] = {
	        "\"\"",
	        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
	        "\"\\u00e9\\u20AC\"",
	        "\"\\ud83d\\ude00\"",
	        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
	        "\"\x7f\"",
	        "\"\xef\xbf\xbf\"",
	        "\"\xf4\x8f\xbf\xbf\"",
	        ("\"a long string, longer than sixteen bytes, to use the "
	         "vector path \\\" and end\""),
	};
	static const char *bad[] = {
	        "\"\\u0000\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"",
	        "\"\\ud83dx\"", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"\t\"",
	        "\"\n\"", "\"\x01\"", "\"\xc0\x80\"", "\"\xc1\xbf\"",
	        "\"\xe0\x80\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
	        "\"\xf5\x80\x80\x80\"", "\"\x80\"", "\"\xc3\"", "\"\xe2\x82\"",
	        "\"unterminated", "'single'", "\"\\",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(agree_value(ok[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(agree_value(bad[i]));
}

static void test_literals_and_structure(void **state)
{
	static const char *ok[] = {
	        "true", "false", "null", "[]", "{}", "[1,[2,[3]],{\"a\":[]}]",
	        "[ 1 , 2 ]", "{ \"a\" : 1 , \"b\" : { } }",
	};
	static const char *bad[] = {
	        "tru", "truex", "nul", "True", "[1,]", "[,1]", "{\"a\"}",
	        "{\"a\":}", "{\"a\" 1}", "{1:2}", "[1}", "{\"a\":1]", "[", "]",
	        "{\"a\":1,}", "undefined",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(agree_value(ok[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(agree_value(bad[i]));
}

static void test_duplicates(void **state)
{
	static const char *bad[] = {
	        "{\"a\":1,\"a\":2}", "{\"a\":1,\"\\u0061\":2}",
	        "{\"\\u0061\":1,\"a\":2}", "{\"\\u00e9\":1,\"\xc3\xa9\":2}",
	        "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}",
	        "{\"\\/\":1,\"/\":2}", "{\"\":1,\"\":2}",
	        "[{\"x\":{\"a\":1,\"b\":{\"c\":1},\"a\":2}}]",
	};
	static const char *ok[] = {
	        "{\"a\":1,\"b\":{\"a\":2}}", "[{\"a\":1},{\"a\":1}]",
	        "{\"a\":1,\"A\":2}", "{\"ab\":1,\"ba\":2}",
	        "{\"createdAt\":1,\"updatedAt\":2,\"deletedAt\":3}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(agree_value(bad[i]));
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(agree_value(ok[i]));
	/* Root members, including the envelope's own. */
	assert_false(agree("{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,"
	                   "\"data\":{},\"\\u0064ata\":{}}"));
	assert_false(agree("{\"id\":\"e\",\"id\":\"f\",\"name\":\"n\","
	                   "\"timestamp\":1,\"data\":{}}"));
	assert_false(agree("{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,"
	                   "\"data\":{},\"x\":1,\"x\":1}"));
}

/* One name: "k<i>", its "k" written as an escape when asked. */
static size_t put_name(char *s, size_t cap, size_t i, int escaped)
{
	return (size_t)(escaped ? snprintf(s, cap, "\\u006b%zu", i)
	                        : snprintf(s, cap, "k%zu", i));
}

/* An object of n distinct names, then, if dup, a repeat of the first. */
static char *wide_object(size_t n, int dup, int escaped)
{
	size_t cap = n * 48 + 64, off = 0, i;
	char *s = malloc(cap);

	assert_non_null(s);
	off += (size_t)snprintf(s + off, cap - off, "{");
	for (i = 0; i < n; i++) {
		off += (size_t)snprintf(s + off, cap - off, i ? ",\"" : "\"");
		off += put_name(s + off, cap - off, i, escaped);
		off += (size_t)snprintf(s + off, cap - off, "\":%zu", i);
	}
	if (dup) {
		off += (size_t)snprintf(s + off, cap - off, ",\"");
		off += put_name(s + off, cap - off, 0, escaped);
		off += (size_t)snprintf(s + off, cap - off, "\":0");
	}
	snprintf(s + off, cap - off, "}");
	return s;
}

/* Beyond the scanner's tables, jansson finishes the duplicate check. */
static void test_wide_and_deep(void **state)
{
	static const size_t sizes[] = {10, 127, 128, 129, 1000};
	flock__envelope env;
	size_t i;
	char *v;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		v = wide_object(sizes[i], 0, 0);
		assert_true(agree_value(v));
		free(v);
		v = wide_object(sizes[i], 1, 0);
		assert_false(agree_value(v));
		free(v);
		v = wide_object(sizes[i], 1, 1);
		assert_false(agree_value(v));
		free(v);
	}
	/* Escaped names too long to decode on the stack (found by fuzzing:
	 * one inside data used to hide data itself). */
	{
		char name[400], obj[1000];

		memset(name, 'x', 300);
		memcpy(name + 150, "\\u0061", 6);
		name[300] = '\0';
		snprintf(obj, sizeof(obj), "{\"%s\":1,\"b\":2}", name);
		assert_true(agree_value(obj));
		snprintf(obj, sizeof(obj), "{\"%s\":1,\"%s\":2}", name, name);
		assert_false(agree_value(obj));
	}
	/* Small objects never need jansson. */
	v = wide_object(100, 0, 0);
	{
		char body[8192];
		snprintf(body, sizeof(body),
		         "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,"
		         "\"data\":{\"v\":%s}}",
		         v);
		assert_int_equal(flock__envelope_scan(&env, body, strlen(body)),
		                 0);
		assert_false(env.dups_unchecked);
	}
	free(v);
}

/* Nesting: jansson counts every value, root object included, up to 2048. */
static char *nested(size_t depth, const char *open, const char *close,
                    const char *inner)
{
	size_t n = depth * (strlen(open) + strlen(close)) + strlen(inner) + 1;
	char *s = malloc(n), *p = s;
	size_t i;

	assert_non_null(s);
	for (i = 0; i < depth; i++, p += strlen(open))
		memcpy(p, open, strlen(open));
	memcpy(p, inner, strlen(inner));
	p += strlen(inner);
	for (i = 0; i < depth; i++, p += strlen(close))
		memcpy(p, close, strlen(close));
	*p = '\0';
	return s;
}

static void test_depth(void **state)
{
	/* root object 1, data 2, "v" value 3: containers at 3.. */
	static const struct {
		size_t depth;
		const char *inner;
		int ok;
	} cases[] = {{2045, "", 1}, {2046, "", 1}, {2047, "", 0},
	             {2045, "1", 1}, {2046, "1", 0}, {100000, "", 0}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *v = nested(cases[i].depth, "[", "]", cases[i].inner);
		assert_int_equal(agree_value(v), cases[i].ok);
		free(v);
	}
	/* objects count alike: {"a":[ is two levels */
	{
		char *v = nested(1023, "{\"a\":[", "]}", "");
		assert_true(agree_value(v));
		free(v);
		v = nested(1023, "{\"a\":[", "]}", "1");
		assert_false(agree_value(v));
		free(v);
	}
}

static void test_nul(void **state)
{
	static const char body[] = "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,"
	                           "\"data\":{\"a\":1\0}}";
	flock__envelope env;

	(void)state;
	/* jansson 2.14 would take this one; the scanner refuses any NUL. */
	assert_int_equal(flock__envelope_scan(&env, body, sizeof(body) - 1),
	                 FLOCK_EPAYLOAD);
	assert_non_null(strstr(flock_error_last()->message, "NUL"));
	assert_false(agree_len("{\"id\":\"e\0\"}", 10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_envelopes),
	        cmocka_unit_test(test_numbers),
	        cmocka_unit_test(test_strings),
	        cmocka_unit_test(test_literals_and_structure),
	        cmocka_unit_test(test_duplicates),
	        cmocka_unit_test(test_wide_and_deep),
	        cmocka_unit_test(test_depth),
	        cmocka_unit_test(test_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
