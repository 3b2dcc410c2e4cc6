/*
 * Webhook verification and signing: the X-Flock-Signature scheme and
 * Standard Webhooks v1 (docs/webhooks.md).
 *
 * The signed bytes are the bytes on the wire. jansson validates the whole
 * body and gives the envelope's fields; a small scanner then slices the raw
 * bytes of the top-level "data" value out of the (already valid) body, so
 * nothing is ever re-serialised.
 */
#include <flock/webhooks.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "error.h"

#define SECRET_PREFIX "whsec_"
#define SECRET_PREFIX_LEN (sizeof(SECRET_PREFIX) - 1)
#define FLOCK_SIG_HEX_LEN (2 * FLOCK__SHA256_LEN)
/* Long enough for any long long in decimal, sign and NUL included. */
#define DECIMAL_MAX 24

struct flock_event {
	json_t *root; /* the parsed envelope; strings point into it */
	const char *id;
	const char *name;
	const char *environment; /* NULL if absent or null */
	long long timestamp_ms;
	char data_json[]; /* raw bytes of "data", NUL-terminated */
};

/* The envelope, parsed: fields owned by root, data pointing into the body. */
typedef struct {
	json_t *root;
	const char *id;
	const char *name;
	const char *environment;
	long long timestamp_ms;
	const char *data;
	size_t data_len;
} envelope;

/* ---- Locating the raw "data" bytes ------------------------------------ */

/* A cursor over a body that jansson has already accepted as JSON. */
typedef struct {
	const char *p;
	size_t len;
	size_t pos;
} scanner;

static int is_json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(scanner *s)
{
	while (s->pos < s->len && is_json_ws(s->p[s->pos]))
		s->pos++;
}

/* At an opening quote: move past the closing one. 0, or -1 if cut short. */
static int skip_string(scanner *s, int *escaped)
{
	s->pos++;
	while (s->pos < s->len) {
		char c = s->p[s->pos++];
		if (c == '"')
			return 0;
		if (c == '\\') {
			/* \uXXXX needs no care: hex digits are never quotes. */
			*escaped = 1;
			s->pos++;
		}
	}
	return -1;
}

/*
 * Move past one value of any type. Containers are matched by depth alone,
 * which is enough because the text is known to be valid JSON; strings are
 * skipped whole so brackets inside them do not count.
 */
static int skip_value(scanner *s)
{
	size_t depth = 0;
	int escaped = 0;

	while (s->pos < s->len) {
		char c = s->p[s->pos];
		if (c == '"') {
			if (skip_string(s, &escaped) != 0)
				return -1;
			if (depth == 0)
				return 0;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return 0; /* a scalar ended by its container */
			if (--depth == 0) {
				s->pos++;
				return 0;
			}
		} else if (depth == 0 && (c == ',' || is_json_ws(c))) {
			return 0;
		}
		s->pos++;
	}
	return depth == 0 ? 0 : -1;
}

/*
 * Whether a member name (the raw quoted text) is "data". A name written
 * with escapes ("\u0064ata") is decoded by jansson, not by hand, so the
 * scanner and jansson always agree on which member is "data".
 */
static int key_is_data(const char *key, size_t len, int escaped)
{
	json_t *decoded;
	int match;

	if (!escaped)
		return len == 6 && memcmp(key, "\"data\"", 6) == 0;
	decoded = json_loadb(key, len, JSON_DECODE_ANY, NULL);
	match = json_is_string(decoded) && json_string_length(decoded) == 4 &&
	        memcmp(json_string_value(decoded), "data", 4) == 0;
	json_decref(decoded);
	return match;
}

/*
 * The span of the top-level "data" value in a valid JSON object text.
 * 0 and the span; 1 if absent; 2 if present more than once; -1 if the text
 * is not what jansson accepted (cannot happen; kept for safety).
 */
