/*
 * flock_checkpoints_ingest() reads a flat CheckpointResult (no referral,
 * no rewards) from one scan of the body, without a JSON tree, and any
 * other body through jansson. Both must give what the tree alone gives:
 * the same struct, or the same error (fuzz/result_same.h compares them;
 * fuzz/fuzz_result.c does it for any input).
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../fuzz/result_same.h"

static size_t json_allocs;

static void *counting_malloc(size_t size)
{
	json_allocs++;
	return malloc(size);
}

static const char FLAT[] =
        "{\"id\":\"evt_01JDQ8ZK3M4N5P6Q7R8S9T0V1W\","
        "\"checkpointName\":\"purchase_completed\",\"customerId\":\"cus_1\","
        "\"environment\":\"production\",\"matched\":false,"
        "\"referral\":null,\"rewards\":[],\"blockedBy\":null}";

/* Read body the new way alone; *tree: whether jansson was used. */
static flock_checkpoint_result *read_fast(const char *body, int *tree)
{
	flock__call call = {"POST", "/checkpoints/ingest", NULL, NULL, NULL, 0,
	                    1};
	flock__reply r;
	flock_checkpoint_result *res = NULL;

	assert_int_equal(result_reply(&r, body, strlen(body)), 0);
	json_set_alloc_funcs(counting_malloc, free);
	json_allocs = 0;
	assert_int_equal(flock__checkpoint_result_parse(&res, &r, &call), 0);
	*tree = json_allocs > 0;
	json_set_alloc_funcs(malloc, free);
	flock__reply_free(&r);
	return res;
}

static void flat_result_without_a_tree(void **state)
{
	flock_checkpoint_result *res;
	int tree;

	(void)state;
	res = read_fast(FLAT, &tree);
	assert_false(tree);
	assert_string_equal(res->id, "evt_01JDQ8ZK3M4N5P6Q7R8S9T0V1W");
	assert_string_equal(res->checkpoint_name, "purchase_completed");
	assert_string_equal(res->customer_id, "cus_1");
	assert_string_equal(res->environment, "production");
	assert_false(res->matched);
	assert_null(res->referral);
	assert_null(res->rewards);
	assert_int_equal(res->reward_count, 0);
	assert_null(res->blocked_by);
	assert_string_equal(res->raw_json, FLAT);
	flock_checkpoint_result_free(res);
	assert_int_equal(result_read_both(FLAT, strlen(FLAT)), 0);
}

static void escapes_decoded(void **state)
{
	static const char body[] =
	        " { \"id\" : \"evt_\\u00e9\\ud83d\\ude00\\/\" ,\n"
	        "\"checkpoint\\u004eame\":\"a\\\"b\\\\c\\n\\t\","
	        "\"matched\":true,\"rewards\":[ \n],"
	        "\"blockedBy\":\"limit_reached\",\"extra\":{\"id\":[1,2.5e3]}}";
	flock_checkpoint_result *res;
	int tree;

	(void)state;
	res = read_fast(body, &tree);
	assert_false(tree);
	assert_string_equal(res->id, "evt_\xc3\xa9\xf0\x9f\x98\x80/");
	assert_string_equal(res->checkpoint_name, "a\"b\\c\n\t");
	assert_true(res->matched);
	assert_null(res->customer_id);
	assert_null(res->environment);
	assert_string_equal(res->blocked_by, "limit_reached");
	flock_checkpoint_result_free(res);
	assert_int_equal(result_read_both(body, strlen(body)), 0);
}

/* Everything the scan does not read itself goes to jansson, unchanged. */
static void others_through_jansson(void **state)
{
	static const char *const bodies[] = {
	        /* a referral and rewards: the tree reader's */
	        "{\"id\":\"evt_1\",\"matched\":true,\"referral\":{\"id\":"
	        "\"ref_1\",\"status\":\"accepted\"},\"rewards\":[{\"id\":"
	        "\"rwd_1\",\"payoutAmount\":10}],\"blockedBy\":null}",
	        /* jansson keeps the last of repeated names */
	        "{\"id\":\"evt_1\",\"id\":\"evt_2\",\"matched\":true}",
	        "{\"id\":\"evt_1\",\"\\u0069d\":\"evt_2\"}",
	        "{\"id\":\"evt_1\",\"x\":1,\"x\":2}",
	};
	flock_checkpoint_result *res;
	size_t i;
	int tree;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		res = read_fast(bodies[i], &tree);
		assert_true(tree);
		flock_checkpoint_result_free(res);
		assert_int_equal(result_read_both(bodies[i], strlen(bodies[i])),
		                 0);
	}
}

/* Wrong shapes: the same code and message as the tree alone gives. */
static void errors_unchanged(void **state)
{
	static const char *const bodies[] = {
	        "",
	        "<html>502 Bad Gateway</html>",
	        "[\"evt_1\"]",
	        "\"evt_1\"",
	        "{}",
	        "{\"id\":null}",
	        "{\"id\":5}",
	        "{\"id\":\"e\",\"matched\":\"yes\"}",
	        "{\"id\":\"e\",\"environment\":1}",
	        "{\"id\":\"e\",\"blockedBy\":[]}",
	        "{\"id\":\"e\",\"rewards\":{}}",
	        "{\"id\":\"e\",\"rewards\":[1]}",
	        "{\"id\":\"e\",\"referral\":\"ref_1\"}",
	        "{\"id\":\"e\"",
	        "{\"id\":\"e\"} x",
	        "{\"id\":\"e\\u0000\"}",
	        "{\"id\":\"\xff\"}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		assert_int_equal(result_read_both(bodies[i], strlen(bodies[i])),
		                 FLOCK_EBADRESPONSE);
	/* a NUL byte inside the body */
	assert_int_equal(result_read_both("{\"id\":\"e\"}\0", 11),
	                 FLOCK_EBADRESPONSE);
	assert_int_equal(result_read_both("{\"id\":\"e\0\"}", 11),
	                 FLOCK_EBADRESPONSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(flat_result_without_a_tree),
	        cmocka_unit_test(escapes_decoded),
	        cmocka_unit_test(others_through_jansson),
	        cmocka_unit_test(errors_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
