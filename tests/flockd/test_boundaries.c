/*
 * flockd's environment boundary (issue 15 items 1 and 2,
 * docs/security.md): a key or an admin token limited to the test
 * environment reaches nothing of production, whether the request sends
 * an environment or only names production objects by their ids
 * (campaignId, a customer's external id or referral code, a path {id}).
 * Customers written before schema step 7 get an environment from their
 * referrals and events. What a public key reads about customers, and
 * referral codes that resist guessing (item 9).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "support.h"

static fd_harness H;
static char cmp_prod[64], cmp_test[64], cmp_idle[64];
static char code_prod[32], cus_prod[64], rwd_prod[64], ref_prod[64];
static char key_prod_id[64];
static char test_sk[160], test_pk[160], test_admin[160];

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int status_of(const char *method, const char *path, const char *key,
                     const char *body, h_resp *keep)
{
	h_resp r;
	int st;

	h_call(&H, &r, method, path, key, body, NULL);
	st = r.status;
	if (st == 403)
		assert_string_equal(jstr(r.json, "code"), "forbidden");
	if (keep)
		*keep = r;
	else
		h_resp_free(&r);
	return st;
}

static const char *ap(char *buf, size_t len, const char *fmt, const char *id)
{
	char suffix[256];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(suffix, sizeof(suffix), fmt, id);
#pragma GCC diagnostic pop
	return h_admin_path(&H, buf, len, suffix);
}

/* A production referral with a granted reward: prod-ref referred
 * prod-friend, who completed a purchase. */
static void production_world(void)
{
	char body[512], path[256];
	h_resp r;
	json_t *k;

	assert_int_equal(h_live_campaign(&H, "production", 0, 0, cmp_prod,
	                                 sizeof(cmp_prod)),
	                 0);
	assert_int_equal(
	        h_live_campaign(&H, "test", 0, 0, cmp_test, sizeof(cmp_test)),
	        0);
	h_admin_path(&H, path, sizeof(path), "/campaigns");
	h_call(&H, &r, "POST", path, H.admin_token,
	       "{\"name\":\"idle\",\"environment\":\"production\"}", NULL);
	assert_int_equal(r.status, 201);
	snprintf(cmp_idle, sizeof(cmp_idle), "%s", jstr(r.json, "id"));
	h_resp_free(&r);

	h_call(&H, &r, "POST", "/customers/identify", H.service_key,
	       "{\"externalUserId\":\"prod-ref\",\"email\":\"ref@prod."
	       "example\","
	       "\"name\":\"Prod Ref\",\"environment\":\"production\"}",
	       NULL);
	assert_int_equal(r.status, 201);
	snprintf(code_prod, sizeof(code_prod), "%s",
	         jstr(r.json, "referralCode"));
	snprintf(cus_prod, sizeof(cus_prod), "%s", jstr(r.json, "id"));
	h_resp_free(&r);
	snprintf(body, sizeof(body),
	         "{\"campaignId\":\"%s\",\"referralCode\":\"%s\","
	         "\"refereeExternalUserId\":\"prod-friend\"}",
	         cmp_prod, code_prod);
	h_call(&H, &r, "POST", "/referrals", H.service_key, body, NULL);
	assert_int_equal(r.status, 201);
	snprintf(ref_prod, sizeof(ref_prod), "%s", jstr(r.json, "id"));
	h_resp_free(&r);
	h_call(&H, &r, "POST", "/checkpoints/ingest", H.service_key,
	       "{\"checkpointName\":\"purchase_completed\","
	       "\"externalUserId\":\"prod-friend\","
	       "\"environment\":\"production\"}",
	       NULL);
	assert_int_equal(r.status, 201);
	k = json_array_get(json_object_get(r.json, "rewards"), 0);
	assert_non_null(k);
	snprintf(rwd_prod, sizeof(rwd_prod), "%s", jstr(k, "id"));
	h_resp_free(&r);

	h_admin_path(&H, path, sizeof(path), "/keys");
	h_call(&H, &r, "POST", path, H.admin_token,
	       "{\"kind\":\"service\",\"environment\":\"production\"}", NULL);
	assert_int_equal(r.status, 201);
	snprintf(key_prod_id, sizeof(key_prod_id), "%s", jstr(r.json, "id"));
	h_resp_free(&r);

	assert_int_equal(h_create_key(&H, H.app_id, "service", "test", test_sk,
	                              sizeof(test_sk)),
	                 0);
	assert_int_equal(h_create_key(&H, H.app_id, "public", "test", test_pk,
	                              sizeof(test_pk)),
	                 0);
	assert_int_equal(h_create_key(&H, H.app_id, "admin", "test", test_admin,
	                              sizeof(test_admin)),
	                 0);
}

