/*
 * The request rate limit (--rate-limit, api.md section 2): a key over N
 * requests in one wall-clock second gets 429 rate_limited with
 * Retry-After; other keys and admin tokens are unaffected; the next
 * second it passes again. On PostgreSQL also with two nodes on one
 * database: requests alternating between them share one limit.
 *
 * Windows are fixed seconds of flockd's clock. flockd runs with
 * --test-clock: each scenario moves the clock to the start of the next
 * window instead of waiting for it, and is run again (a few times) if
 * its requests straddled a second boundary on a slow machine (the test
 * clock still moves with real time too): the harness reads flockd's
 * clock (h_clock_now), so equal seconds before and after mean one
 * window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "support.h"

#define LIMIT 5
#define ATTEMPTS 8

static fd_harness A, B;
static char other_key[160];

static int setup(void **state)
{
	(void)state;
	memset(&A, 0, sizeof(A));
	memset(&B, 0, sizeof(B));
	A.extra_args[0] = "--rate-limit";
	A.extra_args[1] = "5";
	A.extra_args[2] = "--test-clock";
	if (h_start(&A) < 0)
		return -1;
	return h_create_key(&A, A.app_id, "service", NULL, other_key,
	                    sizeof(other_key));
}

static int teardown(void **state)
{
	(void)state;
	if (B.pid)
		h_stop(&B);
	h_stop(&A);
	return 0;
}

/* flockd's second now. */
static int64_t second_of(const fd_harness *h)
{
	return h_clock_now(h) / 1000;
}

/* Move A's clock (and B's, when it serves) to the start of the next
 * second; return that second. */
static int64_t next_second(void)
{
	int64_t now = h_clock_advance(&A, 0), step;

	assert_true(now > 0);
	step = 1000 - now % 1000;
	assert_true(h_clock_advance(&A, step) > 0);
	if (B.pid)
		assert_true(h_clock_advance(&B, step) > 0);
	return second_of(&A);
}

static int call(fd_harness *h, const char *key, h_resp *r)
{
	return h_call(h, r, "GET", "/campaigns", key, NULL, NULL);
}

/* The spec's 429: error body and Retry-After. */
static void assert_limited(h_resp *r)
{
	const char *msg =
	        json_string_value(json_object_get(r->json, "message"));

	assert_int_equal(r->status, 429);
	assert_string_equal(r->retry_after, "1");
	assert_non_null(r->json);
	assert_int_equal(
	        json_integer_value(json_object_get(r->json, "statusCode")),
	        429);
	assert_string_equal(
	        json_string_value(json_object_get(r->json, "error")),
	        "Too Many Requests");
	assert_string_equal(json_string_value(json_object_get(r->json, "code")),
	                    "rate_limited");
	assert_non_null(msg);
	assert_non_null(strstr(msg, "more than 5 requests per second"));
	assert_non_null(json_object_get(r->json, "requestId"));
}

static void test_limit_per_key(void **state)
{
	int attempt;
	char admin_path[256];

	(void)state;
	h_admin_path(&A, admin_path, sizeof(admin_path), "/customers");
	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		h_resp ok[LIMIT], over, other, admin[LIMIT + 2];
		int64_t t0 = next_second(), t1;
		int i, same;

		for (i = 0; i < LIMIT; i++)
			call(&A, A.service_key, &ok[i]);
		call(&A, A.service_key, &over);
		call(&A, other_key, &other);
		for (i = 0; i < LIMIT + 2; i++)
			h_call(&A, &admin[i], "GET", admin_path, A.admin_token,
			       NULL, NULL);
		t1 = second_of(&A);
		same = t0 == t1;
		if (same) {
			for (i = 0; i < LIMIT; i++)
				assert_int_equal(ok[i].status, 200);
			assert_limited(&over);
			assert_int_equal(other.status, 200);
			for (i = 0; i < LIMIT + 2; i++)
				assert_int_equal(admin[i].status, 200);
		}
		for (i = 0; i < LIMIT; i++)
			h_resp_free(&ok[i]);
		for (i = 0; i < LIMIT + 2; i++)
			h_resp_free(&admin[i]);
		h_resp_free(&over);
		h_resp_free(&other);
		if (same)
			break;
		print_message("attempt %d crossed a second boundary; again\n",
		              attempt + 1);
	}
	assert_true(attempt < ATTEMPTS);

	/* The next window counts afresh. */
	{
		h_resp r;

		next_second();
		call(&A, A.service_key, &r);
		assert_int_equal(r.status, 200);
		assert_true(r.retry_after[0] == '\0');
		h_resp_free(&r);
	}
}

/* Unauthenticated and unknown keys get 401, never 429. */
static void test_unknown_key_not_counted(void **state)
{
	h_resp r;
	int i;

	(void)state;
	next_second();
	for (i = 0; i < LIMIT + 2; i++) {
		call(&A, "sk_nosuchkey", &r);
		assert_int_equal(r.status, 401);
		h_resp_free(&r);
	}
}

/* PostgreSQL: two nodes on one database share each key's limit. */
static void test_limit_across_nodes(void **state)
{
	int attempt;

	(void)state;
	if (!h_is_pg()) {
		print_message(
		        "skipped: needs a shared database (PostgreSQL)\n");
		return;
	}
	assert_int_equal(h_attach(&B, &A, "flockd-2.log"), 0);
	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		h_resp ok[LIMIT], over[2];
		int64_t t0 = next_second(), t1;
		int i, same;

		for (i = 0; i < LIMIT; i++)
			call(i % 2 ? &B : &A, A.service_key, &ok[i]);
		call(&B, A.service_key, &over[0]);
		call(&A, A.service_key, &over[1]);
		t1 = second_of(&A);
		same = t0 == t1;
		if (same) {
			for (i = 0; i < LIMIT; i++)
				assert_int_equal(ok[i].status, 200);
			assert_limited(&over[0]);
			assert_limited(&over[1]);
		}
		for (i = 0; i < LIMIT; i++)
			h_resp_free(&ok[i]);
		h_resp_free(&over[0]);
		h_resp_free(&over[1]);
		if (same)
			break;
		print_message("attempt %d crossed a second boundary; again\n",
		              attempt + 1);
	}
	assert_true(attempt < ATTEMPTS);
}

/* Count occurrences of needle in h's log file. */
static int log_count(const fd_harness *h, const char *needle)
{
	FILE *fp = fopen(h->log, "r");
	char line[4096];
	int n = 0;

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (strstr(line, needle))
			n++;
	fclose(fp);
	return n;
}

/* PostgreSQL: when the limiter's table is gone, requests go through and
 * the failure is logged once. */
static void test_store_failure_lets_requests_through(void **state)
{
	h_resp r;
	int i;

	(void)state;
	if (!h_is_pg()) {
		print_message("skipped: the SQLite limiter cannot fail\n");
		return;
	}
	assert_int_equal(h_db_exec(A.db, "DROP TABLE rate_windows"), 0);
	next_second();
	for (i = 0; i < 2 * LIMIT; i++) {
		call(&A, A.service_key, &r);
		assert_int_equal(r.status, 200);
		h_resp_free(&r);
	}
	assert_int_equal(log_count(&A, "letting requests through"), 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_limit_per_key),
	        T(test_unknown_key_not_counted),
	        T(test_limit_across_nodes),
	        T(test_store_failure_lets_requests_through),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
