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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* ---- validate-code's miss limit (--code-misses-per-key, -per-ip) ---- */

static int code_setup(void **state)
{
	(void)state;
	memset(&A, 0, sizeof(A));
	memset(&B, 0, sizeof(B));
	A.extra_args[0] = "--code-misses-per-key";
	A.extra_args[1] = "5";
	A.extra_args[2] = "--code-misses-per-ip";
	A.extra_args[3] = "3";
	A.extra_args[4] = "--test-clock";
	if (h_start(&A) < 0)
		return -1;
	return h_create_key(&A, A.app_id, "public", NULL, other_key,
	                    sizeof(other_key));
}

/* POST /referrals/validate-code {referralCode: code} with key, from
 * client address src (a loopback address): the status, *valid from its
 * isValid, Retry-After's seconds in *after (0: none). */
static int validate_from(const char *src, const char *key, const char *code,
                         int *valid, long *after)
{
	struct sockaddr_in me, to;
	char body[128], req[1024], buf[8192];
	const char *h;
	size_t used = 0;
	ssize_t n;
	int fd, status = 0;

	*valid = 0;
	*after = 0;
	memset(&me, 0, sizeof(me));
	me.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, src, &me.sin_addr), 1);
	to = me;
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &to.sin_addr), 1);
	to.sin_port = htons(A.port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	snprintf(body, sizeof(body), "{\"referralCode\":\"%s\"}", code);
	snprintf(req, sizeof(req),
	         "POST /referrals/validate-code HTTP/1.1\r\nHost: x\r\n"
	         "Authorization: %s\r\nContent-Type: application/json\r\n"
	         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	         key, strlen(body), body);
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	while (used + 1 < sizeof(buf) &&
	       (n = recv(fd, buf + used, sizeof(buf) - 1 - used, 0)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	close(fd);
	if (strncmp(buf, "HTTP/1.1 ", 9) == 0)
		status = (int)strtol(buf + 9, NULL, 10);
	*valid = strstr(buf, "\"isValid\":true") != NULL;
	if ((h = strstr(buf, "Retry-After: ")) != NULL)
		*after = strtol(h + 13, NULL, 10);
	if (status == 429)
		assert_non_null(strstr(buf, "\"code\":\"rate_limited\""));
	return status;
}

/* Codes not found, counted per public key and per client address in
 * minutes of flockd's clock: beyond the limit 429 with Retry-After for
 * the rest of the minute, found codes included; other addresses and keys
 * go on; service keys are not counted; the next minute it passes. */
static void test_code_misses(void **state)
{
	char code[64], prod_code[64], test_pk[160];
	int64_t now;
	long after;
	h_resp r;
	int i, valid;

	(void)state;
	h_callf(&A, &r, "POST", "/customers/identify", A.service_key, "{s:s}",
	        "externalUserId", "code-owner");
	assert_int_equal(r.status, 201);
	snprintf(code, sizeof(code), "%s",
	         json_string_value(json_object_get(r.json, "referralCode")));
	h_resp_free(&r);
	/* At a minute's start, so the steps below share one window. */
	now = h_clock_advance(&A, 0);
	assert_true(now > 0);
	assert_true(h_clock_advance(&A, 60000 - now % 60000) > 0);

	/* 127.0.0.1: 3 misses, then 429, a valid code too. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(validate_from("127.0.0.1", A.public_key,
		                               "NOPE2345", &valid, &after),
		                 200);
		assert_int_equal(valid, 0);
	}
	assert_int_equal(validate_from("127.0.0.1", A.public_key, "NOPE2345",
	                               &valid, &after),
	                 429);
	assert_true(after >= 1 && after <= 60);
	assert_int_equal(
	        validate_from("127.0.0.1", A.public_key, code, &valid, &after),
	        429);
	/* Another address with the same key: the key's fourth and fifth
	 * misses pass (the refused ones were not counted), then the key is
	 * over its limit, from anywhere. */
	for (i = 0; i < 2; i++)
		assert_int_equal(validate_from("127.0.0.2", A.public_key,
		                               "NOPE2345", &valid, &after),
		                 200);
	assert_int_equal(validate_from("127.0.0.3", A.public_key, "NOPE2345",
	                               &valid, &after),
	                 429);
	assert_true(after >= 1 && after <= 60);
	assert_int_equal(
	        validate_from("127.0.0.3", A.public_key, code, &valid, &after),
	        429);
	/* Another public key from an address under its limit: found. */
	assert_int_equal(
	        validate_from("127.0.0.3", other_key, code, &valid, &after),
	        200);
	assert_int_equal(valid, 1);
	/* A service key is not counted. */
	for (i = 0; i < 5; i++)
		assert_int_equal(validate_from("127.0.0.1", A.service_key,
		                               "NOPE2345", &valid, &after),
		                 200);
	/* A key limited to test naming a production code: 403 (the
	 * environment boundary), counted as a miss, so past the limit 429
	 * like any guess rather than a 403 that tells the code exists. */
	h_callf(&A, &r, "POST", "/customers/identify", A.service_key,
	        "{s:s, s:s}", "externalUserId", "prod-owner", "environment",
	        "production");
	assert_int_equal(r.status, 201);
	snprintf(prod_code, sizeof(prod_code), "%s",
	         json_string_value(json_object_get(r.json, "referralCode")));
	h_resp_free(&r);
	assert_int_equal(h_create_key(&A, A.app_id, "public", "test", test_pk,
	                              sizeof(test_pk)),
	                 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(validate_from("127.0.0.4", test_pk, prod_code,
		                               &valid, &after),
		                 403);
	assert_int_equal(
	        validate_from("127.0.0.4", test_pk, prod_code, &valid, &after),
	        429);
	/* The next minute, the key and the address pass again. */
	now = h_clock_advance(&A, 0);
	assert_true(h_clock_advance(&A, 60000 - now % 60000) > 0);
	assert_int_equal(
	        validate_from("127.0.0.1", A.public_key, code, &valid, &after),
	        200);
	assert_int_equal(valid, 1);
}

/* POST /referrals with a public key tests codes too: its misses count
 * with validate-code's, under the same limit. */
static void test_referral_create_misses(void **state)
{
	char cmp[64], body[256];
	int64_t now;
	long after;
	h_resp r;
	int i, k, valid;

	(void)state;
	assert_int_equal(
	        h_live_campaign(&A, "production", 0, 0, cmp, sizeof(cmp)), 0);
	now = h_clock_advance(&A, 0);
	assert_true(now > 0);
	assert_true(h_clock_advance(&A, 60000 - now % 60000) > 0);
	snprintf(body, sizeof(body),
	         "{\"campaignId\":\"%s\",\"referralCode\":\"NOPE2345\","
	         "\"refereeExternalUserId\":\"guesser-friend\"}",
	         cmp);
	for (i = 0; i < 3; i++) {
		/* The miss that reaches the limit runs in a batch without
		 * savepoints (past the 16 that keep them after a failing
		 * job), so it is rolled back and run again: it must still
		 * be a 404, its miss counted once. */
		for (k = 0; i == 2 && k < 20; k++) {
			h_callf(&A, &r, "POST", "/customers/identify",
			        A.service_key, "{s:s}", "externalUserId",
			        k % 2 ? "filler-a" : "filler-b");
			assert_true(r.status == 200 || r.status == 201);
			h_resp_free(&r);
		}
		h_call(&A, &r, "POST", "/referrals", A.public_key, body, NULL);
		assert_int_equal(r.status, 404);
		h_resp_free(&r);
	}
	h_call(&A, &r, "POST", "/referrals", A.public_key, body, NULL);
	assert_int_equal(r.status, 429);
	assert_string_equal(
	        json_string_value(json_object_get(r.json, "code")),
	        "rate_limited");
	h_resp_free(&r);
	/* The same count as validate-code's, from this address. */
	assert_int_equal(validate_from("127.0.0.1", A.public_key, "NOPE2345",
	                               &valid, &after),
	                 429);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_limit_per_key),
	        T(test_unknown_key_not_counted),
	        T(test_limit_across_nodes),
	        T(test_store_failure_lets_requests_through),
	        cmocka_unit_test_setup_teardown(test_code_misses, code_setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_referral_create_misses,
	                                        code_setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
