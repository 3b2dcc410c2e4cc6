/*
 * What a request body may hold (issue 15 items 3, 8, 10 and part of 11,
 * docs/security.md "Limits"): nesting deeper than FD_JSON_MAX_DEPTH is
 * refused at input so no campaign ever becomes undumpable; field lengths,
 * property counts and number ranges are refused with messages naming the
 * field and the limit; numbers are written as JSON.stringify writes them,
 * in answers and in webhook bodies (so a delivery re-serialised equals
 * its signed bytes); a campaign's environment cannot be PATCHed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/jdump.h"
#include "harness_webhooks.h"
#include "http/router.h"
#include "support.h"

static fd_harness H;

static const char *const ARGS[] = {"--test-clock", "--webhook-allow-private",
                                   NULL};

static int setup(void **state)
{
	memset(&H, 0, sizeof(H));
	H.extra_args[0] = ARGS[0];
	H.extra_args[1] = ARGS[1];
	return h_start(&H);
}

static int teardown(void **state)
{
	h_stop(&H);
	return 0;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* "[[[...1...]]]" nested depth levels. */
static char *nested(int depth)
{
	char *s = malloc((size_t)depth * 2 + 2), *p = s;
	int i;

	for (i = 0; i < depth; i++)
		*p++ = '[';
	*p++ = '1';
	for (i = 0; i < depth; i++)
		*p++ = ']';
	*p = '\0';
	return s;
}

static void expect_400(h_resp *r, const char *msg)
{
	assert_int_equal(r->status, 400);
	assert_string_equal(jstr(r->json, "code"), "invalid_field");
	if (!strstr(jstr(r->json, "message"), msg)) {
		fprintf(stderr, "message: %s\n", jstr(r->json, "message"));
		fail();
	}
}

/* Item 3: faqs, emails, campaignPages nested past the limit. */
static void test_deep_bodies_refused(void **state)
{
	static const char *const fields[] = {"faqs", "emails", "campaignPages"};
	static const int depths[] = {FD_JSON_MAX_DEPTH, 300, 2000};
	char path[256], msg[128];
	size_t f, d;
	h_resp r;

	h_admin_path(&H, path, sizeof(path), "/campaigns");
	for (f = 0; f < 3; f++)
		for (d = 0; d < 3; d++) {
			char *deep = nested(depths[d]);
			size_t len = strlen(deep) + 128;
			char *body = malloc(len);

			snprintf(body, len,
			         "{\"name\":\"deep\",\"environment\":"
			         "\"production\","
			         "\"%s\":%s}",
			         fields[f], deep);
			h_call(&H, &r, "POST", path, H.admin_token, body, NULL);
			snprintf(msg, sizeof(msg),
			         "%s nests deeper than %d levels", fields[f],
			         FD_JSON_MAX_DEPTH);
			expect_400(&r, msg);
			h_resp_free(&r);
			free(body);
			free(deep);
		}
	/* Within the limit: stored and read back whole. */
	{
		char *ok = nested(FD_JSON_MAX_DEPTH - 3);
		size_t len = strlen(ok) + 128;
		char *body = malloc(len);

		snprintf(body, len,
		         "{\"name\":\"deep\",\"environment\":\"production\","
		         "\"faqs\":[%s]}",
		         ok);
		h_call(&H, &r, "POST", path, H.admin_token, body, NULL);
		assert_int_equal(r.status, 201);
		h_resp_free(&r);
		free(body);
		free(ok);
	}
	h_call(&H, &r, "GET", "/campaigns", H.service_key, NULL, NULL);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
	h_call(&H, &r, "GET", path, H.admin_token, NULL, NULL);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
}

/* A value nested past fd_jdump's limit (only an older flockd stored
 * such) is written as null: the answer still goes out, never dropped. */
static void test_jdump_never_fails_on_depth(void **state)
{
	char *deep = nested(FD_JDUMP_MAX_DEPTH + 50), *out;
	json_error_t e;
	json_t *v = json_loads(deep, 0, &e);

	assert_non_null(v);
	out = fd_jdump(v, NULL);
	assert_non_null(out);
	json_decref(v);
	v = json_loads(out, 0, &e);
	assert_non_null(v);
	json_decref(v);
	free(out);
	free(deep);
}

static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

