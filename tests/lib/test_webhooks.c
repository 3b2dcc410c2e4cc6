/*
 * Webhook verification and signing: both schemes, every failure code, the
 * raw-bytes rule, rotation, and fixed vectors computed independently with
 * Python's hmac module (tests/lib/data/webhooks/make_vectors.py).
 */
#include "support.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <flock.h>

#include "common/crypto.h"

#define SECRET "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define SECRET2 "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define TS_MS 1732630000000LL
#define TS_S 1732630000LL

/* The worked example of docs/webhooks.md (vector 1 of vectors.json). */
#define EX_ID "evt_01JDQ8ZK3M4Q9T6V2W8X0Y1Z2A"
#define EX_DATA                                                                \
	"{\"invitee\":{\"id\":\"cus_01JDQ8ZJ0A1B2C3D4E5F6G7H8J\","             \
	"\"externalUserId\":\"user_456\"},\"referrer\":{\"id\":"               \
	"\"cus_01JDQ8YB9K8M7N6P5Q4R3S2T1V\",\"externalUserId\":"               \
	"\"user_123\"},\"referral\":{\"id\":\"ref_"                            \
	"01JDQ8ZK3K0000000000000000\"},"                                       \
	"\"campaign\":{\"id\":\"cmp_01JDQ8A0000000000000000000\","             \
	"\"name\":\"Give $10, get $10\"}}"
#define EX_BODY                                                                \
	"{\"id\":\"" EX_ID "\",\"name\":\"invitee.accepted\",\"timestamp\":"   \
	"1732630000000,\"environment\":\"production\",\"data\":" EX_DATA "}"
#define EX_FLOCK_SIG                                                           \
	"655bb4c1614a4668b048575fefb253d9ae7c68af9c5fed23319efa1153dc5538"
#define EX_STANDARD_SIG "v1,OnfY7xiM1er+/vyYmJYCQ55Kf5ljzTiwP9fwFRb6OrI="

/* Parameters for the worked example, both schemes, clock at send time. */
static flock_webhook_params example_params(void)
{
	flock_webhook_params p = FLOCK_WEBHOOK_PARAMS_INIT;

	p.payload = EX_BODY;
	p.payload_len = strlen(EX_BODY);
	p.secret = SECRET;
	p.signature = EX_FLOCK_SIG;
	p.webhook_id = EX_ID;
	p.webhook_timestamp = "1732630000";
	p.webhook_signature = EX_STANDARD_SIG;
	p.now_ms = TS_MS + 1000;
	return p;
}

/* construct_event, asserting the code and that the error detail agrees. */
static int verify(const flock_webhook_params *p, flock_event **out)
{
	flock_event *ev = NULL;
	int rc = flock_webhooks_construct_event(&ev, p);
	const flock_error *err = flock_error_last();

	if (rc == 0) {
		assert_non_null(ev);
		assert_null(err);
	} else {
		assert_null(ev);
		assert_non_null(err);
		assert_int_equal(err->code, rc);
		assert_non_null(err->message);
		assert_true(strlen(err->message) > 0);
		/* The secret never appears in a message (messages may name
		 * the "whsec_" prefix itself). */
		if (p != NULL && p->secret != NULL && strlen(p->secret) > 6)
			assert_null(strstr(err->message, p->secret));
	}
	if (out != NULL)
		*out = ev;
	else
		flock_event_free(ev);
	return rc;
}

static int verify_rc(const flock_webhook_params *p)
{
	return verify(p, NULL);
}

/* Sign body with the given secrets at TS_S; the headers are the caller's. */
static flock_webhook_headers *sign(const char *body, const char *const *secrets,
                                   size_t count)
{
	flock_webhook_sign_params sp = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
	flock_webhook_headers *h = NULL;

	sp.payload = body;
	sp.payload_len = strlen(body);
	sp.secrets = secrets;
	sp.secret_count = count;
	sp.timestamp_s = TS_S;
	assert_int_equal(flock_webhooks_sign(&h, &sp), 0);
	assert_non_null(h);
	return h;
}

/* Params for body signed by sign(): both schemes unless cleared. */
static flock_webhook_params signed_params(const char *body, const char *secret,
                                          const flock_webhook_headers *h)
{
	flock_webhook_params p = FLOCK_WEBHOOK_PARAMS_INIT;

	p.payload = body;
	p.payload_len = strlen(body);
	p.secret = secret;
	p.signature = h->flock_signature;
	p.webhook_id = h->webhook_id;
	p.webhook_timestamp = h->webhook_timestamp;
	p.webhook_signature = h->webhook_signature;
	p.now_ms = TS_MS;
	return p;
}

static void only_flock(flock_webhook_params *p)
{
	p->webhook_id = p->webhook_timestamp = p->webhook_signature = NULL;
}

static void only_standard(flock_webhook_params *p)
{
	p->signature = NULL;
}

/* An envelope around raw data bytes (whatever their spacing). */
static char *envelope(const char *id, long long ts, const char *data)
{
	size_t n = strlen(data) + strlen(id) + 128;
	char *body = malloc(n);

	assert_non_null(body);
	snprintf(body, n,
	         "{\"id\":\"%s\",\"name\":\"invitee.accepted\",\"timestamp\":"
	         "%lld,\"environment\":\"production\",\"data\":%s}",
	         id, ts, data);
	return body;
}

