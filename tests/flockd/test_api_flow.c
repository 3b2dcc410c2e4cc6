/*
 * flockd over HTTP: the engine rules of api.md section 5 end to end,
 * through the wire API and the admin API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "support.h"

static fd_harness H;
static char prod_campaign[64];
static char test_campaign[64];

static int setup(void **state)
{
	memset(&H, 0, sizeof(H));
	/* A low velocity limit so the velocity rule is reachable. */
	H.extra_args[0] = "--velocity-per-hour";
	H.extra_args[1] = "3";
	if (h_start(&H) < 0)
		return -1;
	if (h_live_campaign(&H, "production", 0, 0, prod_campaign,
	                    sizeof(prod_campaign)) < 0)
		return -1;
	return h_live_campaign(&H, "test", 7, 1, test_campaign,
	                       sizeof(test_campaign));
}

static int teardown(void **state)
{
	h_stop(&H);
	return 0;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Identify; returns the customer (caller decrefs). */
static json_t *identify(const char *ext, const char *email, int expect)
{
	h_resp r;
	json_t *c;

	h_callf(&H, &r, "POST", "/customers/identify", H.service_key,
	        "{s:s,s:s?}", "externalUserId", ext, "email", email);
	assert_int_equal(r.status, expect);
	c = json_incref(r.json);
	h_resp_free(&r);
	assert_non_null(str(c, "referralCode"));
	return c;
}

static json_t *refer(const char *campaign, json_t *referrer,
                     const char *referee_ext, int expect)
{
	h_resp r;
	json_t *ref;

	h_callf(&H, &r, "POST", "/referrals", H.service_key, "{s:s,s:s,s:s}",
	        "campaignId", campaign, "referralCode",
	        str(referrer, "referralCode"), "refereeExternalUserId",
	        referee_ext);
	if (r.status != expect)
		print_error("referral: %d %s\n", r.status, r.text);
	assert_int_equal(r.status, expect);
	ref = json_incref(r.json);
	h_resp_free(&r);
	return ref;
}

static json_t *ingest(const char *ext, const char *env)
{
	h_resp r;
	json_t *res;

	h_callf(&H, &r, "POST", "/checkpoints/ingest", H.service_key,
	        "{s:s,s:s,s:s}", "checkpointName", "purchase_completed",
	        "externalUserId", ext, "environment", env);
	if (r.status != 201)
		print_error("ingest: %d %s\n", r.status, r.text);
	assert_int_equal(r.status, 201);
	res = json_incref(r.json);
	h_resp_free(&r);
	return res;
}

static size_t granted(json_t *result)
{
	return json_array_size(json_object_get(result, "rewards"));
}

static void test_identify_create_update(void **state)
{
	json_t *a = identify("flow-u1", "u1@example.com", 201);
	json_t *b;
	h_resp r;

	assert_true(strncmp(str(a, "id"), "cus_", 4) == 0);
	assert_string_equal(str(a, "externalUserId"), "flow-u1");
	h_callf(&H, &r, "POST", "/customers/identify", H.service_key,
	        "{s:s,s:s,s:{s:s,s:i}}", "externalUserId", "flow-u1", "name",
	        "Jane", "customProperties", "plan", "pro", "seats", 3);
	assert_int_equal(r.status, 200);
	b = r.json;
	assert_string_equal(str(b, "id"), str(a, "id"));
	assert_string_equal(str(b, "name"), "Jane");
	assert_string_equal(str(b, "referralCode"), str(a, "referralCode"));
	h_resp_free(&r);
	json_decref(a);
}

static void test_live_campaign_checkpoints_ping(void **state)
{
	char path[256];
	h_resp r;

	h_call(&H, &r, "GET", "/campaigns/live?environment=production",
	       H.public_key, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(str(r.json, "id"), prod_campaign);
	assert_int_equal(json_array_size(json_object_get(r.json, "rewards")),
	                 2);
	h_resp_free(&r);
	h_call(&H, &r, "GET", "/campaigns/live?environment=test", H.service_key,
	       NULL, NULL);
	assert_string_equal(str(r.json, "id"), test_campaign);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/campaign-checkpoints?campaignId=%s",
	         prod_campaign);
	h_call(&H, &r, "GET", path, H.service_key, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(
	        str(json_array_get(json_object_get(r.json, "data"), 0),
	            "checkpointName"),
	        "purchase_completed");
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/campaigns/%s/ping", prod_campaign);
	h_call(&H, &r, "POST", path, H.public_key, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(str(r.json, "id"), prod_campaign);
	h_resp_free(&r);
	h_call(&H, &r, "GET", "/campaigns", H.service_key, NULL, NULL);
	assert_int_equal(json_array_size(r.json), 2);
	h_resp_free(&r);
}

/* A Reward in a response is the stored row, as the admin API reads it
 * (the engine builds it from what it inserted, without reading back). */
static void assert_reward_stored(json_t *rw)
{
	char path[256];
	json_t *v, *found = NULL;
	h_resp r;
	size_t i;
	int same;

	h_admin_path(&H, path, sizeof(path), "/rewards?limit=100");
	h_call(&H, &r, "GET", path, H.admin_token, NULL, NULL);
	json_array_foreach(json_object_get(r.json, "data"), i, v)
	{
		if (strcmp(str(v, "id"), str(rw, "id")) == 0)
			found = v;
	}
	same = found && json_equal(found, rw);
	if (!same) {
		char *a = json_dumps(rw, JSON_COMPACT | JSON_SORT_KEYS);
		char *b =
		        found ? json_dumps(found, JSON_COMPACT | JSON_SORT_KEYS)
		              : NULL;
		print_message("response: %s\nstored:   %s\n", a,
		              b ? b : "(none)");
		free(a);
		free(b);
	}
	h_resp_free(&r);
	assert_true(same);
}

static void test_referral_ingest_rewards(void **state)
{
	json_t *alice = identify("alice", "alice@example.com", 201);
	json_t *bob = identify("bob", "bob@example.org", 201);
	json_t *ref, *res;
	h_resp r;

	h_callf(&H, &r, "POST", "/referrals/validate-code", H.public_key,
	        "{s:s}", "referralCode", str(alice, "referralCode"));
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "isValid")));
	/* A public key reads the referrer's id, not its external id
	 * (docs/security.md); the service key reads it all. */
	assert_string_equal(str(json_object_get(r.json, "referredBy"), "id"),
	                    str(alice, "id"));
	assert_true(json_is_null(json_object_get(
	        json_object_get(r.json, "referredBy"), "externalUserId")));
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/referrals/validate-code", H.service_key,
	        "{s:s}", "referralCode", str(alice, "referralCode"));
	assert_string_equal(
	        str(json_object_get(r.json, "referredBy"), "externalUserId"),
	        "alice");
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/referrals/validate-code", H.service_key,
	        "{s:s}", "referralCode", "NOSUCHCODE");
	assert_int_equal(r.status, 200);
	assert_true(json_is_false(json_object_get(r.json, "isValid")));
	assert_true(json_is_null(json_object_get(r.json, "referredBy")));
	h_resp_free(&r);

	ref = refer(prod_campaign, alice, "bob", 201);
	assert_string_equal(str(ref, "status"), "pending");
	res = ingest("bob", "production");
	assert_true(json_is_true(json_object_get(res, "matched")));
	assert_int_equal(granted(res), 2);
	assert_string_equal(str(json_object_get(res, "referral"), "status"),
	                    "accepted");
	assert_reward_stored(
	        json_array_get(json_object_get(res, "rewards"), 0));
	assert_reward_stored(
	        json_array_get(json_object_get(res, "rewards"), 1));
	json_decref(res);
	/* The same checkpoint again grants nothing more. */
	res = ingest("bob", "production");
	assert_int_equal(granted(res), 0);
	json_decref(res);
	/* An unknown user's checkpoint is recorded, never dropped. */
	res = ingest("ghost", "production");
	assert_int_equal(granted(res), 0);
	assert_non_null(str(res, "customerId"));
	json_decref(res);

	h_call(&H, &r, "GET", "/referrals?status=accepted", H.service_key, NULL,
	       NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_integer_value(json_object_get(r.json, "total")) >= 1);
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/referrals", H.service_key, "{s:s,s:s,s:s}",
	        "campaignId", prod_campaign, "referralCode", "NOSUCHCODE",
	        "refereeExternalUserId", "bob");
	assert_int_equal(r.status, 404);
	assert_string_equal(str(r.json, "code"), "invalid_referral_code");
	h_resp_free(&r);
	json_decref(ref);
	json_decref(alice);
	json_decref(bob);
}