/* Item 8: lengths, property counts, amounts, dates. */
static void test_field_limits(void **state)
{
	char *big = repeat('a', 1000000), *ok = repeat('a', FD_LIMIT_ID);
	char path[256], msg[128];
	json_t *props = json_object();
	h_resp r;
	int i;

	h_callf(&H, &r, "POST", "/customers/identify", H.service_key, "{s:s}",
	        "externalUserId", big);
	snprintf(msg, sizeof(msg), "externalUserId must be at most %d",
	         FD_LIMIT_ID);
	expect_400(&r, msg);
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/customers/identify", H.service_key, "{s:s}",
	        "externalUserId", ok);
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/customers/identify", H.service_key,
	        "{s:s, s:s}", "externalUserId", "lim", "email", big);
	expect_400(&r, "email must be at most");
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/customers/identify", H.service_key,
	        "{s:s, s:s}", "externalUserId", "lim", "name", big);
	expect_400(&r, "name must be at most");
	h_resp_free(&r);
	h_callf(&H, &r, "POST", "/checkpoints/ingest", H.service_key,
	        "{s:s, s:s, s:s}", "checkpointName", big, "externalUserId",
	        "lim", "environment", "production");
	expect_400(&r, "checkpointName must be at most");
	h_resp_free(&r);
	for (i = 0; i < 30000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		json_object_set_new(props, k, json_integer(i));
	}
	h_callf(&H, &r, "POST", "/customers/identify", H.service_key,
	        "{s:s, s:o}", "externalUserId", "lim", "customProperties",
	        props);
	snprintf(msg, sizeof(msg),
	         "customProperties must have at most %d members",
	         FD_LIMIT_PROPS);
	expect_400(&r, msg);
	h_resp_free(&r);

	h_admin_path(&H, path, sizeof(path), "/campaigns");
	h_call(&H, &r, "POST", path, H.admin_token,
	       "{\"name\":\"n\",\"environment\":\"test\",\"rewards\":[{"
	       "\"type\":"
	       "\"payout\",\"party\":\"referrer\",\"payoutAmount\":-5}]}",
	       NULL);
	expect_400(&r, "rewards[0].payoutAmount must be a number from 0 to");
	h_resp_free(&r);
	h_call(&H, &r, "POST", path, H.admin_token,
	       "{\"name\":\"n\",\"environment\":\"test\",\"rewards\":[{"
	       "\"type\":"
	       "\"discount\",\"party\":\"referee\",\"discountPercentage\":"
	       "1000}]}",
	       NULL);
	expect_400(&r, "rewards[0].discountPercentage must be a number from 0 "
	               "to 100");
	h_resp_free(&r);
	h_call(&H, &r, "POST", path, H.admin_token,
	       "{\"name\":\"n\",\"environment\":\"test\",\"startsAt\":"
	       "\"2030-01-02T00:00:00Z\",\"endsAt\":\"2030-01-01T00:00:00Z\"}",
	       NULL);
	expect_400(&r, "endsAt must be after startsAt");
	h_resp_free(&r);
	{
		json_t *b = json_pack("{s:s, s:s, s:[]}", "name", "n",
		                      "environment", "test", "rewards");
		json_t *rw = json_object_get(b, "rewards");
		for (i = 0; i < 20000; i++)
			json_array_append_new(
			        rw, json_pack("{s:s, s:s}", "type", "payout",
			                      "party", "referrer"));
		h_callf(&H, &r, "POST", path, H.admin_token, "o", b);
		snprintf(msg, sizeof(msg), "rewards must have at most %d items",
		         FD_LIMIT_CAMPAIGN_ITEMS);
		expect_400(&r, msg);
		h_resp_free(&r);
	}
	/* Added one at a time: no more either. */
	{
		char id[64], rpath[256];
		h_call(&H, &r, "POST", path, H.admin_token,
		       "{\"name\":\"full\",\"environment\":\"test\"}", NULL);
		assert_int_equal(r.status, 201);
		snprintf(id, sizeof(id), "%s", jstr(r.json, "id"));
		h_resp_free(&r);
		snprintf(rpath, sizeof(rpath),
		         "/admin/apps/%s/campaigns/%s/rewards", H.app_id, id);
		for (i = 0; i <= FD_LIMIT_CAMPAIGN_ITEMS; i++) {
			h_call(&H, &r, "POST", rpath, H.admin_token,
			       "{\"type\":\"payout\",\"party\":\"referrer\","
			       "\"method\":\"paypal\",\"payoutAmount\":1,"
			       "\"currency\":\"usd\"}",
			       NULL);
			if (i < FD_LIMIT_CAMPAIGN_ITEMS)
				assert_int_equal(r.status, 201);
			else
				expect_400(&r, "a campaign has at most");
			h_resp_free(&r);
		}
		/* Checkpoints, one at a time, have the same cap. */
		snprintf(rpath, sizeof(rpath),
		         "/admin/apps/%s/campaigns/%s/checkpoints", H.app_id,
		         id);
		for (i = 0; i <= FD_LIMIT_CAMPAIGN_ITEMS; i++) {
			char body[128];

			snprintf(body, sizeof(body),
			         "{\"checkpointName\":\"step_%d\","
			         "\"trigger\":\"reward\"}",
			         i);
			h_call(&H, &r, "POST", rpath, H.admin_token, body,
			       NULL);
			if (i < FD_LIMIT_CAMPAIGN_ITEMS)
				assert_int_equal(r.status, 201);
			else
				expect_400(&r, "a campaign has at most 100 "
				               "checkpoints");
			h_resp_free(&r);
		}
	}
	free(big);
	free(ok);
}