static int setup(void **state)
{
	memset(&H, 0, sizeof(H));
	H.extra_args[0] = "--webhook-allow-private";
	if (h_start(&H) < 0)
		return -1;
	production_world();
	return 0;
}

static int teardown(void **state)
{
	h_stop(&H);
	return 0;
}

/* Production rewards, counted through the operator's token. */
static long production_rewards(void)
{
	char path[256];
	h_resp r;
	long n;

	h_admin_path(&H, path, sizeof(path),
	             "/rewards?environment=production&limit=100");
	h_call(&H, &r, "GET", path, H.admin_token, NULL, NULL);
	assert_int_equal(r.status, 200);
	n = (long)json_integer_value(json_object_get(r.json, "total"));
	h_resp_free(&r);
	return n;
}

/* Item 1: wire keys limited to test, with ids implying production. */
static void test_wire_keys_stay_in_their_environment(void **state)
{
	char body[512], path[256];
	long before = production_rewards();
	h_resp r;
	size_t i;
	json_t *k;

	/* The older trigger body: customerExternalId + campaignId. */
	snprintf(body, sizeof(body),
	         "{\"customerExternalId\":\"prod-ref\",\"campaignId\":\"%s\"}",
	         cmp_prod);
	assert_int_equal(
	        status_of("POST", "/rewards/trigger", test_sk, body, NULL),
	        403);
	snprintf(
	        body, sizeof(body),
	        "{\"customerExternalId\":\"prod-friend\",\"campaignId\":\"%s\","
	        "\"mode\":\"all\"}",
	        cmp_prod);
	assert_int_equal(
	        status_of("POST", "/rewards/trigger", test_sk, body, NULL),
	        403);
	assert_int_equal(production_rewards(), before);

	/* A public key: production referrals, pings. */
	snprintf(body, sizeof(body),
	         "{\"campaignId\":\"%s\",\"referralCode\":\"%s\","
	         "\"refereeExternalUserId\":\"test-newcomer\"}",
	         cmp_prod, code_prod);
	assert_int_equal(status_of("POST", "/referrals", test_pk, body, NULL),
	                 403);
	snprintf(path, sizeof(path), "/campaigns/%s/ping", cmp_prod);
	assert_int_equal(status_of("POST", path, test_pk, NULL, NULL), 403);
	snprintf(path, sizeof(path), "/campaign-checkpoints?campaignId=%s",
	         cmp_prod);
	assert_int_equal(status_of("GET", path, test_pk, NULL, NULL), 403);

	/* identify and validate-code on production customers. */
	assert_int_equal(status_of("POST", "/customers/identify", test_pk,
	                           "{\"externalUserId\":\"prod-ref\","
	                           "\"email\":\"evil@example.com\"}",
	                           NULL),
	                 403);
	snprintf(body, sizeof(body), "{\"referralCode\":\"%s\"}", code_prod);
	assert_int_equal(status_of("POST", "/referrals/validate-code", test_pk,
	                           body, NULL),
	                 403);
	snprintf(path, sizeof(path), "/campaigns/live?customerId=%s", cus_prod);
	assert_int_equal(status_of("GET", path, test_pk, NULL, NULL), 403);
	h_admin_path(&H, path, sizeof(path), "/customers/");
	strncat(path, cus_prod, sizeof(path) - strlen(path) - 1);
	h_call(&H, &r, "GET", path, H.admin_token, NULL, NULL);
	assert_string_equal(jstr(r.json, "email"), "ref@prod.example");
	h_resp_free(&r);

	/* GET /campaigns shows test campaigns only. */
	h_call(&H, &r, "GET", "/campaigns", test_sk, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_array_size(r.json) >= 1);
	json_array_foreach(r.json, i, k)
	{
		assert_string_equal(jstr(k, "environment"), "test");
	}
	h_resp_free(&r);

	/* The test environment works as before. */
	assert_int_equal(status_of("POST", "/customers/identify", test_pk,
	                           "{\"externalUserId\":\"test-ref\"}", &r),
	                 201);
	snprintf(body, sizeof(body),
	         "{\"campaignId\":\"%s\",\"referralCode\":\"%s\","
	         "\"refereeExternalUserId\":\"test-friend\"}",
	         cmp_test, jstr(r.json, "referralCode"));
	h_resp_free(&r);
	assert_int_equal(status_of("POST", "/referrals", test_pk, body, NULL),
	                 201);
	snprintf(body, sizeof(body),
	         "{\"customerExternalId\":\"test-friend\",\"campaignId\":\"%"
	         "s\"}",
	         cmp_test);
	assert_int_equal(
	        status_of("POST", "/rewards/trigger", test_sk, body, NULL),
	        201);
}

