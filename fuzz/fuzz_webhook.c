/*
 * libFuzzer target for webhook verification (fuzz/run.sh runs it).
 *
 * Input: five header lines, then the body:
 *   secret \n X-Flock-Signature \n webhook-id \n webhook-timestamp \n
 *   webhook-signature \n body...
 * An empty line means "header absent". The input is verified with each
 * scheme alone and with both, and with flock_webhooks_verify_standard()
 * as a payload of any kind (which must agree with construct_event's
 * Standard check whenever that one passes). Then the body is signed and
 * verified again, which must succeed whenever signing does, with a
 * data_json that jansson reads as the same value as the body's "data":
 * the envelope scanner and jansson must never disagree (fuzz_envelope.c
 * checks that on its own, byte by byte). Last, the Standard signer: what
 * flock_webhooks_sign_standard() makes for the fuzzed secret, id and
 * timestamp, verify_standard() must accept.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <flock.h>

#define FIELDS 5
#define FALLBACK_SECRET "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copy up to FIELDS newline-terminated lines; *rest is what follows. */
static int split(char *fields[FIELDS], const uint8_t *data, size_t size,
                 size_t *rest)
{
	size_t pos = 0, i;

	for (i = 0; i < FIELDS; i++) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t len =
		        nl != NULL ? (size_t)(nl - (data + pos)) : size - pos;

		fields[i] = NULL;
		if (len > 0) {
			fields[i] = malloc(len + 1);
			if (fields[i] == NULL)
				return -1;
			memcpy(fields[i], data + pos, len);
			fields[i][len] = '\0';
		}
		pos += len + (nl != NULL);
	}
	*rest = pos;
	return 0;
}

/* The event's data_json must be the body's "data", by jansson's reading. */
static void check_event(const flock_event *ev, const char *body, size_t len)
{
	json_t *whole = json_loadb(body, len, 0, NULL);
	json_t *span = json_loads(flock_event_data_json(ev), 0, NULL);

	if (!json_equal(json_object_get(whole, "data"), span) ||
	    flock_event_name(ev) == NULL || flock_event_id(ev) == NULL)
		abort();
	(void)flock_event_get_string(ev, "invitee.id");
	(void)flock_event_get_string(ev, "a.0.b");
	json_decref(span);
	json_decref(whole);
}

static int verify(const flock_webhook_params *p)
{
	flock_event *ev = NULL;
	int rc = flock_webhooks_construct_event(&ev, p);

	if ((rc == 0) != (ev != NULL))
		abort();
	if (rc != 0 && flock_error_last() == NULL)
		abort();
	if (ev != NULL)
		check_event(ev, p->payload, p->payload_len);
	flock_event_free(ev);
	return rc;
}

/* verify_standard on the raw fields; 0 must mean no error detail. */
static int verify_any(const char *const f[FIELDS], const char *body,
                      size_t len)
{
	flock_standard_webhook_params p = FLOCK_STANDARD_WEBHOOK_PARAMS_INIT;
	int rc;

	p.secret = f[0] != NULL ? f[0] : "";
	p.id = f[2];
	p.timestamp = f[3];
	p.signature = f[4];
	p.payload = body;
	p.payload_len = len;
	p.tolerance_s = 0;
	rc = flock_webhooks_verify_standard(&p);
	if ((rc == 0) != (flock_error_last() == NULL) || rc > 0)
		abort();
	return rc;
}

/* What sign_standard() makes, verify_standard() accepts. */
static void standard_round_trip(const char *const f[FIELDS], const char *body,
                                size_t len)
{
	flock_standard_webhook_params p = FLOCK_STANDARD_WEBHOOK_PARAMS_INIT;
	char sig[FLOCK_STANDARD_SIGNATURE_SIZE + 8];

	p.secret = f[0] != NULL ? f[0] : "";
	p.id = f[2];
	p.timestamp = f[3];
	p.payload = body;
	p.payload_len = len;
	p.now_s = 1732630000;
	if (flock_webhooks_sign_standard(sig, sizeof(sig), &p) != 0) {
		if (sig[0] != '\0')
			abort();
		return;
	}
	p.signature = sig;
	p.tolerance_s = 0;
	if (flock_webhooks_verify_standard(&p) != 0)
		abort();
}

static void round_trip(const char *secret, const char *body, size_t len)
{
	flock_webhook_sign_params sp = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
	flock_webhook_params p = FLOCK_WEBHOOK_PARAMS_INIT;
	flock_webhook_headers *h = NULL;
	const char *secrets[2] = {FALLBACK_SECRET, secret};
	flock_event *ev = NULL;

	sp.payload = body;
	sp.payload_len = len;
	sp.secrets = secrets;
	sp.secret_count = 1;
	sp.timestamp_s = 1732630000;
	if (flock_webhooks_sign(&h, &sp) != 0)
		return;
	p.payload = body;
	p.payload_len = len;
	p.secret = FALLBACK_SECRET;
	p.signature = h->flock_signature;
	p.webhook_id = h->webhook_id;
	p.webhook_timestamp = h->webhook_timestamp;
	p.webhook_signature = h->webhook_signature;
	p.max_age_ms = 0;
	if (flock_webhooks_construct_event(&ev, &p) != 0)
		abort();
	check_event(ev, body, len);
	flock_event_free(ev);
	flock_webhook_headers_free(h);

	/* Rotation: a fuzzed second secret, when it is a valid one. */
	sp.secret_count = secret != NULL ? 2 : 1;
	if (flock_webhooks_sign(&h, &sp) != 0)
		return;
	p.secret = secrets[sp.secret_count - 1];
	p.signature = NULL;
	p.webhook_id = h->webhook_id;
	p.webhook_timestamp = h->webhook_timestamp;
	p.webhook_signature = h->webhook_signature;
	if (flock_webhooks_construct_event(&ev, &p) != 0)
		abort();
	flock_event_free(ev);
	flock_webhook_headers_free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	flock_webhook_params p = FLOCK_WEBHOOK_PARAMS_INIT;
	char *f[FIELDS];
	size_t rest, i;

	if (split(f, data, size, &rest) != 0)
		goto done;
	p.payload = (const char *)data + rest;
	p.payload_len = size - rest;
	p.secret = f[0] != NULL ? f[0] : "";
	p.now_ms = 1732630000000LL;
	p.signature = f[1];
	verify(&p); /* X-Flock alone */
	p.signature = NULL;
	p.webhook_id = f[2];
	p.webhook_timestamp = f[3];
	p.webhook_signature = f[4];
	p.max_age_ms = 0;
	/* Standard alone: construct_event passing means verify_standard does */
	if (verify(&p) == 0 && verify_any((const char *const *)f, p.payload,
	                                  p.payload_len) != 0)
		abort();
	p.max_age_ms = FLOCK_WEBHOOK_DEFAULT_MAX_AGE_MS;
	verify(&p);
	p.signature = f[1];
	p.max_age_ms = 0;
	verify(&p); /* both */
	verify_any((const char *const *)f, p.payload, p.payload_len);
	standard_round_trip((const char *const *)f, p.payload, p.payload_len);
	round_trip(f[0], p.payload, p.payload_len);
done:
	for (i = 0; i < FIELDS; i++)
		free(f[i]);
	return 0;
}