static void test_trigger_new_and_old_body(void **state)
{
	json_t *carol = identify("carol", "carol@example.com", 201);
	json_t *dave = identify("dave", "dave@example.net", 201);
	json_t *ref = refer(prod_campaign, carol, "dave", 201), *res;
	h_resp r;

	h_callf(&H, &r, "POST", "/rewards/trigger", H.service_key,
	        "{s:s,s:s,s:[s]}", "externalUserId", "dave", "environment",
	        "production", "rewardFor", "self");
	assert_int_equal(r.status, 201);
	assert_int_equal(json_array_size(r.json), 1);
	assert_true(strncmp(str(json_array_get(r.json, 0), "id"), "rwd_", 4) ==
	            0);
	h_resp_free(&r);
	/* Flock's older body: customerExternalId, both sides by default. */
	h_callf(&H, &r, "POST", "/rewards/trigger", H.service_key, "{s:s,s:s}",
	        "customerExternalId", "dave", "environment", "production");
	assert_int_equal(r.status, 201);
	assert_int_equal(json_array_size(r.json), 1);
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/rewards/trigger", H.service_key,
	        "{s:s,s:s,s:[s]}", "externalUserId", "dave", "environment",
	        "production", "rewardFor", "referralPartner");
	assert_int_equal(r.status, 201);
	assert_int_equal(json_array_size(r.json), 0);
	h_resp_free(&r);
	res = ingest("dave", "production");
	assert_int_equal(granted(res), 0);
	json_decref(res);
	json_decref(ref);
	json_decref(carol);
	json_decref(dave);
}