/* ---- Fixed vectors --------------------------------------------------------
 */

static void test_worked_example(void **state)
{
	flock_webhook_params p = example_params();
	const char *secrets[] = {SECRET};
	flock_webhook_headers *h;
	flock_event *ev = NULL;

	(void)state;
	assert_int_equal(verify(&p, &ev), 0);
	assert_string_equal(flock_event_data_json(ev), EX_DATA);
	flock_event_free(ev);
	only_flock(&p);
	assert_int_equal(verify_rc(&p), 0);
	p = example_params();
	only_standard(&p);
	assert_int_equal(verify_rc(&p), 0);

	/* sign() reproduces Python's signatures byte for byte. */
	h = sign(EX_BODY, secrets, 1);
	assert_string_equal(h->flock_signature, EX_FLOCK_SIG);
	assert_string_equal(h->webhook_id, EX_ID);
	assert_string_equal(h->webhook_timestamp, "1732630000");
	assert_string_equal(h->webhook_signature, EX_STANDARD_SIG);
	flock_webhook_headers_free(h);
}

static char *vectors_path(void)
{
	const char *file = __FILE__, *slash = strrchr(file, '/');
	size_t dir = slash != NULL ? (size_t)(slash - file) + 1 : 0;
	const char *rel = "data/webhooks/vectors.json";
	char *path = malloc(dir + strlen(rel) + 1);

	assert_non_null(path);
	memcpy(path, file, dir);
	memcpy(path + dir, rel, strlen(rel) + 1);
	return path;
}

static const char *vstr(json_t *v, const char *key)
{
	const char *s = json_string_value(json_object_get(v, key));
	assert_non_null(s);
	return s;
}

static void check_vector(json_t *v)
{
	const char *body = vstr(v, "body"), *secret = vstr(v, "secret");
	flock_webhook_params p = FLOCK_WEBHOOK_PARAMS_INIT;
	flock_webhook_sign_params sp = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
	flock_webhook_headers *h = NULL;
	flock_event *ev = NULL;

	p.payload = body;
	p.payload_len = strlen(body);
	p.secret = secret;
	p.signature = vstr(v, "flock_signature");
	p.webhook_id = vstr(v, "webhook_id");
	p.webhook_timestamp = vstr(v, "webhook_timestamp");
	p.webhook_signature = vstr(v, "standard_signature");
	p.max_age_ms = 0;
	p.now_ms = 1;
	assert_int_equal(verify(&p, &ev), 0);
	/* The data bytes come back exactly as sent: spaces, escapes, all. */
	assert_string_equal(flock_event_data_json(ev), vstr(v, "data"));
	flock_event_free(ev);

	sp.payload = body;
	sp.payload_len = strlen(body);
	sp.secrets = &secret;
	sp.secret_count = 1;
	sp.timestamp_s = strtoll(p.webhook_timestamp, NULL, 10);
	if (sp.timestamp_s == 0) /* 0 means "now" to sign() */
		return;
	assert_int_equal(flock_webhooks_sign(&h, &sp), 0);
	assert_string_equal(h->flock_signature, p.signature);
	assert_string_equal(h->webhook_signature, p.webhook_signature);
	flock_webhook_headers_free(h);
}

static void test_python_vectors(void **state)
{
	char *path = vectors_path();
	char *text = flock_test_read_file(path, NULL);
	json_t *all;
	size_t i;

	(void)state;
	assert_non_null(text);
	all = json_loads(text, 0, NULL);
	assert_true(json_is_array(all));
	assert_true(json_array_size(all) >= 3);
	for (i = 0; i < json_array_size(all); i++)
		check_vector(json_array_get(all, i));
	json_decref(all);
	free(text);
	free(path);
}

/* ---- Tampering and secrets ---------------------------------------------- */

static void test_tampered_data(void **state)
{
	flock_webhook_params p = example_params();
	char *body = strdup(EX_BODY);
	char *at = strstr(body, "user_456");

	(void)state;
	assert_non_null(at);
	at[5] = '7'; /* one byte of data */
	p.payload = body;
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	only_flock(&p);
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	p = example_params();
	p.payload = body;
	only_standard(&p);
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	free(body);
}

static void test_tampered_outside_data(void **state)
{
	flock_webhook_params p = example_params();
	char *body = strdup(EX_BODY);
	char *at = strstr(body, "invitee.accepted");

	(void)state;
	memcpy(at, "invitee.rejected", 16);
	p.payload = body;
	only_standard(&p);
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	/*
	 * X-Flock-Signature covers only timestamp and data (api.md 6): a
	 * changed name still passes it. This is why docs/webhooks.md says to
	 * prefer the Standard headers when both are present.
	 */
	p = example_params();
	p.payload = body;
	only_flock(&p);
	assert_int_equal(verify_rc(&p), 0);
	/* Both given: both must pass. */
	p = example_params();
	p.payload = body;
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	free(body);
}

static void test_tampered_timestamp(void **state)
{
	flock_webhook_params p = example_params();
	char *body = strdup(EX_BODY);
	char *at = strstr(body, "1732630000000");

	(void)state;
	at[12] = '1';
	p.payload = body;
	only_flock(&p);
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	p = example_params();
	only_standard(&p);
	p.webhook_timestamp = "1732630001";
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	free(body);
}

