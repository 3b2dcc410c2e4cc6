/*
 * Webhook verification and signing of Flock envelopes: the X-Flock-Signature
 * scheme and Standard Webhooks v1 (docs/webhooks.md).
 *
 * The signed bytes are the bytes on the wire. The envelope scanner
 * (envelope.c) validates the body and finds its members in one pass that
 * allocates nothing, the MACs are checked, and only then is anything
 * allocated: the event, one block holding the decoded id, name and
 * environment and a copy of the raw `data` bytes. jansson parses `data`
 * the first time an accessor needs a member of it, if ever.
 */
#include <flock/webhooks.h>

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/ids.h"
#include "envelope.h"
#include "error.h"
#include "webhooks_internal.h"

#define FLOCK_SIG_HEX_LEN (2 * FLOCK__SHA256_LEN)
/* Long enough for any long long in decimal, sign and NUL included. */
#define DECIMAL_MAX 24

struct flock_event {
	const char *id; /* these three point into text[] */
	const char *name;
	const char *environment; /* NULL if absent or null */
	long long timestamp_ms;
	size_t data_len;
	_Atomic(json_t *) data; /* parsed on first use; NULL until then */
	char text[]; /* data_json, NUL, id, NUL, name, NUL, environment, NUL */
};

/* ---- Signatures --------------------------------------------------------- */

/* The X-Flock-Signature MAC: key = secret bytes, msg = "<ts>.<data>". */
static int flock_mac(uint8_t out[FLOCK__SHA256_LEN], const char *secret,
                     const flock__envelope *env)
{
	flock__part parts[3];

	parts[0].data = env->timestamp_text;
	parts[0].len = env->timestamp_len;
	parts[1].data = ".";
	parts[1].len = 1;
	parts[2].data = env->data;
	parts[2].len = env->data_len;
	if (flock__mac(out, secret, strlen(secret), parts, 3) != 0)
		return flock__error_set(FLOCK_ENOMEM, "HMAC-SHA256 failed");
	return 0;
}

/* ---- Verification ------------------------------------------------------- */

/*
 * What the headers and the secret say, checked for form before the body is
 * touched. Holds the Standard Webhooks key (plan_wipe()).
 */
typedef struct {
	int has_flock;
	int has_standard;
	uint8_t flock_sig[FLOCK__SHA256_LEN];
	flock__std_headers std;
	flock__std_key key;
	long long now_ms;
} verify_plan;

static int plan_flock(verify_plan *plan, const char *signature)
{
	size_t len = strlen(signature);

	if (len != FLOCK_SIG_HEX_LEN ||
	    flock__hex_decode(plan->flock_sig, FLOCK__SHA256_LEN, signature,
	                      len) != 0)
		return flock__error_set(FLOCK_ESIG_MALFORMED,
		                        "X-Flock-Signature is not 64 hex "
		                        "characters (got %zu characters)",
		                        len);
	plan->has_flock = 1;
	return 0;
}

static int plan_args(const flock_webhook_params *p)
{
	if (p->version != FLOCK_WEBHOOK_PARAMS_VERSION)
		return flock__error_set(
		        FLOCK_EINVAL, "params->version is %u, expected %d",
		        p->version, FLOCK_WEBHOOK_PARAMS_VERSION);
	if (p->payload == NULL)
		return flock__error_set(FLOCK_EINVAL, "payload is NULL");
	if (p->secret == NULL)
		return flock__error_set(FLOCK_EINVAL, "secret is NULL");
	if (p->max_age_ms < 0 || p->now_ms < 0)
		return flock__error_set(FLOCK_EINVAL,
		                        "max_age_ms and now_ms must not be "
		                        "negative");
	return 0;
}

