/*
 * Standard Webhooks v1 (https://www.standardwebhooks.com/): HMAC-SHA256
 * of "<webhook-id>.<webhook-timestamp>.<payload>" with the base64-decoded
 * secret, sent as "v1,<base64>" items separated by spaces. For any
 * payload: nothing here reads it as JSON. flock_webhooks_construct_event()
 * runs the same checks on a Flock envelope's Standard headers.
 */
#include <flock/webhooks.h>

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/ids.h"
#include "error.h"
#include "webhooks_internal.h"

#define V1_B64_LEN (FLOCK__BASE64_LEN(FLOCK__SHA256_LEN) - 1)

int flock__given(const char *header)
{
	return header != NULL && header[0] != '\0';
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

/* 1 if an item has the form "v1,<base64 of 32 bytes>" (not decoded). */
static int is_v1_item(const char *item, size_t len)
{
	size_t i;

	if (len != 3 + V1_B64_LEN || memcmp(item, "v1,", 3) != 0 ||
	    item[len - 1] != '=')
		return 0;
	for (i = 3; i < len - 1; i++) {
		char c = item[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return 0;
	}
	return 1;
}

int flock__std_headers_check(flock__std_headers *h, const char *id,
                             const char *timestamp, const char *signature)
{
	const char *cursor = signature, *item;
	size_t len;
	int v1 = 0;

	if (!flock__given(id) && !flock__given(timestamp) &&
	    !flock__given(signature))
		return flock__error_set(FLOCK_ESIG_MISSING,
		                        "no webhook-id, webhook-timestamp or "
		                        "webhook-signature given");
	if (!flock__given(id) || !flock__given(timestamp) ||
	    !flock__given(signature))
		return flock__error_set(FLOCK_ESIG_MALFORMED,
		                        "Standard Webhooks headers incomplete: "
		                        "webhook-id, webhook-timestamp and "
		                        "webhook-signature are all needed");
	if (parse_seconds(&h->ts_s, timestamp) != 0)
		return flock__error_set(FLOCK_ESIG_MALFORMED,
		                        "webhook-timestamp is not a number of "
		                        "seconds");
	while (!v1 && next_item(&cursor, &item, &len))
		v1 = is_v1_item(item, len);
	if (!v1)
		return flock__error_set(FLOCK_ESIG_MALFORMED,
		                        "webhook-signature has no "
		                        "\"v1,<base64>\" item");
	h->id = id;
	h->timestamp = timestamp;
	h->signature = signature;
	return 0;
}

int flock__std_key_decode(flock__std_key *key, const char *secret)
{
	long n = flock__secret_key(key->bytes, secret);

	key->len = n > 0 ? (size_t)n : 0;
	if (n == 0)
		return flock__error_set(FLOCK_ESECRET, "secret is empty");
	if (n == -2)
		return flock__error_set(FLOCK_ESECRET,
		                        "secret is longer than %d bytes",
		                        FLOCK__SECRET_KEY_MAX);
	if (n < 0)
		return flock__error_set(FLOCK_ESECRET,
		                        "secret is not \"whsec_\" followed by "
		                        "base64, nor base64 alone");
	return 0;
}

void flock__std_key_wipe(flock__std_key *key)
{
	size_t n = key->len + 2; /* and padding's zeros (mac.h) */

	OPENSSL_cleanse(key->bytes, n < sizeof(key->bytes) ? n : sizeof(key->bytes));
	key->len = 0;
}

static int std_mac(uint8_t out[FLOCK__SHA256_LEN], const flock__std_key *key,
                   const char *id, const char *ts, const void *payload,
                   size_t payload_len)
{
	char prefix[256];
	size_t id_len = strlen(id), ts_len = strlen(ts);
	flock__part parts[5];
	size_t n;

	if (id_len + ts_len + 2 <= sizeof(prefix)) {
		/* "id.ts." in one piece: one MAC update fewer per piece */
		memcpy(prefix, id, id_len);
		prefix[id_len] = '.';
		memcpy(prefix + id_len + 1, ts, ts_len);
		prefix[id_len + 1 + ts_len] = '.';
		parts[0].data = prefix;
		parts[0].len = id_len + ts_len + 2;
		n = 1;
	} else {
		parts[0].data = id;
		parts[0].len = id_len;
		parts[1].data = ".";
		parts[1].len = 1;
		parts[2].data = ts;
		parts[2].len = ts_len;
		parts[3].data = ".";
		parts[3].len = 1;
		n = 4;
	}
	parts[n].data = payload;
	parts[n].len = payload_len;
	if (flock__mac(out, key->bytes, key->len, parts, n + 1) != 0)
		return flock__error_set(FLOCK_ENOMEM, "HMAC-SHA256 failed");
	return 0;
}

int flock__std_verify_mac(const flock__std_headers *h,
                          const flock__std_key *key, const void *payload,
                          size_t payload_len)
{
	uint8_t mac[FLOCK__SHA256_LEN];
	char want[FLOCK__BASE64_LEN(FLOCK__SHA256_LEN)];
	const char *cursor = h->signature, *item;
	size_t len;
	int rc, match = 0;

	rc = std_mac(mac, key, h->id, h->timestamp, payload, payload_len);
	if (rc != 0)
		return rc;
	/*
	 * The base64 text is compared, as the JavaScript and Rust reference
	 * libraries do: one encoding instead of a decoding per item. Every
	 * item is compared, so the time does not tell which one matched.
	 */
	flock__base64_encode(want, mac, sizeof(mac));
	while (next_item(&cursor, &item, &len)) {
		/* equal to our encoding: then it was well-formed base64 too */
		if (len == 3 + V1_B64_LEN && memcmp(item, "v1,", 3) == 0 &&
		    flock__ct_equal(item + 3, want, V1_B64_LEN))
			match = 1;
	}
	if (!match)
		return flock__error_set(FLOCK_ESIG_MISMATCH,
		                        "no webhook-signature v1 item matches "
		                        "the payload and secret");
	return 0;
}

int flock__std_sign_item(char out[FLOCK__V1_ITEM_SIZE],
                         const flock__std_key *key, const char *id,
                         const char *timestamp, const void *payload,
                         size_t payload_len)
{
	uint8_t mac[FLOCK__SHA256_LEN];
	int rc = std_mac(mac, key, id, timestamp, payload, payload_len);

	if (rc != 0)
		return rc;
	memcpy(out, "v1,", 3);
	flock__base64_encode(out + 3, mac, sizeof(mac));
	return 0;
}

/* Both values are non-negative, so the differences cannot overflow. */
int flock__check_age(long long ts_ms, long long now_ms, long long max_age_ms,
                     const char *what)
{
	if (ts_ms < now_ms && now_ms - ts_ms > max_age_ms)
		return flock__error_set(FLOCK_ESIG_EXPIRED,
		                        "%s is %lld ms old, more than the max "
		                        "age of %lld ms",
		                        what, now_ms - ts_ms, max_age_ms);
	if (ts_ms > now_ms && ts_ms - now_ms > max_age_ms)
		return flock__error_set(FLOCK_ESIG_FUTURE,
		                        "%s is %lld ms in the future, more than "
		                        "the max age of %lld ms",
		                        what, ts_ms - now_ms, max_age_ms);
	return 0;
}

static int std_args(const flock_standard_webhook_params *p)
{
	if (p == NULL)
		return flock__error_set(FLOCK_EINVAL, "params is NULL");
	if (p->version != FLOCK_STANDARD_WEBHOOK_PARAMS_VERSION)
		return flock__error_set(
		        FLOCK_EINVAL, "params->version is %u, expected %d",
		        p->version, FLOCK_STANDARD_WEBHOOK_PARAMS_VERSION);
	if (p->secret == NULL)
		return flock__error_set(FLOCK_EINVAL, "secret is NULL");
	if (p->payload == NULL && p->payload_len > 0)
		return flock__error_set(FLOCK_EINVAL, "payload is NULL");
	if (p->tolerance_s < 0 || p->now_s < 0 ||
	    p->tolerance_s > LLONG_MAX / 1000 || p->now_s > LLONG_MAX / 1000)
		return flock__error_set(FLOCK_EINVAL,
		                        "tolerance_s or now_s out of range");
	return 0;
}

int flock_webhooks_verify_standard(const flock_standard_webhook_params *p)
{
	flock__std_headers h;
	flock__std_key key;
	long long now_ms;
	int rc;

	flock__error_clear();
	key.len = 0;
	if ((rc = std_args(p)) != 0 ||
	    (rc = flock__std_headers_check(&h, p->id, p->timestamp,
	                                   p->signature)) != 0)
		return rc;
	rc = flock__std_key_decode(&key, p->secret);
	if (rc == 0)
		rc = flock__std_verify_mac(&h, &key, p->payload, p->payload_len);
	flock__std_key_wipe(&key);
	if (rc != 0 || p->tolerance_s == 0)
		return rc;
	now_ms = p->now_s != 0 ? p->now_s * 1000 : (long long)flock__now_ms();
	/* whole seconds, as the reference libraries compare them */
	now_ms -= now_ms % 1000;
	return flock__check_age(h.ts_s * 1000, now_ms, p->tolerance_s * 1000,
	                        "webhook-timestamp");
}

int flock_webhooks_sign_standard(char *out, size_t out_size,
                                 const flock_standard_webhook_params *p)
{
	long long ts;
	flock__std_key key;
	int rc;

	flock__error_clear();
	if (out == NULL || out_size < FLOCK_STANDARD_SIGNATURE_SIZE)
		return flock__error_set(FLOCK_EINVAL,
		                        "out is NULL or shorter than "
		                        "FLOCK_STANDARD_SIGNATURE_SIZE");
	out[0] = '\0';
	if ((rc = std_args(p)) != 0)
		return rc;
	if (!flock__given(p->id))
		return flock__error_set(FLOCK_EINVAL, "id is missing");
	if (!flock__given(p->timestamp) || parse_seconds(&ts, p->timestamp))
		return flock__error_set(FLOCK_EINVAL,
		                        "timestamp is not a number of seconds");
	rc = flock__std_key_decode(&key, p->secret);
	if (rc == 0)
		rc = flock__std_sign_item(out, &key, p->id, p->timestamp,
		                          p->payload, p->payload_len);
	flock__std_key_wipe(&key);
	if (rc != 0)
		out[0] = '\0';
	return rc;
}
