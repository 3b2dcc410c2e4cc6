/*
 * libFuzzer target for flockd's JSON writer (base/jdump.c; fuzz/run.sh
 * runs it): any JSON jansson parses is either refused at input (nested
 * deeper than FD_JSON_MAX_DEPTH, what the server refuses) or written by
 * fd_jdump as text that jansson reads back as the same value; fd_jdump
 * never fails on what jansson parses, whatever its depth; and every
 * real's text reads back as the same double.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_same.h"

#include "base/jdump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL),
	       *back;
	char field[64], *text, num[32];
	size_t len = 0;

	if (size >= 8) {
		double d;

		memcpy(&d, data, sizeof(d));
		if (fd_jdump_double(num, d) > 0 && strtod(num, NULL) != d)
			abort();
	}
	if (!v)
		return 0;
	text = fd_jdump(v, &len);
	if (!text || strlen(text) != len)
		abort(); /* jdump never fails on a parsed value */
	if (!fd_json_too_deep(v, FD_JSON_MAX_DEPTH, field, sizeof(field))) {
		back = json_loadb(text, len, JSON_DECODE_ANY, NULL);
		if (!back || !json_same(back, v))
			abort();
		json_decref(back);
	}
	free(text);
	json_decref(v);
	return 0;
}