static void test_wrong_secret(void **state)
{
	flock_webhook_params p = example_params();

	(void)state;
	p.secret = SECRET2;
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	only_standard(&p);
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	p = example_params();
	p.secret = SECRET2;
	only_flock(&p);
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
}

static void test_secret_forms(void **state)
{
	flock_webhook_params p = example_params();
	uint8_t mac[FLOCK__SHA256_LEN];
	char hex[2 * FLOCK__SHA256_LEN + 1];
	char msg[] = "1732630000000." EX_DATA;
	flock__part part = {msg, sizeof(msg) - 1};

	(void)state;
	p.secret = "";
	assert_int_equal(verify_rc(&p), FLOCK_ESECRET);
	/* Standard Webhooks needs "whsec_<base64>"... */
	p = example_params();
	p.secret = "plain-secret";
	only_standard(&p);
	assert_int_equal(verify_rc(&p), FLOCK_ESECRET);
	p.secret = "whsec_not*base64";
	assert_int_equal(verify_rc(&p), FLOCK_ESECRET);
	p.secret = "whsec_";
	assert_int_equal(verify_rc(&p), FLOCK_ESECRET);
	/* ...X-Flock-Signature takes any secret string as its key bytes. */
	assert_int_equal(flock__hmac_sha256(mac, "plain-secret", 12, &part, 1),
	                 0);
	flock__hex_encode(hex, mac, sizeof(mac));
	p = example_params();
	only_flock(&p);
	p.secret = "plain-secret";
	p.signature = hex;
	assert_int_equal(verify_rc(&p), 0);
}

/* ---- Age ------------------------------------------------------------------
 */

static void test_age(void **state)
{
	flock_webhook_params p = example_params();

	(void)state;
	p.now_ms = TS_MS + FLOCK_WEBHOOK_DEFAULT_MAX_AGE_MS;
	assert_int_equal(verify_rc(&p), 0); /* exactly max age: still fine */
	p.now_ms += 1;
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_EXPIRED);
	only_flock(&p);
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_EXPIRED);
	p = example_params();
	only_standard(&p);
	p.now_ms = TS_MS + FLOCK_WEBHOOK_DEFAULT_MAX_AGE_MS + 1;
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_EXPIRED);

	p = example_params();
	p.now_ms = TS_MS - FLOCK_WEBHOOK_DEFAULT_MAX_AGE_MS - 1;
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_FUTURE);
	only_standard(&p);
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_FUTURE);

	p = example_params();
	p.max_age_ms = 10;
	p.now_ms = TS_MS + 11;
	only_flock(&p);
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_EXPIRED);
}

static void test_age_disabled_and_real_clock(void **state)
{
	flock_webhook_params p = example_params();

	(void)state;
	p.max_age_ms = 0;
	p.now_ms = TS_MS * 3;
	assert_int_equal(verify_rc(&p), 0);
	p.now_ms = 1;
	assert_int_equal(verify_rc(&p), 0);
	/* now_ms 0 is the real clock, long after 2024. */
	p = example_params();
	p.now_ms = 0;
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_EXPIRED);
	p.max_age_ms = -1;
	assert_int_equal(verify_rc(&p), FLOCK_EINVAL);
}

/* A stale delivery with a bad signature is reported as a bad signature. */
static void test_signature_checked_before_age(void **state)
{
	flock_webhook_params p = example_params();

	(void)state;
	p.now_ms = TS_MS * 2;
	p.secret = SECRET2;
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
}

/* ---- Headers ---------------------------------------------------------------
 */

static void test_missing(void **state)
{
	flock_webhook_params p = example_params();

	(void)state;
	p.signature = NULL;
	only_flock(&p);
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISSING);
	/* Empty header values count as absent, as in the Node SDK. */
	p.signature = "";
	p.webhook_id = p.webhook_timestamp = p.webhook_signature = "";
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISSING);
}

static void test_malformed_flock(void **state)
{
	static const char *bad[] = {
	        "655bb4c1614a4668b048575fefb253d9ae7c68af9c5fed23319efa1153dc55"
	        "3",
	        "655bb4c1614a4668b048575fefb253d9ae7c68af9c5fed23319efa1153dc55"
	        "388",
	        "g55bb4c1614a4668b048575fefb253d9ae7c68af9c5fed23319efa1153dc55"
	        "38",
	        " 655bb4c1614a4668b048575fefb253d9ae7c68af9c5fed23319efa1153dc5"
	        "53",
	        "sha256="
	        "655bb4c1614a4668b048575fefb253d9ae7c68af9c5fed23319efa115",
	        "x",
	};
	flock_webhook_params p = example_params();
	size_t i;

	(void)state;
	only_flock(&p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.signature = bad[i];
		assert_int_equal(verify_rc(&p), FLOCK_ESIG_MALFORMED);
	}
	/* Hex is hex in either case; the header form is not the secret. */
	p.signature = "655BB4C1614A4668B048575FEFB253D9AE7C68AF9C5FED23319EFA11"
	              "53DC5538";
	assert_int_equal(verify_rc(&p), 0);
}