/* Item 2: an admin token limited to test, on production objects. */
static void test_admin_token_stays_in_its_environment(void **state)
{
	static const char *const lists[] = {"/customers", "/rewards",
	                                    "/referrals", "/events",
	                                    "/campaigns"};
	char path[256];
	h_resp r;
	size_t i, l;
	json_t *o;

	assert_int_equal(status_of("POST",
	                           ap(path, sizeof(path),
	                              "/campaigns/%s/go-live", cmp_idle),
	                           test_admin, NULL, NULL),
	                 403);
	assert_int_equal(
	        status_of("PATCH",
	                  ap(path, sizeof(path), "/campaigns/%s", cmp_prod),
	                  test_admin, "{\"name\":\"pwned\"}", NULL),
	        403);
	assert_int_equal(
	        status_of("GET",
	                  ap(path, sizeof(path), "/campaigns/%s", cmp_prod),
	                  test_admin, NULL, NULL),
	        403);
	assert_int_equal(
	        status_of(
	                "POST",
	                ap(path, sizeof(path), "/campaigns/%s/rewards",
	                   cmp_prod),
	                test_admin,
	                "{\"name\":\"x\",\"type\":\"payout\",\"party\":"
	                "\"referrer\",\"method\":\"paypal\",\"payoutAmount\":1,"
	                "\"currency\":\"usd\"}",
	                NULL),
	        403);
	assert_int_equal(status_of("POST",
	                           ap(path, sizeof(path), "/keys/%s/revoke",
	                              key_prod_id),
	                           test_admin, NULL, NULL),
	                 403);
	assert_int_equal(
	        status_of("GET",
	                  ap(path, sizeof(path), "/customers/%s", cus_prod),
	                  test_admin, NULL, NULL),
	        403);
	assert_int_equal(
	        status_of("DELETE",
	                  ap(path, sizeof(path), "/customers/%s", cus_prod),
	                  test_admin, NULL, NULL),
	        403);
	assert_int_equal(status_of("POST",
	                           ap(path, sizeof(path), "/rewards/%s/revoke",
	                              rwd_prod),
	                           test_admin, NULL, NULL),
	                 403);
	assert_int_equal(status_of("POST",
	                           ap(path, sizeof(path),
	                              "/referrals/%s/reject", ref_prod),
	                           test_admin, NULL, NULL),
	                 403);
	assert_int_equal(status_of("GET",
	                           ap(path, sizeof(path),
	                              "/rewards?campaignId=%s", cmp_prod),
	                           test_admin, NULL, NULL),
	                 403);

	/* Lists show the token's environment only. */
	for (l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		h_call(&H, &r, "GET",
		       h_admin_path(&H, path, sizeof(path), lists[l]),
		       test_admin, NULL, NULL);
		assert_int_equal(r.status, 200);
		json_array_foreach(json_object_get(r.json, "data"), i, o)
		{
			if (jstr(o, "environment"))
				assert_string_equal(jstr(o, "environment"),
				                    "test");
			assert_true(!jstr(o, "id") ||
			            strcmp(jstr(o, "id"), cus_prod) != 0);
		}
		h_resp_free(&r);
	}
	h_call(&H, &r, "GET",
	       h_admin_path(&H, path, sizeof(path), "/customers?q=prod"),
	       test_admin, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "data")), 0);
	h_resp_free(&r);

	/* A key it makes without an environment is limited to test. */
	h_call(&H, &r, "POST", h_admin_path(&H, path, sizeof(path), "/keys"),
	       test_admin, "{\"kind\":\"service\"}", NULL);
	assert_int_equal(r.status, 201);
	assert_string_equal(jstr(r.json, "environment"), "test");
	h_resp_free(&r);

	/* The production objects are as they were. */
	h_call(&H, &r, "GET", ap(path, sizeof(path), "/campaigns/%s", cmp_prod),
	       H.admin_token, NULL, NULL);
	assert_string_equal(jstr(r.json, "name"), "Give 10 get 10");
	h_resp_free(&r);
	h_call(&H, &r, "GET", ap(path, sizeof(path), "/customers/%s", cus_prod),
	       H.admin_token, NULL, NULL);
	assert_string_equal(jstr(r.json, "email"), "ref@prod.example");
	h_resp_free(&r);
}

