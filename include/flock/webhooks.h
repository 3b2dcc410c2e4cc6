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
 *   the secret's base64 decoded (after "whsec_", when it has that prefix),
 *   message = id.timestamp.body. flock_webhooks_verify_standard() checks it
 *   for any payload, Flock envelope or not.
 *
 * Verification needs no client and no network, works on the raw body
 * bytes (never re-serialised JSON), and compares in constant time. It
 * keeps no state: call it from any thread; an event, once made, is only
 * read and may be shared (its lazily parsed `data` included).
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
 * The Standard headers are checked as flock_webhooks_verify_standard()
 * checks them (the same code): in webhook-signature, items of other
 * versions ("v2,", "v1a,") and v1 items that are not base64 of 32 bytes
 * are skipped; any one v1 item that matches passes. webhook-id must also
 * equal the envelope's `id`.
 *
 * The body is read in one pass that allocates nothing (duplicate member
 * names, NUL bytes, nesting and escapes all checked there), the MACs are
 * checked before anything is allocated, and `data` is parsed only when
 * flock_event_get_string() first needs it. One exception to "nothing
 * before the MAC": in an object with more than 128 members, or objects
 * nested more than 64 deep, duplicate names are looked for with jansson
 * once the signatures have matched.
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
 *   FLOCK_ESECRET        secret empty, or, when Standard Webhooks
 *                        headers are given, neither "whsec_<base64>" nor
 *                        bare base64 (padding optional), or a key over
 *                        512 bytes;
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
 *   FLOCK_EPAYLOAD       (after the signatures) a duplicate name in an
 *                        object too large for the one-pass check;
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
 *
 * The first call parses `data` (jansson) and keeps the tree in the event
 * for later calls; an event whose data is never asked for is never
 * parsed. Safe to call from several threads on one event. Also NULL if
 * memory runs out for that first parse.
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
 *   secret neither "whsec_<base64>" nor base64), FLOCK_EPAYLOAD or
 *   FLOCK_ENOMEM
 */
FLOCK_EXTERN(int) flock_webhooks_sign(flock_webhook_headers **out,
                                     const flock_webhook_sign_params *params);

/** Free signed headers. Accepts NULL. */
FLOCK_EXTERN(void) flock_webhook_headers_free(flock_webhook_headers *headers);

/* ---- Standard Webhooks, for any payload -------------------------------- */

#define FLOCK_STANDARD_WEBHOOK_PARAMS_VERSION 1
/** Default tolerance of webhook-timestamp: 5 minutes, as the spec's libraries. */
#define FLOCK_STANDARD_WEBHOOK_DEFAULT_TOLERANCE_S 300LL

/** What flock_webhooks_verify_standard() checks (and _sign_standard() signs). */
typedef struct {
	unsigned int version;
	const char *secret;    /* "whsec_<base64>" or the bare base64 */
	const char *id;        /* webhook-id */
	const char *timestamp; /* webhook-timestamp, decimal seconds */
	const char *signature; /* webhook-signature */
	const void *payload;   /* the raw body; NULL only with payload_len 0 */
	size_t payload_len;
	long long tolerance_s; /* 0: no check; default 300 */
	long long now_s;       /* 0: the real clock */
} flock_standard_webhook_params;
#define FLOCK_STANDARD_WEBHOOK_PARAMS_INIT {FLOCK_STANDARD_WEBHOOK_PARAMS_VERSION, NULL, NULL, NULL, NULL, NULL, 0, FLOCK_STANDARD_WEBHOOK_DEFAULT_TOLERANCE_S, 0}

/**
 * Verify a Standard Webhooks v1 delivery of any payload (JSON or not; it
 * is not parsed): the HMAC-SHA256 of "<id>.<timestamp>.<payload>" keyed
 * with the secret's decoded bytes must equal one of the "v1,<base64>"
 * items of `signature` (items separated by spaces; other versions, such
 * as "v1a," or "v2,", and v1 items that are not base64 of 32 bytes are
 * skipped), compared in constant time, and `timestamp` must be within
 * `tolerance_s` of now, either way. The secret is "whsec_" then base64, or
 * the base64 alone; padding may be left out, as the reference libraries
 * allow. Passes the test vectors the Standard Webhooks project publishes
 * (tests/lib/data/webhooks/standard_vectors.json).
 *
 * Checks in this order, the first failure returned: arguments, header
 * forms, secret, signature, then age (a stale forgery reports the
 * signature). Allocates nothing; any thread; no state.
 *
 * @return 0, or
 *   FLOCK_EINVAL         p or secret NULL, payload NULL with a length,
 *                        unknown version, tolerance_s or now_s negative;
 *   FLOCK_ESIG_MISSING   id, timestamp and signature all NULL or "";
 *   FLOCK_ESIG_MALFORMED only some of the three given; timestamp not all
 *                        digits; no v1 item in signature;
 *   FLOCK_ESECRET        secret empty, not base64, or its key over 512
 *                        bytes;
 *   FLOCK_ESIG_MISMATCH  no v1 item matches;
 *   FLOCK_ESIG_EXPIRED   timestamp more than tolerance_s in the past;
 *   FLOCK_ESIG_FUTURE    timestamp more than tolerance_s in the future;
 *   FLOCK_ENOMEM         (OpenSSL could not set up the HMAC).
 *   flock_error_last() says which check failed; it never holds the secret.
 */
FLOCK_EXTERN(int) flock_webhooks_verify_standard(const flock_standard_webhook_params *p);

/** Room for one "v1,<base64>" item and its NUL. */
#define FLOCK_STANDARD_SIGNATURE_SIZE 48

/**
 * The "v1,<base64>" signature item of p->payload for p->secret, p->id and
 * p->timestamp (signature, tolerance_s and now_s are not read): what a
 * sender puts in webhook-signature, and what
 * flock_webhooks_verify_standard() accepts with the same params. For
 * several secrets (rotation), call it once per secret and join the items
 * with spaces.
 *
 * @param out       receives the NUL-terminated item ("" on failure)
 * @param out_size  at least FLOCK_STANDARD_SIGNATURE_SIZE
 * @return 0, FLOCK_EINVAL (out NULL or too small, p or secret NULL, id
 *   missing, timestamp not decimal seconds, unknown version),
 *   FLOCK_ESECRET or FLOCK_ENOMEM
 */
FLOCK_EXTERN(int) flock_webhooks_sign_standard(char *out, size_t out_size,
                                              const flock_standard_webhook_params *p);

FLOCK_END_DECL

#endif