/* Item 10: JavaScript's number formatting. */
static void test_numbers_as_javascript_writes_them(void **state)
{
	static const struct {
		double d;
		const char *js;
	} cases[] = {
	        {9.99, "9.99"},
	        {0.1, "0.1"},
	        {100.0, "100"},
	        {-2.5, "-2.5"},
	        {0.1 + 0.2, "0.30000000000000004"},
	        {1e21, "1e+21"},
	        {1e18, "1000000000000000000"},
	        /* Past 64 bits: an exponent (jansson reads no bigger
	         * integers), where JavaScript writes digits. */
	        {1e20, "1e+20"},
	        {-1.5e19, "-1.5e+19"},
	        {1.5e-7, "1.5e-7"},
	        {0.000001, "0.000001"},
	        {123456.789, "123456.789"},
	        {5e-324, "5e-324"},
	        {1.7976931348623157e308, "1.7976931348623157e+308"},
	        {-0.0, "0"},
	};
	char out[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(fd_jdump_double(out, cases[i].d) > 0);
		assert_string_equal(out, cases[i].js);
	}
}

/* JSON.stringify(JSON.parse(body)) through node (else python3's json,
 * the same for the non-integral reals used here) equals body? */
static int restringifies_equal(const char *body)
{
	char file[] = "/tmp/flockd-limits-XXXXXX", cmd[512], got[8];
	FILE *p;
	int fd = mkstemp(file), same = 0;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	snprintf(cmd, sizeof(cmd),
	         "if command -v node >/dev/null; then node -e 'const fs="
	         "require(\"fs\");const b=fs.readFileSync(\"%s\",\"utf8\");"
	         "process.stdout.write(JSON.stringify(JSON.parse(b))===b?"
	         "\"same\":\"diff\")'; else python3 -c 'import json,sys;"
	         "b=open(\"%s\",encoding=\"utf-8\").read();sys.stdout.write("
	         "\"same\" if json.dumps(json.loads(b),separators=(\",\","
	         "\":\"),ensure_ascii=False)==b else \"diff\")'; fi",
	         file, file);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (fgets(got, sizeof(got), p))
		same = strcmp(got, "same") == 0;
	pclose(p);
	unlink(file);
	return same;
}

/* Integers past 64 bits: refused (flockd keeps integers exact or not at
 * all), with the reason in the message. */
static void test_big_integers_refused(void **state)
{
	h_resp r;

	h_call(&H, &r, "POST", "/customers/identify", H.service_key,
	       "{\"externalUserId\":\"big\",\"customProperties\":{\"n\":"
	       "123456789012345678901234}}",
	       NULL);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(jstr(r.json, "message"), "too big integer"));
	h_resp_free(&r);
}