static void test_malformed_standard(void **state)
{
	static const char *bad_ts[] = {"12a", "-5", " 1732630000", "1.5",
	                               "99999999999999999999"};
	static const char *bad_sig[] = {
	        "v2,OnfY7xiM1er+/vyYmJYCQ55Kf5ljzTiwP9fwFRb6OrI=",
	        "v1,notbase64!",
	        "v1,OnfY7xiM1er+/vyYmJYCQ55Kf5ljzTiwP9fwFRb6OrI",
	        "v1OnfY7xiM1er+/vyYmJYCQ55Kf5ljzTiwP9fwFRb6OrI=",
	        "v1,",
	        "   ",
	};
	flock_webhook_params p = example_params();
	size_t i;

	(void)state;
	only_standard(&p);
	for (i = 0; i < sizeof(bad_ts) / sizeof(bad_ts[0]); i++) {
		p.webhook_timestamp = bad_ts[i];
		assert_int_equal(verify_rc(&p), FLOCK_ESIG_MALFORMED);
	}
	p = example_params();
	only_standard(&p);
	for (i = 0; i < sizeof(bad_sig) / sizeof(bad_sig[0]); i++) {
		p.webhook_signature = bad_sig[i];
		assert_int_equal(verify_rc(&p), FLOCK_ESIG_MALFORMED);
	}
	/* One Standard header without the others. */
	p = example_params();
	p.webhook_id = NULL;
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MALFORMED);
	p = example_params();
	only_flock(&p);
	p.webhook_timestamp = "1732630000";
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MALFORMED);
}

static void test_several_signatures(void **state)
{
	flock_webhook_params p = example_params();

	(void)state;
	only_standard(&p);
	/* A wrong v1 first, the right one second, other versions around. */
	p.webhook_signature =
	        "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= "
	        "v1a,xyz  "
	        "v2,OnfY7xiM1er+/"
	        "vyYmJYCQ55Kf5ljzTiwP9fwFRb6OrI= " EX_STANDARD_SIG;
	assert_int_equal(verify_rc(&p), 0);
	/* Garbage v1 items are skipped, not fatal. */
	p.webhook_signature = "v1,garbage " EX_STANDARD_SIG " v1,";
	assert_int_equal(verify_rc(&p), 0);
	/* The right signature under another version does not count. */
	p.webhook_signature = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= "
	                      "v2,OnfY7xiM1er+/vyYmJYCQ55Kf5ljzTiwP9fwFRb6OrI=";
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
}

static void test_webhook_id_must_match(void **state)
{
	const char *secrets[] = {SECRET};
	char *body = envelope("evt_other", TS_MS, "{}");
	flock_webhook_headers *h = sign(body, secrets, 1);
	flock_webhook_params p = signed_params(body, SECRET, h);
	uint8_t key[33], mac[FLOCK__SHA256_LEN]; /* decode writes 3*(44/4) */
	char b64[FLOCK__BASE64_LEN(FLOCK__SHA256_LEN)], hdr[64];
	flock__part parts[1];
	char *msg;
	size_t n;

	(void)state;
	only_standard(&p);
	assert_int_equal(verify_rc(&p), 0);
	/*
	 * Correctly signed for another id: the MAC matches, the id does not.
	 * Signed by hand since sign() always uses the envelope's id.
	 */
	assert_int_equal(
	        flock__base64_decode(key, &SECRET[6], strlen(SECRET) - 6), 32);
	n = strlen(body) + 64;
	msg = malloc(n);
	assert_non_null(msg);
	snprintf(msg, n, "evt_forged.%lld.%s", TS_S, body);
	parts[0].data = msg;
	parts[0].len = strlen(msg);
	assert_int_equal(flock__hmac_sha256(mac, key, 32, parts, 1), 0);
	flock__base64_encode(b64, mac, sizeof(mac));
	snprintf(hdr, sizeof(hdr), "v1,%s", b64);
	p.webhook_id = "evt_forged";
	p.webhook_signature = hdr;
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	assert_non_null(strstr(flock_error_last()->message, "webhook-id"));
	free(msg);
	flock_webhook_headers_free(h);
	free(body);
}

/* ---- Payload
 * ----------------------------------------------------------------- */

/* The example's headers over another body: for bodies refused unsigned. */
static int verify_body(const char *body)
{
	flock_webhook_params p = example_params();

	p.payload = body;
	p.payload_len = strlen(body);
	return verify_rc(&p);
}

