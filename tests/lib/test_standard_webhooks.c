/*
 * flock_webhooks_verify_standard() and flock_webhooks_sign_standard():
 * the Standard Webhooks project's published vectors and the scenarios of
 * its reference libraries' tests (tests/lib/data/webhooks/
 * standard_vectors.json, made by make_standard_vectors.py, which says
 * where each comes from), then tolerance, arguments, secrets, and
 * construct_event taking the same secrets for its Standard headers.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <flock.h>

#define VEC_SECRET "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_PAYLOAD "{\"test\": 2432232314}"
#define VEC_TS 1614265330LL
#define VEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static json_t *vectors;

static int load(void **state)
{
	const char *file = __FILE__, *slash = strrchr(file, '/');
	char path[4096], *text;

	(void)state;
	snprintf(path, sizeof(path), "%.*sdata/webhooks/standard_vectors.json",
	         slash != NULL ? (int)(slash - file) + 1 : 0, file);
	text = flock_test_read_file(path, NULL);
	if (text == NULL)
		return -1;
	vectors = json_loads(text, 0, NULL);
	free(text);
	return json_is_object(vectors) ? 0 : -1;
}

static int unload(void **state)
{
	(void)state;
	json_decref(vectors);
	return 0;
}

static const char *vs(json_t *v, const char *key)
{
	const char *s = json_string_value(json_object_get(v, key));

	assert_non_null(s);
	return s;
}

/* The published example, with the clock at its timestamp. */
static flock_standard_webhook_params example(void)
{
	flock_standard_webhook_params p = FLOCK_STANDARD_WEBHOOK_PARAMS_INIT;

	p.secret = "whsec_" VEC_SECRET;
	p.id = VEC_ID;
	p.timestamp = "1614265330";
	p.signature = VEC_SIG;
	p.payload = VEC_PAYLOAD;
	p.payload_len = strlen(VEC_PAYLOAD);
	p.now_s = VEC_TS;
	return p;
}

/* verify_standard, asserting the error detail agrees with the code. */
static int verify(const flock_standard_webhook_params *p)
{
	int rc = flock_webhooks_verify_standard(p);
	const flock_error *e = flock_error_last();

	if (rc == 0) {
		assert_null(e);
	} else {
		assert_non_null(e);
		assert_int_equal(e->code, rc);
		assert_true(strlen(e->message) > 0);
		if (p != NULL && p->secret != NULL && strlen(p->secret) > 6)
			assert_null(strstr(e->message, p->secret));
	}
	return rc;
}

static int expected_code(const char *expect)
{
	if (strcmp(expect, "ok") == 0)
		return 0;
	if (strcmp(expect, "mismatch") == 0)
		return FLOCK_ESIG_MISMATCH;
	if (strcmp(expect, "malformed") == 0)
		return FLOCK_ESIG_MALFORMED;
	if (strcmp(expect, "secret") == 0)
		return FLOCK_ESECRET;
	fail_msg("unknown expectation %s", expect);
	return 1;
}

static void test_published_sign_vectors(void **state)
{
	json_t *all = json_object_get(vectors, "sign"), *v;
	size_t i;

	(void)state;
	assert_true(json_array_size(all) >= 2);
	json_array_foreach(all, i, v)
	{
		flock_standard_webhook_params p =
		        FLOCK_STANDARD_WEBHOOK_PARAMS_INIT;
		char sig[FLOCK_STANDARD_SIGNATURE_SIZE];

		p.secret = vs(v, "secret");
		p.id = vs(v, "id");
		p.timestamp = vs(v, "timestamp");
		p.payload = vs(v, "payload");
		p.payload_len = strlen(p.payload);
		assert_int_equal(flock_webhooks_sign_standard(sig, sizeof(sig), &p),
		                 0);
		if (strcmp(sig, vs(v, "signature")) != 0)
			fail_msg("%s: signed %s, published %s", vs(v, "name"),
			         sig, vs(v, "signature"));
		/* and what was signed verifies */
		p.signature = sig;
		p.now_s = strtoll(p.timestamp, NULL, 10);
		assert_int_equal(verify(&p), 0);
	}
}

