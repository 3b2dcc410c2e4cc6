/*
 * flockd over HTTP: ops endpoints, routing, request ids, body and field
 * validation, and the authentication matrix of api.md section 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "support.h"

static fd_harness H;

static int setup(void **state)
{
	memset(&H, 0, sizeof(H));
	return h_start(&H);
}

static int teardown(void **state)
{
	h_stop(&H);
	return 0;
}

/* An error body has the spec's shape and the response's request id. */
static void assert_error(h_resp *r, int status, const char *code)
{
	assert_int_equal(r->status, status);
	assert_non_null(r->json);
	assert_int_equal(
	        json_integer_value(json_object_get(r->json, "statusCode")),
	        status);
	assert_non_null(json_string_value(json_object_get(r->json, "error")));
	assert_non_null(json_string_value(json_object_get(r->json, "message")));
	if (code)
		assert_string_equal(
		        json_string_value(json_object_get(r->json, "code")),
		        code);
	assert_true(r->request_id[0] != '\0');
	assert_string_equal(
	        json_string_value(json_object_get(r->json, "requestId")),
	        r->request_id);
}

static void assert_message(h_resp *r, const char *msg)
{
	assert_string_equal(
	        json_string_value(json_object_get(r->json, "message")), msg);
}

static void test_ops_endpoints(void **state)
{
	h_resp r;
	int status, noop, hist, gauge, wal, trips;

	h_call(&H, &r, "GET", "/healthz", NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_true(r.request_id[0] != '\0');
	h_resp_free(&r);
	h_call(&H, &r, "GET", "/readyz", NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
	h_call(&H, &r, "GET", "/noop", NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
	/* A request's metrics are counted before its reply is sent. */
	h_call(&H, &r, "GET", "/metrics", NULL, NULL, NULL);
	status = r.status;
	noop = r.text && strstr(r.text, "flockd_http_requests_total{method="
	                                "\"GET\",route=\"/noop\",status="
	                                "\"200\"} 1");
	hist = r.text && strstr(r.text, "flockd_http_request_duration_seconds"
	                                "_bucket{le=\"+Inf\"}");
	gauge = r.text && strstr(r.text, "flockd_http_requests_in_flight");
	/* The WAL's size: SQLite only. */
	wal = r.text && strstr(r.text, "\nflockd_sqlite_wal_bytes ");
	/* Round trips to the server: PostgreSQL only. */
	trips = r.text && strstr(r.text, "\nflockd_db_round_trips_total ");
	h_resp_free(&r); /* before asserting: a failed assert leaks nothing */
	assert_int_equal(status, 200);
	assert_true(noop);
	assert_true(hist);
	assert_true(gauge);
	assert_int_equal(wal, !h_is_pg());
	assert_int_equal(trips, h_is_pg());
}

static void test_unknown_route_and_method(void **state)
{
	h_resp r;

	h_call(&H, &r, "GET", "/nope", H.service_key, NULL, NULL);
	assert_error(&r, 404, "not_found");
	h_resp_free(&r);
	h_call(&H, &r, "DELETE", "/customers/identify", H.service_key, NULL,
	       NULL);
	assert_error(&r, 405, "method_not_allowed");
	assert_string_equal(r.allow, "POST");
	h_resp_free(&r);
	h_call(&H, &r, "PUT", "/referrals", H.service_key, "{}", NULL);
	assert_error(&r, 405, NULL);
	assert_string_equal(r.allow, "POST, GET, HEAD");
	h_resp_free(&r);
}

static void test_malformed_bodies(void **state)
{
	h_resp r;

	h_call(&H, &r, "POST", "/customers/identify", H.service_key,
	       "{\"externalUserId\":", NULL);
	assert_error(&r, 400, "invalid_json");
	h_resp_free(&r);
	h_call(&H, &r, "POST", "/customers/identify", H.service_key, "[1,2]",
	       NULL);
	assert_error(&r, 400, "invalid_json");
	h_resp_free(&r);
	h_call(&H, &r, "POST", "/customers/identify", H.service_key,
	       "{\"email\":\"a@b.c\"}", NULL);
	assert_error(&r, 400, "missing_field");
	assert_message(&r, "externalUserId is required");
	h_resp_free(&r);
	h_call(&H, &r, "POST", "/customers/identify", H.service_key,
	       "{\"externalUserId\":42}", NULL);
	assert_error(&r, 400, "invalid_field");
	assert_message(&r, "externalUserId must be a non-empty string");
	h_resp_free(&r);
	h_call(&H, &r, "POST", "/customers/identify", H.service_key,
	       "{\"externalUserId\":\"u1\",\"environment\":\"staging\"}", NULL);
	assert_error(&r, 400, "invalid_field");
	assert_message(&r, "environment must be one of: production, test");
	h_resp_free(&r);
	h_call(&H, &r, "POST", "/customers/identify", H.service_key,
	       "{\"externalUserId\":\"u1\",\"customProperties\":{\"a\":[1]}}",
	       NULL);
	assert_error(&r, 400, "invalid_field");
	h_resp_free(&r);
	h_call(&H, &r, "POST", "/rewards/trigger", H.service_key,
	       "{\"externalUserId\":\"u1\",\"environment\":\"test\","
	       "\"rewardFor\":[\"self\",\"everyone\"]}",
	       NULL);
	assert_error(&r, 400, "invalid_field");
	assert_message(&r, "rewardFor[1] must be one of: self, "
	                   "referral_partner, referralPartner");
	h_resp_free(&r);
	h_call(&H, &r, "POST", "/referrals/validate-code", H.service_key, "{}",
	       NULL);
	assert_error(&r, 400, "missing_field");
	assert_message(&r, "referralCode is required");
	h_resp_free(&r);
	h_call(&H, &r, "GET", "/campaigns/live?environment=prod", H.service_key,
	       NULL, NULL);
	assert_error(&r, 400, "invalid_field");
	h_resp_free(&r);
	h_call(&H, &r, "GET", "/referrals?limit=500", H.service_key, NULL,
	       NULL);
	assert_error(&r, 400, "invalid_field");
	h_resp_free(&r);
}

static void test_body_limit(void **state)
{
	size_t n = 1024 * 1024 + 1;
	char *big = malloc(n + 1);
	h_resp r;

	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	h_call(&H, &r, "POST", "/customers/identify", H.service_key, big, NULL);
	assert_error(&r, 413, "payload_too_large");
	h_resp_free(&r);
	/* The limit is on bytes, not on meaning: 1 MiB exactly is read. */
	big[n - 2] = '}';
	big[n - 1] = '\0';
	h_call(&H, &r, "POST", "/customers/identify", H.service_key, big, NULL);
	assert_error(&r, 400, "missing_field");
	h_resp_free(&r);
	free(big);
}

static void test_idempotency_key_length(void **state)
{
	char key[300];
	h_resp r;

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	h_call(&H, &r, "POST", "/customers/identify", H.service_key,
	       "{\"externalUserId\":\"idem-len\"}", key);
	assert_error(&r, 400, "invalid_field");
	h_resp_free(&r);
}

static void test_bearer_and_raw_key(void **state)
{
	char bearer[200];
	h_resp r;

	h_call(&H, &r, "GET", "/campaigns", H.service_key, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_is_array(r.json));
	h_resp_free(&r);
	snprintf(bearer, sizeof(bearer), "Bearer %s", H.service_key);
	h_call(&H, &r, "GET", "/campaigns", bearer, NULL, NULL);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
}

/* --- the authentication matrix ------------------------------------------ */

typedef struct {
	const char *method;
	const char *path;
	const char *body;
	int is_public;
} endpoint;

static const endpoint wire[] = {
        {"POST", "/customers/identify",
         "{\"externalUserId\":\"m1\",\"environment\":\"production\"}", 1},
        {"GET", "/campaigns", NULL, 0},
        {"GET", "/campaigns/live?environment=production", NULL, 1},
        {"POST", "/campaigns/cmp_nope/ping", NULL, 1},
        {"GET", "/campaign-checkpoints?campaignId=cmp_nope", NULL, 1},
        {"POST", "/checkpoints/ingest",
         "{\"checkpointName\":\"x\",\"externalUserId\":\"m1\","
         "\"environment\":\"production\"}",
         0},
        {"POST", "/referrals",
         "{\"campaignId\":\"cmp_nope\",\"referralCode\":\"NOPE\","
         "\"refereeExternalUserId\":\"m2\"}",
         1},
        {"GET", "/referrals", NULL, 0},
        {"POST", "/referrals/validate-code", "{\"referralCode\":\"NOPE\"}", 1},
        {"POST", "/rewards/trigger",
         "{\"externalUserId\":\"m1\",\"environment\":\"production\"}", 0},
};

static int status_of(const char *method, const char *path, const char *key,
                     const char *body)
{
	h_resp r;
	int st;

	h_call(&H, &r, method, path, key, body, NULL);
	st = r.status;
	if (st == 401 || st == 403)
		assert_error(&r, st, NULL);
	h_resp_free(&r);
	return st;
}

static void test_auth_matrix_wire(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(wire) / sizeof(wire[0]); i++) {
		const endpoint *e = &wire[i];
		int st;

		print_message("%s %s\n", e->method, e->path);
		assert_int_equal(status_of(e->method, e->path, NULL, e->body),
		                 401);
		assert_int_equal(
		        status_of(e->method, e->path, "sk_bogus", e->body),
		        401);
		assert_int_equal(
		        status_of(e->method, e->path, H.admin_token, e->body),
		        403);
		st = status_of(e->method, e->path, H.public_key, e->body);
		if (e->is_public)
			assert_true(st != 401 && st != 403);
		else
			assert_int_equal(st, 403);
		st = status_of(e->method, e->path, H.service_key, e->body);
		/* Ping is the one route for public keys only. */
		if (strstr(e->path, "/ping"))
			assert_int_equal(st, 403);
		else
			assert_true(st != 401 && st != 403);
	}
}

static void test_auth_matrix_admin(void **state)
{
	static const char *const suffixes[] = {
	        "/keys",    "/campaigns",         "/customers", "/referrals",
	        "/rewards", "/webhook-endpoints", "/events"};
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		h_admin_path(&H, path, sizeof(path), suffixes[i]);
		print_message("GET %s\n", path);
		assert_int_equal(status_of("GET", path, NULL, NULL), 401);
		assert_int_equal(status_of("GET", path, "adm_bogus", NULL),
		                 401);
		assert_int_equal(status_of("GET", path, H.service_key, NULL),
		                 403);
		assert_int_equal(status_of("GET", path, H.public_key, NULL),
		                 403);
		assert_int_equal(status_of("GET", path, H.admin_token, NULL),
		                 200);
	}
	assert_int_equal(status_of("GET", "/admin/apps", H.service_key, NULL),
	                 403);
	assert_int_equal(status_of("GET", "/admin/apps", H.admin_token, NULL),
	                 200);
}

/* An application's admin token never reaches another application. */
static void test_admin_token_of_other_app(void **state)
{
	char other_app[64], other_admin[160], path[256];
	const char *id;
	h_resp r;

	h_callf(&H, &r, "POST", "/admin/apps", H.admin_token, "{s:s}", "name",
	        "other");
	assert_int_equal(r.status, 201);
	id = json_string_value(json_object_get(r.json, "id"));
	assert_non_null(id);
	snprintf(other_app, sizeof(other_app), "%s", id);
	h_resp_free(&r);
	assert_int_equal(h_create_key(&H, other_app, "admin", NULL, other_admin,
	                              sizeof(other_admin)),
	                 0);
	snprintf(path, sizeof(path), "/admin/apps/%s/campaigns", other_app);
	assert_int_equal(status_of("GET", path, other_admin, NULL), 200);
	h_admin_path(&H, path, sizeof(path), "/campaigns");
	/* 404 as for an application that does not exist: a bound token
	 * learns nothing about other applications. */
	assert_int_equal(status_of("GET", path, other_admin, NULL), 404);
}

/* A key limited to one environment may not touch the other. */
static void test_environment_limited_key(void **state)
{
	char test_key[160];
#define INGEST_ENV(env)                                                        \
	"{\"checkpointName\":\"x\",\"externalUserId\":\"envk\","               \
	"\"environment\":\"" env "\"}"

	assert_int_equal(h_create_key(&H, H.app_id, "service", "test", test_key,
	                              sizeof(test_key)),
	                 0);
	assert_int_equal(status_of("POST", "/checkpoints/ingest", test_key,
	                           INGEST_ENV("production")),
	                 403);
	assert_int_equal(status_of("GET",
	                           "/campaigns/live?environment=production",
	                           test_key, NULL),
	                 403);
	assert_int_equal(status_of("POST", "/checkpoints/ingest", test_key,
	                           INGEST_ENV("test")),
	                 201);
}

/* ?environment= on the keys list keeps the keys limited to that
 * environment (it was accepted and ignored); a key for every environment
 * is listed without the filter. test_webhooks_endpoints: the same for
 * endpoints. */
static void test_keys_environment_filter(void **state)
{
	long test = h_listed_in(&H, "/keys", "test");
	long prod = h_listed_in(&H, "/keys", "production");
	char key[160], path[256];

	assert_true(test >= 0 && prod >= 0);
	assert_int_equal(
	        h_create_key(&H, H.app_id, "public", "test", key, sizeof(key)),
	        0);
	assert_int_equal(
	        h_create_key(&H, H.app_id, "service", NULL, key, sizeof(key)),
	        0);
	assert_int_equal(h_listed_in(&H, "/keys", "test"), test + 1);
	assert_int_equal(h_listed_in(&H, "/keys", "production"), prod);

	/* An admin token limited to test cannot ask for production's. */
	assert_int_equal(
	        h_create_key(&H, H.app_id, "admin", "test", key, sizeof(key)),
	        0);
	h_admin_path(&H, path, sizeof(path), "/keys?environment=production");
	assert_int_equal(status_of("GET", path, key, NULL), 403);
	h_admin_path(&H, path, sizeof(path), "/keys?environment=test");
	assert_int_equal(status_of("GET", path, key, NULL), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ops_endpoints),
	        cmocka_unit_test(test_unknown_route_and_method),
	        cmocka_unit_test(test_malformed_bodies),
	        cmocka_unit_test(test_body_limit),
	        cmocka_unit_test(test_idempotency_key_length),
	        cmocka_unit_test(test_bearer_and_raw_key),
	        cmocka_unit_test(test_auth_matrix_wire),
	        cmocka_unit_test(test_auth_matrix_admin),
	        cmocka_unit_test(test_admin_token_of_other_app),
	        cmocka_unit_test(test_environment_limited_key),
	        cmocka_unit_test(test_keys_environment_filter),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