static void test_not_an_envelope(void **state)
{
	static const char *bad[] = {
	        "",
	        "not json",
	        "[1,2,3]",
	        "\"string\"",
	        "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1}",
	        "{\"id\":\"e\",\"name\":\"n\",\"data\":{}}",
	        "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1.5,\"data\":{}}",
	        "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":\"1\",\"data\":{}}",
	        "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":-1,\"data\":{}}",
	        "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1e3,\"data\":{}}",
	        "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,\"data\":[]}",
	        "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,\"data\":null}",
	        "{\"name\":\"n\",\"timestamp\":1,\"data\":{}}",
	        "{\"id\":\"e\",\"timestamp\":1,\"data\":{}}",
	        "{\"id\":\"\",\"name\":\"n\",\"timestamp\":1,\"data\":{}}",
	        "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,\"data\":{},"
	        "\"environment\":5}",
	        "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,\"data\":{}} "
	        "trailing",
	        "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":"
	        "99999999999999999999,"
	        "\"data\":{}}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(verify_body(bad[i]), FLOCK_EPAYLOAD);
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	assert_int_equal(
	        verify_body("{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,"
	                    "\"data\":{\"a\":\"1\"},\"data\":{\"a\":\"2\"}}"),
	        FLOCK_EPAYLOAD);
	assert_non_null(strstr(flock_error_last()->message, "duplicate"));
	/* The same name written with an escape is the same member. */
	assert_int_equal(
	        verify_body("{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,"
	                    "\"data\":{},\"\\u0064ata\":{\"a\":\"2\"}}"),
	        FLOCK_EPAYLOAD);
	/* Anywhere in the body: the signed bytes must mean one thing. */
	assert_int_equal(
	        verify_body("{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,"
	                    "\"data\":{\"a\":1,\"a\":2}}"),
	        FLOCK_EPAYLOAD);
}

static void test_payload_with_nul_and_length(void **state)
{
	static const char nul_after_number[] =
	        "{\"id\":\"e\",\"name\":\"n\",\"timestamp\":1,"
	        "\"data\":{\"a\":1\0}}";
	flock_webhook_params p = example_params();
	char body[sizeof(EX_BODY) + 8];

	(void)state;
	/* payload_len is authoritative: bytes after it are not read. */
	memcpy(body, EX_BODY, sizeof(EX_BODY) - 1);
	memcpy(body + sizeof(EX_BODY) - 1, "garbage", 8);
	p.payload = body;
	assert_int_equal(verify_rc(&p), 0);
	/* An embedded NUL is not JSON. */
	body[10] = '\0';
	p.payload_len = sizeof(EX_BODY) - 1;
	assert_int_equal(verify_rc(&p), FLOCK_EPAYLOAD);
	/* Not even right after a number, where jansson 2.14 would take it
	 * (found by fuzz/fuzz_webhook.c). */
	p.payload = nul_after_number;
	p.payload_len = sizeof(nul_after_number) - 1;
	assert_int_equal(verify_rc(&p), FLOCK_EPAYLOAD);
	assert_non_null(strstr(flock_error_last()->message, "NUL"));
}

/* Data spaced and escaped every which way; the raw span is what is signed. */
static void test_whitespace_and_escapes(void **state)
{
	static const char *datas[] = {
	        "{ \"a\" : [ 1 , { \"b\" : \"}]\\\"\" } ] }",
	        "{\"s\":\"\\u007d\\\\\",\"t\":\"x\\\\\\\"}\"}",
	        "{}",
	        "{\"deep\":[[[[[[{\"x\":[]}]]]]]],\"n\":-0.5e+10}",
	};
	const char *secrets[] = {SECRET};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(datas) / sizeof(datas[0]); i++) {
		size_t n = strlen(datas[i]) + 200;
		char *body = malloc(n);
		flock_webhook_headers *h;
		flock_webhook_params p;
		flock_event *ev = NULL;

		assert_non_null(body);
		/* data first, with spaces around it, other members after. */
		snprintf(
		        body, n,
		        " {\r\n\"data\" :\t%s\n , \"id\":\"evt_ws\",\"name\":"
		        "\"x.y\",\"timestamp\":%lld,\"environment\":\"test\"} ",
		        datas[i], TS_MS);
		h = sign(body, secrets, 1);
		p = signed_params(body, SECRET, h);
		assert_int_equal(verify(&p, &ev), 0);
		assert_string_equal(flock_event_data_json(ev), datas[i]);
		flock_event_free(ev);
		flock_webhook_headers_free(h);
		free(body);
	}
}

/* Bodies beyond any fixed buffer: the message is assembled on the heap. */
static void test_large_body(void **state)
{
	const char *secrets[] = {SECRET, SECRET2};
	size_t n = 100000;
	char *data = malloc(n + 16), *body;
	flock_webhook_headers *h;
	flock_webhook_params p;
	flock_event *ev = NULL;

	(void)state;
	assert_non_null(data);
	memcpy(data, "{\"blob\":\"", 9);
	memset(data + 9, 'x', n);
	memcpy(data + 9 + n, "\"}", 3);
	body = envelope("evt_big", TS_MS, data);
	h = sign(body, secrets, 2);
	p = signed_params(body, SECRET, h);
	assert_int_equal(verify(&p, &ev), 0);
	assert_int_equal(strlen(flock_event_data_json(ev)), n + 11);
	assert_int_equal(strlen(flock_event_get_string(ev, "blob")), n);
	flock_event_free(ev);
	body[strlen(body) - 5] = 'y';
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	flock_webhook_headers_free(h);
	free(body);
	free(data);
}

/* ---- Rotation and sign() ---------------------------------------------------
 */

