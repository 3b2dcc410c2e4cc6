/*
 * flockd's log lines (base/log.c): every line is one JSON object, whatever
 * the message's length or bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/log.h"
#include "support.h"

/* Run fn with stderr going to a file; the lines written, as an array. */
static json_t *capture(void (*fn)(void))
{
	char path[] = "/tmp/flockd-log-XXXXXX", line[65536];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	json_t *lines = json_array();
	FILE *f;

	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	fn();
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f)) {
		json_error_t err;
		json_t *j = json_loads(line, 0, &err);

		if (!j)
			fail_msg("not a JSON line (%s): %.80s", err.text, line);
		json_array_append_new(lines, j);
	}
	fclose(f);
	unlink(path);
	return lines;
}

static void long_and_bad(void)
{
	char *big = malloc(10001);

	memset(big, 'x', 10000);
	big[10000] = '\0';
	/* An 'é' (2 bytes) across the cut must not be split. */
	memcpy(big + 3071, "\xc3\xa9", 2);
	fd_log(FD_LOG_WARN, "%s", big);
	fd_log(FD_LOG_WARN, "bad \xff\xfe bytes \xc3 end");
	fd_log(FD_LOG_WARN, "plain %d", 42);
	free(big);
}

static void test_every_line_is_json(void **state)
{
	json_t *lines, *a, *b, *c;
	const char *msg;

	(void)state;
	fd_log_set_level(FD_LOG_INFO);
	lines = capture(long_and_bad);
	assert_int_equal(json_array_size(lines), 3);
	a = json_array_get(lines, 0);
	b = json_array_get(lines, 1);
	c = json_array_get(lines, 2);

	msg = json_string_value(json_object_get(a, "msg"));
	assert_non_null(msg);
	assert_true(strlen(msg) <= 3072 && strlen(msg) >= 3070);
	assert_true(json_is_true(json_object_get(a, "truncated")));
	assert_string_equal(json_string_value(json_object_get(a, "level")),
	                    "warn");

	assert_string_equal(json_string_value(json_object_get(b, "msg")),
	                    "bad ?? bytes ? end");
	assert_null(json_object_get(b, "truncated"));

	assert_string_equal(json_string_value(json_object_get(c, "msg")),
	                    "plain 42");
	json_decref(lines);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_line_is_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
