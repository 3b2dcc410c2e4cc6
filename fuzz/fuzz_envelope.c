/*
 * libFuzzer target for the envelope scanner alone (fuzz/run.sh runs it).
 *
 * Input: a webhook body. The scanner (src/lib/envelope.c) must accept
 * exactly what jansson accepts, duplicates refused, plus the envelope's
 * member checks, and must find what jansson finds: the same id, name,
 * timestamp and environment, and a data span that jansson reads as the
 * same value as the body's "data". Then the event accessors run on a
 * signed copy, which parses that span lazily. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <flock.h>

#include "lib/envelope.h"

#define SECRET "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int jansson_verdict(json_t *root, const char *body, size_t len)
{
	json_t *id = json_object_get(root, "id");
	json_t *name = json_object_get(root, "name");
	json_t *ts = json_object_get(root, "timestamp");
	json_t *env = json_object_get(root, "environment");

	return memchr(body, '\0', len) == NULL && json_is_object(root) &&
	       json_is_string(id) && json_string_length(id) > 0 &&
	       json_is_string(name) && json_string_length(name) > 0 &&
	       json_is_integer(ts) && json_integer_value(ts) >= 0 &&
	       (env == NULL || json_is_null(env) || json_is_string(env)) &&
	       json_is_object(json_object_get(root, "data"));
}

static void same_string(const flock__jstr *s, json_t *want, char *buf)
{
	flock__jstr_decode(buf, s);
	if (!json_is_string(want) || strcmp(buf, json_string_value(want)) != 0 ||
	    !flock__jstr_equals(s, json_string_value(want)))
		abort();
}

static void check_findings(const flock__envelope *e, json_t *root,
                           size_t len)
{
	json_t *span = json_loadb(e->data, e->data_len, 0, NULL);
	json_t *env = json_object_get(root, "environment");
	char *buf = malloc(len + 1);

	if (buf == NULL || !json_equal(span, json_object_get(root, "data")))
		abort();
	same_string(&e->id, json_object_get(root, "id"), buf);
	same_string(&e->name, json_object_get(root, "name"), buf);
	if (json_is_string(env))
		same_string(&e->environment, env, buf);
	else if (e->environment.p != NULL)
		abort();
	if (e->timestamp_ms !=
	    json_integer_value(json_object_get(root, "timestamp")))
		abort();
	free(buf);
	json_decref(span);
}

/* Sign, verify, and read data through the lazily parsed tree. */
static void accessors(const char *body, size_t len, json_t *root)
{
	flock_webhook_sign_params sp = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
	flock_webhook_params p = FLOCK_WEBHOOK_PARAMS_INIT;
	const char *secrets[] = {SECRET};
	flock_webhook_headers *h = NULL;
	flock_event *ev = NULL;
	json_t *data = json_object_get(root, "data");
	const char *key;
	json_t *v;

	sp.payload = body;
	sp.payload_len = len;
	sp.secrets = secrets;
	sp.secret_count = 1;
	sp.timestamp_s = 1732630000;
	if (flock_webhooks_sign(&h, &sp) != 0)
		abort();
	p.payload = body;
	p.payload_len = len;
	p.secret = SECRET;
	p.signature = h->flock_signature;
	p.webhook_id = h->webhook_id;
	p.webhook_timestamp = h->webhook_timestamp;
	p.webhook_signature = h->webhook_signature;
	p.max_age_ms = 0;
	if (flock_webhooks_construct_event(&ev, &p) != 0)
		abort();
	/* Every top-level string member of data, through the accessor. */
	json_object_foreach(data, key, v)
	{
		const char *got = strchr(key, '.') == NULL && key[0] != '\0'
		                          ? flock_event_get_string(ev, key)
		                          : NULL;

		if (strchr(key, '.') == NULL && key[0] != '\0' &&
		    (json_is_string(v) != (got != NULL) ||
		     (got != NULL && strcmp(got, json_string_value(v)) != 0)))
			abort();
	}
	flock_event_free(ev);
	flock_webhook_headers_free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	json_t *root = json_loadb(body, size, JSON_REJECT_DUPLICATES, NULL);
	int want = jansson_verdict(root, body, size), got;
	flock__envelope e;

	got = flock__envelope_scan(&e, body, size) == 0;
	if (got && e.dups_unchecked)
		got = flock__envelope_check_dups(body, size) == 0;
	if (got != want)
		abort();
	if (got) {
		check_findings(&e, root, size);
		accessors(body, size, root);
	}
	json_decref(root);
	return 0;
}