static void test_rotation(void **state)
{
	const char *secrets[] = {SECRET2, SECRET};
	flock_webhook_headers *h = sign(EX_BODY, secrets, 2);
	flock_webhook_params p;
	const char *space = strchr(h->webhook_signature, ' ');

	(void)state;
	/* Two v1 items, the second Python's signature for SECRET. */
	assert_non_null(space);
	assert_string_equal(space + 1, EX_STANDARD_SIG);
	assert_int_equal(strncmp(h->webhook_signature, "v1,", 3), 0);
	assert_null(strchr(space + 1, ' '));

	p = signed_params(EX_BODY, SECRET2, h);
	assert_int_equal(verify_rc(&p), 0);
	only_standard(&p);
	p.secret = SECRET;
	assert_int_equal(verify_rc(&p), 0);
	/* X-Flock-Signature is made with the first (newest) secret only. */
	p = signed_params(EX_BODY, SECRET, h);
	only_flock(&p);
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	p.secret = SECRET2;
	assert_int_equal(verify_rc(&p), 0);
	p.secret = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	only_standard(&p);
	p.webhook_id = h->webhook_id;
	p.webhook_timestamp = h->webhook_timestamp;
	p.webhook_signature = h->webhook_signature;
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	flock_webhook_headers_free(h);
}

static void test_sign_errors(void **state)
{
	flock_webhook_sign_params sp = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
	const char *good[] = {SECRET};
	const char *bad[] = {SECRET, "not-whsec"};
	const char *null_one[] = {NULL};
	flock_webhook_headers *h = (flock_webhook_headers *)&sp;

	(void)state;
	assert_int_equal(flock_webhooks_sign(NULL, &sp), FLOCK_EINVAL);
	assert_int_equal(flock_webhooks_sign(&h, NULL), FLOCK_EINVAL);
	assert_null(h);
	assert_int_equal(flock_webhooks_sign(&h, &sp), FLOCK_EINVAL);
	sp.payload = EX_BODY;
	sp.payload_len = strlen(EX_BODY);
	assert_int_equal(flock_webhooks_sign(&h, &sp), FLOCK_EINVAL);
	sp.secrets = null_one;
	sp.secret_count = 1;
	assert_int_equal(flock_webhooks_sign(&h, &sp), FLOCK_EINVAL);
	sp.secrets = bad;
	sp.secret_count = 2;
	assert_int_equal(flock_webhooks_sign(&h, &sp), FLOCK_ESECRET);
	assert_null(strstr(flock_error_last()->message, "not-whsec"));
	sp.secrets = good;
	sp.secret_count = 1;
	sp.timestamp_s = -1;
	assert_int_equal(flock_webhooks_sign(&h, &sp), FLOCK_EINVAL);
	sp.timestamp_s = 0;
	sp.payload = "{\"no\":\"envelope\"}";
	sp.payload_len = strlen(sp.payload);
	assert_int_equal(flock_webhooks_sign(&h, &sp), FLOCK_EPAYLOAD);
	sp.version = 99;
	assert_int_equal(flock_webhooks_sign(&h, &sp), FLOCK_EINVAL);
	assert_null(h);
}

/* timestamp_s 0 is "now": the result verifies with the real clock. */
static void test_sign_now(void **state)
{
	flock_webhook_sign_params sp = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
	const char *secrets[] = {SECRET};
	flock_webhook_headers *h = NULL;
	flock_webhook_params p;

	(void)state;
	sp.payload = EX_BODY;
	sp.payload_len = strlen(EX_BODY);
	sp.secrets = secrets;
	sp.secret_count = 1;
	assert_int_equal(flock_webhooks_sign(&h, &sp), 0);
	p = signed_params(EX_BODY, SECRET, h);
	only_standard(&p);
	p.now_ms = 0;
	assert_int_equal(verify_rc(&p), 0);
	flock_webhook_headers_free(h);
}

/* ---- Arguments and accessors -----------------------------------------------
 */

static void test_null_args(void **state)
{
	flock_webhook_params p = example_params();
	flock_event *ev = (flock_event *)&p;

	(void)state;
	assert_int_equal(flock_webhooks_construct_event(NULL, &p),
	                 FLOCK_EINVAL);
	assert_int_equal(flock_webhooks_construct_event(&ev, NULL),
	                 FLOCK_EINVAL);
	assert_null(ev);
	p.payload = NULL;
	assert_int_equal(verify_rc(&p), FLOCK_EINVAL);
	p = example_params();
	p.secret = NULL;
	assert_int_equal(verify_rc(&p), FLOCK_EINVAL);
	p = example_params();
	p.version = 2;
	assert_int_equal(verify_rc(&p), FLOCK_EINVAL);
	p = example_params();
	p.now_ms = -5;
	assert_int_equal(verify_rc(&p), FLOCK_EINVAL);

	flock_event_free(NULL);
	flock_webhook_headers_free(NULL);
	assert_null(flock_event_name(NULL));
	assert_null(flock_event_id(NULL));
	assert_null(flock_event_environment(NULL));
	assert_null(flock_event_data_json(NULL));
	assert_null(flock_event_get_string(NULL, "invitee.id"));
	assert_int_equal(flock_event_timestamp_ms(NULL), 0);
}