/* Arguments, then header forms, then the secret (docs in webhooks.h). */
static int plan_verify(verify_plan *plan, const flock_webhook_params *p)
{
	int rc;

	plan->has_flock = plan->has_standard = 0;
	plan->key.len = 0;
	if ((rc = plan_args(p)) != 0)
		return rc;
	if (flock__given(p->signature) &&
	    (rc = plan_flock(plan, p->signature)) != 0)
		return rc;
	if (flock__given(p->webhook_id) || flock__given(p->webhook_timestamp) ||
	    flock__given(p->webhook_signature)) {
		rc = flock__std_headers_check(&plan->std, p->webhook_id,
		                              p->webhook_timestamp,
		                              p->webhook_signature);
		if (rc != 0)
			return rc;
		plan->has_standard = 1;
	}
	if (!plan->has_flock && !plan->has_standard)
		return flock__error_set(
		        FLOCK_ESIG_MISSING,
		        "no signature: neither X-Flock-Signature "
		        "nor webhook-signature was given");
	if (p->secret[0] == '\0')
		return flock__error_set(FLOCK_ESECRET, "secret is empty");
	if (plan->has_standard &&
	    (rc = flock__std_key_decode(&plan->key, p->secret)) != 0)
		return rc;
	plan->now_ms = p->now_ms != 0 ? p->now_ms : (long long)flock__now_ms();
	return 0;
}

static int verify_flock(const verify_plan *plan, const flock_webhook_params *p,
                        const flock__envelope *env)
{
	uint8_t mac[FLOCK__SHA256_LEN];
	int rc = flock_mac(mac, p->secret, env);

	if (rc != 0)
		return rc;
	if (!flock__ct_equal(mac, plan->flock_sig, sizeof(mac)))
		return flock__error_set(FLOCK_ESIG_MISMATCH,
		                        "X-Flock-Signature does not match the "
		                        "payload and secret");
	return 0;
}

static int verify_standard(const verify_plan *plan,
                           const flock_webhook_params *p,
                           const flock__envelope *env)
{
	int rc = flock__std_verify_mac(&plan->std, &plan->key, p->payload,
	                               p->payload_len);

	if (rc == 0 && !flock__jstr_equals(&env->id, p->webhook_id))
		rc = flock__error_set(FLOCK_ESIG_MISMATCH,
		                      "webhook-id does not match the payload "
		                      "\"id\"");
	return rc;
}

/*
 * Signatures first, so a stale forgery is reported as a forgery; then the
 * duplicate names the scan left unchecked, now that the body is known to
 * come from the sender; then the ages.
 */
static int verify_all(const verify_plan *plan, const flock_webhook_params *p,
                      const flock__envelope *env)
{
	long long max_age = p->max_age_ms;
	int rc = 0;

	if (plan->has_flock)
		rc = verify_flock(plan, p, env);
	if (rc == 0 && plan->has_standard)
		rc = verify_standard(plan, p, env);
	if (rc == 0 && env->dups_unchecked)
		rc = flock__envelope_check_dups(p->payload, p->payload_len);
	if (rc == 0 && plan->has_flock && max_age > 0)
		rc = flock__check_age(env->timestamp_ms, plan->now_ms, max_age,
		                      "the payload timestamp");
	if (rc == 0 && plan->has_standard && max_age > 0)
		rc = flock__check_age(plan->std.ts_s * 1000, plan->now_ms,
		                      max_age, "webhook-timestamp");
	return rc;
}

/* Copy a scanned string, decoded, to *at; returns it and moves *at on. */
static const char *put_string(char **at, const flock__jstr *s)
{
	char *start = *at;

	*at += flock__jstr_decode(start, s) + 1;
	return start;
}