/* Count rewards of a referral through the admin API. */
static size_t rewards_of_referral(const char *referral_id)
{
	char path[256];
	h_resp r;
	json_t *v;
	size_t i, n = 0;

	h_admin_path(&H, path, sizeof(path), "/rewards?limit=100");
	h_call(&H, &r, "GET", path, H.admin_token, NULL, NULL);
	assert_int_equal(r.status, 200);
	json_array_foreach(json_object_get(r.json, "data"), i, v)
	{
		if (strcmp(str(v, "referralId"), referral_id) == 0)
			n++;
	}
	h_resp_free(&r);
	return n;
}

static void test_fraud_flags_and_approval(void **state)
{
	json_t *erin = identify("erin", "Erin.X+promo@gmail.com", 201);
	json_t *frank = identify("frank", "frank@mailinator.com", 201);
	json_t *twin = identify("erin-twin", "erinx@gmail.com", 201);
	json_t *ref, *res;
	char path[256], id[64];
	h_resp r;

	ref = refer(prod_campaign, erin, "erin-twin", 201);
	assert_string_equal(str(ref, "status"), "flagged");
	assert_true(json_array_size(json_object_get(ref, "suspectedFrauds")) >
	            0);
	json_decref(ref);
	ref = refer(prod_campaign, erin, "frank", 201);
	assert_string_equal(str(ref, "status"), "flagged");
	snprintf(id, sizeof(id), "%s", str(ref, "id"));
	res = ingest("frank", "production");
	assert_int_equal(granted(res), 0);
	assert_string_equal(str(res, "blockedBy"), "flagged_referral");
	json_decref(res);
	assert_int_equal(rewards_of_referral(id), 0);
	/* Approval replays the reward checkpoint that already came. */
	snprintf(path, sizeof(path), "/admin/apps/%s/referrals/%s/approve",
	         H.app_id, id);
	h_call(&H, &r, "POST", path, H.admin_token, NULL, NULL);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
	assert_int_equal(rewards_of_referral(id), 2);
	json_decref(ref);
	json_decref(erin);
	json_decref(frank);
	json_decref(twin);
}