static void test_accessors(void **state)
{
	flock_webhook_params p = example_params();
	flock_event *ev = NULL;

	(void)state;
	assert_int_equal(verify(&p, &ev), 0);
	assert_string_equal(flock_event_name(ev), "invitee.accepted");
	assert_string_equal(flock_event_id(ev), EX_ID);
	assert_string_equal(flock_event_environment(ev), "production");
	assert_true(flock_event_timestamp_ms(ev) == TS_MS);
	assert_string_equal(flock_event_get_string(ev, "invitee.id"),
	                    "cus_01JDQ8ZJ0A1B2C3D4E5F6G7H8J");
	assert_string_equal(
	        flock_event_get_string(ev, "referrer.externalUserId"),
	        "user_123");
	assert_string_equal(flock_event_get_string(ev, "campaign.name"),
	                    "Give $10, get $10");
	assert_null(flock_event_get_string(ev, "invitee")); /* an object */
	assert_null(flock_event_get_string(ev, "invitee.missing"));
	assert_null(flock_event_get_string(ev, "invitee.id.more"));
	assert_null(flock_event_get_string(ev, "invitee."));
	assert_null(flock_event_get_string(ev, ".invitee"));
	assert_null(flock_event_get_string(ev, ""));
	assert_null(flock_event_get_string(ev, NULL));
	assert_null(flock_event_get_string(ev, "id")); /* envelope, not data */
	flock_event_free(ev);
}

static void test_accessors_unicode_and_arrays(void **state)
{
	const char *secrets[] = {SECRET};
	char *body = envelope(
	        "evt_u", TS_MS,
	        "{\"invitee\":{\"id\":\"cus_\\u00e9\\ud83d\\ude00\",\"n\":1},"
	        "\"tags\":[\"a\",{\"k\":\"v\"}],\"a.b\":\"dotted\"}");
	flock_webhook_headers *h = sign(body, secrets, 1);
	flock_webhook_params p = signed_params(body, SECRET, h);
	flock_event *ev = NULL;

	(void)state;
	assert_int_equal(verify(&p, &ev), 0);
	/* Escapes are decoded to UTF-8 by the accessor, not in data_json. */
	assert_string_equal(flock_event_get_string(ev, "invitee.id"),
	                    "cus_\xc3\xa9\xf0\x9f\x98\x80");
	assert_non_null(strstr(flock_event_data_json(ev), "\\u00e9"));
	assert_null(flock_event_get_string(ev, "invitee.n"));
	assert_string_equal(flock_event_get_string(ev, "tags.0"), "a");
	assert_string_equal(flock_event_get_string(ev, "tags.1.k"), "v");
	assert_null(flock_event_get_string(ev, "tags.2"));
	assert_null(flock_event_get_string(ev, "tags.x"));
	/* A member whose name has a dot cannot be reached by path. */
	assert_null(flock_event_get_string(ev, "a.b"));
	flock_event_free(ev);
	flock_webhook_headers_free(h);
	free(body);
}

static void test_environment_optional(void **state)
{
	const char *secrets[] = {SECRET};
	const char *body = "{\"id\":\"evt_e\",\"name\":\"customer.created\","
	                   "\"timestamp\":1732630000000,\"data\":{}}";
	flock_webhook_headers *h = sign(body, secrets, 1);
	flock_webhook_params p = signed_params(body, SECRET, h);
	flock_event *ev = NULL;

	(void)state;
	assert_int_equal(verify(&p, &ev), 0);
	assert_null(flock_event_environment(ev));
	assert_string_equal(flock_event_data_json(ev), "{}");
	flock_event_free(ev);
	flock_webhook_headers_free(h);
}

/* ---- No JSON tree until asked ---------------------------------------------
 */

static long json_allocs;

static void *counting_malloc(size_t size)
{
	json_allocs++;
	return malloc(size);
}

/* jansson allocations made by construct_event and the accessors. */
static void test_data_parsed_lazily(void **state)
{
	flock_webhook_params p = example_params();
	flock_event *ev = NULL;

	(void)state;
	json_set_alloc_funcs(counting_malloc, free);
	json_allocs = 0;
	assert_int_equal(verify(&p, &ev), 0);
	assert_int_equal(json_allocs, 0); /* verified: no tree built */
	assert_string_equal(flock_event_name(ev), "invitee.accepted");
	assert_string_equal(flock_event_data_json(ev), EX_DATA);
	assert_int_equal(json_allocs, 0);
	assert_string_equal(flock_event_get_string(ev, "invitee.id"),
	                    "cus_01JDQ8ZJ0A1B2C3D4E5F6G7H8J");
	assert_true(json_allocs > 0); /* the first accessor parses data */
	json_allocs = 0;
	assert_string_equal(flock_event_get_string(ev, "campaign.name"),
	                    "Give $10, get $10");
	assert_int_equal(json_allocs, 0); /* once */
	flock_event_free(ev);
	/* never asked: never parsed */
	assert_int_equal(verify(&p, &ev), 0);
	flock_event_free(ev);
	assert_int_equal(json_allocs, 0);
	json_set_alloc_funcs(malloc, free);
}

/*
 * An object too wide for the scanner's tables: its duplicate check needs
 * jansson, and that runs only once the MAC has authenticated the body.
 */
