/*
 * libflock: the Flock referral and rewards server SDK, in C.
 * Copyright (c) 2026 the flock-c developers. MIT licensed.
 */
#ifndef FLOCK_WEBHOOKS_H
#define FLOCK_WEBHOOKS_H

/**
 * @file flock/webhooks.h
 * @brief Verify (and, for tests and senders, sign) webhook deliveries.
 *
 * Two schemes, both sent on every delivery (docs/webhooks.md):
 * - `X-Flock-Signature`: lowercase hex HMAC-SHA256, key = the secret
 *   string's bytes, message = the envelope's decimal `timestamp` (ms),
 *   ".", then the exact bytes of its `data` value.
 * - Standard Webhooks v1: `webhook-id`, `webhook-timestamp` (seconds),
 *   `webhook-signature` ("v1,<base64>" items separated by spaces), key =
 *   base64-decoded secret after "whsec_", message = id.timestamp.body.
 *
 * Verification needs no client and no network, works on the raw body
 * bytes (never re-serialised JSON), and compares in constant time.
 */

#include "common.h"
#include "errors.h"

FLOCK_BEGIN_DECL

/** Default max age: 5 minutes, as in the Node SDK. */
#define FLOCK_WEBHOOK_DEFAULT_MAX_AGE_MS 300000LL

#define FLOCK_WEBHOOK_PARAMS_VERSION 1

/** What flock_webhooks_construct_event() checks. */
typedef struct {
	unsigned int version;
	/**
	 * Oldest (and furthest in the future) a timestamp may be, in ms.
	 * 0: no age check. Default FLOCK_WEBHOOK_DEFAULT_MAX_AGE_MS.
	 */
	long long max_age_ms;
	/** The raw request body and its length. Required. */
	const char *payload;
	size_t payload_len;
	/** The endpoint's secret ("whsec_..."). Required. */
	const char *secret;
	/** The `X-Flock-Signature` header value, or NULL. */
	const char *signature;
	/** The Standard Webhooks headers, or NULL. */
	const char *webhook_id;
	const char *webhook_timestamp;
	const char *webhook_signature;
	/** "Now" in ms since the epoch, for tests; 0: the real clock. */
	long long now_ms;
} flock_webhook_params;
#define FLOCK_WEBHOOK_PARAMS_INIT {FLOCK_WEBHOOK_PARAMS_VERSION, FLOCK_WEBHOOK_DEFAULT_MAX_AGE_MS, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0}

/** A verified webhook event. Opaque; read it with the accessors. */
typedef struct flock_event flock_event;

/**
 * Verify a delivery and parse its envelope (`sdk.webhooks.constructEvent`).
 *
 * Every scheme whose headers are given must verify: `signature` for the
 * X-Flock scheme, the three `webhook_*` headers for Standard Webhooks. At
 * least one scheme must be given.
 *
 * @param out  receives the event; free with flock_event_free()
 * @return 0, or
 *   FLOCK_EINVAL         params, payload or secret NULL;
 *   FLOCK_ESECRET        secret empty, or not "whsec_<base64>" when
 *                        Standard Webhooks headers are given;
 *   FLOCK_ESIG_MISSING   no signature header at all;
 *   FLOCK_ESIG_MALFORMED a header not of the documented form;
 *   FLOCK_EPAYLOAD       the body is not the JSON envelope (id, name,
 *                        timestamp, data);
 *   FLOCK_ESIG_MISMATCH  no signature matches;
 *   FLOCK_ESIG_EXPIRED   timestamp older than max_age_ms;
 *   FLOCK_ESIG_FUTURE    timestamp more than max_age_ms ahead;
 *   FLOCK_ENOMEM.
 */
FLOCK_EXTERN(int) flock_webhooks_construct_event(flock_event **out,
                                                const flock_webhook_params *params);

/** The event's name ("invitee.accepted"). Owned by the event. */
FLOCK_EXTERN(const char *) flock_event_name(const flock_event *event);
/** The event's id ("evt_..."), stable across retries. Owned by the event. */
FLOCK_EXTERN(const char *) flock_event_id(const flock_event *event);
/** "production" or "test", or NULL. Owned by the event. */
FLOCK_EXTERN(const char *) flock_event_environment(const flock_event *event);
/** The envelope's timestamp, in ms since the epoch. */
FLOCK_EXTERN(long long) flock_event_timestamp_ms(const flock_event *event);
/** The `data` value as compact JSON text. Owned by the event. */
FLOCK_EXTERN(const char *) flock_event_data_json(const flock_event *event);
/**
 * A string inside `data` by dotted path ("invitee.id"), or NULL if absent
 * or not a string. Owned by the event.
 */
FLOCK_EXTERN(const char *) flock_event_get_string(const flock_event *event,
                                                 const char *path);
/** Free an event. Accepts NULL. */
FLOCK_EXTERN(void) flock_event_free(flock_event *event);

#define FLOCK_WEBHOOK_SIGN_PARAMS_VERSION 1

/** What flock_webhooks_sign() signs. */
typedef struct {
	unsigned int version;
	/** The exact body to send: a compact JSON envelope. Required. */
	const char *payload;
	size_t payload_len;
	/** One secret, or several during rotation (newest first). Required. */
	const char *const *secrets;
	size_t secret_count;
	/** Attempt time in seconds since the epoch (webhook-timestamp); 0: now. */
	long long timestamp_s;
} flock_webhook_sign_params;
#define FLOCK_WEBHOOK_SIGN_PARAMS_INIT {FLOCK_WEBHOOK_SIGN_PARAMS_VERSION, NULL, 0, NULL, 0, 0}

/** Header values to send with a delivery. Free with flock_webhook_headers_free(). */
typedef struct {
	char *flock_signature;   /* X-Flock-Signature (first secret) */
	char *webhook_id;        /* webhook-id (the envelope id) */
	char *webhook_timestamp; /* webhook-timestamp */
	char *webhook_signature; /* webhook-signature, one v1 item per secret */
} flock_webhook_headers;

/**
 * Produce the headers a sender (flockd) puts on a delivery. The payload
 * must be an envelope (it reads id, timestamp and the raw data bytes).
 * @return 0, FLOCK_EINVAL, FLOCK_ESECRET, FLOCK_EPAYLOAD or FLOCK_ENOMEM
 */
FLOCK_EXTERN(int) flock_webhooks_sign(flock_webhook_headers **out,
                                     const flock_webhook_sign_params *params);

/** Free signed headers. Accepts NULL. */
FLOCK_EXTERN(void) flock_webhook_headers_free(flock_webhook_headers *headers);

FLOCK_END_DECL

#endif