static void test_reference_scenarios(void **state)
{
	json_t *all = json_object_get(vectors, "verify"), *v;
	long long now = json_integer_value(json_object_get(vectors, "now_s"));
	size_t i;

	(void)state;
	assert_true(json_array_size(all) >= 20);
	json_array_foreach(all, i, v)
	{
		flock_standard_webhook_params p =
		        FLOCK_STANDARD_WEBHOOK_PARAMS_INIT;
		int want = expected_code(vs(v, "expect")), got;

		p.secret = vs(v, "secret");
		p.id = vs(v, "id");
		p.timestamp = vs(v, "timestamp");
		p.signature = vs(v, "signature");
		p.payload = vs(v, "payload");
		p.payload_len = strlen(p.payload);
		p.now_s = strcmp(vs(v, "name"), "invalid timestamp") == 0
		                  ? now
		                  : strtoll(p.timestamp, NULL, 10) + 1;
		got = verify(&p);
		if (got != want)
			fail_msg("%s: got %d (%s), expected %d", vs(v, "name"),
			         got, got ? flock_error_last()->message : "",
			         want);
	}
}

static void test_tolerance(void **state)
{
	flock_standard_webhook_params p = example();

	(void)state;
	/* The reference libraries: too old when now - ts > tolerance. */
	p.now_s = VEC_TS + 300;
	assert_int_equal(verify(&p), 0);
	p.now_s = VEC_TS + 301;
	assert_int_equal(verify(&p), FLOCK_ESIG_EXPIRED);
	p.now_s = VEC_TS - 300;
	assert_int_equal(verify(&p), 0);
	p.now_s = VEC_TS - 301;
	assert_int_equal(verify(&p), FLOCK_ESIG_FUTURE);
	p.tolerance_s = 10;
	p.now_s = VEC_TS + 11;
	assert_int_equal(verify(&p), FLOCK_ESIG_EXPIRED);
	/* 0: no age check at all */
	p.tolerance_s = 0;
	p.now_s = VEC_TS * 2;
	assert_int_equal(verify(&p), 0);
	/* now_s 0 is the real clock, years after 2021 */
	p.tolerance_s = FLOCK_STANDARD_WEBHOOK_DEFAULT_TOLERANCE_S;
	p.now_s = 0;
	assert_int_equal(verify(&p), FLOCK_ESIG_EXPIRED);
	/* a forgery is reported as one even when stale */
	p.signature = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
	assert_int_equal(verify(&p), FLOCK_ESIG_MISMATCH);
}

static void test_signature_items(void **state)
{
	flock_standard_webhook_params p = example();

	(void)state;
	/* asymmetric (v1a) and future versions are skipped */
	p.signature = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYX"
	              "FymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg== " VEC_SIG " v2,xyz";
	assert_int_equal(verify(&p), 0);
	/* extra spaces between items */
	p.signature = "   " VEC_SIG "   ";
	assert_int_equal(verify(&p), 0);
	/* the right MAC under another version does not count */
	p.signature = "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "
	              "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
	assert_int_equal(verify(&p), FLOCK_ESIG_MISMATCH);
	p.signature = "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
	assert_int_equal(verify(&p), FLOCK_ESIG_MALFORMED);
	p.signature = "   ";
	assert_int_equal(verify(&p), FLOCK_ESIG_MALFORMED);
}

static void test_arguments(void **state)
{
	flock_standard_webhook_params p = example();
	static const char *bad_ts[] = {"-5", "+5", " 1", "1.0", "1e3", "0x10",
	                               "99999999999999999999"};
	size_t i;

	(void)state;
	assert_int_equal(verify(NULL), FLOCK_EINVAL);
	p.version = 2;
	assert_int_equal(verify(&p), FLOCK_EINVAL);
	p = example();
	p.secret = NULL;
	assert_int_equal(verify(&p), FLOCK_EINVAL);
	p = example();
	p.payload = NULL;
	assert_int_equal(verify(&p), FLOCK_EINVAL);
	p.payload_len = 0; /* an empty payload may be NULL */
	assert_int_equal(verify(&p), FLOCK_ESIG_MISMATCH);
	p = example();
	p.tolerance_s = -1;
	assert_int_equal(verify(&p), FLOCK_EINVAL);
	p = example();
	p.now_s = -1;
	assert_int_equal(verify(&p), FLOCK_EINVAL);
	p = example();
	p.id = p.timestamp = p.signature = NULL;
	assert_int_equal(verify(&p), FLOCK_ESIG_MISSING);
	p.id = p.timestamp = p.signature = "";
	assert_int_equal(verify(&p), FLOCK_ESIG_MISSING);
	for (i = 0; i < sizeof(bad_ts) / sizeof(bad_ts[0]); i++) {
		p = example();
		p.timestamp = bad_ts[i];
		assert_int_equal(verify(&p), FLOCK_ESIG_MALFORMED);
	}
	/* the payload is bytes, not a string: NULs and all */
	p = example();
	p.payload = "a\0b";
	p.payload_len = 3;
	assert_int_equal(verify(&p), FLOCK_ESIG_MISMATCH);
}