static void test_wide_object_checked_after_mac(void **state)
{
	const char *secrets[] = {SECRET};
	char data[8192];
	size_t off = 0, i;
	char *body;
	flock_webhook_headers *h;
	flock_webhook_params p;

	(void)state;
	off += (size_t)snprintf(data, sizeof(data), "{");
	for (i = 0; i < 300; i++)
		off += (size_t)snprintf(data + off, sizeof(data) - off,
		                        "%s\"k%zu\":%zu", i ? "," : "", i, i);
	snprintf(data + off, sizeof(data) - off, "}");
	body = envelope("evt_wide", TS_MS, data);
	h = sign(body, secrets, 1);
	p = signed_params(body, SECRET, h);
	json_set_alloc_funcs(counting_malloc, free);
	p.secret = SECRET2; /* forged: refused before any JSON allocation */
	json_allocs = 0;
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	assert_int_equal(json_allocs, 0);
	p.secret = SECRET; /* authentic: now jansson looks for duplicates */
	assert_int_equal(verify_rc(&p), 0);
	assert_true(json_allocs > 0);
	json_set_alloc_funcs(malloc, free);
	flock_webhook_headers_free(h);
	free(body);

	/* and finds them, after the MAC */
	{
		flock_webhook_sign_params sp = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
		flock_standard_webhook_params st =
		        FLOCK_STANDARD_WEBHOOK_PARAMS_INIT;
		char sig[FLOCK_STANDARD_SIGNATURE_SIZE];

		memcpy(data + off, ",\"k0\":1}", 9);
		body = envelope("evt_wide", TS_MS, data);
		sp.payload = body;
		sp.payload_len = strlen(body);
		sp.secrets = secrets;
		sp.secret_count = 1;
		h = NULL;
		assert_int_equal(flock_webhooks_sign(&h, &sp), FLOCK_EPAYLOAD);
		assert_null(h);
		/* signed anyway, as any payload, by the generic signer */
		st.secret = SECRET;
		st.id = "evt_wide";
		st.timestamp = "1732630000";
		st.payload = body;
		st.payload_len = strlen(body);
		assert_int_equal(flock_webhooks_sign_standard(sig, sizeof(sig),
		                                              &st),
		                 0);
		p = example_params();
		p.payload = body;
		p.payload_len = strlen(body);
		only_standard(&p);
		p.webhook_id = "evt_wide";
		p.webhook_signature = sig;
		assert_int_equal(verify_rc(&p), FLOCK_EPAYLOAD);
		assert_non_null(strstr(flock_error_last()->message, "duplicate"));
		free(body);
	}
}

/* Several threads at once: no shared state, each its own error detail. */
static void *verify_many(void *arg)
{
	int bad = *(const int *)arg, i;
	flock_webhook_params p = example_params();
	intptr_t failures = 0;

	if (bad)
		p.secret = SECRET2;
	for (i = 0; i < 200; i++) {
		flock_event *ev = NULL;
		int rc = flock_webhooks_construct_event(&ev, &p);
		const flock_error *err = flock_error_last();

		if (bad ? rc != FLOCK_ESIG_MISMATCH || err == NULL ||
		                    err->code != rc
		        : rc != 0 || err != NULL ||
		                    strcmp(flock_event_id(ev), EX_ID) != 0)
			failures++;
		flock_event_free(ev);
	}
	return (void *)failures;
}

static void test_threads(void **state)
{
	static const int bad[4] = {0, 1, 0, 1};
	pthread_t t[4];
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, verify_many,
		                                (void *)&bad[i]),
		                 0);
	for (i = 0; i < 4; i++) {
		void *failures = NULL;
		assert_int_equal(pthread_join(t[i], &failures), 0);
		assert_true(failures == NULL);
	}
}

/* A success clears the error an earlier failure left. */
static void test_success_clears_error(void **state)
{
	flock_webhook_params p = example_params();
	flock_event *ev = NULL;

	(void)state;
	p.secret = SECRET2;
	assert_int_equal(verify_rc(&p), FLOCK_ESIG_MISMATCH);
	assert_non_null(flock_error_last());
	p.secret = SECRET;
	assert_int_equal(flock_webhooks_construct_event(&ev, &p), 0);
	assert_null(flock_error_last());
	flock_event_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_worked_example),
	        cmocka_unit_test(test_python_vectors),
	        cmocka_unit_test(test_tampered_data),
	        cmocka_unit_test(test_tampered_outside_data),
	        cmocka_unit_test(test_tampered_timestamp),
	        cmocka_unit_test(test_wrong_secret),
	        cmocka_unit_test(test_secret_forms),
	        cmocka_unit_test(test_age),
	        cmocka_unit_test(test_age_disabled_and_real_clock),
	        cmocka_unit_test(test_signature_checked_before_age),
	        cmocka_unit_test(test_missing),
	        cmocka_unit_test(test_malformed_flock),
	        cmocka_unit_test(test_malformed_standard),
	        cmocka_unit_test(test_several_signatures),
	        cmocka_unit_test(test_webhook_id_must_match),
	        cmocka_unit_test(test_not_an_envelope),
	        cmocka_unit_test(test_duplicate_keys),
	        cmocka_unit_test(test_payload_with_nul_and_length),
	        cmocka_unit_test(test_whitespace_and_escapes),
	        cmocka_unit_test(test_large_body),
	        cmocka_unit_test(test_rotation),
	        cmocka_unit_test(test_sign_errors),
	        cmocka_unit_test(test_sign_now),
	        cmocka_unit_test(test_null_args),
	        cmocka_unit_test(test_accessors),
	        cmocka_unit_test(test_accessors_unicode_and_arrays),
	        cmocka_unit_test(test_environment_optional),
	        cmocka_unit_test(test_data_parsed_lazily),
	        cmocka_unit_test(test_wide_object_checked_after_mac),
	        cmocka_unit_test(test_threads),
	        cmocka_unit_test(test_success_clears_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