static void test_velocity(void **state)
{
	json_t *gina = identify("gina", "gina@example.com", 201), *ref;
	char ext[32];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(ext, sizeof(ext), "gina-friend-%d", i);
		json_decref(identify(ext, NULL, 201));
		ref = refer(prod_campaign, gina, ext, 201);
		assert_string_equal(str(ref, "status"),
		                    i < 3 ? "pending" : "flagged");
		json_decref(ref);
	}
	json_decref(gina);
}

static void test_hold_days_limit_and_environments(void **state)
{
	json_t *hank = identify("hank", "hank@example.com", 201);
	json_t *ref1 = refer(test_campaign, hank, "ivan", 201);
	json_t *ref2 = refer(test_campaign, hank, "judy", 201);
	json_t *res, *rw;
	size_t i;

	/* Production has no referral for ivan: nothing is granted there. */
	res = ingest("ivan", "production");
	assert_int_equal(granted(res), 0);
	json_decref(res);
	res = ingest("ivan", "test");
	assert_int_equal(granted(res), 2);
	json_array_foreach(json_object_get(res, "rewards"), i, rw)
	{
		assert_string_equal(str(rw, "status"), "pending");
		assert_string_equal(str(rw, "environment"), "test");
		assert_non_null(str(rw, "availableAt"));
	}
	json_decref(res);
	/* The referrer reward is limited to one: judy's grants only hers. */
	res = ingest("judy", "test");
	assert_int_equal(granted(res), 1);
	assert_string_equal(
	        str(json_array_get(json_object_get(res, "rewards"), 0),
	            "party"),
	        "referee");
	json_decref(res);
	json_decref(ref1);
	json_decref(ref2);
	json_decref(hank);
}

static void test_idempotency(void **state)
{
	const char *body = "{\"externalUserId\":\"idem-1\"}";
	char id[64];
	h_resp r;

	h_call(&H, &r, "POST", "/customers/identify", H.service_key, body,
	       "key-1");
	assert_int_equal(r.status, 201);
	snprintf(id, sizeof(id), "%s", str(r.json, "id"));
	h_resp_free(&r);
	h_call(&H, &r, "POST", "/customers/identify", H.service_key, body,
	       "key-1");
	assert_int_equal(r.status, 201);
	assert_string_equal(str(r.json, "id"), id);
	h_resp_free(&r);
	h_call(&H, &r, "POST", "/customers/identify", H.service_key,
	       "{\"externalUserId\":\"idem-2\"}", "key-1");
	assert_int_equal(r.status, 422);
	assert_string_equal(str(r.json, "code"), "idempotency_key_reused");
	h_resp_free(&r);
}

/* Another application's service key sees none of this one's data. */
static void test_tenancy(void **state)
{
	char other_app[64], other_key[160];
	json_t *alice = identify("alice", "alice@example.com", 200);
	h_resp r;

	h_callf(&H, &r, "POST", "/admin/apps", H.admin_token, "{s:s}", "name",
	        "tenant-2");
	assert_int_equal(r.status, 201);
	snprintf(other_app, sizeof(other_app), "%s", str(r.json, "id"));
	h_resp_free(&r);
	assert_int_equal(h_create_key(&H, other_app, "service", NULL, other_key,
	                              sizeof(other_key)),
	                 0);
	h_call(&H, &r, "GET", "/campaigns", other_key, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(r.json), 0);
	h_resp_free(&r);
	h_call(&H, &r, "GET", "/campaigns/live?environment=production",
	       other_key, NULL, NULL);
	assert_int_equal(r.status, 404);
	assert_string_equal(str(r.json, "code"), "no_live_campaign");
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/referrals/validate-code", other_key, "{s:s}",
	        "referralCode", str(alice, "referralCode"));
	assert_true(json_is_false(json_object_get(r.json, "isValid")));
	h_resp_free(&r);
	json_decref(alice);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_identify_create_update),
	        cmocka_unit_test(test_live_campaign_checkpoints_ping),
	        cmocka_unit_test(test_referral_ingest_rewards),
	        cmocka_unit_test(test_trigger_new_and_old_body),
	        cmocka_unit_test(test_fraud_flags_and_approval),
	        cmocka_unit_test(test_velocity),
	        cmocka_unit_test(test_hold_days_limit_and_environments),
	        cmocka_unit_test(test_idempotency),
	        cmocka_unit_test(test_tenancy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