static int find_data_span(const char **out, size_t *out_len, const char *body,
                          size_t len)
{
	scanner s = {body, len, 0};
	int found = 0;

	skip_ws(&s);
	if (s.pos >= s.len || s.p[s.pos] != '{')
		return -1;
	s.pos++;
	for (;;) {
		size_t key_start, value_start;
		int escaped = 0, is_data;

		skip_ws(&s);
		if (s.pos < s.len && s.p[s.pos] == '}')
			break;
		if (s.pos >= s.len || s.p[s.pos] != '"')
			return -1;
		key_start = s.pos;
		if (skip_string(&s, &escaped) != 0)
			return -1;
		is_data = key_is_data(body + key_start, s.pos - key_start,
		                      escaped);
		if (is_data && found++)
			return 2;
		skip_ws(&s);
		if (s.pos >= s.len || s.p[s.pos] != ':')
			return -1;
		s.pos++;
		skip_ws(&s);
		value_start = s.pos;
		if (skip_value(&s) != 0 || s.pos == value_start)
			return -1;
		if (is_data) {
			*out = body + value_start;
			*out_len = s.pos - value_start;
		}
		skip_ws(&s);
		if (s.pos < s.len && s.p[s.pos] == ',') {
			s.pos++;
			continue;
		}
		if (s.pos < s.len && s.p[s.pos] == '}')
			break;
		return -1;
	}
	return found ? 0 : 1;
}

/* ---- The envelope ------------------------------------------------------ */

static int envelope_fields(envelope *env)
{
	json_t *id = json_object_get(env->root, "id");
	json_t *name = json_object_get(env->root, "name");
	json_t *ts = json_object_get(env->root, "timestamp");
	json_t *environment = json_object_get(env->root, "environment");
	json_t *data = json_object_get(env->root, "data");

	if (!json_is_string(id) || json_string_length(id) == 0)
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload has no \"id\" string");
	if (!json_is_string(name) || json_string_length(name) == 0)
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload has no \"name\" string");
	if (ts == NULL)
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload has no \"timestamp\"");
	if (!json_is_integer(ts) || json_integer_value(ts) < 0)
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload \"timestamp\" is not a "
		                        "non-negative integer (ms)");
	if (environment != NULL && !json_is_null(environment) &&
	    !json_is_string(environment))
		return flock__error_set(
		        FLOCK_EPAYLOAD,
		        "payload \"environment\" is not a string");
	if (!json_is_object(data))
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload has no \"data\" object");
	env->id = json_string_value(id);
	env->name = json_string_value(name);
	env->environment = json_string_value(environment);
	env->timestamp_ms = (long long)json_integer_value(ts);
	return 0;
}

/*
 * Parse and check the envelope. Duplicate member names are refused
 * anywhere in the body: with them the document means different things to
 * different parsers, and the signed bytes must mean one thing.
 */
static int envelope_parse(envelope *env, const char *body, size_t len)
{
	json_error_t jerr;
	int rc;

	memset(env, 0, sizeof(*env));
	if (len == 0)
		return flock__error_set(FLOCK_EPAYLOAD, "payload is empty");
	/*
	 * JSON text never holds a raw NUL, but jansson 2.14 accepts one right
	 * after a number ("1\0}"); refuse it here so data_json, a C string,
	 * is always the whole span.
	 */
	if (memchr(body, '\0', len) != NULL)
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload contains a NUL byte");
	env->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (env->root == NULL)
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload is not JSON (line %d, column "
		                        "%d): %s",
		                        jerr.line, jerr.column, jerr.text);
	if (!json_is_object(env->root))
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload is not a JSON object");
	rc = envelope_fields(env);
	if (rc != 0)
		return rc;
	rc = find_data_span(&env->data, &env->data_len, body, len);
	if (rc == 2)
		return flock__error_set(FLOCK_EPAYLOAD,
		                        "payload has more than one \"data\"");
	if (rc != 0)
		return flock__error_set(
		        FLOCK_EPAYLOAD,
		        "payload \"data\" could not be located");
	return 0;
}

static void envelope_free(envelope *env)
{
	json_decref(env->root);
	env->root = NULL;
}