/* The ids in a list of path (through token), and its total. */
static long list_ids(const char *path, const char *token, char *ids, size_t len)
{
	char p[256];
	json_t *o;
	h_resp r;
	size_t i;
	long total;

	h_call(&H, &r, "GET", h_admin_path(&H, p, sizeof(p), path), token, NULL,
	       NULL);
	assert_int_equal(r.status, 200);
	ids[0] = '\0';
	json_array_foreach(json_object_get(r.json, "data"), i, o)
	{
		size_t used = strlen(ids);

		snprintf(ids + used, len - used, "%s:%s ", jstr(o, "id"),
		         jstr(o, "environment") ? jstr(o, "environment") : "-");
	}
	total = (long)json_integer_value(json_object_get(r.json, "total"));
	assert_int_equal((size_t)total,
	                 json_array_size(json_object_get(r.json, "data")));
	h_resp_free(&r);
	return total;
}

/* The lists of keys and webhook endpoints of a token limited to test show
 * the test ones only (and their totals count only those). */
static void test_admin_lists_keys_and_endpoints_of_its_env(void **state)
{
	char path[256], ids[8192], ep_prod[64], ep_test[64];
	h_resp r;
	long all, mine;

	h_admin_path(&H, path, sizeof(path), "/webhook-endpoints");
	h_call(&H, &r, "POST", path, H.admin_token,
	       "{\"url\":\"http://127.0.0.1:9/p\",\"environment\":"
	       "\"production\"}",
	       NULL);
	assert_int_equal(r.status, 201);
	snprintf(ep_prod, sizeof(ep_prod), "%s", jstr(r.json, "id"));
	h_resp_free(&r);
	h_call(&H, &r, "POST", path, test_admin,
	       "{\"url\":\"http://127.0.0.1:9/t\"}", NULL);
	assert_int_equal(r.status, 201);
	assert_string_equal(jstr(r.json, "environment"), "test");
	snprintf(ep_test, sizeof(ep_test), "%s", jstr(r.json, "id"));
	h_resp_free(&r);

	all = list_ids("/keys?limit=100", H.admin_token, ids, sizeof(ids));
	assert_non_null(strstr(ids, key_prod_id));
	mine = list_ids("/keys?limit=100", test_admin, ids, sizeof(ids));
	assert_true(mine > 0 && mine < all);
	assert_null(strstr(ids, key_prod_id));
	assert_null(strstr(ids, ":production"));
	assert_null(strstr(ids, ":-"));

	all = list_ids("/webhook-endpoints", H.admin_token, ids, sizeof(ids));
	assert_non_null(strstr(ids, ep_prod));
	assert_non_null(strstr(ids, ep_test));
	mine = list_ids("/webhook-endpoints", test_admin, ids, sizeof(ids));
	assert_int_equal(mine, 1);
	assert_non_null(strstr(ids, ep_test));
	assert_null(strstr(ids, ep_prod));
}