static int event_new(flock_event **out, const flock__envelope *env)
{
	size_t size = sizeof(flock_event) + env->data_len + 1 + env->id.len +
	              1 + env->name.len + 1 + env->environment.len + 1;
	flock_event *ev = malloc(size);
	char *at;

	if (ev == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	memcpy(ev->text, env->data, env->data_len);
	ev->text[env->data_len] = '\0';
	at = ev->text + env->data_len + 1;
	ev->id = put_string(&at, &env->id);
	ev->name = put_string(&at, &env->name);
	ev->environment = env->environment.p != NULL
	                          ? put_string(&at, &env->environment)
	                          : NULL;
	ev->timestamp_ms = env->timestamp_ms;
	ev->data_len = env->data_len;
	atomic_init(&ev->data, NULL);
	*out = ev;
	return 0;
}

int flock_webhooks_construct_event(flock_event **out,
                                   const flock_webhook_params *params)
{
	flock__envelope env;
	verify_plan plan;
	int rc;

	flock__error_clear();
	if (out == NULL)
		return flock__error_set(FLOCK_EINVAL, "out is NULL");
	*out = NULL;
	if (params == NULL)
		return flock__error_set(FLOCK_EINVAL, "params is NULL");
	rc = plan_verify(&plan, params);
	if (rc == 0)
		rc = flock__envelope_scan(&env, params->payload,
		                          params->payload_len);
	if (rc == 0)
		rc = verify_all(&plan, params, &env);
	if (rc == 0)
		rc = event_new(out, &env);
	if (plan.key.len > 0)
		flock__std_key_wipe(&plan.key);
	return rc;
}

/* ---- Events ------------------------------------------------------------- */

const char *flock_event_name(const flock_event *event)
{
	return event != NULL ? event->name : NULL;
}

const char *flock_event_id(const flock_event *event)
{
	return event != NULL ? event->id : NULL;
}

const char *flock_event_environment(const flock_event *event)
{
	return event != NULL ? event->environment : NULL;
}

long long flock_event_timestamp_ms(const flock_event *event)
{
	return event != NULL ? event->timestamp_ms : 0;
}

const char *flock_event_data_json(const flock_event *event)
{
	return event != NULL ? event->text : NULL;
}

/*
 * The parsed `data`, parsed now if no accessor has needed it before. The
 * event is shared read-only between threads, so the first parse is
 * published with a compare-and-swap: two threads racing both parse, one
 * tree wins, the other is dropped. NULL only when memory ran out (the
 * scanner has already checked the bytes as jansson would).
 */
static json_t *event_data(const flock_event *event)
{
	flock_event *ev = (flock_event *)event;
	json_t *tree = atomic_load_explicit(&ev->data, memory_order_acquire);
	json_t *none = NULL;

	if (tree != NULL)
		return tree;
	tree = json_loadb(ev->text, ev->data_len, JSON_REJECT_DUPLICATES, NULL);
	if (tree == NULL)
		return NULL;
	if (!atomic_compare_exchange_strong_explicit(&ev->data, &none, tree,
	                                             memory_order_acq_rel,
	                                             memory_order_acquire)) {
		json_decref(tree);
		tree = none;
	}
	return tree;
}

/* One path segment: an object member, or an array index in decimal. */
static json_t *path_step(json_t *node, const char *seg, size_t len)
{
	size_t index = 0, i;

	if (json_is_object(node))
		return json_object_getn(node, seg, len);
	if (!json_is_array(node) || len == 0 || len > 9)
		return NULL;
	for (i = 0; i < len; i++) {
		if (seg[i] < '0' || seg[i] > '9')
			return NULL;
		index = index * 10 + (size_t)(seg[i] - '0');
	}
	return json_array_get(node, index);
}

const char *flock_event_get_string(const flock_event *event, const char *path)
{
	json_t *node;
	const char *seg;

	if (event == NULL || path == NULL || path[0] == '\0')
		return NULL;
	node = event_data(event);
	seg = path;
	while (node != NULL) {
		const char *dot = strchr(seg, '.');
		size_t len = dot != NULL ? (size_t)(dot - seg) : strlen(seg);

		node = path_step(node, seg, len);
		if (dot == NULL)
			break;
		seg = dot + 1;
	}
	return json_string_value(node);
}

void flock_event_free(flock_event *event)
{
	if (event == NULL)
		return;
	json_decref(atomic_load_explicit(&event->data, memory_order_acquire));
	free(event);
}

/* ---- Signing ------------------------------------------------------------ */

static int sign_check(const flock_webhook_sign_params *p)
{
	size_t i;

	if (p->version != FLOCK_WEBHOOK_SIGN_PARAMS_VERSION)
		return flock__error_set(
		        FLOCK_EINVAL, "params->version is %u, expected %d",
		        p->version, FLOCK_WEBHOOK_SIGN_PARAMS_VERSION);
	if (p->payload == NULL)
		return flock__error_set(FLOCK_EINVAL, "payload is NULL");
	if (p->secrets == NULL || p->secret_count == 0)
		return flock__error_set(FLOCK_EINVAL, "no secrets given");
	if (p->timestamp_s < 0 || p->timestamp_s > LLONG_MAX / 1000)
		return flock__error_set(FLOCK_EINVAL,
		                        "timestamp_s is out of range");
	for (i = 0; i < p->secret_count; i++) {
		if (p->secrets[i] == NULL)
			return flock__error_set(FLOCK_EINVAL,
			                        "secrets[%zu] is NULL", i);
	}
	return 0;
}

/* One "v1,<base64>" item per secret, space-separated, into buf. */
static int sign_standard(flock__buf *buf, const flock_webhook_sign_params *p,
                         const char *id, const char *ts)
{
	char item[FLOCK__V1_ITEM_SIZE];
	flock__std_key key;
	size_t i;
	int rc = 0;

	for (i = 0; i < p->secret_count && rc == 0; i++) {
		rc = flock__std_key_decode(&key, p->secrets[i]);
		if (rc == 0)
			rc = flock__std_sign_item(item, &key, id, ts,
			                          p->payload, p->payload_len);
		flock__std_key_wipe(&key);
		if (rc == 0 && flock__buf_printf(buf, "%s%s", i > 0 ? " " : "",
		                                 item) != 0)
			rc = flock__error_set(FLOCK_ENOMEM, "out of memory");
	}
	return rc;
}

static int sign_headers(flock_webhook_headers *h,
                        const flock_webhook_sign_params *p,
                        const flock__envelope *env)
{
	char hex[FLOCK_SIG_HEX_LEN + 1], ts[DECIMAL_MAX];
	uint8_t mac[FLOCK__SHA256_LEN];
	flock__buf sigs = FLOCK__BUF_INIT;
	long long ts_s = p->timestamp_s;
	char *id = malloc(env->id.len + 1);
	int rc;

	if (id == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	flock__jstr_decode(id, &env->id);
	h->webhook_id = id;
	if (ts_s == 0)
		ts_s = (long long)(flock__now_ms() / 1000);
	snprintf(ts, sizeof(ts), "%lld", ts_s);
	rc = sign_standard(&sigs, p, id, ts);
	if (rc == 0)
		rc = flock_mac(mac, p->secrets[0], env);
	if (rc != 0)
		goto done;
	flock__hex_encode(hex, mac, sizeof(mac));
	h->flock_signature = strdup(hex);
	h->webhook_timestamp = strdup(ts);
	h->webhook_signature = flock__buf_detach(&sigs);
	if (h->flock_signature == NULL || h->webhook_timestamp == NULL ||
	    h->webhook_signature == NULL)
		rc = flock__error_set(FLOCK_ENOMEM, "out of memory");
done:
	flock__buf_free(&sigs);
	return rc;
}

int flock_webhooks_sign(flock_webhook_headers **out,
                        const flock_webhook_sign_params *params)
{
	flock_webhook_headers *h = NULL;
	flock__envelope env;
	int rc;

	flock__error_clear();
	if (out == NULL)
		return flock__error_set(FLOCK_EINVAL, "out is NULL");
	*out = NULL;
	if (params == NULL)
		return flock__error_set(FLOCK_EINVAL, "params is NULL");
	rc = sign_check(params);
	if (rc == 0)
		rc = flock__envelope_scan(&env, params->payload,
		                          params->payload_len);
	if (rc == 0 && env.dups_unchecked)
		rc = flock__envelope_check_dups(params->payload,
		                                params->payload_len);
	if (rc != 0)
		return rc;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	rc = sign_headers(h, params, &env);
	if (rc == 0) {
		*out = h;
		h = NULL;
	}
	flock_webhook_headers_free(h);
	return rc;
}

void flock_webhook_headers_free(flock_webhook_headers *headers)
{
	if (headers == NULL)
		return;
	free(headers->flock_signature);
	free(headers->webhook_id);
	free(headers->webhook_timestamp);
	free(headers->webhook_signature);
	free(headers);
}