/* ---- Signatures --------------------------------------------------------- */

/*
 * HMAC-SHA256 of the concatenated parts. The message is assembled in one
 * buffer so the one-shot HMAC() path of flock__hmac_sha256 is taken; it is
 * about three times faster than its streaming path for a 1 KB body.
 */
static int hmac_concat(uint8_t out[FLOCK__SHA256_LEN], const void *key,
                       size_t key_len, const flock__part *parts, size_t n)
{
	char stack[2048];
	char *msg = stack;
	size_t total = 0, off = 0, i;
	flock__part whole;
	int rc;

	for (i = 0; i < n; i++) {
		if (parts[i].len > SIZE_MAX - total)
			return flock__error_set(FLOCK_ENOMEM,
			                        "message too large");
		total += parts[i].len;
	}
	if (total > sizeof(stack) && (msg = malloc(total)) == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		if (parts[i].len > 0)
			memcpy(msg + off, parts[i].data, parts[i].len);
		off += parts[i].len;
	}
	whole.data = msg;
	whole.len = total;
	rc = flock__hmac_sha256(out, key, key_len, &whole, 1);
	if (msg != stack)
		free(msg);
	if (rc != 0)
		return flock__error_set(FLOCK_ERROR, "HMAC-SHA256 failed");
	return 0;
}

/* The X-Flock-Signature MAC: key = secret bytes, msg = "<ts>.<data>". */
static int flock_mac(uint8_t out[FLOCK__SHA256_LEN], const char *secret,
                     const envelope *env)
{
	char ts[DECIMAL_MAX];
	flock__part parts[3];
	int n = snprintf(ts, sizeof(ts), "%lld", env->timestamp_ms);

	parts[0].data = ts;
	parts[0].len = (size_t)n;
	parts[1].data = ".";
	parts[1].len = 1;
	parts[2].data = env->data;
	parts[2].len = env->data_len;
	return hmac_concat(out, secret, strlen(secret), parts, 3);
}

/* The Standard Webhooks MAC: msg = "<webhook-id>.<timestamp>.<body>". */
static int standard_mac(uint8_t out[FLOCK__SHA256_LEN], const uint8_t *key,
                        size_t key_len, const char *id, const char *ts,
                        const char *body, size_t body_len)
{
	flock__part parts[5];

	parts[0].data = id;
	parts[0].len = strlen(id);
	parts[1].data = ".";
	parts[1].len = 1;
	parts[2].data = ts;
	parts[2].len = strlen(ts);
	parts[3].data = ".";
	parts[3].len = 1;
	parts[4].data = body;
	parts[4].len = body_len;
	return hmac_concat(out, key, key_len, parts, 5);
}

/*
 * The Standard Webhooks key: base64 after "whsec_". *out is malloc'd (the
 * caller wipes and frees it).
 */
