/*
 * Internal: the Standard Webhooks scheme (standard.c), shared by
 * flock_webhooks_verify_standard() and flock_webhooks_construct_event().
 */
#ifndef FLOCK_LIB_WEBHOOKS_INTERNAL_H
#define FLOCK_LIB_WEBHOOKS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mac.h"

/* "v1," + base64 of 32 bytes + NUL (FLOCK_STANDARD_SIGNATURE_SIZE). */
#define FLOCK__V1_ITEM_SIZE (3 + FLOCK__BASE64_LEN(FLOCK__SHA256_LEN))

/* The three headers of one delivery, checked for form. */
typedef struct {
	const char *id;
	const char *timestamp;
	const char *signature;
	long long ts_s; /* webhook-timestamp, read */
} flock__std_headers;

/* A decoded Standard Webhooks key; wipe with flock__std_key_wipe(). */
typedef struct {
	uint8_t bytes[FLOCK__SECRET_KEY_MAX];
	size_t len;
} flock__std_key;

/* 1 if a header value is given (not NULL, not ""). */
int flock__given(const char *header);

/*
 * The headers' forms: all three given (else FLOCK_ESIG_MISSING when none
 * is, FLOCK_ESIG_MALFORMED when some are), webhook-timestamp decimal
 * seconds, at least one "v1,<base64 of 32 bytes>" item in
 * webhook-signature (FLOCK_ESIG_MALFORMED otherwise).
 */
int flock__std_headers_check(flock__std_headers *h, const char *id,
                             const char *timestamp, const char *signature);

/* The key of a secret, "whsec_<base64>" or bare base64; FLOCK_ESECRET. */
int flock__std_key_decode(flock__std_key *key, const char *secret);
void flock__std_key_wipe(flock__std_key *key);

/*
 * Whether any v1 item of the (checked) headers is the MAC of
 * id.timestamp.payload: 0, FLOCK_ESIG_MISMATCH or FLOCK_ENOMEM.
 */
int flock__std_verify_mac(const flock__std_headers *h,
                          const flock__std_key *key, const void *payload,
                          size_t payload_len);

/* The "v1,<base64>" item for id.timestamp.payload; 0 or FLOCK_ENOMEM. */
int flock__std_sign_item(char out[FLOCK__V1_ITEM_SIZE],
                         const flock__std_key *key, const char *id,
                         const char *timestamp, const void *payload,
                         size_t payload_len);

/*
 * The age check both schemes share: ts and now in ms, max_age_ms > 0.
 * 0, FLOCK_ESIG_EXPIRED or FLOCK_ESIG_FUTURE (`what` names the timestamp
 * in the message).
 */
int flock__check_age(long long ts_ms, long long now_ms, long long max_age_ms,
                     const char *what);

#endif
