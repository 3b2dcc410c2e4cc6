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
 * bytes (never re-serialised JSON), and compares in constant time. It
 * keeps no state: call it from any thread; an event, once made, is only
 * read and may be shared.
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
	/** The `X-Flock-Signature` header value, or NULL (or "": absent). */
	const char *signature;
	/** The Standard Webhooks headers, or NULL (or "": absent). */
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
 * least one scheme must be given. X-Flock-Signature covers only the
 * timestamp and `data`; Standard Webhooks covers the whole body, so give
 * its headers whenever the sender sends them (flockd always does).
 *
 * In webhook-signature, items of other versions ("v2,...") and v1 items
 * that are not base64 of 32 bytes are skipped; any one v1 item that
 * matches passes. webhook-id must equal the envelope's `id`.
 *
 * The checks run in this order, and the first failure is returned:
 * arguments, header forms, secret, body, signatures, then age (so a stale
 * delivery with a wrong signature reports the signature).
 *
 * @param out  receives the event, or NULL on failure; free with
 *             flock_event_free()
 * @return 0, or
 *   FLOCK_EINVAL         out, params, payload or secret NULL; wrong
 *                        version; max_age_ms or now_ms negative;
 *   FLOCK_ESECRET        secret empty, or not "whsec_<base64>" when
 *                        Standard Webhooks headers are given;
 *   FLOCK_ESIG_MISSING   no signature header at all;
 *   FLOCK_ESIG_MALFORMED X-Flock-Signature not 64 hex digits;
 *                        webhook-timestamp not all digits; no v1 item in
 *                        webhook-signature; only some of the three
 *                        Standard headers given;
 *   FLOCK_EPAYLOAD       the body is not the JSON envelope: not JSON, a
 *                        NUL byte, a duplicate member name anywhere, no
 *                        non-empty string `id` or `name`, no non-negative
 *                        integer `timestamp`, `data` not an object,
 *                        `environment` neither string nor null;
 *   FLOCK_ESIG_MISMATCH  a given scheme's signature does not match, or
 *                        webhook-id differs from the envelope id;
 *   FLOCK_ESIG_EXPIRED   timestamp older than max_age_ms;
 *   FLOCK_ESIG_FUTURE    timestamp more than max_age_ms ahead;
 *   FLOCK_ENOMEM.
 *   flock_error_last() says which check failed; it never holds the secret.
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
/**
 * The `data` value exactly as its bytes appear in the body (the signed
 * bytes: compact JSON when flockd sent it), NUL-terminated. Owned by the
 * event.
 */
FLOCK_EXTERN(const char *) flock_event_data_json(const flock_event *event);
/**
 * A string inside `data` by dotted path ("invitee.id"; a decimal segment
 * indexes an array: "items.0.id"), decoded to UTF-8, or NULL if absent or
 * not a string. A member whose name contains "." cannot be reached this
 * way: parse flock_event_data_json() instead. Owned by the event.
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
	/**
	 * One secret, or several during rotation (newest first), each
	 * "whsec_<base64>". Required. X-Flock-Signature uses the first only.
	 */
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
 * must be an envelope, checked as flock_webhooks_construct_event() does
 * (it reads id, timestamp and the raw data bytes).
 *
 * @param out  receives the headers, or NULL on failure; free with
 *             flock_webhook_headers_free()
 * @return 0, or FLOCK_EINVAL (out, params, payload or secrets NULL, no
 *   secrets, wrong version, timestamp_s negative), FLOCK_ESECRET (a
 *   secret not "whsec_<base64>"), FLOCK_EPAYLOAD or FLOCK_ENOMEM
 */
FLOCK_EXTERN(int) flock_webhooks_sign(flock_webhook_headers **out,
                                     const flock_webhook_sign_params *params);

/** Free signed headers. Accepts NULL. */
FLOCK_EXTERN(void) flock_webhook_headers_free(flock_webhook_headers *headers);

FLOCK_END_DECL

#endif