static int standard_key(uint8_t **out, size_t *out_len, const char *secret)
{
	size_t b64_len;
	uint8_t *key;
	long n;

	*out = NULL;
	if (strncmp(secret, SECRET_PREFIX, SECRET_PREFIX_LEN) != 0)
		return flock__error_set(
		        FLOCK_ESECRET, "secret does not start with \"whsec_\", "
		                       "as Standard Webhooks needs");
	b64_len = strlen(secret + SECRET_PREFIX_LEN);
	key = malloc(b64_len / 4 * 3 + 1);
	if (key == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	n = flock__base64_decode(key, secret + SECRET_PREFIX_LEN, b64_len);
	if (n <= 0) {
		free(key);
		return flock__error_set(FLOCK_ESECRET,
		                        "secret is not \"whsec_\" followed by "
		                        "base64");
	}
	*out = key;
	*out_len = (size_t)n;
	return 0;
}

static void key_free(uint8_t *key, size_t len)
{
	if (key != NULL) {
		OPENSSL_cleanse(key, len);
		free(key);
	}
}

/* ---- Standard Webhooks headers ------------------------------------------ */

/* The next space-separated item of a webhook-signature value, or 0. */
static int next_item(const char **cursor, const char **item, size_t *len)
{
	const char *p = *cursor;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 0;
	*item = p;
	while (*p != '\0' && *p != ' ')
		p++;
	*len = (size_t)(p - *item);
	*cursor = p;
	return 1;
}

/* A "v1,<base64 of 32 bytes>" item decoded into sig, or -1 if not one. */
static int v1_item(uint8_t sig[FLOCK__SHA256_LEN], const char *item, size_t len)
{
	uint8_t buf[FLOCK__BASE64_LEN(FLOCK__SHA256_LEN)];

	if (len < 3 || memcmp(item, "v1,", 3) != 0)
		return -1;
	item += 3;
	len -= 3;
	if (len != FLOCK__BASE64_LEN(FLOCK__SHA256_LEN) - 1 ||
	    flock__base64_decode(buf, item, len) != FLOCK__SHA256_LEN)
		return -1;
	memcpy(sig, buf, FLOCK__SHA256_LEN);
	return 0;
}

/* Digits only, at most what fits in ms: the seconds of webhook-timestamp. */
static int parse_seconds(long long *out, const char *s)
{
	long long v = 0;
	const char *p;

	if (*s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (LLONG_MAX / 1000 - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return 0;
}

/* ---- Verification ------------------------------------------------------- */

/*
 * What the headers and the secret say, checked for form before the body is
 * touched. Owns the Standard Webhooks key (plan_free()).
 */
typedef struct {
	int has_flock;
	int has_standard;
	uint8_t flock_sig[FLOCK__SHA256_LEN];
	long long standard_ts_s;
	uint8_t *standard_key;
	size_t standard_key_len;
	long long now_ms;
} verify_plan;

static int given(const char *header)
{
	return header != NULL && header[0] != '\0';
}

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

static int plan_standard(verify_plan *plan, const flock_webhook_params *p)
{
	const char *cursor = p->webhook_signature, *item;
	uint8_t sig[FLOCK__SHA256_LEN];
	size_t len;
	int v1 = 0;

	if (!given(p->webhook_id) || !given(p->webhook_timestamp) ||
	    !given(p->webhook_signature))
		return flock__error_set(FLOCK_ESIG_MALFORMED,
		                        "Standard Webhooks headers incomplete: "
		                        "webhook-id, webhook-timestamp and "
		                        "webhook-signature are all needed");
	if (parse_seconds(&plan->standard_ts_s, p->webhook_timestamp) != 0)
		return flock__error_set(FLOCK_ESIG_MALFORMED,
		                        "webhook-timestamp is not a number of "
		                        "seconds");
	while (!v1 && next_item(&cursor, &item, &len))
		v1 = v1_item(sig, item, len) == 0;
	if (!v1)
		return flock__error_set(FLOCK_ESIG_MALFORMED,
		                        "webhook-signature has no "
		                        "\"v1,<base64>\" item");
	plan->has_standard = 1;
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

	memset(plan, 0, sizeof(*plan));
	if ((rc = plan_args(p)) != 0)
		return rc;
	if (given(p->signature) && (rc = plan_flock(plan, p->signature)) != 0)
		return rc;
	if ((given(p->webhook_id) || given(p->webhook_timestamp) ||
	     given(p->webhook_signature)) &&
	    (rc = plan_standard(plan, p)) != 0)
		return rc;
	if (!plan->has_flock && !plan->has_standard)
		return flock__error_set(
		        FLOCK_ESIG_MISSING,
		        "no signature: neither X-Flock-Signature "
		        "nor webhook-signature was given");
	if (p->secret[0] == '\0')
		return flock__error_set(FLOCK_ESECRET, "secret is empty");
	if (plan->has_standard &&
	    (rc = standard_key(&plan->standard_key, &plan->standard_key_len,
	                       p->secret)) != 0)
		return rc;
	plan->now_ms = p->now_ms != 0 ? p->now_ms : (long long)flock__now_ms();
	return 0;
}

static void plan_free(verify_plan *plan)
{
	key_free(plan->standard_key, plan->standard_key_len);
	plan->standard_key = NULL;
}

/* Both values are non-negative, so the differences cannot overflow. */
static int check_age(long long ts_ms, const verify_plan *plan,
                     long long max_age_ms, const char *what)
{
	if (max_age_ms == 0)
		return 0;
	if (ts_ms < plan->now_ms && plan->now_ms - ts_ms > max_age_ms)
		return flock__error_set(FLOCK_ESIG_EXPIRED,
		                        "%s is %lld ms old, more than the max "
		                        "age of %lld ms",
		                        what, plan->now_ms - ts_ms, max_age_ms);
	if (ts_ms > plan->now_ms && ts_ms - plan->now_ms > max_age_ms)
		return flock__error_set(
		        FLOCK_ESIG_FUTURE,
		        "%s is %lld ms in the future, more than "
		        "the max age of %lld ms",
		        what, ts_ms - plan->now_ms, max_age_ms);
	return 0;
}

static int verify_flock(const verify_plan *plan, const flock_webhook_params *p,
                        const envelope *env)
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

/* Any one v1 item that matches passes; other versions are ignored. */
static int standard_matches(const uint8_t mac[FLOCK__SHA256_LEN],
                            const char *header)
{
	const char *cursor = header, *item;
	uint8_t sig[FLOCK__SHA256_LEN];
	size_t len;
	int match = 0;

	while (next_item(&cursor, &item, &len)) {
		if (v1_item(sig, item, len) == 0 &&
		    flock__ct_equal(mac, sig, sizeof(sig)))
			match = 1;
	}
	return match;
}

static int verify_standard(const verify_plan *plan,
                           const flock_webhook_params *p, const envelope *env)
{
	uint8_t mac[FLOCK__SHA256_LEN];
	int rc = standard_mac(mac, plan->standard_key, plan->standard_key_len,
	                      p->webhook_id, p->webhook_timestamp, p->payload,
	                      p->payload_len);

	if (rc != 0)
		return rc;
	if (!standard_matches(mac, p->webhook_signature))
		return flock__error_set(FLOCK_ESIG_MISMATCH,
		                        "no webhook-signature v1 item matches "
		                        "the payload and secret");
	if (strcmp(p->webhook_id, env->id) != 0)
		return flock__error_set(FLOCK_ESIG_MISMATCH,
		                        "webhook-id does not match the payload "
		                        "\"id\"");
	return 0;
}

/* Signatures first, so a stale forgery is reported as a forgery. */
static int verify_all(const verify_plan *plan, const flock_webhook_params *p,
                      const envelope *env)
{
	int rc = 0;

	if (plan->has_flock)
		rc = verify_flock(plan, p, env);
	if (rc == 0 && plan->has_standard)
		rc = verify_standard(plan, p, env);
	if (rc == 0 && plan->has_flock)
		rc = check_age(env->timestamp_ms, plan, p->max_age_ms,
		               "the payload timestamp");
	if (rc == 0 && plan->has_standard)
		rc = check_age(plan->standard_ts_s * 1000, plan, p->max_age_ms,
		               "webhook-timestamp");
	return rc;
}

static int event_new(flock_event **out, envelope *env)
{
	flock_event *ev = malloc(sizeof(*ev) + env->data_len + 1);

	if (ev == NULL)
		return flock__error_set(FLOCK_ENOMEM, "out of memory");
	/* The event takes the envelope's reference to the parsed body. */
	ev->root = env->root;
	env->root = NULL;
	ev->id = env->id;
	ev->name = env->name;
	ev->environment = env->environment;
	ev->timestamp_ms = env->timestamp_ms;
	memcpy(ev->data_json, env->data, env->data_len);
	ev->data_json[env->data_len] = '\0';
	*out = ev;
	return 0;
}

int flock_webhooks_construct_event(flock_event **out,
                                   const flock_webhook_params *params)
{
	verify_plan plan;
	envelope env;
	int rc;

	flock__error_clear();
	memset(&env, 0, sizeof(env));
	if (out == NULL)
		return flock__error_set(FLOCK_EINVAL, "out is NULL");
	*out = NULL;
	if (params == NULL)
		return flock__error_set(FLOCK_EINVAL, "params is NULL");
	rc = plan_verify(&plan, params);
	if (rc == 0)
		rc = envelope_parse(&env, params->payload, params->payload_len);
	if (rc == 0)
		rc = verify_all(&plan, params, &env);
	if (rc == 0)
		rc = event_new(out, &env);
	plan_free(&plan);
	envelope_free(&env);
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
	return event != NULL ? event->data_json : NULL;
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
	node = json_object_get(event->root, "data");
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
	json_decref(event->root);
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
	char b64[FLOCK__BASE64_LEN(FLOCK__SHA256_LEN)];
	uint8_t mac[FLOCK__SHA256_LEN];
	size_t i;
	int rc = 0;

	for (i = 0; i < p->secret_count && rc == 0; i++) {
		uint8_t *key = NULL;
		size_t key_len = 0;

		rc = standard_key(&key, &key_len, p->secrets[i]);
		if (rc == 0)
			rc = standard_mac(mac, key, key_len, id, ts, p->payload,
			                  p->payload_len);
		key_free(key, key_len);
		if (rc != 0)
			break;
		flock__base64_encode(b64, mac, sizeof(mac));
		if (flock__buf_printf(buf, "%sv1,%s", i > 0 ? " " : "", b64))
			rc = flock__error_set(FLOCK_ENOMEM, "out of memory");
	}
	return rc;
}

static int sign_headers(flock_webhook_headers *h,
                        const flock_webhook_sign_params *p, const envelope *env)
{
	char hex[FLOCK_SIG_HEX_LEN + 1], ts[DECIMAL_MAX];
	uint8_t mac[FLOCK__SHA256_LEN];
	flock__buf sigs = FLOCK__BUF_INIT;
	long long ts_s = p->timestamp_s;
	int rc;

	if (ts_s == 0)
		ts_s = (long long)(flock__now_ms() / 1000);
	snprintf(ts, sizeof(ts), "%lld", ts_s);
	rc = sign_standard(&sigs, p, env->id, ts);
	if (rc != 0)
		goto done;
	/* Standard keys were checked above, so secrets[0] is "whsec_...". */
	rc = flock_mac(mac, p->secrets[0], env);
	if (rc != 0)
		goto done;
	flock__hex_encode(hex, mac, sizeof(mac));
	h->flock_signature = strdup(hex);
	h->webhook_id = strdup(env->id);
	h->webhook_timestamp = strdup(ts);
	h->webhook_signature = flock__buf_detach(&sigs);
	if (h->flock_signature == NULL || h->webhook_id == NULL ||
	    h->webhook_timestamp == NULL || h->webhook_signature == NULL)
		rc = flock__error_set(FLOCK_ENOMEM, "out of memory");
done:
	flock__buf_free(&sigs);
	return rc;
}

int flock_webhooks_sign(flock_webhook_headers **out,
                        const flock_webhook_sign_params *params)
{
	flock_webhook_headers *h = NULL;
	envelope env;
	int rc;

	flock__error_clear();
	memset(&env, 0, sizeof(env));
	if (out == NULL)
		return flock__error_set(FLOCK_EINVAL, "out is NULL");
	*out = NULL;
	if (params == NULL)
		return flock__error_set(FLOCK_EINVAL, "params is NULL");
	rc = sign_check(params);
	if (rc == 0)
		rc = envelope_parse(&env, params->payload, params->payload_len);
	if (rc != 0)
		goto done;
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		rc = flock__error_set(FLOCK_ENOMEM, "out of memory");
		goto done;
	}
	rc = sign_headers(h, params, &env);
	if (rc == 0) {
		*out = h;
		h = NULL;
	}
done:
	flock_webhook_headers_free(h);
	envelope_free(&env);
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