/* The event stream of a token limited to test streams test events only
 * (read with curl for a few seconds: events wait 2 s before they are
 * streamed). */
static void test_event_stream_stays_in_its_environment(void **state)
{
	char path[256], cmd[1024], line[4096];
	int prod = 0, test = 0;
	json_t *data;
	h_resp r;
	FILE *p;

	h_call(&H, &r, "GET",
	       h_admin_path(&H, path, sizeof(path), "/events?limit=100"),
	       H.admin_token, NULL, NULL);
	data = json_object_get(r.json, "data");
	assert_true(json_array_size(data) > 2);
	snprintf(cmd, sizeof(cmd),
	         "curl -sN --max-time 4 -H 'Authorization: %s' "
	         "'%s/admin/apps/%s/events/stream?after=%s' 2>/dev/null",
	         test_admin, H.base_url, H.app_id,
	         jstr(json_array_get(data, json_array_size(data) - 1), "id"));
	h_resp_free(&r);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		prod += strstr(line, "\"environment\":\"production\"") != NULL;
		test += strstr(line, "\"environment\":\"test\"") != NULL;
	}
	pclose(p);
	assert_int_equal(prod, 0);
	assert_true(test > 0);
}

/* Item 9: what a public key reads about customers; codes. */
static void test_public_key_reads_little(void **state)
{
	char body[256], path[256];
	json_t *by;
	h_resp r;
	int i, valid = 0;

	/* identify: an existing customer is neither changed nor shown. */
	h_call(&H, &r, "POST", "/customers/identify", H.public_key,
	       "{\"externalUserId\":\"prod-ref\",\"email\":\"evil@example."
	       "com\","
	       "\"name\":\"Evil\",\"customProperties\":{\"x\":1}}",
	       NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_is_null(json_object_get(r.json, "email")));
	assert_int_equal(
	        json_object_size(json_object_get(r.json, "customProperties")),
	        0);
	assert_string_equal(jstr(r.json, "referralCode"), code_prod);
	h_resp_free(&r);
	h_call(&H, &r, "GET", ap(path, sizeof(path), "/customers/%s", cus_prod),
	       H.admin_token, NULL, NULL);
	assert_string_equal(jstr(r.json, "email"), "ref@prod.example");
	assert_string_equal(jstr(r.json, "name"), "Prod Ref");
	h_resp_free(&r);
	/* A new one is created from what the caller sent. */
	h_call(&H, &r, "POST", "/customers/identify", H.public_key,
	       "{\"externalUserId\":\"pk-new\",\"email\":\"new@example.com\"}",
	       NULL);
	assert_int_equal(r.status, 201);
	assert_string_equal(jstr(r.json, "email"), "new@example.com");
	h_resp_free(&r);

	/* validate-code: the referrer's id and name, not email. */
	snprintf(body, sizeof(body), "{\"referralCode\":\"%s\"}", code_prod);
	h_call(&H, &r, "POST", "/referrals/validate-code", H.public_key, body,
	       NULL);
	assert_int_equal(r.status, 200);
	by = json_object_get(r.json, "referredBy");
	assert_string_equal(jstr(by, "id"), cus_prod);
	assert_string_equal(jstr(by, "name"), "Prod Ref");
	assert_true(json_is_null(json_object_get(by, "email")));
	assert_true(json_is_null(json_object_get(by, "externalUserId")));
	h_resp_free(&r);
	/* ...the service key reads it all, as the spec says. */
	h_call(&H, &r, "POST", "/referrals/validate-code", H.service_key, body,
	       NULL);
	assert_string_equal(
	        jstr(json_object_get(r.json, "referredBy"), "email"),
	        "ref@prod.example");
	h_resp_free(&r);

	/* Codes: 8 random characters after the name's letters; 300 guesses
	 * of the old shape find nothing. */
	assert_int_equal(strlen(code_prod), 4 + 8);
	for (i = 0; i < 300; i++) {
		static const char abc[] = "23456789ABCDEFGHJKMNPQRSTVWXYZ";
		snprintf(body, sizeof(body),
		         "{\"referralCode\":\"PROD%c%c%c\"}", abc[i % 30],
		         abc[(i / 30) % 30], abc[(i * 7) % 30]);
		h_call(&H, &r, "POST", "/referrals/validate-code", H.public_key,
		       body, NULL);
		valid += json_is_true(json_object_get(r.json, "isValid"));
		h_resp_free(&r);
	}
	assert_int_equal(valid, 0);
}