static void test_secrets(void **state)
{
	static const char *bad[] = {"", "whsec_", "not base64!", "whsec_a",
	                            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw===",
	                            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa=Sw",
	                            "whsec_ MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
	flock_standard_webhook_params p = example();
	char *huge;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.secret = bad[i];
		assert_int_equal(verify(&p), FLOCK_ESECRET);
	}
	/* keys up to 512 bytes; longer secrets are refused, not truncated */
	huge = malloc(1200);
	assert_non_null(huge);
	memset(huge, 'A', 1199);
	huge[1199] = '\0';
	p.secret = huge;
	assert_int_equal(verify(&p), FLOCK_ESECRET);
	huge[680] = '\0'; /* 510 bytes */
	assert_int_equal(verify(&p), FLOCK_ESIG_MISMATCH);
	free(huge);
}

static void test_sign_errors(void **state)
{
	flock_standard_webhook_params p = example();
	json_t *bad = json_object_get(vectors, "bad_sign_timestamps"), *t;
	char sig[FLOCK_STANDARD_SIGNATURE_SIZE];
	size_t i;

	(void)state;
	assert_int_equal(flock_webhooks_sign_standard(NULL, 48, &p), FLOCK_EINVAL);
	assert_int_equal(flock_webhooks_sign_standard(sig, 47, &p), FLOCK_EINVAL);
	assert_int_equal(flock_webhooks_sign_standard(sig, sizeof(sig), NULL),
	                 FLOCK_EINVAL);
	assert_string_equal(sig, "");
	json_array_foreach(bad, i, t)
	{
		p.timestamp = json_string_value(t);
		memcpy(sig, "junk", 5);
		assert_int_equal(flock_webhooks_sign_standard(sig, sizeof(sig),
		                                              &p),
		                 FLOCK_EINVAL);
		assert_string_equal(sig, "");
	}
	p = example();
	p.id = "";
	assert_int_equal(flock_webhooks_sign_standard(sig, sizeof(sig), &p),
	                 FLOCK_EINVAL);
	p = example();
	p.secret = "whsec_";
	assert_int_equal(flock_webhooks_sign_standard(sig, sizeof(sig), &p),
	                 FLOCK_ESECRET);
	/* signature, tolerance and clock are not the signer's business */
	p = example();
	p.signature = NULL;
	p.tolerance_s = 1;
	p.now_s = 1;
	assert_int_equal(flock_webhooks_sign_standard(sig, sizeof(sig), &p), 0);
	assert_string_equal(sig, VEC_SIG);
}

/* construct_event's Standard check is this one: a bare secret works. */
static void test_construct_event_bare_secret(void **state)
{
	static const char body[] = "{\"id\":\"evt_1\",\"name\":\"n\","
	                           "\"timestamp\":1614265330000,\"data\":{}}";
	flock_standard_webhook_params sp = example();
	flock_webhook_params p = FLOCK_WEBHOOK_PARAMS_INIT;
	char sig[FLOCK_STANDARD_SIGNATURE_SIZE];
	flock_event *ev = NULL;

	(void)state;
	sp.secret = VEC_SECRET; /* no whsec_ */
	sp.id = "evt_1";
	sp.payload = body;
	sp.payload_len = strlen(body);
	assert_int_equal(flock_webhooks_sign_standard(sig, sizeof(sig), &sp), 0);
	p.payload = body;
	p.payload_len = strlen(body);
	p.secret = VEC_SECRET;
	p.webhook_id = "evt_1";
	p.webhook_timestamp = "1614265330";
	p.webhook_signature = sig;
	p.now_ms = VEC_TS * 1000;
	assert_int_equal(flock_webhooks_construct_event(&ev, &p), 0);
	assert_string_equal(flock_event_id(ev), "evt_1");
	flock_event_free(ev);
	p.secret = "whsec_" VEC_SECRET;
	assert_int_equal(flock_webhooks_construct_event(&ev, &p), 0);
	flock_event_free(ev);
	/* the same signature also passes the generic verifier */
	sp.signature = sig;
	assert_int_equal(verify(&sp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_published_sign_vectors),
	        cmocka_unit_test(test_reference_scenarios),
	        cmocka_unit_test(test_tolerance),
	        cmocka_unit_test(test_signature_items),
	        cmocka_unit_test(test_arguments),
	        cmocka_unit_test(test_secrets),
	        cmocka_unit_test(test_sign_errors),
	        cmocka_unit_test(test_construct_event_bare_secret),
	};

	return cmocka_run_group_tests(tests, load, unload);
}