/* Amounts in answers and in signed webhook bodies. */
static void test_amounts_in_answers_and_webhooks(void **state)
{
	char path[256], body[512], code[32], cmp[64];
	receiver rx;
	json_t *ep;
	h_resp r;
	int i;

	memset(&rx, 0, sizeof(rx));
	rx_start(&rx);
	ep = wh_endpoint(&H, rx.port, "[\"reward.created\"]");
	h_admin_path(&H, path, sizeof(path), "/campaigns");
	h_call(&H, &r, "POST", path, H.admin_token,
	       "{\"name\":\"amounts\",\"environment\":\"production\","
	       "\"rewards\":[{\"name\":\"r\",\"type\":\"payout\",\"party\":"
	       "\"referrer\",\"method\":\"paypal\",\"payoutAmount\":9.99,"
	       "\"currency\":\"usd\"},{\"name\":\"e\",\"type\":\"discount\","
	       "\"party\":\"referee\",\"discountPercentage\":0.1}],"
	       "\"checkpoints\":[{\"checkpointName\":\"buy\",\"trigger\":"
	       "\"reward\"}]}",
	       NULL);
	assert_int_equal(r.status, 201);
	assert_non_null(strstr(r.text, "\"payoutAmount\":9.99,"));
	assert_non_null(strstr(r.text, "\"discountPercentage\":0.1,"));
	assert_null(strstr(r.text, "9.9900000000000002"));
	snprintf(cmp, sizeof(cmp), "%s", jstr(r.json, "id"));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/admin/apps/%s/campaigns/%s/go-live",
	         H.app_id, cmp);
	h_call(&H, &r, "POST", path, H.admin_token, NULL, NULL);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);

	h_call(&H, &r, "POST", "/customers/identify", H.service_key,
	       "{\"externalUserId\":\"amt-ref\"}", NULL);
	snprintf(code, sizeof(code), "%s", jstr(r.json, "referralCode"));
	h_resp_free(&r);
	snprintf(body, sizeof(body),
	         "{\"campaignId\":\"%s\",\"referralCode\":\"%s\","
	         "\"refereeExternalUserId\":\"amt-friend\"}",
	         cmp, code);
	h_call(&H, &r, "POST", "/referrals", H.service_key, body, NULL);
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
	h_call(&H, &r, "POST", "/checkpoints/ingest", H.service_key,
	       "{\"checkpointName\":\"buy\",\"externalUserId\":\"amt-friend\","
	       "\"environment\":\"production\"}",
	       NULL);
	assert_int_equal(r.status, 201);
	assert_non_null(strstr(r.text, "\"payoutAmount\":9.99"));
	h_resp_free(&r);

	rx_wait(&rx, 2);
	for (i = 0; i < 2; i++) {
		const char *b = rx.seen[i].body;
		assert_true(strstr(b, "9.99") || strstr(b, "0.1"));
		assert_null(strstr(b, "9.9900000000000002"));
		assert_null(strstr(b, "0.10000000000000001"));
		assert_true(restringifies_equal(b));
		assert_int_equal(
		        rx_verify(&H, &rx.seen[i], wh_str(ep, "secret"), 1, 0),
		        0);
	}
	ep_off(&H, ep);
	rx_stop(&rx);
	json_decref(ep);
}

/* Item 11: PATCH of environment is refused, not ignored. */
static void test_environment_not_patched(void **state)
{
	char path[256], id[64];
	h_resp r;

	h_admin_path(&H, path, sizeof(path), "/campaigns");
	h_call(&H, &r, "POST", path, H.admin_token,
	       "{\"name\":\"stay\",\"environment\":\"test\"}", NULL);
	assert_int_equal(r.status, 201);
	snprintf(id, sizeof(id), "%s", jstr(r.json, "id"));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/admin/apps/%s/campaigns/%s", H.app_id,
	         id);
	h_call(&H, &r, "PATCH", path, H.admin_token,
	       "{\"environment\":\"production\"}", NULL);
	expect_400(&r, "environment cannot be changed");
	h_resp_free(&r);
	h_call(&H, &r, "PATCH", path, H.admin_token,
	       "{\"environment\":\"test\",\"name\":\"same\"}", NULL);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
}

/* Item 11: a second rotation during the first one's grace is refused
 * (it would end that grace at once); graceSeconds 0 always switches. */
static void test_second_rotation_in_grace(void **state)
{
	receiver rx;
	json_t *ep, *a;

	memset(&rx, 0, sizeof(rx));
	rx_start(&rx);
	ep = wh_endpoint(&H, rx.port, "[\"customer.created\"]");
	a = ep_call(&H, "POST", ep, "/rotate-secret", "{\"graceSeconds\":3600}",
	            200);
	json_decref(a);
	a = ep_call(&H, "POST", ep, "/rotate-secret", "{\"graceSeconds\":60}",
	            409);
	assert_string_equal(jstr(a, "code"), "rotation_in_grace");
	json_decref(a);
	h_clock_advance(&H, 3601 * 1000);
	a = ep_call(&H, "POST", ep, "/rotate-secret", "{\"graceSeconds\":60}",
	            200);
	json_decref(a);
	a = ep_call(&H, "POST", ep, "/rotate-secret", "{\"graceSeconds\":0}",
	            200);
	json_decref(a);
	ep_off(&H, ep);
	rx_stop(&rx);
	json_decref(ep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_deep_bodies_refused),
	        cmocka_unit_test(test_jdump_never_fails_on_depth),
	        cmocka_unit_test(test_field_limits),
	        cmocka_unit_test(test_numbers_as_javascript_writes_them),
	        cmocka_unit_test(test_big_integers_refused),
	        cmocka_unit_test(test_amounts_in_answers_and_webhooks),
	        cmocka_unit_test(test_environment_not_patched),
	        cmocka_unit_test(test_second_rotation_in_grace),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