/* Schema step 7 on a database an older flockd wrote: customers named
 * only by test referrals become test customers, the others production. */
static void test_customers_from_an_older_flockd(void **state)
{
	char path[256];
	long n = -1;

	assert_int_equal(h_kill(&H, SIGTERM), 0);
	assert_int_equal(h_db_exec(H.db, "ALTER TABLE customers DROP COLUMN "
	                                 "environment"),
	                 0);
	assert_int_equal(h_db_exec(H.db, h_is_pg() ? "UPDATE flockd_schema SET "
	                                             "version = 6"
	                                           : "PRAGMA user_version = 6"),
	                 0);
	assert_int_equal(h_serve(&H), 0);
	assert_int_equal(h_db_long(H.db,
	                           "SELECT count(*) FROM customers WHERE "
	                           "environment = 'test' AND external_id IN "
	                           "('test-ref', 'test-friend')",
	                           &n),
	                 0);
	assert_int_equal(n, 2);
	assert_int_equal(h_db_long(H.db,
	                           "SELECT count(*) FROM customers WHERE "
	                           "environment = 'production' AND external_id "
	                           "IN ('prod-ref', 'prod-friend')",
	                           &n),
	                 0);
	assert_int_equal(n, 2);
	assert_int_equal(
	        status_of("GET",
	                  ap(path, sizeof(path), "/customers/%s", cus_prod),
	                  test_admin, NULL, NULL),
	        403);
}

/* Item 11: the database file is the operator's alone (SQLite), and the
 * operator's token can be revoked (last: H's token is gone after). */
static void test_operator_token_revoked(void **state)
{
	const char *id = jstr(H.init, "adminTokenId");
	char path[256];
	struct stat st;
	h_resp r;

	if (!h_is_pg()) {
		assert_int_equal(stat(H.db, &st), 0);
		assert_int_equal(st.st_mode & 077, 0);
	}
	assert_non_null(id);
	/* An application's admin token cannot. */
	assert_int_not_equal(
	        status_of("POST", ap(path, sizeof(path), "/keys/%s/revoke", id),
	                  test_admin, NULL, NULL),
	        200);
	h_call(&H, &r, "POST", ap(path, sizeof(path), "/keys/%s/revoke", id),
	       H.admin_token, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "id"), id);
	assert_non_null(jstr(r.json, "revokedAt"));
	h_resp_free(&r);
	h_call(&H, &r, "GET", "/admin/apps", H.admin_token, NULL, NULL);
	assert_int_equal(r.status, 401);
	h_resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_wire_keys_stay_in_their_environment),
	        cmocka_unit_test(test_admin_token_stays_in_its_environment),
	        cmocka_unit_test(
	                test_admin_lists_keys_and_endpoints_of_its_env),
	        cmocka_unit_test(test_event_stream_stays_in_its_environment),
	        cmocka_unit_test(test_public_key_reads_little),
	        cmocka_unit_test(test_customers_from_an_older_flockd),
	        cmocka_unit_test(test_operator_token_revoked),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
