/*
 * libFuzzer target for the CheckpointResult read from one scan of the
 * text (src/lib/objects.c on src/lib/envelope.c's scanner; fuzz/run.sh
 * runs it).
 *
 * Input: a response body. It is read as flock_checkpoints_ingest() reads
 * it (the scan, and jansson for anything that is not a flat result) and
 * as it was read before the scan (jansson, then the tree reader); the two
 * must agree on the code, the error message and every member
 * (result_same.h). The scanner must also agree with jansson on its own:
 * whatever it accepts jansson parses, to the same root members, and every
 * object without a NUL byte or a repeated name that jansson parses, it
 * accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/envelope.h"
#include "result_same.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const flock__jname names[] = {{"id", 2},          {"checkpointName", 14},
                                     {"customerId", 10}, {"environment", 11},
                                     {"matched", 7},     {"blockedBy", 9},
                                     {"referral", 8},    {"rewards", 7}};

#define N_NAMES (sizeof(names) / sizeof(names[0]))

/* The kind the scanner gives a value jansson parsed. */
static int kind_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return '{';
	case JSON_ARRAY:
		return '[';
	case JSON_STRING:
		return '"';
	case JSON_INTEGER:
	case JSON_REAL:
		return '0';
	case JSON_TRUE:
	case JSON_FALSE:
		return 't';
	default:
		return 'n';
	}
}

static void same_value(const flock__jvalue *v, const json_t *want)
{
	flock__jstr s;
	char *buf;

	if (want == NULL) {
		if (v->kind != 0)
			abort();
		return;
	}
	if (v->kind != kind_of(want))
		abort();
	if (v->kind == 't' && (v->p[0] == 't') != json_is_true(want))
		abort();
	if (v->kind != '"')
		return;
	s.p = v->p + 1;
	s.len = v->len - 2;
	s.escaped = v->escaped;
	if ((buf = malloc(s.len + 1)) == NULL)
		return;
	flock__jstr_decode(buf, &s);
	if (strcmp(buf, json_string_value(want)) != 0)
		abort();
	free(buf);
}

static void scan_agrees(const char *body, size_t size)
{
	flock__jvalue v[N_NAMES];
	json_t *loose = json_loadb(body, size, 0, NULL);
	json_t *strict = json_loadb(body, size, JSON_REJECT_DUPLICATES, NULL);
	size_t i;
	int got = flock__json_scan(v, body, size, names, N_NAMES) == 0;

	if (got) {
		if (!json_is_object(loose))
			abort();
		for (i = 0; i < N_NAMES; i++)
			same_value(&v[i],
			           json_object_get(loose, names[i].name));
	} else if (json_is_object(strict) && size > 0 &&
	           memchr(body, '\0', size) == NULL) {
		abort();
	}
	json_decref(loose);
	json_decref(strict);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;

	scan_agrees(body, size);
	result_read_both(body, size);
	return 0;
}
